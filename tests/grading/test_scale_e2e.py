"""Grading at scale, end to end on assignment 01: every backend gives the scores serial grading gives, nothing is
lost or graded twice when a worker dies or the run is interrupted, and a rerun keeps what is unchanged.

One scratch course is built and a small class handed in (the reference, the untouched release, three sample
mistakes and a broken file). It is graded serially first (``--jobs 1``): the scores and verdicts every other run
must reproduce. Then ``--jobs 2`` and ``--scheduler`` on a local Dask cluster (two single-threaded worker
processes, as ``dask worker`` starts them) regrade it; a Dask worker and a local grading process are killed in
the middle of a grading; a run is interrupted with SIGINT (Ctrl-C) and resumed; a changed submission is regraded
while the unchanged ones are kept. About 4 minutes on 2 cores.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_lib.grading.course import nbgrader_api
from course_lib.grading.samples import reference_submission, with_mistake, write_submission

from tests.grading.test_pipeline_e2e import (
    ASSIGNMENT, NOTEBOOK, ROW, RunningCli, describe_run, grades_of, run_cli, scratch_course, verdict_texts,
)

pytestmark = pytest.mark.e2e

MISTAKES = ROW.module("mistakes").MISTAKES
CLASS_MISTAKES = ("cs231n_gate_order", "no_recurrent_term", "state_not_carried")
BROKEN = "broken-file"
CLI_TIMEOUT = 900


def handed_in(root: Path) -> list[str]:
    """Hand the class in; the students whose notebooks are graded (the broken file is rejected)."""
    reference = reference_submission(ROW.release_notebook(root), ROW.source_notebook(root))
    notebooks = {"reference": reference, "untouched": nbformat.read(ROW.release_notebook(root), as_version=4)}
    notebooks.update({f"mistake-{name}": with_mistake(reference, MISTAKES[name]) for name in CLASS_MISTAKES})
    for student, notebook in notebooks.items():
        write_submission(root, student, ASSIGNMENT, NOTEBOOK, notebook)
    broken = root / "submitted" / BROKEN / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / f"{NOTEBOOK}.ipynb").write_bytes(b'{"cells": [')
    return list(notebooks)


def log_of(root: Path) -> dict:
    return json.loads((root / "autograded" / "grading-log.json").read_text(encoding="utf-8"))


def state_of(root: Path, students: list[str]) -> dict:
    """Everything a grading run leaves that must not depend on how it ran: grades and verdicts per student."""
    return {s: (grades_of(root, s), verdict_texts(root, s)) for s in students}


def submissions_in_gradebook(root: Path) -> list[str]:
    api = nbgrader_api(root)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        return sorted(s.student.id for s in gb.assignment_submissions(ASSIGNMENT))


def grade(root: Path, *options: str) -> str:
    result = run_cli(root, "autograde", ASSIGNMENT, "--no-feedback", *options, timeout=CLI_TIMEOUT)
    assert result.returncode == 0, f"`lstm-course autograde {' '.join(options)}` failed:\n{describe_run(result)}"
    return result.stdout


def assert_graded_once_each(root: Path, students: list[str], output: str, expected: dict) -> None:
    log = log_of(root)
    not_graded = {s: log.get(f"{ASSIGNMENT}/{s}") for s in students if log.get(f"{ASSIGNMENT}/{s}", {}).get(
        "status") != "graded"}
    assert not not_graded, f"not graded: {not_graded}\n{output}"
    assert submissions_in_gradebook(root) == sorted(students), "one gradebook submission per graded student"
    for student in students + [BROKEN]:
        lines = [line for line in output.splitlines() if line.strip().startswith(f"{student} ")]
        assert len(lines) == 1, f"{student} should be reported exactly once, got {lines}\n{output}"
    assert state_of(root, students) == expected, "the grades or verdicts differ from serial grading's"


@pytest.fixture(scope="module")
def course(scratch_course):
    """The built scratch course with the class handed in, graded serially once: (root, students, state)."""
    root = scratch_course
    students = handed_in(root)
    output = grade(root, "--jobs", "1")
    assert "rejected" in output.lower() and BROKEN in output.split("Not graded:")[-1], (
        f"the broken file should be listed, with its reason, under the summary:\n{output}")
    expected = state_of(root, students)
    assert expected["reference"][0] and all(score == full for score, full in expected["reference"][0].values()
                                            if score is not None), expected["reference"]
    return root, students, expected


@pytest.fixture(scope="module")
def dask_cluster():
    """Two single-threaded Dask worker processes under nannies, as `dask worker --nthreads 1` runs them."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40)
    client = Client(cluster)
    yield cluster, client
    client.close()
    cluster.close()


def fresh_copy(root: Path, tmp_path: Path) -> Path:
    """The course as built and handed in, before any grading (its gradebook keeps only the assignment)."""
    copy = tmp_path / "course"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("autograded", "feedback"))
    api = nbgrader_api(copy)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        for student in [s.id for s in gb.students]:
            gb.remove_student(student)
    return copy


def test_parallel_grading_gives_the_serial_scores(course):
    root, students, expected = course
    output = grade(root, "--jobs", "2", "--force")
    assert "2 at a time" in output, output
    assert_graded_once_each(root, students, output, expected)


def test_dask_grading_gives_the_serial_scores(course, dask_cluster):
    root, students, expected = course
    cluster, client = dask_cluster
    output = grade(root, "--scheduler", cluster.scheduler_address, "--force")
    assert "on the Dask cluster" in output and "2 workers" in output, output
    assert_graded_once_each(root, students, output, expected)
    workers = {log_of(root)[f"{ASSIGNMENT}/{s}"]["worker"] for s in students}
    assert len(workers) == 2, f"both Dask workers should have graded (graded on {workers})"


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_dask_worker_killed_mid_grade_loses_no_submission(course, dask_cluster, tmp_path):
    """SIGKILL of a Dask worker process while it grades (its kernel running): Dask's scheduler gives its task to
    another worker, the nanny starts a new worker, and every submission ends graded exactly once, with the serial
    scores."""
    root, students, expected = course
    cluster, client = dask_cluster
    running = RunningCli(root, ("autograde", ASSIGNMENT, "--no-feedback", "--force", "--scheduler",
                                cluster.scheduler_address), None, tmp_path / "logs")
    try:
        pids = client.run(os.getpid).values()
        # a worker whose grading is under way: its grading process has a kernel running
        busy = _wait_for(lambda: [pid for pid in pids if _busy_grading_processes(pid)], 120, "a grading at work")
        os.kill(busy[0], signal.SIGKILL)
        result = running.wait(CLI_TIMEOUT)
    finally:
        running.stop()
    assert result.returncode == 0, describe_run(result)
    assert_graded_once_each(root, students, result.stdout, expected)


def _children(pid: int) -> list[int]:
    """The child processes of ``pid``, whichever of its threads started them."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            pass
    return found


def _busy_grading_processes(pid: int) -> list[int]:
    """The grading processes of process ``pid`` (a `lstm-course autograde`, a Dask worker: children of its
    multiprocessing fork server) that are grading now: they have a kernel running."""
    servers = [p for p in _children(pid) if b"forkserver" in Path(f"/proc/{p}/cmdline").read_bytes()]
    return [child for server in servers for child in _children(server) if _children(child)]


def test_a_killed_local_grading_process_is_retried(course, tmp_path):
    root, students, expected = course
    running = RunningCli(root, ("autograde", ASSIGNMENT, "--no-feedback", "--force", "--jobs", "2"), None,
                         tmp_path / "logs")
    try:
        victims = _wait_for(lambda: _busy_grading_processes(running.process.pid), 120, "a grading at work")
        os.kill(victims[0], signal.SIGKILL)
        result = running.wait(CLI_TIMEOUT)
    finally:
        running.stop()
    assert result.returncode == 0, describe_run(result)
    assert_graded_once_each(root, students, result.stdout, expected)
    retried = [s for s in students if log_of(root)[f"{ASSIGNMENT}/{s}"]["attempts"] == 2]
    assert len(retried) == 1, f"exactly the killed grading should have been tried twice: {retried}"


def test_an_interrupted_run_resumes_to_the_same_gradebook(course, tmp_path):
    """SIGINT (Ctrl-C) after two commits: the CLI stops (exit 130) and keeps them; the rerun grades only the
    rest, and the gradebook ends as a clean run leaves it."""
    root, students, expected = course
    copy = fresh_copy(root, tmp_path)
    running = RunningCli(copy, ("autograde", ASSIGNMENT, "--no-feedback", "--jobs", "1"), None, tmp_path / "logs")
    try:
        graded = lambda: [k for k, v in (log_of(copy) if (copy / "autograded" / "grading-log.json").exists()
                                         else {}).items() if v["status"] == "graded"]
        _wait_for(lambda: len(graded()) >= 2, 300, "two committed gradings")
        os.kill(running.process.pid, signal.SIGINT)
        interrupted = running.wait(120)
    finally:
        running.stop()
    assert interrupted.returncode == 130, describe_run(interrupted)
    assert "interrupted" in interrupted.stderr, describe_run(interrupted)
    done = {key.split("/", 1)[1] for key in graded()}
    assert 2 <= len(done) < len(students), f"the interruption came too late to test anything: {done}"
    assert set(submissions_in_gradebook(copy)) == done, "only the committed gradings are in the gradebook"
    output = grade(copy, "--jobs", "2")
    kept = {s for s in students if f"{s} " in output and "kept" in next(
        line for line in output.splitlines() if line.strip().startswith(f"{s} "))}
    assert kept == done, f"the rerun should keep exactly the gradings committed before the interruption:\n{output}"
    assert_graded_once_each(copy, students, output, expected)


def test_an_unchanged_submission_is_kept_and_a_changed_one_regraded(course):
    root, students, expected = course
    grade(root, "--jobs", "2", "--force")
    reference = reference_submission(ROW.release_notebook(root), ROW.source_notebook(root))
    write_submission(root, "untouched", ASSIGNMENT, NOTEBOOK, reference)   # the student resubmits, fixed
    output = grade(root, "--jobs", "2")
    lines = {s: next(line for line in output.splitlines() if line.strip().startswith(f"{s} ")) for s in students}
    assert "kept" not in lines["untouched"], lines["untouched"]
    assert all("kept" in lines[s] for s in students if s != "untouched"), output
    assert grades_of(root, "untouched") == expected["reference"][0], "the resubmission was not regraded"
    again = grade(root, "--jobs", "2")
    assert all("kept" in line for line in again.splitlines() if line.strip().startswith(tuple(students))), again
