"""The exporter of the students' feedback pages (``c.GenerateFeedback.exporter_class`` in nbgrader_config.py).

nbgrader's ``GenerateFeedback`` renders with an ``HTMLExporter`` and its ``feedback`` template, which shows every
test cell's source (the hidden tests), the bare score nbgrader reads from the cell, and loads MathJax from a CDN.
:class:`FeedbackExporter` renders with ``templates/lstm_feedback`` instead, which extends nbgrader's: a test cell
shows the grader's verdict only, verdicts wrap, and no script is loaded (equations are MathML, see
:mod:`~course_lib.grading.html_safety`). Only the feedback changes: the Formgrader, the instructor's view, is
nbgrader's own.
"""
from __future__ import annotations

import os

from nbconvert.exporters import HTMLExporter
from traitlets import default

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
_FORMGRADER = os.path.join(os.path.dirname(os.path.abspath(__import__("nbgrader").__file__)), "server_extensions",
                           "formgrader")
NBGRADER_TEMPLATES = os.path.join(_FORMGRADER, "templates")
#: where ``templates/feedback/index.html.j2`` (which ours extends) and the page's bootstrap CSS are found
TEMPLATE_PATHS = [os.path.join(_FORMGRADER, "static", "node_modules", "bootstrap", "dist", "css"), _FORMGRADER]


class FeedbackExporter(HTMLExporter):
    """``HTMLExporter`` with the course's feedback template (the course's HTML-safety settings apply to it)."""

    @default("template_name")
    def _template_name_default(self):
        return "lstm_feedback"

    @default("extra_template_basedirs")
    def _extra_template_basedirs_default(self):
        return [TEMPLATES, NBGRADER_TEMPLATES]

    @default("extra_template_paths")
    def _extra_template_paths_default(self):
        return list(TEMPLATE_PATHS)
