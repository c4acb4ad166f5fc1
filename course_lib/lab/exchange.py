"""Where nbgrader's exchange lives: released assignments, submissions and feedback in transit.

nbgrader's default, ``/usr/local/share/nbgrader/exchange``, needs root to create and is shared by every user of the
machine. For a course tried out on one machine by one user, the exchange lives in the course instead:
``<course>/exchange/nbgrader``. nbgrader makes its root world-writable (``0o777``, with a sticky ``inbound/``) because
on a shared server students write into it; here the parent ``exchange/`` is ``0o700``, so nobody but the course's
owner reaches it. A deployment where students are other users (JupyterHub) sets ``LSTM_COURSE_EXCHANGE`` (or
``c.Exchange.root`` in ``nbgrader_config.py``) to a directory every student can reach, and nbgrader's own
permission scheme applies there.
"""
from __future__ import annotations

import os
from pathlib import Path

ENVIRONMENT_VARIABLE = "LSTM_COURSE_EXCHANGE"


def exchange_root(course_root: str | os.PathLike) -> Path:
    """The exchange's root for the course at ``course_root`` (``$LSTM_COURSE_EXCHANGE`` when set).

    The course-local default's private parent directory is created here (``0o700``), so that nbgrader, which
    creates the root itself, never creates it world-readable.
    """
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        return Path(configured)
    parent = Path(course_root) / "exchange"
    try:
        parent.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        pass  # a read-only checkout: nbgrader reports the unwritable exchange when it is used
    return parent / "nbgrader"


def ensure_exchange(course_root: str | os.PathLike) -> Path:
    """Create the exchange's root if missing, with the permissions nbgrader's release gives it (``0o777``: on a
    shared server, students write into it); the Assignment List and Formgrader report an error until it exists."""
    root = exchange_root(course_root)
    if not root.is_dir():
        root.mkdir(parents=True)
        root.chmod(0o777)
    return root
