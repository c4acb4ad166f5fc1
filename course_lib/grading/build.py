"""``lstm-course build [ASSIGNMENT...]``: data and hidden tests next to the source notebooks, then ``release/``.

Running it twice changes nothing: the hidden-test file is rewritten only when its content changes, and nbgrader's
generate_assignment produces the same release notebooks from the same sources.
"""
from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

from course_lib.grading.course import Assignment, CourseError, get_assignment, last_error_line, nbgrader_api, ASSIGNMENTS
from course_lib.grading.probe import PROTOCOL, evaluate_requests, load_suite
from course_lib.grading.verdicts import hidden_tests_path


def hidden_tests(assignment: Assignment) -> dict:
    """The reference's values for every request of the assignment's suite (what the grader compares with)."""
    suite = load_suite(assignment.suite)
    reference = vars(importlib.import_module(assignment.reference))
    exercises = {exercise: evaluate_requests(reference, suite.requests(exercise)) for exercise in suite.EXERCISES}
    broken = [f"{e}/{r}" for e, results in exercises.items() for r, v in results.items() if not v["ok"]]
    if broken:
        raise CourseError(f"the reference {assignment.reference} fails its own hidden tests: {', '.join(broken)}")
    return {"protocol": PROTOCOL, "assignment": assignment.name,
            "notebooks": {assignment.notebook: {"suite": assignment.suite, "exercises": exercises}}}


def write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def build_assignment(root: Path, assignment: Assignment, api=None, echo=print) -> None:
    source = root / "source" / assignment.name
    if not (source / f"{assignment.notebook}.ipynb").is_file():
        raise CourseError(f"{source / (assignment.notebook + '.ipynb')} is missing: is this the course checkout?")
    for builder in assignment.data_builders:
        builder(source)
    path = Path(hidden_tests_path(str(root / "source"), assignment.name))
    changed = write_if_changed(path, json.dumps(hidden_tests(assignment), sort_keys=True, indent=1) + "\n")
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

    if not Path(hidden_tests_path(str(root / "source"), assignment.name)).exists():
        return False
    if not (root / "release" / assignment.name / f"{assignment.notebook}.ipynb").exists():
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


def main(args) -> int:
    root = args.course_dir
    print(f"Building {', '.join(args.assignments) or 'all assignments'} in {root}")
    build(root, args.assignments or None)
    return 0
