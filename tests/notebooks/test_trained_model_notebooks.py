"""The notebook tests of the assignments graded from trained models (02, 03): their pinned exercise lists, and that
every model they grade is trained from a fixed seed (what makes grading reproducible: same submission, same
model, same grade).

What every assignment's notebooks must satisfy (the source runs and passes its tests, solution cells are the
reference module's functions, release equals a fresh build, nothing secret released, stored without outputs) is
tested for assignment 02 too, parametrised over the registry, in ``test_notebooks.py``.

The exercise list and points are read from the source notebook's nbgrader metadata (the one place they are
written); only :func:`test_assignment_02_exercise_list_is_pinned` writes them out, on purpose.
"""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading.hidden_tests import auto_exercises, graded_cells

pytestmark = pytest.mark.notebook

REPO = Path(__file__).resolve().parents[2]
ROW = get_assignment("02_sequence_prediction")
SOURCE = ROW.source_notebook(REPO)
RELEASE = ROW.release_notebook(REPO)
SEED_CALL = "keras.utils.set_random_seed"
DETERMINISM_CALLS = ("tf.config.experimental.enable_op_determinism",
                     "tensorflow.config.experimental.enable_op_determinism")


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


# --------------------------------------------------------------------------- the exercise list
def test_assignment_02_exercise_list_is_pinned():
    """A deliberate regression check: the one place the exercise list and points of assignment 02 are written out
    in the tests. Everything else reads them from the notebook metadata, so change this only on purpose."""
    assert auto_exercises(SOURCE) == {
        "make_windows": 2, "fit_scaler": 1, "scale_splits": 1, "regressor": 3, "make_adding_data": 2,
        "adding_lstm": 3, "adding_rnn": 1,
    }, f"the automatically graded exercises and points of {SOURCE.relative_to(REPO)} changed: {auto_exercises(SOURCE)}"
    manual = {gid: cell["points"] for gid, cell in graded_cells(SOURCE).items() if cell["manual"]}
    assert manual == {"memory_answer": 2}, (
        f"the hand-graded cells and points of {SOURCE.relative_to(REPO)} changed: {manual}")


# --------------------------------------------------------------------------- models trained from fixed seeds
def _dotted(node: ast.AST) -> str:
    """``keras.utils.set_random_seed`` for that expression, ``""`` for anything but names and attributes."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _calls(node: ast.AST) -> list[ast.Call]:
    """The calls a statement makes when it runs (not those in the bodies of functions or classes it defines)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        return []
    found = [node] if isinstance(node, ast.Call) else []
    for child in ast.iter_child_nodes(node):
        found += _calls(child)
    return found


def _assigned(statement: ast.stmt) -> set[str]:
    targets = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        targets = [statement.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _is_seed(statement: ast.stmt) -> bool:
    """``keras.utils.set_random_seed(SEED)`` as a statement of its own."""
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
            and _dotted(statement.value.func) == SEED_CALL and len(statement.value.args) == 1
            and isinstance(statement.value.args[0], ast.Name) and statement.value.args[0].id == "SEED")


def _code_cells(notebook) -> list[tuple[int, ast.Module]]:
    return [(i, ast.parse(c.source)) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]


def _graded_models(row=ROW) -> set[str]:
    """The variables whose trained models the hidden tests save for the grader to score."""
    inputs = row.module("inputs")
    return {request["variable"] for exercise in auto_exercises(row.source_notebook(REPO))
            for request in inputs.requests(exercise).values() if request.get("op") == "save_model"}


#: the assignments graded from trained models, and the models each saves (pinned: a change must be on purpose)
MODEL_ASSIGNMENTS = {"02_sequence_prediction": {"regressor", "adding_lstm", "adding_rnn"},
                     "03_sentiment": {"bow_reviews", "lstm_reviews", "bow_controlled", "lstm_controlled"},
                     "04_text_generation": {"hello_model", "char_model"},
                     "05_poem_generation": {"poem_model"}, "06_ner": {"tagger"}}
NOTEBOOKS = [(name, kind) for name in MODEL_ASSIGNMENTS for kind in ("source", "release")]


def _notebook_path(name: str, kind: str) -> Path:
    row = get_assignment(name)
    return row.source_notebook(REPO) if kind == "source" else row.release_notebook(REPO)


@pytest.mark.parametrize("name, kind", NOTEBOOKS, ids=[f"{n}-{k}" for n, k in NOTEBOOKS])
def test_first_code_cell_seeds_keras_and_enables_op_determinism(name, kind):
    path = _notebook_path(name, kind)
    index, first = _code_cells(nbformat.read(path, as_version=4))[0]
    seeds = [s for s in first.body if _is_seed(s)]
    assert seeds, (f"the first code cell (cell {index}) of {path.relative_to(REPO)} should seed every generator "
                   f"with `{SEED_CALL}(SEED)`")
    seed_values = [s.value for s in first.body if "SEED" in _assigned(s) and s.lineno < seeds[0].lineno]
    assert len(seed_values) == 1 and isinstance(seed_values[0], ast.Constant) \
        and type(seed_values[0].value) is int, (
            f"the first code cell (cell {index}) should set `SEED = <an int>` once, before `{SEED_CALL}(SEED)`")
    determinism = [s for s in first.body if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                   and _dotted(s.value.func) in DETERMINISM_CALLS]
    assert determinism, (f"the first code cell (cell {index}) of {path.relative_to(REPO)} should call "
                         f"`tf.config.experimental.enable_op_determinism()`: without it TensorFlow may sum in a "
                         f"varying order, and the same notebook trains slightly different models")


@pytest.mark.parametrize("name, kind", NOTEBOOKS, ids=[f"{n}-{k}" for n, k in NOTEBOOKS])
def test_every_model_is_built_and_trained_from_a_fixed_seed(name, kind):
    """Every cell that calls ``.fit(`` (itself or through a function of the notebook's that does), or builds a model
    the grader scores, sets ``keras.utils.set_random_seed(SEED)`` before, in the same cell: a cell run again, or
    run after other cells changed the generators' state, trains the same model."""
    path = _notebook_path(name, kind)
    cells = _code_cells(nbformat.read(path, as_version=4))
    graded = _graded_models(get_assignment(name))
    assert graded == MODEL_ASSIGNMENTS[name], f"the hidden tests save the models {graded}"
    # the notebook's functions that train (read from the source: in the release their bodies are stubs)
    source_cells = _code_cells(nbformat.read(_notebook_path(name, "source"), as_version=4))
    trainers = {node.name for _, tree in source_cells for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef)
                and any(isinstance(c.func, ast.Attribute) and c.func.attr == "fit" for c in ast.walk(node)
                        if isinstance(c, ast.Call))}
    unseeded, built, fitted = [], set(), 0
    for index, tree in cells:
        seeded = False
        for statement in tree.body:
            seeded = seeded or _is_seed(statement)
            calls = _calls(statement)
            fits = any((isinstance(c.func, ast.Attribute) and c.func.attr == "fit") or _dotted(c.func) in trainers
                       for c in calls)
            builds = _assigned(statement) & graded
            built |= builds
            fitted += fits
            if (fits or builds) and not seeded:
                what = f"builds {sorted(builds)}" if builds else "trains a model"
                unseeded.append(f"cell {index}, line {statement.lineno}: {what}")
    assert not unseeded, (f"{path.relative_to(REPO)}: {unseeded} without `{SEED_CALL}(SEED)` before it in the same "
                          f"cell; put `{SEED_CALL}(SEED)` at the top of the cell, so that every run trains the "
                          f"same model and grades the same")
    assert built == graded, f"no cell builds the graded models {sorted(graded - built)}: has the notebook changed?"
    assert fitted >= len(graded), f"only {fitted} statements train a model: has the notebook changed?"


def test_assignment_03_exercise_list_is_pinned():
    source = get_assignment("03_sentiment").source_notebook(REPO)
    assert auto_exercises(source) == {
        "polarity_labels": 1, "make_vectorizer": 2, "bow_reviews": 1, "lstm_reviews": 3, "evaluate": 1,
        "bow_controlled": 1, "lstm_controlled": 2, "accuracy_by_kind": 1,
    }, f"the automatically graded exercises and points of {source.relative_to(REPO)} changed: {auto_exercises(source)}"
    manual = {gid: cell["points"] for gid, cell in graded_cells(source).items() if cell["manual"]}
    assert manual == {"written_answer": 2}, f"the hand-graded cells of {source.relative_to(REPO)} changed: {manual}"


def test_the_scaler_class_is_given_in_a_plain_cell():
    """``MinMaxScaler`` is given, not an exercise: a plain code cell defines it (``test_notebooks.py`` checks that
    it is the reference module's class, verbatim)."""
    notebook = nbformat.read(SOURCE, as_version=4)
    given = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and not _nbgrader(c)
             and any(isinstance(n, ast.ClassDef) and n.name == "MinMaxScaler" for n in ast.parse(c.source).body)]
    assert len(given) == 1, f"cells of {SOURCE.relative_to(REPO)} that give MinMaxScaler: {given} (expected one)"


def test_assignment_06_exercise_list_is_pinned():
    source = get_assignment("06_ner").source_notebook(REPO)
    assert auto_exercises(source) == {
        "bio_encode": 1, "bio_decode": 2, "entity_scores": 3, "baselines": 2, "build_vocabulary": 1, "encode": 1,
        "pad": 1, "word_dropout": 2, "build_tagger": 1, "predict_tags": 1, "tagger": 4, "recall_seen_unseen": 1,
        "tag_confusion": 1,
    }, f"the automatically graded exercises and points of {source.relative_to(REPO)} changed: {auto_exercises(source)}"
    manual = {gid: cell["points"] for gid, cell in graded_cells(source).items() if cell["manual"]}
    assert manual == {"discussion": 3}, f"the hand-graded cells of {source.relative_to(REPO)} changed: {manual}"
