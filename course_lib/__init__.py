"""lstm-course: reference solutions, data and the grading pipeline of a Jupyter course on LSTM networks."""

__version__ = "0.1.0"
