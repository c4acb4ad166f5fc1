"""``lstm_forward``'s caches are judged when its hidden test runs, which in the notebook is before
``lstm_cell_backward`` is written: the check must not need the backward to tell a right list of caches (even one
that wraps or extends each step's cache) from a wrong one (reversed, one object reused)."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from course_lib.assignments.registry import get_assignment
from course_lib.grading.hidden_tests import build_hidden_tests, judge_namespace
from tests.fairness.variants import VARIANTS, namespace_for

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = get_assignment("01_lstm_gates")
CORRECT = next(v for v in VARIANTS if v.kind == "correct")
LOOP = """
def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
    batch, steps, _ = x.shape
    units = recurrent_kernel.shape[0]
    h = np.zeros((batch, units), dtype=x.dtype) if h0 is None else h0
    c = np.zeros((batch, units), dtype=x.dtype) if c0 is None else c0
    hs, caches = [], []
    for t in range(steps):
        h, c, cache = lstm_cell_forward(x[:, t], h, c, kernel, recurrent_kernel, bias)
        hs.append(h)
        caches.append({KEEP})
    return np.stack(hs, axis=1), h, c, {ORDER}
"""


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(json.dumps(build_hidden_tests(ROOT, ASSIGNMENT)))["notebooks"][ASSIGNMENT.notebook]["exercises"]


@pytest.mark.parametrize("keep, order, fair", [
    ("dict(cache, t=t)", "caches", True),           # each step's cache with a key added
    ("(t, cache)", "caches", True),                 # wrapped with its step number
    ("cache", "caches[::-1]", False),               # reversed
    ("cache", "[caches[-1]] * len(caches)", False),  # one cache for every step
])
def test_caches_are_judged_without_the_backward(expected, keep, order, fair):
    namespace = namespace_for(CORRECT)
    exec(textwrap.dedent(LOOP.replace("{KEEP}", keep).replace("{ORDER}", order)), namespace)  # noqa: S102
    del namespace["lstm_cell_backward"]   # not written yet when lstm_forward's hidden test runs
    verdict = judge_namespace(ROOT, ASSIGNMENT, namespace, expected, ["lstm_forward"])["lstm_forward"]
    caches = next(v for v in verdict.checks if v.check.id == "lstm_forward/caches")
    assert caches.passed == fair, verdict.text()
