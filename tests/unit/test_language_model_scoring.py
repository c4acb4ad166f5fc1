"""Character-level language models are scored by their cross-entropy, refused when their outputs are not
distributions over the vocabulary, and refused when their predictions look ahead in the window.

The metrics and verdicts are plain NumPy; the causality check runs real Keras models in the sandbox (marked
``keras``), as in test_model_scoring.py.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

from course_lib.grading import verdicts
from course_lib.grading.checks import Check
from course_lib.grading.models import (HIGHER_IS_BETTER, METRICS, ModelRejected, ModelScore, cross_entropy,
                                       future_changed, score_model, valid_distributions, validate_keras_archive)
from course_lib.grading.sandbox import bwrap_available

MODE = "bwrap" if bwrap_available() is None else "none"


# ------------------------------------------------------------------------------------------------------ metrics

def test_a_uniform_distribution_costs_log_v_nats_and_a_sure_right_one_nothing():
    labels = np.array([[0, 3, 1], [2, 2, 0]])
    assert cross_entropy(np.full((2, 3, 5), 0.2), labels) == pytest.approx(math.log(5))
    assert cross_entropy(np.eye(5)[labels], labels) == pytest.approx(0.0)
    assert {"cross_entropy", "valid_distributions"} <= set(METRICS)
    assert {"accuracy", "valid_distributions"} <= HIGHER_IS_BETTER and "cross_entropy" not in HIGHER_IS_BETTER


def test_a_sure_wrong_prediction_is_clipped_not_infinite():
    labels = np.array([[1, 0]])
    predictions = np.eye(2)[[[0, 1]]]    # all the mass on the wrong character, twice
    assert cross_entropy(predictions, labels) == pytest.approx(-math.log(1e-12))
    mixed = np.array([[[0.5, 0.5], [1.0, 0.0]]])
    assert cross_entropy(mixed, labels) == pytest.approx(math.log(2) / 2)


@pytest.mark.parametrize("predictions, reason", [
    (np.ones((2, 3, 4)), r"sum to 4 over the vocabulary, not 1.*softmax"),            # all ones would score 0
    (np.full((2, 3, 4), 0.5) - np.eye(4)[[0, 1, 2]] * 0.75, r"negative values \(smallest -0\.25\)"),
    (np.where(np.arange(4) == 0, np.nan, 0.25) * np.ones((2, 3, 4)), "NaN or infinite"),
    (np.full((2, 3, 3), 1 / 3), r"shape \(2, 3, 3\).*shape \(2, 3, V ≥ 4\).*return_sequences=True"),  # V ≤ max id
    (np.full((2, 4, 4), 0.25), r"shape \(2, 4, 4\).*shape \(2, 3, V ≥ 4\)"),
    (np.full((2, 4), 0.25), r"shape \(2, 4\), not one distribution"),                  # last step only
])
def test_outputs_that_are_not_distributions_are_refused_with_the_reason(predictions, reason):
    labels = np.array([[0, 3, 1], [2, 2, 0]])
    for metric in (cross_entropy, valid_distributions):
        with pytest.raises(ModelRejected, match=reason):
            metric(predictions, labels)


def test_float32_rounding_and_tiny_negative_noise_still_count_as_distributions():
    labels = np.array([[0, 1]])
    predictions = np.full((1, 2, 3), 1 / 3, dtype=np.float32).astype(np.float64)
    predictions[0, 0] = [0.5 + 4e-4, 0.5 + 4e-7, -5e-7]
    assert valid_distributions(predictions, labels) == 1.0
    assert valid_distributions(np.full((1, 2, 3), 1 / 3), np.zeros((1, 2, 3))) == 1.0   # labels of the same shape
    assert cross_entropy(predictions, labels) == pytest.approx(-(math.log(0.5004) + math.log(1 / 3)) / 2)


def test_labels_that_are_not_ids_are_the_instructors_error():
    with pytest.raises(ValueError, match="not character ids"):
        cross_entropy(np.full((1, 2, 3), 1 / 3), np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match="negative character id"):
        cross_entropy(np.full((1, 2, 3), 1 / 3), np.array([[0, -1]]))


# ------------------------------------------------------------------------------------------------------ verdicts

def _judge(monkeypatch, tmp_path, score: ModelScore, **fields):
    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs)
        return score

    monkeypatch.setattr("course_lib.grading.models.score_model", fake)
    check = Check("char_model/heldout", "char_model", "model", "char model on held-out text", "model",
                  heldout="x.npz", **fields)
    context = verdicts.JudgeContext(hidden_dir=str(tmp_path), work_dir=str(tmp_path))
    return verdicts._judge_model(check, {"filename": "m.keras"}, np.zeros(32), context), seen


def test_cross_entropy_is_lower_is_better_against_threshold_and_baselines(monkeypatch, tmp_path):
    fields = dict(metric="cross_entropy", threshold=2.0, baselines=("unigram=unigram frequencies", "uniform"),
                  beat_by=0.9, causal=True)
    (ok, message), seen = _judge(monkeypatch, tmp_path, ModelScore(1.5, 40, {"unigram": 3.0, "uniform": 4.0}),
                                 **fields)
    assert ok and seen["causal"] is True
    assert message == ("cross-entropy on 40 held-out windows 1.5 nats/char (needs ≤ 2 and ≤ 0.9 × the better "
                       "baseline = 2.7; baselines: unigram frequencies 3, uniform 4)")
    (ok, message), _ = _judge(monkeypatch, tmp_path, ModelScore(2.5, 40, {"unigram": 3.0, "uniform": 4.0}), **fields)
    assert not ok and "2.5 nats/char (needs ≤ 2" in message                      # beats the baselines, not 2.0
    (ok, _), _ = _judge(monkeypatch, tmp_path, ModelScore(1.9, 40, {"unigram": 2.0, "uniform": 4.0}), **fields)
    assert not ok                                                                 # under 2.0, not under 0.9 × 2.0
    (ok, _), seen = _judge(monkeypatch, tmp_path, ModelScore(1.9, 40), metric="cross_entropy", threshold=2.0)
    assert ok and seen["causal"] is False


def test_valid_distributions_reads_as_a_property_and_a_refusal_says_why(monkeypatch, tmp_path):
    (ok, message), _ = _judge(monkeypatch, tmp_path, ModelScore(1.0, 8), metric="valid_distributions",
                              threshold=1.0)
    assert ok and message == "its predictions for 8 held-out windows are distributions over the vocabulary"

    def refuse(*args, **kwargs):
        raise ModelRejected("the model's predictions at [0, 0] sum to 4 over the vocabulary, not 1")

    monkeypatch.setattr("course_lib.grading.models.score_model", refuse)
    check = Check("char_model/wiring", "char_model", "model", "untrained char model", "model",
                  metric="valid_distributions", threshold=1.0, heldout="x.npz")
    context = verdicts.JudgeContext(hidden_dir=str(tmp_path), work_dir=str(tmp_path))
    assert verdicts._judge_model(check, {"filename": "m.keras"}, np.zeros(32), context) == (
        False, "the model's predictions at [0, 0] sum to 4 over the vocabulary, not 1")


def test_mse_and_accuracy_verdicts_read_as_before(monkeypatch, tmp_path):
    (ok, message), _ = _judge(monkeypatch, tmp_path, ModelScore(0.2, 10), metric="mse", threshold=0.5)
    assert ok and message == "MSE on 10 held-out examples 0.2 (needs ≤ 0.5)"
    (ok, message), _ = _judge(monkeypatch, tmp_path, ModelScore(0.8, 10), metric="accuracy", threshold=0.9)
    assert not ok and message == "accuracy on 10 held-out examples 0.8 (needs ≥ 0.9)"


# ------------------------------------------------------------------------------------------------------ causality

def test_the_changed_windows_keep_their_start_and_change_every_later_character():
    x = np.array([[1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [5, 4, 3, 2, 1]], dtype=np.int32)  # two equal rows
    changed, cuts = future_changed(x)
    assert changed.dtype == x.dtype and changed.shape == x.shape
    assert ((cuts >= 1) & (cuts <= 4)).all()
    for i, k in enumerate(cuts):
        np.testing.assert_array_equal(changed[i, :k], x[i, :k])
        assert (changed[i, k:] != x[i, k:]).all()
    assert set(np.unique(changed)) <= set(np.unique(x))
    np.testing.assert_array_equal(future_changed(x)[0], changed)   # the same for every grading


@pytest.mark.parametrize("x", [np.zeros((1, 5), dtype=int), np.zeros((3, 1), dtype=int), np.zeros((3, 4)),
                               np.zeros((3, 4, 2), dtype=int), np.zeros((3, 4), dtype=int)])
def test_windows_that_cannot_be_changed_are_the_instructors_error(x):
    with pytest.raises(ValueError, match="instructor"):
        future_changed(x)


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def _char_model(keras, bidirectional: bool):
    keras.utils.set_random_seed(0)
    recurrent = keras.layers.LSTM(8, return_sequences=True)
    return keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(7, 4),
                             keras.layers.Bidirectional(recurrent) if bidirectional else recurrent,
                             keras.layers.Dense(7, activation="softmax")])


@pytest.mark.keras
def test_a_causal_model_is_scored_and_a_peeking_one_refused_in_one_sandbox_run(keras, tmp_path, monkeypatch):
    from course_lib.grading import model_sandbox

    rng = np.random.default_rng(1)
    x = rng.integers(0, 7, (12, 6)).astype("int32")
    y = np.roll(x, -1, axis=1)
    np.savez(tmp_path / "heldout.npz", x=x, y=y, baseline_uniform=np.full((12, 6, 7), 1 / 7, dtype=np.float32))
    runs = []
    run = model_sandbox._run_isolated

    def count(script, scratch, settings, sandbox):
        runs.append(len(np.load(scratch / "in" / "x.npy")))
        return run(script, scratch, settings, sandbox)

    monkeypatch.setattr(model_sandbox, "_run_isolated", count)
    causal = _char_model(keras, bidirectional=False)
    causal.save(tmp_path / "causal.keras")
    score = score_model(tmp_path / "causal.keras", tmp_path / "heldout.npz", "cross_entropy", sandbox=MODE,
                        baselines=("uniform",), causal=True)
    assert runs == [24]                                      # the windows and their changed copies, together
    expected = cross_entropy(np.asarray(causal.predict(x, verbose=0), dtype=np.float64), y)
    assert score.value == pytest.approx(expected, rel=1e-5)
    assert score.baselines == {"uniform": pytest.approx(math.log(7), rel=1e-6)}
    assert score.examples == 12

    peeking = _char_model(keras, bidirectional=True)
    peeking.save(tmp_path / "peeking.keras")
    with pytest.raises(ModelRejected, match="change when later characters.*sees the future"):
        score_model(tmp_path / "peeking.keras", tmp_path / "heldout.npz", "cross_entropy", sandbox=MODE,
                    causal=True)
    # without the check the peeking model is scored like any other
    assert score_model(tmp_path / "peeking.keras", tmp_path / "heldout.npz", "cross_entropy",
                       sandbox=MODE).value > 0


@pytest.mark.keras
def test_a_rescaled_index_input_is_scored_not_refused(keras, tmp_path):
    """The typical mistake of feeding ``index / V`` into the LSTM loses points in the check; it is not unknown."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Reshape((6, 1)),
                              keras.layers.Rescaling(1 / 7), keras.layers.LSTM(8, return_sequences=True),
                              keras.layers.Dense(7, activation="softmax")])
    model.save(tmp_path / "rescaled.keras")
    assert "Rescaling" in validate_keras_archive(tmp_path / "rescaled.keras")["layers"]
    x = np.random.default_rng(2).integers(0, 7, (4, 6)).astype("int32")
    np.savez(tmp_path / "heldout.npz", x=x, y=np.roll(x, -1, axis=1))
    score = score_model(tmp_path / "rescaled.keras", tmp_path / "heldout.npz", "valid_distributions", sandbox=MODE,
                        causal=True)
    assert score.value == 1.0
