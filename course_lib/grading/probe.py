"""Kernel side of the hidden tests: evaluate a student's functions on fixed inputs and report the values.

This module runs inside the student's (untrusted) kernel, so it never decides anything: it calls the student's
functions on the inputs of an assignment's hidden tests (``course_lib.assignments.<stem>.inputs``) and publishes what they returned as a display output of MIME type
:data:`REPORT_MIME`. The grader's own process parses that output (plain JSON and base64-encoded float arrays, no
pickle) and compares it with the values the reference solution reported when the assignment was built
(:mod:`course_lib.grading.verdicts`). The same :func:`evaluate_requests` runs on the reference at build time, so
expected and submitted values go through exactly the same code path.

It imports only NumPy, the wire format and the assignment's inputs: nothing here knows an expected value, and
nothing computed here decides a verdict on its own (it is the student's kernel: see ``checks.py``). The
operations every assignment can use are here (``call``, ``backward``, ``save_model``); an assignment that needs
another one defines it in its inputs module (``OPS``), which the probe merges in. Every call gets deep copies of
its arguments; arguments a call modified are reported (``mutated``) and restored; :class:`Recorder` records the
calls a function makes to the student's other functions, so the grader can see what a forward computed.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib
import inspect
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_lib.grading.wire import PROTOCOL, digest_args, encode_value

REPORT_MIME = "application/vnd.lstm-course.report+json"
MAX_ERROR_CHARS = 500
Op = Callable[[Mapping[str, Any], Mapping[str, Any]], dict]


# --------------------------------------------------------------------------- evaluation
MAX_RECORDED_CALLS = 64        # calls recorded inside one request (more are counted, not recorded)
MAX_CACHE_LEAVES = 64          # arrays reported from one student cache


class StudentValue(Exception):
    """What the student's code returned cannot be used (wrong arity, not arrays): the student's mistake, said in
    their terms, raised by the probe's own steps."""


class Undefined(StudentValue):
    """A function the hidden test needs is not defined in the notebook (its cell did not run, or was renamed)."""

    def __init__(self, name: str, what: str = "run the cell that defines it, and keep its name"):
        super().__init__(f"`{name}` is not defined: {what}")
        self.name = name


def same(a: Any, b: Any) -> bool:
    """Whether two values are equal in content (arrays bit for bit, NaN equal to NaN), containers recursively."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.shape != b.shape or a.dtype != b.dtype:
            return False
        try:
            return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        except Exception:  # noqa: BLE001 - object arrays: compare what can be compared
            return a is b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    try:
        return a is b or bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def _array_leaves(value: Any, depth: int = 0, seen: set | None = None) -> list[np.ndarray]:
    """The NumPy arrays inside an argument (containers walked), each once."""
    seen = set() if seen is None else seen
    if isinstance(value, np.ndarray):
        if id(value) in seen:
            return []
        seen.add(id(value))
        return [value]
    if depth > 8:
        return []
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, (list, tuple)) else ()
    return [leaf for item in list(items)[:10_000] for leaf in _array_leaves(item, depth + 1, seen)]


class Snapshot:
    """The contents of every array inside some arguments, to tell afterwards which arguments had numbers written
    into them, and to write the numbers back. Consuming a container (popping from the list of caches) is not a
    modification of the inputs: only writing into the caller's arrays is."""

    def __init__(self, args: list):
        self.leaves = [[(leaf, np.array(leaf, copy=True)) for leaf in _array_leaves(arg)] for arg in args]

    def modified(self) -> list[int]:
        return [k for k, leaves in enumerate(self.leaves) if any(not same(a, b) for a, b in leaves)]

    def restore(self) -> None:
        for leaves in self.leaves:
            for array, pristine in leaves:
                if not same(array, pristine):
                    try:
                        array[...] = pristine
                    except (ValueError, TypeError):  # read-only view or reshaped by the call: leave it
                        pass


@dataclass
class Called:
    """One call the probe made: what it returned (``value``, the object itself, whose cache may refer to the
    restored inputs), a deep copy of it taken when it returned (``returned``), and which arguments it modified."""

    value: Any
    returned: Any
    mutated: list[int]


def call_pristine(function: Callable, args: list) -> Called:
    """``function(*args)`` on deep copies of the arguments (caches included): a function that writes into its
    inputs, or consumes a list it is given, changes nothing the probe uses afterwards. The arguments whose arrays
    it wrote into are listed, and the arrays written back to their pristine values after the call (so that a
    cache referring to an input sees it as it was)."""
    passed = copy.deepcopy(list(args))
    snapshot = Snapshot(passed)
    value = function(*passed)
    returned = copy.deepcopy(value)
    mutated = snapshot.modified()
    snapshot.restore()
    return Called(value, returned, mutated)


class Recorder:
    """Wraps functions of the student's namespace for the duration of one probe call, recording each call's
    arguments (bound to the function's own signature, so keyword calls look like positional ones) and result, or
    only counting the calls (not those made from inside a function named in ``pause``: a cell backward's calls
    are its own, not those of the time loop that calls it). A recorded call works on copies of its arguments: a
    gate that writes into ``x_t`` is charged in its own exercise, not in the cell that called it."""

    def __init__(self, namespace, record=(), count=(), pause=()):
        self.namespace = namespace
        self.record, self.count, self.pause = tuple(record), tuple(count), tuple(pause)
        self._paused = 0
        self.calls: list[dict] = []
        self.counts: dict[str, int] = {}
        self.last_values: list[Any] = []   # the objects the recorded calls returned (kept in the kernel)

    def _wrap(self, name: str, function: Callable) -> Callable:
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            signature = None

        def wrapper(*args, **kwargs):
            if name in self.pause:   # calls made inside this function are its own, not the caller's
                self._paused += 1
                try:
                    return function(*args, **kwargs)
                finally:
                    self._paused -= 1
            if not self._paused:
                self.counts[name] = self.counts.get(name, 0) + 1
            if name not in self.record or len(self.calls) >= MAX_RECORDED_CALLS:
                return function(*args, **kwargs)
            try:
                bound = signature.bind(*args, **kwargs) if signature else None
                if bound is not None:
                    bound.apply_defaults()
                positional = list(bound.args) if bound is not None else list(args)  # *args expanded
            except TypeError:
                positional = list(args)
            before = copy.deepcopy(positional)
            # the callee works on copies: if it writes into its arguments, that is charged in its own exercise,
            # and the caller (and whatever the callee returned aliasing them) goes on as in the student's run
            args, kwargs = copy.deepcopy((args, kwargs))
            value = function(*args, **kwargs)
            self.calls.append({"function": name, "args": before, "value": copy.deepcopy(value)})
            self.last_values.append(value)
            return value

        wrapper.__wrapped__ = function
        return wrapper

    def __enter__(self):
        self._saved = {}
        for name in dict.fromkeys(self.record + self.count + self.pause):
            if callable(self.namespace.get(name)):
                self._saved[name] = self.namespace[name]
                self.namespace[name] = self._wrap(name, self._saved[name])
        return self

    def __exit__(self, *exc):
        for name, function in self._saved.items():
            self.namespace[name] = function
        return False


def cache_leaves(cache: Any, limit: int = MAX_CACHE_LEAVES) -> list:
    """The numeric arrays inside a student's cache (dict, list, tuple, nested), at most ``limit``: the grader
    looks among them for the activations the forward computed."""
    leaves: list = []

    def walk(value, depth):
        if len(leaves) >= limit or depth > 6:
            return
        if isinstance(value, Mapping):
            for v in list(value.values())[:limit]:
                walk(v, depth + 1)
        elif isinstance(value, (list, tuple)):
            for v in list(value)[:limit]:
                walk(v, depth + 1)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.size <= 100_000:
            leaves.append(np.array(value, dtype=np.float64))

    walk(cache, 0)
    return leaves


def lists_as_arrays(value: Any, depth: int = 0) -> Any:
    """``value`` with every list of numbers inside it (containers walked) turned into an ndarray; ``value``
    itself if there is none."""
    if depth > 8:
        return value
    if isinstance(value, list) and value and _numeric_list(value):
        return np.asarray(value)
    if isinstance(value, Mapping):
        items = {k: lists_as_arrays(v, depth + 1) for k, v in value.items()}
        return value if all(items[k] is value[k] for k in value) else type(value)(items) if isinstance(
            value, dict) else items
    if isinstance(value, (list, tuple)):
        items = [lists_as_arrays(v, depth + 1) for v in value]
        return value if all(a is b for a, b in zip(items, value)) else type(value)(items)
    return value


def _numeric_list(value: list) -> bool:
    return all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
               or (isinstance(v, list) and v and _numeric_list(v)) for v in value)


def outputs(value: Any, function: str, arity: int) -> tuple:
    """The ``arity`` values a function returned, or a :class:`StudentValue` saying what it returned instead."""
    if not isinstance(value, (tuple, list)) or len(value) != arity:
        got = f"a {type(value).__name__} of length {len(value)}" if isinstance(value, (tuple, list)) else (
            f"a {type(value).__name__}")
        raise StudentValue(f"{function} should return a tuple of {arity} values, got {got}")
    return tuple(value)


def _op_call(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> dict:
    """Call one function; with ``record``, also report the calls it made to those functions of the namespace;
    with ``again`` (other arguments), call it a second time and report whether the first call's cache changed."""
    function = lookup(namespace, request["function"])
    with Recorder(namespace, record=request.get("record", ())) as recorder:
        called = call_pristine(function, list(request["args"]))
    value = called.returned
    extra: dict = {}
    if request.get("record"):
        extra["calls"] = recorder.calls
    if "keep" in request:
        # Report only the outputs that are graded (not the student's cache, whose layout is theirs).
        returned = outputs(value, request["function"], int(request["arity"]))
        value = tuple(returned[i] for i in request["keep"])
        if "again" in request:
            cache = outputs(called.value, request["function"], int(request["arity"]))[-1]
            snapshot = copy.deepcopy(cache)
            call_pristine(function, list(request["again"]))
            extra["cache_unchanged"] = np.array(same(cache, snapshot), dtype=float)
    return {"value": value, "mutated": called.mutated, "extra": extra}


@contextlib.contextmanager
def autodiff_watch():
    """Count the automatic-differentiation tapes (``tf.GradientTape``) opened meanwhile, if TensorFlow is loaded:
    a backward pass computed by an autodiff library is not the derivation the exercise asks for.

    A TensorFlow first imported meanwhile, by the code watched, counts as one tape: its tapes could not be counted
    (a graded notebook may have no TensorFlow loaded before, as 01's comparison with Keras is not run)."""
    used = {"tapes": 0}
    tensorflow = sys.modules.get("tensorflow")
    tape = getattr(tensorflow, "GradientTape", None) if tensorflow is not None else None
    if not isinstance(tape, type):
        try:
            yield used
        finally:
            if tensorflow is None and "tensorflow" in sys.modules:
                used["tapes"] = max(used["tapes"], 1)
        return
    original = tape.__enter__

    def enter(self):
        used["tapes"] += 1
        return original(self)

    tape.__enter__ = enter
    try:
        yield used
    finally:
        tape.__enter__ = original


def _op_backward(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> dict:
    """The student's backward on the cache their own forward returned, for upstream gradients chosen by the grader.

    Reports the analytic gradients and, for the grader to judge them fairly, what the forward computed: its graded
    outputs, the calls it made to the functions named in ``record`` (the gates: the activations it computed) and
    the arrays in its cache. The calls the backward makes to the functions in ``count`` (the forward's) are
    counted: a backward computed by numerical differentiation calls the forward many times. No gradient is computed
    here by the probe: whatever the kernel computes is the student's word.
    """
    forward, backward = lookup(namespace, request["forward"]), lookup(namespace, request["backward"])
    arity, cache_index = int(request["arity"]), int(request["cache_index"])
    with Recorder(namespace, record=request.get("record", ())) as recorder:
        called = call_pristine(forward, list(request["args"]))
    returned = outputs(called.returned, request["forward"], arity)
    cache = outputs(called.value, request["forward"], arity)[cache_index]
    with Recorder(namespace, count=request.get("count", ())) as counter, autodiff_watch() as tapes:
        try:
            grads = call_pristine(backward, [*request["upstream"], cache])
        except Exception:
            # numbers the forward cached as lists (a gate that returned `.tolist()`) are that gate's mistake,
            # charged in its exercise: read them as arrays, and judge the backward if it works then
            arrays = lists_as_arrays(cache)
            if arrays is cache:
                raise
            grads = call_pristine(backward, [*request["upstream"], arrays])
    extra = {"forward": tuple(returned[i] for i in request["output_index"]), "calls": recorder.calls,
             "cache": cache_leaves(returned[cache_index]),
             "calls_in_backward": {name: float(n) for name, n in counter.counts.items()},
             "autodiff_tapes": float(tapes["tapes"])}
    return {"value": grads.returned, "mutated": grads.mutated, "extra": extra}


def _op_save_model(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> dict:
    """Save the student's trained Keras model (``.keras`` format) in the work directory, for the grader to score.

    Nothing is evaluated here: the held-out data never enters the kernel.
    """
    name, filename = request["variable"], request["filename"]
    if name not in namespace:
        raise Undefined(name, f"train and keep your model in a variable named {name}")
    model = namespace[name]
    if not hasattr(model, "save") or type(model).__module__.split(".")[0] not in ("keras", "tf_keras"):
        raise TypeError(f"`{name}` is a {type(model).__name__}, not a Keras model")
    model.save(filename)
    with open(filename, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"value": np.frombuffer(bytes.fromhex(digest), dtype=np.uint8)}


OPS: dict[str, Op] = {
    "save_model": _op_save_model,
    "call": _op_call,
    "backward": _op_backward,
}


def lookup(namespace: Mapping[str, Any], name: str) -> Callable:
    if name not in namespace:
        raise Undefined(name)
    function = namespace[name]
    if not callable(function):
        raise TypeError(f"`{name}` is a {type(function).__name__}, not a function")
    return function


def evaluate_request(namespace: Mapping[str, Any], request: Mapping[str, Any],
                     ops: Mapping[str, Op] | None = None) -> dict:
    """Evaluate one request; an exception becomes an error entry, never a crash of the whole report.

    An error entry says which of the student's functions raised (``raised_in``: the innermost of their frames in
    the traceback), or that the probe itself failed (``grader_error``) when no student code was involved.
    """
    codes = {value.__code__: name for name, value in list(namespace.items()) if inspect.isfunction(value)}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # Overflow, invalid and divide-by-zero are mistakes worth reporting; underflow to 0 is the right answer.
            with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
                result = {**OPS, **(ops or {})}[request["op"]](namespace, request)
    except Undefined as error:
        return {"ok": False, "error": str(error)[:MAX_ERROR_CHARS], "undefined": error.name[:100]}
    except StudentValue as error:
        return {"ok": False, "error": str(error)[:MAX_ERROR_CHARS], "raised_in": str(request.get("function", ""))}
    except Exception as error:  # noqa: BLE001 - the student's exception is the result
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        entry: dict = {"ok": False, "error": message[:MAX_ERROR_CHARS]}
        where = _raised_in(error.__traceback__, codes)
        if where:
            entry["raised_in"] = where
        elif _course_code_raised(error.__traceback__):
            entry["grader_error"] = True
        return entry
    encoded = {"ok": True, "value": encode_value(result["value"])}
    if result.get("mutated"):
        encoded["mutated"] = [int(k) for k in result["mutated"]]
    if result.get("extra"):
        encoded["extra"] = encode_value(result["extra"])
    runtime_warnings = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    if runtime_warnings:
        encoded["warnings"] = runtime_warnings[:5]
    return encoded


_COURSE_DIR = str(Path(__file__).resolve().parents[1])


def _raised_in(traceback, codes: dict) -> str:
    """The name of the innermost student function in a traceback ("" if none)."""
    name = ""
    while traceback is not None:
        name = codes.get(traceback.tb_frame.f_code, name)
        traceback = traceback.tb_next
    return name


def _course_code_raised(traceback) -> bool:
    """Whether the innermost frame that is not NumPy's belongs to the course's own code (a grader-side failure)."""
    last = ""
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if "numpy" not in filename:
            last = filename
        traceback = traceback.tb_next
    return last.startswith(_COURSE_DIR)


def evaluate_requests(namespace: Mapping[str, Any], requests: Mapping[str, Mapping[str, Any]],
                      ops: Mapping[str, Op] | None = None) -> dict:
    """Evaluate every request of an exercise: ``{request id: result}``, each with the digest of its inputs."""
    results = {}
    for request_id, request in requests.items():
        result = evaluate_request(namespace, request, ops)
        result["args_digest"] = digest_args(request.get("args", []))
        results[request_id] = result
    return results


def load_inputs(stem: str):
    """``course_lib.assignments.<stem>.inputs``: the hidden tests' inputs (no expected values)."""
    if not stem.isidentifier():
        raise ValueError(f"bad assignment key {stem!r}")
    return importlib.import_module(f"course_lib.assignments.{stem}.inputs")


def report_values(stem: str, exercise: str, namespace: Mapping[str, Any]) -> None:
    """Called by a hidden test cell: evaluate the exercise's requests and display the values for the grader."""
    from IPython.display import display  # only inside a kernel

    inputs = load_inputs(stem)
    requests = inputs.requests(exercise)
    payload = {
        "protocol": PROTOCOL,
        "suite": stem,
        "exercise": exercise,
        "results": evaluate_requests(namespace, requests, getattr(inputs, "OPS", None)),
    }
    failed = sum(not r["ok"] for r in payload["results"].values())
    summary = f"[lstm-course] {exercise}: values reported to the grader ({len(requests)} requests"
    summary += f", {failed} raised an error)" if failed else ")"
    display({REPORT_MIME: payload, "text/plain": summary}, raw=True)
