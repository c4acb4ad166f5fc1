"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package, in a temporary directory, on loopback.

:func:`running_postgres` initialises a fresh cluster in a temporary directory (trust authentication, superuser
``postgres``, locale C, UTF-8, ``fsync=off``: a throw-away server), starts it on a free port of 127.0.0.1 with its
Unix socket in that directory, waits until it accepts connections and, on exit, stops it (``pg_ctl stop -m fast``)
and removes the directory, whether the test passed or not. The module-scoped fixture :func:`postgres` wraps it;
a test module imports the fixture (``from tests.postgres_server import postgres  # noqa: F401``) and asks the
server for a database of its own with :meth:`PostgresServer.create_database`, which returns the SQLAlchemy URL
nbgrader's ``c.CourseDirectory.db_url`` takes (``postgresql+psycopg://postgres@127.0.0.1:PORT/NAME``).

The server binaries are found on ``PATH`` (``initdb``), then in ``/usr/lib/postgresql/*/bin`` (the highest
version). PostgreSQL refuses to run as root: as root, every server command runs as the ``postgres`` system user
that Debian's package creates. Where there is no server (``apt-get install postgresql``), the tests are skipped
with the reason; with ``LSTM_COURSE_REQUIRE_POSTGRES=1`` (``.ci/run`` sets it) they fail instead, so CI never
skips them.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

REQUIRE_POSTGRES = "LSTM_COURSE_REQUIRE_POSTGRES"
DEBIAN_BINARIES = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"        # the system user of Debian's package; also the cluster's superuser
START_SECONDS = 60              # a fresh cluster starts in about a second
COMMAND_SECONDS = 120           # initdb takes a few seconds on a busy machine
PORT_ATTEMPTS = 3               # a free port found can be taken by someone else before the server binds it


class PostgresUnavailable(Exception):
    """No PostgreSQL server can be run here (no binaries, or no user to run them as)."""


def _executables(folder: Path) -> bool:
    return all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres"))


def _version(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", folder.parent.name)) or (0,)


def find_server_binaries() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``: that of ``initdb`` on PATH (links resolved, so
    that the three come from one installation), else the highest version under ``/usr/lib/postgresql``."""
    on_path = shutil.which("initdb")
    candidates = [Path(os.path.realpath(on_path)).parent] if on_path else []
    candidates += sorted(DEBIAN_BINARIES.glob("*/bin"), key=_version, reverse=True)
    for folder in candidates:
        if _executables(folder):
            return folder
    raise PostgresUnavailable(f"no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in "
                              f"{DEBIAN_BINARIES}/*/bin: apt-get install postgresql")


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: ``None`` for the current user, the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(f"running as root, and PostgreSQL refuses to run as root, but there is no "
                                  f"'{SERVER_USER}' user to run it as (Debian's postgresql package creates it)"
                                  ) from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    """A running throw-away server, reached as its superuser without a password."""

    port: int
    socket_dir: Path
    host: str = "127.0.0.1"

    def conninfo(self, database: str = "postgres") -> str:
        """A libpq connection string (for psycopg) to ``database``."""
        return f"host={self.host} port={self.port} user={SERVER_USER} dbname={database} connect_timeout=10"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` (nbgrader's ``c.CourseDirectory.db_url``), psycopg 3 as driver."""
        return f"postgresql+psycopg://{SERVER_USER}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database ``name``; its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.conninfo(), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


class _Cluster:
    """The server's commands, run as the server's user, on a data directory in a temporary folder."""

    def __init__(self, binaries: Path, user: pwd.struct_passwd | None):
        self.binaries, self.user = binaries, user
        self.base = Path(tempfile.mkdtemp(prefix="lstm-course-postgres-"))
        if user is not None:
            os.chown(self.base, user.pw_uid, user.pw_gid)
        self.data, self.log = self.base / "data", self.base / "server.log"
        self.started = False

    def run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        # as root, the child drops to the server's user before exec (as setpriv would); its cwd must be one
        # that user can enter (a root-only cwd makes initdb and postgres complain)
        identity = {} if self.user is None else {"user": self.user.pw_uid, "group": self.user.pw_gid,
                                                 "extra_groups": []}
        result = subprocess.run([str(self.binaries / program), *args], capture_output=True, text=True,
                                cwd=self.base, timeout=COMMAND_SECONDS, stdin=subprocess.DEVNULL,
                                env=dict(os.environ, LC_ALL="C", LANG="C"), **identity)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed (exit code {result.returncode}):\n"
                               f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{self.server_log()}")
        return result

    def server_log(self) -> str:
        try:
            return f"--- server log ---\n{self.log.read_text(errors='replace')[-5000:]}"
        except OSError:
            return "(no server log)"

    def initdb(self) -> None:
        self.run("initdb", "-D", str(self.data), "--auth=trust", f"--username={SERVER_USER}", "--locale=C",
                 "--encoding=UTF8", "--no-sync")

    def start(self) -> PostgresServer:
        """Start on a free loopback port (another if that one is taken meanwhile); waits until it is ready."""
        for attempt in range(PORT_ATTEMPTS):
            port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={self.base} "
                       f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
            started = self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                               "-t", str(START_SECONDS), "start", check=False)
            self.started = True   # even a start that timed out may have left a server to stop
            if started.returncode == 0:
                server = PostgresServer(port, self.base)
                self._wait_until_ready(server)
                return server
            self.stop()
            if "could not bind" not in self.server_log() or attempt == PORT_ATTEMPTS - 1:
                raise RuntimeError(f"the PostgreSQL server did not start (exit code {started.returncode}):\n"
                                   f"{started.stdout[-3000:]}\n{started.stderr[-3000:]}\n{self.server_log()}")
        raise AssertionError("unreachable")

    def _wait_until_ready(self, server: PostgresServer) -> None:
        import psycopg

        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with psycopg.connect(server.conninfo()) as connection:
                    connection.execute("SELECT 1")
                return
            except psycopg.OperationalError as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the PostgreSQL server on port {server.port} does not accept connections "
                                       f"after {START_SECONDS} s: {error}\n{self.server_log()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.started and (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", str(START_SECONDS), "stop",
                     check=False)
        self.started = False

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A fresh PostgreSQL server for the time of the ``with`` block, stopped and removed after it.

    Raises :class:`PostgresUnavailable` where no server can be run here.
    """
    cluster = _Cluster(find_server_binaries(), _server_user())
    try:
        cluster.initdb()
        yield cluster.start()
    finally:
        try:
            cluster.stop()
        finally:
            cluster.remove()


def _unavailable(reason: str):
    if os.environ.get(REQUIRE_POSTGRES) == "1":
        pytest.fail(f"{reason}\n({REQUIRE_POSTGRES}=1: the PostgreSQL tests must run here, they are not skipped)",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the tests of one module (each test makes its own database on it)."""
    reason = None
    try:
        find_server_binaries(), _server_user()
    except PostgresUnavailable as error:
        reason = str(error)
    if reason:
        _unavailable(reason)   # outside the except clause: the report shows the reason once
    with running_postgres() as server:
        yield server
