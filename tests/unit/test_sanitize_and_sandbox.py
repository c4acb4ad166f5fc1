"""Sanitising submissions against the release notebook, and the sandbox's command line (no kernel started)."""
from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import nbformat
import pytest

from course_lib.grading.sandbox import Sandbox, bwrap_available, bwrap_command
from course_lib.grading.sanitize import sanitize
from course_lib.grading.submissions import RejectedSubmission, read_notebook

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "release" / "01_lstm_gates" / "lstm_gates.ipynb"


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


def test_sandbox_command_hides_solutions_and_course(tmp_path):
    work, ipc = tmp_path / "work", tmp_path / "ipc"
    command = bwrap_command(Sandbox(memory_bytes=2**31, wall_seconds=42), ["python", "-m", "ipykernel_launcher"],
                            str(work), str(ipc))
    text = " ".join(command)
    package = ROOT / "course_lib"
    assert f"--tmpfs {package / 'solutions'}" in text
    assert f"--bind {work} {work}" in text and f"--bind {ipc} {ipc}" in text
    assert f"--bind {ROOT} " not in text and str(ROOT / "source") not in text and "gradebook" not in text
    assert "--unshare-all" in command and "--die-with-parent" in command and "--clearenv" in command
    assert "--as=2147483648" in command and command[command.index("timeout") + 2] == "42"
    # the solutions are hidden after the package is bound (a later mount hides an earlier one)
    assert text.index(f"--ro-bind {package} {package}") < text.index(f"--tmpfs {package / 'solutions'}")


@pytest.mark.skipif(bwrap_available() is not None, reason="bubblewrap is not usable here")
def test_sandbox_really_isolates(tmp_path):
    work, ipc = tmp_path / "work", tmp_path / "ipc"
    work.mkdir(), ipc.mkdir()
    probe = ("import os, socket\n"
             "print(os.getpid())\n"
             f"print(os.path.exists({str(ROOT / 'source')!r}), os.path.exists({str(ROOT / 'gradebook.db')!r}))\n"
             "try:\n    import course_lib.solutions.lstm_numpy\n    print('solutions visible')\n"
             "except ImportError:\n    print('solutions hidden')\n"
             "import course_lib.grading.probe\nprint('probe importable')\n"
             "s = socket.socket()\ntry:\n    s.connect(('127.0.0.1', 22))\n    print('network')\n"
             "except OSError:\n    print('no network')\n"
             "print(os.environ.get('NBGRADER_EXECUTION'))\n")
    import sys
    command = bwrap_command(Sandbox(), [sys.executable, "-c", probe], str(work), str(ipc))
    done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                          env={"NBGRADER_EXECUTION": "autograde", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert int(lines[0]) < 10, "the kernel sees a PID namespace of its own"
    assert lines[1:6] == ["False False", "solutions hidden", "probe importable", "no network",
                                           "None"], done.stdout


def test_grading_refuses_to_run_unprotected_unless_asked(monkeypatch):
    from course_lib.grading import autograde
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
