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
"""
from __future__ import annotations

import functools
import io
import json
import os
import re
import resource
import stat
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from traitlets import Integer
from traitlets.config import Configurable

import course_lib
from course_lib.grading.sandbox import (PASS_ENV, Sandbox, _ro_system, bwrap_available, make_cgroups,
                                        remove_cgroups)

KiB, MiB, GiB = 1024, 1024**2, 1024**3

#: The program run in the scoring sandbox (bound read-only into it; never imported by the grader).
PREDICT_SCRIPT = Path(__file__).with_name("model_predict.py")
#: Where the sandboxed process sees its script, inputs and output directory.
INSIDE_SCRIPT, INSIDE_IN, INSIDE_OUT = "/scoring/model_predict.py", "/scoring/in", "/scoring/out"
#: Exit codes of model_predict.py (mirrored here: the grader never imports that script).
EXIT_LOAD, EXIT_PREDICT, EXIT_MEMORY = 3, 4, 5


class ModelScoring(Configurable):
    """Limits of model scoring (``c.ModelScoring.*`` in nbgrader_config.py)."""

    max_model_bytes = Integer(200 * MiB, help="Largest .keras file, and largest weights file inside it"
                              ).tag(config=True)
    max_members = Integer(64, help="Most files in a .keras archive (3 plus one vocabulary per lookup layer)"
                          ).tag(config=True)
    max_config_bytes = Integer(8 * MiB, help="Largest config.json (inline vocabularies live there)").tag(config=True)
    max_asset_bytes = Integer(32 * MiB, help="Total size of the assets/ files (lookup vocabularies)").tag(config=True)
    max_json_depth = Integer(64, help="Deepest nesting of config.json (Keras' own models stay under 30)"
                             ).tag(config=True)
    max_parameters = Integer(20_000_000, help="Most weights a model may declare").tag(config=True)
    memory_bytes = Integer(3 * GiB, help="Address-space limit of the predicting process (TensorFlow itself "
                           "needs about 1.2 GiB)").tag(config=True)
    cpu_seconds = Integer(120, help="CPU-time limit of the predicting process").tag(config=True)
    wall_seconds = Integer(180, help="Wall-time limit of loading the model and predicting").tag(config=True)
    max_processes = Integer(256, help="Process/thread limit of the predicting process (RLIMIT_NPROC)"
                            ).tag(config=True)
    max_prediction_bytes = Integer(256 * MiB, help="Largest predictions file read back").tag(config=True)
    batch_size = Integer(256, help="Batch size of model.predict").tag(config=True)


class ModelRejected(ValueError):
    """The saved model cannot be scored; the message says why, in the student's terms."""


# --------------------------------------------------------------------------------------------------- allowlists

#: Layers the course's models use, as Keras 3 serialises them (module ``keras.layers``).
LAYERS = frozenset({
    "InputLayer", "Embedding", "LSTM", "GRU", "SimpleRNN", "Bidirectional", "Dense", "Dropout", "SpatialDropout1D",
    "TimeDistributed", "Masking", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "Flatten", "Reshape",
    "Concatenate", "Add", "Activation", "LayerNormalization", "BatchNormalization", "Conv1D", "MaxPooling1D",
    "TextVectorization", "StringLookup", "RNN",
})
#: Cells, allowed only as the ``cell`` of an ``RNN`` layer.
CELLS = frozenset({"LSTMCell", "GRUCell", "SimpleRNNCell"})
#: Model classes and the modules Keras 3 writes for them.
MODELS = {"Sequential": {"keras", "keras.models", "keras.src.models.sequential"},
          "Functional": {"keras", "keras.models", "keras.src.models.functional"},
          "Model": {"keras", "keras.models", "keras.src.models.model"}}
INITIALIZERS = frozenset({
    "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal", "TruncatedNormal", "GlorotUniform",
    "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal", "Identity",
    "VarianceScaling",
})
REGULARIZERS = frozenset({"L1", "L2", "L1L2"})
CONSTRAINTS = frozenset({"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"})
DTYPE_POLICIES = frozenset({"DTypePolicy", "FloatDTypePolicy"})
#: Object kinds: which classes, from which modules.
KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "layer": (LAYERS, frozenset({"keras.layers"})),
    "cell": (CELLS, frozenset({"keras.layers"})),
    "initializer": (INITIALIZERS, frozenset({"keras.initializers"})),
    "regularizer": (REGULARIZERS, frozenset({"keras.regularizers"})),
    "constraint": (CONSTRAINTS, frozenset({"keras.constraints"})),
    "dtype policy": (DTYPE_POLICIES, frozenset({"keras", "keras.dtype_policies"})),
}
ACTIVATIONS = frozenset({
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish", "tanh", "sigmoid",
    "hard_sigmoid", "softmax", "log_softmax", "softplus", "softsign", "exponential",
})
#: Names Keras accepts as strings where an object is expected (``kernel_initializer="glorot_uniform"``).
NAMED = {
    "initializer": INITIALIZERS | {"zeros", "ones", "constant", "random_uniform", "random_normal",
                                   "truncated_normal", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                                   "lecun_uniform", "lecun_normal", "orthogonal", "identity", "variance_scaling"},
    "regularizer": REGULARIZERS | {"l1", "l2", "l1_l2"},
    "constraint": CONSTRAINTS | {"max_norm", "min_max_norm", "non_neg", "unit_norm"},
}
DTYPES = frozenset({"float16", "bfloat16", "float32", "float64", "mixed_float16", "mixed_bfloat16", "bool", "uint8",
                    "int8", "int16", "int32", "int64", "string"})
#: String options of TextVectorization that Keras would otherwise take as a callable.
TEXT_OPTIONS = {"standardize": {"lower_and_strip_punctuation", "lower", "strip_punctuation"},
                "split": {"whitespace", "character"}}
#: Keys an object entry of config.json may have.
OBJECT_KEYS = frozenset({"module", "class_name", "config", "registered_name", "build_config", "compile_config",
                         "shared_object_id", "name", "inbound_nodes"})
#: Code-carrying classes, refused with a reason of their own.
REFUSED = {
    "Lambda": "the model uses a Lambda layer, which the grader cannot run: use built-in layers only",
    "TFSMLayer": "the model wraps a TensorFlow SavedModel (TFSMLayer), which the grader cannot run: build it from "
                 "built-in Keras layers",
}

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_LOCAL_SIGNATURE = b"PK\x03\x04"
EOCD_SIGNATURE, ZIP64_LOCATOR_SIGNATURE = b"PK\x05\x06", b"PK\x06\x07"
REQUIRED_MEMBERS = ("config.json", "model.weights.h5")
METADATA, MAX_METADATA_BYTES = "metadata.json", 64 * KiB
#: What Keras writes under assets/: one vocabulary per lookup layer, at the layer's path.
ASSET_NAME = re.compile(r"assets/(?:[A-Za-z0-9_.-]+/)*vocabulary\.txt")
CHUNK = 1 * MiB
MAX_NAME_CHARS = 256
#: Room for one central-directory entry of a member Keras writes (46 bytes, its name, a zip64 extra field).
CENTRAL_ENTRY_BYTES = 4 * KiB
SAVE_HINT = "save the trained model with model.save('<name>.keras')"


# ------------------------------------------------------------------------------------------ the archive, as data

def validate_keras_archive(path: Path, settings: ModelScoring | None = None) -> dict:
    """Check the ``.keras`` archive at ``path`` as data, without Keras.

    Parameters
    ----------
    path : Path
        The student's saved model.
    settings : ModelScoring, optional
        Limits (defaults if omitted).

    Returns
    -------
    dict
        ``{"model": class name, "layers": [class names], "parameters": int, "members": [archive names],
        "config": the parsed config.json without compile_config}``.

    Raises
    ------
    ModelRejected
        The first thing found that the grader does not accept.
    """
    return _read_archive(Path(path), settings or ModelScoring(), copy_to=None)


def _read_archive(path: Path, settings: ModelScoring, copy_to: Path | None) -> dict:
    """Validate ``path``; with ``copy_to``, also write there a fresh archive of exactly what was validated."""
    with _open_model_file(path, settings) as file:
        size = os.fstat(file.fileno()).st_size
        _check_signature(file.read(8), path.name)
        _check_end_record(file, size, settings)
        with _open_zip(file) as archive:
            infos = _checked_members(archive, settings)
            config = _parse_json(_read_member(archive, infos["config.json"], settings.max_config_bytes), settings)
            summary = check_model_config(config, settings)
            metadata = _checked_metadata(archive, infos.get(METADATA), settings)
            with _writer(copy_to) as writer:
                writer("config.json", [json.dumps(summary["config"]).encode()])
                writer(METADATA, [json.dumps(metadata).encode()])
                _copy_weights(archive, infos, settings, writer)
    summary["members"] = sorted(infos)
    return summary


@contextmanager
def _open_model_file(path: Path, settings: ModelScoring) -> Iterator[BinaryIO]:
    """The file at ``path``, opened without following a link, if it is a regular file of bounded size."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise ModelRejected(f"no saved model was found ({path.name}): {SAVE_HINT}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ModelRejected(f"{path.name} is a symbolic link, not a saved model: {SAVE_HINT}")
    if stat.S_ISDIR(info.st_mode):
        raise ModelRejected(f"{path.name} is a directory (a TensorFlow SavedModel?), not a .keras archive: "
                            f"{SAVE_HINT}")
    try:  # O_NOFOLLOW and the fstat below close the gap between lstat and open
        descriptor = _open_unfollowed(path)
    except OSError as error:
        raise ModelRejected(f"{path.name} cannot be opened as a regular file ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ModelRejected(f"{path.name} was not saved as a regular file: {SAVE_HINT}")
        if info.st_size > settings.max_model_bytes:
            raise ModelRejected(f"{path.name} is {info.st_size:,} bytes, more than the "
                                f"{settings.max_model_bytes / MiB:g} MiB the grader accepts: use a smaller model")
        yield file


def _open_unfollowed(path: Path) -> int:
    """A read-only descriptor of ``path`` itself: never through a link, never blocking on a FIFO."""
    return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)


def _check_signature(head: bytes, name: str) -> None:
    if head.startswith(HDF5_SIGNATURE):
        raise ModelRejected(f"{name} is a legacy HDF5 (.h5) model renamed, not a .keras archive: {SAVE_HINT}")
    if not head.startswith(ZIP_LOCAL_SIGNATURE):
        raise ModelRejected(f"{name} is not a .keras archive (a zip file written by Keras): {SAVE_HINT}")


def _check_end_record(file: BinaryIO, size: int, settings: ModelScoring) -> None:
    """Count the members from the zip's end record, as :mod:`zipfile` finds it, before zipfile reads them all."""
    tail_size = min(size, 22 + 65535)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    start = tail_size - 22 if tail[-22:-18] == EOCD_SIGNATURE and tail[-2:] == b"\0\0" else tail.rfind(EOCD_SIGNATURE)
    if start < 0 or len(tail) < start + 22:
        raise ModelRejected(f"the saved model is not a complete zip archive: {SAVE_HINT}")
    # zipfile parses the whole central directory, whatever the count says: bound its size as well
    entries, directory_size = struct.unpack("<HI", tail[start + 10:start + 16])
    offset = size - tail_size + start
    if offset >= 20:
        file.seek(offset - 20)
        if file.read(4) == ZIP64_LOCATOR_SIGNATURE:  # Keras' archives never need zip64
            raise ModelRejected("the saved model is a zip64 archive, which Keras does not write: " + SAVE_HINT)
    if entries > settings.max_members or directory_size > settings.max_members * CENTRAL_ENTRY_BYTES:
        raise ModelRejected(f"the saved model holds {entries} files in a directory of {directory_size:,} bytes, "
                            f"more than the {settings.max_members} files the grader accepts: {SAVE_HINT}")
    file.seek(0)


@contextmanager
def _open_zip(file: BinaryIO) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
        raise ModelRejected(f"the saved model is not a readable zip archive ({error}): {SAVE_HINT}") from None
    with archive:
        yield archive


def _checked_members(archive: zipfile.ZipFile, settings: ModelScoring) -> dict[str, zipfile.ZipInfo]:
    """The members by name, if they are exactly those Keras writes, each a plain file of bounded declared size."""
    infos = archive.infolist()
    if len(infos) > settings.max_members:
        raise ModelRejected(f"the saved model holds {len(infos)} files, more than the {settings.max_members} the "
                            "grader accepts")
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        _check_member(info, settings)
        if info.filename in members:
            raise ModelRejected(f"the saved model holds {info.filename!r} twice, which Keras never writes")
        members[info.filename] = info
    for name in REQUIRED_MEMBERS:
        if name not in members:
            raise ModelRejected(f"the saved model has no {name}: {SAVE_HINT}")
    assets = sum(info.file_size for name, info in members.items() if name.startswith("assets/"))
    if assets > settings.max_asset_bytes:
        raise ModelRejected(f"the saved model's assets/ files declare {assets / MiB:.1f} MiB, more than the "
                            f"{settings.max_asset_bytes / MiB:.0f} MiB the grader accepts")
    return members


def _check_member(info: zipfile.ZipInfo, settings: ModelScoring) -> None:
    name = info.filename
    parts = name.split("/")
    if (len(name) > MAX_NAME_CHARS or name.startswith("/") or "\\" in name or "\0" in name
            or any(p in ("", ".", "..") for p in parts)):
        raise ModelRejected(f"the saved model holds a file named {_short(name)}, a path Keras never writes")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ModelRejected(f"the saved model holds {name!r} as a symbolic link, which Keras never writes")
    if name not in (*REQUIRED_MEMBERS, METADATA) and not ASSET_NAME.fullmatch(name):
        raise ModelRejected(f"the saved model holds {_short(name)}, which is not a file Keras writes: {SAVE_HINT}")
    if info.flag_bits & 0x1:
        raise ModelRejected(f"{name} in the saved model is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelRejected(f"{name} in the saved model uses a compression Keras does not write")
    limit = _member_limit(name, settings)
    if info.file_size > limit:
        raise ModelRejected(f"{name} in the saved model declares {info.file_size / MiB:.1f} MiB, more than the "
                            f"{limit / MiB:.1f} MiB the grader accepts")


def _member_limit(name: str, settings: ModelScoring) -> int:
    return {"config.json": settings.max_config_bytes, METADATA: MAX_METADATA_BYTES,
            "model.weights.h5": settings.max_model_bytes}.get(name, settings.max_asset_bytes)


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
    """The member's bytes in chunks, stopping as soon as more than ``limit`` come out (whatever the header says)."""
    total = 0
    try:
        with archive.open(info) as source:
            while chunk := source.read(CHUNK):
                total += len(chunk)
                if total > limit:
                    raise ModelRejected(f"{info.filename} in the saved model expands beyond "
                                        f"{limit / MiB:.1f} MiB, more than the grader accepts")
                yield chunk
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
        if isinstance(error, ModelRejected):
            raise
        raise ModelRejected(f"{info.filename} in the saved model is damaged or lies about its size ({error}): "
                            f"{SAVE_HINT}") from None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    return b"".join(_chunks(archive, info, limit))


def _parse_json(data: bytes, settings: ModelScoring, name: str = "config.json") -> Any:
    """Parse JSON of bounded nesting: the depth is measured without recursion, before anything walks it."""
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except RecursionError:  # the C parser's own guard, long before the depth limit could be measured
        raise ModelRejected(f"{name} in the saved model is nested too deeply to be a Keras model") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise ModelRejected(f"{name} in the saved model is not valid JSON ({str(error)[:120]}): "
                            f"{SAVE_HINT}") from None
    depth = _json_depth(value)
    if depth > settings.max_json_depth:
        raise ModelRejected(f"{name} in the saved model nests {depth} levels deep, more than the "
                            f"{settings.max_json_depth} a Keras model needs")
    return value


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):  # two parsers could disagree on which value counts
        raise ValueError("an object repeats a key")
    return result


def _json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON, with an explicit stack (never a RecursionError)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _checked_metadata(archive: zipfile.ZipFile, info: zipfile.ZipInfo | None, settings: ModelScoring) -> dict:
    """The two short strings Keras writes in metadata.json (the rest is dropped from the copy)."""
    if info is None:
        return {}
    metadata = _parse_json(_read_member(archive, info, MAX_METADATA_BYTES), settings, METADATA)
    if not isinstance(metadata, dict):
        raise ModelRejected(f"{METADATA} in the saved model is not what Keras writes: {SAVE_HINT}")
    return {key: str(metadata[key])[:64] for key in ("keras_version", "date_saved") if key in metadata}


@contextmanager
def _writer(destination: Path | None) -> Iterator[Callable[[str, Any], None]]:
    """``write(name, chunks)`` into a fresh uncompressed archive at ``destination`` (or nowhere)."""
    if destination is None:
        def discard(name: str, chunks) -> None:
            for _ in chunks:  # still read every chunk: sizes and CRCs get checked
                pass
        yield discard
        return
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_STORED) as archive:
        def write(name: str, chunks) -> None:
            with archive.open(name, "w") as sink:
                for chunk in chunks:
                    sink.write(chunk)
        yield write


def _copy_weights(archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], settings: ModelScoring,
                  write: Callable[[str, Any], None]) -> None:
    """Copy the weights and assets through the bounded reader; the weights must be HDF5, as Keras writes them."""
    weights = _chunks(archive, infos["model.weights.h5"], settings.max_model_bytes)
    first = next(weights, b"")
    if not first.startswith(HDF5_SIGNATURE):
        raise ModelRejected(f"model.weights.h5 in the saved model is not an HDF5 file: {SAVE_HINT}")
    write("model.weights.h5", _prepend(first, weights))
    for name in sorted(n for n in infos if n.startswith("assets/")):
        write(name, _chunks(archive, infos[name], settings.max_asset_bytes))


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


# --------------------------------------------------------------------------------------------- the model config

def check_model_config(config: Any, settings: ModelScoring | None = None) -> dict:
    """Check a parsed ``config.json`` against the allowlists and the weight budget.

    Returns
    -------
    dict
        ``{"model": class name, "layers": [class names], "parameters": int, "config": config}``, the config with
        every ``compile_config`` removed (scoring never compiles, and nested models would otherwise be compiled).
    """
    settings = settings or ModelScoring()
    if not isinstance(config, dict) or not _among(config.get("class_name"), set(MODELS)):
        raise ModelRejected("config.json in the saved model does not describe a Keras Sequential or functional "
                            f"model: {SAVE_HINT}")
    classes: list[str] = []
    try:
        _check_node(config, "model", "the model", classes)
        counted = _parameters(config, None)
    except (TypeError, AttributeError, KeyError, IndexError, ValueError) as error:
        if isinstance(error, ModelRejected):
            raise
        # the allowlists passed but the structure is not what Keras writes (a list where a layer's config goes...)
        raise ModelRejected(f"config.json in the saved model is not laid out as Keras writes it "
                            f"({type(error).__name__}: {str(error)[:80]}): {SAVE_HINT}") from None
    total = sum(count for _, _, count in counted)
    if total > settings.max_parameters:
        name, kind, count = max(counted, key=lambda item: item[2])
        raise ModelRejected(f"the model declares {total:,} weights, more than the {settings.max_parameters:,} the "
                            f"grader accepts ({kind} {name!r} alone has {count:,}): use smaller layers")
    return {"model": config["class_name"], "layers": classes, "parameters": total,
            "config": _without_compile_config(config)}


def _check_node(node: Any, expected: str | None, where: str, classes: list[str]) -> None:
    """Walk one JSON value; ``expected`` is the kind of object it must be (None: plain data, or any allowed)."""
    if isinstance(node, list):
        for item in node:
            _check_node(item, None, where, classes)
        return
    if not isinstance(node, dict):
        return
    if "class_name" in node:
        where = _check_object(node, expected, where, classes)
    elif "module" in node or "registered_name" in node:
        raise ModelRejected(f"{where} holds an entry naming a module but no class, which Keras never writes")
    for key, value in node.items():
        kind = _kind_of_key(key)
        if key == "compile_config":
            continue  # dropped from the copy Keras loads: scoring never compiles
        if kind == "activation":
            _check_activation(value, where)
        elif kind in NAMED or kind == "dtype":
            _check_named(value, kind, key, where, classes)
        elif kind in ("layers", "layer", "cell"):
            _check_children(value, key, where, classes)
        elif key in TEXT_OPTIONS and value is not None and not _among(value, TEXT_OPTIONS[key]):
            raise ModelRejected(f"{where} sets {key} to {_short(value)}, which the grader cannot run: use one of "
                                f"{', '.join(sorted(TEXT_OPTIONS[key]))}")
        elif key in ("vocabulary", "idf_weights") and isinstance(value, str):
            raise ModelRejected(f"{where} reads its {key} from a file path ({_short(value)}), which the grader "
                                "does not have: adapt the layer or pass the vocabulary as a list")
        elif key in ("quantization_config", "lora_rank") and value not in (None, 0):
            raise ModelRejected(f"{where} is quantized or uses LoRA ({key}), which the grader does not score")
        else:
            _check_node(value, None, where, classes)


def _kind_of_key(key: str) -> str | None:
    if key in ("activation", "recurrent_activation"):
        return "activation"
    for suffix in ("initializer", "regularizer", "constraint"):
        if key.endswith("_" + suffix):
            return suffix
    return {"dtype": "dtype", "layers": "layers", "layer": "layer", "backward_layer": "layer", "cell": "cell"}.get(key)


def _check_object(node: dict, expected: str | None, where: str, classes: list[str]) -> str:
    """Check one serialised object (``class_name``/``module``/``config``); return how to name it in reasons."""
    name, module, registered = node.get("class_name"), node.get("module"), node.get("registered_name")
    if not isinstance(name, str):
        raise ModelRejected(f"{where} holds an object whose class name is not a string")
    if name in REFUSED:
        raise ModelRejected(REFUSED[name])
    if name == "__keras_tensor__" and module is None and expected is None:
        return where  # a reference to another layer's output inside a functional model's graph
    if name == "function" or (name.startswith("__") and name.endswith("__")):
        raise ModelRejected(f"{where} contains Python code or a function ({_short(node.get('config'))}), which the "
                            "grader cannot run: use built-in layers and named activations only")
    kind = _kind_of_class(name, module)
    if kind is None:
        raise ModelRejected(f"the model uses {_short(name)} from module {_short(str(module))}, which the grader "
                            f"cannot run: use built-in Keras layers only ({', '.join(sorted(LAYERS))})")
    if expected is not None and kind != expected and not (expected == "layer" and kind == "model"):
        raise ModelRejected(f"{where} has a {name} where a Keras {expected} belongs: {SAVE_HINT}")
    if registered not in (None, name):
        raise ModelRejected(f"the model's {name} is registered under another name ({_short(registered)}), which "
                            "means custom code the grader cannot run: use built-in Keras layers only")
    unexpected = set(node) - OBJECT_KEYS
    if unexpected:
        raise ModelRejected(f"{name} in the saved model has entries Keras never writes "
                            f"({_short(', '.join(sorted(unexpected)))})")
    if not isinstance(node.get("config") or {}, dict) or not isinstance(node.get("build_config") or {}, dict):
        raise ModelRejected(f"{name} in the saved model has a config that is not a JSON object")
    if kind == "dtype policy":
        _check_dtype_name((node.get("config") or {}).get("name"), where)
    if kind in ("layer", "model", "cell"):
        classes.append(name)
        layer_name = (node.get("config") or {}).get("name")
        noun = "model" if kind == "model" else "layer"
        return f"{name} {noun} {_short(layer_name)}" if isinstance(layer_name, str) else f"a {name} {noun}"
    return where


def _kind_of_class(name: str, module: Any) -> str | None:
    if not isinstance(module, str) and module is not None:
        return None
    if name in MODELS:
        return "model" if module in MODELS[name] else None
    for kind, (names, modules) in KINDS.items():
        if name in names and module in modules:
            return kind
    return None


def _check_children(value: Any, key: str, where: str, classes: list[str]) -> None:
    kind = "cell" if key == "cell" else "layer"
    items = value if key == "layers" else [value]
    if key == "layers" and not isinstance(value, list):
        raise ModelRejected(f"{where} has a layer list that is not a list")
    for item in items:
        if item is None and key == "backward_layer":
            continue
        if not isinstance(item, dict) or "class_name" not in item:
            raise ModelRejected(f"{where} names a {kind} by something else than a Keras layer entry "
                                f"({_short(item)})")
        _check_node(item, kind, where, classes)


def _check_activation(value: Any, where: str) -> None:
    if value is None or _among(value, ACTIVATIONS):
        return
    if isinstance(value, dict) and value.get("module") == "keras.activations" and (
            _among(value.get("class_name"), ACTIVATIONS)
            or (value.get("class_name") == "function" and _among(value.get("config"), ACTIVATIONS))) and (
            value.get("registered_name") in (None, "function", value.get("class_name"), value.get("config"))):
        return
    raise ModelRejected(f"{where} uses the activation {_describe(value)}, which the grader cannot run: use a "
                        f"named activation ({', '.join(sorted(ACTIVATIONS))})")


def _check_named(value: Any, kind: str, key: str, where: str, classes: list[str]) -> None:
    """An initializer, regularizer, constraint or dtype: None, an allowlisted name, or an allowlisted object."""
    if value is None:
        return
    if isinstance(value, str):
        if kind == "dtype":
            _check_dtype_name(value, where)
        elif not _among(value, NAMED[kind]):
            raise ModelRejected(f"{where} sets {key} to {_short(value)}, which is not a built-in Keras {kind}")
        return
    if not isinstance(value, dict) or "class_name" not in value:
        raise ModelRejected(f"{where} sets {key} to {_short(value)}, which is not a Keras {kind}")
    _check_node(value, "dtype policy" if kind == "dtype" else kind, where, classes)


def _check_dtype_name(value: Any, where: str) -> None:
    if not _among(value, DTYPES):
        raise ModelRejected(f"{where} uses the dtype {_short(value)}, which the grader does not score (quantized "
                            "or unknown): train in float32")


def _among(value: Any, names: frozenset[str] | set[str]) -> bool:
    return isinstance(value, str) and value in names


def _describe(value: Any) -> str:
    """``module.name`` of a serialised object (what a student recognises), else the value itself, shortened."""
    if isinstance(value, dict) and "class_name" in value:
        name = value.get("config") if value.get("class_name") == "function" else value.get("class_name")
        return _short(f"{value.get('module')}.{name}")
    return _short(value)


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _without_compile_config(node: Any) -> Any:
    if isinstance(node, list):
        return [_without_compile_config(item) for item in node]
    if isinstance(node, dict):
        return {key: _without_compile_config(value) for key, value in node.items() if key != "compile_config"}
    return node


# ------------------------------------------------------------------------------------------ the weight budget

def _parameters(node: dict, fallback: list | None) -> list[tuple[str, str, int]]:
    """``(layer name, class, weights)`` of every weight-bearing layer a checked config declares.

    Parameters
    ----------
    node : dict
        A checked layer or model entry.
    fallback : list or None
        The input shape (batch axis first) a wrapper gives its inner layer, used when it recorded none.
    """
    name, config = node["class_name"], node.get("config") or {}
    shape = _recorded_shape(node) or fallback
    if name in MODELS:
        return [item for layer in config.get("layers", []) for item in _parameters(layer, None)]
    if name == "Bidirectional":
        forward = _inner(config, "layer", name)
        return _parameters(forward, shape) + _parameters(config.get("backward_layer") or forward, shape)
    inner = shape[:1] + shape[2:] if shape else None  # the time axis removed
    if name == "TimeDistributed":
        return _parameters(_inner(config, "layer", name), inner)
    if name == "RNN":
        return _parameters(_inner(config, "cell", name), inner)
    count = _layer_weights(name, config, shape)
    return [(str(config.get("name")), name, count)] if count else []


def _inner(config: dict, key: str, wrapper: str) -> dict:
    if not isinstance(config.get(key), dict):
        raise ModelRejected(f"a {wrapper} layer in the saved model has no {key}: {SAVE_HINT}")
    return config[key]


def _recorded_shape(node: dict) -> list | None:
    shape = (node.get("build_config") or {}).get("input_shape")
    if isinstance(shape, list) and shape and all(d is None or _is_int(d) for d in shape):
        return shape
    return None


def _layer_weights(name: str, config: dict, shape: list | None) -> int:
    """Weights of one layer from its config and input shape (an upper bound where Keras' rule depends on more)."""
    size = lambda key: _positive(config, key, name)  # noqa: E731
    if name == "Embedding":
        return size("input_dim") * size("output_dim")
    if name in ("TextVectorization", "StringLookup"):  # lookup tables, and multi-hot outputs, grow with it
        tokens = config.get("max_tokens") or config.get("vocabulary_size")
        return _positive({"max_tokens": tokens}, "max_tokens", name) if tokens is not None else 0
    gates = {"LSTM": 4, "LSTMCell": 4, "GRU": 3, "GRUCell": 3, "SimpleRNN": 1, "SimpleRNNCell": 1}
    if name in gates:
        units = size("units")
        biases = 2 if name.startswith("GRU") and config.get("reset_after", True) else 1
        return gates[name] * (_input_size(shape, name, config) * units + units * units + biases * units)
    if name == "Dense":
        units = size("units")
        return (_input_size(shape, name, config) + 1) * units
    if name == "Conv1D":
        kernel = config.get("kernel_size")
        width = _positive({"kernel_size": kernel[0] if isinstance(kernel, list) and kernel else kernel},
                          "kernel_size", name)
        filters = size("filters")
        channels = _input_size(shape, name, config, axis=1 if config.get("data_format") == "channels_first" else -1)
        return width * channels * filters + filters
    if name in ("LayerNormalization", "BatchNormalization"):
        return 4 * _normalized_size(shape, name, config)
    return 0


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive(config: dict, key: str, layer: str) -> int:
    value = config.get(key)
    if not _is_int(value) or value <= 0:
        raise ModelRejected(f"{layer} layer {_short(config.get('name', ''))} declares {key} = {_short(value)}, "
                            "not a positive whole number")
    return value


def _input_size(shape: list | None, layer: str, config: dict, axis: int = -1) -> int:
    if not shape or len(shape) < 2 or not _is_int(shape[axis]) or shape[axis] <= 0:
        raise ModelRejected(f"{layer} layer {_short(config.get('name', ''))} has no recorded input size (the model "
                            "was saved before it was built): give the model a keras.Input, train it, then save it")
    return shape[axis]


def _normalized_size(shape: list | None, layer: str, config: dict) -> int:
    axes = config.get("axis", -1)
    axes = axes if isinstance(axes, list) else [axes]
    if not shape or not all(_is_int(a) and -len(shape) <= a < len(shape) for a in axes):
        return _input_size(shape, layer, config)
    return int(np.prod([_input_size(shape, layer, config, axis=a) for a in axes], dtype=object))


# ---------------------------------------------------------------------------------------- the scoring sandbox

@functools.cache
def _bwrap_problem(executable: str) -> str | None:
    return bwrap_available(executable)


def _site_dirs() -> list[str]:
    """The site-packages directories holding NumPy and Keras (``-I -S`` leaves them off the path)."""
    paths = sysconfig.get_paths()
    return sorted({os.path.realpath(paths[key]) for key in ("purelib", "platlib")})


def _environment(home: str, tmp: str) -> dict[str, str]:
    env = {"HOME": home, "TMPDIR": tmp, "PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
           "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "KERAS_BACKEND": "tensorflow", "KERAS_HOME": f"{home}/.keras",
           "MPLCONFIGDIR": f"{tmp}/matplotlib", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
           # few threads and malloc arenas: TensorFlow's address space then stays near 1.2 GiB, under the limit
           "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "2", "TF_NUM_INTRAOP_THREADS": "2",
           "TF_NUM_INTEROP_THREADS": "1"}
    env.update({key: os.environ[key] for key in PASS_ENV if key in os.environ})
    return env


def _file_limit(settings: ModelScoring) -> int:
    # the predictions, and Keras' extracted copy of the assets in the private /tmp
    return max(settings.max_prediction_bytes, settings.max_asset_bytes) + MiB


def _bwrap_command(settings: ModelScoring, script: Path, in_dir: Path, out_dir: Path) -> list[str]:
    """``bwrap ... timeout prlimit python -I -S script``, seeing only the script, ``in_dir`` and ``out_dir``."""
    prefixes = sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix})
    args = [Sandbox(parent=settings).bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--proc", "/proc", "--dev", "/dev",
            # a bounded private /tmp: Keras extracts the assets there
            "--size", str(2 * settings.max_asset_bytes + 64 * MiB), "--tmpfs", "/tmp", *_ro_system()]
    for prefix in prefixes:
        args += ["--ro-bind", prefix, prefix]
    args += _hide_course(prefixes)
    args += ["--ro-bind", str(script), INSIDE_SCRIPT, "--ro-bind", str(in_dir), INSIDE_IN,
             "--bind", str(out_dir), INSIDE_OUT, "--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    for key, value in sorted(_environment("/tmp", "/tmp").items()):
        args += ["--setenv", key, value]
    # CPU: SIGXCPU at the soft limit (a status that says why); SIGKILL at the hard one, if that is ignored
    limits = ["prlimit", f"--as={settings.memory_bytes}", f"--cpu={settings.cpu_seconds}:{settings.cpu_seconds + 5}",
              f"--nproc={settings.max_processes}", f"--fsize={_file_limit(settings)}", "--core=0", "--"]
    wall = ["timeout", "--signal=KILL", str(settings.wall_seconds)]
    return args + ["--"] + wall + limits + _python(settings, INSIDE_SCRIPT, INSIDE_IN, INSIDE_OUT)


def _hide_course(prefixes: list[str]) -> list[str]:
    """Empty directories over any copy of course_lib inside the bound Python installation (a non-editable install)."""
    candidates = {Path(course_lib.__file__).resolve().parent, *(Path(d) / "course_lib" for d in _site_dirs())}
    hidden = []
    for candidate in sorted(candidates):
        if candidate.is_dir() and any(str(candidate).startswith(prefix.rstrip("/") + "/") for prefix in prefixes):
            hidden += ["--tmpfs", str(candidate)]
    return hidden


def _python(settings: ModelScoring, script: str, in_dir: str, out_dir: str) -> list[str]:
    sites = [arg for directory in _site_dirs() for arg in ("--site", directory)]
    return [sys.executable, "-I", "-S", script, *sites, "--in", in_dir, "--out", out_dir,
            "--batch-size", str(settings.batch_size), "--max-output-bytes", str(settings.max_prediction_bytes)]


def _plain_limits(settings: ModelScoring) -> Callable[[], None]:
    """rlimits for the unsandboxed mode, applied in the child before it runs Python."""
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (settings.memory_bytes, settings.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (settings.cpu_seconds, settings.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (_file_limit(settings),) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def _run_isolated(script: Path, scratch: Path, settings: ModelScoring, sandbox: str) -> tuple[int, float, str]:
    """Run ``script`` on ``scratch/in`` (read-only) writing ``scratch/out``, sandboxed or (mode "none") limited.

    Returns
    -------
    tuple
        ``(exit status, wall seconds, last line of its stderr)``; a status above 128 is 128 + a signal.
    """
    in_dir, out_dir, groups = scratch / "in", scratch / "out", []
    if sandbox == "bwrap":
        command, extra = _bwrap_command(settings, script, in_dir, out_dir), {}
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}  # bwrap itself gets no grader environment
        groups = make_cgroups(scratch.name, _cgroup_settings(settings))
        if groups:  # RLIMIT_NPROC does not bind a root-owned process: the pids cgroup does
            join = "; ".join(f'echo $$ > "{group}/cgroup.procs"' for group in groups)
            command = ["/bin/sh", "-c", f'{join} && exec "$@"', "sh", *command]
    else:
        home = scratch / "home"
        home.mkdir()
        command = _python(settings, str(script), str(in_dir), str(out_dir))
        env, extra = _environment(str(home), str(home)), {"preexec_fn": _plain_limits(settings)}
    try:
        return _wait(command, env, extra, scratch, settings, margin=15 if sandbox == "bwrap" else 0)
    finally:
        remove_cgroups(groups)


def _cgroup_settings(settings: ModelScoring) -> Sandbox:
    """The kernel sandbox's cgroup settings, with the process and memory limits of model scoring."""
    limits = Sandbox(parent=settings)
    limits.max_processes, limits.memory_bytes = settings.max_processes, settings.memory_bytes
    return limits


def _wait(command: list[str], env: dict[str, str], extra: dict, scratch: Path, settings: ModelScoring,
          margin: float) -> tuple[int, float, str]:
    """Run ``command`` to its end or the wall-time limit plus ``margin``; ``(status, seconds, stderr's last line)``."""
    log = scratch / "stderr.txt"
    started = time.monotonic()
    with open(log, "wb") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                   env=env, cwd=str(scratch / "out"), start_new_session=True, **extra)
        try:
            # in bwrap mode `timeout` ends it first; the margin only covers a sandbox that fails to
            status = process.wait(timeout=settings.wall_seconds + margin)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
            status = 128 + 9
    status = 128 - status if status < 0 else status
    return status, time.monotonic() - started, _last_line(log, 4 * KiB)


def _last_line(path: Path, limit: int) -> str:
    """The last non-empty line of at most ``limit`` bytes of a file the sandbox wrote, printable characters only."""
    try:
        descriptor = _open_unfollowed(path)
    except OSError:
        return ""
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return ""
        size = os.fstat(descriptor).st_size
        file.seek(max(0, size - limit))
        text = file.read(limit).decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line.strip()]
    return "".join(c for c in lines[-1] if c.isprintable())[:300] if lines else ""


def _explain_failure(status: int, seconds: float, stderr: str, out_dir: Path, settings: ModelScoring) -> str:
    """One line in the student's terms for a predicting process that did not succeed."""
    if seconds >= settings.wall_seconds - 0.5:
        return f"scoring the model took longer than {settings.wall_seconds} s"
    reason = _last_line(out_dir / "error.txt", KiB)
    if status == EXIT_MEMORY:
        return f"the model used more than {settings.memory_bytes / GiB:g} GiB while predicting"
    if status == 128 + 24:  # SIGXCPU
        return f"scoring the model used more than {settings.cpu_seconds} s of CPU time"
    if status in (EXIT_LOAD, EXIT_PREDICT) and reason:
        return reason
    if status > 128:  # what an allocation failure in TensorFlow's C++ code looks like
        return (f"the model crashed while predicting (signal {status - 128}), most likely by needing more than "
                f"{settings.memory_bytes / GiB:g} GiB of memory")
    return f"scoring the model failed (exit status {status}{': ' + stderr if stderr else ''})"


def _read_predictions(path: Path, rows: int, settings: ModelScoring) -> np.ndarray:
    """The predictions file written in the sandbox, as float64, if it is a plain bounded array with ``rows`` rows."""
    try:
        descriptor = _open_unfollowed(path)
    except OSError:
        raise ModelRejected("the model produced no predictions (the scoring process wrote no regular file)") from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ModelRejected("the model produced no predictions (the scoring process wrote no regular file)")
        if info.st_size > settings.max_prediction_bytes + 64 * KiB:
            raise ModelRejected(_too_large(info.st_size, settings))
        data = file.read(settings.max_prediction_bytes + 64 * KiB)
    shape = _npy_shape(data, settings)
    if not shape or shape[0] != rows:
        got = f"{shape[0]} rows" if shape else "a single number"
        raise ModelRejected(f"the model returned {got} of predictions for {rows} inputs: it must return one "
                            "prediction per input")
    predictions = np.load(io.BytesIO(data), allow_pickle=False)
    if not np.all(np.isfinite(predictions)):
        raise ModelRejected("the model's predictions contain NaN or infinity (did training diverge?)")
    return predictions.astype(np.float64)


def _too_large(size: int, settings: ModelScoring) -> str:
    return (f"the model's predictions take {size / MiB:.0f} MiB, more than the {settings.max_prediction_bytes / MiB:g}"
            " MiB the grader reads: predict fewer values per example")


def _npy_shape(data: bytes, settings: ModelScoring) -> tuple[int, ...]:
    """The shape in a .npy header, once the header says plain numbers of a bounded size that the file holds.

    Checked before ``np.load``, which would allocate whatever shape the header declares before reading the data.
    """
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
    except (ValueError, SyntaxError, TypeError, EOFError) as error:
        raise ModelRejected(f"the model's predictions could not be read as numbers ({str(error)[:100]})") from None
    if dtype.kind not in "biuf" or dtype.fields is not None:
        raise ModelRejected(f"the model's predictions have dtype {dtype}, not numbers")
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if expected > settings.max_prediction_bytes:
        raise ModelRejected(_too_large(expected, settings))
    if expected != len(data) - stream.tell():
        raise ModelRejected("the model's predictions file does not hold the array its header declares")
    return tuple(shape)


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
    if sandbox == "bwrap" and (problem := _bwrap_problem(Sandbox(parent=settings).bwrap)):
        raise RuntimeError(f"model scoring cannot be sandboxed: {problem}; or grade with --sandbox none")
    with tempfile.TemporaryDirectory(prefix="lstm-course-model-") as name:
        scratch = Path(name)
        (scratch / "in").mkdir()
        (scratch / "out").mkdir()
        _read_archive(Path(path), settings, copy_to=scratch / "in" / "model.keras")
        np.save(scratch / "in" / "x.npy", x, allow_pickle=False)
        status, seconds, stderr = _run_isolated(PREDICT_SCRIPT, scratch, settings, sandbox)
        if status != 0:
            raise ModelRejected(_explain_failure(status, seconds, stderr, scratch / "out", settings))
        return _read_predictions(scratch / "out" / "predictions.npy", len(x), settings)


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
