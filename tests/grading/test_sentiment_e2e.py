"""Assignment 03 end to end: four text models trained in the kernel, scored by the grader on held-out sentences
given to them as text, through real autograding.

The class: the reference, the untouched release, labels with the wrong sign (costs the labels and the two models
trained on them), a vectoriser adapted on the notebook's test split (a leak only the saved model's vocabulary
shows: it costs the LSTM on the reviews, whatever it scores), the report
computed on the training data, and a probability of 0.5 called positive (``evaluate``: its function checks are
also judged in-process, this one end to end). The other sample mistakes change functions only and
are judged in-process by tests/unit/test_assignments.py. The reference is graded three times and must get the
same grades and verdicts twice more. About 70 s of kernel time per notebook, two at a time.
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
ROW = get_assignment("03_sentiment")
AUTO_POINTS = auto_exercises(ROW.source_notebook(REPO))
GRADED_MISTAKES = ("wrong_sign_labels", "vectorizer_adapted_on_test", "accuracy_on_training_data",
                   "threshold_included")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_samples(tmp_path_factory, ROW, GRADED_MISTAKES)


def test_the_reference_earns_every_automatic_point_from_its_four_models(graded):
    _, grades, texts = graded
    assert set(grades["reference"]) == set(AUTO_POINTS)
    assert not lost(grades["reference"]), "\n".join(texts["reference"][e] for e in lost(grades["reference"]))
    assert "needs ≤ 0.6" in texts["reference"]["bow_controlled"], texts["reference"]["bow_controlled"]


def test_the_untouched_release_gets_zero(graded):
    _, grades, _ = graded
    assert all(score == 0 for score, _ in grades["untouched"].values()), grades["untouched"]


@pytest.mark.parametrize("name", GRADED_MISTAKES)
def test_a_mistake_costs_exactly_its_exercises(graded, name):
    assert_costs_exactly_its_exercises(graded, ROW, name)


def test_a_vectoriser_that_saw_the_test_split_is_caught_by_its_vocabulary(graded):
    _, _, texts = graded
    text = texts["mistake-vectorizer_adapted_on_test"]["lstm_reviews"]
    assert "lstm_reviews: 0 / 3 points" in text and "vocabulary holds" in text and "adapted on more" in text, text


def test_the_reference_graded_three_times_gets_the_same_grades_and_verdicts(graded):
    assert_regraded_identically(graded, ROW)
