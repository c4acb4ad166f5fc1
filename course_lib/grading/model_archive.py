"""The first stage of model scoring: a student's ``.keras`` archive checked as data, without Keras.

Keras' ``safe_mode`` is no security boundary (archives naming arbitrary modules, layers that switch safe mode off,
legacy HDF5 files that ignore it, ``TFSMLayer``, crafted HDF5 weights, zip bombs), so nothing here imports Keras:

- the file: a regular file (never followed through a link) of bounded size, a zip and not a renamed HDF5 model;
- the zip: exactly the members Keras writes, no links, no encryption, every size bounded from the headers and
  again while reading, at most so many members (counted from the end record before :mod:`zipfile` parses them);
- ``config.json``: JSON of bounded nesting without repeated keys, naming only allowlisted Keras classes and named
  activations (:func:`check_model_config`), declaring a bounded number of weights (the weight budget);
- the copy: :func:`write_checked_copy` writes a fresh archive of exactly what was read (``compile_config`` and all
  but two strings of ``metadata.json`` dropped), which is all the sandbox of :mod:`course_lib.grading.model_sandbox`
  ever loads.

It also holds what every stage shares: the limits (:class:`ModelScoring`, ``c.ModelScoring.*``) and the refusal
(:class:`ModelRejected`, one line in the student's terms). The public API is :mod:`course_lib.grading.models`.
"""
from __future__ import annotations

import json
import os
import re
import stat
import struct
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from traitlets import Integer
from traitlets.config import Configurable

KiB, MiB, GiB = 1024, 1024**2, 1024**3


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
    "TextVectorization", "StringLookup", "RNN", "Rescaling",
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
        "config": the parsed config.json without compile_config, "vocabulary": frozenset of the tokens of its
        lookup layers}``.

    Raises
    ------
    ModelRejected
        The first thing found that the grader does not accept.
    """
    return _read_archive(Path(path), settings or ModelScoring(), copy_to=None)


def write_checked_copy(path: Path, destination: Path, settings: ModelScoring) -> dict:
    """Validate ``path`` as :func:`validate_keras_archive` does, writing at ``destination`` a fresh archive of exactly
    what was validated (the only model the scoring sandbox ever sees); returns the same summary."""
    return _read_archive(Path(path), settings, copy_to=Path(destination))


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
            summary["vocabulary"] = _vocabulary(archive, infos, summary["config"], settings)
    summary["members"] = sorted(infos)
    return summary


def _vocabulary(archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], config: Any,
                settings: ModelScoring) -> frozenset[str]:
    """Every token of the model's lookup layers, read as text: the ``assets/.../vocabulary.txt`` files Keras writes
    for an adapted ``TextVectorization`` or ``StringLookup``, and vocabularies given inline in the config."""
    tokens: set[str] = set()
    for name in sorted(n for n in infos if n.startswith("assets/")):
        text = _read_member(archive, infos[name], settings.max_asset_bytes).decode("utf-8", errors="replace")
        tokens.update(text.split("\n"))
    stack = [config]
    while stack:   # the config is already bounded in depth and size: a plain walk
        node = stack.pop()
        if isinstance(node, dict):
            inline = node.get("vocabulary")
            if isinstance(inline, list):
                tokens.update(str(token) for token in inline if isinstance(token, (str, int, float)))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    tokens.discard("")
    return frozenset(tokens)


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
        descriptor = open_unfollowed(path)
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


def open_unfollowed(path: Path) -> int:
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
