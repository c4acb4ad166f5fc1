"""Hidden test suites written as data: fixed inputs (requests) and how the grader judges the values they produce.

A suite module defines

* ``requests(exercise) -> {request id: request}``: what the probe evaluates in the student's kernel (and what the
  reference evaluates at build time): plain dicts of a function name, an operation and NumPy inputs;
* ``checks() -> [Check, ...]``: for each graded exercise, which reported values are compared with what, the
  tolerances, the weight of the check inside its exercise, and the hint a student sees when it fails.

Suites are imported inside the student's kernel (by the probe), so they hold inputs only: no expected value and
no solution code.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One verdict inside an exercise.

    Parameters
    ----------
    id : str
        Unique within the suite, e.g. ``"lstm_cell_forward/float32"``.
    exercise : str
        The nbgrader ``grade_id`` of the grade cell whose points this check shares.
    request : str
        The request whose reported value is judged.
    description : str
        What was called, in the student's terms (function, shapes, dtype).
    kind : str
        ``"outputs"`` (compare returned arrays), ``"gradient"`` (compare one gradient), ``"no_warnings"``, or
        ``"model"`` (a trained model the notebook saved, scored on held-out data by the grader).
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
        ``"accuracy"`` (at least ``threshold``) or ``"mse"`` (at most ``threshold``), computed on the arrays ``x``
        and ``y`` of ``source/<assignment>/<heldout>`` (an ``.npz`` built with the assignment, never released).
    alternative : str or None
        A second acceptable target built from the student's *own* other functions, so that a bug is charged once,
        where it is: ``"own_gates"``, ``"own_cell"`` or, for gradients, ``"own_forward"`` (numerical gradient of
        the student's forward).
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
