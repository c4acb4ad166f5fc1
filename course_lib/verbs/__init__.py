"""The ``lstm-course`` verbs: thin modules (arguments in, a stage of ``course_lib.grading`` called, a summary out)
that never import each other."""
