"""``lstm-course build [ASSIGNMENT...]``: data and hidden tests next to the source notebooks, then ``release/``."""
from __future__ import annotations

from course_lib.grading.course_build import build


def main(args) -> int:
    root = args.course_dir
    print(f"Building {', '.join(args.assignments) or 'all assignments'} in {root}")
    build(root, args.assignments or None)
    return 0
