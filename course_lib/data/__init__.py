"""Dataset builders and loaders for the assignments (no solutions here).

Assignment 01 needs no data; later assignments register their builders in :mod:`course_lib.grading.course`.
"""
