"""The preprocessor pipelines nbgrader runs when autograding, as configured in ``nbgrader_config.py``.

nbgrader stays the driver; this module only changes two steps of its default list (nbgrader 0.9's
``Autograde.autograde_preprocessors``): execution happens in the sandbox (``SandboxedExecute``), and the grader's
verdict is applied right after it, before anything reads outputs (``ApplyVerdicts``).
"""
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades,
)

from course_lib.grading.sandbox import SandboxedExecute
from course_lib.grading.verdicts import ApplyVerdicts

AUTOGRADE_PREPROCESSORS = [
    SandboxedExecute,
    ApplyVerdicts,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
