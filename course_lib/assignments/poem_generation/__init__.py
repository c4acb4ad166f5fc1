"""Assignment 05, poem generation: ``inputs`` (kernel side), ``checks`` (grader side), ``mistakes`` (sample
submissions), ``data`` (the sonnets, split by whole sonnets, and the held-out windows). Kept free of code: the
kernel imports ``inputs`` through this package."""
