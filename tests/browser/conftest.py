"""Fixtures of the browser tests: Chromium driven by Playwright, JupyterLab servers on a scratch course, and what
every step is checked for (no console error, no uncaught error in any page) and leaves behind (a screenshot).

* Chromium is Debian's (``/usr/bin/chromium``); Playwright never downloads a browser. A Chromium that cannot be
  launched skips the tests, with the reason; with ``LSTM_COURSE_REQUIRE_BROWSER=1`` (``.ci/run`` sets it) it fails
  them instead, so CI never skips them.
* The course is a scratch copy of the checkout's ``nbgrader_config.py``, ``source/`` and ``release/`` on which
  ``lstm-course demo`` has run (built, three sample submissions autograded): made once per session.
* Servers are the ones ``lstm-course lab`` starts (:mod:`course_lib.lab.profiles`), on free loopback ports with a
  token the test knows, in a process group of their own that is terminated at teardown. Their logs are kept in
  ``test-artifacts/browser/<test>/`` and added to the report of a failing test.
* Screenshots: ``test-artifacts/browser/<test>/NN-step.png`` at each main step, ``NN-failure-<page>.png`` of every
  open page when the test fails.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from course_lib.lab.exchange import ENVIRONMENT_VARIABLE
from course_lib.lab.profiles import LabServer, instructor_server, student_server

from tests.grading.test_pipeline_e2e import ASSIGNMENT, REPO, copy_files, describe_run, run_cli, tracked_files

CHROMIUM = "/usr/bin/chromium"
REQUIRE_BROWSER = "LSTM_COURSE_REQUIRE_BROWSER"
ARTIFACTS = REPO / "test-artifacts" / "browser"
SERVER_START_SECONDS = 120     # a cold JupyterLab on 2 busy cores starts in ~5 s
DEMO_SECONDS = 900             # `lstm-course demo 01_lstm_gates` takes 25-50 s
ACTION_MS = 30_000             # Playwright's default wait for one click, one element, one page
LOG_CHARS = 15_000             # of each server's log in a failing test's report
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# --------------------------------------------------------------------------- the browser
def _unavailable(reason: str):
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{reason}\n({REQUIRE_BROWSER}=1: the browser tests must run here, they are not skipped)",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, headless, through Playwright's sync API."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        reason = f"Playwright is not installed ({error}): pip install -e '.[test]'"
    else:
        playwright = sync_playwright().start()
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            reason = None
        except Exception as error:  # noqa: BLE001 - whatever stops Chromium is the reason printed
            playwright.stop()
            reason = f"Chromium cannot be launched from {CHROMIUM} (apt-get install chromium): {error}"
    if reason:
        _unavailable(reason)   # outside the except clauses: the report shows the reason once
    yield browser
    browser.close()
    playwright.stop()


# --------------------------------------------------------------------------- the course
@pytest.fixture(scope="session")
def demo_course(chromium, tmp_path_factory) -> Path:
    """A scratch course after ``lstm-course demo``: demo-reference 15/17 (+ the written answer to grade by hand),
    demo-buggy 13/17, demo-untouched 0/17, in the gradebook, with feedback."""
    root = tmp_path_factory.mktemp("browser") / "course"
    files = [f for f in tracked_files(("source/", "release/")) if "hidden" not in Path(f).parts]
    copy_files(["nbgrader_config.py", *files], root)
    # the browser tests use one assignment: its demo alone (the whole course's demo trains models for minutes)
    result = run_cli(root, "demo", ASSIGNMENT, timeout=DEMO_SECONDS)
    assert result.returncode == 0, f"`lstm-course demo` failed on the scratch course:\n{describe_run(result)}"
    return root


# --------------------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningServer:
    """One JupyterLab server of :mod:`course_lib.lab.profiles`, started in its own process group."""

    def __init__(self, server: LabServer, log: Path):
        self.server, self.log = server, log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(server.argv, cwd=server.root_dir, env=server.env, stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)

    @property
    def role(self) -> str:
        return self.server.role

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def url(self, path: str, token: bool = True) -> str:
        """``path`` on this server; with the token in the query (the first page a browser opens logs it in)."""
        if not token:
            return self.base + path
        return f"{self.base}{path}{'&' if '?' in path else '?'}token={self.server.token}"

    def wait_ready(self, timeout: float = SERVER_START_SECONDS) -> None:
        """Until ``/api/status`` answers with the token (or the server exits, or ``timeout`` passes)."""
        request = urllib.request.Request(self.base + "/api/status",
                                         headers={"Authorization": f"token {self.server.token}"})
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"the {self.role}'s JupyterLab exited with code {self.process.returncode} "
                                     f"before answering:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise AssertionError(f"the {self.role}'s JupyterLab did not answer {self.base}/api/status within "
                                     f"{timeout:g} s:\n{self.log_tail()}")
            time.sleep(0.25)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)   # the server shuts its kernels down on SIGTERM
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)

    def log_tail(self, chars: int = LOG_CHARS) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else "(no log)"
        return text if len(text) <= chars else f"[... {len(text) - chars} characters before ...]\n{text[-chars:]}"


# --------------------------------------------------------------------------- console errors
def _tolerated(text: str, url: str) -> bool:
    """Console errors that say nothing about the course or JupyterLab."""
    host = urlsplit(url).hostname
    # This machine reaches no network but loopback: nbgrader's grading and feedback pages load MathJax from
    # cdnjs.cloudflare.com, and the browser reports that it cannot. Only a failure to *reach another host*
    # is tolerated; anything our own servers answer or fail to answer still counts.
    if text.startswith("Failed to load resource: net::ERR_") and host is not None and host not in LOOPBACK:
        return True
    # A browser asks for /favicon.ico by itself; pages that name no icon get a 404 that no page asked for.
    if "status of 404" in text and urlsplit(url).path.endswith("/favicon.ico"):
        return True
    return False


class Lab:
    """A test's browser side: one browser context per server (an instructor and a student are two people), the
    console errors and uncaught errors of every page, numbered screenshots."""

    def __init__(self, browser, course: Path, artifacts: Path):
        self.browser, self.course, self.artifacts = browser, course, artifacts
        self.servers: list[RunningServer] = []
        self.contexts: dict[str, object] = {}
        self.problems: list[str] = []
        self.reported = 0
        self.steps = 0

    # servers ---------------------------------------------------------------
    def _start(self, server: LabServer) -> RunningServer:
        running = RunningServer(server, self.artifacts / f"server-{server.role}-{server.port}.log")
        self.servers.append(running)
        running.wait_ready()
        return running

    def instructor(self) -> RunningServer:
        return self._start(instructor_server(self.course, free_port(), secrets.token_hex(16), open_browser=False))

    def student(self, student_id: str) -> RunningServer:
        return self._start(student_server(self.course, student_id, free_port(), secrets.token_hex(16),
                                          open_browser=False))

    # pages -----------------------------------------------------------------
    def _context(self, server: RunningServer):
        key = f"{server.role}-{server.server.port}"
        if key not in self.contexts:
            context = self.browser.new_context(viewport={"width": 1400, "height": 900})
            context.set_default_timeout(ACTION_MS)
            context.on("page", lambda page, who=key: self._watch(page, who))
            self.contexts[key] = context
        return self.contexts[key]

    def _watch(self, page, who: str) -> None:
        def console(message):
            if message.type == "error" and not _tolerated(message.text, message.location.get("url", "")):
                self.problems.append(f"[{who}] console error on {page.url}: {message.text} "
                                     f"(at {message.location.get('url')}:{message.location.get('lineNumber')})")

        page.on("console", console)
        page.on("pageerror", lambda error: self.problems.append(f"[{who}] uncaught error on {page.url}: {error}"))

    def open(self, server: RunningServer, path: str):
        """A new page (tab) of ``server``'s user, at ``path``."""
        page = self._context(server).new_page()
        page.goto(server.url(path))
        return page

    @property
    def pages(self) -> list:
        return [page for context in self.contexts.values() for page in context.pages]

    # checks ----------------------------------------------------------------
    def check(self, where: str) -> None:
        """Fail if any page logged a console error or threw an uncaught error since the last check."""
        new = self.problems[self.reported:]
        self.reported = len(self.problems)
        if new:
            pytest.fail(f"{where}: {len(new)} error(s) in the browser:\n" + "\n".join(new), pytrace=False)

    def shot(self, page, step: str) -> Path:
        """Screenshot ``NN-step.png`` of ``page``, then :meth:`check`."""
        self.steps += 1
        path = self.artifacts / f"{self.steps:02d}-{step}.png"
        page.screenshot(path=str(path))
        self.check(step)
        return path

    def on_failure(self) -> list[tuple[str, str]]:
        """Screenshots of every open page; the servers' logs, as report sections."""
        for number, page in enumerate(self.pages, 1):
            self.steps += 1
            try:
                page.screenshot(path=str(self.artifacts / f"{self.steps:02d}-failure-page{number}.png"))
            except Exception as error:  # noqa: BLE001 - a page that crashed still lets the others be shot
                self.problems.append(f"(no failure screenshot of page {number}: {error})")
        sections = [(f"JupyterLab log: {s.role} on port {s.server.port} ({s.log})", s.log_tail())
                    for s in self.servers]
        if self.problems[self.reported:]:
            sections.append(("browser errors not yet reported", "\n".join(self.problems[self.reported:])))
        return sections

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()
        for server in self.servers:
            server.stop()


@pytest.fixture
def lab(chromium, demo_course, request, monkeypatch):
    """The browser side of one test on the demo course; its servers are started by ``lab.instructor()`` and
    ``lab.student(ID)`` and stopped at teardown."""
    # the course-local exchange (<course>/exchange/nbgrader), whatever the calling shell says
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    artifacts = ARTIFACTS / request.node.name
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    session = Lab(chromium, demo_course, artifacts)
    yield session
    try:
        session.check("after the test")
    finally:
        session.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    session = getattr(item, "funcargs", {}).get("lab")
    if report.when == "call" and report.failed and isinstance(session, Lab):
        report.sections.extend(session.on_failure())
