# Two commands for a fresh clone (see README.md):
#   make demo   create .venv if missing, install the course, build it, grade the sample submissions
#   make test   same bootstrap, then the whole test suite
#   make lab    JupyterLab for the instructor (Formgrader); make lab-student STUDENT=alice for a student's side
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.lstm-course-installed

.PHONY: demo test test-fast build install clean lab lab-student

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "lstm-course needs Python 3.11 or newer (PYTHON=$(PYTHON))")'
	@if [ ! -x $(PY) ]; then echo "==> creating the virtual environment $(VENV)"; $(PYTHON) -m venv $(VENV); fi
	@echo "==> installing the course and its test tools into $(VENV) (pip install -e '.[test]')"
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

build: $(STAMP)
	@echo "==> building the course: source/ -> release/"
	$(VENV)/bin/lstm-course build

demo: $(STAMP)
	@echo "==> running the demo: build, sample submissions, autograde, report"
	$(VENV)/bin/lstm-course demo

STUDENT ?= student1

lab: $(STAMP)
	$(VENV)/bin/lstm-course lab

lab-student: $(STAMP)
	$(VENV)/bin/lstm-course lab --student $(STUDENT)

test: $(STAMP)
	@echo "==> running the test suite"
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not notebook and not e2e and not browser and not adversarial"

clean:
	rm -rf gradebook.db submitted feedback grades.csv source/*/hidden exchange .lab
	find autograded -mindepth 1 ! -name README.md -exec rm -rf {} +
