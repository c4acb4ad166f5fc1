"""How the grader judges the hidden tests of assignment 02: checks, tolerances, thresholds and hints.

Grader side only (never imported by a kernel). Functions with one right answer are compared with the reference's
values (``make_windows`` exactly; the scalers to float precision). ``make_adding_data`` draws random data, so its
checks are properties: exact structure on small calls, and the distribution on a large one (tolerances of at
least six standard deviations, so a correct generator fails with odds below one in a million, whatever order it
draws its numbers in). The three trained models are saved by the probe and scored here on held-out data the
kernel never sees (:mod:`course_lib.grading.models`); the thresholds and their margins come from the study in
``benchmarks/sequence_prediction_thresholds.py`` (figures in its docstring).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.assignments.sequence_prediction.inputs import ADDING_CALLS, ADDING_SAMPLE
from course_lib.grading.checks import Check

#: the regressor must reach at most this fraction of the better naive baseline's MSE on the held-out hours.
#: Measured on five seeds: the reference 0.32-0.37; an LSTM trained to copy the window's last value (the
#: off-by-one windows, or the last value as target) 0.85-1.00
REGRESSOR_BEAT_BY = 0.6
#: held-out MSE the adding-problem LSTM must reach. Measured on five seeds after 8 epochs: the reference at most
#: 0.0014; with Keras' default learning rate at least 0.1605; a SimpleRNN with the same budget at least 0.1632
#: (predicting 1.0: 1/6)
ADDING_THRESHOLD = 0.02


def _arrays(value: Any) -> tuple[np.ndarray, np.ndarray] | str:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return "it should return (X, y)"
    X, y = (np.asarray(v, dtype=np.float64) for v in value)
    if X.ndim != 3 or X.shape[-1] != 2:
        return f"X has shape {X.shape}, expected (n, T, 2)"
    if y.shape != (X.shape[0],):
        return f"y has shape {y.shape}, expected ({X.shape[0]},) for X of shape {X.shape}"
    return X, y


def adding_structure(value: Any, request: dict) -> str:
    """Exactly one marker in each half, values in [0, 1), y the sum of the marked values; "" if all hold."""
    arrays = _arrays(value)
    if isinstance(arrays, str):
        return arrays
    X, y = arrays
    n, steps = int(request["args"][0]), int(request["args"][1])
    if X.shape[:2] != (n, steps):
        return f"X has shape {X.shape}, expected ({n}, {steps}, 2)"
    values, markers = X[..., 0], X[..., 1]
    half = steps // 2
    if not np.isin(markers, (0.0, 1.0)).all():
        return "the markers X[..., 1] should be 0 or 1"
    first, second = markers[:, :half].sum(axis=1), markers[:, half:].sum(axis=1)
    bad = np.flatnonzero((first != 1) | (second != 1))
    if bad.size:
        row = int(bad[0])
        return (f"sequence {row} has {int(first[row])} marker(s) in the first half (steps 0-{half - 1}) and "
                f"{int(second[row])} in the second (steps {half}-{steps - 1}): exactly one in each half")
    # 1.0 itself is allowed: a float32 array rounds draws above 1 - 2**-25 up to it (about 3 in 10**8 values)
    if not ((values >= 0) & (values <= 1)).all():
        return f"the values X[..., 0] should lie in [0, 1), found {values.min():.3g} to {values.max():.3g}"
    marked = (values * markers).sum(axis=1)
    if not np.allclose(y, marked, rtol=1e-5, atol=1e-6):
        row = int(np.argmax(np.abs(y - marked)))
        return f"y[{row}] is {y[row]:.6g}, but the two marked values of sequence {row} add up to {marked[row]:.6g}"
    return ""


def adding_distribution(value: Any, request: dict) -> str:
    """The large call drawn as the exercise says: uniform values, uniform marker steps in each half, E[y] = 1."""
    problem = adding_structure(value, request)
    if problem:
        return problem
    X, y = _arrays(value)
    n, steps = X.shape[:2]
    half = steps // 2
    values, markers = X[..., 0].ravel(), X[..., 1]
    deciles = np.bincount(np.minimum((values * 10).astype(int), 9), minlength=10) / values.size
    if np.abs(deciles - 0.1).max() > 0.01:
        k = int(np.argmax(np.abs(deciles - 0.1)))
        return (f"the values are not uniform on [0, 1): {deciles[k]:.3f} of them lie in [{k / 10:.1f}, "
                f"{(k + 1) / 10:.1f}), expected 0.100 ± 0.010")
    for name, part, width in (("first", markers[:, :half], half), ("second", markers[:, half:], steps - half)):
        share = part.sum(axis=0) / n
        expected = 1 / width
        tolerance = 6 * np.sqrt(expected * (1 - expected) / n)
        if np.abs(share - expected).max() > tolerance:
            k = int(np.argmax(np.abs(share - expected)))
            return (f"the {name} marker is not at a uniformly drawn step of its half: step "
                    f"{k + (0 if name == 'first' else half)} holds it in {share[k]:.3f} of the sequences, "
                    f"expected {expected:.3f} ± {tolerance:.3f}")
    tolerance = 6 * np.sqrt(1 / 6 / n)
    if abs(y.mean() - 1) > tolerance:
        return f"the mean of y is {y.mean():.4f}, expected 1 ± {tolerance:.3f} (the sum of two uniform values)"
    return ""


def same_budget(value: Any, request: dict) -> str:
    """``[[epochs, steps], ...]`` of the LSTM's and the RNN's History: the same, at least one epoch."""
    rows = np.asarray(value, dtype=np.float64)
    if rows.shape != (2, 2):
        return "the two Histories could not be read"
    (lstm_epochs, lstm_steps), (rnn_epochs, rnn_steps) = rows
    if rnn_epochs < 1:
        return "rnn_history records no epoch: train the RNN with fit"
    if (lstm_epochs, lstm_steps) != (rnn_epochs, rnn_steps):
        return (f"the RNN was trained for {rnn_epochs:g} epochs of {rnn_steps:g} steps, the LSTM for "
                f"{lstm_epochs:g} of {lstm_steps:g}: give both the same data, epochs and batch size")
    return ""


WINDOW_HINT = ("X[i] = series[i:i + window] and y[i] = series[i + window + horizon - 1], for i from 0 to "
               "len(series) - window - horizon: the target comes after the window, horizon steps ahead.")
SCALER_HINT = ("fit on the training part only: low, high = train.min(), train.max(); transform maps x to "
               "(x - low) / (high - low), inverse maps it back.")


def checks() -> list[Check]:
    """Every verdict of the assignment, grouped by exercise through ``Check.exercise``."""
    out = [
        Check("make_windows/index_series", "make_windows", "index_series",
              "make_windows(series 0..11, window 3) on an index series", "outputs", ("X", "y"), rtol=0, atol=0,
              weight=2, hint=WINDOW_HINT),
        Check("make_windows/window5", "make_windows", "window5", "make_windows(40 values, window 5)", "outputs",
              ("X", "y"), rtol=0, atol=0, hint=WINDOW_HINT),
        Check("make_windows/horizon3", "make_windows", "horizon3", "make_windows(30 values, window 4, horizon 3)",
              "outputs", ("X", "y"), rtol=0, atol=0, weight=1.5,
              hint="the target is horizon steps after the window's last value: y[i] = series[i + window + "
                   "horizon - 1], and there are len(series) - window - horizon + 1 windows."),
        Check("make_windows/horizon_index", "make_windows", "horizon_index",
              "make_windows(series 0..19, window 6, horizon 5) on an index series", "outputs", ("X", "y"),
              rtol=0, atol=0, weight=1.5,
              hint="the target is horizon steps after the window's last value: y[i] = series[i + window + "
                   "horizon - 1], and there are len(series) - window - horizon + 1 windows."),
        Check("make_windows/float32", "make_windows", "float32", "make_windows(50 float32 values, window 24)",
              "outputs", ("X", "y"), rtol=0, atol=0, hint=WINDOW_HINT),
        Check("make_windows/exact_length", "make_windows", "exact_length",
              "make_windows(7 values, window 5, horizon 2): exactly one window", "outputs", ("X", "y"), rtol=0,
              atol=0, hint="a series of exactly window + horizon values has one window: m = n - window - "
                           "horizon + 1."),
        Check("make_windows/window1", "make_windows", "window1", "make_windows(6 values, window 1)", "outputs",
              ("X", "y"), rtol=0, atol=0, hint=WINDOW_HINT),
        Check("make_windows/too_short", "make_windows", "too_short",
              "make_windows(6 values, window 5, horizon 2) raises ValueError", "raises", ("ValueError",),
              hint="a series shorter than window + horizon has no window: raise ValueError with a message "
                   "that says how many values are needed."),
    ]
    for name, description in (("float64", "fit_scaler(50 values)"), ("float32", "fit_scaler(30 float32 values)"),
                              ("two_values", "fit_scaler(2 values)")):
        out.append(Check(f"fit_scaler/{name}", "fit_scaler", name,
                         f"{description}: transform and inverse of points inside and outside its range", "outputs",
                         ("transform(points)", "inverse(transform(points))"), rtol=1e-5, atol=1e-6, weight=2,
                         hint=SCALER_HINT))
    out.append(Check("fit_scaler/constant", "fit_scaler", "constant", "fit_scaler(a constant part) raises ValueError",
                     "raises", ("ValueError", "ZeroDivisionError"),
                     hint="a constant training part has no range: raise ValueError instead of dividing by zero."))
    for name, description in (("wider_test", "scale_splits(60, 15 and 15 values; test partly above the training "
                                             "range)"), ("short", "scale_splits(8, 3 and 3 values)")):
        out.append(Check(f"scale_splits/{name}", "scale_splits", name, description, "outputs",
                         ("train_s", "val_s", "test_s"), rtol=1e-6, atol=1e-9,
                         hint="fit the scaler on the training part only and apply it to all three: a scaler "
                              "fitted on all the data has seen the test's range (a leak), so scaled test values "
                              "above 1 are right."))
    out.append(Check(
        "regressor/heldout", "regressor", "model",
        "regressor: LSTM forecast of the next hour, on held-out hours after the test part", "model",
        metric="mse", heldout="regressor_heldout.npz", architecture=("LSTM", "Dense"),
        forbidden=("SimpleRNN", "GRU"), baselines=("last_value", "moving_average"), beat_by=REGRESSOR_BEAT_BY,
        hint="build Input((WINDOW, 1)) -> LSTM(units) -> Dense(1), train it with train_regressor on windows of "
             "the scaled training part (targets after each window), and keep it in `regressor`: a model that "
             "learned to copy the window's last value does little better than the last-value baseline."))
    for name, n, steps, _ in ADDING_CALLS:
        out.append(Check(f"make_adding_data/{name}", "make_adding_data", name,
                         f"make_adding_data(n={n}, T={steps}, rng)", "property", predicate=adding_structure,
                         hint="one marker at rng.integers(0, T // 2) and one at rng.integers(T // 2, T) in each "
                              "sequence; y is the sum of the two values at the marked steps."))
    name, n, steps, _ = ADDING_SAMPLE
    out.append(Check(f"make_adding_data/{name}", "make_adding_data", name,
                     f"make_adding_data(n={n}, T={steps}, rng): the distribution", "property",
                     predicate=adding_distribution, weight=2,
                     hint="values from rng.uniform(0, 1); each marker at a step drawn uniformly from its half "
                          "(rng.integers), independently for every sequence."))
    out.append(Check(
        "adding_lstm/heldout", "adding_lstm", "model",
        "adding_lstm: LSTM(64) on 2000 held-out sequences of T = 100", "model", metric="mse",
        threshold=ADDING_THRESHOLD, heldout="adding_heldout.npz", architecture=("LSTM(64)",),
        forbidden=("SimpleRNN", "GRU"), baselines=("predict_one=predicting 1.0",),
        hint="compile with Adam(learning_rate=2e-2, clipnorm=1.0): with Keras' default learning rate (1e-3) the "
             "LSTM stays at the 1/6 baseline for the whole budget."))
    out.append(Check(
        "adding_rnn/heldout", "adding_rnn", "model",
        "adding_rnn: SimpleRNN(64) on the same held-out sequences", "model", metric="mse",
        heldout="adding_heldout.npz", architecture=("SimpleRNN(64)",), forbidden=("LSTM", "GRU"),
        baselines=("predict_one=predicting 1.0",), report_only=True,
        hint="build it with build_adding_model(\"rnn\", T) and keep it in `adding_rnn`: a SimpleRNN of 64 units."))
    out.append(Check(
        "adding_rnn/budget", "adding_rnn", "budget", "adding_rnn trained with the LSTM's budget (epochs, steps)",
        "property", predicate=same_budget, requires="adding_rnn/heldout",
        hint="fit the RNN on the same data with the same epochs and batch size as the LSTM, and keep what fit "
             "returned in rnn_history."))
    return out
