"""Throughput of grading a class, and the grading overhead per submission (issue 14). Run from the course root:

    .venv/bin/python benchmarks/autograde_throughput.py [--assignment 01_lstm_gates] [--submissions 8]
    .venv/bin/python benchmarks/autograde_throughput.py --cost-model [ASSIGNMENT...] [--submissions 2]

The first form builds a scratch copy of the course, hands in ``--submissions`` copies of the reference solution and
grades them, in this one run and in this order, with:

* plain serial ``nbgrader autograde`` with the course's own configuration but no sandbox (the anchor);
* ``lstm-course autograde --jobs 1``, the same with feedback pages (for the overhead they add), ``--jobs 2``;
* ``lstm-course autograde --scheduler`` on a local Dask cluster of 2 single-threaded worker processes
  (started before the clock starts, as a cluster would be).

Every run grades every submission again (``--force``, and no feedback pages, which plain nbgrader does not make
either, except where said); the scores of every run must equal the anchor's. It prints each wall time, the ratios, and the grading
overhead: for each submission of the ``--jobs 1`` run, the seconds its grading took minus the seconds the kernel
spent running the notebook's cells (process and kernel start, imports, sandbox, sanitising, verdicts, gradebook),
plus the command's own start-up shared out over the class.

``--cost-model`` grades ``--submissions`` reference notebooks of each assignment (default: all six; from this
checkout's build, so run ``lstm-course build`` first) with ``--jobs 1`` and prints the seconds per submission, the
cells' share and the overhead of each, then what 1,000 students cost in core-hours.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook

from course_lib.assignments.registry import ASSIGNMENTS, get_assignment
from course_lib.grading.course import nbgrader_api
from course_lib.grading.samples import reference_submission, write_submission

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGETS = {"jobs 2 vs plain nbgrader": 1.8, "dask vs jobs 2 (within)": 0.10, "overhead s": 1.0}


def scratch_course(tmp: Path, assignments: list[str], built: bool = False) -> Path:
    """A copy of the course with ``assignments``: built afresh, or (``built``) taking this checkout's build (its
    hidden tests and build-only data must be up to date: ``lstm-course build`` first) and only registering the
    assignments in the copy's gradebook, which saves the minutes 02-06 take to build."""
    root = tmp / "course"
    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    skip = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", *(() if built else ("hidden",)))
    for name in assignments:
        shutil.copytree(ROOT / "source" / name, root / "source" / name, ignore=skip)
        shutil.copytree(ROOT / "release" / name, root / "release" / name, ignore=skip)
    if built:
        api = nbgrader_api(root)
        for name in assignments:
            if not api.generate_assignment(name, force=True, create=True).get("success"):
                sys.exit(f"could not register {name}: build it first (lstm-course build {name})")
    else:
        run([BIN / "lstm-course", "--course-dir", root, "build", *assignments], root)
    return root


def run(command: list, cwd: Path) -> float:
    """Wall seconds of ``command``; it must succeed."""
    start = time.perf_counter()
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def hand_in(root: Path, name: str, count: int) -> list[str]:
    assignment = get_assignment(name)
    notebook = reference_submission(assignment.release_notebook(root), assignment.source_notebook(root))
    students = [f"student{i:03d}" for i in range(1, count + 1)]
    for student in students:
        write_submission(root, student, name, assignment.notebook, notebook)
    return students


def scores(root: Path, name: str) -> dict[str, float]:
    api = nbgrader_api(root)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        return {s.student.id: round(s.score, 6) for s in gb.assignment_submissions(name)}


def log_entries(root: Path, name: str, students: list[str]) -> list[dict]:
    log = json.loads((root / "autograded" / "grading-log.json").read_text())
    return [log[f"{name}/{s}"] for s in students]


def lstm_course(root: Path, name: str, *options: str, feedback: bool = False) -> float:
    return run([BIN / "lstm-course", "--course-dir", root, "autograde", name, "--force",
                *(() if feedback else ("--no-feedback",)), *options], root)


def overhead(root: Path, name: str, students: list[str], wall: float) -> tuple[list[float], float]:
    """Per submission: grading seconds minus cell seconds; and the command's start-up per submission."""
    entries = log_entries(root, name, students)
    per_submission = [e["seconds"] - e["cell_seconds"] for e in entries]
    startup = (wall - sum(e["seconds"] for e in entries)) / len(students)
    return per_submission, startup


def throughput(name: str, count: int) -> None:
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory() as tmp:
        root = scratch_course(Path(tmp), [name])
        students = hand_in(root, name, count)
        walls, results = {}, {}
        walls["plain nbgrader"] = run([BIN / "nbgrader", "autograde", name, "--force", "--Sandbox.mode=none"], root)
        results["plain nbgrader"] = scores(root, name)
        walls["jobs 1"] = lstm_course(root, name, "--jobs", "1")
        results["jobs 1"] = scores(root, name)
        per_submission, startup = overhead(root, name, students, walls["jobs 1"])
        cells = [e["cell_seconds"] for e in log_entries(root, name, students)]
        walls["jobs 1 + feedback"] = lstm_course(root, name, "--jobs", "1", feedback=True)
        results["jobs 1 + feedback"] = scores(root, name)
        with_feedback, _ = overhead(root, name, students, walls["jobs 1 + feedback"])
        walls["jobs 2"] = lstm_course(root, name, "--jobs", "2")
        results["jobs 2"] = scores(root, name)
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=40)
        try:
            walls["dask 2 workers"] = lstm_course(root, name, "--scheduler", cluster.scheduler_address)
            results["dask 2 workers"] = scores(root, name)
        finally:
            cluster.close()
    print(f"{count} reference submissions of {name}, os.cpu_count() = {os.cpu_count()}, one run each:")
    for label, seconds in walls.items():
        same = "same scores" if results[label] == results["plain nbgrader"] else f"SCORES DIFFER: {results[label]}"
        print(f"  {label:<16} {seconds:7.1f} s  {seconds / count:6.2f} s/submission  {same}")
    plain, one, two, dask_wall = (walls[k] for k in ("plain nbgrader", "jobs 1", "jobs 2", "dask 2 workers"))
    print(f"  jobs 2 vs plain nbgrader: {plain / two:.2f}x faster (target >= {TARGETS['jobs 2 vs plain nbgrader']})")
    print(f"  jobs 2 vs jobs 1:         {one / two:.2f}x faster")
    print(f"  dask vs jobs 2:           {dask_wall / two:.2f} of its wall time (target within 10 %)")
    print(f"  cells run in the kernel:  median {statistics.median(cells):.2f} s per submission")
    print(f"  grading overhead (jobs 1): median {statistics.median(per_submission):.2f} s, max "
          f"{max(per_submission):.2f} s per submission, plus {startup:.2f} s of the command's start-up per "
          f"submission (target <= {TARGETS['overhead s']} s)")
    print(f"  with the feedback page rendered too: median {statistics.median(with_feedback):.2f} s per submission")


def cost_model(count: int, names: list[str]) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = scratch_course(Path(tmp), names, built=True)
        for name in names:
            students = hand_in(root, name, count)
            wall = lstm_course(root, name, "--jobs", "1")
            entries = log_entries(root, name, students)
            per_submission, startup = overhead(root, name, students, wall)
            rows.append((name, statistics.median(e["seconds"] for e in entries),
                         statistics.median(e["cell_seconds"] for e in entries), statistics.median(per_submission)))
    print(f"seconds per submission, --jobs 1, {count} reference submissions each, os.cpu_count() = {os.cpu_count()}:")
    print(f"  {'assignment':<24} {'grading':>8} {'cells':>8} {'overhead':>9}")
    for name, seconds, cells, extra in rows:
        print(f"  {name:<24} {seconds:8.1f} {cells:8.1f} {extra:9.2f}")
    total = sum(r[1] for r in rows)
    print(f"  one student, all six: {total:.0f} s of one core; 1,000 students: {total * 1000 / 3600:.0f} core-hours")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="01_lstm_gates")
    parser.add_argument("--submissions", type=int, default=None, help="default: 8 (2 with --cost-model)")
    parser.add_argument("--cost-model", nargs="*", metavar="ASSIGNMENT", default=None,
                        help="seconds per submission of these assignments (default: all) from this checkout's build")
    args = parser.parse_args()
    if args.cost_model is not None:
        cost_model(args.submissions or 2, args.cost_model or list(ASSIGNMENTS))
    else:
        throughput(args.assignment, args.submissions or 8)


if __name__ == "__main__":
    main()
