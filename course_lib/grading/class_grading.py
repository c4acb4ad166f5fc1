"""Grading a class: every submission of an assignment through intake, scratch course, worker and commit.

Each submission is graded on its own, and nothing it does can reach the course:

1. its files are checked and its notebook sanitised against the instructor's release notebook
   (:mod:`~course_lib.grading.scratch`, :mod:`~course_lib.grading.sanitize`); a file that is not a notebook of
   this assignment is rejected with a one-line reason;
2. nbgrader autogrades it in a scratch course, in a worker process bounded in memory and time
   (:mod:`~course_lib.grading.worker`), with the kernel in a bubblewrap sandbox (:mod:`~course_lib.grading.sandbox`)
   and the verdicts computed outside the kernel (:mod:`~course_lib.grading.verdicts`); the worker renders the
   feedback too;
3. only then are its scores written to the course's gradebook, in one transaction, and its graded notebook and
   feedback moved into ``autograded/`` and ``feedback/`` (:mod:`~course_lib.grading.commit`).

Workers run ``jobs`` at a time (:mod:`~course_lib.grading.scheduler`); a failure while grading one student is
recorded with its reason (:mod:`~course_lib.grading.outcomes`) and the next student is graded.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from course_lib.assignments.registry import ASSIGNMENTS, get_assignment
from course_lib.grading.commit import commit_scores, install_feedback, install_graded
from course_lib.grading.course import CourseError, nbgrader_api
from course_lib.grading.outcomes import Outcome, describe, record
from course_lib.grading.sandbox import Sandbox, bwrap_available
from course_lib.grading.scheduler import LocalScheduler, memory_bounded_jobs
from course_lib.grading.scratch import GradingContext, prepare_scratch
from course_lib.grading.submissions import RejectedSubmission, submission_dir, submitted_students
from course_lib.grading.worker import IsolatedGrading

STUDENT_ID = re.compile(r"[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,99}")
UNPROTECTED = ("grading WITHOUT a sandbox: student code runs as you, can read source/ (the hidden tests and "
               "solutions), write the gradebook and the course, use the network and leave processes behind")


def resolve_sandbox(requested: str | None, echo=print, fallback: bool = False) -> str:
    """``"bwrap"`` or ``"none"``; refuses to grade unprotected unless asked to (or ``fallback`` for our samples)."""
    if requested == "none":
        echo(f"WARNING: {UNPROTECTED}.")
        return "none"
    problem = bwrap_available(Sandbox().bwrap)
    if problem is None:
        return "bwrap"
    if fallback:
        echo(f"WARNING: {problem}; {UNPROTECTED}.")
        return "none"
    raise CourseError(f"cannot sandbox the kernels: {problem}. Install bubblewrap, or pass --sandbox none to grade "
                      f"anyway ({UNPROTECTED})")


@dataclass
class _Running:
    student: str
    grading: IsolatedGrading
    notes: list[str]
    scratch: Path


def start_grading(ctx: GradingContext, folder: Path, student: str, scratch: Path,
                  feedback: bool = True) -> tuple[IsolatedGrading, list[str]]:
    """Sanitise, then start nbgrader on the scratch course in a bounded worker process."""
    notes = prepare_scratch(ctx, folder, student, scratch)
    grading = IsolatedGrading(ctx.root, scratch, ctx.assignment.name, student, ctx.sandbox,
                              memory_bytes=ctx.worker_memory, timeout=ctx.worker_timeout, feedback=feedback)
    return grading, notes


def _start(ctx: GradingContext, student: str, feedback: bool) -> Outcome | _Running:
    """Start grading one student, or the outcome at once when the submission is rejected."""
    folder = submission_dir(ctx.root, student, ctx.assignment)
    scratch = Path(tempfile.mkdtemp(prefix="lstm-course-grade-"))
    try:
        if not STUDENT_ID.fullmatch(student):
            raise RejectedSubmission(f"'{student[:40]}' is not a valid student id (letters, digits, . _ @ -)")
        if not folder.is_dir():
            raise RejectedSubmission(f"no submission: expected {folder.relative_to(ctx.root)}/"
                                     f"{ctx.assignment.notebook}.ipynb")
        grading, notes = start_grading(ctx, folder, student, scratch, feedback)
        return _Running(student, grading, notes, scratch)
    except RejectedSubmission as reason:
        shutil.rmtree(scratch, ignore_errors=True)
        return Outcome(student, ctx.assignment.name, "rejected", str(reason))
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _finish(ctx: GradingContext, running: _Running, db_url: str) -> Outcome:
    """Collect a finished grading; only now is anything written to the course."""
    outcome = Outcome(running.student, ctx.assignment.name, "graded")
    try:
        result = running.grading.result()
        if not result["success"]:
            outcome.status, outcome.reason = "failed", f"autograding failed: {result['reason']}"
            return outcome
        outcome.score, outcome.max_score, outcome.needs_manual = commit_scores(ctx, running.scratch,
                                                                               running.student, db_url)
        install_graded(ctx, running.scratch, running.student)
        html = install_feedback(ctx, running.scratch, running.student)
        if html is not None:
            outcome.feedback = str(html.relative_to(ctx.root))
    finally:
        shutil.rmtree(running.scratch, ignore_errors=True)
    outcome.reason = "; ".join(result["problems"] + running.notes)
    return outcome


def _grader_error(ctx: GradingContext, student: str, error: Exception) -> Outcome:
    return Outcome(student, ctx.assignment.name, "failed", f"grader error: {type(error).__name__}: {error}"[:300])


def _discard(running: _Running) -> None:
    running.grading.result()
    shutil.rmtree(running.scratch, ignore_errors=True)


def grade_class(ctx: GradingContext, students: list[str], db_url: str, feedback: bool, jobs: int,
                echo=print) -> list[Outcome]:
    """Grade ``students``, ``jobs`` at a time; each outcome is recorded as soon as it is known."""
    scheduler = LocalScheduler(start=lambda student: _start(ctx, student, feedback),
                               finish=lambda running: _finish(ctx, running, db_url),
                               failed=lambda student, error: _grader_error(ctx, student, error),
                               discard=_discard, jobs=jobs)
    for student in students:
        scheduler.submit(student)
    outcomes: list[Outcome] = []
    try:
        while scheduler.pending:
            for outcome in scheduler.wait(timeout=1.0):
                record(ctx.root, outcome)
                echo(describe(outcome))
                outcomes.append(outcome)
    except BaseException:
        scheduler.cancel()
        raise
    return outcomes


def grade_one(ctx: GradingContext, folder: Path, student: str, scratch: Path) -> tuple[dict, list[str]]:
    """Sanitise the submission in ``folder`` and autograde it in ``scratch`` without committing (blocking)."""
    grading, notes = start_grading(ctx, folder, student, scratch, feedback=False)
    return grading.result(), notes


def autograde(root: Path, assignment_names: list[str] | None = None, students: list[str] | None = None,
              feedback: bool = True, echo=print, sandbox: str | None = None, fallback: bool = False,
              jobs: int | None = None) -> list[Outcome]:
    """Grade the given (default: every submitted) assignments of ``submitted/``."""
    assignments = [get_assignment(n) for n in assignment_names] if assignment_names else [
        a for a in ASSIGNMENTS.values() if submitted_students(root, a)]
    if not assignments:
        raise CourseError(f"nothing to grade: no submissions under {root / 'submitted'} "
                          f"(expected submitted/<student>/<assignment>/<notebook>.ipynb)")
    mode = resolve_sandbox(sandbox, echo=echo, fallback=fallback)
    db_url = nbgrader_api(root).coursedir.db_url
    outcomes = []
    for assignment in assignments:
        with tempfile.TemporaryDirectory(prefix="lstm-course-template-") as workdir:
            ctx = GradingContext.create(root, assignment, mode, Path(workdir))
            parallel = memory_bounded_jobs(jobs, ctx.worker_memory)
            outcomes += grade_class(ctx, students or submitted_students(root, assignment), db_url, feedback,
                                    parallel, echo)
    return outcomes
