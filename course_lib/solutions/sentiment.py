"""Reference solution of assignment 03 (sentiment analysis with Keras 3).

The notebook's solution cells are exactly these functions (a test compares them); everything else the notebook
does (loading the corpora, the tutorial's example, training, plots, tables) is in its own cells, which call these.
Models take raw strings: the ``TextVectorization`` layer is their first layer, so a saved model is the whole
pipeline and the grader feeds it the held-out sentences as text.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def polarity_labels(ratings: np.ndarray) -> np.ndarray:
    """Labels from the human ratings on [-4, 4]: 1 (positive) for a rating above 0, 0 (negative) below.

    Raises
    ------
    ValueError
        If a rating is 0 (neutral: drop those sentences before labelling).
    """
    ratings = np.asarray(ratings, dtype=np.float64)
    if (ratings == 0).any():
        raise ValueError(f"{int((ratings == 0).sum())} neutral rating(s) of 0: drop them before labelling")
    return (ratings > 0).astype(np.int64)


def make_vectorizer(texts: np.ndarray, max_tokens: int, sequence_length: int) -> keras.layers.TextVectorization:
    """A ``TextVectorization`` layer adapted on ``texts`` (shape (n,), strings).

    It lower-cases and strips punctuation, splits on whitespace, keeps the ``max_tokens`` - 2 most frequent words
    (index 0 is padding, 1 the out-of-vocabulary token ``[UNK]``), and turns each text into ``sequence_length``
    word indices: padded with 0 at the end, or truncated.
    """
    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="int",
                                                output_sequence_length=sequence_length)
    vectorizer.adapt(np.asarray(texts))
    return vectorizer


def build_bow_model(train_texts: np.ndarray, max_tokens: int, ngrams: int | None = None) -> keras.Model:
    """A bag-of-words baseline on raw strings: tf-idf weights of the words (``ngrams=None``), or of the words and
    the pairs of neighbouring words (``ngrams=2``), then logistic regression.

    ``Input((1,), dtype="string") -> TextVectorization(max_tokens, output_mode="tf_idf", ngrams=ngrams)`` (adapted
    on ``train_texts``) ``-> Dense(1, sigmoid)``, compiled with binary cross-entropy, Adam(1e-2) and accuracy.
    """
    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="tf_idf", ngrams=ngrams)
    vectorizer.adapt(np.asarray(train_texts))
    model = keras.Sequential([keras.Input((1,), dtype="string"), vectorizer, keras.layers.Dense(1, "sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def build_sentiment_model(vectorizer: keras.layers.TextVectorization, embedding_dim: int = 64,
                          units: int = 64) -> keras.Model:
    """An LSTM classifier on raw strings.

    ``Input((1,), dtype="string") -> vectorizer -> Embedding(vocabulary size, embedding_dim, mask_zero=True)
    -> LSTM(units) -> Dropout(0.5) -> Dense(1, sigmoid)``, compiled with binary cross-entropy, Adam(1e-3) and
    accuracy. ``mask_zero`` makes the LSTM skip the padding at the end of each sequence.
    """
    model = keras.Sequential([
        keras.Input((1,), dtype="string"),
        vectorizer,
        keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, mask_zero=True),
        keras.layers.LSTM(units),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def train_with_early_stopping(model: keras.Model, train_texts: np.ndarray, train_labels: np.ndarray,
                              val_texts: np.ndarray, val_labels: np.ndarray, max_epochs: int, patience: int = 2):
    """Fit for at most ``max_epochs`` epochs (batch 64), stopping when the validation accuracy has not improved
    for ``patience`` epochs and keeping the weights of the best epoch.

    Keras' ``fit`` takes text as TensorFlow strings, not NumPy's: the data goes in as a ``tf.data.Dataset``,
    shuffled anew each epoch (reproducibly: ``keras.utils.set_random_seed`` seeds it).

    Returns
    -------
    keras.callbacks.History
    """
    def batches(texts, labels, shuffle):
        data = tf.data.Dataset.from_tensor_slices((np.asarray(texts, dtype=str)[:, None],
                                                   np.asarray(labels, dtype=np.float32)))
        return (data.shuffle(len(labels)) if shuffle else data).batch(64)

    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience, restore_best_weights=True)
    # shuffle=False: the Dataset shuffles itself (fit's own shuffle does not apply to a Dataset, and says so)
    return model.fit(batches(train_texts, train_labels, True), epochs=max_epochs, shuffle=False,
                     validation_data=batches(val_texts, val_labels, False), callbacks=[stop], verbose=1)


def evaluate(model: keras.Model, texts: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Accuracy and confusion matrix of ``model`` on ``texts`` (a sentence is called positive when the model's
    probability is above 0.5).

    Returns
    -------
    accuracy : float
    confusion : np.ndarray, shape (2, 2), int
        ``confusion[i, j]``: sentences of true label i predicted j.
    """
    probabilities = np.asarray(model.predict(tf.constant(np.asarray(texts, dtype=str)[:, None]), verbose=0)).reshape(-1)
    predicted = (probabilities > 0.5).astype(np.int64)
    labels = np.asarray(labels).astype(np.int64)
    confusion = np.zeros((2, 2), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    return float(np.mean(predicted == labels)), confusion


def accuracy_by_kind(predicted: np.ndarray, labels: np.ndarray, kinds: np.ndarray) -> dict[str, float]:
    """Accuracy of 0/1 predictions per sentence kind: ``{kind: accuracy}`` for every kind that occurs."""
    predicted, labels, kinds = np.asarray(predicted), np.asarray(labels), np.asarray(kinds)
    return {str(kind): float(np.mean(predicted[kinds == kind] == labels[kinds == kind])) for kind in np.unique(kinds)}
