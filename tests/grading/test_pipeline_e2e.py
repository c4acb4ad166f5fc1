"""End to end: build, autograde a whole class, report, check and demo, on scratch copies of the course.

Nothing here touches the real course directory's gradebook, ``submitted/``, ``autograded/`` or ``feedback/``: every
verb runs as ``lstm-course --course-dir <copy>`` in a subprocess, on a copy made in a temporary directory.
Autograding costs ~8 s per notebook, so the class is graded ONCE, by the module-scoped :func:`graded_class`
fixture, and every assertion about grades reads that one run; the demo runs meanwhile, on its own clean copy.
"""
from __future__ import annotations

import csv
import json
import os
import random
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

from course_lib.grading.course import nbgrader_api
from course_lib.grading.samples import BUGS, reference_submission, with_bug, write_submission

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "01_lstm_gates"
NOTEBOOK = "lstm_gates"
AUTO_POINTS = {
    "sigmoid": 1, "forget_gate": 1, "input_gate": 1, "candidate_cell": 1, "output_gate": 1,
    "lstm_cell_forward": 2, "lstm_forward": 2, "lstm_cell_backward": 3, "lstm_backward": 3,
}
MANUAL_POINTS = {"forget_bias_answer": 2}
FORWARD = ("sigmoid", "forget_gate", "input_gate", "candidate_cell", "output_gate", "lstm_cell_forward",
           "lstm_forward")
BACKWARD = ("lstm_cell_backward", "lstm_backward")
DEMO_BUG = "swapped_input_forget"
#: bad inputs -> a word their rejection reason must contain (case-insensitive)
BAD = {"bad-json": "json", "binary": "binary", "absent": "no submission", "nbformat3": "nbformat"}
CLI_TIMEOUT = 1500  # seconds; the whole class takes ~3 minutes on 2 cores


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


def verdict_texts(root: Path, student: str) -> dict[str, str]:
    """The stdout the grader wrote under each graded cell of the autograded notebook."""
    path = root / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    texts = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            texts[meta["grade_id"]] = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return texts


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def scratch_course(tmp_path_factory) -> Path:
    """A built copy of the course: nbgrader_config.py, source/ and release/ as tracked (no hidden_tests.json)."""
    root = tmp_path_factory.mktemp("course")
    files = [f for f in tracked_files(("source/", "release/")) if not f.endswith("hidden_tests.json")]
    copy_files(["nbgrader_config.py", *files], root)
    assert not list(root.rglob("hidden_tests.json")), "the scratch course must start without built hidden tests"
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


def bug_student(bug_name: str) -> str:
    return f"bug-{bug_name}"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """``lstm-course demo`` on a fresh copy of the tracked files, started early to overlap with the class."""
    checkout = tmp_path_factory.mktemp("checkout")
    copy_files(tracked_files(), checkout)
    untracked = [p for p in ("gradebook.db", "submitted", "feedback", "grades.csv") if (checkout / p).exists()]
    assert not untracked, f"a clean checkout should not contain {untracked}"
    running = RunningCli(checkout, ("demo",), None, tmp_path_factory.mktemp("demo_logs"))
    yield checkout, running
    running.stop()


@pytest.fixture(scope="module")
def graded_class(demo_run, scratch_course) -> GradedClass:
    """Hand in a whole class (reference, untouched, one per bug, bad files) and autograde it once."""
    root = scratch_course
    release = root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    source = root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    reference = reference_submission(release, source)
    notebooks = {"reference": reference}
    notebooks.update({bug_student(name): with_bug(reference, bug) for name, bug in BUGS.items()})
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
    # bad ones in the middle: reference and half the bugs before them, the rest of the class after them
    middle = 1 + len(BUGS) // 2
    students = honest[:middle] + list(BAD) + honest[middle:]
    arguments = ["autograde", ASSIGNMENT, "--no-feedback"]
    for student in students:
        arguments += ["--student", student]
    result = run_cli(root, *arguments, timeout=CLI_TIMEOUT)
    assert result.returncode == 0, f"`lstm-course autograde` of the class failed:\n{describe_run(result)}"
    log = json.loads((root / "autograded" / "grading-log.json").read_text(encoding="utf-8"))
    graded = [s for s in honest if log.get(f"{ASSIGNMENT}/{s}", {}).get("status") == "graded"]
    return GradedClass(root=root, students=students, honest=honest, result=result, log=log,
                       grades={s: grades_of(root, s) for s in graded},
                       texts={s: verdict_texts(root, s) for s in graded})


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
    assert max_points == {**AUTO_POINTS, **MANUAL_POINTS}, f"grade cells and points in the gradebook: {max_points}"
    assert grades["forget_bias_answer"][0] is None, (
        f"forget_bias_answer is graded by hand, yet has an automatic score {grades['forget_bias_answer'][0]}")


def test_reference_gets_full_automatic_marks(graded_class):
    grades = _grades(graded_class, "reference")
    missing = lost(grades)
    assert not missing, (f"the reference solution lost points in {missing}: {_table(grades)}\n"
                         + "\n".join(graded_class.texts["reference"][m] for m in missing))


def test_untouched_release_gets_zero(graded_class):
    grades = _grades(graded_class, "untouched")
    scored = {name: grades[name][0] for name in AUTO_POINTS if grades[name][0] != 0}
    assert not scored, f"the untouched release notebook earned points: {scored}"


@pytest.mark.parametrize("bug_name", sorted(BUGS))
def test_bug_loses_points_where_it_is_made(graded_class, bug_name):
    bug = BUGS[bug_name]
    student = bug_student(bug_name)
    grades = _grades(graded_class, student)
    score, max_score = grades[bug.exercise]
    assert score is not None and score < max_score, (
        f"bug {bug_name} ({bug.description}) was not caught: {bug.exercise} got {score} / {max_score:g}\n"
        f"{graded_class.texts[student][bug.exercise]}")
    charged_elsewhere = [name for name in FORWARD if name != bug.exercise and name in lost(grades)]
    assert not charged_elsewhere, (
        f"bug {bug_name} ({bug.description}, made in {bug.exercise}) also cost points in the forward exercises "
        f"{charged_elsewhere} (a bug must be charged once): {_table(grades)}\n"
        + "\n".join(graded_class.texts[student][name] for name in charged_elsewhere))
    if bug.exercise in FORWARD:
        backward_lost = [name for name in BACKWARD if name in lost(grades)]
        # reported, not asserted: a forward bug may legitimately reach the backward checks (see Bug.also_charged)
        print(f"\n{bug_name} (forward bug in {bug.exercise}): backward exercises that also lost points: "
              f"{backward_lost or 'none'} (declared in BUGS: {list(getattr(bug, 'also_charged', ())) or 'none'})")


def test_demo_bug_loses_points_only_in_lstm_cell_forward(graded_class):
    grades = _grades(graded_class, bug_student(DEMO_BUG))
    assert lost(grades) == ["lstm_cell_forward"], (
        f"{DEMO_BUG} ({BUGS[DEMO_BUG].description}) should cost points in lstm_cell_forward only, lost in "
        f"{lost(grades)}: {_table(grades)}")


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
    result = run_cli(root, "autograde", ASSIGNMENT, "--student", "reference", "--no-feedback")
    assert result.returncode == 0, f"re-running autograde on the reference failed:\n{describe_run(result)}"
    assert grades_of(root, "reference") == first_grades, (
        f"the reference's grades changed on a re-run:\nfirst {_table(first_grades)}\n"
        f"again {_table(grades_of(root, 'reference'))}")
    again = verdict_texts(root, "reference")
    changed = [name for name in first_texts if again.get(name) != first_texts[name]]
    assert not changed, f"the verdict text changed on a re-run in {changed}"


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
    assert reference["status"] == "graded" and float(reference["score"]) == sum(AUTO_POINTS.values()), (
        f"the reference's row should be graded with {sum(AUTO_POINTS.values())} points: {reference}")
    assert float(by_student["untouched"]["score"]) == 0, f"untouched's row: {by_student['untouched']}"


# --------------------------------------------------------------------------- check
def test_check_reference_prints_full_marks_without_touching_the_gradebook(graded_class):
    root = graded_class.root
    notebook = root / "submitted" / "reference" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    before = (root / "gradebook.db").read_bytes()
    students_before = gradebook_students(root)
    result = run_cli(root, "check", str(notebook))
    assert result.returncode == 0, f"`lstm-course check` on the reference failed:\n{describe_run(result)}"
    assert "Total: 15 / 15" in result.stdout, f"expected 'Total: 15 / 15':\n{describe_run(result)}"
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
    release = scratch_course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
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
    checkout, running = demo_run
    result = running.wait(CLI_TIMEOUT)
    assert result.returncode == 0, f"`lstm-course demo` failed on a clean checkout:\n{describe_run(result)}"
    assert "Traceback" not in result.stderr, f"the demo printed a traceback:\n{describe_run(result)}"
    lines = result.stdout.splitlines()
    for student, score in (("demo-reference", "15 / 17"), ("demo-untouched", "0 / 17"), ("demo-buggy", "13 / 17")):
        assert any(student in line and score in line for line in lines), (
            f"expected a line with {student} and {score}:\n{describe_run(result)}")
        html = checkout / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html"
        assert html.is_file(), f"the demo did not write the feedback {html}:\n{describe_run(result)}"


# --------------------------------------------------------------------------- check (untouched)
def test_check_untouched_prints_zero_and_why(graded_class):
    root = graded_class.root
    notebook = root / "submitted" / "untouched" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    before = (root / "gradebook.db").read_bytes()
    result = run_cli(root, "check", str(notebook))
    assert result.returncode == 0, f"`lstm-course check` on the untouched notebook failed:\n{describe_run(result)}"
    for exercise, points in AUTO_POINTS.items():
        assert f"{exercise}: 0 / {points}" in result.stdout, (
            f"expected '{exercise}: 0 / {points}' in the check report:\n{describe_run(result)}")
    assert "✗" in result.stdout and "NotImplementedError" in result.stdout, (
        f"the check report should show the failing checks and why (NotImplementedError):\n{describe_run(result)}")
    assert (root / "gradebook.db").read_bytes() == before, "`lstm-course check` changed the course's gradebook.db"
    # the hand-graded forget_bias_answer (2 points) is not an automatic point, answered or not
    total = [line for line in result.stdout.splitlines() if line.startswith("Total:")]
    assert "Total: 0 / 15" in result.stdout, (
        f"expected 'Total: 0 / 15' (15 automatic points), got {total}; the unanswered manual cell "
        f"forget_bias_answer must not count as automatic:\n{describe_run(result)}")
