"""Demonstration cells: the build's check that leaving one out changes nothing a later cell reads, the sanitiser
taking the flags from the release (never from the submission), and the executor's explanatory output."""
from __future__ import annotations

import copy
import sys
import types
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from course_lib.assignments.registry import ASSIGNMENTS, get_assignment
from course_lib.grading.course import CourseError
from course_lib.grading.demonstration import (NOT_RUN, cell_names, check_notebook, is_demonstration, plan,
                                              probe_reads, set_demonstration, skipped_cells)
from course_lib.grading.sanitize import sanitize

ROOT = Path(__file__).resolve().parents[2]
RELEASE = get_assignment("01_lstm_gates").release_notebook(ROOT)
#: the cells each source notebook marks (by cell id): 01's comparison with Keras and gate plot, then the plots and
#: result tables of 02-06 that no later cell needs
MARKED = {
    "01_lstm_gates": ["keras_compare", "plot_gates"],
    "02_sequence_prediction": ["plot-series", "plot-regressor", "plot-adding"],
    "03_sentiment": ["tutorial-new", "plot-curves", "cross-domain", "by-kind"],
    "04_text_generation": ["tutorial-bigrams", "report", "samples"],
    "05_poem_generation": ["corpus-statistics", "report", "samples", "ngram-poems", "form-report"],
    "06_ner": ["097cbdb7", "a7ca7812", "725ac0ab", "cf53f4fa"],   # training curve, dev results, confusion, spans
}


def no_probe(stem: str, exercise: str) -> frozenset[str]:
    return frozenset({"graded_function"})


def _notebook(*cells) -> nbformat.NotebookNode:
    """A notebook of code cells; a source given as ``("demo", source)`` is a marked demonstration."""
    made = []
    for cell in cells:
        marked = isinstance(cell, tuple)
        made.append(nbformat.v4.new_code_cell(cell[1] if marked else cell))
        if marked:
            set_demonstration(made[-1], True)
    return nbformat.v4.new_notebook(cells=made)


def _skipped(*cells) -> set[int]:
    notebook = _notebook(*cells)
    return plan(notebook.cells, [is_demonstration(c) for c in notebook.cells], no_probe)[0]


# --------------------------------------------------------------------------- the dependency check
def test_a_later_cell_reading_a_name_the_demonstration_binds_fails_the_build():
    notebook = _notebook("x = 1", ("demo", "import os\nshown = x + 1"), "print(shown)")
    with pytest.raises(CourseError) as error:
        check_notebook(notebook, "source/00_demo/demo.ipynb", no_probe)
    message = str(error.value)
    assert "source/00_demo/demo.ipynb" in message and "demonstration cell 1" in message
    assert "cell 2 ('print(shown)') reads `shown`" in message


def test_a_demonstration_nothing_later_reads_is_left_out():
    notebook = _notebook("x = 1", ("demo", "import os\nshown = x + 1\nprint(shown)"), "print(x)")
    assert check_notebook(notebook, "demo.ipynb", no_probe) == [1]


@pytest.mark.parametrize("later", [
    "y = fig",                           # a plain read
    "def f():\n    return fig",          # a function body reads when called
    "fig += 1",                          # an augmented assignment reads
    "del fig",                           # so does del
    "if True:\n    fig = 2\nprint(fig)",  # a rebinding that may not happen
    "for _ in []:\n    fig = 2\nprint(fig)",
    "print(_)",                          # IPython's output history changes with every cell that runs
])
def test_conservative_reads(later):
    assert _skipped(("demo", "fig = 1"), later) == set()


@pytest.mark.parametrize("later", [
    "fig = 2\nprint(fig)",                                  # bound first, at the cell's top level
    "for fig in range(3):\n    print(fig)",                 # the loop's own target
    "def f(fig):\n    return fig",                          # a parameter
    "def f():\n    fig = 3\n    return fig",                # a local
    "values = [fig for fig in range(3)]",                   # a comprehension's target
    "import fig\nfig.run()",
])
def test_a_later_cell_that_binds_the_name_itself_does_not_need_the_demonstration(later):
    assert _skipped(("demo", "fig = 1"), later) == {0}


def test_a_method_call_may_change_its_object_but_not_a_module():
    # rng.standard_normal advances the generator a later cell draws from
    assert _skipped("import numpy as np\nrng = np.random.default_rng(0)", ("demo", "a = rng.standard_normal(3)"),
                    "b = rng.standard_normal(3)") == set()
    assert _skipped("data = [1]", ("demo", "data.append(2)"), "print(data)") == set()
    assert _skipped("data = [1]", ("demo", "data[0] = 2"), "print(data)") == set()
    # np.zeros changes no np, dict.fromkeys no dict
    assert _skipped("import numpy as np", ("demo", "z = np.zeros(3)\nd = dict.fromkeys('ab')"),
                    "print(np.ones(2), dict(a=1))") == {1}


def test_demonstrations_may_read_each_other():
    assert _skipped(("demo", "shown = 1"), ("demo", "print(shown)"), "print('end')") == {0, 1}
    # ... but one that must run needs what it reads
    assert _skipped(("demo", "shown = 1"), ("demo", "more = shown + 1"), "print(more)") == set()


def test_magics_and_shell_lines_parse():
    names = cell_names("%matplotlib inline\n!ls\nx = 1", no_probe)
    assert names.binds is not None and "x" in names.binds
    # a later magic may read anything (%who, a %%time cell's code is a string)
    assert _skipped(("demo", "x = 1"), "%who") == set()
    assert _skipped(("demo", "x = 1"), "%%time\nprint(1)") == set()


@pytest.mark.parametrize("later", ["print(globals()['x'])", "eval('x')", "def f(:\n    pass"])
def test_a_later_cell_that_may_read_any_name_keeps_every_demonstration_before_it(later):
    with pytest.raises(CourseError, match="may read any name"):
        check_notebook(_notebook(("demo", "x = 1"), later), "demo.ipynb", no_probe)


def test_a_hidden_test_reads_only_the_names_the_probe_looks_up():
    test = 'from course_lib.grading.probe import report_values\nreport_values("s", "e", globals())'
    assert _skipped(("demo", "shown = 1"), test) == {0}
    assert _skipped(("demo", "graded_function = 1"), test) == set()


def test_the_probe_reads_the_functions_of_an_exercise():
    names = probe_reads("lstm_gates", "lstm_cell_backward")
    assert {"lstm_cell_backward", "lstm_cell_forward", "sigmoid"} <= names
    assert probe_reads("text_generation", "hello_model") >= {"hello_model", "hello_vocabulary", "generate"}
    assert probe_reads("lstm_gates", "no_such_exercise") is None


@pytest.mark.parametrize("meta", [{"solution": True, "grade": False, "grade_id": "def_f", "locked": False},
                                  {"solution": False, "grade": True, "grade_id": "f", "locked": True, "points": 1},
                                  {"solution": False, "grade": False, "grade_id": "given", "locked": True}])
def test_only_a_plain_given_code_cell_can_be_a_demonstration(meta):
    notebook = _notebook(("demo", "x = 1"))
    notebook.cells[0].metadata["nbgrader"] = meta
    with pytest.raises(CourseError, match="not a plain given code cell"):
        check_notebook(notebook, "demo.ipynb", no_probe)


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_the_source_notebooks_marks_pass_the_check(name):
    assignment = get_assignment(name)
    notebook = nbformat.read(assignment.source_notebook(ROOT), as_version=4)
    left_out = check_notebook(notebook, name)
    assert [notebook.cells[i].id for i in left_out] == MARKED[name]
    release = nbformat.read(assignment.release_notebook(ROOT), as_version=4)
    assert [c.id for c in release.cells if is_demonstration(c)] == MARKED[name], "rebuild: lstm-course build"


# --------------------------------------------------------------------------- the sanitiser
@pytest.fixture()
def release() -> nbformat.NotebookNode:
    return nbformat.read(RELEASE, as_version=4)


def _flagged(notebook) -> list[str]:
    return [c.source for c in notebook.cells if is_demonstration(c)]


def test_the_sanitiser_takes_the_flags_from_the_release(release):
    clean, _ = sanitize(copy.deepcopy(release), release)
    assert _flagged(clean) == _flagged(release) and len(_flagged(release)) == 2


def test_a_students_flags_are_ignored_and_removing_them_changes_nothing(release):
    submitted = copy.deepcopy(release)
    for cell in submitted.cells:
        set_demonstration(cell, not is_demonstration(cell))   # off the demonstrations, onto every other cell
    added = nbformat.v4.new_code_cell("helper = 1")
    set_demonstration(added, True)
    submitted.cells.insert(3, added)
    clean, _ = sanitize(submitted, release)
    assert _flagged(clean) == _flagged(release)
    graded = [c for c in clean.cells if c.metadata.get("nbgrader", {}).get("grade_id")]
    assert not any(is_demonstration(c) for c in graded)


def test_an_edited_demonstration_is_the_students_code_and_runs(release):
    submitted = copy.deepcopy(release)
    cell = next(c for c in submitted.cells if is_demonstration(c))
    cell.source += "\nprint('mine')"
    clean, _ = sanitize(submitted, release)
    assert len(_flagged(clean)) == 1


def test_a_demonstration_a_students_later_cell_needs_runs(release):
    submitted = copy.deepcopy(release)
    keras_cell = next(i for i, c in enumerate(submitted.cells) if "import keras" in c.source)
    submitted.cells.insert(keras_cell + 1, nbformat.v4.new_code_cell("my_kernel = kernel * 2"))
    clean, _ = sanitize(submitted, release)
    flagged = _flagged(clean)
    assert len(flagged) == 1 and "import keras" not in flagged[0]


# --------------------------------------------------------------------------- the executor
@pytest.mark.notebook
def test_a_left_out_cell_gets_the_explanatory_output_and_the_rest_runs(tmp_path):
    from course_lib.grading.sandbox import SandboxedExecute

    config = Config()
    config.Sandbox.mode = "none"
    notebook = _notebook("x = 1", ("demo", "import no_such_module\nprint('shown')"), "print(x + 1)",
                         ("demo", "needed = 5"), "print(needed)")
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    resources = {"metadata": {"path": str(tmp_path)}}
    executed, resources = SandboxedExecute(config=config, timeout=60).preprocess(notebook, resources)
    assert not resources["lstm_course"]["problems"]
    left_out = executed.cells[1]
    assert left_out.execution_count is None and is_demonstration(left_out)
    assert [(o.output_type, o.name, o.text) for o in left_out.outputs] == [("stream", "stdout", NOT_RUN)]
    assert executed.cells[2].outputs[0].text == "2\n"
    # a flagged cell that a later one needs runs after all, and loses its flag
    assert executed.cells[3].execution_count is not None and not is_demonstration(executed.cells[3])
    assert executed.cells[4].outputs[0].text == "5\n"
    assert skipped_cells(executed.cells) == {1}, "the graded notebook flags exactly the cells left out"


# --------------------------------------------------------------------------- the probe without TensorFlow
def test_a_backward_that_imports_tensorflow_itself_counts_as_autodiff(monkeypatch):
    """01's comparison with Keras loaded TensorFlow before the backward tests; left out, a backward that imports
    it itself must still be caught, though its tapes cannot be counted."""
    from course_lib.grading.probe import autodiff_watch

    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    with autodiff_watch() as used:
        pass
    assert used["tapes"] == 0
    with autodiff_watch() as used:
        monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    assert used["tapes"] == 1
