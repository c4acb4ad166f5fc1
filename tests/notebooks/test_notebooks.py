"""Every assignment's notebooks (one parameter per row of ``ASSIGNMENTS``): the source runs and passes its own
tests, its solution cells are the reference module's functions, and the committed release is exactly what a build
makes from it, with nothing secret left in it (no solution, no hidden test, nothing of ``source/<NN_stem>/hidden/``).

The exercise list and points are read from each source notebook's nbgrader metadata (the one place they are
written); only the assignments' own notebook tests (``test_<stem>_notebook.py``) write them out, on purpose.

The fixtures are module-scoped and parametrised by assignment: pytest runs every test of one assignment, then of
the next, so one scratch build and one executed source notebook exist at a time, and the build (started in the
background) overlaps with the notebook's execution.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.assignments.registry import ASSIGNMENTS, Assignment
from course_lib.grading.checks import load_suite
from course_lib.grading.hidden_tests import HIDDEN_DIR, HIDDEN_TESTS_FILE, auto_exercises, function_exercises
from course_lib.grading.probe import REPORT_MIME

pytestmark = pytest.mark.notebook

REPO = Path(__file__).resolve().parents[2]
ROWS = tuple(ASSIGNMENTS.values())
MARKER_LINE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*$")
#: what must never reach a student
SECRETS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "report_values", "course_lib")
#: the longest a cell of the executed source may run (the adding problem's LSTM trains for about a minute)
CELL_TIMEOUT = 600


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _code_solution_cells(notebook) -> list:
    return [c for c in notebook.cells if c.cell_type == "code" and _nbgrader(c).get("solution")]


def _grade_code_cells(notebook) -> list:
    return [c for c in notebook.cells if c.cell_type == "code" and _nbgrader(c).get("grade")
            and not _nbgrader(c).get("solution")]


def _hand_graded_cells(notebook) -> list:
    return [c for c in notebook.cells if _nbgrader(c).get("grade") and _nbgrader(c).get("solution")]


def _tracked(prefix: str) -> list[str]:
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", prefix], capture_output=True, check=True,
                            timeout=60).stdout.decode().split("\0")
    return [f for f in listed if f and (REPO / f).is_file()]


def _exercises(assignment: Assignment) -> tuple[str, ...]:
    """The automatically graded exercises, in notebook order, from the source notebook's nbgrader metadata."""
    return tuple(auto_exercises(assignment.source_notebook(REPO)))


def _release_files(release: Path) -> list[Path]:
    return sorted(p for p in release.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts)


# --------------------------------------------------------------------------- the reference module, as written
def _reference_path(assignment: Assignment) -> Path:
    spec = importlib.util.find_spec(assignment.reference)  # found, not imported (02's imports TensorFlow)
    assert spec is not None and spec.origin, f"{assignment.reference} (the reference solution) is missing"
    return Path(spec.origin)


def _reference_definitions(assignment: Assignment) -> dict[str, ast.AST]:
    """Every function and class defined at the top level of the reference module, by name."""
    tree = ast.parse(_reference_path(assignment).read_text(encoding="utf-8"))
    return {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def reference_functions(assignment: Assignment) -> set[str]:
    """The reference module's public functions: defined in that module, not starting with ``_``."""
    return {name for name, node in _reference_definitions(assignment).items()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not name.startswith("_")}


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module", params=ROWS, ids=[a.name for a in ROWS])
def assignment(request) -> Assignment:
    return request.param


@pytest.fixture(scope="module")
def build_started(assignment, tmp_path_factory):
    """``lstm-course build <assignment>`` of a scratch course holding nbgrader_config.py and the tracked source/ only.

    Started in the background (its own session) so that it overlaps with the notebook's execution.
    """
    root = tmp_path_factory.mktemp(f"fresh_build_{assignment.name}")
    for name in ["nbgrader_config.py", *_tracked("source/")]:
        if HIDDEN_DIR in Path(name).parts:
            continue
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    assert not (root / "release").exists()
    assert not assignment.hidden_dir(root).exists(), (
        "the scratch course must start without hidden/ (the build makes it)")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    logs = tmp_path_factory.mktemp(f"fresh_build_logs_{assignment.name}")
    with open(logs / "out.txt", "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "course_lib.cli", "--course-dir", str(root), "build", assignment.name],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(root), env=env,
            start_new_session=True)
    yield root, process, logs / "out.txt"
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def fresh_build(build_started) -> Path:
    root, process, log = build_started
    try:
        code = process.wait(timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`lstm-course build` did not finish in 600 s:\n{log.read_text(errors='replace')}")
    assert code == 0, (f"`lstm-course build` failed on a scratch copy of the course (exit {code}):\n"
                       f"{log.read_text(errors='replace')}")
    return root


@pytest.fixture(scope="module")
def executed_source(build_started, assignment, tmp_path_factory, request):
    """The source notebook run top to bottom in a python3 kernel, in a copy of its folder."""
    from nbclient import NotebookClient

    workdir = tmp_path_factory.mktemp(f"source_run_{assignment.name}")
    for item in assignment.source_dir(REPO).iterdir():
        if item.is_file() and item.name not in assignment.build_only:  # never hidden/ (a folder)
            shutil.copy2(item, workdir / item.name)
    if assignment.build_only:  # not committed: a fresh clone has them only once built, so take the fresh build's
        built = request.getfixturevalue("fresh_build")
        for name in assignment.build_only:
            shutil.copy2(assignment.source_dir(built) / name, workdir / name)
    notebook = nbformat.read(workdir / f"{assignment.notebook}.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")  # the kernel inherits it: no TensorFlow start-up chatter
        client.execute()
    return notebook


# --------------------------------------------------------------------------- the source runs
def test_source_notebook_runs_without_errors(executed_source):
    errors = [(i, o.get("ename"), o.get("evalue")) for i, cell in enumerate(executed_source.cells)
              if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"the source notebook raised in cells (index, exception, message): {errors}"


def test_source_visible_tests_pass(executed_source, assignment):
    cells = _grade_code_cells(executed_source)
    assert [_nbgrader(c)["grade_id"] for c in cells] == list(_exercises(assignment)), "grade cells of the source"
    failing = []
    for cell in cells:
        grade_id = _nbgrader(cell)["grade_id"]
        stdout = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if f"{grade_id}: visible tests passed" not in stdout:
            failing.append((grade_id, stdout[-500:]))
    assert not failing, f"visible tests that did not print '<exercise>: visible tests passed': {failing}"


def test_source_hidden_tests_report_every_exercise(executed_source, assignment):
    """Every hidden-test cell reports every request of its exercise; the reference (the source's solutions) answers
    each, except the requests marked ``"raises"`` (inputs a function must refuse): on those it must have raised,
    an error the checks accept, in the function itself."""
    inputs, suite = assignment.module("inputs"), load_suite(assignment.stem)
    reports = {}
    for cell in _grade_code_cells(executed_source):
        grade_id = _nbgrader(cell)["grade_id"]
        payloads = [o["data"][REPORT_MIME] for o in cell.outputs
                    if o.output_type in ("display_data", "execute_result") and REPORT_MIME in o.get("data", {})]
        assert len(payloads) == 1, f"{grade_id}: expected one {REPORT_MIME} output, got {len(payloads)}"
        payload = payloads[0] if isinstance(payloads[0], dict) else json.loads(payloads[0])
        assert payload.get("exercise") == grade_id, f"{grade_id}: the report is for {payload.get('exercise')!r}"
        requests = inputs.requests(grade_id)
        assert sorted(payload["results"]) == sorted(requests), (
            f"{grade_id}: the report holds {sorted(payload['results'])}, {assignment.package}.inputs asks for "
            f"{sorted(requests)}")
        must_raise = {rid for rid, request in requests.items() if request.get("raises")}
        broken = {rid: r.get("error") for rid, r in payload["results"].items()
                  if rid not in must_raise and not r.get("ok")}
        assert not broken, f"{grade_id}: the reference raised in hidden-test requests: {broken}"
        for rid in sorted(must_raise):
            result, function = payload["results"][rid], requests[rid].get("function", "")
            assert not result.get("ok") and result.get("error"), (
                f"{grade_id}/{rid} is marked \"raises\" in {assignment.package}.inputs, but the reference returned "
                f"instead of raising: it must refuse this input (raise ValueError)")
            accepted = {name for c in suite.exercise_checks(grade_id) if c.kind == "raises" and c.request == rid
                        for name in c.names}
            assert accepted, f"{grade_id}/{rid} is marked \"raises\" but no \"raises\" check judges it"
            raised = result["error"].split(":", 1)[0].strip()
            assert raised in accepted, (
                f"{grade_id}/{rid}: the reference raised {result['error']!r}, the checks accept {sorted(accepted)}")
            assert result.get("raised_in") == function and not result.get("grader_error"), (
                f"{grade_id}/{rid}: the error was raised in {result.get('raised_in')!r} "
                f"(grader error: {bool(result.get('grader_error'))}), not in the reference's {function}")
        reports[grade_id] = payload
    assert sorted(reports) == sorted(_exercises(assignment)), f"exercises with a hidden report: {sorted(reports)}"


# --------------------------------------------------------------------------- one source of truth
def _function_ast(source: str, where: str) -> ast.FunctionDef:
    module = ast.parse(source)
    functions = [n for n in module.body if isinstance(n, ast.FunctionDef)]
    assert len(module.body) == 1 and len(functions) == 1, (
        f"{where} should define exactly one function and nothing else, found "
        f"{[type(n).__name__ + ':' + getattr(n, 'name', '') for n in module.body]}")
    return functions[0]


def test_solution_cells_are_the_reference_functions(assignment):
    """Every code solution cell is one function of the reference module (the single source of truth), and the
    solution cells together are all of its public functions, each once."""
    notebook = nbformat.read(assignment.source_notebook(REPO), as_version=4)
    definitions = _reference_definitions(assignment)
    seen = []
    for cell in _code_solution_cells(notebook):
        grade_id = _nbgrader(cell)["grade_id"]
        code = "\n".join(line for line in cell.source.splitlines() if not MARKER_LINE.match(line))
        function = _function_ast(code, f"solution cell {grade_id}")
        reference = definitions.get(function.name)
        assert isinstance(reference, ast.FunctionDef), (
            f"solution cell {grade_id} defines {function.name}, which {assignment.reference} lacks")
        assert ast.dump(function) == ast.dump(reference), (
            f"solution cell {grade_id} differs from {assignment.reference}.{function.name}: the module is "
            f"the single source of truth, paste its function into the cell (between the solution markers)")
        assert grade_id == f"def_{function.name}", (
            f"solution cell {grade_id} defines {function.name}: name its grade id def_{function.name}")
        seen.append(function.name)
    assert len(seen) == len(set(seen)), f"functions defined by more than one solution cell: {seen}"
    module_functions = reference_functions(assignment)
    assert set(seen) == module_functions, (
        f"solution cells define {sorted(seen)}; the public functions of {assignment.reference} are "
        f"{sorted(module_functions)}: give each public function a solution cell, or make it private (_name)")


def test_given_definitions_are_the_reference_module(assignment):
    """A class or function the notebook gives the student in a plain cell (not a solution) that the reference
    module also defines (02's MinMaxScaler) is the module's, verbatim: grading runs the module's."""
    notebook = nbformat.read(assignment.source_notebook(REPO), as_version=4)
    definitions = _reference_definitions(assignment)
    differing = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or _nbgrader(cell).get("solution"):
            continue
        for node in ast.parse(cell.source).body:
            reference = definitions.get(getattr(node, "name", None))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and reference is not None \
                    and ast.dump(node) != ast.dump(reference):
                differing.append(f"{node.name} (cell {index})")
    assert not differing, (
        f"{assignment.source_notebook(REPO).relative_to(REPO)} defines {differing} otherwise than "
        f"{assignment.reference}: the module is the single source of truth, paste its definition into the cell")


# --------------------------------------------------------------------------- stored clean
@pytest.mark.parametrize("kind", ["source", "release"])
def test_notebook_is_stored_without_outputs(assignment, kind):
    path = assignment.source_notebook(REPO) if kind == "source" else assignment.release_notebook(REPO)
    data = json.loads(path.read_text(encoding="utf-8"))
    dirty = [(i, cell.get("id"), len(cell.get("outputs", [])), cell.get("execution_count"))
             for i, cell in enumerate(data["cells"]) if cell["cell_type"] == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{path.relative_to(REPO)} has outputs or execution counts in cells "
                       f"(index, id, outputs, execution_count): {dirty}; clear them before committing")


# --------------------------------------------------------------------------- release == build
def test_release_equals_a_fresh_build(fresh_build, assignment):
    name, notebook = assignment.name, assignment.notebook
    built = json.loads(assignment.release_notebook(fresh_build).read_text(encoding="utf-8"))
    committed = json.loads(assignment.release_notebook(REPO).read_text(encoding="utf-8"))
    if built != committed:
        differences = [key for key in sorted(set(built) | set(committed)) if key != "cells"
                       and built.get(key) != committed.get(key)]
        cells = [i for i, (a, b) in enumerate(zip(built["cells"], committed["cells"])) if a != b]
        pytest.fail(f"release/{name}/{notebook}.ipynb is not what `lstm-course build` makes from source/: "
                    f"top-level keys differ {differences}, cells differ at {cells}, cell counts "
                    f"{len(built['cells'])} (built) vs {len(committed['cells'])} (committed); run "
                    f"`lstm-course build {name}` and commit release/")


def test_release_has_exactly_the_built_files(fresh_build, assignment):
    """release/<assignment>/ holds what a fresh build makes there, file for file (the data files byte for byte),
    and the released data the build writes into source/ is the committed one."""
    name = assignment.name
    built_dir, committed_dir = fresh_build / "release" / name, REPO / "release" / name
    # build-only files (too large to commit) are compared through the committed manifest of their hashes, which
    # the fresh build rewrites from the files it made (the `rewritten` check below)
    built = [str(p.relative_to(built_dir)) for p in _release_files(built_dir) if p.name not in assignment.build_only]
    on_disk = [str(p.relative_to(committed_dir)) for p in _release_files(committed_dir)
               if p.name not in assignment.build_only]
    assert built == on_disk, f"release/{name}/ holds {on_disk}, a fresh build makes {built}"
    missing = [f for f in assignment.build_only if not (built_dir / f).is_file()]
    assert not missing, f"a fresh build does not release the build-only files {missing}"
    tracked = sorted(str(Path(f).relative_to(f"release/{name}")) for f in _tracked(f"release/{name}/"))
    assert tracked == built, f"git tracks {tracked} under release/{name}/, a fresh build makes {built}"
    committed_big = [f for f in _tracked(f"source/{name}/") + _tracked(f"release/{name}/")
                     if Path(f).name in assignment.build_only]
    assert not committed_big, f"build-only files are committed (git must ignore them): {committed_big}"
    assert not any(Path(f).name == HIDDEN_TESTS_FILE or HIDDEN_DIR in Path(f).parts for f in built), (
        f"hidden tests released: {built}")
    assert (assignment.hidden_dir(fresh_build) / HIDDEN_TESTS_FILE).is_file(), (
        f"the build should write the hidden tests into source/{name}/{HIDDEN_DIR}/")
    stale = [f for f in built if not f.endswith(".ipynb")
             and (built_dir / f).read_bytes() != (committed_dir / f).read_bytes()]
    assert not stale, (f"release/{name}/ holds data files other than a fresh build makes: {stale}; run "
                       f"`lstm-course build {name}` and commit source/ and release/")
    rewritten = [f for f in _tracked(f"source/{name}/") if (fresh_build / f).read_bytes() != (REPO / f).read_bytes()]
    assert not rewritten, (f"a fresh build rewrites these committed files of source/{name}/: {rewritten}; run "
                           f"`lstm-course build {name}` and commit them")


def test_release_holds_only_the_assignments():
    """release/ is one folder per assignment of the registry, nothing else (each is compared with its build)."""
    on_disk = sorted(str(p.relative_to(REPO / "release")) for p in _release_files(REPO / "release"))
    stray = [f for f in on_disk if Path(f).parts[0] not in ASSIGNMENTS or len(Path(f).parts) < 2]
    assert not stray, f"release/ holds files of no assignment of {sorted(ASSIGNMENTS)}: {stray}"
    tracked = [f for f in _tracked("release/") if Path(f).parts[1] not in ASSIGNMENTS or len(Path(f).parts) < 3]
    assert not tracked, f"git tracks files of no assignment under release/: {tracked}"
    assert {Path(f).parts[0] for f in on_disk} == set(ASSIGNMENTS), (
        f"release/ has folders {sorted({Path(f).parts[0] for f in on_disk})}, the course has {sorted(ASSIGNMENTS)}: "
        f"run `lstm-course build` and commit release/")


# --------------------------------------------------------------------------- nothing secret released
def test_release_has_no_solutions_and_no_hidden_tests(assignment):
    release, source = assignment.release_notebook(REPO), assignment.source_notebook(REPO)
    text = release.read_text(encoding="utf-8")
    # the course's data loaders a student's kernel may import (the registry's kernel_modules, course_lib.data.*
    # only: 05's poem loader) are the one mention of course_lib a release may hold
    for module in assignment.kernel_modules:
        if module.startswith("course_lib.data."):
            text = text.replace(f"from {module} import", "")
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{release.relative_to(REPO)} contains {leaked}"
    cells = _code_solution_cells(nbformat.read(release, as_version=4))
    expected = len(reference_functions(assignment))
    assert len(cells) == expected, (
        f"expected {expected} code solution cells (one per public function of {assignment.reference}), "
        f"got {len(cells)}")
    stubs = [_nbgrader(c)["grade_id"] for c in cells if "raise NotImplementedError()" not in c.source]
    assert not stubs, f"release solution cells without the `raise NotImplementedError()` stub: {stubs}"
    solution_lines = {line.strip() for c in _code_solution_cells(nbformat.read(source, as_version=4)) for line in
                      c.source.split("### BEGIN SOLUTION", 1)[-1].split("### END SOLUTION", 1)[0].splitlines()
                      if len(line.strip()) > 25 and not line.strip().startswith("#")}
    assert solution_lines, f"no solution line found in {source.relative_to(REPO)}: have the markers changed?"
    released = [line for line in solution_lines if line in text]
    assert not released, f"solution lines found in the release notebook: {released[:5]}"


def test_hidden_test_data_is_not_released(fresh_build, assignment):
    hidden = json.loads((assignment.hidden_dir(fresh_build) / HIDDEN_TESTS_FILE).read_text(encoding="utf-8"))
    arrays = []

    def collect(value):
        if isinstance(value, dict):
            if "__array__" in value and len(value["__array__"]) >= 16:
                arrays.append(value["__array__"])
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    collect(hidden)
    assert arrays, "the hidden tests hold no reference arrays: has their format changed?"
    for release in (REPO / "release" / assignment.name, fresh_build / "release" / assignment.name):
        files = _release_files(release)
        assert assignment.notebook + ".ipynb" in [p.name for p in files], f"{release} holds no release notebook"
        for path in files:
            text = path.read_text(encoding="utf-8", errors="replace")
            found = [a[:24] for a in arrays if a in text]
            assert not found, f"{path} contains {len(found)} reference arrays of the hidden tests"
    assert not list((REPO / "release").rglob(HIDDEN_TESTS_FILE)), f"{HIDDEN_TESTS_FILE} is in release/"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts)


def _args_digests(value) -> set[str]:
    """Every ``args_digest`` of a hidden-tests file: short, distinctive strings of it."""
    if isinstance(value, dict):
        found = {value["args_digest"]} if isinstance(value.get("args_digest"), str) else set()
        return found.union(*(_args_digests(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_args_digests(v) for v in value))
    return set()


def test_nothing_of_hidden_is_released(fresh_build, assignment):
    """After a fresh build, no file of source/<assignment>/hidden/ is in release/: not by name, not by content
    (sha256 of every hidden file against every released file), not as a fragment (its args digests)."""
    hidden_dirs = [assignment.hidden_dir(fresh_build)]
    if assignment.hidden_dir(REPO).is_dir():
        hidden_dirs.append(assignment.hidden_dir(REPO))
    hidden = {path: _sha256(path) for folder in hidden_dirs for path in _files(folder)}
    assert any(p.name == HIDDEN_TESTS_FILE for p in hidden), (
        f"the fresh build wrote nothing into {assignment.hidden_dir(fresh_build)}: {sorted(map(str, hidden))}")
    names = {p.name for p in hidden}
    digests = set().union(*(_args_digests(json.loads(p.read_text(encoding="utf-8")))
                            for p in hidden if p.name == HIDDEN_TESTS_FILE))
    # the exercises judged from functions have requests with inputs (digested); those of trained models need none
    built = json.loads((assignment.hidden_dir(fresh_build) / HIDDEN_TESTS_FILE).read_text(encoding="utf-8"))
    per_exercise = built["notebooks"][assignment.notebook]["exercises"]
    judged_from_functions = function_exercises(assignment, auto_exercises(assignment.source_notebook(REPO)))
    assert judged_from_functions, f"{assignment.name} has no exercise judged from its functions"
    undigested = [e for e in judged_from_functions if not _args_digests(per_exercise.get(e, {}))]
    assert not undigested, f"the hidden tests hold no args digest for the exercises {undigested}"
    assert len(digests) >= len(judged_from_functions), f"the hidden tests hold only {len(digests)} args digests"
    for release in (fresh_build / "release", REPO / "release"):
        released = {path: _sha256(path) for path in _files(release)}
        assert released, f"{release} holds no file"
        by_name = [str(p.relative_to(release)) for p in released if p.name in names or HIDDEN_DIR in p.parts]
        assert not by_name, f"{release} holds files named like those of hidden/: {by_name}"
        by_content = [(str(p.relative_to(release)), str(h)) for p, digest in released.items()
                      for h, hidden_digest in hidden.items() if digest == hidden_digest]
        assert not by_content, f"{release} holds copies of hidden files (released, hidden): {by_content}"
        for path in released:
            text = path.read_text(encoding="utf-8", errors="replace")
            fragments = sorted(d for d in digests if d in text)
            assert not fragments, f"{path} holds {len(fragments)} args digests of the hidden tests: {fragments[:3]}"


def test_release_has_no_model_answer_and_no_rubric(assignment):
    """The written answers' model answers and rubrics (``lstm-course check`` shows them to a learner who has
    answered) live in the source's solution regions only."""
    from course_lib.grading.self_check import solution_text

    source, release = assignment.source_notebook(REPO), assignment.release_notebook(REPO)
    cells = _hand_graded_cells(nbformat.read(source, as_version=4))
    assert cells, f"{source.relative_to(REPO)} has no hand-graded cell: has the written exercise moved?"
    text = release.read_text(encoding="utf-8")
    for cell in cells:
        model, rubric = solution_text(cell)
        assert model and rubric, f"{_nbgrader(cell)['grade_id']}: a model answer and a rubric are expected"
        lines = [line.strip() for line in (model + "\n" + rubric).splitlines() if len(line.strip()) > 25]
        released = [line for line in lines if line in text or json.dumps(line)[1:-1] in text]
        assert not released, f"{_nbgrader(cell)['grade_id']}: lines of its model answer or rubric released: {released}"
        assert "Rubric" not in text, "a rubric reached the release notebook"
