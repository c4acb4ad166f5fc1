"""A plain ``nbgrader autograde`` (the command an instructor may type instead of ``lstm-course autograde``) grades
like the course's own path: the submission is sanitised first, the kernel is sandboxed with the assignment's
modules, the verdicts are the grader's, and the log carries no false alarms. ~30 s."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.grading.samples import reference_submission

from tests.grading.test_pipeline_e2e import (ASSIGNMENT, AUTO_TOTAL, NOTEBOOK, copy_files, describe_run, grades_of,
                                             run_cli, tracked_files)

pytestmark = pytest.mark.e2e


def test_plain_nbgrader_autograde_sanitises_sandboxes_and_judges(tmp_path):
    root = tmp_path / "course"
    copy_files(["nbgrader_config.py", *[f for f in tracked_files(("source/", "release/")) if "hidden" not in f]], root)
    built = run_cli(root, "build", ASSIGNMENT)
    assert built.returncode == 0, describe_run(built)
    release = root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    honest = reference_submission(release, root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    tampered = nbformat.from_dict(honest)
    tests = [c for c in tampered.cells if c.metadata.get("nbgrader", {}).get("grade")
             and not c.metadata["nbgrader"].get("solution")]
    tests[0].source = "pass  # the student's own 'test'"        # an edited test cell
    tests[1].metadata["tags"] = ["raises-exception"]            # an execution tag
    tampered.cells.remove(tests[2])                             # a deleted test cell
    for student, notebook in {"honest": honest, "tampered": tampered}.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{NOTEBOOK}.ipynb")

    graded = subprocess.run([str(Path(sys.executable).with_name("nbgrader")), "autograde", ASSIGNMENT],
                            cwd=root, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    log = graded.stdout + graded.stderr
    assert graded.returncode == 0, log
    for student in ("honest", "tampered"):
        grades = grades_of(root, student)
        auto = sum(score or 0 for gid, (score, _) in grades.items() if gid != "forget_bias_answer")
        assert auto == AUTO_TOTAL, f"{student}: {grades}\n{log[-4000:]}"
    # test cells carry hidden tests: nbgrader's "checksum ... has changed!" for each would read as tampering
    assert "checksum" not in log, log
    assert "Traceback" not in log, log
    for gid in ("restored the instructor's cell", "re-inserted the missing cell"):
        assert gid in log, f"the sanitiser's notes on the tampered submission are logged:\n{log}"
    graded_tampered = nbformat.read(root / "autograded" / "tampered" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", 4)
    assert not any("raises-exception" in c.metadata.get("tags", []) for c in graded_tampered.cells)
