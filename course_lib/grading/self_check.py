"""What ``lstm-course check`` tells a self-study learner beyond the grader's verdicts.

* Why a function is not defined. A cell that fails (a ``SyntaxError``, say) defines nothing after its error, and
  every test that calls what it should have defined then fails with a ``NameError``, which blames the function
  under test. The graded notebook keeps each cell's error output (``ename``, ``evalue``, ``traceback``), so the
  report names the cell that failed instead: whose exercise it is, the line within the cell, that line and the
  error. :class:`CellDiagnosis` does this for one graded notebook.
* How to grade a written answer. A hand-graded cell is shown with the learner's answer, then the model answer and
  the rubric from the instructor's notebook (its solution region, which nbgrader never releases), so that the
  learner can grade it; :func:`written_answer_report`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat

#: the two ways a missing name is reported: by the probe (`name` is not defined...) and by Python itself
_UNDEFINED = re.compile(r"`([A-Za-z_]\w*)` is not defined|name '([A-Za-z_]\w*)' is not defined")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")
_WHERE_SUFFIX = re.compile(r"\s*\([^()]*, line (\d+)\)\s*$")   # "'(' was never closed (1430393755.py, line 42)"
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
_POINTS = re.compile(r"\s*\((?:[^()]*\bpoints?\b[^()]*)\)\s*$")
_REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n(.*?)^[ \t]*### END SOLUTION[ \t]*$",
                     re.MULTILINE | re.DOTALL)
_RUBRIC = re.compile(r"^\W*rubric\b", re.IGNORECASE | re.MULTILINE)
_SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")
#: what a verdict says of a check that is judged only once another check of the exercise passes (the "requires"
#: kind of course_lib.grading.verdicts): a consequence, not a failure of its own
_CONSEQUENCE = "earns nothing yet"
MAX_SHOWN = 200   # characters of one line of the learner's (a line of code, an error message) shown


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test(cell) -> bool:
    """A graded code cell that is not a solution: its outputs are the grader's verdict."""
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def undefined_names(text: str) -> list[str]:
    """The names a verdict or a note reports as not defined, in order, each once."""
    return list(dict.fromkeys(a or b for a, b in _UNDEFINED.findall(text)))


def _defines(source: str, name: str) -> bool:
    """Whether a cell's code, at its top level, binds ``name`` (by text: a cell that failed may not parse)."""
    n = re.escape(name)
    return re.search(rf"^(?:(?:async\s+)?def|class)\s+{n}\b|^[\w \t,]*\b{n}\b[\w \t,]*(?::[^=\n]*)?=(?!=)"
                     rf"|^(?:from\s+\S+\s+)?import\s+.*\b{n}\b", source, re.MULTILINE) is not None


def _short(text: str, limit: int = MAX_SHOWN) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class CellError:
    """A code cell of the learner's that stopped with an error."""

    index: int          # in the notebook's cells
    where: str          # "your solution cell of Exercise 7 (lstm_forward)", "code cell 1 (under “...”)"
    exercise: str       # the graded exercise whose solution cell it is ("" for any other cell)
    line: int | None    # within the cell, as the kernel counted it
    code: str           # that line
    error: str          # "SyntaxError: '(' was never closed"

    def details(self, shown: bool = False) -> list[str]:
        """The error, where in the cell, and that line (unless ``shown`` already), indented for the report."""
        head = f"    at line {self.line}: {self.error}" if self.line else f"    {self.error}"
        if shown:
            return [head + " (shown above)"]
        return [head] + ([f"        {self.line} | {self.code}"] if self.code else [])


class CellDiagnosis:
    """The cells of a graded notebook that failed, and what each failure left undefined."""

    def __init__(self, notebook: nbformat.NotebookNode):
        self.cells = notebook.cells
        self.tests = {str(_nbgrader(c).get("grade_id")): i for i, c in enumerate(self.cells) if _is_test(c)}
        self.errors = [e for e in (self._error(i) for i in range(len(self.cells))) if e is not None]
        self._shown: set[int] = set()   # cells whose error was shown in full (later mentions refer back)
        self.explained: set[str] = set()   # the undefined names explained so far

    # ------------------------------------------------------------------ reading the notebook
    def _heading(self, index: int) -> str:
        """The last heading above a cell, in the learner's terms ("Exercise 7 (lstm_forward)")."""
        for cell in reversed(self.cells[:index]):
            headings = _HEADING.findall(cell.source) if cell.cell_type == "markdown" else []
            if headings:
                title = _POINTS.sub("", headings[-1].replace("`", ""))
                return re.sub(r"^(Exercise\s+\d+)\s*:\s*(.+)$", r"\1 (\2)", title)
        return ""

    def _owner(self, index: int) -> str:
        """The graded exercise whose solution cell this is: itself if graded (a written answer), else the first
        test cell after it ("" if it is no solution cell)."""
        meta = _nbgrader(self.cells[index])
        if not meta.get("solution"):
            return ""
        if meta.get("grade"):
            return str(meta.get("grade_id"))
        return next((str(_nbgrader(c).get("grade_id")) for c in self.cells[index:] if _is_test(c)), "")

    def _error(self, index: int) -> CellError | None:
        cell = self.cells[index]
        if cell.cell_type != "code" or _is_test(cell):
            return None
        output = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        if output is None:
            return None
        ename, evalue = str(output.get("ename", "Error")), str(output.get("evalue", ""))
        traceback = _ANSI.sub("", "\n".join(str(t) for t in output.get("traceback", [])))
        # the first frame of a traceback is the cell itself; a SyntaxError also says the line in its message
        found = _CELL_LINE.search(traceback) or _WHERE_SUFFIX.search(evalue)
        line = int(found.group(1)) if found else None
        source = cell.source.splitlines()
        code = _short(source[line - 1].strip()) if line and 0 < line <= len(source) else ""
        # a SyntaxError's message ends with where it is, "(1430393755.py, line 42)": the kernel's file name is noise
        message = _WHERE_SUFFIX.sub("", evalue) if ename in _SYNTAX_ERRORS else evalue
        owner, heading = self._owner(index), self._heading(index)
        if owner:
            where = f"your solution cell of {heading or owner}"
        else:
            number = sum(c.cell_type == "code" for c in self.cells[:index + 1])
            where = f"code cell {number}" + (f" (under “{heading}”)" if heading else "")
        return CellError(index, where, owner, line, code, _short(f"{ename}: {message}" if message else ename))

    def cause(self, name: str, before: int) -> CellError | None:
        """The failed cell above cell ``before`` that would have defined ``name``, if any."""
        return next((e for e in reversed(self.errors)
                     if e.index < before and _defines(self.cells[e.index].source, name)), None)

    # ------------------------------------------------------------------ explaining an exercise's failures
    def _undefined(self, exercise: str, name: str) -> list[str]:
        cause = self.cause(name, self.tests.get(exercise, len(self.cells)))
        if cause is None:
            return [f"  ✗ {name} is not defined when this test runs, and no cell above it that failed defines it: "
                    f"define {name} (under the name the exercise gives) in a cell above the test, and run the "
                    "notebook top to bottom (Kernel → Restart and Run All)."]
        details = cause.details(shown=cause.index in self._shown)
        self._shown.add(cause.index)
        if cause.exercise == exercise:
            return ([f"  ✗ {name} is not defined: {cause.where} stopped with an error"] + details
                    + ["    Fix it, run the cell, then run the notebook top to bottom "
                       "(Kernel → Restart and Run All)."])
        return ([f"  ✗ not judged: {name} is not defined, because an earlier cell failed: {cause.where}"] + details
                + ["    This exercise is not at fault: it is judged again once that cell runs."])

    def explain(self, exercise: str, verdict_lines: list[str], keep_passed: bool = False) -> list[str]:
        """The lines of an exercise's verdict (without its head line), each failure caused by a name that is not
        defined replaced by the cell that failed to define it; the passed checks only if ``keep_passed`` (``check``
        explains only failures; a feedback page would keep them)."""
        names, failures, consequences, hints = [], [], [], []
        for line in verdict_lines:
            text = line.strip()
            if not text or (text.startswith("✓") and not keep_passed):
                continue
            if text.startswith("Hint:"):
                hints.append(line)
            elif text.startswith("✗") and undefined_names(text):
                names += [n for n in undefined_names(text) if n not in names][:1]
            elif text.startswith("✗") and _CONSEQUENCE in text:
                consequences.append(line)
            else:
                failures.append(line)
        self.explained.update(names)
        lines = [out for name in names for out in self._undefined(exercise, name)]
        # a check judged only once another passes, or a hint about the exercise's own code, says nothing more
        # when only undefined names made the exercise fail
        only_undefined = bool(names) and not failures
        lines += failures if only_undefined else failures + consequences + hints
        own = next((e for e in self.errors if e.exercise == exercise and e.index not in self._shown), None)
        if lines and own is not None:
            self._shown.add(own.index)
            lines += [f"  Note: {own.where} also stopped with an error"] + own.details()
        return lines


# --------------------------------------------------------------------------- written answers
def solution_text(cell) -> tuple[str, str]:
    """``(model answer, rubric)`` of an instructor's solution cell: the text between its solution markers (the
    whole cell without them, as nbgrader clears it), split at the line that starts with "Rubric" (``""`` if none)."""
    region = _REGION.search(cell.source)
    text = region.group(1) if region else cell.source
    rubric = _RUBRIC.search(text)
    if rubric is None:
        return text.strip(), ""
    return text[:rubric.start()].strip(), text[rubric.start():].strip()


def _indented(text: str, max_lines: int | None = None, indent: str = "    ") -> list[str]:
    """``text`` indented; only its first ``max_lines`` lines, each shortened, if given (the learner's own text,
    which may be anything)."""
    lines = text.strip().splitlines()
    if max_lines is None:
        return [f"{indent}{line}" for line in lines]
    out = [f"{indent}{_short(line)}" for line in lines[:max_lines]]
    if len(lines) > max_lines:
        out.append(f"{indent}[… {len(lines) - max_lines} more lines]")
    return out


def written_answer_report(answer_cell, release_cell, source_cell, points: float, max_lines: int = 6) -> list[str]:
    """What ``check`` prints for a hand-graded cell: the learner's answer (its first lines), then the model answer
    and the rubric, to grade it against; only the first line when it is not answered yet (nothing to spoil)."""
    grade_id = _nbgrader(answer_cell).get("grade_id")
    head = f"{grade_id}: {points:g} points, graded by hand (not checked here)"
    answer = answer_cell.source.strip()
    if not answer or (release_cell is not None and answer == release_cell.source.strip()):
        return [f"{head}: not answered yet. Write your answer; `check` then shows the model answer and how it "
                "is graded, so that you can grade it yourself."]
    if source_cell is None:
        return [f"{head}: the instructor's notebook has no model answer for it."]
    model, rubric = solution_text(source_cell)
    lines = [f"{head}: grade it yourself against the model answer.", "  Your answer:"]
    lines += _indented(answer, max_lines)
    lines += ["  Model answer (from the instructor's notebook):"] + _indented(model)
    if rubric:
        lines += ["  How it is graded:"] + _indented(rubric)
    return lines
