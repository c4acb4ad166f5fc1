"""Hidden tests of assignment 04 (character-level text generation), as data: the inputs, and the probe operations
only this assignment needs. This module runs in the student's kernel (the only module of the assignment a kernel
imports): inputs only, no expected value, no solution, no decision (``checks.py`` decides, in the grader's process).

The models are not evaluated here: the probe saves them (``save_model``, and ``build_model`` for an untrained
``build_char_model``) and the grader scores the files on data this module never sees
(``source/04_text_generation/hidden/``). Text travels as arrays of code points (the report's strings are short).
"""
from __future__ import annotations

import collections
from functools import cache

import numpy as np

from course_lib.grading import probe

#: the untrained model the grader checks the wiring of: build_char_model(*UNTRAINED) (vocabulary, window, units)
UNTRAINED = (11, 12, 24)
#: draws per case of the statistical test of ``sample``, and its cases (probabilities, temperature)
DRAWS = 4000
SAMPLE_SEED = 20260404
#: the stand-in model of ``generate``: the characters it knows and the longest context it reads
MARKOV_CHARS = "abcde"
MARKOV_WINDOW = 4


def _codes(text: str) -> np.ndarray:
    return np.array([ord(c) for c in text], dtype=np.int64)


def _call(function: str, args: dict, **options) -> dict:
    return {"op": "call", "function": function, "args": list(args.values()), "arg_names": list(args), **options}


def frequency_cases() -> list[tuple[np.ndarray, float]]:
    """The (probabilities, temperature) cases whose draws ``sample`` is judged on (zeros included)."""
    skewed = np.array([0.45, 0.25, 0.15, 0.1, 0.05, 0.0])
    spread = np.array([0.3, 0.0, 0.2, 0.2, 0.15, 0.1, 0.05])
    return [(skewed, 0.5), (skewed, 1.0), (spread, 2.0), (spread, 10.0), (skewed, 0.25)]


def markov_tables() -> dict[str, np.ndarray]:
    """Next-character tables of the stand-in model: ``"cycle"`` is deterministic (a→b→c→d→e→a), ``"fuzzy"`` allows
    some transitions only (zeros elsewhere), so that any character drawn outside them is the generator's fault."""
    size = len(MARKOV_CHARS)
    cycle = np.roll(np.eye(size), 1, axis=1)
    fuzzy = np.zeros((size, size))
    for i in range(size):
        fuzzy[i, [(i + 1) % size, (i + 2) % size, i]] = (0.5, 0.3, 0.2)
    return {"cycle": cycle, "fuzzy": fuzzy}


@cache
def _all_requests() -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = collections.defaultdict(dict)
    for name, text in (("hello", "hello world"), ("mixed", "The Cat sat.\nthe cat SAT, 42 times!"),
                       ("one_char", "aaaa"), ("non_ascii", "naïve café — “quoted” ü\tend")):
        out["build_vocabulary"][name] = {"op": "vocabulary", "function": "build_vocabulary", "args": [text],
                                         "arg_names": ["text"]}
    rng = np.random.default_rng(20260401)
    for name, n, seq_len in (("hundred", 1003, 100), ("exact_multiple", 60, 5), ("one_window", 8, 7),
                             ("seq_len_1", 9, 1), ("random", 257, 16)):
        encoded = np.arange(n) % 13 if name != "random" else rng.integers(0, 40, n)
        out["make_training_windows"][name] = _call("make_training_windows",
                                                   {"encoded": encoded.astype(np.int64), "seq_len": seq_len},
                                                   keep=[0, 1], arity=2)
    out["build_char_model"]["untrained"] = {"op": "build_model", "function": "build_char_model",
                                            "args": list(UNTRAINED), "filename": "untrained_char_model.keras",
                                            "notebook_state": True,  # it saves a file: only in a kernel
                                            "arg_names": ["vocab_size", "seq_len", "units"]}
    for variable in ("hello_model", "char_model"):
        out[variable]["model"] = {"op": "save_model", "variable": variable, "filename": f"{variable}.keras",
                                  "function": variable}
    out["hello_model"]["regenerates"] = {"op": "hello_world", "function": "generate",
                                         "variables": ["hello_model", "hello_vocabulary"], "notebook_state": True}

    argmax_cases = [np.array([0.1, 0.6, 0.3]), np.array([0.0, 0.0, 0.2, 0.0, 0.8]), np.eye(7)[3] * 0.99 + 0.01 / 7,
                    np.array([0.25, 0.2, 0.3, 0.25])]
    out["sample"]["zero_temperature"] = {"op": "draws", "function": "sample",
                                         "cases": [(p, 0.0) for p in argmax_cases], "count": 3}
    flat = np.full(1000, 1.0)
    flat[[17, 421]] = (1.1, 1.2)
    with_zeros = np.array([0.0, 0.6, 0.0, 0.3, 0.1, 0.0])
    out["sample"]["tiny_temperature"] = {"op": "draws", "function": "sample", "count": 20,
                                         "cases": [(flat / flat.sum(), 0.004), (with_zeros, 0.05)]}
    out["sample"]["hot_with_zeros"] = {"op": "draws", "function": "sample", "count": 200,
                                       "cases": [(with_zeros, 10.0), (with_zeros, 0.05)]}
    out["sample"]["frequencies"] = {"op": "draws", "function": "sample", "count": DRAWS,
                                    "cases": frequency_cases()}
    out["sample"]["generator"] = {"op": "generator_use", "function": "sample",
                                  "probs": np.array([0.3, 0.2, 0.25, 0.25]), "temperature": 1.0, "count": 40}

    tables = markov_tables()
    out["generate"]["greedy"] = {"op": "generate", "function": "generate", "table": tables["cycle"],
                                 "seed_text": "cdeab", "n": 12, "temperature": 0.0, "rng_seeds": [1]}
    out["generate"]["greedy_short_seed"] = {"op": "generate", "function": "generate", "table": tables["cycle"],
                                            "seed_text": "e", "n": 6, "temperature": 0.0, "rng_seeds": [1]}
    out["generate"]["none"] = {"op": "generate", "function": "generate", "table": tables["fuzzy"],
                               "seed_text": "ab", "n": 0, "temperature": 1.0, "rng_seeds": [1]}
    out["generate"]["sampled"] = {"op": "generate", "function": "generate", "table": tables["fuzzy"],
                                  "seed_text": "abcdeab", "n": 60, "temperature": 1.0, "rng_seeds": [5, 5, 6]}

    for name, shape, k in (("windows", (3, 5), 6), ("flat", (7,), 4)):
        probs = rng.dirichlet(np.ones(k), size=shape)
        targets = rng.integers(0, k, size=shape)
        out["cross_entropy"][name] = {"op": "cross_entropy", "function": "cross_entropy",
                                          "args": [probs, targets], "arg_names": ["probs", "targets"]}
    return dict(out)


def requests(exercise: str) -> dict[str, dict]:
    """The requests the probe evaluates for one exercise (grade cell id)."""
    if exercise not in _all_requests():
        raise KeyError(f"no hidden tests for exercise {exercise!r} of text_generation")
    return _all_requests()[exercise]


# --------------------------------------------------------------------------- probe operations of this assignment
def op_vocabulary(namespace, request) -> dict:
    """``build_vocabulary(text)`` (05: ``build_vocabulary(poems)``): the characters of ``index_to_char`` in order and
    ``char_to_index`` of each."""
    function = probe.lookup(namespace, request["function"])
    char_to_index, index_to_char = probe.outputs(function(request["args"][0]), "build_vocabulary", 2)
    if not isinstance(char_to_index, dict):
        raise probe.StudentValue(f"char_to_index should be a dict, got a {type(char_to_index).__name__}")
    chars = list(index_to_char)
    if not all(isinstance(c, str) and len(c) == 1 for c in chars):
        raise probe.StudentValue("index_to_char should hold single characters (str of length 1)")
    missing = [c for c in chars if c not in char_to_index]
    if missing or len(char_to_index) != len(chars):
        raise probe.StudentValue(f"char_to_index has {len(char_to_index)} entries and index_to_char {len(chars)}: "
                                 "both should hold every character once")
    return {"value": (np.array([ord(c) for c in chars], dtype=np.int64),
                      np.array([int(char_to_index[c]) for c in chars], dtype=np.int64))}


def _op_cross_entropy(namespace, request) -> dict:
    """``cross_entropy(probs, targets)``: its three numbers, each as an array (a tuple of floats would travel as
    one array)."""
    function = probe.lookup(namespace, request["function"])
    probs, targets = request["args"]
    returned = probe.outputs(function(probs.copy(), targets.copy()), "cross_entropy", 3)
    return {"value": tuple(np.asarray(float(v)) for v in returned)}


def op_build_model(namespace, request) -> dict:
    """Build an untrained model with ``request["function"]`` (``build_char_model``, 05's ``build_poem_model``) and
    save it for the grader (which checks its wiring)."""
    function = probe.lookup(namespace, request["function"])
    model = function(*request["args"])
    return probe.OPS["save_model"]({"__built_model": model}, {"variable": "__built_model",
                                                              "filename": request["filename"]})


def _draw_all(function, cases, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([[int(function(np.array(p, dtype=np.float64), float(t), rng)) for _ in range(count)]
                     for p, t in cases], dtype=np.int64)


class GlobalStateKept:
    """Restores NumPy's global random state on exit (an op that seeds it leaves the student's notebook as it was)."""

    def __enter__(self):
        self.state = np.random.get_state()

    def __exit__(self, *exc):
        np.random.set_state(self.state)


def _op_draws(namespace, request) -> dict:
    """``count`` draws of ``sample(probs, temperature, rng)`` per case, one generator for all: shape (cases, count)."""
    function = probe.lookup(namespace, request["function"])
    with GlobalStateKept():
        np.random.seed(0)
        return {"value": _draw_all(function, request["cases"], int(request["count"]), SAMPLE_SEED)}


def _op_generator_use(namespace, request) -> dict:
    """Draws with generators of seed 7 under two different global NumPy seeds, and with a generator of seed 8:
    shape (3, count). A ``sample`` that uses the generator gives rows 0 and 1 equal and row 2 different."""
    function = probe.lookup(namespace, request["function"])
    case = [(request["probs"], request["temperature"])]
    rows = []
    with GlobalStateKept():
        for global_seed, seed in ((1, 7), (2, 7), (1, 8)):
            np.random.seed(global_seed)
            rows.append(_draw_all(function, case, int(request["count"]), seed)[0])
    return {"value": np.stack(rows)}


class MarkovModel:
    """A stand-in for a trained character model: the distribution of the next character depends on the current
    one only (``table[current]``). Like a Keras model it has ``input_shape`` (None, window) and answers
    ``predict``, ``predict_on_batch`` and calls with (batch, time, vocabulary) probabilities; it refuses windows
    longer than it reads, as a model built for ``seq_len`` characters would mislead."""

    def __init__(self, table: np.ndarray, window: int):
        self.table = np.asarray(table, dtype=np.float32)
        self.input_shape = (None, window)
        self.output_shape = (None, window, len(self.table))

    def predict_on_batch(self, x):
        x = np.asarray(x)
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"the model takes a (batch, time) array of character indices, got {x.dtype} of shape "
                             f"{x.shape}")
        if x.shape[1] > self.input_shape[1] or x.shape[1] < 1:
            raise ValueError(f"the model reads 1 to {self.input_shape[1]} characters, it was given {x.shape[1]}: "
                             f"feed it the last model.input_shape[1] characters")
        return self.table[x].copy()

    def predict(self, x, verbose=0, **kwargs):
        return self.predict_on_batch(x)

    def __call__(self, x, training=False):
        return self.predict_on_batch(x)


def _op_generate(namespace, request) -> dict:
    """``generate(stand-in model, seed_text, n, temperature, rng, vocabulary)`` once per generator seed, NumPy's
    global state seeded differently before each call (a text that follows it is not reproducible under ``rng``):
    the texts as code points, shape (seeds, length)."""
    function = probe.lookup(namespace, request["function"])
    chars = MARKOV_CHARS
    vocabulary = ({c: i for i, c in enumerate(chars)}, list(chars))
    texts = []
    with GlobalStateKept():
        for k, seed in enumerate(request["rng_seeds"]):
            np.random.seed(k)
            model = MarkovModel(request["table"], MARKOV_WINDOW)
            text = function(model, request["seed_text"], int(request["n"]), float(request["temperature"]),
                            np.random.default_rng(seed), vocabulary)
            if not isinstance(text, str):
                raise probe.StudentValue(f"generate should return a str, got a {type(text).__name__}")
            texts.append(text)
    if len({len(t) for t in texts}) > 1:
        raise probe.StudentValue(f"generate returned texts of lengths {[len(t) for t in texts]} for the same n")
    return {"value": np.array([[ord(c) for c in t] for t in texts], dtype=np.int64).reshape(len(texts), -1)}


def _op_hello_world(namespace, request) -> dict:
    """The student's ``generate`` on their ``hello_model`` from ``"h"`` at temperature 0 (the kernel's word: the
    grader also scores the saved model itself)."""
    function = probe.lookup(namespace, request["function"])
    for name in request["variables"]:
        if name not in namespace:
            raise probe.Undefined(name, f"keep it in a variable named {name}")
    text = function(namespace["hello_model"], "h", 10, 0.0, np.random.default_rng(0), namespace["hello_vocabulary"])
    if not isinstance(text, str):
        raise probe.StudentValue(f"generate should return a str, got a {type(text).__name__}")
    return {"value": _codes(text[:40])}


OPS = {"vocabulary": op_vocabulary, "cross_entropy": _op_cross_entropy, "build_model": op_build_model, "draws": _op_draws,
       "generator_use": _op_generator_use, "generate": _op_generate, "hello_world": _op_hello_world}
