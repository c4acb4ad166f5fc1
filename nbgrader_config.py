"""nbgrader configuration of the lstm-course course: the one place where grading is configured.

`lstm-course` loads this file for every verb; plain `nbgrader` commands run from this directory read it too.
"""
import os

from course_lib.grading.pipeline import AUTOGRADE_PREPROCESSORS

c = get_config()  # noqa: F821 (injected by traitlets when the file is loaded)

c.CourseDirectory.course_id = "lstm-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Hidden-test data built next to the source notebooks stays with the instructor: never released, never copied
# into a student's autograded folder.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "hidden_tests.json"]

# Verdicts are computed by the grader from the values the hidden tests report (course_lib.grading.verdicts).
c.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS
# A cell of assignment 01 runs in well under a second; generous, but a stuck cell cannot hold the class.
c.Execute.timeout = 120
c.Execute.iopub_timeout = 10

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
