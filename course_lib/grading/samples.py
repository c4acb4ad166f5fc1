"""Sample submissions made from the course's own notebooks: the reference, the untouched release, and bugs.

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

_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)


@dataclass(frozen=True)
class Bug:
    """A plausible student mistake: in the solution of ``function``, ``old`` becomes ``new``."""

    name: str
    function: str
    old: str
    new: str
    exercise: str
    description: str
    #: Exercises that also lose points today: a cell forward that reads the wrong weight blocks or caches c_t for
    #: tanh(c_t) leaves activations in its (student-designed) cache that no grader-side target can reconstruct,
    #: so a correct lstm_cell_backward fed by it cannot be told from a wrong one.
    also_charged: tuple[str, ...] = ()


#: The mistakes the hidden tests must catch, each in the exercise where it is made.
BUGS: dict[str, Bug] = {b.name: b for b in (
    Bug("swapped_input_forget", "lstm_cell_forward", "c_t = f * c_prev + i * g", "c_t = i * c_prev + f * g",
        "lstm_cell_forward", "input and forget gates swapped in the cell update"),
    Bug("cs231n_gate_order", "lstm_cell_forward", "W_i, W_f, W_c, W_o = np.split(kernel, 4, axis=1)",
        "W_i, W_f, W_o, W_c = np.split(kernel, 4, axis=1)", "lstm_cell_forward",
        "kernel blocks read in the i, f, o, g order of CS231n instead of Keras' i, f, c, o", ("lstm_cell_backward",)),
    Bug("wrong_bias_block", "lstm_cell_forward", "b_i, b_f, b_c, b_o = np.split(bias, 4)",
        "b_f, b_i, b_c, b_o = np.split(bias, 4)", "lstm_cell_forward", "bias slices taken from the wrong block", ("lstm_cell_backward",)),
    Bug("no_recurrent_term", "forget_gate", "sigmoid(x_t @ W_f + h_prev @ U_f + b_f)", "sigmoid(x_t @ W_f + b_f)",
        "forget_gate", "forget gate without the recurrent term h_prev @ U_f"),
    Bug("sigmoid_candidate", "candidate_cell", "np.tanh(x_t @ W_c + h_prev @ U_c + b_c)",
        "sigmoid(x_t @ W_c + h_prev @ U_c + b_c)", "candidate_cell", "sigmoid instead of tanh in the candidate"),
    Bug("tanh_output_gate", "output_gate", "sigmoid(x_t @ W_o + h_prev @ U_o + b_o)",
        "np.tanh(x_t @ W_o + h_prev @ U_o + b_o)", "output_gate", "tanh instead of sigmoid in the output gate"),
    Bug("dropped_cell_state", "lstm_cell_forward", "c_t = f * c_prev + i * g", "c_t = i * g",
        "lstm_cell_forward", "previous cell state dropped from the update"),
    Bug("no_tanh_on_cell", "lstm_cell_forward", "tanh_c = np.tanh(c_t)", "tanh_c = c_t",
        "lstm_cell_forward", "no tanh on the cell state in h_t", ("lstm_cell_backward",)),
    Bug("state_not_carried", "lstm_forward", "h, c, cache = lstm_cell_forward(x[:, t], h, c,",
        "_, _, cache = lstm_cell_forward(x[:, t], h, c,", "lstm_forward", "state not carried between time steps"),
    Bug("backward_missing_tanh_path", "lstm_cell_backward", "dc = dc_t + dh_t * o * (1 - tanh_c**2)", "dc = dc_t",
        "lstm_cell_backward", "backward: the gradient through h_t = o * tanh(c_t) is missing from dc"),
    Bug("backward_wrong_dc_prev", "lstm_cell_backward", '"dc_prev": dc * f,', '"dc_prev": dc,',
        "lstm_cell_backward", "backward: dc_prev not multiplied by the forget gate"),
    Bug("no_bptt", "lstm_backward", "grads = lstm_cell_backward(dh_seq[:, t] + dh_next, dc_next, caches[t])",
        "grads = lstm_cell_backward(dh_seq[:, t], dc_next, caches[t])", "lstm_backward",
        "gradient of h not carried back through time"),
    Bug("sigmoid_negative", "sigmoid", "e / (1 + e)", "1 / (1 + e)", "sigmoid",
        "sigmoid wrong for negative inputs"),
)}


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


def with_bug(notebook: nbformat.NotebookNode, bug: Bug) -> nbformat.NotebookNode:
    """A copy of a filled-in notebook with ``bug`` introduced in the cell that defines ``bug.function``."""
    buggy = copy.deepcopy(notebook)
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
