"""The human-rated review sentences of Hutto & Gilbert (ICWSM 2014), read from the ``vaderSentiment`` sdist.

The PyPI source distribution ``vaderSentiment==3.3.2`` (MIT licence) ships, as
``additional_resources/hutto_ICWSM_2014.tar.gz``, four tab-separated ground-truth files: one line per snippet,
``id<TAB>mean rating<TAB>text``, the rating being the mean of 20 or more human raters on [-4, 4].

What the real files hold (measured on the pinned sdist; the unit tests check the counts):

* UTF-8 without a byte-order mark, CRLF line ends, no newline after the last line; no tab inside a text.
* ``&amp;``, ``&lt;`` and ``&gt;`` as Twitter's API escapes them (mostly in the tweets): turned back into
  ``&``, ``<``, ``>`` (``&lt;3`` is a heart), and no other entity is touched.
* A few texts (11 Amazon, 1 tweet) begin or end with spaces: stripped. Runs of inner spaces (the movie snippets
  lost their hyphens: "rom com", "co writer") and ``''`` as a double quote are kept as they are.
* Some texts occur twice under different ids (2 movie, 10 Amazon, 71 NYT groups), a few with ratings of opposite
  sign: :func:`split` keeps equal texts in the same part so that none is both trained on and tested on.

Nothing here installs or imports ``vaderSentiment``: the archive is only read, member by member, in memory.
"""
from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from course_lib.data import pinned_sdist
# re-exported: part of this module's interface since before the generic module existed
from course_lib.data.pinned_sdist import (DEFAULT_LIMITS, DOWNLOAD_TIMEOUT_SECONDS, ArchiveLimits, PinnedSdist,
                                          SdistError, file_sha256, pip_download_command)

PACKAGE = "vaderSentiment"
VERSION = "3.3.2"
SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
SDIST_NAME = f"{PACKAGE}-{VERSION}.tar.gz"

NESTED_ARCHIVE = f"{PACKAGE}-{VERSION}/additional_resources/hutto_ICWSM_2014.tar.gz"
DOMAIN_FILES = {
    "movie": "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt",
    "amazon": "hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt",
    "tweets": "hutto_ICWSM_2014/tweets_GroundTruth.txt",
    "nyt": "hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth.txt",
}
RATING_RANGE = (-4.0, 4.0)

# Chosen once and never tuned: the held-out test split, and every threshold measured on it, depend on it.
SPLIT_SEED = 20260310
TEST_SIZE = 2000        # the study: 2,000 test / 1,000 validation / the rest (7,568) train
VALIDATION_SIZE = 1000

# Twitter's escaping only: a general HTML unescape would also rewrite bare "&amp" or "&not" inside words.
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


class GroundTruthError(SdistError):
    """The sdist is missing, unreadable or not the pinned one; the message (one line) says what to do."""


@dataclass(frozen=True)
class Snippet:
    """One rated text.

    Attributes
    ----------
    domain : str
        A key of :data:`DOMAIN_FILES`: ``"movie"``, ``"amazon"``, ``"tweets"`` or ``"nyt"``.
    id : str
        The id in its file (``"17"`` for movies and tweets, ``"review_sentence"`` such as ``"12_3"`` otherwise).
    rating : float
        The raters' mean on [-4, 4].
    text : str
    polarity : int or None
        Derived from ``rating``: 1 if it is > 0, 0 if < 0, None if it is exactly 0 (neutral).
    """

    domain: str
    id: str
    rating: float
    text: str
    polarity: int | None = field(init=False)

    def __post_init__(self) -> None:
        low, high = RATING_RANGE
        if not (math.isfinite(self.rating) and low <= self.rating <= high):
            raise ValueError(f"rating {self.rating!r} of {self.domain} snippet {self.id!r} is outside [{low}, {high}]")
        # field(init=False) on a frozen dataclass: the only way to set a derived field is object.__setattr__
        object.__setattr__(self, "polarity", 1 if self.rating > 0 else 0 if self.rating < 0 else None)


# --------------------------------------------------------------------------------------------- fetching


def _sdist() -> PinnedSdist:
    # built at call time from the module's globals, so that a test pointing SHA256 elsewhere is obeyed
    return PinnedSdist(PACKAGE, VERSION, SHA256, error=GroundTruthError)


def verify_sdist(path: Path) -> Path:
    """``path`` if its sha256 is the pinned one; otherwise :class:`GroundTruthError` saying what to do."""
    return _sdist().verify(path)


def fetch_vader_sdist(cache_dir: Path, timeout: float = DOWNLOAD_TIMEOUT_SECONDS) -> Path:
    """The path of the pinned ``vaderSentiment-3.3.2.tar.gz`` in ``cache_dir``, downloaded if absent.

    Parameters
    ----------
    cache_dir : Path
        Where the sdist is kept (created if needed).
    timeout : float
        Seconds ``pip download`` may take.

    Returns
    -------
    Path
        ``cache_dir / "vaderSentiment-3.3.2.tar.gz"``, whose sha256 has just been checked (every call checks it,
        cached file or not).

    Raises
    ------
    GroundTruthError
        Offline, on a timeout or on a hash mismatch, with a one-line message saying what to do.
    """
    return _sdist().fetch(cache_dir, timeout)


# --------------------------------------------------------------------------------------------- reading


def read_tar_members(archive: BinaryIO, wanted: Iterable[str], what: str,
                     limits: ArchiveLimits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """The bytes of the members named ``wanted`` of a ``.tar.gz`` stream, read in one forward pass.

    :func:`course_lib.data.pinned_sdist.read_tar_members` raising :class:`GroundTruthError`: nothing is written
    to disk; a wanted member must be a regular file (a symlink, hard link or device is refused, never followed),
    no larger than ``limits.max_member_bytes``, and present exactly once.
    """
    return pinned_sdist.read_tar_members(archive, wanted, what, limits, pin=_sdist())


def _decode(data: bytes, where: str) -> str:
    # The pinned files are all valid UTF-8; a byte that is not means another file, and guessing an encoding
    # would silently change texts, so say where it is instead.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise GroundTruthError(f"{where} line {line}: byte {data[error.start]:#04x} is not UTF-8: this reader "
                               f"expects the files of {PACKAGE}=={VERSION} (sha256 {SHA256})") from None


def _clean_text(text: str) -> str:
    for entity, char in _ENTITIES:   # &amp; last, so that "&amp;lt;" becomes "&lt;", as written
        text = text.replace(entity, char)
    return text.strip()


def parse_ground_truth(data: bytes, domain: str, where: str = "") -> list[Snippet]:
    """The snippets of one ground-truth file, in file order.

    Parameters
    ----------
    data : bytes
        The file: UTF-8, one ``id<TAB>mean rating<TAB>text`` per line (LF or CRLF); blank lines are skipped.
    domain : str
        Recorded in every :class:`Snippet`.
    where : str
        How to name the file in an error message (default: the domain).

    Raises
    ------
    GroundTruthError
        A line without exactly three fields, a rating that is not a number in [-4, 4], an empty text, a
        repeated id, or bytes that are not UTF-8; the message names the file and the line.
    """
    where = where or domain
    snippets: list[Snippet] = []
    seen: set[str] = set()
    for number, line in enumerate(_decode(data, where).split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        snippet = _parse_line(line, domain, f"{where} line {number}")
        if snippet.id in seen:
            raise GroundTruthError(f"{where} line {number}: id {snippet.id!r} appears twice")
        seen.add(snippet.id)
        snippets.append(snippet)
    return snippets


def _parse_line(line: str, domain: str, where: str) -> Snippet:
    fields = line.split("\t")
    if len(fields) != 3:
        raise GroundTruthError(f"{where}: {len(fields)} tab-separated fields, expected 3 (id, mean rating, text)")
    snippet_id, rating, text = fields[0].strip(), fields[1].strip(), _clean_text(fields[2])
    if not snippet_id or not text:
        raise GroundTruthError(f"{where}: empty {'id' if not snippet_id else 'text'}")
    try:
        return Snippet(domain=domain, id=snippet_id, rating=float(rating), text=text)
    except ValueError as error:   # not a number, or outside [-4, 4]
        raise GroundTruthError(f"{where}: rating {rating!r} is not a number in [-4, 4] ({error})") from None


def read_ground_truth(sdist: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> dict[str, list[Snippet]]:
    """All four domains' snippets, straight from the sdist (nothing extracted to disk, nothing installed).

    Parameters
    ----------
    sdist : Path
        ``vaderSentiment-3.3.2.tar.gz`` (from :func:`fetch_vader_sdist`, which checks its hash; this function
        does not, so that the tests can hand it a small archive of their own).
    limits : ArchiveLimits
        Applied to the sdist and to the nested archive alike.

    Returns
    -------
    dict of str to list of Snippet
        Keyed ``"movie"``, ``"amazon"``, ``"tweets"``, ``"nyt"`` (the order of :data:`DOMAIN_FILES`), each list
        in file order, neutral snippets included (drop them with :func:`labelled`).
    """
    sdist = Path(sdist)
    with open(sdist, "rb") as f:
        nested = read_tar_members(f, [NESTED_ARCHIVE], str(sdist), limits)[NESTED_ARCHIVE]
    what = f"{sdist}:{NESTED_ARCHIVE}"
    files = read_tar_members(io.BytesIO(nested), DOMAIN_FILES.values(), what, limits)
    return {domain: parse_ground_truth(files[member], domain, f"{what}:{member}")
            for domain, member in DOMAIN_FILES.items()}


# --------------------------------------------------------------------------------------------- using


def labelled(snippets: Iterable[Snippet]) -> list[Snippet]:
    """The snippets with a polarity (rating ≠ 0), in their order."""
    return [s for s in snippets if s.polarity is not None]


def _part_size(size: int | float, total: int, name: str) -> int:
    """A part's size: an int is a count, a float in [0, 1) a fraction of ``total``."""
    if isinstance(size, bool) or not isinstance(size, (int, float)):
        raise TypeError(f"{name}={size!r}: pass a count (int) or a fraction (float in [0, 1))")
    if isinstance(size, float):
        if not 0.0 <= size < 1.0:
            raise ValueError(f"{name}={size!r}: a fraction must be in [0, 1); pass an int for a count")
        return int(math.floor(size * total + 0.5))
    if size < 0:
        raise ValueError(f"{name}={size}: a count cannot be negative")
    return size


def _quotas(total: int, sizes: dict[object, int]) -> dict[object, int]:
    """``total`` shared among strata in proportion to their sizes, largest remainders first (ties by order),
    so that the quotas sum to ``total`` exactly."""
    population = sum(sizes.values())
    exact = {key: total * size / population for key, size in sizes.items()}
    quotas = {key: math.floor(value) for key, value in exact.items()}
    keys = list(sizes)
    by_remainder = sorted(keys, key=lambda key: (-(exact[key] - quotas[key]), keys.index(key)))
    for key in by_remainder[:total - sum(quotas.values())]:
        quotas[key] += 1
    return quotas


def split(snippets: Sequence[Snippet], seed: int = SPLIT_SEED, test: int | float = TEST_SIZE,
          validation: int | float = VALIDATION_SIZE) -> tuple[list[Snippet], list[Snippet], list[Snippet]]:
    """A deterministic shuffled split into train, validation and test, stratified by polarity.

    Snippets with equal texts stay together (in the part their first occurrence is drawn into), so that no
    text is in two parts; each group counts in the stratum of its first snippet.

    Parameters
    ----------
    snippets : sequence of Snippet
        Usually ``labelled(read_ground_truth(sdist)["movie"])``.
    seed : int
        Seeds ``numpy.random.default_rng``; the course's split is :data:`SPLIT_SEED`.
    test, validation : int or float
        Sizes of those parts: an int is a count, a float in [0, 1) a fraction of ``len(snippets)``. Each is shared
        among the polarities in proportion to their sizes; with repeated texts a part may exceed its size by
        the few snippets of a group.

    Returns
    -------
    train, validation, test : list of Snippet
        Each in a shuffled order. The same input and seed give the same parts in any process: nothing depends
        on Python's hash seed (groups and strata are kept in order of first appearance).
    """
    n_test, n_validation = _part_size(test, len(snippets), "test"), _part_size(validation, len(snippets), "validation")
    if n_test + n_validation > len(snippets):
        raise ValueError(f"test ({n_test}) + validation ({n_validation}) exceed the {len(snippets)} snippets")
    strata = _group_strata(snippets)
    sizes = {polarity: sum(len(group) for group in groups) for polarity, groups in strata.items()}
    test_quota, validation_quota = _quotas(n_test, sizes), _quotas(n_validation, sizes)
    rng = np.random.default_rng(seed)
    parts: tuple[list[int], list[int], list[int]] = ([], [], [])   # indices: train, validation, test
    for polarity, groups in strata.items():
        taken = {"test": 0, "validation": 0}
        for g in rng.permutation(len(groups)):
            if taken["test"] < test_quota[polarity]:
                part, key = parts[2], "test"
            elif taken["validation"] < validation_quota[polarity]:
                part, key = parts[1], "validation"
            else:
                part, key = parts[0], None
            part.extend(groups[g])
            if key:
                taken[key] += len(groups[g])
    # a final shuffle, so that a part is not all negatives then all positives
    train, valid, held_out = ([snippets[i] for i in rng.permutation(np.asarray(part, dtype=np.int64))]
                              for part in parts)
    return train, valid, held_out


def _group_strata(snippets: Sequence[Snippet]) -> dict[int | None, list[list[int]]]:
    """Indices grouped by equal text, the groups sorted into strata by their first snippet's polarity; dicts
    keep insertion order, so both orders follow the input."""
    groups: dict[str, list[int]] = {}
    for index, snippet in enumerate(snippets):
        groups.setdefault(snippet.text, []).append(index)
    strata: dict[int | None, list[list[int]]] = {}
    for group in groups.values():
        strata.setdefault(snippets[group[0]].polarity, []).append(group)
    return strata
