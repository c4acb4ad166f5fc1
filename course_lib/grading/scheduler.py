"""Scheduling: which submissions are being graded now. The one place parallel (and, later, distributed) grading
plugs in: :class:`LocalScheduler` runs up to ``jobs`` bounded worker processes on this machine.

Interface (what :mod:`course_lib.grading.class_grading` relies on): ``submit(student)``, ``wait(timeout)`` ->
the outcomes that finished, ``pending`` (submitted and not finished) and ``cancel()``. Starting a job (intake,
sanitising, scratch course, worker), finishing it (commit) and discarding it are given to the scheduler as functions, so that
commits stay in the caller's process, one at a time, whatever runs the workers.
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import wait as wait_for_any
from typing import Any, Protocol

from course_lib.grading.outcomes import Outcome


class Running(Protocol):
    """A started job: its worker (``ready()``, ``receiver``, ``cancel()``) and its student."""

    student: str
    grading: Any


def memory_bounded_jobs(requested: int | None, worker_memory: int) -> int:
    """``requested`` (default: one per core) workers, no more than the machine's RAM holds at ``worker_memory``."""
    jobs = max(1, requested or os.cpu_count() or 1)
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return jobs
    return max(1, min(jobs, ram // max(1, worker_memory)))


class LocalScheduler:
    """Up to ``jobs`` workers at once on this machine, started and finished by the given functions."""

    def __init__(self, start: Callable[[str], Outcome | Running], finish: Callable[[Running], Outcome],
                 failed: Callable[[str, Exception], Outcome], discard: Callable[[Running], None], jobs: int):
        self._start, self._finish, self._failed, self._discard = start, finish, failed, discard
        self.jobs = jobs
        self._queue: deque[str] = deque()
        self._running: list[Running] = []

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._running)

    def submit(self, student: str) -> None:
        self._queue.append(student)

    def wait(self, timeout: float = 1.0) -> list[Outcome]:
        """Start what fits, then return the outcomes that finished within ``timeout`` seconds (possibly none)."""
        finished: list[Outcome] = []
        while self._queue and len(self._running) < self.jobs:
            student = self._queue.popleft()
            try:
                started = self._start(student)
            except Exception as error:  # noqa: BLE001 - one student's failure must not stop the class
                started = self._failed(student, error)
            if isinstance(started, Outcome):
                finished.append(started)
            else:
                self._running.append(started)
        if finished or not self._running:
            return finished
        wait_for_any([r.grading.receiver for r in self._running], timeout=timeout)
        for item in [r for r in self._running if r.grading.ready()]:
            self._running.remove(item)
            try:
                finished.append(self._finish(item))
            except Exception as error:  # noqa: BLE001 - one student's failure must not stop the class
                finished.append(self._failed(item.student, error))
        return finished

    def cancel(self) -> None:
        """Stop every running worker and forget the queue (nothing of theirs is committed)."""
        self._queue.clear()
        for item in self._running:
            item.grading.cancel()
            self._discard(item)
        self._running.clear()
