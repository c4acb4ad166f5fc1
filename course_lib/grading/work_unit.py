"""The one unit of grading work: :func:`grade_submission` grades one sanitised submission and returns a
:class:`GradeResult`. Every backend runs this same function (``--jobs N`` in threads of the instructor's process,
``--scheduler`` on the workers of a Dask cluster), so they give the same results.

What a worker needs travels with the work: an :class:`AssignmentBundle` (made once per run in the instructor's
process: the course's ``nbgrader_config.py``, the assignment's release notebook, its released data, its hidden
tests and the gradebook entries of a scratch course) is written once into a private directory of each worker process,
which then needs neither ``source/`` nor the course checkout, only the course's Python environment and bubblewrap.
What comes back is only data: the scores and comments, the graded notebook and the feedback page as bytes, the
problems met. Nothing is written to the course here; :mod:`course_lib.grading.commit` does that, in the
instructor's process, one result at a time.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from course_lib.grading.worker import grade_isolated

#: the largest feedback page installed (a bigger one is left out, and the graded notebook still counts)
MAX_FEEDBACK_BYTES = 50 * 1024**2
#: gradings whose process died without a word (killed from outside, a lost node) are tried this many times in all
ATTEMPTS = 2
#: the gradebook entries of the assignment, in the bundle (a scratch course copies it)
TEMPLATE_GRADEBOOK = "template/gradebook.db"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class AssignmentBundle:
    """Everything of one built assignment a worker grades with, as bytes (hidden tests included: workers are the
    instructor's machines, and the kernel sees none of it)."""

    assignment: str
    notebook: str                 # the notebook's stem
    course_id: str
    kernel_modules: tuple[str, ...]
    files: dict[str, bytes]       # path in the bundle's course folder -> content
    worker_timeout: float
    worker_memory: int
    source_hash: str              # of the instructor's notebook (its hidden test cells are in the template)

    @property
    def build_hash(self) -> str:
        """Changes whenever anything the grading depends on does: configuration, release, data, hidden tests,
        the instructor's notebook. (Not the template gradebook's bytes: nbgrader writes fresh ids each time.)"""
        digest = hashlib.sha256(f"{self.source_hash}\0{chr(0).join(self.kernel_modules)}\n".encode())
        for name in sorted(set(self.files) - {TEMPLATE_GRADEBOOK}):
            digest.update(f"{name}\0{_sha256(self.files[name])}\n".encode())
        return digest.hexdigest()

    @classmethod
    def from_context(cls, ctx) -> "AssignmentBundle":
        """The bundle of a :class:`~course_lib.grading.scratch.GradingContext`."""
        root, assignment = ctx.root, ctx.assignment
        files = {"nbgrader_config.py": (root / "nbgrader_config.py").read_bytes(),
                 TEMPLATE_GRADEBOOK: (ctx.template / "gradebook.db").read_bytes()}
        source = assignment.source_dir(root)
        for path in ctx.released_files:
            files[f"source/{assignment.name}/{path.relative_to(source).as_posix()}"] = path.read_bytes()
        hidden = assignment.hidden_dir(root)
        for path in sorted(hidden.rglob("*")):
            if path.is_file() and not path.is_symlink():
                files[f"source/{assignment.name}/hidden/{path.relative_to(hidden).as_posix()}"] = path.read_bytes()
        # the release notebook, which sanitising rebuilds each submission on (its data files are the ones above)
        release = assignment.release_notebook(root)
        files[f"release/{assignment.name}/{release.name}"] = release.read_bytes()
        return cls(assignment.name, assignment.notebook, ctx.course_id, tuple(assignment.kernel_allowlist()), files,
                   ctx.worker_timeout, ctx.worker_memory, _sha256(assignment.source_notebook(root).read_bytes()))

    def released_files(self) -> dict[str, bytes]:
        """The assignment's released data, by path inside the assignment folder (copied next to a submission)."""
        prefix = f"source/{self.assignment}/"
        return {name[len(prefix):]: data for name, data in self.files.items()
                if name.startswith(prefix) and not name[len(prefix):].startswith("hidden/")}


_materialised: dict[str, Path] = {}
_materialise_lock = threading.Lock()


def materialise(bundle: AssignmentBundle) -> Path:
    """The bundle as a course folder of this process (written once per process and build, removed at exit)."""
    key = bundle.build_hash
    with _materialise_lock:
        if key in _materialised and _materialised[key].is_dir():
            return _materialised[key]
        folder = Path(tempfile.mkdtemp(prefix=f"lstm-course-bundle-{key[:12]}-"))   # private: mode 0700
        for name, data in bundle.files.items():
            path = folder / name
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise ValueError(f"a bundle path leaves its folder: {name}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        _materialised[key] = folder
        atexit.register(shutil.rmtree, folder, True)
        return folder


@dataclass(frozen=True)
class SubmissionTask:
    """One student's submission, already checked and sanitised in the instructor's process."""

    student: str
    notebook: bytes               # the sanitised notebook (JSON)
    timestamp: str | None         # nbgrader's timestamp.txt, when the submission came through the exchange
    content_hash: str             # of what the student handed in (notebook and timestamp), for resuming
    notes: tuple[str, ...] = ()   # what intake changed or ignored


@dataclass
class GradeResult:
    """What a worker sends back for one submission: data only, committed by the instructor's process."""

    student: str
    assignment: str
    success: bool
    reason: str = ""
    problems: list[str] = field(default_factory=list)
    scores: dict[str, float | None] = field(default_factory=dict)        # grade cell -> auto score
    max_scores: dict[str, float] = field(default_factory=dict)
    comments: dict[str, str | None] = field(default_factory=dict)
    timestamp: datetime | None = None
    graded_notebook: bytes | None = None
    feedback_html: bytes | None = None
    content_hash: str = ""
    build_hash: str = ""
    seconds: float = 0.0          # wall time of grade_submission
    cell_seconds: float = 0.0     # of it, executing the notebook's own cells in the kernel
    attempts: int = 1
    worker: str = ""              # host:pid that graded it


def lay_out_scratch(course: Path, bundle: AssignmentBundle, task: SubmissionTask, scratch: Path) -> None:
    """A scratch course for one submission: the template gradebook, the released data, the sanitised notebook."""
    shutil.copyfile(course / TEMPLATE_GRADEBOOK, scratch / "gradebook.db")
    source = scratch / "source" / bundle.assignment
    source.mkdir(parents=True)
    for name, data in bundle.released_files().items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    submitted = scratch / "submitted" / task.student / bundle.assignment
    submitted.mkdir(parents=True)
    (submitted / f"{bundle.notebook}.ipynb").write_bytes(task.notebook)
    if task.timestamp:
        (submitted / "timestamp.txt").write_text(task.timestamp, encoding="ascii")


def _regular_file(path: Path, limit: int | None = None) -> bytes | None:
    if path.is_symlink() or not path.is_file() or (limit is not None and path.stat().st_size > limit):
        return None
    return path.read_bytes()


def collect(scratch: Path, bundle: AssignmentBundle, student: str, result: GradeResult) -> None:
    """Read the scratch course's verdicts, graded notebook and feedback into ``result``."""
    from nbgrader.api import Gradebook

    name, notebook = bundle.assignment, bundle.notebook
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}", bundle.course_id) as gradebook:
        graded = gradebook.find_submission_notebook(notebook, name, student)
        result.scores = {g.name: g.auto_score for g in graded.grades}
        result.max_scores = {g.name: float(g.max_score) for g in graded.grades}
        result.comments = {c.name: c.auto_comment for c in graded.comments}
        result.timestamp = gradebook.find_submission(name, student).timestamp
    result.graded_notebook = _regular_file(scratch / "autograded" / student / name / f"{notebook}.ipynb")
    if result.graded_notebook is None:
        result.success, result.reason = False, "the graded notebook was not written as a regular file"
    result.feedback_html = _regular_file(scratch / "feedback" / student / name / f"{notebook}.html",
                                         MAX_FEEDBACK_BYTES)
    timing = scratch / "timing.json"
    if timing.is_file():
        result.cell_seconds = float(json.loads(timing.read_text()).get("cells", 0.0))


def grade_submission(bundle: AssignmentBundle, task: SubmissionTask, sandbox: str,
                     feedback: bool = True) -> GradeResult:
    """Grade one submission on this machine (in a bounded child process, the kernel sandboxed) and return the
    result; a submission that cannot be graded gives an unsuccessful result, never an exception."""
    start = time.perf_counter()
    result = GradeResult(task.student, bundle.assignment, False, content_hash=task.content_hash,
                         build_hash=bundle.build_hash, worker=f"{socket.gethostname()}:{os.getpid()}")
    course = materialise(bundle)
    for attempt in range(1, ATTEMPTS + 1):
        result.attempts = attempt
        scratch = Path(tempfile.mkdtemp(prefix="lstm-course-grade-"))
        try:
            lay_out_scratch(course, bundle, task, scratch)
            outcome = grade_isolated(course, scratch, bundle.assignment, task.student, sandbox,
                                     memory_bytes=bundle.worker_memory, timeout=bundle.worker_timeout,
                                     feedback=feedback)
            result.success, result.reason = outcome["success"], outcome["reason"]
            result.problems = list(outcome["problems"]) + list(task.notes)
            if result.success:
                collect(scratch, bundle, task.student, result)
            if not outcome.get("lost"):
                break
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    result.seconds = time.perf_counter() - start
    return result
