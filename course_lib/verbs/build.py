"""``lstm-course build [--force] [ASSIGNMENT...]``: data and hidden tests next to the source notebooks, then
``release/`` (refused where a release notebook holds someone's work, unless ``--force``)."""
from __future__ import annotations

from course_lib.grading.course_build import build


def main(args) -> int:
    root = args.course_dir
    print(f"Building {', '.join(args.assignments) or 'all assignments'} in {root}")
    build(root, args.assignments or None, force=args.force)
    return 0
