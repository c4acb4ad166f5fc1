"""How the grader judges the hidden tests of assignment 01: checks, tolerances, weights and hints.

Grader side only (never imported by a kernel). Each check names the request of ``inputs`` whose reported value it
judges; own-function alternatives are the functions of :mod:`course_lib.assignments.lstm_gates.targets`.
"""
from __future__ import annotations

from course_lib.assignments.lstm_gates.inputs import CELL_GRADIENTS, GATES, SEQUENCE_GRADIENTS
from course_lib.grading.checks import Check

_GATE_HINTS = {
    "input_gate": "i_t = sigmoid(x_t @ W_i + h_prev @ U_i + b_i): both the input and the recurrent term, then sigmoid.",
    "forget_gate": "f_t = sigmoid(x_t @ W_f + h_prev @ U_f + b_f): both the input and the recurrent term, then sigmoid.",
    "candidate_cell": "g_t = tanh(x_t @ W_c + h_prev @ U_c + b_c): the candidate uses tanh, not sigmoid.",
    "output_gate": "o_t = sigmoid(x_t @ W_o + h_prev @ U_o + b_o): both the input and the recurrent term, then sigmoid.",
}


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
