"""The nbgrader bookkeeping files written next to graded notebooks and feedback (release_feedback needs them):
taken from an exchange submission when well-formed, never copied blindly from what a student handed in."""
from __future__ import annotations

import os
import re

from course_lib.grading.commit import nbgrader_files


def _submission(root, **files):
    folder = root / "submitted" / "s1" / "01_lstm_gates"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_an_exchange_submissions_files_are_kept(tmp_path):
    _submission(tmp_path, **{"timestamp.txt": "2026-12-01 10:00:00.000001 UTC", "submission_secret.txt": "ab" * 64})
    files = nbgrader_files(tmp_path, "01_lstm_gates", "s1")
    assert files == {"timestamp.txt": "2026-12-01 10:00:00.000001 UTC", "submission_secret.txt": "ab" * 64}


def test_malformed_or_linked_files_are_replaced_and_the_secret_is_then_stable(tmp_path):
    folder = _submission(tmp_path, **{"timestamp.txt": "<script>", "submission_secret.txt": "../../etc"})
    files = nbgrader_files(tmp_path, "01_lstm_gates", "s1")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} UTC", files["timestamp.txt"])
    assert re.fullmatch(r"[0-9a-f]{128}", files["submission_secret.txt"])
    (folder / "submission_secret.txt").unlink()
    os.symlink("/etc/hostname", folder / "submission_secret.txt")
    graded = tmp_path / "autograded" / "s1" / "01_lstm_gates"
    graded.mkdir(parents=True)
    (graded / "submission_secret.txt").write_text(files["submission_secret.txt"])
    assert nbgrader_files(tmp_path, "01_lstm_gates", "s1")["submission_secret.txt"] == files["submission_secret.txt"]
