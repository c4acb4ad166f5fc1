"""The fairness rule through real autograding: a few variants of :mod:`tests.fairness.variants` handed in as real
submissions and graded by ``lstm-course autograde`` on a scratch copy of the course.

The in-process tests (tests/unit/test_fairness.py) grade every variant; this module checks, for a representative
subset (two correct styles, and mistakes of four kinds: one that raises in a gate, one mutation, one cache problem
of ``lstm_forward``, one wrong derivative), that the kernel, the report and the gradebook give the same verdicts.
Every submission is the release notebook filled in with the reference, with the solution cell ``def_<function>``
of each function the variant rewrites replaced by the variant's source. ONE autograde run grades all six
(``--jobs 2``, no feedback): about a minute on 2 cores.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_lib.assignments.registry import get_assignment
from course_lib.grading.course import nbgrader_api
from course_lib.grading.hidden_tests import HIDDEN_DIR, auto_exercises
from course_lib.grading.samples import reference_submission, write_submission
from course_lib.grading.verdicts import unwrapped
from tests.fairness.variants import VARIANTS, Variant

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ROW = get_assignment("01_lstm_gates")
ASSIGNMENT, NOTEBOOK = ROW.name, ROW.notebook
AUTO_POINTS = auto_exercises(ROW.source_notebook(REPO))
BY_NAME = {v.name: v for v in VARIANTS}
#: the subset handed in: two correct styles, then a raising gate, a mutation, a cache problem, a wrong derivative
SUBSET = ("vectorised_cell_tuple_cache_of_preactivations", "float64_cell_list_cache_copied_then_popped",
          "forget_gate_swaps_W_and_U", "cell_updates_c_prev_in_place", "forward_caches_reversed",
          "cell_backward_sigmoid_derivative_s")
CLI_TIMEOUT = 900  # seconds; build and one autograde of six notebooks take ~1-2 minutes on 2 cores


def run_cli(course: Path, *args: str) -> subprocess.CompletedProcess:
    """``lstm-course --course-dir COURSE ARGS`` in a subprocess, from the scratch course."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "course_lib.cli", "--course-dir", str(course), *args],
                          capture_output=True, text=True, timeout=CLI_TIMEOUT, cwd=course, env=env,
                          stdin=subprocess.DEVNULL)


def describe(result: subprocess.CompletedProcess) -> str:
    return (f"exit code {result.returncode}\n--- stdout ---\n{result.stdout[-4000:]}\n"
            f"--- stderr ---\n{result.stderr[-4000:]}")


def submission_of(variant: Variant, reference: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The filled-in release notebook with the solution cell ``def_<function>`` of each rewritten function replaced."""
    notebook = copy.deepcopy(reference)
    cells = {c.metadata.nbgrader["grade_id"]: c for c in notebook.cells
             if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for function, source in variant.sources.items():
        grade_id = f"def_{function}"
        if grade_id not in cells:
            raise ValueError(f"variant {variant.name}: the release notebook has no solution cell {grade_id!r} "
                             f"(it has {sorted(cells)})")
        cells[grade_id].source = source
    return notebook


def student_of(name: str) -> str:
    return f"fair-{name}"


def grades_of(course: Path, student: str) -> dict[str, tuple[float | None, float]]:
    """``{grade cell id: (auto_score, max_score)}`` of a student's notebook, from the scratch gradebook."""
    api = nbgrader_api(course)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        notebook = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
        return {g.name: (g.auto_score, g.max_score) for g in notebook.grades}


def verdict_texts(course: Path, student: str) -> dict[str, str]:
    """The text the grader wrote under each graded cell of the student's autograded notebook."""
    path = course / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: unwrapped("".join(o.get("text", "") for o in c.outputs
                                                                  if o.output_type == "stream"))
            for c in notebook.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, dict, str]:
    """A built scratch course with the subset handed in and autograded once: (course, grading log, CLI output)."""
    course = tmp_path_factory.mktemp("fairness-course")
    shutil.copy2(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    skip = shutil.ignore_patterns(HIDDEN_DIR, "__pycache__", ".ipynb_checkpoints")
    shutil.copytree(ROW.source_dir(REPO), ROW.source_dir(course), ignore=skip)
    shutil.copytree(REPO / "release" / ASSIGNMENT, course / "release" / ASSIGNMENT, ignore=skip)
    result = run_cli(course, "build", ASSIGNMENT)
    assert result.returncode == 0, f"`lstm-course build` failed on the scratch course:\n{describe(result)}"
    reference = reference_submission(ROW.release_notebook(course), ROW.source_notebook(course))
    for name in SUBSET:
        write_submission(course, student_of(name), ASSIGNMENT, NOTEBOOK, submission_of(BY_NAME[name], reference))
    arguments = ["autograde", ASSIGNMENT, "--jobs", "2", "--no-feedback"]
    for name in SUBSET:
        arguments += ["--student", student_of(name)]
    result = run_cli(course, *arguments)
    assert result.returncode == 0, f"`lstm-course autograde` of the fairness subset failed:\n{describe(result)}"
    log = json.loads((course / "autograded" / "grading-log.json").read_text(encoding="utf-8"))
    return course, log, describe(result)


def test_the_subset_is_representative():
    kinds = [BY_NAME[name].kind for name in SUBSET]
    assert kinds.count("correct") == 2 and kinds.count("mistake") == 4, dict(zip(SUBSET, kinds))
    assert BY_NAME["forward_caches_reversed"].costs == {"lstm_forward"}


@pytest.mark.parametrize("name", SUBSET)
def test_submission_loses_points_exactly_in_its_costs(graded, name):
    course, log, output = graded
    variant, student = BY_NAME[name], student_of(name)
    entry = log.get(f"{ASSIGNMENT}/{student}", {})
    assert entry.get("status") == "graded", f"{student} was not graded: grading-log entry {entry}\n{output}"
    grades = grades_of(course, student)
    assert {e: grades[e][1] for e in AUTO_POINTS} == AUTO_POINTS, f"{student}'s max scores: {grades}"
    lost = {e for e in AUTO_POINTS if grades[e][0] is None or grades[e][0] < grades[e][1]}
    texts = verdict_texts(course, student)
    assert lost == set(variant.costs), (
        f"{name} ({variant.kind}: {variant.description}) should lose points in exactly "
        f"{sorted(variant.costs) or 'nothing'}, lost in {sorted(lost) or 'nothing'}: "
        + ", ".join(f"{e} {grades[e][0]}/{grades[e][1]:g}" for e in AUTO_POINTS) + "\n"
        + "\n".join(texts.get(e, f"(no verdict text for {e})") for e in sorted(lost ^ set(variant.costs))))
