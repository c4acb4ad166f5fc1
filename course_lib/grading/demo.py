"""``lstm-course demo``: the whole instructor job on the course's own sample submissions.

Build the course, hand in three submissions of assignment 01 (the reference solution, the untouched release
notebook, and one with the input and forget gates swapped), autograde them, print the grade table and where the
feedback is. Expected: full automatic marks, 0, and partial credit lost only in ``lstm_cell_forward``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from course_lib.grading.autograde import autograde
from course_lib.grading.build import build
from course_lib.grading.course import get_assignment
from course_lib.grading.report import report
from course_lib.grading.samples import BUGS, reference_submission, with_bug, write_submission

ASSIGNMENT = "01_lstm_gates"
DEMO_BUG = "swapped_input_forget"
STUDENTS = ("demo-reference", "demo-untouched", "demo-buggy")


def make_demo_submissions(root: Path) -> list[str]:
    assignment = get_assignment(ASSIGNMENT)
    release = root / "release" / ASSIGNMENT / f"{assignment.notebook}.ipynb"
    source = root / "source" / ASSIGNMENT / f"{assignment.notebook}.ipynb"
    reference = reference_submission(release, source)
    notebooks = {
        "demo-reference": reference,
        "demo-untouched": nbformat.read(release, as_version=4),
        "demo-buggy": with_bug(reference, BUGS[DEMO_BUG]),
    }
    for student, notebook in notebooks.items():
        shutil.rmtree(root / "submitted" / student / ASSIGNMENT, ignore_errors=True)
        write_submission(root, student, ASSIGNMENT, assignment.notebook, notebook)
    return list(notebooks)


def demo(root: Path, echo=print) -> list:
    echo("1/4 Building the course (source/ -> release/, hidden tests)")
    build(root, [ASSIGNMENT], echo=echo)
    echo("2/4 Handing in sample submissions of 01_lstm_gates: the reference solution (demo-reference), the "
         f"untouched release notebook (demo-untouched), and a bug: {BUGS[DEMO_BUG].description} (demo-buggy)")
    students = make_demo_submissions(root)
    echo("3/4 Autograding")
    outcomes = autograde(root, [ASSIGNMENT], students, echo=echo, fallback=True)
    echo("4/4 Grade table")
    report(root, echo=echo)
    for outcome in outcomes:
        if outcome.feedback:
            echo(f"Feedback for {outcome.student}: {root / outcome.feedback}")
    return outcomes


def main(args) -> int:
    outcomes = demo(args.course_dir)
    return 0 if all(o.status == "graded" for o in outcomes) else 1
