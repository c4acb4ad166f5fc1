"""JupyterLab in a real browser: the instructor's Formgrader and a student's Assignment List (test_lab_loop.py)."""
