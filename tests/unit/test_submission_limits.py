"""The source limits of a submission (course_lib.grading.submissions.SubmissionLimits): each cap rejects with its
one-line reason, the course's own notebooks pass, and the submissions that once cost minutes are rejected at once."""
from __future__ import annotations

import copy
import json
import re
import time
import tracemalloc
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from course_lib.grading.sanitize import sanitize
from course_lib.grading.submissions import MiB, RejectedSubmission, SubmissionLimits, read_notebook

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "release" / "01_lstm_gates" / "lstm_gates.ipynb"
REFERENCE = ROOT / "source" / "01_lstm_gates" / "lstm_gates.ipynb"


@pytest.fixture()
def release() -> nbformat.NotebookNode:
    return nbformat.read(RELEASE, as_version=4)


def _solution_index(notebook: nbformat.NotebookNode) -> int:
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("solution"))


def _write(notebook: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(notebook, path)
    return path


def _rejected(path: Path, limits: SubmissionLimits | None = None, release=None) -> str:
    """The one-line reason ``path`` is rejected with, by reading or by sanitising."""
    with pytest.raises(RejectedSubmission) as error:
        notebook = read_notebook(path, limits)
        sanitize(notebook, release, limits)
    reason = str(error.value)
    assert "\n" not in reason
    return reason


@pytest.mark.parametrize("path", [RELEASE, REFERENCE], ids=["release", "reference"])
def test_course_notebooks_pass(path, release):
    notebook = read_notebook(path)
    clean, _ = sanitize(notebook, release)
    assert len(clean.cells) == len(release.cells)


def test_positional_signatures_still_work(release, tmp_path):
    notebook = read_notebook(_write(release, tmp_path / "lstm_gates.ipynb"))
    clean, notes = sanitize(notebook, release)
    assert notes == []


def test_cell_over_its_cap_is_named(release, tmp_path):
    submitted = copy.deepcopy(release)
    index = _solution_index(submitted)
    submitted.cells[index].source += "\n" + "x = 1\n" * 50_000  # 300 kB of code
    reason = _rejected(_write(submitted, tmp_path / "lstm_gates.ipynb"), release=release)
    assert reason.startswith(f"cell {index + 1} has 300 kB of code (limit 200 KiB per cell)")
    assert "resubmit" in reason


def test_markdown_cell_over_its_cap_says_text(release, tmp_path):
    submitted = copy.deepcopy(release)
    submitted.cells.append(nbformat.v4.new_markdown_cell("lorem ipsum " * 30_000))
    reason = _rejected(_write(submitted, tmp_path / "lstm_gates.ipynb"), release=release)
    assert f"cell {len(submitted.cells)} has 360 kB of text (limit 200 KiB per cell)" in reason


def test_notebook_over_its_total_source_cap(release, tmp_path):
    submitted = copy.deepcopy(release)
    for _ in range(15):  # each under the per-cell cap, 2.3 MB together
        submitted.cells.append(nbformat.v4.new_code_cell("y = 2\n" * 25_000))
    reason = _rejected(_write(submitted, tmp_path / "lstm_gates.ipynb"), release=release)
    assert reason.startswith("the notebook has 2.3 MB of code and text (limit 2 MiB)")


def test_added_cells_cap(release, tmp_path):
    submitted = copy.deepcopy(release)
    submitted.cells += [nbformat.v4.new_code_cell(f"z{i} = {i}") for i in range(200)]
    clean, _ = sanitize(read_notebook(_write(submitted, tmp_path / "ok.ipynb")), release)
    assert len(clean.cells) == len(release.cells) + 200, "exactly at the limit is accepted"
    submitted.cells.append(nbformat.v4.new_markdown_cell("one more"))
    reason = _rejected(_write(submitted, tmp_path / "lstm_gates.ipynb"), release=release)
    assert reason.startswith("the notebook adds 201 cells (limit 200)")


def test_file_size_cap(release, tmp_path):
    path = _write(release, tmp_path / "lstm_gates.ipynb")
    reason = _rejected(path, SubmissionLimits(max_notebook_bytes=10_000), release)
    assert reason.startswith("lstm_gates.ipynb is ") and "(limit 10 kB)" in reason


def test_sanitize_enforces_source_caps_on_its_own(release):
    submitted = copy.deepcopy(release)
    submitted.cells[_solution_index(submitted)].source = "w = 0\n" * 50_000
    with pytest.raises(RejectedSubmission, match=r"cell \d+ has 300 kB of code"):
        sanitize(submitted, release)


def test_limits_come_from_the_configuration(release, tmp_path):
    config = Config()
    config.SubmissionLimits.max_added_cells = 1
    config.SubmissionLimits.max_cell_source_bytes = 100 * 1024
    limits = SubmissionLimits(config=config)
    assert (limits.max_added_cells, limits.max_cell_source_bytes, limits.max_source_bytes) == (1, 100 * 1024, 2 * MiB)
    submitted = copy.deepcopy(release)
    submitted.cells += [nbformat.v4.new_code_cell("a = 1"), nbformat.v4.new_code_cell("b = 2")]
    assert _rejected(_write(submitted, tmp_path / "lstm_gates.ipynb"), limits, release).startswith(
        "the notebook adds 2 cells (limit 1)")


def _huge_one_cell_notebook(release: nbformat.NotebookNode, path: Path) -> Path:
    """19.8 MiB on disk, just under the file cap, nearly all of it one code cell (as JupyterLab saves it)."""
    data = json.loads(nbformat.writes(release))
    line = "data = [" + ", ".join(["0.123456"] * 8) + "]\n"
    cell = data["cells"][_solution_index(release)]
    cell["source"] = [line] * 1000
    per_line = (len(json.dumps(data, indent=1)) - len(nbformat.writes(release))) / 1000
    cell["source"] = [line] * int(19.8 * MiB / per_line)
    path.write_text(json.dumps(data, indent=1))
    return path


def _timed(path: Path, release) -> tuple[str, float]:
    started = time.perf_counter()
    reason = _rejected(path, release=release)
    return reason, time.perf_counter() - started


def _peak_python_bytes(path: Path, release) -> int:
    tracemalloc.start()
    try:
        _rejected(path, release=release)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_huge_cell_is_rejected_before_nbformat(release, tmp_path, record_property):
    path = _huge_one_cell_notebook(release, tmp_path / "lstm_gates.ipynb")
    size = path.stat().st_size
    assert 19.5 * MiB < size < 20 * MiB
    reason, seconds = _timed(path, release)
    peak = _peak_python_bytes(path, release)
    record_property("parse_seconds", round(seconds, 3))
    record_property("peak_python_mib", round(peak / MiB, 1))
    print(f"\n19.8 MiB one-cell submission rejected in {seconds:.2f} s, Python peak {peak / MiB:.0f} MiB")
    assert re.fullmatch(rf"cell {_solution_index(release) + 1} has 1\d\.\d MB of code \(limit 200 KiB per cell\): .*",
                        reason)
    assert peak < 10 * size, "parsing costs a few copies of the file, not the grader's gigabytes"


def test_ten_thousand_cells_are_rejected(release, tmp_path, record_property):
    submitted = copy.deepcopy(release)
    submitted.cells += [nbformat.v4.new_code_cell(f"v{i} = {i}") for i in range(10_000)]
    reason, seconds = _timed(_write(submitted, tmp_path / "lstm_gates.ipynb"), release)
    record_property("parse_seconds", round(seconds, 3))
    print(f"\n10,000-cell submission rejected in {seconds:.2f} s")
    assert reason.startswith("the notebook adds 10000 cells (limit 200)")
