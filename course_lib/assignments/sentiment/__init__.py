"""Assignment 03, sentiment analysis with Keras 3: ``inputs`` (kernel side), ``checks`` (grader side),
``mistakes`` (sample submissions), ``data`` (the corpora and the held-out sets). Kept free of code: the kernel
imports ``inputs`` through this package."""
