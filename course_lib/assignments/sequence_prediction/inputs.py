"""Hidden tests of assignment 02 (sequence prediction), as data: the inputs, and the probe operations only this
assignment needs. This module runs in the student's kernel (the only module of the assignment a kernel imports):
inputs only, no expected value, no solution, no decision (``checks.py`` decides, in the grader's process).

The trained models are not evaluated here: the probe saves them (``save_model``) and the grader scores the files
on held-out data this module never sees (``source/02_sequence_prediction/hidden/``).
"""
from __future__ import annotations

import collections
from functools import cache

import numpy as np

from course_lib.grading import probe

#: the notebook's window and adding-problem length; the held-out data is built for these
WINDOW = 24
T = 100
#: the model variables the notebook trains, and the file each is saved to for the grader
MODELS = {"regressor": "regressor", "adding_lstm": "adding_lstm", "adding_rnn": "adding_rnn"}
#: adding-problem calls (name, n, T, seed): small ones checked exactly for structure, one large for statistics
ADDING_CALLS = (("small", 64, 10, 1), ("odd_T", 50, 7, 2), ("T2", 20, 2, 3), ("T100", 16, 100, 4))
ADDING_SAMPLE = ("sample", 4000, 20, 5)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([20261203, *key])


def _call(function: str, args: dict, **options) -> dict:
    return {"op": "call", "function": function, "args": list(args.values()), "arg_names": list(args), **options}


def _series(key: int, n: int, dtype=np.float64) -> np.ndarray:
    return (10 + 3 * _rng(key).standard_normal(n)).astype(dtype)


@cache
def _all_requests() -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = collections.defaultdict(dict)
    windows = out["make_windows"]
    windows["index_series"] = _call("make_windows", {"series": np.arange(12.0), "window": 3, "horizon": 1},
                                    keep=[0, 1], arity=2)
    windows["window5"] = _call("make_windows", {"series": _series(1, 40), "window": 5, "horizon": 1},
                               keep=[0, 1], arity=2)
    windows["horizon3"] = _call("make_windows", {"series": _series(2, 30), "window": 4, "horizon": 3},
                                keep=[0, 1], arity=2)
    windows["horizon_index"] = _call("make_windows", {"series": np.arange(20.0), "window": 6, "horizon": 5},
                                     keep=[0, 1], arity=2)
    windows["float32"] = _call("make_windows", {"series": _series(3, 50, np.float32), "window": 24, "horizon": 1},
                               keep=[0, 1], arity=2)
    windows["exact_length"] = _call("make_windows", {"series": _series(4, 7), "window": 5, "horizon": 2},
                                    keep=[0, 1], arity=2)
    windows["window1"] = _call("make_windows", {"series": _series(5, 6), "window": 1, "horizon": 1},
                               keep=[0, 1], arity=2)
    windows["too_short"] = _call("make_windows", {"series": _series(6, 6), "window": 5, "horizon": 2},
                                 raises=True)

    # a training part, and points inside and outside its range (new data is not bounded by the training data)
    scalers = out["fit_scaler"]
    for name, key, n, dtype in (("float64", 10, 50, np.float64), ("float32", 11, 30, np.float32),
                                ("two_values", 12, 2, np.float64)):
        train = _series(key, n, dtype)
        points = np.concatenate([train[:5], np.linspace(train.min() - 3, train.max() + 3, 9)]).astype(dtype)
        scalers[name] = {"op": "scaler", "function": "fit_scaler", "args": [train, points],
                         "arg_names": ["train", "points"]}
    scalers["constant"] = {"op": "scaler", "function": "fit_scaler", "args": [np.full(10, 4.0), np.zeros(3)],
                           "arg_names": ["train", "points"], "raises": True}

    splits = out["scale_splits"]
    for name, key, sizes in (("wider_test", 20, (60, 15, 15)), ("short", 21, (8, 3, 3))):
        rng = _rng(key)
        train = 10 + 2 * rng.standard_normal(sizes[0])
        val = 10 + 4 * rng.standard_normal(sizes[1])
        test = 14 + 5 * rng.standard_normal(sizes[2])   # partly above the training range: scaled values above 1
        splits[name] = _call("scale_splits", {"train": train, "val": val, "test": test}, keep=[0, 1, 2], arity=4)

    for name, n, steps, seed in (*ADDING_CALLS, ADDING_SAMPLE):
        out["make_adding_data"][name] = {"op": "adding", "function": "make_adding_data", "args": [n, steps, seed],
                                         "arg_names": ["n", "T", "seed of rng"]}

    for exercise, variable in MODELS.items():
        out[exercise]["model"] = {"op": "save_model", "variable": variable, "filename": f"{variable}.keras",
                                  "function": variable}
    out["adding_rnn"]["budget"] = {"op": "budget", "function": "rnn_history", "notebook_state": True,
                                   "histories": ["lstm_history", "rnn_history"]}
    return dict(out)


def requests(exercise: str) -> dict[str, dict]:
    """The requests the probe evaluates for one exercise (grade cell id)."""
    if exercise not in _all_requests():
        raise KeyError(f"no hidden tests for exercise {exercise!r} of sequence_prediction")
    return _all_requests()[exercise]


# --------------------------------------------------------------------------- probe operations of this assignment
def _op_scaler(namespace, request) -> dict:
    """``fit_scaler(train)``, then the returned scaler's ``transform(points)`` and ``inverse(transform(points))``."""
    fit = probe.lookup(namespace, request["function"])
    train, points = request["args"]
    scaler = probe.call_pristine(fit, [train]).returned
    for method in ("transform", "inverse"):
        if not callable(getattr(scaler, method, None)):
            raise probe.StudentValue(f"fit_scaler should return a scaler with transform and inverse methods, got "
                                     f"a {type(scaler).__name__} without {method}")
    scaled = np.asarray(scaler.transform(points.copy()), dtype=np.float64)
    return {"value": (scaled, np.asarray(scaler.inverse(scaled.copy()), dtype=np.float64))}


def _op_adding(namespace, request) -> dict:
    """``make_adding_data(n, T, np.random.default_rng(seed))``: the data it returned."""
    function = probe.lookup(namespace, request["function"])
    n, steps, seed = request["args"]
    returned = probe.outputs(function(n, steps, np.random.default_rng(seed)), request["function"], 2)
    X, y = (np.asarray(value) for value in returned)
    return {"value": (X, y)}


def _op_budget(namespace, request) -> dict:
    """For each History named: ``[epochs run, steps per epoch]`` (what ``fit`` returned, as the kernel says)."""
    rows = []
    for name in request["histories"]:
        if name not in namespace:
            raise probe.Undefined(name, f"keep the History that fit returned in a variable named {name}")
        history = namespace[name]
        params = getattr(history, "params", None)
        if not isinstance(params, dict) or not isinstance(getattr(history, "epoch", None), list):
            raise probe.StudentValue(f"`{name}` is a {type(history).__name__}, not the History that fit returned")
        rows.append([float(len(history.epoch)), float(params.get("steps") or 0)])
    return {"value": np.array(rows)}


OPS = {"scaler": _op_scaler, "adding": _op_adding, "budget": _op_budget}
