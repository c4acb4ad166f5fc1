"""Hidden tests as data: how the grader judges the values a kernel reported.

An assignment's hidden tests are two modules of ``course_lib/assignments/<stem>/``:

* ``inputs.requests(exercise) -> {request id: request}``: what the probe evaluates in the student's kernel (and
  the reference at build time): plain dicts of a function name, an operation and NumPy inputs. ``inputs`` is
  imported inside the kernel, so it holds inputs only: no expected value and no solution code;
* ``checks.checks() -> [Check, ...]``: for each graded exercise, which reported values are compared with what, the
  tolerances, the weight of the check inside its exercise, and the hint a student sees when it fails.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Check:
    """One verdict inside an exercise.

    Parameters
    ----------
    id : str
        Unique within the assignment, e.g. ``"lstm_cell_forward/float32"``.
    exercise : str
        The nbgrader ``grade_id`` of the grade cell whose points this check shares.
    request : str
        The request whose reported value is judged.
    description : str
        What was called, in the student's terms (function, shapes, dtype).
    kind : str
        ``"outputs"`` (compare returned arrays), ``"gradient"`` (compare one gradient), ``"gradients"`` (every
        gradient of the request at once), ``"no_warnings"``, ``"unchanged"`` (the call left its arguments as they
        were), ``"cache_kept"`` / ``"caches"`` (a forward's caches stay what they were; see
        :mod:`course_lib.grading.verdicts`), or ``"model"`` (a trained model the notebook saved, scored on held-out
        data by the grader).
    names : tuple of str
        For ``"outputs"``: the names of the returned values, in order. For ``"gradient"``: the student's key
        (e.g. ``"dkernel"``) and the argument it differentiates (``"kernel"``).
    rtol, atol : float
        Tolerances of ``np.allclose``-style comparisons (``rtol`` alone bounds a gradient's relative error).
    hint : str
        What to look at when the check fails.
    weight : float
        Share of the exercise's points, relative to the other checks of the exercise.
    metric, threshold, heldout : for ``"model"`` checks
        A metric of :data:`course_lib.grading.models.METRICS`, computed by the grader from the model's predictions
        on the arrays ``x`` and ``y`` of ``source/<assignment>/hidden/<heldout>`` (an ``.npz`` built with the
        assignment, never released). Metrics of :data:`course_lib.grading.models.HIGHER_IS_BETTER`
        (``"accuracy"``, ``"valid_distributions"``) must be at least ``threshold``; the others (``"mse"``,
        ``"cross_entropy"`` in nats per character) at most, and a ``threshold`` of 0 sets no absolute bound for
        them (``baselines`` may set a relative one). ``"valid_distributions"`` passes when the model outputs a
        distribution over the vocabulary at every position (the metric refuses anything else, with the reason).
    architecture, forbidden : for ``"model"`` checks
        Layers the model must have, as ``"LSTM"`` or ``"LSTM(64)"`` (with that many units), and layer classes it
        must not have; an ``RNN`` layer counts as the layer of its cell (``RNN(LSTMCell(64))`` is ``LSTM(64)``).
        A model built otherwise earns nothing in the check, with the reason, and is never run.
    baselines, beat_by : for ``"model"`` checks
        Names of naive forecasts stored with the held-out data (arrays ``baseline_<name>`` of the ``.npz``, one
        prediction per example), each optionally ``"name=how the verdict calls it"``: the model's metric must be
        better than ``beat_by`` times each baseline's (for ``"mse"``: at most ``beat_by`` × the smallest baseline
        MSE). For ``"cross_entropy"`` a baseline is an array of probabilities, shape (n, T, V), scored with the
        same metric.
    report_only : for ``"model"`` checks
        The metric is reported (with the baselines) and not graded: the check passes once the model was scored.
    at_most : for ``"model"`` checks
        The metric must be at most ``threshold`` (e.g. a bag-of-words model's accuracy where only word order
        tells the classes apart: above it, the model is not the bag of words the exercise asks for).
    unseen : for ``"model"`` checks
        A file of ``source/<assignment>/hidden/`` listing, one per line, tokens the model's vocabulary must not
        hold (words that occur only in data it must not have been adapted on): the archive's lookup vocabularies
        are read as text, and a model holding any fails the check, with a few of them named.
    causal : for ``"model"`` checks
        The model is a language model (``x``: character ids, shape (n, T); predictions (n, T, V)) whose
        prediction at a position may depend only on the characters up to it: the grader also predicts, in the
        same sandbox run, copies of the windows with their ends replaced, and a model whose predictions before
        the change move (a Bidirectional layer, a look-ahead) fails the check with that reason
        (:func:`course_lib.grading.models.score_model`).
    predicate : for ``"property"`` checks
        ``predicate(value, request) -> str``: ``""`` when the reported value (decoded, as for ``"outputs"``) has
        the property, else why not, in the student's terms. It runs in the grader's process on the student's
        values, so it must not trust their shapes: a value it cannot use is a reason, never an exception.
    alternative : str or None
        Second acceptable targets built from the student's *own* other functions, so that a bug is charged once,
        where it is: comma-separated names of functions of the assignment's ``targets`` module.
    requires : str
        For checks of how a value was computed (``no_warnings``, ``unchanged``, ``cache_kept``, ``caches``): the id
        of the check of the same exercise whose value must be right first (computing a wrong value safely earns
        nothing).
    guard : str
        For ``"outputs"`` checks: a function of the ``targets`` module (marked with :func:`own_target`) called
        like a target when the values are right, returning ``""`` or why they cannot earn the check anyway (e.g.
        the function got them from called functions that answer differently when the hidden tests run).
    calls : tuple of (function name, count)
        For gradient checks: how many calls of each of the student's forward functions the backward may make
        per time step; more is numerical differentiation, which earns nothing.
    """

    id: str
    exercise: str
    request: str
    description: str
    kind: str
    names: tuple[str, ...] = ()
    rtol: float = 1e-7
    atol: float = 1e-10
    hint: str = ""
    weight: float = 1.0
    alternative: str | None = None
    metric: str = ""
    threshold: float = 0.0
    heldout: str = ""
    requires: str = ""
    calls: tuple[tuple[str, int], ...] = ()
    guard: str = ""
    architecture: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    baselines: tuple[str, ...] = ()
    beat_by: float = 1.0
    report_only: bool = False
    at_most: bool = False
    unseen: str = ""
    causal: bool = False
    predicate: Callable[[Any, dict], str] | None = None


def own_target(display: str):
    """Mark a function of an assignment's ``targets`` module as an own-function target.

    ``display`` completes "consistent with your own ..." in the verdict (e.g. ``"gate functions"``). A target is
    called as ``target(request, reports, request_id)`` (``reports``: a :class:`course_lib.grading.verdicts.Reports`,
    the decoded values of every exercise reported so far) and returns the acceptable answer (for a gradient check,
    a dict or a list of dicts, any of which is acceptable), or ``None`` when the student's reported values do not
    allow building it (a wrong shape, a function that raised). It must not raise
    for such values: ``lstm-course build`` runs every target on the reference and on every sample mistake, and a
    target that raises there is a bug of the course, reported at build time.
    """
    def mark(function):
        function.display = display
        return function
    return mark


@dataclass(frozen=True)
class Suite:
    """The hidden tests of one assignment, as the grader sees them: its inputs, checks and own-function targets."""

    stem: str
    inputs: ModuleType
    checks: tuple[Check, ...]
    targets: ModuleType | None

    def requests(self, exercise: str) -> dict[str, dict]:
        return self.inputs.requests(exercise)

    @property
    def ops(self) -> dict:
        """The probe operations the assignment adds to the engine's."""
        return dict(getattr(self.inputs, "OPS", {}))

    def exercise_checks(self, exercise: str) -> list[Check]:
        return [c for c in self.checks if c.exercise == exercise]

    def target(self, name: str):
        """The own-function target ``name`` (a function marked with :func:`own_target`)."""
        function = getattr(self.targets, name, None) if self.targets else None
        if not callable(function) or not hasattr(function, "display"):
            raise LookupError(f"{self.stem}: the alternative {name!r} is not an own_target of "
                              f"course_lib.assignments.{self.stem}.targets")
        return function


@functools.cache
def load_suite(stem: str) -> Suite:
    """The grader's view of ``course_lib.assignments.<stem>`` (inputs, checks, targets)."""
    if not stem.isidentifier():
        raise ValueError(f"bad assignment key {stem!r}")
    package = f"course_lib.assignments.{stem}"
    targets = importlib.import_module(f"{package}.targets") if importlib.util.find_spec(f"{package}.targets") else None
    suite = Suite(stem, importlib.import_module(f"{package}.inputs"),
                  tuple(importlib.import_module(f"{package}.checks").checks()), targets)
    for check in suite.checks:  # a misspelt alternative is the instructor's mistake: say so before grading anyone
        for name in filter(None, [*(check.alternative or "").split(","), check.guard]):
            suite.target(name)
    return suite
