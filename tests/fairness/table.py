"""Grade the fairness variants in this process and tabulate the points each loses per exercise.

``python -m tests.fairness.table`` prints the table in markdown: one row per variant, the points it lost in each
exercise (blank: none), the exercises it should lose points in, and whether the two agree.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from course_lib.assignments.registry import get_assignment
from course_lib.grading.hidden_tests import auto_exercises, build_hidden_tests, judge_namespace
from tests.fairness.variants import VARIANTS, Variant, namespace_for

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = get_assignment("01_lstm_gates")


def exercise_points() -> dict[str, float]:
    """``{exercise: points}`` of the automatically graded exercises, from the source notebook's metadata."""
    return auto_exercises(ASSIGNMENT.source_notebook(ROOT))


def expected_values() -> dict:
    """The reference's values of every hidden test, through JSON exactly as the grader reads them from hidden/."""
    built = json.loads(json.dumps(build_hidden_tests(ROOT, ASSIGNMENT)))
    return built["notebooks"][ASSIGNMENT.notebook]["exercises"]


def grade(variant: Variant, expected: dict, points: dict[str, float] | None = None) -> dict:
    """``{exercise: ExerciseVerdict}`` of the variant's namespace, judged as a kernel's report would be."""
    return judge_namespace(ROOT, ASSIGNMENT, namespace_for(variant), expected, points=points or exercise_points())


def points_lost(verdicts: dict, points: dict[str, float]) -> dict[str, float]:
    """``{exercise: points lost}`` of the exercises that did not get full marks."""
    return {e: points[e] - v.points for e, v in verdicts.items() if v.points < points[e]}


def loss_table(variants: Iterable[Variant] = VARIANTS,
               verdicts_of: Callable[[Variant], dict] | None = None) -> list[tuple[str, dict[str, float]]]:
    """``[(variant name, {exercise: points lost})]``, every variant graded in-process (or by ``verdicts_of``)."""
    points = exercise_points()
    if verdicts_of is None:
        expected = expected_values()

        def verdicts_of(variant: Variant) -> dict:
            return grade(variant, expected, points)

    rows = []
    for variant in variants:
        try:
            verdicts = verdicts_of(variant)
        except Exception as error:
            raise RuntimeError(f"grading the variant {variant.name} raised {type(error).__name__}: {error}") from error
        rows.append((variant.name, points_lost(verdicts, points)))
    return rows


def markdown(rows: list[tuple[str, dict[str, float]]], variants: Iterable[Variant] = VARIANTS) -> str:
    """The loss table as markdown, with each variant's kind, its expected costs and whether they match."""
    points = exercise_points()
    by_name = {v.name: v for v in variants}
    head = ["variant", "kind", *(f"{e} ({points[e]:g})" for e in points), "should cost", "fair"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, lost in rows:
        variant = by_name[name]
        fair = "yes" if set(lost) == set(variant.costs) else "**no**"
        cells = [f"`{name}`", variant.kind, *(f"{lost[e]:g}" if e in lost else "" for e in points),
                 ", ".join(e for e in points if e in variant.costs) or "nothing", fair]
        lines.append("| " + " | ".join(cells) + " |")
    unfair = sum(set(lost) != set(by_name[name].costs) for name, lost in rows)
    lines.append("")
    lines.append(f"{len(rows) - unfair} of {len(rows)} variants lose points exactly where the fairness rule says.")
    return "\n".join(lines)


def main() -> None:
    print(markdown(loss_table()))


if __name__ == "__main__":
    main()
