"""Assignment 04's data: whole scenes split apart, headings dropped, held-out windows and n-gram baselines."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib.assignments.text_generation import data


def synthetic_play() -> str:
    parts = ["THE PLAY\n\nDramatis Personae\n\nAEGEON, a merchant.\n"]
    for act in ("I", "II", "III", "IV", "V"):
        parts.append(f"ACT {act}.\n")
        for scene in (1, 2, 3):
            parts.append(f"SCENE {scene}. A street.  \n\n[Enter A.]\n\nA.\nact {act} scene {scene} speaks.   \n\n\n")
    return "\n".join(parts)


def test_split_keeps_whole_scenes_apart_and_drops_headings():
    parts = data.split_play(synthetic_play())
    assert parts["validation"] == "[Enter A.]\n\nA.\nact III scene 1 speaks.\n\n"
    assert parts["heldout"] == ("[Enter A.]\n\nA.\nact IV scene 2 speaks.\n\n"
                                "[Enter A.]\n\nA.\nact IV scene 3 speaks.\n\n")
    assert parts["train"].count("speaks.") == 15 - 3
    assert "act IV scene 2" not in parts["train"] and "act III scene 1" not in parts["train"]
    for text in parts.values():
        assert "SCENE" not in text and "ACT " not in text and "Dramatis" not in text and " \n" not in text


def test_split_names_a_missing_scene():
    with pytest.raises(ValueError, match="no scene 4.3"):
        data.split_play(synthetic_play().replace("SCENE 3. A street.  \n\n[Enter A.]\n\nA.\nact IV", "act IV"))


def test_baselines_are_add_one_distributions():
    unigram, bigram = data.ngram_baselines("abab", ["a", "b", "c"])
    np.testing.assert_allclose(unigram, [3 / 7, 3 / 7, 1 / 7])
    np.testing.assert_allclose(bigram[0], [1 / 5, 3 / 5, 1 / 5])     # after a: b twice, plus one each
    np.testing.assert_allclose(bigram[1], [2 / 4, 1 / 4, 1 / 4])     # after b: a once (the last b has no next)
    np.testing.assert_allclose(bigram[2], [1 / 3] * 3)               # never seen: uniform
    np.testing.assert_allclose(bigram.sum(axis=1), 1.0)


def test_heldout_windows_use_the_released_vocabulary():
    parts = {"train": "abcabcabc\n", "validation": "cab d\n", "heldout": "abc d" * 50}
    arrays = data.heldout_arrays(parts)
    vocabulary = sorted(set(parts["train"] + parts["validation"]))
    n = (len(parts["heldout"]) - 1) // data.SEQ_LEN
    assert arrays["x"].shape == arrays["y"].shape == (n, data.SEQ_LEN)
    decoded = "".join(vocabulary[i] for i in arrays["x"].ravel())
    assert decoded == parts["heldout"][:n * data.SEQ_LEN]
    np.testing.assert_array_equal(arrays["x"][:, 1:], arrays["y"][:, :-1])
    assert arrays["baseline_bigram"].shape == (n, data.SEQ_LEN, len(vocabulary))
    np.testing.assert_allclose(arrays["baseline_unigram"].sum(-1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="the released text does not"):
        data.heldout_arrays({**parts, "heldout": "xyz" * 80})
