"""Building an assignment: its data and hidden tests into ``source/<NN_stem>/`` (released data) and
``source/<NN_stem>/hidden/`` (never released), then ``release/`` with nbgrader's generate_assignment.

Running it twice changes nothing: a built file is rewritten only when its content changes, and nbgrader produces
the same release notebooks from the same sources.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from course_lib.assignments.registry import ASSIGNMENTS, Assignment, get_assignment
from course_lib.grading.course import CourseError, last_error_line, nbgrader_api
from course_lib.grading.demonstration import check_release_demonstrations, check_source_demonstrations
from course_lib.grading.hidden_tests import build_hidden_tests, hidden_tests_path, run_targets


def write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def write_npz_if_changed(path: Path, arrays: dict, compressed: bool = True) -> bool:
    """Save ``arrays`` as an ``.npz`` at ``path`` unless the file already holds exactly these bytes (a rebuild of
    unchanged data leaves the file, and its time stamp, as they were)."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    if path.exists() and path.read_bytes() == buffer.getvalue():
        return False
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)
    return True


#: The committed record of an assignment's build-only files (``Assignment.build_only``): ``<sha256>  <name>`` lines.
BUILD_ONLY_MANIFEST = "build_only.sha256"


def build_only_manifest(source: Path, names: tuple[str, ...]) -> str:
    """The manifest text of the build-only files ``names`` of ``source`` (each must exist: the build made it)."""
    import hashlib

    lines = []
    for name in sorted(names):
        path = Path(source) / name
        if not path.is_file():
            raise CourseError(f"the build of {Path(source).name} made no {name} (instructor: the data builder and "
                              f"the registry's build_only disagree)")
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {name}")
    return "\n".join(lines) + "\n"


def learner_work(release_notebook: Path) -> list[str]:
    """The solution cells of a release notebook that no longer hold nbgrader's stub: someone's work (a self-study
    learner opening ``release/`` directly), which regenerating the release would delete."""
    import nbformat
    from nbgrader.preprocessors import ClearSolutions

    if not release_notebook.is_file():
        return []
    stubs = ClearSolutions()
    code_stub = stubs.code_stub.get("python", "raise NotImplementedError()").strip().splitlines()[-1]
    text_stub = stubs.text_stub.strip()
    try:
        notebook = nbformat.read(release_notebook, as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable release notebook is nobody's work worth keeping
        return []
    changed = []
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and (code_stub if cell.cell_type == "code" else text_stub) not in cell.source:
            changed.append(str(meta.get("grade_id", "?")))
    return changed


def build_assignment(root: Path, assignment: Assignment, api=None, echo=print, force: bool = False) -> None:
    source, hidden = assignment.source_dir(root), assignment.hidden_dir(root)
    if not assignment.source_notebook(root).is_file():
        raise CourseError(f"{assignment.source_notebook(root)} is missing: is this the course checkout?")
    work = learner_work(assignment.release_notebook(root))
    if work and not force:
        notebook = assignment.release_notebook(root).relative_to(root)
        raise CourseError(f"{notebook} holds someone's work (solution cells {', '.join(work[:4])}"
                          f"{' …' if len(work) > 4 else ''} are filled in), and building would overwrite it: copy "
                          f"it elsewhere first (work on a copy, e.g. `cp {notebook} ~/`), or run "
                          f"`lstm-course build --force {assignment.name}` to discard it")
    hidden.mkdir(exist_ok=True)
    if assignment.has_module("data"):
        assignment.module("data").build(source, hidden)
    if assignment.build_only:
        write_if_changed(source / BUILD_ONLY_MANIFEST, build_only_manifest(source, assignment.build_only))
    expected = build_hidden_tests(root, assignment)
    run_targets(root, assignment, expected["notebooks"][assignment.notebook]["exercises"])
    demonstrations = check_source_demonstrations(assignment.source_notebook(root), root)
    path = hidden_tests_path(hidden)
    changed = write_if_changed(path, json.dumps(expected, sort_keys=True, indent=1) + "\n")
    echo(f"  {assignment.name}: hidden tests {'written to' if changed else 'up to date in'} {path.relative_to(root)}")
    api = api or nbgrader_api(root)
    result = api.generate_assignment(assignment.name, force=True, create=True)
    if not result.get("success"):
        raise CourseError(f"nbgrader could not generate {assignment.name}: {last_error_line(result)}")
    check_release_demonstrations(assignment.release_notebook(root), root, demonstrations)
    echo(f"  {assignment.name}: release/{assignment.name}/ regenerated from source/{assignment.name}/")


def build(root: Path, names: list[str] | None = None, echo=print, force: bool = False) -> list[Assignment]:
    assignments = [get_assignment(n) for n in names] if names else list(ASSIGNMENTS.values())
    api = nbgrader_api(root)
    for assignment in assignments:
        build_assignment(root, assignment, api=api, echo=echo, force=force)
    return assignments


def is_built(root: Path, assignment: Assignment, api) -> bool:
    """Hidden tests, release notebook, build-only data (a fresh clone has none) and gradebook entry all present."""
    from nbgrader.api import Gradebook, MissingEntry

    if not hidden_tests_path(assignment.hidden_dir(root)).exists():
        return False
    release = assignment.release_notebook(root).parent
    if any(not (folder / name).is_file() for folder in (assignment.source_dir(root), release)
           for name in assignment.build_only):
        return False
    if not assignment.release_notebook(root).exists():
        return False
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        try:
            gb.find_assignment(assignment.name)
        except MissingEntry:
            return False
    return True


def ensure_built(root: Path, assignment: Assignment, api, echo=print) -> None:
    """Build the assignment if a fresh checkout has not been built yet."""
    if not is_built(root, assignment, api):
        echo(f"  {assignment.name} is not built yet: building it")
        build_assignment(root, assignment, api=api, echo=echo)
