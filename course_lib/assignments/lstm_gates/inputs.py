"""Hidden tests of assignment 01 (LSTM gates in NumPy), as data: the inputs, and the probe operations only this
assignment needs. This module runs in the student's kernel (it is the only module of the assignment a kernel can
import): inputs only, no expected value, no solution, no decision (``checks.py`` and ``targets.py`` decide, in the
grader's process).

Every input is drawn from a fixed seed, so the kernel (through the probe) and the grader build bit-identical
arrays. Weights follow ``keras.layers.LSTM``: ``kernel`` (input_dim, 4*units), ``recurrent_kernel``
(units, 4*units), ``bias`` (4*units,), gate blocks in the order i, f, c, o. The shapes are those real data has:
batch 1 and more, T = 1 and more, ``units == input_dim`` and not, float64 and float32.
"""
from __future__ import annotations

import collections
import copy
from functools import cache
from typing import Any

import numpy as np

from course_lib.grading import probe

GATES = ("input_gate", "forget_gate", "candidate_cell", "output_gate")  # Keras block order i, f, c, o
CELL_ARGS = ("x_t", "h_prev", "c_prev", "kernel", "recurrent_kernel", "bias")
SEQUENCE_ARGS = ("x", "kernel", "recurrent_kernel", "bias", "h0", "c0")
CELL_GRADIENTS = (("dx_t", "x_t"), ("dh_prev", "h_prev"), ("dc_prev", "c_prev"),
                  ("dkernel", "kernel"), ("drecurrent_kernel", "recurrent_kernel"), ("dbias", "bias"))
SEQUENCE_GRADIENTS = (("dx", "x"), ("dh0", "h0"), ("dc0", "c0"),
                      ("dkernel", "kernel"), ("drecurrent_kernel", "recurrent_kernel"), ("dbias", "bias"))
#: the student's functions a backward pass might call to recompute its forward (counted while it runs)
FORWARD_FUNCTIONS = ("sigmoid", *GATES, "lstm_cell_forward", "lstm_forward")
#: the shapes of the gate requests, (name, batch, input_dim, units, dtype)
GATE_SHAPES = (("float64", 3, 4, 5, np.float64), ("float32", 3, 4, 5, np.float32), ("batch1", 1, 3, 3, np.float64))


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([20261128, *key])


def _weights(rng: np.random.Generator, input_dim: int, units: int, dtype=np.float64):
    kernel = 0.5 * rng.standard_normal((input_dim, 4 * units))
    recurrent_kernel = 0.5 * rng.standard_normal((units, 4 * units))
    bias = 0.3 * rng.standard_normal(4 * units)
    return kernel.astype(dtype), recurrent_kernel.astype(dtype), bias.astype(dtype)


def block(array: np.ndarray, gate: str) -> np.ndarray:
    """Gate ``gate``'s block of a Keras weight array (the last axis holds the four blocks)."""
    units = array.shape[-1] // 4
    k = GATES.index(gate)
    return array[..., k * units:(k + 1) * units]


def _cell_inputs(seed: int, dtype=np.float64, batch=3, input_dim=4, units=5) -> dict:
    rng = _rng(seed)
    x = rng.standard_normal((batch, input_dim)).astype(dtype)
    h = (0.8 * rng.standard_normal((batch, units))).astype(dtype)
    c = rng.standard_normal((batch, units)).astype(dtype)
    kernel, recurrent_kernel, bias = _weights(rng, input_dim, units, dtype)
    return {"x_t": x, "h_prev": h, "c_prev": c, "kernel": kernel,
            "recurrent_kernel": recurrent_kernel, "bias": bias}


def _sequence_inputs(seed: int, batch=2, steps=4, input_dim=3, units=4, zero_state=False, dtype=np.float64) -> dict:
    rng = _rng(seed)
    x = rng.standard_normal((batch, steps, input_dim))
    kernel, recurrent_kernel, bias = _weights(rng, input_dim, units)
    h0 = np.zeros((batch, units)) if zero_state else 0.8 * rng.standard_normal((batch, units))
    c0 = np.zeros((batch, units)) if zero_state else rng.standard_normal((batch, units))
    values = {"x": x, "kernel": kernel, "recurrent_kernel": recurrent_kernel, "bias": bias, "h0": h0, "c0": c0}
    return {k: v.astype(dtype) for k, v in values.items()}


def gate_inputs(gate: str, name: str) -> dict:
    """The inputs of gate request ``name``: ``x_t``, ``h_prev`` and the gate's blocks ``W``, ``U``, ``b``."""
    shape = {s[0]: s[1:] for s in GATE_SHAPES}[name]
    batch, input_dim, units, dtype = shape
    inputs = _cell_inputs(10 + GATES.index(gate) + 100 * [s[0] for s in GATE_SHAPES].index(name), dtype,
                          batch, input_dim, units)
    return {"x_t": inputs["x_t"], "h_prev": inputs["h_prev"],
            **{k: block(inputs[n], gate) for k, n in (("W", "kernel"), ("U", "recurrent_kernel"), ("b", "bias"))}}


def _call(function: str, args: dict | list, **options) -> dict:
    values = list(args.values()) if isinstance(args, dict) else list(args)
    names = list(args) if isinstance(args, dict) else [f"argument {k + 1}" for k in range(len(values))]
    return {"op": "call", "function": function, "args": values, "arg_names": names, **options}


def _sigmoid_points() -> np.ndarray:
    """Points where the student's sigmoid is asked for its values: random ones and the pre-activations of every
    gate request, together and sorted. A gate that is wrong only through the student's own sigmoid is credited by
    comparing it with these values; the grader, not this module, knows which points are whose pre-activations."""
    pre = []
    for gate in GATES:
        for name, *_ in GATE_SHAPES:
            g = {k: np.asarray(v, dtype=np.float64) for k, v in gate_inputs(gate, name).items()}
            pre.append((g["x_t"] @ g["W"] + g["h_prev"] @ g["U"] + g["b"]).ravel())
    return np.sort(np.concatenate([6.0 * _rng(2).standard_normal(40), *pre]))


@cache
def _all_requests() -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = collections.defaultdict(dict)

    grid = np.array([-1000.0, -710.0, -50.0, -10.0, -2.0, -0.5, -1e-8, 0.0, 1e-8, 0.5, 2.0, 10.0, 50.0, 710.0, 1000.0])
    out["sigmoid"]["grid"] = _call("sigmoid", {"z": grid})
    out["sigmoid"]["matrix"] = _call("sigmoid", {"z": 4.0 * _rng(1).standard_normal((3, 4))})
    out["sigmoid"]["points"] = _call("sigmoid", {"z": _sigmoid_points()})

    for gate in GATES:
        for name, *_ in GATE_SHAPES:  # the gate's calls to the student's sigmoid are recorded (own_sigmoid)
            out[gate][name] = _call(gate, gate_inputs(gate, name), record=["sigmoid"])

    cell_shapes = (("float64", 20, np.float64, 3, 4, 5), ("float32", 21, np.float32, 3, 4, 5),
                   ("batch1", 22, np.float64, 1, 4, 4))
    for name, seed, dtype, batch, input_dim, units in cell_shapes:
        inputs = _cell_inputs(seed, dtype, batch, input_dim, units)
        options = {"keep": [0, 1], "arity": 3, "record": list(GATES)}
        if name == "float64":  # called again on other inputs: the first call's cache must not change
            options["again"] = list(_cell_inputs(23, dtype, batch, input_dim, units).values())
        out["lstm_cell_forward"][name] = _call("lstm_cell_forward", inputs, **options)

    sequences = (("zero_state", _sequence_inputs(31, zero_state=True)), ("given_state", _sequence_inputs(30)),
                 ("batch1_T1", _sequence_inputs(32, batch=1, steps=1, input_dim=3, units=3)),
                 ("float32", _sequence_inputs(33, steps=3, dtype=np.float32)))
    for name, s in sequences:
        args = {k: s[k] for k in SEQUENCE_ARGS[:4]} if name == "zero_state" else s  # zero_state: the defaults
        out["lstm_forward"][name] = {**_call("lstm_forward", args), "op": "sequence_forward", "keep": [0, 1, 2],
                                     "arity": 4, "cell": "lstm_cell_forward", "cell_backward": "lstm_cell_backward",
                                     "state": [s["h0"], s["c0"]]}

    rng = _rng(41)
    for name, cell in (("gradients", _cell_inputs(40, batch=2, input_dim=3, units=4)),
                       ("batch1", _cell_inputs(42, batch=1, input_dim=3, units=3))):
        batch, units = cell["h_prev"].shape
        out["lstm_cell_backward"][name] = {
            "op": "backward", "forward": "lstm_cell_forward", "backward": "lstm_cell_backward",
            "function": "lstm_cell_backward", "args": list(cell.values()), "arg_names": list(CELL_ARGS),
            "backward_arg_names": ["dh_t", "dc_t", "cache"], "arity": 3, "cache_index": 2, "output_index": [0, 1],
            "upstream": [rng.standard_normal((batch, units)), rng.standard_normal((batch, units))],
            "record": list(GATES), "count": list(FORWARD_FUNCTIONS),
        }

    for name, seq in (("gradients", _sequence_inputs(50, batch=2, steps=3, input_dim=3, units=3)),
                      ("batch1_T1", _sequence_inputs(52, batch=1, steps=1, input_dim=2, units=3))):
        batch, steps, _ = seq["x"].shape
        units = seq["h0"].shape[1]
        common = {"function": "lstm_backward", "args": [seq[n] for n in SEQUENCE_ARGS],
                  "arg_names": list(SEQUENCE_ARGS), "cell": "lstm_cell_forward", "forward": "lstm_forward",
                  "cell_backward": "lstm_cell_backward"}
        out["lstm_backward"][name] = {
            **common, "op": "unroll_backward", "backward": "lstm_backward",
            "backward_arg_names": ["dh_seq", "caches"], "record": list(GATES), "count": list(FORWARD_FUNCTIONS),
            "upstream": [_rng(51, batch).standard_normal((batch, steps, units))],
        }
        # the same time loop over a stand-in for lstm_cell_backward (a fixed random linear map per step, of the
        # right shapes): judges the loop alone, whatever the student's cell backward does or raises
        out["lstm_backward"][f"{name}/standin"] = {
            **common, "op": "standin_backward", "backward": "lstm_backward", "seed": 70 + batch,
            "record": list(GATES),
            "backward_arg_names": ["dh_seq", "caches"], "upstream": out["lstm_backward"][name]["upstream"]}
    return dict(out)


def requests(exercise: str) -> dict[str, dict]:
    """The requests the probe evaluates for one exercise (grade cell id)."""
    if exercise not in _all_requests():
        raise KeyError(f"no hidden tests for exercise {exercise!r} of lstm_gates")
    return _all_requests()[exercise]


# --------------------------------------------------------------------------- probe operations of this assignment
def _unroll(namespace, request, record=()) -> list[dict]:
    """The probe's own time loop over the student's ``lstm_cell_forward`` (each step on pristine copies), recording
    the calls each step makes to the functions in ``record``: ``[{"h", "c", "cache", "calls"}]`` per step."""
    cell = probe.lookup(namespace, request["cell"])
    x, kernel, recurrent_kernel, bias, h, c = request["args"]
    steps = []
    for t in range(x.shape[1]):
        with probe.Recorder(namespace, record=record) as recorder:
            called = probe.call_pristine(cell, [x[:, t, :], h, c, kernel, recurrent_kernel, bias])
        h_new, c_new, _ = probe.outputs(called.returned, request["cell"], 3)
        steps.append({"h": h_new, "c": c_new, "cache": probe.outputs(called.value, request["cell"], 3)[2],
                      "calls": recorder.calls})
        h, c = h_new, c_new
    return steps


def _op_sequence_forward(namespace, request) -> dict:
    """The student's ``lstm_forward``, recording the calls it makes to their ``lstm_cell_forward``; then whether
    each ``caches[t]`` is the step-t cache: it holds what the cell returned at step t (:func:`_holds`), or, if
    not, gives the same gradients under the student's own ``lstm_cell_backward`` (2 = holds it, 1 = same
    gradients, 0 = differs, or holds another step's cache; -1 = could not be compared: no usable backward yet, and
    it holds no other step's cache either)."""
    function = probe.lookup(namespace, request["function"])
    with probe.Recorder(namespace, record=[request["cell"]]) as recorder:
        called = probe.call_pristine(function, list(request["args"]))
    returned = probe.outputs(called.returned, request["function"], int(request["arity"]))
    caches = probe.outputs(called.value, request["function"], int(request["arity"]))[3]
    cell_caches = [call["value"][2] if isinstance(call["value"], (tuple, list)) and len(call["value"]) == 3 else None
                   for call in recorder.calls]
    cell_objects = [value[2] if isinstance(value, (tuple, list)) and len(value) == 3 else None
                    for value in recorder.last_values]
    status = []
    if isinstance(caches, (list, tuple)):
        backward = namespace.get(request["cell_backward"])
        snapshots = returned[3] if isinstance(returned[3], (list, tuple)) else caches
        for t, (cache_t, snapshot) in enumerate(zip(caches, snapshots)):
            mine = cell_caches[t] if t < len(cell_caches) else None
            if mine is None:
                status.append(0.0)
            elif cache_t is cell_objects[t] or _holds(snapshot, mine):
                # the very object the cell returned at step t (if the cell itself reuses one object, that is the
                # cell's mistake, charged there), or one holding the same content
                status.append(2.0)
            else:
                compared = _same_gradients(backward, snapshot, mine, recorder.calls[t]["value"][0])
                if compared == -1.0:  # no backward to compare with (it may come later in the notebook)
                    others = [s for s, other in enumerate(cell_caches) if s != t and other is not None
                              and _holds(snapshot, other)]
                    compared = 0.0 if others else -1.0   # another step's cache: reversed, or one object reused
                status.append(compared)
    calls = [{"function": call["function"], "args": call["args"],
              "value": tuple(call["value"][:2]) if isinstance(call["value"], (tuple, list)) else call["value"]}
             for call in recorder.calls]
    extra = {"calls": calls, "caches": np.array(status), "caches_returned": float(
        len(caches) if isinstance(caches, (list, tuple)) else -1)}
    return {"value": tuple(returned[i] for i in request["keep"]), "mutated": called.mutated, "extra": extra}


def _holds(cache: Any, cell_cache: Any) -> bool:
    """Whether ``cache`` holds the cell's cache: the same content, a dict with (at least) its items, or a
    container with it among its elements (a loop may add a key or wrap the cell's cache)."""
    if probe.same(cache, cell_cache):
        return True
    if isinstance(cache, dict) and isinstance(cell_cache, dict):
        return all(k in cache and probe.same(cache[k], v) for k, v in cell_cache.items())
    values = cache.values() if isinstance(cache, dict) else cache if isinstance(cache, (list, tuple)) else ()
    return any(probe.same(v, cell_cache) for v in values)


def _same_gradients(backward, cache_a, cache_b, h_t) -> float:
    if not callable(backward):
        return -1.0
    shape = np.shape(h_t)
    dh, dc = _rng(60).standard_normal(shape), _rng(61).standard_normal(shape)
    try:
        a = probe.call_pristine(backward, [dh, dc, copy.deepcopy(cache_a)]).returned
        b = probe.call_pristine(backward, [dh, dc, copy.deepcopy(cache_b)]).returned
    except Exception:  # noqa: BLE001 - the student's backward raised: the caches cannot be compared through it
        return -1.0
    if not (isinstance(a, dict) and isinstance(b, dict)) or a.keys() != b.keys():
        return 0.0
    try:
        return 1.0 if all(np.allclose(np.asarray(a[k], dtype=float), np.asarray(b[k], dtype=float),
                                      rtol=1e-9, atol=1e-12) for k in a) else 0.0
    except (TypeError, ValueError):
        return 0.0


def _op_unroll_backward(namespace, request) -> dict:
    """The student's ``lstm_backward`` on caches the probe unrolled itself from the student's own cell (so that a
    mistake in the student's ``lstm_forward`` — caches in reverse order, one cache reused — is charged there only);
    if their cell raises, or their backward cannot read those caches, on the caches of their ``lstm_forward``.
    Reports, for the grader, each step's outputs, recorded gate calls and cache arrays."""
    backward = probe.lookup(namespace, request["backward"])
    upstream = request["upstream"]
    try:
        steps = _unroll(namespace, request, record=request.get("record", ()))
    except Exception:  # noqa: BLE001 - the student's cell raised: try their lstm_forward (the same error, usually)
        steps = None
    attempts = []
    if steps is not None:
        attempts.append(("cell", [s["cache"] for s in steps]))
    forward = namespace.get(request["forward"])

    def forward_caches():
        called = probe.call_pristine(probe.lookup(namespace, request["forward"]), list(request["args"]))
        return probe.outputs(called.value, request["forward"], 4)[3]

    error = None
    for via, caches in attempts + ([("lstm_forward", None)] if callable(forward) else []):
        try:
            caches = forward_caches() if caches is None else caches
            with probe.Recorder(namespace, count=request.get("count", ()), pause=[request["cell_backward"]]) \
                    as counter, probe.autodiff_watch() as tapes:
                grads = probe.call_pristine(backward, [*upstream, caches])
        except Exception as exc:  # noqa: BLE001 - try the next way of getting caches, then re-raise the first error
            error = error or exc
            continue
        extra = {"via": via, "steps": _step_report(steps or []),
                 "calls_in_backward": {name: float(n) for name, n in counter.counts.items()},
                 "autodiff_tapes": float(tapes["tapes"])}
        return {"value": grads.returned, "mutated": grads.mutated, "extra": extra}
    if steps is None and error is None:
        raise probe.StudentValue("lstm_cell_forward raised, and there is no lstm_forward to get caches from")
    raise error


GRADIENT_SHAPES = {"dx_t": "bd", "dh_prev": "bu", "dc_prev": "bu", "dkernel": "dU", "drecurrent_kernel": "uU",
                   "dbias": "U"}


def standin_maps(seed: int, steps: int, batch: int, input_dim: int, units: int) -> list[dict]:
    """The stand-in cell backward of step t, as ``{key: (A, B)}``: gradient ``key`` is ``dh @ A + dc @ B``
    (``dh``, ``dc`` flattened), each of the shape the real one has. Shared by the probe and the grader."""
    sizes = {"b": batch, "d": input_dim, "u": units, "U": 4 * units}
    rng = _rng(seed)
    return [{key: tuple(0.3 * rng.standard_normal((batch * units, *(sizes[c] for c in shape))) for _ in range(2))
             for key, shape in GRADIENT_SHAPES.items()} for _ in range(steps)]


def _op_standin_backward(namespace, request) -> dict:
    """The student's ``lstm_backward`` with their ``lstm_cell_backward`` replaced, for the call, by a stand-in
    whose gradients are fixed random linear maps of (dh, dc) at each step (:func:`standin_maps`). What comes out
    is the time loop alone: the grader composes the same maps itself. The caches handed over are the probe's own
    unroll of the student's cell, or, if that cell raises, plain dicts of each step's inputs and weights."""
    backward = probe.lookup(namespace, request["backward"])
    x, kernel, recurrent_kernel, bias, h0, c0 = request["args"]
    batch, steps, input_dim = x.shape
    units = h0.shape[1]
    try:
        unrolled = _unroll(namespace, request, record=request.get("record", ()))
        caches = [step["cache"] for step in unrolled]
    except Exception:  # noqa: BLE001 - the student's cell raised: the loop can still be judged on plain caches
        unrolled = []
        caches = [{"x_t": x[:, t], "kernel": kernel, "recurrent_kernel": recurrent_kernel, "bias": bias}
                  for t in range(steps)]
    passed = [copy.deepcopy(cache) for cache in caches]   # one object per step, even if the cell reuses one
    maps = standin_maps(int(request["seed"]), steps, batch, input_dim, units)
    seen: list[int] = []
    ids = [id(c) for c in passed]            # before the call: a loop may pop from the list it is given
    contents = list(passed)

    def stand_in(dh_t, dc_t, cache):
        t = ids.index(id(cache)) if id(cache) in ids else next(
            (k for k, c in enumerate(contents) if probe.same(c, cache)), None)
        if t is None:
            raise probe.StudentValue("lstm_backward passed lstm_cell_backward a cache that is not one of caches")
        seen.append(t)
        dh, dc = np.ravel(np.asarray(dh_t, dtype=np.float64)), np.ravel(np.asarray(dc_t, dtype=np.float64))
        return {key: np.tensordot(dh, a, axes=1) + np.tensordot(dc, b, axes=1) for key, (a, b) in maps[t].items()}

    name = request["cell_backward"]
    saved = namespace.get(name)
    namespace[name] = stand_in
    try:
        dh_seq = copy.deepcopy(request["upstream"][0])
        snapshot = probe.Snapshot([dh_seq, passed])
        value = backward(dh_seq, passed)
    finally:
        if saved is None:
            namespace.pop(name, None)
        else:
            namespace[name] = saved
    return {"value": copy.deepcopy(value), "mutated": snapshot.modified(),
            "extra": {"steps_called": np.array(seen, dtype=float), "steps": _step_report(unrolled)}}


def _step_report(steps: list[dict]) -> list[dict]:
    """What the grader needs of each step of an unroll: outputs, recorded gate calls, the cache's arrays."""
    return [{"h": s["h"], "c": s["c"], "calls": s["calls"], "cache": probe.cache_leaves(s["cache"])} for s in steps]


OPS = {"sequence_forward": _op_sequence_forward, "unroll_backward": _op_unroll_backward,
       "standin_backward": _op_standin_backward}
