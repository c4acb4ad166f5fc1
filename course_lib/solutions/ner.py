"""Reference solution of assignment 06 (named-entity recognition with a bidirectional LSTM).

The notebook's solution cells are exactly these functions (a test compares them); loading the corpus, training
runs, tables and charts are the notebook's own cells, which call these.

Conventions every function shares (the notebook states them):

* a sentence is a list of tokens; its tags are BIO strings of :data:`TAGS`; its ``line_start`` flags say which
  tokens begin a verse line;
* a span is ``(start, end, type)`` with ``end`` exclusive: ``(3, 5, "PER")`` covers tokens 3 and 4;
* word ids: 0 is padding, 1-3 are the out-of-vocabulary ids of :data:`OOV_IDS` (by the word's shape), and word
  ``vocabulary[i]`` (lower case) is id ``i + FIRST_WORD_ID``.

Entity scores follow CoNLL's ``conlleval``: a span counts when its start, end and type are all right; an ``I-X``
that does not continue an ``X`` span starts one (so ``O I-PER`` is one PER span, and ``B-PER I-LOC`` two spans).
"""
from __future__ import annotations

import collections

import keras
import numpy as np

TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")
TAG_IDS = {tag: i for i, tag in enumerate(TAGS)}
PAD = 0
#: out-of-vocabulary ids by shape: a lower-case word (or punctuation, a number), a capitalised word inside a line,
#: a capitalised word that begins a verse line (every verse line begins with a capital, names or not)
OOV_IDS = {"lower": 1, "capitalised": 2, "line_start": 3}
FIRST_WORD_ID = 4


def bio_encode(n_tokens: int, spans: list[tuple[int, int, str]]) -> list[str]:
    """BIO tags of a sentence of ``n_tokens`` tokens with the entity ``spans`` (``(start, end, type)``, end
    exclusive): ``B-type`` on a span's first token, ``I-type`` on the others, ``O`` elsewhere.

    Raises
    ------
    ValueError
        A span is empty, reaches outside the sentence, or overlaps another.
    """
    tags = ["O"] * n_tokens
    for start, end, kind in sorted(spans):
        if not 0 <= start < end <= n_tokens:
            raise ValueError(f"span {(start, end, kind)} is empty or outside a sentence of {n_tokens} tokens")
        if any(tag != "O" for tag in tags[start:end]):
            raise ValueError(f"span {(start, end, kind)} overlaps another span")
        tags[start:end] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 1)
    return tags


def bio_decode(tags: list[str]) -> list[tuple[int, int, str]]:
    """The spans of a BIO tag sequence, in order, with conlleval's reading of ill-formed sequences: an ``I-X``
    continues the span before it only if that span has type X; otherwise it starts a new span (``O I-PER``,
    ``B-LOC I-PER``); a ``B-X`` always starts one (``B-PER B-PER`` is two spans).

    Raises
    ------
    ValueError
        A tag is neither ``O`` nor ``B-``/``I-`` followed by a type.
    """
    spans, start, kind = [], None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, tag_type = tag.partition("-")
        if tag != "O" and (prefix not in ("B", "I") or not tag_type):
            raise ValueError(f"tag {tag!r} at position {i} is not O, B-<type> or I-<type>")
        continues = prefix == "I" and kind == tag_type
        if kind is not None and not continues:
            spans.append((start, i, kind))
            start, kind = None, None
        if tag != "O" and not continues:
            start, kind = i, tag_type
    return spans


def build_vocabulary(sentences: list[list[str]], min_count: int = 2) -> list[str]:
    """The lower-cased words that occur at least ``min_count`` times in ``sentences``, most frequent first (ties
    in alphabetical order): word ``vocabulary[i]`` gets id ``i + FIRST_WORD_ID``."""
    counts = collections.Counter(token.lower() for tokens in sentences for token in tokens)
    kept = [(word, count) for word, count in counts.items() if count >= min_count]
    return [word for word, _ in sorted(kept, key=lambda item: (-item[1], item[0]))]


def oov_id(token: str, line_start: bool) -> int:
    """The out-of-vocabulary id of a word the vocabulary lacks, by its shape (:data:`OOV_IDS`): ``line_start``
    if it begins with a capital and begins a verse line, ``capitalised`` if it begins with a capital elsewhere,
    ``lower`` otherwise."""
    if token[:1].isupper():
        return OOV_IDS["line_start"] if line_start else OOV_IDS["capitalised"]
    return OOV_IDS["lower"]


def encode(sentences: list[list[str]], line_starts: list[list[bool]], vocabulary: list[str]) -> list[np.ndarray]:
    """Word ids of each sentence (one int64 array per sentence, no padding): the id of the lower-cased token in
    ``vocabulary``, or its :func:`oov_id` if the vocabulary lacks it."""
    index = {word: i + FIRST_WORD_ID for i, word in enumerate(vocabulary)}
    return [np.array([index.get(token.lower(), oov_id(token, start)) for token, start in zip(tokens, starts)],
                     dtype=np.int64) for tokens, starts in zip(sentences, line_starts)]


def pad(sequences: list[np.ndarray], length: int, value: int = PAD) -> tuple[np.ndarray, np.ndarray]:
    """Sequences padded at the end with ``value`` (or cut) to ``length``, and the mask of the real positions.

    Returns
    -------
    padded : np.ndarray, shape (n, length), int64
    mask : np.ndarray, shape (n, length), bool
        True at the positions that hold a token of the sequence.
    """
    padded = np.full((len(sequences), length), value, dtype=np.int64)
    mask = np.zeros((len(sequences), length), dtype=bool)
    for i, sequence in enumerate(sequences):
        kept = np.asarray(sequence, dtype=np.int64)[:length]
        padded[i, :len(kept)] = kept
        mask[i, :len(kept)] = True
    return padded, mask


def word_dropout(x: np.ndarray, oov: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of the word ids ``x`` where each vocabulary word (id ``>= FIRST_WORD_ID``) is replaced, with
    probability ``rate`` and independently, by its out-of-vocabulary id ``oov`` (same shape as ``x``). Padding and
    ids that already are out of vocabulary stay; ``x`` is not changed. A tagger trained so learns to recognise a
    name it does not know from its shape and its neighbours, as it must for the names of new plays."""
    x = np.asarray(x)
    dropped = (x >= FIRST_WORD_ID) & (rng.random(x.shape) < rate)
    return np.where(dropped, np.asarray(oov), x).astype(x.dtype)


def build_tagger(vocab_size: int, n_tags: int = len(TAGS), embedding_dim: int = 64, units: int = 64) -> keras.Model:
    """A bidirectional LSTM tagger: word ids (batch, time) in, a distribution over the ``n_tags`` tags at every
    position out.

    ``Input((None,), int64) -> Embedding(vocab_size, embedding_dim, mask_zero=True) -> Dropout(0.25)
    -> Bidirectional(LSTM(units, return_sequences=True)) -> Dense(n_tags, softmax)``, compiled with sparse
    categorical cross-entropy and Adam(2e-3). ``mask_zero`` carries the padding mask through the LSTMs to the loss,
    so padded positions cost nothing (the masked loss) and do not feed either direction's state.
    """
    model = keras.Sequential([
        keras.Input((None,), dtype="int64"),
        keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
        keras.layers.Dropout(0.25),
        keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True)),
        keras.layers.Dense(n_tags, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    return model


def train_tagger(model: keras.Model, x: np.ndarray, y: np.ndarray, oov: np.ndarray, dev_x: np.ndarray,
                 dev_tags: list[list[str]], epochs: int, rate: float, rng: np.random.Generator,
                 batch_size: int = 32) -> list[float]:
    """Train ``model`` on the padded word ids ``x`` and tag ids ``y`` for ``epochs`` epochs, with
    :func:`word_dropout` at ``rate`` drawn anew (from ``rng``) every epoch, and keep the weights of the epoch whose
    entity F1 on the development sentences (``dev_x``, their tags ``dev_tags``) is best: early stopping on dev.

    The loss is masked: ``sample_weight`` is 1 at real tokens and 0 at padding (``x == 0``).

    Returns
    -------
    list of float
        The dev entity F1 after each epoch.
    """
    dev_mask = np.asarray(dev_x) != PAD
    history, best, best_weights = [], -1.0, None
    for _ in range(epochs):
        dropped = word_dropout(x, oov, rate, rng)
        model.fit(dropped, y, sample_weight=(x != PAD).astype(np.float32), batch_size=batch_size, epochs=1,
                  shuffle=True, verbose=0)
        f1 = entity_scores(dev_tags, predict_tags(model, dev_x, dev_mask))["ALL"][2]
        history.append(f1)
        if f1 > best:
            best, best_weights = f1, model.get_weights()
    if best_weights is not None:
        model.set_weights(best_weights)
    return history


def predict_tags(model: keras.Model, x: np.ndarray, mask: np.ndarray) -> list[list[str]]:
    """The model's most probable tag at every real position (``mask``) of each padded sentence of ``x``."""
    best = np.asarray(model.predict(x, batch_size=256, verbose=0)).argmax(axis=-1)
    return [[TAGS[t] for t in row[m]] for row, m in zip(best, np.asarray(mask, dtype=bool))]


def entity_scores(gold: list[list[str]], predicted: list[list[str]]) -> dict[str, tuple[float, float, float]]:
    """Entity-level precision, recall and F1 (fractions) of ``predicted`` tag sequences against ``gold``, overall
    (key ``"ALL"``) and for every type found in either: a predicted span is right when a gold span has its start,
    end and type (spans read with :func:`bio_decode`). Precision is 0 with no predicted span, recall 0 with no gold
    span, F1 0 when both are 0.

    Raises
    ------
    ValueError
        The two lists, or a sentence's two sequences, differ in length.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    found, true, correct = collections.Counter(), collections.Counter(), collections.Counter()
    for i, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")
        gold_spans, predicted_spans = set(bio_decode(g)), set(bio_decode(p))
        for spans, counter in ((gold_spans, true), (predicted_spans, found), (gold_spans & predicted_spans, correct)):
            counter.update(kind for _, _, kind in spans)
            counter["ALL"] += len(spans)

    def prf(kind):
        precision = correct[kind] / found[kind] if found[kind] else 0.0
        recall = correct[kind] / true[kind] if true[kind] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    return {kind: prf(kind) for kind in ["ALL", *sorted((set(true) | set(found)) - {"ALL"})]}


def span_surfaces(sentences: list[list[str]], tags: list[list[str]]) -> collections.Counter:
    """How often each ``(text, type)`` is a span of ``tags``; the text is the span's tokens joined by spaces."""
    return collections.Counter((" ".join(tokens[start:end]), kind) for tokens, sequence in zip(sentences, tags)
                               for start, end, kind in bio_decode(sequence))


def gazetteer_baseline(train_sentences: list[list[str]], train_tags: list[list[str]],
                       sentences: list[list[str]]) -> list[list[str]]:
    """Tags from a list of the training spans: scanning left to right, the longest run of tokens that is the text
    of a training span becomes a span of the type it has most often in training (ties: alphabetical), and
    the scan goes on after it."""
    counts = span_surfaces(train_sentences, train_tags)
    best: dict[tuple[str, ...], tuple[int, str]] = {}
    for (text, kind), count in counts.items():
        key = tuple(text.split(" "))
        if key not in best or (-count, kind) < (-best[key][0], best[key][1]):
            best[key] = (count, kind)
    longest = max((len(key) for key in best), default=0)
    tagged = []
    for tokens in sentences:
        spans, i = [], 0
        while i < len(tokens):
            for n in range(min(longest, len(tokens) - i), 0, -1):
                if tuple(tokens[i:i + n]) in best:
                    spans.append((i, i + n, best[tuple(tokens[i:i + n])][1]))
                    i += n
                    break
            else:
                i += 1
        tagged.append(bio_encode(len(tokens), spans))
    return tagged


#: tokens after which a capital letter says nothing about a name (a clause or a quotation begins)
CLAUSE_OPENERS = frozenset({".", "!", "?", ":", ";", "--", "'", '"', "(", "["})


def capitalisation_baseline(sentences: list[list[str]], line_starts: list[list[bool]],
                            word_types: dict[str, str] | None = None) -> list[list[str]]:
    """Tags from capitals alone: a token that begins with a capital letter is a one-token span unless it is the
    sentence's first token, follows a token of :data:`CLAUSE_OPENERS` or begins a verse line. Its type is
    ``word_types[token]`` when given and there (say, the type a word has most often in training), else PER."""
    word_types = word_types or {}
    tagged = []
    for tokens, starts in zip(sentences, line_starts):
        spans = [(i, i + 1, word_types.get(token, "PER")) for i, (token, start) in enumerate(zip(tokens, starts))
                 if token[:1].isupper() and i > 0 and not start and tokens[i - 1] not in CLAUSE_OPENERS]
        tagged.append(bio_encode(len(tokens), spans))
    return tagged


def recall_seen_unseen(sentences: list[list[str]], gold: list[list[str]], predicted: list[list[str]],
                       seen: set[tuple[str, str]]) -> dict[str, tuple[float, int]]:
    """Recall of the gold spans whose ``(text, type)`` is in ``seen`` (say, the training spans) and of the others:
    ``{"seen": (recall, n_spans), "unseen": (recall, n_spans)}``, recall 0.0 where there is no span."""
    hits, totals = collections.Counter(), collections.Counter()
    for tokens, g, p in zip(sentences, gold, predicted):
        found = set(bio_decode(p))
        for span in bio_decode(g):
            group = "seen" if (" ".join(tokens[span[0]:span[1]]), span[2]) in seen else "unseen"
            totals[group] += 1
            hits[group] += span in found
    return {group: (hits[group] / totals[group] if totals[group] else 0.0, totals[group])
            for group in ("seen", "unseen")}


def tag_confusion(gold: list[list[str]], predicted: list[list[str]]) -> np.ndarray:
    """Token-level confusion of the tags: ``matrix[i, j]`` counts tokens of gold tag ``TAGS[i]`` predicted
    ``TAGS[j]``; shape (5, 5), int64."""
    matrix = np.zeros((len(TAGS), len(TAGS)), dtype=np.int64)
    for g, p in zip(gold, predicted):
        for a, b in zip(g, p):
            matrix[TAG_IDS[a], TAG_IDS[b]] += 1
    return matrix
