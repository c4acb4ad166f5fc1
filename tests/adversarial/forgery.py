"""Hostile student code for assignment 01, as data: forgeries of the own-function alternatives and of the gradient
checks, each with the points a sound grader gives it.

The soundness rule: an attack earns only what its honest work earns. Each :class:`Forgery` is the code a cheating
student would hand in (one full ``def`` per solution cell, plus module-level code in ``__preamble__``), and
``sound`` says, exercise by exercise, what that honest work is worth; the description says why. Functions a
forgery does not define are the release notebook's stubs (``raise NotImplementedError()``).

Graded in-process by ``tests/unit/test_forgery.py`` and, for a few of them, through real autograding by
``tests/adversarial/test_attacks.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EXERCISES = ("sigmoid", "forget_gate", "input_gate", "candidate_cell", "output_gate", "lstm_cell_forward",
             "lstm_forward", "lstm_cell_backward", "lstm_backward")
POINTS = {"sigmoid": 1.0, "forget_gate": 1.0, "input_gate": 1.0, "candidate_cell": 1.0, "output_gate": 1.0,
          "lstm_cell_forward": 2.0, "lstm_forward": 2.0, "lstm_cell_backward": 3.0, "lstm_backward": 3.0}
GATES = ("input_gate", "forget_gate", "candidate_cell", "output_gate")  # Keras block order i, f, c, o
PREAMBLE = "__preamble__"

#: The release notebook's stubs, with its signatures.
STUBS = {
    "sigmoid": "def sigmoid(z):\n    raise NotImplementedError()\n",
    **{gate: f"def {gate}(x_t, h_prev, W, U, b):\n    raise NotImplementedError()\n" for gate in GATES},
    "lstm_cell_forward": "def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):\n"
                         "    raise NotImplementedError()\n",
    "lstm_forward": "def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):\n"
                    "    raise NotImplementedError()\n",
    "lstm_cell_backward": "def lstm_cell_backward(dh_t, dc_t, cache):\n    raise NotImplementedError()\n",
    "lstm_backward": "def lstm_backward(dh_seq, caches):\n    raise NotImplementedError()\n",
}


@dataclass(frozen=True)
class Forgery:
    """One hostile hand-in: ``sources`` maps a function name to its full ``def`` (``__preamble__``: module-level
    code run first); ``sound`` gives the points per exercise a sound grader awards, every exercise listed."""

    name: str
    description: str
    sources: dict[str, str]
    sound: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.sound.values())

    @property
    def preamble(self) -> str:
        return self.sources.get(PREAMBLE, "")

    @property
    def functions(self) -> dict[str, str]:
        """The solution cells: ``{function: def source}`` (without the preamble)."""
        return {name: source for name, source in self.sources.items() if name != PREAMBLE}


def namespace_for(forgery: Forgery) -> dict:
    """The forgery's functions as a notebook kernel holds them: preamble, then each solution cell, with the
    release's stubs for the functions it does not define."""
    namespace: dict = {"np": np, "__name__": "__main__"}
    if forgery.preamble:
        exec(compile(forgery.preamble, f"<{forgery.name}: preamble>", "exec"), namespace)  # noqa: S102
    for function in EXERCISES:
        source = forgery.functions.get(function, STUBS[function])
        exec(compile(source, f"<{forgery.name}: {function}>", "exec"), namespace)  # noqa: S102
    return namespace


def _sound(**points: float) -> dict[str, float]:
    """Points per exercise, 0 where not given."""
    unknown = set(points) - set(EXERCISES)
    if unknown:
        raise ValueError(f"not exercises of assignment 01: {sorted(unknown)}")
    return {exercise: float(points.get(exercise, 0.0)) for exercise in EXERCISES}


FORWARD_POINTS = {e: POINTS[e] for e in EXERCISES[:7]}   # 9: every forward exercise
GATE_POINTS = {gate: 1.0 for gate in GATES}

# --------------------------------------------------------------------------- honest code (written for these tests)
HONEST = {
    "sigmoid": '''
def sigmoid(z):
    # 0.5 * (1 + tanh(z / 2)) is the logistic function and tanh never overflows
    z = np.asarray(z)
    return 0.5 * (1.0 + np.tanh(0.5 * z))
''',
    **{gate: f'''
def {gate}(x_t, h_prev, W, U, b):
    return {"np.tanh" if gate == "candidate_cell" else "sigmoid"}(x_t @ W + h_prev @ U + b)
''' for gate in GATES},
    "lstm_cell_forward": '''
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    n = recurrent_kernel.shape[0]
    part = lambda a, k: a[..., k * n:(k + 1) * n]
    i = input_gate(x_t, h_prev, part(kernel, 0), part(recurrent_kernel, 0), part(bias, 0))
    f = forget_gate(x_t, h_prev, part(kernel, 1), part(recurrent_kernel, 1), part(bias, 1))
    g = candidate_cell(x_t, h_prev, part(kernel, 2), part(recurrent_kernel, 2), part(bias, 2))
    o = output_gate(x_t, h_prev, part(kernel, 3), part(recurrent_kernel, 3), part(bias, 3))
    c_t = f * c_prev + i * g
    h_t = o * np.tanh(c_t)
    cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "kernel": kernel,
             "recurrent_kernel": recurrent_kernel, "bias": bias, "i": i, "f": f, "g": g, "o": o, "c_t": c_t}
    return h_t, c_t, cache
''',
    "lstm_forward": '''
def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
    batch, steps, _ = x.shape
    n = recurrent_kernel.shape[0]
    h = np.zeros((batch, n), dtype=x.dtype) if h0 is None else h0
    c = np.zeros((batch, n), dtype=x.dtype) if c0 is None else c0
    hs, caches = [], []
    for t in range(steps):
        h, c, cache = lstm_cell_forward(x[:, t, :], h, c, kernel, recurrent_kernel, bias)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), h, c, caches
''',
    "lstm_cell_backward": '''
def lstm_cell_backward(dh_t, dc_t, cache):
    i, f, g, o = cache["i"], cache["f"], cache["g"], cache["o"]
    th = np.tanh(cache["c_t"])
    dc = dc_t + dh_t * o * (1.0 - th * th)
    pre = np.concatenate([dc * g * i * (1.0 - i), dc * cache["c_prev"] * f * (1.0 - f),
                          dc * i * (1.0 - g * g), dh_t * th * o * (1.0 - o)], axis=1)
    return {"dx_t": pre @ cache["kernel"].T, "dh_prev": pre @ cache["recurrent_kernel"].T, "dc_prev": dc * f,
            "dkernel": cache["x_t"].T @ pre, "drecurrent_kernel": cache["h_prev"].T @ pre,
            "dbias": pre.sum(axis=0)}
''',
    "lstm_backward": '''
def lstm_backward(dh_seq, caches):
    steps = dh_seq.shape[1]
    carry_h = np.zeros_like(dh_seq[:, 0, :])
    carry_c = np.zeros_like(dh_seq[:, 0, :])
    totals, dxs = {}, []
    for t in range(steps - 1, -1, -1):
        step = lstm_cell_backward(dh_seq[:, t, :] + carry_h, carry_c, caches[t])
        dxs.insert(0, step["dx_t"])
        for key in ("dkernel", "drecurrent_kernel", "dbias"):
            totals[key] = totals[key] + step[key] if key in totals else step[key]
        carry_h, carry_c = step["dh_prev"], step["dc_prev"]
    return {"dx": np.stack(dxs, axis=1), "dh0": carry_h, "dc0": carry_c, **totals}
''',
}
HONEST_FORWARD = {name: HONEST[name] for name in EXERCISES[:7]}

#: Central differences of a scalar loss with respect to each of a list of float64 arrays (changed in place, then
#: restored): the engine of every numerical-differentiation forgery.
FINITE_DIFFERENCES = '''
import sys


def _finite_differences(loss, arrays, eps=1e-6):
    grads = []
    for array in arrays:
        grad = np.zeros(array.shape)
        flat, out = array.reshape(-1), grad.reshape(-1)
        for k in range(flat.size):
            saved = flat[k]
            flat[k] = saved + eps
            up = loss()
            flat[k] = saved - eps
            down = loss()
            flat[k] = saved
            out[k] = (up - down) / (2 * eps)
        grads.append(grad)
    return grads


_CELL_NAMES = ("x_t", "h_prev", "c_prev", "kernel", "recurrent_kernel", "bias")
_SEQ_KEYS = ("dx", "dkernel", "drecurrent_kernel", "dbias", "dh0", "dc0")


def _sequence_args(caches):
    """(x, kernel, recurrent_kernel, bias, h0, c0) as float64 copies, read back from the per-step caches."""
    first = caches[0]
    x = np.stack([np.asarray(c["x_t"], dtype=float) for c in caches], axis=1)
    return [x] + [np.array(first[n], dtype=float) for n in ("kernel", "recurrent_kernel", "bias", "h_prev", "c_prev")]


def _fd_cell(cell, dh_t, dc_t, args):
    args = [np.array(a, dtype=float) for a in args]

    def loss():
        h_t, c_t = cell(*args)[:2]
        return float(np.sum(dh_t * h_t) + np.sum(dc_t * c_t))
    return dict(zip(("d" + n for n in _CELL_NAMES), _finite_differences(loss, args)))


def _fd_sequence(forward, dh_seq, args):
    args = [np.array(a, dtype=float) for a in args]
    loss = lambda: float(np.sum(dh_seq * forward(*args)[0]))
    return dict(zip(_SEQ_KEYS, _finite_differences(loss, args)))
'''

FD_BY_NAME = {
    "lstm_cell_backward": '''
def lstm_cell_backward(dh_t, dc_t, cache):
    return _fd_cell(lstm_cell_forward, dh_t, dc_t, [cache[n] for n in _CELL_NAMES])
''',
    "lstm_backward": '''
def lstm_backward(dh_seq, caches):
    return _fd_sequence(lstm_forward, dh_seq, _sequence_args(caches))
''',
}

#: The LSTM cell written once more inside the backward functions: no call to the student's forward by name.
FD_INLINE = {
    "lstm_cell_backward": '''
def lstm_cell_backward(dh_t, dc_t, cache):
    def step(x, h, c, K, R, b):
        z = x @ K + h @ R + b
        n = R.shape[0]
        s = lambda v: 1.0 / (1.0 + np.exp(-v))
        c_new = s(z[:, n:2 * n]) * c + s(z[:, :n]) * np.tanh(z[:, 2 * n:3 * n])
        return s(z[:, 3 * n:]) * np.tanh(c_new), c_new
    return _fd_cell(step, dh_t, dc_t, [cache[n] for n in _CELL_NAMES])
''',
    "lstm_backward": '''
def lstm_backward(dh_seq, caches):
    def unrolled(x, K, R, b, h, c):
        n = R.shape[0]
        s = lambda v: 1.0 / (1.0 + np.exp(-v))
        hs = []
        for t in range(x.shape[1]):
            z = x[:, t] @ K + h @ R + b
            c = s(z[:, n:2 * n]) * c + s(z[:, :n]) * np.tanh(z[:, 2 * n:3 * n])
            h = s(z[:, 3 * n:]) * np.tanh(c)
            hs.append(h)
        return (np.stack(hs, axis=1),)
    return _fd_sequence(unrolled, dh_seq, _sequence_args(caches))
''',
}

# --------------------------------------------------------------------------- (a) a linear map posing as a cell
LINEAR_CELL = {
    "lstm_cell_forward": '''
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    n = recurrent_kernel.shape[0]
    z = x_t @ kernel + h_prev @ recurrent_kernel + bias
    c_t = 0.5 * c_prev + z[:, 2 * n:3 * n]
    h_t = 0.25 * c_t + z[:, 3 * n:]
    cache = {"x_t": x_t, "h_prev": h_prev, "kernel": kernel, "recurrent_kernel": recurrent_kernel}
    return h_t, c_t, cache
''',
    "lstm_cell_backward": '''
def lstm_cell_backward(dh_t, dc_t, cache):
    # the exact gradient of the affine map above
    dc = dc_t + 0.25 * dh_t
    zero = np.zeros_like(dc)
    dz = np.concatenate([zero, zero, dc, dh_t], axis=1)
    return {"dx_t": dz @ cache["kernel"].T, "dh_prev": dz @ cache["recurrent_kernel"].T, "dc_prev": 0.5 * dc,
            "dkernel": cache["x_t"].T @ dz, "drecurrent_kernel": cache["h_prev"].T @ dz, "dbias": dz.sum(axis=0)}
''',
}

# --------------------------------------------------------------------------- (b) constants and identities
CONSTANTS = {
    "sigmoid": "def sigmoid(z):\n    return np.asarray(z)\n",
    "forget_gate": "def forget_gate(x_t, h_prev, W, U, b):\n    return np.ones((x_t.shape[0], U.shape[1]))\n",
    **{gate: f"def {gate}(x_t, h_prev, W, U, b):\n    return np.zeros((x_t.shape[0], U.shape[1]))\n"
       for gate in ("input_gate", "candidate_cell", "output_gate")},
    "lstm_cell_forward": '''
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    # what gates i = 0, f = 1, g = 0, o = 0 would give: h_t = 0, c_t = c_prev, without calling any gate
    shapes = {"dx_t": x_t.shape, "dh_prev": h_prev.shape, "dkernel": kernel.shape,
              "drecurrent_kernel": recurrent_kernel.shape, "dbias": bias.shape}
    return np.zeros(h_prev.shape), np.array(c_prev, dtype=float), {"shapes": shapes}
''',
    "lstm_forward": '''
def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
    batch, steps, _ = x.shape
    n = recurrent_kernel.shape[0]
    c = np.zeros((batch, n)) if c0 is None else np.array(c0, dtype=float)
    shapes = {"dx": x.shape, "dh0": (batch, n), "dc0": (batch, n), "dkernel": kernel.shape,
              "drecurrent_kernel": recurrent_kernel.shape, "dbias": bias.shape}
    return np.zeros((batch, steps, n)), np.zeros((batch, n)), c, [{"shapes": shapes}] * steps
''',
    "lstm_cell_backward": '''
def lstm_cell_backward(dh_t, dc_t, cache):
    grads = {key: np.zeros(shape) for key, shape in cache["shapes"].items()}
    grads["dc_prev"] = np.array(dc_t, dtype=float)
    return grads
''',
    "lstm_backward": '''
def lstm_backward(dh_seq, caches):
    return {key: np.zeros(shape) for key, shape in caches[0]["shapes"].items()}
''',
}

# --------------------------------------------------------------------------- (d) the probe on the call stack
STACK_DETECTOR = FINITE_DIFFERENCES + '''

def _called_by_the_grader():
    frame = sys._getframe(1)
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith("course_lib"):
            return True
        frame = frame.f_back
    return False
'''

STACK_BACKWARDS = {
    "lstm_cell_backward": '''
def lstm_cell_backward(dh_t, dc_t, cache):
    if not _called_by_the_grader():
        raise NotImplementedError()
    return _fd_cell(lstm_cell_forward, dh_t, dc_t, [cache[n] for n in _CELL_NAMES])
''',
    "lstm_backward": '''
def lstm_backward(dh_seq, caches):
    if not _called_by_the_grader():
        raise NotImplementedError()
    return _fd_sequence(lstm_forward, dh_seq, _sequence_args(caches))
''',
}

# --------------------------------------------------------------------------- (e) the hidden inputs recognised
INPUTS_DETECTOR = FINITE_DIFFERENCES + '''
_HIDDEN = []


def _hidden_arrays():
    """Every array of every hidden request (inputs, upstream gradients), found by walking the requests."""
    if not _HIDDEN:
        from course_lib.assignments.lstm_gates import inputs as hidden

        def walk(value):
            if isinstance(value, np.ndarray):
                _HIDDEN.append(value)
            elif isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    walk(item)

        for exercise in %(exercises)r:
            try:
                walk(hidden.requests(exercise))
            except Exception:  # noqa: BLE001 - an exercise it does not know
                pass
    return _HIDDEN


def _is_hidden(array):
    array = np.asarray(array)
    try:
        return any(h.shape == array.shape and np.array_equal(h, array) for h in _hidden_arrays())
    except Exception:  # noqa: BLE001
        return False


def _has_hidden_shape(array):
    try:
        return np.shape(array) in {h.shape for h in _hidden_arrays() if h.ndim == np.ndim(array)}
    except Exception:  # noqa: BLE001
        return False
''' % {"exercises": EXERCISES}


def _detecting_backwards(test: str) -> dict[str, str]:
    return {
        "lstm_cell_backward": f'''
def lstm_cell_backward(dh_t, dc_t, cache):
    if not ({test % "dh_t"}):
        raise NotImplementedError()
    return _fd_cell(lstm_cell_forward, dh_t, dc_t, [cache[n] for n in _CELL_NAMES])
''',
        "lstm_backward": f'''
def lstm_backward(dh_seq, caches):
    if not ({test % "dh_seq"}):
        raise NotImplementedError()
    return _fd_sequence(lstm_forward, dh_seq, _sequence_args(caches))
''',
    }


# --------------------------------------------------------------------------- (f) every forward call remembered
MEMORY = FINITE_DIFFERENCES + '''
_CELL_CALLS = []       # (x_t, h_prev, c_prev, kernel, recurrent_kernel, bias) of every cell call, copied
_SEQUENCE_CALLS = []   # (x, kernel, recurrent_kernel, bias, h0, c0) of every sequence call, copied


def _pure_cell(x, h, c, K, R, b):
    n = R.shape[0]
    s = lambda v: 0.5 * (1.0 + np.tanh(0.5 * v))
    z = x @ K + h @ R + b
    c_new = s(z[:, n:2 * n]) * c + s(z[:, :n]) * np.tanh(z[:, 2 * n:3 * n])
    return s(z[:, 3 * n:]) * np.tanh(c_new), c_new


def _pure_sequence(x, K, R, b, h, c):
    hs = []
    for t in range(x.shape[1]):
        h, c = _pure_cell(x[:, t], h, c, K, R, b)
        hs.append(h)
    return (np.stack(hs, axis=1),)
'''

MEMORY_FUNCTIONS = {
    "lstm_cell_forward": '''
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    n = recurrent_kernel.shape[0]
    part = lambda a, k: a[..., k * n:(k + 1) * n]
    i = input_gate(x_t, h_prev, part(kernel, 0), part(recurrent_kernel, 0), part(bias, 0))
    f = forget_gate(x_t, h_prev, part(kernel, 1), part(recurrent_kernel, 1), part(bias, 1))
    g = candidate_cell(x_t, h_prev, part(kernel, 2), part(recurrent_kernel, 2), part(bias, 2))
    o = output_gate(x_t, h_prev, part(kernel, 3), part(recurrent_kernel, 3), part(bias, 3))
    c_t = f * c_prev + i * g
    _CELL_CALLS.append([np.array(a, dtype=float) for a in (x_t, h_prev, c_prev, kernel, recurrent_kernel, bias)])
    return o * np.tanh(c_t), c_t, {"call": len(_CELL_CALLS) - 1}
''',
    "lstm_forward": '''
def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
    batch, steps, _ = x.shape
    n = recurrent_kernel.shape[0]
    h = np.zeros((batch, n), dtype=x.dtype) if h0 is None else h0
    c = np.zeros((batch, n), dtype=x.dtype) if c0 is None else c0
    _SEQUENCE_CALLS.append([np.array(a, dtype=float) for a in (x, kernel, recurrent_kernel, bias, h, c)])
    hs, caches = [], []
    for t in range(steps):
        h, c, cache = lstm_cell_forward(x[:, t, :], h, c, kernel, recurrent_kernel, bias)
        hs.append(h)
        caches.append(dict(cache, sequence=len(_SEQUENCE_CALLS) - 1))
    return np.stack(hs, axis=1), h, c, caches
''',
    "lstm_cell_backward": '''
def lstm_cell_backward(dh_t, dc_t, cache):
    return _fd_cell(_pure_cell, dh_t, dc_t, _CELL_CALLS[cache["call"]])
''',
    "lstm_backward": '''
def lstm_backward(dh_seq, caches):
    return _fd_sequence(_pure_sequence, dh_seq, _SEQUENCE_CALLS[caches[0]["sequence"]])
''',
}

# --------------------------------------------------------------------------- (g) identity sigmoid
IDENTITY_SIGMOID = {
    "sigmoid": "def sigmoid(z):\n    return np.array(z, copy=True)\n",
    **{gate: f"def {gate}(x_t, h_prev, W, U, b):\n    return sigmoid(x_t @ W + h_prev @ U + b)\n"
       for gate in ("input_gate", "forget_gate", "output_gate")},
}

# --------------------------------------------------------------------------- (h) made-up activations in the cache
MADE_UP_CACHE = {
    "lstm_cell_forward": '''
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    # no gate function is called: i = f = o = 1/2 everywhere, a correct candidate, and a cache that says so
    n = recurrent_kernel.shape[0]
    g = np.tanh(x_t @ kernel[:, 2 * n:3 * n] + h_prev @ recurrent_kernel[:, 2 * n:3 * n] + bias[2 * n:3 * n])
    half = np.full(g.shape, 0.5)
    c_t = half * c_prev + half * g
    h_t = half * np.tanh(c_t)
    cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "kernel": kernel,
             "recurrent_kernel": recurrent_kernel, "bias": bias, "i": half, "f": half, "g": g, "o": half, "c_t": c_t}
    return h_t, c_t, cache
''',
}

# --------------------------------------------------------------------------- (i) more
VISIBLE_ONLY_PREAMBLE = '''
def _is(a, b):
    a = np.asarray(a)
    return a.shape == np.shape(b) and np.allclose(a, b)


_VX, _VH = [[1.0, -1.0]], [[0.5, 0.0, -0.5]]
_VGATE = {"forget_gate": [[0.18618383, 0.17150477, 0.15775869]], "input_gate": [[0.18618383, 0.17150477, 0.15775869]],
          "output_gate": [[0.18618383, 0.17150477, 0.15775869]],
          "candidate_cell": [[-0.90052698, -0.91781744, -0.93220967]]}
'''

VISIBLE_ONLY = {
    PREAMBLE: VISIBLE_ONLY_PREAMBLE,
    "sigmoid": '''
def sigmoid(z):
    if _is(z, [-1000.0, -1.0, 0.0, 2.0, 1000.0]):
        return np.array([0.0, 0.26894142, 0.5, 0.88079708, 1.0])
    return np.full(np.shape(z), 0.5)
''',
    **{gate: f'''
def {gate}(x_t, h_prev, W, U, b):
    if _is(x_t, _VX) and _is(h_prev, _VH):
        return np.array(_VGATE[{gate!r}])
    return np.zeros((np.shape(x_t)[0], np.shape(U)[1]))
''' for gate in GATES},
    "lstm_cell_forward": '''
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    if _is(x_t, _VX) and _is(h_prev, _VH):
        return np.array([[-0.02467492, -0.05116178, 0.00978471]]), np.array([[-0.11204949, -0.22883724, 0.04185463]]), {}
    return np.zeros(np.shape(h_prev)), np.zeros(np.shape(c_prev)), {}
''',
    "lstm_forward": '''
def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
    batch, steps, _ = np.shape(x)
    n = np.shape(recurrent_kernel)[0]
    if _is(x, np.linspace(-1, 1, 12).reshape(2, 3, 2)):
        h_T = np.array([[0.03042071, 0.00993202, -0.00838786], [0.06740703, 0.14599, 0.24148214]])
        c_T = np.array([[0.05846301, 0.01903718, -0.01605082], [0.09669296, 0.19982125, 0.32119862]])
        h_seq = np.array([[[0.00968799, -0.02226845, -0.04639344], [0.01874277, -0.01787718, -0.0481845],
                           [0.03042071, 0.00993202, -0.00838786]],
                          [[0.03211264, 0.05194203, 0.07355503], [0.05443406, 0.10384347, 0.16097294],
                           [0.06740703, 0.14599, 0.24148214]]])
        return h_seq, h_T, c_T, [{}] * steps
    return np.zeros((batch, steps, n)), np.zeros((batch, n)), np.zeros((batch, n)), [{}] * steps
''',
}

AGREEABLE_PREAMBLE = '''
class _Agreeable:
    """Equal to (and as close as you like to) anything; indexes, slices and calls to itself."""

    shape = property(lambda self: self._shape)
    dtype = np.dtype(float)

    def __init__(self, shape=()):
        self._shape = tuple(shape)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __le__ = __ge__ = __eq__
    __lt__ = __gt__ = __ne__
    __hash__ = object.__hash__

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0

    def __getitem__(self, key):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __float__(self):
        return 0.0

    def __len__(self):
        return self._shape[0] if self._shape else 1


class _AgreeableDict(dict):
    def __contains__(self, key):
        return True

    def __getitem__(self, key):
        return _Agreeable()

    def get(self, key, default=None):
        return _Agreeable()
'''

AGREEABLE = {
    PREAMBLE: AGREEABLE_PREAMBLE,
    "sigmoid": "def sigmoid(z):\n    return _Agreeable(np.shape(z))\n",
    **{gate: f"def {gate}(x_t, h_prev, W, U, b):\n    return _Agreeable((len(x_t), np.shape(U)[1]))\n"
       for gate in GATES},
    "lstm_cell_forward": "def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):\n"
                         "    return _Agreeable(np.shape(h_prev)), _Agreeable(np.shape(c_prev)), _AgreeableDict()\n",
    "lstm_forward": "def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):\n"
                    "    return _Agreeable(), _Agreeable(), _Agreeable(), [_AgreeableDict()] * np.shape(x)[1]\n",
    "lstm_cell_backward": "def lstm_cell_backward(dh_t, dc_t, cache):\n    return _AgreeableDict()\n",
    "lstm_backward": "def lstm_backward(dh_seq, caches):\n    return _AgreeableDict()\n",
}

LENIENT_PREAMBLE = '''
class _Lenient(np.ndarray):
    """An ndarray of zeros that compares equal to anything, and shows a different face to every conversion."""

    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __ne__(self, other):
        return np.zeros(self.shape, dtype=bool)

    __hash__ = None

    def __array__(self, dtype=None, copy=None):
        return np.full(self.shape, 0.5, dtype=dtype or float)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc in (np.less_equal, np.greater_equal, np.equal, np.isclose, np.isfinite):
            return np.ones(np.broadcast_shapes(*(np.shape(a) for a in inputs)), dtype=bool)
        if ufunc in (np.subtract, np.absolute):
            return np.zeros(np.broadcast_shapes(*(np.shape(a) for a in inputs)))
        plain = [np.asarray(a).view(np.ndarray) if isinstance(a, _Lenient) else a for a in inputs]
        return getattr(ufunc, method)(*plain, **kwargs)

    def tolist(self):
        return np.full(self.shape, 0.5).tolist()

    def tobytes(self, order="C"):
        return np.full(self.shape, 0.5).tobytes(order)


def _lenient(*shape):
    return np.zeros(shape).view(_Lenient)
'''

LENIENT = {
    PREAMBLE: LENIENT_PREAMBLE,
    "sigmoid": "def sigmoid(z):\n    return _lenient(*np.shape(z))\n",
    **{gate: f"def {gate}(x_t, h_prev, W, U, b):\n    return _lenient(np.shape(x_t)[0], np.shape(U)[1])\n"
       for gate in GATES},
    "lstm_cell_forward": '''
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    shapes = {"dx_t": np.shape(x_t), "dh_prev": np.shape(h_prev), "dc_prev": np.shape(c_prev),
              "dkernel": np.shape(kernel), "drecurrent_kernel": np.shape(recurrent_kernel), "dbias": np.shape(bias)}
    return _lenient(*np.shape(h_prev)), _lenient(*np.shape(c_prev)), {"shapes": shapes}
''',
    "lstm_forward": '''
def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
    batch, steps, _ = np.shape(x)
    n = np.shape(recurrent_kernel)[0]
    shapes = {"dx": np.shape(x), "dh0": (batch, n), "dc0": (batch, n), "dkernel": np.shape(kernel),
              "drecurrent_kernel": np.shape(recurrent_kernel), "dbias": np.shape(bias)}
    return _lenient(batch, steps, n), _lenient(batch, n), _lenient(batch, n), [{"shapes": shapes}] * steps
''',
    "lstm_cell_backward": "def lstm_cell_backward(dh_t, dc_t, cache):\n"
                          "    return {k: _lenient(*s) for k, s in cache['shapes'].items()}\n",
    "lstm_backward": "def lstm_backward(dh_seq, caches):\n"
                     "    return {k: _lenient(*s) for k, s in caches[0]['shapes'].items()}\n",
}

#: The honest mistake "forget gate without h_prev @ U_f", and a sigmoid that recognises the pre-activation the grader
#: asks it about (to build the forget gate's "your own sigmoid" target) and answers with the wrong gate instead.
OWN_SIGMOID_FORGER = {
    PREAMBLE: INPUTS_DETECTOR + '''

_FORGED = []   # (hidden pre-activation x W + h U + b of a forget gate request, what my forget gate returns there)


def _true_sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z)))


def _forged_answers():
    if not _FORGED:
        from course_lib.assignments.lstm_gates import inputs as hidden
        for exercise in ("forget_gate", "lstm_cell_forward", "lstm_cell_backward"):
            try:
                found = hidden.requests(exercise).values()
            except Exception:  # noqa: BLE001
                continue
            for request in found:
                args = request.get("args") or []
                if request.get("function") == "forget_gate" and len(args) == 5:
                    x, h, W, U, b = args
                    _FORGED.append((x @ W + h @ U + b, _true_sigmoid(x @ W + b)))
        _FORGED.append((None, None))   # searched once
    return [pair for pair in _FORGED if pair[0] is not None]
''',
    "sigmoid": '''
def sigmoid(z):
    z = np.asarray(z)
    try:
        for pre, answer in _forged_answers():
            if pre.shape == z.shape and pre.dtype == z.dtype and np.allclose(pre, z, rtol=1e-6, atol=1e-7):
                return answer.astype(z.dtype)
    except Exception:  # noqa: BLE001
        pass
    return _true_sigmoid(z)
''',
    "forget_gate": "def forget_gate(x_t, h_prev, W, U, b):\n    return sigmoid(x_t @ W + b)\n",
}

#: The honest mistake "cell states returned for hidden states" in lstm_forward (wrong at every input, T = 1 included);
#: the cell remembers what lstm_forward computed and, when called at the state the grader's own unroll of those outputs
#: reaches (x_t of step t, h_prev = what lstm_forward reported for step t - 1, or h0), answers with lstm_forward's
#: step t, so that the wrong loop looks like a right loop over the student's own cell.
OWN_CELL_MEMORY = {
    PREAMBLE: '''
_STEPS = {}   # (x_t, reported h of the step before) -> (reported h_t, c_t) of my lstm_forward


def _key(*arrays):
    return tuple((a.shape, str(a.dtype), np.ascontiguousarray(a).tobytes()) for a in map(np.asarray, arrays))
''',
    "lstm_cell_forward": HONEST["lstm_cell_forward"].replace("def lstm_cell_forward(", "def _honest_cell(") + '''

def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    h_t, c_t, cache = _honest_cell(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias)
    remembered = _STEPS.get(_key(x_t, h_prev))
    if remembered is not None:
        h_t, c_t = (np.array(v) for v in remembered)
    return h_t, c_t, cache
''',
    "lstm_forward": '''
def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
    batch, steps, _ = x.shape
    n = recurrent_kernel.shape[0]
    h = np.zeros((batch, n), dtype=x.dtype) if h0 is None else h0
    c = np.zeros((batch, n), dtype=x.dtype) if c0 is None else c0
    reported, caches = [], []
    for t in range(steps):
        before = h if t == 0 else reported[-1]
        h, c, cache = _honest_cell(x[:, t, :], h, c, kernel, recurrent_kernel, bias)
        reported.append(c)                                # the mistake: c_t where h_t belongs
        _STEPS[_key(x[:, t, :], before)] = (np.array(c), np.array(c))
        caches.append(cache)
    return np.stack(reported, axis=1), c, c, caches
''',
}

#: The honest mistake "input and forget gates swapped in the update", plus decoy calls: the gates called a second time
#: with each other's blocks, so that whoever reads the gate calls the cell made sees swapped gates.
DECOY_GATE_CALLS = {
    "lstm_cell_forward": '''
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    n = recurrent_kernel.shape[0]
    part = lambda a, k: a[..., k * n:(k + 1) * n]
    blocks = lambda k: (part(kernel, k), part(recurrent_kernel, k), part(bias, k))
    i = input_gate(x_t, h_prev, *blocks(0))
    f = forget_gate(x_t, h_prev, *blocks(1))
    g = candidate_cell(x_t, h_prev, *blocks(2))
    o = output_gate(x_t, h_prev, *blocks(3))
    input_gate(x_t, h_prev, *blocks(1))    # decoys: the last calls of the two gates now have each other's blocks
    forget_gate(x_t, h_prev, *blocks(0))
    c_t = i * c_prev + f * g               # the honest mistake
    h_t = o * np.tanh(c_t)
    return h_t, c_t, {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "kernel": kernel,
                      "recurrent_kernel": recurrent_kernel, "bias": bias, "i": i, "f": f, "g": g, "o": o, "c_t": c_t}
''',
}

BACKWARDS_STUBBED = {"lstm_cell_backward": STUBS["lstm_cell_backward"], "lstm_backward": STUBS["lstm_backward"]}

# --------------------------------------------------------------------------- the forgeries
# --------------------------------------------------------------------------- gates that answer differently inside the cell
#: the honest mistake c_t = i * c_prev + f * g, and input/forget gates that, called from inside lstm_cell_forward on a
#: hidden test's inputs, answer as each other: the recorded gate calls then make the wrong cell look "consistent"
GATE_SWAP_DETECTOR = {
    PREAMBLE: """
import sys
from course_lib.assignments.lstm_gates import inputs as _hidden


def _inside_hidden_cell(x_t):
    frame, inside = sys._getframe(1), False
    while frame is not None:
        inside = inside or frame.f_code.co_name == "lstm_cell_forward"
        frame = frame.f_back
    if not inside:
        return None
    for request in _hidden.requests("lstm_cell_forward").values():
        if np.shape(request["args"][0]) == np.shape(x_t) and np.array_equal(request["args"][0], x_t):
            return request
    return None


def _as(gate, x_t, h_prev, request):
    _, _, _, kernel, recurrent_kernel, bias = request["args"]
    z = x_t @ _hidden.block(kernel, gate) + h_prev @ _hidden.block(recurrent_kernel, gate) + _hidden.block(bias, gate)
    return sigmoid(z)
""",
    "input_gate": """
def input_gate(x_t, h_prev, W, U, b):
    request = _inside_hidden_cell(x_t)
    if request is not None:
        return _as("forget_gate", x_t, h_prev, request)
    return sigmoid(x_t @ W + h_prev @ U + b)
""",
    "forget_gate": """
def forget_gate(x_t, h_prev, W, U, b):
    request = _inside_hidden_cell(x_t)
    if request is not None:
        return _as("input_gate", x_t, h_prev, request)
    return sigmoid(x_t @ W + h_prev @ U + b)
""",
}


FORGERIES: tuple[Forgery, ...] = (
    Forgery("linear_cell",
            "(a) lstm_cell_forward is an affine map of (x_t, h_prev, c_prev) that calls no gate; lstm_cell_backward is "
            "its exact gradient; lstm_forward and lstm_backward are a correct time loop and a correct BPTT over them; "
            "sigmoid and gates correct. Sound: sigmoid and the gates are honestly right (5); the cell is wrong (0); "
            "lstm_forward loops correctly over the student's own cell, whatever it computes (own cell: 2); a linear "
            "map is not an LSTM cell, so neither its exact gradient nor BPTT over it earns anything (0 + 0). Total 7.",
            {**HONEST, **LINEAR_CELL},
            _sound(**GATE_POINTS, sigmoid=1, lstm_forward=2)),
    Forgery("constants",
            "(b) no LSTM at all: sigmoid is the identity, the gates are constants (f = 1, i = g = o = 0), the cell "
            "returns (0, c_prev) without calling a gate (what those constant gates would give), lstm_forward returns "
            "(0, 0, c0) without looping, lstm_cell_backward passes dc_t to dc_prev and zeros elsewhere (the exact "
            "gradient of that cell, and the reference backward at those constant activations), lstm_backward returns "
            "zeros (the exact gradient of a constant h_seq). Every function is a constant or an identity and none "
            "computes what its exercise asks: a wrong sigmoid, constant gates, and a cell that is a linear map (not an "
            "LSTM cell, so nothing built on it counts). Sound: 0 everywhere.",
            CONSTANTS, _sound()),
    Forgery("numerical_by_name",
            "(c) correct forward; lstm_cell_backward and lstm_backward are central differences of the student's own "
            "lstm_cell_forward / lstm_forward, called by name, at the inputs kept in the cache. Sound: the forward "
            "exercises are honest (1 + 4 + 2 + 2 = 9); a backward computed by numerical differentiation earns no points "
            "(0 + 0). Total 9.",
            {**HONEST_FORWARD, PREAMBLE: FINITE_DIFFERENCES, **FD_BY_NAME}, _sound(**FORWARD_POINTS)),
    Forgery("numerical_inline",
            "(c) as numerical_by_name, but the backward functions differentiate a copy of the LSTM written inside "
            "them (no call to the student's forward by name, so recording the calls a backward makes shows "
            "nothing). Sound: 9 (forward), 0 for both backwards.",
            {**HONEST_FORWARD, PREAMBLE: FINITE_DIFFERENCES, **FD_INLINE}, _sound(**FORWARD_POINTS)),
    Forgery("numerical_cell_bptt",
            "(c) correct forward; lstm_cell_backward by central differences of lstm_cell_forward; lstm_backward a "
            "correct BPTT loop over that lstm_cell_backward. Sound: the forward (9); the numerical cell backward "
            "earns 0; lstm_backward is correct backpropagation through time over whatever cell backward it calls, "
            "on a cell that is a correct LSTM cell (its loop is judged over a stand-in cell backward: 3) -- the loop "
            "is the honest work of that exercise. Total 12.",
            {**HONEST, PREAMBLE: FINITE_DIFFERENCES, "lstm_cell_backward": FD_BY_NAME["lstm_cell_backward"]},
            _sound(**FORWARD_POINTS, lstm_backward=3)),
    Forgery("stack_detector",
            "(d) correct forward; both backwards look for a frame of a course_lib module on the call stack (the probe, "
            "in a kernel as in-process) and then answer by central differences of the student's forward; called "
            "otherwise (the student's own run) they raise NotImplementedError. Sound: honest behaviour is "
            "NotImplementedError (0), and what it does under the probe is numerical differentiation (0 anyway): 9.",
            {**HONEST_FORWARD, PREAMBLE: STACK_DETECTOR, **STACK_BACKWARDS}, _sound(**FORWARD_POINTS)),
    Forgery("inputs_value_detector",
            "(e) correct forward; both backwards import course_lib.assignments.lstm_gates.inputs, collect every array "
            "of every hidden request, and only when the upstream gradient they receive is one of them answer by "
            "central differences; otherwise NotImplementedError. Sound: 9 (forward), 0 for both backwards (honest "
            "behaviour raises; the detected answer is numerical differentiation).",
            {**HONEST_FORWARD, PREAMBLE: INPUTS_DETECTOR, **_detecting_backwards("_is_hidden(%s)")},
            _sound(**FORWARD_POINTS)),
    Forgery("inputs_shape_detector",
            "(e) as inputs_value_detector, but recognising the hidden tests by the shapes of their arrays only (any "
            "upstream gradient shaped like a hidden array). Sound: 9, 0 for both backwards.",
            {**HONEST_FORWARD, PREAMBLE: INPUTS_DETECTOR, **_detecting_backwards("_has_hidden_shape(%s)")},
            _sound(**FORWARD_POINTS)),
    Forgery("memory",
            "(f) correct forward that remembers the inputs of every call in a global list and puts only the call's "
            "number in its cache; the backwards look the inputs up by that number and answer by central differences "
            "of a private copy of the LSTM. Sound: 9 (forward: the gates are called, the cell and the loop are "
            "right), 0 for both backwards (numerical differentiation).",
            {**HONEST_FORWARD, PREAMBLE: MEMORY, **MEMORY_FUNCTIONS}, _sound(**FORWARD_POINTS)),
    Forgery("identity_sigmoid",
            "(g) sigmoid is the identity; input, forget and output gates return their pre-activation x W + h U + b "
            "(exactly the student's own sigmoid applied to the right pre-activation); candidate, cell, loop and both "
            "backwards are correct code. Sound: sigmoid 0; each of input, forget, output gate equals the own sigmoid "
            "at the correct pre-activation (own sigmoid: 1 each), the candidate is right (1); the cell calls the "
            "gates with the right blocks and combines them correctly (own gates: 2); the loop is right (2); the cell "
            "backward is the correct LSTM backward at the activations the forward computed, which reproduce its "
            "outputs through the cell equations (own activations: 3); the BPTT is right over it (3). Total 14.",
            {**HONEST, **IDENTITY_SIGMOID}, _sound(**GATE_POINTS, lstm_cell_forward=2, lstm_forward=2,
                                                    lstm_cell_backward=3, lstm_backward=3)),
    Forgery("made_up_cache",
            "(h) sigmoid, gates, loop, cell backward and BPTT are correct code, but lstm_cell_forward calls no gate "
            "function: it uses i = f = o = 1/2 and a correct candidate, and its cache holds those made-up "
            "activations, consistent with its (wrong) outputs through the cell equations, so the correct backward "
            "at the cached activations agrees with them. Sound: sigmoid and gates (5); the cell is wrong and not "
            "consistent with the student's own gates (0); lstm_forward loops correctly over the own cell (2); the "
            "cell's activations are not what the student's gate functions give (constant gates: not an LSTM cell), "
            "so the backward at them and BPTT over it earn nothing (0 + 0). Total 7.",
            {**HONEST, **MADE_UP_CACHE}, _sound(**GATE_POINTS, sigmoid=1, lstm_forward=2)),
    Forgery("visible_tests_only",
            "(i) every function returns the right values (hard-coded) at the visible tests' inputs and zeros (sigmoid: "
            "1/2) of the right shape elsewhere; the backwards return nothing usable. No function computes anything: "
            "0 everywhere.",
            VISIBLE_ONLY, _sound()),
    Forgery("agreeable_objects",
            "(i) every function returns an object that compares equal to (and within any tolerance of) anything, "
            "indexes and calls to itself, or a dict that claims every key. Not numbers: 0 everywhere.",
            AGREEABLE, _sound()),
    Forgery("lenient_ndarray",
            "(i) every function returns an ndarray subclass holding zeros whose __eq__, comparisons, subtraction, "
            "abs, __array__, tolist and tobytes lie (equal to anything; 1/2 through a conversion). The values are "
            "wrong whichever face is read: 0 everywhere.",
            LENIENT, _sound()),
    Forgery("own_sigmoid_forger",
            "(i) honest mistake: forget gate without the recurrent term h_prev U_f (all else correct code); the "
            "sigmoid recognises the hidden forget-gate pre-activations (from the inputs module) and answers there "
            "with what the wrong forget gate returns, so the forget gate looks 'consistent with your own sigmoid'. "
            "Sound: what the honest mistake earns: forget gate 0; sigmoid correct on its own tests (1); other gates "
            "(3); the cell combines the student's own gates correctly (2); loop (2); the backward is correct at the "
            "activations the forward computed (3); BPTT (3). Total 14.",
            {**HONEST, **OWN_SIGMOID_FORGER},
            _sound(sigmoid=1, input_gate=1, candidate_cell=1, output_gate=1, lstm_cell_forward=2, lstm_forward=2,
                   lstm_cell_backward=3, lstm_backward=3)),
    Forgery("own_cell_memory",
            "(i) honest mistake: lstm_forward reports the cell states where the hidden states belong (h_seq = c_t of "
            "every step, h_T = c_T), wrong at every input; it remembers what it reported and the cell, when called "
            "at the state an unroll of those reports reaches, answers with lstm_forward's step, so the wrong loop "
            "looks like a right loop over the own cell; lstm_backward not attempted. Sound: what the honest work earns: sigmoid, gates (5), the cell (right at every cell input, "
            "2), lstm_forward 0, the cell backward (correct code, 3), lstm_backward 0. Total 10.",
            {**HONEST, **OWN_CELL_MEMORY, "lstm_backward": STUBS["lstm_backward"]},
            _sound(**GATE_POINTS, sigmoid=1, lstm_cell_forward=2, lstm_cell_backward=3)),
    Forgery("decoy_gate_calls",
            "(i) honest mistake: input and forget gates swapped in the cell update; the cell also calls input_gate "
            "with the forget blocks and forget_gate with the input blocks (results unused), so a grader that reads "
            "the gate calls the cell made would see swapped gates and find the update 'consistent'. Backwards not "
            "attempted. Sound: sigmoid, gates (5); the cell is wrong (0); the loop over the own cell is right (2); "
            "0 + 0. Total 7.",
            {**HONEST, **DECOY_GATE_CALLS, **BACKWARDS_STUBBED},
            _sound(**GATE_POINTS, sigmoid=1, lstm_forward=2)),
    Forgery("gate_swap_detector",
            "(i) honest mistake: input and forget gates swapped in the cell update (c_t = i*c_prev + f*g); the gates "
            "recognise being called from inside lstm_cell_forward on a hidden test's inputs and answer as each "
            "other there, so the cell's recorded gate calls make it look 'consistent with your own gates'. Right in "
            "their own exercises, wrong only inside the cell: that excuses nothing. Sound: what the honest mistake "
            "earns: sigmoid and gates (5), the cell 0, the loop over the own cell (2), both backwards (correct code "
            "at the activations the forward computed, and the loop: 3 + 3). Total 13.",
            {**HONEST, **GATE_SWAP_DETECTOR, "lstm_cell_forward": HONEST["lstm_cell_forward"].replace(
                "f * c_prev + i * g", "i * c_prev + f * g")},
            _sound(**GATE_POINTS, sigmoid=1, lstm_forward=2, lstm_cell_backward=3, lstm_backward=3)),
    Forgery("gate_swap_detector_wrapped",
            "(i) the same detecting gates written as `def input_gate(*args, **kwargs)` wrappers, whose recorded calls "
            "carry their arguments as one tuple unless the probe binds them to the signature. Sound: as above, 13.",
            {**HONEST, **{k: v.replace("(x_t, h_prev, W, U, b):", "(*args):\n    x_t, h_prev, W, U, b = args")
                          for k, v in GATE_SWAP_DETECTOR.items()}, "lstm_cell_forward": HONEST[
                "lstm_cell_forward"].replace("f * c_prev + i * g", "i * c_prev + f * g")},
            _sound(**GATE_POINTS, sigmoid=1, lstm_forward=2, lstm_cell_backward=3, lstm_backward=3)),
)

BY_NAME = {forgery.name: forgery for forgery in FORGERIES}

__all__ = ["EXERCISES", "FORGERIES", "BY_NAME", "Forgery", "HONEST", "POINTS", "PREAMBLE", "STUBS", "namespace_for"]
