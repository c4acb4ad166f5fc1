"""Kernel side of the hidden tests: evaluate a student's functions on fixed inputs and report the values.

This module runs inside the student's (untrusted) kernel, so it never decides anything: it calls the student's
functions on the inputs of an assignment's hidden tests (``course_lib.assignments.<stem>.inputs``) and publishes what they returned as a display output of MIME type
:data:`REPORT_MIME`. The grader's own process parses that output (plain JSON and base64-encoded float arrays, no
pickle) and compares it with the values the reference solution reported when the assignment was built
(:mod:`course_lib.grading.verdicts`). The same :func:`evaluate_requests` runs on the reference at build time, so
expected and submitted values go through exactly the same code path.

It imports only NumPy, the wire format and the assignment's inputs: nothing here knows an expected value. The
operations every assignment can use are here (``call``, ``gradcheck``, ``save_model``); an assignment that needs
another one defines it in its inputs module (``OPS``), which the probe merges in.
"""
from __future__ import annotations

import copy
import hashlib
import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from course_lib.grading.wire import PROTOCOL, digest_args, encode_value

REPORT_MIME = "application/vnd.lstm-course.report+json"
MAX_ERROR_CHARS = 500
Op = Callable[[Mapping[str, Any], Mapping[str, Any]], dict]


# --------------------------------------------------------------------------- evaluation
def call_pristine(function: Callable, args: list) -> Any:
    """``function(*args)`` on deep copies of the arguments (caches included): a function that writes into its
    inputs, or consumes a list it is given, changes nothing the probe uses afterwards."""
    return function(*copy.deepcopy(list(args)))


def _op_call(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> dict:
    function = lookup(namespace, request["function"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Overflow, invalid and divide-by-zero are mistakes worth reporting; underflow to 0 is the right answer.
        with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
            value = call_pristine(function, list(request["args"]))
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


def gradcheck(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> tuple[dict, Any]:
    """Analytic gradients from the student's backward, numerical ones from the student's own forward.

    The loss is ``sum(upstream[k] * forward_output[k])``; the numerical gradient uses central differences.
    Returns the reported value and the forward's outputs (for an assignment's operation that builds on them).
    """
    forward = lookup(namespace, request["forward"])
    backward = lookup(namespace, request["backward"])
    names: list[str] = list(request["arg_names"])
    args = {name: np.array(value, dtype=np.float64) for name, value in zip(names, request["args"])}
    upstream = [np.asarray(u, dtype=np.float64) for u in request["upstream"]]
    output_index = list(request["output_index"])
    eps = float(request.get("eps", 1e-5))

    def loss() -> float:
        outputs = call_pristine(forward, [args[n] for n in names])
        return float(sum(np.sum(np.asarray(outputs[i], dtype=np.float64) * u)
                         for i, u in zip(output_index, upstream)))

    outputs = call_pristine(forward, [args[n] for n in names])
    cache = outputs[request["cache_index"]]
    analytic = call_pristine(backward, [*upstream, cache])
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
    return {"analytic": analytic, "numeric": numeric, "forward": forward_outputs}, outputs


def _op_gradcheck(namespace: Mapping[str, Any], request: Mapping[str, Any]) -> dict:
    return {"value": gradcheck(namespace, request)[0]}


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


OPS: dict[str, Op] = {
    "save_model": _op_save_model,
    "call": _op_call,
    "gradcheck": _op_gradcheck,
}


def lookup(namespace: Mapping[str, Any], name: str) -> Callable:
    if name not in namespace:
        raise NameError(f"`{name}` is not defined: run the cell that defines it, and keep its name")
    function = namespace[name]
    if not callable(function):
        raise TypeError(f"`{name}` is a {type(function).__name__}, not a function")
    return function


def evaluate_request(namespace: Mapping[str, Any], request: Mapping[str, Any],
                     ops: Mapping[str, Op] | None = None) -> dict:
    """Evaluate one request; an exception becomes an error entry, never a crash of the whole report."""
    try:
        result = {**OPS, **(ops or {})}[request["op"]](namespace, request)
    except Exception as error:  # noqa: BLE001 - the student's exception is the result
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return {"ok": False, "error": message[:MAX_ERROR_CHARS]}
    encoded = {"ok": True, "value": encode_value(result["value"])}
    if "warnings" in result:
        encoded["warnings"] = result["warnings"]
    return encoded


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
