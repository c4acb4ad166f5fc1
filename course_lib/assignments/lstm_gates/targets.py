"""Own-function targets of assignment 01: what an answer should be given what the student's own other functions
did, so that a mistake is charged once, in the exercise where it is made.

Grader side only: these may use the reference solution, which the student's kernel cannot import. Everything a
kernel reports is the student's word, so a target credits an exercise only where producing the credited value
required the computation that exercise asks for (the rule, for each target below):

* ``own_sigmoid`` (gates): the gate must have called the student's ``sigmoid`` at the pre-activation the *grader*
  computes and returned what it gave; that sigmoid must be a function of its argument (the same values at those
  points in the ``sigmoid`` exercise's ``points`` request, where they hide among others and are judged against
  the reference). Computing the pre-activation is the gate's work; a wrong sigmoid costs the ``sigmoid`` exercise.
* ``own_gates`` (``lstm_cell_forward``): the cell must have called each gate function with exactly the right
  arguments (``x_t``, ``h_prev`` and the gate's blocks, which the grader cuts itself) and combined what they
  returned by the cell equations. Cutting the blocks and combining is the exercise; what the gates return is
  charged in the gate exercises.
* ``own_cell`` (``lstm_forward``): the student's loop must have called their ``lstm_cell_forward`` once per step
  with the step's input slice, the weights and the state returned by the previous call (``h0``/``c0``, or zeros,
  first), and stacked what it returned. Slicing, carrying and stacking is the exercise.
* In these three, a called function's wrong value excuses the caller only if that function is wrong on every
  request of its own exercise (:func:`systematically_wrong`): a function that recognises the hidden tests and
  answers differently when another function calls it (to make a wrong caller look consistent) excuses nothing.
* ``own_activations`` (both backwards): the correct backward pass, computed here, at activations the student's
  forward computed: what its calls to the four gate functions returned, or, for a cell that calls none, arrays of
  its cache that reproduce the forward's own ``h_t`` and ``c_t`` through the cell equations (see
  :func:`activations`). The forward must be recognisably an LSTM cell: a linear map or a constant is not, and
  earns no backward points through this. Matching the target takes a real backward pass.
* ``standin_loop`` (``lstm_backward``): the student's ``lstm_backward`` is also run with a stand-in for their
  ``lstm_cell_backward`` (fixed random linear maps per step, of the right shapes); the grader composes the same
  maps by backpropagation through time here. Matching it takes the time loop of BPTT, and nothing the student's
  cell backward does (raise, return a wrong shape) can cost it; it applies where every step of the student's
  cell is recognisably an LSTM cell (a loop over a linear map earns no backward points).

No target uses a gradient the kernel computed numerically: the kernel can make it say anything.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.assignments.lstm_gates.inputs import GATES, block, standin_maps
from course_lib.grading.checks import own_target
from course_lib.solutions import lstm_gates as reference

GATE_KEYS = {"input_gate": "i", "forget_gate": "f", "candidate_cell": "g", "output_gate": "o"}
CONSISTENT = {"rtol": 1e-7, "atol": 1e-9}    # "reproduces the forward's outputs": float64 round-off, not more
MAX_ASSIGNMENTS = 4
MAX_POOL = 48                               # candidate activations searched in one cache


def _f64(value: Any) -> np.ndarray | None:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        return None
    return np.asarray(value, dtype=np.float64)


def _close(a: Any, b: np.ndarray, rtol=1e-6, atol=1e-7) -> bool:
    a = _f64(a)
    return a is not None and a.shape == np.shape(b) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


# --------------------------------------------------------------------------- gates and cell
@own_target("your own sigmoid")
def own_sigmoid(request: dict, reports, request_id: str) -> tuple | None:
    """The gate through the student's own sigmoid: what the gate's call to ``sigmoid`` returned, if the gate
    called it at the pre-activation computed here, and if ``sigmoid`` is a function of its argument (it gave the
    same values at those points in its own exercise, where they hide among others)."""
    x, h, W, U, b = (np.asarray(a, dtype=np.float64) for a in request["args"])
    z = x @ W + h @ U + b
    value = _recorded(reports.extra(request_id).get("calls"), "sigmoid", [z], tolerance=_tolerance(request))
    if value is None or value.shape != z.shape:
        return None
    points = np.asarray(reports.request("points", exercise="sigmoid")["args"][0], dtype=np.float64)
    values = _f64(reports.value("points", exercise="sigmoid"))
    if values is None or values.shape != points.shape:
        return None
    flat = z.ravel()
    k = np.clip(np.searchsorted(points, flat), 1, len(points) - 1)
    k = np.where(np.abs(points[k - 1] - flat) < np.abs(points[k] - flat), k - 1, k)
    if not np.all(np.abs(points[k] - flat) <= 1e-12 * (1 + np.abs(flat))):
        return None   # not one of the points the sigmoid was asked for (a course bug: the build says so)
    if not _close(value, values[k].reshape(z.shape), *_tolerance(request)):
        return None   # sigmoid answers differently inside the gate: not the student's function of z
    if not _close(value, reference.sigmoid(z), *_tolerance(request)) and \
            not systematically_wrong(reports, "sigmoid", [z]):
        return None   # right in its own exercise, wrong only here: not a mistake the gate may be excused by
    return (value,)


def _tolerance(request: dict) -> tuple[float, float]:
    """(rtol, atol) of a request's values: float32 inputs are compared at float32 precision."""
    return (1e-4, 1e-5) if _dtype(request.get("args", [])) == "float32" else (1e-7, 1e-10)


def _dtype(args) -> str:
    """"float32" if any of the arguments is (or, as reported by a kernel, was) float32."""
    return "float32" if any(np.asarray(a).dtype == np.float32 or getattr(a, "original_dtype", "") == "float32"
                            for a in args) else "float64"


def _reference_outputs(function: str, args: list) -> tuple | None:
    """The reference's graded outputs of ``function`` at ``args`` (``None`` if it cannot take them)."""
    try:
        value = getattr(reference, function)(*(np.asarray(a) for a in args))
    except Exception:  # noqa: BLE001 - arguments the student's code chose: the reference may refuse them
        return None
    return tuple(value[:2]) if function == "lstm_cell_forward" else (value,)


def _right(got: Any, want: tuple, tolerance) -> bool:
    got = got if isinstance(got, tuple) else (got,)
    return len(got) == len(want) and all(_close(g, w, *tolerance) for g, w in zip(got, want))


def _kind(args) -> tuple[str, bool]:
    """What kind of inputs these are, for comparing like with like: their dtype, and whether the batch is 1."""
    first = np.asarray(args[0]) if len(args) else np.zeros(0)
    return _dtype(args), first.ndim >= 2 and first.shape[0] == 1


def systematically_wrong(reports, exercise: str, like: list | None = None) -> bool:
    """Whether the student's function of ``exercise`` is wrong on every one of its own value requests (of inputs
    of the same kind as ``like``, if given: dtype, batch of one or not), or did not report them: only such a
    mistake excuses a later exercise that got wrong
    values from it. A function right in its own exercise and wrong when another function calls it (one that
    recognises the hidden tests) excuses nothing; one right in its own exercise only because the functions it
    calls misbehave there is not right."""
    requests = {rid: r for rid, r in reports.suite.requests(exercise).items()
                if r.get("function") == exercise and r.get("op") in ("call", "sequence_forward")}
    alike = {rid: r for rid, r in requests.items() if like is None or _kind(r["args"]) == _kind(like)}
    for request_id, request in (alike or requests).items():
        want = _reference_outputs(exercise, request["args"])
        got = reports.value(request_id, exercise=exercise)
        if want is not None and _right(got, want, _tolerance(request)) and \
                not misbehaving_callee(reports, request_id, exercise):
            return False
    return True


def misbehaving_callee(reports, request_id: str, exercise: str | None = None) -> str:
    """A function the request's function called (as recorded) that returned, for those arguments, something other
    than the right value while it is right in its own exercise: ``""`` if there is none, else what happened."""
    for call in reports.extra(request_id, exercise=exercise).get("calls") or []:
        if not isinstance(call, dict) or not isinstance(call.get("args"), (list, tuple)):
            continue
        function = call.get("function")
        if function not in GATE_KEYS and function not in ("sigmoid", "lstm_cell_forward"):
            continue
        want = _reference_outputs(function, list(call["args"]))
        value = call.get("value")
        got = tuple(value[:2]) if function == "lstm_cell_forward" and isinstance(value, (tuple, list)) else value
        if want is None or _right(got, want, _tolerance({"args": call["args"]})):
            continue
        if not systematically_wrong(reports, function, list(call["args"])):
            return (f"your {function} returned, when called from {reports.request(request_id, exercise)['function']}"
                    f", values that differ from what it returns for such arguments in its own exercise")
    return ""


@own_target("functions that answer the same wherever they are called")
def callees_behave(request: dict, reports, request_id: str) -> str:
    """The guard of every value check whose request records calls: ``""``, or why the check cannot pass."""
    return misbehaving_callee(reports, request_id)


def _recorded(calls: Any, function: str, expected_args: list, tolerance=(1e-6, 1e-7)) -> np.ndarray | None:
    """What the first call of ``function`` with ``expected_args`` returned (``None`` if there is none)."""
    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, dict) or call.get("function") != function:
            continue
        args = call.get("args")
        if isinstance(args, (list, tuple)) and len(args) == len(expected_args) and all(
                _close(a, e, *tolerance) for a, e in zip(args, expected_args)):
            return _f64(call.get("value"))
    return None


@own_target("your own gate functions")
def own_gates(request: dict, reports, request_id: str) -> tuple | None:
    """(h_t, c_t) from what the student's gate functions returned when their cell called them on the right blocks."""
    x_t, h_prev, c_prev, kernel, recurrent_kernel, bias = (np.asarray(a, dtype=np.float64) for a in request["args"])
    calls = reports.extra(request_id).get("calls")
    gates = {}
    for gate, key in GATE_KEYS.items():
        args = [x_t, h_prev, block(kernel, gate), block(recurrent_kernel, gate), block(bias, gate)]
        value = _recorded(calls, gate, args)
        if value is None or value.shape != c_prev.shape:
            return None
        if not _close(value, getattr(reference, gate)(*args), *_tolerance(request)) and \
                not systematically_wrong(reports, gate, args):
            return None   # a gate right in its own exercise and wrong inside the cell excuses nothing
        gates[key] = value
    c_t = gates["f"] * c_prev + gates["i"] * gates["g"]
    return gates["o"] * np.tanh(c_t), c_t


@own_target("your own lstm_cell_forward")
def own_cell(request: dict, reports, request_id: str) -> tuple | None:
    """(h_seq, h_T, c_T) of the student's own cell, called by their loop step by step with the right arguments."""
    x, kernel, recurrent_kernel, bias = (np.asarray(a, dtype=np.float64) for a in request["args"][:4])
    h, c = (np.asarray(a, dtype=np.float64) for a in request["state"])
    calls = [call for call in reports.extra(request_id).get("calls") or [] if isinstance(call, dict)]
    excused = None   # whether the cell is wrong in its own exercise too (computed once, when needed)
    if len(calls) != x.shape[1]:
        return None
    h_steps = []
    for t, call in enumerate(calls):
        args, value = call.get("args"), call.get("value")
        expected = [x[:, t], h, c, kernel, recurrent_kernel, bias]
        if not isinstance(args, (list, tuple)) or len(args) != 6 or not all(
                _close(a, e) for a, e in zip(args, expected)):
            return None
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            return None
        right = reference.lstm_cell_forward(*expected)[:2]
        h, c = _f64(value[0]), _f64(value[1])
        if h is None or c is None:
            return None
        if not (_close(h, right[0], *_tolerance(request)) and _close(c, right[1], *_tolerance(request))):
            excused = systematically_wrong(reports, "lstm_cell_forward", expected) if excused is None else excused
            if not excused:
                return None   # a cell right in its own exercise and wrong inside the loop excuses nothing
        h_steps.append(h)
    return np.stack(h_steps, axis=1), h, c


# --------------------------------------------------------------------------- backward passes
def activations(x_t, h_prev, c_prev, h_t, c_t, calls, leaves) -> list[dict]:
    """Activations (i, f, g, o, tanh_c) the forward computed, as candidates for the correct backward pass.

    Taken from the calls the forward made to the four gate functions (labelled by the function that computed
    them: the cell may combine them wrongly, that is its own mistake), or, for a cell that calls no gate function,
    from the arrays of its cache (as they are, cut in blocks, or through sigmoid/tanh, for a cache of
    pre-activations), which must then reproduce the forward's ``c_t`` and ``h_t`` through the cell equations to
    say which array is which gate. ``tanh_c`` is the array with ``h_t = o * tanh_c``: ``tanh(c_t)`` or a cached
    one. No activation may be constant (a constant is not a gate). Empty if the forward is not recognisably an
    LSTM cell.
    """
    h_t, c_t, c_prev = _f64(h_t), _f64(c_t), np.asarray(c_prev, dtype=np.float64)
    if h_t is None or c_t is None or h_t.shape != c_prev.shape or c_t.shape != c_prev.shape:
        return []
    shape = c_prev.shape
    leaves = [v for v in (_f64(leaf) for leaf in (leaves if isinstance(leaves, list) else [])) if v is not None]
    same_shape = [v for v in leaves if v.shape == shape]
    found = []

    def accept(i, f, g, o, combined=True):
        if combined:   # found in the cache, not returned by the gate functions: it must be an LSTM cell's
            if any(np.ptp(a) <= 1e-9 for a in (i, f, g, o)) or not np.allclose(f * c_prev + i * g, c_t,
                                                                                  **CONSISTENT):
                return   # a constant is not a gate
            candidates = [np.tanh(c_t)]
        else:          # tanh(c_t), or what the forward used: tanh of its first output (returned in swapped order)
            candidates = [np.tanh(c_t), np.tanh(h_t)]
        for tanh_c in candidates + same_shape:
            if np.allclose(o * tanh_c, h_t, **CONSISTENT) or (not combined and any(tanh_c is c for c in candidates)):
                found.append({"i": i, "f": f, "g": g, "o": o, "tanh_c": tanh_c})

    recorded = {}
    for call in calls if isinstance(calls, list) else []:
        if isinstance(call, dict) and call.get("function") in GATE_KEYS:
            value = _f64(call.get("value"))
            if value is not None and value.shape == shape:
                recorded.setdefault(GATE_KEYS[call["function"]], value)
    if len(recorded) == 4:
        accept(recorded["i"], recorded["f"], recorded["g"], recorded["o"], combined=False)
        if found:
            return found
    # the cache's own arrays: as they are, cut in four blocks, and through sigmoid / tanh
    units = shape[-1]
    pool = list(same_shape) + [leaf[..., k * units:(k + 1) * units] for leaf in leaves
                               if leaf.shape == shape[:-1] + (4 * units,) for k in range(4)]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        pool = pool + [reference.sigmoid(p) for p in pool] + [np.tanh(p) for p in pool]
    unique: list[np.ndarray] = []
    for p in pool:
        if len(unique) < MAX_POOL and np.all(np.isfinite(p)) and not any(np.array_equal(p, q) for q in unique):
            unique.append(p)
    gates01 = [p for p in unique if p.min() >= 0 and p.max() <= 1]
    tanh11 = [p for p in unique if p.min() >= -1 and p.max() <= 1]
    if not gates01 or not tanh11:
        return []
    S, T = np.stack(gates01), np.stack(tanh11)
    # c_t = f * c_prev + i * g, for every (f, i, g) at once
    residual = c_t - S * c_prev                                   # (nf, ...)
    products = S[:, None] * T[None, :]                            # (ni, ng, ...)
    axes = tuple(range(3, 3 + len(shape)))
    diff = np.abs(products[None] - residual[:, None, None])
    ok = np.all(diff <= CONSISTENT["atol"] + CONSISTENT["rtol"] * np.abs(residual[:, None, None]), axis=axes)
    for f_index, i_index, g_index in zip(*np.nonzero(ok)):
        for o in S:
            accept(S[i_index], S[f_index], T[g_index], o)
            if len(found) >= MAX_ASSIGNMENTS:
                return found
    return found


def _cell_cache(x_t, h_prev, c_prev, kernel, recurrent_kernel, acts: dict) -> dict:
    return {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "kernel": kernel, "recurrent_kernel": recurrent_kernel,
            **acts}


def _step_activations(args: dict, extra: dict) -> list[dict] | None:
    """The activations of every step of the probe's own unroll (one assignment per step), or ``None``."""
    steps = extra.get("steps")
    if not isinstance(steps, list) or len(steps) != args["x"].shape[1]:
        return None
    h, c = args["h0"], args["c0"]
    caches = []
    for t, step in enumerate(steps):
        if not isinstance(step, dict):
            return None
        found = activations(args["x"][:, t], h, c, step.get("h"), step.get("c"), step.get("calls"), step.get("cache"))
        if not found:
            return None
        caches.append(_cell_cache(args["x"][:, t], h, c, args["kernel"], args["recurrent_kernel"], found[0]))
        h, c = _f64(step["h"]), _f64(step["c"])
    return caches


@own_target("the activations your forward computed")
def own_activations(request: dict, reports, request_id: str) -> list[dict] | None:
    """Gradients of the correct backward pass at the activations the student's forward computed: a backward
    that is right, fed by a forward that is wrong (but recognisably an LSTM cell), is judged right."""
    args = {name: np.asarray(a, dtype=np.float64) for name, a in zip(request["arg_names"], request["args"])}
    upstream = [np.asarray(u, dtype=np.float64) for u in request["upstream"]]
    extra = reports.extra(request_id)
    if request["op"] == "backward":   # lstm_cell_backward
        forward = extra.get("forward")
        if not isinstance(forward, tuple) or len(forward) != 2:
            return None
        found = activations(args["x_t"], args["h_prev"], args["c_prev"], forward[0], forward[1],
                            extra.get("calls"), extra.get("cache"))
        return [reference.lstm_cell_backward(upstream[0], upstream[1], _cell_cache(
            args["x_t"], args["h_prev"], args["c_prev"], args["kernel"], args["recurrent_kernel"], acts))
            for acts in found] or None
    caches = _step_activations(args, extra)
    return None if caches is None else [reference.lstm_backward(upstream[0], caches)]


@own_target("a stand-in for lstm_cell_backward")
def standin_loop(request: dict, reports, request_id: str) -> list[dict] | None:
    """Backpropagation through time over the stand-in cell backward the probe gave the student's
    ``lstm_backward`` (fixed random linear maps per step, rebuilt here from the same seed): a correct time loop
    gets these gradients whatever the student's own cell backward does. Compared with that request's values, and
    only where every step of the student's cell is recognisably an LSTM cell (the backward points are those of an
    LSTM's backward pass: a time loop over a linear map earns none)."""
    args = {name: np.asarray(a, dtype=np.float64) for name, a in zip(request["arg_names"], request["args"])}
    if _step_activations(args, reports.extra(f"{request_id}/standin")) is None:
        return None
    standin = reports.request(f"{request_id}/standin")
    x, h0 = np.asarray(standin["args"][0]), np.asarray(standin["args"][4])
    batch, steps, input_dim = x.shape
    units = h0.shape[1]
    maps = standin_maps(int(standin["seed"]), steps, batch, input_dim, units)
    dh_seq = np.asarray(standin["upstream"][0], dtype=np.float64)

    def step(t: int, dh: np.ndarray, dc: np.ndarray) -> dict:
        return {key: np.tensordot(dh.ravel(), a, axes=1) + np.tensordot(dc.ravel(), b, axes=1)
                for key, (a, b) in maps[t].items()}

    dh_next, dc_next = np.zeros((batch, units)), np.zeros((batch, units))
    totals: dict[str, Any] = {}
    dx = [None] * steps
    for t in reversed(range(steps)):
        grads = step(t, dh_seq[:, t] + dh_next, dc_next)
        dx[t] = grads["dx_t"]
        for key in ("dkernel", "drecurrent_kernel", "dbias"):
            totals[key] = totals.get(key, 0) + grads[key]
        dh_next, dc_next = grads["dh_prev"], grads["dc_prev"]
    return [{"dx": np.stack(dx, axis=1), "dh0": dh_next, "dc0": dc_next, **totals,
             "__request__": f"{request_id}/standin"}]
