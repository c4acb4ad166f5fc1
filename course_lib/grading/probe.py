"""Kernel side of the hidden tests: evaluate a student's functions on fixed inputs and report the values.

This module runs inside the student's (untrusted) kernel, so it never decides anything: it calls the student's
functions on the inputs of a test suite and publishes what they returned as a display output of MIME type
:data:`REPORT_MIME`. The grader's own process parses that output (plain JSON and base64-encoded float arrays, no
pickle) and compares it with the values the reference solution reported when the assignment was built
(:mod:`course_lib.grading.verdicts`). The same :func:`evaluate_requests` runs on the reference at build time, so
expected and submitted values go through exactly the same code path.

It imports only NumPy and the suite's input definitions: nothing here knows an expected value.
"""
from __future__ import annotations

import base64
import hashlib
import importlib
import json
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

REPORT_MIME = "application/vnd.lstm-course.report+json"
PROTOCOL = 1
MAX_ERROR_CHARS = 500


# --------------------------------------------------------------------------- wire format
def encode_value(value: Any) -> Any:
    """Turn a returned value into JSON: arrays and numbers as float64 bytes, containers recursively.

    Anything that is not numeric data (an object that compares equal to anything, a string, None) is encoded
    as ``{"__unsupported__": type name}``, which never matches an expected array.
    """
    if isinstance(value, Mapping):
        return {"__dict__": {str(k): encode_value(v) for k, v in value.items()}}
    if isinstance(value, (tuple, list)) and not _is_numeric_sequence(value):
        return {"__tuple__": [encode_value(v) for v in value]}
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - any failure means "not numeric data"
        return {"__unsupported__": type(value).__name__}
    if array.dtype.kind not in "biuf":
        return {"__unsupported__": f"{type(value).__name__} of dtype {array.dtype}"}
    data = np.ascontiguousarray(array, dtype="<f8")
    return {
        "__array__": base64.b64encode(data.tobytes()).decode("ascii"),
        "dtype": str(array.dtype),
        "shape": list(array.shape),
    }


def decode_value(obj: Any) -> Any:
    """Inverse of :func:`encode_value`; validates sizes so a malformed report cannot allocate or crash."""
    if not isinstance(obj, dict):
        raise ValueError(f"malformed value {type(obj).__name__}")
    if "__dict__" in obj:
        return {str(k): decode_value(v) for k, v in dict(obj["__dict__"]).items()}
    if "__tuple__" in obj:
        return tuple(decode_value(v) for v in list(obj["__tuple__"]))
    if "__unsupported__" in obj:
        return Unsupported(str(obj["__unsupported__"])[:200])
    if "__array__" in obj:
        shape = tuple(int(n) for n in obj["shape"])
        if any(n < 0 for n in shape) or len(shape) > 8:
            raise ValueError(f"malformed array shape {shape}")
        raw = base64.b64decode(str(obj["__array__"]), validate=True)
        if len(raw) != 8 * int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"array data does not match its shape {shape}")
        array = np.frombuffer(raw, dtype="<f8").reshape(shape).copy()
        return Reported(array, str(obj.get("dtype", "float64"))[:40])
    raise ValueError("malformed value: unknown kind")


class Unsupported(str):
    """A returned value that was not numeric data; the string names its type."""


class Reported(np.ndarray):
    """A float64 array as reported, remembering the dtype the student's code returned."""

    def __new__(cls, array: np.ndarray, original_dtype: str) -> "Reported":
        obj = np.asarray(array).view(cls)
        obj.original_dtype = original_dtype
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.original_dtype = getattr(obj, "original_dtype", "float64")


def _is_numeric_sequence(value: tuple | list) -> bool:
    return all(
        isinstance(v, (bool, int, float, np.number)) or (isinstance(v, (list, tuple)) and _is_numeric_sequence(v))
        for v in value
    )


def digest_args(args: Any) -> str:
    """A digest of a request's inputs: detects a suite that changed between build and grading."""
    return hashlib.sha256(json.dumps(encode_value(args), sort_keys=True).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- evaluation
def _call(function: Callable, args: list) -> Any:
    # Fresh copies: a function that writes into its inputs must not change the next request's inputs.
    return function(*[np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args])


def _op_call(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> dict:
    function = _lookup(namespace, request["function"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Overflow, invalid and divide-by-zero are mistakes worth reporting; underflow to 0 is the right answer.
        with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
            value = _call(function, list(request["args"]))
    if "keep" in request:
        # Report only the outputs that are graded (not the student's cache, whose layout is theirs).
        arity = int(request["arity"])
        if not isinstance(value, (tuple, list)) or len(value) != arity:
            got = f"a {type(value).__name__} of length {len(value)}" if isinstance(value, (tuple, list)) else (
                f"a {type(value).__name__}")
            raise TypeError(f"{request['function']} should return a tuple of {arity} values, got {got}")
        value = tuple(value[i] for i in request["keep"])
    runtime_warnings = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    return {"value": value, "warnings": runtime_warnings[:5]}


def _op_unroll(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> dict:
    """Run the student's own cell over the sequence, feeding each state to the next step.

    Lets the grader tell a bug in the time loop from a bug in the cell it calls, so each is charged once. With
    ``gates`` (``{function name: [W, U, b]}``, blocks cut by the grader), also report what the student's gate
    functions give at each step's state: the activations a correct backward pass would work from.
    """
    cell = _lookup(namespace, request["function"])
    x, kernel, recurrent_kernel, bias, h, c = request["args"]
    gates = {name: (_lookup(namespace, name), blocks) for name, blocks in request.get("gates", {}).items()}
    h_steps, c_steps, gate_steps = [], [], {name: [] for name in gates}
    for t in range(x.shape[1]):
        for name, (gate, blocks) in gates.items():
            gate_steps[name].append(np.asarray(_call(gate, [x[:, t, :], h, *blocks])))
        h, c, _ = _call(cell, [x[:, t, :], h, c, kernel, recurrent_kernel, bias])
        h_steps.append(np.asarray(h))
        c_steps.append(np.asarray(c))
    value = {"h_seq": np.stack(h_steps, axis=1), "h_T": h, "c_T": c, "c_seq": np.stack(c_steps, axis=1)}
    value.update({name: np.stack(steps, axis=1) for name, steps in gate_steps.items()})
    return {"value": value}


def _op_gradcheck(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> dict:
    """Analytic gradients from the student's backward, numerical ones from the student's own forward.

    The loss is ``sum(upstream[k] * forward_output[k])``; the numerical gradient uses central differences.
    """
    forward = _lookup(namespace, request["forward"])
    backward = _lookup(namespace, request["backward"])
    names: list[str] = list(request["arg_names"])
    args = {name: np.array(value, dtype=np.float64) for name, value in zip(names, request["args"])}
    upstream = [np.asarray(u, dtype=np.float64) for u in request["upstream"]]
    output_index = list(request["output_index"])
    eps = float(request.get("eps", 1e-5))

    def loss() -> float:
        outputs = _call(forward, [args[n] for n in names])
        return float(sum(np.sum(np.asarray(outputs[i], dtype=np.float64) * u)
                         for i, u in zip(output_index, upstream)))

    outputs = _call(forward, [args[n] for n in names])
    cache = outputs[request["cache_index"]]
    analytic = backward(*[np.array(u, copy=True) for u in upstream], cache)
    numeric = {}
    for name in request["wrt"]:
        array = args[name]
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            plus = loss()
            array[index] = saved - eps
            minus = loss()
            array[index] = saved
            grad[index] = (plus - minus) / (2 * eps)
        numeric[name] = grad
    forward_outputs = [outputs[i] for i in output_index]
    value = {"analytic": analytic, "numeric": numeric, "forward": forward_outputs}
    if request.get("cell_backward"):
        value["cell_backward_basis"] = _cell_backward_basis(namespace, request["cell_backward"], outputs[0], cache)
    return {"value": value}


def _cell_backward_basis(namespace: Mapping[str, Any], name: str, h_seq: Any, caches: Any) -> dict:
    """The student's cell backward applied to unit upstream gradients at every step of their own forward.

    A backward step is linear in (dh_t, dc_t), so these columns let the grader compose, in its own process, what
    backpropagation through time gives with the student's *own* cell backward: a mistake in the cell backward is
    then charged to the cell backward only.
    """
    cell_backward = _lookup(namespace, name)
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
                grads = cell_backward(*args, caches[t])
                for key, array in grads.items():
                    columns.setdefault(f"{which}/{key}", []).append(np.asarray(array, dtype=np.float64))
    return {key: np.stack(arrays).reshape(steps, batch * units, *arrays[0].shape) for key, arrays in columns.items()}


def _op_save_model(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> dict:
    """Save the student's trained Keras model (``.keras`` format) in the work directory, for the grader to score.

    Nothing is evaluated here: the held-out data never enters the kernel.
    """
    name, filename = request["variable"], request["filename"]
    if name not in namespace:
        raise NameError(f"`{name}` is not defined: train and keep your model in a variable named {name}")
    model = namespace[name]
    if not hasattr(model, "save") or type(model).__module__.split(".")[0] not in ("keras", "tf_keras"):
        raise TypeError(f"`{name}` is a {type(model).__name__}, not a Keras model")
    model.save(filename)
    with open(filename, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"value": np.frombuffer(bytes.fromhex(digest), dtype=np.uint8)}


OPS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], dict]] = {
    "save_model": _op_save_model,
    "call": _op_call,
    "unroll": _op_unroll,
    "gradcheck": _op_gradcheck,
}


def _lookup(namespace: Mapping[str, Any], name: str) -> Callable:
    if name not in namespace:
        raise NameError(f"`{name}` is not defined: run the cell that defines it, and keep its name")
    function = namespace[name]
    if not callable(function):
        raise TypeError(f"`{name}` is a {type(function).__name__}, not a function")
    return function


def evaluate_request(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> dict:
    """Evaluate one request; an exception becomes an error entry, never a crash of the whole report."""
    try:
        result = OPS[request["op"]](namespace, request)
    except Exception as error:  # noqa: BLE001 - the student's exception is the result
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return {"ok": False, "error": message[:MAX_ERROR_CHARS]}
    encoded = {"ok": True, "value": encode_value(result["value"])}
    if "warnings" in result:
        encoded["warnings"] = result["warnings"]
    return encoded


def evaluate_requests(namespace: Mapping[str, Any], requests: Mapping[str, Mapping[str, Any]]) -> dict:
    """Evaluate every request of an exercise: ``{request id: result}``, each with the digest of its inputs."""
    results = {}
    for request_id, request in requests.items():
        result = evaluate_request(namespace, request)
        result["args_digest"] = digest_args(request.get("args", []))
        results[request_id] = result
    return results


def load_suite(suite: str):
    """The suite module ``course_lib.grading.suites.<suite>`` (input definitions only, no expected values)."""
    if not suite.isidentifier():
        raise ValueError(f"bad suite name {suite!r}")
    return importlib.import_module(f"course_lib.grading.suites.{suite}")


def report_values(suite: str, exercise: str, namespace: Mapping[str, Any]) -> None:
    """Called by a hidden test cell: evaluate the exercise's requests and display the values for the grader."""
    from IPython.display import display  # only inside a kernel

    requests = load_suite(suite).requests(exercise)
    payload = {
        "protocol": PROTOCOL,
        "suite": suite,
        "exercise": exercise,
        "results": evaluate_requests(namespace, requests),
    }
    failed = sum(not r["ok"] for r in payload["results"].values())
    summary = f"[lstm-course] {exercise}: values reported to the grader ({len(requests)} requests"
    summary += f", {failed} raised an error)" if failed else ")"
    display({REPORT_MIME: payload, "text/plain": summary}, raw=True)
