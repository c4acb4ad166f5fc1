"""Hidden tests of assignment 03 (sentiment), as data: the inputs, and the probe operations only this assignment
needs. This module runs in the student's kernel (the only module of the assignment a kernel imports): inputs
only, no expected value, no solution, no decision (``checks.py`` decides, in the grader's process).

The four trained models are not evaluated here: the probe saves them (``save_model``) and the grader scores the
files on held-out sentences this module never sees (``source/03_sentiment/hidden/``).
"""
from __future__ import annotations

import collections
from functools import cache

import numpy as np

from course_lib.grading import probe

MODELS = ("bow_reviews", "lstm_reviews", "bow_controlled", "lstm_controlled")
#: a corpus whose words have distinct frequencies (7 to 1), so that the vocabulary's order is fixed
CORPUS = ("the film was great", "the film was dull", "the film was great and the cast was fine",
          "the cast was great", "the film had a plot", "the plot was fine", "the film was great, truly.")
QUERIES = ("The FILM was GREAT!!!", "an unknown word, then the film",
           "the the the the the the the the the the the the", "", "plot, plot... PLOT?")
KINDS = ("contrast", "negation", "simple")


def _call(function: str, args: dict, **options) -> dict:
    return {"op": "call", "function": function, "args": list(args.values()), "arg_names": list(args), **options}


@cache
def _all_requests() -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = collections.defaultdict(dict)
    out["polarity_labels"]["ratings"] = _call("polarity_labels", {
        "ratings": np.array([2.1, -0.5, 4.0, -4.0, 0.01, -0.01, 1.0, -1.0])})
    out["polarity_labels"]["neutral"] = _call("polarity_labels", {"ratings": np.array([1.5, 0.0, -2.0])},
                                              raises=True)
    for name, max_tokens, length in (("basic", 12, 6), ("small_vocabulary", 5, 4), ("long", 50, 15)):
        out["make_vectorizer"][name] = {"op": "vectorize", "function": "make_vectorizer",
                                        "args": [np.array(CORPUS), max_tokens, length, np.array(QUERIES)],
                                        "arg_names": ["texts", "max_tokens", "sequence_length", "queried texts"]}
    rng = np.random.default_rng(20261212)
    for name, n in (("twenty", 20), ("one_class", 6)):
        probabilities = np.round(rng.uniform(0, 1, n), 2)
        probabilities[:3] = (0.5, 0.51, 0.49)   # exactly 0.5 is negative: "above 0.5" is positive
        labels = rng.integers(0, 2, n) if name == "twenty" else np.ones(n, dtype=np.int64)
        out["evaluate"][name] = {"op": "evaluate", "function": "evaluate",
                                 "args": [probabilities, np.array([f"sentence {i}" for i in range(n)]), labels],
                                 "arg_names": ["model (fixed probabilities)", "texts", "labels"]}
    # what the notebook's own report was computed on (the kernel's word: forging it gains a third of a point)
    out["evaluate"]["test_report"] = {"op": "confusions", "function": "evaluate", "notebook_state": True,
                                      "variables": ["bow_test_confusion", "lstm_test_confusion"]}
    predicted = rng.integers(0, 2, 30)
    labels = rng.integers(0, 2, 30)
    kinds = np.array(KINDS)[rng.integers(0, 3, 30)]
    out["accuracy_by_kind"]["mixed"] = {"op": "by_kind", "function": "accuracy_by_kind",
                                        "args": [predicted, labels, kinds], "kinds": list(KINDS),
                                        "arg_names": ["predicted", "labels", "kinds"]}
    out["accuracy_by_kind"]["one_kind"] = {"op": "by_kind", "function": "accuracy_by_kind",
                                           "args": [predicted[:7], labels[:7], np.full(7, "negation")],
                                           "kinds": ["negation"], "arg_names": ["predicted", "labels", "kinds"]}
    for variable in MODELS:
        out[variable]["model"] = {"op": "save_model", "variable": variable, "filename": f"{variable}.keras",
                                  "function": variable}
    return dict(out)


def requests(exercise: str) -> dict[str, dict]:
    """The requests the probe evaluates for one exercise (grade cell id)."""
    if exercise not in _all_requests():
        raise KeyError(f"no hidden tests for exercise {exercise!r} of sentiment")
    return _all_requests()[exercise]


# --------------------------------------------------------------------------- probe operations of this assignment
def _op_vectorize(namespace, request) -> dict:
    """``make_vectorizer(texts, max_tokens, sequence_length)``, then the layer applied to the queried texts, and
    the size of its vocabulary."""
    function = probe.lookup(namespace, request["function"])
    texts, max_tokens, length, queries = request["args"]
    layer = function(texts.copy(), max_tokens, length)
    if not callable(layer) or not callable(getattr(layer, "get_vocabulary", None)):
        raise probe.StudentValue(f"make_vectorizer should return a keras.layers.TextVectorization, got a "
                                 f"{type(layer).__name__}")
    indices = np.asarray(layer(queries.copy()))
    return {"value": (indices.astype(np.int64), np.array(len(layer.get_vocabulary())))}


class FixedModel:
    """A stand-in for a trained model: ``predict`` returns fixed probabilities, one per input, shape (n, 1)."""

    def __init__(self, probabilities: np.ndarray):
        self.probabilities = np.asarray(probabilities, dtype=np.float32)

    def predict(self, x, verbose=0, **kwargs):
        n = len(x)
        if n != len(self.probabilities):
            raise ValueError(f"the model was given {n} inputs for {len(self.probabilities)} texts")
        return self.probabilities[:, None].copy()

    def __call__(self, x, training=False):
        return self.predict(x)


def _op_evaluate(namespace, request) -> dict:
    """``evaluate(model, texts, labels)`` with a stand-in model of known probabilities."""
    function = probe.lookup(namespace, request["function"])
    probabilities, texts, labels = request["args"]
    returned = probe.outputs(function(FixedModel(probabilities), texts.copy(), labels.copy()), "evaluate", 2)
    accuracy, confusion = returned
    return {"value": (np.asarray(float(accuracy)), np.asarray(confusion, dtype=np.float64))}


def _op_by_kind(namespace, request) -> dict:
    """``accuracy_by_kind(predicted, labels, kinds)``: the accuracies of the kinds that occur, in a fixed order."""
    function = probe.lookup(namespace, request["function"])
    predicted, labels, kinds = request["args"]
    result = function(predicted.copy(), labels.copy(), kinds.copy())
    if not isinstance(result, dict):
        raise probe.StudentValue(f"accuracy_by_kind should return a dict {{kind: accuracy}}, got a "
                                 f"{type(result).__name__}")
    expected = [k for k in request["kinds"] if k in set(kinds.tolist())]
    missing = [k for k in expected if k not in result]
    if missing:
        raise probe.StudentValue(f"accuracy_by_kind returned no accuracy for {missing} (keys: {sorted(result)})")
    return {"value": np.array([float(result[k]) for k in expected])}


def _op_confusions(namespace, request) -> dict:
    """The confusion matrices the notebook computed for its test report, stacked: shape (k, 2, 2)."""
    found = []
    for name in request["variables"]:
        if name not in namespace:
            raise probe.Undefined(name, f"keep the confusion matrix evaluate returned in a variable named {name}")
        matrix = np.asarray(namespace[name], dtype=np.float64)
        if matrix.shape != (2, 2):
            raise probe.StudentValue(f"`{name}` has shape {matrix.shape}, not the (2, 2) confusion matrix")
        found.append(matrix)
    return {"value": np.stack(found)}


OPS = {"vectorize": _op_vectorize, "evaluate": _op_evaluate, "by_kind": _op_by_kind, "confusions": _op_confusions}
