"""The hidden tests' expected values, built from the reference solution into ``source/<NN_stem>/hidden/``.

``hidden/`` is the one never-released place of an assignment (excluded from nbgrader's release and from what a
kernel's work directory receives by one ignore rule in ``nbgrader_config.py``): the expected values, held-out data
and its labels. Building also checks that the assignment fits together: every auto-graded cell of the notebook
has requests and checks, the reference passes its own requests, and every own-function target runs on the
reference and on every sample mistake without raising.
"""
from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import nbformat

from course_lib.assignments.registry import Assignment
from course_lib.grading.checks import load_suite
from course_lib.grading.course import CourseError
from course_lib.grading.probe import evaluate_requests
from course_lib.grading.wire import PROTOCOL

HIDDEN_DIR = "hidden"
HIDDEN_TESTS_FILE = "hidden_tests.json"


class HiddenTestsError(RuntimeError):
    """The hidden-test data of an assignment is missing or does not match the notebook."""


def graded_cells(notebook_path: Path) -> dict[str, dict]:
    """``{grade_id: {"points", "manual"}}`` of a notebook's graded cells, in notebook order: the one place the
    exercise list and points are written."""
    notebook = nbformat.read(notebook_path, as_version=4)
    cells = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            cells[meta["grade_id"]] = {"points": float(meta.get("points", 0)),
                                       "manual": bool(meta.get("solution")) or cell.cell_type != "code"}
    return cells


def auto_exercises(notebook_path: Path) -> dict[str, float]:
    """``{grade_id: points}`` of the automatically graded exercises, in notebook order."""
    return {gid: cell["points"] for gid, cell in graded_cells(notebook_path).items() if not cell["manual"]}


def hidden_tests_path(hidden_dir: Path) -> Path:
    return Path(hidden_dir) / HIDDEN_TESTS_FILE


def reference_namespace(assignment: Assignment, mistake=None) -> dict:
    """The reference solution's functions, with ``mistake`` (a sample mistake) introduced when given."""
    module = importlib.import_module(assignment.reference)
    if mistake is None or not mistake.function:   # a mistake in a plain cell changes none of the functions
        return vars(module)
    source = inspect.getsource(module)
    if source.count(mistake.old) != 1:
        raise CourseError(f"sample mistake {mistake.name}: {mistake.old!r} must occur once in {assignment.reference}")
    namespace: dict = {"__name__": f"{assignment.reference}_with_{mistake.name}"}
    exec(compile(source.replace(mistake.old, mistake.new), f"<{mistake.name}>", "exec"), namespace)  # noqa: S102
    return namespace


def needs_notebook_state(request: dict) -> bool:
    """Whether a request reads what the notebook trained (a model, a History): it runs only in a kernel that ran
    the notebook, never on the reference module at build time, and its checks need no reference value."""
    return request.get("op") == "save_model" or request.get("notebook_state") is True


def without_notebook_state(requests: dict) -> dict:
    return {rid: request for rid, request in requests.items() if not needs_notebook_state(request)}


def function_exercises(assignment: Assignment, points: dict[str, float]) -> list[str]:
    """The auto-graded exercises with checks judged from functions alone (no trained model, no notebook state):
    those a module can be graded on in-process, without running the notebook (on those checks:
    :func:`function_checks`)."""
    suite = load_suite(assignment.stem)
    return [e for e in points if not all(needs_notebook_state(r) for r in suite.requests(e).values())]


def function_checks(assignment: Assignment, exercise: str) -> set[str]:
    """The ids of the checks of ``exercise`` whose requests run without the notebook's state."""
    suite = load_suite(assignment.stem)
    requests = suite.requests(exercise)
    return {c.id for c in suite.exercise_checks(exercise) if not needs_notebook_state(requests[c.request])}


def build_hidden_tests(root: Path, assignment: Assignment) -> dict:
    """The reference's values for every request of every auto-graded exercise (what the grader compares with)."""
    suite = load_suite(assignment.stem)
    exercises = auto_exercises(assignment.source_notebook(root))
    checked = {c.exercise for c in suite.checks}
    missing = [e for e in exercises if e not in checked]
    stray = sorted(checked - set(exercises))
    if missing or stray:
        raise CourseError(f"{assignment.name}: the notebook's auto-graded cells and the checks disagree "
                          f"(no checks for {missing or 'none'}; checks for cells the notebook lacks: {stray or 'none'})")
    reference = reference_namespace(assignment)
    values = {}
    for exercise in exercises:
        try:
            requests = suite.requests(exercise)
        except KeyError:
            raise CourseError(f"{assignment.name}: inputs.requests() has nothing for the exercise {exercise!r}") from None
        values[exercise] = evaluate_requests(reference, without_notebook_state(requests), suite.ops)
        # a value judged by a predicate, or an error judged by its class, is compared with nothing: keep its digest
        checks = suite.exercise_checks(exercise)
        uncompared = {c.request for c in checks if c.kind in ("property", "raises")} - {
            c.request for c in checks if c.kind not in ("property", "raises")}
        for request_id in uncompared & set(values[exercise]):
            values[exercise][request_id].pop("value", None)
    # a request marked "raises" (an input the function must refuse) is right when the reference raises on it
    broken = [f"{e}/{r}: {v.get('error', 'returned instead of raising')}" for e, results in values.items()
              for r, v in results.items() if v["ok"] == bool(suite.requests(e)[r].get("raises"))]
    if broken:
        raise CourseError(f"the reference {assignment.reference} fails its own hidden tests: {'; '.join(broken)}")
    return {"protocol": PROTOCOL, "assignment": assignment.name,
            "notebooks": {assignment.notebook: {"suite": assignment.stem, "exercises": values}}}


def judge_namespace(root: Path, assignment: Assignment, namespace: dict, expected: dict,
                    exercises: list[str] | None = None, strict: bool = False,
                    points: dict[str, float] | None = None) -> dict:
    """Grade the functions of ``namespace`` in this process, exactly as a kernel's report would be graded:
    ``{exercise: ExerciseVerdict}``. ``expected`` is the built ``{exercise: reference values}``; ``points``
    (``auto_exercises`` of the notebook) is read from the notebook when not given."""
    from course_lib.grading.verdicts import JudgeContext, judge_exercise

    suite = load_suite(assignment.stem)
    points = points or auto_exercises(assignment.source_notebook(root))
    judged = exercises or list(points)
    reported = {}
    for exercise in points:  # in notebook order, as a kernel reports them (a target may use earlier exercises)
        if exercise in judged or any(c.alternative for c in suite.checks):
            results = evaluate_requests(namespace, suite.requests(exercise), suite.ops)
            reported[exercise] = json.loads(json.dumps(results))  # through JSON, as the grader reads a report
    verdicts = {}
    for exercise in judged:
        verdicts[exercise] = judge_exercise(suite, exercise, points[exercise], {"results": reported[exercise]},
                                            expected.get(exercise, {}), context=JudgeContext(strict=strict),
                                            others=reported)
    return verdicts


def run_targets(root: Path, assignment: Assignment, expected: dict) -> None:
    """Run every own-function target on the reference and on every sample mistake; raise if one fails.

    Only the exercises with alternatives are evaluated (no trained model is needed for them).
    """
    suite = load_suite(assignment.stem)
    points = auto_exercises(assignment.source_notebook(root))  # read once, not once per sample mistake
    exercises = [e for e in points if any(c.alternative for c in suite.exercise_checks(e))]
    if not exercises:
        return
    subjects = {"the reference": None, **{f"the sample mistake {m.name}": m for m in assignment.mistakes()}}
    for who, mistake in subjects.items():
        try:
            judge_namespace(root, assignment, reference_namespace(assignment, mistake), expected, exercises,
                            strict=True, points=points)
        except CourseError:
            raise
        except Exception as error:  # noqa: BLE001 - re-raised with what the instructor must fix
            raise CourseError(f"{assignment.name}: an own-function target raised on {who}: "
                              f"{type(error).__name__}: {error}") from error


def load_hidden_tests(hidden_dir: Path, assignment: str) -> dict:
    path = hidden_tests_path(hidden_dir)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise HiddenTestsError(
            f"the hidden tests of {assignment} are not built ({path} is missing): run `lstm-course build {assignment}`"
        ) from None
    if data.get("protocol") != PROTOCOL:
        raise HiddenTestsError(f"{path} was built by another version: run `lstm-course build {assignment}`")
    return data
