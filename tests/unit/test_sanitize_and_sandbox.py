"""Sanitising submissions against the release notebook, and the sandbox's command line (no kernel started)."""
from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import nbformat
import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading.sandbox import Sandbox, bwrap_available, bwrap_command, kernel_package_dir
from course_lib.grading.sanitize import sanitize
from course_lib.grading.submissions import RejectedSubmission, read_notebook

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "release" / "01_lstm_gates" / "lstm_gates.ipynb"
ASSIGNMENT = get_assignment("01_lstm_gates")


@pytest.fixture()
def release() -> nbformat.NotebookNode:
    return nbformat.read(RELEASE, as_version=4)


def test_sources(release):
    """Sanity of the fixture: the release has test cells to restore and solution cells to keep."""
    kinds = [c.metadata.get("nbgrader", {}) for c in release.cells]
    assert sum(bool(k.get("grade")) and not k.get("solution") for k in kinds) == 9
    assert sum(bool(k.get("solution")) for k in kinds) == 10


def _ids(notebook):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]


def test_solutions_are_kept_and_test_cells_restored(release):
    submitted = copy.deepcopy(release)
    for cell in submitted.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "def_sigmoid":
            cell.source = "def sigmoid(z):\n    return 0.5"
        if meta.get("grade_id") == "sigmoid":
            cell.source = "pass  # the test, emptied"
            cell.metadata["tags"] = ["skip-execution", "raises-exception"]
            cell.metadata["nbgrader"]["schema_version"] = 99
            cell.metadata["nbgrader"]["points"] = 1000
    clean, notes = sanitize(submitted, release)
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in clean.cells if "nbgrader" in c.metadata}
    assert by_id["def_sigmoid"].source == "def sigmoid(z):\n    return 0.5"
    original = next(c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid")
    assert by_id["sigmoid"].source == original.source
    assert by_id["sigmoid"].metadata == {"nbgrader": original.metadata["nbgrader"]}
    assert "restored the instructor's cell 'sigmoid'" in notes
    assert _ids(clean) == _ids(release)


def test_deleted_and_stripped_test_cells_are_reinserted_in_place(release):
    submitted = copy.deepcopy(release)
    submitted.cells = [c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "lstm_forward"]
    for cell in submitted.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "lstm_backward":
            del cell.metadata["nbgrader"]  # a metadata-stripped test cell becomes an ordinary student cell
    clean, notes = sanitize(submitted, release)
    graded = [i for i in _ids(clean) if i]
    assert graded == [i for i in _ids(release) if i], "every instructor cell is back, in release order"
    assert any("lstm_forward" in n for n in notes) and any("lstm_backward" in n for n in notes)


def test_student_cells_are_kept_without_metadata_and_outputs(release):
    submitted = copy.deepcopy(release)
    extra = nbformat.v4.new_code_cell("helper = 1", id="mine")
    extra.metadata["tags"] = ["skip-execution"]
    extra.metadata["nbgrader"] = {"grade": True, "grade_id": "sigmoid", "points": 50, "schema_version": 3}
    extra.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x")]
    submitted.cells.insert(3, extra)
    submitted.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    clean, notes = sanitize(submitted, release)
    kept = [c for c in clean.cells if c.source == "helper = 1"]
    assert len(kept) == 1 and kept[0].metadata == {} and kept[0].outputs == []
    assert clean.metadata["kernelspec"]["name"] == "python3"
    assert any("kernel" in n for n in notes)
    # the claimed grade id did not displace the real test cell
    assert _ids(clean).count("sigmoid") == 1


@pytest.mark.parametrize("content, reason", [
    (b"{not json", "not valid JSON"),
    (bytes(range(256)) * 10, "not a text file"),
    (json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": []}).encode(), "nbformat 4"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": "nope", "metadata": {}}).encode(), "not a valid notebook"),
])
def test_bad_files_are_rejected_with_one_line(tmp_path, content, reason):
    path = tmp_path / "lstm_gates.ipynb"
    path.write_bytes(content)
    with pytest.raises(RejectedSubmission, match=reason) as error:
        read_notebook(path)
    assert "\n" not in str(error.value)


ALLOWED = ASSIGNMENT.kernel_allowlist()
ALLOWED_FILES = {"__init__.py", "grading/__init__.py", "grading/probe.py", "grading/wire.py",
                 "assignments/__init__.py", "assignments/lstm_gates/__init__.py", "assignments/lstm_gates/inputs.py"}


def test_sandbox_command_shows_only_the_allowlist_of_course_lib(tmp_path):
    work, ipc = tmp_path / "work", tmp_path / "ipc"
    command = bwrap_command(Sandbox(memory_bytes=2**31, wall_seconds=42, kernel_modules=list(ALLOWED)),
                            ["python", "-m", "ipykernel_launcher"], str(work), str(ipc))
    text = " ".join(command)
    package = ROOT / "course_lib"
    assert f"--bind {work} {work}" in text and f"--bind {ipc} {ipc}" in text
    assert f"--bind {ROOT} " not in text and str(ROOT / "source") not in text and "gradebook" not in text
    assert "--unshare-all" in command and "--die-with-parent" in command and "--clearenv" in command
    assert "--as=2147483648" in command and command[command.index("timeout") + 2] == "42"
    # the package directory is emptied (a later mount hides an earlier one), then exactly the allowlist is bound
    empty = text.index(f"--tmpfs {package} ")
    bound = [command[i + 1] for i, arg in enumerate(command) if arg == "--ro-bind" and command[i + 1].startswith(
        str(package) + "/")]
    assert {str(Path(b).relative_to(package)) for b in bound} == ALLOWED_FILES
    assert all(text.index(f"--ro-bind {b} {b}") > empty for b in bound)
    with pytest.raises(ValueError, match="not a course_lib module"):
        bwrap_command(Sandbox(kernel_modules=["os"]), ["python"], str(work), str(ipc))


def _course_modules() -> list[str]:
    """Every module of the installed course_lib, named from outside the sandbox."""
    import pkgutil

    import course_lib

    return sorted(m.name for m in pkgutil.walk_packages(course_lib.__path__, "course_lib.") if not m.ispkg) + [
        "course_lib.solutions", "course_lib.data"]


@pytest.mark.skipif(bwrap_available() is not None, reason="bubblewrap is not usable here")
def test_sandbox_really_isolates(tmp_path):
    work, ipc = tmp_path / "work", tmp_path / "ipc"
    work.mkdir(), ipc.mkdir()
    package = kernel_package_dir()
    readable = [ROOT / "README.md", ROOT / "nbgrader_config.py", ROOT / "source" / "01_lstm_gates" / "lstm_gates.ipynb",
                package / "solutions" / "lstm_gates.py", package / "assignments" / "lstm_gates" / "checks.py",
                package / "grading" / "verdicts.py", package / "grading" / "probe.py"]
    probe = ("import importlib, json, os, socket, sys\n"
             "out = {'pid': os.getpid(), 'imports': {}, 'reads': {}}\n"
             f"for name in {_course_modules()!r}:\n"
             "    try:\n        importlib.import_module(name)\n        out['imports'][name] = True\n"
             "    except ImportError:\n        out['imports'][name] = False\n"
             f"for path in {[str(p) for p in readable]!r}:\n"
             "    try:\n        open(path).read(1)\n        out['reads'][path] = True\n"
             "    except OSError:\n        out['reads'][path] = False\n"
             f"out['course_files'] = sorted(os.listdir({str(package)!r}))\n"
             "s = socket.socket()\ntry:\n    s.connect(('127.0.0.1', 22))\n    out['network'] = True\n"
             "except OSError:\n    out['network'] = False\n"
             "out['env'] = os.environ.get('NBGRADER_EXECUTION')\n"
             "out['caps'] = [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0]\n"
             "try:\n    open('/etc/lstm-course-probe', 'w')\n    out['root_writable'] = True\n"
             "except OSError:\n    out['root_writable'] = False\n"
             f"try:\n    open({str(package / 'grading' / 'verdicts.py')!r}, 'w')\n    out['package_writable'] = True\n"
             "except OSError:\n    out['package_writable'] = False\n"
             "print(json.dumps(out))\n")
    import sys
    command = bwrap_command(Sandbox(kernel_modules=list(ALLOWED)), [sys.executable, "-c", probe], str(work), str(ipc))
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={"NBGRADER_EXECUTION": "autograde", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["pid"] < 10, "the kernel sees a PID namespace of its own"
    importable = {name for name, ok in out["imports"].items() if ok}
    assert importable == set(ALLOWED), f"importable course_lib modules: {sorted(importable)}"
    assert out["reads"] == {str(p): p.name == "probe.py" for p in readable}, out["reads"]
    assert set(out["course_files"]) <= {"__init__.py", "grading", "assignments", "__pycache__"}, out["course_files"]
    assert out["network"] is False and out["env"] is None
    assert int(out["caps"], 16) == 0, f"the kernel keeps capabilities {out['caps']}"
    assert not out["root_writable"] and not out["package_writable"]


def test_grading_refuses_to_run_unprotected_unless_asked(monkeypatch):
    from course_lib.grading import class_grading as autograde
    from course_lib.grading.course import CourseError

    monkeypatch.setattr(autograde, "bwrap_available", lambda executable: "bubblewrap needs Linux (this is darwin)")
    with pytest.raises(CourseError, match="--sandbox none"):
        autograde.resolve_sandbox(None)
    said = []
    assert autograde.resolve_sandbox("none", echo=said.append) == "none"
    assert said and said[0].startswith("WARNING") and "source/" in said[0]
    said.clear()
    assert autograde.resolve_sandbox(None, echo=said.append, fallback=True) == "none"  # demo, check
    assert "darwin" in said[0]
