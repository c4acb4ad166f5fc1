"""End to end: build, autograde a whole class, report, check and demo, on scratch copies of the course.

Nothing here touches the real course directory's gradebook, ``submitted/``, ``autograded/`` or ``feedback/``: every
verb runs as ``lstm-course --course-dir <copy>`` in a subprocess, on a copy made in a temporary directory.
Autograding costs ~10 s per notebook, so the class is graded ONCE, by the module-scoped :func:`graded_class`
fixture, and every assertion about grades, graded notebooks and feedback reads that one run; the demo runs
meanwhile, on its own clean copy.

The exercises and points come from the source notebook's nbgrader metadata, the sample mistakes and what each must
cost from ``course_lib/assignments/lstm_gates/mistakes.py``. The demo mistake's submission also carries the
probes of what a hostile kernel can reach (:func:`probe_cells`): what its work directory holds, a walk of the whole
file system it sees for the files of ``hidden/``, which ``course_lib`` modules it can import and which files of
the course it can read, and a markdown cell with script in it; the tests read what the probe printed from the
autograded notebook.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_lib.assignments.registry import ASSIGNMENTS, get_assignment
from course_lib.grading.course import nbgrader_api
from course_lib.grading.hidden_tests import HIDDEN_DIR, HIDDEN_TESTS_FILE, auto_exercises, graded_cells
from course_lib.grading.samples import Mistake, reference_submission, with_mistake, write_submission
from course_lib.grading.verdicts import unwrapped

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ROW = get_assignment("01_lstm_gates")
ASSIGNMENT = ROW.name
NOTEBOOK = ROW.notebook
#: {grade_id: points} of the automatically graded cells, and of those graded by hand, from the notebook metadata
AUTO_POINTS = auto_exercises(ROW.source_notebook(REPO))
MANUAL_POINTS = {gid: cell["points"] for gid, cell in graded_cells(ROW.source_notebook(REPO)).items()
                 if cell["manual"]}
AUTO_TOTAL = sum(AUTO_POINTS.values())
TOTAL = AUTO_TOTAL + sum(MANUAL_POINTS.values())
MISTAKES: dict[str, Mistake] = ROW.module("mistakes").MISTAKES
DEMO_MISTAKE = ROW.demo_mistake
#: the class member whose notebook also carries the probes (a submission graded anyway: no extra notebook)
PROBE_STUDENT = f"mistake-{DEMO_MISTAKE}"
#: every course_lib module a sandboxed kernel may import (the allowlist of the sandbox, pinned on purpose: a
#: module added here must be one whose source a student may read)
KERNEL_MODULES = {"course_lib", "course_lib.grading", "course_lib.grading.probe", "course_lib.grading.wire",
                  "course_lib.assignments", "course_lib.assignments.lstm_gates",
                  "course_lib.assignments.lstm_gates.inputs"}
#: grader-side modules a kernel must not import: the reference, the checks, the targets, the mistakes, the registry
#: and the verdicts (the solutions or the hidden tests' tolerances and hints can be read from each)
FORBIDDEN_MODULES = ("course_lib.solutions.lstm_gates", "course_lib.assignments.lstm_gates.checks",
                     "course_lib.assignments.lstm_gates.targets", "course_lib.assignments.lstm_gates.mistakes",
                     "course_lib.assignments.registry", "course_lib.grading.verdicts",
                     "course_lib.grading.hidden_tests", "course_lib.solutions")
PROBE_MARK = "[lstm-course probe]"
#: what the probe's markdown cell tries to run in the browser of whoever opens the feedback page
SCRIPT_MARK = "LSTM_COURSE_PROBE_SCRIPT"
#: the <script> elements nbgrader's feedback template itself writes (MathJax and its configuration)
TEMPLATE_SCRIPT = re.compile(r'<script (src="https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/[^"]*"'
                             r'|type="text/x-mathjax-config")>')
#: bad inputs -> a word their rejection reason must contain (case-insensitive)
BAD = {"bad-json": "json", "binary": "binary", "absent": "no submission", "nbformat3": "nbformat"}
CLI_TIMEOUT = 1500  # seconds; the whole class takes ~3 minutes on 2 cores
#: the demo grades three notebooks of each of the six assignments (about 18 minutes with the suite beside it)
DEMO_TIMEOUT = 2700


# --------------------------------------------------------------------------- helpers
class RunningCli:
    """An ``lstm-course`` subprocess started now and waited for later, so that slow verbs can overlap."""

    def __init__(self, course_dir: Path | None, args: tuple[str, ...], cwd: Path | None, log_dir: Path):
        self.args = [sys.executable, "-m", "course_lib.cli"]
        if course_dir is not None:
            self.args += ["--course-dir", str(course_dir)]
        self.args += list(args)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        log_dir.mkdir(parents=True, exist_ok=True)
        self.out, self.err = log_dir / "stdout.txt", log_dir / "stderr.txt"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            # its own session: on a timeout the CLI and the kernels it started are stopped together
            self.process = subprocess.Popen(self.args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                            cwd=str(cwd or course_dir or REPO.parent), start_new_session=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def wait(self, timeout: float) -> subprocess.CompletedProcess:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"{' '.join(self.args[2:])} did not finish within {timeout:g} s:\n"
                                 f"{self.out.read_text(errors='replace')[-3000:]}") from None
        return subprocess.CompletedProcess(self.args, code, self.out.read_text(encoding="utf-8", errors="replace"),
                                           self.err.read_text(encoding="utf-8", errors="replace"))


def run_cli(course_dir: Path | None, *args: str, timeout: float = 600, cwd: Path | None = None
            ) -> subprocess.CompletedProcess:
    """``lstm-course [--course-dir DIR] ARGS`` in a subprocess, from a directory outside the real course."""
    log_dir = Path(tempfile.mkdtemp(prefix="lstm-course-cli-"))
    try:
        return RunningCli(course_dir, args, cwd, log_dir).wait(timeout)
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)


def describe_run(result: subprocess.CompletedProcess) -> str:
    return (f"exit code {result.returncode}\n--- stdout ---\n{result.stdout[-6000:]}\n"
            f"--- stderr ---\n{result.stderr[-6000:]}")


def tracked_files(prefixes: tuple[str, ...] = ()) -> list[str]:
    """Files of the course checkout tracked by git (optionally only those under ``prefixes``)."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True,
                            timeout=60).stdout.decode().split("\0")
    return [f for f in listed if f and (not prefixes or f.startswith(prefixes)) and (REPO / f).is_file()]


def copy_files(files: list[str], destination: Path) -> None:
    for name in files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)


def grades_of(root: Path, student: str) -> dict[str, tuple[float | None, float]]:
    """``{grade cell id: (auto_score, max_score)}`` of a student's notebook, from the scratch gradebook."""
    api = nbgrader_api(root)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        notebook = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
        return {g.name: (g.auto_score, g.max_score) for g in notebook.grades}


def gradebook_students(root: Path) -> set[str]:
    api = nbgrader_api(root)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        return {s.id for s in gb.students}


def lost(grades: dict[str, tuple[float | None, float]]) -> list[str]:
    """The automatically graded exercises that did not get full marks."""
    return [name for name in AUTO_POINTS if grades[name][0] is None or grades[name][0] < grades[name][1]]


def graded_notebook(root: Path, student: str) -> Path:
    return root / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"


def feedback_html(root: Path, student: str) -> Path:
    return root / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html"


def verdict_texts(root: Path, student: str) -> dict[str, str]:
    """The stdout the grader wrote under each graded cell of the autograded notebook."""
    notebook = nbformat.read(graded_notebook(root, student), as_version=4)
    texts = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            streams = [o.get("text", "") for o in cell.outputs if o.output_type == "stream"]
            texts[meta["grade_id"]] = "".join([unwrapped(streams[0]), *streams[1:]] if streams else [])
    return texts


def verdict_line(exercise: str, score: float, max_score: float) -> str:
    """The head line of an exercise's verdict, as the grader writes it in the graded notebook and the feedback."""
    return f"{exercise}: {score:g} / {max_score:g} points"


def notebook_title() -> str:
    first = nbformat.read(ROW.source_notebook(REPO), as_version=4).cells[0].source.splitlines()[0]
    assert first.startswith("# "), f"the source notebook's first cell should start with its title: {first!r}"
    return first[2:].strip()


def live_script_problems(html: str) -> list[str]:
    """What in a feedback page could run script that did not come from nbgrader's own template."""
    problems = [f"<script> element {tag[:120]!r}" for tag in re.findall(r"<script\b[^>]*>", html, re.IGNORECASE)
                if not TEMPLATE_SCRIPT.fullmatch(tag)]
    problems += [f"script body mentioning the probe: {body[:120]!r}" for body in
                 re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.IGNORECASE | re.DOTALL) if SCRIPT_MARK in body]
    problems += [f"event handler {m[:120]!r}" for m in re.findall(r"<[a-z][^>]*\son[a-z]+\s*=[^>]*>", html,
                                                                    re.IGNORECASE)]
    problems += [f"javascript: URL {m!r}" for m in re.findall(r"(?:href|src)\s*=\s*[\"']?\s*javascript:", html,
                                                               re.IGNORECASE)]
    return problems


def mistake_student(name: str) -> str:
    return f"mistake-{name}"


# --------------------------------------------------------------------------- what hidden/ holds
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


@dataclass
class HiddenFiles:
    """The files of a built ``source/01_lstm_gates/hidden/`` and distinctive pieces of their contents."""

    folder: Path
    sha256: dict[str, str]        # file name -> sha256
    fragments: list[str]          # args digests and reference arrays of the hidden tests

    @classmethod
    def of(cls, root: Path) -> "HiddenFiles":
        folder = ROW.hidden_dir(root)
        files = files_under(folder)
        assert any(p.name == HIDDEN_TESTS_FILE for p in files), f"{folder} holds no {HIDDEN_TESTS_FILE}: {files}"
        fragments: set[str] = set()

        def collect(value):
            if isinstance(value, dict):
                if isinstance(value.get("args_digest"), str):
                    fragments.add(value["args_digest"])
                if isinstance(value.get("__array__"), str) and len(value["__array__"]) >= 16:
                    fragments.add(value["__array__"])
                for v in value.values():
                    collect(v)
            elif isinstance(value, list):
                for v in value:
                    collect(v)

        collect(json.loads((folder / HIDDEN_TESTS_FILE).read_text(encoding="utf-8")))
        assert len(fragments) > 2 * len(AUTO_POINTS), f"the hidden tests hold only {len(fragments)} fragments"
        return cls(folder, {p.name: sha256(p) for p in files}, sorted(fragments))

    def found_in_text(self, text: str) -> list[str]:
        """Names of hidden files and pieces of their contents that occur in ``text``."""
        return ([f"file name {name}" for name in self.sha256 if name in text]
                + [f"content {fragment[:24]}..." for fragment in self.fragments if fragment in text])

    def found_in_tree(self, tree: Path) -> list[str]:
        """Files under ``tree`` named like a hidden file, inside a ``hidden`` folder, equal to one, or quoting it."""
        found = []
        for path in files_under(tree):
            relative = path.relative_to(tree)
            if path.name in self.sha256 or HIDDEN_DIR in relative.parts:
                found.append(f"{relative} (by name)")
            if sha256(path) in self.sha256.values():
                found.append(f"{relative} (a copy of a hidden file)")
            quoted = [f for f in self.fragments if f in path.read_text(encoding="utf-8", errors="replace")]
            if quoted:
                found.append(f"{relative} (quotes {len(quoted)} pieces of the hidden tests)")
        return found


# --------------------------------------------------------------------------- the probes
def _encoded(text: str) -> str:
    """Paths and names reach the probe base64-encoded: the graded notebook keeps the cell's source, and no hidden
    file name may occur in it unless something leaked."""
    return base64.b64encode(text.encode()).decode()


def probe_cells(course: Path, hidden: HiddenFiles) -> list[nbformat.NotebookNode]:
    """Cells a hostile student adds: one that reports what the kernel can reach, one markdown cell with script.

    The code cell prints one line, ``PROBE_MARK`` and a JSON object: the work directory (listing and sha256 of
    every file), a walk of the whole file system the kernel sees (every file or folder named like one of hidden/),
    whether the grader's folders exist, which course_lib modules import and which course files can be read.
    """
    reads = {  # label -> a file of a course checkout the kernel must not read
        "checkout README.md": REPO / "README.md",
        "checkout nbgrader_config.py": REPO / "nbgrader_config.py",
        "checkout reference solution": REPO / "course_lib" / "solutions" / f"{NOTEBOOK}.py",
        "checkout checks": REPO / "course_lib" / "assignments" / NOTEBOOK / "checks.py",
        "checkout hidden tests": ROW.hidden_dir(REPO) / HIDDEN_TESTS_FILE,
        "scratch course nbgrader_config.py": course / "nbgrader_config.py",
        "scratch course gradebook": course / "gradebook.db",
        "scratch course source notebook": ROW.source_notebook(course),
        "scratch course hidden tests": ROW.hidden_dir(course) / HIDDEN_TESTS_FILE,
    }
    folders = {"checkout hidden/": ROW.hidden_dir(REPO), "scratch course hidden/": ROW.hidden_dir(course),
               "scratch course source/": course / "source", "checkout source/": REPO / "source"}
    allowed = sorted(KERNEL_MODULES)
    code = f"""# Added by a curious student: what can this kernel reach?
import base64, hashlib, importlib, json, os, pkgutil
_decode = lambda text: base64.b64decode(text).decode()
_READS = {{label: _decode(path) for label, path in {json.dumps({k: _encoded(str(v)) for k, v in reads.items()})}.items()}}
_FOLDERS = {{label: _decode(path) for label, path in {json.dumps({k: _encoded(str(v)) for k, v in folders.items()})}.items()}}
_NAMES = {{_decode(name) for name in {json.dumps(sorted(_encoded(n) for n in hidden.sha256))}}}
_ASSIGNMENT = {ASSIGNMENT!r}
report = {{"cwd": os.getcwd(), "listdir": sorted(os.listdir("."))}}
work = {{}}
for folder, subfolders, files in os.walk("."):
    for name in subfolders:
        work[os.path.relpath(os.path.join(folder, name))] = "folder"
    for name in files:
        path = os.path.join(folder, name)
        try:
            with open(path, "rb") as f:
                work[os.path.relpath(path)] = hashlib.sha256(f.read()).hexdigest()
        except OSError as error:
            work[os.path.relpath(path)] = type(error).__name__
report["work"] = work
# the grading scratch course this work directory was made in (<scratch>/kernel-work/<work>)
scratch = os.path.dirname(os.path.dirname(os.getcwd()))
_FOLDERS["grading scratch source/"] = os.path.join(scratch, "source")
report["scratch listing"] = sorted(os.listdir(scratch)) if os.path.isdir(scratch) else None
found, counted, seen = [], 0, []
for folder, subfolders, files in os.walk("/"):
    if folder == "/":
        subfolders[:] = [s for s in subfolders if s not in ("proc", "sys", "dev")]
    counted += len(files)
    found += [os.path.join(folder, n) for n in subfolders + files if n in _NAMES]
    if os.path.basename(folder) == "hidden" and os.path.basename(os.path.dirname(folder)) == _ASSIGNMENT:
        found.append(folder)
    if folder.endswith("course_lib/grading"):
        seen += [os.path.join(folder, n) for n in files if n.endswith(".py")]
report["walk"] = {{"files": counted, "found": found, "course_lib/grading": sorted(seen)}}
report["folders"] = {{label: os.path.exists(path) for label, path in _FOLDERS.items()}}
reads = {{}}
for label, path in _READS.items():
    try:
        with open(path, "rb") as f:
            reads[label] = f"read {{len(f.read(64))}} bytes"
    except BaseException as error:
        reads[label] = type(error).__name__
report["reads"] = reads
imports = {{}}
for name in {json.dumps(allowed + list(FORBIDDEN_MODULES))}:
    try:
        importlib.import_module(name)
        imports[name] = "imported"
    except BaseException as error:
        imports[name] = type(error).__name__
report["imports"] = imports
import course_lib
report["importable"] = sorted(["course_lib"] + [m.name for m in pkgutil.walk_packages(
    course_lib.__path__, "course_lib.", onerror=lambda name: None)])
print({PROBE_MARK!r}, json.dumps(report, sort_keys=True))
"""
    markdown = (f"My notes.\n\n<script>document.title = '{SCRIPT_MARK}';</script>\n\n"
                f"<img src=\"x.png\" onerror=\"document.title = '{SCRIPT_MARK}'\">\n\n"
                f"[a link](javascript:alert('{SCRIPT_MARK}'))\n")
    return [nbformat.v4.new_markdown_cell(markdown), nbformat.v4.new_code_cell(code)]


def probe_report(root: Path) -> dict:
    """What the probe cell printed, read from the probe student's autograded notebook."""
    notebook = nbformat.read(graded_notebook(root, PROBE_STUDENT), as_version=4)
    printed = ["".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
               for cell in notebook.cells if cell.cell_type == "code"]
    lines = [line for text in printed for line in text.splitlines() if line.startswith(PROBE_MARK)]
    assert len(lines) == 1, (
        f"expected one line starting with {PROBE_MARK!r} in the outputs of {PROBE_STUDENT}'s graded notebook, got "
        f"{len(lines)}; outputs of its added cell:\n"
        + "\n".join(json.dumps(c.get("outputs"))[:3000] for c in notebook.cells
                     if c.cell_type == "code" and PROBE_MARK in c.source))
    return json.loads(lines[0][len(PROBE_MARK):])


def kernel_outputs_text(notebook: nbformat.NotebookNode) -> str:
    """Every output of every cell of a graded notebook, as JSON text (what the kernel and the grader wrote)."""
    return "\n".join(json.dumps(cell.get("outputs", []), ensure_ascii=False) for cell in notebook.cells
                     if cell.cell_type == "code")


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def scratch_course(tmp_path_factory) -> Path:
    """A built copy of the course: nbgrader_config.py, source/ and release/ as tracked (nothing of hidden/)."""
    root = tmp_path_factory.mktemp("course")
    files = [f for f in tracked_files(("source/", "release/")) if HIDDEN_DIR not in Path(f).parts]
    copy_files(["nbgrader_config.py", *files], root)
    assert not ROW.hidden_dir(root).exists(), "the scratch course must start without a built hidden/"
    result = run_cli(root, "build", ASSIGNMENT)
    assert result.returncode == 0, f"`lstm-course build` failed on the scratch course:\n{describe_run(result)}"
    return root


@dataclass
class GradedClass:
    root: Path
    students: list[str]
    honest: list[str]
    result: subprocess.CompletedProcess
    log: dict
    grades: dict[str, dict[str, tuple[float | None, float]]]
    texts: dict[str, dict[str, str]]
    hidden: HiddenFiles


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """``lstm-course demo`` on a fresh copy of the tracked files, started early to overlap with the class."""
    checkout = tmp_path_factory.mktemp("checkout")
    copy_files(tracked_files(), checkout)
    untracked = [p for p in ("gradebook.db", "submitted", "feedback", "grades.csv", f"source/{ASSIGNMENT}/hidden")
                 if (checkout / p).exists()]
    assert not untracked, f"a clean checkout should not contain {untracked}"
    running = RunningCli(checkout, ("demo",), None, tmp_path_factory.mktemp("demo_logs"))
    yield checkout, running
    running.stop()


@pytest.fixture(scope="module")
def graded_class(demo_run, scratch_course) -> GradedClass:
    """Hand in a whole class (reference, untouched, one per sample mistake, bad files) and autograde it once,
    with feedback; the demo mistake's notebook also carries the probes."""
    root = scratch_course
    hidden = HiddenFiles.of(root)
    release = ROW.release_notebook(root)
    reference = reference_submission(release, ROW.source_notebook(root))
    notebooks = {"reference": reference}
    notebooks.update({mistake_student(name): with_mistake(reference, m) for name, m in MISTAKES.items()})
    notebooks[PROBE_STUDENT].cells += probe_cells(root, hidden)
    notebooks["untouched"] = nbformat.read(release, as_version=4)
    for student, notebook in notebooks.items():
        write_submission(root, student, ASSIGNMENT, NOTEBOOK, notebook)

    def bad_file(student: str, content: bytes) -> None:
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{NOTEBOOK}.ipynb").write_bytes(content)

    bad_file("bad-json", b'{"cells": [ {"cell_type": "code", ')
    # seeded random bytes, led by 0xff (never in UTF-8) so that the file is binary whatever the seed gives
    bad_file("binary", b"\xff\xfe\x00" + random.Random(20261128).randbytes(4096))
    bad_file("nbformat3", json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": NOTEBOOK},
                                      "worksheets": [{"cells": [], "metadata": {}}]}).encode())
    # "absent" has no folder at all
    honest = list(notebooks)
    # bad ones in the middle: reference and half the mistakes before them, the rest of the class after them
    middle = 1 + len(MISTAKES) // 2
    students = honest[:middle] + list(BAD) + honest[middle:]
    arguments = ["autograde", ASSIGNMENT]
    for student in students:
        arguments += ["--student", student]
    result = run_cli(root, *arguments, timeout=CLI_TIMEOUT)
    assert result.returncode == 0, f"`lstm-course autograde` of the class failed:\n{describe_run(result)}"
    log = json.loads((root / "autograded" / "grading-log.json").read_text(encoding="utf-8"))
    graded = [s for s in honest if log.get(f"{ASSIGNMENT}/{s}", {}).get("status") == "graded"]
    return GradedClass(root=root, students=students, honest=honest, result=result, log=log,
                       grades={s: grades_of(root, s) for s in graded},
                       texts={s: verdict_texts(root, s) for s in graded}, hidden=hidden)


def _grades(graded_class: GradedClass, student: str) -> dict[str, tuple[float | None, float]]:
    entry = graded_class.log.get(f"{ASSIGNMENT}/{student}")
    assert student in graded_class.grades, (
        f"{student} was not graded: grading-log entry {entry}\n{describe_run(graded_class.result)}")
    return graded_class.grades[student]


def _table(grades: dict[str, tuple[float | None, float]]) -> str:
    return ", ".join(f"{name} {score}/{max_score:g}" for name, (score, max_score) in grades.items())


# --------------------------------------------------------------------------- the class
def test_gradebook_has_the_assignment_cells_and_points(graded_class):
    grades = _grades(graded_class, "reference")
    max_points = {name: max_score for name, (_, max_score) in grades.items()}
    assert max_points == {**AUTO_POINTS, **MANUAL_POINTS}, (
        f"grade cells and points in the gradebook {max_points}, in the source notebook's metadata "
        f"{ {**AUTO_POINTS, **MANUAL_POINTS} }")
    assert MANUAL_POINTS, "assignment 01 has a written answer graded by hand"
    automatic = {name: grades[name][0] for name in MANUAL_POINTS if grades[name][0] is not None}
    assert not automatic, f"cells graded by hand got an automatic score: {automatic}"


def test_reference_gets_full_automatic_marks(graded_class):
    grades = _grades(graded_class, "reference")
    missing = lost(grades)
    assert not missing, (f"the reference solution lost points in {missing}: {_table(grades)}\n"
                         + "\n".join(graded_class.texts["reference"][m] for m in missing))


def test_untouched_release_gets_zero(graded_class):
    grades = _grades(graded_class, "untouched")
    scored = {name: grades[name][0] for name in AUTO_POINTS if grades[name][0] != 0}
    assert not scored, f"the untouched release notebook earned points: {scored}"


@pytest.mark.parametrize("mistake_name", sorted(MISTAKES))
def test_mistake_loses_points_exactly_in_its_costs(graded_class, mistake_name):
    """Each sample mistake costs points in exactly the exercises it declares: the one where it is made
    (``costs[0]``) and the later ones that cannot be judged without it, and nowhere else."""
    mistake = MISTAKES[mistake_name]
    assert mistake.costs and set(mistake.costs) <= set(AUTO_POINTS), (
        f"{mistake_name}: costs {mistake.costs} must name automatically graded exercises of {sorted(AUTO_POINTS)}")
    assert mistake.costs[0] == mistake.function, (
        f"{mistake_name} is made in {mistake.function}, but its costs start with {mistake.costs[0]}")
    student = mistake_student(mistake_name)
    grades = _grades(graded_class, student)
    charged = set(lost(grades))
    texts = graded_class.texts[student]
    assert charged == set(mistake.costs), (
        f"{mistake_name} ({mistake.description}) should cost points in exactly {sorted(mistake.costs)}; it cost "
        f"points in {sorted(charged)} (not caught in {sorted(set(mistake.costs) - charged) or 'none'}, charged "
        f"without cause in {sorted(charged - set(mistake.costs)) or 'none'}): {_table(grades)}\n"
        + "\n".join(texts[name] for name in sorted(charged ^ set(mistake.costs))))


def test_demo_mistake_loses_points_only_in_its_costs(graded_class):
    grades = _grades(graded_class, mistake_student(DEMO_MISTAKE))
    mistake = MISTAKES[DEMO_MISTAKE]
    assert lost(grades) == list(mistake.costs) == ["lstm_cell_forward"], (
        f"{DEMO_MISTAKE} ({mistake.description}) should cost points in lstm_cell_forward only (what the README "
        f"and the demo say), lost in {lost(grades)}: {_table(grades)}")


def test_feedback_states_every_score_of_the_gradebook(graded_class):
    """Every graded student's feedback page exists and states each exercise's verdict with the gradebook's score,
    under the notebook's title, with no live script."""
    title = notebook_title()
    for student in graded_class.grades:
        path = feedback_html(graded_class.root, student)
        assert path.is_file(), f"no feedback for {student} at {path}:\n{describe_run(graded_class.result)}"
        html = path.read_text(encoding="utf-8")
        missing = [verdict_line(name, score, max_score) for name, (score, max_score)
                   in graded_class.grades[student].items() if name in AUTO_POINTS
                   and verdict_line(name, score, max_score) not in html]
        assert not missing, f"{student}'s feedback lacks the verdict lines {missing} (the gradebook's scores)"
        assert title in html, f"{student}'s feedback lacks the notebook title {title!r}"
        assert not live_script_problems(html), f"{student}'s feedback: {live_script_problems(html)}"


@pytest.mark.parametrize("student", sorted(BAD))
def test_bad_input_is_rejected_with_a_one_line_reason(graded_class, student):
    entry = graded_class.log.get(f"{ASSIGNMENT}/{student}")
    assert entry is not None, f"{student} is missing from autograded/grading-log.json: {sorted(graded_class.log)}"
    assert entry["status"] == "rejected", f"{student} should be rejected, the grading log says {entry}"
    reason = entry["reason"]
    assert reason and "\n" not in reason, f"{student}: the reason must be one non-empty line, got {reason!r}"
    assert BAD[student] in reason.lower(), f"{student}: the reason should mention {BAD[student]!r}: {reason!r}"
    assert "Traceback" not in reason, f"{student}: a traceback is not a reason: {reason!r}"
    assert student not in graded_class.grades, f"{student} was rejected but has grades in the gradebook"


def test_students_after_bad_inputs_are_graded(graded_class):
    last_bad = max(graded_class.students.index(s) for s in BAD)
    after = [s for s in graded_class.students[last_bad + 1:] if s not in BAD]
    assert after, f"the class order puts no honest student after the bad inputs: {graded_class.students}"
    not_graded = {s: graded_class.log.get(f"{ASSIGNMENT}/{s}") for s in graded_class.honest
                  if graded_class.log.get(f"{ASSIGNMENT}/{s}", {}).get("status") != "graded"}
    assert not not_graded, f"honest students not graded (after bad inputs: {after}): {not_graded}"
    assert gradebook_students(graded_class.root) >= set(graded_class.honest), "honest students missing from gradebook"


def test_regrading_the_reference_is_deterministic(graded_class):
    root = graded_class.root
    first_grades, first_texts = graded_class.grades["reference"], graded_class.texts["reference"]
    result = run_cli(root, "autograde", ASSIGNMENT, "--student", "reference", "--no-feedback", "--force")
    assert result.returncode == 0, f"re-running autograde on the reference failed:\n{describe_run(result)}"
    assert grades_of(root, "reference") == first_grades, (
        f"the reference's grades changed on a re-run:\nfirst {_table(first_grades)}\n"
        f"again {_table(grades_of(root, 'reference'))}")
    again = verdict_texts(root, "reference")
    changed = [name for name in first_texts if again.get(name) != first_texts[name]]
    assert not changed, f"the verdict text changed on a re-run in {changed}"


# --------------------------------------------------------------------------- nothing of hidden/ reaches anyone
def test_nothing_of_hidden_is_in_release(graded_class):
    """(a) After the scratch course's build, release/ holds no file of hidden/: by name, by sha256, or quoting the
    hidden tests' digests or reference arrays."""
    release = graded_class.root / "release"
    assert files_under(release), f"the build wrote nothing into {release}"
    leaks = graded_class.hidden.found_in_tree(release)
    assert not leaks, f"release/ holds what hidden/ holds: {leaks}"


def test_nothing_of_hidden_is_in_the_grading_scratch_course(graded_class, tmp_path):
    """(b, grader side) The scratch course a submission is graded in, and so the kernel's work directory made
    from it, holds no file of hidden/ (made in-process as the autograde verb makes it, without running a kernel)."""
    from course_lib.grading.scratch import GradingContext, prepare_scratch

    root = graded_class.root
    ctx = GradingContext.create(root, ROW, "bwrap", tmp_path / "context")
    released = [str(p) for p in ctx.released_files if HIDDEN_DIR in p.relative_to(ROW.source_dir(root)).parts
                or p.name in graded_class.hidden.sha256]
    assert not released, f"the files copied next to every submission include hidden ones: {released}"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    prepare_scratch(ctx, root / "submitted" / PROBE_STUDENT / ASSIGNMENT, PROBE_STUDENT, scratch)
    assert (scratch / "submitted" / PROBE_STUDENT / ASSIGNMENT / f"{NOTEBOOK}.ipynb").is_file()
    for tree in (scratch, ctx.template):
        leaks = graded_class.hidden.found_in_tree(tree)
        assert not leaks, f"the grading scratch course {tree} holds what hidden/ holds: {leaks}"


def test_nothing_of_hidden_reaches_the_kernel(graded_class):
    """(b) A sandboxed kernel that lists its work directory and walks the whole file system it sees finds no file
    of hidden/, and neither the course's nor the grading scratch course's source/ exists for it."""
    report = probe_report(graded_class.root)
    names = graded_class.hidden.sha256
    in_work = [(path, digest) for path, digest in report["work"].items()
               if Path(path).name in names or HIDDEN_DIR in Path(path).parts or digest in names.values()]
    assert not in_work, f"the kernel's work directory {report['cwd']} holds hidden files: {in_work}"
    assert HIDDEN_DIR not in report["listdir"], f"the kernel's work directory lists {report['listdir']}"
    walk = report["walk"]
    assert walk["files"] > 1000 and any(p.endswith("/probe.py") for p in walk["course_lib/grading"]), (
        f"the kernel's walk of its file system looks vacuous (it should see the Python installation and the "
        f"probe): {walk}")
    assert not walk["found"], f"the kernel found files and folders of hidden/ on its file system: {walk['found']}"
    visible = sorted(label for label, exists in report["folders"].items() if exists)
    assert not visible, f"folders of the grader the kernel can see: {visible} (all: {report['folders']})"
    assert not report["scratch listing"] or set(report["scratch listing"]) <= {"kernel-work"}, (
        f"the kernel sees the grading scratch course around its work directory: {report['scratch listing']}")


def test_nothing_of_hidden_reaches_the_graded_notebook_or_the_feedback(graded_class):
    """(c) No graded notebook (its outputs; the probe's too) and no feedback page names a file of hidden/ or holds
    a piece of the hidden tests (their args digests, their reference arrays)."""
    hidden = graded_class.hidden
    for student in graded_class.grades:
        notebook = nbformat.read(graded_notebook(graded_class.root, student), as_version=4)
        leaks = hidden.found_in_text(kernel_outputs_text(notebook))
        assert not leaks, f"{student}'s graded notebook outputs hold what hidden/ holds: {leaks}"
        html = feedback_html(graded_class.root, student).read_text(encoding="utf-8")
        leaks = hidden.found_in_text(html)
        assert not leaks, f"{student}'s feedback page holds what hidden/ holds: {leaks}"
    # the probe's own notebook, whole (its source too: the probe names what it looks for only encoded)
    text = graded_notebook(graded_class.root, PROBE_STUDENT).read_text(encoding="utf-8")
    assert not hidden.found_in_text(text), f"{PROBE_STUDENT}'s graded notebook: {hidden.found_in_text(text)}"


def test_sandboxed_kernel_imports_only_the_allowlist_and_reads_no_course_file(graded_class):
    """The kernel of a real autograding run can import exactly the allowlisted course_lib modules, none of the
    grader's, and read no file of the course checkout or of the scratch course being graded."""
    allowlist = set(ROW.kernel_allowlist())
    parents = {".".join(m.split(".")[:depth]) for m in allowlist for depth in range(1, m.count(".") + 1)}
    assert allowlist | parents == KERNEL_MODULES, (
        f"the registry's kernel allowlist {sorted(allowlist)} changed: if on purpose, update KERNEL_MODULES")
    report = probe_report(graded_class.root)
    imports = report["imports"]
    not_imported = {name: imports.get(name) for name in KERNEL_MODULES if imports.get(name) != "imported"}
    assert not not_imported, f"allowlisted modules the kernel could not import: {not_imported}"
    imported = [name for name in FORBIDDEN_MODULES if imports.get(name) != "ModuleNotFoundError"]
    assert not imported, (f"grader-side modules the kernel could import (or that failed otherwise than "
                          f"ModuleNotFoundError): { {name: imports.get(name) for name in imported} }")
    assert set(report["importable"]) == KERNEL_MODULES, (
        f"course_lib modules the kernel can find: {sorted(report['importable'])}; only {sorted(KERNEL_MODULES)} "
        f"should exist for it")
    readable = {label: outcome for label, outcome in report["reads"].items()
                if outcome not in ("FileNotFoundError", "PermissionError")}
    assert not readable, f"files of the course the kernel could read: {readable}"
    assert len(report["reads"]) >= 9, f"the probe tried fewer reads than it should: {report['reads']}"


def test_script_in_student_markdown_does_not_run_in_the_feedback(graded_class):
    html = feedback_html(graded_class.root, PROBE_STUDENT).read_text(encoding="utf-8")
    assert SCRIPT_MARK in html, f"the probe's markdown cell is not in {PROBE_STUDENT}'s feedback page at all"
    problems = live_script_problems(html)
    assert not problems, f"{PROBE_STUDENT}'s feedback page could run the student's script: {problems}"


# --------------------------------------------------------------------------- report
def test_report_has_one_row_per_student_with_reasons(graded_class):
    root = graded_class.root
    result = run_cli(root, "report")
    assert result.returncode == 0, f"`lstm-course report` failed:\n{describe_run(result)}"
    path = root / "grades.csv"
    assert path.is_file(), f"`lstm-course report` did not write {path}:\n{describe_run(result)}"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    students = [row["student"] for row in rows]
    assert sorted(students) == sorted(graded_class.students), (
        f"the CSV should have exactly one row per student of the class:\nrows {sorted(students)}\n"
        f"class {sorted(graded_class.students)}")
    by_student = {row["student"]: row for row in rows}
    for student, word in BAD.items():
        row = by_student[student]
        assert row["status"] == "rejected" and word in row["reason"].lower(), (
            f"{student}'s row should say rejected with a reason mentioning {word!r}: {row}")
        assert float(row["score"]) == 0, f"{student} was rejected but scores {row['score']}"
    reference = by_student["reference"]
    assert reference["status"] == "graded" and float(reference["score"]) == AUTO_TOTAL, (
        f"the reference's row should be graded with {AUTO_TOTAL:g} points: {reference}")
    assert float(by_student["untouched"]["score"]) == 0, f"untouched's row: {by_student['untouched']}"


# --------------------------------------------------------------------------- check
def test_check_reference_prints_full_marks_without_touching_the_gradebook(graded_class):
    root = graded_class.root
    notebook = root / "submitted" / "reference" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    before = (root / "gradebook.db").read_bytes()
    students_before = gradebook_students(root)
    result = run_cli(root, "check", str(notebook))
    assert result.returncode == 0, f"`lstm-course check` on the reference failed:\n{describe_run(result)}"
    assert f"Total: {AUTO_TOTAL:g} / {AUTO_TOTAL:g}" in result.stdout, (
        f"expected 'Total: {AUTO_TOTAL:g} / {AUTO_TOTAL:g}':\n{describe_run(result)}")
    assert "Traceback" not in result.stderr, describe_run(result)
    assert gradebook_students(root) == students_before, "`lstm-course check` added students to the gradebook"
    assert (root / "gradebook.db").read_bytes() == before, "`lstm-course check` changed the course's gradebook.db"
    assert not (root / "submitted" / "self-check").exists(), "`lstm-course check` wrote into the course's submitted/"


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, f"expected exit code 2:\n{describe_run(result)}"
    assert "Traceback" not in result.stderr + result.stdout, f"a user error must not print a traceback:\n" \
                                                            f"{describe_run(result)}"
    assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}:\n{describe_run(result)}"
    return lines[0]


def test_check_invalid_json_is_one_line_error(scratch_course, tmp_path):
    path = tmp_path / f"{NOTEBOOK}.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    line = _one_line_error(run_cli(scratch_course, "check", str(path), cwd=tmp_path))
    assert "json" in line.lower(), f"the error should say the file is not valid JSON: {line!r}"


def test_check_unknown_notebook_name_is_one_line_error(scratch_course, tmp_path):
    release = ROW.release_notebook(scratch_course)
    path = tmp_path / "my_homework.ipynb"
    shutil.copyfile(release, path)
    line = _one_line_error(run_cli(scratch_course, "check", str(path), cwd=tmp_path))
    assert "my_homework.ipynb" in line and "not a notebook of this course" in line, (
        f"the error should name the file and say it is not a course notebook: {line!r}")


def test_autograde_unknown_assignment_is_one_line_error(scratch_course):
    line = _one_line_error(run_cli(scratch_course, "autograde", "99_nope"))
    assert "unknown assignment" in line and "99_nope" in line, f"unexpected error line: {line!r}"


# --------------------------------------------------------------------------- demo
def test_demo_from_a_clean_checkout(demo_run):
    """``lstm-course demo`` prints the three scores, and each feedback page states the student's verdicts with
    their scores ("lstm_cell_forward: 0 / 2 points" for demo-buggy), under the notebook's title, with no script
    but the template's; the demo's build releases nothing of hidden/."""
    checkout, running = demo_run
    result = running.wait(DEMO_TIMEOUT)
    assert result.returncode == 0, f"`lstm-course demo` failed on a clean checkout:\n{describe_run(result)}"
    assert "Traceback" not in result.stderr, f"the demo printed a traceback:\n{describe_run(result)}"
    mistake = MISTAKES[DEMO_MISTAKE]
    expected = {  # student -> {exercise: score}
        "demo-reference": dict(AUTO_POINTS),
        "demo-untouched": dict.fromkeys(AUTO_POINTS, 0.0),
        "demo-buggy": {name: 0.0 if name in mistake.costs else points for name, points in AUTO_POINTS.items()},
    }
    lines = result.stdout.splitlines()
    title = notebook_title()
    for student, scores in expected.items():
        total = f"{sum(scores.values()):g} / {TOTAL:g}"
        assert any(student in line and total in line for line in lines), (
            f"expected a line with {student} and {total}:\n{describe_run(result)}")
        html_path = feedback_html(checkout, student)
        assert html_path.is_file(), f"the demo did not write the feedback {html_path}:\n{describe_run(result)}"
        html = html_path.read_text(encoding="utf-8")
        missing = [verdict_line(name, score, AUTO_POINTS[name]) for name, score in scores.items()
                   if verdict_line(name, score, AUTO_POINTS[name]) not in html]
        assert not missing, f"{student}'s feedback page lacks the verdict lines {missing}"
        assert title in html, f"{student}'s feedback page lacks the notebook title {title!r}"
        problems = live_script_problems(html)
        assert not problems, f"{student}'s feedback page has script that is not the template's: {problems}"
    buggy = feedback_html(checkout, "demo-buggy").read_text(encoding="utf-8")
    assert "lstm_cell_forward: 0 / 2 points" in buggy, "demo-buggy's feedback should say lstm_cell_forward: 0 / 2"
    untouched = feedback_html(checkout, "demo-untouched").read_text(encoding="utf-8")
    assert "NotImplementedError" in untouched, "demo-untouched's feedback should say why: NotImplementedError"
    leaks = HiddenFiles.of(checkout).found_in_tree(checkout / "release")
    assert not leaks, f"the demo's build released what hidden/ holds: {leaks}"


def test_demo_grades_every_assignment_of_the_registry(demo_run):
    """The demo covers each assignment: the reference earns every automatic point, the untouched release none, and
    the demo mistake costs points in its own exercises only (for 02, a scaler fitted on all the data costs
    scale_splits only, through real autograding: the one end-to-end run of that mistake, its models judged on
    correctly scaled data; for 04, ``p / T`` costs 2 of the 4 points of sample, the checks the temperature decides)."""
    checkout, running = demo_run
    result = running.wait(DEMO_TIMEOUT)
    assert result.returncode == 0, f"`lstm-course demo` failed on a clean checkout:\n{describe_run(result)}"
    for row in ASSIGNMENTS.values():
        points = auto_exercises(row.source_notebook(REPO))
        total = sum(graded_cells(row.source_notebook(REPO))[g]["points"] for g in graded_cells(row.source_notebook(REPO)))
        costs = row.module("mistakes").MISTAKES[row.demo_mistake].costs
        full = sum(points.values())
        # the mistake costs points in its exercises only, all of them or a share (a check of several in one
        # exercise): the buggy total lies between the reference's less those exercises' points and the reference's
        least = full - sum(points[c] for c in costs if c in points)
        allowed = {"demo-reference": (full, full), "demo-untouched": (0, 0), "demo-buggy": (least, full - 1e-9)}
        for student, (low, high) in allowed.items():
            lines = [text for text in result.stdout.splitlines() if student in text and f" {row.name} " in text
                     and f" / {total:g}" in text]
            assert lines, f"expected a line with {student}, {row.name} and '/ {total:g}':\n{describe_run(result)}"
            score = float(lines[0].split(f" / {total:g}")[0].split()[-1])
            assert low <= score <= high, (f"{student} in {row.name}: {score:g} / {total:g}, expected "
                                          f"{low:g}{'' if low == high else f' to less than {full:g}'}:\n"
                                          f"{describe_run(result)}")
            html = (checkout / "feedback" / student / row.name / f"{row.notebook}.ipynb").with_suffix(".html")
            assert html.is_file(), f"the demo wrote no feedback for {student} in {row.name}"


# --------------------------------------------------------------------------- check (untouched)
def test_check_untouched_prints_zero_and_why(graded_class):
    root = graded_class.root
    notebook = root / "submitted" / "untouched" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    before = (root / "gradebook.db").read_bytes()
    result = run_cli(root, "check", str(notebook))
    assert result.returncode == 0, f"`lstm-course check` on the untouched notebook failed:\n{describe_run(result)}"
    for exercise, points in AUTO_POINTS.items():
        assert f"{exercise}: 0 / {points:g}" in result.stdout, (
            f"expected '{exercise}: 0 / {points:g}' in the check report:\n{describe_run(result)}")
    assert "✗" in result.stdout and "NotImplementedError" in result.stdout, (
        f"the check report should show the failing checks and why (NotImplementedError):\n{describe_run(result)}")
    assert (root / "gradebook.db").read_bytes() == before, "`lstm-course check` changed the course's gradebook.db"
    # the hand-graded cells are not automatic points, answered or not
    total = [line for line in result.stdout.splitlines() if line.startswith("Total:")]
    assert f"Total: 0 / {AUTO_TOTAL:g}" in result.stdout, (
        f"expected 'Total: 0 / {AUTO_TOTAL:g}' ({AUTO_TOTAL:g} automatic points), got {total}; the unanswered "
        f"manual cells {sorted(MANUAL_POINTS)} must not count as automatic:\n{describe_run(result)}")
