"""How the grader judges the hidden tests of assignment 04: checks, tolerances, thresholds and hints.

Grader side only (never imported by a kernel). The vocabulary, the windows, greedy sampling and greedy generation
are compared with the reference exactly; sampling at a temperature above 0 is judged statistically (the draws'
frequencies against the tempered distribution the grader computes from the request), so that any correct way of
drawing from the given generator passes. The models are saved by the probe and scored here, never trusted
(:mod:`course_lib.grading.models`): an untrained ``build_char_model`` must predict distributions of the right shape,
``hello_model`` must predict every next character of ``hello world``, and ``char_model`` is scored on two scenes of
the play the kernel never sees. Every model is first checked to be causal: a model that reads later characters of
its window scores perfectly and has learned nothing it could generate with.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.assignments.text_generation.inputs import DRAWS, MARKOV_CHARS, UNTRAINED, frequency_cases
from course_lib.grading.checks import Check

#: held-out cross-entropy (nats per character) of ``char_model`` on scenes IV.2 and IV.3, 82 windows of 100.
#: Measured (benchmarks/text_generation_study.py, LSTM(128), batch 32, Adam 2e-3, 15 epochs as the notebook
#: trains): 1.862-1.903 on five seeds (spread 0.042; the threshold is 4.7 spreads above the worst); the
#: add-one bigram baseline 2.336, the unigram 3.387.
CHAR_MODEL_THRESHOLD = 2.10
#: how far an empirical frequency may be from the tempered probability: this many standard errors (a correct
#: sampler fails one of the 5 × 7 comparisons with probability about 2e-5; a sampler that ignores the temperature
#: is off by 10-60 standard errors)
SIGMAS = 5.0
RECURRENT_OTHERS = ("Bidirectional", "GRU", "SimpleRNN")
CAUSAL_HINT = ("every prediction may use only the characters up to its position: an LSTM(return_sequences=True), "
               "never a Bidirectional layer.")


def tempered(probs: np.ndarray, temperature: float) -> np.ndarray:
    """The distribution proportional to ``probs ** (1 / temperature)`` (zeros stay zero), computed in log space."""
    with np.errstate(divide="ignore"):
        logits = np.log(np.asarray(probs, dtype=np.float64)) / temperature
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def draws_array(value: Any, cases: int, count: int) -> np.ndarray | str:
    draws = np.asarray(value)
    if draws.shape != (cases, count) or not np.issubdtype(draws.dtype, np.number) or \
            not np.array_equal(draws, np.round(draws)):
        return f"sample should return one integer index per draw, got draws of shape {draws.shape}"
    return draws.astype(np.int64)


def frequencies_follow(value: Any, request: dict) -> str:
    """Each case's empirical frequencies are within :data:`SIGMAS` standard errors of the tempered distribution."""
    cases = request["cases"]
    draws = draws_array(value, len(cases), DRAWS)
    if isinstance(draws, str):
        return draws
    for row, (probs, temperature) in zip(draws, cases):
        target = tempered(probs, temperature)
        if row.min() < 0 or row.max() >= len(target):
            return f"at T = {temperature:g} it drew index {int(row.max())} of a distribution over {len(target)}"
        freq = np.bincount(row, minlength=len(target)) / len(row)
        sigma = np.sqrt(target * (1 - target) / len(row))
        off = np.abs(freq - target) > SIGMAS * sigma + 1.0 / len(row)
        if off.any():
            i = int(np.argmax(np.abs(freq - target) - SIGMAS * sigma))
            return (f"at T = {temperature:g}, over {len(row)} draws, index {i} came {freq[i]:.3f} of the time where "
                    f"p^(1/T), renormalised, gives {target[i]:.3f} (probabilities {np.round(probs, 2).tolist()})")
    return ""


def never_draws_zeros(value: Any, request: dict) -> str:
    """No draw lands on a probability of 0, at any temperature (or top-k)."""
    cases = request["cases"]
    draws = draws_array(value, len(cases), int(request["count"]))
    if isinstance(draws, str):
        return draws
    for row, (probs, temperature, *top_k) in zip(draws, cases):   # 05's cases also hold a top_k
        if row.min() < 0 or row.max() >= len(probs) or np.any(np.asarray(probs)[row] == 0):
            cut = f", top_k = {top_k[0]}" if top_k else ""
            return f"at T = {temperature:g}{cut} it drew an index whose probability is 0"
    return ""


def uses_the_generator(value: Any, request: dict) -> str:
    """Draws follow the generator passed in, not NumPy's global state."""
    rows = np.asarray(value)
    if rows.ndim != 2 or rows.shape[0] != 3:
        return f"the draws have shape {rows.shape}"
    if not np.array_equal(rows[0], rows[1]):
        return ("two generators of the same seed gave different draws once np.random.seed changed: the draws come "
                "from NumPy's global state, not from rng")
    if np.array_equal(rows[0], rows[2]):
        return "generators of different seeds gave the same draws: the draws do not come from rng"
    return ""


def generates_from_the_model(value: Any, request: dict) -> str:
    """Sampled texts: n characters, the same for the same generator seed, only transitions the model allows."""
    texts = np.asarray(value)
    n, seeds = int(request["n"]), request["rng_seeds"]
    if texts.ndim != 2 or texts.shape != (len(seeds), n):
        return f"generate should return {n} characters, got {texts.shape[-1] if texts.ndim == 2 else '?'}"
    table = np.asarray(request["table"])
    codes = {ord(c): i for i, c in enumerate(MARKOV_CHARS)}
    for row in texts:
        if any(int(c) not in codes for c in row):
            return "it returned characters outside the vocabulary"
        indices = [codes[ord(request["seed_text"][-1])]] + [codes[int(c)] for c in row]
        for a, b in zip(indices, indices[1:]):
            if table[a, b] == 0:
                return (f"it wrote {MARKOV_CHARS[b]!r} after {MARKOV_CHARS[a]!r}, which the model gives probability "
                        "0: sample from the distribution predicted at the last position")
    if not np.array_equal(texts[0], texts[1]):
        return "two generators of the same seed gave different texts: use the rng passed in, and only it"
    if np.array_equal(texts[0], texts[2]):
        return "generators of different seeds gave the same 60 characters: the draws do not come from rng"
    return ""


def regenerates_hello_world(value: Any, request: dict) -> str:
    text = "".join(chr(int(c)) for c in np.asarray(value).ravel())
    return "" if text == "ello world" else f"generate(hello_model, 'h', 10, 0, ...) wrote {text!r}, not 'ello world'"


def checks() -> list[Check]:
    """Every verdict of the assignment, grouped by exercise through ``Check.exercise``."""
    vocab_hint = ("index_to_char = sorted(set(text)) (code-point order: newline and space first, upper before "
                  "lower case); char_to_index maps each character to its position in that list.")
    window_hint = ("window i is encoded[i*seq_len:(i+1)*seq_len]; its targets are the characters one position "
                   "later, encoded[i*seq_len+1:(i+1)*seq_len+1], so the last window needs one character after it: "
                   "(len(encoded) - 1) // seq_len windows.")
    sample_hint = ("temperature 0: the argmax; otherwise weights = exp(log(p)/T - max(log(p)/T)), normalised, "
                   "and one draw rng.choice(len(p), p=weights) — never p / T, never np.random.")
    vocab_size, seq_len, units = UNTRAINED
    return [
        *(Check(f"build_vocabulary/{name}", "build_vocabulary", name, f"build_vocabulary({text})", "outputs",
                ("index_to_char", "char_to_index"), rtol=0, atol=0, hint=vocab_hint)
          for name, text in (("hello", "'hello world'"), ("mixed", "a text with capitals, digits and newlines"),
                             ("one_char", "'aaaa'"), ("non_ascii", "a text with accents, quotes and a tab"))),
        *(Check(f"make_training_windows/{name}", "make_training_windows", name,
                f"make_training_windows({what})", "outputs", ("X", "y"), rtol=0, atol=0, hint=window_hint)
          for name, what in (("hundred", "1,003 characters, seq_len=100"), ("exact_multiple", "60 characters, "
                             "seq_len=5"), ("one_window", "8 characters, seq_len=7"),
                             ("seq_len_1", "9 characters, seq_len=1"), ("random", "257 characters, seq_len=16"))),
        Check("build_char_model/wiring", "build_char_model", "untrained",
              f"build_char_model({vocab_size}, {seq_len}, {units}), untrained: character indices in, a "
              f"distribution over the {vocab_size} characters out at every position", "model",
              metric="valid_distributions", threshold=1.0, heldout="untrained_probe.npz",
              architecture=("Embedding", f"LSTM({units})"), forbidden=RECURRENT_OTHERS, causal=True,
              hint="Input((seq_len,), dtype='int32') -> Embedding(vocab_size, ...) -> LSTM(units, "
                   "return_sequences=True) -> Dense(vocab_size, activation='softmax'). Never a character coded as "
                   "index / n: neighbouring characters would look alike. " + CAUSAL_HINT),
        Check("hello_model/predicts", "hello_model", "model",
              "hello_model predicts every next character of 'hello world'", "model", metric="accuracy",
              threshold=1.0, heldout="hello_world.npz", architecture=("Embedding", "LSTM"),
              forbidden=RECURRENT_OTHERS, causal=True, weight=2,
              hint="windows of 10 characters of 'hello world' with targets one character on (make_training_windows), "
                   "a build_char_model trained as the notebook's cell does: with the whole word as context, every "
                   "next character is determined."),
        Check("hello_model/regenerates", "hello_model", "regenerates",
              "generate(hello_model, 'h', 10, 0, rng, hello_vocabulary) == 'ello world'", "property",
              predicate=regenerates_hello_world, requires="hello_model/predicts",
              hint="at temperature 0 generate must take the argmax at the last position, feeding its own output "
                   "back in."),
        Check("sample/zero_temperature", "sample", "zero_temperature", "sample(p, 0, rng) for four distributions",
              "outputs", ("draws",), rtol=0, atol=0, hint="temperature 0 is the argmax of p, with no draw."),
        Check("sample/tiny_temperature", "sample", "tiny_temperature",
              "sample(p, T, rng) at T = 0.004 on 1,000 nearly equal probabilities and at T = 0.05 with zeros",
              "outputs", ("draws",), rtol=0, atol=0,
              hint="p ** (1/T) underflows to 0 for every p when T is tiny (0.001 ** 250): work with log(p) / T "
                   "minus its maximum."),
        Check("sample/stable", "sample", "tiny_temperature", "sample at T = 0.004 and 0.05 with zeros in p",
              "no_warnings", ("draws",), requires="sample/tiny_temperature",
              hint="log(0) is -inf: compute it under np.errstate(divide='ignore'), and subtract the maximum before "
                   "exp so that nothing overflows or becomes NaN."),
        Check("sample/zeros", "sample", "hot_with_zeros", "sample at T = 10 and 0.05 never draws a probability of 0",
              "property", predicate=never_draws_zeros, hint=sample_hint),
        Check("sample/zeros_stable", "sample", "hot_with_zeros", "sample at T = 10 with zeros in p", "no_warnings",
              ("draws",), requires="sample/zeros", hint="a probability of 0 stays 0: exp(-inf) = 0, without a warning."),
        Check("sample/frequencies", "sample", "frequencies",
              f"{DRAWS} draws of sample(p, T, rng) at T = "
              f"{', '.join(f'{t:g}' for _, t in frequency_cases())} follow p^(1/T), renormalised", "property",
              predicate=frequencies_follow, weight=3, hint=sample_hint),
        Check("sample/generator", "sample", "generator",
              "sample draws from the generator it is given, whatever NumPy's global state", "property",
              predicate=uses_the_generator, weight=2,
              hint="draw with rng.choice (or rng.random): np.random.choice ignores rng, so a seeded generator "
                   "does not make the text reproducible."),
        Check("generate/greedy", "generate", "greedy",
              "generate(a model that writes a->b->c->d->e->a, 'cdeab', 12, 0, ...) with a 4-character window",
              "outputs", ("text",), rtol=0, atol=0,
              hint="feed the last model.input_shape[1] characters, read the distribution at the last position "
                   "(probs[0, -1]), sample, append, repeat: exactly n new characters, the seed not included."),
        Check("generate/greedy_short_seed", "generate", "greedy_short_seed",
              "generate(the same model, 'e', 6, 0, ...): a seed shorter than the window", "outputs", ("text",),
              rtol=0, atol=0, hint="with fewer characters than the window, feed them all."),
        Check("generate/none", "generate", "none", "generate(model, 'ab', 0, 1.0, ...) is ''", "outputs",
              ("text",), rtol=0, atol=0, hint="n = 0 asks for no character."),
        Check("generate/sampled", "generate", "sampled",
              "generate(a model with some transitions impossible, 'abcdeab', 60, 1.0, rng) for generators of seeds "
              "5, 5 and 6", "property", predicate=generates_from_the_model, weight=2,
              hint="draw every character with sample(probs[0, -1], temperature, rng), using the rng passed in."),
        *(Check(f"cross_entropy/{name}", "cross_entropy", name, f"cross_entropy(probs of shape {shape}, targets)",
                "outputs", ("nats", "bits", "perplexity"), rtol=1e-9, atol=1e-12,
                hint="nats = -mean(log p[target]) over every position; bits = nats / ln 2; perplexity = e^nats.")
          for name, shape in (("windows", "(3, 5, 6)"), ("flat", "(7, 4)"))),
        Check("char_model/heldout", "char_model", "model",
              "char_model on two scenes of The Comedy of Errors it never saw (8,200 characters)", "model",
              metric="cross_entropy", threshold=CHAR_MODEL_THRESHOLD, heldout="comedy_heldout.npz",
              baselines=("bigram=add-one bigram", "unigram=add-one unigram"), architecture=("Embedding", "LSTM"),
              forbidden=RECURRENT_OTHERS, causal=True,
              hint="build_char_model(len(vocabulary[1]), SEQ_LEN, 128) trained for EPOCHS epochs on the windows of "
                   "the training text, with vocabulary = build_vocabulary(train_text + validation_text): the "
                   "grader codes its scenes with that sorted vocabulary. " + CAUSAL_HINT),
    ]
