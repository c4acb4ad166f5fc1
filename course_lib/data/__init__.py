"""Corpus readers shared by several assignments (no solutions, no held-out answers here).

An assignment's own dataset builder is ``course_lib/assignments/<stem>/data.py`` (``build(source_dir, hidden_dir)``,
called by ``lstm-course build``); a reader the student's notebook imports is listed in the assignment's registry
row (``kernel_modules``), the only way it becomes importable inside the grading sandbox.
"""
