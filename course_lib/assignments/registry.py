"""The assignments of the course: one row each. Everything else about an assignment is found from its key.

An assignment named ``NN_stem`` (the nbgrader assignment and the folder under ``source/`` and ``release/``) has

* ``source/NN_stem/stem.ipynb``: the instructor notebook; its nbgrader metadata is the list of exercises and points;
* ``course_lib/solutions/stem.py``: the reference solution;
* ``course_lib/assignments/stem/inputs.py``: the hidden tests' inputs (the only module of the folder a kernel
  imports), ``checks.py`` (how the grader judges them), ``mistakes.py`` (sample mistakes and what each must cost),
  optionally ``targets.py`` (own-function targets) and ``data.py`` (the dataset builder, ``build(source, hidden)``).
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from course_lib.grading.course import CourseError


class UnknownAssignment(CourseError):
    """No assignment of the course has that name; the message lists those it has."""


@dataclass(frozen=True)
class Assignment:
    """One row of the registry.

    Parameters
    ----------
    name : str
        ``NN_stem``: the nbgrader assignment name and the folder of ``source/`` and ``release/``.
    title : str
        Shown to students by ``lstm-course check``.
    demo_mistake : str
        The sample mistake (a key of its ``mistakes.MISTAKES``) that ``lstm-course demo`` hands in.
    kernel_modules : tuple of str
        Further ``course_lib`` modules the student's notebook imports (a data loader, say): the sandboxed kernel
        can import these and the probe, and nothing else of ``course_lib``.
    build_only : tuple of str
        Released data files too large to commit (06's corpus): ``lstm-course build`` writes them into
        ``source/NN_stem/`` (whence nbgrader copies them into ``release/``), git ignores them, and the committed
        manifest ``source/NN_stem/build_only.sha256`` records their hashes, so that a build that makes other bytes
        shows as a change.
    """

    name: str
    title: str
    demo_mistake: str
    kernel_modules: tuple[str, ...] = ()
    build_only: tuple[str, ...] = ()

    @property
    def stem(self) -> str:
        return self.name.split("_", 1)[1]

    @property
    def notebook(self) -> str:
        """The notebook's file name without ``.ipynb`` (the stem)."""
        return self.stem

    @property
    def package(self) -> str:
        return f"course_lib.assignments.{self.stem}"

    @property
    def reference(self) -> str:
        return f"course_lib.solutions.{self.stem}"

    def module(self, part: str) -> ModuleType:
        """``course_lib.assignments.<stem>.<part>`` (``inputs``, ``checks``, ``targets``, ``mistakes``, ``data``)."""
        return importlib.import_module(f"{self.package}.{part}")

    def has_module(self, part: str) -> bool:
        return importlib.util.find_spec(f"{self.package}.{part}") is not None

    def source_dir(self, root: Path) -> Path:
        return Path(root) / "source" / self.name

    def hidden_dir(self, root: Path) -> Path:
        """Built, never released, never seen by a kernel: hidden tests, held-out data and labels."""
        return self.source_dir(root) / "hidden"

    def source_notebook(self, root: Path) -> Path:
        return self.source_dir(root) / f"{self.notebook}.ipynb"

    def release_notebook(self, root: Path) -> Path:
        return Path(root) / "release" / self.name / f"{self.notebook}.ipynb"

    def mistakes(self) -> list:
        """The sample mistakes (``mistakes.MISTAKES``), each with the exercises it must cost."""
        return list(self.module("mistakes").MISTAKES.values())

    def kernel_allowlist(self) -> tuple[str, ...]:
        """The ``course_lib`` modules a graded kernel may import: the probe, this assignment's inputs, helpers."""
        return ("course_lib.grading.probe", "course_lib.grading.wire", f"{self.package}.inputs",
                *self.kernel_modules)


ASSIGNMENTS: dict[str, Assignment] = {a.name: a for a in (
    Assignment("01_lstm_gates", "LSTM gates in NumPy", demo_mistake="swapped_input_forget"),
    Assignment("02_sequence_prediction", "Sequence prediction with a Keras LSTM", demo_mistake="scaler_on_all_data"),
    Assignment("03_sentiment", "Sentiment analysis with Keras 3", demo_mistake="confusion_transposed",
               build_only=("controlled_train.tsv", "other_domains.tsv")),
    Assignment("04_text_generation", "Character-level text generation", demo_mistake="temperature_as_division"),
    Assignment("05_poem_generation", "Poem generation: an LSTM that writes sonnets", demo_mistake="temperature_ignored",
               kernel_modules=("course_lib.data.poems", "course_lib.assignments.text_generation.inputs")),
    Assignment("06_ner", "Named-entity recognition: a BiLSTM that finds names it has never seen",
               demo_mistake="no_word_dropout",
               kernel_modules=("course_lib.data.conll", "course_lib.assignments.text_generation.inputs"),
               build_only=("ner_train.conll", "ner_dev.conll")),
)}


def get_assignment(key: str) -> Assignment:
    """The assignment named ``key`` (``01_lstm_gates``) or whose stem is ``key`` (``lstm_gates``)."""
    for assignment in ASSIGNMENTS.values():
        if key in (assignment.name, assignment.stem):
            return assignment
    raise UnknownAssignment(f"unknown assignment '{key}': the course has {', '.join(ASSIGNMENTS)}")


def assignment_for_notebook(stem: str) -> Assignment:
    for assignment in ASSIGNMENTS.values():
        if assignment.notebook == stem:
            return assignment
    names = ", ".join(f"{a.notebook}.ipynb" for a in ASSIGNMENTS.values())
    raise UnknownAssignment(f"'{stem}.ipynb' is not a notebook of this course ({names}); keep the released file "
                            f"name or pass --assignment")
