"""Assignment 02 end to end: the first assignment graded from trained models, through real autograding.

A scratch copy of the course is built and a class is handed in: the reference, the untouched release, the sample
mistakes whose cost shows only in a trained model (the default learning rate, a regressor trained on the
windows' last values, windows off by one, adding data with both markers anywhere), and a hostile notebook that
breaks each model exercise in its own way (a regressor with a Lambda layer, which the grader refuses to run; an
"LSTM" that is a GRU; an RNN kept under another name, so that no model is saved). Each costs exactly its
exercises, each model failure says why, and the reference graded again gets the very same grades and verdicts.
The mistakes that change no trained model (``horizon_ignored``) or that ``lstm-course demo`` grades
(``scaler_on_all_data``, in test_pipeline_e2e's demo run) are judged in-process by tests/unit/test_assignments.py.

About 2 minutes of kernel time per notebook (three models are trained), two at a time.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_lib.assignments.registry import get_assignment
from course_lib.grading.course import nbgrader_api
from course_lib.grading.hidden_tests import HIDDEN_DIR, auto_exercises
from course_lib.grading.samples import Mistake, reference_submission, with_mistake, write_submission
from course_lib.grading.verdicts import unwrapped

from tests.grading.test_pipeline_e2e import copy_files, describe_run, run_cli, tracked_files

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ROW = get_assignment("02_sequence_prediction")
AUTO_POINTS = auto_exercises(ROW.source_notebook(REPO))
MISTAKES = ROW.module("mistakes").MISTAKES
GRADED_MISTAKES = ("default_learning_rate", "last_value_regressor", "off_by_one_target", "markers_anywhere")
#: the hostile notebook's three changes, one per model exercise, and what its verdict must say
LAMBDA_LAYER = Mistake("lambda_layer", "build_regressor", "        keras.layers.Dense(1),\n    ])",
                       "        keras.layers.Dense(1),\n        keras.layers.Lambda(lambda x: x),\n    ])",
                       costs=("regressor",), description="a Lambda layer: Python code the grader will not run")
GRU_AS_LSTM = Mistake("gru_as_lstm", "build_adding_model", '{"lstm": keras.layers.LSTM,',
                      '{"lstm": keras.layers.GRU,', costs=("adding_lstm",), description="a GRU where the LSTM belongs")
HOSTILE_REASONS = {"regressor": "a Lambda layer, which the grader cannot run", "adding_lstm": "no LSTM layer (its layers: GRU, Dense)",
                   "adding_rnn": "variable named adding_rnn"}
CLI_TIMEOUT = 2400


@dataclass
class GradedClass:
    root: Path
    log: dict
    grades: dict[str, dict[str, tuple[float | None, float]]]
    texts: dict[str, dict[str, str]]


def grades_of(root: Path, student: str, row=ROW) -> dict[str, tuple[float | None, float]]:
    """``{exercise: (auto score, max score)}`` of a student's notebook of ``row``, from the scratch gradebook."""
    points = auto_exercises(row.source_notebook(REPO))
    api = nbgrader_api(root)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        notebook = gb.find_submission_notebook(row.notebook, row.name, student)
        return {g.name: (g.auto_score, g.max_score) for g in notebook.grades if g.name in points}


def verdict_texts(root: Path, student: str, row=ROW) -> dict[str, str]:
    """The verdict the grader wrote under each auto-graded cell of the student's autograded notebook."""
    points = auto_exercises(row.source_notebook(REPO))
    path = root / "autograded" / student / row.name / f"{row.notebook}.ipynb"
    texts = {}
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade_id") in points:
            streams = [o.get("text", "") for o in cell.outputs if o.output_type == "stream"]
            texts[meta["grade_id"]] = unwrapped(streams[0]) if streams else ""
    return texts


def grade_class(tmp_path_factory, row, notebooks: dict, timeout: float = CLI_TIMEOUT) -> Path:
    """A scratch copy of the course with ``row`` built, ``notebooks`` ({student: notebook}) handed in and
    autograded without feedback; the course root. Every submission must be graded."""
    root = tmp_path_factory.mktemp(f"course_{row.stem}")
    files = [f for f in tracked_files(("source/", "release/")) if HIDDEN_DIR not in Path(f).parts]
    copy_files(["nbgrader_config.py", *files], root)
    built = run_cli(root, "build", row.name)
    assert built.returncode == 0, f"`lstm-course build` failed on the scratch course:\n{describe_run(built)}"
    for student, make in notebooks.items():
        write_submission(root, student, row.name, row.notebook, make(root))
    arguments = ["autograde", row.name, "--no-feedback"]
    for student in notebooks:
        arguments += ["--student", student]
    result = run_cli(root, *arguments, timeout=timeout)
    assert result.returncode == 0, f"`lstm-course autograde` of the class failed:\n{describe_run(result)}"
    log = json.loads((root / "autograded" / "grading-log.json").read_text(encoding="utf-8"))
    not_graded = {s: log.get(f"{row.name}/{s}") for s in notebooks
                  if log.get(f"{row.name}/{s}", {}).get("status") != "graded"}
    assert not not_graded, f"submissions not graded: {not_graded}\n{describe_run(result)}"
    return root


def grade_samples(tmp_path_factory, row, mistake_names) -> tuple[Path, dict, dict]:
    """The reference, the untouched release and the reference with each of ``mistake_names`` (sample mistakes of
    ``row``, handed in as ``mistake-<name>``) graded in one class: ``(root, grades, verdict texts)``, the last two
    by student."""
    mistakes = row.module("mistakes").MISTAKES

    def reference(root: Path) -> nbformat.NotebookNode:
        return reference_submission(row.release_notebook(root), row.source_notebook(root))

    notebooks = {"reference": reference,
                 "untouched": lambda root: nbformat.read(row.release_notebook(root), as_version=4)}
    notebooks.update({f"mistake-{name}": (lambda root, m=mistakes[name]: with_mistake(reference(root), m))
                      for name in mistake_names})
    root = grade_class(tmp_path_factory, row, notebooks)
    return root, {s: grades_of(root, s, row) for s in notebooks}, {s: verdict_texts(root, s, row) for s in notebooks}


def assert_costs_exactly_its_exercises(graded: tuple, row, name: str) -> None:
    """The sample mistake ``name``, graded by :func:`grade_samples`, lost the points of its ``costs`` and no
    others."""
    _, grades, texts = graded
    mistake, student = row.module("mistakes").MISTAKES[name], f"mistake-{name}"
    assert lost(grades[student]) == set(mistake.costs), (
        f"{name} should cost {sorted(mistake.costs)}, cost {sorted(lost(grades[student]))}:\n"
        + "\n".join(texts[student].get(e, "") for e in lost(grades[student]) | set(mistake.costs)))


def assert_regraded_identically(graded: tuple, row, runs: int = 2) -> None:
    """Grading the reference of :func:`grade_samples` ``runs`` more times gives the same grades and verdicts."""
    root, grades, texts = graded
    for run in range(2, 2 + runs):
        result = run_cli(root, "autograde", row.name, "--student", "reference", "--no-feedback", "--force",
                         timeout=900)
        assert result.returncode == 0, f"grading the reference again failed:\n{describe_run(result)}"
        assert grades_of(root, "reference", row) == grades["reference"], f"grades changed on run {run}"
        again = verdict_texts(root, "reference", row)
        assert {e: again[e] for e in grades["reference"] if again[e] != texts["reference"][e]} == {}, f"run {run}"


def hostile(reference: nbformat.NotebookNode) -> nbformat.NotebookNode:
    notebook = with_mistake(with_mistake(reference, LAMBDA_LAYER), GRU_AS_LSTM)
    for cell in notebook.cells:   # a plain (unlocked) cell: the RNN is trained, but kept under another name
        if cell.cell_type == "code" and 'adding_rnn = build_adding_model("rnn"' in cell.source:
            cell.source = cell.source.replace("adding_rnn", "rnn_model")
            return notebook
    raise AssertionError("no cell trains adding_rnn: has the notebook changed?")


def lost(grades: dict[str, tuple[float | None, float]]) -> set[str]:
    return {name for name, (score, full) in grades.items() if score is None or score < full}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> GradedClass:
    def reference(root: Path) -> nbformat.NotebookNode:
        return reference_submission(ROW.release_notebook(root), ROW.source_notebook(root))

    notebooks = {"reference": reference,
                 "untouched": lambda root: nbformat.read(ROW.release_notebook(root), as_version=4),
                 "hostile": lambda root: hostile(reference(root))}
    notebooks.update({f"mistake-{name}": (lambda root, m=MISTAKES[name]: with_mistake(reference(root), m))
                      for name in GRADED_MISTAKES})
    root = grade_class(tmp_path_factory, ROW, notebooks)
    log = json.loads((root / "autograded" / "grading-log.json").read_text(encoding="utf-8"))
    return GradedClass(root, log, {s: grades_of(root, s) for s in notebooks},
                       {s: verdict_texts(root, s) for s in notebooks})


def _explained(graded: GradedClass, student: str, exercises) -> str:
    return "\n".join(graded.texts[student].get(e, "") for e in exercises)


def test_the_reference_earns_every_automatic_point_from_its_trained_models(graded_class):
    grades = graded_class.grades["reference"]
    assert set(grades) == set(AUTO_POINTS)
    assert not lost(grades), _explained(graded_class, "reference", lost(grades))
    texts = graded_class.texts["reference"]
    assert "the better baseline" in texts["regressor"] and "last value" in texts["regressor"], texts["regressor"]
    assert "needs ≤ 0.02" in texts["adding_lstm"], texts["adding_lstm"]
    # the RNN's score is reported, not graded, next to the baseline it does not beat
    assert "reported, not graded" in texts["adding_rnn"] and "predicting 1.0" in texts["adding_rnn"], texts["adding_rnn"]


def test_the_untouched_release_gets_zero(graded_class):
    grades = graded_class.grades["untouched"]
    assert all(score == 0 for score, _ in grades.values()), grades


@pytest.mark.parametrize("name", GRADED_MISTAKES)
def test_a_mistake_seen_only_in_a_trained_model_costs_exactly_its_exercises(graded_class, name):
    grades = graded_class.grades[f"mistake-{name}"]
    assert lost(grades) == set(MISTAKES[name].costs), (
        f"{name} should cost {sorted(MISTAKES[name].costs)}, cost {sorted(lost(grades))}:\n"
        + _explained(graded_class, f"mistake-{name}", lost(grades) | set(MISTAKES[name].costs)))


def test_the_default_learning_rate_fails_the_threshold_with_the_hint(graded_class):
    text = graded_class.texts["mistake-default_learning_rate"]["adding_lstm"]
    assert "adding_lstm: 0 / 3 points" in text and "needs ≤ 0.02" in text, text
    assert "learning_rate=2e-2" in text, f"the hint about the learning rate is missing:\n{text}"


def test_a_regressor_that_copies_the_last_value_does_not_beat_the_baseline(graded_class):
    text = graded_class.texts["mistake-last_value_regressor"]["regressor"]
    assert "regressor: 0 / 3 points" in text and "0.6 × the better baseline" in text, text


def test_a_refused_a_wrong_or_a_missing_model_gets_zero_with_its_reason(graded_class):
    grades, texts = graded_class.grades["hostile"], graded_class.texts["hostile"]
    assert lost(grades) == set(HOSTILE_REASONS), grades
    for exercise, reason in HOSTILE_REASONS.items():
        assert grades[exercise][0] == 0, (exercise, grades[exercise])
        assert reason in texts[exercise], f"{exercise}: the verdict should say {reason!r}:\n{texts[exercise]}"


def test_the_same_submission_graded_again_gets_the_same_grades_and_verdicts(graded_class):
    root = graded_class.root
    for run in (2, 3):
        result = run_cli(root, "autograde", ROW.name, "--student", "reference", "--no-feedback", "--force",
                         timeout=900)
        assert result.returncode == 0, f"grading the reference again failed:\n{describe_run(result)}"
        assert grades_of(root, "reference") == graded_class.grades["reference"], f"grades changed on run {run}"
        again = verdict_texts(root, "reference")
        changed = {e: again[e] for e in AUTO_POINTS if again.get(e) != graded_class.texts["reference"].get(e)}
        assert not changed, f"verdicts changed on run {run} (held-out MSEs are printed to 4 digits): {changed}"
