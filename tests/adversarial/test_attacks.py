"""Hostile students in one class: nothing they do earns a point, changes a file, or survives the grading.

A scratch course is built once per module and ONE ``autograde`` call grades the whole class, in the bubblewrap
sandbox: honest students first, one student per attack and per bad input (:mod:`tests.adversarial.attacks`), then
honest students again. A second scratch course grades the same honest students alone, so the attackers' effect
on their classmates (if any) shows as a difference. Every assertion reads that one run; the last thing the module
prints is the table of outcomes. Cost: ~10 s per notebook that runs, plus the time-limit attacks (~2 min).
"""
from __future__ import annotations

import hashlib
import json
import os
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
from course_lib.grading.autograde import autograde
from course_lib.grading.build import build
from course_lib.grading.course import nbgrader_api
from course_lib.grading.grading_log import read_log
from course_lib.grading.sandbox import Sandbox, bwrap_available

from .attacks import (ASSIGNMENT, BIG_FILE, NOTEBOOK, SECRET_VARIABLE, Context, Student,
                      class_of_attackers, printed_lines, verdict_texts)

pytestmark = pytest.mark.adversarial

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(course_lib.__file__).resolve().parent
AUTO_POINTS = {
    "sigmoid": 1, "forget_gate": 1, "input_gate": 1, "candidate_cell": 1, "output_gate": 1,
    "lstm_cell_forward": 2, "lstm_forward": 2, "lstm_cell_backward": 3, "lstm_backward": 3,
}
FULL = sum(AUTO_POINTS.values())
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
    """A built scratch course: the repository's nbgrader_config.py (plus short limits), source/ and release/."""
    skip = shutil.ignore_patterns("hidden_tests.json", "__pycache__", ".ipynb_checkpoints")
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "source", root / "source", ignore=skip)
    shutil.copytree(REPO / "release", root / "release", ignore=skip)
    assert not list(root.rglob("hidden_tests.json")), "the scratch course must start without built hidden tests"
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(SCRATCH_CONFIG)
    build(root, [ASSIGNMENT], echo=lambda *a: None)
    return root


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
    echoed: list[str] = field(default_factory=list)

    def entry(self, student: str) -> dict:
        entry = self.log.get(f"{ASSIGNMENT}/{student}")
        assert entry is not None, f"{student} is missing from the grading log: {sorted(self.log)}"
        return entry

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
        before=before, after=after,
        canary=canary, leftovers=leftovers, seconds=seconds, clean_seconds=clean_seconds, echoed=echoed)
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
def test_honest_students_graded_as_expected(graded):
    for student in HONEST:
        entry = graded.entry(student)
        assert entry["status"] == "graded", f"{student} was not graded: {entry}"
        grades = graded.grades[student]
        lost = [name for name in AUTO_POINTS if (grades[name][0] or 0) < grades[name][1]]
        expected = [] if "reference" in BY_NAME[student].category else ["lstm_cell_forward"]
        assert lost == expected, f"{student} ({BY_NAME[student].category}) lost points in {lost}, expected " \
                                 f"{expected or 'none'}:\n{graded.explain(student)}"


def test_honest_scores_do_not_depend_on_the_attackers(graded):
    for student in HONEST:
        with_attackers = {name: graded.grades[student][name][0] for name in AUTO_POINTS}
        alone = {name: graded.clean_grades[student][name][0] for name in AUTO_POINTS}
        assert with_attackers == alone, (
            f"{student}'s scores changed when graded with the attackers:\nwith {with_attackers}\nalone {alone}")


# --------------------------------------------------------------------------- every attack earns nothing
@pytest.mark.parametrize("student", [_param(s) for s in ATTACKERS if s.expect == "zero"])
def test_attack_earns_no_automatic_point(graded, student):
    entry = graded.entry(student)
    assert entry["status"] in ("graded", "rejected", "failed"), f"{student}: unexpected status {entry}"
    assert not graded.scored(student), (
        f"{student} ({BY_NAME[student].category}) earned {graded.auto_total(student):g} automatic points from the "
        f"untouched release notebook: {graded.scored(student)}\n{graded.explain(student)}")


@pytest.mark.parametrize("student", [s.name for s in ATTACKERS])
def test_outcome_has_a_one_line_reason(graded, student):
    entry = graded.entry(student)
    reason = entry["reason"]
    assert "\n" not in reason and "Traceback" not in reason, f"{student}: the reason must be one line: {reason!r}"
    if entry["status"] != "graded":
        assert reason.strip(), f"{student} is {entry['status']} without a reason: {entry}"


@pytest.mark.parametrize("student", [s.name for s in ATTACKERS if s.expect in ("zero", "full")])
def test_automatic_cells_never_need_manual_grading(graded, student):
    grades = graded.grades[student]
    if grades is None:
        return
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
    assert not graded.leftovers, f"processes started by students survived the grading: {graded.leftovers}"


def test_reaching_outside_is_blocked(graded):
    notebook = graded.notebooks["a7-reacher"]
    assert notebook is not None, f"a7-reacher has no autograded notebook: {graded.entry('a7-reacher')}"
    attempts = printed_lines(notebook, "[attack]")
    assert len(attempts) >= 12, f"the reacher's attempts did not all run: {attempts}"
    info = printed_lines(notebook, "[info]")
    print("\n" + "\n".join(attempts + info))
    succeeded = [line for line in attempts if "SUCCEEDED" in line and "grader's environment" not in line]
    assert not succeeded, "attempts that worked:\n" + "\n".join(succeeded)
    assert any("NBGRADER_EXECUTION: None" in line for line in info), info


def test_the_graders_environment_is_not_visible_in_the_sandbox(graded):
    notebook = graded.notebooks["a7-reacher"]
    assert notebook is not None, f"a7-reacher has no autograded notebook: {graded.entry('a7-reacher')}"
    lines = [line for line in printed_lines(notebook, "[attack]") if "grader's environment" in line]
    assert lines, "the reacher did not try to read the grader's environment"
    assert "blocked" in lines[0] and "s3cret" not in lines[0], lines[0]


def test_memory_and_fork_bomb_are_contained(graded):
    notebook = graded.notebooks["a8-memory-forks"]
    assert notebook is not None, graded.entry("a8-memory-forks")
    lines = printed_lines(notebook, "[attack]")
    assert any("blocked" in line for line in lines), f"the 8 GiB allocation was not refused: {lines}"
    forks = printed_lines(notebook, "fork failed") + printed_lines(notebook, "children started")
    print(f"\nfork bomb: {forks}")
    assert forks and "children started: 2000" not in forks[-1], f"2000 processes were started: {forks}"


def test_symlink_in_the_work_directory_does_not_write_outside(graded):
    text = (graded.root / "canary.txt").read_text(encoding="utf-8", errors="replace")
    assert text == graded.canary, (
        f"the grader wrote through the kernel's symlink: {graded.root / 'canary.txt'} now starts with {text[:120]!r}")


def test_symlinks_in_the_work_directory_copy_nothing_from_outside(graded):
    folder = graded.root / "autograded" / "a7-symlinker" / ASSIGNMENT
    hidden = (graded.root / "source" / ASSIGNMENT / "hidden_tests.json").read_bytes()
    symlinks = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_symlink()] if folder.exists() else []
    copied = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and (
        p.name == "lstm_numpy.py" or p.read_bytes() == hidden)] if folder.exists() else []
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
    assert BIG_FILE not in files and max(files.values()) < 2**20 * 5, f"autograded/b-big-file holds {files}"


def test_summary(graded):
    """Not a check: the grading log in JSON, for the record (the table is printed after the last test)."""
    print(f"\nclass graded in {graded.seconds:.0f} s; echoed lines:\n" + "\n".join(graded.echoed))
    assert json.dumps(graded.log)
