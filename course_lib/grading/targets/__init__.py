"""Grader-side second targets ("alternatives") of the suites: what a student's answer should be given the
student's *own* other functions, so that a mistake is charged once, in the exercise where it is made.

These run only in the grader's process (one module per suite, named like it); they may use the reference solution,
which the student's kernel never imports.
"""
