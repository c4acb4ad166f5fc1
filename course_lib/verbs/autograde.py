"""``lstm-course autograde [ASSIGNMENT] [--student ID...] [--jobs N | --scheduler ADDRESS] [--force]
[--sandbox bwrap|none]``: grade ``submitted/`` into ``autograded/``, the gradebook and ``feedback/`` (see
:mod:`course_lib.grading.class_grading`)."""
from __future__ import annotations


def main(args) -> int:
    if not args.scheduler:
        # the grading processes' fork server imports nbgrader on the other core while this process does
        from course_lib.grading.worker import warm_up
        warm_up()
    from course_lib.grading.class_grading import autograde

    names = [args.assignment] if args.assignment else None
    print(f"Autograding {args.assignment or 'every assignment with submissions'} in {args.course_dir}")
    outcomes = autograde(args.course_dir, names, args.student or None, feedback=not args.no_feedback,
                         sandbox=args.sandbox, jobs=args.jobs, scheduler=args.scheduler, force=args.force)
    bad = [o for o in outcomes if o.status != "graded"]
    kept = sum(o.kept for o in outcomes)
    print(f"{len(outcomes) - len(bad) - kept} graded, {kept} kept, {len(bad)} not graded; `lstm-course report` "
          f"prints the table.")
    return 0
