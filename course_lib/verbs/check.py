"""``lstm-course check NOTEBOOK``: grade one completed notebook against the hidden tests, for self-study.

The notebook goes through exactly the pipeline of ``lstm-course autograde`` (sanitising, sandboxed execution,
verdicts outside the kernel) in a throw-away scratch course: the course's gradebook is never touched. The report
adds what a learner without an instructor needs (:mod:`course_lib.grading.self_check`): the cell that failed where a
function is not defined, and the model answer and rubric of each written answer.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat

from course_lib.assignments.registry import Assignment, assignment_for_notebook, get_assignment
from course_lib.grading.class_grading import resolve_sandbox
from course_lib.grading.course import CourseError
from course_lib.grading.scratch import GradingContext, intake
from course_lib.grading.self_check import CellDiagnosis, undefined_names, written_answer_report
from course_lib.grading.submissions import RejectedSubmission
from course_lib.grading.verdicts import unwrapped
from course_lib.grading.work_unit import AssignmentBundle, grade_submission

STUDENT = "self-check"


def _verdict_texts(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """The verdict the grader wrote under each graded cell, in notebook order."""
    texts = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            streams = [o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
            texts[meta.get("grade_id")] = unwrapped(streams[0]) if streams else ""  # one line per item
    return texts


def _graded_cell(notebook: nbformat.NotebookNode, grade_id: str):
    return next((c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id),
                None)


def check_notebook(root: Path, path: Path, assignment: Assignment | None = None, echo=print,
                   sandbox: str | None = None) -> dict:
    """Grade ``path``; returns ``{exercise: (score or None, max_score)}`` and prints the per-exercise report."""
    path = Path(path).resolve()
    if not path.is_file():
        raise CourseError(f"{path} does not exist")
    assignment = assignment or assignment_for_notebook(path.stem)
    mode = resolve_sandbox(sandbox, echo=echo, fallback=True)
    with tempfile.TemporaryDirectory(prefix="lstm-course-check-") as tmp:
        tmp = Path(tmp)
        ctx = GradingContext.create(root, assignment, mode, tmp)
        folder = tmp / "handed-in"
        folder.mkdir()
        shutil.copyfile(path, folder / f"{assignment.notebook}.ipynb")
        try:
            task = intake(ctx, folder, STUDENT)
        except RejectedSubmission as reason:
            raise CourseError(str(reason)) from None
        result = grade_submission(AssignmentBundle.from_context(ctx), task, mode, feedback=False)
        if not result.success:
            raise CourseError(f"could not grade {path.name}: {result.reason}")
        graded = nbformat.reads(result.graded_notebook.decode("utf-8"), as_version=4)
        texts = _verdict_texts(graded)
        grades = {name: (score, result.max_scores[name]) for name, score in result.scores.items()}
    graded_cells = [c for c in graded.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    # written answers (graded cells that are also solution cells) are the instructor's to grade, answered or not
    manual = {c.metadata["nbgrader"]["grade_id"]: c for c in graded_cells if c.metadata["nbgrader"].get("solution")}
    diagnosis = CellDiagnosis(graded)
    # the model answers and rubrics are in the instructor's notebook (never in the release)
    source = nbformat.read(assignment.source_notebook(root), as_version=4) if manual else None
    report = []
    for cell in graded_cells:
        exercise = cell.metadata["nbgrader"]["grade_id"]
        score, max_score = grades[exercise]
        if exercise in manual:
            report += written_answer_report(cell, _graded_cell(ctx.release, exercise),
                                            _graded_cell(source, exercise), max_score)
            continue
        report.append(f"{exercise}: {score:g} / {max_score:g}" + ("  ✓" if score == max_score else ""))
        report += diagnosis.explain(exercise, texts.get(exercise, "").rstrip().splitlines()[1:])
    echo(f"{path.name} ({assignment.name}, {assignment.title}), checked against the hidden tests:\n")
    for problem in result.problems:
        # a name left undefined by a cell that failed is explained under its exercise, in the learner's terms
        if not diagnosis.explained.intersection(undefined_names(problem)):
            echo(f"Note: {problem}")
    for line in report:
        echo(line)
    auto = [(s or 0, m) for e, (s, m) in grades.items() if e not in manual]
    echo(f"\nTotal: {sum(s for s, _ in auto):g} / {sum(m for _, m in auto):g} automatically graded points")
    return grades


def main(args) -> int:
    assignment = get_assignment(args.assignment) if args.assignment else None
    check_notebook(args.course_dir, Path(args.notebook), assignment, sandbox=args.sandbox)
    return 0
