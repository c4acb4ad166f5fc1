"""The CoNLL reader of assignment 06, on small files in the formats learners bring (CoNLL-2003, WNUT-17)."""
from __future__ import annotations

import pytest

from course_lib.data.conll import ConllFormatError, read_conll, read_conll_columns, write_conll

CONLL_2003 = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP I-LOC
"""


def test_conll_2003_four_columns_documents_and_a_missing_final_blank_line(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(CONLL_2003, encoding="utf-8")
    assert read_conll(path) == [
        (["EU", "rejects", "German", "call", "."], ["B-ORG", "O", "B-MISC", "O", "O"]),
        (["Peter", "Blackburn"], ["B-PER", "I-PER"]),
        (["BRUSSELS"], ["I-LOC"]),  # IOB1 as written
    ]
    assert read_conll_columns(path)[1][0] == ("Peter", "NNP", "B-NP", "B-PER")


def test_wnut_two_columns_crlf_tabs_and_runs_of_blank_lines(tmp_path):
    path = tmp_path / "wnut.conll"
    path.write_bytes(b"@paul\tO\r\nlondon\tB-location \r\n\r\n\r\n\r\nyes\tO\r\n")
    assert read_conll(path) == [(["@paul", "london"], ["O", "B-location"]), (["yes"], ["O"])]


def test_a_line_without_a_tag_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "broken.conll"
    path.write_text("Hamlet B-PER\nspeaks\n", encoding="utf-8")
    with pytest.raises(ConllFormatError, match=r"broken.conll, line 2: 'speaks'"):
        read_conll(path)
    path.write_text("Hamlet 0 B-PER\nspeaks O\n", encoding="utf-8")
    with pytest.raises(ConllFormatError, match="line 2: 2 columns"):
        read_conll(path)


def test_write_then_read_gives_the_sentences_back(tmp_path):
    sentences = [(["Good", "night", ",", "Horatio", "."], ["O", "O", "O", "B-PER", "O"]),
                 (["In", "Elsinore", "'s", "walls"], ["O", "B-LOC", "O", "O"])]
    write_conll(tmp_path / "out.conll", sentences)
    assert read_conll(tmp_path / "out.conll") == sentences
    write_conll(tmp_path / "empty.conll", [])
    assert read_conll(tmp_path / "empty.conll") == []
    with pytest.raises(ValueError, match="whitespace"):
        write_conll(tmp_path / "bad.conll", [(["New York"], ["B-LOC"])])
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        write_conll(tmp_path / "bad.conll", [(["a", "b"], ["O"])])
