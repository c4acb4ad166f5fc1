"""Poems from a UTF-8 text file: one poem per block of lines, blocks separated by blank lines.

This is the format of ``sonnets.txt`` (assignment 05) and of any file a learner brings: a poem is a run of
non-blank lines; one or more blank lines (nothing but spaces) end it. Lines lose their trailing spaces and keep
their indentation (a sonnet's couplet is indented two spaces). :func:`poems_to_text` is the inverse: every poem
followed by one blank line, the corpus text a character model is trained on.

Imported by the student's kernel (``kernel_modules`` of assignment 05): the standard library only.
"""
from __future__ import annotations

from pathlib import Path


class PoemFileError(ValueError):
    """The file cannot be read as poems; the message says why and what to do."""


def split_poems(text: str) -> list[str]:
    """The poems of a text: its blocks of non-blank lines, each joined by ``"\\n"``, trailing spaces removed."""
    poems, block = [], []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.rstrip()
        if line.strip():
            block.append(line)
        elif block:
            poems.append("\n".join(block))
            block = []
    if block:
        poems.append("\n".join(block))
    return poems


def load_poems(path: str | Path) -> list[str]:
    """The poems of a UTF-8 text file (see the module's docstring).

    Raises
    ------
    PoemFileError
        If the file does not exist, is not UTF-8, or holds no poem.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise PoemFileError(f"{path}: no such file; give the path of a UTF-8 text file of poems") from None
    except UnicodeDecodeError as error:
        raise PoemFileError(f"{path} is not UTF-8 text (byte {error.start}): save it as UTF-8 and load it "
                            "again") from None
    poems = split_poems(text)
    if not poems:
        raise PoemFileError(f"{path} holds no poem: write one poem per block of lines, with a blank line "
                            "between poems")
    return poems


def poems_to_text(poems: list[str]) -> str:
    """The corpus text: every poem followed by one blank line (``"poem\\n\\n"``)."""
    return "".join(poem + "\n\n" for poem in poems)
