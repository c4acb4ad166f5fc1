"""``lstm-course check`` through real grading (sandboxed kernel, verdicts, graded notebook) on a scratch copy of the
course: a cell that failed is named where a function is undefined (its exercise, the line, that line and the
SyntaxError), later exercises are told an earlier cell failed, and a written answer is followed by the model answer
and the rubric once it is answered. ~15 s per check, after a build of the scratch course.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_lib.grading.samples import Mistake, reference_submission, with_mistake

from tests.grading.test_pipeline_e2e import (ASSIGNMENT, NOTEBOOK, ROW, copy_files, describe_run, run_cli,
                                             tracked_files)

pytestmark = pytest.mark.e2e

UNCLOSED = Mistake("unclosed_paren", "lstm_forward", "h_steps, caches = [], []", "h_steps, caches = [], [](",
                   costs=("lstm_forward",), description="an unclosed parenthesis: the cell does not compile")
SIGMOID_UNCLOSED = Mistake("sigmoid_unclosed_paren", "sigmoid", "z = np.asarray(z)", "z = np.asarray(z",
                           costs=(), description="an unclosed parenthesis in the first exercise")
#: what the probe's NameError said, blaming the grader or the function under test
MISLEADING = ("not defined: run the cell", "grader's own step failed", "not your code's fault")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("course")
    copy_files(["nbgrader_config.py", *[f for f in tracked_files(("source/", "release/")) if "hidden" not in f]], root)
    built = run_cli(root, "build", ASSIGNMENT)
    assert built.returncode == 0, describe_run(built)
    return root


def _check(course: Path, notebook: nbformat.NotebookNode, folder: Path) -> str:
    folder.mkdir()
    path = folder / f"{NOTEBOOK}.ipynb"
    nbformat.write(notebook, path)
    result = run_cli(course, "check", str(path), cwd=folder)
    assert result.returncode == 0 and "Traceback" not in result.stderr, describe_run(result)
    return result.stdout


def _sections(report: str) -> dict[str, str]:
    """The report's lines under each exercise's head line (``exercise: ...`` at the start of a line)."""
    sections, current = {}, None
    for line in report.splitlines():
        head = re.match(r"^(\w+): ", line)
        if head:
            current = head.group(1)
            sections[current] = line
        elif current:
            sections[current] += "\n" + line
    return sections


def _line_of(notebook: nbformat.NotebookNode, function: str, text: str) -> int:
    cell = next(c for c in notebook.cells if c.cell_type == "code" and f"def {function}(" in c.source)
    return next(n for n, line in enumerate(cell.source.splitlines(), 1) if text in line)


def test_an_unclosed_paren_is_named_with_its_exercise_line_and_error(course, tmp_path):
    release = nbformat.read(ROW.release_notebook(course), as_version=4)
    notebook = with_mistake(reference_submission(ROW.release_notebook(course), ROW.source_notebook(course)), UNCLOSED)
    # as a learner part-way through: lstm_backward and the written answer untouched
    untouched = {c.metadata["nbgrader"]["grade_id"]: c.source for c in release.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") in ("def_lstm_backward", "forget_bias_answer")}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in untouched:
            cell.source = untouched[grade_id]
    report = _check(course, notebook, tmp_path / "unclosed")
    sections = _sections(report)
    forward = sections["lstm_forward"]
    line = _line_of(notebook, "lstm_forward", UNCLOSED.new)
    assert "Exercise 7 (lstm_forward)" in forward, report
    assert f"at line {line}: SyntaxError: '(' was never closed" in forward, report
    assert f"{line} | {UNCLOSED.new}" in forward, f"the offending line is not shown:\n{report}"
    misleading = [m for m in MISLEADING if m in report]
    assert not misleading, f"the report still says {misleading}:\n{report}"
    # the untouched backward pass is judged as what it is, and the unanswered written answer spoils nothing
    assert "NotImplementedError" in sections["lstm_backward"], report
    assert "not answered yet" in sections["forget_bias_answer"] and "Model answer" not in report, report


def test_later_exercises_are_told_an_earlier_cell_failed_and_the_model_answer_follows(course, tmp_path):
    reference = reference_submission(ROW.release_notebook(course), ROW.source_notebook(course))
    notebook = with_mistake(reference, SIGMOID_UNCLOSED)
    report = _check(course, notebook, tmp_path / "sigmoid")
    sections = _sections(report)
    line = _line_of(notebook, "sigmoid", SIGMOID_UNCLOSED.new)
    assert f"at line {line}: SyntaxError" in sections["sigmoid"] and "Exercise 1 (sigmoid)" in sections["sigmoid"]
    for exercise in ("forget_gate", "lstm_cell_forward"):
        assert "because an earlier cell failed" in sections[exercise], report
        assert "Exercise 1 (sigmoid)" in sections[exercise] and "not at fault" in sections[exercise], report
        assert "Hint:" not in sections[exercise], f"a hint for code that is not at fault:\n{report}"
    misleading = [m for m in MISLEADING if m in report]
    assert not misleading, f"the report still says {misleading}:\n{report}"
    # the written answer (the reference's) is followed by the model answer and the rubric of the source notebook
    written = sections["forget_bias_answer"]
    source_cell = next(c for c in nbformat.read(ROW.source_notebook(course), as_version=4).cells
                       if c.metadata.get("nbgrader", {}).get("grade_id") == "forget_bias_answer")
    model_first = source_cell.source.split("### BEGIN SOLUTION", 1)[1].strip().splitlines()[0]
    assert written.index("Your answer:") < written.index("Model answer") < written.index("How it is graded:"), report
    assert model_first in written.split("Model answer", 1)[1], f"the model answer is not printed:\n{report}"
    assert "Rubric (2 points)" in written.split("How it is graded:", 1)[1], report
