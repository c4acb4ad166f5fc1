"""Reading what students handed in: where submissions are, and whether a file is a notebook we can grade."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat

from course_lib.grading.course import Assignment

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


class RejectedSubmission(Exception):
    """The submission cannot be graded; the message is the one-line reason shown to instructor and student."""


def submission_dir(root: Path, student: str, assignment: Assignment) -> Path:
    return root / "submitted" / student / assignment.name


def submitted_students(root: Path, assignment: Assignment) -> list[str]:
    submitted = root / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir() if (p / assignment.name).is_dir())


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Parse and validate one notebook file, or raise :class:`RejectedSubmission` saying what is wrong."""
    if not path.is_file():
        raise RejectedSubmission(f"{path.name} is missing from the submission")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise RejectedSubmission(f"{path.name} is {size / 2**20:.0f} MiB; clear the outputs and resubmit "
                                 f"(limit {MAX_NOTEBOOK_BYTES // 2**20} MiB)")
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RejectedSubmission(f"{path.name} is not a text file (binary content): submit the .ipynb notebook") from None
    except json.JSONDecodeError as error:
        raise RejectedSubmission(f"{path.name} is not valid JSON (line {error.lineno}, column {error.colno}): "
                                 f"re-download the notebook from JupyterLab and resubmit") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        version = data.get("nbformat") if isinstance(data, dict) else None
        raise RejectedSubmission(f"{path.name} is not an nbformat 4 notebook (nbformat {version!r}): open and "
                                 f"save it in JupyterLab 4, then resubmit")
    try:
        notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        raise RejectedSubmission(f"{path.name} is not a valid notebook: {str(error.message)[:200]}") from None
    except Exception as error:  # noqa: BLE001 - any parse failure is the file's fault, not the grader's
        raise RejectedSubmission(f"{path.name} could not be read as a notebook: {str(error)[:200]}") from None
    return notebook
