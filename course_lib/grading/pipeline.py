"""The preprocessor pipelines nbgrader runs when autograding, as configured in ``nbgrader_config.py``.

nbgrader stays the driver; this module only changes nbgrader 0.9's default lists: its sanitising
(``Autograde.sanitize_preprocessors``) starts with the course's own (``SanitizeSubmission``: the student's code in
the release notebook's structure); in ``Autograde.autograde_preprocessors``, execution happens in the sandbox
(``SandboxedExecute``), the cells' run time is noted for the overhead figures (``RecordCellTime``), and the
grader's verdict is applied right after, before anything reads outputs (``ApplyVerdicts``).
"""
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, IgnorePattern, LimitOutput,
    OverwriteCells, OverwriteKernelspec, SaveAutoGrades,
)

from course_lib.grading.sandbox import SandboxedExecute
from course_lib.grading.sanitize import SanitizeSubmission
from course_lib.grading.timing import RecordCellTime
from course_lib.grading.verdicts import ApplyVerdicts

SANITIZE_PREPROCESSORS = [
    SanitizeSubmission,
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]

AUTOGRADE_PREPROCESSORS = [
    SandboxedExecute,
    RecordCellTime,
    ApplyVerdicts,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
