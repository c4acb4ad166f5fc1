"""``lstm-course lab [--student ID] [--port N] [--no-browser]``: JupyterLab for a local try-out of the course.

Without ``--student``: the instructor's server on the course (Formgrader; its Generate, Autograde and Feedback
buttons run ``lstm-course build``, ``autograde`` and ``feedback``). With ``--student ID``: that student's server in
``students/ID/`` (Assignment List: fetch, Validate, submit, fetch feedback). Both listen on 127.0.0.1 only, with a
token, and share the course-local exchange (:mod:`course_lib.lab.exchange`).
"""
from __future__ import annotations

import subprocess

from course_lib.grading.course import CourseError
from course_lib.lab.profiles import instructor_server, student_server


def main(args) -> int:
    try:
        server = (student_server(args.course_dir, args.student, args.port or 8889, open_browser=not args.no_browser)
                  if args.student else
                  instructor_server(args.course_dir, args.port or 8888, open_browser=not args.no_browser))
    except ValueError as error:
        raise CourseError(str(error)) from None
    who = f"student '{args.student}'" if args.student else "the instructor"
    print(f"JupyterLab for {who}: {server.root_dir}\n  open {server.url}\n  (Ctrl+C stops it)", flush=True)
    try:
        return subprocess.call(server.argv, cwd=server.root_dir, env=server.env)
    except KeyboardInterrupt:
        return 0
