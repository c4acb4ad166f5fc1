"""Scoring a student's trained Keras model without trusting it: checked as data, run in a sandbox, scored here.

The ``.keras`` file comes out of the student's sandbox, and Keras' ``safe_mode`` is no security boundary (archives
naming arbitrary modules, layers that switch safe mode off, legacy HDF5 files that ignore it, ``TFSMLayer``, crafted
HDF5 weights, zip bombs). So scoring has three stages, each of which alone would stop most attacks:

1. :func:`validate_keras_archive` reads the archive as data, without Keras: a regular file of bounded size, a zip
   holding exactly the members Keras writes, every size bounded from the headers and again while reading, and a
   ``config.json`` naming only allowlisted Keras classes, named activations and a bounded number of weights.
   :func:`predict_untrusted` then writes a fresh archive from what was read, so Keras sees only what was checked
   (``compile_config`` dropped: scoring never compiles).
2. ``model_predict.py`` loads that copy and predicts the held-out inputs in a separate process: bubblewrap
   namespaces (no network, own PIDs, no capabilities, read-only system and Python, a small private ``/tmp``),
   rlimits on memory, CPU time and file size, the kernel sandbox's cgroups where writable (processes, memory) and a
   wall-time limit. It sees the model and the inputs, never the labels or the course. With ``sandbox="none"`` (no
   bubblewrap, e.g. macOS) the same script runs in a plain subprocess with the rlimits, never in this process.
3. The grader reads the predictions back as plain numbers (no pickle, bounded size, one row per input) and computes
   the metric itself with the labels it never gave away.

A refusal at any stage raises :class:`ModelRejected` with one line in the student's terms.

This module is the public API and the third stage: :func:`predict_untrusted`, the metrics (:data:`METRICS`,
:func:`register_metric`) and :func:`score_saved_model`. Stage 1 is :mod:`course_lib.grading.model_archive` (which also
defines :class:`ModelScoring` and :class:`ModelRejected`, re-exported here), stage 2
:mod:`course_lib.grading.model_sandbox`.
"""
from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# model_sandbox is called through the module, so that a test can substitute a stage where it is defined
from course_lib.grading import model_sandbox
from course_lib.grading.model_archive import (CELLS, LAYERS, ModelRejected, ModelScoring, check_model_config,
                                              validate_keras_archive, write_checked_copy)
from course_lib.grading.sandbox import Sandbox

__all__ = ["HIGHER_IS_BETTER", "METRICS", "ModelRejected", "ModelScore", "ModelScoring", "accuracy",
           "architecture_problem", "check_model_config", "cross_entropy", "future_changed", "load_heldout",
           "model_layers", "mse", "predict_untrusted", "register_metric", "score_model", "score_saved_model",
           "valid_distributions", "validate_keras_archive"]


def predict_untrusted(path: Path, x: np.ndarray, settings: ModelScoring | None = None,
                      sandbox: str = "bwrap") -> np.ndarray:
    """Predictions of the untrusted model saved at ``path`` for the inputs ``x``, computed in a sandbox.

    Parameters
    ----------
    path : Path
        The student's ``.keras`` file; validated first (:func:`validate_keras_archive`).
    x : np.ndarray, shape (n, ...)
        Held-out inputs (numbers or strings; no objects). Only these, and a checked copy of the model, enter the
        sandbox.
    settings : ModelScoring, optional
        Limits (defaults if omitted).
    sandbox : {"bwrap", "none"}
        "bwrap": a bubblewrap sandbox; "none": a plain subprocess with resource limits (never this process).

    Returns
    -------
    np.ndarray, shape (n, ...), float64
        The model's outputs, finite.

    Raises
    ------
    ModelRejected
        The model was refused or failed while loading or predicting.
    RuntimeError
        ``sandbox="bwrap"`` but bubblewrap does not work here.
    """
    settings = settings or ModelScoring()
    x = _checked_inputs(x)
    if sandbox not in ("bwrap", "none"):
        raise ValueError(f"sandbox must be 'bwrap' or 'none', not {sandbox!r}")
    if sandbox == "bwrap" and (problem := model_sandbox._bwrap_problem(Sandbox(parent=settings).bwrap)):
        raise RuntimeError(f"model scoring cannot be sandboxed: {problem}; or grade with --sandbox none")
    with tempfile.TemporaryDirectory(prefix="lstm-course-model-") as name:
        scratch = Path(name)
        (scratch / "in").mkdir()
        (scratch / "out").mkdir()
        write_checked_copy(Path(path), scratch / "in" / "model.keras", settings)
        np.save(scratch / "in" / "x.npy", x, allow_pickle=False)
        status, seconds, stderr = model_sandbox._run_isolated(model_sandbox.PREDICT_SCRIPT, scratch, settings, sandbox)
        if status != 0:
            raise ModelRejected(model_sandbox._explain_failure(status, seconds, stderr, scratch / "out", settings))
        return model_sandbox._read_predictions(scratch / "out" / "predictions.npy", len(x), settings)


def _checked_inputs(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0 or x.dtype.kind not in "biufUS":
        raise ValueError(f"held-out inputs must be an array of numbers or strings with one row per example, not "
                         f"{x.dtype} of shape {x.shape} (instructor: rebuild the held-out data)")
    return x


# ----------------------------------------------------------------------------------------------------- metrics

def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of correct classes.

    Parameters
    ----------
    predictions : np.ndarray, shape (n, ..., k) or (n, ...)
        Scores per class (argmax when k > 1), one probability (> 0.5 when k = 1 or without a class axis).
    labels : np.ndarray, shape (n, ...) or one-hot (n, ..., k)
        Class indices (or 0/1), e.g. (n,) per example or (n, T) per time step.
    """
    labels = np.asarray(labels)
    if predictions.shape == labels.shape and labels.ndim >= 2 and labels.shape[-1] > 1:
        guessed, labels = predictions.argmax(axis=-1), labels.argmax(axis=-1)  # one-hot labels
    elif predictions.ndim == labels.ndim + 1:
        guessed = predictions.argmax(axis=-1) if predictions.shape[-1] > 1 else predictions[..., 0] > 0.5
    elif predictions.shape == labels.shape:
        guessed = predictions > 0.5
    else:
        raise ModelRejected(f"the model's predictions have shape {predictions.shape}, which does not match labels "
                            f"of shape {labels.shape}: check the output layer")
    return float(np.mean(guessed == labels))


def mse(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Mean squared error; ``predictions`` of shape (n, ...) with as many values per row as ``labels``."""
    labels = np.asarray(labels, dtype=np.float64)
    if predictions.shape != labels.shape:
        if predictions.size != labels.size:
            raise ModelRejected(f"the model's predictions have shape {predictions.shape}, which does not match "
                                f"targets of shape {labels.shape}: check the output layer")
        predictions = predictions.reshape(labels.shape)  # e.g. (n, 1) against (n,)
    return float(np.mean((predictions - labels) ** 2))


#: Smallest probability :func:`cross_entropy` takes the log of: a model sure of a wrong character costs
#: -log(1e-12) ≈ 27.6 nats at that position, not infinity.
PROBABILITY_FLOOR = 1e-12
#: How far an output may stray from a distribution and still count as one (float32 softmax rounding).
NEGATIVE_TOLERANCE, SUM_TOLERANCE = 1e-6, 1e-3
_OUTPUT_HINT = "end the model with Dense(vocab_size, activation='softmax') on an LSTM with return_sequences=True"


def _checked_distributions(predictions: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``predictions`` as float64 distributions and ``labels`` as they were, or ModelRejected saying why not.

    ``labels`` are next-character ids of shape (n, T), or any array of the shape (n, T, V) the predictions must
    have (e.g. one-hot targets).
    """
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if labels.ndim < 1 or (labels.ndim == predictions.ndim - 1 and labels.dtype.kind not in "iu"):
        raise ValueError(f"labels of dtype {labels.dtype} and shape {labels.shape} are not character ids "
                         "(instructor: rebuild the held-out data)")
    if labels.ndim == predictions.ndim - 1 and labels.size and labels.min() < 0:
        raise ValueError(f"labels hold the negative character id {labels.min()} (instructor: rebuild the held-out "
                         "data)")
    if labels.ndim == predictions.ndim:
        fits = predictions.shape == labels.shape
        wanted = f"{labels.shape}"
    else:
        vocabulary = int(labels.max()) + 1 if labels.size else 1
        fits = (predictions.ndim == labels.ndim + 1 and predictions.shape[:-1] == labels.shape
                and predictions.shape[-1] >= vocabulary)
        wanted = f"({', '.join(map(str, labels.shape))}, V ≥ {vocabulary})"
    if not fits:
        raise ModelRejected(f"the model's predictions have shape {predictions.shape}, not one distribution over the "
                            f"vocabulary per position of each held-out window, shape {wanted}: {_OUTPUT_HINT}")
    if predictions.dtype.kind not in "biuf":
        raise ModelRejected(f"the model's predictions are {predictions.dtype}, not probabilities: {_OUTPUT_HINT}")
    predictions = predictions.astype(np.float64, copy=False)
    if not np.isfinite(predictions).all():
        raise ModelRejected(f"the model's predictions hold NaN or infinite values: {_OUTPUT_HINT}, and check that "
                            "training did not diverge")
    if predictions.size and predictions.min() < -NEGATIVE_TOLERANCE:
        raise ModelRejected(f"the model's predictions hold negative values (smallest {predictions.min():.4g}), so "
                            f"they are not probabilities: {_OUTPUT_HINT}")
    sums = predictions.sum(axis=-1)
    worst = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape) if sums.size else None
    if worst is not None and abs(sums[worst] - 1.0) > SUM_TOLERANCE:
        where = ", ".join(str(int(i)) for i in worst)
        raise ModelRejected(f"the model's predictions at [{where}] sum to {sums[worst]:.4g} over the vocabulary, not "
                            f"1, so they are not a distribution over the next character: {_OUTPUT_HINT} (a linear "
                            "or sigmoid output is not a distribution)")
    return predictions, labels


def cross_entropy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the next characters, in nats per character (lower is better).

    Parameters
    ----------
    predictions : np.ndarray, shape (n, T, V)
        A softmax distribution over the V characters of the vocabulary at each of the T positions of each window.
    labels : np.ndarray of int, shape (n, T)
        The id of the character that follows each position (V > every id).

    Returns
    -------
    float
        ``-mean(log(max(predictions[i, t, labels[i, t]], PROBABILITY_FLOOR)))``: probabilities are clipped at
        :data:`PROBABILITY_FLOOR` (1e-12) before the log, so one confident mistake costs about 27.6 nats, not
        infinity. A uniform distribution scores ``log V``.

    Raises
    ------
    ModelRejected
        The predictions are not distributions of that shape: a wrong shape (or V ≤ the largest id), NaN or
        infinite values, entries below -1e-6, or rows that do not sum to 1 within 1e-3 (else a model answering
        all ones would score 0 nats).
    """
    predictions, labels = _checked_distributions(predictions, labels)
    if labels.ndim == predictions.ndim:
        raise ValueError(f"cross_entropy takes character ids of shape (n, T), not labels of shape {labels.shape} "
                         "(instructor: rebuild the held-out data)")
    chosen = np.take_along_axis(predictions, labels[..., None].astype(np.intp), axis=-1)[..., 0]
    return float(-np.mean(np.log(np.clip(chosen, PROBABILITY_FLOOR, None))))


def valid_distributions(predictions: np.ndarray, labels: np.ndarray) -> float:
    """1.0 when ``predictions`` are a distribution over the vocabulary at every position (e.g. an untrained
    ``build_char_model(...)`` wired with the right shape and a softmax output); otherwise ModelRejected.

    Parameters
    ----------
    predictions : np.ndarray, shape (n, T, V)
    labels : np.ndarray, shape (n, T) of int ids (V must exceed every id) or (n, T, V)
        Only their shape (and largest id) is used.

    Raises
    ------
    ModelRejected
        As :func:`cross_entropy`: a wrong shape, non-finite or negative entries, or rows not summing to 1.
    """
    _checked_distributions(predictions, labels)
    return 1.0


#: Metrics by name: ``fn(predictions, labels) -> float``; a shape mismatch raises ModelRejected.
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy, "mse": mse, "cross_entropy": cross_entropy, "valid_distributions": valid_distributions}
#: The metrics of :data:`METRICS` where more is better; every other one is a loss (less is better).
#: :func:`register_metric` adds to it (``higher_is_better=True``).
HIGHER_IS_BETTER: set[str] = {"accuracy", "valid_distributions"}


def register_metric(name: str, fn: Callable[[np.ndarray, np.ndarray], float], *, higher_is_better: bool = False,
                    replace: bool = False) -> None:
    """Make ``fn(predictions, labels) -> float`` available to :func:`score_saved_model` as ``metric=name``: a loss
    (a threshold is a ceiling) unless ``higher_is_better`` (a threshold is a floor, e.g. an F1 score)."""
    if not isinstance(name, str) or not name or not callable(fn):
        raise TypeError(f"register_metric needs a name and a function, got {name!r} and {fn!r}")
    if name in METRICS and METRICS[name] is not fn and not replace:
        raise ValueError(f"a metric named {name!r} is already registered: pick another name or pass replace=True")
    if name in METRICS and not replace and (name in HIGHER_IS_BETTER) != higher_is_better:
        raise ValueError(f"the metric {name!r} is registered as {'higher' if name in HIGHER_IS_BETTER else 'lower'} "
                         "is better: registering it again must not flip its direction (pass replace=True to)")
    METRICS[name] = fn
    (HIGHER_IS_BETTER.add if higher_is_better else HIGHER_IS_BETTER.discard)(name)


def load_heldout(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The held-out ``x`` and ``y`` arrays of an ``.npz`` (no pickles)."""
    with np.load(path, allow_pickle=False) as data:
        return data["x"], data["y"]


def score_saved_model(path: Path, heldout: Path, metric: str, settings: ModelScoring | None = None,
                      sandbox: str = "bwrap") -> float:
    """``metric`` of the untrusted model saved at ``path`` on the held-out ``x``, ``y`` stored in ``heldout``.

    Only ``x`` enters the sandbox; the labels stay here and the metric is computed here.

    Raises
    ------
    ModelRejected
        The model was refused, failed, or returned predictions that do not fit the labels.
    ValueError
        ``metric`` is not registered (instructor: fix the check).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(sorted(METRICS))} or register_metric")
    x, y = load_heldout(heldout)
    predictions = predict_untrusted(path, x, settings, sandbox)
    return METRICS[metric](predictions, y)


# ------------------------------------------------------------------------------------------------ architecture

_SPEC = re.compile(r"([A-Za-z][A-Za-z0-9]*)(?:\((\d+)\))?")


def model_layers(config: Any) -> list[tuple[str, dict]]:
    """``(class name, config)`` of every layer of a checked model config, nested models and wrappers included, in
    the order Keras wrote them; an ``RNN`` layer is named after its cell (``RNN(LSTMCell)`` is ``LSTM``)."""
    found: list[tuple[str, dict]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        name, inner = node.get("class_name"), node.get("config")
        if name == "RNN" and isinstance(inner, dict) and isinstance(inner.get("cell"), dict):
            cell = inner["cell"]
            if cell.get("class_name") in CELLS:
                found.append((str(cell["class_name"])[:-len("Cell")], cell.get("config") or {}))
                return
        if isinstance(name, str) and name in LAYERS and isinstance(inner, dict):
            found.append((name, inner))
        for key, value in node.items():
            if key in ("config", "layers", "layer", "backward_layer", "cell"):
                walk(value)

    walk(config)
    return found


def architecture_problem(config: Any, required: tuple[str, ...] = (), forbidden: tuple[str, ...] = ()) -> str:
    """Why a checked model config is not the architecture an exercise asks for ("" if it is).

    ``required`` holds specs such as ``"LSTM"`` or ``"LSTM(64)"`` (a layer of that class, with that many units);
    ``forbidden`` holds layer classes the model must not have.
    """
    layers = model_layers(config)
    names = [name for name, _ in layers if name != "InputLayer"]
    listed = ", ".join(names) or "none"
    asked = " + ".join(required) or "another architecture"
    for spec in required:
        match = _SPEC.fullmatch(spec)
        if not match:
            raise ValueError(f"bad architecture spec {spec!r}: write 'LSTM' or 'LSTM(64)' (instructor: fix the check)")
        kind, units = match.group(1), match.group(2)
        same_kind = [inner for name, inner in layers if name == kind]
        if not same_kind:
            return f"the model has no {kind} layer (its layers: {listed}): this exercise asks for {asked}"
        if units is not None and not any(inner.get("units") == int(units) for inner in same_kind):
            have = ", ".join(str(inner.get("units")) for inner in same_kind)
            return f"the model's {kind} has {have} units: this exercise asks for {spec}"
    for kind in forbidden:
        if kind in names:
            return f"the model has a {kind} layer (its layers: {listed}): this exercise asks for {asked} without one"
    return ""


# -------------------------------------------------------------------------------------------- scoring, whole

@dataclass(frozen=True)
class ModelScore:
    """A model's metric on held-out data, and the same metric of each naive baseline stored with that data."""

    value: float
    examples: int
    baselines: dict[str, float] = field(default_factory=dict)
    #: tokens of the model's vocabulary that it must not know (e.g. words only the notebook's test split has)
    leaked: tuple[str, ...] = ()


def score_model(path: Path, heldout: Path, metric: str, settings: ModelScoring | None = None,
                sandbox: str = "bwrap", architecture: tuple[str, ...] = (), forbidden: tuple[str, ...] = (),
                baselines: tuple[str, ...] = (), unseen: frozenset[str] = frozenset(),
                causal: bool = False) -> ModelScore:
    """Validate the untrusted model at ``path``, check its architecture, predict the held-out ``x`` in a sandbox and
    score it, and the named baselines (arrays ``baseline_<name>`` of the ``.npz``), against the held-out ``y``.
    ``unseen``: tokens the model's vocabulary must not hold (read from the archive as text, never from Keras);
    those it holds are returned in ``leaked``, in sorted order.

    ``causal`` (language models, ``x`` of character ids, shape (n, T)): the sandbox also predicts a copy of ``x``
    whose window ``i`` keeps its first ``k_i`` characters and has the rest replaced (:func:`future_changed`), in
    the same single sandbox run; when the predictions are 3-D, (n, T, V), those for positions ``< k_i`` must not
    move (beyond :data:`CAUSAL_ATOL`), else the model sees the future and is refused. Predictions of any other
    rank are not compared (the metric judges their shape). Only the first ``n`` predictions are scored.

    Raises
    ------
    ModelRejected
        The model was refused (the file, its layers, or an architecture other than ``architecture`` /
        ``forbidden``), failed, returned predictions that do not fit the labels, or (``causal``) looks ahead.
    ValueError
        ``metric`` is not registered, a baseline is missing from the held-out data, or (``causal``) ``x`` is not
        at least two windows of at least two character ids (instructor: rebuild).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(sorted(METRICS))} or register_metric")
    settings = settings or ModelScoring()
    summary = validate_keras_archive(path, settings)
    problem = architecture_problem(summary["config"], architecture, forbidden)
    if problem:
        raise ModelRejected(problem)
    with np.load(heldout, allow_pickle=False) as data:
        x, y = data["x"], data["y"]
        missing = [name for name in baselines if f"baseline_{name}" not in data.files]
        if missing:
            raise ValueError(f"{heldout} has no baseline {', '.join(missing)} (instructor: rebuild the assignment)")
        naive = {name: METRICS[metric](np.asarray(data[f"baseline_{name}"], dtype=np.float64), y)
                 for name in baselines}
    if causal:
        changed, cuts = future_changed(x)
        both = predict_untrusted(path, np.concatenate([x, changed]), settings, sandbox)
        predictions = both[:len(x)]
        _check_causal(predictions, both[len(x):], cuts, x.shape[1])
    else:
        predictions = predict_untrusted(path, x, settings, sandbox)
    leaked = tuple(sorted(unseen & summary["vocabulary"]))
    return ModelScore(METRICS[metric](predictions, y), int(len(y)), naive, leaked)


# ------------------------------------------------------------------------------------------------- causality

#: How far a prediction for an earlier position may move when later characters change (float32 noise, and
#: batches of another composition in the sandbox).
CAUSAL_ATOL = 1e-4


def future_changed(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy of the windows ``x`` with every character from a cut on replaced, and the cuts.

    Parameters
    ----------
    x : np.ndarray of int, shape (n, T), n ≥ 2, T ≥ 2
        Character ids.

    Returns
    -------
    changed : np.ndarray, shape (n, T), dtype of ``x``
        ``changed[i, :k_i] == x[i, :k_i]``; ``changed[i, k_i:]`` are the characters of the next window,
        ``x[(i + 1) % n, k_i:]``, and where one equals ``x[i, t]`` the next id present in ``x`` instead, so every
        character from the cut on differs (only ids ``x`` holds are used: the model's embedding knows them).
    cuts : np.ndarray of int, shape (n,)
        ``k_i`` in [1, T - 1], drawn with ``np.random.default_rng(0)`` (the same for every grading).
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2 or x.dtype.kind not in "iu":
        raise ValueError(f"a causality check needs at least 2 windows of at least 2 character ids, shape (n, T), "
                         f"not {x.dtype} of shape {x.shape} (instructor: rebuild the held-out data or drop causal)")
    alphabet = np.unique(x)
    if len(alphabet) < 2:
        raise ValueError("the held-out windows hold one character only, so none can be changed (instructor: "
                         "rebuild the held-out data)")
    n, length = x.shape
    cuts = np.random.default_rng(0).integers(1, length, size=n)
    donor = np.roll(x, -1, axis=0)
    shifted = alphabet[(np.searchsorted(alphabet, x) + 1) % len(alphabet)]  # another id at every position
    later = np.arange(length)[None, :] >= cuts[:, None]
    changed = np.where(later, np.where(donor == x, shifted, donor), x).astype(x.dtype)
    return changed, cuts


def _check_causal(predictions: np.ndarray, changed: np.ndarray, cuts: np.ndarray, length: int) -> None:
    """ModelRejected if a 3-D prediction before a cut moved when the characters after it changed."""
    if predictions.ndim != 3 or changed.shape != predictions.shape or predictions.shape[1] != length:
        return  # not per-position predictions: the metric refuses their shape
    before = np.arange(predictions.shape[1])[None, :] < cuts[:, None]
    moved = np.abs(predictions - changed).max(axis=-1) * before
    if moved.max() > CAUSAL_ATOL:
        i, t = np.unravel_index(np.argmax(moved), moved.shape)
        raise ModelRejected(f"the model's predictions for earlier positions change when later characters of the "
                            f"window change (window {i}: the prediction at position {t} moved by {moved[i, t]:.3g} "
                            f"when the characters from position {cuts[i]} on were replaced): the model sees the "
                            "future (e.g. a Bidirectional layer or a look-ahead), so its held-out score means "
                            "nothing")
