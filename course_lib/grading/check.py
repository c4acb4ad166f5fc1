"""``lstm-course check NOTEBOOK``: grade one completed notebook against the hidden tests, for self-study.

The notebook goes through exactly the pipeline an instructor's autograde uses (same sanitising, execution and
verdicts), but in a throw-away course directory with its own gradebook: the course's gradebook is never touched.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from course_lib.grading.autograde import autograde_submission
from course_lib.grading.build import ensure_built
from course_lib.grading.course import Assignment, CourseError, assignment_for_notebook, get_assignment, load_config, nbgrader_api
from course_lib.grading.submissions import RejectedSubmission, read_notebook

STUDENT = "self-check"


def _exercise_texts(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """The verdict text the grader put under each graded cell."""
    texts = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            streams = [o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
            texts[meta.get("grade_id")] = streams[0] if streams else ""
    return texts


def check_notebook(root: Path, path: Path, assignment: Assignment | None = None, echo=print) -> dict:
    """Grade ``path``; returns ``{exercise: (score, max_score)}`` and prints the per-exercise report."""
    path = Path(path).resolve()
    assignment = assignment or assignment_for_notebook(path.stem)
    try:
        read_notebook(path)
    except RejectedSubmission as reason:
        raise CourseError(str(reason)) from None
    ensure_built(root, assignment, nbgrader_api(root), echo=echo)
    with tempfile.TemporaryDirectory(prefix="lstm-course-check-") as tmp:
        scratch = Path(tmp)
        shutil.copytree(root / "source" / assignment.name, scratch / "source" / assignment.name)
        submitted = scratch / "submitted" / STUDENT / assignment.name
        submitted.mkdir(parents=True)
        shutil.copyfile(path, submitted / f"{assignment.notebook}.ipynb")
        config = load_config(root)
        config.CourseDirectory.root = str(scratch)
        api = nbgrader_api(scratch, config)
        result = api.generate_assignment(assignment.name, force=True, create=True)
        if not result.get("success"):
            raise CourseError(f"could not prepare the hidden tests of {assignment.name}")
        outcome = autograde_submission(scratch, api, assignment, STUDENT, feedback=False)
        if outcome.status != "graded":
            raise CourseError(outcome.reason)
        graded = nbformat.read(scratch / "autograded" / STUDENT / assignment.name / f"{assignment.notebook}.ipynb",
                               as_version=4)
        texts = _exercise_texts(graded)
        scores = {}
        with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
            submission = gb.find_submission_notebook(assignment.notebook, assignment.name, STUDENT)
            for grade in submission.grades:
                scores[grade.name] = (grade.auto_score, grade.max_score)
    echo(f"{path.name} ({assignment.name}, {assignment.title}), checked against the hidden tests:\n")
    auto_total = sum(s or 0 for s, _ in scores.values() if s is not None)
    auto_max = sum(m for s, m in scores.values() if s is not None)
    for exercise, (score, max_score) in scores.items():
        if score is None:
            echo(f"{exercise}: {max_score:g} points, graded by your instructor (not checked here)\n")
            continue
        text = texts.get(exercise, "").rstrip()
        # only the failing checks' messages: what passed needs no explanation
        lines = text.splitlines()
        body = [line for line in lines[1:] if not line.lstrip().startswith("✓")]
        echo(f"{exercise}: {score:g} / {max_score:g}" + ("" if score < max_score else "  ✓"))
        for line in body:
            echo(line)
    echo(f"\nTotal: {auto_total:g} / {auto_max:g} automatically graded points")
    return scores


def main(args) -> int:
    assignment = get_assignment(args.assignment) if args.assignment else None
    check_notebook(args.course_dir, Path(args.notebook), assignment)
    return 0
