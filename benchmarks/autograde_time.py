"""Wall time to autograde one notebook of an assignment (hidden tests included), with and without the sandbox.

Budgets on 2 CPU cores: assignment 01 under 30 s per notebook (issue 2), and the time the sandbox adds (issue 3);
assignment 02, which trains three models in the kernel and scores them in the model sandbox, under 2 minutes
(issue 9); assignment 03, four text models, under 90 s (issue 10); assignment 04, two character models, under 90 s (issue 11); assignment 05, one sonnet model and the poems it
writes, under 3 minutes (issue 12); assignment 06, a BiLSTM tagger trained in the kernel and scored on five plays,
under 4 minutes (issue 13). Run from the course root:

    .venv/bin/python benchmarks/autograde_time.py [--assignment 01_lstm_gates] [--repeat 3] [--modes bwrap none]

It builds a scratch copy of the course (the real gradebook is not touched), hands in the reference solution and
the untouched release notebook, and autogrades each with the bubblewrap sandbox and without it, interleaved, in
this one run; it prints min/median/max wall seconds and the sandboxed/unsandboxed ratio of medians.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import nbformat

from course_lib.assignments.registry import get_assignment
from course_lib.grading.class_grading import grade_class
from course_lib.grading.course import nbgrader_api
from course_lib.grading.course_build import build
from course_lib.grading.samples import reference_submission, write_submission
from course_lib.grading.scheduler import LocalBackend
from course_lib.grading.scratch import GradingContext

ROOT = Path(__file__).resolve().parents[1]
BUDGETS = {"01_lstm_gates": 30, "02_sequence_prediction": 120, "03_sentiment": 90, "04_text_generation": 90,
           "05_poem_generation": 180, "06_ner": 240}   # seconds per notebook (the issues)


def scratch_course(tmp: Path) -> Path:
    tmp.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", tmp / "nbgrader_config.py")
    shutil.copytree(ROOT / "source", tmp / "source", ignore=shutil.ignore_patterns("hidden"))
    shutil.copytree(ROOT / "release", tmp / "release")
    return tmp


def main() -> None:
    warnings.filterwarnings("ignore", message=r".*not in session, add operation along.*")  # see course_lib/cli.py
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="01_lstm_gates")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=("bwrap", "none"), default=["bwrap", "none"],
                        help="kernel sandboxes to time (both: the sandbox's cost)")
    args = parser.parse_args()
    assignment = get_assignment(args.assignment)
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = scratch_course(Path(tmp) / "course")
        build(root, [assignment.name], echo=lambda *_: None)
        release, source = assignment.release_notebook(root), assignment.source_notebook(root)
        kinds = {"reference": reference_submission(release, source), "untouched": nbformat.read(release, as_version=4)}
        db_url = nbgrader_api(root).coursedir.db_url
        for student, notebook in kinds.items():
            write_submission(root, student, assignment.name, assignment.notebook, notebook)
        contexts = {mode: GradingContext.create(root, assignment, mode, Path(tmp) / mode) for mode in args.modes}
        for _ in range(args.repeat):
            for student in kinds:  # interleaved, so drift of the machine's speed hits every variant alike
                for mode, ctx in contexts.items():
                    start = time.perf_counter()
                    outcome, = grade_class([(ctx, [student])], db_url, False, LocalBackend(1, ctx.worker_memory),
                                           echo=lambda *_: None, force=True)
                    times.setdefault((student, mode), []).append(time.perf_counter() - start)
                    assert outcome.status == "graded", outcome.reason
    print(f"autograde of one {assignment.name} notebook, {args.repeat} runs each (wall seconds, min/median/max):")
    for (student, mode), values in times.items():
        print(f"  {student:<10} sandbox={mode:<6} {min(values):6.2f} {statistics.median(values):6.2f} {max(values):6.2f}")
    for student in kinds:
        if {"bwrap", "none"} <= set(args.modes):
            sandboxed, bare = (statistics.median(times[(student, m)]) for m in ("bwrap", "none"))
            print(f"  {student}: the sandbox adds {sandboxed - bare:+.2f} s per notebook (ratio {sandboxed / bare:.2f})")
    print(f"budget: < {BUDGETS.get(assignment.name, '?')} s per notebook on 2 cores")


if __name__ == "__main__":
    main()
