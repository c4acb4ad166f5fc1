"""Predict held-out inputs with one student model; run by the grader in the scoring sandbox, never imported.

The grader (:mod:`course_lib.grading.model_archive`) has already checked the archive as data and rewritten it; this script
only sees that copy and the inputs, never the labels or the course::

    python -I -S model_predict.py --site SITE_PACKAGES --in IN_DIR --out OUT_DIR --batch-size 256 \
        --max-output-bytes 268435456

reads ``IN_DIR/model.keras`` and ``IN_DIR/x.npy`` and writes ``OUT_DIR/predictions.npy`` (float32, or float64 for
a float64 model), leading dimension the number of inputs, predicted one batch at a time. On failure it writes a
one-line reason to ``OUT_DIR/error.txt`` and exits with one of the codes below (the grader treats both the file and
the code as untrusted hints). It depends on nothing but the standard library, NumPy and Keras, because
``course_lib`` is not visible in the sandbox.
"""
from __future__ import annotations

import argparse
import os
import site
import sys

EXIT_USAGE = 2
EXIT_LOAD = 3
EXIT_PREDICT = 4
EXIT_MEMORY = 5
MAX_REASON_CHARS = 300


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", action="append", default=[], help="a site-packages directory holding Keras")
    parser.add_argument("--in", dest="in_dir", required=True, help="directory with model.keras and x.npy")
    parser.add_argument("--out", dest="out_dir", required=True, help="directory for predictions.npy")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--max-output-bytes", type=int, default=256 * 2**20, help="largest predictions file")
    return parser.parse_args(argv)


def _fail(out_dir: str, code: int, reason: str) -> int:
    """Leave a one-line reason for the grader and return ``code``."""
    line = " ".join(reason.split())[:MAX_REASON_CHARS]
    with open(os.path.join(out_dir, "error.txt"), "w", encoding="utf-8") as file:
        file.write(line + "\n")
    return code


def _predict(in_dir: str, out_dir: str, batch_size: int, max_output_bytes: int) -> int:
    import numpy as np  # after --site is on the path: -S leaves site-packages out

    import keras

    try:
        model = keras.saving.load_model(os.path.join(in_dir, "model.keras"), compile=False, safe_mode=True)
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever Keras refuses is the model's problem, reported as such
        return _fail(out_dir, EXIT_LOAD, f"Keras could not load the saved model ({type(error).__name__}: {error})")
    x = np.load(os.path.join(in_dir, "x.npy"), allow_pickle=False)
    partial = os.path.join(out_dir, "predictions.partial.npy")
    try:
        problem = _predict_batches(model, x, batch_size, max_output_bytes, partial)
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - e.g. the model expects another input shape
        problem = (f"the model could not predict the held-out inputs of shape {tuple(x.shape)} "
                   f"({type(error).__name__}: {error})")
    if problem:
        return _fail(out_dir, EXIT_PREDICT, problem)
    # renamed only when complete, so the grader never reads a half-written file as the answer
    os.replace(partial, os.path.join(out_dir, "predictions.npy"))
    return 0


def _predict_batches(model, x, batch_size: int, max_output_bytes: int, path: str) -> str | None:
    """Predict ``x`` batch by batch straight into a .npy file at ``path``; a reason if that cannot be done.

    One batch at a time bounds the memory to one batch's activations, and the size of the whole output is checked
    against ``max_output_bytes`` from the first batch, before it is allocated.
    """
    import numpy as np

    output = None
    for start in range(0, len(x), batch_size):
        batch = _as_model_input(x[start:start + batch_size])
        predictions = model.predict_on_batch(batch)
        if isinstance(predictions, (list, tuple, dict)):
            return f"the model has {len(predictions)} outputs: the grader scores models with one output"
        predictions = np.asarray(predictions)
        if not (np.issubdtype(predictions.dtype, np.floating) or np.issubdtype(predictions.dtype, np.integer)):
            return f"the model's output has dtype {predictions.dtype}, not numbers"
        if output is None:
            shape = (len(x), *predictions.shape[1:])
            dtype = np.float32 if predictions.dtype.itemsize <= 4 else np.float64
            size = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
            if size > max_output_bytes:
                return (f"the model's predictions would take {size / 2**20:.0f} MiB (shape {shape}), more than "
                        f"the {max_output_bytes / 2**20:.0f} MiB the grader reads: predict fewer values per example")
            output = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        if predictions.shape[1:] != output.shape[1:] or len(predictions) != len(batch):
            return (f"the model returned predictions of shape {predictions.shape} for a batch of {len(batch)} "
                    f"inputs, after {output.shape[1:]} per input for the first batch")
        output[start:start + len(predictions)] = predictions
    if output is None:
        return "there were no held-out inputs to predict"
    output.flush()
    return None


def _as_model_input(batch):
    """Text as Keras' predict takes it (string tensors, not NumPy's fixed-width strings); numbers unchanged."""
    if batch.dtype.kind not in "US":
        return batch
    import tensorflow as tf  # the backend that reads text; only reached for string inputs

    return tf.constant(batch)


def main(argv: list[str] | None = None) -> int:
    """Load, predict, save; the exit code says which step failed."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    for directory in args.site:
        site.addsitedir(directory)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        return _predict(args.in_dir, args.out_dir, args.batch_size, args.max_output_bytes)
    except MemoryError:
        return _fail(args.out_dir, EXIT_MEMORY, "the model ran out of memory")


if __name__ == "__main__":
    sys.exit(main())
