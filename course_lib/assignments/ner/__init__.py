"""Assignment 06, named-entity recognition with a BiLSTM: ``inputs`` (kernel side), ``checks`` (grader side),
``mistakes`` (sample submissions), ``data`` (the silver corpus and the held-out plays). Kept free of code: the
kernel imports ``inputs`` through this package."""
