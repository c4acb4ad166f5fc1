"""Reports forged by a kernel that writes no working code: values made consistent with each other, aimed at each
own-function alternative. Each earns nothing, because every alternative also asks for the work its exercise is
about (see ``course_lib/assignments/lstm_gates/targets.py``); the same values computed honestly earn the points."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from course_lib.assignments.lstm_gates.inputs import GATES, block
from course_lib.assignments.registry import get_assignment
from course_lib.grading.checks import load_suite
from course_lib.grading.hidden_tests import build_hidden_tests, reference_namespace
from course_lib.grading.probe import evaluate_requests
from course_lib.grading.verdicts import judge_exercise
from course_lib.grading.wire import digest_args, encode_value

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = get_assignment("01_lstm_gates")
SUITE = load_suite(ASSIGNMENT.stem)
RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(json.dumps(build_hidden_tests(ROOT, ASSIGNMENT)))["notebooks"][ASSIGNMENT.notebook]["exercises"]


def _honest(exercise: str) -> dict:
    return json.loads(json.dumps(evaluate_requests(reference_namespace(ASSIGNMENT), SUITE.requests(exercise),
                                                   SUITE.ops)))


def _forged(request: dict, value, extra: dict | None = None) -> dict:
    entry = {"ok": True, "value": encode_value(value), "args_digest": digest_args(request.get("args", []))}
    if extra is not None:
        entry["extra"] = encode_value(extra)
    return json.loads(json.dumps(entry))


def _points(exercise: str, results: dict, expected: dict, others: dict | None = None) -> float:
    verdict = judge_exercise(SUITE, exercise, 1.0, {"results": results}, expected[exercise], others=others)
    return verdict.points


def test_gate_values_taken_from_the_sigmoid_points_without_the_pre_activation_earn_nothing(expected):
    sigmoid = _honest("sigmoid")
    points = SUITE.requests("sigmoid")["points"]["args"][0]
    fake = {r: _forged(q, 1 / (1 + np.exp(-points[:q["args"][0].shape[0] * q["args"][3].shape[0]].reshape(
        q["args"][0].shape[0], -1)))) for r, q in SUITE.requests("forget_gate").items()}
    assert _points("forget_gate", fake, expected, {"sigmoid": sigmoid}) == 0
    # the honest computation through the same (correct) sigmoid values earns the points
    honest = _honest("forget_gate")
    assert _points("forget_gate", honest, expected, {"sigmoid": sigmoid}) == 1


def _combine(gates: dict, c_prev):
    c = gates["forget_gate"] * c_prev + gates["input_gate"] * gates["candidate_cell"]
    return gates["output_gate"] * np.tanh(c), c


def test_a_cell_combining_gate_records_with_uncut_blocks_earns_nothing(expected):
    results = {}
    for rid, request in SUITE.requests("lstm_cell_forward").items():
        x, h, c_prev, kernel, recurrent, bias = request["args"]
        units = h.shape[1]
        gates = {g: RNG.uniform(0.1, 0.9, h.shape) for g in GATES}
        # every gate "called" with the first block: the blocks were never cut
        calls = [{"function": g, "args": [x, h, kernel[:, :units], recurrent[:, :units], bias[:units]],
                  "value": gates[g]} for g in GATES]
        results[rid] = _forged(request, _combine(gates, c_prev), {"calls": calls, "cache_unchanged": 1.0})
    assert _points("lstm_cell_forward", results, expected) == 0
    # the same made-up gate values, with the blocks cut right: the cell's work is done, and it is credited
    for rid, request in SUITE.requests("lstm_cell_forward").items():
        x, h, c_prev, kernel, recurrent, bias = request["args"]
        gates = {g: RNG.uniform(0.1, 0.9, h.shape) for g in GATES}
        calls = [{"function": g, "args": [x, h, block(kernel, g), block(recurrent, g), block(bias, g)],
                  "value": gates[g]} for g in GATES]
        results[rid] = _forged(request, _combine(gates, c_prev), {"calls": calls, "cache_unchanged": 1.0})
    assert _points("lstm_cell_forward", results, expected) == 1


def test_a_loop_whose_recorded_cell_calls_were_never_given_the_steps_inputs_earns_nothing(expected):
    results = {}
    for rid, request in SUITE.requests("lstm_forward").items():
        x, kernel, recurrent, bias = request["args"][:4]
        h0, c0 = request["state"]
        steps = x.shape[1]
        outputs = [(RNG.standard_normal(h0.shape), RNG.standard_normal(c0.shape)) for _ in range(steps)]
        # every step "called" with zeros for x_t and the initial state: nothing sliced, nothing carried
        calls = [{"function": "lstm_cell_forward", "args": [np.zeros_like(x[:, t]), h0, c0, kernel, recurrent, bias],
                  "value": outputs[t]} for t in range(steps)]
        h_seq = np.stack([o[0] for o in outputs], axis=1)
        results[rid] = _forged(request, (h_seq, outputs[-1][0], outputs[-1][1]),
                               {"calls": calls, "caches": np.full(steps, 2.0), "caches_returned": float(steps)})
    assert _points("lstm_forward", results, expected) == 0


def test_backward_values_made_up_without_a_backward_pass_earn_nothing(expected):
    honest = _honest("lstm_cell_backward")
    results = {}
    for rid, request in SUITE.requests("lstm_cell_backward").items():
        entry = dict(honest[rid])
        grads = json.loads(json.dumps(encode_value({k: RNG.standard_normal(np.shape(v)) for k, v in
                                                    evaluate_requests(reference_namespace(ASSIGNMENT),
                                                                      {rid: request}, SUITE.ops)[rid]
                                                    and _decode_shapes(honest[rid]).items()})))
        entry["value"] = grads
        results[rid] = entry
    assert _points("lstm_cell_backward", results, expected) == 0
    forged = _honest("lstm_backward")
    for rid in forged:
        if rid.endswith("/standin"):
            forged[rid]["value"] = json.loads(json.dumps(encode_value(
                {k: np.zeros_like(v) for k, v in _decode_shapes(forged[rid]).items()})))
    forged["gradients"] = forged["batch1_T1"] = {"ok": False, "error": "NotImplementedError"}
    assert _points("lstm_backward", forged, expected) == 0


def _decode_shapes(entry: dict) -> dict:
    from course_lib.grading.wire import decode_value
    return {k: np.asarray(v) for k, v in decode_value(entry["value"]).items()}
