"""Trained models: the kernel only saves them; the grader loads them in safe mode and scores held-out data."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from course_lib.grading.probe import evaluate_requests
from course_lib.grading.suites import Check
from course_lib.grading.verdicts import judge_check

pytestmark = pytest.mark.keras

REQUESTS = {"model": {"op": "save_model", "variable": "model", "filename": "classifier.keras"}}
CHECK = Check("classifier/accuracy", "classifier", "model", "your classifier on 200 held-out examples", "model",
              metric="accuracy", threshold=0.9, heldout="heldout.npz")


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(0)
    return keras


def _data(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((200, 4)).astype("float32")
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")


def _judge(tmp_path, namespace, check=CHECK, tamper=None):
    source, work = tmp_path / "source", tmp_path / "work"
    source.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    x, y = _data(1)
    np.savez(source / "heldout.npz", x=x, y=y)
    cwd = os.getcwd()
    os.chdir(work)  # the kernel saves into its working directory
    try:
        results = json.loads(json.dumps(evaluate_requests(namespace, REQUESTS)))
    finally:
        os.chdir(cwd)
    if tamper:
        tamper(work / "classifier.keras")
    return judge_check(check, "none", REQUESTS, results, {}, source_dir=str(source), work_dir=str(work))


def _trained(keras):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy")
    x, y = _data(0)
    model.fit(x, y, epochs=30, verbose=0)
    return model


def test_a_trained_model_is_scored_on_held_out_data(tmp_path, keras):
    verdict = _judge(tmp_path, {"model": _trained(keras)})
    assert verdict.passed, verdict.message
    assert "accuracy on held-out data" in verdict.message


def test_an_untrained_model_fails_the_threshold(tmp_path, keras):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid",
                                                                     kernel_initializer="zeros")])
    verdict = _judge(tmp_path, {"model": model})
    assert not verdict.passed and "needs ≥ 0.9" in verdict.message


def test_code_in_a_model_is_refused_by_safe_mode(tmp_path, keras):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t[:, :1] * 0 + 1.0)])
    verdict = _judge(tmp_path, {"model": model})
    assert not verdict.passed and "safe mode" in verdict.message, verdict.message


def test_a_model_swapped_after_saving_or_a_link_is_refused(tmp_path, keras):
    def swap(path):
        path.write_bytes(path.read_bytes() + b"x")

    verdict = _judge(tmp_path, {"model": _trained(keras)}, tamper=swap)
    assert not verdict.passed and "changed after it was saved" in verdict.message

    def link(path):
        path.unlink()
        path.symlink_to("/etc/hostname")

    verdict = _judge(tmp_path, {"model": _trained(keras)}, tamper=link)
    assert not verdict.passed and "regular file" in verdict.message


def test_something_else_than_a_model_is_reported_as_such(tmp_path, keras):
    verdict = _judge(tmp_path, {"model": "a string"})
    assert not verdict.passed and "not a Keras model" in verdict.message
