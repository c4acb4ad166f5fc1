"""Hidden tests of assignment 01 (LSTM gates in NumPy), as data: the inputs, and the probe operations only this
assignment needs. This module runs in the student's kernel (it is the only module of the assignment a kernel can
import): inputs only, no expected value, no solution.

Every input is drawn from a fixed seed, so the kernel (through the probe) and the grader build bit-identical
arrays. Weights follow ``keras.layers.LSTM``: ``kernel`` (input_dim, 4*units), ``recurrent_kernel``
(units, 4*units), ``bias`` (4*units,), gate blocks in the order i, f, c, o.
"""
from __future__ import annotations

import collections
from functools import cache

import numpy as np

from course_lib.grading import probe

GATES = ("input_gate", "forget_gate", "candidate_cell", "output_gate")  # Keras block order i, f, c, o
CELL_GRADIENTS = (("dx_t", "x_t"), ("dh_prev", "h_prev"), ("dc_prev", "c_prev"),
                  ("dkernel", "kernel"), ("drecurrent_kernel", "recurrent_kernel"), ("dbias", "bias"))
SEQUENCE_GRADIENTS = (("dx", "x"), ("dh0", "h0"), ("dc0", "c0"),
                      ("dkernel", "kernel"), ("drecurrent_kernel", "recurrent_kernel"), ("dbias", "bias"))

def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([20261128, *key])


def _weights(rng: np.random.Generator, input_dim: int, units: int, dtype=np.float64):
    kernel = 0.5 * rng.standard_normal((input_dim, 4 * units))
    recurrent_kernel = 0.5 * rng.standard_normal((units, 4 * units))
    bias = 0.3 * rng.standard_normal(4 * units)
    return kernel.astype(dtype), recurrent_kernel.astype(dtype), bias.astype(dtype)


def _block(array: np.ndarray, gate: str) -> np.ndarray:
    units = array.shape[-1] // 4
    k = GATES.index(gate)
    return array[..., k * units:(k + 1) * units]


def _cell_inputs(seed: int, dtype, batch=3, input_dim=4, units=5) -> dict:
    rng = _rng(seed)
    x = rng.standard_normal((batch, input_dim)).astype(dtype)
    h = (0.8 * rng.standard_normal((batch, units))).astype(dtype)
    c = rng.standard_normal((batch, units)).astype(dtype)
    kernel, recurrent_kernel, bias = _weights(rng, input_dim, units, dtype)
    return {"x_t": x, "h_prev": h, "c_prev": c, "kernel": kernel,
            "recurrent_kernel": recurrent_kernel, "bias": bias}


def _sequence_inputs(seed: int, batch=2, steps=4, input_dim=3, units=4, zero_state=False) -> dict:
    rng = _rng(seed)
    x = rng.standard_normal((batch, steps, input_dim))
    kernel, recurrent_kernel, bias = _weights(rng, input_dim, units)
    h0 = np.zeros((batch, units)) if zero_state else 0.8 * rng.standard_normal((batch, units))
    c0 = np.zeros((batch, units)) if zero_state else rng.standard_normal((batch, units))
    return {"x": x, "kernel": kernel, "recurrent_kernel": recurrent_kernel, "bias": bias, "h0": h0, "c0": c0}


def _call(function: str, *args, keep=None, arity=None) -> dict:
    request = {"op": "call", "function": function, "args": list(args)}
    if keep is not None:
        request.update(keep=list(keep), arity=arity)
    return request


@cache
def _all_requests() -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = collections.defaultdict(dict)

    grid = np.array([-1000.0, -710.0, -50.0, -10.0, -2.0, -0.5, -1e-8, 0.0, 1e-8, 0.5, 2.0, 10.0, 50.0, 710.0, 1000.0])
    out["sigmoid"]["grid"] = _call("sigmoid", grid)
    out["sigmoid"]["matrix"] = _call("sigmoid", 4.0 * _rng(1).standard_normal((3, 4)))

    for k, gate in enumerate(GATES):
        for dtype, name in ((np.float64, "float64"), (np.float32, "float32")):
            inputs = _cell_inputs(10 + k, dtype)
            blocks = [_block(inputs[n], gate) for n in ("kernel", "recurrent_kernel", "bias")]
            out[gate][name] = _call(gate, inputs["x_t"], inputs["h_prev"], *blocks)
            if gate != "candidate_cell":  # the student's own sigmoid on the gate's pre-activation
                pre_activation = inputs["x_t"] @ blocks[0] + inputs["h_prev"] @ blocks[1] + blocks[2]
                out[gate][f"{name}/own_sigmoid"] = _call("sigmoid", pre_activation)

    for dtype, name in ((np.float64, "float64"), (np.float32, "float32")):
        inputs = _cell_inputs(20, dtype)
        args = [inputs[n] for n in ("x_t", "h_prev", "c_prev", "kernel", "recurrent_kernel", "bias")]
        out["lstm_cell_forward"][name] = _call("lstm_cell_forward", *args, keep=(0, 1), arity=3)
        for gate in GATES:  # the student's own gates on the right blocks: to charge a gate bug to the gate only
            out["lstm_cell_forward"][f"{name}/{gate}"] = _call(
                gate, inputs["x_t"], inputs["h_prev"], _block(inputs["kernel"], gate),
                _block(inputs["recurrent_kernel"], gate), _block(inputs["bias"], gate))

    for name, zero_state in (("zero_state", True), ("given_state", False)):
        s = _sequence_inputs(30 + zero_state, zero_state=zero_state)
        weights = [s["x"], s["kernel"], s["recurrent_kernel"], s["bias"]]
        args = weights if zero_state else weights + [s["h0"], s["c0"]]  # zero_state relies on the defaults
        out["lstm_forward"][name] = _call("lstm_forward", *args, keep=(0, 1, 2), arity=4)
        out["lstm_forward"][f"{name}/own_cell"] = {
            "op": "unroll", "function": "lstm_cell_forward", "args": weights + [s["h0"], s["c0"]]}

    cell = _cell_inputs(40, np.float64, batch=2, input_dim=3, units=4)
    rng = _rng(41)
    names = ["x_t", "h_prev", "c_prev", "kernel", "recurrent_kernel", "bias"]
    out["lstm_cell_backward"]["gradients"] = {
        "op": "gradcheck", "forward": "lstm_cell_forward", "backward": "lstm_cell_backward",
        "arg_names": names, "args": [cell[n] for n in names],
        "upstream": [rng.standard_normal((2, 4)), rng.standard_normal((2, 4))],
        "output_index": [0, 1], "cache_index": 2, "wrt": names,
    }
    for gate in GATES:  # the activations the student's forward works from, to judge the backward on its own
        out["lstm_cell_backward"][f"gradients/{gate}"] = _call(
            gate, cell["x_t"], cell["h_prev"], _block(cell["kernel"], gate),
            _block(cell["recurrent_kernel"], gate), _block(cell["bias"], gate))

    seq = _sequence_inputs(50, batch=2, steps=3, input_dim=3, units=3)
    names = ["x", "kernel", "recurrent_kernel", "bias", "h0", "c0"]
    out["lstm_backward"]["gradients"] = {
        "op": "gradcheck_bptt", "forward": "lstm_forward", "backward": "lstm_backward",
        "arg_names": names, "args": [seq[n] for n in names],
        "upstream": [_rng(51).standard_normal((2, 3, 3))],
        "output_index": [0], "cache_index": 3, "wrt": names, "cell_backward": "lstm_cell_backward",
    }
    out["lstm_backward"]["gradients/activations"] = {
        "op": "unroll", "function": "lstm_cell_forward",
        "args": [seq[n] for n in ("x", "kernel", "recurrent_kernel", "bias", "h0", "c0")],
        "gates": {gate: [_block(seq[n], gate) for n in ("kernel", "recurrent_kernel", "bias")] for gate in GATES},
    }
    return dict(out)


def requests(exercise: str) -> dict[str, dict]:
    """The requests the probe evaluates for one exercise (grade cell id)."""
    if exercise not in _all_requests():
        raise KeyError(f"no hidden tests for exercise {exercise!r} of lstm_gates")
    return _all_requests()[exercise]


# --------------------------------------------------------------------------- probe operations of this assignment
def _op_unroll(namespace, request) -> dict:
    """Run the student's own cell over the sequence, feeding each state to the next step.

    Lets the grader tell a bug in the time loop from a bug in the cell it calls, so each is charged once. With
    ``gates`` (``{function name: [W, U, b]}``, blocks cut by the grader), also report what the student's gate
    functions give at each step's state: the activations a correct backward pass would work from.
    """
    cell = probe.lookup(namespace, request["function"])
    x, kernel, recurrent_kernel, bias, h, c = request["args"]
    gates = {name: (probe.lookup(namespace, name), blocks) for name, blocks in request.get("gates", {}).items()}
    h_steps, c_steps, gate_steps = [], [], {name: [] for name in gates}
    for t in range(x.shape[1]):
        for name, (gate, blocks) in gates.items():
            gate_steps[name].append(np.asarray(probe.call_pristine(gate, [x[:, t, :], h, *blocks])))
        h, c, _ = probe.call_pristine(cell, [x[:, t, :], h, c, kernel, recurrent_kernel, bias])
        h_steps.append(np.asarray(h))
        c_steps.append(np.asarray(c))
    value = {"h_seq": np.stack(h_steps, axis=1), "h_T": h, "c_T": c, "c_seq": np.stack(c_steps, axis=1)}
    value.update({name: np.stack(steps, axis=1) for name, steps in gate_steps.items()})
    return {"value": value}


def _op_gradcheck_bptt(namespace, request) -> dict:
    """The engine's gradient check of ``lstm_backward``, plus the basis of the student's own cell backward."""
    value, outputs = probe.gradcheck(namespace, request)
    cache = outputs[request["cache_index"]]
    value["cell_backward_basis"] = _cell_backward_basis(namespace, request["cell_backward"], outputs[0], cache)
    return {"value": value}


def _cell_backward_basis(namespace, name: str, h_seq, caches) -> dict:
    """The student's cell backward applied to unit upstream gradients at every step of their own forward.

    A backward step is linear in (dh_t, dc_t), so these columns let the grader compose, in its own process, what
    backpropagation through time gives with the student's *own* cell backward: a mistake in the cell backward is
    then charged to the cell backward only.
    """
    cell_backward = probe.lookup(namespace, name)
    batch, steps, units = np.asarray(h_seq).shape
    if not isinstance(caches, (list, tuple)) or len(caches) != steps:
        raise TypeError("the caches are not one per time step")
    columns: dict[str, list] = {}
    for t in range(steps):
        for which in ("dh", "dc"):
            for k in range(batch * units):
                unit = np.zeros(batch * units)
                unit[k] = 1.0
                zero = np.zeros((batch, units))
                args = (unit.reshape(batch, units), zero) if which == "dh" else (zero, unit.reshape(batch, units))
                grads = probe.call_pristine(cell_backward, [*args, caches[t]])
                for key, array in grads.items():
                    columns.setdefault(f"{which}/{key}", []).append(np.asarray(array, dtype=np.float64))
    return {key: np.stack(arrays).reshape(steps, batch * units, *arrays[0].shape) for key, arrays in columns.items()}


OPS = {"unroll": _op_unroll, "gradcheck_bptt": _op_gradcheck_bptt}
