"""A malformed report or notebook fails only what it touches, with a one-line reason (never a grader error)."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading.checks import load_suite
from course_lib.grading.hidden_tests import build_hidden_tests, reference_namespace
from course_lib.grading.probe import evaluate_requests
from course_lib.grading.sanitize import sanitize
from course_lib.grading.submissions import valid_unicode
from course_lib.grading.verdicts import judge_exercise
from course_lib.grading.wire import decode_value, encode_value

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = get_assignment("01_lstm_gates")


def _nested(depth: int) -> dict:
    value = encode_value(1.0)
    for _ in range(depth):
        value = {"__tuple__": [value]}
    return value


@pytest.mark.parametrize("bad, reason", [
    ({"__array__": "AAAAAAAAAAA=", "dtype": "float64", "shape": [10**30]}, "malformed array shape"),
    ({"__array__": "AAAAAAAAAAA=", "dtype": "float64", "shape": [10**6, 10**6]}, "larger than the grader reads"),
    ({"__array__": "AAAAAAAAAAA=", "dtype": "float64", "shape": ["1"]}, "malformed array shape"),
    (_nested(200), "nested more than"),
])
def test_malformed_values_raise_value_errors_with_a_reason(bad, reason):
    with pytest.raises(ValueError, match=reason):
        decode_value(json.loads(json.dumps(bad)))


def test_a_malformed_value_costs_only_the_checks_that_read_it():
    suite = load_suite(ASSIGNMENT.stem)
    expected = json.loads(json.dumps(build_hidden_tests(ROOT, ASSIGNMENT)))["notebooks"]["lstm_gates"]["exercises"]
    results = json.loads(json.dumps(evaluate_requests(reference_namespace(ASSIGNMENT), suite.requests("sigmoid"))))
    results["matrix"]["value"] = {"__array__": "AAAAAAAAAAA=", "dtype": "float64", "shape": [10**30]}
    results["grid"]["value"] = _nested(200)
    verdict = judge_exercise(suite, "sigmoid", 1, {"results": results}, expected["sigmoid"])
    passed = {v.check.id: v.passed for v in verdict.checks}
    assert passed == {"sigmoid/values": False, "sigmoid/no_overflow": False, "sigmoid/shape": False,
                      "sigmoid/points": True, "sigmoid/unchanged_inputs": False}, verdict.text()
    assert "malformed" in verdict.text() and "\n  ✗" in verdict.text()
    results = json.loads(json.dumps(evaluate_requests(reference_namespace(ASSIGNMENT), suite.requests("sigmoid"))))
    results["matrix"]["value"] = _nested(200)
    verdict = judge_exercise(suite, "sigmoid", 1, {"results": results}, expected["sigmoid"])
    passed = {v.check.id: v.passed for v in verdict.checks}
    assert passed == {"sigmoid/values": True, "sigmoid/no_overflow": True, "sigmoid/shape": False,
                      "sigmoid/points": True, "sigmoid/unchanged_inputs": False}, verdict.text()


def test_a_lone_surrogate_in_a_cell_is_replaced_and_the_notebook_can_be_written(tmp_path):
    release = nbformat.read(ASSIGNMENT.release_notebook(ROOT), as_version=4)
    submitted = nbformat.read(ASSIGNMENT.release_notebook(ROOT), as_version=4)
    submitted.cells.append(nbformat.v4.new_code_cell("label = 'caf\udce9'  # pasted from a broken file\nok = '\ud83d\ude00'"))
    clean, _ = sanitize(submitted, release)
    nbformat.write(clean, tmp_path / "clean.ipynb")  # no UnicodeEncodeError
    source = clean.cells[-1].source
    assert "caf\ufffd" in source and "\U0001F600" in source
    assert valid_unicode("plain") == "plain"
