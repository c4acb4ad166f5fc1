"""Grade one sanitised submission in a scratch course, in a bounded process apart from the caller.

:func:`grade` runs nbgrader's autograde on a scratch course (a throw-away course holding only that submission and a
copy of the assignment's gradebook entries), with the course's configuration; :func:`grade_isolated` runs it in a
:class:`GradingProcess`, a child process whose memory is bounded and whose every grading has a wall time: a
submission that floods the grader with output or hangs it costs only that process. The feedback HTML is rendered
there too, inside the same bounds. It returns ``{"success", "reason", "problems"}``; the course's gradebook is
written by the caller, after the verdict.
"""
from __future__ import annotations

import atexit
import json
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import resource
import signal
import threading
import time
import warnings
from pathlib import Path

from traitlets import Integer
from traitlets.config import Configurable

from course_lib.grading.course import skip_slow_format_checks

skip_slow_format_checks()   # first: the fork server imports this module before nbgrader

GiB = 1024**3


class Worker(Configurable):
    """Bounds of one grading worker (``c.Worker.*`` in nbgrader_config.py)."""

    memory_bytes = Integer(8 * GiB, help="Address-space limit of the process that grades one submission (nbgrader, "
                           "verdicts, feedback); the kernel has its own limit, c.Sandbox.memory_bytes").tag(config=True)
    extra_seconds = Integer(300, help="Wall time a worker gets on top of the kernel's c.Sandbox.wall_seconds, for "
                            "nbgrader itself, the verdicts and the feedback").tag(config=True)


def grade(root: Path, scratch: Path, assignment: str, student: str, sandbox: str, feedback: bool = True) -> dict:
    from course_lib.assignments.registry import get_assignment
    from course_lib.grading.course import last_error_line, load_config, nbgrader_api

    config = load_config(root)
    config.CourseDirectory.root = str(scratch)
    # the scratch course's own gradebook, whatever the course's is (PostgreSQL, say): only the instructor's process
    # writes the course's gradebook, after the verdict
    config.CourseDirectory.db_url = f"sqlite:///{scratch / 'gradebook.db'}"
    config.ApplyVerdicts.source_directory = str(root / "source")
    config.SanitizeSubmission.release_directory = str(root / "release")
    config.ApplyVerdicts.problems_file = str(scratch / "problems.json")
    config.RecordCellTime.timing_file = str(scratch / "timing.json")
    config.Sandbox.mode = sandbox
    config.Sandbox.kernel_modules = list(get_assignment(assignment).kernel_allowlist())
    (scratch / "kernel-work").mkdir(exist_ok=True)
    config.Sandbox.work_root = str(scratch / "kernel-work")
    api = nbgrader_api(scratch, config)
    result = api.autograde(assignment, student, force=True, create=True)
    problems_file = scratch / "problems.json"
    problems = json.loads(problems_file.read_text()) if problems_file.exists() else []
    if not result.get("success"):
        return {"success": False, "reason": last_error_line(result), "problems": problems}
    if feedback:
        made = api.generate_feedback(assignment, student, force=True)
        if not made.get("success"):
            problems.append(f"no feedback: {last_error_line(made)}")
    return {"success": True, "reason": "", "problems": problems}


def _die_with_parent() -> None:
    """Ask Linux to end this process when its parent (the fork server) ends: when a grading worker or a cluster
    node dies, its gradings stop too instead of running on unseen (the kernel's sandbox dies with them)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):   # not Linux: the pipe closing still ends the run
        pass


def _grade_safely(args: tuple) -> dict:
    try:
        return grade(*args)
    except MemoryError:
        return {"success": False, "reason": "the grading process ran out of memory", "problems": [], "spent": True}
    except Exception as error:  # noqa: BLE001 - reported to the caller as this submission's failure
        return {"success": False, "reason": f"{type(error).__name__}: {error}"[:300], "problems": [], "spent": True}
    finally:
        _end_leftovers()


def _end_leftovers() -> None:
    """End whatever a grading left running below this process (a kernel's sandbox nbclient did not shut down):
    the next submission starts alone."""
    for task in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            pids = [int(p) for p in task.read_text().split()]
        except OSError:
            continue
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _serve(connection, memory_bytes: int) -> None:
    """The grading process: grade each submission it is sent, until it is sent ``None``."""
    os.setsid()  # its own process group: the parent can end it and everything it started at once
    _die_with_parent()
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*not in session, add operation along.*")  # see course_lib.cli
    try:
        while (args := connection.recv()) is not None:
            connection.send(_grade_safely(args))
    except EOFError:   # the parent went away without saying goodbye (a Dask worker closing)
        pass
    connection.close()


def _allow_children() -> None:
    """Dask's nanny runs its workers as daemonic processes, which multiprocessing forbids to start children lest
    they be orphaned when the daemon is ended. A grading process cannot be orphaned (it dies with its fork server,
    :func:`_die_with_parent`, which ends with this process), so a worker may start them."""
    current = multiprocessing.current_process()
    if current.daemon:
        current.daemon = False


#: what the fork server imports once for all its grading processes: nbgrader and what a grading loads after it
#: (the kernel's client, the converters, the feedback's HTML exporter, the gradebook's SQLite dialect)
PRELOAD = ["course_lib.grading.worker", "course_lib.grading.pipeline", "nbgrader.apps", "nbclient",
           "jupyter_client.manager", "nbgrader.converters.autograde", "nbgrader.converters.generate_feedback",
           "nbconvert.exporters.html", "sqlalchemy.dialects.sqlite", "course_lib.grading.feedback_page"]


def _context():
    """Children are forked from a fork server that has nbgrader loaded (it takes seconds to import) and no
    threads: forking the caller itself would copy the state of whatever threads it runs (TensorFlow's, in a test
    session), and a child can deadlock on a lock held by a thread that does not exist in it."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


#: submissions one grading process grades before it is replaced by a fresh one
MAX_GRADINGS = 50

_live: set["GradingProcess"] = set()
_live_lock = threading.Lock()
_idle: list["GradingProcess"] = []   # started, waiting for a submission


def cancel_all() -> None:
    """End every grading process this process started (Ctrl-C): their submissions are then not committed."""
    with _live_lock:
        running = list(_live)
    for process in running:
        process.cancel()


def close_all() -> None:
    """Let every idle grading process of this process exit (the end of a run, and at exit: multiprocessing would
    otherwise wait at exit for these processes, which wait for work)."""
    with _live_lock:
        running = list(_live)
    for process in running:
        process.close()


atexit.register(close_all)   # registered after multiprocessing's own exit hook, so it runs before it


def warm_up(processes: int = 0, memory_bytes: int = 0) -> None:
    """Start the fork server now (it imports nbgrader, seconds), and ``processes`` grading processes, so that they
    are ready when the first submissions are: called when a run starts, beside the preparation of the assignments."""
    _allow_children()
    _context()
    multiprocessing.forkserver.ensure_running()
    started = [GradingProcess(memory_bytes) for _ in range(processes)]
    with _live_lock:
        _idle.extend(started)


class GradingProcess:
    """A child process bounded in memory that runs :func:`grade` on one submission at a time, each within a wall
    time; it grades up to :data:`MAX_GRADINGS` submissions, so that nbgrader, its converters, templates and
    gradebook code are loaded once and not for every submission (seconds each). Nothing of a submission outlives
    its grading in it: the kernel is a separate sandboxed process, ended with whatever else the grading left
    (:func:`_end_leftovers`), and its scratch course is removed by the caller. A grading that fails in the
    process itself (out of memory, an exception), times out or is stopped ends the process; the next starts
    fresh."""

    def __init__(self, memory_bytes: int):
        _allow_children()
        context = _context()
        self.memory_bytes = memory_bytes
        self.connection, theirs = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(theirs, memory_bytes))
        self.gradings = 0
        self.cancelled = False
        with _live_lock:
            _live.add(self)
        self.process.start()
        theirs.close()

    @property
    def alive(self) -> bool:
        return self.process.is_alive() and not self.cancelled

    def cancel(self) -> None:
        """End the process and everything it started; a grading in progress then reports it was stopped."""
        self.cancelled = True
        self._end()

    def close(self) -> None:
        try:
            self.connection.send(None)
            self.process.join(5)
        except (OSError, ValueError):
            pass
        self._end()

    def _end(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever it left ends with it (the sandbox too)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.join(10)
        with _live_lock:
            _live.discard(self)
            if self in _idle:
                _idle.remove(self)

    def grade(self, args: tuple, timeout: float) -> dict:
        """The outcome of :func:`grade` on ``args``, or of its failure: the process ends unless it succeeded."""
        self.gradings += 1
        outcome, timed_out = None, False
        try:
            self.connection.send(args)
            if self.connection.poll(timeout):
                outcome = self.connection.recv()
            else:
                timed_out = not self.cancelled
        except (EOFError, OSError):   # the process died (its end of the pipe closed)
            outcome = None
        if outcome is not None and not outcome.pop("spent", False) and self.gradings < MAX_GRADINGS:
            return outcome
        self._end()
        if outcome is not None:
            return outcome
        if timed_out:
            return {"success": False, "reason": f"grading took longer than {timeout:.0f} s", "problems": []}
        if self.cancelled:
            return {"success": False, "reason": "grading was stopped", "problems": []}
        code = self.process.exitcode
        why = {-signal.SIGKILL: "was killed (out of memory?)", -signal.SIGSEGV: "crashed (segmentation fault)",
               -signal.SIGABRT: "aborted"}.get(code, f"exited with status {code}")
        # died without a word, not by our hand: killed from outside or lost; worth one more try
        return {"success": False, "reason": f"the grading process {why}", "problems": [], "lost": True}


def grade_isolated(root: Path, scratch: Path, assignment: str, student: str, sandbox: str, memory_bytes: int,
                   timeout: float, feedback: bool = True) -> dict:
    """:func:`grade` in an idle grading process of this process (a new one when none can be used), given back
    after; ``{"success", "reason", "problems"}``, and ``"lost": True`` when the process died of something from
    outside."""
    with _live_lock:
        usable = [p for p in _idle if p.memory_bytes == memory_bytes]
        process = usable[0] if usable else None
        if process is not None:
            _idle.remove(process)
    if process is None or not process.alive:
        process = GradingProcess(memory_bytes)
    outcome = process.grade((root, scratch, assignment, student, sandbox, feedback), timeout)
    if process.alive:
        with _live_lock:
            _idle.append(process)
    return outcome
