"""Building an assignment: its data and hidden tests into ``source/<NN_stem>/`` (released data) and
``source/<NN_stem>/hidden/`` (never released), then ``release/`` with nbgrader's generate_assignment.

Running it twice changes nothing: a built file is rewritten only when its content changes, and nbgrader produces
the same release notebooks from the same sources.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from course_lib.assignments.registry import ASSIGNMENTS, Assignment, get_assignment
from course_lib.grading.course import CourseError, last_error_line, nbgrader_api
from course_lib.grading.hidden_tests import build_hidden_tests, hidden_tests_path, run_targets


def write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def build_assignment(root: Path, assignment: Assignment, api=None, echo=print) -> None:
    source, hidden = assignment.source_dir(root), assignment.hidden_dir(root)
    if not assignment.source_notebook(root).is_file():
        raise CourseError(f"{assignment.source_notebook(root)} is missing: is this the course checkout?")
    hidden.mkdir(exist_ok=True)
    if assignment.has_module("data"):
        assignment.module("data").build(source, hidden)
    expected = build_hidden_tests(root, assignment)
    run_targets(root, assignment, expected["notebooks"][assignment.notebook]["exercises"])
    path = hidden_tests_path(hidden)
    changed = write_if_changed(path, json.dumps(expected, sort_keys=True, indent=1) + "\n")
    echo(f"  {assignment.name}: hidden tests {'written to' if changed else 'up to date in'} {path.relative_to(root)}")
    api = api or nbgrader_api(root)
    result = api.generate_assignment(assignment.name, force=True, create=True)
    if not result.get("success"):
        raise CourseError(f"nbgrader could not generate {assignment.name}: {last_error_line(result)}")
    echo(f"  {assignment.name}: release/{assignment.name}/ regenerated from source/{assignment.name}/")


def build(root: Path, names: list[str] | None = None, echo=print) -> list[Assignment]:
    assignments = [get_assignment(n) for n in names] if names else list(ASSIGNMENTS.values())
    api = nbgrader_api(root)
    for assignment in assignments:
        build_assignment(root, assignment, api=api, echo=echo)
    return assignments


def is_built(root: Path, assignment: Assignment, api) -> bool:
    """Hidden tests, release notebook and gradebook entry all present."""
    from nbgrader.api import Gradebook, MissingEntry

    if not hidden_tests_path(assignment.hidden_dir(root)).exists():
        return False
    if not assignment.release_notebook(root).exists():
        return False
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        try:
            gb.find_assignment(assignment.name)
        except MissingEntry:
            return False
    return True


def ensure_built(root: Path, assignment: Assignment, api, echo=print) -> None:
    """Build the assignment if a fresh checkout has not been built yet."""
    if not is_built(root, assignment, api):
        echo(f"  {assignment.name} is not built yet: building it")
        build_assignment(root, assignment, api=api, echo=echo)
