"""Reading what students handed in: where submissions are, whether a file is a notebook we can grade, and how
much a submission may contain (:class:`SubmissionLimits`).

The limits are checked on the parsed JSON, before nbformat builds and validates the notebook: a submission over a
limit costs one ``json.loads`` of at most ``max_notebook_bytes``, and is rejected with a one-line reason in the
student's terms.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
from traitlets import Integer
from traitlets.config import Configurable

if TYPE_CHECKING:
    from course_lib.assignments.registry import Assignment

KiB = 1024
MiB = 1024 * KiB


class RejectedSubmission(Exception):
    """The submission cannot be graded; the message is the one-line reason shown to instructor and student."""


class SubmissionLimits(Configurable):
    """How much a submission may contain, and how much output its execution may keep (``c.SubmissionLimits.*``).

    The source limits are enforced by :func:`read_notebook` and :func:`course_lib.grading.sanitize.sanitize`;
    the output limits by :class:`course_lib.grading.output_limits.BoundedOutputs` while the notebook runs.
    """

    max_notebook_bytes = Integer(20 * MiB, min=1, help="Largest notebook file accepted").tag(config=True)
    max_cell_source_bytes = Integer(200 * KiB, min=1, help="Largest source of one cell (UTF-8 bytes)").tag(
        config=True)
    max_source_bytes = Integer(2 * MiB, min=1, help="Largest source of all cells together (UTF-8 bytes)").tag(
        config=True)
    max_added_cells = Integer(200, min=0, help="Most cells a student may add to the release notebook").tag(
        config=True)
    max_output_bytes_per_cell = Integer(MiB, min=1, help="Output one cell may keep when the notebook runs").tag(
        config=True)
    max_output_bytes = Integer(10 * MiB, min=1, help="Output the whole notebook may keep when it runs").tag(
        config=True)


def format_size(size: int) -> str:
    """A measured size for a student, in decimal units as file managers show them: ``"900 bytes"``, ``"300 kB"``,
    ``"19.5 MB"``."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1e3:.1f} kB" if size < 10_000 else f"{size / 1e3:.0f} kB"
    return f"{size / 1e6:.1f} MB"


def format_limit(size: int) -> str:
    """A configured limit, in the binary units it is set in: ``"200 KiB"``, ``"20 MiB"``."""
    for unit, name in ((MiB, "MiB"), (KiB, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return format_size(size)


def source_text(cell: Any) -> str:
    """A cell's source as one string (nbformat allows a list of lines), or reject the submission."""
    source = cell.get("source", "") if isinstance(cell, dict) else None
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise RejectedSubmission("a cell's source is not text: open and save the notebook in JupyterLab, then "
                                 "resubmit")
    return valid_unicode(source)


def valid_unicode(text: str) -> str:
    """``text`` with surrogate pairs (JSON escapes of one character) joined and lone surrogates, which no file
    can hold, replaced by U+FFFD: the notebook is still graded, and the graded file can be written."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def check_source_limits(cells: list, limits: SubmissionLimits) -> None:
    """Reject ``cells`` (raw JSON or nbformat cells) whose source exceeds a cap of ``limits``.

    Parameters
    ----------
    cells : list of dict
        The notebook's cells, in order; cell numbers in the reason count from 1, top of the notebook.
    limits : SubmissionLimits
        The caps ``max_cell_source_bytes`` and ``max_source_bytes`` are checked.

    Raises
    ------
    RejectedSubmission
        Naming the first cell over the per-cell cap, or the notebook's total.
    """
    total = 0
    for number, cell in enumerate(cells, start=1):
        size = len(source_text(cell).encode("utf-8", "surrogatepass"))
        if size > limits.max_cell_source_bytes:
            kind = "code" if cell.get("cell_type") == "code" else "text"
            raise RejectedSubmission(f"cell {number} has {format_size(size)} of {kind} (limit "
                                     f"{format_limit(limits.max_cell_source_bytes)} per cell): remove pasted data "
                                     f"or outputs and resubmit")
        total += size
    if total > limits.max_source_bytes:
        raise RejectedSubmission(f"the notebook has {format_size(total)} of code and text (limit "
                                 f"{format_limit(limits.max_source_bytes)}): remove pasted data and resubmit")


def submission_dir(root: Path, student: str, assignment: Assignment) -> Path:
    return root / "submitted" / student / assignment.name


def submitted_students(root: Path, assignment: Assignment) -> list[str]:
    submitted = root / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir() if (p / assignment.name).is_dir())


def _parse_json(path: Path, raw: bytes) -> dict:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RejectedSubmission(f"{path.name} is not a text file (binary content): submit the .ipynb "
                                 f"notebook") from None
    except (json.JSONDecodeError, RecursionError) as error:
        where = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise RejectedSubmission(f"{path.name} is not valid JSON{where}: re-download the notebook from JupyterLab "
                                 f"and resubmit") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        version = data.get("nbformat") if isinstance(data, dict) else None
        raise RejectedSubmission(f"{path.name} is not an nbformat 4 notebook (nbformat {version!r}): open and "
                                 f"save it in JupyterLab 4, then resubmit")
    return data


def read_notebook(path: Path, limits: SubmissionLimits | None = None) -> nbformat.NotebookNode:
    """Parse and validate one submitted notebook file.

    Parameters
    ----------
    path : Path
        The ``.ipynb`` file.
    limits : SubmissionLimits, optional
        The caps on file size and source size (default: :class:`SubmissionLimits` defaults).

    Returns
    -------
    nbformat.NotebookNode
        The notebook, as nbformat 4.

    Raises
    ------
    RejectedSubmission
        With a one-line reason: missing, too large, not JSON, not nbformat 4, too much source, not valid.
    """
    limits = limits or SubmissionLimits()
    if not path.is_file():
        raise RejectedSubmission(f"{path.name} is missing from the submission")
    size = path.stat().st_size
    if size > limits.max_notebook_bytes:
        raise RejectedSubmission(f"{path.name} is {format_size(size)}; clear the outputs and resubmit "
                                 f"(limit {format_limit(limits.max_notebook_bytes)})")
    data = _parse_json(path, path.read_bytes())
    cells = data.get("cells")
    if isinstance(cells, list) and all(isinstance(cell, dict) for cell in cells):
        check_source_limits(cells, limits)  # before nbformat's validation, whose cost grows with the notebook
    try:
        notebook = nbformat.v4.to_notebook_json(data)  # what nbformat.reads does after parsing, without reparsing
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        raise RejectedSubmission(f"{path.name} is not a valid notebook: {str(error.message)[:200]}") from None
    except (AttributeError, TypeError, KeyError) as error:  # a part of the notebook has the wrong JSON type
        raise RejectedSubmission(f"{path.name} is not a valid notebook ({str(error)[:100]}): open and save it in "
                                 f"JupyterLab, then resubmit") from None
    except Exception as error:  # noqa: BLE001 - any parse failure is the file's fault, not the grader's
        raise RejectedSubmission(f"{path.name} could not be read as a notebook: {str(error)[:200]}") from None
    return notebook
