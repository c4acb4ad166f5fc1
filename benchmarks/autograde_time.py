"""Wall time to autograde one assignment-01 notebook (hidden tests included), and `make test`'s budget context.

Budget (issue 2): under 30 s wall per notebook on 2 CPU cores. Run from the course root:

    .venv/bin/python benchmarks/autograde_time.py [--repeat 3]

It builds a scratch copy of the course (the real gradebook is not touched), hands in the reference solution and
the untouched release notebook, autogrades each `--repeat` times in this one run, and prints min/median/max wall
seconds per submission kind and their ratio. Feedback HTML is timed separately (it is optional in autograde).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from course_lib.grading.autograde import autograde_submission
from course_lib.grading.build import build
from course_lib.grading.course import get_assignment, nbgrader_api
from course_lib.grading.samples import reference_submission, write_submission

ROOT = Path(__file__).resolve().parents[1]


def scratch_course(tmp: Path) -> Path:
    shutil.copy(ROOT / "nbgrader_config.py", tmp / "nbgrader_config.py")
    shutil.copytree(ROOT / "source", tmp / "source", ignore=shutil.ignore_patterns("hidden_tests.json"))
    shutil.copytree(ROOT / "release", tmp / "release")
    return tmp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    assignment = get_assignment("01_lstm_gates")
    with tempfile.TemporaryDirectory() as tmp:
        root = scratch_course(Path(tmp))
        build(root, [assignment.name], echo=lambda *_: None)
        release = root / "release" / assignment.name / f"{assignment.notebook}.ipynb"
        source = root / "source" / assignment.name / f"{assignment.notebook}.ipynb"
        kinds = {"reference": reference_submission(release, source),
                 "untouched": nbformat.read(release, as_version=4)}
        for student, notebook in kinds.items():
            write_submission(root, student, assignment.name, assignment.notebook, notebook)
        api = nbgrader_api(root)
        times: dict[str, list[float]] = {k: [] for k in kinds}
        feedback: list[float] = []
        for _ in range(args.repeat):
            for student in kinds:  # interleaved, so drift of the machine's speed hits both alike
                start = time.perf_counter()
                outcome = autograde_submission(root, api, assignment, student, feedback=False)
                times[student].append(time.perf_counter() - start)
                assert outcome.status == "graded", outcome.reason
            start = time.perf_counter()
            api.generate_feedback(assignment.name, "reference", force=True)
            feedback.append(time.perf_counter() - start)
    print(f"autograde of one {assignment.name} notebook, {args.repeat} runs each (wall seconds, min/median/max):")
    for kind, values in times.items():
        print(f"  {kind:<10} {min(values):6.2f} {statistics.median(values):6.2f} {max(values):6.2f}")
    print(f"  feedback   {min(feedback):6.2f} {statistics.median(feedback):6.2f} {max(feedback):6.2f}")
    print(f"ratio reference/untouched (median): "
          f"{statistics.median(times['reference']) / statistics.median(times['untouched']):.2f}")
    print("budget: < 30 s per notebook on 2 cores")


if __name__ == "__main__":
    main()
