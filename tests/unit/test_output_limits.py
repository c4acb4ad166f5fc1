"""Bounded outputs while a notebook runs (course_lib.grading.output_limits.BoundedOutputs).

The first tests feed output messages to the mixin directly (no kernel); the ``notebook`` ones run nbgrader's
``Execute`` with the mixin on a local ``python3`` kernel.
"""
from __future__ import annotations

import json
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.preprocessors import Execute
from traitlets.config import Config

from course_lib.grading.output_limits import BoundedOutputs, content_bytes
from course_lib.grading.probe import REPORT_MIME
from course_lib.grading.submissions import MiB

NOTE = "[output truncated:"


class BoundedClient(BoundedOutputs, NotebookClient):
    """nbclient itself with the mixin (what the message-level tests drive)."""


class BoundedExecute(BoundedOutputs, Execute):
    """nbgrader's Execute with the mixin (what the grader runs)."""


def _message(kind: str, **content) -> dict:
    return {"msg_type": kind, "header": {"msg_type": kind}, "parent_header": {"msg_id": "run"}, "content": content}


def _stream(text: str) -> dict:
    return _message("stream", name="stdout", text=text)


def _display(data: dict, display_id: str | None = None) -> dict:
    return _message("display_data", data=data, metadata={}, transient={"display_id": display_id} if display_id else {})


def _client(cells: int = 1, per_cell: int = 1000, total: int = 10_000) -> BoundedClient:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass") for _ in range(cells)])
    client = BoundedClient(notebook, max_output_bytes_per_cell=per_cell, max_output_bytes=total)
    client.clear_before_next_output = False  # what nbclient sets before running each cell
    return client


def _feed(client: BoundedClient, cell_index: int, *messages: dict) -> list:
    cell = client.nb.cells[cell_index]
    for msg in messages:
        client.process_message(msg, cell, cell_index)
    return cell.outputs


def _notes(outputs: list) -> list[str]:
    return [o.text for o in outputs if o.output_type == "stream" and o.text.startswith(NOTE)]


def _kept_bytes(outputs: list) -> int:
    return sum(content_bytes(o.get("text", "")) + content_bytes(o.get("data", {})) for o in outputs
               if not (o.output_type == "stream" and o.text.startswith(NOTE)))


def test_content_bytes_counts_utf8_and_nesting():
    assert content_bytes("abc") == 3 and content_bytes("é") == 2
    deep: list = []
    node = deep
    for _ in range(5000):  # deeper than the recursion limit
        node.append([])
        node = node[0]
    expected = len("data") + len("text/plain") + len("xy") + len("deep")
    assert content_bytes({"data": {"text/plain": "xy"}, "deep": deep}) == expected


def test_cell_budget_keeps_a_prefix_and_one_note():
    client = _client(per_cell=1000)
    outputs = _feed(client, 0, *[_stream("a" * 300) for _ in range(10)])
    assert _kept_bytes(outputs) <= 1000 and len(_notes(outputs)) == 1
    assert re.search(r"\[output truncated: 2\.\d kB not kept, over the limit of 1\.0 kB per cell\]", _notes(outputs)[0])
    assert outputs[-1].text.startswith(NOTE), "the note follows what was kept"


def test_reports_and_errors_survive_a_spent_budget():
    client = _client(per_cell=1000)
    report = {REPORT_MIME: {"protocol": 1, "results": "r" * 5000}, "text/plain": "report"}
    outputs = _feed(client, 0, _stream("a" * 5000), _display(report),
                    _message("error", ename="ValueError", evalue="v" * 100_000, traceback=["line"] * 500))
    reports = [o for o in outputs if REPORT_MIME in o.get("data", {})]
    assert len(reports) == 1 and reports[0].data == report, "the first report of a cell is kept whole"
    error = next(o for o in outputs if o.output_type == "error")
    assert error.ename == "ValueError" and len(error.evalue) <= 1000 and len(error.traceback) <= 21


def test_a_further_report_is_kept_as_a_stub_once_the_budget_is_spent():
    client = _client(per_cell=1000)
    fake = {REPORT_MIME: {"protocol": 1}, "text/plain": "fake"}
    real = {REPORT_MIME: {"protocol": 1, "results": "r" * 5000}, "text/plain": "real"}
    outputs = _feed(client, 0, _display(fake), _stream("a" * 5000), _display(real))
    reports = [o.data for o in outputs if REPORT_MIME in o.get("data", {})]
    assert len(reports) == 2, "the grader must still see that the cell displayed two reports"
    assert reports[0] == fake and reports[1][REPORT_MIME] == {"dropped_bytes": content_bytes({
        "data": real, "metadata": {}, "transient": {}})}


def test_notebook_budget_spans_cells():
    client = _client(cells=5, per_cell=1000, total=2500)
    for index in range(5):
        _feed(client, index, _stream("b" * 900))
    kept = sum(_kept_bytes(c.outputs) for c in client.nb.cells)
    assert kept <= 2500
    assert [len(_notes(c.outputs)) for c in client.nb.cells] == [0, 0, 1, 1, 1]
    assert "over the notebook's limit of 2.5 kB" in _notes(client.nb.cells[4].outputs)[0]


def test_cleared_output_frees_its_budget():
    client = _client(per_cell=1000)
    outputs = _feed(client, 0, _stream("c" * 900), _message("clear_output", wait=False), _stream("d" * 900))
    assert [o.text for o in outputs] == ["d" * 900] and _notes(outputs) == []


def test_display_updates_cannot_multiply_one_output():
    client = _client(per_cell=10_000, total=10_000)
    _feed(client, 0, *[_display({"text/plain": "."}, display_id="same") for _ in range(50)])
    big = _message("update_display_data", data={"text/plain": "u" * 1000}, metadata={},
                   transient={"display_id": "same"})
    outputs = _feed(client, 0, big)  # would rewrite all 50 outputs: 50 kB
    assert all(o.data["text/plain"] == "." for o in outputs if o.output_type == "display_data")
    assert len(_notes(outputs)) == 1


def test_widget_messages_count_against_the_notebook_budget():
    client = _client(per_cell=1000, total=5000)
    for i in range(20):  # widget state is kept in the notebook's metadata, outside any cell
        _feed(client, 0, _message("comm_msg", comm_id=f"w{i}", data={"state": {"value": "w" * 1000}}))
    assert 0 < content_bytes(client.widget_state) <= 5000
    assert len(_notes(client.nb.cells[0].outputs)) == 1


def test_limits_default_to_submission_limits_and_can_be_overridden():
    config = Config()
    config.SubmissionLimits.max_output_bytes = 5 * MiB
    client = BoundedClient(nbformat.v4.new_notebook(), config=config)
    assert (client.max_output_bytes_per_cell, client.max_output_bytes) == (MiB, 5 * MiB)
    config.BoundedOutputs.max_output_bytes = 7 * MiB
    assert BoundedExecute(config=config).max_output_bytes == 7 * MiB


# --------------------------------------------------------------------------- with a real kernel
def _run(tmp_path, *sources: str, **limits) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executed, _ = BoundedExecute(timeout=120, **limits).preprocess(notebook, {"metadata": {"path": str(tmp_path)}})
    return executed


FLOOD = "import sys\nline = 'x' * 999 + '\\n'\nfor _ in range({n}):\n    sys.stdout.write(line)\n"
REPORT = ("from IPython.display import display\n"
          f"display({{{REPORT_MIME!r}: {{'protocol': 1, 'exercise': 'e'}}, 'text/plain': 'report'}}, raw=True)\n")


@pytest.mark.notebook
def test_a_50_mb_flood_is_cut_and_the_report_after_it_kept(tmp_path):
    executed = _run(tmp_path, FLOOD.format(n=50_000) + REPORT)
    outputs = executed.cells[0].outputs
    assert len(json.dumps(outputs)) < MiB + 10_000, "the cell keeps about its 1 MiB budget of the 50 MB it printed"
    notes = _notes(outputs)
    assert len(notes) == 1 and " MB not kept, over the limit of 1 MiB per cell" in notes[0]
    reports = [o for o in outputs if REPORT_MIME in o.get("data", {})]
    assert len(reports) == 1 and reports[0].data[REPORT_MIME] == {"protocol": 1, "exercise": "e"}
    assert outputs[0].text.startswith("x" * 999 + "\n"), "the student still sees the start of the output"


@pytest.mark.notebook
def test_many_printing_cells_share_the_notebook_budget(tmp_path):
    executed = _run(tmp_path, *[FLOOD.format(n=800) for _ in range(16)])  # 16 x 0.8 MB = 12.8 MB
    kept = sum(_kept_bytes(c.outputs) for c in executed.cells)
    assert kept <= 10 * MiB
    assert len(json.dumps([c.outputs for c in executed.cells])) < 10 * MiB + 50_000
    noted = [i for i, c in enumerate(executed.cells) if _notes(c.outputs)]
    assert noted and noted == list(range(noted[0], 16)), "once the notebook's budget is spent, every later cell says so"
    assert "over the notebook's limit of 10 MiB" in _notes(executed.cells[-1].outputs)[0]
    assert all(not _notes(c.outputs) and _kept_bytes(c.outputs) == 800_000 for c in executed.cells[:noted[0]])


DEEP = ("import sys\nsys.setrecursionlimit(100_000)  # the kernel can encode what the grader cannot decode\n"
        "from IPython.display import display\n"
        "deep = 0\n"
        "for _ in range(600):\n"
        "    deep = {'__dict__': {'a': deep}}\n"
        f"display({{{REPORT_MIME!r}: deep, 'text/plain': 'deep'}}, raw=True)\n"
        "print('still running')\n")


@pytest.mark.notebook
def test_a_message_nested_too_deeply_to_parse_is_an_inert_output_and_the_run_goes_on(tmp_path):
    """JSON 1200 levels deep makes json.loads raise RecursionError inside jupyter_client; the graded run must not
    end as "the kernel stopped responding": that output becomes an inert note, and the next cell runs."""
    from course_lib.grading.output_limits import UNREADABLE
    from course_lib.grading.sandbox import SandboxedExecute

    config = Config()
    config.Sandbox.mode = "none"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(DEEP), nbformat.v4.new_code_cell("1 + 1")])
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    resources = {"metadata": {"path": str(tmp_path)}}
    executed, resources = SandboxedExecute(config=config, timeout=60).preprocess(notebook, resources)
    assert not resources["lstm_course"]["problems"], resources["lstm_course"]["problems"]
    texts = json.dumps(executed.cells[0].outputs)
    assert UNREADABLE in texts and "still running" in texts and REPORT_MIME not in texts
    assert executed.cells[1].outputs[0].data["text/plain"] == "2"
