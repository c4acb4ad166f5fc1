"""The generic pinned-sdist fetcher and archive reader, on small archives written here (nothing is downloaded:
``subprocess.run`` is replaced wherever ``pip`` would run)."""
from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from course_lib.data.pinned_sdist import ArchiveLimits, PinnedSdist, SdistError, file_sha256, read_tar_members
from course_lib.grading.course import CourseError


class OwnError(SdistError):
    pass


def tar_gz(entries: list[tuple]) -> bytes:
    """``(name, bytes)`` regular files, or ``("symlink"|"hardlink"|"dir", name, target)`` entries."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for entry in entries:
            if entry[0] in ("symlink", "hardlink", "dir"):
                info = tarfile.TarInfo(entry[1])
                info.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "dir": tarfile.DIRTYPE}[entry[0]]
                info.linkname = entry[2]
                tar.addfile(info)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                tar.addfile(info, io.BytesIO(entry[1]))
    return buffer.getvalue()


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message.strip() == message and message, message
    return message


def pin_for(content: bytes, error: type[SdistError] = SdistError) -> PinnedSdist:
    return PinnedSdist("toy", "1.0", hashlib.sha256(content).hexdigest(), size=len(content), error=error)


def no_pip(*args, **kwargs):
    raise AssertionError("pip must not run here")


def fake_pip(content: bytes | None, returncode: int = 0, stderr: str = "", calls: list | None = None):
    def run(command, **kwargs):
        if calls is not None:
            calls.append((command, kwargs))
        if content is not None:
            dest = Path(command[command.index("-d") + 1])
            dest.mkdir(parents=True, exist_ok=True)
            (dest / "toy-1.0.tar.gz").write_bytes(content)
        return subprocess.CompletedProcess(command, returncode, "", stderr)
    return run


def test_the_error_class_is_a_course_error_and_the_filename_follows_the_pin():
    assert issubclass(SdistError, CourseError)
    assert pin_for(b"x").filename == "toy-1.0.tar.gz"


def test_a_cached_copy_with_the_wrong_hash_is_refused_in_one_line_saying_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", no_pip)
    pin = pin_for(b"genuine", OwnError)
    (tmp_path / pin.filename).write_bytes(b"forged")
    with pytest.raises(OwnError) as error:
        pin.fetch(tmp_path)
    message = one_line(error)
    assert hashlib.sha256(b"forged").hexdigest() in message and pin.sha256 in message
    assert "delete it" in message and str(tmp_path) in message and "7 bytes" in message


def test_a_cached_copy_that_matches_is_reused_without_pip(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", no_pip)
    pin = pin_for(b"genuine")
    (tmp_path / pin.filename).write_bytes(b"genuine")
    assert pin.fetch(tmp_path) == tmp_path / pin.filename
    assert file_sha256(tmp_path / pin.filename) == pin.sha256


def test_a_download_lands_in_the_cache_once_verified(tmp_path, monkeypatch):
    calls: list = []
    pin = pin_for(b"genuine")
    monkeypatch.setattr(subprocess, "run", fake_pip(b"genuine", calls=calls))
    assert pin.fetch(tmp_path / "cache", timeout=7) == tmp_path / "cache" / pin.filename
    command, kwargs = calls[0]
    assert {"--no-deps", "--require-hashes"} <= set(command) and command[command.index("--no-binary") + 1] == ":all:"
    assert kwargs["timeout"] == 7
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [pin.filename]
    monkeypatch.setattr(subprocess, "run", fake_pip(b"tampered"))
    with pytest.raises(SdistError, match="downloaded has sha256 .*nothing was kept"):
        pin_for(b"other").fetch(tmp_path / "other")
    assert list((tmp_path / "other").iterdir()) == []


def test_offline_the_error_is_one_line_saying_where_to_put_the_file(tmp_path, monkeypatch):
    stderr = "WARNING: Retrying...\nERROR: Could not find a version that satisfies the requirement toy==1.0\n"
    monkeypatch.setattr(subprocess, "run", fake_pip(None, 1, stderr))
    pin = pin_for(b"genuine", OwnError)
    with pytest.raises(OwnError) as error:
        pin.fetch(tmp_path / "cache")
    message = one_line(error)
    assert message.startswith("could not download toy==1.0 from PyPI (no network?)")
    assert f"put {pin.filename} (sha256 {pin.sha256}" in message and str(tmp_path / "cache") in message
    assert "Could not find a version" in message
    assert list((tmp_path / "cache").iterdir()) == []

    def slow(command, **kwargs):
        raise subprocess.TimeoutExpired(command, kwargs["timeout"])
    monkeypatch.setattr(subprocess, "run", slow)
    with pytest.raises(OwnError, match="took more than 3 s") as error:
        pin.fetch(tmp_path / "cache", timeout=3)
    one_line(error)


def test_members_are_read_in_memory_and_unwanted_ones_skipped(tmp_path):
    path = tmp_path / "toy-1.0.tar.gz"
    path.write_bytes(tar_gz([("dir", "toy-1.0", ""), ("toy-1.0/a.txt", b"alpha"), ("toy-1.0/b.txt", b"beta"),
                             ("symlink", "toy-1.0/link", "/etc/passwd")]))
    assert pin_for(b"").read_members(path, ["toy-1.0/b.txt"]) == {"toy-1.0/b.txt": b"beta"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy-1.0.tar.gz"]


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "dir"])
def test_a_member_that_is_not_a_regular_file_is_refused(tmp_path, kind):
    path = tmp_path / "toy.tar.gz"
    path.write_bytes(tar_gz([(kind, "toy-1.0/a.txt", "../../secret")]))
    with pytest.raises(OwnError, match="refusing it") as error:
        pin_for(b"", OwnError).read_members(path, ["toy-1.0/a.txt"])
    assert "toy-1.0/a.txt" in one_line(error)


def test_the_limits_are_enforced(tmp_path):
    path = tmp_path / "toy.tar.gz"
    path.write_bytes(tar_gz([("pad.bin", bytes(300_000)), *((f"f{i}", b"x") for i in range(20)),
                             ("big.txt", b"y" * 5000)]))
    pin = pin_for(b"")
    with pytest.raises(SdistError, match="more than the 4096 allowed") as error:
        pin.read_members(path, ["big.txt"], ArchiveLimits(max_member_bytes=4096))
    one_line(error)
    with pytest.raises(SdistError, match="more than 10 members"):
        pin.read_members(path, ["big.txt"], ArchiveLimits(max_members=10))
    with pytest.raises(SdistError, match="unpacks to more than 100000 bytes"):
        pin.read_members(path, ["big.txt"], ArchiveLimits(max_unpacked_bytes=100_000))
    assert pin.read_members(path, ["big.txt"]) == {"big.txt": b"y" * 5000}


def test_missing_repeated_and_unreadable_archives_are_refused(tmp_path):
    path = tmp_path / "toy.tar.gz"
    path.write_bytes(tar_gz([("a", b"1"), ("a", b"2")]))
    pin = pin_for(b"")
    with pytest.raises(SdistError, match="twice"):
        pin.read_members(path, ["a"])
    with pytest.raises(SdistError, match="has no member b: is it toy 1.0's sdist"):
        pin.read_members(path, ["b"])
    with pytest.raises(SdistError, match="not a readable .tar.gz"):
        read_tar_members(io.BytesIO(b"plain text"), ["a"], "a stream")
