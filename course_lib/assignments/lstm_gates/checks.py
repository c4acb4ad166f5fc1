"""How the grader judges the hidden tests of assignment 01: checks, tolerances, weights and hints.

Grader side only (never imported by a kernel). Each check names the request of ``inputs`` whose reported value it
judges; own-function alternatives are the functions of :mod:`course_lib.assignments.lstm_gates.targets` (read its
docstring for why none of them can be forged). Every function is also checked for not modifying its inputs, and
the forward passes for caches that stay what they were. Backward passes must be derived: one that calls the
forward many times (numerical differentiation), opens an autodiff tape, or agrees with the exact gradients only
to the precision of finite differences earns nothing (the notebook says so).
"""
from __future__ import annotations

from course_lib.assignments.lstm_gates.inputs import CELL_GRADIENTS, GATE_SHAPES, GATES, SEQUENCE_GRADIENTS
from course_lib.grading.checks import Check

_GATE_HINTS = {
    "input_gate": "i_t = sigmoid(x_t @ W_i + h_prev @ U_i + b_i): both the input and the recurrent term, then sigmoid.",
    "forget_gate": "f_t = sigmoid(x_t @ W_f + h_prev @ U_f + b_f): both the input and the recurrent term, then sigmoid.",
    "candidate_cell": "g_t = tanh(x_t @ W_c + h_prev @ U_c + b_c): the candidate uses tanh, not sigmoid.",
    "output_gate": "o_t = sigmoid(x_t @ W_o + h_prev @ U_o + b_o): both the input and the recurrent term, then sigmoid.",
}
#: float64 gradients of an analytic backward pass agree with the exact ones to ~1e-15; finite differences, at best,
#: to ~1e-12 .. 1e-10: this tolerance tells them apart with three orders of magnitude to spare on either side
EXACT = 1e-12
#: calls of the student's forward functions a backward may make per time step (recomputing a forward is fine;
#: numerical differentiation calls it twice per input entry, hundreds of times)
CALLS_PER_STEP = (("lstm_cell_forward", 2), ("lstm_forward", 2), ("input_gate", 4), ("forget_gate", 4),
                  ("candidate_cell", 4), ("output_gate", 4), ("sigmoid", 16))
UNCHANGED_HINT = ("work on copies (e.g. `c = c_prev * f`, not `c_prev *= f`; `list(caches)` before popping): the "
                  "caller's arrays must be the same after the call.")


def _unchanged(exercise: str, request: str, requires: str, function: str) -> Check:
    return Check(f"{exercise}/unchanged_inputs", exercise, request, f"{function} leaves its arguments unchanged",
                 "unchanged", requires=requires, weight=0.5, hint=UNCHANGED_HINT)


def checks() -> list[Check]:
    """Every verdict of the assignment, grouped by exercise through ``Check.exercise``."""
    out = [
        Check("sigmoid/values", "sigmoid", "grid", "sigmoid(z) for z from -1000 to 1000", "outputs", ("sigmoid(z)",),
              rtol=1e-7, atol=1e-12, weight=2,
              hint="sigmoid(z) = 1 / (1 + exp(-z)); for z < 0 compute it as exp(z) / (1 + exp(z)), "
                   "which has the same value and never overflows."),
        Check("sigmoid/no_overflow", "sigmoid", "grid", "sigmoid(z) for z = ±1000", "no_warnings", ("sigmoid(z)",),
              rtol=1e-7, atol=1e-12, requires="sigmoid/values",
              hint="exp(-z) overflows for z < -709: use exp(z) / (1 + exp(z)) for negative z (np.where on "
                   "exp(-|z|) evaluates only safe exponentials)."),
        Check("sigmoid/shape", "sigmoid", "matrix", "sigmoid(z) for z of shape (3, 4)", "outputs", ("sigmoid(z)",),
              rtol=1e-7, atol=1e-12, hint="sigmoid is elementwise: it must keep the shape of z."),
        Check("sigmoid/points", "sigmoid", "points", "sigmoid(z) at 172 points between -10 and 10", "outputs",
              ("sigmoid(z)",), rtol=1e-7, atol=1e-12, hint="sigmoid(z) = 1 / (1 + exp(-z)) for every z."),
        _unchanged("sigmoid", "matrix", "sigmoid/shape", "sigmoid"),
    ]
    for gate in GATES:
        output = gate[0] + "_t" if gate != "candidate_cell" else "g_t"
        for name, batch, input_dim, units, dtype in GATE_SHAPES:
            float32 = dtype.__name__ == "float32"
            out.append(Check(
                f"{gate}/{name}", gate, name,
                f"{gate}(x_t, h_prev, W, U, b) with batch {batch}, input_dim {input_dim}, units {units} "
                f"({dtype.__name__})", "outputs", (output,), rtol=1e-4 if float32 else 1e-7,
                atol=1e-5 if float32 else 1e-10, weight=2 if name == "float64" else 1, hint=_GATE_HINTS[gate],
                alternative=None if gate == "candidate_cell" else "own_sigmoid", guard="callees_behave"))
        out.append(_unchanged(gate, "float64", f"{gate}/float64", gate))
    cell_hint = ("kernel columns hold the blocks i, f, c, o (each `units` wide); c_t = f_t * c_prev + i_t * g_t "
                 "and h_t = o_t * tanh(c_t).")
    out += [
        Check("lstm_cell_forward/float64", "lstm_cell_forward", "float64",
              "lstm_cell_forward with batch 3, input_dim 4, units 5 (float64)", "outputs", ("h_t", "c_t"),
              rtol=1e-7, atol=1e-10, weight=2, hint=cell_hint, alternative="own_gates", guard="callees_behave"),
        Check("lstm_cell_forward/float32", "lstm_cell_forward", "float32",
              "lstm_cell_forward with float32 inputs", "outputs", ("h_t", "c_t"),
              rtol=1e-4, atol=1e-5, hint=cell_hint, alternative="own_gates", guard="callees_behave"),
        Check("lstm_cell_forward/batch1", "lstm_cell_forward", "batch1",
              "lstm_cell_forward with batch 1, input_dim 4, units 4", "outputs", ("h_t", "c_t"),
              rtol=1e-7, atol=1e-10, hint=cell_hint + " A batch of one is still a 2-D array (1, units).",
              alternative="own_gates", guard="callees_behave"),
        _unchanged("lstm_cell_forward", "float64", "lstm_cell_forward/float64", "lstm_cell_forward"),
        Check("lstm_cell_forward/cache_kept", "lstm_cell_forward", "float64",
              "the cache of one call stays as it was when lstm_cell_forward is called again", "cache_kept",
              requires="lstm_cell_forward/float64", weight=0.5,
              hint="build a new cache (a new dict) at every call: a cache stored in a global and reused is "
                   "overwritten by the next time step."),
    ]
    seq_hint = ("loop over the T time steps, feeding each step's h_t and c_t to the next; h_seq[:, t] is h_t; "
                "h0 and c0 default to zeros of shape (batch, units).")
    sequences = (("zero_state", "lstm_forward(x, kernel, recurrent_kernel, bias) with batch 2, T 4, input_dim 3, "
                                "units 4 (h0, c0 left out)"),
                 ("given_state", "lstm_forward(x, kernel, recurrent_kernel, bias, h0, c0) with a non-zero state"),
                 ("batch1_T1", "lstm_forward with batch 1, T 1, input_dim 3, units 3, h0 and c0 given"),
                 ("float32", "lstm_forward with float32 inputs, batch 2, T 3, h0 and c0 given"))
    for name, description in sequences:
        float32 = name == "float32"
        out.append(Check(f"lstm_forward/{name}", "lstm_forward", name, description, "outputs",
                         ("h_seq", "h_T", "c_T"), rtol=1e-4 if float32 else 1e-7, atol=1e-5 if float32 else 1e-10,
                         hint=seq_hint, alternative="own_cell", guard="callees_behave"))
    out += [
        _unchanged("lstm_forward", "given_state", "lstm_forward/given_state", "lstm_forward"),
        Check("lstm_forward/caches", "lstm_forward", "given_state",
              "caches[t] is the cache lstm_cell_forward returned at step t (one per step, in time order)", "caches",
              requires="lstm_forward/given_state",
              hint="append each step's cache to the list as lstm_cell_forward returns it: in time order, one "
                   "per step, never the same dict reused."),
    ]
    backward_hint = ("differentiate c_t = f*c_prev + i*g and h_t = o*tanh(c_t): dc_t gets dh_t * o * "
                     "(1 - tanh(c_t)**2) added to it; each gate's pre-activation gradient uses "
                     "sigmoid' = s(1-s) or tanh' = 1 - g**2.")
    for key, arg in CELL_GRADIENTS:
        out.append(Check(f"lstm_cell_backward/{key}", "lstm_cell_backward", "gradients",
                         f"lstm_cell_backward: {key} (gradient w.r.t. {arg}), batch 2, input_dim 3, units 4",
                         "gradient", (key, arg), rtol=EXACT, alternative="own_activations", hint=backward_hint,
                         calls=CALLS_PER_STEP))
    out += [
        Check("lstm_cell_backward/batch1", "lstm_cell_backward", "batch1",
              "lstm_cell_backward: every gradient, batch 1, input_dim 3, units 3", "gradients",
              tuple(k for k, _ in CELL_GRADIENTS), rtol=EXACT, weight=2, alternative="own_activations",
              hint=backward_hint + " Sum dbias over the batch axis (axis 0), also for a batch of one.",
              calls=CALLS_PER_STEP),
        _unchanged("lstm_cell_backward", "gradients", "lstm_cell_backward/dx_t", "lstm_cell_backward"),
    ]
    bptt_hint = ("walk t from T-1 down to 0; at each step add dh_seq[:, t] to the dh_prev carried from step t+1, "
                 "carry dc_prev too, and sum the weight gradients over time.")
    for key, arg in SEQUENCE_GRADIENTS:
        out.append(Check(f"lstm_backward/{key}", "lstm_backward", "gradients",
                         f"lstm_backward: {key} (gradient w.r.t. {arg}), batch 2, T 3, input_dim 3, units 3",
                         "gradient", (key, arg), rtol=EXACT, alternative="own_activations,standin_loop",
                         hint=bptt_hint, calls=CALLS_PER_STEP))
    out += [
        Check("lstm_backward/batch1_T1", "lstm_backward", "batch1_T1",
              "lstm_backward: every gradient, batch 1, T 1, input_dim 2, units 3", "gradients",
              tuple(k for k, _ in SEQUENCE_GRADIENTS), rtol=EXACT, weight=2,
              alternative="own_activations,standin_loop", hint=bptt_hint, calls=CALLS_PER_STEP),
        _unchanged("lstm_backward", "gradients/standin", "lstm_backward/dx", "lstm_backward"),
    ]
    return out
