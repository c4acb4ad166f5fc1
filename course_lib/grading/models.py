"""Scoring a trained model in the grader's own process: the notebook only saves it.

The model file comes from the student's sandbox, so it is checked like any untrusted file (a regular file, not a
link, of bounded size, the one the kernel reported) and loaded with Keras' ``safe_mode=True``, which refuses to
deserialise code (lambda layers, arbitrary functions). The held-out data lives with the instructor
(``source/<assignment>/``, never released) and never enters the sandbox.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

MAX_MODEL_BYTES = 200 * 1024**2


class ModelRejected(ValueError):
    """The saved model cannot be scored; the message says why, in the student's terms."""


def load_heldout(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return data["x"], data["y"]


def score_saved_model(path: Path, sha256: bytes, heldout: Path, metric: str) -> float:
    """``metric`` ("accuracy" or "mse") of the model saved at ``path`` on the held-out arrays in ``heldout``."""
    if path.is_symlink() or not path.is_file():
        raise ModelRejected(f"{path.name} was not saved as a regular file")
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelRejected(f"{path.name} is {size / 2**20:.0f} MiB (limit {MAX_MODEL_BYTES // 2**20} MiB)")
    content = path.read_bytes()
    if hashlib.sha256(content).digest() != sha256:
        raise ModelRejected(f"{path.name} changed after it was saved")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - any refusal is the model's problem
        raise ModelRejected(f"the saved model could not be loaded in safe mode ({type(error).__name__}: "
                            f"{str(error)[:200]})") from None
    x, y = load_heldout(heldout)
    predictions = np.asarray(model.predict(x, verbose=0, batch_size=256), dtype=np.float64)
    if metric == "accuracy":
        labels = predictions.argmax(axis=-1) if predictions.ndim > 1 and predictions.shape[-1] > 1 else (
            predictions.reshape(len(y), -1)[:, 0] > 0.5).astype(int)
        return float(np.mean(labels.reshape(y.shape) == y))
    if metric == "mse":
        return float(np.mean((predictions.reshape(y.shape) - y) ** 2))
    raise ValueError(f"unknown metric {metric!r}")
