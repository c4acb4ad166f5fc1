"""Adding problem (assignment "sequence prediction", part 2): how much training an LSTM needs to solve it, and that a
SimpleRNN with the same budget does not.

The task (Hochreiter & Schmidhuber 1997; the variant of Le, Jaitly & Hinton 2015): each of the T steps carries a
value u_t ~ U[0, 1] (X[..., 0]) and a marker (X[..., 1], 0 or 1); exactly two steps are marked, one in each half
of the sequence; the target is the sum of the two marked values. Always predicting 1.0 gives MSE = Var(u + u') =
1/6 ~ 0.167, the baseline any model must beat.

For every combination of the options (model kind x n_train x batch size) and every seed, it trains a fresh model
for a fixed number of epochs (`keras.utils.set_random_seed(seed)` and op determinism, as the notebook will) and
prints the test MSE after every epoch (on held-out sequences drawn from a seed no training run uses), the wall and
process-CPU time of the whole `fit` (model build, tracing, training and the per-epoch test evaluation a learning
curve needs), then a summary table (min/median/max across seeds at the reported epochs) and the figures the graded
thresholds are set from: worst LSTM seed, best seed of the default-learning-rate mistake and of the SimpleRNN, and
the per-seed LSTM/RNN ratios. Seed s draws the training data with `np.random.default_rng(s)` and initialises the
weights with `set_random_seed(s)`, so the spread across seeds covers both.

Models, all `Input((T, 2)) -> layer -> Dense(1)` with MSE loss:
    lstm          LSTM(units), Adam(lr, clipnorm)                 (the configuration the notebook recommends)
    rnn           SimpleRNN(units), the same optimiser and budget (must not solve it)
    lstm_default  LSTM(units), Keras' default Adam() (lr 1e-3, no clipping): the "default learning rate" mistake
    lstm_small    LSTM(--small-units), Adam(lr, clipnorm)

Run from the course root, at low priority on a shared machine (threads are TensorFlow's defaults):

    nice -n 19 .venv/bin/python benchmarks/adding_problem_study.py --quick
    nice -n 19 .venv/bin/python benchmarks/adding_problem_study.py --models lstm --n-train 4000 6000 8000 10000 \
        --batch 64 128 --epochs 8 --seeds 5
    nice -n 19 .venv/bin/python benchmarks/adding_problem_study.py --models lstm rnn lstm_default --n-train 6000

Results: benchmarks/results/sequence_prediction_study.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

# the assignment's reference generator, so that the study measures the data the course grades on
from course_lib.solutions.sequence_prediction import make_adding_data  # noqa: E402

BASELINE_MSE = 1.0 / 6.0  # predicting 1.0 always: Var(u + u') with u, u' ~ U[0, 1] independent
TEST_SEED = 987_654  # the held-out sequences: no training seed is this large
MODELS = ("lstm", "rnn", "lstm_default", "lstm_small")


def check_adding_data(X: np.ndarray, y: np.ndarray) -> None:
    """The invariants of make_adding_data (a cheap self-test run before any training)."""
    n, T, _ = X.shape
    half = T // 2
    markers = X[..., 1]
    assert set(np.unique(markers)) <= {0.0, 1.0}
    assert (markers[:, :half].sum(axis=1) == 1).all() and (markers[:, half:].sum(axis=1) == 1).all()
    assert ((X[..., 0] >= 0) & (X[..., 0] < 1)).all()
    np.testing.assert_allclose((X[..., 0] * markers).sum(axis=1), y, rtol=1e-6)


@dataclass
class Run:
    model: str
    units: int
    optimizer: str
    n_train: int
    batch: int
    epochs: int
    seed: int
    lr: float = 0.0
    unroll: bool = False
    test_mse: list[float] = field(default_factory=list)  # after each epoch
    wall_s: float = 0.0
    cpu_s: float = 0.0
    params: int = 0
    load_before: float = 0.0  # 1-minute load average of the machine
    load_after: float = 0.0

    @property
    def key(self) -> tuple:
        return (self.model, self.units, self.lr, self.unroll, self.n_train, self.batch)


def build_model(kind: str, T: int, units: int, lr: float, clipnorm: float, unroll: bool = False):
    import keras

    layer = (keras.layers.SimpleRNN if kind == "rnn" else keras.layers.LSTM)(units, unroll=unroll)
    model = keras.Sequential([keras.Input((T, 2)), layer, keras.layers.Dense(1)])
    if kind == "lstm_default":
        optimizer, label = keras.optimizers.Adam(), "Adam() [lr 1e-3, no clipnorm]"
    else:
        optimizer, label = keras.optimizers.Adam(learning_rate=lr, clipnorm=clipnorm), f"Adam({lr:g}, clipnorm={clipnorm:g})"
    model.compile(optimizer=optimizer, loss="mse")
    return model, label


def train_one(kind: str, units: int, n_train: int, batch: int, epochs: int, seed: int, T: int, lr: float,
              clipnorm: float, test: tuple[np.ndarray, np.ndarray], unroll: bool = False) -> Run:
    import keras

    keras.utils.set_random_seed(seed)
    X, y = make_adding_data(n_train, T, np.random.default_rng(seed))
    load_before = os.getloadavg()[0]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    model, label = build_model(kind, T, units, lr, clipnorm, unroll)
    history = model.fit(X, y, batch_size=batch, epochs=epochs, validation_data=test, shuffle=True, verbose=0)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    run = Run(kind, units, label, n_train, batch, epochs, seed, 1e-3 if kind == "lstm_default" else lr, unroll,
              [float(v) for v in history.history["val_loss"]], wall, cpu, int(model.count_params()), load_before,
              os.getloadavg()[0])
    keras.backend.clear_session()
    return run


def fmt_curve(values: list[float]) -> str:
    return " ".join(f"{v:.4f}" if v >= 1e-3 else f"{v:.1e}" for v in values)


def summarise(runs: list[Run], report_epochs: list[int]) -> None:
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.key, []).append(run)
    print("\nsummary: test MSE across seeds (min / median / max) after epoch k; wall and CPU seconds of one fit")
    header = f"{'model':<13}{'units':>5}{'lr':>7}{'n_train':>8}{'batch':>6}{'seeds':>6}  "
    header += "".join(f"{'MSE @ epoch ' + str(k):>26}" for k in report_epochs)
    header += f"{'wall s (med)':>14}{'wall s/ep':>10}{'cpu s (med)':>12}"
    print(header)
    for (model, units, lr, unroll, n_train, batch), group in groups.items():
        model = model + ("+unroll" if unroll else "")
        line = f"{model:<13}{units:>5}{lr:>7g}{n_train:>8}{batch:>6}{len(group):>6}  "
        for k in report_epochs:
            vals = [r.test_mse[k - 1] for r in group if len(r.test_mse) >= k]
            line += f"{min(vals):>8.4f} {statistics.median(vals):>8.4f} {max(vals):>8.4f}" if vals else f"{'-':>26}"
        wall = statistics.median(r.wall_s for r in group)
        epochs = group[0].epochs
        line += f"{wall:>14.1f}{wall / epochs:>10.2f}{statistics.median(r.cpu_s for r in group):>12.1f}"
        print(line)


def margins(runs: list[Run], report_epochs: list[int]) -> None:
    """Worst LSTM seed against the best seed of each model that must fail, per data configuration and epoch.

    The models that share a learning rate with the LSTM (rnn, lstm_small) are compared at that learning rate; the
    default-learning-rate mistake with every learning rate of the LSTM.
    """
    by_cfg: dict[tuple, list[Run]] = {}
    for run in runs:
        by_cfg.setdefault((run.n_train, run.batch, run.unroll), []).append(run)
    print("\nmargins (per n_train, batch, lr, epoch k): worst LSTM seed vs the models that must fail")
    for (n_train, batch, unroll), group in by_cfg.items():
        for lr in sorted({r.lr for r in group if r.model == "lstm"}):
            lstm = {r.seed: r for r in group if r.model == "lstm" and r.lr == lr}
            others = {m: {r.seed: r for r in group if r.model == m and (m == "lstm_default" or r.lr == lr)}
                      for m in ("lstm_default", "rnn", "lstm_small")}
            for k in report_epochs:
                worst = max(r.test_mse[k - 1] for r in lstm.values())
                parts = [f"n_train={n_train} batch={batch} lr={lr:g}{' unroll' if unroll else ''} epoch {k}: "
                         f"LSTM worst {worst:.4g} (unsolved seeds, MSE > 0.02: "
                         f"{sum(r.test_mse[k - 1] > 0.02 for r in lstm.values())}/{len(lstm)})"]
                for other, other_runs in others.items():
                    if other_runs:
                        vals = [r.test_mse[k - 1] for r in other_runs.values()]
                        parts.append(f"{other} best {min(vals):.4g} worst {max(vals):.4g}")
                ratios = [lstm[s].test_mse[k - 1] / others["rnn"][s].test_mse[k - 1] for s in lstm if s in others["rnn"]]
                if ratios:
                    parts.append(f"LSTM/RNN per seed max {max(ratios):.3g}")
                print("  " + "; ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sanity run: n_train 1000, T 30, 2 epochs, 1 seed")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=["lstm", "rnn", "lstm_default"])
    parser.add_argument("--n-train", nargs="+", type=int, default=[8000])
    parser.add_argument("--batch", nargs="+", type=int, default=[64])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--T", type=int, default=100)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--small-units", type=int, default=32)
    parser.add_argument("--lr", nargs="+", type=float, default=[1e-2], help="of lstm, rnn and lstm_small")
    parser.add_argument("--clipnorm", type=float, default=1.0)
    parser.add_argument("--unroll", action="store_true", help="unroll the recurrent layers (a static graph)")
    parser.add_argument("--report-epochs", nargs="+", type=int, help="epochs of the summary (default: 4 6 8)")
    parser.add_argument("--check-repro", action="store_true",
                        help="train the first configuration's first seed twice and compare the curves bit for bit")
    parser.add_argument("--json", help="also write every run to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.n_train, args.T, args.epochs, args.seeds, args.n_test = [1000], 30, 2, 1, 500
    report_epochs = sorted({k for k in (args.report_epochs or [4, 6, 8]) if k <= args.epochs} | {args.epochs})

    import keras
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {np.__version__}, Python "
          f"{sys.version.split()[0]}; {os.cpu_count()} CPUs; threads: intra-op "
          f"{tf.config.threading.get_intra_op_parallelism_threads()} inter-op "
          f"{tf.config.threading.get_inter_op_parallelism_threads()} (0 = TensorFlow's default), OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; niceness {os.nice(0)}; load average {os.getloadavg()}")
    test = make_adding_data(args.n_test, args.T, np.random.default_rng(TEST_SEED))
    check_adding_data(*test)
    check_adding_data(*make_adding_data(500, args.T, np.random.default_rng(1)))
    always_one = float(np.mean((test[1] - 1.0) ** 2))
    print(f"T={args.T}, {args.n_test} test sequences (seed {TEST_SEED}); baseline 'predict 1.0': test MSE "
          f"{always_one:.4f} (theory {BASELINE_MSE:.4f}); data invariants checked")

    runs: list[Run] = []
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for n_train in args.n_train:
        for batch in args.batch:
            for kind in args.models:
                units = args.small_units if kind == "lstm_small" else args.units
                for lr in args.lr[:1] if kind == "lstm_default" else args.lr:  # the mistake ignores --lr
                    for seed in seeds:
                        run = train_one(kind, units, n_train, batch, args.epochs, seed, args.T, lr, args.clipnorm,
                                        test, args.unroll)
                        runs.append(run)
                        print(f"{kind:<13} units={units:<3} n_train={n_train:<6} batch={batch:<4} seed={seed} "
                              f"{run.optimizer}{' unroll' if args.unroll else ''}: test MSE per epoch "
                              f"[{fmt_curve(run.test_mse)}]  wall {run.wall_s:.1f} s cpu {run.cpu_s:.1f} s  "
                              f"load {run.load_before:.1f}->{run.load_after:.1f}", flush=True)
    if args.check_repro and runs:
        first = runs[0]
        again = train_one(first.model, first.units, first.n_train, first.batch, first.epochs, first.seed, args.T,
                          first.lr, args.clipnorm, test, args.unroll)
        same = again.test_mse == first.test_mse
        print(f"\nreproducibility: {first.model} seed {first.seed} trained twice: curves "
              f"{'identical bit for bit' if same else 'DIFFER: ' + fmt_curve(again.test_mse)}")
    summarise(runs, report_epochs)
    margins(runs, report_epochs)
    print(f"\nbaseline (predict 1.0): {always_one:.4f}; total wall of all fits {sum(r.wall_s for r in runs):.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "baseline": always_one, "runs": [asdict(r) for r in runs]}, f, indent=1)


if __name__ == "__main__":
    main()
