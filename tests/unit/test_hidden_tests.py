"""The hidden tests of assignment 01, judged in-process (no kernel): probe → report → verdicts.

What every assignment must satisfy (reference, sample mistakes) is in test_assignments.py; these are 01's own
cases: correct code written other ways, and values that try to pass for right.

The same code paths run when a notebook is autograded; here the "student" is a namespace built from the reference
solution with one mistake introduced, or written another (correct) way.
"""
from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

from pathlib import Path

from course_lib.assignments.registry import get_assignment
from course_lib.grading.hidden_tests import auto_exercises, build_hidden_tests, judge_namespace
from course_lib.grading.probe import REPORT_MIME
from course_lib.grading.verdicts import find_report
from course_lib.grading.wire import PROTOCOL, Unsupported, decode_value, encode_value
from course_lib.solutions import lstm_gates as lstm_numpy

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = get_assignment("lstm_gates")
POINTS = auto_exercises(ASSIGNMENT.source_notebook(ROOT))
MISTAKES = ASSIGNMENT.module("mistakes").MISTAKES


@pytest.fixture(scope="module")
def expected() -> dict:
    # through JSON, exactly as the grader reads it from hidden/hidden_tests.json
    data = json.loads(json.dumps(build_hidden_tests(ROOT, ASSIGNMENT)))
    return data["notebooks"]["lstm_gates"]["exercises"]


def namespace_from_source(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<student>", "exec"), namespace)  # noqa: S102 - test fixture code
    return namespace


def grade(namespace: dict, expected: dict) -> dict:
    return judge_namespace(ROOT, ASSIGNMENT, namespace, expected)


def test_the_exercise_list_is_the_notebooks(expected):
    assert list(POINTS) == ["sigmoid", "forget_gate", "input_gate", "candidate_cell", "output_gate",
                            "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]
    assert sum(POINTS.values()) == 15


def test_failure_messages_say_what_shape_and_which_values(expected):
    source = inspect.getsource(lstm_numpy)
    verdicts = grade(namespace_from_source(source.replace(MISTAKES["sigmoid_candidate"].old, MISTAKES["sigmoid_candidate"].new)),
                     expected)
    text = verdicts["candidate_cell"].text()
    assert "candidate_cell" in text and "expected" in text and "got" in text and "tanh" in text, text
    # a wrong shape is named as such
    namespace = dict(vars(lstm_numpy), forget_gate=lambda x, h, W, U, b: lstm_numpy.forget_gate(x, h, W, U, b).T)
    text = grade(namespace, expected)["forget_gate"].text()
    assert "has shape (5, 3), expected (3, 5)" in text, text


def test_correct_code_written_another_way_gets_full_marks(expected):
    # concatenated [x, h] weights, einsum, and a tuple cache instead of a dict
    other = """
import numpy as np

def sigmoid(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out

def _gate(x, h, W, U, b, f):
    return f(np.concatenate([x, h], axis=1) @ np.concatenate([W, U], axis=0) + b)

def forget_gate(x_t, h_prev, W_f, U_f, b_f): return _gate(x_t, h_prev, W_f, U_f, b_f, sigmoid)
def input_gate(x_t, h_prev, W_i, U_i, b_i): return _gate(x_t, h_prev, W_i, U_i, b_i, sigmoid)
def candidate_cell(x_t, h_prev, W_c, U_c, b_c): return _gate(x_t, h_prev, W_c, U_c, b_c, np.tanh)
def output_gate(x_t, h_prev, W_o, U_o, b_o): return _gate(x_t, h_prev, W_o, U_o, b_o, sigmoid)

def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    z = np.einsum("bd,dk->bk", x_t, kernel) + np.einsum("bu,uk->bk", h_prev, recurrent_kernel) + bias
    n = h_prev.shape[1]
    i, f, g, o = sigmoid(z[:, :n]), sigmoid(z[:, n:2*n]), np.tanh(z[:, 2*n:3*n]), sigmoid(z[:, 3*n:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x_t, h_prev, c_prev, kernel, recurrent_kernel, i, f, g, o, c)

def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
    n = recurrent_kernel.shape[0]
    h = np.zeros((x.shape[0], n)) if h0 is None else h0
    c = np.zeros((x.shape[0], n)) if c0 is None else c0
    hs, caches = [], []
    for t in range(x.shape[1]):
        h, c, cache = lstm_cell_forward(x[:, t], h, c, kernel, recurrent_kernel, bias)
        hs.append(h); caches.append(cache)
    return np.stack(hs, 1), h, c, caches

def lstm_cell_backward(dh_t, dc_t, cache):
    x, h_prev, c_prev, K, R, i, f, g, o, c = cache
    tc = np.tanh(c)
    dc = dc_t + dh_t * o * (1 - tc ** 2)
    dz = np.hstack([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g ** 2), dh_t * tc * o * (1 - o)])
    return dict(dx_t=dz @ K.T, dh_prev=dz @ R.T, dc_prev=dc * f, dkernel=x.T @ dz,
                drecurrent_kernel=h_prev.T @ dz, dbias=dz.sum(0))

def lstm_backward(dh_seq, caches):
    grads = None
    dh, dc = np.zeros_like(dh_seq[:, 0]), np.zeros_like(dh_seq[:, 0])
    dxs = []
    for t in range(dh_seq.shape[1] - 1, -1, -1):
        step = lstm_cell_backward(dh_seq[:, t] + dh, dc, caches[t])
        dh, dc = step["dh_prev"], step["dc_prev"]
        dxs.insert(0, step["dx_t"])
        if grads is None:
            grads = {k: step[k].copy() for k in ("dkernel", "drecurrent_kernel", "dbias")}
        else:
            for k in grads:
                grads[k] += step[k]
    return dict(dx=np.stack(dxs, 1), dh0=dh, dc0=dc, **grads)
"""
    verdicts = grade(namespace_from_source(other), expected)
    for exercise, verdict in verdicts.items():
        assert verdict.points == POINTS[exercise], verdict.text()


def test_naive_sigmoid_loses_only_the_overflow_check(expected):
    namespace = dict(vars(lstm_numpy), sigmoid=lambda z: 1 / (1 + np.exp(-np.asarray(z, dtype=float))))
    verdict = grade(namespace, expected)["sigmoid"]
    failed = [v.check.id for v in verdict.checks if not v.passed]
    assert failed == ["sigmoid/no_overflow"], verdict.text()
    assert 0 < verdict.points < 1


def test_values_that_pretend_to_be_anything_are_not_numbers(expected):
    class EqualsEverything:
        def __eq__(self, other):
            return True

        __array_priority__ = 1000

    namespace = dict(vars(lstm_numpy), forget_gate=lambda *a: EqualsEverything())
    verdict = grade(namespace, expected)["forget_gate"]
    assert verdict.points == 0, verdict.text()
    assert isinstance(decode_value(encode_value(EqualsEverything())), Unsupported)


def test_a_function_that_raises_or_is_missing_scores_zero_with_its_error(expected):
    namespace = dict(vars(lstm_numpy))
    del namespace["input_gate"]
    namespace["output_gate"] = lambda *a: 1 / 0
    verdicts = grade(namespace, expected)
    assert verdicts["input_gate"].points == 0 and "`input_gate` is not defined" in verdicts["input_gate"].text()
    assert verdicts["output_gate"].points == 0 and "ZeroDivisionError" in verdicts["output_gate"].text()
    missing = [c for c in verdicts["input_gate"].checks if not c.passed]
    assert missing and all(c.kind == "undefined" for c in missing if "not defined" in c.message), missing
    assert "grader's own step" not in verdicts["input_gate"].text(), "a missing function is not the grader's fault"


def test_wire_format_round_trips_and_rejects_malformed_arrays():
    value = (np.arange(6.0).reshape(2, 3), {"a": np.float32(1.5)}, [1, 2, 3])
    decoded = decode_value(json.loads(json.dumps(encode_value(value))))
    np.testing.assert_array_equal(decoded[0], value[0])
    assert decoded[1]["a"] == 1.5 and decoded[1]["a"].original_dtype == "float32"
    np.testing.assert_array_equal(decoded[2], [1, 2, 3])
    bad = encode_value(np.zeros(4))
    bad["shape"] = [1000, 1000]
    with pytest.raises(ValueError, match="does not match its shape"):
        decode_value(bad)


def test_report_is_read_only_from_its_own_cell_and_only_once():
    payload = {"protocol": PROTOCOL, "suite": "lstm_gates", "exercise": "sigmoid", "results": {}}
    output = {"output_type": "display_data", "data": {REPORT_MIME: payload}, "metadata": {}}
    assert find_report({"outputs": [output]}, "lstm_gates", "sigmoid") == (payload, "")
    _, problem = find_report({"outputs": [output, output]}, "lstm_gates", "sigmoid")
    assert "more than one" in problem
    _, problem = find_report({"outputs": [output]}, "lstm_gates", "input_gate")
    assert "does not belong" in problem


def test_graded_notebooks_keep_no_script_outputs():
    from course_lib.grading.verdicts import _keep_inert_outputs

    cell = {"outputs": [
        {"output_type": "display_data", "data": {"text/html": "<script>fetch('/api')</script>",
                                                 "application/javascript": "alert(1)"}, "metadata": {}},
        {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/html": "<img onerror=x>"},
         "metadata": {"isolated": True}},
        {"output_type": "stream", "name": "stdout", "text": "hello"},
    ]}
    _keep_inert_outputs(cell)
    first, second, third = cell["outputs"]
    assert set(first["data"]) == {"text/plain"} and "not shown" in first["data"]["text/plain"]
    assert second["data"] == {"image/png": "iVBOR"} and second["metadata"] == {}
    assert third["text"] == "hello"


def test_functions_that_compute_nothing_earn_nothing(expected):
    """Zeros of the right shapes everywhere are 'consistent' with each other; no own-function target may vouch."""
    def zeros_like_reference(name):
        def function(*args, **kwargs):
            result = getattr(lstm_numpy, name)(*args, **kwargs)
            if isinstance(result, dict):
                return {k: np.zeros_like(v) for k, v in result.items()}
            if isinstance(result, tuple):
                return tuple(np.zeros_like(v) if isinstance(v, np.ndarray) else v for v in result)
            return np.zeros_like(result)
        return function

    namespace = {name: zeros_like_reference(name) for name in POINTS}
    verdicts = grade(namespace, expected)
    assert sum(v.points for v in verdicts.values()) == 0, "\n".join(v.text() for v in verdicts.values())


def test_a_backward_that_consumes_its_caches_gets_full_marks(expected):
    """Correct code that pops from the caches list, or writes into a cache, must not fail the probe's own later
    steps (the numerical gradient, the cell-backward basis): every call gets pristine copies."""
    def lstm_backward(dh_seq, caches):
        grads, dh, dc, dxs = None, np.zeros_like(dh_seq[:, 0]), np.zeros_like(dh_seq[:, 0]), []
        for t in range(dh_seq.shape[1] - 1, -1, -1):
            step = lstm_numpy.lstm_cell_backward(dh_seq[:, t] + dh, dc, caches.pop())
            dh, dc = step["dh_prev"], step["dc_prev"]
            dxs.insert(0, step["dx_t"])
            grads = {k: step[k] + (grads[k] if grads else 0) for k in ("dkernel", "drecurrent_kernel", "dbias")}
        return dict(dx=np.stack(dxs, 1), dh0=dh, dc0=dc, **grads)

    def lstm_cell_backward(dh_t, dc_t, cache):
        grads = lstm_numpy.lstm_cell_backward(dh_t, dc_t, cache)
        cache.clear()  # a cache used once, then thrown away
        return grads

    namespace = dict(vars(lstm_numpy), lstm_backward=lstm_backward)
    verdicts = grade(namespace, expected)
    assert verdicts["lstm_backward"].points == POINTS["lstm_backward"], verdicts["lstm_backward"].text()
    namespace = dict(vars(lstm_numpy), lstm_cell_backward=lstm_cell_backward)
    verdicts = grade(namespace, expected)
    for exercise in ("lstm_cell_backward", "lstm_backward"):
        assert verdicts[exercise].points == POINTS[exercise], verdicts[exercise].text()
