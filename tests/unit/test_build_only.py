"""Build-only released data (``Assignment.build_only``): too large to commit, so its hashes are: the manifest
changes when a build makes other bytes, and a build whose data module forgot a listed file fails."""
from __future__ import annotations

import hashlib

import pytest

from course_lib.grading.course import CourseError
from course_lib.grading.course_build import build_only_manifest


def test_the_manifest_records_each_file_and_changes_with_its_bytes(tmp_path):
    line = b"Hamlet 0 B-PER\n"
    (tmp_path / "b.conll").write_bytes(line)
    (tmp_path / "a.conll").write_bytes(b"")
    manifest = build_only_manifest(tmp_path, ("b.conll", "a.conll"))
    assert manifest.splitlines() == [f"{hashlib.sha256(b'').hexdigest()}  a.conll",
                                     f"{hashlib.sha256(line).hexdigest()}  b.conll"]
    (tmp_path / "b.conll").write_bytes(b"Hamlet 0 O\n")
    assert build_only_manifest(tmp_path, ("a.conll", "b.conll")) != manifest


def test_a_listed_file_the_build_did_not_make_is_an_error(tmp_path):
    with pytest.raises(CourseError, match="made no ner_train.conll"):
        build_only_manifest(tmp_path, ("ner_train.conll",))
