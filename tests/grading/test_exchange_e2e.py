"""The nbgrader exchange loop on a course-local exchange, with nbgrader's own commands where a real class uses them:
release, a student's fetch and submit, collect, ``lstm-course autograde``, a hand grade, ``lstm-course feedback``,
``nbgrader release_feedback`` and the student's ``fetch_feedback``, which must bring back a page with the final
score (the written answer's hand grade included). One student, one notebook: ~30 s."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import get_username

from course_lib.grading.samples import reference_submission

from tests.grading.test_pipeline_e2e import (ASSIGNMENT, copy_files, describe_run, live_script_problems, run_cli,
                                             tracked_files)

pytestmark = pytest.mark.e2e
COURSE = "lstm-course"      # c.CourseDirectory.course_id of nbgrader_config.py
STUDENT = get_username()    # nbgrader's exchange names a student by the user running the command


def nbgrader(*args: str, cwd: Path, exchange: Path) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("nbgrader")), *args, f"--Exchange.root={exchange}"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


def test_feedback_a_student_fetches_has_the_final_score(tmp_path):
    root, home, exchange = tmp_path / "course", tmp_path / "student", tmp_path / "exchange"
    home.mkdir()
    exchange.mkdir(mode=0o777)
    copy_files(["nbgrader_config.py", *[f for f in tracked_files(("source/", "release/")) if "hidden" not in f]], root)
    built = run_cli(root, "build", ASSIGNMENT)
    assert built.returncode == 0, describe_run(built)

    steps = [nbgrader("release_assignment", ASSIGNMENT, cwd=root, exchange=exchange),
             nbgrader("fetch_assignment", ASSIGNMENT, f"--course={COURSE}", cwd=home, exchange=exchange)]
    for step in steps:
        assert step.returncode == 0, step.stdout + step.stderr
    fetched = home / ASSIGNMENT / "lstm_gates.ipynb"
    source = root / "source" / ASSIGNMENT / "lstm_gates.ipynb"
    nbformat.write(reference_submission(fetched, source), fetched)   # the student's work: every solution written
    submitted = nbgrader("submit", ASSIGNMENT, f"--course={COURSE}", cwd=home, exchange=exchange)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    collected = nbgrader("collect", ASSIGNMENT, cwd=root, exchange=exchange)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert (root / "submitted" / STUDENT / ASSIGNMENT / "submission_secret.txt").is_file()

    graded = run_cli(root, "autograde", ASSIGNMENT, "--jobs", "1")
    assert graded.returncode == 0, describe_run(graded)
    assert "ignored" not in graded.stdout, "nbgrader's own files are not the student's extra files:\n" + graded.stdout
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE) as gb:   # the written answer, graded by hand
        grade = gb.find_grade("forget_bias_answer", "lstm_gates", ASSIGNMENT, STUDENT)
        grade.manual_score = grade.max_score
        gb.db.commit()
        submission = gb.find_submission(ASSIGNMENT, STUDENT)
        assert submission.score == submission.max_score == 17

    regraded = run_cli(root, "autograde", ASSIGNMENT, "--jobs", "1", "--no-feedback", "--force")  # after hand grading
    assert regraded.returncode == 0, describe_run(regraded)
    assert "17 / 17" in regraded.stdout and "manual grading pending" not in regraded.stdout, regraded.stdout
    remade = run_cli(root, "feedback", ASSIGNMENT)
    assert remade.returncode == 0, describe_run(remade)
    released = nbgrader("release_feedback", ASSIGNMENT, cwd=root, exchange=exchange)
    assert released.returncode == 0, released.stdout + released.stderr
    fetched_feedback = nbgrader("fetch_feedback", ASSIGNMENT, f"--course={COURSE}", cwd=home, exchange=exchange)
    assert fetched_feedback.returncode == 0, fetched_feedback.stdout + fetched_feedback.stderr
    pages = list((home / ASSIGNMENT / "feedback").glob("*/lstm_gates.html"))
    assert len(pages) == 1, fetched_feedback.stdout + fetched_feedback.stderr
    html = pages[0].read_text(encoding="utf-8")
    assert re.search(r"Score: 17(\.0)? / 17(\.0)?", html), "the page the student fetched has the final score"
    assert not live_script_problems(html)
