"""One package per assignment, named by the notebook stem (``course_lib/assignments/<stem>/``).

This file stays empty of code: the student's kernel imports ``course_lib.assignments.<stem>.inputs`` through it.
The list of assignments is :mod:`course_lib.assignments.registry`.
"""
