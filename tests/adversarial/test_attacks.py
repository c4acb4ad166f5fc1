"""Hostile students in one class: nothing they do earns a point, changes a file, or survives the grading.

A scratch course is built once per module and ONE ``autograde`` call grades the whole class, in the bubblewrap
sandbox: honest students first, one student per attack and per bad input (:mod:`tests.adversarial.attacks`), then
honest students again. A second scratch course grades the same honest students alone, so the attackers' effect
on their classmates (if any) shows as a difference. Every assertion reads that one run; the last thing the module
prints is the table of outcomes. Cost: ~10 s per notebook that runs, plus the time-limit attacks (~2 min).
"""
from __future__ import annotations

import hashlib
import os
import re
import random
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

import course_lib
from course_lib.grading.class_grading import autograde
from course_lib.grading.course import nbgrader_api
from course_lib.grading.course_build import build
from course_lib.grading.hidden_tests import HIDDEN_DIR, HIDDEN_TESTS_FILE, auto_exercises
from course_lib.grading.outcomes import read_log
from course_lib.grading.sandbox import Sandbox, bwrap_available

from .attacks import (ASSIGNMENT, BIG_FILE, COURSE_MODULES, HONEST_MISTAKE, KERNEL_IMPORTABLE, NOTEBOOK,
                      SECRET_VARIABLE, Context, Student, class_of_attackers, printed_lines, verdict_texts)

pytestmark = pytest.mark.adversarial

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(course_lib.__file__).resolve().parent
#: {grade cell: points} of the automatically graded exercises, from the source notebook's nbgrader metadata
AUTO_POINTS = auto_exercises(REPO / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
FULL = sum(AUTO_POINTS.values())
assert AUTO_POINTS and FULL > 0, f"no automatically graded cell in source/{ASSIGNMENT}/{NOTEBOOK}.ipynb"
CELL_TIMEOUT, WALL_SECONDS = 15, 60
SCRATCH_CONFIG = f"\n# adversarial tests: time-limit attacks end fast\nc.Execute.timeout = {CELL_TIMEOUT}\n" \
                 f"c.Sandbox.wall_seconds = {WALL_SECONDS}\n"

# The class as data, known at collection time (the paths in it are filled in by the fixture).
FIRST, ATTACKERS, LAST = class_of_attackers(Context(Path("/nonexistent"), "0", PACKAGE))
HONEST = [s.name for s in FIRST + LAST]
BY_NAME = {s.name: s for s in FIRST + ATTACKERS + LAST}
#: a resource or kill attack -> words (lowercase) one of which its reason must contain
LIMIT_REASONS = {"a8-exit": ("kernel died",), "a8-wall": ("wall-time limit",),
                 "a8-spin": (f"longer than {CELL_TIMEOUT} s",), "a7-killer": ("kernel",),
                 "a7-reacher": ("kernel",)}


def _param(student: Student):
    if student.known_weakness:
        return pytest.param(student.name, marks=pytest.mark.xfail(strict=True, reason=student.known_weakness))
    return student.name


# --------------------------------------------------------------------------- helpers
def make_course(root: Path) -> Path:
    """A built scratch course: the repository's nbgrader_config.py (plus short limits), source/ and release/ without
    any ``hidden/`` build output (the scratch build makes its own)."""
    skip = shutil.ignore_patterns(HIDDEN_DIR, HIDDEN_TESTS_FILE, "__pycache__", ".ipynb_checkpoints")
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "source", root / "source", ignore=skip)
    shutil.copytree(REPO / "release", root / "release", ignore=skip)
    leftovers = list(root.rglob(HIDDEN_DIR)) + list(root.rglob(HIDDEN_TESTS_FILE))
    assert not leftovers, f"the scratch course must start without built hidden tests: {leftovers}"
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(SCRATCH_CONFIG)
    build(root, [ASSIGNMENT], echo=lambda *a: None)
    assert hidden_tests(root).is_file(), f"building the scratch course wrote no {hidden_tests(root)}"
    return root


def hidden_tests(root: Path) -> Path:
    return root / "source" / ASSIGNMENT / HIDDEN_DIR / HIDDEN_TESTS_FILE


def digest_tree(*paths: Path) -> dict[str, str]:
    """sha256 of every file under ``paths`` (files or directories), by path."""
    digests = {}
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() or p.is_symlink())
        for file in files:
            if file.is_symlink():
                digests[str(file)] = f"symlink -> {os.readlink(file)}"
                continue
            h = hashlib.sha256()
            with open(file, "rb") as f:
                for block in iter(lambda: f.read(2**20), b""):
                    h.update(block)
            digests[str(file)] = h.hexdigest()
    return digests


def processes_with(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found


def gradebook_grades(root: Path, student: str) -> dict[str, tuple[float | None, float, bool]] | None:
    """``{grade cell: (auto_score, max_score, needs_manual_grade)}`` or ``None`` if the student has no submission."""
    api = nbgrader_api(root)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        try:
            notebook = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
        except MissingEntry:
            return None
        return {g.name: (g.auto_score, g.max_score, bool(g.needs_manual_grade)) for g in notebook.grades}


def autograded_notebook(root: Path, student: str) -> nbformat.NotebookNode | None:
    path = root / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return None


def grade_class(root: Path, students: list[str]) -> tuple[list, float, list[str]]:
    """One ``autograde`` call for the whole class, as ``lstm-course autograde`` runs it (warnings never raise)."""
    echoed: list[str] = []
    started = time.monotonic()
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("ignore")  # pytest turns RuntimeWarning into errors; the CLI does not
        outcomes = autograde(root, [ASSIGNMENT], students, feedback=False, echo=echoed.append, sandbox="bwrap")
    return outcomes, time.monotonic() - started, echoed


@dataclass
class GradedClass:
    root: Path
    clean_root: Path
    ctx: Context
    order: list[str]
    log: dict[str, dict]
    grades: dict[str, dict | None]
    clean_grades: dict[str, dict | None]
    notebooks: dict[str, nbformat.NotebookNode | None]
    before: dict[str, str]
    after: dict[str, str]
    canary: str
    leftovers: list[str]
    seconds: float
    clean_seconds: float
    outcomes: list = field(default_factory=list)
    echoed: list[str] = field(default_factory=list)

    def entry(self, student: str) -> dict:
        entry = self.log.get(f"{ASSIGNMENT}/{student}")
        assert entry is not None, f"{student} is missing from the grading log: {sorted(self.log)}"
        return entry

    def auto_grades(self, student: str) -> dict[str, float | None]:
        """``{automatic exercise: auto score}``; fails the test when the student has no grades at all."""
        grades = self.grades.get(student)
        entry = self.log.get(f"{ASSIGNMENT}/{student}")
        assert grades is not None, f"{student} has no grades in the gradebook: {entry}"
        missing = [name for name in AUTO_POINTS if name not in grades]
        assert not missing, f"{student}: the gradebook has no grade for {missing} (it has {sorted(grades)})"
        return {name: grades[name][0] for name in AUTO_POINTS}

    def printed(self, student: str, prefix: str) -> list[str]:
        """What ``student``'s notebook printed on lines starting with ``prefix``; fails without a graded notebook."""
        notebook = self.notebooks.get(student)
        assert notebook is not None, f"{student} has no autograded notebook: {self.log.get(f'{ASSIGNMENT}/{student}')}"
        return printed_lines(notebook, prefix)

    def auto_total(self, student: str) -> float | None:
        grades = self.grades.get(student)
        if grades is None:
            return None
        return sum(grades[name][0] or 0 for name in AUTO_POINTS)

    def scored(self, student: str) -> dict[str, float]:
        """The automatic exercises where ``student`` earned points."""
        grades = self.grades.get(student) or {}
        return {name: grades[name][0] for name in AUTO_POINTS if name in grades and (grades[name][0] or 0) > 0}

    def explain(self, student: str) -> str:
        entry = self.log.get(f"{ASSIGNMENT}/{student}")
        notebook = self.notebooks.get(student)
        texts = verdict_texts(notebook) if notebook is not None else {}
        verdicts = "\n".join(texts.get(name, f"{name}: (no verdict)").split("\n\nWhat your code printed")[0][:1200]
                             for name in self.scored(student) or AUTO_POINTS)
        return f"grading log: {entry}\nverdicts:\n{verdicts}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> GradedClass:
    problem = bwrap_available(Sandbox().bwrap)
    if problem:
        pytest.skip(f"the adversarial tests need the bubblewrap sandbox: {problem}")
    root = make_course(tmp_path_factory.mktemp("attacked") / "course")
    clean_root = make_course(tmp_path_factory.mktemp("clean") / "course")
    marker = f"1000.{random.SystemRandom().randrange(10**5, 10**6)}"
    ctx = Context(root, marker, PACKAGE)
    canary = "the grader must never write here\n"
    (root / "canary.txt").write_text(canary, encoding="utf-8")
    first, attackers, last = class_of_attackers(ctx)
    order = [s.name for s in first + attackers + last]
    for student in first + attackers + last:
        student.build(ctx)
    clean_ctx = Context(clean_root, marker, PACKAGE)
    for student in first + last:
        student.build(clean_ctx)

    watched = [root / "source", root / "release", root / "nbgrader_config.py", root / "canary.txt",
               root / "submitted"]
    before = digest_tree(*watched)
    secret = f"s3cret-{marker}"
    saved = os.environ.get(SECRET_VARIABLE)
    os.environ[SECRET_VARIABLE] = secret  # a stand-in for the instructor's tokens
    try:
        outcomes, seconds, echoed = grade_class(root, order)
    finally:
        if saved is None:
            os.environ.pop(SECRET_VARIABLE, None)
        else:
            os.environ[SECRET_VARIABLE] = saved
    after = digest_tree(*watched)
    for _ in range(50):  # the sandboxes end with their kernels; give the last one a moment
        leftovers = processes_with(marker)
        if not leftovers:
            break
        time.sleep(0.1)
    _, clean_seconds, _ = grade_class(clean_root, [s.name for s in first + last])

    graded_class = GradedClass(
        root=root, clean_root=clean_root, ctx=ctx, order=order, log=read_log(root),
        grades={s: gradebook_grades(root, s) for s in order},
        clean_grades={s.name: gradebook_grades(clean_root, s.name) for s in first + last},
        notebooks={s: autograded_notebook(root, s) for s in order},
        before=before, after=after, canary=canary, leftovers=leftovers, seconds=seconds,
        clean_seconds=clean_seconds, outcomes=outcomes, echoed=echoed)
    assert len(outcomes) == len(order), f"autograde returned {len(outcomes)} outcomes for {len(order)} students"
    yield graded_class
    print_table(graded_class)


def print_table(graded: GradedClass) -> None:
    rows = [("attack", "student", "status", "auto", "reason")]
    for name in graded.order:
        entry = graded.log.get(f"{ASSIGNMENT}/{name}", {})
        total = graded.auto_total(name)
        rows.append((BY_NAME[name].category, name, entry.get("status", "?"),
                     "-" if total is None else f"{total:g}/{FULL}", entry.get("reason", "")[:110]))
    widths = [min(max(len(r[i]) for r in rows), 60) for i in range(4)]
    print(f"\n\nAdversarial class: {len(graded.order)} students graded in {graded.seconds:.0f} s "
          f"(clean class of {len(HONEST)}: {graded.clean_seconds:.0f} s)")
    for row in rows:
        print("  ".join(cell[:60].ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])


# --------------------------------------------------------------------------- honest students
# --------------------------------------------------------------------------- the class as a whole
def test_every_student_has_the_expected_outcome(graded):
    """The class was graded: one outcome per hand-in, each logged with the status its kind of hand-in must get,
    grades for the graded ones and none for the rejected ones."""
    print(f"\nclass of {len(graded.order)} graded in {graded.seconds:.0f} s; echoed lines:\n"
          + "\n".join(graded.echoed))
    assert sorted(o.student for o in graded.outcomes) == sorted(graded.order), "autograde's outcomes: " + ", ".join(
        o.student for o in graded.outcomes)
    assert sorted(graded.log) == sorted(f"{ASSIGNMENT}/{s}" for s in graded.order), f"grading log: {sorted(graded.log)}"
    wrong = {s: graded.entry(s) for s in graded.order if graded.entry(s)["status"] != BY_NAME[s].status}
    assert not wrong, "students whose status is not the expected one:\n" + "\n".join(
        f"  {s}: expected {BY_NAME[s].status}, got {e['status']}: {e['reason'][:200]}" for s, e in wrong.items())
    for student in graded.order:
        if BY_NAME[student].status == "graded":
            assert graded.entry(student)["max_score"] >= FULL, graded.entry(student)
            graded.auto_grades(student)
        else:
            assert graded.grades[student] is None, f"{student} is {graded.entry(student)['status']} but has grades"


# --------------------------------------------------------------------------- honest students
def test_honest_students_graded_as_expected(graded):
    for student in HONEST:
        entry = graded.entry(student)
        assert entry["status"] == "graded", f"{student} was not graded: {entry}"
        scores = graded.auto_grades(student)
        lost = [name for name in AUTO_POINTS if (scores[name] or 0) < AUTO_POINTS[name]]
        expected = [] if "reference" in BY_NAME[student].category else list(HONEST_MISTAKE.costs)
        assert lost == expected, f"{student} ({BY_NAME[student].category}) lost points in {lost}, expected " \
                                 f"{expected or 'none'}:\n{graded.explain(student)}"


def test_honest_scores_do_not_depend_on_the_attackers(graded):
    for student in HONEST:
        with_attackers = graded.auto_grades(student)
        assert graded.clean_grades[student] is not None, f"{student} has no grades in the class graded alone"
        alone = {name: graded.clean_grades[student][name][0] for name in AUTO_POINTS}
        assert with_attackers == alone, (
            f"{student}'s scores changed when graded with the attackers:\nwith {with_attackers}\nalone {alone}")


# --------------------------------------------------------------------------- every attack earns nothing
@pytest.mark.parametrize("student", [_param(s) for s in ATTACKERS if s.expect == "zero"])
def test_attack_earns_no_automatic_point(graded, student):
    entry = graded.entry(student)
    assert entry["status"] == "graded", f"{student}: should be graded (with 0 points), the log says {entry}"
    scores = graded.auto_grades(student)
    assert all(score == 0 for score in scores.values()), (
        f"{student} ({BY_NAME[student].category}) earned {graded.auto_total(student):g} automatic points from the "
        f"untouched release notebook: {graded.scored(student)}\n{graded.explain(student)}")


@pytest.mark.parametrize("student", [s.name for s in ATTACKERS])
def test_outcome_has_a_one_line_reason(graded, student):
    entry = graded.entry(student)
    reason = entry["reason"]
    assert "\n" not in reason and "Traceback" not in reason, f"{student}: the reason must be one line: {reason!r}"
    if entry["status"] != "graded":
        assert reason.strip(), f"{student} is {entry['status']} without a reason: {entry}"


@pytest.mark.parametrize("student", [s.name for s in ATTACKERS if s.status == "graded"])
def test_automatic_cells_never_need_manual_grading(graded, student):
    graded.auto_grades(student)  # fails when the student, expected to be graded, has no grades
    grades = graded.grades[student]
    manual = [name for name in AUTO_POINTS if grades[name][2] or grades[name][0] is None]
    assert not manual, f"{student}: automatic cells left for manual grading: {manual} ({graded.entry(student)})"


@pytest.mark.parametrize("student", sorted(LIMIT_REASONS))
def test_kernel_deaths_and_limits_are_graded_zero_with_a_reason(graded, student):
    entry = graded.entry(student)
    assert entry["status"] == "graded", f"{student} should be graded (0 points), the log says {entry}"
    assert graded.auto_total(student) == 0, graded.explain(student)
    reason = entry["reason"].lower()
    assert any(word in reason for word in LIMIT_REASONS[student]), (
        f"{student}: the reason should mention one of {LIMIT_REASONS[student]}: {entry['reason']!r}")
    assert "manual" not in reason, f"{student}: {entry['reason']!r}"


@pytest.mark.parametrize("student", ["a6-tags-meta", "a6-schema99", "a6-deleted"])
def test_test_cells_run_whatever_the_notebook_file_says(graded, student):
    """The hidden tests still ran: each verdict quotes the stub's NotImplementedError, not a missing report."""
    notebook = graded.notebooks[student]
    assert notebook is not None, f"{student} has no autograded notebook: {graded.entry(student)}"
    texts = verdict_texts(notebook)
    assert sorted(texts) == sorted(AUTO_POINTS), f"{student}: graded cells in the autograded notebook: {sorted(texts)}"
    silent = [name for name, text in texts.items() if "NotImplementedError" not in text]
    assert not silent, f"{student}: these hidden tests did not run: {silent}\n" + "\n".join(
        texts[name][:400] for name in silent)


def test_students_after_a_bad_schema_version_are_graded(graded):
    after = graded.order[graded.order.index("a6-schema99") + 1:]
    broken = {s: graded.entry(s) for s in after
              if graded.entry(s)["status"] == "failed" or "schema" in graded.entry(s)["reason"].lower()}
    assert not broken, f"students after a6-schema99 not graded normally: {broken}"


# --------------------------------------------------------------------------- nothing reaches outside
def test_course_files_are_unchanged(graded):
    changed = sorted(p for p in set(graded.before) | set(graded.after) if graded.before.get(p) != graded.after.get(p)
                     and not p.endswith("canary.txt"))
    assert not changed, f"grading changed (or created, or removed) files of the course: {changed}"


def test_no_process_is_left_behind(graded):
    for student, proof in (("a7-leaver", "left two sleepers behind"), ("a8-memory-forks", "children started")):
        assert graded.printed(student, proof[:12]), f"{student} did not start its processes ({proof!r} not printed)"
    assert not graded.leftovers, f"processes started by students survived the grading: {graded.leftovers}"


#: What the reacher must have tried (one printed line each); the attempts run in the order listed in attacks.py.
REACHER_ATTEMPTS = (
    "read the hidden tests", "list source/01_lstm_gates/hidden/", "read the hidden tests at their old path",
    "read the hidden tests from the work directory", "read course_lib/solutions/lstm_gates.py",
    "read course_lib/solutions/lstm_numpy.py", "read course_lib/assignments/lstm_gates/checks.py",
    "read course_lib/assignments/lstm_gates/targets.py", "read course_lib/assignments/lstm_gates/mistakes.py",
    "read course_lib/assignments/registry.py", "read course_lib/grading/verdicts.py",
    "read course_lib/grading/hidden_tests.py", "read the gradebook", "append to nbgrader_config.py",
    "rewrite and lock the gradebook", "overwrite honest-c's submission", "open the grader's verdicts.py for writing",
    "open the grader's probe.py for writing", "open the assignment's inputs.py for writing",
    "open the virtualenv's pyvenv.cfg for writing", "connect to 127.0.0.1:22", "connect to example.org:80",
    "read the grader's environment",
    "import the reference solutions course_lib.solutions.lstm_gates",
    "import the reference solutions course_lib.solutions.lstm_numpy",
    "import course_lib.assignments.lstm_gates.checks", "import course_lib.assignments.lstm_gates.targets",
    "import course_lib.assignments.lstm_gates.mistakes", "import course_lib.assignments.registry",
    "import course_lib.grading.verdicts", "import course_lib.grading.hidden_tests",
    "import course_lib.grading.suites.lstm_gates", "import course_lib.grading.samples",
    "the reference through the registry",
)


def test_reaching_outside_is_blocked(graded):
    attempts = graded.printed("a7-reacher", "[attack]")
    info = graded.printed("a7-reacher", "[info]")
    print("\n" + "\n".join(attempts + info))
    tried = [line.removeprefix("[attack] ").split(": ", 1)[0] for line in attempts]
    missing = [what for what in REACHER_ATTEMPTS if what not in tried]
    assert not missing, f"the reacher's attempts did not all run: {missing} missing from {attempts}"
    outcome = {line.removeprefix("[attack] ").split(": ", 1)[0]: line for line in attempts}
    succeeded = [outcome[what] for what in REACHER_ATTEMPTS
                 if what != "read the grader's environment" and ": blocked (" not in outcome[what]]
    assert not succeeded, "attempts that were not blocked:\n" + "\n".join(succeeded)
    assert any("NBGRADER_EXECUTION: None" in line for line in info), info


def test_the_graders_environment_is_not_visible_in_the_sandbox(graded):
    lines = [line for line in graded.printed("a7-reacher", "[attack]") if "grader's environment" in line]
    assert lines, "the reacher did not try to read the grader's environment"
    assert "blocked" in lines[0] and "s3cret" not in lines[0], lines[0]


def test_memory_and_fork_bomb_are_contained(graded):
    lines = graded.printed("a8-memory-forks", "[attack]")
    assert lines and all("blocked" in line for line in lines), f"the 8 GiB allocation was not refused: {lines}"
    forks = graded.printed("a8-memory-forks", "fork failed") + graded.printed("a8-memory-forks", "children started")
    print(f"\nfork bomb: {forks}")
    assert forks and "children started: 2000" not in forks[-1], f"2000 processes were started: {forks}"


def _symlinks_made(graded) -> str:
    """The symlinker's listing of its work directory, proof that its symlinks were made."""
    listing = graded.printed("a7-symlinker", "[symlinks]")
    assert listing and "leaked_hidden_tests.json" in listing[-1] and "lstm_gates.ipynb" in listing[-1], (
        f"the symlinker did not make its symlinks: {listing}")
    return listing[-1]


def test_symlink_in_the_work_directory_does_not_write_outside(graded):
    _symlinks_made(graded)
    text = (graded.root / "canary.txt").read_text(encoding="utf-8", errors="replace")
    assert text == graded.canary, (
        f"the grader wrote through the kernel's symlink: {graded.root / 'canary.txt'} now starts with {text[:120]!r}")


def test_symlinks_in_the_work_directory_copy_nothing_from_outside(graded):
    _symlinks_made(graded)
    folder = graded.root / "autograded" / "a7-symlinker" / ASSIGNMENT
    assert (folder / f"{NOTEBOOK}.ipynb").is_file(), f"{folder} holds no graded notebook"
    grader_side = [path for package_dir in (PACKAGE / "solutions", PACKAGE / "assignments")
                   for path in package_dir.rglob("*.py")]
    secrets = {hidden_tests(graded.root).read_bytes()} | {path.read_bytes() for path in grader_side} - {b""}
    symlinks = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_symlink()]
    copied = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.name.startswith("leaked_") or (
        p.is_file() and p.read_bytes() in secrets)]
    assert not symlinks and not copied, (
        f"files from outside the sandbox reached {folder}: symlinks {symlinks}, copies of the hidden tests or the "
        f"reference solutions {copied}")


# --------------------------------------------------------------------------- bad inputs and odd but honest ones
@pytest.mark.parametrize("student", [s.name for s in ATTACKERS if s.expect == "rejected"])
def test_bad_input_is_rejected_with_a_reason_naming_the_problem(graded, student):
    entry = graded.entry(student)
    word = BY_NAME[student].reason_word
    assert entry["status"] == "rejected", f"{student} ({BY_NAME[student].category}) should be rejected: {entry}"
    assert word in entry["reason"].lower(), f"{student}: the reason should mention {word!r}: {entry['reason']!r}"
    assert graded.grades[student] is None, f"{student} was rejected but has grades: {graded.grades[student]}"


@pytest.mark.parametrize("student", [s.name for s in ATTACKERS if s.expect == "full"])
def test_gradable_odd_submission_gets_full_marks(graded, student):
    entry = graded.entry(student)
    assert entry["status"] == "graded", f"{student} ({BY_NAME[student].category}) should be graded: {entry}"
    assert graded.auto_total(student) == FULL, graded.explain(student)
    word = BY_NAME[student].reason_word
    assert word in entry["reason"].lower(), f"{student}: the reason should mention {word!r}: {entry['reason']!r}"


def test_big_file_is_not_copied_into_autograded(graded):
    folder = graded.root / "autograded" / "b-big-file" / ASSIGNMENT
    files = {p.name: p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    assert f"{NOTEBOOK}.ipynb" in files, f"autograded/b-big-file holds no graded notebook: {files}"
    assert BIG_FILE not in files and max(files.values()) < 2**20 * 5, f"autograded/b-big-file holds {files}"


# --------------------------------------------------------------------------- 10. the kernel's view of course_lib
def _imports(graded, student: str) -> dict[str, bool]:
    lines = graded.printed(student, "[import] ")
    found = (re.fullmatch(r"\[import\] (\S+): (imported|blocked \(\w+\))", line) for line in lines)
    return {match.group(1): match.group(2) == "imported" for match in found if match}


def test_kernel_imports_exactly_the_allowlisted_course_lib_modules(graded):
    """a10-module-walker named every module of course_lib (and the old names): only the allowlist imports, the
    walk of the package inside the sandbox finds nothing else, and no function of the assignment was found."""
    imports = _imports(graded, "a10-module-walker")
    untried = sorted(set(COURSE_MODULES) - set(imports))
    assert not untried, f"a10-module-walker did not try {untried}"
    imported = {name for name, ok in imports.items() if ok}
    assert imported == KERNEL_IMPORTABLE, (f"importable in the kernel: {sorted(imported)}, expected exactly "
                                           f"{sorted(KERNEL_IMPORTABLE)}")
    walked = graded.printed("a10-module-walker", "[walk] walked:")
    assert walked, "a10-module-walker did not walk course_lib"
    found = set(re.findall(r"'([\w.]+)'", walked[-1]))
    assert found <= KERNEL_IMPORTABLE, f"pkgutil.walk_packages in the kernel found {sorted(found - KERNEL_IMPORTABLE)}"
    functions = graded.printed("a10-module-walker", "[walk] functions found:")
    assert functions == ["[walk] functions found: []"], f"functions of the assignment importable: {functions}"


DETECTOR = "a10-inputs-detector"


def test_inputs_detector_recognises_the_hidden_tests(graded):
    """The premise of the next test: the kernel imports the inputs and its functions recognise the hidden tests'
    calls, among them the gate calls the cell makes on the cell's hidden inputs, which the attack answers with
    swapped gates."""
    detected = graded.printed(DETECTOR, "[detector] detected:")
    assert detected, f"{DETECTOR} printed nothing of what it detected: {graded.entry(DETECTOR)}"
    for request in ("input_gate/float64", "lstm_cell_forward/float64", "lstm_cell_forward/float32"):
        assert f"'{request}'" in detected[-1], f"{DETECTOR} did not recognise {request}: {detected[-1]}"


@pytest.mark.parametrize("student", [_param(s) for s in ATTACKERS if s.expect == "twin"])
def test_attack_earns_only_what_its_honest_work_earns(graded, student):
    """Graded exactly as the honest classmate whose work it contains, exercise by exercise."""
    twin = BY_NAME[student].twin
    assert graded.entry(student)["status"] == "graded", graded.entry(student)
    mine, theirs = graded.auto_grades(student), graded.auto_grades(twin)
    gained = {name: (theirs[name], mine[name]) for name in AUTO_POINTS if (mine[name] or 0) > (theirs[name] or 0)}
    assert mine == theirs, (f"{student} ({BY_NAME[student].category}) is not graded as {twin}, whose honest work it "
                            f"holds: gained (honest, attack) {gained}; all {mine} vs {theirs}\n"
                            f"{graded.explain(student)}")


# --------------------------------------------------------------------------- 11. forged own-function alternatives
@pytest.mark.parametrize("student", [_param(s) for s in ATTACKERS if s.expect == "points"])
def test_forgery_earns_its_sound_points(graded, student):
    """Graded, exercise by exercise, with what a sound grader gives the forgery's honest work (forgery.py)."""
    want = BY_NAME[student].points
    assert graded.entry(student)["status"] == "graded", graded.entry(student)
    got = graded.auto_grades(student)
    wrong = {name: (want[name], got[name]) for name in AUTO_POINTS if abs((got[name] or 0) - want[name]) > 0.01}
    assert not wrong, (f"{student} ({BY_NAME[student].category}): (sound, given) where they differ: {wrong}\n"
                       f"{graded.explain(student)}")
