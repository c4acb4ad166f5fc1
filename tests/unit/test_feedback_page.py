"""The students' feedback page and the verdicts on it: short lines, no hidden-test source, no bare score, no
script, equations as MathML; and a visible test that fails because of another exercise explained at the top."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from course_lib.assignments.registry import get_assignment
from course_lib.grading.feedback_page import FeedbackExporter
from course_lib.grading.hidden_tests import build_hidden_tests, judge_namespace
from course_lib.grading.html_safety import html_safety_config, safe_markdown2html
from course_lib.grading.verdicts import VERDICT_WIDTH, unwrapped
from tests.fairness.variants import VARIANTS, namespace_for

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = get_assignment("01_lstm_gates")


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(json.dumps(build_hidden_tests(ROOT, ASSIGNMENT)))["notebooks"][ASSIGNMENT.notebook]["exercises"]


def test_verdict_lines_fit_the_page_for_every_variant(expected):
    for variant in VARIANTS:
        for exercise, verdict in judge_namespace(ROOT, ASSIGNMENT, namespace_for(variant), expected).items():
            verdict.visible_failed = True
            for line in verdict.text().splitlines():
                assert len(line) <= VERDICT_WIDTH or " " not in line.strip(), f"{variant.name} {exercise}:\n{line}"


def test_unwrapping_gives_back_one_line_per_item(expected):
    variant = next(v for v in VARIANTS if v.costs)
    for verdict in judge_namespace(ROOT, ASSIGNMENT, namespace_for(variant), expected).values():
        items = unwrapped(verdict.text()).splitlines()
        assert items[0].startswith(verdict.exercise + ":")
        assert all(re.match(r"  (✓|✗|Hint:|Note:|\[verdict)", line) for line in items[1:]), items
        assert len(items) - 1 >= len(verdict.checks)


def test_a_visible_failure_caused_elsewhere_is_explained_first(expected):
    variant = next(v for v in VARIANTS if "lstm_cell_forward" in v.costs and "lstm_forward" not in v.costs)
    verdict = judge_namespace(ROOT, ASSIGNMENT, namespace_for(variant), expected)["lstm_forward"]
    assert verdict.points == verdict.max_points and any(c.credited_with for c in verdict.checks)
    assert "Note:" not in verdict.text(), "no visible failure, nothing to explain"
    verdict.visible_failed = True
    second = unwrapped(verdict.text()).splitlines()[1]
    assert second.startswith("  Note: the visible test in this cell failed, but not because of lstm_forward")
    assert "your own lstm_cell_forward" in second


def _graded_like(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The source notebook as GetGrades leaves a graded one: scores on graded cells, a verdict under test cells."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["score"] = meta.get("points", 0)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
                            nbformat.v4.new_output("stream", name="stdout", text=f"{meta['grade_id']}: verdict\n")]
    return notebook


def test_the_feedback_page_shows_verdicts_not_hidden_tests_or_script():
    config = html_safety_config()
    source = nbformat.read(ASSIGNMENT.source_notebook(ROOT), as_version=4)
    resources = {"nbgrader": {"notebook": ASSIGNMENT.notebook, "score": 15, "max_score": 17, "late_penalty": 0}}
    html, _ = FeedbackExporter(config=config).from_notebook_node(_graded_like(source), resources=resources)
    assert "sigmoid: verdict" in html and "Score: 15.0 / 17.0" in html
    assert "BEGIN HIDDEN TESTS" not in html and "report_values" not in html
    assert not re.search(r"Out\[\d*\]", html), "the bare score nbgrader reads is not shown"
    assert "<script" not in html and not re.search(r"src=[^>]*mathjax", html, re.IGNORECASE)
    assert html.count("<math") >= 10, "the notebook's equations are MathML"
    assert "pre-wrap" in html


def test_the_course_configuration_selects_the_feedback_exporter():
    from course_lib.grading.course import load_config
    from nbgrader.converters import GenerateFeedback

    config = load_config(ROOT)
    app = GenerateFeedback(config=config)
    exporter = app.exporter_class(config=app.config)
    assert isinstance(exporter, FeedbackExporter) and exporter.template_name == "lstm_feedback"


@pytest.mark.parametrize("hostile", [r"$\href{javascript:alert(1)}{x}$", r"$<script>alert(1)</script>$",
                                     r"$$\unknowncommand{<img src=x onerror=alert(1)>}$$",
                                     "$x$<math><maction actiontype='x' href='javascript:alert(1)'>y</maction></math>"])
def test_math_in_student_markdown_stays_inert(hostile):
    html = safe_markdown2html({}, hostile)
    assert not re.search(r"<(script|img|maction)\b", html) and not re.search(r"<[^>]*javascript:", html), html
    assert not re.search(r"\son\w+=", html), html
