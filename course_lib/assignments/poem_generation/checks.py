"""How the grader judges the hidden tests of assignment 05: checks, tolerances, thresholds and hints.

Grader side only (never imported by a kernel). The statistics, the vocabulary, the windows, the baselines, greedy
sampling, greedy poems, syllables, rhymes and the form scores are compared with the reference's values; sampling
above temperature 0 is judged statistically against the tempered, top-k-cut distribution the grader computes from
the request, so that any correct way of drawing from the given generator passes, and sampled poems by what any
correct generator must give (14 non-blank lines, only transitions the model allows, reproducible under the same
generator). The models are saved by the probe and scored here, never trusted (:mod:`course_lib.grading.models`):
an untrained ``build_poem_model`` must predict distributions of the right shape, and ``poem_model`` is scored on
sonnets 141-154, which the kernel never sees, after a check that it is causal.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.assignments.poem_generation.inputs import (DRAWS, MARKOV_CHARS, MARKOV_WINDOW, UNTRAINED,
                                                          frequency_cases)
from course_lib.assignments.text_generation.checks import (CAUSAL_HINT, SIGMAS, draws_array, never_draws_zeros,
                                                           tempered, uses_the_generator)
from course_lib.assignments.text_generation.inputs import MarkovModel
from course_lib.grading.checks import Check

#: held-out cross-entropy (nats per character) of ``poem_model`` on sonnets 141-154 (84 windows of 100).
#: Measured (benchmarks/poem_generation_study.py, LSTM(128), windows of 100 every 50 characters, batch 32, Adam
#: 2e-3, 20 epochs as the notebook trains): 1.843-1.884 on five seeds (spread 0.041; the threshold is 5.3 spreads
#: above the worst, benchmarks/results/poem_generation_study.md); the add-one bigram baseline 2.405, the unigram
#: 3.112.
POEM_MODEL_THRESHOLD = 2.10
#: other recurrent layers than the LSTM asked for. A Bidirectional wrapper is not refused by name: the causality
#: check refuses it, with the reason (its backward half reads the characters it must predict).
OTHER_RECURRENT = ("GRU", "SimpleRNN")


def cut_and_tempered(probs: np.ndarray, temperature: float, top_k: int | None) -> np.ndarray:
    """The distribution ``sample`` must draw from: ``probs ** (1 / T)`` renormalised, zero below the k-th largest."""
    target = tempered(probs, temperature)
    if top_k is not None and top_k < len(target):
        target = np.where(np.asarray(probs) >= np.sort(probs)[-top_k], target, 0.0)
        target = target / target.sum()
    return target


def frequencies_follow(value: Any, request: dict) -> str:
    """Each case's empirical frequencies are within :data:`SIGMAS` standard errors of the distribution to draw
    from, and nothing is drawn outside the top k."""
    cases = request["cases"]
    draws = draws_array(value, len(cases), DRAWS)
    if isinstance(draws, str):
        return draws
    for row, (probs, temperature, top_k) in zip(draws, cases):
        target = cut_and_tempered(probs, temperature, top_k)
        what = f"T = {temperature:g}, top_k = {top_k}"
        if row.min() < 0 or row.max() >= len(target):
            return f"at {what} it drew index {int(row.max())} of a distribution over {len(target)}"
        outside = np.flatnonzero((target == 0) & (np.bincount(row, minlength=len(target)) > 0))
        if outside.size:
            return (f"at {what} it drew index {int(outside[0])}, whose probability {probs[outside[0]]:.2f} is "
                    f"{'0' if probs[outside[0]] == 0 else 'not among the ' + str(top_k) + ' largest'}")
        freq = np.bincount(row, minlength=len(target)) / len(row)
        sigma = np.sqrt(target * (1 - target) / len(row))
        off = np.abs(freq - target) > SIGMAS * sigma + 1.0 / len(row)
        if off.any():
            i = int(np.argmax(np.abs(freq - target) - SIGMAS * sigma))
            return (f"at {what}, over {len(row)} draws, index {i} came {freq[i]:.3f} of the time where the tempered, "
                    f"top-k-cut distribution gives {target[i]:.3f} (probabilities {np.round(probs, 2).tolist()})")
    return ""


def _poems(value: Any) -> list[list[str]] | str:
    rows = np.asarray(value)
    if rows.ndim != 2 or not np.issubdtype(rows.dtype, np.number):
        return f"the poems came back as an array of shape {rows.shape}"
    return ["".join(chr(int(c)) for c in row if c >= 0).split("\n") for row in rows]


def is_the_expected_poem(value: Any, request: dict) -> str:
    """A poem the stand-in model determines (temperature 0 or top-k 1): the reference's, line by line. The grader
    writes it here, with the reference's ``generate_poem`` on the same stand-in model, so that a wrong poem is
    named by its first wrong line."""
    from course_lib.solutions.poem_generation import generate_poem

    poems = _poems(value)
    if isinstance(poems, str):
        return poems
    vocabulary = ({c: i for i, c in enumerate(MARKOV_CHARS)}, list(MARKOV_CHARS))
    expected = generate_poem(MarkovModel(request["table"], MARKOV_WINDOW), request["seed_text"],
                             float(request["temperature"]), request["top_k"],
                             np.random.default_rng(request["rng_seeds"][0]), vocabulary,
                             n_lines=int(request["n_lines"]), max_line_length=int(request["max_line_length"]))
    got = poems[0]
    if got == expected:
        return ""
    if len(got) != len(expected):
        return f"it returned {len(got)} lines, expected {len(expected)}: {got[:4]!r} where {expected[:4]!r}"
    i = next(k for k, (a, b) in enumerate(zip(got, expected)) if a != b)
    right = f" (the first {i} are right)" if i else ""
    return f"line {i + 1} is {got[i]!r}, expected {expected[i]!r}{right}"


def writes_poems_from_the_model(value: Any, request: dict) -> str:
    """Sampled poems: ``n_lines`` non-blank lines of at most ``max_line_length`` characters, only transitions the
    model allows inside a line, the same poem for the same generator seed and another for another seed."""
    poems = _poems(value)
    if isinstance(poems, str):
        return poems
    n, width = int(request["n_lines"]), int(request["max_line_length"])
    table, index = np.asarray(request["table"]), {c: i for i, c in enumerate(MARKOV_CHARS)}
    for lines in poems:
        if len(lines) != n:
            return f"it returned {len(lines)} lines, not {n}"
        for k, line in enumerate(lines, start=1):
            if not line.strip():
                return (f"line {k} is blank ({line!r}): blank lines (a poem's end, a line of spaces) are skipped, "
                        "they do not count towards n_lines")
            if len(line) > width:
                return f"line {k} has {len(line)} characters, more than max_line_length = {width}: {line!r}"
            if line != line.rstrip():
                return f"line {k} ends in spaces ({line!r}): rstrip every line"
            if any(c not in index for c in line):
                return f"line {line!r} holds characters outside the vocabulary"
            for a, b in zip(line, line[1:]):
                if table[index[a], index[b]] == 0:
                    return (f"it wrote {b!r} after {a!r}, which the model gives probability 0: sample from the "
                            "distribution predicted at the last position")
    if poems[0] != poems[1]:
        return "two generators of the same seed gave different poems: use the rng passed in, and only it"
    if poems[0] == poems[2]:
        return "generators of different seeds gave the same poem: the draws do not come from rng"
    return ""


def _per_word(value: Any, request: dict, reference: str, decode) -> str:
    """The student's answer for each word of the request against the reference's on the same words and the same
    dictionary (computed here, by the grader), the wrong words named."""
    from course_lib.assignments.poem_generation.inputs import pronunciations
    from course_lib.solutions import poem_generation

    words = list(request["words"])
    got = decode(value, len(words))
    if isinstance(got, str):
        return got
    function, dictionary = getattr(poem_generation, reference), pronunciations()
    expected = [function(w, dictionary) for w in words]
    wrong = [(w, g, e) for w, g, e in zip(words, got, expected) if g != e]
    if not wrong:
        return ""
    listed = "; ".join(f"{reference}({w!r}) = {g!r}, expected {e!r}" for w, g, e in wrong[:4])
    more = f" (and {len(wrong) - 4} more of the {len(words)} words)" if len(wrong) > 4 else ""
    return listed + more


def _counts(value: Any, n: int) -> list[int] | str:
    counts = np.asarray(value)
    if counts.shape != (n,) or not np.issubdtype(counts.dtype, np.number):
        return f"expected one count per word ({n}), got an array of shape {counts.shape}"
    return [int(c) if float(c).is_integer() else float(c) for c in counts]


def _parts(value: Any, n: int) -> list[str] | str:
    codes = np.asarray(value).ravel()
    if not np.issubdtype(codes.dtype, np.number) or codes.min(initial=0) < 0:
        return "the rhyme parts did not come back as text"
    parts = "".join(chr(int(c)) for c in codes).split("|")
    return parts if len(parts) == n else f"expected one rhyme part per word ({n}), got {len(parts)}"


def syllables_are_right(value: Any, request: dict) -> str:
    """``count_syllables`` of every word equals the reference's."""
    return _per_word(value, request, "count_syllables", _counts)


def rhyme_parts_are_right(value: Any, request: dict) -> str:
    """``rhyme_part`` of every word equals the reference's."""
    return _per_word(value, request, "rhyme_part", _parts)


def checks() -> list[Check]:
    """Every verdict of the assignment, grouped by exercise through ``Check.exercise``."""
    stats_hint = ("poems = len(poems); lines = the non-blank lines of all poems; words = len(poem.split()) summed; "
                  "characters = len(poem) summed; lines_per_poem = lines / poems; line_length = the mean len of "
                  "line.strip() over the non-blank lines.")
    vocab_hint = ("index_to_char = sorted(set of every character of the poems, plus '\\n'): code-point order; "
                  "char_to_index maps each character to its position.")
    window_hint = ("window i starts at i*step: X[i] = encoded[i*step:i*step+seq_len], y[i] the same positions one "
                   "character on; every window whose targets fit: (n - seq_len - 1) // step + 1 windows.")
    sample_hint = ("T = 0 or top_k = 1: the argmax. Otherwise logits = log(p) / T (in log space), every logit below "
                   "the k-th largest set to -inf, weights = exp(logits - max), normalised, one draw with rng.choice.")
    poem_hint = ("feed the last model.input_shape[1] characters, sample from probs[0, -1], append; '\\n' ends a "
                 "line, so does reaching max_line_length; skip blank lines, rstrip the others; stop at n_lines.")
    syllable_hint = ("look the word up lower-cased, letters and apostrophes only, outer apostrophes stripped; in the "
                     "dictionary count the phones ending in a digit of its FIRST pronunciation; otherwise count vowel "
                     "groups (aeiouy), one less for a final e after a consonant other than l.")
    rhyme_hint = ("the first pronunciation's phones from the last vowel with stress 1 or 2 (else the last vowel) to "
                  "the end, digits removed, joined by spaces; not in the dictionary: '~' + the letters from the last "
                  "vowel group on.")
    vocab_size, seq_len, units = UNTRAINED
    out = [
        *(Check(f"corpus_statistics/{name}", "corpus_statistics", name, f"corpus_statistics({what})", "outputs",
                ("poems", "lines", "words", "characters", "lines_per_poem", "line_length"), rtol=1e-9, atol=1e-12,
                hint=stats_hint)
          for name, what in (("two", "two poems, one with an indented line"),
                             ("blank_lines", "a poem with a line of spaces and a tab"), ("one_word", "['Hey']"),
                             ("many", "nine poems"))),
        Check("corpus_statistics/empty", "corpus_statistics", "empty", "corpus_statistics([]) raises ValueError",
              "raises", ("ValueError",), hint="no poem, no statistics: raise ValueError (not ZeroDivisionError)."),
        *(Check(f"build_vocabulary/{name}", "build_vocabulary", name, f"build_vocabulary({what})", "outputs",
                ("index_to_char", "char_to_index"), rtol=0, atol=0, hint=vocab_hint)
          for name, what in (("two", "two poems"), ("non_ascii", "poems with accents, quotes and a tab"),
                             ("no_newline", "['abc', 'cab']: one-line poems, the newline still in"),
                             ("one_char", "['aaaa']"))),
        *(Check(f"make_training_windows/{name}", "make_training_windows", name, f"make_training_windows({what})",
                "outputs", ("X", "y"), rtol=0, atol=0, hint=window_hint)
          for name, what in (("hundred", "1,003 characters, seq_len=100, step=100"),
                             ("overlapping", "1,003 characters, seq_len=100, step=37"),
                             ("exact_fit", "61 characters, seq_len=5, step=5"),
                             ("one_window", "8 characters, seq_len=7, step=3"),
                             ("step_1", "9 characters, seq_len=3, step=1"),
                             ("step_beyond", "30 characters, seq_len=4, step=50"),
                             ("random", "257 characters, seq_len=16, step=5"))),
        Check("make_training_windows/too_short", "make_training_windows", "too_short",
              "make_training_windows(10 characters, seq_len=10, step=1) raises ValueError", "raises", ("ValueError",),
              hint="a window needs seq_len + 1 characters (its last target): raise ValueError when there are fewer."),
        Check("build_poem_model/wiring", "build_poem_model", "untrained",
              f"build_poem_model({vocab_size}, {seq_len}, {units}), untrained: character indices in, a "
              f"distribution over the {vocab_size} characters out at every position", "model",
              metric="valid_distributions", threshold=1.0, heldout="untrained_probe.npz",
              architecture=("Embedding", f"LSTM({units})"), forbidden=OTHER_RECURRENT, causal=True,
              hint="Input((seq_len,), dtype='int32') -> Embedding(vocab_size, 32) -> LSTM(units, "
                   "return_sequences=True) -> Dense(vocab_size, activation='softmax'). " + CAUSAL_HINT),
        *(Check(f"cross_entropy/{name}", "cross_entropy", name, f"cross_entropy(probs of shape {shape}, targets)",
                "outputs", ("nats", "bits", "perplexity"), rtol=1e-9, atol=1e-12,
                hint="nats = -mean(log p[target]) over every position; bits = nats / ln 2; perplexity = e^nats.")
          for name, shape in (("windows", "(3, 5, 6)"), ("flat", "(7, 4)"))),
        *(Check(f"ngram_baselines/{name}", "ngram_baselines", name, f"ngram_baselines({what})", "outputs",
                ("unigram", "bigram"), rtol=1e-9, atol=1e-12,
                hint="add one to every count: unigram (count + 1) / (n + V); bigram[a, b] = (count(a b) + 1) / "
                     "(count(a followed by anything) + V): rows over the NEXT character, each summing to 1.")
          for name, what in (("random", "200 characters of 6"), ("unseen_chars", "5 characters, 3 of 5 unseen"),
                             ("one_char", "a text of 1 character: no pair"))),
        Check("poem_model/heldout", "poem_model", "model",
              "poem_model on sonnets 141-154, which it never saw (84 windows of 100 characters)", "model",
              metric="cross_entropy", threshold=POEM_MODEL_THRESHOLD, heldout="sonnets_heldout.npz",
              baselines=("bigram=add-one bigram", "unigram=add-one unigram"), architecture=("Embedding", "LSTM"),
              forbidden=OTHER_RECURRENT, causal=True, weight=1,
              hint="build_poem_model(len(vocabulary[1]), SEQ_LEN, 128) trained for EPOCHS epochs on the training "
                   "windows, with vocabulary = build_vocabulary(poems) of all 140 released sonnets: the grader codes "
                   "its sonnets with that sorted vocabulary. " + CAUSAL_HINT),
        Check("sample/zero_temperature", "sample", "zero_temperature", "sample(p, 0, top_k, rng), top_k None and 2",
              "outputs", ("draws",), rtol=0, atol=0, hint="temperature 0 is the argmax of p, with no draw."),
        Check("sample/top_1", "sample", "top_1", "sample(p, T, 1, rng) at T = 0.5, 1 and 3", "outputs", ("draws",),
              rtol=0, atol=0, hint="top_k = 1 keeps only the most probable index: the argmax, whatever T."),
        Check("sample/tiny_temperature", "sample", "tiny_temperature",
              "sample at T = 0.004 on 1,000 nearly equal probabilities and at T = 0.05 with zeros", "outputs",
              ("draws",), rtol=0, atol=0,
              hint="p ** (1/T) underflows when T is tiny: work with log(p) / T minus its maximum."),
        Check("sample/stable", "sample", "tiny_temperature", "sample at T = 0.004 and 0.05 with zeros in p",
              "no_warnings", ("draws",), requires="sample/tiny_temperature",
              hint="log(0) is -inf: compute it under np.errstate(divide='ignore'); subtract the maximum before exp."),
        Check("sample/zeros", "sample", "hot_with_zeros", "sample at T = 10 never draws a probability of 0",
              "property", predicate=never_draws_zeros, hint=sample_hint),
        Check("sample/frequencies", "sample", "frequencies",
              f"{DRAWS} draws of sample(p, T, top_k, rng) for (T, top_k) in "
              f"{', '.join(f'({t:g}, {k})' for _, t, k in frequency_cases())} follow p^(1/T) cut to the top k",
              "property", predicate=frequencies_follow, weight=3, hint=sample_hint),
        Check("sample/generator", "sample", "generator",
              "sample draws from the generator it is given, whatever NumPy's global state", "property",
              predicate=uses_the_generator, weight=2,
              hint="draw with rng.choice: np.random.choice ignores rng, so a seeded generator does not make the "
                   "poem reproducible."),
        *(Check(f"generate_poem/{name}", "generate_poem", name, f"generate_poem({what})", "property",
                predicate=is_the_expected_poem, hint=poem_hint)
          for name, what in (("greedy", "a model that writes 'ab c' line after line, 'ab c\\na', T = 0"),
                             ("greedy_short", "the same model, seed 'c', 3 lines"),
                             ("long_lines", "a model that never writes a newline, max_line_length = 7, T = 0"),
                             ("top_1", "a model with several choices after each character, T = 1, top_k = 1"))),
        *(Check(f"generate_poem/{name}", "generate_poem", name, f"generate_poem({what})", "property",
                predicate=writes_poems_from_the_model, weight=2, hint=poem_hint)
          for name, what in (("sampled", "a model with blank lines and lines of spaces, T = 1, generators of "
                                          "seeds 5, 5 and 6"),
                             ("sampled_top_2", "the same model, T = 0.8, top_k = 2, seeds 7, 7 and 8"))),
        Check("count_syllables/words", "count_syllables", "words",
              "count_syllables of 27 words: in the dictionary (capitals, punctuation, apostrophes), invented, "
              "and two only the dictionary passed in knows", "property", predicate=syllables_are_right,
              hint=syllable_hint),
        Check("rhyme_part/words", "rhyme_part", "words", "rhyme_part of 22 words, in the dictionary and not",
              "property", predicate=rhyme_parts_are_right, hint=rhyme_hint),
        *(Check(f"sonnet_form/{name}", "sonnet_form", name, f"sonnet_form({what})", "outputs", ("meter", "rhyme"),
                rtol=1e-9, atol=1e-12,
                hint="meter: the share of the 14 lines whose words' syllables sum to 10; rhyme: the share of the 7 "
                     "pairs (1,3) (2,4) (5,7) (6,8) (9,11) (10,12) (13,14) whose last words' rhyme parts are equal "
                     "and not empty.")
          for name, what in (("sonnet_like", "14 made-up lines of 10 and 9 syllables"),
                             ("broken", "14 lines, some longer, a couplet that does not rhyme"))),
        Check("sonnet_form/thirteen_lines", "sonnet_form", "thirteen_lines", "sonnet_form(13 lines) raises ValueError",
              "raises", ("ValueError",), hint="a sonnet has 14 lines: refuse any other number with ValueError."),
    ]
    return out
