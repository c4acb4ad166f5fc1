'''Student submissions of assignment 01 written many ways: correct code in other styles, and realistic mistakes,
each with the exercises it must cost under the grader's fairness rule.

The fairness rule, as these variants encode it:

* correct code loses nothing, whatever its style (vectorised cells that never call the gate functions, tuple or
  list caches, caches of pre-activations, keyword calls, float64 results for float32 inputs, ...);
* a mistake costs the exercise where it is made, and a later exercise only when the student's own earlier function
  *raises* on the inputs that later exercise needs;
* modifying an input argument in place is a mistake of the function that does it, and of no other;
* a cache problem of ``lstm_forward`` costs ``lstm_forward`` only (the grader judges ``lstm_backward`` on caches it
  unrolls from the student's own ``lstm_cell_forward``); a cell cache that changes when the cell is called again
  costs ``lstm_cell_forward`` only;
* a list where an array is asked costs that exercise only;
* a backward computed by finite differences of the student's own forward earns nothing in that backward;
* a forward mistake never costs a backward, and a cell-backward mistake never costs a correct ``lstm_backward``.

Each variant replaces some functions of the reference (``sources``: function name -> the full ``def``), written
as a student would, using only ``np`` and the other assignment functions. :func:`namespace_for` builds the
student's namespace: the reference with the variant's functions in their place, all calling each other.
'''
from __future__ import annotations

import textwrap
import types
from dataclasses import dataclass

from course_lib.solutions import lstm_gates as reference

#: the automatically graded exercises, in notebook order (the grader reads them from the notebook's metadata)
EXERCISES = ("sigmoid", "forget_gate", "input_gate", "candidate_cell", "output_gate", "lstm_cell_forward",
             "lstm_forward", "lstm_cell_backward", "lstm_backward")


@dataclass(frozen=True)
class Variant:
    """A whole submission: the reference with ``sources`` in place of some of its functions."""

    name: str
    kind: str  # "correct" or "mistake"
    sources: dict[str, str]  # function name -> full `def` source replacing the reference's
    costs: frozenset[str]  # exercises that must lose points; empty for correct
    description: str

    def __post_init__(self):
        if self.kind not in ("correct", "mistake"):
            raise ValueError(f"variant {self.name}: kind must be 'correct' or 'mistake', got {self.kind!r}")
        if (self.kind == "correct") == bool(self.costs):
            raise ValueError(f"variant {self.name}: a correct variant costs nothing, a mistake costs something "
                             f"(kind {self.kind!r}, costs {sorted(self.costs)})")
        stray = sorted(set(self.sources) - set(EXERCISES)) + sorted(self.costs - set(EXERCISES))
        if stray:
            raise ValueError(f"variant {self.name}: {stray} are not exercises of assignment 01 {EXERCISES}")


def _variant(name: str, kind: str, costs: tuple[str, ...], description: str, **sources: str) -> Variant:
    return Variant(name, kind, {f: textwrap.dedent(s).strip("\n") + "\n" for f, s in sources.items()},
                   frozenset(costs), description)


def correct(name: str, description: str, **sources: str) -> Variant:
    return _variant(name, "correct", (), description, **sources)


def mistake(name: str, costs: tuple[str, ...], description: str, **sources: str) -> Variant:
    return _variant(name, "mistake", costs, description, **sources)


def namespace_for(variant: Variant) -> dict:
    """The student's namespace: the reference solution's names with the variant's functions exec'd over them.

    The reference's functions are rebound to the new namespace (same code, new globals), so that, as in a notebook,
    every function calls whatever the namespace holds: the reference ``lstm_forward`` calls the variant's
    ``lstm_cell_forward``.
    """
    namespace = dict(vars(reference))
    for name, value in list(namespace.items()):
        if isinstance(value, types.FunctionType) and value.__module__ == reference.__name__:
            rebound = types.FunctionType(value.__code__, namespace, value.__name__, value.__defaults__,
                                         value.__closure__)
            rebound.__kwdefaults__ = value.__kwdefaults__
            rebound.__doc__ = value.__doc__
            namespace[name] = rebound
    namespace["__name__"] = f"student_{variant.name}"
    for function, source in variant.sources.items():
        exec(compile(source, f"<{variant.name}:{function}>", "exec"), namespace)  # noqa: S102 - test fixture code
        if not isinstance(namespace.get(function), types.FunctionType) or \
                namespace[function].__code__.co_filename != f"<{variant.name}:{function}>":
            raise ValueError(f"variant {variant.name}: the source given for {function} does not define {function}")
    return namespace


# --------------------------------------------------------------------------- building blocks shared by variants
# A vectorised cell that never calls the gate functions, with the reference's cache keys (so the reference's
# backward reads it).
_VECTORISED_CELL = """
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    units = h_prev.shape[1]
    z = x_t @ kernel + h_prev @ recurrent_kernel + bias
    i = sigmoid(z[:, :units])
    f = sigmoid(z[:, units:2 * units])
    g = np.tanh(z[:, 2 * units:3 * units])
    o = sigmoid(z[:, 3 * units:])
    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    h_t = o * tanh_c
    cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "kernel": kernel,
             "recurrent_kernel": recurrent_kernel, "i": i, "f": f, "g": g, "o": o, "tanh_c": tanh_c}
    return h_t, c_t, cache
"""

# The reference's cell with the bias kept in the cache too (what a finite-difference backward needs).
_CELL_CACHING_BIAS = """
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
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
    cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "kernel": kernel,
             "recurrent_kernel": recurrent_kernel, "bias": bias,
             "i": i, "f": f, "g": g, "o": o, "tanh_c": tanh_c}
    return h_t, c_t, cache
"""

# A time loop that does not depend on the cache's type (reads no key of it).
_ANY_CACHE_BACKWARD = """
def lstm_backward(dh_seq, caches):
    T = dh_seq.shape[1]
    dh = np.zeros_like(dh_seq[:, 0])
    dc = np.zeros_like(dh_seq[:, 0])
    dx = [None] * T
    totals = None
    for t in range(T - 1, -1, -1):
        step = lstm_cell_backward(dh_seq[:, t] + dh, dc, caches[t])
        dx[t] = step["dx_t"]
        dh, dc = step["dh_prev"], step["dc_prev"]
        if totals is None:
            totals = {k: step[k].copy() for k in ("dkernel", "drecurrent_kernel", "dbias")}
        else:
            for k in totals:
                totals[k] = totals[k] + step[k]
    return {"dx": np.stack(dx, axis=1), "dh0": dh, "dc0": dc, **totals}
"""


# The reference's functions as a student would type them: the mistakes below each change a line or two.
_CELL = textwrap.dedent("""
            def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
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
                cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "kernel": kernel,
                         "recurrent_kernel": recurrent_kernel, "i": i, "f": f, "g": g, "o": o, "tanh_c": tanh_c}
                return h_t, c_t, cache
            """)

_FORWARD = textwrap.dedent("""
            def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
                batch, T, _ = x.shape
                units = recurrent_kernel.shape[0]
                h = np.zeros((batch, units), dtype=x.dtype) if h0 is None else h0
                c = np.zeros((batch, units), dtype=x.dtype) if c0 is None else c0
                h_steps, caches = [], []
                for t in range(T):
                    h, c, cache = lstm_cell_forward(x[:, t], h, c, kernel, recurrent_kernel, bias)
                    h_steps.append(h)
                    caches.append(cache)
                return np.stack(h_steps, axis=1), h, c, caches
            """)

_CELL_BACKWARD = textwrap.dedent("""
            def lstm_cell_backward(dh_t, dc_t, cache):
                i, f, g, o = cache["i"], cache["f"], cache["g"], cache["o"]
                tanh_c = cache["tanh_c"]
                do = dh_t * tanh_c
                dc = dc_t + dh_t * o * (1 - tanh_c**2)
                di = dc * g
                df = dc * cache["c_prev"]
                dg = dc * i
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
            """)

_BACKWARD = textwrap.dedent("""
            def lstm_backward(dh_seq, caches):
                T = dh_seq.shape[1]
                dh_next = np.zeros_like(dh_seq[:, 0])
                dc_next = np.zeros_like(dh_seq[:, 0])
                dkernel = np.zeros_like(caches[0]["kernel"])
                drecurrent_kernel = np.zeros_like(caches[0]["recurrent_kernel"])
                dbias = np.zeros(dkernel.shape[1], dtype=dkernel.dtype)
                dx_steps = [None] * T
                for t in reversed(range(T)):
                    grads = lstm_cell_backward(dh_seq[:, t] + dh_next, dc_next, caches[t])
                    dx_steps[t] = grads["dx_t"]
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
            """)


def _gate(name: str, weight: str, activation: str, body: str) -> str:
    """A gate function ``name(x_t, h_prev, W_<weight>, U_<weight>, b_<weight>)`` returning ``body``."""
    return (f"def {name}(x_t, h_prev, W_{weight}, U_{weight}, b_{weight}):\n"
            f"    return {body.format(W=f'W_{weight}', U=f'U_{weight}', b=f'b_{weight}', act=activation)}\n")


_GATES = (("input_gate", "i", "sigmoid"), ("forget_gate", "f", "sigmoid"), ("candidate_cell", "c", "np.tanh"),
          ("output_gate", "o", "sigmoid"))


# --------------------------------------------------------------------------- correct code, other styles
CORRECT = (
    correct("sigmoid_via_tanh", "sigmoid as 0.5 * (1 + tanh(z / 2)): no exponential at all",
            sigmoid="""
            def sigmoid(z):
                # sigma(z) = (1 + tanh(z / 2)) / 2, and tanh never overflows
                return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z)))
            """),
    correct("sigmoid_masked_float64", "sigmoid by boolean masks on a float64 copy (float64 for float32 inputs)",
            sigmoid="""
            def sigmoid(z):
                z = np.array(z, dtype=np.float64)
                out = np.empty_like(z)
                pos = z >= 0
                out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
                ez = np.exp(z[~pos])
                out[~pos] = ez / (1.0 + ez)
                return out
            """),
    correct("sigmoid_logaddexp", "sigmoid as exp(-log(1 + exp(-z))) through np.logaddexp",
            sigmoid="""
            def sigmoid(z):
                return np.exp(-np.logaddexp(0.0, -np.asarray(z)))
            """),
    correct("gates_on_concatenated_inputs", "each gate multiplies [x_t, h_prev] by the stacked [W; U]",
            **{name: _gate(name, w, act, "{act}(np.concatenate([x_t, h_prev], axis=1) @ np.vstack([{W}, {U}]) + {b})")
               for name, w, act in _GATES}),
    correct("gates_np_dot_and_keyword_cell",
            "gates with np.dot; the cell slices the blocks by index and calls the gates with keyword arguments",
            **{name: _gate(name, w, act, "{act}(np.dot(x_t, {W}) + np.dot(h_prev, {U}) + {b})")
               for name, w, act in _GATES},
            lstm_cell_forward="""
            def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
                n = recurrent_kernel.shape[0]
                blocks = [(kernel[:, k * n:(k + 1) * n], recurrent_kernel[:, k * n:(k + 1) * n],
                           bias[k * n:(k + 1) * n]) for k in range(4)]
                i = input_gate(x_t=x_t, h_prev=h_prev, W_i=blocks[0][0], U_i=blocks[0][1], b_i=blocks[0][2])
                f = forget_gate(x_t=x_t, h_prev=h_prev, W_f=blocks[1][0], U_f=blocks[1][1], b_f=blocks[1][2])
                g = candidate_cell(x_t=x_t, h_prev=h_prev, W_c=blocks[2][0], U_c=blocks[2][1], b_c=blocks[2][2])
                o = output_gate(x_t=x_t, h_prev=h_prev, W_o=blocks[3][0], U_o=blocks[3][1], b_o=blocks[3][2])
                c_t = f * c_prev + i * g
                tanh_c = np.tanh(c_t)
                h_t = o * tanh_c
                cache = dict(x_t=x_t, h_prev=h_prev, c_prev=c_prev, kernel=kernel, recurrent_kernel=recurrent_kernel,
                             i=i, f=f, g=g, o=o, tanh_c=tanh_c)
                return h_t, c_t, cache
            """),
    correct("vectorised_cell_tuple_cache_of_preactivations",
            "one matrix product for all gates, never calling the gate functions; a tuple cache of the "
            "pre-activations; the backward recomputes sigmoid and tanh from them",
            lstm_cell_forward="""
            def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
                z = x_t @ kernel + h_prev @ recurrent_kernel + bias
                z_i, z_f, z_g, z_o = np.split(z, 4, axis=1)
                c_t = sigmoid(z_f) * c_prev + sigmoid(z_i) * np.tanh(z_g)
                h_t = sigmoid(z_o) * np.tanh(c_t)
                return h_t, c_t, (x_t, h_prev, c_prev, kernel, recurrent_kernel, z, c_t)
            """,
            lstm_cell_backward="""
            def lstm_cell_backward(dh_t, dc_t, cache):
                x_t, h_prev, c_prev, kernel, recurrent_kernel, z, c_t = cache
                z_i, z_f, z_g, z_o = np.split(z, 4, axis=1)
                i, f, g, o = sigmoid(z_i), sigmoid(z_f), np.tanh(z_g), sigmoid(z_o)
                tc = np.tanh(c_t)
                dc = dc_t + dh_t * o * (1 - tc ** 2)
                dz = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                                     dc * i * (1 - g ** 2), dh_t * tc * o * (1 - o)], axis=1)
                return {"dx_t": dz @ kernel.T, "dh_prev": dz @ recurrent_kernel.T, "dc_prev": dc * f,
                        "dkernel": x_t.T @ dz, "drecurrent_kernel": h_prev.T @ dz, "dbias": np.sum(dz, axis=0)}
            """,
            lstm_backward=_ANY_CACHE_BACKWARD),
    correct("float64_cell_list_cache_copied_then_popped",
            "the cell computes in float64 and keeps a list cache; the cell backward computes each gate's weight "
            "gradient on its own; the time loop copies the caches list and pops from the copy",
            lstm_cell_forward="""
            def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
                x_t, h_prev, c_prev = (np.asarray(a, dtype=np.float64) for a in (x_t, h_prev, c_prev))
                kernel = np.asarray(kernel, dtype=np.float64)
                recurrent_kernel = np.asarray(recurrent_kernel, dtype=np.float64)
                bias = np.asarray(bias, dtype=np.float64)
                W = np.split(kernel, 4, axis=1)
                U = np.split(recurrent_kernel, 4, axis=1)
                b = np.split(bias, 4)
                i = input_gate(x_t, h_prev, W[0], U[0], b[0])
                f = forget_gate(x_t, h_prev, W[1], U[1], b[1])
                g = candidate_cell(x_t, h_prev, W[2], U[2], b[2])
                o = output_gate(x_t, h_prev, W[3], U[3], b[3])
                c_t = f * c_prev + i * g
                h_t = o * np.tanh(c_t)
                return h_t, c_t, [i, f, g, o, c_t, x_t, h_prev, c_prev, kernel, recurrent_kernel]
            """,
            lstm_cell_backward="""
            def lstm_cell_backward(dh_t, dc_t, cache):
                i, f, g, o, c_t, x_t, h_prev, c_prev, kernel, recurrent_kernel = cache
                tanh_c = np.tanh(c_t)
                dc = dc_t + dh_t * o * (1.0 - tanh_c * tanh_c)
                d_pre = [dc * g * i * (1.0 - i),          # input gate
                         dc * c_prev * f * (1.0 - f),     # forget gate
                         dc * i * (1.0 - g * g),          # candidate
                         dh_t * tanh_c * o * (1.0 - o)]   # output gate
                W = np.split(kernel, 4, axis=1)
                U = np.split(recurrent_kernel, 4, axis=1)
                dx_t = sum(d @ Wk.T for d, Wk in zip(d_pre, W))
                dh_prev = sum(d @ Uk.T for d, Uk in zip(d_pre, U))
                return {
                    "dx_t": dx_t,
                    "dh_prev": dh_prev,
                    "dc_prev": dc * f,
                    "dkernel": np.hstack([x_t.T @ d for d in d_pre]),
                    "drecurrent_kernel": np.hstack([h_prev.T @ d for d in d_pre]),
                    "dbias": np.hstack([d.sum(axis=0) for d in d_pre]),
                }
            """,
            lstm_backward="""
            def lstm_backward(dh_seq, caches):
                caches = list(caches)  # my own copy: popping from it leaves the caller's list alone
                T = dh_seq.shape[1]
                dh_next = np.zeros(dh_seq[:, 0].shape)
                dc_next = np.zeros(dh_seq[:, 0].shape)
                dxs = []
                dkernel = drecurrent_kernel = dbias = 0
                for t in range(T - 1, -1, -1):
                    grads = lstm_cell_backward(dh_seq[:, t] + dh_next, dc_next, caches.pop())
                    dxs.insert(0, grads["dx_t"])
                    dkernel = dkernel + grads["dkernel"]
                    drecurrent_kernel = drecurrent_kernel + grads["drecurrent_kernel"]
                    dbias = dbias + grads["dbias"]
                    dh_next, dc_next = grads["dh_prev"], grads["dc_prev"]
                return {"dx": np.stack(dxs, axis=1), "dh0": dh_next, "dc0": dc_next, "dkernel": dkernel,
                        "drecurrent_kernel": drecurrent_kernel, "dbias": dbias}
            """),
    correct("reshaped_kernel_einsum_cell",
            "the cell reshapes the kernels to (., 4, units) and computes the four gates with one einsum",
            lstm_cell_forward="""
            def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
                units = recurrent_kernel.shape[0]
                K = kernel.reshape(kernel.shape[0], 4, units)
                R = recurrent_kernel.reshape(units, 4, units)
                z = np.einsum("bd,dku->bku", x_t, K) + np.einsum("bv,vku->bku", h_prev, R) + bias.reshape(4, units)
                i, f, o = sigmoid(z[:, 0]), sigmoid(z[:, 1]), sigmoid(z[:, 3])
                g = np.tanh(z[:, 2])
                c_t = f * c_prev + i * g
                tanh_c = np.tanh(c_t)
                h_t = o * tanh_c
                return h_t, c_t, {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "kernel": kernel,
                                  "recurrent_kernel": recurrent_kernel, "i": i, "f": f, "g": g, "o": o,
                                  "tanh_c": tanh_c}
            """),
    correct("forward_preallocated_float64_output",
            "lstm_forward fills a preallocated float64 h_seq (float64 for float32 inputs) and tests `h0 is None`",
            lstm_forward="""
            def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
                batch, T, _ = x.shape
                units = recurrent_kernel.shape[0]
                h = np.zeros((batch, units)) if h0 is None else h0
                c = np.zeros((batch, units)) if c0 is None else c0
                h_seq = np.zeros((batch, T, units))
                caches = []
                for t in range(T):
                    h, c, cache = lstm_cell_forward(x[:, t, :], h, c, kernel, recurrent_kernel, bias)
                    h_seq[:, t, :] = h
                    caches.append(cache)
                return h_seq, h, c, caches
            """),
    correct("forward_time_major_keyword_calls",
            "lstm_forward walks np.moveaxis(x, 1, 0), calls the cell with keyword arguments, copies the states",
            lstm_forward="""
            def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
                units = recurrent_kernel.shape[0]
                if h0 is None:
                    h0 = np.zeros((x.shape[0], units), dtype=x.dtype)
                if c0 is None:
                    c0 = np.zeros((x.shape[0], units), dtype=x.dtype)
                h, c = h0.copy(), c0.copy()
                outputs, caches = [], []
                for x_t in np.moveaxis(x, 1, 0):
                    h, c, cache = lstm_cell_forward(x_t=x_t, h_prev=h, c_prev=c, kernel=kernel,
                                                    recurrent_kernel=recurrent_kernel, bias=bias)
                    outputs.append(h)
                    caches.append(cache)
                return np.stack(outputs, axis=1), h, c, caches
            """),
    correct("backward_preallocated_einsum",
            "the cell backward uses einsum and np.hstack; the time loop preallocates dx and counts t down",
            lstm_cell_backward="""
            def lstm_cell_backward(dh_t, dc_t, cache):
                i, f, g, o, tanh_c = (cache[k] for k in ("i", "f", "g", "o", "tanh_c"))
                dc = dc_t + dh_t * o * (1 - np.square(tanh_c))
                dz = np.hstack([dc * g * i * (1 - i), dc * cache["c_prev"] * f * (1 - f),
                                dc * i * (1 - np.square(g)), dh_t * tanh_c * o * (1 - o)])
                return {"dx_t": np.einsum("bk,dk->bd", dz, cache["kernel"]),
                        "dh_prev": np.einsum("bk,uk->bu", dz, cache["recurrent_kernel"]),
                        "dc_prev": f * dc,
                        "dkernel": np.einsum("bd,bk->dk", cache["x_t"], dz),
                        "drecurrent_kernel": np.einsum("bu,bk->uk", cache["h_prev"], dz),
                        "dbias": np.einsum("bk->k", dz)}
            """,
            lstm_backward="""
            def lstm_backward(dh_seq, caches):
                batch, T, units = dh_seq.shape
                input_dim = caches[0]["kernel"].shape[0]
                dx = np.zeros((batch, T, input_dim))
                dkernel = np.zeros(caches[0]["kernel"].shape)
                drecurrent_kernel = np.zeros(caches[0]["recurrent_kernel"].shape)
                dbias = np.zeros(4 * units)
                dh_prev = np.zeros((batch, units))
                dc_prev = np.zeros((batch, units))
                for t in range(T - 1, -1, -1):
                    g = lstm_cell_backward(dh_seq[:, t, :] + dh_prev, dc_prev, caches[t])
                    dx[:, t, :] = g["dx_t"]
                    dkernel += g["dkernel"]
                    drecurrent_kernel += g["drecurrent_kernel"]
                    dbias += g["dbias"]
                    dh_prev, dc_prev = g["dh_prev"], g["dc_prev"]
                return dict(dx=dx, dh0=dh_prev, dc0=dc_prev, dkernel=dkernel, drecurrent_kernel=drecurrent_kernel,
                            dbias=dbias)
            """),
    correct("cache_keeps_c_t_backward_recomputes_tanh",
            "the cell caches c_t (not tanh(c_t)) and the blocks by name; the backward recomputes tanh(c_t)",
            lstm_cell_forward="""
            def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
                units = h_prev.shape[-1]
                gates = {}
                for k, name in enumerate("ifco"):
                    cols = slice(k * units, (k + 1) * units)
                    gates[name] = (kernel[:, cols], recurrent_kernel[:, cols], bias[cols])
                i = input_gate(x_t, h_prev, *gates["i"])
                f = forget_gate(x_t, h_prev, *gates["f"])
                g = candidate_cell(x_t, h_prev, *gates["c"])
                o = output_gate(x_t, h_prev, *gates["o"])
                c_t = f * c_prev + i * g
                h_t = o * np.tanh(c_t)
                cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "c_t": c_t, "kernel": kernel,
                         "recurrent_kernel": recurrent_kernel, "i": i, "f": f, "g": g, "o": o}
                return h_t, c_t, cache
            """,
            lstm_cell_backward="""
            def lstm_cell_backward(dh_t, dc_t, cache):
                i, f, g, o = cache["i"], cache["f"], cache["g"], cache["o"]
                tanh_c = np.tanh(cache["c_t"])
                do = dh_t * tanh_c
                dc = dc_t + dh_t * o * (1 - tanh_c ** 2)
                da_i = dc * g * i * (1 - i)
                da_f = dc * cache["c_prev"] * f * (1 - f)
                da_g = dc * i * (1 - g ** 2)
                da_o = do * o * (1 - o)
                da = np.concatenate((da_i, da_f, da_g, da_o), axis=-1)
                return {"dx_t": da @ cache["kernel"].T, "dh_prev": da @ cache["recurrent_kernel"].T,
                        "dc_prev": dc * f, "dkernel": cache["x_t"].T @ da,
                        "drecurrent_kernel": cache["h_prev"].T @ da, "dbias": da.sum(axis=0)}
            """),
    correct("everything_rewritten_compactly",
            "a whole different submission: stable sigmoid with np.where on exp(-|z|) written inline, one-line "
            "gates, a cell with a tuple cache of activations, a forward that appends, a BPTT over reversed(list)",
            sigmoid="""
            def sigmoid(z):
                e = np.exp(-np.abs(z))
                return np.where(z >= 0, 1 / (1 + e), e / (1 + e))
            """,
            **{name: _gate(name, w, act, "{act}(x_t @ {W} + h_prev @ {U} + {b})") for name, w, act in _GATES},
            lstm_cell_forward="""
            def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
                Ws, Us, bs = np.split(kernel, 4, 1), np.split(recurrent_kernel, 4, 1), np.split(bias, 4)
                i, f, g, o = (fn(x_t, h_prev, W, U, b) for fn, W, U, b in
                              zip((input_gate, forget_gate, candidate_cell, output_gate), Ws, Us, bs))
                c_t = f * c_prev + i * g
                h_t = o * np.tanh(c_t)
                return h_t, c_t, (i, f, g, o, c_t, c_prev, x_t, h_prev, kernel, recurrent_kernel)
            """,
            lstm_forward="""
            def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
                n = recurrent_kernel.shape[0]
                h = h0 if h0 is not None else np.zeros((len(x), n), x.dtype)
                c = c0 if c0 is not None else np.zeros((len(x), n), x.dtype)
                hs, caches = [], []
                for t in range(x.shape[1]):
                    h, c, cache = lstm_cell_forward(x[:, t], h, c, kernel, recurrent_kernel, bias)
                    hs += [h]
                    caches += [cache]
                return np.stack(hs, 1), h, c, caches
            """,
            lstm_cell_backward="""
            def lstm_cell_backward(dh_t, dc_t, cache):
                i, f, g, o, c_t, c_prev, x_t, h_prev, K, R = cache
                t = np.tanh(c_t)
                dc = dc_t + dh_t * o * (1 - t * t)
                dz = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                                     dh_t * t * o * (1 - o)], 1)
                return dict(dx_t=dz @ K.T, dh_prev=dz @ R.T, dc_prev=dc * f, dkernel=x_t.T @ dz,
                            drecurrent_kernel=h_prev.T @ dz, dbias=dz.sum(0))
            """,
            lstm_backward="""
            def lstm_backward(dh_seq, caches):
                dh = np.zeros_like(dh_seq[:, 0])
                dc = np.zeros_like(dh)
                out = {"dkernel": 0, "drecurrent_kernel": 0, "dbias": 0}
                dxs = []
                for t, cache in reversed(list(enumerate(caches))):
                    step = lstm_cell_backward(dh_seq[:, t] + dh, dc, cache)
                    dh, dc = step["dh_prev"], step["dc_prev"]
                    dxs.append(step["dx_t"])
                    for k in out:
                        out[k] = out[k] + step[k]
                return {"dx": np.stack(dxs[::-1], 1), "dh0": dh, "dc0": dc, **out}
            """),
)


# --------------------------------------------------------------------------- mistakes
_ALL_AFTER_FORGET = ("forget_gate", "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward")

MISTAKES = (
    # ---- sigmoid
    mistake("sigmoid_overflows", ("sigmoid",),
            "the textbook 1 / (1 + exp(-z)): right values, but exp overflows for z = -1000 (warning)",
            sigmoid="""
            def sigmoid(z):
                return 1 / (1 + np.exp(-z))
            """),
    mistake("sigmoid_sign_error", ("sigmoid",), "1 / (1 + exp(z)): the sign of the exponent flipped",
            sigmoid="""
            def sigmoid(z):
                return 1 / (1 + np.exp(z))
            """),
    mistake("sigmoid_is_tanh", ("sigmoid",), "np.tanh instead of the logistic sigmoid",
            sigmoid="""
            def sigmoid(z):
                return np.tanh(z)
            """),
    mistake("sigmoid_clips_its_argument_in_place", ("sigmoid",),
            "clips z to [-500, 500] in place before exp: right values, but the caller's array is changed",
            sigmoid="""
            def sigmoid(z):
                z = np.asarray(z)
                z[z > 500] = 500
                z[z < -500] = -500
                return 1 / (1 + np.exp(-z))
            """),
    mistake("sigmoid_python_if", ("sigmoid", "forget_gate", "input_gate", "output_gate", "lstm_cell_forward",
                                  "lstm_forward", "lstm_cell_backward", "lstm_backward"),
            "`if z >= 0:` on an array raises (truth value ambiguous), so every function calling sigmoid raises "
            "too; candidate_cell uses tanh only and is not charged",
            sigmoid="""
            def sigmoid(z):
                if z >= 0:
                    return 1 / (1 + np.exp(-z))
                else:
                    return np.exp(z) / (1 + np.exp(z))
            """),
    # ---- gates
    mistake("forget_gate_swaps_W_and_U", _ALL_AFTER_FORGET,
            "x_t @ U_f + h_prev @ W_f: raises whenever input_dim != units, and so does everything calling it",
            forget_gate="""
            def forget_gate(x_t, h_prev, W_f, U_f, b_f):
                return sigmoid(x_t @ U_f + h_prev @ W_f + b_f)
            """),
    mistake("forget_gate_swaps_W_and_U_vectorised_cell", ("forget_gate",),
            "the same raising forget gate, but the cell is vectorised and never calls it: only forget_gate pays",
            forget_gate="""
            def forget_gate(x_t, h_prev, W_f, U_f, b_f):
                return sigmoid(x_t @ U_f + h_prev @ W_f + b_f)
            """,
            lstm_cell_forward=_VECTORISED_CELL),
    mistake("forget_gate_no_bias", ("forget_gate",), "forget gate without its bias b_f",
            forget_gate="""
            def forget_gate(x_t, h_prev, W_f, U_f, b_f):
                return sigmoid(x_t @ W_f + h_prev @ U_f)
            """),
    mistake("forget_gate_one_minus", ("forget_gate",), "1 - sigmoid(...): the forget gate read as 'how much to erase'",
            forget_gate="""
            def forget_gate(x_t, h_prev, W_f, U_f, b_f):
                keep = sigmoid(x_t @ W_f + h_prev @ U_f + b_f)
                return 1 - keep
            """),
    mistake("input_gate_tanh", ("input_gate",), "tanh instead of sigmoid in the input gate",
            input_gate="""
            def input_gate(x_t, h_prev, W_i, U_i, b_i):
                return np.tanh(x_t @ W_i + h_prev @ U_i + b_i)
            """),
    mistake("input_gate_rounded_to_int", ("input_gate",),
            "the gate taken literally as an on/off switch: rounded and cast to int (0 or 1)",
            input_gate="""
            def input_gate(x_t, h_prev, W_i, U_i, b_i):
                i = sigmoid(x_t @ W_i + h_prev @ U_i + b_i)
                return np.round(i).astype(int)
            """),
    mistake("input_gate_squeezes_batch", ("input_gate",),
            "np.squeeze on the result: shape (units,) instead of (1, units) at batch 1 (the cell still broadcasts)",
            input_gate="""
            def input_gate(x_t, h_prev, W_i, U_i, b_i):
                return np.squeeze(sigmoid(x_t @ W_i + h_prev @ U_i + b_i))
            """),
    mistake("candidate_sigmoid", ("candidate_cell",), "sigmoid instead of tanh in the candidate",
            candidate_cell="""
            def candidate_cell(x_t, h_prev, W_c, U_c, b_c):
                return sigmoid(x_t @ W_c + h_prev @ U_c + b_c)
            """),
    mistake("candidate_relu", ("candidate_cell",), "ReLU instead of tanh in the candidate",
            candidate_cell="""
            def candidate_cell(x_t, h_prev, W_c, U_c, b_c):
                return np.maximum(0, x_t @ W_c + h_prev @ U_c + b_c)
            """),
    mistake("candidate_no_recurrent_term", ("candidate_cell",), "candidate without h_prev @ U_c",
            candidate_cell="""
            def candidate_cell(x_t, h_prev, W_c, U_c, b_c):
                return np.tanh(x_t @ W_c + b_c)
            """),
    mistake("output_gate_returns_list", ("output_gate",), "right values, returned as a nested list (.tolist())",
            output_gate="""
            def output_gate(x_t, h_prev, W_o, U_o, b_o):
                return sigmoid(x_t @ W_o + h_prev @ U_o + b_o).tolist()
            """),
    mistake("output_gate_bias_subtracted", ("output_gate",), "- b_o instead of + b_o",
            output_gate="""
            def output_gate(x_t, h_prev, W_o, U_o, b_o):
                return sigmoid(x_t @ W_o + h_prev @ U_o - b_o)
            """),
    # ---- lstm_cell_forward (a forward mistake never costs the backward)
    mistake("cell_vectorised_bias_added_twice", ("lstm_cell_forward",),
            "vectorised cell adding the bias to z, then again to each block",
            lstm_cell_forward="""
            def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
                units = h_prev.shape[1]
                z = x_t @ kernel + h_prev @ recurrent_kernel + bias
                z_i, z_f, z_c, z_o = [z[:, k * units:(k + 1) * units] + bias[k * units:(k + 1) * units]
                                      for k in range(4)]
                i, f, g, o = sigmoid(z_i), sigmoid(z_f), np.tanh(z_c), sigmoid(z_o)
                c_t = f * c_prev + i * g
                tanh_c = np.tanh(c_t)
                h_t = o * tanh_c
                cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "kernel": kernel,
                         "recurrent_kernel": recurrent_kernel, "i": i, "f": f, "g": g, "o": o, "tanh_c": tanh_c}
                return h_t, c_t, cache
            """),
    mistake("cell_forget_gate_from_c_prev", ("lstm_cell_forward",),
            "forget gate computed from c_prev instead of h_prev",
            lstm_cell_forward=_CELL.replace("forget_gate(x_t, h_prev,", "forget_gate(x_t, c_prev,")),
    mistake("cell_cs231n_block_order", ("lstm_cell_forward",),
            "blocks cut in the CS231n order i, f, o, g instead of Keras' i, f, c, o",
            lstm_cell_forward=_CELL.replace("W_i, W_f, W_c, W_o =", "W_i, W_f, W_o, W_c =")
            .replace("U_i, U_f, U_c, U_o =", "U_i, U_f, U_o, U_c =")
            .replace("b_i, b_f, b_c, b_o =", "b_i, b_f, b_o, b_c =")),
    mistake("cell_no_tanh_on_c", ("lstm_cell_forward",),
            "h_t = o * c_t, with c_t cached as 'tanh_c' (the backward is right for the LSTM it was taught)",
            lstm_cell_forward=_CELL.replace("tanh_c = np.tanh(c_t)", "tanh_c = c_t")),
    mistake("cell_no_output_gate", ("lstm_cell_forward",), "h_t = tanh(c_t): the output gate computed but not used",
            lstm_cell_forward=_CELL.replace("h_t = o * tanh_c", "h_t = tanh_c")),
    mistake("cell_h_prev_for_c_prev", ("lstm_cell_forward",), "c_t = f * h_prev + i * g: the wrong previous state kept",
            lstm_cell_forward=_CELL.replace("c_t = f * c_prev + i * g", "c_t = f * h_prev + i * g")),
    mistake("cell_returns_c_then_h", ("lstm_cell_forward",), "returns (c_t, h_t, cache) instead of (h_t, c_t, cache)",
            lstm_cell_forward=_CELL.replace("return h_t, c_t, cache", "return c_t, h_t, cache")),
    mistake("cell_updates_c_prev_in_place", ("lstm_cell_forward",),
            "c_prev *= f; c_prev += i * g: right h_t and c_t, but the caller's c_prev is overwritten",
            lstm_cell_forward=_CELL.replace("c_t = f * c_prev + i * g",
                                            "c_prev *= f\n    c_prev += i * g\n    c_t = c_prev")),
    mistake("cell_cache_is_a_mutable_default", ("lstm_cell_forward",),
            "the cache is a dict default argument, so every call returns the same dict, overwritten by the next call",
            lstm_cell_forward="""
            def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias, cache={}):
                W_i, W_f, W_c, W_o = np.split(kernel, 4, axis=1)
                U_i, U_f, U_c, U_o = np.split(recurrent_kernel, 4, axis=1)
                b_i, b_f, b_c, b_o = np.split(bias, 4)
                cache["i"] = input_gate(x_t, h_prev, W_i, U_i, b_i)
                cache["f"] = forget_gate(x_t, h_prev, W_f, U_f, b_f)
                cache["g"] = candidate_cell(x_t, h_prev, W_c, U_c, b_c)
                cache["o"] = output_gate(x_t, h_prev, W_o, U_o, b_o)
                c_t = cache["f"] * c_prev + cache["i"] * cache["g"]
                cache["tanh_c"] = np.tanh(c_t)
                h_t = cache["o"] * cache["tanh_c"]
                cache.update(x_t=x_t, h_prev=h_prev, c_prev=c_prev, kernel=kernel, recurrent_kernel=recurrent_kernel)
                return h_t, c_t, cache
            """),
    # ---- lstm_forward (judged with the student's own cell; its cache problems cost lstm_forward only)
    mistake("forward_caches_reversed", ("lstm_forward",), "caches built with insert(0, ...): in reverse time order",
            lstm_forward=_FORWARD.replace("caches.append(cache)", "caches.insert(0, cache)")),
    mistake("forward_one_cache_dict_for_all_steps", ("lstm_forward",),
            "one dict updated at every step and appended T times: every cache holds the last step",
            lstm_forward="""
            def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
                batch, T, _ = x.shape
                units = recurrent_kernel.shape[0]
                h = np.zeros((batch, units), dtype=x.dtype) if h0 is None else h0
                c = np.zeros((batch, units), dtype=x.dtype) if c0 is None else c0
                h_steps, caches = [], []
                step_cache = {}
                for t in range(T):
                    h, c, cell_cache = lstm_cell_forward(x[:, t], h, c, kernel, recurrent_kernel, bias)
                    step_cache.update(cell_cache)
                    h_steps.append(h)
                    caches.append(step_cache)
                return np.stack(h_steps, axis=1), h, c, caches
            """),
    mistake("forward_keeps_only_last_cache", ("lstm_forward",),
            "`caches = [cache]` inside the loop: one cache in all, not one per step",
            lstm_forward=_FORWARD.replace("caches.append(cache)", "caches = [cache]")),
    mistake("forward_returns_last_h_as_h_seq", ("lstm_forward",), "returns h_T where h_seq is asked",
            lstm_forward=_FORWARD.replace("return np.stack(h_steps, axis=1), h, c, caches",
                                                   "return h, h, c, caches")),
    mistake("forward_h_seq_is_a_list", ("lstm_forward",), "h_seq returned as the list of the T arrays",
            lstm_forward=_FORWARD.replace("return np.stack(h_steps, axis=1), h, c, caches",
                                                   "return h_steps, h, c, caches")),
    mistake("forward_ignores_h0_c0", ("lstm_forward",), "always starts from zeros, even when h0 and c0 are given",
            lstm_forward=_FORWARD
            .replace("np.zeros((batch, units), dtype=x.dtype) if h0 is None else h0", "np.zeros((batch, units))")
            .replace("np.zeros((batch, units), dtype=x.dtype) if c0 is None else c0", "np.zeros((batch, units))")),
    mistake("forward_h0_or_zeros", ("lstm_forward",),
            "`h0 or np.zeros(...)`: fine for None, raises (truth value of an array) when h0 is given",
            lstm_forward=_FORWARD
            .replace("np.zeros((batch, units), dtype=x.dtype) if h0 is None else h0",
                     "h0 or np.zeros((batch, units), dtype=x.dtype)")
            .replace("np.zeros((batch, units), dtype=x.dtype) if c0 is None else c0",
                     "c0 or np.zeros((batch, units), dtype=x.dtype)")),
    mistake("forward_skips_last_step", ("lstm_forward",), "range(T - 1): the last time step is never computed",
            lstm_forward=_FORWARD.replace("for t in range(T):", "for t in range(T - 1):")),
    mistake("forward_indexes_time_on_axis_0", ("lstm_forward",), "x[t] instead of x[:, t] (time-major confusion)",
            lstm_forward=_FORWARD.replace("lstm_cell_forward(x[:, t],", "lstm_cell_forward(x[t],")),
    mistake("forward_updates_state_in_place", ("lstm_forward",),
            "h[:] = h_t; c[:] = c_t: overwrites the caller's h0 and c0, and every cache shares the same state arrays",
            lstm_forward="""
            def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
                batch, T, _ = x.shape
                units = recurrent_kernel.shape[0]
                h = np.zeros((batch, units), dtype=x.dtype) if h0 is None else h0
                c = np.zeros((batch, units), dtype=x.dtype) if c0 is None else c0
                h_seq = np.zeros((batch, T, units), dtype=x.dtype)
                caches = []
                for t in range(T):
                    h_t, c_t, cache = lstm_cell_forward(x[:, t], h, c, kernel, recurrent_kernel, bias)
                    h[:] = h_t  # keep the state in the same arrays
                    c[:] = c_t
                    h_seq[:, t] = h_t
                    caches.append(cache)
                return h_seq, h, c, caches
            """),
    # ---- lstm_cell_backward (a cell-backward mistake never costs a correct lstm_backward)
    mistake("cell_backward_sigmoid_derivative_s", ("lstm_cell_backward",), "sigmoid'(z) taken as s instead of s(1-s)",
            lstm_cell_backward=_CELL_BACKWARD.replace(
                "[di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)]",
                "[di * i, df * f, dg * (1 - g**2), do * o]")),
    mistake("cell_backward_dbias_not_summed", ("lstm_cell_backward",),
            "dbias = dz, shape (batch, 4*units), not summed over the batch",
            lstm_cell_backward=_CELL_BACKWARD.replace('"dbias": dz.sum(axis=0),', '"dbias": dz,')),
    mistake("cell_backward_dx_transposed", ("lstm_cell_backward",), "dx_t = kernel @ dz.T: shape (input_dim, batch)",
            lstm_cell_backward=_CELL_BACKWARD.replace('"dx_t": dz @ cache["kernel"].T,',
                                                               '"dx_t": cache["kernel"] @ dz.T,')),
    mistake("cell_backward_dh_prev_through_kernel", ("lstm_cell_backward",),
            "dh_prev = dz @ kernel.T: the input kernel instead of the recurrent one",
            lstm_cell_backward=_CELL_BACKWARD.replace('"dh_prev": dz @ cache["recurrent_kernel"].T,',
                                                               '"dh_prev": dz @ cache["kernel"].T,')),
    mistake("cell_backward_ignores_dc_t", ("lstm_cell_backward",),
            "dc = dh_t * o * (1 - tanh_c**2): the incoming dc_t dropped",
            lstm_cell_backward=_CELL_BACKWARD.replace("dc = dc_t + dh_t * o * (1 - tanh_c**2)",
                                                               "dc = dh_t * o * (1 - tanh_c**2)")),
    mistake("cell_backward_tanh_derivative_1_minus_g", ("lstm_cell_backward",), "tanh'(z) taken as 1 - g, not 1 - g**2",
            lstm_cell_backward=_CELL_BACKWARD.replace("dg * (1 - g**2)", "dg * (1 - g)")),
    mistake("cell_backward_output_gate_sign", ("lstm_cell_backward",), "do * o * (o - 1): sign error in sigmoid'",
            lstm_cell_backward=_CELL_BACKWARD.replace("do * o * (1 - o)", "do * o * (o - 1)")),
    mistake("cell_backward_df_uses_h_prev", ("lstm_cell_backward",), "df = dc * h_prev instead of dc * c_prev",
            lstm_cell_backward=_CELL_BACKWARD.replace('df = dc * cache["c_prev"]', 'df = dc * cache["h_prev"]')),
    mistake("cell_backward_adds_into_dc_t", ("lstm_cell_backward",),
            "dc_t += ...: right gradients, but the caller's dc_t is overwritten",
            lstm_cell_backward=_CELL_BACKWARD.replace(
                "dc = dc_t + dh_t * o * (1 - tanh_c**2)", "dc_t += dh_t * o * (1 - tanh_c**2)\n    dc = dc_t")),
    mistake("cell_backward_finite_differences", ("lstm_cell_backward",),
            "gradients by central differences of the student's own (correct) lstm_cell_forward: earns nothing",
            lstm_cell_forward=_CELL_CACHING_BIAS,
            lstm_cell_backward="""
            def lstm_cell_backward(dh_t, dc_t, cache):
                names = ["x_t", "h_prev", "c_prev", "kernel", "recurrent_kernel", "bias"]
                args = {n: np.array(cache[n], dtype=np.float64) for n in names}

                def loss():
                    h, c, _ = lstm_cell_forward(*[args[n] for n in names])
                    return np.sum(h * dh_t) + np.sum(c * dc_t)

                eps = 1e-6
                grads = {}
                for n in names:
                    value = args[n]
                    grad = np.zeros_like(value)
                    for idx in np.ndindex(value.shape):
                        old = value[idx]
                        value[idx] = old + eps
                        plus = loss()
                        value[idx] = old - eps
                        minus = loss()
                        value[idx] = old
                        grad[idx] = (plus - minus) / (2 * eps)
                    grads["d" + n] = grad
                return grads
            """),
    # ---- lstm_backward
    mistake("bptt_dc_not_carried", ("lstm_backward",), "dc_prev of step t + 1 never reaches step t",
            lstm_backward=_BACKWARD.replace('dh_next, dc_next = grads["dh_prev"], grads["dc_prev"]',
                                            'dh_next = grads["dh_prev"]')
            .replace('"dc0": dc_next,', '"dc0": grads["dc_prev"],')),
    mistake("bptt_weight_gradients_not_summed", ("lstm_backward",),
            "dkernel = grads['dkernel'] (and the others): only step 0's weight gradients are returned",
            lstm_backward=_BACKWARD.replace('dkernel += grads["dkernel"]', 'dkernel = grads["dkernel"]')
            .replace('drecurrent_kernel += grads["drecurrent_kernel"]',
                     'drecurrent_kernel = grads["drecurrent_kernel"]')
            .replace('dbias += grads["dbias"]', 'dbias = grads["dbias"]')),
    mistake("bptt_walks_forward_in_time", ("lstm_backward",), "for t in range(T): the steps visited from 0 up",
            lstm_backward=_BACKWARD.replace("for t in reversed(range(T)):", "for t in range(T):")),
    mistake("bptt_skips_step_0", ("lstm_backward",), "reversed(range(1, T)): step 0 taken for the initial state",
            lstm_backward=_BACKWARD.replace("for t in reversed(range(T)):", "for t in reversed(range(1, T)):")
            .replace("dx_steps = [None] * T", "dx_steps = [np.zeros_like(caches[0]['x_t']) for _ in range(T)]")),
    mistake("bptt_dx_time_major", ("lstm_backward",), "np.stack(dx_steps): dx of shape (T, batch, input_dim)",
            lstm_backward=_BACKWARD.replace('"dx": np.stack(dx_steps, axis=1),', '"dx": np.stack(dx_steps),')),
    correct("bptt_pops_the_callers_caches",
            "caches.pop() on the argument itself: right gradients; consuming the list is not writing into the "
            "caller's arrays (the issue counts this backward as correct)",
            lstm_backward=_BACKWARD.replace(
                "lstm_cell_backward(dh_seq[:, t] + dh_next, dc_next, caches[t])",
                "lstm_cell_backward(dh_seq[:, t] + dh_next, dc_next, caches.pop())")),
    mistake("bptt_adds_into_dh_seq", ("lstm_backward",),
            "dh_seq[:, t] += dh_next: right gradients, but the caller's dh_seq is overwritten",
            lstm_backward=_BACKWARD.replace(
                "grads = lstm_cell_backward(dh_seq[:, t] + dh_next, dc_next, caches[t])",
                "dh_seq[:, t] += dh_next\n        grads = lstm_cell_backward(dh_seq[:, t], dc_next, caches[t])")),
    mistake("bptt_finite_differences", ("lstm_backward",),
            "gradients by central differences of the student's own (correct) lstm_forward: earns nothing",
            lstm_cell_forward=_CELL_CACHING_BIAS,
            lstm_backward="""
            def lstm_backward(dh_seq, caches):
                first = caches[0]
                args = {"x": np.stack([c["x_t"] for c in caches], axis=1), "kernel": first["kernel"],
                        "recurrent_kernel": first["recurrent_kernel"], "bias": first["bias"],
                        "h0": first["h_prev"], "c0": first["c_prev"]}
                args = {n: np.array(v, dtype=np.float64) for n, v in args.items()}

                def loss():
                    h_seq = lstm_forward(args["x"], args["kernel"], args["recurrent_kernel"], args["bias"],
                                         args["h0"], args["c0"])[0]
                    return np.sum(h_seq * dh_seq)

                eps = 1e-6
                grads = {}
                for n, value in args.items():
                    grad = np.zeros_like(value)
                    for idx in np.ndindex(value.shape):
                        old = value[idx]
                        value[idx] = old + eps
                        plus = loss()
                        value[idx] = old - eps
                        minus = loss()
                        value[idx] = old
                        grad[idx] = (plus - minus) / (2 * eps)
                    grads["d" + n] = grad
                return grads
            """),
)

VARIANTS: tuple[Variant, ...] = CORRECT + MISTAKES

_names = [v.name for v in VARIANTS]
assert len(set(_names)) == len(_names), f"duplicate variant names: {sorted(n for n in _names if _names.count(n) > 1)}"
