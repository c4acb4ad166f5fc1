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

__all__ = ["METRICS", "ModelRejected", "ModelScore", "ModelScoring", "accuracy", "architecture_problem",
           "check_model_config", "load_heldout", "model_layers", "mse", "predict_untrusted", "register_metric",
           "score_model", "score_saved_model", "validate_keras_archive"]


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


#: Metrics by name: ``fn(predictions, labels) -> float``; a shape mismatch raises ModelRejected.
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"accuracy": accuracy, "mse": mse}


def register_metric(name: str, fn: Callable[[np.ndarray, np.ndarray], float], *, replace: bool = False) -> None:
    """Make ``fn(predictions, labels) -> float`` available to :func:`score_saved_model` as ``metric=name``."""
    if not isinstance(name, str) or not name or not callable(fn):
        raise TypeError(f"register_metric needs a name and a function, got {name!r} and {fn!r}")
    if name in METRICS and METRICS[name] is not fn and not replace:
        raise ValueError(f"a metric named {name!r} is already registered: pick another name or pass replace=True")
    METRICS[name] = fn


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
                baselines: tuple[str, ...] = (), unseen: frozenset[str] = frozenset()) -> ModelScore:
    """Validate the untrusted model at ``path``, check its architecture, predict the held-out ``x`` in a sandbox and
    score it, and the named baselines (arrays ``baseline_<name>`` of the ``.npz``), against the held-out ``y``.
    ``unseen``: tokens the model's vocabulary must not hold (read from the archive as text, never from Keras);
    those it holds are returned in ``leaked``, in sorted order.

    Raises
    ------
    ModelRejected
        The model was refused (the file, its layers, or an architecture other than ``architecture`` /
        ``forbidden``), failed, or returned predictions that do not fit the labels.
    ValueError
        ``metric`` is not registered, or a baseline is missing from the held-out data (instructor: rebuild).
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
    predictions = predict_untrusted(path, x, settings, sandbox)
    leaked = tuple(sorted(unseen & summary["vocabulary"]))
    return ModelScore(METRICS[metric](predictions, y), int(len(y)), naive, leaked)
