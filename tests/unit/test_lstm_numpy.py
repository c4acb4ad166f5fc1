"""Unit tests for the NumPy LSTM reference solution (course_lib/solutions/lstm_numpy.py)."""

from collections.abc import Callable

import numpy as np
import pytest

from course_lib.solutions.lstm_gates import (
    candidate_cell,
    forget_gate,
    input_gate,
    lstm_backward,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_forward,
    output_gate,
    sigmoid,
)

BATCH, T, INPUT_DIM, UNITS = 2, 3, 3, 4


def numerical_gradient(f: Callable[[], float], a: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` w.r.t. ``a``, perturbing ``a`` in place.

    Parameters
    ----------
    f : callable
        Takes no argument and reads ``a``; returns a scalar.
    a : np.ndarray, float64, any shape
        Restored to its original values on return.

    Returns
    -------
    np.ndarray, same shape as ``a``
    """
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        original = a[idx]
        a[idx] = original + eps
        f_plus = f()
        a[idx] = original - eps
        f_minus = f()
        a[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def rel_error(expected: np.ndarray, got: np.ndarray) -> float:
    """Largest element-wise relative error, as in CS231n (floor 1e-8 for near-zero entries)."""
    return float(np.max(np.abs(expected - got) / np.maximum(1e-8, np.abs(expected) + np.abs(got))))


def gradient_rel_error(expected: np.ndarray, got: np.ndarray) -> float:
    """Relative error of a whole gradient array, ``|e - g| / (|e| + |g|)`` in the Frobenius norm.

    Element-wise relative error is unreliable for gradient checks: entries near zero carry
    the finite difference's absolute rounding error (~1e-10 here) and fail a 1e-6 bound by
    chance, while any real bug (a missing term, a wrong gate block) moves the whole array.
    """
    scale = np.linalg.norm(expected) + np.linalg.norm(got)
    return float(np.linalg.norm(expected - got) / max(scale, 1e-300))


def logistic(z: np.ndarray) -> np.ndarray:
    """Textbook sigmoid, safe for the small inputs used here; independent of the code under test."""
    return 1.0 / (1.0 + np.exp(-z))


def random_weights(
    rng: np.random.Generator, input_dim: int = INPUT_DIM, units: int = UNITS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (kernel, recurrent_kernel, bias) in the Keras layout, float64."""
    return (
        rng.standard_normal((input_dim, 4 * units)),
        rng.standard_normal((units, 4 * units)),
        rng.standard_normal(4 * units),
    )


# ---------------------------------------------------------------------------- sigmoid


def test_sigmoid_known_values_and_extremes_without_fp_errors():
    z = np.array([-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0])
    with np.errstate(all="raise"):
        s = sigmoid(z)
        s32 = sigmoid(z.astype(np.float32))
    expected = np.array(
        [0.0, logistic(-30.0), logistic(-1.0), 0.5, logistic(1.0), logistic(30.0), 1.0]
    )
    np.testing.assert_allclose(s, expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(s32, expected, rtol=1e-6, atol=1e-30)
    assert s32.dtype == np.float32
    assert np.all(np.isfinite(s))


def test_sigmoid_symmetry_and_shape():
    z = np.random.default_rng(0).normal(scale=5.0, size=(2, 3, 4))
    s = sigmoid(z)
    assert s.shape == z.shape
    np.testing.assert_allclose(sigmoid(-z), 1.0 - s, rtol=0, atol=1e-15)
    assert np.all((s > 0) & (s < 1))


# ---------------------------------------------------------------------------- gates

GATES = [
    (input_gate, logistic),
    (forget_gate, logistic),
    (candidate_cell, np.tanh),
    (output_gate, logistic),
]


@pytest.mark.parametrize(("gate", "activation"), GATES, ids=lambda v: getattr(v, "__name__", ""))
def test_gate_matches_formula(gate, activation):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((BATCH, INPUT_DIM))
    h = rng.standard_normal((BATCH, UNITS))
    W = rng.standard_normal((INPUT_DIM, UNITS))
    U = rng.standard_normal((UNITS, UNITS))  # not symmetric, so h @ U.T would be caught
    b = rng.standard_normal(UNITS)

    got = gate(x, h, W, U, b)

    assert got.shape == (BATCH, UNITS)
    np.testing.assert_allclose(got, activation(x @ W + h @ U + b), rtol=1e-12)
    # The recurrent term must matter: a gate that ignores h_prev is not an LSTM gate.
    assert not np.allclose(got, gate(x, np.zeros_like(h), W, U, b))


# ---------------------------------------------------------------------------- forward


def test_lstm_cell_forward_matches_equations_in_keras_gate_order():
    rng = np.random.default_rng(2)
    kernel, recurrent_kernel, bias = random_weights(rng)
    x = rng.standard_normal((BATCH, INPUT_DIM))
    h_prev = rng.standard_normal((BATCH, UNITS))
    c_prev = rng.standard_normal((BATCH, UNITS))

    h_t, c_t, _ = lstm_cell_forward(x, h_prev, c_prev, kernel, recurrent_kernel, bias)

    z = x @ kernel + h_prev @ recurrent_kernel + bias
    u = UNITS
    i, f = logistic(z[:, :u]), logistic(z[:, u : 2 * u])
    g, o = np.tanh(z[:, 2 * u : 3 * u]), logistic(z[:, 3 * u :])
    c_expected = f * c_prev + i * g
    np.testing.assert_allclose(c_t, c_expected, rtol=1e-12)
    np.testing.assert_allclose(h_t, o * np.tanh(c_expected), rtol=1e-12)


def test_lstm_forward_is_the_cell_applied_step_by_step():
    rng = np.random.default_rng(3)
    kernel, recurrent_kernel, bias = random_weights(rng)
    x = rng.standard_normal((BATCH, T, INPUT_DIM))
    h0 = rng.standard_normal((BATCH, UNITS))
    c0 = rng.standard_normal((BATCH, UNITS))

    h_seq, h_T, c_T, caches = lstm_forward(x, kernel, recurrent_kernel, bias, h0, c0)

    assert h_seq.shape == (BATCH, T, UNITS)
    assert len(caches) == T
    h, c = h0, c0
    for t in range(T):
        h, c, _ = lstm_cell_forward(x[:, t], h, c, kernel, recurrent_kernel, bias)
        np.testing.assert_allclose(h_seq[:, t], h, rtol=1e-12)
    np.testing.assert_allclose(h_T, h, rtol=1e-12)
    np.testing.assert_allclose(c_T, c, rtol=1e-12)


def test_lstm_forward_default_state_is_zeros():
    rng = np.random.default_rng(4)
    kernel, recurrent_kernel, bias = random_weights(rng)
    x = rng.standard_normal((BATCH, T, INPUT_DIM))
    zeros = np.zeros((BATCH, UNITS))

    default = lstm_forward(x, kernel, recurrent_kernel, bias)
    explicit = lstm_forward(x, kernel, recurrent_kernel, bias, zeros, zeros)

    for got, expected in zip(default[:3], explicit[:3], strict=True):
        np.testing.assert_array_equal(got, expected)


def test_lstm_forward_carries_state_between_steps():
    rng = np.random.default_rng(5)
    kernel, recurrent_kernel, bias = random_weights(rng)
    x = rng.standard_normal((BATCH, T, INPUT_DIM))
    zeros = np.zeros((BATCH, UNITS))

    h_seq, *_ = lstm_forward(x, kernel, recurrent_kernel, bias)
    h_reset = np.stack(
        [
            lstm_cell_forward(x[:, t], zeros, zeros, kernel, recurrent_kernel, bias)[0]
            for t in range(T)
        ],
        axis=1,
    )

    np.testing.assert_allclose(h_seq[:, 0], h_reset[:, 0], rtol=1e-12)
    for t in range(1, T):
        assert not np.allclose(h_seq[:, t], h_reset[:, t]), f"step {t} ignores the previous state"


def test_lstm_forward_keeps_float32():
    rng = np.random.default_rng(6)
    kernel, recurrent_kernel, bias = (w.astype(np.float32) for w in random_weights(rng))
    x = rng.standard_normal((BATCH, T, INPUT_DIM)).astype(np.float32)

    h_seq, h_T, c_T, caches = lstm_forward(x, kernel, recurrent_kernel, bias)
    grads = lstm_backward(np.ones_like(h_seq), caches)

    assert h_seq.dtype == h_T.dtype == c_T.dtype == np.float32
    dtypes = {name: g.dtype for name, g in grads.items()}
    assert set(dtypes.values()) == {np.dtype(np.float32)}, dtypes


def test_lstm_forward_rejects_unbatched_input():
    rng = np.random.default_rng(7)
    kernel, recurrent_kernel, bias = random_weights(rng)
    with pytest.raises(ValueError, match=r"\(batch, T, input_dim\)"):
        lstm_forward(rng.standard_normal((T, INPUT_DIM)), kernel, recurrent_kernel, bias)


def test_lstm_cell_forward_reproduces_published_cs231n_values():
    # Inputs and expected outputs are the published test case of `lstm_step_forward` in
    # Stanford CS231n assignment 3, LSTM_Captioning.ipynb ("LSTM: step forward"), e.g.
    # github.com/0809zheng/CS231n-assignment2019, assignment3/LSTM_Captioning.ipynb
    # (commit 3f5c853986637e2eba33f70c982fac7c618ff0f3); the same numbers appear in the
    # 2016 and later editions of the notebook.
    N, D, H = 3, 4, 5
    x = np.linspace(-0.4, 1.2, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.3, 0.7, num=N * H).reshape(N, H)
    prev_c = np.linspace(-0.4, 0.9, num=N * H).reshape(N, H)
    Wx = np.linspace(-2.1, 1.3, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.7, 2.2, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.3, 0.7, num=4 * H)
    expected_next_h = np.asarray([
        [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
        [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
        [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299],
    ])  # fmt: skip
    expected_next_c = np.asarray([
        [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
        [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
        [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676],
    ])  # fmt: skip

    # CS231n stores the column blocks as i, f, o, g; Keras (and this module) as i, f, c(=g), o.
    def to_keras_order(w: np.ndarray) -> np.ndarray:
        i, f, o, g = np.split(w, 4, axis=-1)
        return np.concatenate([i, f, g, o], axis=-1)

    next_h, next_c, _ = lstm_cell_forward(
        x, prev_h, prev_c, to_keras_order(Wx), to_keras_order(Wh), to_keras_order(b)
    )

    assert rel_error(expected_next_h, next_h) < 1e-7
    assert rel_error(expected_next_c, next_c) < 1e-7


# ---------------------------------------------------------------------------- backward


def test_lstm_cell_backward_matches_numerical_gradients():
    rng = np.random.default_rng(8)
    kernel, recurrent_kernel, bias = random_weights(rng)
    x = rng.standard_normal((BATCH, INPUT_DIM))
    h_prev = rng.standard_normal((BATCH, UNITS))
    c_prev = rng.standard_normal((BATCH, UNITS))
    dh = rng.standard_normal((BATCH, UNITS))
    dc = rng.standard_normal((BATCH, UNITS))

    def loss() -> float:
        h, c, _ = lstm_cell_forward(x, h_prev, c_prev, kernel, recurrent_kernel, bias)
        return float(np.sum(dh * h) + np.sum(dc * c))

    _, _, cache = lstm_cell_forward(x, h_prev, c_prev, kernel, recurrent_kernel, bias)
    grads = lstm_cell_backward(dh, dc, cache)

    wrt = {
        "dx_t": x,
        "dh_prev": h_prev,
        "dc_prev": c_prev,
        "dkernel": kernel,
        "drecurrent_kernel": recurrent_kernel,
        "dbias": bias,
    }
    assert set(grads) == set(wrt)
    for name, array in wrt.items():
        assert grads[name].shape == array.shape, name
        error = gradient_rel_error(numerical_gradient(loss, array), grads[name])
        assert error < 1e-6, f"{name}: relative error {error:.2e}"


def test_lstm_backward_matches_numerical_gradients():
    rng = np.random.default_rng(9)
    kernel, recurrent_kernel, bias = random_weights(rng)
    x = rng.standard_normal((BATCH, T, INPUT_DIM))
    h0 = rng.standard_normal((BATCH, UNITS))
    c0 = rng.standard_normal((BATCH, UNITS))
    dh_seq = rng.standard_normal((BATCH, T, UNITS))

    def loss() -> float:
        h_seq, *_ = lstm_forward(x, kernel, recurrent_kernel, bias, h0, c0)
        return float(np.sum(dh_seq * h_seq))

    *_, caches = lstm_forward(x, kernel, recurrent_kernel, bias, h0, c0)
    grads = lstm_backward(dh_seq, caches)

    wrt = {
        "dx": x,
        "dh0": h0,
        "dc0": c0,
        "dkernel": kernel,
        "drecurrent_kernel": recurrent_kernel,
        "dbias": bias,
    }
    assert set(grads) == set(wrt)
    for name, array in wrt.items():
        assert grads[name].shape == array.shape, name
        error = gradient_rel_error(numerical_gradient(loss, array), grads[name])
        assert error < 1e-6, f"{name}: relative error {error:.2e}"


# ---------------------------------------------------------------------------- Keras


@pytest.mark.keras
def test_lstm_forward_matches_keras_lstm():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    batch, steps, input_dim, units = 2, 5, 3, 4
    x = np.random.default_rng(10).standard_normal((batch, steps, input_dim)).astype(np.float32)
    layer = keras.layers.LSTM(units, return_sequences=True, return_state=True)
    layer(x)  # builds the weights
    kernel, recurrent_kernel, bias = layer.get_weights()
    # Keras initialises the bias to 0 except the forget block (1), which would not catch
    # a mix-up of the i, c or o bias blocks; a random bias does.
    bias = np.random.default_rng(11).standard_normal(bias.shape).astype(np.float32)
    layer.set_weights([kernel, recurrent_kernel, bias])

    keras_h_seq, keras_h_T, keras_c_T = (np.asarray(a) for a in layer(x))
    h_seq, h_T, c_T, _ = lstm_forward(x, kernel, recurrent_kernel, bias)

    assert h_seq.dtype == np.float32
    np.testing.assert_allclose(h_seq, keras_h_seq, rtol=0, atol=1e-5)
    np.testing.assert_allclose(h_T, keras_h_T, rtol=0, atol=1e-5)
    np.testing.assert_allclose(c_T, keras_c_T, rtol=0, atol=1e-5)
