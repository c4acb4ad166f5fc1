"""The JupyterLab servers of a local try-out: the instructor's (Formgrader, on the course) and a student's
(Assignment List, in a folder of its own), both on 127.0.0.1 with a token and the same course-local exchange.

Each server gets a Jupyter configuration directory of its own under ``<course>/.lab/`` (``JUPYTER_CONFIG_DIR``), so
nothing in the user's ``~/.jupyter`` changes how the course behaves, and a student's server cannot see the
course's ``nbgrader_config.py`` (it runs from ``students/<id>/``, outside ``source/`` and ``release/``).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.lab.exchange import ensure_exchange

#: Parts of nbgrader a student does not get (instructor tools); the Assignment List and Validate stay.
STUDENT_DISABLED_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                                "@jupyter/nbgrader:course-list")
STUDENT_DISABLED_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader",
                                      "nbgrader.server_extensions.course_list")
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


@dataclass
class LabServer:
    """How to start one JupyterLab server: its command, working directory and environment."""

    role: str
    root_dir: Path
    config_dir: Path
    port: int
    token: str
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/lab?token={self.token}"


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _server(role: str, course: Path, root_dir: Path, config_dir: Path, port: int, token: str | None,
            extensions: dict[str, bool], open_browser: bool) -> LabServer:
    config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_json(config_dir / "jupyter_server_config.json", {
        "ServerApp": {"ip": "127.0.0.1", "port": port, "port_retries": 0, "root_dir": str(root_dir),
                      "open_browser": open_browser, "jpserver_extensions": extensions,
                      # containers and CI run as root; the server still listens on loopback only
                      "allow_root": os.geteuid() == 0},
    })
    token = token or secrets.token_hex(24)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir), "JUPYTER_TOKEN": token,
           "JUPYTER_RUNTIME_DIR": str(config_dir / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(config_dir / "lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(config_dir / "lab-workspaces"),
           # the kernels and nbgrader's tools come from the course's environment, whatever PATH says
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
           "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    argv = [sys.executable, "-m", "jupyterlab"]
    return LabServer(role, root_dir, config_dir, port, token, argv, env)


def instructor_server(course: Path, port: int = 8888, token: str | None = None,
                      open_browser: bool = True) -> LabServer:
    """The instructor's JupyterLab: the course folder, Formgrader with its buttons on the course's grading path."""
    ensure_exchange(course)
    return _server("instructor", course, course, course / ".lab" / "instructor", port, token,
                   {"course_lib.lab.formgrader": True}, open_browser)


def student_server(course: Path, student: str, port: int = 8889, token: str | None = None,
                   open_browser: bool = True) -> LabServer:
    """A student's JupyterLab in ``<course>/students/<student>/``: the Assignment List on the course's exchange."""
    if not STUDENT_ID.fullmatch(student):
        raise ValueError(f"'{student[:40]}' is not a valid student id (letters, digits, . _ @ -)")
    home = course / "students" / student
    home.mkdir(parents=True, exist_ok=True)
    config_dir = course / ".lab" / f"student-{student}"
    server = _server("student", course, home, config_dir, port, token,
                     {name: False for name in STUDENT_DISABLED_SERVER_EXTENSIONS}, open_browser)
    _write_json(config_dir / "labconfig" / "page_config.json",
                {"disabledExtensions": {name: True for name in STUDENT_DISABLED_LAB_PLUGINS}})
    exchange = ensure_exchange(course)
    # What nbgrader's student side reads (Assignment List, Validate): this course, this student, this exchange.
    (config_dir / "nbgrader_config.py").write_text(
        "# Written by `lstm-course lab --student`: a student's view of the course (regenerated on each start).\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {json.dumps(course_id(course))}\n"
        f"c.CourseDirectory.student_id = {json.dumps(student)}\n"
        f"c.Exchange.root = {json.dumps(str(exchange))}\n"
        f"c.Exchange.cache = {json.dumps(str(config_dir / 'nbgrader-cache'))}\n", encoding="utf-8")
    return server


def course_id(course: Path) -> str:
    from course_lib.grading.course import load_config

    return str(load_config(course).CourseDirectory.course_id)
