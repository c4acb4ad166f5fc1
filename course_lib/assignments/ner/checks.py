"""How the grader judges the hidden tests of assignment 06: checks, tolerances, thresholds and hints.

Grader side only (never imported by a kernel). The functions are compared with the reference's values on crafted
cases (the reference's entity scores are checked against ``seqeval`` by the unit tests). The trained tagger is
saved by the probe and scored here, by :func:`entity_f1`, on the five test plays, which no kernel sees
(``source/06_ner/hidden/test_heldout.npz``), with a threshold from the study in ``benchmarks/ner_study.py`` (5
seeds; figures below and in benchmarks/results/ner_study.md). The tagger reads the whole sentence in both
directions, as a tagger may (it predicts tags, not the next word): it is not checked for causality.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.assignments.ner.inputs import UNTRAINED
from course_lib.grading.checks import Check
from course_lib.grading.models import ModelRejected, register_metric
from course_lib.solutions.ner import FIRST_WORD_ID, TAGS, entity_scores

_OUTPUT_HINT = (f"end the tagger with Dense({len(TAGS)}, activation='softmax') on a Bidirectional LSTM with "
                "return_sequences=True: one distribution over the tags at every word")


def entity_f1(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Entity-level F1 (conlleval: a span counts when its start, end and type are right) of a tagger's predictions.

    Parameters
    ----------
    predictions : np.ndarray, shape (n, T, 5)
        Scores of the tags of :data:`~course_lib.solutions.ner.TAGS` at every position; the largest is the tag.
    labels : np.ndarray of int, shape (n, T)
        Tag ids, -1 at padding (those positions are not scored).

    Raises
    ------
    ModelRejected
        The predictions are not of that shape, or hold NaN or infinite values.
    """
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if labels.ndim != 2 or labels.dtype.kind not in "iu":
        raise ValueError(f"labels of dtype {labels.dtype} and shape {labels.shape} are not tag ids of shape (n, T) "
                         "(instructor: rebuild the held-out data)")
    wanted = labels.shape + (len(TAGS),)
    if predictions.shape != wanted:
        raise ModelRejected(f"the tagger's predictions have shape {predictions.shape}, not {wanted} (one score per "
                            f"tag at each of the {labels.shape[1]} positions of each padded sentence): {_OUTPUT_HINT}")
    if predictions.dtype.kind not in "biuf" or not np.isfinite(predictions).all():
        raise ModelRejected(f"the tagger's predictions hold NaN, infinite or non-numeric values: {_OUTPUT_HINT}, and "
                            "check that training did not diverge")
    best = predictions.argmax(axis=-1)
    real = labels >= 0
    gold = [[TAGS[t] for t in row[m]] for row, m in zip(labels, real)]
    found = [[TAGS[t] for t in row[m]] for row, m in zip(best, real)]
    return float(entity_scores(gold, found)["ALL"][2])


register_metric("entity_f1", entity_f1, higher_is_better=True)

#: entity F1 on the five test plays (7,516 sentences). Measured on five seeds with the notebook's recipe
#: (benchmarks/results/ner_study.md): with word dropout 0.25, 0.772-0.795 (0.7725 at the notebook's seed 0);
#: without it, 0.52-0.68; the gazetteer of training names 0.445 and the capitalisation heuristic 0.426 (computed
#: by the build, on the same sentences)
TAGGER_THRESHOLD = 0.72
OTHER_RECURRENT = ("GRU", "SimpleRNN", "Conv1D")


def dropout_behaves(value: Any, request: dict) -> str:
    """``word_dropout`` at rates 0, 1 and 0.3 (seeds 5, 5, 6): nothing dropped at 0, every vocabulary word at 1,
    about 30 % at 0.3, only vocabulary words and only to their own OOV id, the same for the same generator and
    not for another."""
    x, oov = request["x"], request["oov"]
    runs = np.asarray(value)
    if runs.shape != (len(request["runs"]),) + x.shape:
        return f"the outputs have shape {runs.shape[1:]}, not that of x, {x.shape}"
    vocabulary = x >= FIRST_WORD_ID
    if not np.array_equal(runs[0], x):
        return "at rate 0 the ids changed: nothing should be dropped"
    if not np.array_equal(runs[1], np.where(vocabulary, oov, x)):
        wrong = np.argwhere(runs[1] != np.where(vocabulary, oov, x))[0]
        return (f"at rate 1 every vocabulary word (id ≥ {FIRST_WORD_ID}) becomes its OOV id and nothing else "
                f"changes; at {tuple(int(i) for i in wrong)} x is {x[tuple(wrong)]}, oov {oov[tuple(wrong)]}, got "
                f"{int(runs[1][tuple(wrong)])}")
    for run in runs[2:]:
        changed = run != x
        if (changed & ~vocabulary).any():
            return "padding (0) or an id already out of vocabulary (1-3) was changed: only words are dropped"
        if not np.array_equal(run[changed], oov[changed]):
            return "a dropped word became another id than its own OOV id (oov at the same position)"
    share = (runs[2] != x)[vocabulary].mean()
    n = int(vocabulary.sum())
    spread = 4.5 * np.sqrt(0.3 * 0.7 / n)
    if abs(share - 0.3) > spread:
        return f"at rate 0.3, {share:.1%} of the {n} words were dropped (expected 30% ± {spread:.1%})"
    if not np.array_equal(runs[2], runs[3]):
        return ("two generators of the same seed dropped different words: draw from rng (rng.random), not from "
                "np.random")
    if np.array_equal(runs[2], runs[4]):
        return "generators of different seeds dropped the same words: draw from the rng you are given"
    return ""


def checks() -> list[Check]:
    """Every verdict of the assignment, grouped by exercise through ``Check.exercise``."""
    encode_hint = ("each span (start, end, type), end exclusive: B-type at start, I-type up to end - 1, O "
                   "elsewhere; raise ValueError for an empty span, one outside the sentence, or one overlapping "
                   "another.")
    decode_hint = ("read left to right: B-X always starts a span; I-X continues the span before it only if that "
                   "span has type X, otherwise it starts one (conlleval); O ends any span; a tag that is not O, "
                   "B-type or I-type raises ValueError.")
    scores_hint = ("spans from bio_decode; a predicted span is correct when a gold span has the same start, end "
                   "and type; precision = correct / predicted, recall = correct / gold, F1 their harmonic mean, "
                   "0 where a denominator is 0; 'ALL' over every type, and one entry per type found in either.")
    vocabulary_hint = ("count the lower-cased tokens; keep those seen at least min_count times, sorted by count "
                       "(most frequent first), ties alphabetically.")
    encoding_hint = ("id = vocabulary index + FIRST_WORD_ID for a word of the vocabulary (looked up lower-cased); "
                     "otherwise oov_id(token, line_start): 3 for a capitalised token at a verse line's start, 2 "
                     "for a capitalised token elsewhere, 1 for anything else.")
    pad_hint = ("an int64 array (n, length) filled with value, each sequence copied at the start (cut to "
                "length), and a bool mask that is True exactly where a token was copied.")
    baseline_hint = ("gazetteer: the training spans' texts, each with its most frequent training type (ties: "
                     "alphabetical); scan left to right, take the longest run of tokens that is such a text, then "
                     "go on after it. Capitalisation: one-token spans for capitalised tokens that are not the "
                     "sentence's first token, not after a token of CLAUSE_OPENERS and not a verse line's start; "
                     "type word_types.get(token, 'PER').")
    untrained = ", ".join(map(str, UNTRAINED))
    return [
        *(Check(f"bio_encode/{name}", "bio_encode", name, f"bio_encode({what})", "outputs", ("tags",), rtol=0,
                atol=0, hint=encode_hint)
          for name, what in (("spans", "9 tokens, spans given out of order"),
                             ("adjacent", "5 tokens, two LOC spans side by side"),
                             ("whole", "3 tokens, one span over all of them"), ("no_span", "4 tokens, no span"),
                             ("no_token", "0 tokens, no span"), ("other_types", "MISC and ORG spans"))),
        *(Check(f"bio_encode/{name}", "bio_encode", name, f"bio_encode({what}) raises ValueError", "raises",
                ("ValueError",), hint=encode_hint)
          for name, what in (("overlap", "two overlapping spans"), ("outside", "a span past the last token"),
                             ("empty_span", "the empty span (1, 1)"), ("negative", "a span starting at -1"))),
        *(Check(f"bio_decode/{name}", "bio_decode", name, f"bio_decode({what})", "outputs", ("spans",), rtol=0,
                atol=0, hint=decode_hint)
          for name, what in (("well_formed", "well-formed tags"), ("i_without_b", "I- tags after O"),
                             ("type_change", "I-LOC after B-PER"), ("adjacent", "B-PER B-PER I-PER B-PER"),
                             ("ends_in_a_span", "tags ending inside a span"), ("no_tag", "[]"),
                             ("other_types", "MISC and ORG tags"))),
        Check("bio_decode/bad_tag", "bio_decode", "bad_tag", "bio_decode(['O', 'B-PER', 'X-PER']) raises ValueError",
              "raises", ("ValueError",), hint=decode_hint),
        *(Check(f"entity_scores/{name}", "entity_scores", name, f"entity_scores({what})", "outputs", ("scores",),
                rtol=1e-9, atol=1e-12, weight=weight, hint=scores_hint)
          for name, what, weight in (
              ("tricky", "7 sentences: adjacent spans, I- without B-, type changes, boundary errors", 3),
              ("random", "40 random tag sequences against noisy copies", 2),
              ("no_prediction", "no predicted span", 1), ("no_gold", "no gold span", 1),
              ("nothing", "no span at all", 1), ("other_types", "MISC, PER and ORG", 1))),
        Check("entity_scores/lengths_differ", "entity_scores", "lengths_differ",
              "entity_scores(a sentence whose gold and predicted tags differ in length) raises ValueError",
              "raises", ("ValueError",), hint="tags are per token: lengths that differ are a bug upstream, say so."),
        Check("baselines/surfaces", "baselines", "surfaces", "span_surfaces(8 training sentences)", "outputs",
              ("span texts", "counts"), rtol=0, atol=0,
              hint="a Counter of (the span's tokens joined by one space, type) over every span bio_decode finds."),
        Check("baselines/gazetteer", "baselines", "gazetteer",
              "gazetteer_baseline(8 training sentences, 6 sentences: nested names, a tie, repeated words)",
              "outputs", ("tags",), rtol=0, atol=0, weight=2, hint=baseline_hint),
        *(Check(f"baselines/{name}", "baselines", name, f"capitalisation_baseline({what})", "outputs", ("tags",),
                rtol=0, atol=0, hint=baseline_hint)
          for name, what in (("capitalisation", "6 sentences: line starts, clause openers, quotes"),
                             ("capitalisation_typed", "the same, with word_types"))),
        *(Check(f"build_vocabulary/{name}", "build_vocabulary", name,
                f"build_vocabulary(4 sentences, min_count={count})", "outputs", ("words", "size"), rtol=0, atol=0,
                hint=vocabulary_hint)
          for name, count in (("min_count_2", 2), ("min_count_1", 1), ("min_count_3", 3), ("none_kept", 9))),
        Check("encode/shapes", "encode", "shapes",
              "encode(5 sentences: known words in any case, unknown names at and inside verse lines, an empty "
              "sentence)", "outputs", ("ids", "lengths"), rtol=0, atol=0, weight=2, hint=encoding_hint),
        Check("encode/empty_vocabulary", "encode", "empty_vocabulary", "encode(3 sentences, an empty vocabulary)",
              "outputs", ("ids", "lengths"), rtol=0, atol=0, hint=encoding_hint),
        Check("encode/oov_ids", "encode", "oov_ids", "oov_id of 9 tokens (capitalised, lower, upper, punctuation, "
              "accents, 'I'), inside and at the start of a verse line", "outputs", ("ids",), rtol=0, atol=0,
              hint="a token is capitalised when its first character is an upper-case letter (str.isupper)."),
        *(Check(f"pad/{name}", "pad", name, f"pad({what})", "outputs", ("padded", "mask"), rtol=0, atol=0,
                hint=pad_hint)
          for name, what in (("ragged", "4 sequences of 3, 1, 0 and 10 ids, length 6"),
                             ("cut", "the same, length 2: cut"), ("other_value", "length 12, value -1"),
                             ("no_sequence", "[], length 3"))),
        Check("word_dropout/rates", "word_dropout", "rates",
              "word_dropout(40 padded sentences) at rates 0, 1 and 0.3 (generators of seeds 5, 5 and 6)",
              "property", predicate=dropout_behaves, weight=2,
              hint="dropped = (x >= FIRST_WORD_ID) & (rng.random(x.shape) < rate); return np.where(dropped, oov, x) "
                   "— a new array, x unchanged."),
        Check("build_tagger/wiring", "build_tagger", "untrained",
              f"build_tagger({untrained}), untrained: padded word ids in, a distribution over the "
              f"{UNTRAINED[1]} tags out at every position", "model", metric="valid_distributions",
              threshold=1.0, heldout="untrained_probe.npz",
              architecture=("Embedding", "Bidirectional", f"LSTM({UNTRAINED[3]})"), forbidden=OTHER_RECURRENT,
              hint="Input((None,), dtype='int64') -> Embedding(vocab_size, embedding_dim, mask_zero=True) -> "
                   "Dropout(0.25) -> Bidirectional(LSTM(units, return_sequences=True)) -> Dense(n_tags, "
                   "activation='softmax')."),
        *(Check(f"predict_tags/{name}", "predict_tags", name, f"predict_tags({what})", "outputs", ("tags",),
                rtol=0, atol=0,
                hint="model.predict(x) gives (n, T, 5) probabilities: the argmax at each position, kept where mask "
                     "is True, as tag strings of TAGS.")
          for name, what in (("ragged", "a model of known probabilities, 7 sentences of 0 to 9 words"),
                             ("one_word", "3 sentences of at most 1 word"))),
        Check("tagger/heldout", "tagger", "model",
              "tagger on the five test plays it never saw (Hamlet, Macbeth, Othello, The Tempest, Twelfth Night: "
              "7,516 sentences, 70% of their names unseen in training)", "model", metric="entity_f1",
              threshold=TAGGER_THRESHOLD, heldout="test_heldout.npz",
              baselines=("gazetteer=the gazetteer of training names", "capitalisation=the capitalisation heuristic"),
              architecture=("Embedding", "Bidirectional", "LSTM"), forbidden=OTHER_RECURRENT,
              hint="build_tagger(len(vocabulary) + FIRST_WORD_ID) trained by train_tagger with WORD_DROPOUT on the "
                   "training share, vocabulary = build_vocabulary(all training sentences, MIN_COUNT): the grader "
                   "codes the test plays with that vocabulary. Without word dropout the tagger memorises the "
                   "training names and misses new ones."),
        Check("recall_seen_unseen/crafted", "recall_seen_unseen", "crafted",
              "recall_seen_unseen(4 sentences, 5 seen names)", "outputs", ("seen", "unseen"), rtol=1e-9,
              atol=1e-12, hint="a gold span is seen when (its text, its type) is in seen; its recall counts it found "
                               "when the predicted tags have the same span (start, end, type)."),
        Check("recall_seen_unseen/nothing_seen", "recall_seen_unseen", "nothing_seen",
              "recall_seen_unseen(perfect predictions, nothing seen)", "outputs", ("seen", "unseen"), rtol=1e-9,
              atol=1e-12, hint="with no seen span, the seen recall is 0.0 over 0 spans."),
        *(Check(f"tag_confusion/{name}", "tag_confusion", name, f"tag_confusion({what})", "outputs", ("matrix",),
                rtol=0, atol=0, hint="matrix[TAG_IDS[gold tag], TAG_IDS[predicted tag]] += 1 for every token.")
          for name, what in (("random", "40 random tag sequences against noisy copies"),
                             ("tricky", "7 short sentences"))),
    ]
