"""How long the notebook's own cells ran in the kernel, for the grading-overhead figures (everything else a
grading costs is overhead): :class:`RecordCellTime` runs right after execution and sums, over the code cells, the
kernel's busy time that nbclient records in each cell's metadata (``iopub.status.busy`` to ``iopub.status.idle``).
It is a measurement only: no score depends on it.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode


def _busy_seconds(cell) -> float:
    times = cell.get("metadata", {}).get("execution", {})
    try:
        start, end = (datetime.fromisoformat(times[key].replace("Z", "+00:00"))
                      for key in ("iopub.status.busy", "iopub.status.idle"))
    except (KeyError, TypeError, ValueError):
        return 0.0
    return max(0.0, (end - start).total_seconds())


def cell_seconds(notebook) -> float:
    return sum(_busy_seconds(cell) for cell in notebook.cells if cell.cell_type == "code")


class RecordCellTime(NbGraderPreprocessor):
    """Writes ``{"cells": seconds}`` to ``timing_file`` (set by the grading worker; nothing when empty)."""

    timing_file = Unicode("", help="Where to write the seconds the notebook's cells ran").tag(config=True)

    def preprocess(self, nb, resources):
        if self.timing_file:
            Path(self.timing_file).write_text(json.dumps({"cells": round(cell_seconds(nb), 3)}))
        return nb, resources
