"""Sanitising a submission before it is graded: the student's code, in the instructor's notebook structure.

A submitted notebook is untrusted input. What is kept from it is only what the student is meant to write: the
source of the solution cells and of the cells they added. Everything else comes from the instructor's release
notebook: the test cells (restored, or re-inserted where deleted), every cell's nbgrader metadata, the notebook's
kernelspec and metadata. Cell tags and metadata that change execution (``skip-execution``, ``raises-exception``,
an unknown nbgrader ``schema_version``...) are dropped with the rest of the student's metadata, and outputs are
cleared. Which cells are demonstrations that grading leaves out is decided from the release too
(:mod:`~course_lib.grading.demonstration`): a cell whose source is that of one of the release's demonstration cells
gets the flag, any other cell does not, whatever the submission's metadata says (a flag on a graded cell is dropped
with the rest; a removed flag comes back). A submission over a source limit of
:class:`~course_lib.grading.submissions.SubmissionLimits` (per cell, in total, cells added) is rejected before any
of this work is done.
"""
from __future__ import annotations

import copy
import os

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from course_lib.grading.demonstration import is_demonstration, set_demonstration, settle_demonstrations
from course_lib.grading.submissions import RejectedSubmission, SubmissionLimits, check_source_limits, source_text


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None


def _clean_cell(cell_type: str, source: str, cell_id: str, nbgrader: dict | None = None):
    if cell_type == "markdown":
        cell = nbformat.v4.new_markdown_cell(source, id=cell_id)
    elif cell_type == "raw":
        cell = nbformat.v4.new_raw_cell(source, id=cell_id)
    else:
        cell = nbformat.v4.new_code_cell(source, id=cell_id)
    if nbgrader is not None:
        cell.metadata["nbgrader"] = copy.deepcopy(nbgrader)
    return cell


def _owners(submitted: nbformat.NotebookNode, instructor: dict) -> dict[str, int]:
    """For each instructor grade id, the index of the submitted cell that plays its role."""
    # A grade id can appear twice (a copied cell keeps its metadata): the instructor's role goes to the copy whose
    # source is unchanged for tests and read-only cells, else to the first; the others are ordinary cells.
    owner: dict[str, int] = {}
    for index, cell in enumerate(submitted.cells):
        gid = _grade_id(cell)
        if gid in instructor and (gid not in owner or (
                not instructor[gid].metadata["nbgrader"].get("solution")
                and cell.get("source") == instructor[gid].source
                and submitted.cells[owner[gid]].get("source") != instructor[gid].source)):
            owner[gid] = index
    return owner


def _check_added_cells(submitted: nbformat.NotebookNode, release: nbformat.NotebookNode,
                       limits: SubmissionLimits) -> None:
    added = len(submitted.cells) - len(release.cells)
    if added > limits.max_added_cells:
        raise RejectedSubmission(f"the notebook adds {added} cells (limit {limits.max_added_cells}): merge or delete "
                                 f"the cells you added and resubmit")


def sanitize(submitted: nbformat.NotebookNode, release: nbformat.NotebookNode,
             limits: SubmissionLimits | None = None) -> tuple[nbformat.NotebookNode, list[str]]:
    """A clean notebook to grade, and notes on what was changed (for the report).

    Parameters
    ----------
    submitted : nbformat.NotebookNode
        The student's notebook (untrusted).
    release : nbformat.NotebookNode
        The instructor's release notebook of the assignment.
    limits : SubmissionLimits, optional
        Caps on source size and on the number of added cells (default: :class:`SubmissionLimits` defaults).

    Returns
    -------
    clean : nbformat.NotebookNode
        The notebook to grade: valid nbformat 4, without outputs, the release's metadata.
    notes : list of str
        What was changed, in the student's terms.

    Raises
    ------
    RejectedSubmission
        The submission is over a limit, or a cell's source is not text.
    """
    limits = limits or SubmissionLimits()
    check_source_limits(submitted.cells, limits)
    _check_added_cells(submitted, release, limits)
    instructor = {gid: cell for cell in release.cells if (gid := _grade_id(cell))}
    order = [gid for cell in release.cells if (gid := _grade_id(cell))]
    owner = _owners(submitted, instructor)
    demonstrations = {source_text(c) for c in release.cells if c.get("cell_type") == "code" and is_demonstration(c)}
    notes: list[str] = []
    out = []
    placed: set[str] = set()
    for index, cell in enumerate(submitted.cells):
        cell_type = cell.get("cell_type")
        if cell_type not in ("code", "markdown", "raw"):
            continue
        gid = _grade_id(cell)
        if gid in instructor and owner.get(gid) == index:
            mine = instructor[gid]
            meta = mine.metadata["nbgrader"]
            if meta.get("solution"):  # the student's answer, under the instructor's metadata and cell type
                out.append(_clean_cell(mine.cell_type, source_text(cell), f"cell-{gid}", meta))
            else:  # tests and read-only cells: always the instructor's
                out.append(_clean_cell(mine.cell_type, source_text(mine), f"cell-{gid}", meta))
                if source_text(cell) != source_text(mine):
                    notes.append(f"restored the instructor's cell '{gid}'")
            placed.add(gid)
            continue
        # A cell the student added (or one claiming a grade id it does not own): plain, without metadata.
        if cell_type == "code":
            out.append(_clean_cell("code", source_text(cell), f"student-{index}"))
            if out[-1].source in demonstrations:  # unchanged given code the release marks: left out when graded
                set_demonstration(out[-1], True)
        elif cell_type == "markdown":
            out.append(_clean_cell("markdown", source_text(cell), f"student-{index}"))
    for position, gid in enumerate(order):
        if gid in placed:
            continue
        # Re-insert a deleted cell right after the instructor cell that precedes it.
        previous = next((order[j] for j in range(position - 1, -1, -1) if order[j] in placed), None)
        at = 0 if previous is None else 1 + next(i for i, c in enumerate(out) if c.get("id") == f"cell-{previous}")
        mine = instructor[gid]
        out.insert(at, _clean_cell(mine.cell_type, source_text(mine), f"cell-{gid}", mine.metadata["nbgrader"]))
        placed.add(gid)
        notes.append(f"re-inserted the missing cell '{gid}'")
    settle_demonstrations(out)  # those a student's later cell needs run
    kernel = submitted.get("metadata", {}).get("kernelspec", {})
    wanted = release.metadata.get("kernelspec", {}).get("name")
    if isinstance(kernel, dict) and kernel.get("name") not in (None, wanted):
        notes.append(f"ran with the {wanted} kernel (the notebook asked for '{str(kernel.get('name'))[:30]}')")
    clean = nbformat.v4.new_notebook(cells=out, metadata=copy.deepcopy(release.metadata))
    nbformat.validate(clean)
    return clean, notes


class SanitizeSubmission(NbGraderPreprocessor):
    """:func:`sanitize` as the first step of nbgrader's own sanitising (``Autograde.sanitize_preprocessors``).

    ``lstm-course autograde`` and Formgrader's Autograde button sanitise each submission before nbgrader sees it;
    this step makes a plain ``nbgrader autograde`` do the same, so that no way of grading runs a student's tags,
    metadata or edited test cells. On an already sanitised notebook it changes nothing.
    """

    release_directory = Unicode("", help="Directory of the release assignments (default: <course root>/release)"
                                ).tag(config=True)

    def _release_notebook(self, assignment: str, notebook: str) -> str:
        directory = self.release_directory or os.path.join(
            self.config.get("CourseDirectory", {}).get("root") or os.getcwd(), "release")
        return os.path.join(directory, assignment, f"{notebook}.ipynb")

    def preprocess(self, nb, resources):
        path = self._release_notebook(resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"])
        if not os.path.isfile(path):
            raise RejectedSubmission(f"cannot sanitise against {path}: it is missing; run `lstm-course build`")
        clean, notes = sanitize(nb, nbformat.read(path, as_version=4), SubmissionLimits(config=self.config))
        for note in notes:
            self.log.warning("Sanitising: %s", note)
        self._with_hidden_tests(clean, resources["nbgrader"])
        return clean, resources

    @staticmethod
    def _with_hidden_tests(notebook, info: dict) -> None:
        """Give each test cell the gradebook's source (the instructor's, hidden tests included), which nbgrader's
        ``OverwriteCells`` would put back anyway, logging every test cell with hidden tests as "changed"."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(info["db_url"]) as gradebook:
            for cell in notebook.cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("locked") and not meta.get("solution") and meta.get("grade_id"):
                    try:
                        cell.source = gradebook.find_source_cell(meta["grade_id"], info["notebook"],
                                                                 info["assignment"]).source
                    except MissingEntry:
                        pass  # nbgrader's OverwriteCells reports and removes an unknown grade id
