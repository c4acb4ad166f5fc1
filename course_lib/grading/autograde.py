"""``lstm-course autograde [ASSIGNMENT] [--student ID...] [--sandbox bwrap|none]``: grade ``submitted/``.

Each submission is graded on its own, and nothing it does can reach the course:

1. its files are checked and its notebook sanitised against the instructor's release notebook
   (:mod:`course_lib.grading.sanitize`); a file that is not a notebook of this assignment is rejected with a
   one-line reason;
2. nbgrader autogrades it in a scratch course (its own copy of the assignment's gradebook entries, the released
   data files, and the sanitised notebook), in a worker process bounded in memory and time, with the kernel in a
   bubblewrap sandbox (:mod:`course_lib.grading.sandbox`) and the verdicts computed outside the kernel
   (:mod:`course_lib.grading.verdicts`);
3. only then are its scores written to the course's gradebook, in one transaction, and its graded notebook moved
   into ``autograded/<student>/<assignment>/``.

A failure while grading one student is recorded with its reason and the next student is graded.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import find_all_files

from course_lib.grading.build import ensure_built
from course_lib.grading.course import ASSIGNMENTS, Assignment, CourseError, get_assignment, load_config, nbgrader_api
from course_lib.grading.grading_log import Outcome, record
from course_lib.grading.sandbox import Sandbox, bwrap_available
from course_lib.grading.sanitize import sanitize
from course_lib.grading.submissions import RejectedSubmission, read_notebook, submission_dir, submitted_students
from course_lib.grading.worker import IsolatedGrading

WORKER_MEMORY_BYTES = 8 * 1024**3
STUDENT_ID = re.compile(r"[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,99}")
UNPROTECTED = ("grading WITHOUT a sandbox: student code runs as you, can read source/ (the hidden tests and "
               "solutions), write the gradebook and the course, use the network and leave processes behind")


def resolve_sandbox(requested: str | None, echo=print, fallback: bool = False) -> str:
    """``"bwrap"`` or ``"none"``; refuses to grade unprotected unless asked to (or ``fallback`` for our samples)."""
    if requested == "none":
        echo(f"WARNING: {UNPROTECTED}.")
        return "none"
    problem = bwrap_available(Sandbox().bwrap)
    if problem is None:
        return "bwrap"
    if fallback:
        echo(f"WARNING: {problem}; {UNPROTECTED}.")
        return "none"
    raise CourseError(f"cannot sandbox the kernels: {problem}. Install bubblewrap, or pass --sandbox none to grade "
                      f"anyway ({UNPROTECTED})")


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

    @classmethod
    def create(cls, root: Path, assignment: Assignment, sandbox: str, workdir: Path) -> "GradingContext":
        api = nbgrader_api(root)
        ensure_built(root, assignment, api)
        release_path = root / "release" / assignment.name / f"{assignment.notebook}.ipynb"
        template = workdir / "template"
        (template / "source" / assignment.name).mkdir(parents=True)
        shutil.copy(root / "source" / assignment.name / f"{assignment.notebook}.ipynb",
                    template / "source" / assignment.name)
        config = load_config(root)
        wall_seconds = Sandbox(config=config).wall_seconds
        # the non-notebook files nbgrader copies next to each submission (released data, never hidden tests)
        released = [Path(p) for p in find_all_files(str(root / "source" / assignment.name),
                                                    api.coursedir.ignore + ["*.ipynb"])]
        config.CourseDirectory.root = str(template)
        result = nbgrader_api(template, config).generate_assignment(assignment.name, force=True, create=True)
        if not result.get("success"):
            raise CourseError(f"could not prepare the gradebook entries of {assignment.name}")
        return cls(root, assignment, nbformat.read(release_path, as_version=4), template, sandbox,
                   api.coursedir.course_id, released, wall_seconds + 300)


def _check_files(folder: Path, assignment: Assignment) -> tuple[nbformat.NotebookNode, list[str]]:
    notes = []
    expected = folder / f"{assignment.notebook}.ipynb"
    others = sorted(p.name for p in folder.glob("*.ipynb") if p.name != expected.name)
    if not expected.exists() and others:
        raise RejectedSubmission(f"{expected.name} is missing (found {', '.join(others)}): submit the released "
                                 f"notebook under its original name")
    notebook = read_notebook(expected)
    if others:
        notes.append(f"ignored {len(others)} extra notebook(s): {', '.join(others)}")
    extra = sorted(p.name for p in folder.iterdir() if p.suffix != ".ipynb" and p.name != "timestamp.txt")
    if extra:
        notes.append(f"ignored {len(extra)} other file(s)")
    return notebook, notes


def _commit(ctx: GradingContext, scratch: Path, student: str, real_db_url: str) -> tuple[float, float, bool]:
    """Copy the scratch verdicts into the course gradebook: one transaction for the scores."""
    name, notebook = ctx.assignment.name, ctx.assignment.notebook
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}", ctx.course_id) as scratch_gb:
        graded = scratch_gb.find_submission_notebook(notebook, name, student)
        scores = {g.name: g.auto_score for g in graded.grades}
        comments = {c.name: c.auto_comment for c in graded.comments}
        timestamp = scratch_gb.find_submission(name, student).timestamp
    with Gradebook(real_db_url, ctx.course_id) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(name, student, timestamp=timestamp)
        target = gb.find_submission_notebook(notebook, name, student)
        for grade in target.grades:
            grade.auto_score = scores.get(grade.name)
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        for comment in target.comments:
            comment.auto_comment = comments.get(comment.name)
        gb.db.commit()
        submission = gb.find_submission(name, student)
        return float(submission.score), float(submission.max_score), bool(submission.needs_manual_grade)


def _install_graded(ctx: GradingContext, scratch: Path, student: str) -> None:
    """Swap the new graded notebook in for the old one (the old one stays until the new one is complete).

    Only the graded notebook is taken, as a regular file: nothing else of the scratch course is trusted.
    """
    name = f"{ctx.assignment.notebook}.ipynb"
    graded = scratch / "autograded" / student / ctx.assignment.name / name
    if graded.is_symlink() or not graded.is_file():
        raise RejectedSubmission("the graded notebook was not written as a regular file")
    dest = ctx.root / "autograded" / student / ctx.assignment.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = dest.with_name(f".{dest.name}.new")
    old = dest.with_name(f".{dest.name}.old")
    for leftover in (staged, old):
        shutil.rmtree(leftover, ignore_errors=True)
    staged.mkdir()
    shutil.copyfile(graded, staged / name, follow_symlinks=False)
    if dest.exists():
        os.replace(dest, old)
    os.replace(staged, dest)
    shutil.rmtree(old, ignore_errors=True)


def prepare_scratch(ctx: GradingContext, folder: Path, student: str, scratch: Path) -> list[str]:
    """Sanitise the submission in ``folder`` into the scratch course ``scratch``; notes on what was changed."""
    notebook, notes = _check_files(folder, ctx.assignment)
    clean, changes = sanitize(notebook, ctx.release)
    notes += changes
    shutil.copy(ctx.template / "gradebook.db", scratch / "gradebook.db")
    source = scratch / "source" / ctx.assignment.name
    source.mkdir(parents=True)
    for path in ctx.released_files:
        target = source / path.relative_to(ctx.root / "source" / ctx.assignment.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    submitted = scratch / "submitted" / student / ctx.assignment.name
    submitted.mkdir(parents=True)
    nbformat.write(clean, submitted / f"{ctx.assignment.notebook}.ipynb")
    timestamp = folder / "timestamp.txt"
    if timestamp.is_file() and timestamp.stat().st_size < 100:
        shutil.copy(timestamp, submitted / "timestamp.txt")
    return notes


def start_grading(ctx: GradingContext, folder: Path, student: str, scratch: Path) -> tuple[IsolatedGrading, list[str]]:
    """Sanitise, then start nbgrader on the scratch course in a bounded child process."""
    notes = prepare_scratch(ctx, folder, student, scratch)
    grading = IsolatedGrading(ctx.root, scratch, ctx.assignment.name, student, ctx.sandbox,
                              memory_bytes=WORKER_MEMORY_BYTES, timeout=ctx.worker_timeout)
    return grading, notes


def grade_in_scratch(ctx: GradingContext, folder: Path, student: str, scratch: Path) -> tuple[dict, list[str]]:
    """Sanitise the submission in ``folder`` and autograde it in the scratch course ``scratch`` (blocking)."""
    grading, notes = start_grading(ctx, folder, student, scratch)
    return grading.result(), notes


@dataclass
class _Running:
    student: str
    grading: IsolatedGrading
    notes: list[str]
    scratch: Path


def _start(ctx: GradingContext, student: str) -> Outcome | _Running:
    """Start grading one student, or the outcome at once when the submission is rejected."""
    folder = submission_dir(ctx.root, student, ctx.assignment)
    scratch = Path(tempfile.mkdtemp(prefix="lstm-course-grade-"))
    try:
        if not STUDENT_ID.fullmatch(student):
            raise RejectedSubmission(f"'{student[:40]}' is not a valid student id (letters, digits, . _ @ -)")
        if not folder.is_dir():
            raise RejectedSubmission(f"no submission: expected {folder.relative_to(ctx.root)}/"
                                     f"{ctx.assignment.notebook}.ipynb")
        grading, notes = start_grading(ctx, folder, student, scratch)
        return _Running(student, grading, notes, scratch)
    except RejectedSubmission as reason:
        shutil.rmtree(scratch, ignore_errors=True)
        return Outcome(student, ctx.assignment.name, "rejected", str(reason))
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _finish(ctx: GradingContext, running: _Running, api, feedback: bool) -> Outcome:
    """Collect a finished grading; only now is anything written to the course."""
    outcome = Outcome(running.student, ctx.assignment.name, "graded")
    try:
        result = running.grading.result()
        if not result["success"]:
            outcome.status, outcome.reason = "failed", f"autograding failed: {result['reason']}"
            return outcome
        outcome.score, outcome.max_score, outcome.needs_manual = _commit(ctx, running.scratch, running.student,
                                                                         api.coursedir.db_url)
        _install_graded(ctx, running.scratch, running.student)
    finally:
        shutil.rmtree(running.scratch, ignore_errors=True)
    outcome.reason = "; ".join(result["problems"] + running.notes)
    if feedback:
        made = api.generate_feedback(ctx.assignment.name, running.student, force=True)
        html = ctx.root / "feedback" / running.student / ctx.assignment.name / f"{ctx.assignment.notebook}.html"
        if made.get("success") and html.exists():
            outcome.feedback = str(html.relative_to(ctx.root))
    return outcome


def autograde_submission(ctx: GradingContext, student: str, api=None, feedback: bool = True) -> Outcome:
    """Grade one student's submission; never raises for a problem of the submission."""
    started = _start(ctx, student)
    if isinstance(started, Outcome):
        return started
    return _finish(ctx, started, api or nbgrader_api(ctx.root), feedback)


def grade_class(ctx: GradingContext, students: list[str], api, feedback: bool, jobs: int,
                echo=print) -> list[Outcome]:
    """Grade students ``jobs`` at a time; each outcome is recorded as soon as it is known."""
    pending = list(students)
    running: list[_Running] = []
    outcomes: list[Outcome] = []

    def done(outcome: Outcome) -> None:
        record(ctx.root, outcome)
        echo(describe(outcome))
        outcomes.append(outcome)

    def grader_error(student: str, error: Exception) -> Outcome:
        return Outcome(student, ctx.assignment.name, "failed", f"grader error: {type(error).__name__}: {error}"[:300])

    while pending or running:
        while pending and len(running) < jobs:
            student = pending.pop(0)
            try:
                started = _start(ctx, student)
            except Exception as error:  # noqa: BLE001 - one student's failure must not stop the class
                started = grader_error(student, error)
            if isinstance(started, Outcome):
                done(started)
            else:
                running.append(started)
        if not running:
            continue
        wait([r.grading.receiver for r in running], timeout=1.0)
        for item in [r for r in running if r.grading.ready()]:
            running.remove(item)
            try:
                outcome = _finish(ctx, item, api, feedback)
            except Exception as error:  # noqa: BLE001 - one student's failure must not stop the class
                outcome = grader_error(item.student, error)
            done(outcome)
    return outcomes


def describe(outcome: Outcome) -> str:
    if outcome.status != "graded":
        return f"  {outcome.student:<20} {outcome.assignment:<16} {outcome.status.upper()}: {outcome.reason}"
    manual = "  (+ manual grading pending)" if outcome.needs_manual else ""
    line = f"  {outcome.student:<20} {outcome.assignment:<16} {outcome.score:g} / {outcome.max_score:g}{manual}"
    if outcome.reason:
        line += f"  [{outcome.reason}]"
    return line + (f"  feedback: {outcome.feedback}" if outcome.feedback else "")


def autograde(root: Path, assignment_names: list[str] | None = None, students: list[str] | None = None,
              feedback: bool = True, echo=print, sandbox: str | None = None, fallback: bool = False,
              jobs: int | None = None) -> list[Outcome]:
    assignments = [get_assignment(n) for n in assignment_names] if assignment_names else [
        a for a in ASSIGNMENTS.values() if submitted_students(root, a)]
    if not assignments:
        raise CourseError(f"nothing to grade: no submissions under {root / 'submitted'} "
                          f"(expected submitted/<student>/<assignment>/<notebook>.ipynb)")
    mode = resolve_sandbox(sandbox, echo=echo, fallback=fallback)
    jobs = max(1, jobs or os.cpu_count() or 1)
    api = nbgrader_api(root)
    outcomes = []
    for assignment in assignments:
        with tempfile.TemporaryDirectory(prefix="lstm-course-template-") as workdir:
            ctx = GradingContext.create(root, assignment, mode, Path(workdir))
            outcomes += grade_class(ctx, students or submitted_students(root, assignment), api, feedback, jobs, echo)
    return outcomes


def main(args) -> int:
    names = [args.assignment] if args.assignment else None
    print(f"Autograding {args.assignment or 'every assignment with submissions'} in {args.course_dir}")
    outcomes = autograde(args.course_dir, names, args.student or None, feedback=not args.no_feedback,
                         sandbox=args.sandbox, jobs=args.jobs)
    bad = [o for o in outcomes if o.status != "graded"]
    print(f"{len(outcomes) - len(bad)} graded, {len(bad)} not graded; `lstm-course report` prints the table.")
    return 0
