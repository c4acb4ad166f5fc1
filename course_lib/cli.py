"""The ``lstm-course`` command: one subcommand per verb, each implemented in ``course_lib.verbs.<verb>``."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings
from pathlib import Path

from course_lib.grading.course import CourseError, find_course_root, skip_slow_format_checks

VERBS = {
    "build": "prepare data and hidden tests next to source/, and regenerate release/ with nbgrader",
    "autograde": "grade submitted/ into autograded/ and the gradebook",
    "report": "write the grade table (CSV) and print a summary",
    "feedback": "make the feedback pages again from the gradebook (after hand grading, before release_feedback)",
    "check": "self-study: grade one completed notebook against the hidden tests (no gradebook)",
    "lab": "JupyterLab on 127.0.0.1 for a local try-out: the instructor's (Formgrader) or, with --student, a student's",
    "demo": "build, hand in the sample submissions of each assignment, autograde them and print the grades",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lstm-course", description="LSTM course: build, grade and check assignments.")
    p.add_argument("--course-dir", type=Path, default=None,
                   help="the course checkout (default: found from the current directory)")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs = {name: sub.add_parser(name, help=text, description=text) for name, text in VERBS.items()}
    verbs["build"].add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    verbs["build"].add_argument("--force", action="store_true",
                                help="regenerate release/ even where a notebook there holds someone's work")
    verbs["autograde"].add_argument("assignment", nargs="?", metavar="ASSIGNMENT",
                                    help="default: every assignment with submissions")
    verbs["autograde"].add_argument("--student", action="append", metavar="ID", help="repeatable; default: all")
    verbs["autograde"].add_argument("--no-feedback", action="store_true", help="skip the feedback HTML")
    verbs["autograde"].add_argument("--jobs", "-j", type=int, default=None,
                                    help="submissions graded at once on this machine (default: one per CPU core)")
    verbs["autograde"].add_argument("--scheduler", metavar="ADDRESS",
                                    help="grade on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786) "
                                    "instead of this machine; see the README, 'Grading at scale'")
    verbs["autograde"].add_argument("--force", action="store_true",
                                    help="regrade submissions graded before and unchanged since (default: kept)")
    verbs["report"].add_argument("--output", "-o", metavar="CSV", help="default: grades.csv in the course")
    verbs["feedback"].add_argument("assignment", nargs="?", metavar="ASSIGNMENT", help="default: all")
    verbs["feedback"].add_argument("--student", action="append", metavar="ID", help="repeatable; default: all")
    verbs["demo"].add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    verbs["demo"].add_argument("--jobs", "-j", type=int, default=None,
                               help="submissions graded at once (default: one per CPU core, as RAM allows)")
    verbs["lab"].add_argument("--student", metavar="ID", help="a student's server in students/ID/ (default: the "
                              "instructor's, on the course)")
    verbs["lab"].add_argument("--port", type=int, default=None, help="default: 8888 (instructor), 8889 (student)")
    verbs["lab"].add_argument("--no-browser", action="store_true", help="do not open a browser")
    verbs["check"].add_argument("notebook", metavar="NOTEBOOK", help="a completed assignment notebook")
    verbs["check"].add_argument("--assignment", help="when the notebook was renamed")
    for verb in ("autograde", "check"):
        verbs[verb].add_argument(
            "--sandbox", choices=("bwrap", "none"), default=None,
            help="bwrap (default): each kernel in a bubblewrap sandbox; none: no protection (macOS, trusted code)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.verb != "lab":
        skip_slow_format_checks()
    # TensorFlow's C++ start-up chatter is noise for a student reading their results.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    # nbgrader 0.9.6's gradebook adds a submission to the ORM session after touching its relationships, and
    # SQLAlchemy 2 warns about that autoflush ordering on every autograde; the rows are written all the same.
    warnings.filterwarnings("ignore", message=r".*not in session, add operation along.*")
    try:
        args.course_dir = find_course_root(args.course_dir)
        return importlib.import_module(f"course_lib.verbs.{args.verb}").main(args)
    except CourseError as error:
        print(f"lstm-course {args.verb}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lstm-course {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
