"""``lstm-course report [-o CSV]``: the grade table (CSV) and a summary on the terminal.

Scores come from nbgrader's gradebook; the status and reason of each submission (graded, rejected, failed) come
from the grading log, so a student whose file could not be graded still appears, with why.
"""
from __future__ import annotations

from pathlib import Path

from course_lib.grading.grade_table import report


def main(args) -> int:
    report(args.course_dir, Path(args.output) if args.output else None)
    return 0
