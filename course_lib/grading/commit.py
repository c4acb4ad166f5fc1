"""Committing one graded submission to the course: scores into the gradebook in one transaction, then the graded
notebook and its feedback swapped into ``autograded/`` and ``feedback/``.

Only regular files are taken from the scratch course (nothing else of it is trusted), and an old graded notebook
stays in place until the new one is complete.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from nbgrader.api import Gradebook

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
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        for comment in target.comments:
            comment.auto_comment = comments.get(comment.name)
        gb.db.commit()
        submission = gb.find_submission(name, student)
        return float(submission.score), float(submission.max_score), bool(submission.needs_manual_grade)


def _swap_in(file: Path, dest: Path, name: str) -> None:
    """Install ``file`` as ``dest/name``, replacing the folder ``dest`` atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = dest.with_name(f".{dest.name}.new")
    old = dest.with_name(f".{dest.name}.old")
    for leftover in (staged, old):
        shutil.rmtree(leftover, ignore_errors=True)
    staged.mkdir()
    shutil.copyfile(file, staged / name, follow_symlinks=False)
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
    _swap_in(graded, ctx.root / "autograded" / student / ctx.assignment.name, name)


def install_feedback(ctx: GradingContext, scratch: Path, student: str) -> Path | None:
    """Swap in the feedback HTML the worker rendered, if it did; where it now is."""
    name = f"{ctx.assignment.notebook}.html"
    html = scratch / "feedback" / student / ctx.assignment.name / name
    if html.is_symlink() or not html.is_file() or html.stat().st_size > MAX_FEEDBACK_BYTES:
        return None
    dest = ctx.root / "feedback" / student / ctx.assignment.name
    _swap_in(html, dest, name)
    return dest / name
