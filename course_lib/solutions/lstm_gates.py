"""Reference solution: an LSTM layer in NumPy, forward and backward.

The weights use the layout of ``keras.layers.LSTM``, so ``layer.get_weights()``
can be passed straight to :func:`lstm_forward`:

- ``kernel``, shape ``(input_dim, 4 * units)``: input-to-gates weights.
- ``recurrent_kernel``, shape ``(units, 4 * units)``: hidden-to-gates weights.
- ``bias``, shape ``(4 * units,)``.

Each of them is four blocks of ``units`` columns, in the Keras gate order
**i, f, c, o**: input gate, forget gate, candidate cell (often called ``g``),
output gate. Block ``k`` is ``kernel[:, k * units:(k + 1) * units]``. (CS231n
orders the blocks i, f, o, g; Keras does not.)

For one time step, with ``x_t`` of shape ``(batch, input_dim)`` and
``h_prev``, ``c_prev`` of shape ``(batch, units)``::

    i_t = sigmoid(x_t W_i + h_prev U_i + b_i)
    f_t = sigmoid(x_t W_f + h_prev U_f + b_f)
    g_t = tanh(x_t W_c + h_prev U_c + b_c)
    o_t = sigmoid(x_t W_o + h_prev U_o + b_o)
    c_t = f_t * c_prev + i_t * g_t
    h_t = o_t * tanh(c_t)

Sequences are batch-major, ``x`` of shape ``(batch, T, input_dim)``, as in Keras.
Every function computes in the dtype of its inputs; nothing is cast to float64.

Each function body is pasted into a notebook solution cell, so a function may
use only ``np`` and the other public functions of this module.
"""

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-z))``, without overflow for large ``|z|``.

    Parameters
    ----------
    z : np.ndarray
        Any shape.

    Returns
    -------
    np.ndarray
        Same shape as ``z``, values in ``[0, 1]``.
    """
    z = np.asarray(z)
    # exp only ever sees -|z| <= 0, so it cannot overflow. For very negative
    # arguments it underflows to 0, which is the correct limit, so that
    # underflow is not an error worth reporting.
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def forget_gate(
    x_t: np.ndarray, h_prev: np.ndarray, W_f: np.ndarray, U_f: np.ndarray, b_f: np.ndarray
) -> np.ndarray:
    """Forget gate ``f_t = sigmoid(x_t W_f + h_prev U_f + b_f)``.

    Parameters
    ----------
    x_t : np.ndarray, shape (batch, input_dim)
    h_prev : np.ndarray, shape (batch, units)
    W_f : np.ndarray, shape (input_dim, units)
    U_f : np.ndarray, shape (units, units)
    b_f : np.ndarray, shape (units,)

    Returns
    -------
    np.ndarray, shape (batch, units)
        How much of each cell-state entry to keep, in ``[0, 1]``.
    """
    return sigmoid(x_t @ W_f + h_prev @ U_f + b_f)


def input_gate(
    x_t: np.ndarray, h_prev: np.ndarray, W_i: np.ndarray, U_i: np.ndarray, b_i: np.ndarray
) -> np.ndarray:
    """Input gate ``i_t = sigmoid(x_t W_i + h_prev U_i + b_i)``.

    Parameters
    ----------
    x_t : np.ndarray, shape (batch, input_dim)
    h_prev : np.ndarray, shape (batch, units)
    W_i : np.ndarray, shape (input_dim, units)
    U_i : np.ndarray, shape (units, units)
    b_i : np.ndarray, shape (units,)

    Returns
    -------
    np.ndarray, shape (batch, units)
        How much of the candidate to write into the cell state, in ``[0, 1]``.
    """
    return sigmoid(x_t @ W_i + h_prev @ U_i + b_i)


def candidate_cell(
    x_t: np.ndarray, h_prev: np.ndarray, W_c: np.ndarray, U_c: np.ndarray, b_c: np.ndarray
) -> np.ndarray:
    """Candidate cell values ``g_t = tanh(x_t W_c + h_prev U_c + b_c)``.

    Parameters
    ----------
    x_t : np.ndarray, shape (batch, input_dim)
    h_prev : np.ndarray, shape (batch, units)
    W_c : np.ndarray, shape (input_dim, units)
    U_c : np.ndarray, shape (units, units)
    b_c : np.ndarray, shape (units,)

    Returns
    -------
    np.ndarray, shape (batch, units)
        New content proposed for the cell state, in ``[-1, 1]``.
    """
    return np.tanh(x_t @ W_c + h_prev @ U_c + b_c)


def output_gate(
    x_t: np.ndarray, h_prev: np.ndarray, W_o: np.ndarray, U_o: np.ndarray, b_o: np.ndarray
) -> np.ndarray:
    """Output gate ``o_t = sigmoid(x_t W_o + h_prev U_o + b_o)``.

    Parameters
    ----------
    x_t : np.ndarray, shape (batch, input_dim)
    h_prev : np.ndarray, shape (batch, units)
    W_o : np.ndarray, shape (input_dim, units)
    U_o : np.ndarray, shape (units, units)
    b_o : np.ndarray, shape (units,)

    Returns
    -------
    np.ndarray, shape (batch, units)
        How much of ``tanh(c_t)`` to expose as the hidden state, in ``[0, 1]``.
    """
    return sigmoid(x_t @ W_o + h_prev @ U_o + b_o)


def lstm_cell_forward(
    x_t: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One LSTM time step.

    Parameters
    ----------
    x_t : np.ndarray, shape (batch, input_dim)
    h_prev : np.ndarray, shape (batch, units)
    c_prev : np.ndarray, shape (batch, units)
    kernel : np.ndarray, shape (input_dim, 4 * units)
        Gate blocks in Keras order i, f, c, o.
    recurrent_kernel : np.ndarray, shape (units, 4 * units)
        Gate blocks in Keras order i, f, c, o.
    bias : np.ndarray, shape (4 * units,)
        Gate blocks in Keras order i, f, c, o.

    Returns
    -------
    h_t : np.ndarray, shape (batch, units)
    c_t : np.ndarray, shape (batch, units)
    cache : dict of np.ndarray
        Inputs, weights and gate activations that :func:`lstm_cell_backward` needs.
    """
    # np.split cuts the four equal column blocks in storage order, i.e. i, f, c, o.
    W_i, W_f, W_c, W_o = np.split(kernel, 4, axis=1)
    U_i, U_f, U_c, U_o = np.split(recurrent_kernel, 4, axis=1)
    b_i, b_f, b_c, b_o = np.split(bias, 4)

    i = input_gate(x_t, h_prev, W_i, U_i, b_i)
    f = forget_gate(x_t, h_prev, W_f, U_f, b_f)
    g = candidate_cell(x_t, h_prev, W_c, U_c, b_c)
    o = output_gate(x_t, h_prev, W_o, U_o, b_o)

    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    h_t = o * tanh_c
    cache = {
        "x_t": x_t, "h_prev": h_prev, "c_prev": c_prev,
        "kernel": kernel, "recurrent_kernel": recurrent_kernel,
        "i": i, "f": f, "g": g, "o": o, "tanh_c": tanh_c,
    }  # fmt: skip
    return h_t, c_t, cache


def lstm_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, np.ndarray]]]:
    """Run an LSTM over a whole batch of sequences.

    Parameters
    ----------
    x : np.ndarray, shape (batch, T, input_dim)
    kernel : np.ndarray, shape (input_dim, 4 * units)
    recurrent_kernel : np.ndarray, shape (units, 4 * units)
    bias : np.ndarray, shape (4 * units,)
    h0, c0 : np.ndarray, shape (batch, units), optional
        Initial hidden and cell states; zeros (in the dtype of ``x``) if None,
        as in Keras.

    Returns
    -------
    h_seq : np.ndarray, shape (batch, T, units)
        Hidden state after every step (Keras ``return_sequences=True``).
    h_T : np.ndarray, shape (batch, units)
        Final hidden state.
    c_T : np.ndarray, shape (batch, units)
        Final cell state.
    caches : list of dict
        One cache per step, in time order, for :func:`lstm_backward`.
    """
    if x.ndim != 3 or x.shape[1] == 0:
        raise ValueError(
            f"x must have shape (batch, T, input_dim) with T >= 1, got {x.shape}; "
            "for a single sequence use x[np.newaxis]."
        )
    batch, T, _ = x.shape
    units = recurrent_kernel.shape[0]
    h = np.zeros((batch, units), dtype=x.dtype) if h0 is None else h0
    c = np.zeros((batch, units), dtype=x.dtype) if c0 is None else c0

    h_steps, caches = [], []
    for t in range(T):
        # h and c are carried from one step to the next: this is the recurrence.
        h, c, cache = lstm_cell_forward(x[:, t], h, c, kernel, recurrent_kernel, bias)
        h_steps.append(h)
        caches.append(cache)
    return np.stack(h_steps, axis=1), h, c, caches


def lstm_cell_backward(
    dh_t: np.ndarray, dc_t: np.ndarray, cache: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Backward pass of one LSTM time step.

    Parameters
    ----------
    dh_t : np.ndarray, shape (batch, units)
        Gradient of the loss w.r.t. ``h_t`` of this step.
    dc_t : np.ndarray, shape (batch, units)
        Gradient of the loss w.r.t. ``c_t`` of this step, from anything other
        than ``h_t`` (in a sequence: from the next step's cell state).
    cache : dict of np.ndarray
        As returned by :func:`lstm_cell_forward`.

    Returns
    -------
    dict of np.ndarray
        ``dx_t`` (batch, input_dim), ``dh_prev`` (batch, units),
        ``dc_prev`` (batch, units), ``dkernel`` (input_dim, 4 * units),
        ``drecurrent_kernel`` (units, 4 * units), ``dbias`` (4 * units,).
    """
    i, f, g, o = cache["i"], cache["f"], cache["g"], cache["o"]
    tanh_c = cache["tanh_c"]

    do = dh_t * tanh_c
    # c_t reaches the loss directly (dc_t) and through h_t = o * tanh(c_t).
    dc = dc_t + dh_t * o * (1 - tanh_c**2)
    di = dc * g
    df = dc * cache["c_prev"]
    dg = dc * i

    # Gradients w.r.t. the pre-activations, laid out like the kernel columns
    # (i, f, c, o), so that one matrix product per weight gives its gradient.
    dz = np.concatenate(
        [di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=1
    )
    return {
        "dx_t": dz @ cache["kernel"].T,
        "dh_prev": dz @ cache["recurrent_kernel"].T,
        "dc_prev": dc * f,
        "dkernel": cache["x_t"].T @ dz,
        "drecurrent_kernel": cache["h_prev"].T @ dz,
        "dbias": dz.sum(axis=0),
    }


def lstm_backward(dh_seq: np.ndarray, caches: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Backpropagation through time for :func:`lstm_forward`.

    Parameters
    ----------
    dh_seq : np.ndarray, shape (batch, T, units)
        Gradient of the loss w.r.t. every hidden state ``h_seq[:, t]``.
    caches : list of dict
        As returned by :func:`lstm_forward`.

    Returns
    -------
    dict of np.ndarray
        ``dx`` (batch, T, input_dim), ``dh0`` (batch, units), ``dc0`` (batch, units),
        ``dkernel`` (input_dim, 4 * units), ``drecurrent_kernel`` (units, 4 * units),
        ``dbias`` (4 * units,).
    """
    T = dh_seq.shape[1]
    dh_next = np.zeros_like(dh_seq[:, 0])
    dc_next = np.zeros_like(dh_seq[:, 0])
    dkernel = np.zeros_like(caches[0]["kernel"])
    drecurrent_kernel = np.zeros_like(caches[0]["recurrent_kernel"])
    dbias = np.zeros(dkernel.shape[1], dtype=dkernel.dtype)
    dx_steps = [None] * T

    for t in reversed(range(T)):
        # h_t feeds both the loss at step t and the step t + 1, so the two
        # gradients add; c_t only feeds step t + 1.
        grads = lstm_cell_backward(dh_seq[:, t] + dh_next, dc_next, caches[t])
        dx_steps[t] = grads["dx_t"]
        # The same weights are used at every step, so their gradients add up.
        dkernel += grads["dkernel"]
        drecurrent_kernel += grads["drecurrent_kernel"]
        dbias += grads["dbias"]
        dh_next, dc_next = grads["dh_prev"], grads["dc_prev"]

    return {
        "dx": np.stack(dx_steps, axis=1),
        "dh0": dh_next,
        "dc0": dc_next,
        "dkernel": dkernel,
        "drecurrent_kernel": drecurrent_kernel,
        "dbias": dbias,
    }
