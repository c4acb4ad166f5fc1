"""Grader side of the hidden tests: turn the values a kernel reported into verdicts and points.

Code that ran student code may report values, never verdicts. :class:`ApplyVerdicts` is an nbgrader preprocessor
that runs in the grader's process right after the notebook was executed: for every auto-graded cell it reads the
report the probe displayed (:mod:`course_lib.grading.probe`), compares it with the reference's values built by
``lstm-course build`` (``source/<assignment>/hidden/hidden_tests.json``), and replaces the cell's outputs with the
verdict, so that nbgrader's own ``SaveAutoGrades`` records exactly the points computed here. What the student's
code printed or raised is kept after the verdict as feedback, but can no longer change the score.
"""
from __future__ import annotations

import json
import math
import os
import re
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
from course_lib.grading.wire import PROTOCOL, Unsupported, decode_value

MAX_REPORT_CHARS = 5_000_000
MAX_VERDICT_CHARS = 8_000   # what one exercise's verdict may say (the feedback page shows it)
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


@dataclass
class ExerciseVerdict:
    exercise: str
    points: float
    max_points: float
    checks: list[CheckVerdict] = field(default_factory=list)
    problem: str = ""

    def text(self) -> str:
        head = f"{self.exercise}: {_fmt(self.points)} / {_fmt(self.max_points)} points"
        lines = [head]
        if self.problem:
            lines.append(f"  ✗ {self.problem}")
        failed = [v for v in self.checks if not v.passed]
        reasons = {v.reason for v in failed}
        if len(failed) > 1 and len(failed) == len(self.checks) and len(reasons) == 1 and failed[0].reason:
            # one cause for everything (typically NotImplementedError): say it once
            lines.append(f"  ✗ all {len(failed)} checks: {failed[0].reason}")
        else:
            lines += [f"  {'✓' if v.passed else '✗'} {v.message}" for v in self.checks]
        hints = list(dict.fromkeys(v.check.hint for v in failed if v.check.hint))
        lines += [f"  Hint: {hint}" for hint in hints]
        text = "\n".join(lines)
        return text if len(text) <= MAX_VERDICT_CHARS else text[:MAX_VERDICT_CHARS] + "\n  [verdict shortened]"


def _fmt(x: float) -> str:
    return f"{x:g}"


# --------------------------------------------------------------------------- comparisons
def _as_outputs(value: Any, count: int) -> tuple:
    if count == 1:
        return (value,)
    return value if isinstance(value, tuple) else (value,)


def _compare_arrays(name: str, got: Any, expected: np.ndarray, rtol: float, atol: float) -> str | None:
    """``None`` if equal within tolerance, else what is wrong, in the student's terms."""
    if isinstance(got, Unsupported):
        return f"{name} is a {got}, expected a NumPy array of shape {expected.shape}"
    if not isinstance(got, np.ndarray):
        return f"{name} is a {type(got).__name__}, expected a NumPy array of shape {expected.shape}"
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
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))


def _decoded_result(results: dict, request: str) -> tuple[Any, str | None]:
    result = results.get(request)
    if not isinstance(result, dict):
        return None, "no value was reported (the test cell did not run to the end)"
    if not result.get("ok"):
        return None, f"your code raised {str(result.get('error', 'an error'))[:300]}"
    try:
        return decode_value(result["value"]), None
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as error:
        return None, f"the reported value is malformed ({error})"


def _own_target(suite: Suite, name: str, exercise_requests: dict, request_id: str, results: dict,
                context: JudgeContext) -> Any:
    """The acceptable answer that target ``name`` builds from the student's own other functions (or ``None``)."""
    target = suite.target(name)

    def value_of(rid: str) -> Any:
        value, problem = _decoded_result(results, rid)
        return None if problem else value

    if context.strict:  # build time: a target that raises is a bug of the course
        return target(exercise_requests[request_id], value_of, request_id)
    try:
        return target(exercise_requests[request_id], value_of, request_id)
    except Exception as error:  # noqa: BLE001 - hostile values may break a target: no credit, and the log says so
        context.problems.append(f"{suite.stem}: target {name} could not use the reported values "
                                f"({type(error).__name__}: {str(error)[:200]})")
        return None


def _judge_model(check: Check, request: dict, got: Any, context: JudgeContext) -> tuple[bool, str]:
    from course_lib.grading.models import ModelRejected, ModelScoring, score_saved_model

    if not isinstance(got, np.ndarray) or got.shape != (32,) or not context.work_dir or not context.hidden_dir:
        return False, "no saved model was reported"
    try:
        value = score_saved_model(Path(context.work_dir) / request["filename"],
                                  Path(context.hidden_dir) / check.heldout, check.metric,
                                  settings=ModelScoring(config=context.config), sandbox=context.sandbox)
    except ModelRejected as error:
        return False, str(error)
    better = value >= check.threshold if check.metric == "accuracy" else value <= check.threshold
    relation = "≥" if check.metric == "accuracy" else "≤"
    return better, f"{check.metric} on held-out data {value:.4g} (needs {relation} {check.threshold:g})"


def judge_check(check: Check, suite: Suite, exercise_requests: dict, results: dict, expected: dict,
                context: JudgeContext | None = None) -> CheckVerdict:
    """Compare one check's reported value with the reference (and the student's own-function targets)."""
    context = context or JudgeContext()
    if context.strict:  # build time: every target runs, even where the answer is right and none is needed
        for alternative in _alternatives(check):
            _own_target(suite, alternative, exercise_requests, check.request, results, context)
    fail = lambda why: CheckVerdict(check, False, f"{check.description}: {why}.", reason=why)  # noqa: E731
    if check.kind == "model":  # judged on held-out data: there is no reference value to compare with
        got, problem = _decoded_result(results, check.request)
        if problem:
            return CheckVerdict(check, False, f"{check.description}: {problem}.", reason=problem)
        passed, message = _judge_model(check, exercise_requests[check.request], got, context)
        return CheckVerdict(check, passed, f"{check.description}: {message}", reason="" if passed else message)
    reference = expected.get(check.request)
    if not isinstance(reference, dict) or not reference.get("ok"):
        return fail("no reference value was built for this check (instructor: rebuild the assignment)")
    student = results.get(check.request)
    if isinstance(student, dict) and student.get("args_digest") != reference.get("args_digest"):
        return fail("the test inputs differ from those of the build (instructor: rebuild the assignment)")
    got, problem = _decoded_result(results, check.request)
    if problem:
        return fail(problem)
    want = decode_value(reference["value"])

    if check.kind == "no_warnings":
        # only a right answer can be credited for being computed safely
        if _compare_arrays(check.names[0], got, np.asarray(want), check.rtol, check.atol) is not None:
            return fail("the values are wrong, so computing them without overflow earns nothing")
        warnings = results[check.request].get("warnings") or []
        if warnings:
            return fail(f"NumPy warned: {str(warnings[0])[:200]}")
        return CheckVerdict(check, True, f"{check.description}: no overflow warnings")

    if check.kind == "outputs":
        got_outputs = _as_outputs(got, len(check.names))
        want_outputs = _as_outputs(want, len(check.names))
        if len(got_outputs) != len(check.names):
            return fail(f"expected {len(check.names)} returned values ({', '.join(check.names)}), "
                        f"got {len(got_outputs)}")
        problems = [p for p in (_compare_arrays(n, g, np.asarray(w), check.rtol, check.atol)
                                for n, g, w in zip(check.names, got_outputs, want_outputs)) if p]
        if not problems:
            return CheckVerdict(check, True, f"{check.description}: correct")
        for alternative in _alternatives(check):
            own = _own_target(suite, alternative, exercise_requests, check.request, results, context)
            if own is not None and _informative(list(own), [np.asarray(w) for w in want_outputs]) and all(
                _compare_arrays(n, g, np.asarray(t), check.rtol, check.atol) is None
                for n, g, t in zip(check.names, got_outputs, own)
            ):
                return CheckVerdict(check, True, f"{check.description}: consistent with "
                                                 f"{suite.target(alternative).display} (its mistake is charged there)")
        return fail("; ".join(problems))

    if check.kind == "gradient":
        key, arg = check.names
        if not isinstance(got, dict) or not isinstance(got.get("analytic"), dict):
            return fail("the backward function must return a dict of gradients")
        analytic = got["analytic"]
        if key not in analytic:
            return fail(f"the returned dict has no key '{key}' (keys: {', '.join(sorted(analytic)) or 'none'})")
        grad = analytic[key]
        reference_grad = np.asarray(want["analytic"][key])
        if not isinstance(grad, np.ndarray) or isinstance(grad, Unsupported):
            return fail(f"{key} is not a NumPy array")
        if grad.shape != reference_grad.shape:
            return fail(f"{key} has shape {grad.shape}, expected {reference_grad.shape} (the shape of {arg})")
        if not np.all(np.isfinite(grad)):
            return fail(f"{key} contains NaN or inf")
        error_reference = _relative_error(grad, reference_grad)
        if error_reference <= check.rtol:
            return CheckVerdict(check, True, f"{check.description}: correct (relative error {error_reference:.1e})")
        numeric = got.get("numeric", {}).get(arg) if isinstance(got.get("numeric"), dict) else None
        if isinstance(numeric, np.ndarray) and numeric.shape == grad.shape and _non_degenerate(got, want):
            error_own = _relative_error(grad, numeric)
            if error_own <= check.rtol:
                return CheckVerdict(check, True, f"{check.description}: matches the numerical gradient of your "
                                                 f"own forward (relative error {error_own:.1e})")
        keys = sorted(want["analytic"])
        for alternative in _alternatives(check):
            own = _own_target(suite, alternative, exercise_requests, check.request, results, context)
            if isinstance(own, dict) and _informative([own.get(k) for k in keys], [want["analytic"][k] for k in keys]) \
                    and _relative_error(grad, own[key]) <= check.rtol:
                return CheckVerdict(check, True, f"{check.description}: correct for "
                                                 f"{suite.target(alternative).display} "
                                                 f"(that mistake is charged where it is)")
        problem = _compare_arrays(key, grad, reference_grad, 1e-4, 1e-7) or ""
        return fail(f"relative error {error_reference:.1e} against the expected gradient (tolerance "
                    f"{check.rtol:g}); {problem}")

    raise ValueError(f"unknown check kind {check.kind!r}")


def _alternatives(check: Check) -> list[str]:
    return [name for name in (check.alternative or "").split(",") if name]


def _non_degenerate(got: dict, want: dict) -> bool:
    """A forward whose numerical gradients are all ~0 (a constant) cannot vouch for a backward."""
    mine = got.get("numeric")
    ref = want.get("numeric")
    if not isinstance(mine, dict) or not isinstance(ref, dict):
        return False
    norm = lambda d: math.sqrt(sum(float(np.sum(np.square(v))) for v in d.values()  # noqa: E731
                                   if isinstance(v, np.ndarray)))
    return norm(mine) > 1e-3 * norm(ref)


def judge_exercise(suite: Suite, exercise: str, max_points: float, payload: dict | None,
                   expected: dict, problem: str = "", context: JudgeContext | None = None) -> ExerciseVerdict:
    """Points of one exercise: the weighted share of its checks that passed."""
    checks = suite.exercise_checks(exercise)
    verdict = ExerciseVerdict(exercise, 0.0, max_points, problem=problem)
    if not checks:
        verdict.problem = (f"no hidden checks are defined for '{exercise}' (instructor: see "
                           f"course_lib/assignments/{suite.stem}/checks.py)")
        return verdict
    results = payload.get("results", {}) if isinstance(payload, dict) else {}
    if not isinstance(results, dict):
        results = {}
    requests = suite.requests(exercise)
    for check in checks:
        verdict.checks.append(judge_check(check, suite, requests, results, expected, context))
    total = sum(c.weight for c in checks)
    passed = sum(v.check.weight for v in verdict.checks if v.passed)
    verdict.points = round(max_points * passed / total, 2)
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
                                 problem, context=self._context)
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
