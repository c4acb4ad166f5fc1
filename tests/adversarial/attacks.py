"""Hostile submissions of assignment 01, as data: one builder per student, each the code a cheating student would write.

Every attack starts from the untouched release notebook (an honest grade of 0 everywhere) and adds the attack, so
any point it earns is a point the grader gave away; the one exception, the inputs detector, starts from the
honest buggy hand-in, and must earn exactly what that honest work earns. The bad inputs are files that are not a
gradable notebook (or gradable ones wrapped in odd files). :func:`class_of_attackers` lists them all with what the
grader must do with each; the test module hands them in, grades the class once and checks the outcome.
"""
from __future__ import annotations

import json
import pkgutil
import random
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

import course_lib
from course_lib.assignments.lstm_gates.mistakes import MISTAKES
from course_lib.assignments.registry import get_assignment
from course_lib.grading.probe import REPORT_MIME
from course_lib.grading.samples import reference_submission, with_mistake
from course_lib.grading.verdicts import unwrapped

from .forgery import BY_NAME as FORGERY_BY_NAME
from .forgery import Forgery

ASSIGNMENT = "01_lstm_gates"
NOTEBOOK = "lstm_gates"
#: the mistake the honest buggy students make (and the detector of attack 10b builds on)
HONEST_MISTAKE = MISTAKES["swapped_input_forget"]
#: every course_lib module an attacker can name, as the public repository lists them (packages included)
COURSE_MODULES = tuple(sorted({m.name for m in pkgutil.walk_packages(course_lib.__path__, "course_lib.")}
                              | {"course_lib", "course_lib.solutions.lstm_numpy", "course_lib.grading.autograde",
                                 "course_lib.grading.build", "course_lib.grading.grading_log",
                                 "course_lib.grading.suites.lstm_gates", "course_lib.grading.targets.lstm_gates"}))
#: what a graded kernel may import: the allowlisted modules and the packages holding them
KERNEL_IMPORTABLE = frozenset(
    {".".join(module.split(".")[:depth]) for module in get_assignment(ASSIGNMENT).kernel_allowlist()
     for depth in range(1, module.count(".") + 2)})
FUNCTIONS = ("sigmoid", "forget_gate", "input_gate", "candidate_cell", "output_gate", "lstm_cell_forward",
             "lstm_forward", "lstm_cell_backward", "lstm_backward")


@dataclass
class Context:
    """What the builders know: the scratch course (its absolute paths are written into the attacks) and markers."""

    root: Path
    marker: str              # e.g. "1000.123456": `sleep <marker>` processes left behind are found by it
    course_lib: Path         # the package directory the grader imports (bound read-only into the sandbox)

    @property
    def release_path(self) -> Path:
        return self.root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"

    @property
    def source_path(self) -> Path:
        return self.root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"

    def release(self) -> nbformat.NotebookNode:
        return nbformat.read(self.release_path, as_version=4)

    def reference(self) -> nbformat.NotebookNode:
        return reference_submission(self.release_path, self.source_path)

    def folder(self, student: str) -> Path:
        return self.root / "submitted" / student / ASSIGNMENT


@dataclass
class Student:
    """One hand-in: ``build`` writes the student's folder; ``expect`` says what the grader must make of it."""

    name: str
    category: str            # the attack (or bad input) it stands for, as listed in the brief
    build: Callable[[Context], None]
    #: "zero": graded with 0 on every automatic exercise; "full": graded with full automatic marks;
    #: "rejected": rejected with a one-line reason containing ``reason_word``; "honest": a reference or buggy hand-in;
    #: "twin": graded exactly as the honest student ``twin`` whose honest work it contains (the attack adds nothing);
    #: "points": graded with exactly ``points`` per exercise (a forgery's sound score, see forgery.py)
    expect: str
    reason_word: str = ""
    known_weakness: str = ""  # set when the grader is known to fail this one (the test is then xfail(strict=True))
    twin: str = ""
    points: dict[str, float] | None = None

    @property
    def status(self) -> str:
        """The status the grading log must give it."""
        return "rejected" if self.expect == "rejected" else "graded"


# --------------------------------------------------------------------------- notebook editing helpers
def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _cell(notebook, grade_id: str):
    return next(c for c in notebook.cells if _grade_id(c) == grade_id)


def _first_code_cell(notebook):
    return next(c for c in notebook.cells if c.cell_type == "code")


def _insert_after_first_code_cell(notebook, *sources: str) -> None:
    at = notebook.cells.index(_first_code_cell(notebook)) + 1
    for offset, source in enumerate(sources):
        notebook.cells.insert(at + offset, nbformat.v4.new_code_cell(textwrap.dedent(source).strip("\n")))


def _prepend_to_first_code_cell(notebook, source: str) -> None:
    cell = _first_code_cell(notebook)
    cell.source = textwrap.dedent(source).strip("\n") + "\n\n" + cell.source


def _test_cells(notebook) -> list:
    return [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")
            and not c.metadata.nbgrader.get("solution")]


def _set_solution(notebook, function: str, source: str) -> None:
    _cell(notebook, f"def_{function}").source = textwrap.dedent(source).strip("\n")


def _write(ctx: Context, student: str, notebook, name: str = f"{NOTEBOOK}.ipynb") -> Path:
    folder = ctx.folder(student)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(notebook, path)
    return path


def _stub_with(ctx: Context, student: str, edit: Callable[[nbformat.NotebookNode], None]) -> None:
    notebook = ctx.release()
    edit(notebook)
    _write(ctx, student, notebook)


# --------------------------------------------------------------------------- honest students
def honest_reference(student: str) -> Student:
    return Student(student, "honest (reference)", lambda ctx: _write(ctx, student, ctx.reference()), "honest")


def honest_buggy(student: str) -> Student:
    return Student(student, f"honest ({HONEST_MISTAKE.name} mistake)",
                   lambda ctx: _write(ctx, student, with_mistake(ctx.reference(), HONEST_MISTAKE)), "honest")


# --------------------------------------------------------------------------- 1. showtraceback
SHOWTRACEBACK = """
# Silence every error: no traceback, no "error" output, so failing tests look like passing ones.
import IPython
from IPython.core.interactiveshell import InteractiveShell

def _quiet(*args, **kwargs):
    return None

shell = get_ipython()
shell.showtraceback = _quiet
shell._showtraceback = _quiet
shell.showsyntaxerror = _quiet
InteractiveShell.showtraceback = _quiet
InteractiveShell._showtraceback = _quiet
type(shell).showtraceback = _quiet
type(shell)._showtraceback = _quiet
"""


# --------------------------------------------------------------------------- 2. input transformers
INPUT_TRANSFORMERS = """
# Rewrite the grader's hidden test before IPython runs it: the backward ones become `pass`, the others display a
# "report" of my own making.
import re

_FAKE_REPORT = (
    "from IPython.display import display\\n"
    "display({%r: {'protocol': 1, 'suite': 'lstm_gates', 'exercise': %r, 'results': {}}, 'text/plain': 'ok'}, "
    "raw=True)\\n"
)
_BLANKED = {"lstm_cell_backward", "lstm_backward"}


def _exercise(lines):
    match = re.search(r"report_values\\(\\s*[\\"'](\\w+)[\\"']\\s*,\\s*[\\"'](\\w+)[\\"']", "".join(lines))
    return match.group(2) if match else None


def blank_the_hidden_tests(lines):
    return ["pass\\n"] if _exercise(lines) in _BLANKED else lines


def fake_the_report(lines):
    exercise = _exercise(lines)
    if exercise is None:
        return lines
    return (_FAKE_REPORT % ("REPORT_MIME", exercise)).splitlines(keepends=True)


get_ipython().input_transformers_cleanup.append(blank_the_hidden_tests)
get_ipython().input_transformers_post.append(fake_the_report)
""".replace("REPORT_MIME", REPORT_MIME)


# --------------------------------------------------------------------------- 3. AST transformer
AST_TRANSFORMER = """
# Delete every call to report_values before it runs.
import ast


class DropReports(ast.NodeTransformer):
    def visit_Expr(self, node):
        call = node.value
        if isinstance(call, ast.Call):
            name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
            if name == "report_values":
                return ast.copy_location(ast.Pass(), node)
        return node


get_ipython().ast_transformers.append(DropReports())
"""


# --------------------------------------------------------------------------- 4. event hooks
ANYTHING = """
class Anything:
    \"\"\"Equal to everything, callable, indexable: whatever a test asks of it, it says yes.\"\"\"

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, key):
        return self

    def __getattr__(self, name):
        return self

    def __bool__(self):
        return True

    def __float__(self):
        return 15.0


class AnythingDict(dict):
    def __contains__(self, key):
        return True

    def __getitem__(self, key):
        return Anything()
"""

HOOKS = ANYTHING + """
import re
import sys
from IPython.display import publish_display_data

_shell = get_ipython()


def _returns_anything(*args, **kwargs):
    return Anything()


fake_namespace = {name: _returns_anything for name in %(functions)r}
fake_namespace["lstm_cell_forward"] = lambda *a, **k: (Anything(), Anything(), Anything())
fake_namespace["lstm_forward"] = lambda *a, **k: (Anything(), Anything(), Anything(), [Anything()])
fake_namespace["lstm_cell_backward"] = fake_namespace["lstm_backward"] = lambda *a, **k: AnythingDict()


def say_full_marks_before(info):
    publish_display_data({"text/plain": "15"})
    sys.stdout.write("15\\n")


def say_full_marks_after(result):
    _shell.displayhook(15)                      # an execute_result "15", as if the cell had returned it
    publish_display_data({"text/plain": "15"}, metadata={"nbgrader": {"score": 15}})
    sys.stdout.write("15\\n")
    sys.stdout.flush()
    match = re.search(r"report_values\\(\\s*[\\"'](\\w+)[\\"']\\s*,\\s*[\\"'](\\w+)[\\"']", result.info.raw_cell or "")
    if match:
        from course_lib.grading.probe import report_values
        report_values(match.group(1), match.group(2), fake_namespace)


_shell.events.register("pre_run_cell", say_full_marks_before)
_shell.events.register("post_run_cell", say_full_marks_after)
""" % {"functions": FUNCTIONS}


# --------------------------------------------------------------------------- 5. lying return values
EQ_TRUE_SOLUTIONS = {
    "sigmoid": "def sigmoid(z):\n    return Anything()",
    **{gate: f"def {gate}(x_t, h_prev, W, U, b):\n    return Anything()"
       for gate in ("forget_gate", "input_gate", "candidate_cell", "output_gate")},
    "lstm_cell_forward": "def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):\n"
                         "    return Anything(), Anything(), AnythingDict()",
    "lstm_forward": "def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):\n"
                    "    return Anything(), Anything(), Anything(), [{}] * x.shape[1]",
    "lstm_cell_backward": "def lstm_cell_backward(dh_t, dc_t, cache):\n    return AnythingDict()",
    "lstm_backward": "def lstm_backward(dh_seq, caches):\n    return AnythingDict()",
}

#: Objects equal to anything that also turn into a float array of the right shape -- of zeros, the one constant that
#: every own-function target agrees with (0 gates give c_t = 0 * c_prev + 0 * 0 = 0 and h_t = 0 * tanh(0) = 0).
ARRAY_LIAR = """
import numpy as np


class Liar:
    \"\"\"Equal to everything; as an array, zeros of the shape the caller expects.\"\"\"

    def __init__(self, shape):
        self.shape = tuple(shape)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __array__(self, dtype=None, copy=None):
        return np.zeros(self.shape, dtype=dtype or np.float64)
"""

ARRAY_LIAR_SOLUTIONS = {
    "sigmoid": "def sigmoid(z):\n    return Liar(np.shape(z))",
    **{gate: f"def {gate}(x_t, h_prev, W, U, b):\n    return Liar((np.shape(x_t)[0], np.shape(U)[1]))"
       for gate in ("forget_gate", "input_gate", "candidate_cell", "output_gate")},
    "lstm_cell_forward": """
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    shapes = {"dx_t": np.shape(x_t), "dh_prev": np.shape(h_prev), "dc_prev": np.shape(c_prev),
              "dkernel": np.shape(kernel), "drecurrent_kernel": np.shape(recurrent_kernel), "dbias": np.shape(bias)}
    return Liar(np.shape(h_prev)), Liar(np.shape(c_prev)), {"shapes": shapes}
""",
    "lstm_forward": """
def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
    batch, steps, _ = np.shape(x)
    units = np.shape(recurrent_kernel)[0]
    shapes = {"dx": np.shape(x), "dh0": (batch, units), "dc0": (batch, units), "dkernel": np.shape(kernel),
              "drecurrent_kernel": np.shape(recurrent_kernel), "dbias": np.shape(bias)}
    return Liar((batch, steps, units)), Liar((batch, units)), Liar((batch, units)), [{"shapes": shapes}] * steps
""",
    "lstm_cell_backward": """
def lstm_cell_backward(dh_t, dc_t, cache):
    return {key: np.zeros(shape) for key, shape in cache["shapes"].items()}
""",
    "lstm_backward": """
def lstm_backward(dh_seq, caches):
    return {key: np.zeros(shape) for key, shape in caches[0]["shapes"].items()}
""",
}

#: The same without any trick: every function returns zeros of the documented shape, and computes nothing.
CONSTANT_SOLUTIONS = {
    "sigmoid": "def sigmoid(z):\n    return np.zeros(np.shape(z))",
    **{gate: f"def {gate}(x_t, h_prev, W, U, b):\n    return np.zeros((x_t.shape[0], U.shape[1]))"
       for gate in ("forget_gate", "input_gate", "candidate_cell", "output_gate")},
    "lstm_cell_forward": """
def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "kernel": kernel,
             "recurrent_kernel": recurrent_kernel, "bias": bias}
    return np.zeros(h_prev.shape), np.zeros(c_prev.shape), cache
""",
    "lstm_forward": """
def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None):
    batch, steps, _ = x.shape
    units = recurrent_kernel.shape[0]
    h = np.zeros((batch, units)) if h0 is None else h0
    c = np.zeros((batch, units)) if c0 is None else c0
    caches = [lstm_cell_forward(x[:, t], h, c, kernel, recurrent_kernel, bias)[2] for t in range(steps)]
    return np.zeros((batch, steps, units)), np.zeros((batch, units)), np.zeros((batch, units)), caches
""",
    "lstm_cell_backward": """
def lstm_cell_backward(dh_t, dc_t, cache):
    return {"d" + name: np.zeros(np.shape(cache[name]))
            for name in ("x_t", "h_prev", "c_prev", "kernel", "recurrent_kernel", "bias")}
""",
    "lstm_backward": """
def lstm_backward(dh_seq, caches):
    batch, steps, units = dh_seq.shape
    first = caches[0]
    return {"dx": np.zeros((batch, steps, first["x_t"].shape[1])), "dh0": np.zeros((batch, units)),
            "dc0": np.zeros((batch, units)), "dkernel": np.zeros(first["kernel"].shape),
            "drecurrent_kernel": np.zeros(first["recurrent_kernel"].shape), "dbias": np.zeros(first["bias"].shape)}
""",
}


def _with_solutions(preamble: str, solutions: dict[str, str]) -> Callable[[nbformat.NotebookNode], None]:
    def edit(notebook):
        if preamble:
            _insert_after_first_code_cell(notebook, preamble)
        for function, source in solutions.items():
            _set_solution(notebook, function, source)
    return edit


# --------------------------------------------------------------------------- 6. notebook-file tricks
def _tags_and_metadata(notebook) -> None:
    tests = _test_cells(notebook)
    for cell in tests:                                   # (a) on every test cell
        cell.metadata["tags"] = ["skip-execution", "raises-exception"]
    for cell in tests[1:6]:                              # (d) forget_gate .. lstm_cell_forward: no nbgrader metadata
        del cell.metadata["nbgrader"]
    tests[-1].source = "pass"                            # (e) lstm_backward: `pass`, metadata kept


def _schema_99(notebook) -> None:
    _cell(notebook, "def_sigmoid").metadata["nbgrader"]["schema_version"] = 99


def _delete_tests(notebook) -> None:
    notebook.cells = [c for c in notebook.cells if c not in _test_cells(notebook)]


# --------------------------------------------------------------------------- 7. reaching outside
#: Set in the grader's environment by the test; a student who can read its value can read the grader's secrets.
SECRET_VARIABLE = "LSTM_COURSE_ADVERSARIAL_SECRET"


def _reacher_cells(ctx: Context) -> tuple[str, str, str]:
    root = str(ctx.root)
    attempts = f'''
import os, socket, sqlite3, sys

ROOT = {root!r}
COURSE_LIB = {str(ctx.course_lib)!r}


def attempt(what, action):
    try:
        result = action()
    except BaseException as error:  # noqa: BLE001
        print(f"[attack] {{what}}: blocked ({{type(error).__name__}}: {{str(error)[:150]}})")
    else:
        print(f"[attack] {{what}}: SUCCEEDED ({{str(result)[:150]!r}})")


attempt("read the hidden tests", lambda: open(f"{{ROOT}}/source/01_lstm_gates/hidden/hidden_tests.json").read(200))
attempt("list source/01_lstm_gates/hidden/", lambda: os.listdir(f"{{ROOT}}/source/01_lstm_gates/hidden"))
attempt("read the hidden tests at their old path",
        lambda: open(f"{{ROOT}}/source/01_lstm_gates/hidden_tests.json").read(200))
attempt("read the hidden tests from the work directory",
        lambda: open("hidden/hidden_tests.json").read(200))
# the grader-side files of the course, by path (the kernel's course_lib is a tmpfs holding only the allowlist)
for relative in ("solutions/lstm_gates.py", "solutions/lstm_numpy.py", "assignments/lstm_gates/checks.py",
                 "assignments/lstm_gates/targets.py", "assignments/lstm_gates/mistakes.py",
                 "assignments/registry.py", "grading/verdicts.py", "grading/hidden_tests.py"):
    attempt(f"read course_lib/{{relative}}", lambda relative=relative: open(f"{{COURSE_LIB}}/{{relative}}").read(200))
attempt("read the gradebook", lambda: open(f"{{ROOT}}/gradebook.db", "rb").read(64))
attempt("append to nbgrader_config.py",
        lambda: open(f"{{ROOT}}/nbgrader_config.py", "a").write("\\nc.Execute.timeout = 1\\n"))


def own_the_gradebook():
    db = sqlite3.connect(f"file:{{ROOT}}/gradebook.db?mode=rw", uri=True, timeout=1, isolation_level=None)
    db.execute("UPDATE grade SET auto_score = 100")
    db.execute("BEGIN EXCLUSIVE")  # and keep it locked while the class is graded
    globals()["_held_gradebook"] = db
    return "gradebook rewritten and locked"


attempt("rewrite and lock the gradebook", own_the_gradebook)


def overwrite_classmate():
    path = f"{{ROOT}}/submitted/honest-c/01_lstm_gates/lstm_gates.ipynb"
    with open(path, "w") as f:
        f.write('{{"cells": [], "metadata": {{}}, "nbformat": 4, "nbformat_minor": 5}}')
    return path


attempt("overwrite honest-c's submission", overwrite_classmate)
# Opening without O_CREAT writes nothing: it only asks whether the grader's own code could be changed (creating a
# file in the kernel's private view of course_lib changes nothing of the grader's).
attempt("open the grader's verdicts.py for writing",
        lambda: os.close(os.open(f"{{COURSE_LIB}}/grading/verdicts.py", os.O_WRONLY | os.O_APPEND)))
attempt("open the grader's probe.py for writing",
        lambda: os.close(os.open(f"{{COURSE_LIB}}/grading/probe.py", os.O_WRONLY | os.O_APPEND)))
attempt("open the assignment's inputs.py for writing",
        lambda: os.close(os.open(f"{{COURSE_LIB}}/assignments/lstm_gates/inputs.py", os.O_WRONLY | os.O_APPEND)))
attempt("open the virtualenv's pyvenv.cfg for writing",
        lambda: open(os.path.join(sys.prefix, "pyvenv.cfg"), "a").close())
attempt("connect to 127.0.0.1:22", lambda: socket.create_connection(("127.0.0.1", 22), timeout=3))
attempt("connect to example.org:80", lambda: socket.create_connection(("93.184.215.14", 80), timeout=3))


def read_the_graders_environment():
    """Any visible process whose environment comes from outside the sandbox (the grader's)."""
    for pid in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
        try:
            environ = dict(v.split(b"=", 1) for v in open(f"/proc/{{pid}}/environ", "rb").read().split(b"\\0") if b"=" in v)
        except OSError:
            continue
        if b{SECRET_VARIABLE!r} in environ:
            return (f"pid {{pid}}: {SECRET_VARIABLE}={{environ[b{SECRET_VARIABLE!r}].decode()}}, "
                    f"NBGRADER_EXECUTION={{environ.get(b'NBGRADER_EXECUTION', b'').decode()}}, {{len(environ)}} variables")
    raise LookupError("no process with the grader's environment is visible")


attempt("read the grader's environment", read_the_graders_environment)
for pid in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
    try:
        print(f"[info] pid {{pid}}:", open(f"/proc/{{pid}}/cmdline", "rb").read().replace(b"\\0", b" ")[:160])
    except OSError:
        pass
print("[info] pid", os.getpid(), "ppid", os.getppid(), "uid", os.getuid(), "cwd", os.getcwd())
print("[info] environment:", sorted(os.environ))
print("[info] NBGRADER_EXECUTION:", os.environ.get("NBGRADER_EXECUTION"))
'''
    steal = STEAL
    kill_parent = '''
import os
import time
print("[attack] killing my parent", os.getppid(), flush=True)
os.kill(os.getppid(), 9)
# the sandbox ends with it; without this wait, on a loaded machine the cell's reply could beat the kernel's death
time.sleep(60)
'''
    return attempts, steal, kill_parent


#: Import the reference (its functions then replace the stubs) and the grader-side modules of the assignment, by
#: their new names and their old ones; with the registry or hidden_tests, rebuild the expected values in the kernel.
STEAL = '''
import importlib

FUNCTIONS = %r

_STOLEN = {}  # every solution cell calls what is here (and raises KeyError, a failed test, without it)
for _name in ("course_lib.solutions.lstm_gates", "course_lib.solutions.lstm_numpy"):
    try:
        _module = importlib.import_module(_name)
        _STOLEN.update({k: v for k, v in vars(_module).items() if k in FUNCTIONS})
        print(f"[attack] import the reference solutions {_name}: SUCCEEDED")
    except BaseException as error:  # noqa: BLE001
        print(f"[attack] import the reference solutions {_name}: blocked ({type(error).__name__}: {error})")

for _name in ("course_lib.assignments.lstm_gates.checks", "course_lib.assignments.lstm_gates.targets",
              "course_lib.assignments.lstm_gates.mistakes", "course_lib.assignments.registry",
              "course_lib.grading.verdicts", "course_lib.grading.hidden_tests", "course_lib.grading.suites.lstm_gates",
              "course_lib.grading.samples"):
    try:
        importlib.import_module(_name)
        print(f"[attack] import {_name}: SUCCEEDED")
    except BaseException as error:  # noqa: BLE001
        print(f"[attack] import {_name}: blocked ({type(error).__name__}: {error})")


def _reference_from_the_registry():
    from course_lib.assignments.registry import get_assignment
    from course_lib.grading.hidden_tests import reference_namespace
    namespace = reference_namespace(get_assignment("lstm_gates"))
    _STOLEN.update({k: v for k, v in namespace.items() if k in FUNCTIONS})
    return "the reference namespace"


try:
    print(f"[attack] the reference through the registry: SUCCEEDED ({_reference_from_the_registry()})")
except BaseException as error:  # noqa: BLE001
    print(f"[attack] the reference through the registry: blocked ({type(error).__name__}: {error})")
''' % (FUNCTIONS,)


def _delegate_to(table: str) -> Callable[[nbformat.NotebookNode], None]:
    """Every solution cell calls ``table[function]`` (filled by an earlier cell with whatever it could steal)."""
    def edit(notebook):
        for function in FUNCTIONS:
            _set_solution(notebook, function, f"def {function}(*args, **kwargs):\n"
                                              f"    return {table}[{function!r}](*args, **kwargs)")
    return edit


def _reacher(ctx: Context) -> None:
    attempts, steal, kill_parent = _reacher_cells(ctx)
    notebook = ctx.release()
    _insert_after_first_code_cell(notebook, attempts, steal)
    _delegate_to("_STOLEN")(notebook)  # whatever the imports gave is what every hidden test calls
    # and the parent is killed only in the last cell, after every test cell ran
    notebook.cells.append(nbformat.v4.new_code_cell(textwrap.dedent(kill_parent).strip("\n")))
    _write(ctx, "a7-reacher", notebook)


KILLER = """
import os
print("killing every process I can see", flush=True)
os.kill(-1, 9)
"""


def _leaver_code(marker: str) -> str:
    return f"""
import os, subprocess, time

MARKER = {marker!r}
# A detached `sleep` in a new session...
subprocess.Popen(["sleep", MARKER], start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
# ...and a double-forked daemon, re-parented away from the kernel.
child = os.fork()
if child == 0:
    os.setsid()
    if os.fork() == 0:
        try:
            os.execvp("sleep", ["sleep", MARKER])
        finally:
            os._exit(0)
    os._exit(0)
os.waitpid(child, 0)
time.sleep(0.5)
print("left two sleepers behind")
"""


def _symlinker_code(ctx: Context) -> str:
    return f"""
import os

# If my work directory is where the grader writes my graded notebook, or the folder it copies into autograded/,
# a symlink here is resolved by whoever opens it: the grader, outside the sandbox. (The kernel's private work
# directory holds no notebook now: the symlinks are made whether or not there is one to replace.)
if os.path.lexists("lstm_gates.ipynb"):
    os.remove("lstm_gates.ipynb")
os.symlink({str(ctx.root / "canary.txt")!r}, "lstm_gates.ipynb")             # write through it
os.symlink({str(ctx.root / "source" / ASSIGNMENT / "hidden" / "hidden_tests.json")!r}, "leaked_hidden_tests.json")
os.symlink({str(ctx.root / "source" / ASSIGNMENT / "hidden")!r}, "leaked_hidden")  # a directory
os.symlink({str(ctx.course_lib / "solutions")!r}, "leaked_solutions")
os.symlink({str(ctx.course_lib / "solutions" / "lstm_gates.py")!r}, "leaked_reference.py")
os.symlink({str(ctx.course_lib / "assignments" / "lstm_gates")!r}, "leaked_assignment")
print("[symlinks]", sorted(os.listdir(".")))
"""


# --------------------------------------------------------------------------- 8. resources
MEMORY_AND_FORKS = ("""
try:
    hog = bytearray(8 * 2**30)
    print("[attack] allocated 8 GiB: SUCCEEDED")
except MemoryError as error:
    print(f"[attack] allocating 8 GiB: blocked (MemoryError {error})")
""", """
import os, time

MARKER = {marker!r}
children = 0
for _ in range(2000):
    try:
        pid = os.fork()
    except OSError as error:
        print(f"fork failed after {{children}} children: {{error}}")
        break
    if pid == 0:
        try:
            os.execvp("sleep", ["sleep", MARKER])
        finally:
            time.sleep(1000)
            os._exit(0)
    children += 1
print("children started:", children)
""")

SPIN = """
while True:
    pass
"""

WALL = ("""
import signal, time

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
""",) + ("""
end = time.monotonic() + 13  # each cell stays under the 15 s cell timeout; together they run past the wall limit
while time.monotonic() < end:
    pass
""",) * 6

EXIT = """
import os
os._exit(1)
"""


# --------------------------------------------------------------------------- 9. NBGRADER_EXECUTION
ENV_HOOK = """
import os

if os.environ.get("NBGRADER_EXECUTION"):
""" + textwrap.indent(HOOKS, "    ")


def _env_dependent_solutions(ctx: Context) -> Callable[[nbformat.NotebookNode], None]:
    """The reference functions when NBGRADER_EXECUTION is not set (the student's run), stubs when it is."""
    reference = ctx.reference()

    def edit(notebook):
        for function in FUNCTIONS:
            mine = _cell(reference, f"def_{function}").source
            _set_solution(notebook, function, (
                "import os\n\nif not os.environ.get(\"NBGRADER_EXECUTION\"):\n"
                + textwrap.indent(mine, "    ") + "\nelse:\n"
                + f"    def {function}(*args, **kwargs):\n        raise NotImplementedError('not for the grader')\n"))
    return edit


# --------------------------------------------------------------------------- 10. the kernel's view of course_lib
def _module_walker_code() -> str:
    """Name every course_lib module (the public layout, old names too, sys.modules, a walk of the package as the
    kernel sees it), import each, and take any function of the assignment that an imported module holds."""
    return f'''
import importlib, pkgutil, sys
import course_lib

FUNCTIONS = {FUNCTIONS!r}
names = set({COURSE_MODULES!r}) | {{n for n in sys.modules if n.split(".")[0] == "course_lib"}}
walked = set()
try:
    walked = {{m.name for m in pkgutil.walk_packages(course_lib.__path__, "course_lib.", onerror=lambda name: None)}}
except BaseException as error:  # noqa: BLE001
    print(f"[walk] walk_packages raised {{type(error).__name__}}: {{error}}")
print("[walk] walked:", sorted(walked))
print("[walk] course_lib holds:", sorted(__import__("os").listdir(course_lib.__path__[0])))
_WALKED = {{}}
for name in sorted(names | walked):
    try:
        module = importlib.import_module(name)
    except BaseException as error:  # noqa: BLE001
        print(f"[import] {{name}}: blocked ({{type(error).__name__}})")
        continue
    print(f"[import] {{name}}: imported")
    for attribute in dir(module):   # the functions themselves, or a module (the reference) imported by it
        value = getattr(module, attribute, None)
        if attribute in FUNCTIONS and callable(value):
            _WALKED.setdefault(attribute, value)
        for function in FUNCTIONS:
            inner = getattr(value, function, None) if type(value).__name__ == "module" else None
            if callable(inner):
                _WALKED.setdefault(function, inner)
print("[walk] functions found:", sorted(_WALKED))
'''


#: The reference with the honest students' mistake (c_t = i * c_prev + f * g, costing lstm_cell_forward), plus
#: gates that recognise the hidden tests' inputs and, only when the probe asks for the student's own gates on the
#: cell's inputs (the values the own-function target of lstm_cell_forward is built from), report the input and
#: forget gates swapped: "my own gates", combined correctly, then give exactly my wrong cell state.
INPUTS_DETECTOR = """
import sys

import numpy as np
from course_lib.assignments.lstm_gates import inputs as _inputs

DETECTED = set()
_SWAPPED = {"input_gate": "forget_gate", "forget_gate": "input_gate"}


def _same(a, b):
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
            and np.array_equal(a, b))


def _hidden_request(function, args):
    \"\"\"``exercise/request`` of the hidden test making this call, or None (the student's own run).\"\"\"
    for exercise in %(functions)r:
        for rid, request in _inputs.requests(exercise).items():
            theirs = request.get("args", ())
            if request.get("function") == function and len(theirs) == len(args) and all(
                    _same(a, b) for a, b in zip(theirs, args)):
                return f"{exercise}/{rid}"
    return None


def _hidden_cell(x_t):
    \"\"\"The hidden lstm_cell_forward request whose x_t this is: ``(request id, request)``, or ``(None, None)``.\"\"\"
    for rid, request in _inputs.requests("lstm_cell_forward").items():
        if _same(request["args"][0], x_t):
            return rid, request
    return None, None


def _inside_the_cell():
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "lstm_cell_forward":
            return True
        frame = frame.f_back
    return False


def _detecting(honest):
    name = honest.__name__

    def function(*args):
        hit = _hidden_request(name, args)
        if hit:
            DETECTED.add(hit)
        rid, cell = _hidden_cell(args[0]) if _inside_the_cell() else (None, None)
        if cell is not None and name in _SWAPPED:
            # called by the buggy cell on hidden inputs: answer as the other gate, so that the cell's
            # c_t = i*c_prev + f*g looks "consistent with your own gate functions"
            DETECTED.add(f"lstm_cell_forward/{rid}")
            other = _SWAPPED[name]
            _, _, _, kernel, recurrent_kernel, bias = cell["args"]
            return globals()[f"_honest_{other}"](args[0], args[1], _inputs.block(kernel, other),
                                                 _inputs.block(recurrent_kernel, other), _inputs.block(bias, other))
        return honest(*args)

    function.__name__ = name
    return function
""" % {"functions": FUNCTIONS}


def _module_walker(notebook) -> None:
    _insert_after_first_code_cell(notebook, _module_walker_code())
    _delegate_to("_WALKED")(notebook)


#: Why the detector earns more than its honest work (``""`` once the grader no longer lets it).
INPUTS_DETECTOR_WEAKNESS = ""


def _inputs_detector(ctx: Context, student: str) -> None:
    notebook = with_mistake(ctx.reference(), HONEST_MISTAKE)
    _insert_after_first_code_cell(notebook, INPUTS_DETECTOR)
    for gate in ("input_gate", "forget_gate"):
        cell = _cell(notebook, f"def_{gate}")
        cell.source += f"\n\n_honest_{gate} = {gate}\n{gate} = _detecting({gate})"
    notebook.cells.append(nbformat.v4.new_code_cell('print("[detector] detected:", sorted(DETECTED))'))
    _write(ctx, student, notebook)


# --------------------------------------------------------------------------- 11. forged own-function alternatives
#: The forgeries of tests/adversarial/forgery.py handed in through real autograding (the others are graded in-process
#: by tests/unit/test_forgery.py): a linear "cell" with its exact gradient, numerical differentiation, a call-stack
#: detector, and a memory of every forward call.
AUTOGRADED_FORGERIES = ("linear_cell", "numerical_by_name", "stack_detector", "memory")


def _forgery_edit(forgery: Forgery) -> Callable[[nbformat.NotebookNode], None]:
    """The release notebook with the forgery's preamble in a new cell after the first code cell and its functions in
    their solution cells (the others keep the release's stubs)."""
    def edit(notebook):
        if forgery.preamble:
            _insert_after_first_code_cell(notebook, forgery.preamble)
        for function, source in forgery.functions.items():
            _set_solution(notebook, function, source)
    return edit


def _forgery_student(name: str) -> Student:
    forgery = FORGERY_BY_NAME[name]
    student = f"a11-{name.replace('_', '-')}"
    return Student(student, f"11 forgery {name} (sound {forgery.total:g})",
                   lambda ctx: _stub_with(ctx, student, _forgery_edit(forgery)), "points", points=dict(forgery.sound))


# --------------------------------------------------------------------------- bad inputs
def _bad_bytes(content: bytes) -> Callable[[Context, str], None]:
    def build(ctx: Context, student: str) -> None:
        folder = ctx.folder(student)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{NOTEBOOK}.ipynb").write_bytes(content)
    return build


def _empty_folder(ctx: Context, student: str) -> None:
    ctx.folder(student).mkdir(parents=True, exist_ok=True)


def _renamed(ctx: Context, student: str) -> None:
    _write(ctx, student, ctx.reference(), "my_work.ipynb")


def _extra_notebook(ctx: Context, student: str) -> None:
    _write(ctx, student, ctx.reference())
    _write(ctx, student, nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), "scratch.ipynb")


def _huge_outputs(ctx: Context, student: str) -> None:
    notebook = ctx.release()
    _first_code_cell(notebook).outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * (30 * 2**20))]
    _write(ctx, student, notebook)


def _r_kernel(ctx: Context, student: str) -> None:
    notebook = ctx.reference()
    notebook.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    notebook.metadata["language_info"] = {"name": "R"}
    _write(ctx, student, notebook)


BIG_FILE = "training_data.bin"


def _big_file(ctx: Context, student: str) -> None:
    _write(ctx, student, ctx.reference())
    with open(ctx.folder(student) / BIG_FILE, "wb") as f:
        f.write(random.Random(7).randbytes(2**20) * 100)  # 100 MiB, not sparse


NBFORMAT3 = json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": NOTEBOOK},
                        "worksheets": [{"cells": [], "metadata": {}}]}).encode()


# --------------------------------------------------------------------------- the class
def _stub_student(name, category, edit, expect="zero", **kw) -> Student:
    return Student(name, category, lambda ctx: _stub_with(ctx, name, edit), expect, **kw)


def _bad(name, category, build, expect="rejected", reason_word="") -> Student:
    return Student(name, category, lambda ctx: build(ctx, name), expect, reason_word)


def _cells(*sources: str) -> Callable[[nbformat.NotebookNode], None]:
    return lambda notebook: _insert_after_first_code_cell(notebook, *sources)


def class_of_attackers(ctx: Context) -> tuple[list[Student], list[Student], list[Student]]:
    """(honest students first, attackers and bad inputs, honest students last)."""
    first = [honest_reference("honest-a"), honest_buggy("honest-b")]
    last = [honest_reference("honest-c"), honest_buggy("honest-d")]
    attackers = [
        _stub_student("a1-showtraceback", "1 showtraceback bypass",
                      lambda nb: _prepend_to_first_code_cell(nb, SHOWTRACEBACK)),
        _stub_student("a2-transformers", "2 input transformers (fake report + blanked cells)",
                      _cells(INPUT_TRANSFORMERS)),
        _stub_student("a3-ast", "3 AST transformer deleting report_values", _cells(AST_TRANSFORMER)),
        _stub_student("a4-hooks", "4 pre/post_run_cell hooks (displayhook, display data, '15', fake report)",
                      _cells(HOOKS)),
        _stub_student("a5-eq-true", "5 functions return objects equal to anything",
                      _with_solutions(ANYTHING, EQ_TRUE_SOLUTIONS)),
        _stub_student("a5-array-liar", "5 equal-to-anything objects with __array__ (zeros, right shape)",
                      _with_solutions(ARRAY_LIAR, ARRAY_LIAR_SOLUTIONS)),
        _stub_student("a5-constant", "5 every function returns zeros of the right shape",
                      _with_solutions("", CONSTANT_SOLUTIONS)),
        _stub_student("a6-tags-meta", "6a/d/e skip-execution+raises-exception tags, test metadata removed, "
                      "a test replaced by pass", _tags_and_metadata),
        _stub_student("a6-schema99", "6b nbgrader schema_version 99", _schema_99),
        _stub_student("a6-deleted", "6c all test cells deleted", _delete_tests),
        Student("a7-reacher", "7 reading/writing outside, network, solutions import, kill parent", _reacher, "zero"),
        _stub_student("a7-killer", "7 os.kill(-1, 9)", _cells(KILLER)),
        _stub_student("a7-leaver", "7 detached sleep + double fork", _cells(_leaver_code(ctx.marker))),
        _stub_student("a7-symlinker", "7 symlinks in the work directory (write through, read out)",
                      _cells(_symlinker_code(ctx))),
        _stub_student("a8-memory-forks", "8 8 GiB allocation + 2000-fork bomb",
                      _cells(MEMORY_AND_FORKS[0], MEMORY_AND_FORKS[1].format(marker=ctx.marker))),
        _stub_student("a8-spin", "8 while True: pass", _cells(SPIN)),
        _stub_student("a8-wall", "8 SIGINT ignored, cells running past the wall limit", _cells(*WALL)),
        _stub_student("a8-exit", "8 os._exit(1) in the first cell",
                      lambda nb: _prepend_to_first_code_cell(nb, EXIT)),
        _stub_student("a9-env-hook", "9 fake-report hooks only under NBGRADER_EXECUTION", _cells(ENV_HOOK)),
        Student("a9-env-honest", "9 reference only when NBGRADER_EXECUTION is not set",
                lambda ctx: _stub_with(ctx, "a9-env-honest", _env_dependent_solutions(ctx)), "full"),
        _stub_student("a10-module-walker", "10 import every course_lib module it can name (walk, sys.modules, "
                      "layout)", _module_walker),
        Student("a10-inputs-detector", f"10 inputs imported to detect the hidden tests (on {HONEST_MISTAKE.name})",
                lambda ctx: _inputs_detector(ctx, "a10-inputs-detector"), "twin", twin="honest-b",
                known_weakness=INPUTS_DETECTOR_WEAKNESS),
        *(_forgery_student(name) for name in AUTOGRADED_FORGERIES),
        _bad("b-invalid-json", "bad: invalid JSON", _bad_bytes(b'{"cells": [ {"cell_type": "code", '),
             reason_word="json"),
        _bad("b-nbformat3", "bad: nbformat 3", _bad_bytes(NBFORMAT3), reason_word="nbformat"),
        _bad("b-binary", "bad: binary garbage",
             _bad_bytes(b"\xff\xfe\x00" + random.Random(20261128).randbytes(4096)), reason_word="binary"),
        _bad("b-missing", "bad: empty folder", _empty_folder, reason_word="missing"),
        _bad("b-renamed", "bad: my_work.ipynb only", _renamed, reason_word="my_work.ipynb"),
        _bad("b-extra-notebook", "bad: extra scratch.ipynb", _extra_notebook, expect="full",
             reason_word="scratch.ipynb"),
        _bad("b-huge-outputs", "bad: 30 MB output", _huge_outputs, reason_word="mib"),
        _bad("b-r-kernel", "bad: R kernelspec on the reference", _r_kernel, expect="full"),
        _bad("b-big-file", "bad: 100 MB file next to the reference", _big_file, expect="full",
             reason_word="other file"),
    ]
    return first, attackers, last


def verdict_texts(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """The stdout under each graded code cell of an autograded notebook (the grader's verdict first)."""
    texts = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            streams = [o.get("text", "") for o in cell.outputs if o.output_type == "stream"]
            texts[meta["grade_id"]] = "".join([unwrapped(streams[0]), *streams[1:]] if streams else [])
    return texts


def printed_lines(notebook: nbformat.NotebookNode, prefix: str) -> list[str]:
    """Lines starting with ``prefix`` printed by any cell (what an attack reported about itself)."""
    lines = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                lines += [line for line in output.get("text", "").splitlines() if line.startswith(prefix)]
    return lines


__all__ = ["ASSIGNMENT", "NOTEBOOK", "Context", "Student", "class_of_attackers", "verdict_texts", "printed_lines",
           "BIG_FILE", "COURSE_MODULES", "KERNEL_IMPORTABLE", "HONEST_MISTAKE", "FUNCTIONS"]
