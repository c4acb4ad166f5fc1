"""Assignment 01's own notebook tests: its pinned exercise list, and the messages of its ``expect_close`` helper
as a student sees them (in the notebook and through ``nbgrader validate``).

What every assignment's notebooks must satisfy (the source runs and passes its tests, solution cells are the
reference module's functions, release equals a fresh build, nothing secret released, stored without outputs) is
tested for assignment 01 too, parametrised over the registry, in ``test_notebooks.py``.

The exercise list and points are read from the source notebook's nbgrader metadata (the one place they are
written); only :func:`test_assignment_01_exercise_list_is_pinned` writes them out, on purpose.
"""
from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading.hidden_tests import auto_exercises, function_exercises
from course_lib.solutions import lstm_gates as solution

from tests.notebooks.test_notebooks import _code_solution_cells, _grade_code_cells, _nbgrader

pytestmark = pytest.mark.notebook

REPO = Path(__file__).resolve().parents[2]
ROW = get_assignment("01_lstm_gates")
NOTEBOOK = ROW.notebook
SOURCE = ROW.source_notebook(REPO)
RELEASE = ROW.release_notebook(REPO)
#: the automatically graded exercises, in notebook order, from the source notebook's nbgrader metadata
EXERCISES = tuple(auto_exercises(SOURCE))
API_FUNCTIONS = set(EXERCISES)  # one solution function per automatically graded exercise, same name


# --------------------------------------------------------------------------- the exercise list
def test_assignment_01_exercise_list_is_pinned():
    """A deliberate regression check: the one place the exercise list and points of assignment 01 are written out
    in the tests. Everything else reads them from the notebook metadata, so change this only on purpose."""
    assert auto_exercises(SOURCE) == {
        "sigmoid": 1, "forget_gate": 1, "input_gate": 1, "candidate_cell": 1, "output_gate": 1,
        "lstm_cell_forward": 2, "lstm_forward": 2, "lstm_cell_backward": 3, "lstm_backward": 3,
    }, f"the automatically graded exercises and points of {SOURCE.relative_to(REPO)} changed: {auto_exercises(SOURCE)}"


def test_assignment_01_has_one_solution_function_per_exercise():
    """In assignment 01 every exercise is a function of its name, judged from that function alone: the solution
    cells, the reference module's public functions and the exercises are the same set (the general notebook
    tests count solution cells and hidden-test digests by functions; here that is one per exercise)."""
    seen = [node.name for cell in _code_solution_cells(nbformat.read(SOURCE, as_version=4))
            for node in ast.parse(cell.source).body if isinstance(node, ast.FunctionDef)]
    module_functions = {name for name, f in inspect.getmembers(solution, inspect.isfunction)
                        if f.__module__ == solution.__name__ and not name.startswith("_")}
    assert sorted(seen) == sorted(module_functions) == sorted(API_FUNCTIONS), (
        f"solution cells define {sorted(seen)}; the module's public functions are {sorted(module_functions)}; "
        f"the API is {sorted(API_FUNCTIONS)}")
    assert len(_code_solution_cells(nbformat.read(RELEASE, as_version=4))) == len(EXERCISES), (
        f"expected {len(EXERCISES)} code solution cells in the release, one per exercise")
    assert function_exercises(ROW, auto_exercises(SOURCE)) == list(EXERCISES), (
        "every exercise of assignment 01 is judged from its function (a request that needs the notebook's state "
        "was added?)")


# --------------------------------------------------------------------------- visible tests, as nbgrader shows them
#: `nbgrader validate` prints an error's lines indented by 4 and cut at 87 characters, the message after
#: "AssertionError: ": what matters must fit in the first 67 characters
VALIDATE_ROOM = 87 - len("    AssertionError: ")


def _expect_close():
    namespace: dict = {}
    exec(nbformat.read(SOURCE, as_version=4).cells[1].source, namespace)  # noqa: S102 - the course's own cell
    return namespace["expect_close"]


def _labels() -> list[str]:
    labels = []
    for cell in _grade_code_cells(nbformat.read(SOURCE, as_version=4)):
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "expect_close":
                labels.append(ast.literal_eval(node.args[0]))
    return labels


def _failure(expect_close, got, expected, **kwargs) -> str:
    import numpy as np

    with pytest.raises(AssertionError) as raised:
        expect_close("what", np.asarray(got, dtype=float), expected, **kwargs)
    return str(raised.value)


def test_every_visible_failure_says_what_where_expected_and_got_on_a_line_validate_keeps():
    import numpy as np

    expect_close = _expect_close()
    labels = _labels()
    assert len(labels) >= len(EXERCISES) - 2, f"expect_close calls found in the grade cells: {labels}"
    # the worst a visible test can show: a 3-d index, long numbers of both signs
    expected = np.full((2, 3, 3), -0.123457)
    for label in labels:
        with pytest.raises(AssertionError) as raised:
            expect_close(label, np.full((2, 3, 3), -1.23457e-05), expected)
        first = str(raised.value).splitlines()[0]
        assert re.fullmatch(rf"{re.escape(label)}: at index \(0, 0, 0\) expected -0\.123\d*, "
                            rf"got -1\.23\d*e-05", first), first
        assert len(first) <= VALIDATE_ROOM, f"{first!r} is {len(first)} characters: nbgrader validate cuts it"
    # short numbers keep all six digits
    with pytest.raises(AssertionError) as raised:
        expect_close("h_seq", np.full((2, 3, 3), 0.0304207), np.full((2, 3, 3), 0.241482))
    assert str(raised.value).splitlines()[0] == "h_seq: at index (0, 0, 0) expected 0.241482, got 0.0304207"


def test_visible_failures_print_plain_numbers_and_a_hint_after_the_first_line():
    import numpy as np

    expect_close = _expect_close()
    message = _failure(expect_close, [[0.5, 0.9]], [[0.5, 0.1]])
    assert message.splitlines()[0] == "what: at index (0, 1) expected 0.1, got 0.9", message
    assert "np." not in message, f"NumPy 2 scalars printed as reprs: {message}"
    assert message.splitlines()[1] == "hint: you got 1 - expected: is the sign of the sigmoid's argument flipped?"
    assert _failure(expect_close, [0.1, 0.2], [0.1, 0.3]).splitlines()[0] == "what: at index 1 expected 0.3, got 0.2"
    assert _failure(expect_close, [0.1, np.nan], [0.1, 0.3]).splitlines()[0] == \
        "what: at index 1 expected 0.3, got nan"
    given = _failure(expect_close, [1.0], [2.0], hint="the last step must be h_T")
    assert given.splitlines()[1] == "hint: the last step must be h_T", given


def _validate(notebook, tmp_path) -> str:
    path = tmp_path / f"{NOTEBOOK}.ipynb"
    nbformat.write(notebook, path)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "validate", str(path)], cwd=str(REPO),
                            capture_output=True, text=True, timeout=600, env=env)
    return result.stdout + result.stderr


def test_nbgrader_validate_shows_expected_and_got_of_a_wrong_solution(tmp_path):
    """A copy of the release with the reference solutions, the forget gate's sign flipped (which also breaks the
    gradient checks of the cell built on it): every failing visible test shows expected and got, uncut."""
    from course_lib.grading.samples import Mistake, reference_submission, with_mistake

    flipped = Mistake("flipped_forget_sign", "forget_gate", "sigmoid(x_t @ W_f + h_prev @ U_f + b_f)",
                      "sigmoid(-(x_t @ W_f + h_prev @ U_f + b_f))", costs=("forget_gate",), description="sign")
    output = _validate(with_mistake(reference_submission(RELEASE, SOURCE), flipped), tmp_path)
    errors = [line.strip() for line in output.splitlines() if line.strip().startswith("AssertionError:")]
    assert errors, f"nbgrader validate reported no failing visible test:\n{output[-3000:]}"
    assert any(re.fullmatch(r"AssertionError: forget_gate: at index \(0, \d\) expected 0\.\d+, got 0\.\d+", e)
               for e in errors), f"the forget gate's expected and got values are not shown: {errors}"
    assert any(e.startswith("AssertionError: lstm_cell_backward: d") for e in errors), errors
    cut = [e for e in errors if e.endswith("...")]
    assert not cut, f"nbgrader validate cut these first lines: {cut}"
