"""Hidden tests of assignment 06 (named-entity recognition), as data: the inputs, and the probe operations only
this assignment needs. This module runs in the student's kernel (the only module of the assignment a kernel
imports): inputs only, no expected value, no solution, no decision (``checks.py`` decides, in the grader's process).

The trained tagger is not evaluated here: the probe saves it (``save_model``, and ``build_model`` for an untrained
``build_tagger``) and the grader scores the files on the five test plays, which this module never sees
(``source/06_ner/hidden/``). Tags travel as ids of :data:`TAGS` (-1 pads a ragged list); words as code points,
joined by ``"\\n"``.
"""
from __future__ import annotations

import collections
from functools import cache

import numpy as np

from course_lib.assignments.text_generation.inputs import GlobalStateKept, op_build_model
from course_lib.grading import probe

#: the tag set, in the order of the tag ids (the notebook defines the same)
TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")
#: the entity types a span may have in these inputs, by id (spans travel as (start, end, type id))
TYPES = ("PER", "LOC", "MISC", "ORG")
#: the tags a function of these inputs may return, by id (those of :data:`TAGS` first)
ANY_TAG = TAGS + ("B-MISC", "I-MISC", "B-ORG", "I-ORG")
#: the untrained tagger whose wiring the grader checks: build_tagger(*UNTRAINED)
#: (vocab_size, n_tags, embedding_dim, units)
UNTRAINED = (40, 5, 16, 8)
#: gold and predicted tag sequences of the entity-score cases: each catches one misreading of conlleval
TRICKY = [
    (["B-PER", "I-PER", "O", "B-LOC"], ["B-PER", "I-PER", "O", "B-LOC"]),          # right
    (["B-PER", "B-PER", "O", "O"], ["B-PER", "I-PER", "O", "O"]),                  # adjacent spans merged
    (["O", "I-PER", "I-PER", "O"], ["O", "B-PER", "I-PER", "O"]),                  # I- without B- starts a span
    (["B-LOC", "I-PER", "O", "O"], ["B-LOC", "O", "O", "O"]),                      # type change inside a span
    (["B-PER", "O", "B-LOC", "I-LOC"], ["B-LOC", "O", "B-LOC", "O"]),              # type and boundary errors
    (["O", "O", "O", "O"], ["I-LOC", "O", "B-PER", "I-LOC"]),                      # predictions, no gold
    (["B-LOC", "I-LOC", "I-LOC", "O"], ["I-LOC", "I-LOC", "B-LOC", "O"]),          # I- after O, B- inside
]


def _call(function: str, args: dict, **options) -> dict:
    return {"op": "call", "function": function, "args": list(args.values()), "arg_names": list(args), **options}


def _op(op: str, function: str, args: dict, **options) -> dict:
    return {**_call(function, args, **options), "op": op}


def _codes(text: str) -> np.ndarray:
    return np.array([ord(c) for c in text], dtype=np.int64)


def _tag_ids(tags, function: str) -> list[int]:
    if isinstance(tags, (str, bytes)) or not hasattr(tags, "__iter__"):
        raise probe.StudentValue(f"{function} should return a list of tags (str), got a {type(tags).__name__}")
    ids = []
    for tag in tags:
        if not isinstance(tag, str) or tag not in ANY_TAG:
            raise probe.StudentValue(f"{function} returned the tag {tag!r}, which is not O, B-<type> or I-<type> "
                                     f"of a type of the input ({', '.join(TYPES)})")
        ids.append(ANY_TAG.index(tag))
    return ids


def _ragged(rows: list[list[int]]) -> np.ndarray:
    """Rows of ids as one array padded with -1 (shape (n, longest))."""
    width = max((len(r) for r in rows), default=0)
    return np.array([list(r) + [-1] * (width - len(r)) for r in rows], dtype=np.int64).reshape(len(rows), width)


def _sentences_of(value, function: str, n: int) -> list:
    if not isinstance(value, (list, tuple)) or len(value) != n:
        got = f"{len(value)} sentences" if isinstance(value, (list, tuple)) else f"a {type(value).__name__}"
        raise probe.StudentValue(f"{function} should return a list of {n} tag sequences, one per sentence, got {got}")
    return list(value)


# --------------------------------------------------------------------------- the crafted cases
def _vocabulary_corpus() -> list[list[str]]:
    """Word counts 5, 4, 3, 3, 2, 2, 1 ... once lower-cased, ties included, capitals and punctuation mixed."""
    return [["The", "king", "is", "dead", ",", "long", "live", "the", "King", "!"],
            ["the", "THE", "king", "of", "Denmark", "and", "the", "queen"],
            ["Denmark", "'s", "queen", "is", "fair", ",", "and", "so", "is", "Hamlet", "."],
            ["Hamlet", "'s", "father", "."]]


def _encode_cases() -> dict[str, tuple]:
    vocabulary = ["the", "king", "is", ",", "of", "denmark", "'s", "."]
    sentences = [["The", "King", "of", "Norway", "is", "here", "."],
                 ["Horatio", ",", "Marcellus", "and", "thou", ",", "Denmark", "'s", "DANE", "."],
                 ["Alas", ",", "poor", "Yorick", "!", "I", "knew", "him", ",", "Horatio", ":", "42"],
                 ["x"], []]
    starts = [[True, False, False, False, False, False, False],
              [True, False, False, False, False, False, True, False, False, False],
              [False] * 5 + [True] + [False] * 6,
              [True], []]
    return {"shapes": (sentences, starts, vocabulary),
            "empty_vocabulary": (sentences[:3], starts[:3], [])}


def _gazetteer_training() -> tuple[list[list[str]], list[list[str]]]:
    """Training spans: 'Lord Hamlet' and 'Hamlet' (PER), 'Denmark' (LOC twice, PER once: LOC wins), 'Rome' (one
    PER, one LOC: a tie, LOC first alphabetically), 'Sir Toby Belch' (three tokens) and 'Sir Toby' (its
    first two)."""
    sentences = [["Lord", "Hamlet", "is", "here", "."], ["Hamlet", "went", "to", "Denmark", "."],
                 ["Denmark", "is", "cold", "."], ["Denmark", "spoke", "."], ["To", "Rome", "!"],
                 ["Rome", "laughed", "."], ["Sir", "Toby", "Belch", "drinks", "."], ["Sir", "Toby", "sings", "."]]
    tags = [["B-PER", "I-PER", "O", "O", "O"], ["B-PER", "O", "O", "B-LOC", "O"], ["B-LOC", "O", "O", "O"],
            ["B-PER", "O", "O"], ["O", "B-LOC", "O"], ["B-PER", "O", "O"], ["B-PER", "I-PER", "I-PER", "O", "O"],
            ["B-PER", "I-PER", "O", "O"]]
    return sentences, tags


def _gazetteer_sentences() -> list[list[str]]:
    return [["Lord", "Hamlet", "and", "Hamlet", "in", "Denmark"], ["Sir", "Toby", "Belch", "and", "Sir", "Toby"],
            ["Rome", "Rome", "Lord"], ["hamlet", "DENMARK", "Horatio"], ["Lord", "Lord", "Hamlet"], []]


def _capitalisation_cases() -> tuple[list[list[str]], list[list[bool]], dict[str, str]]:
    sentences = [["Good", "Horatio", ",", "go", "to", "Elsinore", "."],
                 ["O", "Romeo", ",", "Romeo", "!", "Wherefore", "art", "thou", "Romeo", "?"],
                 ["And", "then", "to", "England", ";", "Hamlet", "said", ":", "'", "Farewell", "'"],
                 ["Sweet", "lady", "--", "Ophelia", "--", "and", "Laertes", "of", "France"],
                 ["He", "came", "from", "Wittenberg", "with", "Marcellus", "and", "Bernardo", ".", "Who", "?"],
                 ["the", "42", "'s", "Denmark"]]
    starts = [[True] + [False] * 6, [True, False, False, False, False, True, False, False, False, False],
              [False] * 5 + [True] + [False] * 5, [True] + [False] * 8, [False] * 11, [False] * 4]
    types = {"Elsinore": "LOC", "England": "LOC", "France": "LOC", "Denmark": "LOC", "Romeo": "PER"}
    return sentences, starts, types


def _seen_unseen_cases() -> tuple:
    sentences = [["Hamlet", "and", "Horatio", "in", "Elsinore"], ["Lord", "Polonius", "went", "to", "Paris"],
                 ["Romeo", "!", "Romeo", "!"], ["no", "names", "here"]]
    gold = [["B-PER", "O", "B-PER", "O", "B-LOC"], ["B-PER", "I-PER", "O", "O", "B-LOC"],
            ["B-PER", "O", "B-PER", "O"], ["O", "O", "O"]]
    predicted = [["B-PER", "O", "B-LOC", "O", "B-LOC"], ["O", "B-PER", "O", "O", "B-LOC"],
                 ["B-PER", "O", "O", "O"], ["O", "B-PER", "O"]]
    seen = {("Hamlet", "PER"), ("Elsinore", "LOC"), ("Romeo", "PER"), ("Horatio", "LOC"), ("Polonius", "PER")}
    return sentences, gold, predicted, seen


def _random_tags(rng: np.random.Generator, n: int, longest: int) -> list[list[str]]:
    return [[TAGS[t] for t in rng.integers(0, len(TAGS), rng.integers(0, longest + 1))] for _ in range(n)]


def _dropout_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Padded word ids (some rows end in padding, some positions already out of vocabulary) and their OOV ids."""
    rng = np.random.default_rng(20260602)
    x = rng.integers(4, 300, size=(40, 30))
    x[rng.random(x.shape) < 0.1] = rng.integers(1, 4)
    for i, length in enumerate(rng.integers(1, 31, size=40)):
        x[i, length:] = 0
    oov = np.where(x == 0, 0, rng.integers(1, 4, size=x.shape))
    return x.astype(np.int64), oov.astype(np.int64)


@cache
def _all_requests() -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = collections.defaultdict(dict)
    for name, n, spans in (("spans", 9, [(5, 7, "LOC"), (0, 1, "PER"), (2, 5, "PER")]),
                           ("adjacent", 5, [(3, 5, "LOC"), (1, 3, "LOC"), (0, 1, "PER")]),
                           ("whole", 3, [(0, 3, "PER")]), ("no_span", 4, []), ("no_token", 0, []),
                           ("other_types", 6, [(1, 2, "MISC"), (4, 6, "ORG")])):
        out["bio_encode"][name] = _op("tags", "bio_encode", {"n_tokens": n, "spans": spans})
    for name, n, spans in (("overlap", 6, [(0, 2, "PER"), (1, 3, "LOC")]), ("outside", 4, [(2, 5, "PER")]),
                           ("empty_span", 4, [(1, 1, "PER")]), ("negative", 4, [(-1, 2, "PER")])):
        out["bio_encode"][name] = _call("bio_encode", {"n_tokens": n, "spans": spans}, raises=True)

    decode_cases = {
        "well_formed": ["B-PER", "I-PER", "O", "B-LOC", "O", "B-PER"],
        "i_without_b": ["O", "I-PER", "I-PER", "O", "I-LOC"],
        "type_change": ["B-PER", "I-LOC", "I-LOC", "B-LOC", "I-PER"],
        "adjacent": ["B-PER", "B-PER", "I-PER", "B-PER"],
        "ends_in_a_span": ["O", "O", "B-LOC", "I-LOC"],
        "no_tag": [],
        "other_types": ["B-MISC", "I-MISC", "O", "I-ORG", "B-ORG", "I-MISC"],
    }
    for name, tags in decode_cases.items():
        out["bio_decode"][name] = _op("spans", "bio_decode", {"tags": tags})
    out["bio_decode"]["bad_tag"] = _call("bio_decode", {"tags": ["O", "B-PER", "X-PER"]}, raises=True)

    rng = np.random.default_rng(20260603)
    gold = _random_tags(rng, 40, 9)
    noisy = [[t if rng.random() < 0.7 else TAGS[rng.integers(0, len(TAGS))] for t in g] for g in gold]
    score_cases = {
        "tricky": ([g for g, _ in TRICKY], [p for _, p in TRICKY]),
        "random": (gold, noisy),
        "no_prediction": ([["B-PER", "O", "B-LOC"], ["O", "B-PER"]], [["O", "O", "O"], ["O", "O"]]),
        "no_gold": ([["O", "O", "O"], ["O"]], [["B-PER", "I-PER", "O"], ["B-LOC"]]),
        "nothing": ([["O", "O"], []], [["O", "O"], []]),
        "other_types": ([["B-MISC", "I-MISC", "O", "B-PER"]], [["B-MISC", "O", "O", "B-ORG"]]),
    }
    for name, (g, p) in score_cases.items():
        out["entity_scores"][name] = _op("scores", "entity_scores", {"gold": g, "predicted": p})
    out["entity_scores"]["lengths_differ"] = _call(
        "entity_scores", {"gold": [["O", "B-PER"], ["O"]], "predicted": [["O", "B-PER"], ["O", "O"]]}, raises=True)

    train_sentences, train_tags = _gazetteer_training()
    out["baselines"]["surfaces"] = _op("surfaces", "span_surfaces",
                                       {"sentences": train_sentences, "tags": train_tags})
    out["baselines"]["gazetteer"] = _op("tagged", "gazetteer_baseline", {
        "train_sentences": train_sentences, "train_tags": train_tags, "sentences": _gazetteer_sentences()})
    sentences, starts, types = _capitalisation_cases()
    out["baselines"]["capitalisation"] = _op("tagged", "capitalisation_baseline",
                                             {"sentences": sentences, "line_starts": starts})
    out["baselines"]["capitalisation_typed"] = _op("tagged", "capitalisation_baseline",
                                                   {"sentences": sentences, "line_starts": starts,
                                                    "word_types": types})

    corpus = _vocabulary_corpus()
    for name, min_count in (("min_count_2", 2), ("min_count_1", 1), ("min_count_3", 3), ("none_kept", 9)):
        out["build_vocabulary"][name] = _op("words", "build_vocabulary",
                                            {"sentences": corpus, "min_count": min_count})

    for name, (sentences, starts, vocabulary) in _encode_cases().items():
        out["encode"][name] = _op("encoded", "encode",
                                  {"sentences": sentences, "line_starts": starts, "vocabulary": vocabulary})
    words = ["Hamlet", "hamlet", "HAMLET", ",", "42", "'s", "Éire", "élan", "I"]
    out["encode"]["oov_ids"] = {"op": "oov_ids", "function": "oov_id", "tokens": words * 2,
                                "line_starts": [False] * len(words) + [True] * len(words),
                                "arg_names": ["token", "line_start"]}

    ragged = [np.array([5, 6, 7]), np.array([8]), np.array([], dtype=np.int64), np.arange(4, 14)]
    for name, sequences, length, value in (("ragged", ragged, 6, 0), ("cut", ragged, 2, 0),
                                           ("other_value", ragged, 12, -1), ("no_sequence", [], 3, 0)):
        out["pad"][name] = _call("pad", {"sequences": sequences, "length": length, "value": value},
                                 keep=[0, 1], arity=2)

    x, oov = _dropout_arrays()
    out["word_dropout"]["rates"] = {"op": "dropout", "function": "word_dropout", "x": x, "oov": oov,
                                    "runs": [(0.0, 1), (1.0, 1), (0.3, 5), (0.3, 5), (0.3, 6)],
                                    "arg_names": ["x", "oov", "rate", "rng"]}

    out["build_tagger"]["untrained"] = {"op": "build_model", "function": "build_tagger", "args": list(UNTRAINED),
                                        "filename": "untrained_tagger.keras",
                                        "notebook_state": True,  # it saves a file: only in a kernel
                                        "arg_names": ["vocab_size", "n_tags", "embedding_dim", "units"]}

    for name, n, length in (("ragged", 7, 9), ("one_word", 3, 1)):
        probabilities = rng.dirichlet(np.ones(len(TAGS)), size=(n, length))
        lengths = rng.integers(0, length + 1, size=n)
        lengths[0] = length
        mask = np.arange(length)[None, :] < lengths[:, None]
        x_ids = np.where(mask, rng.integers(4, 50, size=(n, length)), 0)
        out["predict_tags"][name] = {"op": "predicted", "function": "predict_tags", "probabilities": probabilities,
                                     "x": x_ids, "mask": mask, "arg_names": ["model (fixed probabilities)", "x",
                                                                             "mask"]}

    out["tagger"]["model"] = {"op": "save_model", "variable": "tagger", "filename": "tagger.keras",
                              "function": "tagger"}

    sentences, gold_tags, predicted_tags, seen = _seen_unseen_cases()
    out["recall_seen_unseen"]["crafted"] = _op("recall", "recall_seen_unseen", {
        "sentences": sentences, "gold": gold_tags, "predicted": predicted_tags, "seen": seen})
    out["recall_seen_unseen"]["nothing_seen"] = _op("recall", "recall_seen_unseen", {
        "sentences": sentences, "gold": gold_tags, "predicted": gold_tags, "seen": set()})

    out["tag_confusion"]["random"] = _call("tag_confusion", {"gold": gold, "predicted": noisy})
    out["tag_confusion"]["tricky"] = _call("tag_confusion", {"gold": [g for g, _ in TRICKY],
                                                             "predicted": [p for _, p in TRICKY]})
    return dict(out)


def requests(exercise: str) -> dict[str, dict]:
    """The requests the probe evaluates for one exercise (grade cell id)."""
    if exercise not in _all_requests():
        raise KeyError(f"no hidden tests for exercise {exercise!r} of ner")
    return _all_requests()[exercise]


# --------------------------------------------------------------------------- probe operations of this assignment
def _called(namespace, request):
    called = probe.call_pristine(probe.lookup(namespace, request["function"]), list(request["args"]))
    return called.returned, called.mutated


def _op_tags(namespace, request) -> dict:
    """A function that returns one tag sequence (``bio_encode``): its tag ids."""
    returned, mutated = _called(namespace, request)
    return {"value": np.array(_tag_ids(returned, request["function"]), dtype=np.int64), "mutated": mutated}


def _op_spans(namespace, request) -> dict:
    """``bio_decode(tags)``: the spans as rows ``(start, end, type id)`` of :data:`TYPES`, shape (k, 3)."""
    returned, mutated = _called(namespace, request)
    rows = []
    for span in returned if isinstance(returned, (list, tuple)) else [returned]:
        if not isinstance(span, (list, tuple)) or len(span) != 3 or span[2] not in TYPES:
            raise probe.StudentValue(f"bio_decode should return a list of (start, end, type) spans, type a str such "
                                     f"as 'PER'; got {span!r:.80}")
        rows.append((int(span[0]), int(span[1]), TYPES.index(span[2])))
    return {"value": np.array(rows, dtype=np.int64).reshape(len(rows), 3), "mutated": mutated}


def _op_scores(namespace, request) -> dict:
    """``entity_scores(gold, predicted)``: rows (precision, recall, F1) for ``"ALL"`` and each type of the
    inputs, in :data:`TYPES` order, shape (k, 3)."""
    returned, mutated = _called(namespace, request)
    if not isinstance(returned, dict):
        raise probe.StudentValue(f"entity_scores should return a dict {{type: (precision, recall, f1)}}, got a "
                                 f"{type(returned).__name__}")
    present = {tag.partition("-")[2] for sequences in request["args"] for tags in sequences for tag in tags} - {""}
    keys = ["ALL", *[t for t in TYPES if t in present]]
    missing = [k for k in keys if k not in returned]
    if missing:
        raise probe.StudentValue(f"entity_scores returned no scores for {missing} (its keys: {sorted(returned)}): "
                                 "give 'ALL' and every type found in the gold or the predicted tags")
    rows = [[float(v) for v in probe.outputs(returned[k], f"entity_scores[{k!r}]", 3)] for k in keys]
    return {"value": np.array(rows), "mutated": mutated}


def _op_surfaces(namespace, request) -> dict:
    """``span_surfaces(sentences, tags)``: its keys ``text|type`` sorted and joined by newlines (code points),
    and their counts in that order."""
    returned, mutated = _called(namespace, request)
    if not isinstance(returned, collections.abc.Mapping):
        raise probe.StudentValue(f"span_surfaces should return a Counter of (text, type), got a "
                                 f"{type(returned).__name__}")
    keys = []
    for key in returned:
        if not isinstance(key, tuple) or len(key) != 2 or not all(isinstance(k, str) for k in key):
            raise probe.StudentValue(f"span_surfaces' keys should be (text, type) pairs of str, got {key!r:.80}")
        keys.append(key)
    keys.sort()
    return {"value": (_codes("\n".join(f"{text}|{kind}" for text, kind in keys)),
                      np.array([int(returned[k]) for k in keys], dtype=np.int64)), "mutated": mutated}


def _op_tagged(namespace, request) -> dict:
    """A function that tags sentences (the baselines): tag ids, one row per sentence, -1 after its end."""
    returned, mutated = _called(namespace, request)
    sentences = request["args"][-1] if request["function"] == "gazetteer_baseline" else request["args"][0]
    tagged = _sentences_of(returned, request["function"], len(sentences))
    rows = [_tag_ids(tags, request["function"]) for tags in tagged]
    short = [i for i, (row, tokens) in enumerate(zip(rows, sentences)) if len(row) != len(tokens)]
    if short:
        raise probe.StudentValue(f"{request['function']}: sentence {short[0]} has {len(sentences[short[0]])} tokens "
                                 f"but {len(rows[short[0]])} tags")
    return {"value": _ragged(rows), "mutated": mutated}


def _op_words(namespace, request) -> dict:
    """``build_vocabulary(sentences, min_count)``: its words in order, joined by newlines (code points), and
    how many."""
    returned, mutated = _called(namespace, request)
    if not isinstance(returned, (list, tuple)) or not all(isinstance(w, str) for w in returned):
        raise probe.StudentValue(f"build_vocabulary should return a list of words (str), got {returned!r:.80}")
    return {"value": (_codes("\n".join(returned)), np.array(len(returned))), "mutated": mutated}


def _op_encoded(namespace, request) -> dict:
    """``encode(sentences, line_starts, vocabulary)``: the ids of all sentences one after the other, and each
    sentence's length."""
    returned, mutated = _called(namespace, request)
    sentences = request["args"][0]
    rows = _sentences_of(returned, "encode", len(sentences))
    arrays = [np.asarray(row) for row in rows]
    if not all(a.ndim == 1 and (a.dtype.kind in "iu" or a.size == 0) for a in arrays):
        raise probe.StudentValue("encode should return one 1-D array of int word ids per sentence, got "
                                 f"{[(a.dtype.name, a.shape) for a in arrays][:3]}")
    return {"value": (np.concatenate([a.astype(np.int64) for a in arrays] or [np.zeros(0, np.int64)]),
                      np.array([len(a) for a in arrays], dtype=np.int64)), "mutated": mutated}


def _op_oov_ids(namespace, request) -> dict:
    """``oov_id(token, line_start)`` of each token."""
    function = probe.lookup(namespace, request["function"])
    return {"value": np.array([int(function(t, bool(s))) for t, s in zip(request["tokens"], request["line_starts"])],
                              dtype=np.int64)}


def _op_dropout(namespace, request) -> dict:
    """``word_dropout(x, oov, rate, rng)`` for each (rate, generator seed) of ``runs``, NumPy's global state
    seeded otherwise before each call (a function that ignores ``rng`` is not reproducible): the outputs stacked,
    shape (runs, n, T), and whether ``x`` was left as it was."""
    function = probe.lookup(namespace, request["function"])
    x, oov = request["x"], request["oov"]
    outputs = []
    with GlobalStateKept():
        for k, (rate, seed) in enumerate(request["runs"]):
            np.random.seed(1000 + k)
            given = x.copy()
            result = np.asarray(function(given, oov.copy(), float(rate), np.random.default_rng(seed)))
            if result.shape != x.shape or result.dtype.kind not in "iu":
                raise probe.StudentValue(f"word_dropout should return int ids of the shape of x, {x.shape}; got "
                                         f"{result.dtype} of shape {result.shape}")
            if not np.array_equal(given, x):
                raise probe.StudentValue("word_dropout changed the x it was given: return a changed copy (x is the "
                                         "training data, used again every epoch)")
            outputs.append(result.astype(np.int64))
    return {"value": np.stack(outputs)}


class FixedTagger:
    """A stand-in for a trained tagger: ``predict`` returns fixed tag probabilities, shape (n, T, 5)."""

    def __init__(self, probabilities: np.ndarray):
        self.probabilities = np.asarray(probabilities, dtype=np.float32)

    def predict(self, x, verbose=0, **kwargs):
        if np.shape(x) != self.probabilities.shape[:2]:
            raise ValueError(f"the model was given inputs of shape {np.shape(x)}, not the padded word ids of shape "
                             f"{self.probabilities.shape[:2]}")
        return self.probabilities.copy()

    def __call__(self, x, training=False):
        return self.predict(x)


def _op_predicted(namespace, request) -> dict:
    """``predict_tags(model, x, mask)`` with a stand-in model of known probabilities: tag ids, -1 after each
    sentence's end."""
    function = probe.lookup(namespace, request["function"])
    tagged = _sentences_of(function(FixedTagger(request["probabilities"]), request["x"].copy(),
                                    request["mask"].copy()), "predict_tags", len(request["x"]))
    return {"value": _ragged([_tag_ids(tags, "predict_tags") for tags in tagged])}


def _op_recall(namespace, request) -> dict:
    """``recall_seen_unseen(...)``: (recall, number of spans) for ``"seen"``, and for ``"unseen"``."""
    returned, mutated = _called(namespace, request)
    if not isinstance(returned, dict) or not {"seen", "unseen"} <= set(returned):
        raise probe.StudentValue(f"recall_seen_unseen should return a dict with the keys 'seen' and 'unseen', got "
                                 f"{returned!r:.80}")
    rows = [np.array([float(v) for v in probe.outputs(returned[k], f"recall_seen_unseen[{k!r}]", 2)])
            for k in ("seen", "unseen")]
    return {"value": tuple(rows), "mutated": mutated}


OPS = {"build_model": op_build_model, "tags": _op_tags, "spans": _op_spans, "scores": _op_scores,
       "surfaces": _op_surfaces, "tagged": _op_tagged, "words": _op_words, "encoded": _op_encoded,
       "oov_ids": _op_oov_ids, "dropout": _op_dropout, "predicted": _op_predicted, "recall": _op_recall}
