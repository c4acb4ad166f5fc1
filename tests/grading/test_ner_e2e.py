"""Assignment 06 end to end: a BiLSTM tagger trained in the kernel and scored by the grader on the five test plays,
which no kernel sees, through real autograding.

The class: the reference, the untouched release, training without word dropout (costs the tagger: it memorises
the training names and finds few of the test plays' new ones) and ``predict_tags`` that tags the padding too
(costs ``predict_tags``, and the tagger, whose training cannot score an epoch). The other mistakes change
functions only and are judged in-process by tests/unit/test_assignments.py. The reference is graded once more and
must get the same grades and verdicts (once, not twice: each grading trains the tagger, about 1.5 minutes). About
2 minutes of kernel time per notebook, two at a time.
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
ROW = get_assignment("06_ner")
AUTO_POINTS = auto_exercises(ROW.source_notebook(REPO))
GRADED_MISTAKES = ("no_word_dropout", "predict_tags_padding")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_samples(tmp_path_factory, ROW, GRADED_MISTAKES)


def test_the_reference_earns_every_automatic_point(graded):
    _, grades, texts = graded
    assert set(grades["reference"]) == set(AUTO_POINTS)
    assert not lost(grades["reference"]), "\n".join(texts["reference"][e] for e in lost(grades["reference"]))
    verdict = texts["reference"]["tagger"]
    assert "entity_f1" in verdict and "gazetteer" in verdict and "capitalisation" in verdict, verdict


def test_a_tagger_without_word_dropout_falls_below_the_threshold(graded):
    _, _, texts = graded
    verdict = texts["mistake-no_word_dropout"]["tagger"]
    assert "entity_f1 on 7516 held-out examples" in verdict, verdict


def test_the_untouched_release_gets_zero(graded):
    _, grades, _ = graded
    assert all(score == 0 for score, _ in grades["untouched"].values()), grades["untouched"]


@pytest.mark.parametrize("name", GRADED_MISTAKES)
def test_a_mistake_costs_exactly_its_exercises(graded, name):
    assert_costs_exactly_its_exercises(graded, ROW, name)


def test_the_reference_graded_again_gets_the_same_grades_and_verdicts(graded):
    assert_regraded_identically(graded, ROW, runs=1)
