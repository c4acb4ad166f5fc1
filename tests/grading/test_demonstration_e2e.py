"""Demonstration cells left out of real grading (sandboxed kernel, verdicts, feedback) on a scratch copy of the
course: assignment 01's reference still gets full automatic marks with its comparison with Keras and its gate plot
not run, each of them says so in the graded notebook and the feedback, and a submission that moves the flags (off
the demonstrations, onto a solution and a test cell) is graded exactly the same: the flags come from the release.
The comparison with Keras was the only cell to load TensorFlow, which the probe's autodiff watch relied on: a
backward that imports it itself and opens a tape is still caught. ~40 s after a build of the scratch course.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from course_lib.grading.demonstration import NOT_RUN, is_demonstration, set_demonstration
from course_lib.grading.samples import Mistake, reference_submission, with_mistake, write_submission

from tests.grading.test_pipeline_e2e import (ASSIGNMENT, NOTEBOOK, ROW, copy_files, describe_run, feedback_html,
                                             grades_of, graded_notebook, lost, run_cli, tracked_files,
                                             verdict_texts)

pytestmark = pytest.mark.e2e

#: what 01's demonstrations are: the comparison with Keras (the only cell that imports TensorFlow), the gate plot
DEMONSTRATIONS = ("keras_compare", "plot_gates")
#: a backward that loads TensorFlow itself, inside the call the probe watches, and opens a tape
LAZY_TAPE = Mistake("lazy_tensorflow_tape", "lstm_cell_backward", '    tanh_c = cache["tanh_c"]\n',
                    '    tanh_c = cache["tanh_c"]\n    import tensorflow as tf\n    with tf.GradientTape():\n'
                    '        pass\n', costs=("lstm_cell_backward",), description="autodiff, TensorFlow imported late")
STUDENTS = ("reference", "tampered", "lazy-tape")


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A built scratch course with three submissions autograded: the reference as released, the reference with
    the demonstration flags moved by the student, and the reference with a late-imported autodiff tape."""
    root = tmp_path_factory.mktemp("course")
    copy_files(["nbgrader_config.py", *[f for f in tracked_files(("source/", "release/")) if "hidden" not in f]], root)
    built = run_cli(root, "build", ASSIGNMENT)
    assert built.returncode == 0, describe_run(built)
    reference = reference_submission(ROW.release_notebook(root), ROW.source_notebook(root))
    tampered = copy.deepcopy(reference)
    for cell in tampered.cells:
        if is_demonstration(cell):
            set_demonstration(cell, False)
        if cell.metadata.get("nbgrader", {}).get("grade_id") in ("def_lstm_forward", "lstm_forward"):
            set_demonstration(cell, True)
    for student, notebook in zip(STUDENTS, (reference, tampered, with_mistake(reference, LAZY_TAPE))):
        write_submission(root, student, ASSIGNMENT, NOTEBOOK, notebook)
    result = run_cli(root, "autograde", ASSIGNMENT, *[a for s in STUDENTS for a in ("--student", s)])
    assert result.returncode == 0, describe_run(result)
    return root


def test_the_release_marks_the_comparison_with_keras_and_the_gate_plot(graded):
    release = nbformat.read(ROW.release_notebook(graded), as_version=4)
    assert [c.id for c in release.cells if is_demonstration(c)] == list(DEMONSTRATIONS)


@pytest.mark.parametrize("student", ["reference", "tampered"])
def test_full_marks_without_the_demonstrations(graded, student):
    assert lost(grades_of(graded, student)) == []


@pytest.mark.parametrize("student", STUDENTS)
def test_only_the_released_demonstrations_are_left_out_and_say_so(graded, student):
    release = nbformat.read(ROW.release_notebook(graded), as_version=4)
    demonstrations = {c.source for c in release.cells if is_demonstration(c)}
    notebook = nbformat.read(graded_notebook(graded, student), as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    left_out = [c for c in code if c.source in demonstrations]
    assert len(left_out) == len(DEMONSTRATIONS)
    for cell in left_out:
        assert cell.execution_count is None
        assert [(o.output_type, o.get("text")) for o in cell.outputs] == [("stream", NOT_RUN)]
    ran = [c for c in code if c.source not in demonstrations]
    assert all(c.execution_count is not None for c in ran), "every other code cell ran, the tampered ones too"
    assert not any(NOT_RUN in str(c.outputs) for c in ran)
    assert "largest difference from Keras" not in "\n".join(str(c.outputs) for c in code)


def test_the_feedback_says_why_a_demonstration_has_no_output(graded):
    html = feedback_html(graded, "reference").read_text(encoding="utf-8")
    assert html.count(NOT_RUN.strip()) == len(DEMONSTRATIONS)


def test_a_backward_that_imports_tensorflow_itself_is_still_caught(graded):
    grades = grades_of(graded, "lazy-tape")
    assert grades["lstm_cell_backward"][0] == 0
    assert "used automatic differentiation" in verdict_texts(graded, "lazy-tape")["lstm_cell_backward"]
