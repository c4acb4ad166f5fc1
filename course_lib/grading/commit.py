"""Committing one graded submission to the course, in the instructor's process: a worker's
:class:`~course_lib.grading.work_unit.GradeResult` (scores, comments, graded notebook, feedback page) into the
gradebook in one transaction, then the graded notebook and its feedback swapped into ``autograded/`` and
``feedback/``. An old graded notebook stays in place until the new one is complete.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.api import Gradebook, InvalidEntry
from sqlalchemy.exc import IntegrityError
from nbgrader.utils import parse_utc

from course_lib.grading.scratch import GradingContext
from course_lib.grading.submissions import RejectedSubmission
from course_lib.grading.work_unit import MAX_FEEDBACK_BYTES, GradeResult


#: tries of a commit that lost a race with another grader creating the same student or submission
COMMIT_TRIES = 3


def commit_scores(ctx: GradingContext, result: GradeResult, db_url: str) -> tuple[float, float, bool]:
    """Write a worker's verdicts into the course gradebook: one transaction for the scores.

    Several graders may share a gradebook (PostgreSQL): nbgrader creates a student or a submission by looking
    first and inserting after, so two graders committing the same new one at once collide on a unique key; the
    loser's transaction is rolled back and it tries again, and then finds the row."""
    for attempt in range(1, COMMIT_TRIES + 1):
        try:
            return _commit_scores(ctx, result, db_url)
        except (InvalidEntry, IntegrityError):
            if attempt == COMMIT_TRIES:
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def _commit_scores(ctx: GradingContext, result: GradeResult, db_url: str) -> tuple[float, float, bool]:
    name, notebook = ctx.assignment.name, ctx.assignment.notebook
    with Gradebook(db_url, ctx.course_id) as gb:
        gb.update_or_create_student(result.student)
        gb.update_or_create_submission(name, result.student, timestamp=result.timestamp)
        target = gb.find_submission_notebook(notebook, name, result.student)
        for grade in target.grades:
            grade.auto_score = result.scores.get(grade.name)
            # a hand grade already given stands (nbgrader keeps manual_score); only a missing one is pending
            grade.needs_manual_grade = grade.auto_score is None and grade.manual_score is None
        for comment in target.comments:
            comment.auto_comment = result.comments.get(comment.name)
        gb.db.commit()
        submission = gb.find_submission(name, result.student)
        return float(submission.score), float(submission.max_score), bool(submission.needs_manual_grade)


def gradebook_scores(ctx: GradingContext, student: str, db_url: str) -> tuple[float, float, bool]:
    """A submission's score, maximum and whether a hand grade is pending, as the gradebook has them now."""
    with Gradebook(db_url, ctx.course_id) as gb:
        submission = gb.find_submission(ctx.assignment.name, student)
        return float(submission.score), float(submission.max_score), bool(submission.needs_manual_grade)


def nbgrader_files(root: Path, assignment: str, student: str) -> dict[str, str]:
    """``timestamp.txt`` and ``submission_secret.txt`` for ``autograded/`` and ``feedback/``, where nbgrader's
    ``generate_feedback``, ``release_feedback`` and the student's *Fetch Feedback* look for them.

    Both come from the submission when it went through the exchange (the secret is how the student's own server
    finds its feedback); they are the student's files, so only a well-formed timestamp and a hex secret are kept,
    and a submission placed by hand gets the time of grading and a fresh secret (written into ``autograded/``
    first, and read back from there for ``feedback/`` and later gradings).
    """
    folders = [root / kind / student / assignment for kind in ("submitted", "autograded")]

    def small_text(name: str) -> str:   # from the submission, else what an earlier grading wrote
        for path in (folder / name for folder in folders):
            if not path.is_symlink() and path.is_file() and path.stat().st_size <= 1024:
                return path.read_text(encoding="ascii", errors="replace").strip()
        return ""

    timestamp = small_text("timestamp.txt")
    try:
        parse_utc(timestamp)
    except Exception:  # noqa: BLE001 - missing or malformed: the time of grading
        timestamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    secret = small_text("submission_secret.txt")
    if not re.fullmatch(r"[0-9a-f]{16,256}", secret):
        secret = secrets.token_hex(64)   # as nbgrader submit makes one
    return {"timestamp.txt": timestamp, "submission_secret.txt": secret}


def _swap_in(content: bytes, dest: Path, name: str, extra: dict[str, str] | None = None) -> None:
    """Install ``content`` as ``dest/name`` (and the small text files ``extra``), replacing the folder ``dest``
    atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = dest.with_name(f".{dest.name}.new")
    old = dest.with_name(f".{dest.name}.old")
    for leftover in (staged, old):
        shutil.rmtree(leftover, ignore_errors=True)
    staged.mkdir()
    (staged / name).write_bytes(content)
    for extra_name, text in (extra or {}).items():
        (staged / extra_name).write_text(text, encoding="ascii")
    if dest.exists():
        os.replace(dest, old)
    os.replace(staged, dest)
    shutil.rmtree(old, ignore_errors=True)


def install_graded(ctx: GradingContext, result: GradeResult) -> None:
    """Swap the new graded notebook in for the old one."""
    if result.graded_notebook is None:
        raise RejectedSubmission("the graded notebook was not written as a regular file")
    _swap_in(result.graded_notebook, ctx.root / "autograded" / result.student / ctx.assignment.name,
             f"{ctx.assignment.notebook}.ipynb", nbgrader_files(ctx.root, ctx.assignment.name, result.student))


def install_feedback(ctx: GradingContext, result: GradeResult) -> Path | None:
    """Swap in the feedback HTML the worker rendered, if it did; where it now is."""
    if result.feedback_html is None or len(result.feedback_html) > MAX_FEEDBACK_BYTES:
        return None
    dest = ctx.root / "feedback" / result.student / ctx.assignment.name
    name = f"{ctx.assignment.notebook}.html"
    _swap_in(result.feedback_html, dest, name, nbgrader_files(ctx.root, ctx.assignment.name, result.student))
    return dest / name
