"""The wire format between a kernel and the grader: returned values as JSON, never pickle.

Arrays and numbers travel as float64 bytes (base64) with their shape, original dtype and original container (an
ndarray, a NumPy or Python scalar, or a list or tuple of numbers), so that a check can fail a list where an array
is asked for; other containers recursively, keeping list, tuple and dict apart. :func:`decode_value` runs in the
grader on what an untrusted kernel displayed, so it validates sizes and depth before it allocates anything.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

PROTOCOL = 2
#: what a numeric value was in the kernel: ``container`` of a :class:`Reported` array
CONTAINERS = ("ndarray", "scalar", "list", "tuple")


def encode_value(value: Any) -> Any:
    """Turn a returned value into JSON: arrays and numbers as float64 bytes, containers recursively.

    Strings are kept (at most :data:`MAX_STRING` characters); anything else that is not numeric data (an object
    that compares equal to anything, None) is encoded as ``{"__unsupported__": type name}``, which never matches
    an expected array.
    """
    if isinstance(value, Mapping):
        return {"__dict__": {str(k): encode_value(v) for k, v in value.items()}}
    if type(value) is str:  # names in the probe's records; a string where numbers are asked fails its check
        return {"__str__": value[:MAX_STRING]}
    if isinstance(value, (tuple, list)) and not (value and _is_numeric_sequence(value)):
        key = "__tuple__" if isinstance(value, tuple) else "__list__"
        return {key: [encode_value(v) for v in value]}
    if isinstance(value, np.ndarray):
        container = "ndarray" if type(value) is np.ndarray else f"ndarray subclass {type(value).__name__}"
    elif isinstance(value, (bool, int, float, np.number, np.bool_)):
        container = "scalar"
    elif isinstance(value, (tuple, list)):
        container = type(value).__name__
    else:
        return {"__unsupported__": type(value).__name__}
    try:
        array = np.asarray(value) if type(value) is not np.ndarray else value
        if container.startswith("ndarray subclass"):
            array = np.array(value.view(np.ndarray))
    except Exception:  # noqa: BLE001 - any failure means "not numeric data"
        return {"__unsupported__": type(value).__name__}
    if array.dtype.kind not in "biuf":
        return {"__unsupported__": f"{type(value).__name__} of dtype {array.dtype}"}
    data = np.ascontiguousarray(array, dtype="<f8")
    return {
        "__array__": base64.b64encode(data.tobytes()).decode("ascii"),
        "dtype": str(array.dtype),
        "shape": list(array.shape),
        "container": container,
    }


MAX_STRING = 200              # characters of a string value
MAX_DEPTH = 32                # containers inside containers: far more than any request returns
MAX_ELEMENTS = 50_000_000     # numbers in one array (400 MB as float64; the report itself is bounded before)


def decode_value(obj: Any, depth: int = 0) -> Any:
    """Inverse of :func:`encode_value`; validates depth and sizes so a malformed report cannot allocate, recurse
    without end or overflow: anything out of bounds raises ``ValueError`` with what is wrong."""
    if depth > MAX_DEPTH:
        raise ValueError(f"malformed value: nested more than {MAX_DEPTH} levels deep")
    if not isinstance(obj, dict):
        raise ValueError(f"malformed value {type(obj).__name__}")
    if "__dict__" in obj:
        return {str(k)[:200]: decode_value(v, depth + 1) for k, v in dict(obj["__dict__"]).items()}
    if "__tuple__" in obj:
        return tuple(decode_value(v, depth + 1) for v in list(obj["__tuple__"]))
    if "__list__" in obj:
        return [decode_value(v, depth + 1) for v in list(obj["__list__"])]
    if "__str__" in obj:
        return str(obj["__str__"])[:MAX_STRING]
    if "__unsupported__" in obj:
        return Unsupported(str(obj["__unsupported__"])[:200])
    if "__array__" in obj:
        dims = list(obj["shape"])
        if len(dims) > 8 or not all(isinstance(n, int) and 0 <= n <= MAX_ELEMENTS for n in dims):
            raise ValueError(f"malformed array shape {str(dims)[:100]}")
        shape = tuple(dims)
        if math.prod(shape) > MAX_ELEMENTS:
            raise ValueError(f"array of shape {shape} is larger than the grader reads ({MAX_ELEMENTS} numbers)")
        raw = base64.b64decode(str(obj["__array__"]), validate=True)
        if len(raw) != 8 * int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"array data does not match its shape {shape}")
        array = np.frombuffer(raw, dtype="<f8").reshape(shape).copy()
        return Reported(array, str(obj.get("dtype", "float64"))[:40], str(obj.get("container", "ndarray"))[:60])
    raise ValueError("malformed value: unknown kind")


class Unsupported(str):
    """A returned value that was not numeric data; the string names its type."""


class Reported(np.ndarray):
    """A float64 array as reported, remembering the dtype and the container the student's code returned
    (``container``: ``"ndarray"``, ``"scalar"``, ``"list"``, ``"tuple"`` or ``"ndarray subclass <name>"``)."""

    def __new__(cls, array: np.ndarray, original_dtype: str, container: str = "ndarray") -> "Reported":
        obj = np.asarray(array).view(cls)
        obj.original_dtype = original_dtype
        obj.container = container
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.original_dtype = getattr(obj, "original_dtype", "float64")
        self.container = getattr(obj, "container", "ndarray")

    @property
    def is_array(self) -> bool:
        """Whether the student's code returned a NumPy array (or a NumPy scalar, for a 0-d value)."""
        return self.container == "ndarray" or (self.container == "scalar" and self.ndim == 0)


def _is_numeric_sequence(value: tuple | list) -> bool:
    return all(
        isinstance(v, (bool, int, float, np.number)) or (isinstance(v, (list, tuple)) and _is_numeric_sequence(v))
        for v in value
    )


def digest_args(args: Any) -> str:
    """A digest of a request's inputs: detects a suite that changed between build and grading."""
    return hashlib.sha256(json.dumps(encode_value(args), sort_keys=True).encode()).hexdigest()[:16]
