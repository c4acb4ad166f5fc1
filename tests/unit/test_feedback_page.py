"""The students' feedback page and the verdicts on it: short lines, no hidden-test source, no bare score, no
script, equations as MathML; and a visible test that fails because of another exercise explained at the top,
naming the function at fault and the exercise that is charged for it.

The page test grades in this process (the probe on a sample mistake, then the course's ``ApplyVerdicts`` and
nbgrader's ``SaveAutoGrades``) and renders with nbgrader's own ``GenerateFeedback`` under the course's
configuration: what a student gets, without a kernel.
"""
from __future__ import annotations

import copy
import html
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading.checks import Check, load_suite
from course_lib.grading.course import load_config, nbgrader_api
from course_lib.grading.feedback_page import FeedbackExporter
from course_lib.grading.hidden_tests import HIDDEN_DIR, HIDDEN_TESTS_FILE, build_hidden_tests, judge_namespace
from course_lib.grading.html_safety import html_safety_config, safe_markdown2html
from course_lib.grading.probe import REPORT_MIME, evaluate_requests
from course_lib.grading.verdicts import (VERDICT_WIDTH, ApplyVerdicts, CheckVerdict, ExerciseVerdict,
                                         exercise_labels, trace_mistakes_elsewhere, unwrapped)
from course_lib.grading.wire import PROTOCOL
from tests.fairness.variants import VARIANTS, namespace_for

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = get_assignment("01_lstm_gates")
LABELS = exercise_labels(nbformat.read(ASSIGNMENT.source_notebook(ROOT), as_version=4))
#: a mistake in the cell alone: the loop and both backward passes are credited around it
# nbgrader 0.9.6's gradebook warns about its own session use (SQLAlchemy 2); harmless, see course_lib.cli
pytestmark = pytest.mark.filterwarnings("ignore:.*not in session, add operation along")
CELL_MISTAKE = next(v for v in VARIANTS if v.name == "cell_cs231n_block_order")


@pytest.fixture(scope="module")
def built() -> dict:
    return json.loads(json.dumps(build_hidden_tests(ROOT, ASSIGNMENT)))


@pytest.fixture(scope="module")
def expected(built) -> dict:
    return built["notebooks"][ASSIGNMENT.notebook]["exercises"]


def traced(variant, expected, visible_failed=True) -> dict[str, ExerciseVerdict]:
    """The variant's verdicts as ApplyVerdicts leaves them: traced in notebook order, a visible test failed."""
    verdicts = judge_namespace(ROOT, ASSIGNMENT, namespace_for(variant), expected)
    done: dict[str, ExerciseVerdict] = {}
    for exercise, verdict in verdicts.items():
        verdict.visible_failed = visible_failed
        trace_mistakes_elsewhere(verdict, done, LABELS)
        done[exercise] = verdict
    return done


# --------------------------------------------------------------------------- short lines
def test_verdict_lines_fit_the_page_for_every_variant(expected):
    for variant in VARIANTS:
        for exercise, verdict in traced(variant, expected).items():
            for line in verdict.text().splitlines():
                assert len(line) <= VERDICT_WIDTH, f"{variant.name} {exercise}:\n{line}"


def test_unwrapping_gives_back_one_line_per_item(expected):
    variant = next(v for v in VARIANTS if v.costs)
    for verdict in traced(variant, expected).values():
        items = unwrapped(verdict.text()).splitlines()
        assert items[0].startswith(verdict.exercise + ":")
        assert all(re.match(r"  (✓|✗|Hint:|Note:|\[verdict)", line) for line in items[1:]), items
        assert len(items) - 1 >= len(verdict.checks)


def _check_verdict(message: str, passed: bool = False, credited: str = "") -> CheckVerdict:
    return CheckVerdict(Check("x/y", "x", "r", "x(...)", "outputs"), passed, message, credited_with=credited)


def test_long_names_shapes_and_numbers_wrap_without_being_split():
    name = "an_exercise_with_a_rather_long_function_name_for_its_grade_cell"
    message = (f"{name}(x_t (3, 4) float32, h_prev (3, 5) float32, c_prev (3, 5) float32, kernel (4, 20) float32, "
               "recurrent_kernel (5, 20) float32, bias (20,) float32): h_t is wrong: at index [0, 4] expected "
               "-0.0078478, got -0.422905 (largest difference 0.42; tolerance 1e-05 + 0.0001·|expected|); "
               "shapes (batch, T, input_dim) and (batch, units) as documented")
    path = "/a/very/long/path/" + "x" * 120 + ".py"   # longer than a line: the one word that may be cut
    verdict = ExerciseVerdict(name, 0, 2, checks=[_check_verdict(message), _check_verdict(f"raised in {path}")],
                              problem="p " * 60)
    text = verdict.text()
    assert all(len(line) <= VERDICT_WIDTH for line in text.splitlines()), text
    assert unwrapped(text).splitlines()[1] == "  ✗ " + ("p " * 60).strip()
    assert unwrapped(text).splitlines()[2] == "  ✗ " + message, "wrapping adds and drops nothing"
    lines = text.splitlines()
    for group in ["(3, 4)", "(3, 5)", "(4, 20)", "(5, 20)", "(batch, T, input_dim)", "(batch, units)", "[0, 4]"]:
        assert any(group in line for line in lines), f"{group} was split:\n{text}"
    for number in ["-0.0078478", "-0.422905", "1e-05", "0.0001·|expected|", "0.42;"]:
        assert any(number in line for line in lines), f"{number} was split:\n{text}"
    assert lines[2].startswith("    p") and lines[4].startswith("    h_prev"), "continuations hang under the text"


# --------------------------------------------------------------------------- a visible test failed elsewhere
def test_a_visible_failure_caused_by_an_earlier_function_is_explained_first(expected):
    verdicts = traced(CELL_MISTAKE, expected)
    assert verdicts["lstm_cell_forward"].points < verdicts["lstm_cell_forward"].max_points
    assert "Note:" not in verdicts["lstm_cell_forward"].text(), "its own mistake is not explained away"
    for exercise in ("lstm_forward", "lstm_cell_backward", "lstm_backward"):
        verdict = verdicts[exercise]
        assert verdict.points == verdict.max_points and any(c.credited_with for c in verdict.checks)
        lines = verdict.text().splitlines()
        note = unwrapped(verdict.text()).splitlines()[1]
        assert lines[1].startswith("  Note: The visible test in this cell failed, but not because of this"), lines
        assert "it calls your lstm_cell_forward, which has a mistake (charged in Exercise 6)." in note, note
        assert note.endswith("This exercise earns its points."), note
        assert all(len(line) <= VERDICT_WIDTH for line in lines)


def test_a_mistake_is_traced_through_exercises_credited_around_it(expected):
    variant = next(v for v in VARIANTS if v.name == "sigmoid_sign_error")
    verdicts = traced(variant, expected)
    for exercise in ("forget_gate", "lstm_cell_forward", "lstm_forward", "lstm_backward"):
        assert verdicts[exercise].mistakes_elsewhere == {"sigmoid": "Exercise 1"}, exercise
        assert "it calls your sigmoid, which has a mistake (charged in Exercise 1)" in \
            unwrapped(verdicts[exercise].text())


def test_no_note_where_the_visible_test_passed_or_nothing_was_credited(expected):
    verdicts = traced(CELL_MISTAKE, expected, visible_failed=False)
    assert not any("Note:" in v.text() for v in verdicts.values())
    reference = next(v for v in VARIANTS if not v.costs)
    assert not any("Note:" in v.text() for v in traced(reference, expected).values()), "nothing credited"


def test_a_partly_wrong_exercise_is_not_said_to_be_blameless():
    verdict = ExerciseVerdict("loop", 1, 2, checks=[
        _check_verdict("loop(x): consistent with your own cell (its mistake is charged there)", True, "your own cell"),
        _check_verdict("loop(x) with h0: h_T is wrong")],
        visible_failed=True, mistakes_elsewhere={"cell": "Exercise 6"})
    note = unwrapped(verdict.text()).splitlines()[1]
    assert "not only because of this function: it calls your cell, which has a mistake (charged in Exercise 6)" \
        in note and "earns its points" not in note, note


def test_without_a_known_culprit_the_note_says_what_the_exercise_was_judged_with():
    verdict = ExerciseVerdict("loop", 2, 2, checks=[_check_verdict("ok", True, "a stand-in for cell_backward")],
                              visible_failed=True)
    note = unwrapped(verdict.text()).splitlines()[1]
    assert "judged this exercise with a stand-in for cell_backward" in note and note.endswith("earns its points.")


def test_several_culprits_are_named_with_their_exercises():
    verdict = ExerciseVerdict("cell", 2, 2, checks=[_check_verdict("ok", True, "your own gate functions")],
                              visible_failed=True,
                              mistakes_elsewhere={"forget_gate": "Exercise 2", "output_gate": "Exercise 5"})
    assert "it calls your forget_gate and output_gate, which have mistakes (charged in Exercises 2 and 5)" in \
        unwrapped(verdict.text())


def test_exercise_labels_follow_the_notebooks_headings():
    assert LABELS == {"sigmoid": "Exercise 1", "forget_gate": "Exercise 2", "input_gate": "Exercise 3",
                      "candidate_cell": "Exercise 4", "output_gate": "Exercise 5", "lstm_cell_forward": "Exercise 6",
                      "lstm_forward": "Exercise 7", "lstm_cell_backward": "Exercise 8", "lstm_backward": "Exercise 9"}
    grade = {"nbgrader": {"grade": True, "solution": False, "grade_id": "extra", "points": 1}}
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## Exercise 3: `f` (1 point)\n\n### Details"),
        nbformat.v4.new_code_cell("", metadata=copy.deepcopy(grade)),
        nbformat.v4.new_markdown_cell("## Something else"),
        nbformat.v4.new_code_cell("", metadata={"nbgrader": {**grade["nbgrader"], "grade_id": "later"}})])
    assert exercise_labels(notebook) == {"extra": "Exercise 3"}, "a section that is no exercise ends the exercise"


# --------------------------------------------------------------------------- the page, through nbgrader
HOSTILE_MARKDOWN = r"""Notes: $\href{javascript:alert(1)}{x}$ and $\text{<img src=x onerror=alert(1)>}$ and
$\frac{1}{$ and $<script>alert(1)</script>$."""


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def _kernel_run(notebook: nbformat.NotebookNode, namespace: dict) -> nbformat.NotebookNode:
    """The notebook as the kernel leaves it: each test cell holds the probe's report (evaluated here, on
    ``namespace``) and, where the visible test fails, the error it raised."""
    suite = load_suite(ASSIGNMENT.stem)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        exercise = meta["grade_id"]
        results = json.loads(json.dumps(evaluate_requests(namespace, suite.requests(exercise), suite.ops)))
        payload = {"protocol": PROTOCOL, "suite": ASSIGNMENT.stem, "exercise": exercise, "results": results}
        cell.execution_count = 1
        cell.outputs = [nbformat.v4.new_output("display_data", data={REPORT_MIME: payload, "text/plain": "[report]"})]
        if exercise == "lstm_forward":
            cell.outputs.append(nbformat.v4.new_output("error", ename="AssertionError", evalue="h_T: expected 0.24",
                                                       traceback=[]))
    notebook.cells.append(nbformat.v4.new_markdown_cell(HOSTILE_MARKDOWN))
    return notebook


@pytest.fixture(scope="module")
def feedback_page(tmp_path_factory, built) -> str:
    """The feedback page nbgrader's GenerateFeedback writes, under the course's configuration, for a submission
    with a mistake in lstm_cell_forward (graded in this process)."""
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import SaveAutoGrades

    root = tmp_path_factory.mktemp("course")
    source = root / "source" / ASSIGNMENT.name
    (source / HIDDEN_DIR).mkdir(parents=True)
    shutil.copy(ASSIGNMENT.source_notebook(ROOT), source / f"{ASSIGNMENT.notebook}.ipynb")
    (source / HIDDEN_DIR / HIDDEN_TESTS_FILE).write_text(json.dumps(built))
    config = load_config(ROOT)
    config.CourseDirectory.root = str(root)
    config.Exchange.root = str(root / "exchange")
    api = nbgrader_api(root, config)
    assert api.generate_assignment(ASSIGNMENT.name, force=True, create=True)["success"]

    notebook = _kernel_run(nbformat.read(source / f"{ASSIGNMENT.notebook}.ipynb", as_version=4),
                           namespace_for(CELL_MISTAKE))
    resources = {"nbgrader": {"assignment": ASSIGNMENT.name, "notebook": ASSIGNMENT.notebook, "student": "s1",
                              "db_url": api.coursedir.db_url}}
    with Gradebook(api.coursedir.db_url) as gradebook:
        gradebook.add_student("s1")
        gradebook.add_submission(ASSIGNMENT.name, "s1")
    notebook, resources = ApplyVerdicts(config=config).preprocess(notebook, resources)
    notebook, resources = SaveAutoGrades(config=config).preprocess(notebook, resources)
    graded = root / "autograded" / "s1" / ASSIGNMENT.name
    graded.mkdir(parents=True)
    nbformat.write(notebook, graded / f"{ASSIGNMENT.notebook}.ipynb")

    result = api.generate_feedback(ASSIGNMENT.name, "s1", force=True)
    assert result["success"], result.get("log")
    return (root / "feedback" / "s1" / ASSIGNMENT.name / f"{ASSIGNMENT.notebook}.html").read_text()


def test_the_feedback_page_shows_verdicts_not_hidden_tests(feedback_page):
    assert "BEGIN HIDDEN TESTS" not in feedback_page and "report_values" not in feedback_page
    assert "sigmoid: 1 / 1 points" in feedback_page and "lstm_cell_forward: 0 / 2 points" in feedback_page
    # 15 automatic points, less lstm_cell_forward's 2; the written answer (2) is not graded yet
    assert "Score: 13.0 / 17.0" in feedback_page
    assert not re.search(r"Out\[\d*\]", feedback_page), "the bare score nbgrader reads is not shown"
    assert "Note: The visible test in this cell failed, but not because of this function: it calls\n" \
           "        your lstm_cell_forward, which has a mistake (charged in Exercise 6)." in feedback_page


def test_the_feedback_page_loads_no_script_and_wraps_its_output(feedback_page):
    tags = _Tags()
    tags.feed(feedback_page)
    assert not [attrs for tag, attrs in tags.tags if tag == "script"], "no script at all, MathJax included"
    assert not re.search(r"cdnjs|mathjax[^\s\"']*\.js", feedback_page, re.IGNORECASE)
    assert re.search(r"pre\b[^{]*\{[^}]*white-space:\s*pre-wrap", feedback_page), "verdicts and outputs wrap"
    verdicts = [html.unescape(re.sub(r"<[^>]+>", "", pre)) for pre in re.findall(r"<pre>(.*?)</pre>", feedback_page,
                                                                                  re.DOTALL) if " points\n" in pre]
    assert len(verdicts) == 9, "one verdict per test cell"
    assert all(len(line) <= VERDICT_WIDTH for verdict in verdicts for line in verdict.splitlines())


def test_the_feedback_pages_equations_are_mathml(feedback_page):
    assert feedback_page.count("<math") >= 40, "the notebook's equations"
    assert "<mtable" in feedback_page and "<mtr>" in feedback_page, "the aligned LSTM equations stay in rows"
    assert "$$" not in feedback_page and "\\begin{aligned}" not in feedback_page
    tags = _Tags()
    tags.feed(feedback_page)
    for tag, attrs in tags.tags:
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        assert not any(v.strip().lower().startswith("javascript:") for v in attrs.values()), (tag, attrs)
        assert tag not in ("maction", "semantics", "annotation-xml", "iframe")
    assert "$\\frac{1}{$" in feedback_page, "TeX that cannot be converted stays as text"
    assert re.search(r"<mtext>&lt;img.src=x.onerror=alert\(1\)&gt;</mtext>", feedback_page), "\\text{} is escaped"


def test_the_course_configuration_selects_the_feedback_exporter():
    from nbgrader.converters import GenerateFeedback

    config = load_config(ROOT)
    app = GenerateFeedback(config=config)
    exporter = app.exporter_class(config=app.config)
    assert isinstance(exporter, FeedbackExporter) and exporter.template_name == "lstm_feedback"


def test_the_exporter_alone_hides_test_sources_and_scores():
    """The template on a hand-made graded notebook: what nbgrader's feedback template would show is gone."""
    notebook = nbformat.read(ASSIGNMENT.source_notebook(ROOT), as_version=4)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["score"] = meta.get("points", 0)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
                            nbformat.v4.new_output("stream", name="stdout", text=f"{meta['grade_id']}: verdict\n")]
    resources = {"nbgrader": {"notebook": ASSIGNMENT.notebook, "score": 15, "max_score": 17, "late_penalty": 0}}
    html, _ = FeedbackExporter(config=html_safety_config()).from_notebook_node(notebook, resources=resources)
    assert "sigmoid: verdict" in html and "Score: 15.0 / 17.0" in html
    assert "BEGIN HIDDEN TESTS" not in html and "report_values" not in html
    assert not re.search(r"Out\[\d*\]", html)


@pytest.mark.parametrize("hostile", [r"$\href{javascript:alert(1)}{x}$", r"$<script>alert(1)</script>$",
                                     r"$$\unknowncommand{<img src=x onerror=alert(1)>}$$",
                                     r"$\text{<img src=x onerror=alert(1)>}$",
                                     r"$\text{</math><script>alert(1)</script>}$",
                                     r"$\style{background:url(javascript:alert(1))}{x}\color{red}{y}$",
                                     r"$$\begin{aligned} a &= \href{javascript:alert(1)}{b} \end{aligned}$$",
                                     "$x$<math><maction actiontype='x' href='javascript:alert(1)'>y</maction></math>",
                                     "<math><semantics><annotation-xml encoding='text/html'><img src=x "
                                     "onerror=alert(1)></annotation-xml></semantics></math>"])
def test_math_in_student_markdown_stays_inert(hostile):
    html = safe_markdown2html({}, hostile)
    tags = _Tags()
    tags.feed(html)
    for tag, attrs in tags.tags:
        assert tag not in ("script", "maction", "semantics", "annotation-xml"), html
        assert not [k for k in attrs if k.startswith("on") or k in ("style", "href", "mathcolor")], (tag, html)
    assert "javascript:" not in "".join(v for _, attrs in tags.tags for v in attrs.values()), html
