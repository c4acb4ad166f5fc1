"""The servers of ``lstm-course lab`` (course_lib/lab/profiles.py, exchange.py): what their configuration says,
without starting them. The running servers are tested in a browser (tests/browser/)."""
from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from course_lib.lab.exchange import ENVIRONMENT_VARIABLE, ensure_exchange, exchange_root
from course_lib.lab.profiles import (STUDENT_DISABLED_LAB_PLUGINS, STUDENT_DISABLED_SERVER_EXTENSIONS,
                                     instructor_server, student_server)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    """An empty course with the checkout's nbgrader_config.py, and the course-local exchange (no override)."""
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy2(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def server_config(server) -> dict:
    return json.loads((server.config_dir / "jupyter_server_config.json").read_text(encoding="utf-8"))["ServerApp"]


def student_nbgrader_config(server):
    return PyFileConfigLoader("nbgrader_config.py", path=str(server.config_dir)).load_config()


def test_instructor_server_listens_on_loopback_with_a_token_and_the_formgrader_extension(course):
    server = instructor_server(course, port=18123, token="t0k3n", open_browser=False)
    config = server_config(server)
    assert (config["ip"], config["port"], config["port_retries"]) == ("127.0.0.1", 18123, 0)
    assert config["root_dir"] == str(course) and server.root_dir == course
    assert config["open_browser"] is False
    assert config["jpserver_extensions"] == {"course_lib.lab.formgrader": True}
    assert server.token == server.env["JUPYTER_TOKEN"] == "t0k3n"
    assert server.url == "http://127.0.0.1:18123/lab?token=t0k3n"
    assert server.env["JUPYTER_CONFIG_DIR"] == str(server.config_dir)
    assert server.config_dir == course / ".lab" / "instructor"
    assert server.argv == [sys.executable, "-m", "jupyterlab"]


def test_a_token_is_made_when_none_is_given_and_differs_between_servers(course):
    first, second = instructor_server(course, open_browser=False), instructor_server(course, open_browser=False)
    assert len(first.token) >= 32 and first.token != second.token
    assert first.env["JUPYTER_TOKEN"] == first.token


def test_student_server_config_names_the_student_and_the_exchange(course):
    server = student_server(course, "alice", port=18124, token="s3cr3t", open_browser=False)
    config = server_config(server)
    assert (config["ip"], config["port"]) == ("127.0.0.1", 18124)
    assert server.token == server.env["JUPYTER_TOKEN"] == "s3cr3t"
    home = course / "students" / "alice"
    assert home.is_dir() and server.root_dir == home and config["root_dir"] == str(home)
    nbgrader = student_nbgrader_config(server)
    assert nbgrader.CourseDirectory.student_id == "alice"
    assert nbgrader.CourseDirectory.course_id == "lstm-course"
    assert nbgrader.Exchange.root == str(course / "exchange" / "nbgrader")
    # instructor tools are off, on the server and in the Lab UI
    assert config["jpserver_extensions"] == {name: False for name in STUDENT_DISABLED_SERVER_EXTENSIONS}
    page_config = json.loads((server.config_dir / "labconfig" / "page_config.json").read_text(encoding="utf-8"))
    assert page_config["disabledExtensions"] == {name: True for name in STUDENT_DISABLED_LAB_PLUGINS}
    assert "@jupyter/nbgrader:formgrader" in page_config["disabledExtensions"]


def test_students_have_servers_and_configurations_of_their_own(course):
    alice = student_server(course, "alice", open_browser=False)
    bob = student_server(course, "bob.smith@uni", open_browser=False)
    assert alice.config_dir != bob.config_dir and alice.root_dir != bob.root_dir
    assert student_nbgrader_config(bob).CourseDirectory.student_id == "bob.smith@uni"
    assert student_nbgrader_config(alice).Exchange.root == student_nbgrader_config(bob).Exchange.root


@pytest.mark.parametrize("bad", ["", "../alice", "alice/bob", "-alice", ".hidden", "a b", "al\nice", "*", "a+b",
                                 "x" * 65, 'a"; import os; "'])
def test_bad_student_ids_are_refused_before_anything_is_written(course, bad):
    with pytest.raises(ValueError, match="not a valid student id"):
        student_server(course, bad, open_browser=False)
    assert not (course / "students").exists()
    assert not (course / ".lab").exists()


def test_course_local_exchange_has_a_private_parent_and_a_world_writable_root(course):
    root = ensure_exchange(course)
    assert root == course / "exchange" / "nbgrader"
    assert mode(root.parent) == 0o700, "nobody but the course's owner reaches the course-local exchange"
    assert mode(root) == 0o777, "nbgrader's own permissions on the exchange root"
    assert ensure_exchange(course) == root   # a second start leaves it as it is
    assert instructor_server(course, open_browser=False) and mode(root) == 0o777


def test_the_exchange_variable_is_respected(course, tmp_path, monkeypatch):
    shared = tmp_path / "hub-exchange"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(shared))
    assert exchange_root(course) == shared
    server = student_server(course, "alice", open_browser=False)
    assert student_nbgrader_config(server).Exchange.root == str(shared)
    assert shared.is_dir() and mode(shared) == 0o777
    assert not (course / "exchange").exists(), "no course-local exchange is made when another one is set"
    # the course's own nbgrader_config.py (the instructor's side) reads the same variable
    instructor = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    assert instructor.Exchange.root == str(shared)


def test_servers_run_nbgrader_and_kernels_from_the_course_environment(course):
    server = student_server(course, "alice", open_browser=False)
    assert server.env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
