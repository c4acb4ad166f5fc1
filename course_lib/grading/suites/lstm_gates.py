"""Hidden tests of assignment 01 (LSTM gates in NumPy), as data.

Every input is drawn from a fixed seed, so the kernel (through the probe) and the grader build bit-identical
arrays. Weights follow ``keras.layers.LSTM``: ``kernel`` (input_dim, 4*units), ``recurrent_kernel``
(units, 4*units), ``bias`` (4*units,), gate blocks in the order i, f, c, o.
"""
from __future__ import annotations

from functools import cache

import numpy as np

from course_lib.grading.suites import Check

SUITE = "lstm_gates"
GATES = ("input_gate", "forget_gate", "candidate_cell", "output_gate")  # Keras block order i, f, c, o
EXERCISES = (
    "sigmoid", "forget_gate", "input_gate", "candidate_cell", "output_gate",
    "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward",
)
CELL_GRADIENTS = (("dx_t", "x_t"), ("dh_prev", "h_prev"), ("dc_prev", "c_prev"),
                  ("dkernel", "kernel"), ("drecurrent_kernel", "recurrent_kernel"), ("dbias", "bias"))
SEQUENCE_GRADIENTS = (("dx", "x"), ("dh0", "h0"), ("dc0", "c0"),
                      ("dkernel", "kernel"), ("drecurrent_kernel", "recurrent_kernel"), ("dbias", "bias"))

_GATE_HINTS = {
    "input_gate": "i_t = sigmoid(x_t @ W_i + h_prev @ U_i + b_i): both the input and the recurrent term, then sigmoid.",
    "forget_gate": "f_t = sigmoid(x_t @ W_f + h_prev @ U_f + b_f): both the input and the recurrent term, then sigmoid.",
    "candidate_cell": "g_t = tanh(x_t @ W_c + h_prev @ U_c + b_c): the candidate uses tanh, not sigmoid.",
    "output_gate": "o_t = sigmoid(x_t @ W_o + h_prev @ U_o + b_o): both the input and the recurrent term, then sigmoid.",
}


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
    out: dict[str, dict[str, dict]] = {name: {} for name in EXERCISES}

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
        "op": "gradcheck", "forward": "lstm_forward", "backward": "lstm_backward",
        "arg_names": names, "args": [seq[n] for n in names],
        "upstream": [_rng(51).standard_normal((2, 3, 3))],
        "output_index": [0], "cache_index": 3, "wrt": names, "cell_backward": "lstm_cell_backward",
    }
    out["lstm_backward"]["gradients/activations"] = {
        "op": "unroll", "function": "lstm_cell_forward",
        "args": [seq[n] for n in ("x", "kernel", "recurrent_kernel", "bias", "h0", "c0")],
        "gates": {gate: [_block(seq[n], gate) for n in ("kernel", "recurrent_kernel", "bias")] for gate in GATES},
    }
    return out


def requests(exercise: str) -> dict[str, dict]:
    """The requests the probe evaluates for one exercise (grade cell id)."""
    if exercise not in EXERCISES:
        raise KeyError(f"no hidden tests for exercise {exercise!r} in suite {SUITE!r}")
    return _all_requests()[exercise]


def checks() -> list[Check]:
    """Every verdict of the assignment, grouped by exercise through ``Check.exercise``."""
    out = [
        Check("sigmoid/values", "sigmoid", "grid", "sigmoid(z) for z from -1000 to 1000", "outputs", ("sigmoid(z)",),
              rtol=1e-7, atol=1e-12, weight=2,
              hint="sigmoid(z) = 1 / (1 + exp(-z)); for z < 0 compute it as exp(z) / (1 + exp(z)), "
                   "which has the same value and never overflows."),
        Check("sigmoid/no_overflow", "sigmoid", "grid", "sigmoid(z) for z = ±1000", "no_warnings", ("sigmoid(z)",),
              rtol=1e-7, atol=1e-12, hint="exp(-z) overflows for z < -709: use exp(z) / (1 + exp(z)) for negative z (np.where on "
                   "exp(-|z|) evaluates only safe exponentials)."),
        Check("sigmoid/shape", "sigmoid", "matrix", "sigmoid(z) for z of shape (3, 4)", "outputs", ("sigmoid(z)",),
              rtol=1e-7, atol=1e-12, hint="sigmoid is elementwise: it must keep the shape of z."),
    ]
    for gate in GATES:
        out.append(Check(f"{gate}/float64", gate, "float64",
                         f"{gate}(x_t, h_prev, W, U, b) with batch 3, input_dim 4, units 5 (float64)",
                         "outputs", (gate[0] + "_t" if gate != "candidate_cell" else "g_t",),
                         rtol=1e-7, atol=1e-10, weight=2, hint=_GATE_HINTS[gate],
                         alternative=None if gate == "candidate_cell" else "own_sigmoid"))
        out.append(Check(f"{gate}/float32", gate, "float32",
                         f"{gate}(x_t, h_prev, W, U, b) with float32 inputs", "outputs",
                         (gate[0] + "_t" if gate != "candidate_cell" else "g_t",),
                         rtol=1e-4, atol=1e-5, hint=_GATE_HINTS[gate],
                         alternative=None if gate == "candidate_cell" else "own_sigmoid"))
    cell_hint = ("kernel columns hold the blocks i, f, c, o (each `units` wide); c_t = f_t * c_prev + i_t * g_t "
                 "and h_t = o_t * tanh(c_t).")
    out += [
        Check("lstm_cell_forward/float64", "lstm_cell_forward", "float64",
              "lstm_cell_forward with batch 3, input_dim 4, units 5 (float64)", "outputs", ("h_t", "c_t"),
              rtol=1e-7, atol=1e-10, weight=2, hint=cell_hint, alternative="own_gates"),
        Check("lstm_cell_forward/float32", "lstm_cell_forward", "float32",
              "lstm_cell_forward with float32 inputs", "outputs", ("h_t", "c_t"),
              rtol=1e-4, atol=1e-5, hint=cell_hint, alternative="own_gates"),
    ]
    seq_hint = ("loop over the T time steps, feeding each step's h_t and c_t to the next; h_seq[:, t] is h_t; "
                "h0 and c0 default to zeros of shape (batch, units).")
    out += [
        Check("lstm_forward/zero_state", "lstm_forward", "zero_state",
              "lstm_forward(x, kernel, recurrent_kernel, bias) with batch 2, T 4, input_dim 3, units 4",
              "outputs", ("h_seq", "h_T", "c_T"), weight=1, hint=seq_hint, alternative="own_cell"),
        Check("lstm_forward/given_state", "lstm_forward", "given_state",
              "lstm_forward(x, kernel, recurrent_kernel, bias, h0, c0) with a non-zero initial state",
              "outputs", ("h_seq", "h_T", "c_T"), weight=1, hint=seq_hint, alternative="own_cell"),
    ]
    for key, arg in CELL_GRADIENTS:
        out.append(Check(f"lstm_cell_backward/{key}", "lstm_cell_backward", "gradients",
                         f"lstm_cell_backward: {key} (gradient w.r.t. {arg}), batch 2, input_dim 3, units 4",
                         "gradient", (key, arg), rtol=1e-5, alternative="own_activations",
                         hint="differentiate c_t = f*c_prev + i*g and h_t = o*tanh(c_t): dc_t gets dh_t * o * "
                              "(1 - tanh(c_t)**2) added to it; each gate's pre-activation gradient uses "
                              "sigmoid' = s(1-s) or tanh' = 1 - g**2."))
    for key, arg in SEQUENCE_GRADIENTS:
        out.append(Check(f"lstm_backward/{key}", "lstm_backward", "gradients",
                         f"lstm_backward: {key} (gradient w.r.t. {arg}), batch 2, T 3, input_dim 3, units 3",
                         "gradient", (key, arg), rtol=1e-5, alternative="own_activations,own_cell_backward",
                         hint="walk t from T-1 down to 0; at each step add dh_seq[:, t] to the dh_prev carried "
                              "from step t+1, carry dc_prev too, and sum the weight gradients over time."))
    return out
