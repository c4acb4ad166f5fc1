"""Where submissions are graded: the backends that run :func:`~course_lib.grading.work_unit.grade_submission`.

Both give the caller futures of :class:`~course_lib.grading.work_unit.GradeResult` and the same three verbs
(``share`` the assignment's bundle once, ``submit`` one task, ``as_completed``), so that the caller's loop, and its
commits, one at a time in the instructor's process, are the same whatever runs the work:

* :class:`LocalBackend` (``--jobs N``): N threads of this process, each with its own bounded grading process;
* :class:`DaskBackend` (``--scheduler ADDRESS``): the workers of a Dask distributed cluster. A worker that dies
  mid-grade (a killed process, a lost node) has its task rescheduled by Dask's scheduler on another worker; the
  bundle is uploaded once per run to every worker (a worker that joins later copies it from another).
"""
from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Iterable, Iterator
from typing import Any

from course_lib.grading.course import CourseError
from course_lib.grading.work_unit import AssignmentBundle, SubmissionTask, grade_submission
from course_lib.grading.worker import cancel_all, close_all, warm_up


def memory_bounded_jobs(requested: int | None, worker_memory: int) -> int:
    """``requested`` (default: one per core) workers, no more than the machine's RAM holds at ``worker_memory``."""
    jobs = max(1, requested or os.cpu_count() or 1)
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return jobs
    return max(1, min(jobs, ram // max(1, worker_memory)))


class LocalBackend:
    """Up to ``jobs`` submissions graded at once on this machine."""

    def __init__(self, jobs: int, memory_bytes: int):
        self.jobs = jobs
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="lstm-grade")
        warm_up(jobs, memory_bytes)

    def describe(self) -> str:
        return f"{self.jobs} at a time on this machine"

    def share(self, bundle: AssignmentBundle) -> AssignmentBundle:
        return bundle

    def submit(self, bundle: AssignmentBundle, task: SubmissionTask, sandbox: str, feedback: bool):
        return self._pool.submit(grade_submission, bundle, task, sandbox, feedback)

    @staticmethod
    def as_completed(futures: Iterable) -> Iterator:
        return concurrent.futures.as_completed(list(futures))

    def cancel(self, futures: Iterable) -> None:
        """Forget what has not started and stop what has (its result is then an unsuccessful one, not committed)."""
        for future in futures:
            future.cancel()
        cancel_all()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        close_all()


class DaskBackend:
    """The workers of the Dask cluster whose scheduler listens at ``address`` (``tcp://host:8786``)."""

    def __init__(self, address: str, connect_timeout: float = 30):
        try:
            from distributed import Client
        except ImportError as error:   # pragma: no cover - a dependency of the course
            raise CourseError(f"--scheduler needs Dask's distributed package: {error}") from None
        try:
            self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        except OSError as error:
            raise CourseError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        self.address = address
        self.client.run(warm_up)   # each worker's fork server imports nbgrader (returns at once) while we prepare

    def describe(self) -> str:
        workers = self.client.scheduler_info().get("workers", {})
        threads = sum(w.get("nthreads", 0) for w in workers.values())
        return f"on the Dask cluster at {self.address} ({len(workers)} workers, {threads} threads)"

    def share(self, bundle: AssignmentBundle) -> Any:
        # on every worker: data scattered to one worker alone dies with it, and every task needing it is cancelled
        return self.client.scatter(bundle, hash=False, broadcast=True)

    def submit(self, bundle: Any, task: SubmissionTask, sandbox: str, feedback: bool):
        # pure=False: a task per call (a regrade is new work); the key names the submission for Dask's dashboard
        return self.client.submit(grade_submission, bundle, task, sandbox, feedback, pure=False,
                                  key=f"grade-{task.student}-{task.content_hash[:8]}-{os.urandom(4).hex()}")

    def as_completed(self, futures: Iterable) -> Iterator:
        from distributed import as_completed

        return iter(as_completed(list(futures), loop=self.client.loop))

    def cancel(self, futures: Iterable) -> None:
        self.client.cancel(list(futures))

    def close(self) -> None:
        self.client.close()


def backend_for(jobs: int, memory_bytes: int, scheduler: str | None) -> LocalBackend | DaskBackend:
    return DaskBackend(scheduler) if scheduler else LocalBackend(jobs, memory_bytes)
