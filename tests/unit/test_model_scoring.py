"""Trained models are scored in a process of their own, on held-out inputs only; the grader keeps the labels.

Three layers are tested here: the metrics (plain NumPy), the sandboxed runner (tiny scripts that try to read what
they must not, or exceed a limit) and real Keras models scored end to end (marked ``keras``). Hostile archives, which
never reach a process, are in test_model_archives.py.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
from traitlets.config import Config

import course_lib
from course_lib.grading import model_sandbox
from course_lib.grading.models import (HIGHER_IS_BETTER, METRICS, ModelRejected, ModelScoring, accuracy, mse,
                                       predict_untrusted, register_metric, score_saved_model, validate_keras_archive)
from course_lib.grading.sandbox import bwrap_available

BWRAP = bwrap_available() is None
MODE = "bwrap" if BWRAP else "none"
MODES = ["bwrap", "none"] if BWRAP else ["none"]
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="bubblewrap is not usable here")


# ------------------------------------------------------------------------------------------------------ metrics

def test_accuracy_per_example_per_time_step_and_one_hot():
    labels = np.array([0, 2, 1])
    scores = np.array([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    assert accuracy(scores, labels) == pytest.approx(2 / 3)
    assert accuracy(scores, np.eye(3)[labels]) == pytest.approx(2 / 3)
    assert accuracy(np.array([[0.7], [0.2], [0.6]]), np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(np.array([0.7, 0.2, 0.6]), np.array([1, 0, 0])) == pytest.approx(2 / 3)
    per_step = np.zeros((2, 4, 5))
    per_step[..., 3] = 1.0
    tags = np.array([[3, 3, 3, 3], [3, 0, 3, 0]])
    assert accuracy(per_step, tags) == pytest.approx(6 / 8)


def test_mse_and_mismatched_shapes():
    assert mse(np.array([[1.0], [3.0]]), np.array([1, 1])) == pytest.approx(2.0)
    with pytest.raises(ModelRejected, match=r"shape \(2, 3\).*labels of shape \(2, 4\)"):
        accuracy(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ModelRejected, match="targets of shape"):
        mse(np.zeros((2, 3)), np.zeros(2))


def test_a_later_assignment_can_register_its_metric(monkeypatch):
    monkeypatch.setitem(METRICS, "accuracy", METRICS["accuracy"])  # the registry is restored after the test

    def token_f1(predictions: np.ndarray, labels: np.ndarray) -> float:
        return 0.5

    register_metric("token_f1", token_f1, higher_is_better=True)
    assert "token_f1" in HIGHER_IS_BETTER
    register_metric("token_f1", token_f1, higher_is_better=True)  # the same registration again: nothing changes
    with pytest.raises(ValueError, match="flip its direction"):
        register_metric("token_f1", token_f1)
    assert "token_f1" in HIGHER_IS_BETTER
    assert METRICS.pop("token_f1") is token_f1
    HIGHER_IS_BETTER.discard("token_f1")
    register_metric("token_loss", token_f1)
    assert METRICS.pop("token_loss") is token_f1 and "token_loss" not in HIGHER_IS_BETTER
    with pytest.raises(ValueError, match="already registered"):
        register_metric("accuracy", token_f1)


def test_settings_come_from_the_nbgrader_config():
    config = Config({"ModelScoring": {"wall_seconds": 5, "max_parameters": 10}})
    settings = ModelScoring(config=config)
    assert (settings.wall_seconds, settings.max_parameters, settings.max_model_bytes) == (5, 10, 200 * 2**20)


def test_an_unusable_bubblewrap_is_an_instructor_error_not_a_model_verdict(tmp_path):
    settings = ModelScoring(config=Config({"Sandbox": {"bwrap": str(tmp_path / "no-bwrap")}}))
    with pytest.raises(RuntimeError, match="bwrap is not installed.*--sandbox none"):
        predict_untrusted(tmp_path / "model.keras", np.zeros((2, 4)), settings, sandbox="bwrap")


# ------------------------------------------------------------------------------------- predictions read back

def _saved(tmp_path: Path, array: np.ndarray, **kwargs) -> Path:
    np.save(tmp_path / "predictions.npy", array, **kwargs)
    return tmp_path / "predictions.npy"


def test_predictions_with_the_wrong_number_of_rows_are_refused(tmp_path):
    path = _saved(tmp_path, np.zeros((4, 1), dtype="float32"))
    with pytest.raises(ModelRejected, match="returned 4 rows of predictions for 5 inputs"):
        model_sandbox._read_predictions(path, 5, ModelScoring())
    assert model_sandbox._read_predictions(path, 4, ModelScoring()).dtype == np.float64


@pytest.mark.parametrize("make, reason", [
    (lambda d: _saved(d, np.array([{"x": 1}], dtype=object), allow_pickle=True), "dtype object, not numbers"),
    (lambda d: _saved(d, np.array([np.nan, 1.0])), "NaN or infinity"),
    (lambda d: _saved(d, np.array(1.0)), "a single number"),
    (lambda d: _truncated(_saved(d, np.zeros((2, 100)))), "does not hold the array its header declares"),
    (lambda d: _linked(d), "no regular file"),
    (lambda d: _saved(d, np.zeros((5000, 100))), "predictions take 4 MiB, more than the 1 MiB"),
    (lambda d: _saved(d, np.asfortranarray(np.arange(6.0).reshape(2, 3))), None),
])
def test_predictions_that_are_not_a_plain_bounded_array_are_refused(tmp_path, make, reason):
    path = make(tmp_path)
    if reason is None:  # a Fortran-ordered array is plain numbers too
        np.testing.assert_array_equal(model_sandbox._read_predictions(path, 2, ModelScoring()), np.load(path))
        return
    with pytest.raises(ModelRejected, match=reason):
        model_sandbox._read_predictions(path, 2, ModelScoring(max_prediction_bytes=2**20))


def _truncated(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[:-8])
    return path


def _linked(directory: Path) -> Path:
    target = _saved(directory, np.zeros(2))
    target.rename(directory / "elsewhere.npy")
    (directory / "predictions.npy").symlink_to(directory / "elsewhere.npy")
    return directory / "predictions.npy"


# ------------------------------------------------------------------------------------------ the sandboxed runner

def _run(tmp_path: Path, source: str, settings: ModelScoring, mode: str) -> tuple[int, float, str, Path]:
    """Run a tiny script the way model_predict.py is run (same arguments, same limits)."""
    script = tmp_path / "probe.py"
    script.write_text(source)
    scratch = tmp_path / "scratch"
    (scratch / "in").mkdir(parents=True)
    (scratch / "out").mkdir()
    np.save(scratch / "in" / "x.npy", np.zeros((2, 4)))
    status, seconds, stderr = model_sandbox._run_isolated(script, scratch, settings, mode)
    return status, seconds, stderr, scratch


PROBE = """
import json, os, socket, sys
inputs, out = sys.argv[sys.argv.index("--in") + 1], sys.argv[sys.argv.index("--out") + 1]

def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return type(error).__name__

result = {
    "canary": attempt(lambda: open(@CANARY@).read()),
    "course": attempt(lambda: os.listdir(@COURSE@)),
    "course_parent": sorted(os.listdir(os.path.dirname(@COURSE@))),
    "write_inputs": attempt(lambda: open(os.path.join(inputs, "new"), "w")),
    "write_root": attempt(lambda: open("/etc/new", "w")),
    "network": attempt(lambda: socket.create_connection(("127.0.0.1", @PORT@), timeout=2)),
    "processes": [p for p in os.listdir("/proc") if p.isdigit()],
    "inputs": sorted(os.listdir(inputs)),
    "secret": os.environ.get("GRADER_SECRET"),
}
json.dump(result, open(os.path.join(out, "result.json"), "w"))
"""


@needs_bwrap
def test_the_sandbox_sees_only_the_model_and_the_inputs(tmp_path, monkeypatch):
    canary = tmp_path / "heldout.npz"
    np.savez(canary, x=np.zeros(2), y=np.ones(2))
    course = str(Path(course_lib.__file__).resolve().parent)
    monkeypatch.setenv("GRADER_SECRET", "labels are here")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        source = (PROBE.replace("@CANARY@", repr(str(canary))).replace("@COURSE@", repr(course))
                  .replace("@PORT@", str(listener.getsockname()[1])))
        status, _, stderr, scratch = _run(tmp_path, source, ModelScoring(), "bwrap")
    assert status == 0, stderr
    seen = json.loads((scratch / "out" / "result.json").read_text())
    assert seen["canary"] == "FileNotFoundError" and seen["course"] == "FileNotFoundError"
    assert set(seen["course_parent"]) <= {".venv"}  # at most the bound virtual environment's mount point
    assert seen["write_inputs"] != "allowed" and seen["write_root"] != "allowed"
    assert seen["network"] != "allowed"
    assert len(seen["processes"]) < 5, seen["processes"]  # its own PID namespace
    assert seen["inputs"] == ["x.npy"] and seen["secret"] is None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source, settings, reason", [
    ("import time\ntime.sleep(30)", ModelScoring(wall_seconds=1), "took longer than 1 s"),
    ("while True:\n    pass", ModelScoring(cpu_seconds=1, wall_seconds=30), "more than 1 s of CPU time"),
    ("import sys\ntry:\n    b = bytearray(2**30)\nexcept MemoryError:\n    sys.exit(5)",
     ModelScoring(memory_bytes=256 * 2**20), "used more than 0.25 GiB while predicting"),
])
def test_limits_turn_into_one_line_reasons(tmp_path, mode, source, settings, reason):
    status, seconds, stderr, scratch = _run(tmp_path, source, settings, mode)
    assert status != 0
    assert reason in model_sandbox._explain_failure(status, seconds, stderr, scratch / "out", settings)
    assert seconds < 10


THREADS = """
import os, sys, threading, time
started = 0
try:
    for _ in range(200):
        threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
        started += 1
except RuntimeError:
    pass
open(os.path.join(sys.argv[sys.argv.index("--out") + 1], "started.txt"), "w").write(str(started))
"""


@needs_bwrap
@pytest.mark.skipif(not os.access("/sys/fs/cgroup/pids", os.W_OK), reason="no writable pids cgroup here")
def test_the_process_limit_binds_even_a_root_owned_sandbox(tmp_path):
    status, _, stderr, scratch = _run(tmp_path, THREADS, ModelScoring(max_processes=30), "bwrap")
    assert status == 0, stderr
    assert int((scratch / "out" / "started.txt").read_text()) < 30
    assert not [name for name in os.listdir("/sys/fs/cgroup/pids") if name == scratch.name]


# ------------------------------------------------------------------------------------------------ real models

@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def _tokens(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of 8 tokens from 1..9; the label says whether a 9 occurs."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 10, (n, 8)).astype("int32")
    return x, (x == 9).any(axis=1).astype("int64")


def _features(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype("float32")
    return x, x @ np.array([1.0, -2.0, 0.5, 0.0], dtype="float32") + 0.3


@pytest.fixture(scope="module")
def sequence_model(keras, tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,), dtype="int32"), keras.layers.Embedding(10, 8),
                              keras.layers.LSTM(8), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
    model.fit(*_tokens(0, 512), epochs=15, batch_size=64, verbose=0)
    path = tmp_path_factory.mktemp("sequence") / "classifier.keras"
    model.save(path)
    return model, path


@pytest.fixture(scope="module")
def regressor(keras, tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    model.fit(*_features(0, 256), epochs=5, verbose=0)
    path = tmp_path_factory.mktemp("regressor") / "regressor.keras"
    model.save(path)
    return model, path


@pytest.mark.keras
def test_a_trained_embedding_lstm_classifier_is_scored_in_the_sandbox(sequence_model, tmp_path, monkeypatch):
    model, path = sequence_model
    x, y = _tokens(1, 300)
    np.savez(tmp_path / "heldout.npz", x=x, y=y)
    entered = []
    run = model_sandbox._run_isolated

    def spy(script, scratch, settings, sandbox):
        entered.append(sorted(os.listdir(scratch / "in")))
        np.testing.assert_array_equal(np.load(scratch / "in" / "x.npy"), x)
        return run(script, scratch, settings, sandbox)

    monkeypatch.setattr(model_sandbox, "_run_isolated", spy)
    value = score_saved_model(path, tmp_path / "heldout.npz", "accuracy", sandbox=MODE)
    assert value >= 0.9
    assert entered == [["model.keras", "x.npy"]]  # the labels never enter the sandbox
    assert value == pytest.approx(accuracy(np.asarray(model.predict(x, verbose=0), dtype=np.float64), y))
    assert validate_keras_archive(path)["layers"] == ["Sequential", "InputLayer", "Embedding", "LSTM", "Dense"]


@pytest.mark.keras
@pytest.mark.parametrize("mode", MODES)
def test_the_mse_of_a_dense_regressor_equals_an_in_process_prediction(regressor, tmp_path, mode):
    model, path = regressor
    x, y = _features(1, 200)
    np.savez(tmp_path / "heldout.npz", x=x, y=y)
    expected = mse(np.asarray(model.predict(x, verbose=0), dtype=np.float64), y)
    assert score_saved_model(path, tmp_path / "heldout.npz", "mse", sandbox=mode) == pytest.approx(expected,
                                                                                                   rel=1e-5)


@pytest.mark.keras
def test_a_text_vectorization_model_with_assets_predicts_strings(keras, tmp_path):
    keras.utils.set_random_seed(0)
    vectorize = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorize.adapt(["the cat sat", "the dog ran far"])
    model = keras.Sequential([keras.Input((1,), dtype="string"), vectorize, keras.layers.Embedding(20, 3),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2, activation="softmax")])
    model.save(tmp_path / "text.keras")
    assert any(name.startswith("assets/") for name in validate_keras_archive(tmp_path / "text.keras")["members"])
    x = np.array([["the cat ran"], ["a dog"], ["far far"]])
    got = predict_untrusted(tmp_path / "text.keras", x, sandbox=MODE)
    np.testing.assert_allclose(got, model.predict(keras.ops.convert_to_tensor(x), verbose=0), rtol=1e-5)


@pytest.mark.keras
def test_a_model_given_inputs_it_does_not_expect_is_refused_with_the_reason(regressor, tmp_path):
    _, path = regressor
    with pytest.raises(ModelRejected, match=r"could not predict the held-out inputs of shape \(5, 3\)"):
        predict_untrusted(path, np.zeros((5, 3), dtype="float32"), sandbox=MODE)


@pytest.mark.keras
def test_a_model_whose_predictions_would_be_too_large_is_refused_before_allocating_them(keras, tmp_path):
    keras.utils.set_random_seed(0)
    wide = keras.Sequential([keras.Input((4,)), keras.layers.Dense(50_000)])  # 250,000 weights: within budget
    wide.save(tmp_path / "wide.keras")
    with pytest.raises(ModelRejected, match=r"predictions would take 763 MiB \(shape \(4000, 50000\)\), more than "
                                            r"the 256 MiB"):
        predict_untrusted(tmp_path / "wide.keras", np.zeros((4000, 4), dtype="float32"), sandbox=MODE)


@pytest.mark.keras
def test_a_lambda_saved_by_keras_itself_is_refused_before_loading(keras, tmp_path):
    marker = str(tmp_path / "pwned")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(
        lambda t: (open(marker, "w").close(), t)[1], output_shape=(4,))])
    model.save(tmp_path / "lambda.keras")
    Path(marker).unlink(missing_ok=True)  # tracing the lambda while building ran it here, in the test
    with pytest.raises(ModelRejected, match="Lambda layer"):
        predict_untrusted(tmp_path / "lambda.keras", np.zeros((2, 4), dtype="float32"), sandbox=MODE)
    assert not Path(marker).exists()


@pytest.mark.keras
def test_a_legacy_h5_model_saved_by_keras_and_renamed_is_refused(regressor, tmp_path):
    model, _ = regressor
    model.save(tmp_path / "legacy.h5")
    (tmp_path / "legacy.h5").rename(tmp_path / "model.keras")
    np.savez(tmp_path / "heldout.npz", x=np.zeros((2, 4), dtype="float32"), y=np.zeros(2))
    with pytest.raises(ModelRejected, match="legacy HDF5"):
        score_saved_model(tmp_path / "model.keras", tmp_path / "heldout.npz", "mse", sandbox=MODE)


# ------------------------------------------------------------------------- architecture and baselines (keras)



@pytest.mark.keras
def test_the_architecture_an_exercise_asks_for_is_read_from_the_saved_config(keras, tmp_path):
    from course_lib.grading.models import architecture_problem

    def saved(*layers) -> dict:
        model = keras.Sequential([keras.Input((10, 2)), *layers])
        model.save(tmp_path / "m.keras")
        return validate_keras_archive(tmp_path / "m.keras")["config"]

    lstm = saved(keras.layers.LSTM(64), keras.layers.Dense(1))
    assert architecture_problem(lstm, ("LSTM(64)",), ("SimpleRNN", "GRU")) == ""
    assert architecture_problem(lstm, ("LSTM", "Dense")) == ""
    assert "the model's LSTM has 64 units: this exercise asks for LSTM(32)" in architecture_problem(lstm, ("LSTM(32)",))
    rnn = saved(keras.layers.SimpleRNN(64), keras.layers.Dense(1))
    assert architecture_problem(rnn, ("LSTM(64)",)) == (
        "the model has no LSTM layer (its layers: SimpleRNN, Dense): this exercise asks for LSTM(64)")
    # another style of the same architecture: the generic RNN layer around an LSTM cell, or a stack of two LSTMs
    cell = saved(keras.layers.RNN(keras.layers.LSTMCell(64)), keras.layers.Dense(1))
    assert architecture_problem(cell, ("LSTM(64)",), ("SimpleRNN",)) == ""
    stacked = saved(keras.layers.LSTM(16, return_sequences=True), keras.layers.LSTM(64), keras.layers.Dense(1))
    assert architecture_problem(stacked, ("LSTM(64)",)) == ""
    # an "RNN" that is an LSTM is not the SimpleRNN the comparison needs
    assert "has a LSTM layer" in architecture_problem(stacked, ("Dense",), ("LSTM",))
    wrapped = saved(keras.layers.Bidirectional(keras.layers.LSTM(8)), keras.layers.Dense(1))
    assert architecture_problem(wrapped, ("LSTM",)) == ""
    assert "no LSTM layer" in architecture_problem(saved(keras.layers.Flatten(), keras.layers.Dense(1)), ("LSTM",))


@pytest.mark.keras
def test_a_model_is_scored_against_the_baselines_stored_with_the_heldout_data(regressor, tmp_path):
    from course_lib.grading.models import score_model

    model, path = regressor
    x, y = _features(2, 100)
    np.savez(tmp_path / "heldout.npz", x=x, y=y, baseline_zero=np.zeros_like(y), baseline_mean=np.full_like(y, 0.3))
    score = score_model(path, tmp_path / "heldout.npz", "mse", sandbox=MODE, architecture=("Dense",),
                        baselines=("zero", "mean"))
    assert score.examples == 100
    assert score.baselines == {"zero": pytest.approx(float(np.mean(y ** 2))),
                               "mean": pytest.approx(float(np.mean((y - 0.3) ** 2)))}
    assert score.value == pytest.approx(mse(np.asarray(model.predict(x, verbose=0), dtype=np.float64), y), rel=1e-5)
    with pytest.raises(ModelRejected, match="no LSTM layer"):   # refused before anything runs
        score_model(path, tmp_path / "heldout.npz", "mse", sandbox=MODE, architecture=("LSTM",))
    with pytest.raises(ValueError, match="no baseline last_value"):
        score_model(path, tmp_path / "heldout.npz", "mse", sandbox=MODE, baselines=("last_value",))


@pytest.mark.keras
def test_the_vocabulary_of_a_text_model_is_read_from_the_archive_as_text(keras, tmp_path):
    from course_lib.grading.models import score_model

    import tensorflow as tf

    train = np.array(["a good film", "a dull film", "good acting"])
    vectorize = keras.layers.TextVectorization(max_tokens=50, output_mode="tf_idf", ngrams=2)
    vectorize.adapt(train)
    model = keras.Sequential([keras.Input((1,), dtype="string"), vectorize, keras.layers.Dense(1, "sigmoid")])
    model.save(tmp_path / "bow.keras")
    vocabulary = validate_keras_archive(tmp_path / "bow.keras")["vocabulary"]
    assert {"good", "film", "a good", "good acting"} <= vocabulary and "[UNK]" in vocabulary
    inline = keras.layers.StringLookup(vocabulary=["red", "green"])
    lookup = keras.Sequential([keras.Input((1,), dtype="string"), inline])
    lookup.save(tmp_path / "lookup.keras")
    assert {"red", "green"} <= validate_keras_archive(tmp_path / "lookup.keras")["vocabulary"]
    # a model adapted on words it must not know is caught, whatever it predicts
    x, y = np.array([["a good film"], ["dull"]]), np.array([1, 0])
    np.savez(tmp_path / "heldout.npz", x=x, y=y)
    assert model.predict(tf.constant(x), verbose=0).shape == (2, 1)
    score = score_model(tmp_path / "bow.keras", tmp_path / "heldout.npz", "accuracy", sandbox=MODE,
                        unseen=frozenset({"acting", "wonderful"}))
    assert score.leaked == ("acting",)
    clean = score_model(tmp_path / "bow.keras", tmp_path / "heldout.npz", "accuracy", sandbox=MODE,
                        unseen=frozenset({"wonderful"}))
    assert clean.leaked == ()


@pytest.mark.keras
def test_an_at_most_check_fails_a_model_that_does_too_well(regressor, tmp_path, monkeypatch):
    from course_lib.grading import verdicts
    from course_lib.grading.checks import Check
    from course_lib.grading.models import ModelScore

    scores = iter([ModelScore(0.9, 10), ModelScore(0.5, 10), ModelScore(0.5, 10, leaked=("acting",))])
    monkeypatch.setattr("course_lib.grading.models.score_model", lambda *a, **k: next(scores))
    check = Check("bow/controlled", "bow", "model", "bag of words on the controlled corpus", "model",
                  metric="accuracy", threshold=0.65, at_most=True, heldout="x.npz")
    context = verdicts.JudgeContext(hidden_dir=str(tmp_path), work_dir=str(tmp_path))
    digest = np.zeros(32)
    assert verdicts._judge_model(check, {"filename": "m.keras"}, digest, context) == (
        False, "accuracy on 10 held-out examples 0.9 (needs ≤ 0.65)")
    assert verdicts._judge_model(check, {"filename": "m.keras"}, digest, context)[0] is True
    ok, message = verdicts._judge_model(check, {"filename": "m.keras"}, digest, context)
    assert not ok and "'acting'" in message and "adapted on more" in message
