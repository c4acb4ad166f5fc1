"""The data layer of assignment 03: the ground-truth reader, its split, the word-order corpus and the IMDB decoder.

The reader is tested on small archives made here (a fake sdist holding a nested fake hutto archive), never on the
real data, which only the last test of its section reads, and only if it is already in the cache named by
``LSTM_COURSE_DATA_CACHE`` (nothing here downloads anything: ``subprocess.run`` is replaced wherever ``pip`` would
run).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from course_lib.data import imdb
from course_lib.data import vader_ground_truth as vgt
from course_lib.data import word_order_corpus as woc
from course_lib.data.vader_ground_truth import ArchiveLimits, GroundTruthError, Snippet

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------- fake archives


def tar_gz(entries: list[tuple]) -> bytes:
    """A .tar.gz of ``(name, bytes)`` regular files, ``("symlink", name, target)`` or ``("hardlink", name,
    target)`` entries, in that order."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for entry in entries:
            if entry[0] in ("symlink", "hardlink"):
                info = tarfile.TarInfo(entry[1])
                info.type = tarfile.SYMTYPE if entry[0] == "symlink" else tarfile.LNKTYPE
                info.linkname = entry[2]
                tar.addfile(info)
            else:
                name, data = entry
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# CRLF, no newline after the last line, an entity, surrounding spaces, a neutral, a non-ASCII character
MOVIE = ("1\t2.5\tA charming, funny film.\r\n2\t-3.1\tA dull mess.\r\n3\t0\tIt is a film.\r\n"
         "4\t1.0\tCaf\u00e9 scenes &amp; songs  work.\r\n5\t-0.25\t  Slow. ").encode("utf-8")
AMAZON = b"1_1\t-0.9\tbroke in a week.\r\n1_2\t3.2\tlove it!\r\n"
TWEETS = b"1\t2.7\tI &lt;3 this\r\n2\t-1.5\tugh\r\n3\t0.0\tok\r\n"
NYT = b"1_1\t0.4\tThe plan may work.\r\n"
GROUND_TRUTH = {"movie": MOVIE, "amazon": AMAZON, "tweets": TWEETS, "nyt": NYT}


def hutto_entries(**replace) -> list[tuple]:
    """The nested archive's entries: the four files (any replaced by the entry given under its domain) and a
    file nobody reads."""
    entries = [("hutto_ICWSM_2014/_README_.txt", b"not read")]
    for domain, member in vgt.DOMAIN_FILES.items():
        entries.append(replace.get(domain, (member, GROUND_TRUTH[domain])))
    return entries


def fake_sdist(path: Path, nested_entries: list[tuple] | None = None, outer: list[tuple] | None = None) -> Path:
    nested = tar_gz(hutto_entries() if nested_entries is None else nested_entries)
    entries = outer if outer is not None else [
        ("vaderSentiment-3.3.2/setup.py", b"raise SystemExit('never run')\n"),
        (vgt.NESTED_ARCHIVE, nested)]
    path.write_bytes(tar_gz(entries))
    return path


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message.strip() == message and message, message
    return message


# --------------------------------------------------------------------------------------------- reading


def test_reads_the_four_domains_from_the_nested_archive(tmp_path):
    before = sorted(p.name for p in tmp_path.iterdir())
    sdist = fake_sdist(tmp_path / vgt.SDIST_NAME)
    data = vgt.read_ground_truth(sdist)
    assert list(data) == ["movie", "amazon", "tweets", "nyt"]
    assert {domain: len(s) for domain, s in data.items()} == {"movie": 5, "amazon": 2, "tweets": 3, "nyt": 1}
    movie = data["movie"]
    assert movie[0] == Snippet("movie", "1", 2.5, "A charming, funny film.")
    assert [s.polarity for s in movie] == [1, 0, None, 1, 0]
    assert movie[3].text == "Caf\u00e9 scenes & songs  work."   # entity undone, inner spaces kept
    assert movie[4].text == "Slow."                                # surrounding spaces and the last line
    assert data["tweets"][0].text == "I <3 this"
    assert data["amazon"][0].id == "1_1" and data["amazon"][0].rating == -0.9
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, vgt.SDIST_NAME])   # nothing extracted
    assert "vaderSentiment" not in sys.modules


def test_labelled_drops_the_neutral_snippets_in_order(tmp_path):
    movie = vgt.read_ground_truth(fake_sdist(tmp_path / "s.tar.gz"))["movie"]
    assert [s.id for s in vgt.labelled(movie)] == ["1", "2", "4", "5"]


def test_snippet_polarity_follows_the_rating_and_the_range_is_checked():
    assert Snippet("nyt", "1", 1e-9, "x").polarity == 1
    assert Snippet("nyt", "1", -4.0, "x").polarity == 0
    assert Snippet("nyt", "1", -0.0, "x").polarity is None
    for bad in (4.01, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="outside"):
            Snippet("nyt", "1", bad, "x")


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_a_link_in_place_of_a_ground_truth_file_is_refused(tmp_path, kind):
    member = vgt.DOMAIN_FILES["tweets"]
    sdist = fake_sdist(tmp_path / "s.tar.gz", hutto_entries(tweets=(kind, member, "/etc/passwd")))
    with pytest.raises(GroundTruthError) as error:
        vgt.read_ground_truth(sdist)
    assert member in one_line(error) and ("symlink" if kind == "symlink" else "hard link") in str(error.value)


def test_a_symlink_in_place_of_the_nested_archive_is_refused(tmp_path):
    sdist = fake_sdist(tmp_path / "s.tar.gz", outer=[("symlink", vgt.NESTED_ARCHIVE, "../../elsewhere.tar.gz")])
    with pytest.raises(GroundTruthError, match="symlink") as error:
        vgt.read_ground_truth(sdist)
    one_line(error)


def test_a_member_larger_than_the_limit_is_refused_before_it_is_read(tmp_path):
    big = (vgt.DOMAIN_FILES["movie"], MOVIE + b"\r\n" + b"9\t1\tx\r\n" * 2000)
    sdist = fake_sdist(tmp_path / "s.tar.gz", hutto_entries(movie=big))
    with pytest.raises(GroundTruthError, match="more than the 4096 allowed") as error:
        vgt.read_ground_truth(sdist, ArchiveLimits(max_member_bytes=4096))
    assert vgt.DOMAIN_FILES["movie"] in one_line(error)


def test_an_archive_that_unpacks_to_too_much_is_refused_even_in_members_nobody_reads(tmp_path):
    # 8 MB of zeros compress to a few kB: the bound is on what comes out of gzip, not on the file's size
    bomb = [("vaderSentiment-3.3.2/padding.bin", bytes(8 * 2**20)), (vgt.NESTED_ARCHIVE, tar_gz(hutto_entries()))]
    sdist = fake_sdist(tmp_path / "s.tar.gz", outer=bomb)
    assert sdist.stat().st_size < 100_000
    with pytest.raises(GroundTruthError, match="unpacks to more than 1048576 bytes") as error:
        vgt.read_ground_truth(sdist, ArchiveLimits(max_unpacked_bytes=2**20))
    one_line(error)


def test_too_many_members_missing_or_repeated_members_and_non_archives_are_refused(tmp_path):
    many = fake_sdist(tmp_path / "many.tar.gz", outer=[(f"f{i}", b"") for i in range(20)])
    with pytest.raises(GroundTruthError, match="more than 10 members"):
        vgt.read_ground_truth(many, ArchiveLimits(max_members=10))
    missing = fake_sdist(tmp_path / "missing.tar.gz", hutto_entries()[:-1])
    with pytest.raises(GroundTruthError, match="has no member hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth"):
        vgt.read_ground_truth(missing)
    twice = fake_sdist(tmp_path / "twice.tar.gz", [*hutto_entries(), (vgt.DOMAIN_FILES["nyt"], b"1\t4\tevil\n")])
    with pytest.raises(GroundTruthError, match="twice"):
        vgt.read_ground_truth(twice)
    not_gzip = tmp_path / "plain.tar.gz"
    not_gzip.write_bytes(b"this is not an archive")
    with pytest.raises(GroundTruthError, match="not a readable .tar.gz") as error:
        vgt.read_ground_truth(not_gzip)
    one_line(error)


@pytest.mark.parametrize("data, message", [
    (b"1\t1.0\tfine\n2\t0.5\tna\xefve\n", r"line 2: byte 0xef is not UTF-8"),
    (b"1\t1.0\tfine\n2\t0.5\n", r"line 2: 2 tab-separated fields, expected 3"),
    (b"1\t1.0\ta\tb\n", r"line 1: 4 tab-separated fields"),
    (b"1\t4.5\ttoo high\n", r"line 1: rating '4.5' is not a number in \[-4, 4\]"),
    (b"1\tgood\ttext\n", r"line 1: rating 'good'"),
    (b"1\t1\ta\n1\t2\tb\n", r"line 2: id '1' appears twice"),
    (b"1\t1\t   \n", r"line 1: empty text"),
])
def test_a_malformed_file_is_refused_naming_the_line(data, message):
    with pytest.raises(GroundTruthError, match=message) as error:
        vgt.parse_ground_truth(data, "movie", "movie.txt")
    one_line(error)


def test_blank_lines_and_both_line_ends_are_read_alike():
    crlf = vgt.parse_ground_truth(b"1\t1\ta\r\n\r\n2\t-1\tb\r\n", "movie")
    lf = vgt.parse_ground_truth(b"1\t1\ta\n\n2\t-1\tb", "movie")
    assert crlf == lf and [s.text for s in lf] == ["a", "b"]


# --------------------------------------------------------------------------------------------- fetching


def no_pip(*args, **kwargs):
    raise AssertionError("pip must not run here")


def test_a_cached_sdist_with_the_wrong_hash_is_refused_in_one_line_without_downloading(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", no_pip)
    (tmp_path / vgt.SDIST_NAME).write_bytes(b"not the real sdist")
    with pytest.raises(GroundTruthError) as error:
        vgt.fetch_vader_sdist(tmp_path)
    message = one_line(error)
    assert hashlib.sha256(b"not the real sdist").hexdigest() in message and vgt.SHA256 in message
    assert "delete it" in message and str(tmp_path) in message


def fake_pip(content: bytes | None, returncode: int = 0, stderr: str = "", calls: list | None = None):
    """A stand-in for ``subprocess.run`` that 'downloads' ``content`` where pip would."""
    def run(command, **kwargs):
        if calls is not None:
            calls.append((command, kwargs))
        if content is not None:
            dest = Path(command[command.index("-d") + 1])
            dest.mkdir(parents=True, exist_ok=True)
            (dest / vgt.SDIST_NAME).write_bytes(content)
        return subprocess.CompletedProcess(command, returncode, "", stderr)
    return run


def test_offline_the_error_is_one_line_saying_what_to_do(tmp_path, monkeypatch):
    calls: list = []
    stderr = "WARNING: Retrying...\nERROR: Could not find a version that satisfies the requirement vaderSentiment\n"
    monkeypatch.setattr(subprocess, "run", fake_pip(None, 1, stderr, calls))
    with pytest.raises(GroundTruthError) as error:
        vgt.fetch_vader_sdist(tmp_path / "cache")
    message = one_line(error)
    assert message.startswith("could not download vaderSentiment==3.3.2 from PyPI (no network?)")
    assert "lstm-course build" in message and vgt.SHA256 in message and str(tmp_path / "cache") in message
    assert "Could not find a version" in message
    command, kwargs = calls[0]
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert {"--no-deps", "--require-hashes"} <= set(command) and command[command.index("--no-binary") + 1] == ":all:"
    assert kwargs["timeout"] == vgt.DOWNLOAD_TIMEOUT_SECONDS
    assert list((tmp_path / "cache").iterdir()) == []   # the scratch directory is gone


def test_pip_refusing_the_hash_and_a_timeout_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", fake_pip(None, 1, "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES ...\n"))
    with pytest.raises(GroundTruthError, match="whose sha256 is not the pinned") as error:
        vgt.fetch_vader_sdist(tmp_path)
    one_line(error)

    def slow(command, **kwargs):
        raise subprocess.TimeoutExpired(command, kwargs["timeout"])
    monkeypatch.setattr(subprocess, "run", slow)
    with pytest.raises(GroundTruthError, match="took more than 5 s") as error:
        vgt.fetch_vader_sdist(tmp_path, timeout=5)
    one_line(error)


def test_a_download_is_verified_before_it_lands_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", fake_pip(b"tampered"))
    with pytest.raises(GroundTruthError, match="downloaded has sha256 .*nothing was kept") as error:
        vgt.fetch_vader_sdist(tmp_path)
    assert hashlib.sha256(b"tampered").hexdigest() in one_line(error)
    assert list(tmp_path.iterdir()) == []

    # with the pin pointed at the fake content, the same download is accepted and moved into the cache
    calls: list = []
    monkeypatch.setattr(vgt, "SHA256", hashlib.sha256(b"genuine").hexdigest())
    monkeypatch.setattr(subprocess, "run", fake_pip(b"genuine", calls=calls))
    assert vgt.fetch_vader_sdist(tmp_path) == tmp_path / vgt.SDIST_NAME
    assert [p.name for p in tmp_path.iterdir()] == [vgt.SDIST_NAME]
    monkeypatch.setattr(subprocess, "run", no_pip)   # cached now: verified again, not downloaded again
    assert vgt.fetch_vader_sdist(tmp_path) == tmp_path / vgt.SDIST_NAME
    assert len(calls) == 1


@pytest.fixture(scope="module")
def real_sdist(tmp_path_factory) -> Path:
    """The real vaderSentiment 3.3.2 sdist: from ``LSTM_COURSE_DATA_CACHE`` if it holds it, else downloaded from
    PyPI (a package registry, reachable from CI; 2.5 MB) and verified against the pinned sha256."""
    cache = os.environ.get("LSTM_COURSE_DATA_CACHE")
    folder = Path(cache) if cache else tmp_path_factory.mktemp("vader_cache")
    return vgt.fetch_vader_sdist(folder)


def test_the_real_sdist_has_the_counts_of_the_paper(real_sdist):
    data = vgt.read_ground_truth(real_sdist)
    counts = {domain: Counter(s.polarity for s in snippets) for domain, snippets in data.items()}
    assert {domain: sum(c.values()) for domain, c in counts.items()} == {
        "movie": 10605, "amazon": 3708, "tweets": 4200, "nyt": 5190}
    assert counts["movie"] == {1: 5242, 0: 5326, None: 37}
    assert counts["amazon"] == {1: 2128, 0: 1482, None: 98}
    assert counts["tweets"] == {1: 2897, 0: 1299, None: 4}
    assert counts["nyt"] == {1: 2204, 0: 2742, None: 244}
    train, validation, test = vgt.split(vgt.labelled(data["movie"]))
    assert (len(train), len(validation), len(test)) == (7568, 1000, 2000)
    assert not {s.text for s in test} & {s.text for s in train + validation}


# --------------------------------------------------------------------------------------------- the split


def corpus(n_positive: int, n_negative: int, duplicates: int = 0) -> list[Snippet]:
    snippets = [Snippet("movie", str(i), 1.5 if i < n_positive else -1.5, f"text {i}")
                for i in range(n_positive + n_negative)]
    # the same text under new ids (as the real files have), each copy once
    snippets += [Snippet("movie", f"d{i}", s.rating, s.text) for i, s in enumerate(snippets[:duplicates])]
    return snippets


def test_the_split_has_the_sizes_asked_and_the_proportions_of_the_input():
    snippets = corpus(300, 700)
    train, validation, test = vgt.split(snippets, seed=0, test=200, validation=100)
    assert (len(train), len(validation), len(test)) == (700, 100, 200)
    assert [sum(s.polarity for s in part) for part in (train, validation, test)] == [210, 30, 60]
    assert sorted(map(id, train + validation + test)) == sorted(map(id, snippets))   # a partition
    fractions = vgt.split(snippets, seed=0, test=0.2, validation=0.1)
    assert [len(part) for part in fractions] == [700, 100, 200]


def test_the_split_is_deterministic_shuffled_and_depends_on_the_seed():
    snippets = corpus(300, 700)
    first, again = vgt.split(snippets, seed=5, test=200, validation=100), vgt.split(snippets, 5, 200, 100)
    assert first == again
    assert first != vgt.split(snippets, seed=6, test=200, validation=100)
    test_ids = [int(s.id) for s in first[2]]
    assert test_ids != sorted(test_ids) and {s.polarity for s in first[2][:20]} == {0, 1}   # mixed, not sorted


def test_the_split_does_not_depend_on_pythons_hash_seed():
    program = ("from course_lib.data.vader_ground_truth import Snippet, split\n"
               "s = [Snippet('movie', str(i), 1.0 if i % 3 else -1.0, f't{i % 250}') for i in range(300)]\n"
               "print([[x.id for x in part] for part in split(s, 7, 50, 30)])\n")
    outputs = {subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outputs) == 1 and outputs.pop().startswith("[[")


def test_equal_texts_never_straddle_two_parts():
    snippets = corpus(300, 700, duplicates=120)
    train, validation, test = vgt.split(snippets, seed=1, test=200, validation=100)
    where = defaultdict(set)
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        for s in part:
            where[s.text].add(name)
    assert all(len(parts) == 1 for parts in where.values())
    assert 200 <= len(test) <= 201 and 100 <= len(validation) <= 101   # a group may overshoot by its last copy


def test_the_split_rejects_sizes_it_cannot_meet():
    with pytest.raises(ValueError, match="exceed"):
        vgt.split(corpus(5, 5), test=6, validation=5)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        vgt.split(corpus(5, 5), test=1.5)
    with pytest.raises(TypeError, match="count"):
        vgt.split(corpus(5, 5), test="20%")


# --------------------------------------------------------------------------------------------- word-order corpus


def rule_label(text: str) -> int:
    """The label a careful reader gives, found independently of the generator: the polarity of the adjective
    in the clause that counts (the one after *but*, the one before *although*), flipped by a negation."""
    words = text.split()
    if "but" in words:
        decisive, other = words[words.index("but") + 1:], words[:words.index("but")]
    elif "although" in words:
        decisive, other = words[:words.index("although")], words[words.index("although") + 1:]
    else:
        decisive, other = words, []
    polar = lambda part: [int(w in woc.POSITIVE) for w in part if w in woc.POSITIVE or w in woc.NEGATIVE]  # noqa: E731
    assert len(polar(decisive)) == 1, text
    polarity = polar(decisive)[0]
    assert polar(other) in ([], [1 - polarity]), text          # a contrast: the other clause says the opposite
    return 1 - polarity if {"not", "never"} & set(decisive) else polarity


def one_of(options) -> str:
    return "(?:" + "|".join(re.escape(o) for o in sorted(options, key=len, reverse=True)) + ")"


NOUN, ADJECTIVE = one_of(woc.NOUNS), one_of(woc.POSITIVE + woc.NEGATIVE)
FILLER, INTENSIFIER = one_of(woc.FILLERS), one_of(woc.INTENSIFIERS)
CONTRAST = re.compile(rf"the ({NOUN}) (was|felt|seemed) ((?:{INTENSIFIER} )?)({ADJECTIVE}) ({FILLER}) "
                      rf"(but|although) the ({NOUN}) \2 \3({ADJECTIVE}) ({FILLER})")
NEGATION = re.compile(rf"the ({NOUN}) (was|is) (?:(not|never) )?({FILLER}) ({ADJECTIVE})")


def test_every_label_is_the_one_a_reader_would_give():
    for sentence in woc.generate(3000, np.random.default_rng(0)):
        assert sentence.label == rule_label(sentence.text), sentence


def test_the_fillers_are_asides_of_two_to_five_words_in_groups_sharing_a_first_word():
    assert {len(f.split()) for f in woc.FILLERS} == {2, 3, 4, 5}
    assert len(set(woc.FILLERS)) == len(woc.FILLERS)
    assert all(len(group) >= 2 for group in woc.FILLERS_BY_FIRST_WORD.values())
    assert sorted(f for group in woc.FILLERS_BY_FIRST_WORD.values() for f in group) == sorted(woc.FILLERS)
    # nothing in a filler is an opinion, a noun, a negator or a connective, and nothing standardisation changes
    meaningful = set(woc.POSITIVE + woc.NEGATIVE + woc.NOUNS + woc.INTENSIFIERS) | {"not", "never"} | woc.CONNECTIVES
    assert not meaningful & {w for f in woc.FILLERS for w in f.split()}
    assert all(re.fullmatch(r"[a-z]+( [a-z]+)+", f) for f in woc.FILLERS)


def test_contrast_sentences_follow_the_grammar_and_both_adjectives_have_the_same_neighbours():
    texts = [t for t, _, k in woc.generate(4000, np.random.default_rng(2)) if k == "contrast"]
    seen = Counter()
    for text in texts:
        match = CONTRAST.fullmatch(text)
        assert match, text
        noun1, verb, intensifier, adjective1, filler1, connective, noun2, adjective2, filler2 = match.groups()
        assert noun1 != noun2 and filler1 != filler2 and filler1.split()[0] == filler2.split()[0], text
        assert (adjective1 in woc.POSITIVE) != (adjective2 in woc.POSITIVE), text
        words = text.split()
        i, j = words.index(adjective1), len(words) - 1 - words[::-1].index(adjective2)
        assert (words[i - 1], words[i + 1]) == (words[j - 1], words[j + 1]), text   # the same local context
        assert not woc.CONNECTIVES & {words[i - 1], words[i + 1], words[j - 1], words[j + 1]}, text
        assert words[-1] not in woc.POSITIVE + woc.NEGATIVE, text                  # the sentence ends in a filler
        seen.update([verb, connective, bool(intensifier), len(filler1.split()), len(filler2.split())])
    assert all(seen[x] for x in ("was", "felt", "seemed", "but", "although", True, False, 2, 3, 4, 5)), seen
    # the docstring's examples are sentences of the grammar
    example = woc.CONTRAST_TEMPLATES[0].format(first="plot", phrase1="clever", filler1="if you ask me",
                                               connective="but", second="ending", phrase2="flat",
                                               filler2="if i am honest")
    assert example == "the plot was clever if you ask me but the ending was flat if i am honest"
    assert CONTRAST.fullmatch(example) and rule_label(example) == 0
    assert rule_label(example.replace(" but ", " although ")) == 1


def test_negation_sentences_follow_the_grammar_with_a_filler_between_negator_and_adjective():
    texts = [t for t, _, k in woc.generate(2000, np.random.default_rng(4)) if k == "negation"]
    seen = Counter()
    for text in texts:
        match = NEGATION.fullmatch(text)
        assert match, text
        seen.update([match.group(2), match.group(3), len(match.group(4).split())])
    assert all(seen[x] for x in ("was", "is", "not", "never", None, 2, 3, 4, 5)), seen
    assert seen[None] == seen["not"] + seen["never"] == len(texts) // 2       # half carry no negator
    for text in ("the plot was not in my opinion good", "the ending was never to be honest boring",
                 "the plot was in my opinion good"):
        assert NEGATION.fullmatch(text)
    assert [rule_label(t) for t in ("the plot was not in my opinion good", "the ending was never to be honest "
                                    "boring", "the plot was in my opinion good")] == [0, 1, 1]


@pytest.mark.parametrize("max_n", [1, 2])
def test_contrast_sentences_are_balanced_ngram_for_ngram(max_n):
    """Unigrams (words) and unigrams with bigrams: every bag among the contrast sentences comes with label 1
    exactly as often as with label 0."""
    bag = woc.bag_of_words if max_n == 1 else (lambda text: woc.bag_of_ngrams(text, 2))
    sentences = woc.generate(4000, np.random.default_rng(1))
    labels_by_bag: dict[frozenset, Counter] = defaultdict(Counter)
    for text, label, kind in sentences:
        if kind == "contrast":
            labels_by_bag[frozenset(bag(text).items())][label] += 1
    assert sum(sum(c.values()) for c in labels_by_bag.values()) == 1200
    assert all(c[0] == c[1] for c in labels_by_bag.values())
    # hence any rule that sees only these counts scores exactly 0.5 on them, e.g. the best one for this very set
    # ("predict the bag's majority label", ties to 1)
    majority = {b: int(c[1] >= c[0]) for b, c in labels_by_bag.items()}
    hits = [majority[frozenset(bag(t).items())] == y for t, y, k in sentences if k == "contrast"]
    assert np.mean(hits) == 0.5
    # and no other kind shares a contrast sentence's bag (connectives occur in contrast sentences only)
    for text, _, kind in sentences:
        has_connective = bool(woc.CONNECTIVES & set(woc.bag_of_words(text)))
        assert has_connective == (kind == "contrast"), text


def test_bag_of_ngrams_counts_as_text_vectorization_does():
    assert woc.bag_of_ngrams("The plot, was GOOD.", 2) == Counter(
        {"the": 1, "plot": 1, "was": 1, "good": 1, "the plot": 1, "plot was": 1, "was good": 1})
    assert woc.bag_of_ngrams("a b a b", 3) == Counter({"a": 2, "b": 2, "a b": 2, "b a": 1, "a b a": 1, "b a b": 1})
    assert woc.bag_of_ngrams("good", 1) == woc.bag_of_words("good")


@pytest.mark.parametrize("make, labels", [(woc.contrast_quadruple, (0, 1, 1, 0)),
                                          (woc.negation_quadruple, (1, 0, 0, 1))])
def test_no_linear_function_of_ngram_counts_classifies_a_whole_quadruple(make, labels):
    """The proof, by counting: in every quadruple ``a, b, c, d`` (contrast: but/although x positive adjective
    first/second; negation: without/with a negator x positive/negative adjective), ``v(a) + v(d) == v(b) +
    v(c)`` for the counts of 1-, 2- and 3-grams, while ``a`` and ``d`` have one label and ``b`` and ``c`` the
    other. A linear score ``w . v + bias`` then gives ``score(a) + score(d) == score(b) + score(c)``: it cannot
    be below 0 on both sides of one equation and above 0 on both sides of the other."""
    assert labels[0] == labels[3] != labels[1] == labels[2]
    rng = np.random.default_rng(5)
    trigrams_differ = 0
    for _ in range(500):
        quadruple = make(rng)
        assert tuple(s.label for s in quadruple) == labels, quadruple
        assert {s.kind for s in quadruple} == {make.__name__.split("_")[0]}
        assert len({s.text for s in quadruple}) == 4
        for max_n in (1, 2, 3):
            a, b, c, d = (woc.bag_of_ngrams(s.text, max_n) for s in quadruple)
            assert a + d == b + c, (max_n, quadruple)
            if make is woc.contrast_quadruple and max_n <= 2:
                assert a == b and c == d, (max_n, quadruple)       # mirror pairs: the same words and bigrams
            trigrams_differ += max_n == 3 and a != b
    if make is woc.contrast_quadruple:
        assert trigrams_differ > 250       # but mostly not the same trigrams ("plot was clever", "ending was flat")


def quadruple_key_and_variant(text: str, kind: str) -> tuple[tuple, tuple]:
    """Which quadruple a generated sentence belongs to, as far as its words tell (quadruples that happen to
    share these words are merged), and which of the four it is."""
    words = text.split()
    adjectives = [w for w in words if w in woc.POSITIVE or w in woc.NEGATIVE]
    if kind == "contrast":
        connective = next(w for w in words if w in woc.CONNECTIVES)
        masked = tuple("_" if w in woc.CONNECTIVES or w in adjectives else w for w in words)
        return (masked, frozenset(adjectives)), (connective, adjectives[0] in woc.POSITIVE)
    negated = bool({"not", "never"} & set(words))
    masked = tuple("_" if w in adjectives else w for w in words if w not in ("not", "never"))
    return (masked,), (negated, adjectives[0] in woc.POSITIVE)


@pytest.mark.parametrize("kind, left, right", [
    ("contrast", [("but", True), ("although", False)], [("but", False), ("although", True)]),
    ("negation", [(False, True), (True, False)], [(False, False), (True, True)])])
def test_generate_emits_whole_quadruples(kind, left, right):
    groups: dict[tuple, dict[tuple, list]] = defaultdict(lambda: defaultdict(list))
    for text, label, k in woc.generate(4000, np.random.default_rng(6)):
        if k == kind:
            key, variant = quadruple_key_and_variant(text, kind)
            groups[key][variant].append((text, label))
    assert sum(len(v) for g in groups.values() for v in g.values()) == 1200
    for group in groups.values():
        assert len(group) == 4 and len({len(v) for v in group.values()}) == 1, group

        def bag(variants):
            return sum((woc.bag_of_ngrams(t, 2) for v in variants for t, _ in group[v]), Counter())
        assert bag(left) == bag(right), group
        left_labels = {y for v in left for _, y in group[v]}
        right_labels = {y for v in right for _, y in group[v]}
        assert len(left_labels) == len(right_labels) == 1 and left_labels != right_labels, group


@pytest.mark.parametrize("n, mix, expected", [
    (1000, woc.DEFAULT_MIX, {"simple": 400, "negation": 300, "contrast": 300}),
    (20000, woc.DEFAULT_MIX, {"simple": 8000, "negation": 6000, "contrast": 6000}),
    (5000, woc.DEFAULT_MIX, {"simple": 2000, "negation": 1500, "contrast": 1500}),
    (7, woc.DEFAULT_MIX, {"simple": 3, "negation": 0, "contrast": 4}),
    (11, {"simple": 0.2, "negation": 0.5, "contrast": 0.3}, {"simple": 3, "negation": 4, "contrast": 4}),
    (12, {"contrast": 1.0}, {"simple": 0, "negation": 0, "contrast": 12}),
    (12, {"negation": 0.5, "contrast": 0.5}, {"simple": 0, "negation": 4, "contrast": 8}),
    (0, woc.DEFAULT_MIX, {"simple": 0, "negation": 0, "contrast": 0}),
])
def test_the_mix_is_respected_exactly(n, mix, expected):
    sentences = woc.generate(n, np.random.default_rng(3), mix)
    assert len(sentences) == n
    assert {kind: sum(s.kind == kind for s in sentences) for kind in woc.KINDS} == expected


def test_the_corpus_is_deterministic_per_seed_and_shuffled():
    first = woc.generate(500, np.random.default_rng(42))
    assert first == woc.generate(500, np.random.default_rng(42))
    assert first != woc.generate(500, np.random.default_rng(43))
    assert {s.kind for s in first[:30]} == set(woc.KINDS)      # kinds interleaved, not in blocks
    assert all(isinstance(s, tuple) and len(s) == 3 for s in first)


def test_the_corpus_refuses_what_it_cannot_make():
    with pytest.raises(ValueError, match="quadruples"):
        woc.generate(10, np.random.default_rng(0), {"contrast": 1.0})
    with pytest.raises(ValueError, match="multiple of 4, not 6"):
        woc.generate(6, np.random.default_rng(0), {"negation": 0.5, "contrast": 0.5})
    with pytest.raises(ValueError, match="sum to 1"):
        woc.generate(10, np.random.default_rng(0), {"simple": 0.5, "negation": 0.2})
    with pytest.raises(ValueError, match="unknown kinds"):
        woc.generate(10, np.random.default_rng(0), {"sarcasm": 1.0})
    with pytest.raises(TypeError, match="default_rng"):
        woc.generate(10, 0)


# --------------------------------------------------------------------------------------------- IMDB decoding

WORD_INDEX = {"the": 1, "film": 2, "was": 3, "great": 4, "not": 5}   # Keras' ranks start at 1


def keras_encode(ranks: list[int], num_words: int, start_char=1, oov_char=2, index_from=3) -> list[int]:
    """What ``keras.datasets.imdb.load_data`` does to one stored review (ranks): the start marker, the shift,
    then every index >= ``num_words`` replaced by the OOV marker."""
    shifted = [start_char] + [rank + index_from for rank in ranks]
    return [i if i < num_words else oov_char for i in shifted]


def test_decode_review_undoes_keras_encoding():
    encoded = keras_encode([1, 2, 3, 5, 4], num_words=8)    # "great" (rank 4 -> index 7) survives, "not" does not
    assert encoded == [1, 4, 5, 6, 2, 7]
    assert imdb.decode_review(encoded, WORD_INDEX) == "the film was [OOV] great"
    assert imdb.decode_review([0, 0, 0] + encoded, WORD_INDEX) == "the film was [OOV] great"   # pre-padding
    assert imdb.decode_review(np.array(encoded + [0, 0]), WORD_INDEX, oov_token="?") == "the film was ? great"


def test_decode_review_with_other_offsets_and_markers():
    shifted = [rank + 1 for rank in (1, 4)]                 # index_from=1, no start marker, no OOV
    assert imdb.decode_review(shifted, WORD_INDEX, index_from=1, start_char=None, oov_char=None) == "the great"
    reviews = [keras_encode([1, 4], 100), keras_encode([2, 3, 5], 100)]
    assert imdb.decode_reviews(reviews, WORD_INDEX) == ["the great", "film was not"]


def test_decode_review_refuses_indices_that_are_not_words():
    with pytest.raises(ValueError, match="index 3 is neither a marker"):   # 3 is reserved, never a word
        imdb.decode_review([1, 3, 4], WORD_INDEX)
    with pytest.raises(ValueError, match="same index_from"):
        imdb.decode_review([1, 4 + 3 + 10], WORD_INDEX)
    with pytest.raises(ValueError, match="share rank"):
        imdb.decode_review([1], {"a": 1, "b": 1})
    with pytest.raises(ValueError, match="start at 1"):
        imdb.decode_review([1], {"a": 0})
