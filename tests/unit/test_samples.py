"""The demo's sample submissions look like a student's: no nbgrader solution markers left in any cell (the written
answer's last line is its END SOLUTION marker, with no newline after it)."""
from __future__ import annotations

from pathlib import Path

import pytest

from course_lib.assignments.registry import ASSIGNMENTS
from course_lib.grading.samples import reference_submission

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS.values()), ids=lambda a: a.name)
def test_a_sample_submission_keeps_no_solution_marker(assignment):
    notebook = reference_submission(assignment.release_notebook(ROOT), assignment.source_notebook(ROOT))
    left = [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells if "SOLUTION" in c.source]
    assert not left, f"solution markers left in {left}"
