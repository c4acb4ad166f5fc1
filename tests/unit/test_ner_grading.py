"""Assignment 06's grading data and metric: the released CoNLL text reads back as built, the held-out test plays
are coded with the training vocabulary (a name only they hold is out of vocabulary), the baselines score what the
reference functions give, and ``entity_f1`` scores a tagger's predictions as ``entity_scores`` does, refusing
predictions of another shape."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib.assignments.ner import data
from course_lib.assignments.ner.checks import entity_f1
from course_lib.data.conll import read_conll_columns
from course_lib.grading.models import HIGHER_IS_BETTER, METRICS, ModelRejected
from course_lib.solutions import ner
from tests.unit.test_shakespeare_ner import corpus  # noqa: F401 - the real corpus, built once for this module


def _one_hot(ids: np.ndarray) -> np.ndarray:
    out = np.zeros(ids.shape + (len(ner.TAGS),), dtype=np.float32)
    np.put_along_axis(out, np.clip(ids, 0, None)[..., None], 1.0, axis=-1)
    return out


def test_entity_f1_is_entity_scores_on_the_real_positions():
    gold = [["B-PER", "I-PER", "O"], ["O", "B-LOC"], ["B-LOC"]]
    predicted = [["B-PER", "I-PER", "O"], ["B-PER", "O"], ["B-LOC"]]
    labels = np.full((3, 4), -1)
    guess = np.zeros((3, 4), dtype=np.int64)
    for i, (g, p) in enumerate(zip(gold, predicted)):
        labels[i, :len(g)] = [ner.TAG_IDS[t] for t in g]
        guess[i, :len(p)] = [ner.TAG_IDS[t] for t in p]
    guess[:, 3] = ner.TAG_IDS["I-PER"]  # padding: never scored, whatever the model says there
    expected = ner.entity_scores(gold, predicted)["ALL"][2]
    assert entity_f1(_one_hot(guess), labels) == pytest.approx(expected) and 0 < expected < 1
    assert "entity_f1" in METRICS and "entity_f1" in HIGHER_IS_BETTER


@pytest.mark.parametrize("shape", [(3, 4), (3, 4, 4), (3, 5, 5), (2, 4, 5)])
def test_entity_f1_refuses_predictions_of_another_shape(shape):
    with pytest.raises(ModelRejected, match="shape"):
        entity_f1(np.zeros(shape), np.zeros((3, 4), dtype=np.int64))


def test_entity_f1_refuses_nan():
    predictions = np.zeros((1, 2, 5))
    predictions[0, 1, 2] = np.nan
    with pytest.raises(ModelRejected, match="NaN"):
        entity_f1(predictions, np.zeros((1, 2), dtype=np.int64))


def test_released_conll_reads_back_as_built(corpus, tmp_path):  # noqa: F811
    path = tmp_path / data.DEV_FILE
    path.write_text(data.conll_text(corpus["dev"]), encoding="utf-8")
    rows = read_conll_columns(path)
    assert len(rows) == len(corpus["dev"])
    for sentence, read in zip(corpus["dev"][::97], rows[::97]):
        assert [r[0] for r in read] == list(sentence.tokens)
        assert [r[1] == "1" for r in read] == list(sentence.line_start)
        assert [r[2] for r in read] == list(sentence.tags)


def test_the_test_plays_are_coded_with_the_training_vocabulary(corpus):  # noqa: F811
    arrays = data.heldout_arrays(corpus)
    x, y = arrays["x"], arrays["y"]
    test = corpus["test"]
    assert x.shape == y.shape == (len(test), data.MAX_TOKENS) and x.dtype == y.dtype == np.int64
    lengths = np.array([len(s.tokens) for s in test])
    real = np.arange(data.MAX_TOKENS)[None, :] < lengths[:, None]
    assert ((x != ner.PAD) == real).all() and ((y >= 0) == real).all() and (y[~real] == data.IGNORED).all()
    vocabulary = set(ner.build_vocabulary([list(s.tokens) for s in corpus["train"]], data.MIN_COUNT))
    for i in range(0, len(test), 211):
        for t, (token, start) in enumerate(zip(test[i].tokens, test[i].line_start)):
            if token.lower() not in vocabulary:
                assert x[i, t] == ner.oov_id(token, start), (token, x[i, t])
            else:
                assert x[i, t] >= ner.FIRST_WORD_ID
    # a test-only name is out of vocabulary for every tagger: Prospero never occurs in the training plays
    prospero = [(i, t) for i, s in enumerate(test) for t, token in enumerate(s.tokens) if token == "Prospero"]
    assert prospero and all(x[i, t] in (1, 2, 3) for i, t in prospero)
    for name in ("gazetteer", "capitalisation"):
        baseline = arrays[f"baseline_{name}"]
        assert baseline.shape == x.shape + (len(ner.TAGS),) and (baseline.sum(-1) == 1).all()
    gold = [list(s.tags) for s in test]
    train_tokens, train_tags = [list(s.tokens) for s in corpus["train"]], [list(s.tags) for s in corpus["train"]]
    gazetteer = ner.gazetteer_baseline(train_tokens, train_tags, [list(s.tokens) for s in test])
    assert entity_f1(arrays["baseline_gazetteer"], y) == pytest.approx(ner.entity_scores(gold, gazetteer)["ALL"][2])
    # the figures the notebook and checks.py state
    assert entity_f1(arrays["baseline_gazetteer"], y) == pytest.approx(0.445, abs=0.005)
    assert entity_f1(arrays["baseline_capitalisation"], y) == pytest.approx(0.426, abs=0.005)
    assert entity_f1(_one_hot(y), y) == 1.0
