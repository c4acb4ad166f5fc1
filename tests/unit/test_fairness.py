"""The grader's fairness rule, tested on whole submissions written many ways (:mod:`tests.fairness.variants`).

Every variant is graded in-process (no kernel), exactly as a kernel's report would be: correct code in any style
gets full marks, and each mistake loses points in exactly the exercises its ``costs`` name. Each variant is graded
once per module (``verdicts_of``); the last test prints the table of points lost (``python -m
tests.fairness.table`` prints the same). The variants themselves are checked too, without the grader: every
correct one computes what the reference computes.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.fairness.table import exercise_points, expected_values, grade, loss_table, markdown, points_lost
from course_lib.solutions import lstm_gates as reference
from tests.fairness.variants import CORRECT, EXERCISES, MISTAKES, VARIANTS, Variant, namespace_for

POINTS = exercise_points()


@pytest.fixture(scope="module")
def expected() -> dict:
    return expected_values()


@pytest.fixture(scope="module")
def verdicts_of(expected):
    """Grades each variant once for the whole module: ``verdicts_of(variant) -> {exercise: ExerciseVerdict}``."""
    graded: dict[str, dict] = {}

    def verdicts(variant: Variant) -> dict:
        if variant.name not in graded:
            graded[variant.name] = grade(variant, expected, POINTS)
        return graded[variant.name]

    return verdicts


def _report(variant: Variant, verdicts: dict) -> str:
    lost = points_lost(verdicts, POINTS)
    missed, unfair = sorted(variant.costs - set(lost)), sorted(set(lost) - variant.costs)
    return (f"{variant.name} ({variant.kind}: {variant.description}) should lose points in exactly "
            f"{sorted(variant.costs) or 'nothing'}; it lost {lost or 'nothing'} (not charged in {missed or 'none'}, "
            f"charged without cause in {unfair or 'none'}). Verdicts:\n"
            + "\n".join(verdicts[e].text() for e in verdicts if e in lost or e in variant.costs))


def test_the_variants_cover_the_assignment():
    assert tuple(POINTS) == EXERCISES, f"the notebook's exercises {list(POINTS)} are not the variants' {EXERCISES}"
    assert len(CORRECT) >= 12 and len(MISTAKES) >= 30, (len(CORRECT), len(MISTAKES))
    charged_alone = {next(iter(m.costs)) for m in MISTAKES if len(m.costs) == 1}
    assert charged_alone == set(EXERCISES), (
        f"no mistake is charged to {sorted(set(EXERCISES) - charged_alone)} alone")
    restyled = {f for v in CORRECT for f in v.sources}
    assert restyled == set(EXERCISES), f"no correct variant rewrites {set(EXERCISES) - restyled}"


def test_a_variants_functions_call_each_other():
    """The reference's own functions, kept in a variant's namespace, call the variant's replacements."""
    variant = next(v for v in MISTAKES if v.name == "cell_no_output_gate")
    namespace = namespace_for(variant)
    rng = np.random.default_rng(0)
    x, h0, c0 = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    weights = rng.standard_normal((3, 16)), rng.standard_normal((4, 16)), rng.standard_normal(16)
    h_seq = namespace["lstm_forward"](x, *weights, h0, c0)[0]
    own = np.stack([namespace["lstm_cell_forward"](x[:, 0], h0, c0, *weights)[0]])
    np.testing.assert_allclose(h_seq[:, 0], own[0])
    assert namespace["lstm_forward"].__globals__ is namespace
    assert reference.lstm_forward.__globals__ is vars(reference), "namespace_for must not touch the reference"


@pytest.mark.parametrize("variant", CORRECT, ids=lambda v: v.name)
def test_correct_variants_compute_what_the_reference_computes(variant):
    """Checks the variants themselves, not the grader: every correct one agrees with the reference on random inputs
    (batch 1 and 3, T 1 and 4, units equal to and unlike input_dim, float64 and float32), its backward passes fed by
    its own forward's caches, and it leaves its arguments unchanged."""
    namespace = namespace_for(variant)

    def check(name, args, reference_value, tolerance):
        copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        value = namespace[name](*copies)
        for a, c in zip(args, copies):
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(c, a, err_msg=f"{variant.name}: {name} changed its arguments")
        values = dict(value) if isinstance(value, dict) else dict(enumerate(value)) if isinstance(value, tuple) \
            else {"out": value}
        expected = reference_value if isinstance(reference_value, dict) else {"out": reference_value}
        for key in expected:
            assert isinstance(values[key], np.ndarray), f"{variant.name}: {name} {key} is {type(values[key])}"
            np.testing.assert_allclose(values[key], expected[key], rtol=tolerance, atol=tolerance * 1e-2,
                                       err_msg=f"{variant.name}: {name} {key}")
        return value

    z = np.array([-1000.0, -710.0, -50.0, -2.0, -1e-8, 0.0, 0.5, 10.0, 710.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        check("sigmoid", [z], reference.sigmoid(z), 1e-9)
    for seed, (batch, input_dim, units, steps) in enumerate([(1, 3, 3, 1), (3, 2, 5, 4), (2, 4, 3, 3)]):
        for dtype, tolerance in ((np.float64, 1e-7), (np.float32, 1e-4)):
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((batch, steps, input_dim)).astype(dtype)
            h0, c0 = (rng.standard_normal((batch, units)).astype(dtype) for _ in range(2))
            weights = [(0.5 * rng.standard_normal(s)).astype(dtype)
                       for s in ((input_dim, 4 * units), (units, 4 * units), (4 * units,))]
            dh_seq = rng.standard_normal((batch, steps, units)).astype(dtype)
            for k, gate in enumerate(("input_gate", "forget_gate", "candidate_cell", "output_gate")):
                args = [x[:, 0], h0] + [w[..., k * units:(k + 1) * units] for w in weights]
                check(gate, args, getattr(reference, gate)(*args), tolerance)
            args = [x[:, 0], h0, c0, *weights]
            cell = reference.lstm_cell_forward(*args)
            h_t, c_t, cache = check("lstm_cell_forward", args, {0: cell[0], 1: cell[1]}, tolerance)
            check("lstm_cell_backward", [dh_seq[:, 0], h0, cache],
                  reference.lstm_cell_backward(dh_seq[:, 0], h0, cell[2]), tolerance)
            for state in ([], [h0, c0]):
                ref = reference.lstm_forward(x, *weights, *state)
                caches = check("lstm_forward", [x, *weights, *state], dict(enumerate(ref[:3])), tolerance)[3]
                assert isinstance(caches, list) and len(caches) == steps, f"{variant.name}: caches {type(caches)}"
                check("lstm_backward", [dh_seq, caches], reference.lstm_backward(dh_seq, ref[3]), tolerance)


@pytest.mark.parametrize("variant", CORRECT, ids=lambda v: v.name)
def test_correct_code_in_any_style_gets_full_marks(variant, verdicts_of):
    verdicts = verdicts_of(variant)
    short = {e: v.points for e, v in verdicts.items() if v.points < v.max_points}
    assert not short, _report(variant, verdicts)
    assert {e: v.max_points for e, v in verdicts.items()} == POINTS


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_variant_loses_points_exactly_in_its_costs(variant, verdicts_of):
    verdicts = verdicts_of(variant)
    assert set(points_lost(verdicts, POINTS)) == set(variant.costs), _report(variant, verdicts)


def test_loss_table(verdicts_of, capsys):
    rows = loss_table(VARIANTS, verdicts_of)
    assert [name for name, _ in rows] == [v.name for v in VARIANTS]
    assert all(set(lost) <= set(POINTS) for _, lost in rows)
    table = markdown(rows)
    with capsys.disabled():
        print("\n" + table)
    assert table.count("\n|") == len(VARIANTS) + 1
