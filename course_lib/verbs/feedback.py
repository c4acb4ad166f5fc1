"""``lstm-course feedback [ASSIGNMENT] [--student ID...]``: feedback pages made again from the gradebook.

``lstm-course autograde`` writes each student's feedback as it grades; hand grading in Formgrader comes later and
changes the scores, so run this after hand grading and before ``nbgrader release_feedback``: every graded student's
``feedback/<student>/<assignment>/`` then shows the final score, and holds the ``timestamp.txt`` and
``submission_secret.txt`` that ``release_feedback`` and the student's *Fetch Feedback* need.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from course_lib.assignments.registry import ASSIGNMENTS, get_assignment
from course_lib.grading.commit import nbgrader_files
from course_lib.grading.course import last_error_line, load_config, nbgrader_api


def regenerate(root: Path, assignment: str | None = None, students: list[str] | None = None,
               echo=print) -> dict[tuple[str, str], str]:
    """Make the feedback of every graded submission again: ``{(assignment, student): "" or why not}``."""
    names = [get_assignment(assignment).name] if assignment else list(ASSIGNMENTS)
    api = nbgrader_api(root, load_config(root))
    results = {}
    for name in names:
        notebook = get_assignment(name).notebook
        graded = sorted(p.parent.parent.name for p in (root / "autograded").glob(f"*/{name}/{notebook}.ipynb"))
        for student in [s for s in graded if not students or s in students]:
            folder = root / "feedback" / student / name
            with tempfile.TemporaryDirectory(prefix="lstm-course-feedback-") as kept:
                if folder.is_dir():   # nbgrader deletes the old page before it writes the new one
                    shutil.copytree(folder, Path(kept) / "page")
                made = api.generate_feedback(name, student, force=True)
                if not made.get("success"):
                    results[(name, student)] = last_error_line(made)
                    if (Path(kept) / "page").is_dir() and not folder.exists():
                        shutil.copytree(Path(kept) / "page", folder)   # the feedback already given stays
                    continue
            for file_name, text in nbgrader_files(root, name, student).items():
                (folder / file_name).write_text(text, encoding="ascii")
            for stray in (p for p in folder.iterdir() if p.suffix == ".ipynb"):
                stray.unlink()   # nbgrader copies the graded notebook along; students get the page only
            results[(name, student)] = ""
    for (name, student), problem in results.items():
        echo(f"  {name} {student}: {'feedback/' + student + '/' + name + '/' if not problem else problem}")
    if not results:
        echo("no graded submissions: run `lstm-course autograde` first")
    return results


def main(args) -> int:
    results = regenerate(args.course_dir, args.assignment, args.student)
    return 1 if any(results.values()) else 0
