"""Reference solutions, one module per assignment: the single source of truth for grading."""
