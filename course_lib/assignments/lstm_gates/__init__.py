"""Assignment 01, an LSTM cell in NumPy: ``inputs`` (kernel side), ``checks`` and ``targets`` (grader side),
``mistakes`` (sample submissions). Kept free of code: the kernel imports ``inputs`` through this package."""
