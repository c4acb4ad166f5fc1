"""``lstm-course demo [ASSIGNMENT...]``: the whole instructor job on the course's own sample submissions.

For each assignment (default: all): build it, hand in three submissions (the reference solution, the untouched
release notebook, and the assignment's demo mistake), autograde them with ``--jobs``, then print the grade table
and where the feedback is. Expected: full automatic marks, 0, and points lost only where the mistake is.
"""
from __future__ import annotations

import shutil

from course_lib.assignments.registry import ASSIGNMENTS, get_assignment
from course_lib.grading.class_grading import autograde
from course_lib.grading.course_build import build
from course_lib.grading.grade_table import report
from course_lib.grading.samples import sample_submissions, write_submission


def demo(root, names: list[str] | None = None, jobs: int | None = None, echo=print) -> list:
    assignments = [get_assignment(n) for n in names] if names else list(ASSIGNMENTS.values())
    echo(f"1/4 Building {', '.join(a.name for a in assignments)} (source/ -> release/, hidden tests)")
    build(root, [a.name for a in assignments], echo=echo)
    students = set()
    for assignment in assignments:
        mistake = assignment.module("mistakes").MISTAKES[assignment.demo_mistake]
        echo(f"2/4 Handing in sample submissions of {assignment.name}: the reference solution (demo-reference), "
             f"the untouched release notebook (demo-untouched), and a mistake: {mistake.description} (demo-buggy)")
        for student, notebook in sample_submissions(root, assignment).items():
            shutil.rmtree(root / "submitted" / student / assignment.name, ignore_errors=True)
            write_submission(root, student, assignment.name, assignment.notebook, notebook)
            students.add(student)
    echo("3/4 Autograding")
    outcomes = autograde(root, [a.name for a in assignments], sorted(students), echo=echo, fallback=True, jobs=jobs)
    echo("4/4 Grade table")
    report(root, echo=echo)
    for outcome in outcomes:
        if outcome.feedback:
            echo(f"Feedback for {outcome.student} ({outcome.assignment}): {root / outcome.feedback}")
    return outcomes


def main(args) -> int:
    outcomes = demo(args.course_dir, args.assignments or None, jobs=args.jobs)
    return 0 if all(o.status == "graded" for o in outcomes) else 1
