"""Assignment 04, character-level text generation: ``inputs`` (kernel side), ``checks`` (grader side),
``mistakes`` (sample submissions), ``data`` (the play, split by scenes, and the held-out windows). Kept free of
code: the kernel imports ``inputs`` through this package."""
