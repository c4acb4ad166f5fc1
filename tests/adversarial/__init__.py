"""Hostile submissions against the grading pipeline (see test_attacks.py)."""
