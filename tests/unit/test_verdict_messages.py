"""What a failing check says: which call raised (function and argument shapes), whether an earlier function is to
blame (then the exercise "could not be judged"), whether the grader itself failed ("could not be checked", logged,
not the student's fault), and a hint chosen for the kind of failure."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading.checks import load_suite
from course_lib.grading.hidden_tests import build_hidden_tests, judge_namespace, reference_namespace
from course_lib.grading.probe import evaluate_requests
from course_lib.grading.verdicts import JudgeContext, judge_exercise, unwrapped
from tests.fairness.variants import VARIANTS, namespace_for

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = get_assignment("01_lstm_gates")
SUITE = load_suite(ASSIGNMENT.stem)
BY_NAME = {v.name: v for v in VARIANTS}


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(json.dumps(build_hidden_tests(ROOT, ASSIGNMENT)))["notebooks"][ASSIGNMENT.notebook]["exercises"]


def _texts(variant: str, expected: dict) -> dict[str, str]:
    verdicts = judge_namespace(ROOT, ASSIGNMENT, namespace_for(BY_NAME[variant]), expected)
    return {exercise: unwrapped(verdict.text()) for exercise, verdict in verdicts.items()}


def test_an_error_names_the_call_that_raised_with_its_argument_shapes(expected):
    text = _texts("forward_h0_or_zeros", expected)["lstm_forward"]
    assert "lstm_forward(x (2, 4, 3), kernel (3, 16), recurrent_kernel (4, 16), bias (16,), h0 (2, 4), c0 (2, 4)) " \
           "raised ValueError: The truth value of an array" in text, text
    assert "all 6 checks" not in text and "Hint: loop over the T time steps" in text


def test_an_exercise_that_cannot_be_judged_says_which_earlier_function_to_fix(expected):
    texts = _texts("forget_gate_swaps_W_and_U", expected)
    for exercise in ("lstm_cell_forward", "lstm_cell_backward"):
        assert "could not be judged: your forget_gate raised ValueError" in texts[exercise], texts[exercise]
        assert "fix forget_gate first" in texts[exercise]
        assert "Hint: kernel columns" not in texts[exercise], "no hint about this exercise's own code"


def test_a_modified_input_is_named_in_the_exercise_that_modified_it(expected):
    texts = _texts("cell_updates_c_prev_in_place", expected)
    assert "✗ lstm_cell_forward leaves its arguments unchanged: lstm_cell_forward modified its argument(s) c_prev" \
        in texts["lstm_cell_forward"], texts["lstm_cell_forward"]
    assert "Hint: work on copies" in texts["lstm_cell_forward"]
    assert "✗" not in texts["lstm_cell_backward"], texts["lstm_cell_backward"]


def test_a_list_where_an_array_is_asked_is_said_so(expected):
    text = _texts("output_gate_returns_list", expected)["output_gate"]
    assert "o_t is a list, expected a NumPy array of shape (3, 5)" in text, text


def test_numerical_differentiation_is_named_and_earns_nothing(expected):
    text = _texts("cell_backward_finite_differences", expected)["lstm_cell_backward"]
    assert "lstm_cell_backward: 0 / 3 points" in text
    assert "numerical differentiation, which earns no points" in text or "precision of a numerical derivative" in text
    assert "Hint: derive the gradients by the chain rule" in text


def test_a_grader_side_failure_is_could_not_be_checked_logged_and_costs_nothing_else(expected):
    results = json.loads(json.dumps(evaluate_requests(reference_namespace(ASSIGNMENT), SUITE.requests("sigmoid"))))
    results["matrix"] = {"ok": False, "error": "KeyError: 'z'", "grader_error": True,
                         "args_digest": results["matrix"]["args_digest"]}
    context = JudgeContext()
    verdict = judge_exercise(SUITE, "sigmoid", 1.0, {"results": results}, expected["sigmoid"], context=context)
    passed = {v.check.id: v.passed for v in verdict.checks}
    assert passed["sigmoid/values"] and passed["sigmoid/points"] and not passed["sigmoid/shape"], verdict.text()
    assert "could not be checked: the grader's own step failed (KeyError: 'z'); this is not your code's fault" \
        in unwrapped(verdict.text())
    assert "raised" not in verdict.text().split("could not be checked")[0].splitlines()[-1]
    assert any("the grader's own step failed" in p for p in context.problems)


def test_the_probe_tells_its_own_failure_from_the_students():
    from course_lib.grading.probe import evaluate_request

    def broken_cell(*args):
        raise ValueError("mine")

    namespace = {"lstm_cell_forward": broken_cell}
    theirs = evaluate_request(namespace, {"op": "call", "function": "lstm_cell_forward", "args": []})
    assert theirs["raised_in"] == "lstm_cell_forward" and "grader_error" not in theirs
    ours = evaluate_request({"f": lambda: (1, 2, 3)}, {"op": "call", "function": "f", "args": [], "keep": [0]})
    assert ours["grader_error"] is True and "arity" in ours["error"], ours   # a request the course got wrong
