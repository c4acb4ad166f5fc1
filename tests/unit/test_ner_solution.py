"""The reference solution of assignment 06 (named-entity recognition): BIO spans, the entity scores against
seqeval (conlleval semantics) on ill-formed sequences, the encoding, word dropout, the baselines, and a tagger
that learns to tag names it never saw only with word dropout."""
from __future__ import annotations

import numpy as np
import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

from course_lib.assignments.ner.inputs import TRICKY
from course_lib.solutions import ner

# the hidden tests' own cases (course_lib/assignments/ner/inputs.py): checked here against seqeval


def test_bio_round_trip_and_ill_formed_sequences():
    spans = [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "LOC")]
    tags = ner.bio_encode(6, spans)
    assert tags == ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "O"]
    assert ner.bio_decode(tags) == spans
    assert ner.bio_decode(["O", "I-PER", "I-PER", "B-PER"]) == [(1, 3, "PER"), (3, 4, "PER")]
    assert ner.bio_decode(["B-LOC", "I-PER", "I-LOC"]) == [(0, 1, "LOC"), (1, 2, "PER"), (2, 3, "LOC")]
    assert ner.bio_decode([]) == [] and ner.bio_encode(0, []) == []
    for bad in ([(1, 1, "PER")], [(0, 7, "PER")], [(0, 2, "PER"), (1, 3, "LOC")]):
        with pytest.raises(ValueError):
            ner.bio_encode(6, bad)
    with pytest.raises(ValueError, match="position 1"):
        ner.bio_decode(["O", "X-PER"])


@pytest.mark.parametrize("case", range(len(TRICKY)))
def test_entity_scores_agree_with_seqeval_sentence_by_sentence(case):
    gold, predicted = TRICKY[case]
    scores = ner.entity_scores([gold], [predicted])["ALL"]
    expected = tuple(score([gold], [predicted], zero_division=0)
                     for score in (precision_score, recall_score, f1_score))
    assert scores == pytest.approx(expected)


def test_entity_scores_agree_with_seqeval_per_type_on_the_whole_set():
    gold, predicted = [g for g, _ in TRICKY], [p for _, p in TRICKY]
    scores = ner.entity_scores(gold, predicted)
    assert scores["ALL"] == pytest.approx((precision_score(gold, predicted), recall_score(gold, predicted),
                                           f1_score(gold, predicted)))
    report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    assert set(scores) == {"ALL", "LOC", "PER"}
    for kind in ("LOC", "PER"):
        assert scores[kind] == pytest.approx((report[kind]["precision"], report[kind]["recall"],
                                              report[kind]["f1-score"]))
    assert ner.entity_scores([["O"]], [["O"]]) == {"ALL": (0.0, 0.0, 0.0)}
    with pytest.raises(ValueError):
        ner.entity_scores([["O", "O"]], [["O"]])


def test_vocabulary_order_and_shape_aware_oov_ids():
    sentences = [["The", "king", ",", "the", "Queen"], ["the", "King", "Hamlet", ","]]
    vocabulary = ner.build_vocabulary(sentences, min_count=2)
    assert vocabulary == ["the", ",", "king"]   # 3, 2, 2 (ties alphabetical); "queen" and "hamlet" once
    ids = ner.encode([["Hamlet", "the", "queen", "Ophelia", "42"]], [[True, False, False, False, False]],
                     vocabulary)[0]
    assert ids.tolist() == [ner.OOV_IDS["line_start"], 4, ner.OOV_IDS["lower"], ner.OOV_IDS["capitalised"],
                            ner.OOV_IDS["lower"]]
    padded, mask = ner.pad([np.array([5, 6, 7]), np.array([8])], 2)
    assert padded.tolist() == [[5, 6], [8, 0]] and mask.tolist() == [[True, True], [True, False]]


def test_word_dropout_replaces_vocabulary_words_only_by_their_oov_ids_at_the_rate():
    rng = np.random.default_rng(0)
    x = np.where(np.arange(200)[None, :] < 150, rng.integers(1, 60, size=(50, 200)), 0)
    oov = np.where(x >= ner.FIRST_WORD_ID, rng.integers(1, 4, size=x.shape), x)
    before = x.copy()
    dropped = ner.word_dropout(x, oov, 0.3, np.random.default_rng(1))
    assert (x == before).all()
    changed = dropped != x
    assert (x[changed] >= ner.FIRST_WORD_ID).all() and (dropped[changed] == oov[changed]).all()
    assert (dropped[x == 0] == 0).all() and (dropped[x < ner.FIRST_WORD_ID] == x[x < ner.FIRST_WORD_ID]).all()
    share = changed.sum() / (x >= ner.FIRST_WORD_ID).sum()
    assert 0.28 < share < 0.32
    assert (ner.word_dropout(x, oov, 0.0, rng) == x).all()


def test_baselines_and_seen_unseen_recall():
    train = [["Good", "Horatio", "in", "Denmark"], ["the", "Duke", "of", "Venice"]]
    train_tags = [["O", "B-PER", "O", "B-LOC"], ["O", "O", "O", "B-LOC"]]
    test = [["Horatio", "and", "Ophelia", "of", "Denmark"], ["Then", "comes", "Cassio"]]
    assert ner.gazetteer_baseline(train, train_tags, test) == [["B-PER", "O", "O", "O", "B-LOC"], ["O", "O", "O"]]
    assert ner.capitalisation_baseline(test, [[True, False, False, False, False], [False, False, True]],
                                       {"Denmark": "LOC"}) == [["O", "O", "B-PER", "O", "B-LOC"], ["O", "O", "O"]]
    gold = [["B-PER", "O", "B-PER", "O", "B-LOC"], ["O", "O", "B-PER"]]
    predicted = [["B-PER", "O", "O", "O", "B-PER"], ["O", "O", "B-PER"]]
    seen = set(ner.span_surfaces(train, train_tags))
    assert ner.recall_seen_unseen(test, gold, predicted, seen) == {"seen": (0.5, 2), "unseen": (0.5, 2)}
    confusion = ner.tag_confusion(gold, predicted)
    assert confusion.sum() == 8 and confusion[ner.TAG_IDS["B-LOC"], ner.TAG_IDS["B-PER"]] == 1


def _toy_corpus(rng, names, n):
    """Sentences where a capitalised word after "sir" or before "speaks" is a name."""
    words = ["the", "and", "a", "night", "crown", "sword", "good", "my", "of", "is"]
    sentences, tags = [], []
    for _ in range(n):
        name = names[rng.integers(len(names))]
        left = list(rng.choice(words, rng.integers(1, 4)))
        right = list(rng.choice(words, rng.integers(1, 4)))
        form = rng.integers(2)
        middle = ["sir", name] if form == 0 else [name, "speaks"]
        sentences.append(left + middle + right)
        tag = ["O"] * len(sentences[-1])
        tag[len(left) + (1 if form == 0 else 0)] = "B-PER"
        tags.append(tag)
    return sentences, tags


def test_a_tagger_trained_with_word_dropout_tags_names_it_never_saw():
    import keras

    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    train_names = [f"Name{chr(97 + i)}{chr(97 + j)}" for i in range(6) for j in range(5)]
    test_names = [f"Other{chr(97 + i)}" for i in range(10)]
    train, train_tags = _toy_corpus(rng, train_names, 600)
    test, test_tags = _toy_corpus(rng, test_names, 100)
    vocabulary = ner.build_vocabulary(train, 2)
    starts = lambda part: [[False] * len(s) for s in part]  # noqa: E731
    x, _ = ner.pad(ner.encode(train, starts(train), vocabulary), 10)
    oov = np.array([[ner.oov_id(t, False) for t in s] + [0] * (10 - len(s)) for s in train])
    y, _ = ner.pad([[ner.TAG_IDS[t] for t in s] for s in train_tags], 10)
    test_x, test_mask = ner.pad(ner.encode(test, starts(test), vocabulary), 10)
    model = ner.build_tagger(len(vocabulary) + ner.FIRST_WORD_ID, embedding_dim=16, units=16)
    history = ner.train_tagger(model, x, y, oov, test_x, test_tags, epochs=6, rate=0.3, rng=rng)
    assert len(history) == 6
    f1 = ner.entity_scores(test_tags, ner.predict_tags(model, test_x, test_mask))["ALL"][2]
    assert f1 == pytest.approx(max(history)) and f1 > 0.9
