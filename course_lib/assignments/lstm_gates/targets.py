"""Own-function targets of assignment 01: what an answer should be given the values the student's own other
functions reported, so that a mistake is charged once, in the exercise where it is made.

Grader side only: these may use the reference solution, which the student's kernel cannot import.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.grading.checks import own_target
from course_lib.solutions import lstm_gates as reference

GATE_KEYS = {"input_gate": "i", "forget_gate": "f", "candidate_cell": "g", "output_gate": "o"}
Decoder = Callable[[str], Any]


def _gates(value_of: Decoder, prefix: str) -> dict[str, np.ndarray] | None:
    gates = {}
    for gate, key in GATE_KEYS.items():
        value = value_of(f"{prefix}/{gate}")
        if not isinstance(value, np.ndarray):
            return None
        gates[key] = np.asarray(value)
    return gates


@own_target("your own sigmoid")
def own_sigmoid(request: dict, value_of: Decoder, request_id: str) -> tuple | None:
    """The gate through the student's own sigmoid: a sigmoid bug is charged to sigmoid only."""
    value = value_of(f"{request_id}/own_sigmoid")
    return (value,) if isinstance(value, np.ndarray) else None


@own_target("your own gate functions")
def own_gates(request: dict, value_of: Decoder, request_id: str) -> tuple | None:
    """(h_t, c_t) that the student's gate functions give when combined correctly."""
    gates = _gates(value_of, request_id)
    if gates is None:
        return None
    c_prev = np.asarray(request["args"][2], dtype=np.float64)
    c_t = gates["f"] * c_prev + gates["i"] * gates["g"]
    return gates["o"] * np.tanh(c_t), c_t


@own_target("your own lstm_cell_forward")
def own_cell(request: dict, value_of: Decoder, request_id: str) -> tuple | None:
    """(h_seq, h_T, c_T) of the student's own cell unrolled correctly over the sequence."""
    value = value_of(f"{request_id}/own_cell")
    if not isinstance(value, dict):
        return None
    return value.get("h_seq"), value.get("h_T"), value.get("c_T")


@own_target("your own lstm_cell_backward")
def own_cell_backward(request: dict, value_of: Decoder, request_id: str) -> dict | None:
    """Backpropagation through time composed from the student's own cell backward (reported as the columns of
    that linear map at every step): what a correct ``lstm_backward`` gives with the student's cell backward."""
    graded = value_of(request_id)
    basis = graded.get("cell_backward_basis") if isinstance(graded, dict) else None
    if not isinstance(basis, dict):
        return None
    dh_seq = np.asarray(request["upstream"][0], dtype=np.float64)
    batch, steps, units = dh_seq.shape
    keys = ("dx_t", "dh_prev", "dc_prev", "dkernel", "drecurrent_kernel", "dbias")

    def step(t: int, dh: np.ndarray, dc: np.ndarray) -> dict:
        return {key: np.tensordot(dh.ravel(), basis[f"dh/{key}"][t], axes=1)
                + np.tensordot(dc.ravel(), basis[f"dc/{key}"][t], axes=1) for key in keys}

    dh_next, dc_next = np.zeros((batch, units)), np.zeros((batch, units))
    totals: dict[str, np.ndarray] = {}
    dx = [None] * steps
    for t in reversed(range(steps)):
        grads = step(t, dh_seq[:, t] + dh_next, dc_next)
        dx[t] = grads["dx_t"]
        for key in ("dkernel", "drecurrent_kernel", "dbias"):
            totals[key] = totals.get(key, 0) + grads[key]
        dh_next, dc_next = grads["dh_prev"], grads["dc_prev"]
    return {"dx": np.stack(dx, axis=1), "dh0": dh_next, "dc0": dc_next, **totals}


@own_target("the activations your forward computed")
def own_activations(request: dict, value_of: Decoder, request_id: str) -> dict | None:
    """Gradients of the correct backward pass at the activations the student's forward computed.

    A backward that is right, fed by a forward that is wrong, is judged right: the forward's mistake is charged
    in the forward exercise.
    """
    args = dict(zip(request["arg_names"], (np.asarray(a, dtype=np.float64) for a in request["args"])))
    graded = value_of(request_id)
    if not isinstance(graded, dict) or not isinstance(graded.get("forward"), tuple):
        return None
    upstream = [np.asarray(u, dtype=np.float64) for u in request["upstream"]]
    if request["backward"] == "lstm_cell_backward":
        gates = _gates(value_of, request_id)
        c_t = graded["forward"][1] if len(graded["forward"]) > 1 else None
        if gates is None or not isinstance(c_t, np.ndarray) or c_t.shape != gates["i"].shape:
            return None
        cache = dict(gates, x_t=args["x_t"], h_prev=args["h_prev"], c_prev=args["c_prev"], kernel=args["kernel"],
                     recurrent_kernel=args["recurrent_kernel"], tanh_c=np.tanh(c_t))
        return reference.lstm_cell_backward(upstream[0], upstream[1], cache)
    if request["backward"] == "lstm_backward":
        steps = value_of(f"{request_id}/activations")
        if not isinstance(steps, dict) or not all(isinstance(steps.get(g), np.ndarray) for g in GATE_KEYS):
            return None
        h_seq, c_seq = steps["h_seq"], steps["c_seq"]
        caches = []
        for t in range(h_seq.shape[1]):
            caches.append({
                "x_t": args["x"][:, t], "kernel": args["kernel"], "recurrent_kernel": args["recurrent_kernel"],
                "h_prev": args["h0"] if t == 0 else h_seq[:, t - 1], "c_prev": args["c0"] if t == 0 else c_seq[:, t - 1],
                "tanh_c": np.tanh(c_seq[:, t]), **{key: steps[gate][:, t] for gate, key in GATE_KEYS.items()},
            })
        return reference.lstm_backward(upstream[0], caches)
    return None
