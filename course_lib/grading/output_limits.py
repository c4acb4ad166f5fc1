"""Bounding what a notebook's execution keeps: :class:`BoundedOutputs`, a mixin for nbclient's ``NotebookClient``.

A student's cell can print without end; nbclient keeps every output message in memory, and every later step
(nbgrader's LimitOutput, the graded notebook, the feedback HTML) pays for it again. The mixin counts the bytes of
each output as it arrives (``NotebookClient.output``, also display updates and widget messages) and, once a cell's
budget (``max_output_bytes_per_cell``) or the notebook's (``max_output_bytes``) is spent, keeps no more of them. The
cell then carries one short stderr stream saying that its output was truncated and how much was dropped.

What is always kept:

* the grader's report (display data of MIME type :data:`~course_lib.grading.probe.REPORT_MIME`): the first one of a
  cell whole and outside the budget (the grader bounds it when it reads it); a further report in the same cell
  also counts against the budget and, once that is spent, is kept as a stub, so the grader still sees that the cell
  displayed more than one report;
* error outputs, shortened when over budget: the exception's name, the start of its message and the last lines of
  its traceback.

Use it before the executor in the bases: ``class SandboxedExecute(BoundedOutputs, Execute)``. Its defaults are
those of :class:`~course_lib.grading.submissions.SubmissionLimits` in the same configuration, so
``c.SubmissionLimits.max_output_bytes*`` set both; ``c.BoundedOutputs.*`` overrides them for execution only.
"""
from __future__ import annotations

import json
from typing import Any

import nbformat
from nbformat import NotebookNode
from traitlets import Integer, default
from traitlets.config import Configurable

from course_lib.grading.probe import REPORT_MIME
from course_lib.grading.submissions import SubmissionLimits, format_limit, format_size

ERROR_VALUE_CHARS = 1000       # what is kept of an over-budget exception's message
ERROR_TRACEBACK_LINES = 20     # ... and of its traceback (the last lines: where it was raised)
ERROR_LINE_CHARS = 2000


def content_bytes(value: Any) -> int:
    """UTF-8 size of all the text in a message's content (strings in nested dicts and lists, and dict keys).

    Iterative, so that deeply nested JSON display data cannot exhaust the recursion limit.
    """
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) if item.isascii() else len(item.encode("utf-8", "surrogatepass"))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, (bytes, bytearray, memoryview)):
            total += memoryview(item).nbytes
        else:
            total += 8  # numbers, booleans, None
    return total


def is_report(content: dict) -> bool:
    """Whether an output message's content is the grader's report (display data with :data:`REPORT_MIME`)."""
    data = content.get("data")
    return isinstance(data, dict) and REPORT_MIME in data


def _shorten(msg: dict, room: int, size: int) -> bool:
    """Reduce an over-budget output message (in place) to what is kept of it; False when nothing is kept.

    A further report becomes a stub (the grader must still see it), an error keeps its name, the start of its
    message and the end of its traceback, a stream keeps the text that fits; anything else is dropped.
    """
    content = msg["content"]
    if is_report(content):
        content["data"] = {REPORT_MIME: {"dropped_bytes": size},
                           "text/plain": f"[a further grading report of {format_size(size)}, not kept]"}
        content["metadata"] = {}
    elif msg["header"]["msg_type"] == "error":
        content["evalue"] = str(content.get("evalue", ""))[:ERROR_VALUE_CHARS]
        lines = list(content.get("traceback") or [])[-ERROR_TRACEBACK_LINES:]
        content["traceback"] = ["[traceback shortened: the cell's output limit was reached]",
                                *(str(line)[:ERROR_LINE_CHARS] for line in lines)]
    elif msg["header"]["msg_type"] == "stream" and room > 0 and isinstance(content.get("text"), str):
        content["text"] = _prefix_bytes(content["text"], room)
    else:
        return False
    return True


def _prefix_bytes(text: str, size: int) -> str:
    """The longest start of ``text`` whose UTF-8 encoding is at most ``size`` bytes."""
    return text.encode("utf-8", "surrogatepass")[:max(size, 0)].decode("utf-8", "ignore")


class BoundedOutputs(Configurable):
    """Mixin for ``NotebookClient`` (nbconvert's ``ExecutePreprocessor``, nbgrader's ``Execute``): bounded outputs.

    Put it first in the bases, ``class Bounded(BoundedOutputs, Execute)``. Budgets are counted in UTF-8 bytes of
    the output messages as received (a progress bar's ``\\r`` updates count before nbclient collapses them).
    """

    max_output_bytes_per_cell = Integer(min=1, help="Output one cell may keep (bytes; default: "
                                        "SubmissionLimits.max_output_bytes_per_cell)").tag(config=True)
    max_output_bytes = Integer(min=1, help="Output the whole notebook may keep (bytes; default: "
                               "SubmissionLimits.max_output_bytes)").tag(config=True)

    @default("max_output_bytes_per_cell")
    def _default_per_cell(self) -> int:
        return SubmissionLimits(parent=self).max_output_bytes_per_cell

    @default("max_output_bytes")
    def _default_total(self) -> int:
        return SubmissionLimits(parent=self).max_output_bytes

    # ------------------------------------------------------------------ accounting
    def reset_execution_trackers(self) -> None:
        super().reset_execution_trackers()
        self._kept_total = 0
        self._kept: dict[int, int] = {}              # cell index -> bytes kept
        self._reports: dict[int, int] = {}           # cell index -> reports seen
        self._notes: dict[int, NotebookNode] = {}    # cell index -> its truncation note
        self._dropped: dict[int, int] = {}           # cell index -> bytes not kept
        self._cell_now = 0

    def _room(self, cell_index: int) -> int:
        """Bytes the cell may still keep."""
        return min(self.max_output_bytes_per_cell - self._kept.get(cell_index, 0),
                   self.max_output_bytes - self._kept_total)

    def _charge(self, cell_index: int, size: int) -> None:
        self._kept[cell_index] = self._kept.get(cell_index, 0) + size
        self._kept_total += size

    def _refund(self, cell_index: int) -> None:
        """The cell's outputs were cleared: what they used is free again (and their note is gone with them)."""
        self._kept_total -= self._kept.pop(cell_index, 0)
        self._notes.pop(cell_index, None)
        self._dropped.pop(cell_index, None)

    def _note_drop(self, outs: list[NotebookNode], cell_index: int, size: int) -> None:
        """Count ``size`` dropped bytes in the cell's one truncation note (added at the first drop)."""
        self._dropped[cell_index] = self._dropped.get(cell_index, 0) + size
        notebook_room = self.max_output_bytes - self._kept_total
        cell_room = self.max_output_bytes_per_cell - self._kept.get(cell_index, 0)
        if notebook_room <= cell_room:
            limit = f"the notebook's limit of {format_limit(self.max_output_bytes)}"
        else:
            limit = f"the limit of {format_limit(self.max_output_bytes_per_cell)} per cell"
        text = f"[output truncated: {format_size(self._dropped[cell_index])} not kept, over {limit}]\n"
        note = self._notes.get(cell_index)
        if note is None:
            note = self._notes[cell_index] = nbformat.v4.new_output("stream", name="stderr", text=text)
            outs.append(note)
        note.text = text

    # ------------------------------------------------------------------ nbclient hooks
    def process_message(self, msg: dict, cell: NotebookNode, cell_index: int) -> NotebookNode | None:
        self._cell_now = cell_index  # for display updates, which nbclient applies without a cell index
        return super().process_message(msg, cell, cell_index)

    def output(self, outs: list[NotebookNode], msg: dict, display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        content = msg.get("content", {})
        if self.clear_before_next_output and not self.output_hook_stack[msg["parent_header"].get("msg_id")]:
            # the delayed clear_output(wait=True): done here, as nbclient would, even if this output is dropped
            outs[:] = []
            self.clear_display_id_mapping(cell_index)
            self.clear_before_next_output = False
            self._refund(cell_index)
        if is_report(content):
            self._reports[cell_index] = self._reports.get(cell_index, 0) + 1
            if self._reports[cell_index] == 1:
                return super().output(outs, msg, display_id, cell_index)
        size = content_bytes(content)
        room = self._room(cell_index)
        if size <= room:
            self._charge(cell_index, size)
            return super().output(outs, msg, display_id, cell_index)
        if not _shorten(msg, room, size):
            self._note_drop(outs, cell_index, size)
            return None
        kept = content_bytes(content)
        self._charge(cell_index, kept)
        out = super().output(outs, msg, display_id, cell_index)
        self._note_drop(outs, cell_index, max(size - kept, 0))  # after what was kept of it
        return out

    def clear_output(self, outs: list[NotebookNode], msg: dict, cell_index: int) -> None:
        immediate = not msg["content"].get("wait") and not self.output_hook_stack[msg["parent_header"].get("msg_id")]
        super().clear_output(outs, msg, cell_index)
        if immediate:
            self._refund(cell_index)

    def _update_display_id(self, display_id: str, msg: dict) -> None:
        """Apply a display update only if the outputs it replaces leave room for it (one update can rewrite many
        outputs: it is charged once per output it replaces)."""
        content = msg.get("content", {})
        if display_id not in self._display_id_map:
            return super()._update_display_id(display_id, msg)
        size = content_bytes({"data": content.get("data"), "metadata": content.get("metadata")})
        growth: dict[int, int] = {}
        for cell_index, indices in self._display_id_map[display_id].items():
            outputs = self.nb.cells[cell_index].get("outputs", [])
            for index in (i for i in indices if i < len(outputs)):
                old = content_bytes({"data": outputs[index].get("data"), "metadata": outputs[index].get("metadata")})
                growth[cell_index] = growth.get(cell_index, 0) + size - old
        if any(extra > self._room(cell_index) for cell_index, extra in growth.items() if extra > 0):
            self._note_drop(self.nb.cells[self._cell_now].outputs, self._cell_now, size)
            return None
        for cell_index, extra in growth.items():
            self._charge(cell_index, extra)
        return super()._update_display_id(display_id, msg)

    def handle_comm_msg(self, outs: list[NotebookNode], msg: dict, cell_index: int) -> None:
        """Widget messages are kept in the notebook's metadata: they count against the notebook's budget."""
        size = content_bytes(msg.get("content", {})) + content_bytes(list(msg.get("buffers") or []))
        if size > self.max_output_bytes - self._kept_total:
            self._note_drop(outs, cell_index, size)
            return None
        self._kept_total += size
        return super().handle_comm_msg(outs, msg, cell_index)


#: what a kernel message part that cannot be read (JSON nested deeper than the parser's recursion limit) becomes:
#: an inert output that every consumer of display, stream and error messages accepts
UNREADABLE = "[an output nested too deeply to be read: not shown, not graded]"


def unpack_bounded(data: str | bytes) -> Any:
    """The grader's JSON unpacker for kernel messages (``Session.unpacker``).

    A kernel can display data nested a thousand levels deep, which makes ``json.loads`` raise ``RecursionError``
    inside jupyter_client, before any of our code sees the message, and the notebook's run then ends as if the
    kernel had stopped responding. Such a part becomes an inert output instead: the cell keeps running, and a
    report that was in it is simply missing (its checks fail as "no value was reported").
    """
    text = data.decode("utf8", "replace") if isinstance(data, bytes) else data
    try:
        return json.loads(text)
    except RecursionError:
        return {"data": {"text/plain": UNREADABLE}, "metadata": {}, "transient": {}, "name": "stdout",
                "text": UNREADABLE + "\n", "execution_count": None, "ename": "Error", "evalue": UNREADABLE,
                "traceback": []}
