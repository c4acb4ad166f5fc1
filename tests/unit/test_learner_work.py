"""``lstm-course build`` regenerates ``release/``; a self-study learner who worked in a release notebook must not lose
that work without a word: the build refuses, saying what to do, unless ``--force``."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading.course import CourseError
from course_lib.grading.course_build import build_assignment, learner_work
from course_lib.grading.samples import reference_submission

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = get_assignment("01_lstm_gates")


def test_a_fresh_release_notebook_holds_nobodys_work():
    assert learner_work(ASSIGNMENT.release_notebook(ROOT)) == []


def test_a_filled_in_release_notebook_is_not_overwritten(tmp_path):
    release = tmp_path / "release" / ASSIGNMENT.name
    release.mkdir(parents=True)
    shutil.copytree(ASSIGNMENT.source_dir(ROOT), tmp_path / "source" / ASSIGNMENT.name,
                    ignore=shutil.ignore_patterns("hidden"))
    notebook = release / f"{ASSIGNMENT.notebook}.ipynb"
    nbformat.write(reference_submission(ASSIGNMENT.release_notebook(ROOT), ASSIGNMENT.source_notebook(ROOT)), notebook)
    work = learner_work(notebook)
    assert "def_sigmoid" in work and "forget_bias_answer" in work
    before = notebook.read_bytes()
    with pytest.raises(CourseError, match=r"holds someone's work .*lstm-course build --force 01_lstm_gates"):
        build_assignment(tmp_path, ASSIGNMENT, api=object())   # refused before anything is built
    assert notebook.read_bytes() == before
