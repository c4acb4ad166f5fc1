"""Grader side of the hidden tests: turn the values a kernel reported into verdicts and points.

Code that ran student code may report values, never verdicts. :class:`ApplyVerdicts` is an nbgrader preprocessor
that runs in the grader's process right after the notebook was executed: for every auto-graded cell it reads the
report the probe displayed (:mod:`course_lib.grading.probe`), compares it with the reference's values built by
``lstm-course build`` (``source/<assignment>/hidden/hidden_tests.json``), and replaces the cell's outputs with the
verdict, so that nbgrader's own ``SaveAutoGrades`` records exactly the points computed here. What the student's
code printed or raised is kept after the verdict as feedback, but can no longer change the score.
"""
from __future__ import annotations

import functools
import json
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

from course_lib.grading.checks import Check, Suite, load_suite
from course_lib.grading.hidden_tests import HIDDEN_DIR, HiddenTestsError, load_hidden_tests
from course_lib.grading.probe import REPORT_MIME
from course_lib.grading.wire import PROTOCOL, Reported, Unsupported, decode_value

MAX_REPORT_CHARS = 5_000_000
MAX_VERDICT_CHARS = 8_000   # what one exercise's verdict may say (the feedback page shows it)
VERDICT_WIDTH = 88          # columns: a verdict reads without horizontal scrolling in the feedback and Formgrader
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class JudgeContext:
    """What judging needs besides the reported values: where the kernel worked (a saved model), the held-out
    data, how to run an untrusted model, and whether a failing own-function target is the course's bug
    (``strict``, at build time) or a value of the student's that does not fit (at grading time)."""

    hidden_dir: str | None = None
    work_dir: str | None = None
    sandbox: str = "bwrap"
    config: Any = None              # the course's traitlets config: c.ModelScoring.* for a model check
    strict: bool = False
    problems: list[str] = field(default_factory=list)   # for the instructor's log, never a student's verdict


@dataclass
class CheckVerdict:
    check: Check
    passed: bool
    message: str
    reason: str = ""   # for a failed check: what went wrong, without the description (to group alike failures)
    #: for a failed check, the kind of failure (chooses the hint): "raised", "upstream" (an earlier function
    #: raised), "grader", "malformed", "shape", "values", "modified", "cache", "warning", "numerical", "requires"
    kind: str = ""
    #: for a check passed through an own-function target: what the exercise was judged with instead of the
    #: reference (e.g. "your own lstm_cell_forward")
    credited_with: str = ""
    #: for such a check: ``(exercise, function)`` of the other exercises whose functions the credited value came
    #: from (named by the target, by the request, or called by the student's function while it ran)
    relies_on: tuple[tuple[str, str], ...] = ()


# A shape, a short tuple or an index, "(3, 4)", "(batch, units)", "[2, 4]": one word to the wrapper. textwrap breaks
# at ASCII whitespace only, so a private-use character holds the group together until the lines are made.
_GROUP = re.compile(r"[(\[](?:[\w.*+-]+, )+[\w.*+-]*[)\]]")
_JOINED = "\ue000"


def _wrapped(line: str) -> list[str]:
    """``line`` in lines of at most :data:`VERDICT_WIDTH` columns, continued under its text (numbers, names and
    shapes are never split; only a word longer than a whole line, such as a long path in an error, is cut)."""
    body = line.lstrip(" ")
    indent = " " * (len(line) - len(body))
    marker = re.match(r"(✓ |✗ |Hint: |Note: )", body)
    # at least 4 columns, so that unwrapped() tells a continuation from the next item (indented 2)
    hanging = indent + " " * (len(marker.group(1)) if marker else 4)
    body = _GROUP.sub(lambda m: m.group(0).replace(" ", _JOINED) if len(m.group(0)) <= 32 else m.group(0), body)
    lines = textwrap.wrap(body, VERDICT_WIDTH, initial_indent=indent, subsequent_indent=hanging,
                          break_long_words=True, break_on_hyphens=False)
    return [wrapped.replace(_JOINED, " ") for wrapped in lines] or [line]


def unwrapped(text: str) -> str:
    """A verdict's text with each item (head, ✓/✗ line, note, hint) on one line again (see :func:`_wrapped`)."""
    return re.sub(r"\n {4,}(?=\S)", " ", text)


@dataclass
class ExerciseVerdict:
    exercise: str
    points: float
    max_points: float
    checks: list[CheckVerdict] = field(default_factory=list)
    problem: str = ""
    #: a visible test of the cell failed (an error in its output): explained first where another function is at fault
    visible_failed: bool = False
    #: ``{function: where it is charged}`` ("Exercise 6", or "" if unknown): the functions of other exercises, wrong
    #: there, that checks of this one were credited around (see :func:`trace_mistakes_elsewhere`)
    mistakes_elsewhere: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        head = f"{self.exercise}: {_fmt(self.points)} / {_fmt(self.max_points)} points"
        lines = [head]
        note = self._visible_failure_note()
        if note:
            lines.append(f"  Note: {note}")
        if self.problem:
            lines.append(f"  ✗ {self.problem}")
        failed = [v for v in self.checks if not v.passed]
        lines += [f"  {'✓' if v.passed else '✗'} {v.message}" for v in self.checks]
        # one hint per kind of failure: the exercise's own where the values or the code are at fault, none where
        # an earlier function or the grader is
        hints = list(dict.fromkeys(
            GENERIC_HINTS.get(v.kind, v.check.hint) for v in failed if GENERIC_HINTS.get(v.kind, v.check.hint)))
        # a hint that another one repeats and extends says nothing new
        hints = [h for h in hints if not any(o != h and o.startswith(h.rstrip(".")) for o in hints)]
        lines += [f"  Hint: {hint}" for hint in hints]
        text = "\n".join(wrapped for line in lines for wrapped in _wrapped(line))
        return text if len(text) <= MAX_VERDICT_CHARS else text[:MAX_VERDICT_CHARS] + "\n  [verdict shortened]"

    def _visible_failure_note(self) -> str:
        """Why a visible test that failed does not cost this exercise its points: said first, in the student's
        terms, because "3 / 3 points" under a failed test reads as a grading error otherwise."""
        credited = list(dict.fromkeys(v.credited_with for v in self.checks if v.passed and v.credited_with))
        if not (self.visible_failed and credited):
            return ""
        own_work_right = not self.problem and all(v.passed for v in self.checks)
        if not self.mistakes_elsewhere:
            # the function at fault could not be named (not traced, or not an exercise of this notebook)
            why = (f"a mistake elsewhere changes what it computes (the hidden tests judged this exercise with "
                   f"{' and '.join(credited)}, and that mistake is charged where it is made).")
        else:
            functions = list(self.mistakes_elsewhere)
            which = "which has a mistake" if len(functions) == 1 else "which have mistakes"
            why = (f"it calls your {_listed(functions)}, {which} "
                   f"({_charged_in(list(self.mistakes_elsewhere.values()))}).")
        if own_work_right:
            return f"The visible test in this cell failed, but not because of this function: {why} " \
                   "This exercise earns its points."
        return (f"The visible test in this cell failed, and not only because of this function: {why} The checks "
                "below that say so were judged around that mistake.")


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _charged_in(places: list[str]) -> str:
    """"charged in Exercise 6", "charged in Exercises 2 and 6", or "charged in its own exercise"."""
    places = list(dict.fromkeys(places))
    numbers = [p.removeprefix("Exercise ") for p in places if p.startswith("Exercise ")]
    if places and len(numbers) == len(places):
        return f"charged in Exercise {numbers[0]}" if len(numbers) == 1 else f"charged in Exercises {_listed(numbers)}"
    if all(places):
        return f"charged in {_listed(places)}"
    return "charged in its own exercise" if len(places) == 1 else "charged in their own exercises"


def _fmt(x: float) -> str:
    return f"{x:g}"


# --------------------------------------------------------------------------- reported values
class Reports:
    """The decoded values a kernel reported, for one exercise and the exercises reported before it in the
    notebook (an own-function target may use another exercise's values, e.g. the gate targets the sigmoid's)."""

    def __init__(self, suite: Suite, exercise: str, results: dict, others: dict | None = None):
        self.suite, self.exercise = suite, exercise
        self._results = {**(others or {}), exercise: results}
        self._decoded: dict = {}

    def result(self, request_id: str, exercise: str | None = None) -> tuple[Any, dict, str | None]:
        """``(value, entry, problem)``: the decoded value, the raw entry, and what went wrong (or ``None``)."""
        exercise = exercise or self.exercise
        key = (exercise, request_id)
        if key not in self._decoded:
            results = self._results.get(exercise)
            entry = results.get(request_id) if isinstance(results, dict) else None
            self._decoded[key] = (*_decoded_result(entry), entry if isinstance(entry, dict) else {})
        value, problem, entry = self._decoded[key]
        return value, entry, problem

    def value(self, request_id: str, exercise: str | None = None) -> Any:
        value, _, problem = self.result(request_id, exercise)
        return None if problem else value

    def extra(self, request_id: str, exercise: str | None = None) -> dict:
        """The extra values a request reported (recorded calls, cache arrays...), decoded; ``{}`` if none."""
        exercise = exercise or self.exercise
        key = (exercise, request_id, "extra")
        if key not in self._decoded:
            _, entry, problem = self.result(request_id, exercise)
            extra = {}
            if not problem and isinstance(entry.get("extra"), dict):
                try:
                    extra = decode_value(entry["extra"])
                except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
                    extra = {}
            self._decoded[key] = extra if isinstance(extra, dict) else {}
        return self._decoded[key]

    def request(self, request_id: str, exercise: str | None = None) -> dict:
        return self.suite.requests(exercise or self.exercise)[request_id]

    def exercise_requests(self) -> dict:
        return self.suite.requests(self.exercise)


def _decoded_result(result: Any) -> tuple[Any, str | None]:
    if not isinstance(result, dict):
        return None, "no value was reported (the test cell did not run to the end)"
    if not result.get("ok"):
        return None, "raised"
    try:
        return decode_value(result["value"]), None
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as error:
        return None, f"the reported value is malformed ({str(error)[:200]})"


def _shape_text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.shape}" + ("" if value.dtype == np.float64 else f" {value.dtype}")
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, (bool, int, float, np.integer, np.floating)) and len(repr(value)) <= 12:
        return f"= {value!r}" if not isinstance(value, np.generic) else f"= {value.item()!r}"
    return type(value).__name__


def call_text(request: dict) -> str:
    """The call a request made, in the student's terms: ``forget_gate(x_t (3, 4), h_prev (3, 5), ...)``; for a
    backward pass, its own arguments and the forward call its cache came from."""
    names = request.get("arg_names") or [f"argument {k + 1}" for k in range(len(request.get("args", [])))]
    args = ", ".join(f"{n} {_shape_text(a)}" for n, a in zip(names, request.get("args", [])))
    if "backward_arg_names" in request and "upstream" in request:
        upstream = ", ".join(f"{n} {_shape_text(a)}" for n, a in zip(request["backward_arg_names"],
                                                                       request["upstream"]))
        source = request.get("cell") if request.get("op") == "unroll_backward" else request.get("forward")
        last = request["backward_arg_names"][len(request["upstream"])]
        return f"{request.get('function')}({upstream}, {last} from your {source}({args}))"
    return f"{request.get('function', request.get('op', '?'))}({args})"


# --------------------------------------------------------------------------- comparisons
def _as_outputs(value: Any, count: int) -> tuple:
    if count == 1:
        return (value,)
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _compare_arrays(name: str, got: Any, expected: np.ndarray, rtol: float, atol: float) -> str | None:
    """``None`` if equal within tolerance, else what is wrong, in the student's terms."""
    if isinstance(got, Unsupported):
        return f"{name} is a {got}, expected a NumPy array of shape {expected.shape}"
    if not isinstance(got, np.ndarray):
        return f"{name} is a {type(got).__name__}, expected a NumPy array of shape {expected.shape}"
    if isinstance(got, Reported) and not got.is_array:
        return f"{name} is a {got.container}, expected a NumPy array of shape {expected.shape}"
    if got.shape != expected.shape:
        return f"{name} has shape {got.shape}, expected {expected.shape}"
    if not np.all(np.isfinite(got)):
        return f"{name} contains NaN or inf (first at index {_index(np.argwhere(~np.isfinite(got))[0])})"
    error = np.abs(got - expected)
    bound = atol + rtol * np.abs(expected)
    if np.all(error <= bound):
        return None
    worst = np.unravel_index(np.argmax(error - bound), error.shape)
    return (f"{name} is wrong: at index {_index(worst)} expected {expected[worst]:.6g}, got {got[worst]:.6g} "
            f"(largest difference {error.max():.2g}; tolerance {atol:g} + {rtol:g}·|expected|)")


def _index(index) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _informative(targets: list, references: list) -> bool:
    """Whether a target built from the student's own functions can vouch for an answer.

    A function that returns a constant (zeros, say) makes everything built on it "consistent"; such a target
    carries no information and earns nothing. Taken as a whole (one part may rightly be zero, e.g. a gradient
    that a mistake upstream cuts off), it must vary and be of a size comparable with the reference.
    """
    if not targets or any(not isinstance(t, np.ndarray) or t.shape != np.shape(r) for t, r in zip(targets, references)):
        return False
    t = np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in targets])
    r = np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in references])
    if t.size == 0 or not np.all(np.isfinite(t)):
        return False
    return bool(np.std(t) > 1e-2 * np.std(r) and np.linalg.norm(t) > 1e-2 * np.linalg.norm(r))


def _relative_error(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))


def _own_targets(suite: Suite, check: Check, reports: Reports, context: JudgeContext) -> list[tuple[str, Any]]:
    """``[(display, target)]`` of the check's alternatives that could be built (each run isolated: one that fails
    on hostile values gives no credit, is logged, and costs nothing else)."""
    out = []
    for name in _alternatives(check):
        target = suite.target(name)
        request = reports.request(check.request)
        if context.strict:  # build time: a target that raises is a bug of the course
            value = target(request, reports, check.request)
        else:
            try:
                value = target(request, reports, check.request)
            except Exception as error:  # noqa: BLE001 - hostile values may break a target: no credit, logged
                context.problems.append(f"{suite.stem}: target {name} could not use the reported values "
                                        f"({type(error).__name__}: {str(error)[:200]})")
                value = None
        if value is not None:
            out.append((target.display, value))
    return out


def _judge_model(check: Check, request: dict, got: Any, context: JudgeContext) -> tuple[bool, str]:
    """Score the model the kernel saved (never trusting it: :func:`course_lib.grading.models.score_model`) and
    compare its metric with the check's threshold and baselines."""
    from course_lib.grading.models import HIGHER_IS_BETTER, ModelRejected, ModelScoring, score_model

    if not isinstance(got, np.ndarray) or got.shape != (32,) or not context.work_dir or not context.hidden_dir:
        return False, "no saved model was reported"
    labels = dict(item.split("=", 1) if "=" in item else (item, item.replace("_", " ")) for item in check.baselines)
    unseen = frozenset()
    if check.unseen:
        text = (Path(context.hidden_dir) / check.unseen).read_text(encoding="utf-8")
        unseen = frozenset(token for token in text.split("\n") if token)
    try:
        score = score_model(Path(context.work_dir) / request["filename"], Path(context.hidden_dir) / check.heldout,
                            check.metric, settings=ModelScoring(config=context.config), sandbox=context.sandbox,
                            architecture=check.architecture, forbidden=check.forbidden, baselines=tuple(labels),
                            unseen=unseen, causal=check.causal)
    except ModelRejected as error:
        return False, str(error)
    if score.leaked:
        named = ", ".join(repr(token) for token in score.leaked[:4])
        return False, (f"its vocabulary holds {len(score.leaked)} word(s) it cannot have learned from the data it "
                       f"may see ({named}{', …' if len(score.leaked) > 4 else ''}): it was adapted on more")
    higher = check.metric in HIGHER_IS_BETTER and not check.at_most
    relation = "≥" if higher else "≤"
    against = ", ".join(f"{labels[name]} {value:.4g}" for name, value in score.baselines.items())
    against = f"; {'baselines' if len(score.baselines) > 1 else 'baseline'}: {against}" if against else ""
    measured = _measured(check.metric, score.value, score.examples)
    if check.report_only:
        return True, f"{measured} (reported, not graded{against})"
    if check.metric == "valid_distributions" and not score.baselines and check.threshold <= 1:
        return True, measured  # the metric raised otherwise: there is nothing to compare
    needs, ok = [], True
    if higher or check.threshold > 0 or check.at_most:
        needs.append(f"{relation} {check.threshold:g}")
        ok = score.value >= check.threshold if higher else score.value <= check.threshold
    if score.baselines:
        best = (max if higher else min)(score.baselines.values())
        bound = best * check.beat_by
        factor = f"{check.beat_by:g} × " if check.beat_by != 1 else ""
        which = "the better baseline" if len(score.baselines) > 1 else "the baseline"
        needs.append(f"{relation} {factor}{which} = {bound:.4g}" if factor else f"{relation} {which}")
        ok = ok and (score.value >= bound if higher else score.value <= bound)
    return ok, f"{measured} (needs {' and '.join(needs)}{against})"


def _measured(metric: str, value: float, examples: int) -> str:
    """What a model check measured, in the student's terms."""
    if metric == "valid_distributions":
        return f"its predictions for {examples} held-out windows are distributions over the vocabulary"
    if metric == "cross_entropy":
        return f"cross-entropy on {examples} held-out windows {value:.4g} nats/char"
    return f"{metric.upper() if metric == 'mse' else metric} on {examples} held-out examples {value:.4g}"


def _judge_raises(check: Check, request: dict, got: Any, entry: dict, problem: str | None) -> CheckVerdict:
    """A call that must raise one of ``check.names`` (the kernel's word: raising it gains nothing else)."""
    error = str(entry.get("error", ""))
    wanted = " or ".join(check.names)
    if problem == "raised" and error.split(":", 1)[0].strip() in check.names:
        return CheckVerdict(check, True, f"{check.description}: raised {error.split(':', 1)[0]}")
    if problem == "raised":
        why = f"{call_text(request)} raised {error[:200]}, not a {wanted}"
    elif problem:
        why = f"{call_text(request)} should raise a {wanted}"
    else:
        why = f"{call_text(request)} returned instead of raising a {wanted}"
    return CheckVerdict(check, False, f"{check.description}: {why}.", reason=why, kind="values")


def _judge_property(check: Check, request: dict, got: Any) -> CheckVerdict:
    """The check's own predicate decides on the reported value (guarded: hostile values give a reason)."""
    try:
        why = check.predicate(got, request) if check.predicate else "the check has no predicate (instructor)"
    except Exception as error:  # noqa: BLE001 - a value the predicate cannot read is the student's, said so
        why = f"the returned values could not be examined ({type(error).__name__}: {str(error)[:120]})"
    if not why:
        return CheckVerdict(check, True, f"{check.description}: yes")
    why = f"{call_text(request)}: {why}"
    return CheckVerdict(check, False, f"{check.description}: {why}.", reason=why, kind="values")


def _raised(check: Check, suite: Suite, reports: Reports, entry: dict, context: JudgeContext) -> CheckVerdict:
    """The verdict of a check whose request raised: the student's own error, an earlier function's (the exercise
    could not be judged), or the grader's (could not be checked: not the student's fault, and logged)."""
    request = reports.request(check.request)
    error = str(entry.get("error", "an error"))[:300]
    function = str(request.get("function", ""))
    where = str(entry.get("raised_in", ""))
    exercises = {c.exercise for c in suite.checks}
    if isinstance(entry.get("undefined"), str):   # the kernel's word; believing it gains nothing: 0 either way
        why = (f"could not be judged: {error} (an error in that cell, or in a cell above it, stops it from "
               f"defining it)")
        return CheckVerdict(check, False, f"{check.description}: {why}.", reason=why, kind="undefined")
    if entry.get("grader_error"):
        context.problems.append(f"{suite.stem}: {check.id}: the grader's own step failed: {error}")
        why = (f"could not be checked: the grader's own step failed ({error}); this is not your code's fault, "
               "and your instructor has been told")
        return CheckVerdict(check, False, f"{check.description}: {why}.", reason=why, kind="grader")
    if where and where != function and where in exercises:
        why = (f"could not be judged: your {where} raised {error} when {call_text(request)} ran; fix {where} "
               f"first (this exercise is judged again once it works)")
        return CheckVerdict(check, False, f"{check.description}: {why}.", reason=why, kind="upstream")
    why = f"{call_text(request)} raised {error}"
    return CheckVerdict(check, False, f"{check.description}: {why}.", reason=why, kind="raised")


def judge_check(check: Check, suite: Suite, reports: Reports, expected: dict,
                context: JudgeContext | None = None, passed: dict | None = None) -> CheckVerdict:
    """Compare one check's reported value with the reference (and the student's own-function targets).

    ``passed`` maps the ids of the exercise's checks judged so far to whether they passed (for ``requires``).
    """
    context = context or JudgeContext()
    if context.strict:  # build time: every target runs, even where the answer is right and none is needed
        _own_targets(suite, check, reports, context)
    fail = lambda why, kind="values": CheckVerdict(  # noqa: E731
        check, False, f"{check.description}: {why}.", reason=why, kind=kind)
    got, entry, problem = reports.result(check.request)
    if check.kind == "raises":
        request = reports.request(check.request)
        own = entry.get("raised_in") in (None, "", request.get("function"))
        if problem != "raised" or (own and not entry.get("undefined") and not entry.get("grader_error")):
            return _judge_raises(check, request, got, entry, problem)
    if problem == "raised":
        raised = _raised(check, suite, reports, entry, context)
        reference = expected.get(check.request)
        if check.kind in ("gradient", "gradients") and raised.kind != "grader" and isinstance(reference, dict) \
                and reference.get("ok"):
            # an alternative judging another request (the time loop over a stand-in) may still apply
            credited = _credited(check, suite, reports, decode_value(reference["value"]), None, context)
            if credited is not None:
                return credited
        return raised
    if problem:
        return fail(problem, "malformed")
    if check.kind == "model":  # judged on held-out data: there is no reference value to compare with
        ok, message = _judge_model(check, reports.request(check.request), got, context)
        return CheckVerdict(check, ok, f"{check.description}: {message}", reason="" if ok else message,
                            kind="" if ok else "model")
    if check.requires and not (passed or {}).get(check.requires, False):
        if check.kind == "property":
            return fail(f"judged once {check.requires} passes", "requires")
        return fail("the values are wrong, so how they were computed earns nothing yet", "requires")
    if check.kind == "property":  # no single right value (random data): the check's predicate decides
        return _judge_property(check, reports.request(check.request), got)
    reference = expected.get(check.request)
    if not isinstance(reference, dict) or not reference.get("ok"):
        return fail("no reference value was built for this check (instructor: rebuild the assignment)", "grader")
    if entry.get("args_digest") != reference.get("args_digest"):
        return fail("the test inputs differ from those of the build (instructor: rebuild the assignment)", "grader")
    want = decode_value(reference["value"])
    request = reports.request(check.request)

    if check.kind == "no_warnings":
        warnings = entry.get("warnings") or []
        if warnings:
            return fail(f"NumPy warned: {str(warnings[0])[:200]}", "warning")
        return CheckVerdict(check, True, f"{check.description}: no overflow warnings")
    if check.kind == "unchanged":
        for request_id, other in reports.exercise_requests().items():   # any call of this exercise's function
            _, other_entry, other_problem = reports.result(request_id)
            if not other_problem and other_entry.get("mutated") and \
                    other.get("function") == request.get("function"):
                entry, request = other_entry, other
                break
        mutated = entry.get("mutated") or []
        if mutated:
            names = request.get("backward_arg_names") or request.get("arg_names") or []
            which = ", ".join(names[k] if isinstance(k, int) and 0 <= k < len(names) else f"argument {k}"
                              for k in mutated[:6])
            return fail(f"{request.get('function')} modified its argument(s) {which} (called as "
                        f"{call_text(request)})", "modified")
        return CheckVerdict(check, True, f"{check.description}: yes")
    if check.kind == "cache_kept":
        kept = reports.extra(check.request).get("cache_unchanged")
        if not (isinstance(kept, np.ndarray) and kept.size == 1 and float(kept) == 1.0):
            return fail("the cache returned by one call changed when lstm_cell_forward was called again", "cache")
        return CheckVerdict(check, True, f"{check.description}: yes")
    if check.kind == "caches":
        return _judge_caches(check, request, reports.extra(check.request), fail)

    if check.kind == "outputs":
        got_outputs = _as_outputs(got, len(check.names))
        want_outputs = _as_outputs(want, len(check.names))
        if len(got_outputs) != len(check.names):
            return fail(f"expected {len(check.names)} returned values ({', '.join(check.names)}), "
                        f"got {len(got_outputs)}", "shape")
        problems = [p for p in (_compare_arrays(n, g, np.asarray(w), check.rtol, check.atol)
                                for n, g, w in zip(check.names, got_outputs, want_outputs)) if p]
        if not problems:
            why = _guard(check, suite, reports, context)
            if why:
                return fail(why, "inconsistent")
            return CheckVerdict(check, True, f"{check.description}: correct")
        if all(isinstance(g, np.ndarray) and (not isinstance(g, Reported) or g.is_array) and
               g.shape == np.shape(w) for g, w in zip(got_outputs, want_outputs)):
            for display, own in _own_targets(suite, check, reports, context):
                if _informative(list(own), [np.asarray(w) for w in want_outputs]) and all(
                        _compare_arrays(n, g, np.asarray(t), check.rtol, check.atol) is None
                        for n, g, t in zip(check.names, got_outputs, own)):
                    return CheckVerdict(check, True, f"{check.description}: consistent with {display} "
                                                     f"(its mistake is charged there)", credited_with=display,
                                        relies_on=_relied_on(suite, check, reports, display))
        kind = "values" if all(p.endswith(")") and " is wrong: " in p for p in problems) else "shape"
        return fail(f"{call_text(request)}: " + "; ".join(problems), kind)

    if check.kind in ("gradient", "gradients"):
        return _judge_gradients(check, suite, reports, got, want, request, context, fail)
    raise ValueError(f"unknown check kind {check.kind!r}")


def _judge_caches(check: Check, request: dict, extra: dict, fail) -> CheckVerdict:
    steps = int(np.shape(request["args"][0])[1])
    returned = extra.get("caches_returned")
    status = extra.get("caches")
    count = int(float(returned)) if isinstance(returned, np.ndarray) and returned.size == 1 else -1
    if count < 0:
        return fail("caches is not a list", "cache")
    if count != steps or not isinstance(status, np.ndarray) or status.shape != (steps,):
        return fail(f"caches has {count} entries for {steps} time steps", "cache")
    bad = [t for t in range(steps) if status[t] == 0]   # -1: could not be compared, and nothing shows it is wrong
    if bad:
        t = bad[0]
        return fail(f"caches[{t}] is not the cache lstm_cell_forward returned at step {t}: caches in "
                    "the wrong order, or one cache object reused and changed at every step", "cache")
    return CheckVerdict(check, True, f"{check.description}: yes")


def _judge_gradients(check: Check, suite: Suite, reports: Reports, got: Any, want: dict, request: dict,
                     context: JudgeContext, fail) -> CheckVerdict:
    """One gradient (``"gradient"``) or all of them (``"gradients"``): exact against the reference, or against
    an own-function target; never if the backward was computed by numerical differentiation or autodiff."""
    extra = reports.extra(check.request)
    steps = int(np.shape(request["upstream"][0])[1]) if np.ndim(request["upstream"][0]) == 3 else 1
    counts = extra.get("calls_in_backward") if isinstance(extra.get("calls_in_backward"), dict) else {}
    for name, per_step in check.calls:
        n = counts.get(name)
        n = int(float(n)) if isinstance(n, np.ndarray) and n.size == 1 else 0
        if n > per_step * steps:
            return fail(f"{request['function']} called your {name} {n} times while computing the gradients: that "
                        "is numerical differentiation, which earns no points (the exercise is to derive the "
                        "backward pass)", "numerical")
    tapes = extra.get("autodiff_tapes")
    if isinstance(tapes, np.ndarray) and tapes.size == 1 and float(tapes) > 0:
        return fail(f"{request['function']} used automatic differentiation (tf.GradientTape), which earns no "
                    "points (the exercise is to derive the backward pass)", "numerical")
    problem = _gradient_problem(got, want, check, request)
    errors = {} if problem else {key: _relative_error(got[key], want[key]) for key in _keys(check)}
    if errors and max(errors.values()) <= check.rtol:
        return CheckVerdict(check, True, f"{check.description}: correct (relative error "
                                         f"{max(errors.values()):.1e})")
    credited = _credited(check, suite, reports, want, None if problem else got, context)
    if credited is not None:
        return credited
    if problem:
        return fail(problem, "shape")
    worst = max(errors, key=errors.get)
    if errors[worst] <= 1e-5:
        return fail(f"{worst} agrees with the exact gradient only to a relative error of {errors[worst]:.1e}: "
                    "that is the precision of a numerical derivative (or of float32 arithmetic), not of an "
                    "analytic backward pass in float64 (about 1e-15), and earns no points", "numerical")
    difference = _compare_arrays(worst, got[worst], np.asarray(want[worst]), 1e-4, 1e-7) or ""
    return fail(f"{call_text(request)}: relative error {errors[worst]:.1e} against the expected gradient "
                f"{worst}; {difference}", "values")


def _keys(check: Check) -> tuple[str, ...]:
    return check.names if check.kind == "gradients" else check.names[:1]


def _gradient_problem(got: Any, want: dict, check: Check, request: dict) -> str:
    """What makes reported gradients unusable (not a dict, a key missing, a wrong shape...), or ``""``."""
    if not isinstance(got, dict):
        return (f"{call_text(request)} must return a dict of gradients, returned a "
                f"{getattr(got, 'container', type(got).__name__)}")
    for key in _keys(check):
        grad, reference_grad = got.get(key), np.asarray(want[key])
        if key not in got:
            return f"the returned dict has no key '{key}' (keys: {', '.join(sorted(got)) or 'none'})"
        if not isinstance(grad, np.ndarray) or (isinstance(grad, Reported) and not grad.is_array):
            return f"{key} is a {getattr(grad, 'container', type(grad).__name__)}, expected a NumPy array"
        if grad.shape != reference_grad.shape:
            return f"{key} has shape {grad.shape}, expected {reference_grad.shape}"
        if not np.all(np.isfinite(grad)):
            return f"{key} contains NaN or inf"
    return ""


def _credited(check: Check, suite: Suite, reports: Reports, want: dict, got: Any,
              context: JudgeContext) -> CheckVerdict | None:
    """A pass through one of the check's own-function targets, or ``None``. A target marked ``"__request__"``
    judges the values of that other request of the exercise (e.g. the time loop run over a stand-in); the others
    judge ``got`` (``None`` when the check's own request raised or returned something unusable)."""
    all_keys = sorted(want)
    for display, own in _own_targets(suite, check, reports, context):
        for target in own if isinstance(own, list) else [own]:
            if not isinstance(target, dict):
                continue
            elsewhere = "__request__" in target
            mine = reports.value(str(target["__request__"])) if elsewhere else got
            if not isinstance(mine, dict) or (elsewhere and _gradient_problem(
                    mine, want, check, reports.request(str(target["__request__"])))):
                continue
            if _informative([target.get(k) for k in all_keys], [want[k] for k in all_keys]) and all(
                    np.shape(target.get(k)) == np.shape(mine[k]) and _relative_error(mine[k], target[k]) <= check.rtol
                    for k in _keys(check)):
                return CheckVerdict(check, True, f"{check.description}: correct for {display} "
                                                 f"(a mistake elsewhere is charged where it is)",
                                    credited_with=display, relies_on=_relied_on(suite, check, reports, display))
    return None


@functools.cache
def _function_owners(suite: Suite) -> dict[str, str]:
    """``{function name: exercise}``: the exercise that asks for each function the requests call (the first one,
    in the order of the checks), and every exercise under its own name."""
    owners: dict[str, str] = {}
    for exercise in dict.fromkeys(c.exercise for c in suite.checks):
        owners.setdefault(exercise, exercise)
        try:
            requests = suite.requests(exercise)
        except KeyError:   # an exercise judged without requests of its own (none is, today): nothing to add
            continue
        for request in requests.values():
            if isinstance(request.get("function"), str):
                owners.setdefault(request["function"], exercise)
    return owners


def _relied_on(suite: Suite, check: Check, reports: Reports, display: str) -> tuple[tuple[str, str], ...]:
    """``(exercise, function)`` of the other exercises whose functions a value credited through an own-function
    target came from: the functions the target's display names ("your own lstm_cell_forward"), those the request
    names (the forward a backward's cache came from, the cell a time loop calls), and those the student's
    function called while the request ran (recorded by the probe)."""
    request = reports.request(check.request)
    extra = reports.extra(check.request)
    calls = list(extra.get("calls") or []) if isinstance(extra.get("calls"), list) else []
    for step in extra.get("steps") or [] if isinstance(extra.get("steps"), list) else []:
        if isinstance(step, dict) and isinstance(step.get("calls"), list):
            calls += step["calls"]
    names = [*re.findall(r"\w+", display), *(v for v in request.values() if isinstance(v, str)),
             *(c.get("function") for c in calls if isinstance(c, dict))]
    owners = _function_owners(suite)
    return tuple(dict.fromkeys((owners[n], n) for n in names
                               if isinstance(n, str) and n in owners and owners[n] != check.exercise))


def trace_mistakes_elsewhere(verdict: ExerciseVerdict, earlier: dict[str, ExerciseVerdict],
                             labels: dict[str, str] | None = None) -> None:
    """Set ``verdict.mistakes_elsewhere``: the functions, wrong in their own exercise, that the credited checks of
    ``verdict`` rest on, directly or through an exercise credited the same way (a backward judged at the
    activations of a forward whose loop was credited around a wrong cell: the cell is the one to name).

    Parameters
    ----------
    verdict : ExerciseVerdict
        A verdict of :func:`judge_exercise`.
    earlier : dict
        ``{exercise: ExerciseVerdict}`` of the exercises judged before it, in the same notebook, already traced.
    labels : dict, optional
        ``{exercise: "Exercise N"}`` (:func:`exercise_labels`): where each mistake is said to be charged.
    """
    labels = labels or {}
    found: dict[str, str] = {}
    for check in verdict.checks:
        if not (check.passed and check.credited_with):
            continue
        for exercise, function in check.relies_on:
            other = earlier.get(exercise)
            if other is None:
                continue
            if other.points < other.max_points:
                found.setdefault(function, labels.get(exercise, ""))
            for name, where in other.mistakes_elsewhere.items():
                found.setdefault(name, where)
    verdict.mistakes_elsewhere = found


_EXERCISE_HEADING = re.compile(r"^(#{1,6})\s+(Exercise\s+\d+[a-z]?)\b", re.IGNORECASE)
_HEADING = re.compile(r"^(#{1,6})\s")


def exercise_labels(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """``{grade_id: "Exercise N"}`` for the test cells under a heading "Exercise N: ..." (the course's convention
    for every exercise), so that a verdict can say where a mistake is charged in the student's own terms."""
    labels: dict[str, str] = {}
    current: tuple[int, str] | None = None
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in str(cell.source).splitlines():
                exercise, heading = _EXERCISE_HEADING.match(line), _HEADING.match(line)
                if exercise:
                    current = (len(exercise.group(1)), " ".join(exercise.group(2).split()).capitalize())
                elif heading and current and len(heading.group(1)) <= current[0]:
                    current = None   # a section of the same level that is no exercise: the exercise is over
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution") and current:
            labels.setdefault(str(meta.get("grade_id")), current[1])
    return labels


def _guard(check: Check, suite: Suite, reports: Reports, context: JudgeContext) -> str:
    """Why right values cannot earn the check anyway (the check's guard), or ``""``."""
    if not check.guard:
        return ""
    guard = suite.target(check.guard)
    try:
        return str(guard(reports.request(check.request), reports, check.request) or "")
    except Exception as error:  # noqa: BLE001 - hostile values may break a guard: logged, the values stand
        if context.strict:
            raise
        context.problems.append(f"{suite.stem}: guard {check.guard} could not use the reported values "
                                f"({type(error).__name__}: {str(error)[:200]})")
        return ""


def _alternatives(check: Check) -> list[str]:
    return [name for name in (check.alternative or "").split(",") if name]


GENERIC_HINTS = {
    "upstream": "",
    "undefined": "",
    "grader": "",
    "requires": "",
    "malformed": "return NumPy arrays (and dicts or tuples of them), as the exercise asks.",
    "numerical": "derive the gradients by the chain rule through the cell equations, as Exercise 8 shows.",
}


def judge_exercise(suite: Suite, exercise: str, max_points: float, payload: dict | None,
                   expected: dict, problem: str = "", context: JudgeContext | None = None,
                   others: dict | None = None) -> ExerciseVerdict:
    """Points of one exercise: the weighted share of its checks that passed. ``others``: the results reported
    by the exercises before it (``{exercise: results}``), which own-function targets may use."""
    checks = suite.exercise_checks(exercise)
    verdict = ExerciseVerdict(exercise, 0.0, max_points, problem=problem)
    if not checks:
        verdict.problem = (f"no hidden checks are defined for '{exercise}' (instructor: see "
                           f"course_lib/assignments/{suite.stem}/checks.py)")
        return verdict
    results = payload.get("results", {}) if isinstance(payload, dict) else {}
    if not isinstance(results, dict):
        results = {}
    reports = Reports(suite, exercise, results, others)
    passed: dict[str, bool] = {}
    for check in checks:
        check_verdict = judge_check(check, suite, reports, expected, context, passed)
        passed[check.id] = check_verdict.passed
        verdict.checks.append(check_verdict)
    total = sum(c.weight for c in checks)
    earned = sum(v.check.weight for v in verdict.checks if v.passed)
    verdict.points = round(max_points * earned / total, 2)
    return verdict


# --------------------------------------------------------------------------- nbgrader preprocessor
def find_report(cell: nbformat.NotebookNode, suite: str, exercise: str) -> tuple[dict | None, str]:
    """The probe's report among a cell's outputs: ``(payload, problem)``."""
    reports = []
    for output in cell.get("outputs", []):
        data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
        if REPORT_MIME in data:
            reports.append(data[REPORT_MIME])
    if not reports:
        return None, ""
    if len(reports) > 1:
        return None, "the cell displayed more than one grading report (only the hidden test may report values)"
    payload = reports[0]
    if isinstance(payload, str):  # some front ends store JSON MIME data as text
        if len(payload) > MAX_REPORT_CHARS:
            return None, "the grading report is too large"
        try:
            payload = json.loads(payload)
        except ValueError:
            return None, "the grading report is not valid JSON"
    if not isinstance(payload, dict) or payload.get("protocol") != PROTOCOL or payload.get("suite") != suite \
            or payload.get("exercise") != exercise:
        return None, "the grading report does not belong to this test cell"
    return payload, ""


def _feedback_text(outputs: list, limit: int) -> str:
    """What the student's code printed or raised in the cell, as plain text (never scored)."""
    parts = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(str(output.get("text", "")))
        elif kind == "error":
            parts.append(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}\n")
        elif kind in ("display_data", "execute_result") and REPORT_MIME not in output.get("data", {}):
            text = output.get("data", {}).get("text/plain")
            if text:
                parts.append(str(text) + "\n")
    return _ANSI.sub("", "".join(parts))[:limit]


#: Output types kept in graded notebooks. The instructor opens them in the formgrader and the student in the
#: feedback page: HTML, JavaScript, SVG or widget outputs produced by student code could run script there.
INERT_MIME = ("text/plain", "image/png", "image/jpeg", REPORT_MIME)


def _keep_inert_outputs(cell) -> None:
    kept = []
    for output in cell.get("outputs", []):
        if output.get("output_type") in ("display_data", "execute_result"):
            data = {k: v for k, v in output.get("data", {}).items() if k in INERT_MIME}
            if not data:
                data = {"text/plain": "[an output that is not shown in graded notebooks: HTML, script or widget]"}
            output["data"] = data
            output["metadata"] = {}
        kept.append(output)
    cell["outputs"] = kept


class ApplyVerdicts(NbGraderPreprocessor):
    """Replace each auto-graded cell's outputs with the grader's verdict (runs after ``Execute``)."""

    source_directory = Unicode("", help="Directory of the source assignments (default: <course root>/source); "
                               "each one's hidden/ folder holds its expected values and held-out data"
                               ).tag(config=True)
    max_feedback_chars = Integer(20_000).tag(config=True)
    problems_file = Unicode("", help="Where to write what went wrong while executing (JSON list), if set"
                            ).tag(config=True)

    def _source_dir(self) -> str:
        if self.source_directory:
            return self.source_directory
        root = self.config.get("CourseDirectory", {}).get("root") or os.getcwd()
        return os.path.join(root, "source")

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        notebook = resources["nbgrader"]["notebook"]
        hidden_dir = os.path.join(self._source_dir(), assignment, HIDDEN_DIR)
        hidden = load_hidden_tests(hidden_dir, assignment)
        spec = hidden.get("notebooks", {}).get(notebook)
        if spec is None:
            raise HiddenTestsError(f"no hidden tests were built for notebook {notebook} of {assignment}")
        self._suite = load_suite(spec["suite"])
        self._expected = spec["exercises"]
        self.verdicts: list[ExerciseVerdict] = []
        self._reported: dict[str, dict] = {}   # results of the exercises judged so far (own-function targets)
        self._labels = exercise_labels(nb)
        nb.metadata.pop("widgets", None)  # widget state written by the kernel's outputs: not the student's to set
        self._problems = list(resources.get("lstm_course", {}).get("problems", []))
        from course_lib.grading.sandbox import Sandbox

        work_dir = resources.get("lstm_course", {}).get("work_dir") or resources.get("metadata", {}).get("path")
        self._context = JudgeContext(hidden_dir=hidden_dir, work_dir=work_dir, sandbox=Sandbox(parent=self).mode,
                                     config=self.config)
        nb, resources = super().preprocess(nb, resources)
        resources.setdefault("lstm_course", {})["verdicts"] = self.verdicts
        if self.problems_file:
            with open(self.problems_file, "w", encoding="utf-8") as f:
                json.dump(self._problems + self._context.problems, f)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code":
            _keep_inert_outputs(cell)
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            return cell, resources
        exercise = str(meta.get("grade_id"))
        max_points = float(meta.get("points", 0))
        payload, problem = find_report(cell, self._suite.stem, exercise)
        if payload is None and not problem and self._problems:
            problem = f"this test did not run: {self._problems[0]}"
        verdict = judge_exercise(self._suite, exercise, max_points, payload, self._expected.get(exercise, {}),
                                 problem, context=self._context, others=self._reported)
        verdict.visible_failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        trace_mistakes_elsewhere(verdict, {v.exercise: v for v in self.verdicts}, self._labels)
        results = payload.get("results") if isinstance(payload, dict) else None
        if isinstance(results, dict):
            self._reported[exercise] = results
        self.verdicts.append(verdict)
        feedback = _feedback_text(cell.get("outputs", []), self.max_feedback_chars)
        outputs = [
            # nbgrader reads the first execute_result as the cell's score: the verdict, and only the verdict.
            nbformat.v4.new_output("execute_result", data={"text/plain": _fmt(verdict.points)},
                                   execution_count=cell.get("execution_count")),
            nbformat.v4.new_output("stream", name="stdout", text=verdict.text() + "\n"),
        ]
        if feedback.strip():
            outputs.append(nbformat.v4.new_output(
                "stream", name="stdout",
                text="\nWhat your code printed in this cell:\n" + feedback))
        cell.outputs = outputs
        return cell, resources
