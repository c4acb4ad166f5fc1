"""Committing one graded submission to the course: scores into the gradebook in one transaction, then the graded
notebook and its feedback swapped into ``autograded/`` and ``feedback/``.

Only regular files are taken from the scratch course (nothing else of it is trusted), and an old graded notebook
stays in place until the new one is complete.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from course_lib.grading.scratch import GradingContext
from course_lib.grading.submissions import RejectedSubmission

MAX_FEEDBACK_BYTES = 50 * 1024**2


def commit_scores(ctx: GradingContext, scratch: Path, student: str, real_db_url: str) -> tuple[float, float, bool]:
    """Copy the scratch verdicts into the course gradebook: one transaction for the scores."""
    name, notebook = ctx.assignment.name, ctx.assignment.notebook
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}", ctx.course_id) as scratch_gb:
        graded = scratch_gb.find_submission_notebook(notebook, name, student)
        scores = {g.name: g.auto_score for g in graded.grades}
        comments = {c.name: c.auto_comment for c in graded.comments}
        timestamp = scratch_gb.find_submission(name, student).timestamp
    with Gradebook(real_db_url, ctx.course_id) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(name, student, timestamp=timestamp)
        target = gb.find_submission_notebook(notebook, name, student)
        for grade in target.grades:
            grade.auto_score = scores.get(grade.name)
            # a hand grade already given stands (nbgrader keeps manual_score); only a missing one is pending
            grade.needs_manual_grade = grade.auto_score is None and grade.manual_score is None
        for comment in target.comments:
            comment.auto_comment = comments.get(comment.name)
        gb.db.commit()
        submission = gb.find_submission(name, student)
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


def _swap_in(file: Path, dest: Path, name: str, extra: dict[str, str] | None = None) -> None:
    """Install ``file`` as ``dest/name`` (and the small text files ``extra``), replacing the folder ``dest``
    atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = dest.with_name(f".{dest.name}.new")
    old = dest.with_name(f".{dest.name}.old")
    for leftover in (staged, old):
        shutil.rmtree(leftover, ignore_errors=True)
    staged.mkdir()
    shutil.copyfile(file, staged / name, follow_symlinks=False)
    for extra_name, text in (extra or {}).items():
        (staged / extra_name).write_text(text, encoding="ascii")
    if dest.exists():
        os.replace(dest, old)
    os.replace(staged, dest)
    shutil.rmtree(old, ignore_errors=True)


def install_graded(ctx: GradingContext, scratch: Path, student: str) -> None:
    """Swap the new graded notebook in for the old one."""
    name = f"{ctx.assignment.notebook}.ipynb"
    graded = scratch / "autograded" / student / ctx.assignment.name / name
    if graded.is_symlink() or not graded.is_file():
        raise RejectedSubmission("the graded notebook was not written as a regular file")
    _swap_in(graded, ctx.root / "autograded" / student / ctx.assignment.name, name,
             nbgrader_files(ctx.root, ctx.assignment.name, student))


def install_feedback(ctx: GradingContext, scratch: Path, student: str) -> Path | None:
    """Swap in the feedback HTML the worker rendered, if it did; where it now is."""
    name = f"{ctx.assignment.notebook}.html"
    html = scratch / "feedback" / student / ctx.assignment.name / name
    if html.is_symlink() or not html.is_file() or html.stat().st_size > MAX_FEEDBACK_BYTES:
        return None
    dest = ctx.root / "feedback" / student / ctx.assignment.name
    _swap_in(html, dest, name, nbgrader_files(ctx.root, ctx.assignment.name, student))
    return dest / name
