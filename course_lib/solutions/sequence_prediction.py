"""Reference solution of assignment 02 (sequence prediction with a Keras LSTM).

The notebook's solution cells are exactly these functions (a test compares them); everything else the notebook
does (loading the series, training, plotting) is in its own cells, which call these.
"""
from __future__ import annotations

import keras
import numpy as np


def make_windows(series: np.ndarray, window: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into overlapping input windows and the value ``horizon`` steps after each window.

    Parameters
    ----------
    series : np.ndarray, shape (n,)
        The values in time order.
    window : int
        Values in each input window (at least 1).
    horizon : int
        How many steps after the window's last value the target is: 1 is the next value.

    Returns
    -------
    X : np.ndarray, shape (m, window, 1)
        ``X[i, :, 0] == series[i:i + window]``, with m = n - window - horizon + 1.
    y : np.ndarray, shape (m,)
        ``y[i] == series[i + window + horizon - 1]``.

    Raises
    ------
    ValueError
        If the series is shorter than ``window + horizon`` (there is not one whole window with its target), or
        ``window`` or ``horizon`` is less than 1.
    """
    series = np.asarray(series)
    if window < 1 or horizon < 1:
        raise ValueError(f"window and horizon must be at least 1, got window={window}, horizon={horizon}")
    m = len(series) - window - horizon + 1
    if m < 1:
        raise ValueError(f"a series of {len(series)} values is too short for a window of {window} and a horizon "
                         f"of {horizon}: it needs at least {window + horizon} values")
    starts = np.arange(m)[:, None]
    X = series[starts + np.arange(window)[None, :]][..., None]
    y = series[window + horizon - 1:window + horizon - 1 + m]
    return X, y


class MinMaxScaler:
    """Maps ``[low, high]`` (the range of the data it was fitted on) to ``[0, 1]``, and back."""

    def __init__(self, low: float, high: float):
        self.low, self.high = float(low), float(high)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """``(values - low) / (high - low)``, any shape."""
        return (np.asarray(values) - self.low) / (self.high - self.low)

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: ``scaled * (high - low) + low``."""
        return np.asarray(scaled) * (self.high - self.low) + self.low


def fit_scaler(train: np.ndarray) -> MinMaxScaler:
    """A min-max scaler fitted on ``train`` (shape (n,)): its minimum maps to 0 and its maximum to 1.

    Raises
    ------
    ValueError
        If ``train`` is empty or constant (there is no range to scale by).
    """
    train = np.asarray(train, dtype=np.float64)
    if train.size == 0 or train.min() == train.max():
        raise ValueError("the training part must hold at least two different values to fit a scaler")
    return MinMaxScaler(train.min(), train.max())


def scale_splits(train: np.ndarray, val: np.ndarray, test: np.ndarray):
    """Fit a scaler on the training part only and apply it to all three parts.

    Returns
    -------
    train_s, val_s, test_s : np.ndarray
        The three parts, scaled (same shapes as given).
    scaler : MinMaxScaler
        The scaler fitted on ``train``: validation and test values may fall outside [0, 1], as new data will.
    """
    scaler = fit_scaler(train)
    return scaler.transform(train), scaler.transform(val), scaler.transform(test), scaler


def build_regressor(window: int, units: int) -> keras.Model:
    """An LSTM regressor: ``(batch, window, 1)`` windows in, one predicted value per window out.

    ``Input((window, 1)) -> LSTM(units) -> Dense(1)``, compiled with the mean squared error and Adam(3e-3).
    """
    model = keras.Sequential([
        keras.Input((window, 1)),
        keras.layers.LSTM(units),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3), loss="mse")
    return model


def train_regressor(model: keras.Model, X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray,
                    y_val: np.ndarray, epochs: int, batch_size: int = 64):
    """Fit ``model`` to predict ``y_train`` from ``X_train`` for ``epochs`` epochs, watching the validation loss.

    Returns
    -------
    keras.callbacks.History
        ``history.history["loss"]`` and ``["val_loss"]``: one value per epoch.
    """
    return model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=epochs, batch_size=batch_size,
                     verbose=1)


def make_adding_data(n: int, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of the adding problem, each of ``T`` steps.

    Parameters
    ----------
    n : int
        Number of sequences.
    T : int
        Steps per sequence (at least 2).
    rng : np.random.Generator
        The only source of randomness (so that a seed gives the same data).

    Returns
    -------
    X : np.ndarray, shape (n, T, 2), float32
        ``X[..., 0]``: values drawn uniformly from [0, 1); ``X[..., 1]``: markers, exactly two 1s per sequence, one
        at a step drawn uniformly from the first half ``[0, T // 2)`` and one from the second half ``[T // 2, T)``.
    y : np.ndarray, shape (n,), float32
        The sum of the two marked values.
    """
    if T < 2:
        raise ValueError(f"T must be at least 2 (one marker in each half), got {T}")
    half = T // 2
    X = np.zeros((n, T, 2), dtype=np.float32)
    X[..., 0] = rng.uniform(0.0, 1.0, size=(n, T))
    rows = np.arange(n)
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, T, size=n)
    X[rows, first, 1] = 1.0
    X[rows, second, 1] = 1.0
    y = X[rows, first, 0] + X[rows, second, 0]
    return X, y


def build_adding_model(layer: str, T: int, units: int = 64) -> keras.Model:
    """``Input((T, 2)) -> LSTM(units) or SimpleRNN(units) -> Dense(1)`` for the adding problem.

    ``layer`` is ``"lstm"`` or ``"rnn"``. Both are compiled alike, with the mean squared error and
    Adam(learning_rate=2e-2, clipnorm=1.0): the same budget, so that only the recurrent layer differs.
    """
    recurrent = {"lstm": keras.layers.LSTM, "rnn": keras.layers.SimpleRNN}[layer]
    model = keras.Sequential([keras.Input((T, 2)), recurrent(units), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=2e-2, clipnorm=1.0), loss="mse")
    return model
