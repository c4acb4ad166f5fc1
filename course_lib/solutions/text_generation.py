"""Reference solution of assignment 04 (character-level text generation).

The notebook's solution cells are exactly these functions (a test compares them); everything else the notebook
does (the tutorial's setup, loading the play, training, plots, the table of samples) is in its own cells, which
call these.

A model here reads character *indices* (shape (batch, time), integers) and predicts, at every position, the
distribution of the character that comes next (shape (batch, time, vocabulary)). The grader scores saved models on
held-out text through exactly that interface.
"""
from __future__ import annotations

import keras
import numpy as np


def build_vocabulary(text: str) -> tuple[dict[str, int], list[str]]:
    """The characters of ``text``, sorted by code point, and their indices.

    Returns
    -------
    char_to_index : dict of str to int
        ``char_to_index[c] == i`` for the i-th character in sorted order.
    index_to_char : list of str
        The characters in sorted order: ``index_to_char[char_to_index[c]] == c``.

    Raises
    ------
    ValueError
        If ``text`` is empty.
    """
    if not text:
        raise ValueError("the text is empty: a vocabulary needs at least one character")
    index_to_char = sorted(set(text))
    return {c: i for i, c in enumerate(index_to_char)}, index_to_char


def make_training_windows(encoded: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut an encoded text into consecutive, non-overlapping input windows and their next-character targets.

    Window i holds the characters ``encoded[i*seq_len : (i+1)*seq_len]``; its targets are the same positions
    shifted one character on, ``encoded[i*seq_len + 1 : (i+1)*seq_len + 1]``: at every position the target is
    the character that *follows*. Characters left over at the end (fewer than a whole window with its targets)
    are dropped.

    Parameters
    ----------
    encoded : np.ndarray, shape (n,), int
        Character indices.
    seq_len : int
        Characters per window (at least 1).

    Returns
    -------
    X, y : np.ndarray, shape (m, seq_len), int64
        With m = (n - 1) // seq_len.

    Raises
    ------
    ValueError
        If ``seq_len`` < 1, or the text holds fewer than ``seq_len + 1`` characters (no whole window).
    """
    encoded = np.asarray(encoded, dtype=np.int64)
    if seq_len < 1:
        raise ValueError(f"seq_len must be at least 1, got {seq_len}")
    m = (len(encoded) - 1) // seq_len
    if m < 1:
        raise ValueError(f"a text of {len(encoded)} characters is too short for one window of {seq_len}: it "
                         f"needs at least {seq_len + 1}")
    X = encoded[:m * seq_len].reshape(m, seq_len)
    y = encoded[1:m * seq_len + 1].reshape(m, seq_len)
    return X, y


def build_char_model(vocab_size: int, seq_len: int, units: int) -> keras.Model:
    """A character language model: ``Input((seq_len,), int32) -> Embedding(vocab_size, 32)
    -> LSTM(units, return_sequences=True) -> Dense(vocab_size, softmax)``.

    The Embedding is a learned one-hot coding: each character gets its own vector, so that characters with
    neighbouring indices are not alike to the network (as they are when a character is coded as ``index / n``).
    Compiled with sparse categorical cross-entropy (in nats) and Adam(2e-3).
    """
    model = keras.Sequential([
        keras.Input((seq_len,), dtype="int32"),
        keras.layers.Embedding(vocab_size, 32),
        keras.layers.LSTM(units, return_sequences=True),
        keras.layers.Dense(vocab_size, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    return model


def sample(probs: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Draw a character index from ``probs`` re-weighted by ``temperature``.

    Temperature 0 is the argmax (no draw). Otherwise the index is drawn, with ``rng``, from the distribution
    proportional to ``probs ** (1 / temperature)``, computed in log space so that neither a tiny temperature nor
    tiny probabilities overflow or give NaN (a probability of 0 stays 0).

    Parameters
    ----------
    probs : np.ndarray, shape (k,)
        A probability distribution (non-negative, summing to 1).
    temperature : float
        At least 0: below 1 sharpens the distribution, above 1 flattens it.
    rng : np.random.Generator

    Raises
    ------
    ValueError
        If ``temperature`` is negative.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if temperature < 0:
        raise ValueError(f"the temperature must be at least 0, got {temperature}")
    if temperature == 0:
        return int(np.argmax(probs))
    with np.errstate(divide="ignore"):   # log(0) = -inf: that character keeps probability 0
        logits = np.log(probs) / temperature
    weights = np.exp(logits - logits.max())
    return int(rng.choice(len(weights), p=weights / weights.sum()))


def generate(model: keras.Model, seed_text: str, n: int, temperature: float, rng: np.random.Generator,
             vocabulary: tuple[dict[str, int], list[str]]) -> str:
    """``n`` new characters that ``model`` writes after ``seed_text``, one at a time.

    Each step feeds the model the last ``model.input_shape[1]`` characters so far (all of them if fewer, or if
    the model takes any length), reads the distribution it predicts at the last position, and draws the next
    character with :func:`sample`.

    Parameters
    ----------
    vocabulary : (char_to_index, index_to_char)
        As :func:`build_vocabulary` returns them.

    Returns
    -------
    str
        Exactly ``n`` characters (the seed not included).

    Raises
    ------
    ValueError
        If ``seed_text`` is empty or holds a character the vocabulary does not.
    """
    char_to_index, index_to_char = vocabulary
    if not seed_text:
        raise ValueError("the seed text is empty: the model needs at least one character to start from")
    unknown = sorted(set(seed_text) - set(char_to_index))
    if unknown:
        raise ValueError(f"the seed text holds characters outside the vocabulary: {unknown}")
    window = model.input_shape[1]
    indices = [char_to_index[c] for c in seed_text]
    new = []
    for _ in range(n):
        context = indices[-window:] if window else indices
        # predict_on_batch: one small batch, without the set-up cost predict pays on every call
        probs = np.asarray(model.predict_on_batch(np.array([context], dtype=np.int32)))[0, -1]
        index = sample(probs, temperature, rng)
        indices.append(index)
        new.append(index_to_char[index])
    return "".join(new)


def cross_entropy(probs: np.ndarray, targets: np.ndarray) -> tuple[float, float, float]:
    """How well predicted distributions fit the characters that came: mean cross-entropy per character.

    .. math:: H = -\\frac{1}{N} \\sum_t \\ln p_t(c_t), \\qquad H_{bits} = H / \\ln 2, \\qquad
              \\text{perplexity} = e^{H}

    Parameters
    ----------
    probs : np.ndarray, shape (..., k)
        A distribution over the k characters at each position.
    targets : np.ndarray, shape (...), int
        The character that came at each position.

    Returns
    -------
    nats, bits, perplexity : float
    """
    probs = np.asarray(probs, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    picked = np.take_along_axis(probs, targets[..., None], axis=-1)[..., 0]
    nats = float(-np.mean(np.log(picked)))
    return nats, float(nats / np.log(2)), float(np.exp(nats))
