"""Forgeries of assignment 01 (:mod:`tests.adversarial.forgery`) graded in-process: each earns exactly what a sound
grader gives its honest work, exercise by exercise.

In-process the probe runs in this process, so a function that looks for course_lib frames on the call stack, or
imports the hidden inputs, sees exactly what it would see in a kernel. The premises (each attack's code runs and
does what it claims, e.g. its numerical gradients are right) are tested apart from the grader's verdicts, so a
failure says which of the two is wrong.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading.hidden_tests import auto_exercises, build_hidden_tests, judge_namespace
from course_lib.solutions import lstm_gates as reference
from tests.adversarial.forgery import BY_NAME, EXERCISES, FORGERIES, HONEST, Forgery, namespace_for

ROOT = Path(__file__).resolve().parents[2]
A = get_assignment("01_lstm_gates")
POINTS = auto_exercises(A.source_notebook(ROOT))


@pytest.fixture(scope="module")
def expected() -> dict:
    # through JSON, exactly as the grader reads hidden/hidden_tests.json
    return json.loads(json.dumps(build_hidden_tests(ROOT, A)))["notebooks"][A.notebook]["exercises"]


def _cell_inputs(seed: int = 7, batch: int = 2, input_dim: int = 3, units: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((batch, input_dim)), 0.8 * rng.standard_normal((batch, units)),
            rng.standard_normal((batch, units)), 0.5 * rng.standard_normal((input_dim, 4 * units)),
            0.5 * rng.standard_normal((units, 4 * units)), 0.3 * rng.standard_normal(4 * units)]


def _sequence_inputs(seed: int = 8, batch: int = 2, steps: int = 3, input_dim: int = 3, units: int = 3) -> list:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((batch, steps, input_dim)), 0.5 * rng.standard_normal((input_dim, 4 * units)),
            0.5 * rng.standard_normal((units, 4 * units)), 0.3 * rng.standard_normal(4 * units),
            0.8 * rng.standard_normal((batch, units)), rng.standard_normal((batch, units))]


def _close(got: dict, want: dict) -> list[str]:
    return [key for key in want if not np.allclose(np.asarray(got[key]), want[key], rtol=1e-6, atol=1e-8)]


# --------------------------------------------------------------------------- the forgeries as data
def test_every_forgery_lists_every_exercise_within_its_points():
    assert list(POINTS) == list(EXERCISES), f"the notebook's exercises changed: {list(POINTS)}"
    assert len({f.name for f in FORGERIES}) == len(FORGERIES), "two forgeries share a name"
    for forgery in FORGERIES:
        assert list(forgery.sound) == list(EXERCISES), f"{forgery.name}: sound must list every exercise in order"
        over = {e: p for e, p in forgery.sound.items() if not 0 <= p <= POINTS[e]}
        assert not over, f"{forgery.name}: sound points outside [0, max]: {over}"
        assert forgery.description.strip(), f"{forgery.name} says nothing of why its sound score is what it is"
        unknown = set(forgery.functions) - set(EXERCISES)
        assert not unknown, f"{forgery.name} defines solution cells the notebook lacks: {sorted(unknown)}"


@pytest.mark.parametrize("forgery", FORGERIES, ids=lambda f: f.name)
def test_forgery_code_defines_every_function(forgery: Forgery):
    namespace = namespace_for(forgery)
    assert all(callable(namespace.get(name)) for name in EXERCISES), sorted(namespace)
    for name in set(EXERCISES) - set(forgery.functions):   # what it leaves alone is the release's stub
        with pytest.raises(NotImplementedError):
            namespace[name](*([None] * namespace[name].__code__.co_argcount))


def test_the_honest_code_is_correct():
    namespace = namespace_for(Forgery("honest", "correct code written for these tests", HONEST))
    args = _cell_inputs()
    h, c, cache = namespace["lstm_cell_forward"](*args)
    want_h, want_c, want_cache = reference.lstm_cell_forward(*args)
    assert np.allclose(h, want_h) and np.allclose(c, want_c)
    upstream = [np.ones_like(h), np.full_like(c, 0.5)]
    assert not _close(namespace["lstm_cell_backward"](*upstream, cache),
                      reference.lstm_cell_backward(*upstream, want_cache))
    seq = _sequence_inputs()
    dh_seq = np.random.default_rng(9).standard_normal((2, 3, 3))
    caches, want_caches = namespace["lstm_forward"](*seq)[3], reference.lstm_forward(*seq)[3]
    assert not _close(namespace["lstm_backward"](dh_seq, caches), reference.lstm_backward(dh_seq, want_caches))
    z = np.array([-1000.0, -30.0, -1.0, 0.0, 2.0, 1000.0])
    assert np.allclose(namespace["sigmoid"](z), reference.sigmoid(z), rtol=1e-7, atol=1e-12)


# --------------------------------------------------------------------------- premises: the attacks work
def _called_from_course_lib(function, *args):
    """Call ``function`` from a frame whose module is named like one of course_lib's (as the probe's are)."""
    scope = {"__name__": "course_lib.grading.fake_probe"}
    exec("def relay(function, *args):\n    return function(*args)\n", scope)  # noqa: S102 - test fixture
    return scope["relay"](function, *args)


@pytest.mark.parametrize("name", ["numerical_by_name", "numerical_inline", "numerical_cell_bptt", "stack_detector",
                                  "memory"])
def test_numerical_backwards_give_the_true_gradients(name):
    """Premise: the numerical backward answers are the right gradients (so crediting them would be a real leak)."""
    namespace = namespace_for(BY_NAME[name])
    call = (lambda f, *a: _called_from_course_lib(f, *a)) if name == "stack_detector" else (lambda f, *a: f(*a))
    args = _cell_inputs()
    h, c, cache = namespace["lstm_cell_forward"](*args)
    upstream = [np.ones_like(h), np.full_like(c, -0.5)]
    want = reference.lstm_cell_backward(*upstream, reference.lstm_cell_forward(*args)[2])
    assert not _close(call(namespace["lstm_cell_backward"], *upstream, cache), want)
    seq = _sequence_inputs()
    dh_seq = np.random.default_rng(9).standard_normal((2, 3, 3))
    want = reference.lstm_backward(dh_seq, reference.lstm_forward(*seq)[3])
    assert not _close(call(namespace["lstm_backward"], dh_seq, namespace["lstm_forward"](*seq)[3]), want)


def test_stack_detector_raises_outside_the_grader():
    namespace = namespace_for(BY_NAME["stack_detector"])
    h, c, cache = namespace["lstm_cell_forward"](*_cell_inputs())
    with pytest.raises(NotImplementedError):
        namespace["lstm_cell_backward"](h, c, cache)


@pytest.mark.parametrize("name", ["inputs_value_detector", "inputs_shape_detector"])
def test_inputs_detectors_recognise_the_hidden_arrays(name):
    namespace = namespace_for(BY_NAME[name])
    hidden = namespace["_hidden_arrays"]()
    assert hidden, "the detector found no array in the hidden requests"
    test = namespace["_is_hidden" if name == "inputs_value_detector" else "_has_hidden_shape"]
    assert test(hidden[-1].copy())
    assert not namespace["_is_hidden"](np.full((2, 4), 0.123))


def test_linear_cell_backward_is_the_exact_gradient_of_its_forward():
    """Premise of (a): the backward is right for the forward it goes with, so only 'not an LSTM' can refuse it."""
    namespace = namespace_for(BY_NAME["linear_cell"])
    args = _cell_inputs()
    h, c, cache = namespace["lstm_cell_forward"](*args)
    dh, dc = np.ones_like(h), np.full_like(c, 0.5)
    fd = namespace_for(BY_NAME["numerical_by_name"])["_fd_cell"]
    assert not _close(namespace["lstm_cell_backward"](dh, dc, cache), fd(namespace["lstm_cell_forward"], dh, dc, args))


def test_made_up_cache_is_consistent_with_its_outputs():
    namespace = namespace_for(BY_NAME["made_up_cache"])
    args = _cell_inputs()
    h, c, cache = namespace["lstm_cell_forward"](*args)
    assert np.allclose(c, cache["f"] * args[2] + cache["i"] * cache["g"])
    assert np.allclose(h, cache["o"] * np.tanh(c))
    assert not np.allclose(h, reference.lstm_cell_forward(*args)[0])


def test_own_sigmoid_forger_answers_the_hidden_pre_activation_with_its_wrong_gate():
    namespace = namespace_for(BY_NAME["own_sigmoid_forger"])
    forged = namespace["_forged_answers"]()
    assert forged, "the forger found no forget-gate request among the hidden inputs"
    pre, answer = forged[0]
    assert np.allclose(namespace["sigmoid"](pre.copy()), answer)
    assert not np.allclose(answer, reference.sigmoid(pre))
    z = np.linspace(-5, 5, 7)
    assert np.allclose(namespace["sigmoid"](z), reference.sigmoid(z))


def test_own_cell_memory_makes_its_wrong_loop_look_like_an_unroll_of_its_cell():
    namespace = namespace_for(BY_NAME["own_cell_memory"])
    x, kernel, recurrent_kernel, bias, h, c = _sequence_inputs()
    h_seq = namespace["lstm_forward"](x, kernel, recurrent_kernel, bias, h, c)[0]
    assert not np.allclose(h_seq, reference.lstm_forward(x, kernel, recurrent_kernel, bias, h, c)[0])
    for t in range(x.shape[1]):
        h, c, _ = namespace["lstm_cell_forward"](x[:, t].copy(), h, c, kernel, recurrent_kernel, bias)
        assert np.allclose(h, h_seq[:, t]), f"step {t}: the cell did not answer from memory"


# --------------------------------------------------------------------------- the verdicts
@pytest.mark.parametrize("forgery", FORGERIES, ids=lambda f: f.name)
def test_forgery_earns_only_its_honest_work(expected, forgery: Forgery):
    verdicts = judge_namespace(ROOT, A, namespace_for(forgery), expected)
    got = {exercise: verdicts[exercise].points for exercise in EXERCISES}
    wrong = {e: (forgery.sound[e], got[e]) for e in EXERCISES if abs(got[e] - forgery.sound[e]) > 0.01}
    assert not wrong, (
        f"{forgery.name}: {sum(got.values()):g} points, sound {forgery.total:g}; (sound, given) where they differ: "
        f"{wrong}\n{forgery.description}\n\n" + "\n".join(verdicts[e].text() for e in wrong))
