"""The pieces of grading at scale, in-process and without kernels: the assignment bundle a worker grades with, the
retry of a lost grading, the backends' futures, resuming (what counts as unchanged) and the summary table.
The real thing (kernels, a Dask cluster, killed workers, Ctrl-C) is tests/grading/test_scale_e2e.py."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading import class_grading, scheduler, work_unit
from course_lib.grading.outcomes import Outcome, read_log, record, summary_table
from course_lib.grading.scratch import content_hash
from course_lib.grading.work_unit import TEMPLATE_GRADEBOOK, AssignmentBundle, SubmissionTask

ROW = get_assignment("01_lstm_gates")


def bundle(**changes) -> AssignmentBundle:
    files = {"nbgrader_config.py": b"c = get_config()\n", TEMPLATE_GRADEBOOK: b"sqlite bytes",
             f"source/{ROW.name}/data.csv": b"1,2\n", f"source/{ROW.name}/hidden/hidden_tests.json": b"{}",
             f"release/{ROW.name}/{ROW.notebook}.ipynb": b"{}"}
    files.update(changes.pop("files", {}))
    fields = dict(assignment=ROW.name, notebook=ROW.notebook, course_id="course", kernel_modules=("a",),
                  files=files, worker_timeout=60.0, worker_memory=1 << 30, source_hash="s")
    fields.update(changes)
    return AssignmentBundle(**fields)


def test_the_build_hash_follows_what_grading_depends_on_and_not_the_template_ids():
    base = bundle().build_hash
    assert bundle(files={TEMPLATE_GRADEBOOK: b"fresh ids"}).build_hash == base, "nbgrader writes new ids each time"
    for changed in (bundle(files={f"source/{ROW.name}/hidden/hidden_tests.json": b"{1}"}),
                    bundle(files={"nbgrader_config.py": b"c.Sandbox.wall_seconds = 5\n"}),
                    bundle(files={f"release/{ROW.name}/extra.txt": b""}),
                    bundle(source_hash="t"), bundle(kernel_modules=("a", "b"))):
        assert changed.build_hash != base


def test_released_files_never_include_hidden_ones():
    assert bundle().released_files() == {"data.csv": b"1,2\n"}


def test_materialise_writes_the_bundle_once_per_build_and_refuses_paths_out_of_it():
    first = work_unit.materialise(bundle())
    assert (first / f"source/{ROW.name}/hidden/hidden_tests.json").read_bytes() == b"{}"
    assert (first.stat().st_mode & 0o077) == 0, "the bundle holds hidden tests: private to the grader"
    assert work_unit.materialise(bundle()) == first
    with pytest.raises(ValueError, match="leaves its folder"):
        work_unit.materialise(bundle(files={"../escape": b""}))


class FakeGrading:
    """Stands in for the bounded grading process: replies with the next of ``replies``."""

    replies: list[dict] = []
    started: list[Path] = []

    def __call__(self, course, scratch, *args, **kwargs):
        FakeGrading.started.append(Path(scratch))
        assert (Path(scratch) / "submitted" / "ann" / ROW.name / f"{ROW.notebook}.ipynb").read_bytes() == b"nb"
        return FakeGrading.replies.pop(0)


@pytest.fixture
def fake_grading(monkeypatch):
    monkeypatch.setattr(work_unit, "grade_isolated", FakeGrading())
    FakeGrading.started = []
    return FakeGrading


TASK = SubmissionTask("ann", b"nb", None, "h", ("ignored 1 other file(s)",))


def test_a_lost_grading_is_tried_once_more(fake_grading):
    fake_grading.replies = [{"success": False, "reason": "the grading process was killed", "problems": [],
                             "lost": True},
                            {"success": False, "reason": "NameError: x", "problems": ["p"]}]
    result = work_unit.grade_submission(bundle(), TASK, "none")
    assert result.attempts == 2 and len(fake_grading.started) == 2
    assert result.reason == "NameError: x" and result.problems == ["p", "ignored 1 other file(s)"]
    assert not any(path.exists() for path in fake_grading.started), "scratch courses are removed"


def test_a_timed_out_grading_is_not_retried(fake_grading):
    fake_grading.replies = [{"success": False, "reason": "grading took longer than 60 s", "problems": []}]
    result = work_unit.grade_submission(bundle(), TASK, "none")
    assert result.attempts == 1 and not result.success and result.build_hash == bundle().build_hash


def fake_grade(bundle, task, sandbox, feedback):
    return work_unit.GradeResult(task.student, bundle.assignment, True, reason=sandbox)


def test_the_local_backend_runs_the_work_unit_and_returns_its_results(monkeypatch):
    monkeypatch.setattr(scheduler, "grade_submission", fake_grade)
    backend = scheduler.LocalBackend(2, 1 << 30)
    try:
        shared = backend.share(bundle())
        futures = [backend.submit(shared, SubmissionTask(s, b"", None, ""), "bwrap", True) for s in "abc"]
        assert sorted(f.result().student for f in backend.as_completed(futures)) == ["a", "b", "c"]
    finally:
        backend.close()


def test_the_dask_backend_runs_the_same_work_unit(monkeypatch):
    from distributed import LocalCluster

    monkeypatch.setattr(scheduler, "grade_submission", fake_grade)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        backend = scheduler.DaskBackend(cluster.scheduler_address)
        try:
            assert "1 workers, 2 threads" in backend.describe()
            shared = backend.share(bundle())
            futures = [backend.submit(shared, SubmissionTask(s, b"", None, ""), "bwrap", True) for s in "ab"]
            results = [f.result() for f in backend.as_completed(futures)]
            assert sorted(r.student for r in results) == ["a", "b"] and {r.reason for r in results} == {"bwrap"}
        finally:
            backend.close()


def test_an_unreachable_scheduler_is_a_one_line_error():
    from course_lib.grading.course import CourseError

    with pytest.raises(CourseError, match="cannot reach the Dask scheduler"):
        scheduler.DaskBackend("tcp://127.0.0.1:9", connect_timeout=1)


def test_only_a_graded_unchanged_submission_by_the_same_build_is_up_to_date(tmp_path):
    folder = tmp_path / "submitted" / "ann" / ROW.name
    folder.mkdir(parents=True)
    (folder / f"{ROW.notebook}.ipynb").write_text("{}")
    graded = tmp_path / "autograded" / "ann" / ROW.name / f"{ROW.notebook}.ipynb"
    graded.parent.mkdir(parents=True)
    graded.write_text("{}")
    ctx = SimpleNamespace(assignment=ROW)
    entry = {"student": "ann", "status": "graded", "build_hash": "b", "content_hash": content_hash(folder, ROW)}
    assert class_grading._up_to_date(tmp_path, entry, folder, ctx, "b")
    assert not class_grading._up_to_date(tmp_path, entry, folder, ctx, "another build")
    assert not class_grading._up_to_date(tmp_path, dict(entry, status="failed"), folder, ctx, "b")
    (folder / "timestamp.txt").write_text("2026-12-04 10:00:00 UTC")   # handed in again through the exchange
    assert not class_grading._up_to_date(tmp_path, entry, folder, ctx, "b")
    entry["content_hash"] = content_hash(folder, ROW)
    graded.unlink()
    assert not class_grading._up_to_date(tmp_path, entry, folder, ctx, "b"), "its graded notebook is gone"


def test_the_log_keeps_the_hashes_and_reads_old_entries(tmp_path):
    record(tmp_path, Outcome("ann", ROW.name, "graded", score=3, content_hash="c", build_hash="b", kept=True))
    entry = read_log(tmp_path)[f"{ROW.name}/ann"]
    assert entry["content_hash"] == "c" and "kept" not in entry
    old = Outcome.from_entry({"student": "bob", "assignment": ROW.name, "status": "graded", "gone": 1})
    assert old.student == "bob" and old.build_hash == ""


def test_the_summary_counts_each_kind_and_lists_what_was_not_graded():
    outcomes = [Outcome("a", ROW.name, "graded", score=17, max_score=17, seconds=4.0),
                Outcome("b", ROW.name, "graded", score=5, max_score=17, kept=True),
                Outcome("c", ROW.name, "rejected", "c.ipynb is not JSON"),
                Outcome("d", ROW.name, "failed", "the grading process crashed")]
    table = summary_table(outcomes)
    row = next(line for line in table.splitlines() if line.strip().startswith(ROW.name)).split()
    assert row[1:6] == ["4", "1", "1", "1", "1"] and "11.0" in row and row[-1] == "4.0", table
    assert f"{ROW.name}/c: rejected: c.ipynb is not JSON" in table and "/d: failed" in table


def test_the_gradebook_schema_version_read_in_process_is_the_one_alembic_prints():
    """nbgrader stamps new gradebooks with `alembic heads` (a 4 s subprocess); ours must give the same head."""
    import os
    import subprocess
    import sys

    from nbgrader.dbutil import _temp_alembic_ini

    from course_lib.grading.course import alembic_head

    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
        printed = subprocess.check_output(["alembic", "-c", ini, "heads"], env=env, text=True, timeout=120)
    assert alembic_head() == printed.split()[0]


def test_the_grading_processes_skip_only_jsonschema_iri_check():
    """The command line and grading processes leave out rfc3987_syntax (1.3 s to import); notebooks are still
    validated against nbformat's schema."""
    import subprocess
    import sys

    code = ("from course_lib.grading.course import skip_slow_format_checks; skip_slow_format_checks();"
            "import jsonschema, nbformat, sys; from jsonschema import FormatChecker;"
            "nb = nbformat.v4.new_notebook(); nb.cells.append(nbformat.v4.new_code_cell('x'));"
            "nb.cells[0]['bogus'] = 1;"
            "errors = list(nbformat.validator.iter_validate(nb));"
            "print(sys.modules['rfc3987_syntax'], 'iri' in FormatChecker.checkers, len(errors) > 0)")
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert printed.stdout.split() == ["None", "False", "True"], printed
