"""Part 1 of the sequence-prediction assignment: does a small LSTM regressor beat the naive forecasts of a noisy
multi-seasonal series, by how much, on every seed, and in how much time?

The series (seeded): x_t = sin(2 pi t / 24 + a) + 0.5 sin(2 pi t / 168 + b) + e_t, e_t ~ N(0, noise^2) i.i.d.
(no trend), 3000 points by default. It is split in time order 70/15/15 (train/validation/test) and each part is cut
into windows of 24 past values -> the next value (windows never cross a split). A standard scaler is fitted on the
training part only. Model: Input((24, 1)) -> LSTM(units) -> Dense(1), MSE, Adam(lr), batch 64, fixed epochs,
`keras.utils.set_random_seed(seed)` and op determinism. The test MSE (in the series' own units) is recorded after
every epoch and compared with two baselines on the same test windows:

    last value       x_hat_t = x_{t-1}
    moving average   x_hat_t = mean of the window's 24 values

and with the noise floor noise^2 (the MSE of the true seasonal signal). Seed s draws the series (noise and the two
phases) with `np.random.default_rng(s)` and initialises the weights with `set_random_seed(s)`.

Run from the course root, at low priority on a shared machine (threads are TensorFlow's defaults):

    nice -n 19 .venv/bin/python benchmarks/sequence_regressor_study.py --quick
    nice -n 19 .venv/bin/python benchmarks/sequence_regressor_study.py --lr 1e-3 3e-3 --epochs 20 --seeds 5

It prints one line per run (test MSE per epoch, wall and process-CPU time of the fit), then per learning rate and
reported epoch: min/median/max test MSE, the baselines, and the ratio LSTM / best baseline (worst seed).
Results: benchmarks/results/sequence_prediction_study.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def make_series(n: int, rng: np.random.Generator, noise: float = 0.3) -> np.ndarray:
    """A noisy two-season series (periods 24 and 168), float32, shape (n,)."""
    t = np.arange(n)
    a, b = rng.uniform(0, 2 * np.pi, size=2)
    signal = np.sin(2 * np.pi * t / 24 + a) + 0.5 * np.sin(2 * np.pi * t / 168 + b)
    return (signal + rng.normal(0.0, noise, size=n)).astype(np.float32)


def make_windows(series: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of `width` past values (m, width, 1) and the value that follows each (m,)."""
    m = len(series) - width
    idx = np.arange(width)[None, :] + np.arange(m)[:, None]
    return series[idx][..., None], series[width:]


def split_time_order(series: np.ndarray, fractions=(0.7, 0.15)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(series)
    a, b = int(n * fractions[0]), int(n * (fractions[0] + fractions[1]))
    return series[:a], series[a:b], series[b:]


def prepare(n: int, width: int, noise: float, seed: int):
    train, val, test = split_time_order(make_series(n, np.random.default_rng(seed), noise))
    mean, std = float(train.mean()), float(train.std())  # the scaler sees the training part only
    scale = lambda part: (part - mean) / std  # noqa: E731
    windows = [make_windows(scale(part), width) for part in (train, val, test)]
    return windows, mean, std


def baselines(X_test: np.ndarray, y_test: np.ndarray, std: float) -> dict[str, float]:
    """MSE of the naive forecasts in the series' units (the windows are scaled: errors scale by std)."""
    return {"last value": float(np.mean((X_test[:, -1, 0] - y_test) ** 2)) * std**2,
            "moving average": float(np.mean((X_test[:, :, 0].mean(axis=1) - y_test) ** 2)) * std**2}


def train_one(seed: int, n: int, width: int, noise: float, units: int, lr: float, epochs: int, batch: int):
    import keras

    keras.utils.set_random_seed(seed)
    ((X_tr, y_tr), (X_va, y_va), (X_te, y_te)), _, std = prepare(n, width, noise, seed)
    test_mse: list[float] = []

    class TestMSE(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            pred = np.asarray(self.model(X_te, training=False))[:, 0]
            test_mse.append(float(np.mean((pred - y_te) ** 2)) * std**2)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    model = keras.Sequential([keras.Input((width, 1)), keras.layers.LSTM(units), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="mse")
    model.fit(X_tr, y_tr, batch_size=batch, epochs=epochs, validation_data=(X_va, y_va), shuffle=True, verbose=0,
              callbacks=[TestMSE()])
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    keras.backend.clear_session()
    return test_mse, baselines(X_te, y_te, std), wall, cpu, len(X_tr), len(X_te)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sanity run: 1 seed, 3 epochs")
    parser.add_argument("--n", type=int, default=3000, help="points of the series")
    parser.add_argument("--width", type=int, default=24)
    parser.add_argument("--noise", type=float, default=0.3)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--lr", nargs="+", type=float, default=[1e-3, 3e-3])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    parser.add_argument("--report-epochs", nargs="+", type=int, help="epochs of the summary (default: 10 15 20)")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.seeds, args.lr = 3, 1, args.lr[:1]
    report_epochs = sorted({k for k in (args.report_epochs or [10, 15, 20]) if k <= args.epochs} | {args.epochs})

    import keras
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {np.__version__}, Python "
          f"{sys.version.split()[0]}; {os.cpu_count()} CPUs; TensorFlow threads default, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; niceness {os.nice(0)}; load average {os.getloadavg()}")
    print(f"series: {args.n} points, periods 24 and 168, noise sd {args.noise} (noise floor MSE {args.noise**2:.4f}); "
          f"windows of {args.width}; split 70/15/15 in time order; LSTM({args.units}) + Dense(1), batch {args.batch}")

    results: dict[float, list[tuple]] = {}
    for lr in args.lr:
        for seed in range(args.seeds):
            curve, base, wall, cpu, n_tr, n_te = train_one(seed, args.n, args.width, args.noise, args.units, lr,
                                                           args.epochs, args.batch)
            results.setdefault(lr, []).append((seed, curve, base, wall, cpu))
            print(f"lr={lr:g} seed={seed} ({n_tr} train / {n_te} test windows): test MSE per epoch "
                  f"[{' '.join(f'{v:.4f}' for v in curve)}]  last value {base['last value']:.4f}  moving average "
                  f"{base['moving average']:.4f}  wall {wall:.1f} s cpu {cpu:.1f} s  load {os.getloadavg()[0]:.1f}",
                  flush=True)

    print("\nsummary: test MSE across seeds (min / median / max); ratio = LSTM / best baseline of the same seed")
    print(f"{'lr':>7}{'epoch':>6}{'LSTM MSE':>26}{'ratio (worst seed)':>20}{'last value':>24}{'moving average':>24}"
          f"{'wall s/ep':>10}")
    for lr, runs in results.items():
        per_epoch = statistics.median(r[3] for r in runs) / args.epochs
        for k in report_epochs:
            lstm = [r[1][k - 1] for r in runs]
            ratio = max(r[1][k - 1] / min(r[2].values()) for r in runs)
            last = [r[2]["last value"] for r in runs]
            mavg = [r[2]["moving average"] for r in runs]
            stats = lambda v: f"{min(v):>8.4f} {statistics.median(v):>7.4f} {max(v):>7.4f}"  # noqa: E731
            print(f"{lr:>7g}{k:>6}{stats(lstm):>26}{ratio:>20.3f}{stats(last):>24}{stats(mavg):>24}{per_epoch:>10.2f}")
    for lr, runs in results.items():
        print(f"lr={lr:g}: fit wall s min/median/max {min(r[3] for r in runs):.1f} / "
              f"{statistics.median(r[3] for r in runs):.1f} / {max(r[3] for r in runs):.1f}; cpu median "
              f"{statistics.median(r[4] for r in runs):.1f} s ({args.epochs} epochs)")


if __name__ == "__main__":
    main()
