"""Assignment 02, sequence prediction with a Keras LSTM: ``inputs`` (kernel side), ``checks`` (grader side),
``mistakes`` (sample submissions), ``data`` (the series and the held-out sets). Kept free of code: the kernel
imports ``inputs`` through this package."""
