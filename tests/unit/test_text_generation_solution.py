"""The reference of assignment 04 (character-level text generation), checked against first principles."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from course_lib.solutions import text_generation as tg


def test_vocabulary_is_sorted_by_code_point_and_round_trips():
    char_to_index, index_to_char = tg.build_vocabulary("hello world")
    assert index_to_char == [" ", "d", "e", "h", "l", "o", "r", "w"]
    assert all(index_to_char[char_to_index[c]] == c for c in "hello world")
    # upper case before lower case, newline first: code-point order, not locale order
    assert tg.build_vocabulary("ba\nB")[1] == ["\n", "B", "a", "b"]
    with pytest.raises(ValueError, match="empty"):
        tg.build_vocabulary("")


def test_windows_target_the_next_character_and_drop_the_tail():
    encoded = np.arange(23)
    X, y = tg.make_training_windows(encoded, 5)
    assert X.shape == y.shape == (4, 5) and X.dtype == y.dtype == np.int64
    np.testing.assert_array_equal(X[1], [5, 6, 7, 8, 9])
    np.testing.assert_array_equal(y, X + 1)       # the target is the character that follows, never the same one
    # an exact multiple leaves one character short of a last window with its targets
    assert tg.make_training_windows(np.arange(20), 5)[0].shape == (3, 5)
    assert tg.make_training_windows(np.arange(6), 5)[0].shape == (1, 5)
    with pytest.raises(ValueError, match="too short"):
        tg.make_training_windows(np.arange(5), 5)
    with pytest.raises(ValueError, match="seq_len"):
        tg.make_training_windows(np.arange(5), 0)


def test_sample_at_zero_temperature_is_the_argmax_and_never_draws():
    class NoDraws:
        def choice(self, *args, **kwargs):
            raise AssertionError("temperature 0 must not draw")
    assert tg.sample(np.array([0.1, 0.6, 0.3]), 0, NoDraws()) == 1
    with pytest.raises(ValueError, match="at least 0"):
        tg.sample(np.array([0.5, 0.5]), -1.0, np.random.default_rng(0))


def test_sample_is_stable_at_extreme_temperatures_with_zeros():
    probs = np.zeros(50)
    probs[[3, 7, 11]] = [0.5, 0.3, 0.2]
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # no overflow, no invalid value, no division warning
        tiny = {tg.sample(probs, 0.05, rng) for _ in range(200)}
        hot = [tg.sample(probs, 10.0, rng) for _ in range(2000)]
    assert tiny == {3}                               # (0.3/0.5)**20 ≈ 4e-5: the argmax every time
    assert set(hot) <= {3, 7, 11}                    # a zero stays zero at any temperature
    # near-flat distribution at T = 0.004: p**(1/T) underflows to 0 for every entry, log space does not
    flat = np.full(1000, 1.0)
    flat[421] = 1.2
    flat /= flat.sum()
    assert tg.sample(flat, 0.004, rng) == 421


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sample_frequencies_follow_the_tempered_distribution(temperature):
    probs = np.array([0.5, 0.25, 0.15, 0.1, 0.0])
    rng = np.random.default_rng(1)
    draws = np.array([tg.sample(probs, temperature, rng) for _ in range(6000)])
    tempered = probs ** (1 / temperature)
    tempered /= tempered.sum()
    freq = np.bincount(draws, minlength=5) / len(draws)
    sigma = np.sqrt(tempered * (1 - tempered) / len(draws))
    assert np.all(np.abs(freq - tempered) <= 5 * sigma + 1e-12), (freq, tempered)


def test_sample_uses_the_given_generator_only():
    probs = np.array([0.2, 0.3, 0.5])
    np.random.seed(0)
    a = [tg.sample(probs, 1.0, np.random.default_rng(7)) for _ in range(30)]
    np.random.seed(1)
    b = [tg.sample(probs, 1.0, np.random.default_rng(7)) for _ in range(30)]
    assert a == b


class MarkovStandIn:
    """A model that predicts from the last character only (a table) and refuses windows longer than it takes."""

    def __init__(self, table: np.ndarray, window: int):
        self.table, self.input_shape = table, (None, window)

    def predict_on_batch(self, x):
        x = np.asarray(x)
        assert x.ndim == 2 and x.shape[1] <= self.input_shape[1], x.shape
        return self.table[x]


def test_generate_follows_the_model_and_the_generator():
    vocabulary = tg.build_vocabulary("abc")
    table = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=float)  # a -> b -> c -> a
    model = MarkovStandIn(table, 4)
    assert tg.generate(model, "ab", 7, 0, np.random.default_rng(0), vocabulary) == "cabcabc"
    assert tg.generate(model, "a", 0, 1.0, np.random.default_rng(0), vocabulary) == ""
    fuzzy = MarkovStandIn(np.full((3, 3), 1 / 3), 4)
    one = tg.generate(fuzzy, "abcabc", 40, 1.0, np.random.default_rng(3), vocabulary)
    assert len(one) == 40 and one == tg.generate(fuzzy, "abcabc", 40, 1.0, np.random.default_rng(3), vocabulary)
    assert one != tg.generate(fuzzy, "abcabc", 40, 1.0, np.random.default_rng(4), vocabulary)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tg.generate(model, "abz", 3, 0, np.random.default_rng(0), vocabulary)


def test_cross_entropy_in_nats_bits_and_perplexity():
    probs = np.full((2, 3, 4), 0.25)
    nats, bits, perplexity = tg.cross_entropy(probs, np.zeros((2, 3), dtype=int))
    assert nats == pytest.approx(np.log(4)) and bits == pytest.approx(2.0) and perplexity == pytest.approx(4.0)
    assert all(isinstance(v, float) for v in (nats, bits, perplexity))
    probs = np.array([[0.5, 0.5, 0.0], [0.1, 0.1, 0.8]])
    assert tg.cross_entropy(probs, np.array([1, 2]))[0] == pytest.approx(-(np.log(0.5) + np.log(0.8)) / 2)


def test_char_model_learns_hello_world_with_enough_context():
    import keras
    keras.utils.set_random_seed(0)
    text = "hello world"
    char_to_index, index_to_char = tg.build_vocabulary(text)
    encoded = np.array([char_to_index[c] for c in text])
    X, y = encoded[None, :-1], encoded[None, 1:]
    model = tg.build_char_model(len(index_to_char), 10, 32)
    probs = model.predict_on_batch(X)
    assert probs.shape == (1, 10, len(index_to_char))
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    model.fit(X, y, epochs=150, verbose=0)
    assert tg.generate(model, "h", 10, 0, np.random.default_rng(0), (char_to_index, index_to_char)) == "ello world"
