"""The preprocessor pipelines nbgrader runs when autograding, as configured in ``nbgrader_config.py``.

nbgrader stays the driver; this module only inserts our step into its default list (nbgrader 0.9's
``Autograde.autograde_preprocessors``): the grader's verdict right after execution, before anything reads outputs.
"""
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, Execute, IgnorePattern, LimitOutput, SaveAutoGrades,
)

from course_lib.grading.verdicts import ApplyVerdicts

AUTOGRADE_PREPROCESSORS = [
    Execute,
    ApplyVerdicts,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
