"""Every assignment of the registry, in-process (no kernel): its pieces fit together, the reference earns every
automatic point, and each sample mistake costs exactly the exercises it lists. A new assignment is covered by
adding its registry row.

Checks judged from a trained model or another value of the notebook's state (a request that reads it) cannot be
judged from the reference module alone: here they are left out (an exercise counts as lost when one of its other
checks fails), and the end-to-end tests grade them through real autograding (tests/grading/test_*_e2e.py). A
mistake made in a plain notebook cell changes no function: in-process it must cost nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_lib.assignments.registry import ASSIGNMENTS
from course_lib.grading.checks import load_suite
from course_lib.grading.course import CourseError
from course_lib.grading.hidden_tests import (
    auto_exercises, build_hidden_tests, function_checks, function_exercises, judge_namespace, reference_namespace,
    run_targets,
)

ROOT = Path(__file__).resolve().parents[2]
ALL = list(ASSIGNMENTS.values())
MISTAKES = [(a, m) for a in ALL for m in a.mistakes()]


def _lost(assignment, verdicts) -> set[str]:
    """The exercises with a failed check among those judged from functions alone."""
    return {e for e, v in verdicts.items()
            if any(not c.passed and c.check.id in function_checks(assignment, e) for c in v.checks)}


@pytest.fixture(scope="module")
def built() -> dict:
    """``{name: expected values}`` as the grader reads them (through JSON)."""
    out = {}
    for assignment in ALL:
        data = json.loads(json.dumps(build_hidden_tests(ROOT, assignment)))
        out[assignment.name] = data["notebooks"][assignment.notebook]["exercises"]
    return out


@pytest.mark.parametrize("assignment", ALL, ids=lambda a: a.name)
def test_the_pieces_of_an_assignment_fit_together(assignment):
    suite = load_suite(assignment.stem)
    exercises = auto_exercises(assignment.source_notebook(ROOT))
    assert exercises, "the notebook has no automatically graded cell"
    assert {c.exercise for c in suite.checks} == set(exercises)
    for exercise in exercises:
        assert suite.requests(exercise), exercise
        for check in suite.exercise_checks(exercise):
            assert check.request in suite.requests(exercise), check.id
    assert len({c.id for c in suite.checks}) == len(suite.checks), "check ids must be unique"
    assert assignment.demo_mistake in assignment.module("mistakes").MISTAKES
    assert (ROOT / "course_lib" / "solutions" / f"{assignment.stem}.py").is_file()


@pytest.mark.parametrize("assignment", ALL, ids=lambda a: a.name)
def test_the_reference_earns_every_automatic_point(assignment, built):
    points = auto_exercises(assignment.source_notebook(ROOT))
    verdicts = judge_namespace(ROOT, assignment, reference_namespace(assignment), built[assignment.name],
                               exercises=function_exercises(assignment, points))
    assert verdicts
    for exercise, verdict in verdicts.items():
        assert verdict.checks and exercise not in _lost(assignment, {exercise: verdict}), verdict.text()


@pytest.mark.parametrize("assignment, mistake", MISTAKES, ids=[f"{a.stem}-{m.name}" for a, m in MISTAKES])
def test_each_sample_mistake_costs_exactly_its_exercises(assignment, mistake, built):
    points = auto_exercises(assignment.source_notebook(ROOT))
    judged = function_exercises(assignment, points)
    verdicts = judge_namespace(ROOT, assignment, reference_namespace(assignment, mistake), built[assignment.name],
                               exercises=judged)
    lost = _lost(assignment, verdicts)
    assert set(mistake.costs) <= set(points), f"{mistake.name} lists exercises the notebook lacks"
    expected = set(mistake.costs) & set(judged) if mistake.function else set()
    assert lost == expected, (
        f"{mistake.name} ({mistake.description}) should cost {sorted(mistake.costs)}, cost {sorted(lost)}:\n"
        + "\n".join(verdicts[e].text() for e in lost | expected))


def test_a_target_that_raises_fails_the_build_loudly(monkeypatch, built):
    assignment = ASSIGNMENTS["01_lstm_gates"]
    target = load_suite(assignment.stem).target("own_gates")

    def broken(request, value_of, request_id):
        return target(request, value_of, request_id)[5]  # an instructor's IndexError

    broken.display = target.display
    monkeypatch.setattr(assignment.module("targets"), "own_gates", broken)
    with pytest.raises(CourseError, match="own-function target raised on the reference: IndexError"):
        run_targets(ROOT, assignment, built[assignment.name])


def test_a_target_that_raises_on_hostile_values_costs_nothing_else_and_is_logged(monkeypatch, built):
    from course_lib.grading.probe import evaluate_requests
    from course_lib.grading.verdicts import JudgeContext, judge_exercise

    assignment = ASSIGNMENTS["01_lstm_gates"]
    suite = load_suite(assignment.stem)

    def broken(request, value_of, request_id):
        raise ValueError("shapes do not fit")

    broken.display = "x"
    monkeypatch.setattr(assignment.module("targets"), "own_gates", broken)
    namespace = dict(reference_namespace(assignment))
    results = json.loads(json.dumps(evaluate_requests(namespace, suite.requests("lstm_cell_forward"), suite.ops)))
    context = JudgeContext()
    verdict = judge_exercise(suite, "lstm_cell_forward", 2, {"results": results},
                             built[assignment.name]["lstm_cell_forward"], context=context)
    assert verdict.points == 2  # the reference does not need the alternative
    namespace["lstm_cell_forward"] = lambda *a: (a[1] * 0 + 1, a[2], None)
    results = json.loads(json.dumps(evaluate_requests(namespace, suite.requests("lstm_cell_forward"), suite.ops)))
    verdict = judge_exercise(suite, "lstm_cell_forward", 2, {"results": results},
                             built[assignment.name]["lstm_cell_forward"], context=context)
    assert verdict.points == 0
    assert any("own_gates could not use the reported values (ValueError" in p for p in context.problems)
