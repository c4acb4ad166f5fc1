"""The course as a whole: where it lives and nbgrader set up on it (its assignments: ``course_lib.assignments``)."""
from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


def skip_slow_format_checks() -> None:
    """Leave out jsonschema's check of the "iri" string format in this process: jsonschema builds it at import
    from ``rfc3987_syntax`` (a grammar compiled in 1.3 s, more than the rest of nbgrader's import), which
    jupyter_events pulls in. Nothing the grader validates (notebooks, nbgrader's configuration) has that format;
    called by the command line and the grading processes before anything imports jsonschema, never by the
    JupyterLab server, whose event schemas might."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)   # None: "not installed", for this process only


class CourseError(Exception):
    """A problem the user can fix; the CLI prints its message on one line, without a traceback."""


def find_course_root(start: str | os.PathLike | None = None) -> Path:
    """The directory holding ``nbgrader_config.py`` and ``source/``: from ``start`` (or the cwd) upwards, then
    the checkout this package was installed from."""
    candidates = []
    here = Path(start or os.getcwd()).resolve()
    candidates += [here, *here.parents]
    candidates.append(Path(__file__).resolve().parents[2])
    for directory in candidates:
        if (directory / "nbgrader_config.py").is_file() and (directory / "source").is_dir():
            return directory
    raise CourseError("no course found: run lstm-course inside the course checkout (the folder with "
                      "nbgrader_config.py and source/) or pass --course-dir")


def load_config(root: Path, **overrides) -> Config:
    """The course's ``nbgrader_config.py`` with ``CourseDirectory.root`` (and any override) applied."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    for section, values in overrides.items():
        for key, value in values.items():
            setattr(getattr(config, section), key, value)
    return config


@functools.cache
def alembic_head() -> str:
    """The gradebook schema's version, read from nbgrader's migration scripts in this process (1 ms).

    nbgrader stamps every new gradebook with it by running ``alembic heads`` in a subprocess, a new Python that
    imports nbgrader: 4 s, paid by every assignment of every grading run (its scratch template is a new gradebook).
    :func:`nbgrader_api` gives nbgrader this function instead; tests/unit check it agrees with the subprocess."""
    import nbgrader
    from alembic.script import ScriptDirectory

    return ScriptDirectory(os.path.join(os.path.dirname(nbgrader.__file__), "alembic")).get_current_head()


def nbgrader_api(root: Path, config: Config | None = None):
    """nbgrader's Python API on the course at ``root``."""
    import nbgrader.api
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    nbgrader.api.get_alembic_version = alembic_head

    # nbgrader runs the `alembic` executable of its environment to check the gradebook's schema: make sure the
    # environment's bin directory is on PATH even when lstm-course was started by its full path.
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    config = config or load_config(root)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def last_error_line(result: dict) -> str:
    """The most useful line of a failed nbgrader API call: its last ERROR/exception line, shortened."""
    text = (result.get("log") or "") + "\n" + (result.get("error") or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    exception = re.compile(r"^(?:\[ERROR\] )?([A-Za-z_.]*(?:Error|Exception|Interrupt)): (.*)")
    for line in reversed(lines):
        match = exception.match(line)
        if match and "NbGraderException" not in match.group(1):
            return f"{match.group(1)}: {match.group(2)}"[:300]
    for line in reversed(lines):
        if line.startswith("[ERROR]") and "see the the above traceback" not in line:
            return line.removeprefix("[ERROR] ")[:300]
    return (lines[-1] if lines else "unknown error")[:300]
