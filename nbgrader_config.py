"""nbgrader configuration of the lstm-course course: the one place where grading is configured.

`lstm-course` loads this file for every verb; plain `nbgrader` commands run from this directory read it too.
"""
import os

from course_lib.grading.feedback_page import NBGRADER_TEMPLATES, TEMPLATE_PATHS, TEMPLATES as FEEDBACK_TEMPLATES
from course_lib.grading.html_safety import html_safety_config
from course_lib.grading.pipeline import AUTOGRADE_PREPROCESSORS, SANITIZE_PREPROCESSORS
from course_lib.lab.exchange import exchange_root

c = get_config()  # noqa: F821 (injected by traitlets when the file is loaded)

c.CourseDirectory.course_id = "lstm-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# source/<assignment>/hidden/ (hidden tests, held-out data and labels) stays with the instructor: this one rule keeps
# it out of release/, out of every scratch course and kernel work directory, and out of the feedback.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "hidden"]
# Released assignments, submissions and feedback in transit: <course>/exchange/nbgrader for a try-out on one machine
# (its parent is private to you); a JupyterHub sets LSTM_COURSE_EXCHANGE to a directory all students reach
# (course_lib/lab/exchange.py, README "JupyterLab").
c.Exchange.root = str(exchange_root(c.CourseDirectory.root))

# Verdicts are computed by the grader from the values the hidden tests report (course_lib.grading.verdicts).
c.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS
# Whatever starts nbgrader's autograde (lstm-course, Formgrader, a plain `nbgrader autograde`), the submission is
# sanitised against the release notebook first (course_lib/grading/sanitize.py).
c.Autograde.sanitize_preprocessors = SANITIZE_PREPROCESSORS
# A cell of assignment 01 runs in well under a second; the longest is 06's training cell (about 70 s alone on 2
# cores, 2-3 times that when two notebooks are graded at once): generous, but a stuck cell cannot hold the class
# (and the kernel's wall-time and CPU limits, below, bound the whole notebook).
c.Execute.timeout = 300
c.Execute.iopub_timeout = 10

# Formgrader's "current configuration" panel cannot show a configuration holding classes (the pipelines above)
# and logs "Formgrader config is not serializable" on every page: the file itself is the documentation.
c.FormgradeExtension.debug = False

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Limits of grading (defaults shown). The kernel's sandbox: c.Sandbox.memory_bytes, cpu_seconds, max_processes,
# max_file_bytes, wall_seconds (course_lib/grading/sandbox.py).
c.Sandbox.wall_seconds = 600
# One grading worker (nbgrader, verdicts, feedback) per submission; `--jobs` is capped so that jobs × memory fits
# in the machine's RAM.
c.Worker.memory_bytes = 8 * 1024**3
c.Worker.extra_seconds = 300
# What a submission may contain, and how much output its run may keep (course_lib/grading/submissions.py).
c.SubmissionLimits.max_notebook_bytes = 20 * 1024**2
c.SubmissionLimits.max_cell_source_bytes = 200 * 1024
c.SubmissionLimits.max_source_bytes = 2 * 1024**2
c.SubmissionLimits.max_added_cells = 200
c.SubmissionLimits.max_output_bytes_per_cell = 1024**2
c.SubmissionLimits.max_output_bytes = 10 * 1024**2

# Student markdown and outputs become inert HTML in the feedback pages and the Formgrader
# (course_lib/grading/html_safety.py: nbconvert's sanitize_html, plus cleaned markdown, which nbgrader's templates
# would otherwise render as live HTML).
c.merge(html_safety_config())
# The students' feedback pages: verdicts, not the hidden tests' source; no script (course_lib/grading/feedback_page.py).
# nbgrader sets HTMLExporter.template_name itself; the exporter's own section, below, is what wins.
c.GenerateFeedback.exporter_class = "course_lib.grading.feedback_page.FeedbackExporter"
c.FeedbackExporter.template_name = "lstm_feedback"
c.FeedbackExporter.extra_template_basedirs = [FEEDBACK_TEMPLATES, NBGRADER_TEMPLATES]
c.FeedbackExporter.extra_template_paths = TEMPLATE_PATHS
# Trained models, scored in a sandbox of their own (course_lib/grading/models.py).
c.ModelScoring.max_model_bytes = 200 * 1024**2
