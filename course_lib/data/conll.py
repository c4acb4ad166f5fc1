"""Reading and writing CoNLL-format named-entity files, so that the tagger of assignment 06 can be trained on any
corpus in that format (CoNLL-2003, WNUT-17, or the course's own Shakespeare files).

The format: one token per line, columns separated by whitespace, the token first and its tag in the **last**
column (CoNLL-2003 has four columns, ``token POS chunk tag``; WNUT-17 two; the course's files three,
``token line_start tag``); a blank line ends a sentence; a ``-DOCSTART-`` line starts a document and is never part
of a sentence. Tags are returned as written: CoNLL-2003's original files use IOB1 (an ``I-`` tag may begin a
span), which :func:`course_lib.solutions.ner.bio_decode` reads as conlleval does.
"""
from __future__ import annotations

from pathlib import Path

DOCSTART = "-DOCSTART-"


class ConllFormatError(ValueError):
    """A line of a CoNLL file is not ``token ... tag``; the message names the file and the line."""


def read_conll_columns(path) -> list[list[tuple[str, ...]]]:
    """Every sentence of the CoNLL file at ``path`` as a list of token rows, each row the line's columns (at least
    two). CRLF line ends, trailing spaces, several blank lines in a row and a missing final blank line are fine.

    Raises
    ------
    ConllFormatError
        A non-blank line has fewer than two columns, or the rows of a sentence have different numbers of columns.
    """
    path = Path(path)
    sentences: list[list[tuple[str, ...]]] = []
    current: list[tuple[str, ...]] = []
    with path.open(encoding="utf-8", newline=None) as lines:
        for number, line in enumerate(lines, 1):
            columns = tuple(line.split())
            if not columns or columns[0] == DOCSTART:
                if current:
                    sentences.append(current)
                current = []
                continue
            if len(columns) < 2:
                raise ConllFormatError(f"{path}, line {number}: {line.strip()!r} has no tag column (a CoNLL line "
                                       "is a token, optional columns, and the tag last)")
            if current and len(columns) != len(current[0]):
                raise ConllFormatError(f"{path}, line {number}: {len(columns)} columns, but the sentence's first "
                                       f"line has {len(current[0])}")
            current.append(columns)
    if current:
        sentences.append(current)
    return sentences


def read_conll(path) -> list[tuple[list[str], list[str]]]:
    """The sentences of the CoNLL file at ``path`` as ``(tokens, tags)``: the first and the last column."""
    return [([row[0] for row in rows], [row[-1] for row in rows]) for rows in read_conll_columns(path)]


def write_conll(path, sentences) -> None:
    """Write ``(tokens, tags)`` sentences as ``token tag`` lines, a blank line after each sentence."""
    lines = []
    for tokens, tags in sentences:
        if len(tokens) != len(tags):
            raise ValueError(f"a sentence has {len(tokens)} tokens but {len(tags)} tags")
        bad = [token for token in tokens if not token or token.split() != [token]]
        if bad:
            raise ValueError(f"tokens must be non-empty and hold no whitespace: {bad[:3]}")
        lines += [f"{token} {tag}" for token, tag in zip(tokens, tags)] + [""]
    Path(path).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
