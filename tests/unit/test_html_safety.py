"""Student markdown and outputs are inert in the HTML the grader writes (course_lib.grading.html_safety).

The end-to-end test grades a tiny scratch course with nbgrader (autograde, then generate_feedback) under the
configuration lines nbgrader_config.py carries, and renders the graded notebook as the Formgrader does.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import nbgrader
import pytest
from nbconvert.exporters import HTMLExporter
from traitlets.config.loader import PyFileConfigLoader

from course_lib.grading.html_safety import clean_student_html, html_safety_config

ATTACK = """## My notes

The gate is $\\sigma(x)$ and `f = sigmoid(z)` is *fine*.

<script>alert(1)</script>

<img src=x onerror=alert(1)>

[a link](javascript:alert(1))

<iframe src="https://example.com/phish"></iframe>

<a href="javascript:alert(1)">raw link</a> <b onmouseover="alert(1)">bold</b>
"""
OUTPUTS = """from IPython.display import HTML, Javascript, Markdown, display
display(HTML('<b>out</b><script>alert(2)</script><img src=y onerror=alert(2)>'))
display(Javascript('alert(3)'))
display(Markdown('**md out**\\n\\n<iframe src="https://example.com/x"></iframe>'))
"""
#: What nbgrader_config.py must say (loaded here by PyFileConfigLoader, like the course's own file).
CONFIG_LINES = """
from course_lib.grading.html_safety import html_safety_config
c.merge(html_safety_config())
"""
FORMGRADER_TEMPLATES = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside each <script>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def assert_inert(html: str) -> None:
    """No student script, handler, frame or javascript: URL is live in ``html``; the attempts show as text."""
    parsed = _Elements()
    parsed.feed(html)
    assert not any("alert(" in script for script in parsed.scripts), "a student's script is live"
    assert not [t for t, _ in parsed.tags if t in ("iframe", "object", "embed", "form")]
    for tag, attrs in parsed.tags:
        # the Formgrader's own template has onclick handlers; the student's all call alert()
        assert not [k for k, v in attrs.items() if k.startswith("on") and "alert" in v], f"<{tag}> handler: {attrs}"
        for key in ("href", "src"):
            assert not attrs.get(key, "").strip().lower().startswith("javascript:"), f"<{tag} {key}=javascript:>"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, "the attempt is shown to the reader as text"


def assert_markdown_renders(html: str) -> None:
    assert '<h2 id="My-notes">My notes' in html
    assert "$\\sigma(x)$" not in html and "<math" in html, "math is MathML, readable without MathJax"
    assert "<code>f = sigmoid(z)</code>" in html and "<em>fine</em>" in html


# --------------------------------------------------------------------------- the cleaner alone
@pytest.mark.parametrize("dangerous", [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:alert(1)">x</a>',
    '<iframe src="https://e.com"></iframe>', '<svg onload="alert(1)"></svg>', '<a href="data:text/html,<b>">x</a>',
    '<div style="position:fixed">x</div>', '<form action="https://e.com"><input></form>',
])
def test_cleaner_leaves_nothing_live(dangerous):
    assert_inert(clean_student_html(dangerous) + "&lt;script&gt;alert(1)&lt;/script&gt;")
    assert "style=" not in clean_student_html(dangerous)


def test_cleaner_keeps_markdown_markup():
    html = ('<h1 id="T">T<a class="anchor-link" href="#T">¶</a></h1><p>a <em>b</em> <code>c</code></p>'
            '<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>'
            '<div class="highlight"><pre><span class="k">def</span></pre></div>'
            '<img src="data:image/png;base64,AAAA" alt="p">')
    assert clean_student_html(html) == html


def test_cleaner_drops_lookalike_classes():
    assert clean_student_html('<div class="panel panel-primary">Score: 10 / 10</div>') == "<div>Score: 10 / 10</div>"


# --------------------------------------------------------------------------- nbgrader, end to end
def _scratch_course(tmp_path: Path):
    root = tmp_path / "course"
    source = root / "source" / "a1"
    source.mkdir(parents=True)
    meta = {"schema_version": 3, "locked": False}
    cells = [
        nbformat.v4.new_markdown_cell("# Assignment\n\nCompute $x^2$."),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", metadata={"nbgrader": {
            **meta, "solution": True, "grade": False, "grade_id": "answer"}}),
        nbformat.v4.new_code_cell("assert answer == 42", metadata={"nbgrader": {
            **meta, "solution": False, "grade": True, "grade_id": "check", "points": 1, "locked": True}}),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(notebook, source / "a1.ipynb")
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\nc.CourseDirectory.course_id = 'scratch'\n"
        + CONFIG_LINES)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    return root, config, api


def test_config_lines_load_as_the_helper_says(tmp_path):
    _, config, _ = _scratch_course(tmp_path)
    assert config.HTMLExporter == html_safety_config().HTMLExporter


@pytest.mark.notebook
# nbgrader 0.9.6's autograde warns about its own session use (SQLAlchemy 2); harmless, see course_lib.cli
@pytest.mark.filterwarnings("ignore:.*not in session, add operation along")
def test_feedback_and_formgrader_html_are_inert(tmp_path, monkeypatch):
    # nbgrader runs its environment's `alembic` executable on the gradebook
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.chdir(tmp_path)
    root, config, api = _scratch_course(tmp_path)
    assert api.generate_assignment("a1", force=True, create=True)["success"]
    submitted = root / "submitted" / "student1" / "a1"
    submitted.mkdir(parents=True)
    notebook = nbformat.read(root / "release" / "a1" / "a1.ipynb", as_version=4)
    notebook.cells[1].source = "answer = 42"
    notebook.cells += [nbformat.v4.new_markdown_cell(ATTACK), nbformat.v4.new_code_cell(OUTPUTS)]
    nbformat.write(notebook, submitted / "a1.ipynb")
    assert api.autograde("a1", "student1", force=True, create=True)["success"]
    result = api.generate_feedback("a1", "student1", force=True)
    assert result["success"], result.get("log")
    feedback = (root / "feedback" / "student1" / "a1" / "a1.html").read_text()
    assert_inert(feedback)
    assert_markdown_renders(feedback)
    assert "<b>out</b>" in feedback and "<strong>md out</strong>" in feedback, "safe output markup still renders"
    assert re.search(r"Compute <math[^>]*>.*?</math>\.", feedback) and 'class="highlight' in feedback

    # the Formgrader: an HTMLExporter made from the course configuration, with nbgrader's formgrade template
    formgrader_config = config.copy()
    formgrader_config.HTMLExporter.template_name = "formgrade"
    formgrader_config.HTMLExporter.extra_template_basedirs = [str(FORMGRADER_TEMPLATES)]
    graded = root / "autograded" / "student1" / "a1" / "a1.ipynb"
    resources = {"assignment_id": "a1", "notebook_id": "a1", "submission_id": "s", "index": 0, "total": 1,
                 "base_url": "/", "student": "student1", "last_name": None, "first_name": None,
                 "notebook_path": "autograded/student1/a1/a1.ipynb"}
    html, _ = HTMLExporter(config=formgrader_config).from_filename(str(graded), resources=resources)
    assert_inert(html)
    assert_markdown_renders(html)
    shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- equations as MathML
def _math_of(notebook_path: Path) -> list[tuple[str, bool]]:
    """Every equation of the notebook's markdown, as the renderer sees it: ``[(tex, display)]``."""
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    from course_lib.grading.html_safety import MathMLRenderer

    seen = []

    class Spy(MathMLRenderer):
        def _math(self, tex, display, source):
            seen.append((tex, display))
            return super()._math(tex, display, source)

    for cell in nbformat.read(notebook_path, as_version=4).cells:
        if cell.cell_type == "markdown":
            MarkdownWithMath(renderer=Spy(escape=False)).render(cell.source)
    return seen


def _elements(html: str) -> list[tuple[str, dict]]:
    parsed = _Elements()
    parsed.feed(html)
    return parsed.tags


def test_every_equation_of_the_course_converts_and_survives_the_cleaner_whole():
    from course_lib.grading.html_safety import latex_to_mathml

    root = Path(__file__).resolve().parents[2]
    equations = _math_of(root / "source" / "01_lstm_gates" / "lstm_gates.ipynb")
    assert len(equations) >= 40
    for tex, display in equations:
        mathml = latex_to_mathml(tex, display)
        assert mathml is not None, tex
        # the allowlist keeps every element and attribute latex2mathml writes for these (nothing renders wrong)
        assert _elements(clean_student_html(mathml)) == _elements(mathml), tex


def test_aligned_equations_stay_in_rows():
    from course_lib.grading.html_safety import latex_to_mathml

    for environment in ("aligned", "align", "align*", "gathered", "eqnarray"):
        separator = "&=&" if environment == "eqnarray" else "" if environment == "gathered" else "&="
        mathml = latex_to_mathml(f"\\begin{{{environment}}} a {separator} b \\\\ c {separator} d "
                                 f"\\end{{{environment}}}", True)
        assert mathml.count("<mtr>") == 2 and "<mi>&amp;</mi>" not in mathml, (environment, mathml)
        assert "(1)" not in mathml, "unnumbered, as Jupyter shows it"
    alignat = latex_to_mathml(r"\begin{alignat}{2} a &= b & c &= d \end{alignat}", True)
    assert "<mn>2</mn>" not in alignat and "<mtr>" in alignat


def test_text_in_an_equation_is_escaped_and_bad_tex_stays_text():
    from course_lib.grading.html_safety import latex_to_mathml, safe_markdown2html

    mathml = latex_to_mathml(r"\text{<b>bold</b> & <i>}", False)
    assert "<b>" not in mathml and "&lt;b&gt;bold&lt;/b&gt;" in mathml
    assert latex_to_mathml(r"\frac{1}{", False) is None
    html = safe_markdown2html({}, r"Broken $\frac{1}{$ and fine $x^2$.")
    assert "$\\frac{1}{$" in html and "<msup>" in html
    # what latex2mathml lets through from \href, \style, \color and raw markup is dropped or escaped
    html = safe_markdown2html({}, r"$\href{javascript:alert(1)}{x}\style{color:red}{y}\color{red}{z}$ "
                                  r"<math><maction actiontype='x'>w</maction><mi href='https://e.com'>v</mi></math>")
    attributes = {name for _, attrs in _elements(html) for name in attrs}
    assert not attributes & {"href", "style", "mathcolor", "actiontype"}, html
    assert "maction" not in {tag for tag, _ in _elements(html)}
