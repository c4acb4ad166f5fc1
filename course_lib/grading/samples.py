"""Sample submissions made from the course's own notebooks: the reference, the untouched release, and mistakes.

A submission is what a student hands in: the *release* notebook (same cell ids, checksums and metadata) with the
solution cells filled in. The reference submission takes each solution cell's code from the source notebook; a
buggy one then rewrites a line of one function, the way a real mistake looks.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|\Z)", re.MULTILINE)  # the last line may end the cell


@dataclass(frozen=True)
class Mistake:
    """A plausible student mistake: in the solution of ``function``, ``old`` becomes ``new``.

    ``costs`` lists every exercise that must lose points: the one where the mistake is made, and any later one that
    cannot be judged without it (documented where it happens). With ``function`` empty, the mistake is in a plain
    (not graded) code cell of the notebook, where ``old`` occurs once: a call made with the wrong data, say. It
    changes no function of the reference module, only what the notebook trains.
    """

    name: str
    function: str
    old: str
    new: str
    costs: tuple[str, ...]
    description: str


def _solution_cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata.nbgrader["grade_id"]: c for c in notebook.cells
            if c.get("metadata", {}).get("nbgrader", {}).get("solution")}


def reference_submission(release_path: Path, source_path: Path) -> nbformat.NotebookNode:
    """The release notebook with every solution cell (code and written answers) filled in from the source."""
    release = nbformat.read(release_path, as_version=4)
    source_cells = _solution_cells(nbformat.read(source_path, as_version=4))
    for grade_id, cell in _solution_cells(release).items():
        cell.source = _MARKER.sub("", source_cells[grade_id].source).strip("\n")
    return release


def with_mistake(notebook: nbformat.NotebookNode, bug: Mistake) -> nbformat.NotebookNode:
    """A copy of a filled-in notebook with the mistake introduced in the cell that defines ``bug.function``."""
    buggy = copy.deepcopy(notebook)
    if not bug.function:
        cells = [c for c in buggy.cells if c.cell_type == "code" and bug.old in c.source
                 and not c.get("metadata", {}).get("nbgrader", {}).get("solution")]
        if len(cells) != 1 or cells[0].source.count(bug.old) != 1:
            raise ValueError(f"bug {bug.name}: {bug.old!r} must occur once in one plain code cell")
        cells[0].source = cells[0].source.replace(bug.old, bug.new)
        return buggy
    for cell in buggy.cells:
        if cell.cell_type == "code" and f"def {bug.function}(" in cell.source:
            if bug.old not in cell.source:
                raise ValueError(f"bug {bug.name}: {bug.old!r} is not in the solution of {bug.function}")
            cell.source = cell.source.replace(bug.old, bug.new)
            return buggy
    raise ValueError(f"bug {bug.name}: no cell defines {bug.function}")


def write_submission(root: Path, student: str, assignment: str, notebook_name: str,
                     notebook: nbformat.NotebookNode) -> Path:
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook_name}.ipynb"
    nbformat.write(notebook, path)
    return path


def sample_submissions(root: Path, assignment) -> dict[str, nbformat.NotebookNode]:
    """The demo's three submissions of ``assignment``: the reference, the untouched release, its demo mistake."""
    release = assignment.release_notebook(root)
    reference = reference_submission(release, assignment.source_notebook(root))
    mistake = assignment.module("mistakes").MISTAKES[assignment.demo_mistake]
    return {"demo-reference": reference, "demo-untouched": nbformat.read(release, as_version=4),
            "demo-buggy": with_mistake(reference, mistake)}
