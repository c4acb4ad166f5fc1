"""Assignment 02's graded thresholds, measured on the assignment's own data with the reference solution.

For each seed (``keras.utils.set_random_seed(seed)`` and op determinism, as the notebook sets them; the notebook
itself uses seed 0) it runs the notebook's pipeline with the functions of ``course_lib/solutions/
sequence_prediction.py`` and scores the trained models exactly as the grader does, on the held-out sets that
``lstm-course build`` writes into ``source/02_sequence_prediction/hidden/`` (built here into a temporary folder):

* the regressor (``build_regressor`` + ``train_regressor``, 10 epochs): its held-out MSE and the ratio to the
  better naive baseline (the check needs at most ``REGRESSOR_BEAT_BY``), and the same for the sample mistakes
  ``last_value_regressor`` (trained on the windows' last values) and ``off_by_one_target``;
* with ``--adding``: the adding-problem LSTM (8 epochs of 8000 sequences, batch 32) against ``ADDING_THRESHOLD``,
  and the sample mistakes ``markers_anywhere`` (trained on data with both markers anywhere: must still pass, it
  costs only its own exercise) and ``default_learning_rate`` (must fail). The SimpleRNN with the same budget and
  the default learning rate over five seeds are measured by ``adding_problem_study.py``.

Run from the course root:  .venv/bin/python benchmarks/sequence_prediction_thresholds.py [--adding] [--seeds 5]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from course_lib.assignments.sequence_prediction import checks, data  # noqa: E402
from course_lib.assignments.sequence_prediction.inputs import T, WINDOW  # noqa: E402
from course_lib.grading.hidden_tests import reference_namespace  # noqa: E402
from course_lib.assignments.registry import get_assignment  # noqa: E402

ASSIGNMENT = get_assignment("02_sequence_prediction")


def heldout(folder: Path, name: str) -> dict[str, np.ndarray]:
    with np.load(folder / name) as arrays:
        return {key: arrays[key] for key in arrays.files}


def mse(a, b) -> float:
    return float(np.mean((np.asarray(a, dtype=np.float64).reshape(np.shape(b)) - b) ** 2))


def regressor_run(ns: dict, series: np.ndarray, held: dict, seed: int) -> tuple[float, float]:
    import keras

    n_train, n_val = int(0.7 * len(series)), int(0.15 * len(series))
    train, val, test = series[:n_train], series[n_train:n_train + n_val], series[n_train + n_val:]
    train_s, val_s, _, _ = ns["scale_splits"](train, val, test)
    X_train, y_train = ns["make_windows"](train_s, WINDOW)
    X_val, y_val = ns["make_windows"](val_s, WINDOW)
    keras.utils.set_random_seed(seed)
    model = ns["build_regressor"](WINDOW, 32)
    ns["train_regressor"](model, X_train, y_train, X_val, y_val, epochs=10)
    value = mse(model.predict(held["x"], verbose=0), held["y"])
    best = min(mse(held["baseline_last_value"], held["y"]), mse(held["baseline_moving_average"], held["y"]))
    keras.backend.clear_session()
    return value, value / best


def adding_run(ns: dict, held: dict, seed: int) -> float:
    import keras

    X, y = ns["make_adding_data"](8000, T, np.random.default_rng(seed))
    keras.utils.set_random_seed(seed)
    model = ns["build_adding_model"]("lstm", T)
    model.fit(X, y, epochs=8, batch_size=32, verbose=0)
    value = mse(model.predict(held["x"], verbose=0), held["y"])
    keras.backend.clear_session()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--adding", action="store_true", help="also the adding problem (about 35 s per fit)")
    args = parser.parse_args()
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    mistakes = ASSIGNMENT.module("mistakes").MISTAKES
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        data.build(folder, folder)
        series = np.loadtxt(folder / data.SERIES_FILE, delimiter=",", skiprows=1, usecols=1, dtype=np.float32)
        reg, add = heldout(folder, "regressor_heldout.npz"), heldout(folder, "adding_heldout.npz")
    print(f"regressor: {len(reg['y'])} held-out windows; baselines last value {mse(reg['baseline_last_value'], reg['y']):.5f}, "
          f"moving average {mse(reg['baseline_moving_average'], reg['y']):.5f}; the check needs ratio <= "
          f"{checks.REGRESSOR_BEAT_BY}")
    subjects = {"reference": reference_namespace(ASSIGNMENT),
                **{m: reference_namespace(ASSIGNMENT, mistakes[m]) for m in ("last_value_regressor", "off_by_one_target")}}
    for who, ns in subjects.items():
        for seed in range(args.seeds):
            start = time.perf_counter()
            value, ratio = regressor_run(ns, series, reg, seed)
            print(f"  {who:<22} seed {seed}: held-out MSE {value:.5f}, ratio to the better baseline {ratio:.3f} "
                  f"({'passes' if ratio <= checks.REGRESSOR_BEAT_BY else 'fails'}; {time.perf_counter() - start:.1f} s)",
                  flush=True)
    if not args.adding:
        return
    print(f"adding problem: {len(add['y'])} held-out sequences; predict 1.0: {mse(add['baseline_predict_one'], add['y']):.4f}; "
          f"the check needs <= {checks.ADDING_THRESHOLD}")
    subjects = {"reference": reference_namespace(ASSIGNMENT),
                **{m: reference_namespace(ASSIGNMENT, mistakes[m]) for m in ("markers_anywhere", "default_learning_rate")}}
    for who, ns in subjects.items():
        for seed in range(args.seeds if who == "reference" else 2):
            start = time.perf_counter()
            value = adding_run(ns, add, seed)
            print(f"  {who:<22} seed {seed}: held-out MSE {value:.5f} "
                  f"({'passes' if value <= checks.ADDING_THRESHOLD else 'fails'}; {time.perf_counter() - start:.1f} s)",
                  flush=True)


if __name__ == "__main__":
    main()
