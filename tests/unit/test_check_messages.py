"""What ``lstm-course check`` adds to the verdicts (course_lib/grading/self_check.py), on small graded notebooks
made here: the cell that failed where a function is not defined (whose exercise, the line, that line and the
error), and the model answer and rubric of a hand-graded cell once it is answered. The same, through real
grading, is in tests/grading/test_check_e2e.py.
"""
from __future__ import annotations

import nbformat
import pytest

from course_lib.grading.self_check import CellDiagnosis, solution_text, undefined_names, written_answer_report

#: what the probe says of a function it cannot find, as the grader's verdict words it today
PROBE_UNDEFINED = ("could not be checked: the grader's own step failed (NameError: `{name}` is not defined: run the "
                   "cell that defines it, and keep its name); this is not your code's fault, and your instructor "
                   "has been told.")


def _solution(grade_id: str, source: str, outputs=()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, "solution": True,
                                                                    "grade": False, "locked": False}})
    cell.outputs = list(outputs)
    return cell


def _test(exercise: str, verdict: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("# the hidden and visible tests", metadata={"nbgrader": {
        "grade_id": exercise, "solution": False, "grade": True, "points": 1, "locked": True}})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=verdict)]
    return cell


def _syntax_error(line: int, code: str) -> nbformat.NotebookNode:
    """An error output as ipykernel writes it for an unclosed parenthesis (colours and all)."""
    return nbformat.v4.new_output(
        "error", ename="SyntaxError", evalue=f"'(' was never closed (1430393755.py, line {line})",
        traceback=[f"  \x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[14]\x1b[39m\x1b[32m, line {line}\x1b[39m\n"
                   f"\x1b[31m    \x1b[39m\x1b[31m{code}\x1b[39m\n        ^\n"
                   "\x1b[31mSyntaxError\x1b[39m\x1b[31m:\x1b[39m '(' was never closed\n"])


def _runtime_error(ename: str, evalue: str, line: int) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[
        "\x1b[31m-----\x1b[39m", f"\x1b[31m{ename}\x1b[39m    Traceback (most recent call last)",
        f"\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m\x1b[32m, line {line}\x1b[39m\n---> {line} ...",
        f"\x1b[31m{ename}\x1b[39m: {evalue}"])


FORWARD = "def lstm_forward(x):\n    h_steps, caches = [], [](\n    return h_steps\n"
BACKWARD = "def lstm_backward(dh_seq, caches):\n    raise NotImplementedError()\n"


def _notebook(*cells) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=list(cells))


def _unclosed_paren_notebook() -> nbformat.NotebookNode:
    return _notebook(
        nbformat.v4.new_markdown_cell("# Assignment 01: an LSTM cell"),
        nbformat.v4.new_code_cell("import numpy as np"),
        nbformat.v4.new_markdown_cell("## Exercise 7: `lstm_forward` (2 points)\n\nRun the cell over time."),
        _solution("def_lstm_forward", FORWARD, [_syntax_error(2, "h_steps, caches = [], [](")]),
        _test("lstm_forward", "lstm_forward: 0 / 2 points\n"
                              f"  ✗ lstm_forward(x (2, 4, 3)): {PROBE_UNDEFINED.format(name='lstm_forward')}\n"
                              f"  ✗ lstm_forward leaves its arguments unchanged: "
                              f"{PROBE_UNDEFINED.format(name='lstm_forward')}\n"),
        nbformat.v4.new_markdown_cell("## Exercise 9: `lstm_backward` (3 points)"),
        _solution("def_lstm_backward", BACKWARD),
        _test("lstm_backward", "lstm_backward: 0 / 3 points\n"
                               f"  ✗ lstm_backward: dx: {PROBE_UNDEFINED.format(name='lstm_forward')}\n"
                               "  ✓ lstm_backward: dbias: correct\n"
                               "  Hint: walk t from T-1 down to 0.\n"),
    )


def _lines(notebook, exercise: str, diagnosis: CellDiagnosis | None = None) -> str:
    diagnosis = diagnosis or CellDiagnosis(notebook)
    verdict = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == exercise
                   and not c.metadata["nbgrader"]["solution"]).outputs[0].text
    return "\n".join(diagnosis.explain(exercise, verdict.splitlines()[1:]))


def test_an_unclosed_paren_is_shown_with_its_exercise_line_and_error():
    text = _lines(_unclosed_paren_notebook(), "lstm_forward")
    assert "Exercise 7 (lstm_forward)" in text, text
    assert "at line 2: SyntaxError: '(' was never closed" in text, text
    assert "2 | h_steps, caches = [], [](" in text, text
    # the kernel's file name is noise, and the probe's words blamed the grader
    assert "1430393755.py" not in text and "run the cell that defines it" not in text, text
    assert "grader's own step failed" not in text and "not your code's fault" not in text, text
    assert text.count("✗") == 1, f"one explanation for the checks that failed for one reason:\n{text}"


def test_a_later_exercise_is_told_an_earlier_cell_failed_not_blamed():
    notebook = _unclosed_paren_notebook()
    diagnosis = CellDiagnosis(notebook)
    _lines(notebook, "lstm_forward", diagnosis)
    text = _lines(notebook, "lstm_backward", diagnosis)
    assert "not judged: lstm_forward is not defined, because an earlier cell failed" in text, text
    assert "Exercise 7 (lstm_forward)" in text and "SyntaxError" in text and "(shown above)" in text, text
    assert "not at fault" in text, text
    assert "✓" not in text and "Hint:" not in text, f"only failures, and no hint for code not at fault:\n{text}"
    assert diagnosis.explained == {"lstm_forward"}


def test_a_failed_setup_cell_is_named_by_its_number_and_heading():
    notebook = _notebook(
        nbformat.v4.new_markdown_cell("# Assignment 01: an LSTM cell"),
        nbformat.v4.new_code_cell("import numpy as np\nimport matplotlib.pyplot as plt",
                                  outputs=[_runtime_error("ModuleNotFoundError", "No module named 'matplotlib'", 2)]),
        nbformat.v4.new_markdown_cell("## Exercise 1: `sigmoid` (1 point)"),
        _solution("def_sigmoid", "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"),
        _test("sigmoid", "sigmoid: 0 / 1 points\n  ✗ sigmoid(z (5,)) raised NameError: name 'np' is not defined.\n"
                         "  Hint: use np.exp.\n"),
    )
    text = _lines(notebook, "sigmoid")
    assert "np is not defined, because an earlier cell failed: code cell 1 (under “Assignment 01: an LSTM cell”)" \
           in text, text
    assert "at line 2: ModuleNotFoundError: No module named 'matplotlib'" in text, text
    assert "2 | import matplotlib.pyplot as plt" in text, text


def test_a_name_no_failed_cell_defines_says_to_define_it():
    verdict = f"sigmoid: 0 / 1 points\n  ✗ sigmoid(z): {PROBE_UNDEFINED.format(name='sigmoid')}\n"
    notebook = _notebook(_test("sigmoid", verdict))
    text = _lines(notebook, "sigmoid")
    assert "sigmoid is not defined when this test runs" in text and "define sigmoid" in text, text
    assert "grader's own step failed" not in text, text


def test_other_failures_and_their_hints_are_kept():
    notebook = _notebook(_solution("def_sigmoid", "def sigmoid(z):\n    return z\n"),
                         _test("sigmoid", "sigmoid: 0 / 1 points\n  ✓ sigmoid leaves its arguments unchanged: yes\n"
                                          "  ✗ sigmoid(z (5,)): z is wrong: at index [0] expected 0.5, got 0.\n"
                                          "  Hint: 1 / (1 + exp(-z)).\n"))
    assert _lines(notebook, "sigmoid").splitlines() == [
        "  ✗ sigmoid(z (5,)): z is wrong: at index [0] expected 0.5, got 0.", "  Hint: 1 / (1 + exp(-z))."]


def test_undefined_names_reads_both_wordings():
    assert undefined_names("NameError: `lstm_forward` is not defined: run...; NameError: name 'np' is not defined."
                           ) == ["lstm_forward", "np"]
    assert undefined_names("z is wrong: at index [0] expected 0.5, got 0.") == []


# --------------------------------------------------------------------------- written answers
SOURCE_ANSWER = ("### BEGIN SOLUTION\nA bias of 1 keeps the gate open.\nGradients flow.\n\n"
                 "**Rubric (2 points).** 1 point: open gate. 1 point: the bias block.\n### END SOLUTION")


def _answer(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(source, metadata={"nbgrader": {
        "grade_id": "forget_bias_answer", "solution": True, "grade": True, "points": 2}})


def test_solution_text_splits_the_model_answer_from_the_rubric():
    model, rubric = solution_text(_answer(SOURCE_ANSWER))
    assert model == "A bias of 1 keeps the gate open.\nGradients flow."
    assert rubric == "**Rubric (2 points).** 1 point: open gate. 1 point: the bias block."
    assert solution_text(_answer("### BEGIN SOLUTION\nJust an answer.\n### END SOLUTION")) == ("Just an answer.", "")


def test_an_answered_written_answer_is_followed_by_the_model_answer_and_the_rubric():
    mine = "\n".join(f"line {k} of my answer" for k in range(10))
    lines = written_answer_report(_answer(mine), _answer("YOUR ANSWER HERE"), _answer(SOURCE_ANSWER), 2)
    text = "\n".join(lines)
    assert lines[0].startswith("forget_bias_answer: 2 points, graded by hand"), text
    assert text.index("line 0 of my answer") < text.index("Model answer") < text.index("A bias of 1 keeps")
    assert text.index("A bias of 1 keeps") < text.index("**Rubric (2 points).**"), text
    assert "line 9 of my answer" not in text and "[… 4 more lines]" in text, f"only the first lines:\n{text}"
    assert "SOLUTION" not in text, text


@pytest.mark.parametrize("answer", ["YOUR ANSWER HERE", "  \n"])
def test_an_unanswered_written_answer_spoils_nothing(answer):
    text = "\n".join(written_answer_report(_answer(answer), _answer("YOUR ANSWER HERE"), _answer(SOURCE_ANSWER), 2))
    assert "not answered yet" in text, text
    assert "A bias of 1" not in text and "Rubric" not in text, text
