"""Grading a class: every submission of an assignment through intake, scratch course, worker and commit.

Each submission is graded on its own, and nothing it does can reach the course:

1. its files are checked and its notebook sanitised against the instructor's release notebook
   (:mod:`~course_lib.grading.scratch`, :mod:`~course_lib.grading.sanitize`); a file that is not a notebook of
   this assignment is rejected with a one-line reason;
2. a worker grades it (:func:`~course_lib.grading.work_unit.grade_submission`): nbgrader autogrades it in a
   scratch course, in a process bounded in memory and time (:mod:`~course_lib.grading.worker`), with the kernel in
   a bubblewrap sandbox (:mod:`~course_lib.grading.sandbox`) and the verdicts computed outside the kernel
   (:mod:`~course_lib.grading.verdicts`); the worker renders the feedback too and sends back only data;
3. only then, in this process, are its scores written to the course's gradebook, in one transaction, and its
   graded notebook and feedback moved into ``autograded/`` and ``feedback/`` (:mod:`~course_lib.grading.commit`).

Workers run ``jobs`` at a time here, or on a Dask cluster (:mod:`~course_lib.grading.scheduler`); a failure while
grading one student is recorded with its reason (:mod:`~course_lib.grading.outcomes`) and the others are graded.
A rerun keeps what was graded before from the same files by the same build (``force`` regrades).
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import MissingEntry

from course_lib.assignments.registry import ASSIGNMENTS, get_assignment
from course_lib.grading.commit import commit_scores, gradebook_scores, install_feedback, install_graded
from course_lib.grading.course import CourseError, load_config, nbgrader_api
from course_lib.grading.outcomes import Outcome, describe, read_log, record, summary_table
from course_lib.grading.sandbox import Sandbox, bwrap_available
from course_lib.grading.scheduler import backend_for, memory_bounded_jobs
from course_lib.grading.scratch import GradingContext, content_hash, intake
from course_lib.grading.submissions import RejectedSubmission, submission_dir, submitted_students
from course_lib.grading.work_unit import AssignmentBundle, GradeResult, SubmissionTask
from course_lib.grading.worker import Worker

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


def _up_to_date(root: Path, entry: dict | None, folder: Path, ctx: GradingContext, build_hash: str) -> bool:
    """Graded before from these very files by this very build, and its graded notebook is still in place."""
    return bool(entry and entry.get("status") == "graded" and entry.get("build_hash") == build_hash
                and entry.get("content_hash") == content_hash(folder, ctx.assignment)
                and (root / "autograded" / entry["student"] / ctx.assignment.name
                     / f"{ctx.assignment.notebook}.ipynb").is_file())


def _kept(ctx: GradingContext, entry: dict, db_url: str) -> Outcome | None:
    """The outcome of a submission graded before and unchanged, with its scores as the gradebook has them now
    (a hand grade given since counts); ``None`` when the gradebook no longer has it."""
    outcome = Outcome.from_entry(entry)
    try:
        outcome.score, outcome.max_score, outcome.needs_manual = gradebook_scores(ctx, outcome.student, db_url)
    except MissingEntry:
        return None
    outcome.kept = True
    return outcome


def _start(ctx: GradingContext, student: str) -> Outcome | SubmissionTask:
    """Intake of one student's submission: the task to grade, or the outcome at once when it is rejected."""
    folder = submission_dir(ctx.root, student, ctx.assignment)
    try:
        if not STUDENT_ID.fullmatch(student):
            raise RejectedSubmission(f"'{student[:40]}' is not a valid student id (letters, digits, . _ @ -)")
        if not folder.is_dir():
            raise RejectedSubmission(f"no submission: expected {folder.relative_to(ctx.root)}/"
                                     f"{ctx.assignment.notebook}.ipynb")
        return intake(ctx, folder, student)
    except RejectedSubmission as reason:
        return Outcome(student, ctx.assignment.name, "rejected", str(reason))


def _finish(ctx: GradingContext, result: GradeResult, db_url: str) -> Outcome:
    """Commit one result: scores into the gradebook, then the graded notebook and the feedback into place."""
    outcome = Outcome(result.student, ctx.assignment.name, "graded", content_hash=result.content_hash,
                      build_hash=result.build_hash, seconds=round(result.seconds, 2),
                      cell_seconds=round(result.cell_seconds, 2), attempts=result.attempts, worker=result.worker)
    if not result.success:
        outcome.status, outcome.reason = "failed", f"autograding failed: {result.reason}"
        return outcome
    outcome.score, outcome.max_score, outcome.needs_manual = commit_scores(ctx, result, db_url)
    install_graded(ctx, result)
    html = install_feedback(ctx, result)
    if html is not None:
        outcome.feedback = str(html.relative_to(ctx.root))
    outcome.reason = "; ".join(result.problems)
    return outcome


def _grader_error(ctx: GradingContext, student: str, error: BaseException) -> Outcome:
    return Outcome(student, ctx.assignment.name, "failed", f"grader error: {type(error).__name__}: {error}"[:300])


@dataclass
class _Assignment:
    ctx: GradingContext
    bundle: AssignmentBundle
    shared: object            # the bundle as the backend holds it


def grade_class(classes: list[tuple[GradingContext, list[str]]], db_url: str, feedback: bool, backend,
                echo=print, force: bool = False) -> list[Outcome]:
    """Grade every ``(context, students)`` of ``classes`` on ``backend``; each outcome is committed and recorded
    as soon as it is known, so an interrupted run loses nothing already graded and a rerun resumes: a submission
    graded before, unchanged, by the same build is kept unless ``force``."""
    from tqdm import tqdm

    log = read_log(classes[0][0].root) if classes else {}
    outcomes: list[Outcome] = []
    futures: dict = {}
    total = sum(len(students) for _, students in classes)
    bar = tqdm(total=total, unit="submission", desc="autograde", disable=None, dynamic_ncols=True, smoothing=0.1)
    failures = 0

    def done(outcome: Outcome, ctx: GradingContext) -> None:
        nonlocal failures
        if not outcome.kept:
            record(ctx.root, outcome)
        outcomes.append(outcome)
        failures += outcome.status != "graded"
        bar.set_postfix(failed=failures, refresh=False)
        bar.update()
        (bar.write if not bar.disable else echo)(describe(outcome))

    try:
        for ctx, students in classes:
            bundle = AssignmentBundle.from_context(ctx)
            item = _Assignment(ctx, bundle, None)
            for student in students:
                entry = log.get(f"{ctx.assignment.name}/{student}")
                folder = submission_dir(ctx.root, student, ctx.assignment)
                if not force and STUDENT_ID.fullmatch(student) and _up_to_date(ctx.root, entry, folder, ctx,
                                                                                bundle.build_hash):
                    kept = _kept(ctx, entry, db_url)
                    if kept is not None:
                        done(kept, ctx)
                        continue
                try:
                    started = _start(ctx, student)
                except Exception as error:  # noqa: BLE001 - one student's failure must not stop the class
                    started = _grader_error(ctx, student, error)
                if isinstance(started, Outcome):
                    done(started, ctx)
                    continue
                if item.shared is None:
                    item.shared = backend.share(bundle)
                futures[backend.submit(item.shared, started, ctx.sandbox, feedback)] = (ctx, student)
        for future in backend.as_completed(futures):
            ctx, student = futures[future]
            try:
                outcome = _finish(ctx, future.result(), db_url)
            except Exception as error:  # noqa: BLE001 - one student's failure must not stop the class
                outcome = _grader_error(ctx, student, error)
            done(outcome, ctx)
    except BaseException as error:
        backend.cancel([f for f in futures if not f.done()])
        if isinstance(error, KeyboardInterrupt):
            echo(f"Stopped: {len(outcomes)} of {total} submission(s) done and kept; the rest were not committed. "
                 f"Run the same command again to grade what is left.")
        raise
    finally:
        bar.close()
    return outcomes


def autograde(root: Path, assignment_names: list[str] | None = None, students: list[str] | None = None,
              feedback: bool = True, echo=print, sandbox: str | None = None, fallback: bool = False,
              jobs: int | None = None, scheduler: str | None = None, force: bool = False) -> list[Outcome]:
    """Grade the given (default: every submitted) assignments of ``submitted/``: ``jobs`` at a time on this
    machine, or on the Dask cluster whose scheduler is at ``scheduler``."""
    assignments = [get_assignment(n) for n in assignment_names] if assignment_names else [
        a for a in ASSIGNMENTS.values() if submitted_students(root, a)]
    if not assignments:
        raise CourseError(f"nothing to grade: no submissions under {root / 'submitted'} "
                          f"(expected submitted/<student>/<assignment>/<notebook>.ipynb)")
    mode = resolve_sandbox(sandbox, echo=echo, fallback=fallback)
    db_url = nbgrader_api(root).coursedir.db_url
    # the backend first: its grading processes start (importing nbgrader) while the assignments are prepared
    memory = Worker(config=load_config(root)).memory_bytes
    backend = backend_for(memory_bounded_jobs(jobs, memory), memory, scheduler)
    try:
        with tempfile.TemporaryDirectory(prefix="lstm-course-template-") as workdir:
            classes = []
            for assignment in assignments:
                ctx = GradingContext.create(root, assignment, mode, Path(workdir) / assignment.name)
                classes.append((ctx, students or submitted_students(root, assignment)))
            echo(f"Grading {sum(len(s) for _, s in classes)} submission(s) {backend.describe()}")
            outcomes = grade_class(classes, db_url, feedback, backend, echo=echo, force=force)
    finally:
        backend.close()
    echo(summary_table(outcomes))
    return outcomes
