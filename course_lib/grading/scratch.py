"""The scratch course a submission is graded in: a throw-away nbgrader course holding only that submission
(sanitised), the released data files and a copy of the assignment's gradebook entries.

:class:`GradingContext` is made once per assignment (the template scratch course, the release notebook, the
released files, the limits); :func:`intake` then checks and sanitises each submission into the task a worker grades
(:mod:`~course_lib.grading.work_unit`).
"""
from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.utils import find_all_files

from course_lib.assignments.registry import Assignment
from course_lib.grading.course import CourseError, load_config, nbgrader_api
from course_lib.grading.course_build import ensure_built
from course_lib.grading.sandbox import Sandbox
from course_lib.grading.sanitize import sanitize
from course_lib.grading.submissions import RejectedSubmission, SubmissionLimits, read_notebook
from course_lib.grading.work_unit import AssignmentBundle, SubmissionTask, lay_out_scratch, materialise
from course_lib.grading.worker import Worker


@dataclass
class GradingContext:
    """What every submission of one assignment is graded with."""

    root: Path
    assignment: Assignment
    release: nbformat.NotebookNode
    template: Path          # a scratch course whose gradebook knows only this assignment
    sandbox: str
    course_id: str
    released_files: list[Path]   # copied next to each submission: the assignment's released data
    worker_timeout: float        # the kernel's wall-time limit plus time for nbgrader itself
    worker_memory: int
    limits: SubmissionLimits

    @classmethod
    def create(cls, root: Path, assignment: Assignment, sandbox: str, workdir: Path) -> "GradingContext":
        api = nbgrader_api(root)
        ensure_built(root, assignment, api)
        template = workdir / "template"
        (template / "source" / assignment.name).mkdir(parents=True)
        shutil.copy(assignment.source_notebook(root), template / "source" / assignment.name)
        config = load_config(root)
        worker = Worker(config=config)
        # the non-notebook files nbgrader copies next to each submission: released data, never hidden/
        released = [Path(p) for p in find_all_files(str(assignment.source_dir(root)),
                                                    api.coursedir.ignore + ["*.ipynb"])]
        limits = SubmissionLimits(config=config)
        config.CourseDirectory.root = str(template)
        # the template's own gradebook, whatever the course's is (PostgreSQL, say): nothing of it reaches the course
        config.CourseDirectory.db_url = f"sqlite:///{template / 'gradebook.db'}"
        result = nbgrader_api(template, config).generate_assignment(assignment.name, force=True, create=True)
        if not result.get("success"):
            raise CourseError(f"could not prepare the gradebook entries of {assignment.name}")
        return cls(root, assignment, nbformat.read(assignment.release_notebook(root), as_version=4), template,
                   sandbox, api.coursedir.course_id, released,
                   Sandbox(config=config).wall_seconds + worker.extra_seconds, worker.memory_bytes, limits)


#: files nbgrader's exchange writes next to a submission (``nbgrader submit`` / ``collect``): not the student's
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")


def check_files(folder: Path, assignment: Assignment, limits: SubmissionLimits) -> tuple[nbformat.NotebookNode,
                                                                                       list[str]]:
    """The submitted notebook of ``folder`` (parsed and validated), and notes on what else was handed in."""
    notes = []
    expected = folder / f"{assignment.notebook}.ipynb"
    others = sorted(p.name for p in folder.glob("*.ipynb") if p.name != expected.name)
    if not expected.exists() and others:
        raise RejectedSubmission(f"{expected.name} is missing (found {', '.join(others)}): submit the released "
                                 f"notebook under its original name")
    notebook = read_notebook(expected, limits)
    if others:
        notes.append(f"ignored {len(others)} extra notebook(s): {', '.join(others)}")
    extra = sorted(p.name for p in folder.iterdir() if p.suffix != ".ipynb" and p.name not in NBGRADER_FILES)
    if extra:
        notes.append(f"ignored {len(extra)} other file(s)")
    return notebook, notes


def content_hash(folder: Path, assignment: Assignment) -> str:
    """What a resumed run compares: the bytes of the handed-in notebook and of its exchange timestamp."""
    digest = hashlib.sha256()
    for name in (f"{assignment.notebook}.ipynb", "timestamp.txt"):
        path = folder / name
        digest.update(name.encode() + b"\0")
        if path.is_file() and not path.is_symlink():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def intake(ctx: GradingContext, folder: Path, student: str) -> SubmissionTask:
    """Check and sanitise the submission in ``folder`` (in the instructor's process): the task a worker grades.
    Raises :class:`RejectedSubmission` with a one-line reason for what is not a notebook of this assignment."""
    digest = content_hash(folder, ctx.assignment)
    notebook, notes = check_files(folder, ctx.assignment, ctx.limits)
    clean, changes = sanitize(notebook, ctx.release, ctx.limits)
    timestamp = folder / "timestamp.txt"
    stamp = None
    if timestamp.is_file() and not timestamp.is_symlink() and timestamp.stat().st_size < 100:
        stamp = timestamp.read_text(encoding="ascii", errors="replace")
    return SubmissionTask(student, nbformat.writes(clean).encode("utf-8"), stamp, digest, tuple(notes + changes))


def prepare_scratch(ctx: GradingContext, folder: Path, student: str, scratch: Path) -> list[str]:
    """Sanitise the submission in ``folder`` into the scratch course ``scratch``, as a worker lays it out; notes on
    what was changed."""
    task = intake(ctx, folder, student)
    bundle = AssignmentBundle.from_context(ctx)
    lay_out_scratch(materialise(bundle), bundle, task, scratch)
    return list(task.notes)
