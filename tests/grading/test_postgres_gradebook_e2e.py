"""PostgreSQL as the course gradebook (``c.CourseDirectory.db_url``), with two graders writing to it at once.

A class too big for one machine is graded by several ``lstm-course autograde`` processes against one gradebook
server. Here a real PostgreSQL server (:mod:`tests.postgres_server`: Debian's package, in a temporary directory, on
loopback) is the gradebook of a scratch copy of the course: ``lstm-course build 01_lstm_gates`` writes the
assignment to it, four students hand in (the reference and three sample mistakes, each in another exercise), and
two graders start at the same moment, each on its half of the class, both beginning with the same student (the
reference: one submission graded twice at once). Everything is read back from the server, through nbgrader's
``Gradebook`` and independently in plain SQL, and through ``lstm-course report``; no SQLite gradebook appears.
Whether the two commits of that shared student really overlap is a matter of timing, so two cheap tests come
first: nbgrader's Gradebook round-trips on the server, and two commits of one new submission released together.

About a minute: assignment 01 grades in ~10-12 s per notebook, the two graders run side by side on 2 cores.
"""
from __future__ import annotations

import csv
import os
import re
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from nbgrader.api import Gradebook

from course_lib.grading.commit import commit_scores
from course_lib.grading.hidden_tests import HIDDEN_DIR
from course_lib.grading.outcomes import read_log
from course_lib.grading.samples import reference_submission, with_mistake, write_submission
from course_lib.grading.work_unit import GradeResult

from tests.grading.test_pipeline_e2e import (ASSIGNMENT, AUTO_POINTS, AUTO_TOTAL, CLI_TIMEOUT, MANUAL_POINTS,
                                             MISTAKES, NOTEBOOK, ROW, TOTAL, RunningCli, copy_files,
                                             describe_run, run_cli, tracked_files)
from tests.grading.test_trained_models_e2e import assert_costs_exactly_its_exercises, lost, verdict_texts
from tests.postgres_server import PostgresServer, postgres  # noqa: F401 - the fixture, used by name

pytestmark = pytest.mark.e2e

COURSE_ID = "lstm-course"
#: three sample mistakes of 01, each costing another exercise
GRADED_MISTAKES = ("no_recurrent_term", "state_not_carried", "backward_wrong_dc_prev")
#: graded by both graders, first, so that its two gradings run (and commit) at the same time
SHARED = "reference"
#: each grader's half of the class (disjoint), after the shared student
HALVES = (["mistake-no_recurrent_term"], ["mistake-state_not_carried", "mistake-backward_wrong_dc_prev"])
STUDENTS = [SHARED, *HALVES[0], *HALVES[1]]
#: a grader's line for a student it graded: "  <student> <assignment> <score> / <total>" (outcomes.describe)
GRADED_LINE = r"^\s+{student}\s+{assignment}\s+(?P<score>[0-9.]+) / (?P<total>[0-9.]+)(?:\s|$)"


def is_sqlite(path: Path) -> bool:
    """Whether ``path`` is an SQLite database (by its header, whatever its name)."""
    with open(path, "rb") as f:
        return f.read(16) == b"SQLite format 3\0"


@dataclass
class GradedByTwo:
    root: Path
    url: str
    database: str
    server: PostgresServer
    runs: list                                              # the two graders' CompletedProcess
    grades: dict[str, dict[str, tuple[float | None, float]]]   # student -> {exercise: (auto score, max score)}
    texts: dict[str, dict[str, str]]                        # student -> {exercise: verdict}

    def total(self, student: str) -> float:
        """The student's automatic points, as nbgrader's Gradebook reads them from the server."""
        return sum(score or 0 for score, _ in self.grades[student].values())


def postgres_grades(url: str, student: str) -> dict[str, tuple[float | None, float]]:
    """``{exercise: (auto score, max score)}`` of the automatically graded cells, read by nbgrader's Gradebook."""
    with Gradebook(url, COURSE_ID) as gb:
        notebook = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
        return {g.name: (g.auto_score, g.max_score) for g in notebook.grades if g.name in AUTO_POINTS}


@pytest.fixture(scope="module")
def graded_by_two(postgres, tmp_path_factory) -> GradedByTwo:
    """A scratch course whose gradebook is a PostgreSQL database: built, the class handed in, then graded by two
    ``lstm-course autograde`` processes started together."""
    database = "lstm_course_class"
    url = postgres.create_database(database)
    root = tmp_path_factory.mktemp("course_postgres")
    files = [f for f in tracked_files(("source/", "release/")) if HIDDEN_DIR not in Path(f).parts]
    copy_files(["nbgrader_config.py", *files], root)
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"\n# the gradebook of this scratch course: a PostgreSQL server of the tests\n"
                     f"c.CourseDirectory.db_url = {url!r}\n")
    built = run_cli(root, "build", ASSIGNMENT)
    assert built.returncode == 0, f"`lstm-course build` failed with a PostgreSQL gradebook:\n{describe_run(built)}"
    reference = reference_submission(ROW.release_notebook(root), ROW.source_notebook(root))
    for student in STUDENTS:
        notebook = reference if student == SHARED else with_mistake(reference,
                                                                    MISTAKES[student.removeprefix("mistake-")])
        write_submission(root, student, ASSIGNMENT, NOTEBOOK, notebook)
    graders = []
    logs = tmp_path_factory.mktemp("grader_logs")
    for number, half in enumerate(HALVES):
        # --force: the shared student is graded by both even if one grader starts late (else it would be kept)
        arguments = ["autograde", ASSIGNMENT, "--jobs", "1", "--no-feedback", "--force"]
        for student in [SHARED, *half]:
            arguments += ["--student", student]
        graders.append(RunningCli(root, tuple(arguments), None, logs / f"grader{number}"))
    try:
        runs = [grader.wait(CLI_TIMEOUT) for grader in graders]
    finally:
        for grader in graders:
            grader.stop()
    grades = {}
    for student in STUDENTS:
        try:
            grades[student] = postgres_grades(url, student)
        except Exception as error:  # noqa: BLE001 - reported with what the graders printed
            raise AssertionError(f"{student} has no graded submission in the PostgreSQL gradebook ({error}):\n"
                                 + "\n".join(describe_run(run) for run in runs)) from None
    return GradedByTwo(root, url, database, postgres, runs, grades,
                       {s: verdict_texts(root, s, ROW) for s in STUDENTS})


# --------------------------------------------------------------------------- the gradebook alone
@pytest.fixture
def alembic_on_path(monkeypatch):
    """nbgrader stamps a new gradebook with the ``alembic`` executable of its environment: the verbs put that on
    PATH (``nbgrader_api``), these tests call nbgrader's Gradebook directly."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


# nbgrader 0.9.6 on SQLAlchemy 2 warns of its own autoflush order (see course_lib/cli.py)
@pytest.mark.filterwarnings("ignore:.*not in session, add operation along")
@pytest.mark.usefixtures("alembic_on_path")
def test_nbgrader_gradebook_round_trips_on_postgres(postgres):
    """nbgrader's Gradebook creates its schema on an empty PostgreSQL database and reads back, from a new
    connection, the assignment, student, submission and scores written through another (no SQLite-only SQL in the
    schema or the score queries nbgrader runs)."""
    url = postgres.create_database("lstm_course_round_trip")
    with Gradebook(url, COURSE_ID) as gb:
        gb.add_assignment("a1")
        gb.add_notebook("nb", "a1")
        gb.add_grade_cell("ex1", "nb", "a1", max_score=3, cell_type="code")
        gb.add_grade_cell("ex2", "nb", "a1", max_score=2, cell_type="code")
        gb.add_student("ada")
        gb.add_submission("a1", "ada", timestamp="2026-01-02 03:04:05 UTC")
        for name, score in (("ex1", 3.0), ("ex2", 0.5)):
            grade = gb.find_grade(name, "nb", "a1", "ada")
            grade.auto_score, grade.needs_manual_grade = score, False
        gb.db.commit()
    with Gradebook(url, COURSE_ID) as gb:
        submission = gb.find_submission("a1", "ada")
        assert (submission.score, submission.max_score) == (3.5, 5.0), (submission.score, submission.max_score)
        assert submission.timestamp.year == 2026 and not submission.needs_manual_grade
        assert gb.average_assignment_score("a1") == 3.5
        assert [s.id for s in gb.students] == ["ada"]
    with psycopg.connect(postgres.conninfo("lstm_course_round_trip")) as connection:
        tables = {row[0] for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
        assert {"assignment", "student", "submitted_assignment", "grade", "alembic_version"} <= tables, tables
        scores = connection.execute("SELECT sum(auto_score) FROM grade").fetchone()[0]
        assert scores == 3.5, scores


@pytest.mark.filterwarnings("ignore:.*not in session, add operation along")
@pytest.mark.usefixtures("alembic_on_path")
def test_two_commits_of_one_new_submission_at_once_keep_one_row(postgres):
    """Two graders that finish the same new student at the same moment both commit it (commit_scores, as each
    grader's process does, here from two threads released together): neither may fail on the other's new student
    or submission row, and the gradebook ends with one submission and the score both wrote. Repeated for a few
    students: two threads released together overlap in about half of the pairs."""
    url = postgres.create_database("lstm_course_commits")
    with Gradebook(url, COURSE_ID) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(NOTEBOOK, ASSIGNMENT)
        for name, points in AUTO_POINTS.items():
            gb.add_grade_cell(name, NOTEBOOK, ASSIGNMENT, max_score=points, cell_type="code")
    context = SimpleNamespace(assignment=ROW, course_id=COURSE_ID)
    students = [f"twice-{n}" for n in range(8)]
    failures: list[str] = []

    def commit(student: str, start: threading.Barrier) -> None:
        result = GradeResult(student, ASSIGNMENT, True, scores=dict(AUTO_POINTS),
                             timestamp=datetime(2026, 1, 2, tzinfo=timezone.utc))
        start.wait()
        try:
            commit_scores(context, result, url)
        except Exception as error:  # noqa: BLE001 - collected, reported below
            failures.append(f"{student}: {type(error).__name__}: {str(error)[:300]}")

    for student in students:
        start = threading.Barrier(2)
        threads = [threading.Thread(target=commit, args=(student, start)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert not failures, "committing one new submission twice at once failed:\n" + "\n".join(failures)
    with psycopg.connect(postgres.conninfo("lstm_course_commits")) as connection:
        rows = dict(connection.execute(
            "SELECT student_id, count(*) FROM submitted_assignment GROUP BY student_id"))
    assert rows == dict.fromkeys(students, 1), f"submission rows by student: {rows}"
    with Gradebook(url, COURSE_ID) as gb:
        scores = {s: gb.find_submission(ASSIGNMENT, s).score for s in students}
    assert scores == dict.fromkeys(students, AUTO_TOTAL), f"scores {scores}, expected {AUTO_TOTAL:g} each"


# --------------------------------------------------------------------------- two graders at once
def test_both_graders_exit_zero_and_grade_each_of_their_students(graded_by_two):
    """Both graders finish with exit code 0, without a traceback, and each prints each of its students as graded,
    with the score the gradebook holds: the shared student too, by both, with full marks (neither lost it to the
    other's commit)."""
    for run, half in zip(graded_by_two.runs, HALVES):
        assert run.returncode == 0, f"a grader failed:\n{describe_run(run)}"
        assert "Traceback" not in run.stdout + run.stderr, f"a grader printed a traceback:\n{describe_run(run)}"
        for student in [SHARED, *half]:
            pattern = GRADED_LINE.format(student=re.escape(student), assignment=re.escape(ASSIGNMENT))
            lines = [m for m in (re.match(pattern, line) for line in run.stdout.splitlines()) if m]
            assert len(lines) == 1, f"expected one line grading {student}:\n{describe_run(run)}"
            score, total = float(lines[0]["score"]), float(lines[0]["total"])
            expected = AUTO_TOTAL if student == SHARED else graded_by_two.total(student)
            assert score == pytest.approx(expected, abs=1e-3) and total == TOTAL, (
                f"{student}: {score:g} / {total:g}, expected {expected:g} / {TOTAL:g}:\n{describe_run(run)}")


def test_grading_log_records_every_student_as_graded(graded_by_two):
    """Both graders record their outcomes in the course's one grading log (``autograded/grading-log.json``, where
    ``lstm-course report`` reads the status and the reasons): no entry is lost to the other grader's write."""
    log = read_log(graded_by_two.root)
    statuses = {student: log.get(f"{ASSIGNMENT}/{student}", {}).get("status") for student in STUDENTS}
    assert statuses == dict.fromkeys(STUDENTS, "graded"), (
        f"the grading log's status of each student: {statuses}\n"
        + "\n".join(describe_run(run) for run in graded_by_two.runs))


def test_postgres_gradebook_holds_one_submission_per_student(graded_by_two):
    """Counted in plain SQL, not through nbgrader: one student row, one submission, one submitted notebook and one
    grade per graded cell for each student, the one graded twice at once included; no one else."""
    cells = len(AUTO_POINTS) + len(MANUAL_POINTS)
    with psycopg.connect(graded_by_two.server.conninfo(graded_by_two.database)) as connection:
        students = sorted(row[0] for row in connection.execute("SELECT id FROM student"))
        counts = {row[0]: row[1:] for row in connection.execute(
            """SELECT sa.student_id, count(DISTINCT sa.id), count(DISTINCT sn.id), count(g.id)
               FROM submitted_assignment sa JOIN assignment a ON a.id = sa.assignment_id
               LEFT JOIN submitted_notebook sn ON sn.assignment_id = sa.id
               LEFT JOIN grade g ON g.notebook_id = sn.id
               WHERE a.name = %s GROUP BY sa.student_id""", (ASSIGNMENT,))}
        assignments = connection.execute("SELECT count(*) FROM assignment WHERE name = %s",
                                         (ASSIGNMENT,)).fetchone()[0]
    assert students == sorted(STUDENTS), f"students in the gradebook: {students}, expected {sorted(STUDENTS)}"
    assert assignments == 1, f"{ASSIGNMENT} is in the gradebook {assignments} times"
    assert counts == {s: (1, 1, cells) for s in STUDENTS}, (
        f"(submissions, submitted notebooks, grades) by student: {counts}; expected (1, 1, {cells}) each")


def test_scores_in_postgres_are_the_expected_ones(graded_by_two):
    """The reference, graded by both graders at once, has full automatic marks; each sample mistake costs points in
    its own exercises only (read through nbgrader's Gradebook); the scores summed in plain SQL agree."""
    reference = graded_by_two.grades[SHARED]
    assert not lost(reference), f"the reference lost {sorted(lost(reference))}:\n" + "\n".join(
        graded_by_two.texts[SHARED][e] for e in lost(reference))
    graded = (graded_by_two.root, graded_by_two.grades, graded_by_two.texts)
    for name in GRADED_MISTAKES:
        assert_costs_exactly_its_exercises(graded, ROW, name)
    with psycopg.connect(graded_by_two.server.conninfo(graded_by_two.database)) as connection:
        summed = dict(connection.execute(
            """SELECT sa.student_id, sum(coalesce(g.auto_score, 0))
               FROM grade g JOIN submitted_notebook sn ON sn.id = g.notebook_id
               JOIN submitted_assignment sa ON sa.id = sn.assignment_id GROUP BY sa.student_id"""))
    expected = {s: graded_by_two.total(s) for s in STUDENTS}
    assert summed == pytest.approx(expected), f"automatic scores summed in SQL: {summed}, Gradebook: {expected}"
    assert summed[SHARED] == AUTO_TOTAL, f"the reference scores {summed[SHARED]:g} / {AUTO_TOTAL:g} in SQL"


def test_report_reads_the_postgres_gradebook(graded_by_two):
    """``lstm-course report`` works against PostgreSQL: one row per student, graded, with the total and each
    exercise's score the gradebook holds (the reference's full marks among them)."""
    root = graded_by_two.root
    output = root / "grades-postgres.csv"
    result = run_cli(root, "report", "-o", str(output))
    assert result.returncode == 0, f"`lstm-course report` failed on a PostgreSQL gradebook:\n{describe_run(result)}"
    with open(output, newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert sorted(rows) == sorted(STUDENTS), f"the report's students: {sorted(rows)}"
    for student in STUDENTS:
        row = rows[student]
        assert row["status"] == "graded", f"{student}'s row: {row}"
        assert float(row["score"]) == round(graded_by_two.total(student), 2), f"{student}'s row: {row}"
        assert float(row["max_score"]) == TOTAL, f"{student}'s row: {row}"
        got = {name: row[f"{ASSIGNMENT}:{name}"] for name in AUTO_POINTS}
        expected = {name: "" if score is None else str(round(score, 2))
                    for name, (score, _) in graded_by_two.grades[student].items()}
        assert got == expected, f"{student}'s exercise columns {got}, the gradebook's {expected}"
    assert float(rows[SHARED]["score"]) == AUTO_TOTAL, f"the reference's row: {rows[SHARED]}"


def test_no_sqlite_gradebook_is_written(graded_by_two):
    """With ``db_url`` pointing at PostgreSQL, neither build, the graders nor the report make or write an SQLite
    gradebook in the course (the graders' scratch courses have their own, outside it)."""
    root = graded_by_two.root
    found = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and is_sqlite(p))
    assert not (root / "gradebook.db").exists() and not found, f"SQLite databases in the course directory: {found}"
