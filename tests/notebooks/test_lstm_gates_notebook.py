"""Assignment 01's notebooks: the source runs and passes its own tests, its solutions are the reference module's
functions, and the committed release is exactly what a build makes from it, with nothing secret left in it (no
solution, no hidden test, nothing of ``source/01_lstm_gates/hidden/``).

The exercise list and points are read from the source notebook's nbgrader metadata (the one place they are
written); only :func:`test_assignment_01_exercise_list_is_pinned` writes them out, on purpose.
"""
from __future__ import annotations

import ast
import hashlib
import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading.hidden_tests import HIDDEN_DIR, HIDDEN_TESTS_FILE, auto_exercises
from course_lib.grading.probe import REPORT_MIME
from course_lib.solutions import lstm_gates as solution

pytestmark = pytest.mark.notebook

REPO = Path(__file__).resolve().parents[2]
ROW = get_assignment("01_lstm_gates")
ASSIGNMENT = ROW.name
NOTEBOOK = ROW.notebook
SOURCE = ROW.source_notebook(REPO)
RELEASE = ROW.release_notebook(REPO)
#: the automatically graded exercises, in notebook order, from the source notebook's nbgrader metadata
EXERCISES = tuple(auto_exercises(SOURCE))
API_FUNCTIONS = set(EXERCISES)  # one solution function per automatically graded exercise, same name
MARKER_LINE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*$")
#: what must never reach a student
SECRETS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "report_values", "course_lib")


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _code_solution_cells(notebook) -> list:
    return [c for c in notebook.cells if c.cell_type == "code" and _nbgrader(c).get("solution")]


def _grade_code_cells(notebook) -> list:
    return [c for c in notebook.cells if c.cell_type == "code" and _nbgrader(c).get("grade")
            and not _nbgrader(c).get("solution")]


def _tracked(prefix: str) -> list[str]:
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", prefix], capture_output=True, check=True,
                            timeout=60).stdout.decode().split("\0")
    return [f for f in listed if f and (REPO / f).is_file()]


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def build_started(tmp_path_factory):
    """``lstm-course build`` of a scratch course holding nbgrader_config.py and the tracked source/ only.

    Started in the background (its own session) so that it overlaps with the notebook's execution.
    """
    root = tmp_path_factory.mktemp("fresh_build")
    for name in ["nbgrader_config.py", *_tracked("source/")]:
        if HIDDEN_DIR in Path(name).parts:
            continue
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    assert not (root / "release").exists()
    assert not ROW.hidden_dir(root).exists(), "the scratch course must start without hidden/ (the build makes it)"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    logs = tmp_path_factory.mktemp("fresh_build_logs")
    with open(logs / "out.txt", "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "course_lib.cli", "--course-dir", str(root), "build", ASSIGNMENT],
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
def executed_source(build_started, tmp_path_factory):
    """The source notebook run top to bottom in a python3 kernel, in a copy of its folder."""
    from nbclient import NotebookClient

    workdir = tmp_path_factory.mktemp("source_run")
    for item in ROW.source_dir(REPO).iterdir():
        if item.is_file():  # released data next to the notebook; never hidden/ (a folder)
            shutil.copy2(item, workdir / item.name)
    notebook = nbformat.read(workdir / f"{NOTEBOOK}.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")  # the kernel inherits it: no TensorFlow start-up chatter
        client.execute()
    return notebook


# --------------------------------------------------------------------------- the exercise list
def test_assignment_01_exercise_list_is_pinned():
    """A deliberate regression check: the one place the exercise list and points of assignment 01 are written out
    in the tests. Everything else reads them from the notebook metadata, so change this only on purpose."""
    assert auto_exercises(SOURCE) == {
        "sigmoid": 1, "forget_gate": 1, "input_gate": 1, "candidate_cell": 1, "output_gate": 1,
        "lstm_cell_forward": 2, "lstm_forward": 2, "lstm_cell_backward": 3, "lstm_backward": 3,
    }, f"the automatically graded exercises and points of {SOURCE.relative_to(REPO)} changed: {auto_exercises(SOURCE)}"


# --------------------------------------------------------------------------- the source runs
def test_source_notebook_runs_without_errors(executed_source):
    errors = [(i, o.get("ename"), o.get("evalue")) for i, cell in enumerate(executed_source.cells)
              if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"the source notebook raised in cells (index, exception, message): {errors}"


def test_source_visible_tests_pass(executed_source):
    cells = _grade_code_cells(executed_source)
    assert [_nbgrader(c)["grade_id"] for c in cells] == list(EXERCISES), "grade cells of the source notebook"
    failing = []
    for cell in cells:
        grade_id = _nbgrader(cell)["grade_id"]
        stdout = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if f"{grade_id}: visible tests passed" not in stdout:
            failing.append((grade_id, stdout[-500:]))
    assert not failing, f"visible tests that did not print '<exercise>: visible tests passed': {failing}"


def test_source_hidden_tests_report_every_exercise(executed_source):
    reports = {}
    for cell in _grade_code_cells(executed_source):
        grade_id = _nbgrader(cell)["grade_id"]
        payloads = [o["data"][REPORT_MIME] for o in cell.outputs
                    if o.output_type in ("display_data", "execute_result") and REPORT_MIME in o.get("data", {})]
        assert len(payloads) == 1, f"{grade_id}: expected one {REPORT_MIME} output, got {len(payloads)}"
        payload = payloads[0] if isinstance(payloads[0], dict) else json.loads(payloads[0])
        assert payload.get("exercise") == grade_id, f"{grade_id}: the report is for {payload.get('exercise')!r}"
        broken = {rid: r.get("error") for rid, r in payload["results"].items() if not r.get("ok")}
        assert not broken, f"{grade_id}: the reference raised in hidden-test requests: {broken}"
        reports[grade_id] = payload
    assert sorted(reports) == sorted(EXERCISES), f"exercises with a hidden report: {sorted(reports)}"


# --------------------------------------------------------------------------- one source of truth
def _function_ast(source: str, where: str) -> ast.FunctionDef:
    module = ast.parse(source)
    functions = [n for n in module.body if isinstance(n, ast.FunctionDef)]
    assert len(module.body) == 1 and len(functions) == 1, (
        f"{where} should define exactly one function and nothing else, found "
        f"{[type(n).__name__ + ':' + getattr(n, 'name', '') for n in module.body]}")
    return functions[0]


def test_solution_cells_are_the_reference_functions():
    notebook = nbformat.read(SOURCE, as_version=4)
    seen = []
    for cell in _code_solution_cells(notebook):
        grade_id = _nbgrader(cell)["grade_id"]
        code = "\n".join(line for line in cell.source.splitlines() if not MARKER_LINE.match(line))
        function = _function_ast(code, f"solution cell {grade_id}")
        reference = getattr(solution, function.name, None)
        assert reference is not None, (
            f"solution cell {grade_id} defines {function.name}, which {solution.__name__} lacks")
        expected = _function_ast(textwrap.dedent(inspect.getsource(reference)), f"{solution.__name__}.{function.name}")
        assert ast.dump(function) == ast.dump(expected), (
            f"solution cell {grade_id} differs from {solution.__name__}.{function.name}: the module is "
            f"the single source of truth, paste its function into the cell (between the solution markers)")
        seen.append(function.name)
    assert len(seen) == len(set(seen)), f"functions defined by more than one solution cell: {seen}"
    module_functions = {name for name, f in inspect.getmembers(solution, inspect.isfunction)
                        if f.__module__ == solution.__name__ and not name.startswith("_")}
    assert set(seen) == module_functions == API_FUNCTIONS, (
        f"solution cells define {sorted(seen)}; the module's public functions are {sorted(module_functions)}; "
        f"the API is {sorted(API_FUNCTIONS)}")


# --------------------------------------------------------------------------- stored clean
@pytest.mark.parametrize("path", [SOURCE, RELEASE], ids=["source", "release"])
def test_notebook_is_stored_without_outputs(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    dirty = [(i, cell.get("id"), len(cell.get("outputs", [])), cell.get("execution_count"))
             for i, cell in enumerate(data["cells"]) if cell["cell_type"] == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{path.relative_to(REPO)} has outputs or execution counts in cells "
                       f"(index, id, outputs, execution_count): {dirty}; clear them before committing")


# --------------------------------------------------------------------------- release == build
def test_release_equals_a_fresh_build(fresh_build):
    built = json.loads((fresh_build / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text(encoding="utf-8"))
    committed = json.loads(RELEASE.read_text(encoding="utf-8"))
    if built != committed:
        differences = [key for key in sorted(set(built) | set(committed)) if key != "cells"
                       and built.get(key) != committed.get(key)]
        cells = [i for i, (a, b) in enumerate(zip(built["cells"], committed["cells"])) if a != b]
        pytest.fail(f"release/{ASSIGNMENT}/{NOTEBOOK}.ipynb is not what `lstm-course build` makes from source/: "
                    f"top-level keys differ {differences}, cells differ at {cells}, cell counts "
                    f"{len(built['cells'])} (built) vs {len(committed['cells'])} (committed); run "
                    f"`lstm-course build` and commit release/")


def test_release_has_exactly_the_built_files(fresh_build):
    built = sorted(str(p.relative_to(fresh_build / "release")) for p in (fresh_build / "release").rglob("*")
                   if p.is_file())
    on_disk = sorted(str(p.relative_to(REPO / "release")) for p in (REPO / "release").rglob("*")
                     if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    assert built == on_disk, f"release/ holds {on_disk}, a fresh build makes {built}"
    tracked = sorted(str(Path(f).relative_to("release")) for f in _tracked("release/"))
    assert tracked == built, f"git tracks {tracked} under release/, a fresh build makes {built}"
    assert not any(Path(f).name == HIDDEN_TESTS_FILE or HIDDEN_DIR in Path(f).parts for f in built), (
        f"hidden tests released: {built}")
    assert (ROW.hidden_dir(fresh_build) / HIDDEN_TESTS_FILE).is_file(), (
        f"the build should write the hidden tests into source/{ASSIGNMENT}/{HIDDEN_DIR}/")


# --------------------------------------------------------------------------- nothing secret released
def test_release_has_no_solutions_and_no_hidden_tests():
    text = RELEASE.read_text(encoding="utf-8")
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"release/{ASSIGNMENT}/{NOTEBOOK}.ipynb contains {leaked}"
    notebook = nbformat.read(RELEASE, as_version=4)
    cells = _code_solution_cells(notebook)
    assert len(cells) == len(EXERCISES), f"expected {len(EXERCISES)} code solution cells, got {len(cells)}"
    stubs = [_nbgrader(c)["grade_id"] for c in cells if "raise NotImplementedError()" not in c.source]
    assert not stubs, f"release solution cells without the `raise NotImplementedError()` stub: {stubs}"
    source = nbformat.read(SOURCE, as_version=4)
    solution_lines = {line.strip() for c in _code_solution_cells(source) for line in
                      c.source.split("### BEGIN SOLUTION", 1)[-1].split("### END SOLUTION", 1)[0].splitlines()
                      if len(line.strip()) > 25 and not line.strip().startswith("#")}
    released = [line for line in solution_lines if line in text]
    assert not released, f"solution lines found in the release notebook: {released[:5]}"


def test_hidden_test_data_is_not_released(fresh_build):
    hidden = json.loads((ROW.hidden_dir(fresh_build) / HIDDEN_TESTS_FILE).read_text(encoding="utf-8"))
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
    for release in (RELEASE, fresh_build / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"):
        text = release.read_text(encoding="utf-8")
        found = [a[:24] for a in arrays if a in text]
        assert not found, f"{release} contains {len(found)} reference arrays of the hidden tests"
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


def test_nothing_of_hidden_is_released(fresh_build):
    """After a fresh build, no file of source/01_lstm_gates/hidden/ is in release/: not by name, not by content
    (sha256 of every hidden file against every released file), not as a fragment (its args digests)."""
    hidden_dirs = [ROW.hidden_dir(fresh_build)] + ([ROW.hidden_dir(REPO)] if ROW.hidden_dir(REPO).is_dir() else [])
    hidden = {path: _sha256(path) for folder in hidden_dirs for path in _files(folder)}
    assert any(p.name == HIDDEN_TESTS_FILE for p in hidden), (
        f"the fresh build wrote nothing into {ROW.hidden_dir(fresh_build)}: {sorted(map(str, hidden))}")
    names = {p.name for p in hidden}
    digests = set().union(*(_args_digests(json.loads(p.read_text(encoding="utf-8")))
                            for p in hidden if p.name == HIDDEN_TESTS_FILE))
    assert len(digests) >= len(EXERCISES), f"the hidden tests hold only {len(digests)} args digests"
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


def _hand_graded_cells(notebook) -> list:
    return [c for c in notebook.cells if _nbgrader(c).get("grade") and _nbgrader(c).get("solution")]


def test_release_has_no_model_answer_and_no_rubric():
    """The written answers' model answers and rubrics (``lstm-course check`` shows them to a learner who has
    answered) live in the source's solution regions only."""
    from course_lib.grading.self_check import solution_text

    cells = _hand_graded_cells(nbformat.read(SOURCE, as_version=4))
    assert cells, f"{SOURCE.relative_to(REPO)} has no hand-graded cell: has Exercise 10 moved?"
    text = RELEASE.read_text(encoding="utf-8")
    for cell in cells:
        model, rubric = solution_text(cell)
        assert model and rubric, f"{_nbgrader(cell)['grade_id']}: a model answer and a rubric are expected"
        lines = [line.strip() for line in (model + "\n" + rubric).splitlines() if len(line.strip()) > 25]
        released = [line for line in lines if line in text or json.dumps(line)[1:-1] in text]
        assert not released, f"{_nbgrader(cell)['grade_id']}: lines of its model answer or rubric released: {released}"
        assert "Rubric" not in text, "a rubric reached the release notebook"


# --------------------------------------------------------------------------- visible tests, as nbgrader shows them
#: `nbgrader validate` prints an error's lines indented by 4 and cut at 87 characters, the message after
#: "AssertionError: ": what matters must fit in the first 67 characters
VALIDATE_ROOM = 87 - len("    AssertionError: ")


def _expect_close():
    namespace: dict = {}
    exec(nbformat.read(SOURCE, as_version=4).cells[1].source, namespace)  # noqa: S102 - the course's own cell
    return namespace["expect_close"]


def _labels() -> list[str]:
    labels = []
    for cell in _grade_code_cells(nbformat.read(SOURCE, as_version=4)):
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "expect_close":
                labels.append(ast.literal_eval(node.args[0]))
    return labels


def _failure(expect_close, got, expected, **kwargs) -> str:
    import numpy as np

    with pytest.raises(AssertionError) as raised:
        expect_close("what", np.asarray(got, dtype=float), expected, **kwargs)
    return str(raised.value)


def test_every_visible_failure_says_what_where_expected_and_got_on_a_line_validate_keeps():
    import numpy as np

    expect_close = _expect_close()
    labels = _labels()
    assert len(labels) >= len(EXERCISES) - 2, f"expect_close calls found in the grade cells: {labels}"
    # the worst a visible test can show: a 3-d index, long numbers of both signs
    expected = np.full((2, 3, 3), -0.123457)
    for label in labels:
        with pytest.raises(AssertionError) as raised:
            expect_close(label, np.full((2, 3, 3), -1.23457e-05), expected)
        first = str(raised.value).splitlines()[0]
        assert re.fullmatch(rf"{re.escape(label)}: at index \(0, 0, 0\) expected -0\.123\d*, "
                            rf"got -1\.23\d*e-05", first), first
        assert len(first) <= VALIDATE_ROOM, f"{first!r} is {len(first)} characters: nbgrader validate cuts it"
    # short numbers keep all six digits
    with pytest.raises(AssertionError) as raised:
        expect_close("h_seq", np.full((2, 3, 3), 0.0304207), np.full((2, 3, 3), 0.241482))
    assert str(raised.value).splitlines()[0] == "h_seq: at index (0, 0, 0) expected 0.241482, got 0.0304207"


def test_visible_failures_print_plain_numbers_and_a_hint_after_the_first_line():
    import numpy as np

    expect_close = _expect_close()
    message = _failure(expect_close, [[0.5, 0.9]], [[0.5, 0.1]])
    assert message.splitlines()[0] == "what: at index (0, 1) expected 0.1, got 0.9", message
    assert "np." not in message, f"NumPy 2 scalars printed as reprs: {message}"
    assert message.splitlines()[1] == "hint: you got 1 - expected: is the sign of the sigmoid's argument flipped?"
    assert _failure(expect_close, [0.1, 0.2], [0.1, 0.3]).splitlines()[0] == "what: at index 1 expected 0.3, got 0.2"
    assert _failure(expect_close, [0.1, np.nan], [0.1, 0.3]).splitlines()[0] == \
        "what: at index 1 expected 0.3, got nan"
    given = _failure(expect_close, [1.0], [2.0], hint="the last step must be h_T")
    assert given.splitlines()[1] == "hint: the last step must be h_T", given


def _validate(notebook, tmp_path) -> str:
    path = tmp_path / f"{NOTEBOOK}.ipynb"
    nbformat.write(notebook, path)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "validate", str(path)], cwd=str(REPO),
                            capture_output=True, text=True, timeout=600, env=env)
    return result.stdout + result.stderr


def test_nbgrader_validate_shows_expected_and_got_of_a_wrong_solution(tmp_path):
    """A copy of the release with the reference solutions, the forget gate's sign flipped (which also breaks the
    gradient checks of the cell built on it): every failing visible test shows expected and got, uncut."""
    from course_lib.grading.samples import Mistake, reference_submission, with_mistake

    flipped = Mistake("flipped_forget_sign", "forget_gate", "sigmoid(x_t @ W_f + h_prev @ U_f + b_f)",
                      "sigmoid(-(x_t @ W_f + h_prev @ U_f + b_f))", costs=("forget_gate",), description="sign")
    output = _validate(with_mistake(reference_submission(RELEASE, SOURCE), flipped), tmp_path)
    errors = [line.strip() for line in output.splitlines() if line.strip().startswith("AssertionError:")]
    assert errors, f"nbgrader validate reported no failing visible test:\n{output[-3000:]}"
    assert any(re.fullmatch(r"AssertionError: forget_gate: at index \(0, \d\) expected 0\.\d+, got 0\.\d+", e)
               for e in errors), f"the forget gate's expected and got values are not shown: {errors}"
    assert any(e.startswith("AssertionError: lstm_cell_backward: d") for e in errors), errors
    cut = [e for e in errors if e.endswith("...")]
    assert not cut, f"nbgrader validate cut these first lines: {cut}"
