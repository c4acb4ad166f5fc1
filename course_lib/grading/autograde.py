"""``lstm-course autograde [ASSIGNMENT] [--student ID...]``: grade ``submitted/`` into ``autograded/``.

Each submission is checked on its own before nbgrader sees it; a bad file or a failure while grading one student
is recorded with a one-line reason and the next student is graded.
"""
from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from course_lib.grading.build import ensure_built
from course_lib.grading.course import ASSIGNMENTS, Assignment, CourseError, get_assignment, last_error_line, nbgrader_api
from course_lib.grading.grading_log import Outcome, record
from course_lib.grading.submissions import RejectedSubmission, read_notebook, submission_dir, submitted_students


def _scores(root: Path, api, assignment: Assignment, student: str) -> tuple[float, float, bool]:
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        try:
            submission = gb.find_submission(assignment.name, student)
        except MissingEntry:
            return 0.0, 0.0, False
        return float(submission.score), float(submission.max_score), bool(submission.needs_manual_grade)


def autograde_submission(root: Path, api, assignment: Assignment, student: str, feedback: bool = True) -> Outcome:
    """Grade one student's submission of one assignment; never raises for a problem of the submission."""
    outcome = Outcome(student, assignment.name, "graded")
    folder = submission_dir(root, student, assignment)
    try:
        if not folder.is_dir():
            raise RejectedSubmission(f"no submission: expected {folder.relative_to(root)}/{assignment.notebook}.ipynb")
        read_notebook(folder / f"{assignment.notebook}.ipynb")
    except RejectedSubmission as reason:
        outcome.status, outcome.reason = "rejected", str(reason)
        return outcome
    result = api.autograde(assignment.name, student, force=True, create=True)
    if not result.get("success"):
        outcome.status, outcome.reason = "failed", f"autograding failed: {last_error_line(result)}"
        return outcome
    outcome.score, outcome.max_score, outcome.needs_manual = _scores(root, api, assignment, student)
    if feedback:
        result = api.generate_feedback(assignment.name, student, force=True)
        html = root / "feedback" / student / assignment.name / f"{assignment.notebook}.html"
        if result.get("success") and html.exists():
            outcome.feedback = str(html.relative_to(root))
        else:
            outcome.reason = f"feedback not generated: {last_error_line(result)}"
    return outcome


def describe(outcome: Outcome) -> str:
    if outcome.status != "graded":
        return f"  {outcome.student:<20} {outcome.assignment:<16} {outcome.status.upper()}: {outcome.reason}"
    manual = "  (+ manual grading pending)" if outcome.needs_manual else ""
    return (f"  {outcome.student:<20} {outcome.assignment:<16} {outcome.score:g} / {outcome.max_score:g}{manual}"
            + (f"  feedback: {outcome.feedback}" if outcome.feedback else ""))


def autograde(root: Path, assignment_names: list[str] | None = None, students: list[str] | None = None,
              feedback: bool = True, echo=print) -> list[Outcome]:
    assignments = [get_assignment(n) for n in assignment_names] if assignment_names else [
        a for a in ASSIGNMENTS.values() if submitted_students(root, a)]
    if not assignments:
        raise CourseError(f"nothing to grade: no submissions under {root / 'submitted'} "
                          f"(expected submitted/<student>/<assignment>/<notebook>.ipynb)")
    api = nbgrader_api(root)
    outcomes = []
    for assignment in assignments:
        ensure_built(root, assignment, api, echo=echo)
        for student in students or submitted_students(root, assignment):
            try:
                outcome = autograde_submission(root, api, assignment, student, feedback=feedback)
            except Exception as error:  # noqa: BLE001 - one student's failure must not stop the class
                outcome = Outcome(student, assignment.name, "failed", f"grader error: {type(error).__name__}: {error}")
            record(root, outcome)
            echo(describe(outcome))
            outcomes.append(outcome)
    return outcomes


def main(args) -> int:
    names = [args.assignment] if args.assignment else None
    print(f"Autograding {args.assignment or 'every assignment with submissions'} in {args.course_dir}")
    outcomes = autograde(args.course_dir, names, args.student or None, feedback=not args.no_feedback)
    bad = [o for o in outcomes if o.status != "graded"]
    print(f"{len(outcomes) - len(bad)} graded, {len(bad)} not graded; `lstm-course report` prints the table.")
    return 0
