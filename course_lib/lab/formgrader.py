"""Formgrader's buttons on the course's grading path: a Jupyter server extension (``course_lib.lab.formgrader``).

nbgrader's Formgrader runs its own apps for *Generate*, *Autograde* and *Generate Feedback*: plain nbgrader, which
knows nothing of the course's hidden-test build, submission intake and sanitising, bounded workers or feedback
files. This extension answers those four routes first, with the same functions as ``lstm-course build``,
``lstm-course autograde`` and ``lstm-course feedback``, and returns what Formgrader's dialogs show (``success``,
``log``, ``error``: one line saying what went wrong and what to do). Grading runs off the server's event loop, so
the rest of JupyterLab stays responsive meanwhile. Every other Formgrader route is nbgrader's own, but for the
page that grades one submission (:data:`PAGE_ROUTES`), which keeps working where MathJax cannot be loaded.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Callable

from jinja2 import DictLoader
from jupyter_server.utils import url_path_join
from nbgrader.server_extensions.formgrader import handlers as nbgrader_pages
from nbgrader.server_extensions.formgrader.base import BaseApiHandler, check_notebook_dir, check_xsrf
from tornado import web
from tornado.routing import HostMatches, Rule
from tornado.web import _ApplicationRouter  # noqa: PLC2701 - what Application.add_handlers builds, see below

from course_lib.grading.course import CourseError


def _run(action: Callable[[Callable[[str], None]], tuple[bool, str]]) -> dict:
    """Run ``action(echo)``; nbgrader's API answer: ``{"success", "log", "error"}``."""
    lines: list[str] = []
    try:
        success, error = action(lines.append)
    except CourseError as problem:
        success, error = False, str(problem)
    except Exception as problem:  # noqa: BLE001 - shown in the dialog; the server keeps running
        success, error = False, f"{type(problem).__name__}: {problem}"[:500]
    return {"success": success, "log": "\n".join(lines), "error": error}


def generate(root: Path, assignment: str) -> dict:
    """*Generate*: ``lstm-course build ASSIGNMENT`` (hidden tests, data, release; never over someone's work)."""
    from course_lib.assignments.registry import get_assignment
    from course_lib.grading.course_build import build

    def action(echo):
        build(root, [get_assignment(assignment).name], echo=echo)
        return True, ""
    return _run(action)


def autograde(root: Path, assignment: str, student: str) -> dict:
    """*Autograde*: ``lstm-course autograde ASSIGNMENT --student STUDENT --force`` (sandboxed, feedback written)."""
    from course_lib.assignments.registry import get_assignment
    from course_lib.grading.class_grading import autograde as grade

    def action(echo):
        # the instructor asked for this grading: regrade even an unchanged submission
        outcomes = grade(root, [get_assignment(assignment).name], [student], echo=echo, jobs=1, force=True)
        failed = [o for o in outcomes if o.status != "graded"]
        return not failed, "; ".join(f"{o.status}: {o.reason}" for o in failed)
    return _run(action)


def generate_feedback(root: Path, assignment: str, student: str | None = None) -> dict:
    """*Generate Feedback*: ``lstm-course feedback ASSIGNMENT [--student STUDENT]`` (the final scores, and the
    files ``release_feedback`` needs)."""
    from course_lib.assignments.registry import get_assignment
    from course_lib.verbs.feedback import regenerate

    def action(echo):
        results = regenerate(root, get_assignment(assignment).name, [student] if student else None, echo=echo)
        problems = [f"{who}: {why}" for (_, who), why in results.items() if why]
        if not results:
            return False, f"no graded submission of {assignment}{f' by {student}' if student else ''} to make " \
                          f"feedback from: autograde first"
        return not problems, "; ".join(problems)
    return _run(action)


class _CourseHandler(BaseApiHandler):
    @property
    def course_root(self) -> Path:
        return Path(self.coursedir.root)

    async def answer(self, function, *args) -> None:
        result = await asyncio.get_running_loop().run_in_executor(None, function, self.course_root, *args)
        self.write(json.dumps(result))


class GenerateHandler(_CourseHandler):
    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    async def post(self, assignment_id):
        await self.answer(generate, assignment_id)


class AutogradeHandler(_CourseHandler):
    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    async def post(self, assignment_id, student_id):
        await self.answer(autograde, assignment_id, student_id)


class GenerateAllFeedbackHandler(_CourseHandler):
    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    async def post(self, assignment_id):
        await self.answer(generate_feedback, assignment_id)


class GenerateFeedbackHandler(_CourseHandler):
    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    async def post(self, assignment_id, student_id):
        await self.answer(generate_feedback, assignment_id, student_id)


ROUTES = [
    (r"/formgrader/api/assignment/([^/]+)/assign", GenerateHandler),
    (r"/formgrader/api/submission/([^/]+)/([^/]+)/autograde", AutogradeHandler),
    (r"/formgrader/api/assignment/([^/]+)/generate_feedback", GenerateAllFeedbackHandler),
    (r"/formgrader/api/assignment/([^/]+)/([^/]+)/generate_feedback", GenerateFeedbackHandler),
]


#: nbconvert's ``mathjax`` macro (MathJax 2 from a CDN), followed by a stand-in for when the CDN cannot be reached
#: (an offline machine, a firewalled lab). nbgrader's grading page calls ``MathJax.Hub.Startup.signal.Interest`` as
#: it starts; without MathJax that call throws ("MathJax is not defined") and the rest of its start-up never runs:
#: no keyboard shortcuts, no focus on the first score. The stand-in reports MathJax's start-up as done, so the page
#: works as it does online, with the equations left as TeX source.
OFFLINE_MATHJAX = DictLoader({"mathjax.html.j2": """\
{%- from 'nbconvert/templates/base/mathjax.html.j2' import mathjax as nbconvert_mathjax -%}
{%- macro mathjax(url=None) -%}
{{ nbconvert_mathjax(url) if url else nbconvert_mathjax() }}
<script>
if (!window.MathJax) {  // the CDN could not be reached: equations stay TeX source, the page still starts
    var started = function (hook) { setTimeout(function () { hook("End"); }); };
    window.MathJax = {Hub: {Config: function () {}, Queue: function () {}, Startup: {signal: {Interest: started}}}};
}
</script>
{%- endmacro %}
"""})


class FormgradePageHandler(nbgrader_pages.SubmissionHandler):
    """nbgrader's page for grading one submission, rendered with :data:`OFFLINE_MATHJAX`."""

    @property
    def exporter(self):
        exporter = self.settings["nbgrader_exporter"]
        if OFFLINE_MATHJAX not in exporter.extra_loaders:
            exporter.extra_loaders = [OFFLINE_MATHJAX, *exporter.extra_loaders]   # resets its Jinja environment
        return exporter


#: nbgrader's pages that this extension serves instead (same URL, same page, see :class:`FormgradePageHandler`)
PAGE_ROUTES = [
    (r"/formgrader/submissions/([^/]+)/?", FormgradePageHandler),
]


def _jupyter_server_extension_points():
    return [{"module": "course_lib.lab.formgrader"}]


def _load_jupyter_server_extension(serverapp) -> None:
    webapp = serverapp.web_app
    handlers = [(url_path_join(webapp.settings["base_url"], pattern.lstrip("/")), handler)
                for pattern, handler in ROUTES + PAGE_ROUTES]
    # Tornado tries host rules in the order they were added and nbgrader's Formgrader may be loaded first: put
    # ours in front, so these routes are answered here whatever the load order.
    webapp.default_router.rules.insert(0, Rule(HostMatches(".*$"), _ApplicationRouter(webapp, handlers)))
    serverapp.log.info("lstm-course: Formgrader's Generate, Autograde and Generate Feedback use the course's "
                       "grading path")
