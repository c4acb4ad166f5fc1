"""The poem loader (course_lib/data/poems.py): any UTF-8 file, one poem per blank-line-separated block."""
from __future__ import annotations

import pytest

from course_lib.data.poems import PoemFileError, load_poems, poems_to_text, split_poems


def test_blocks_of_lines_are_poems_and_indentation_is_kept(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("\n\nFirst line   \n  an indented couplet\n\n\n \t \nSecond poem\nends here\n", encoding="utf-8")
    assert load_poems(path) == ["First line\n  an indented couplet", "Second poem\nends here"]


def test_windows_line_ends_a_byte_order_mark_and_non_ascii(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_bytes("\ufeffÔ naïve “rose”\r\nsecond\r\n\r\nthird — poem".encode("utf-8"))
    assert load_poems(path) == ["Ô naïve “rose”\nsecond", "third — poem"]


def test_the_corpus_text_puts_one_blank_line_after_every_poem_and_reads_back():
    poems = ["a\n  b", "c"]
    text = poems_to_text(poems)
    assert text == "a\n  b\n\nc\n\n"
    assert split_poems(text) == poems


@pytest.mark.parametrize("content, match", [(b"\xff\xfe not utf-8", "not UTF-8"), (b"  \n\n \t\n", "holds no poem")])
def test_a_file_that_is_not_poems_gets_one_clear_line(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(PoemFileError, match=match) as error:
        load_poems(path)
    assert "\n" not in str(error.value)


def test_a_missing_file_says_what_to_give(tmp_path):
    with pytest.raises(PoemFileError, match="no such file"):
        load_poems(tmp_path / "absent.txt")
