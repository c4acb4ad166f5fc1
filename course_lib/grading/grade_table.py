"""The grade table (CSV) and its summary on the terminal, for ``lstm-course report`` and the demo.

Scores come from nbgrader's gradebook; the status and reason of each submission (graded, rejected, failed) come
from the grading log, so a student whose file could not be graded still appears, with why.
"""
from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from course_lib.grading.course import nbgrader_api
from course_lib.grading.outcomes import read_log

BASE_COLUMNS = ["student", "assignment", "status", "score", "max_score", "needs_manual_grade"]


def grade_rows(root: Path) -> tuple[list[dict], list[str]]:
    """One row per (student, assignment) known to the gradebook or the grading log, and the exercise columns."""
    api = nbgrader_api(root)
    log = read_log(root)
    rows: dict[tuple[str, str], dict] = {}
    exercises: list[str] = []
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        for assignment in gb.assignments:
            for notebook in assignment.notebooks:
                for cell in notebook.grade_cells:
                    column = cell.name if len(assignment.notebooks) == 1 else f"{notebook.name}:{cell.name}"
                    exercises.append(f"{assignment.name}:{column}")
            for student in gb.students:
                try:
                    submission = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    continue
                row = {"student": student.id, "assignment": assignment.name, "status": "graded",
                       "score": round(submission.score, 2), "max_score": submission.max_score,
                       "needs_manual_grade": submission.needs_manual_grade, "reason": ""}
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        column = grade.name if len(submission.notebooks) == 1 else f"{notebook.name}:{grade.name}"
                        row[f"{assignment.name}:{column}"] = "" if grade.score is None else round(grade.score, 2)
                rows[(student.id, assignment.name)] = row
    for key, entry in log.items():
        ident = (entry.get("student", ""), entry.get("assignment", ""))
        row = rows.setdefault(ident, {"student": ident[0], "assignment": ident[1], "score": 0,
                                      "max_score": entry.get("max_score", 0), "needs_manual_grade": False})
        row["status"] = entry.get("status", "graded")
        row["reason"] = entry.get("reason", "")
        if row["status"] != "graded":
            # a submission that could not be graded this time earns nothing, whatever an older run recorded
            row["score"] = 0
    ordered = sorted(rows.values(), key=lambda r: (r["assignment"], r["student"]))
    return ordered, exercises


def write_csv(rows: list[dict], exercises: list[str], path: Path) -> None:
    columns = BASE_COLUMNS + exercises + ["reason"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


def summary(rows: list[dict]) -> str:
    if not rows:
        return "No grades yet: run `lstm-course autograde` first."
    lines = [f"{'student':<22}{'assignment':<17}{'score':>13}  status"]
    for row in rows:
        score = f"{row['score']:g} / {row['max_score']:g}" if row.get("max_score") else "-"
        status = row.get("status", "graded")
        if row.get("needs_manual_grade") and status == "graded":
            status = "graded, manual grading pending"
        if row.get("reason"):
            status += f": {row['reason']}"
        lines.append(f"{row['student']:<22}{row['assignment']:<17}{score:>13}  {status}")
    graded = [r for r in rows if r.get("status") == "graded" and r.get("max_score")]
    for name in sorted({r["assignment"] for r in graded}):
        scores = [r["score"] / r["max_score"] for r in graded if r["assignment"] == name]
        lines.append(f"{name}: {len(scores)} graded, mean {100 * sum(scores) / len(scores):.0f}% of the points")
    return "\n".join(lines)


def report(root: Path, output: Path | None = None, echo=print) -> list[dict]:
    rows, exercises = grade_rows(root)
    path = output or root / "grades.csv"
    write_csv(rows, exercises, path)
    echo(summary(rows))
    echo(f"Grade table: {path}")
    return rows
