"""Assignment 04 end to end: an untrained model, ``hello world`` and a character model of a play trained in the
kernel, scored by the grader (causality first) on windows the kernel never sees, through real autograding.

The class: the reference, the untouched release, windows whose target is the current character (costs the windows
and both trained models: they learn to copy) and characters fed as ``index / n`` (the tutorial's coding: costs
the model builder and both trained models). The sampling mistakes change functions only and are judged in-process
by tests/unit/test_assignments.py. The reference is graded three times and must get the same grades and verdicts
twice more. About 60 s of kernel time per notebook, two at a time.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading.hidden_tests import auto_exercises

from tests.grading.test_trained_models_e2e import (assert_costs_exactly_its_exercises,
                                                   assert_regraded_identically, grade_samples, lost)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ROW = get_assignment("04_text_generation")
AUTO_POINTS = auto_exercises(ROW.source_notebook(REPO))
GRADED_MISTAKES = ("target_is_current_char", "index_over_n_inputs")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_samples(tmp_path_factory, ROW, GRADED_MISTAKES)


def test_the_reference_earns_every_automatic_point(graded):
    _, grades, texts = graded
    assert set(grades["reference"]) == set(AUTO_POINTS)
    assert not lost(grades["reference"]), "\n".join(texts["reference"][e] for e in lost(grades["reference"]))
    assert "cross-entropy" in texts["reference"]["char_model"] and "bigram" in texts["reference"]["char_model"], \
        texts["reference"]["char_model"]


def test_the_untouched_release_gets_zero(graded):
    _, grades, _ = graded
    assert all(score == 0 for score, _ in grades["untouched"].values()), grades["untouched"]


@pytest.mark.parametrize("name", GRADED_MISTAKES)
def test_a_mistake_costs_exactly_its_exercises(graded, name):
    assert_costs_exactly_its_exercises(graded, ROW, name)


def test_the_reference_graded_three_times_gets_the_same_grades_and_verdicts(graded):
    assert_regraded_identically(graded, ROW)
