"""Hostile .keras archives: each is refused as data, with a reason naming what was refused, before Keras sees it.

Every archive here is made by hand (no Keras import): one per published way past Keras' safe mode, plus the
resource attacks. Each refusal is checked three ways: the reason names the thing refused, the payload's marker file
never appears, and no file outside the scoring sandbox changes (the test's directory tree and the temporary
directory are the same before and after, so nothing is left behind either).
"""
from __future__ import annotations

import base64
import copy
import json
import marshal
import os
import stat
import struct
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from course_lib.grading.models import (ModelRejected, ModelScoring, check_model_config, predict_untrusted,
                                       validate_keras_archive)
from course_lib.grading.sandbox import bwrap_available

HDF5 = b"\x89HDF\r\n\x1a\n"
MODE = "bwrap" if bwrap_available() is None else "none"
X = np.zeros((3, 4), dtype="float32")


# ------------------------------------------------------------------------------------- archives, made by hand

def _policy() -> dict:
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def _input(*shape: int | None, dtype: str = "float32") -> dict:
    return {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
            "config": {"batch_shape": [None, *shape], "dtype": dtype, "sparse": False, "ragged": False,
                       "name": "input_layer", "optional": False}}


def _layer(class_name: str, input_shape: list | None = None, **config) -> dict:
    entry = {"module": "keras.layers", "class_name": class_name, "registered_name": None,
             "config": {"name": class_name.lower(), "trainable": True, "dtype": _policy(), **config}}
    if input_shape is not None:
        entry["build_config"] = {"input_shape": input_shape}
    return entry


def _dense(units: int = 1, inputs: int = 4, **config) -> dict:
    config = {"units": units, "activation": "sigmoid", "use_bias": True, "kernel_initializer": {
        "module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None},
        "registered_name": None}, "bias_initializer": "zeros", **config}
    return _layer("Dense", [None, inputs], **config)


def _sequential(*layers: dict) -> dict:
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential", "trainable": True, "dtype": _policy(), "layers": list(layers)},
            "build_config": {"input_shape": [None, 4]}, "compile_config": None}


def _write(path: Path, config: dict | str | bytes, extra: dict[str, bytes] | None = None) -> Path:
    """A zip laid out as Keras writes it, with ``config`` (a dict, or raw text) and ``extra`` members."""
    text = config if isinstance(config, (str, bytes)) else json.dumps(config)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "today"}))
        archive.writestr("config.json", text)
        archive.writestr("model.weights.h5", HDF5 + bytes(100))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def _lambda_code(marker: Path) -> dict:
    """A Lambda's function as Keras serialises a Python lambda: marshalled bytecode that writes ``marker``."""
    code = compile(f"lambda x: (open({str(marker)!r}, 'w').write('pwned'), x)[1]", "<payload>", "eval")
    return {"class_name": "__lambda__", "config": {
        "code": base64.b64encode(marshal.dumps(code.co_consts[0])).decode(), "defaults": None, "closure": None}}


# ----------------------------------------------------------------------------------- refused, and nothing left

@pytest.fixture
def private_temp(tmp_path, monkeypatch):
    """The temporary directory the grader uses during the test (so that its contents can be compared)."""
    directory = tmp_path / "system-temp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def _tree(root: Path) -> list[tuple[str, int, int]]:
    """Every entry under ``root`` with its size and, for files, modification time (a directory's changes when the
    grader's scratch directory comes and goes: its entries are compared instead)."""
    return sorted((str(p.relative_to(root)), p.lstat().st_size, 0 if p.is_dir() else p.lstat().st_mtime_ns)
                  for p in root.rglob("*"))


def _ours_in_real_temp() -> set[str]:
    return {name for name in os.listdir("/tmp") if name.startswith("lstm-course-model-")}


def assert_refused(path: Path, tmp_path: Path, *words: str, settings: ModelScoring | None = None) -> str:
    """Scoring ``path`` is refused with a one-line reason containing ``words``; nothing runs, nothing is left."""
    before, real_before = _tree(tmp_path), _ours_in_real_temp()
    with pytest.raises(ModelRejected) as refused:
        predict_untrusted(path, X, settings, sandbox=MODE)
    reason = str(refused.value)
    assert "\n" not in reason and len(reason) < 600, reason
    for word in words:
        assert word.lower() in reason.lower(), f"{word!r} not in: {reason}"
    assert not (tmp_path / "pwned").exists(), "the payload ran"
    assert _tree(tmp_path) == before, "a file outside the scoring sandbox changed or was left behind"
    assert _ours_in_real_temp() <= real_before
    return reason


def test_a_handmade_archive_like_keras_writes_passes(tmp_path, private_temp):
    summary = validate_keras_archive(_write(tmp_path / "model.keras", _sequential(_input(4), _dense())))
    assert summary["model"] == "Sequential" and summary["layers"] == ["Sequential", "InputLayer", "Dense"]
    assert summary["parameters"] == 5
    assert summary["members"] == ["config.json", "metadata.json", "model.weights.h5"]


@pytest.mark.parametrize("module, name", [("os", "system"), ("builtins", "exec"), ("subprocess", "Popen"),
                                          ("keras.saving", "save_model"), ("keras.utils", "get_file")])
def test_a_gadget_class_from_any_module_is_refused(tmp_path, private_temp, module, name):
    """CVE-2025-1550 and its successors: config.json names a module and a callable that Keras would import."""
    marker = tmp_path / "pwned"
    gadget = {"module": module, "class_name": name, "registered_name": None,
              "config": {"command": f"touch {marker}", "filepath": str(marker), "fname": str(marker),
                         "origin": f"file://{marker}"}}
    path = _write(tmp_path / "model.keras", _sequential(_input(4), gadget, _dense()))
    assert_refused(path, tmp_path, name, module, "built-in Keras layers")


@pytest.mark.parametrize("where", ["kernel_initializer", "kernel_regularizer", "dtype", "activation"])
def test_a_gadget_hidden_inside_a_layer_is_refused(tmp_path, private_temp, where):
    gadget = {"module": "builtins", "class_name": "exec", "config": {"source": "open('pwned', 'w')"},
              "registered_name": None}
    path = _write(tmp_path / "model.keras", _sequential(_input(4), _dense(**{where: gadget})))
    assert_refused(path, tmp_path, "exec" if where != "activation" else "activation")


def test_switching_safe_mode_off_before_a_lambda_is_refused(tmp_path, private_temp):
    """CVE-2025-8747 / CVE-2025-9906: a layer entry calls keras.config.enable_unsafe_deserialization, then a Lambda."""
    switch = {"module": "keras.config", "class_name": "enable_unsafe_deserialization", "config": {},
              "registered_name": None}
    lambda_layer = _layer("Lambda", [None, 4], function=_lambda_code(tmp_path / "pwned"), arguments={})
    path = _write(tmp_path / "model.keras", _sequential(_input(4), switch, lambda_layer))
    assert_refused(path, tmp_path, "enable_unsafe_deserialization", "keras.config")


def test_a_lambda_layer_is_refused(tmp_path, private_temp):
    lambda_layer = _layer("Lambda", [None, 4], function=_lambda_code(tmp_path / "pwned"), arguments={})
    path = _write(tmp_path / "model.keras", _sequential(_input(4), lambda_layer))
    assert_refused(path, tmp_path, "Lambda layer", "built-in layers only")


def test_a_lambda_calling_a_public_keras_function_with_a_file_path_is_refused(tmp_path, private_temp):
    """The shown attack: safe mode allows a Lambda whose function is a public Keras one (get_file writes files)."""
    marker = tmp_path / "pwned"
    function = {"module": "keras.utils", "class_name": "get_file", "registered_name": "get_file",
                "config": {"fname": str(marker), "origin": "file:///etc/hostname", "cache_dir": str(tmp_path)}}
    lambda_layer = _layer("Lambda", [None, 4], function=function, arguments={"fname": str(marker)})
    path = _write(tmp_path / "model.keras", _sequential(_input(4), lambda_layer))
    assert_refused(path, tmp_path, "Lambda")


def test_the_same_function_as_an_activation_is_refused(tmp_path, private_temp):
    function = {"module": "keras.utils", "class_name": "get_file", "registered_name": None,
                "config": {"fname": str(tmp_path / "pwned"), "origin": "file:///etc/hostname"}}
    path = _write(tmp_path / "model.keras", _sequential(_input(4), _dense(activation=function)))
    assert_refused(path, tmp_path, "activation 'keras.utils.get_file'")


@pytest.mark.parametrize("activation", [
    {"module": "builtins", "class_name": "function", "config": "eval", "registered_name": "function"},
    {"module": "keras.activations", "class_name": "function", "config": "serialize", "registered_name": None},
    "my_custom_activation",
])
def test_an_activation_outside_the_named_ones_is_refused(tmp_path, private_temp, activation):
    path = _write(tmp_path / "model.keras", _sequential(_input(4), _dense(activation=activation)))
    assert_refused(path, tmp_path, "activation")


def test_a_legacy_hdf5_file_renamed_keras_is_refused(tmp_path, private_temp):
    """CVE-2025-9905: a legacy HDF5 model, where Keras ignores safe_mode, renamed to .keras."""
    path = tmp_path / "model.keras"
    path.write_bytes(HDF5 + b"\0" * 1000 + json.dumps({"class_name": "Lambda"}).encode())
    assert_refused(path, tmp_path, "legacy HDF5")


def test_a_tfsmlayer_is_refused(tmp_path, private_temp):
    """CVE-2026-1462: TFSMLayer loads (and runs) a TensorFlow SavedModel from a path of its config."""
    layer = _layer("TFSMLayer", [None, 4], filepath=str(tmp_path), call_endpoint="serve")
    path = _write(tmp_path / "model.keras", _sequential(_input(4), layer))
    assert_refused(path, tmp_path, "TFSMLayer")


def test_a_custom_registered_name_is_refused(tmp_path, private_temp):
    dense = _dense()
    dense["registered_name"] = "my_package>Dense"
    path = _write(tmp_path / "model.keras", _sequential(_input(4), dense))
    assert_refused(path, tmp_path, "Dense is registered under another name", "my_package>Dense")


def test_a_code_object_anywhere_is_refused(tmp_path, private_temp):
    node = _layer("Reshape", [None, 4], target_shape=[4, 1])
    node["config"]["target_shape"] = _lambda_code(tmp_path / "pwned")
    path = _write(tmp_path / "model.keras", _sequential(_input(4), node))
    assert_refused(path, tmp_path, "Python code")


def test_a_vocabulary_read_from_a_file_path_is_refused(tmp_path, private_temp):
    lookup = _layer("StringLookup", [None, 1], vocabulary="/etc/passwd", max_tokens=None)
    path = _write(tmp_path / "model.keras", _sequential(_input(1, dtype="string"), lookup))
    assert_refused(path, tmp_path, "vocabulary from a file path", "/etc/passwd")


def _bomb(path: Path, names: list[str], size: int) -> Path:
    _write(path, _sequential(_input(4), _dense()))
    with zipfile.ZipFile(path, "a") as archive:
        for name in names:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as sink:
                chunk = bytes(4 * 2**20)
                for _ in range(size // len(chunk)):
                    sink.write(chunk)
    return path


VOCABULARIES = [f"assets/layers/lookup_{i}/vocabulary.txt" for i in range(4)]


def test_a_zip_bomb_in_assets_is_refused_from_its_headers(tmp_path, private_temp):
    """4 × 48 MiB of zeros in assets/ (a few hundred KiB on disk): refused before anything is extracted."""
    path = _bomb(tmp_path / "model.keras", VOCABULARIES, 48 * 2**20)
    assert path.stat().st_size < 2**20
    assert_refused(path, tmp_path, "assets/", "MiB")


def test_a_zip_bomb_that_declares_small_sizes_is_stopped_while_reading(tmp_path, private_temp):
    """The same zeros, with headers that lie: reading stops at the declared size and the archive is refused."""
    path = _bomb(tmp_path / "model.keras", VOCABULARIES[:1], 48 * 2**20)
    _declare_size(path, VOCABULARIES[0], 1000)
    assert zipfile.ZipFile(path).getinfo(VOCABULARIES[0]).file_size == 1000
    assert_refused(path, tmp_path, VOCABULARIES[0], "lies about its size")


def test_a_member_expanding_beyond_its_bound_is_stopped_while_reading(tmp_path, private_temp):
    path = _bomb(tmp_path / "model.keras", VOCABULARIES[:1], 8 * 2**20)
    _declare_size(path, VOCABULARIES[0], 1000)
    # a declared size just under the bound: reading stops after 1000 bytes, so the CRC cannot match
    assert_refused(path, tmp_path, "lies about its size", settings=ModelScoring(max_asset_bytes=4000))


def _declare_size(path: Path, name: str, size: int) -> None:
    """Rewrite the uncompressed size of ``name`` in both its local header and the central directory."""
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo(name)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    position = data.find(b"PK\x01\x02")
    while position >= 0:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46:position + 46 + name_length] == name.encode():
            struct.pack_into("<I", data, position + 24, size)
        position = data.find(b"PK\x01\x02", position + 4)
    path.write_bytes(bytes(data))


def test_an_asset_keras_never_writes_is_refused(tmp_path, private_temp):
    path = _write(tmp_path / "model.keras", _sequential(_input(4), _dense()), {"assets/payload.bin": b"\0" * 10})
    assert_refused(path, tmp_path, "assets/payload.bin", "not a file Keras writes")


def test_a_symlink_member_is_refused(tmp_path, private_temp):
    path = _write(tmp_path / "model.keras", _sequential(_input(4), _dense()))
    with zipfile.ZipFile(path, "a") as archive:
        link = zipfile.ZipInfo("assets/layers/lookup/vocabulary.txt")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    assert_refused(path, tmp_path, "symbolic link", "vocabulary.txt")


@pytest.mark.parametrize("name", ["/etc/cron.d/x", "../config.json", "assets/../../x", "assets//vocabulary.txt"])
def test_absolute_or_climbing_member_names_are_refused(tmp_path, private_temp, name):
    path = _write(tmp_path / "model.keras", _sequential(_input(4), _dense()))
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(zipfile.ZipInfo(name), b"x")
    assert_refused(path, tmp_path, "a path Keras never writes")


def test_a_duplicate_member_is_refused(tmp_path, private_temp):
    path = _write(tmp_path / "model.keras", _sequential(_input(4), _dense()))
    with warnings.catch_warnings(), zipfile.ZipFile(path, "a") as archive:
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate we mean to write
        archive.writestr("config.json", json.dumps(_sequential(_input(4), _layer("Lambda"))))
    assert_refused(path, tmp_path, "'config.json' twice")


def test_too_many_members_are_refused(tmp_path, private_temp):
    names = {f"assets/layers/lookup_{i}/vocabulary.txt": b"a" for i in range(70)}
    path = _write(tmp_path / "model.keras", _sequential(_input(4), _dense()), names)
    assert_refused(path, tmp_path, "73 files")


def test_a_central_directory_larger_than_its_count_says_is_refused(tmp_path, private_temp):
    """zipfile parses the whole directory whatever the count says: a million entries counted as 3 are refused."""
    path = _write(tmp_path / "model.keras", _sequential(_input(4), _dense()))
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, end + 12, 50 * 2**20)  # declared directory size
    path.write_bytes(bytes(data))
    assert_refused(path, tmp_path, "directory of 52,428,800 bytes")


def test_ten_billion_declared_weights_are_refused_before_anything_is_built(tmp_path, private_temp):
    embedding = _layer("Embedding", [None, 10], input_dim=10**6, output_dim=10**4)
    path = _write(tmp_path / "model.keras", _sequential(_input(10, dtype="int32"), embedding))
    assert_refused(path, tmp_path, "10,000,000,000 weights", "Embedding")


def test_an_oversized_recurrent_layer_is_refused(tmp_path, private_temp):
    lstm = _layer("LSTM", [None, 10, 4000], units=4000)
    with pytest.raises(ModelRejected, match="LSTM 'lstm' alone has 128,016,000"):
        check_model_config(_sequential(_input(10, 4000), lstm))
    path = _write(tmp_path / "model.keras", _sequential(_input(10, 4000), lstm))
    assert_refused(path, tmp_path, "weights")


def test_a_weight_layer_without_a_recorded_input_size_is_refused(tmp_path, private_temp):
    dense = _dense()
    del dense["build_config"]
    path = _write(tmp_path / "model.keras", _sequential(_input(4), dense))
    assert_refused(path, tmp_path, "no recorded input size")


@pytest.mark.parametrize("depth", [100, 10_000])
def test_deeply_nested_json_is_refused_with_a_reason(tmp_path, private_temp, depth):
    path = _write(tmp_path / "model.keras", "[" * depth + "]" * depth)
    assert_refused(path, tmp_path, "config.json", "nest")


def test_invalid_json_is_refused(tmp_path, private_temp):
    path = _write(tmp_path / "model.keras", '{"class_name": "Sequential", "class_name": "Lambda"}')
    assert_refused(path, tmp_path, "config.json", "not valid JSON")


def test_a_model_file_that_is_a_symlink_is_refused(tmp_path, private_temp):
    target = _write(tmp_path / "real.keras", _sequential(_input(4), _dense()))
    (tmp_path / "model.keras").symlink_to(target)
    assert_refused(tmp_path / "model.keras", tmp_path, "symbolic link")


def test_a_directory_such_as_a_savedmodel_is_refused(tmp_path, private_temp):
    (tmp_path / "model.keras").mkdir()
    (tmp_path / "model.keras" / "saved_model.pb").write_bytes(b"\0")
    assert_refused(tmp_path / "model.keras", tmp_path, "directory")


def test_an_oversize_file_is_refused_without_reading_it(tmp_path, private_temp):
    path = tmp_path / "model.keras"
    with open(path, "wb") as file:
        file.write(b"PK\x03\x04")
        file.truncate(200 * 2**20 + 1)  # sparse: nothing is written
    assert_refused(path, tmp_path, "209,715,201 bytes", "200 MiB")


def test_something_else_than_a_zip_is_refused(tmp_path, private_temp):
    path = tmp_path / "model.keras"
    path.write_text("print('hello')")
    assert_refused(path, tmp_path, "not a .keras archive")


def test_a_missing_model_is_refused(tmp_path, private_temp):
    assert_refused(tmp_path / "model.keras", tmp_path, "no saved model")


def test_compile_config_is_dropped_not_judged(tmp_path, private_temp):
    """Scoring never compiles: a custom loss is no reason to refuse, and the copy Keras sees has none."""
    config = _sequential(_input(4), _dense())
    config["compile_config"] = {"loss": {"module": "builtins", "class_name": "function", "config": "my_loss"}}
    summary = validate_keras_archive(_write(tmp_path / "model.keras", config))
    assert "compile_config" not in json.dumps(summary["config"])


def _mutations(node, rng):
    """Every way of replacing one value of ``node`` by a value of another JSON type (a sample, seeded)."""
    paths, stack = [], [((), node)]
    while stack:
        path, item = stack.pop()
        children = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        for key, child in children:
            paths.append(path + (key,))
            stack.append((path + (key,), child))
    for index in rng.choice(len(paths), size=300):
        for replacement in (None, [], {}, "x", -1, 10**30, [None], {"class_name": 1}):
            yield paths[index], replacement


def test_a_config_of_any_other_shape_is_refused_with_a_reason_never_an_error():
    """Replacing any value by another JSON type gives a verdict (accepted or ModelRejected), never a crash."""
    bidirectional = _layer("Bidirectional", [None, 3, 4], layer=_layer("LSTM", [None, 3, 4], units=2))
    rnn = _layer("RNN", [None, 3, 4], cell=_layer("GRUCell", [None, 4], units=2))
    base = _sequential(_input(4), bidirectional, _dense(units=3, inputs=4), rnn)
    for path, replacement in _mutations(base, np.random.default_rng(0)):
        config = copy.deepcopy(base)
        target = config
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = replacement
        try:
            check_model_config(config)
        except ModelRejected as refused:
            assert "\n" not in str(refused)
