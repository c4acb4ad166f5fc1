"""JupyterLab for the course: the instructor's and a student's server (:mod:`~course_lib.lab.profiles`), the
course-local exchange (:mod:`~course_lib.lab.exchange`) and the Formgrader buttons routed through the course's
grading path (:mod:`~course_lib.lab.formgrader`)."""
