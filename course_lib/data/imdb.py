"""Optional: the 50,000 public IMDB reviews of ``keras.datasets.imdb``, turned back into text.

For learners with internet only: Keras downloads the data on first use (``imdb.npz`` and the word index, then
cached in ``~/.keras/datasets``); nothing in the course needs it and no test calls :func:`load_imdb_texts`.

Keras stores each review as word indices and shifts them to make room for markers (see
``keras.datasets.imdb.load_data``): with the defaults, 0 is padding, 1 (``start_char``) starts every review,
2 (``oov_char``) stands for a word cut by ``num_words`` or ``skip_top``, and a word whose rank is ``r`` in
``get_word_index()`` (1 for the most frequent word, "the") is ``r + index_from``, ``index_from`` being 3 (so 3
itself is never used). :func:`decode_review` undoes this; it is pure, and tested on a word index we make.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

PAD = 0
START = 1
OOV = 2
INDEX_FROM = 3
OOV_TOKEN = "[OOV]"


def invert_word_index(word_index: Mapping[str, int], index_from: int = INDEX_FROM) -> dict[int, str]:
    """``{index in the sequences: word}`` from Keras' ``{word: rank}`` (ranks start at 1).

    Raises
    ------
    ValueError
        Two words with one rank, or a rank below 1 (it would collide with a marker).
    """
    inverted: dict[int, str] = {}
    for word, rank in word_index.items():
        if int(rank) < 1:
            raise ValueError(f"word {word!r} has rank {rank}: Keras' word index ranks start at 1")
        index = int(rank) + index_from
        if index in inverted:
            raise ValueError(f"words {inverted[index]!r} and {word!r} share rank {rank}: not a Keras word index")
        inverted[index] = word
    return inverted


def _decode_with(indices: Iterable[int], inverted: Mapping[int, str], start_char: int | None,
                 oov_char: int | None, oov_token: str) -> str:
    words = []
    for value in indices:
        index = int(value)
        if index == PAD or index == start_char:
            continue   # markers, not words
        if index == oov_char:
            words.append(oov_token)
        elif index in inverted:
            words.append(inverted[index])
        else:
            raise ValueError(f"index {index} is neither a marker (pad {PAD}, start {start_char}, oov {oov_char}) "
                             f"nor a word: were the reviews loaded with the same index_from as the decoding?")
    return " ".join(words)


def decode_review(indices: Iterable[int], word_index: Mapping[str, int], index_from: int = INDEX_FROM, *,
                  start_char: int | None = START, oov_char: int | None = OOV, oov_token: str = OOV_TOKEN) -> str:
    """The text of one review encoded as ``keras.datasets.imdb.load_data`` encodes it.

    Parameters
    ----------
    indices : iterable of int
        One review's indices, shape ``(length,)``, possibly padded with 0 (before or after).
    word_index : mapping of str to int
        ``keras.datasets.imdb.get_word_index()``: word to rank, ranks from 1.
    index_from : int
        The ``index_from`` the reviews were loaded with (Keras' default 3).
    start_char, oov_char : int or None
        The markers the reviews were loaded with (Keras' defaults 1 and 2).
    oov_token : str
        What a cut word becomes in the text.

    Returns
    -------
    str
        The words joined by single spaces; padding and the start marker dropped.

    Raises
    ------
    ValueError
        An index that is neither a marker nor a word of ``word_index`` (shifted by ``index_from``).
    """
    return _decode_with(indices, invert_word_index(word_index, index_from), start_char, oov_char, oov_token)


def decode_reviews(reviews: Iterable[Sequence[int]], word_index: Mapping[str, int], index_from: int = INDEX_FROM,
                   **markers) -> list[str]:
    """:func:`decode_review` of each review, inverting the word index once (tens of thousands of
    words, not worth inverting per review)."""
    inverted = invert_word_index(word_index, index_from)
    options = {"start_char": START, "oov_char": OOV, "oov_token": OOV_TOKEN, **markers}
    return [_decode_with(review, inverted, **options) for review in reviews]


def load_imdb_texts(num_words: int | None = 10_000, skip_top: int = 0, seed: int = 113
                    ) -> tuple[tuple[list[str], list[int]], tuple[list[str], list[int]]]:
    """The IMDB reviews as text: ``((train_texts, train_labels), (test_texts, test_labels))``, 25,000 each.

    A thin wrapper over ``keras.datasets.imdb.load_data`` and ``get_word_index`` (downloaded on first use).

    Parameters
    ----------
    num_words : int or None
        Keep the ``num_words`` most frequent words (``None``: all); the others become ``[OOV]``.
    skip_top : int
        Also turn the ``skip_top`` most frequent words into ``[OOV]``.
    seed : int
        Keras' shuffling seed.

    Raises
    ------
    RuntimeError
        When the download fails, saying that this optional data needs internet.
    """
    import keras   # imported here: the decoding above needs no Keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(
            num_words=num_words, skip_top=skip_top, seed=seed, start_char=START, oov_char=OOV, index_from=INDEX_FROM)
        word_index = keras.datasets.imdb.get_word_index()
    except Exception as error:   # Keras' get_file raises a bare Exception for network errors
        raise RuntimeError(f"could not download the IMDB reviews ({type(error).__name__}: {error}): they need "
                           f"internet once (then ~/.keras/datasets caches them); they are optional, the course's "
                           f"own data needs no download") from error
    return ((decode_reviews(x_train, word_index), [int(y) for y in y_train]),
            (decode_reviews(x_test, word_index), [int(y) for y in y_test]))
