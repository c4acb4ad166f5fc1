"""Demonstration cells: given code that only shows something (a plot, 01's comparison with Keras), not run when graded.

Such a cell costs every graded submission its run time (01's comparison imports TensorFlow: a third of the
notebook's autograde) and earns nothing. The instructor marks it in the source notebook with the cell metadata
``{"lstm_course": {"demonstration": true}}``, which nbgrader keeps in the release: students run it in JupyterLab as
any other cell, and grading leaves it out, with one line of output saying so (:data:`NOT_RUN`).

Leaving a cell out must not change what the rest of the notebook computes. The build (:func:`check_notebook`)
therefore requires of every marked cell that it is a plain given code cell (no nbgrader role) and that no later
code cell that does run reads a name it may change: one it binds (assigns, imports, defines, deletes, loops over),
or whose object it may modify (``rng.standard_normal`` advances ``rng``; ``a[0] = 1`` and ``a.b = 1`` change
``a``). A later cell that can read any name (``globals()``, ``eval``, a magic, code that does not parse) depends on
everything before it. A hidden test's ``report_values(stem, exercise, globals())`` reads only the names the
probe can look up for that exercise (:func:`probe_reads`). The same rule decides again when grading, on the
submission as sanitised (:func:`skipped_cells`): a student's cell that uses a demonstration's name runs it.

What names cannot show is left to the instructor's review when marking: a demonstration must not change state
that later code reads without a name of its own, such as NumPy's or Keras' global random state (unless every later
consumer reseeds first), matplotlib's settings, files, or the modules it imports for later cells to find
(``autodiff_watch`` of the probe copes with a TensorFlow that no demonstration loaded).
"""
from __future__ import annotations

import ast
import builtins
import functools
import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from course_lib.grading.course import CourseError

#: the course's namespace in cell metadata, and the flag of a demonstration cell in it
METADATA = "lstm_course"
FLAG = "demonstration"
#: the one output a demonstration cell keeps in the graded notebook and the feedback: why it has no other
NOT_RUN = "(a demonstration: not run during grading)\n"

#: names through which code reaches the namespace without naming what it reads
DYNAMIC = frozenset({"globals", "locals", "vars", "eval", "exec", "get_ipython", "__main__", "__builtins__",
                     "__import__"})
BUILTINS = frozenset(dir(builtins))
#: IPython's output and input history, which every cell that runs changes (``_``, ``Out``, ``_5``, ``_i5``...)
_HISTORY = re.compile(r"_{1,3}|_i{1,3}|_[ido]h|In|Out|_i?\d+")


def is_demonstration(cell) -> bool:
    """Whether a cell carries the demonstration flag (only ``true`` counts)."""
    meta = cell.get("metadata", {}).get(METADATA)
    return isinstance(meta, dict) and meta.get(FLAG) is True


def set_demonstration(cell, flag: bool) -> None:
    """Set or remove the flag (the course's metadata key goes once it is empty)."""
    meta = cell.metadata.setdefault(METADATA, {})
    if flag:
        meta[FLAG] = True
    else:
        meta.pop(FLAG, None)
        if not meta:
            del cell.metadata[METADATA]


def python_source(source: str) -> ast.Module | None:
    """The cell as IPython would run it (magics and ``!`` lines become calls), parsed; ``None`` if it cannot be."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:  # noqa: BLE001 - a SyntaxError, or whatever else the student wrote: may read anything
        return None


# --------------------------------------------------------------------------- what the probe reads
def _identifiers(value, found: set[str], depth: int = 0) -> None:
    if depth > 20:
        return
    if isinstance(value, str):
        if value.isidentifier():
            found.add(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _identifiers(key, found, depth + 1)
            _identifiers(item, found, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _identifiers(item, found, depth + 1)
    elif getattr(value, "dtype", None) is not None and value.dtype.kind in "UO":
        for item in value.ravel().tolist():
            _identifiers(item, found, depth + 1)


#: request fields that hold the arguments the probe passes to the student's functions, never names it looks up
_ARGUMENTS = ("args", "upstream", "again")


def _request_fields(tree: ast.AST) -> set[str]:
    """The fields of a request that a module's operations read (``request["function"]``, ``request.get("record")``):
    the only ones that can name what the probe looks up (the rest, such as ``arg_names``, are for the grader)."""
    fields: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _root(node) == "request" and isinstance(node.value, ast.Name):
            key = node.slice
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "request" and node.args):
            key = node.args[0]
        else:
            continue
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            fields.add(key.value)
    return fields


def _namespace_keys(tree: ast.AST) -> set[str]:
    """The identifier strings of the expressions of a module that use its ``namespace`` directly (an operation
    that reads a variable by a name of its own: 04's ``namespace["hello_model"]``, ``lookup(namespace, "f")``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Subscript, ast.Call, ast.Compare)):
            continue
        parts = [*ast.iter_child_nodes(node), *(k.value for k in getattr(node, "keywords", ()))]
        if any(_root(part) == "namespace" for part in parts):
            found |= {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                      and n.value.isidentifier()}
    return found


@functools.cache
def _probe_module_names(stem: str) -> tuple[frozenset[str], frozenset[str]]:
    """``(request fields the operations read, identifiers used with namespace)`` of the probe and ``inputs``."""
    from course_lib.grading import probe

    trees = [ast.parse(inspect.getsource(module)) for module in (probe, probe.load_inputs(stem))]
    fields = set().union(*map(_request_fields, trees)) - set(_ARGUMENTS)
    return frozenset(fields), frozenset(set().union(*map(_namespace_keys, trees)))


@functools.cache
def probe_reads(stem: str, exercise: str) -> frozenset[str] | None:
    """The names the probe may look up in the kernel's namespace for one exercise's hidden test, or ``None`` if
    they cannot be listed: every identifier held by a request field that an operation reads, except the
    functions' arguments (so: the functions, ``record``, ``variables``...), and every identifier the ``inputs``
    module (or the probe) uses with ``namespace`` itself."""
    from course_lib.grading import probe

    try:
        requests = probe.load_inputs(stem).requests(exercise)
        fields, keys = _probe_module_names(stem)
    except Exception:  # noqa: BLE001 - an unknown stem or exercise: the test may read anything
        return None
    found: set[str] = set(keys)
    for request in requests.values():
        _identifiers({k: v for k, v in request.items() if k in fields}, found)
    return frozenset(found)


ProbeReads = Callable[[str, str], "frozenset[str] | None"]


def _report_call(node: ast.AST) -> tuple[str, str] | None:
    """``(stem, exercise)`` of a hidden test's ``report_values("stem", "exercise", globals())``, else ``None``."""
    if not isinstance(node, ast.Call) or node.keywords or len(node.args) != 3:
        return None
    name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
    stem, exercise, namespace = node.args
    if (name == "report_values" and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                        for a in (stem, exercise))
            and isinstance(namespace, ast.Call) and isinstance(namespace.func, ast.Name)
            and namespace.func.id == "globals" and not namespace.args and not namespace.keywords):
        return stem.value, exercise.value
    return None


# --------------------------------------------------------------------------- what a cell binds and reads
@dataclass(frozen=True)
class CellNames:
    """The global names of one cell, each resolved in the scope it is used in (a function's locals are its own).

    ``reads``: the names it may read, anywhere (a function's body reads when it is called); ``None``: any name.
    ``binds``: the names it binds, deletes or assigns into (``a[0] = 1`` changes ``a``); ``None``: names it cannot
    list (``from m import *``, code that does not parse). ``receivers``: the names whose methods it calls, which may
    change their object (``rng.standard_normal`` advances ``rng``), unless they are modules or builtins.
    ``imports``: the names it binds by importing.
    """

    reads: frozenset[str] | None
    binds: frozenset[str] | None
    receivers: frozenset[str] = frozenset()
    imports: frozenset[str] = frozenset()

    def changes(self, exempt: frozenset[str]) -> frozenset[str] | None:
        """The names this cell may change, the method calls on ``exempt`` names (modules, builtins) aside."""
        return None if self.binds is None else self.binds | (self.receivers - exempt)


UNKNOWN = CellNames(reads=None, binds=None)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SCOPES = (*_FUNCTIONS, ast.ClassDef, *_COMPREHENSIONS)


def _root(node: ast.AST) -> str | None:
    """The name an attribute or subscript chain starts from (``a`` of ``a.b[0].c``; none through a call's result)."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _own_nodes(scope: ast.AST):
    """The nodes of a scope's own code: not inside a nested function, lambda, class or comprehension, except the
    parts of those evaluated here (a definition itself, its decorators, defaults and bases; a comprehension's
    first iterable) and the targets of ``:=`` in a comprehension, which bind here."""
    if isinstance(scope, ast.Lambda):
        stack: list[ast.AST] = [scope.body]
    elif isinstance(scope, _COMPREHENSIONS):
        stack = [n for n in ast.iter_child_nodes(scope) if n is not scope.generators[0].iter]
    else:
        stack = list(scope.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = node.args
            stack += [*arguments.defaults, *(d for d in arguments.kw_defaults if d)]
            if not isinstance(node, ast.Lambda):
                stack += node.decorator_list
        elif isinstance(node, ast.ClassDef):
            stack += [*node.decorator_list, *node.bases, *node.keywords]
        elif isinstance(node, _COMPREHENSIONS):
            stack.append(node.generators[0].iter)
            stack += [n.target for n in ast.walk(node) if isinstance(n, ast.NamedExpr)]
        else:
            stack.extend(ast.iter_child_nodes(node))


def _bound_here(scope: ast.AST) -> tuple[set[str], set[str]]:
    """``(local names, names declared global)`` of a function, lambda, class or comprehension scope."""
    local: set[str] = set()
    declared: set[str] = set()
    if isinstance(scope, _FUNCTIONS):
        arguments = scope.args
        local |= {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                  arguments.vararg, arguments.kwarg) if a is not None}
    if isinstance(scope, _COMPREHENSIONS):
        local |= {n.id for g in scope.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        return local, declared
    for node in _own_nodes(scope):
        if isinstance(node, ast.Global):
            declared.update(node.names)
        local |= _bindings(node)
    return local - declared, declared


def _bindings(node: ast.AST) -> set[str]:
    """The names one node binds in the scope it runs in (a ``Name`` stored or deleted, a definition, an import...)."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return {node.id}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {alias.asname or alias.name.split(".")[0] for alias in node.names if alias.name != "*"}
    if isinstance(node, ast.ExceptHandler) and node.name:
        return {node.name}
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        return {node.name}
    if isinstance(node, ast.MatchMapping) and node.rest:
        return {node.rest}
    return set()


class _Scanner:
    """One pass over a cell, resolving every name where it is used: a local of an enclosing function (or of the
    class body it is in) is not a global; a name declared ``global`` is.

    A global the cell has certainly bound itself before reading it is not read from an earlier cell: one bound by
    an earlier statement of its top level (``x = ...``, an import, a definition), or the target of the ``for``
    loop whose body reads it (a test cell's ``for name, array in inputs.items()`` needs no earlier ``name``).
    """

    def __init__(self, probe: ProbeReads):
        self.probe = probe
        self.reads: set[str] = set()
        self.binds: set[str] = set()
        self.receivers: set[str] = set()
        self.imports: set[str] = set()
        self.anything = False   # may read any name
        self.unlisted = False   # binds names it cannot list
        self.reported: set[int] = set()
        self.defined: set[str] = set()   # globals certainly bound by this cell at the point visited

    def statement(self, node: ast.stmt) -> None:
        """Visit one statement of the cell's top level; then what it bound unconditionally is defined."""
        self.visit(node, [])
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and getattr(node, "value", None):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            self.defined |= {n.id for t in targets for n in ast.walk(t)
                             if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.defined |= _bindings(node)

    def is_global(self, name: str, chain: list[tuple[set[str], set[str], bool]]) -> bool:
        for local, declared, _ in reversed(chain):
            if name in declared:
                return True
            if name in local:
                return False
        return True

    def visit(self, node: ast.AST, chain: list) -> None:
        call = _report_call(node)
        if call is not None:
            names = self.probe(*call)
            if names is None:
                self.anything = True
            else:
                self.reads |= names
            self.reported.add(id(node.args[2].func))
        self.record(node, chain)
        if isinstance(node, _SCOPES):
            self.scope(node, chain)
            return
        if isinstance(node, (ast.For, ast.AsyncFor)) and not chain:
            self.visit(node.target, chain)
            self.visit(node.iter, chain)
            before = set(self.defined)
            self.defined |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
            for child in node.body:
                self.visit(child, chain)
            self.defined = before
            for child in node.orelse:
                self.visit(child, chain)
            return
        for child in ast.iter_child_nodes(node):
            self.visit(child, chain)

    def scope(self, node: ast.AST, chain: list) -> None:
        """What a nested scope evaluates where it is defined, then its own code, in a chain that sees it."""
        if isinstance(node, _COMPREHENSIONS):
            outer = [node.generators[0].iter]
        elif isinstance(node, ast.ClassDef):
            outer = [*node.decorator_list, *node.bases, *node.keywords]
        else:
            arguments = node.args
            outer = [*arguments.defaults, *(d for d in arguments.kw_defaults if d)]
            if not isinstance(node, ast.Lambda):
                outer += [*node.decorator_list, *(a.annotation for a in (*arguments.posonlyargs, *arguments.args,
                          *arguments.kwonlyargs, arguments.vararg, arguments.kwarg) if a is not None and
                          a.annotation is not None), *([node.returns] if node.returns else [])]
        for child in outer:
            self.visit(child, chain)
        if isinstance(node, ast.ClassDef):
            inner, body = chain, node.body
        else:
            inner = [entry for entry in chain if not entry[2]]   # a function does not see a class body around it
            body = [node.body] if isinstance(node, ast.Lambda) else (
                [n for n in ast.iter_child_nodes(node) if n is not node.generators[0].iter]
                if isinstance(node, _COMPREHENSIONS) else node.body)
        inner = [*inner, (*_bound_here(node), isinstance(node, ast.ClassDef))]
        for child in body:
            self.visit(child, inner)

    def record(self, node: ast.AST, chain: list) -> None:
        if isinstance(node, ast.Name):
            if node.id in DYNAMIC and id(node) not in self.reported:
                self.anything = True
            here = self.is_global(node.id, chain)
            if here and isinstance(node.ctx, (ast.Load, ast.Del)) and (chain or node.id not in self.defined):
                self.reads.add(node.id)
            if here and isinstance(node.ctx, (ast.Store, ast.Del)):
                self.binds.add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            if self.is_global(node.target.id, chain) and (chain or node.target.id not in self.defined):
                self.reads.add(node.target.id)   # `x += 1` reads x
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            root = _root(node)
            if root is not None and self.is_global(root, chain):
                self.binds.add(root)   # `a[0] = 1`, `a.b = 1`: a's object changes
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            root = _root(node.func)
            if root is not None and self.is_global(root, chain):
                self.receivers.add(root)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in node.names):
                self.unlisted = True
            if any(alias.name == "__main__" for alias in node.names):
                self.anything = True
            names = {n for n in _bindings(node) if self.is_global(n, chain)}
            self.binds |= names
            self.imports |= names
        elif isinstance(node, ast.Global):
            self.binds.update(node.names)   # conservatively: a function that declares a global may bind it
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler,
                               ast.MatchAs, ast.MatchStar, ast.MatchMapping)):
            self.binds |= {n for n in _bindings(node) if self.is_global(n, chain)}


@functools.lru_cache(maxsize=4096)   # a class's notebooks share most of their cells' sources
def cell_names(source: str, probe: ProbeReads = probe_reads) -> CellNames:
    """The global names a code cell may read and change (:class:`CellNames`); :data:`UNKNOWN` if it does not parse."""
    tree = python_source(source)
    if tree is None:
        return UNKNOWN
    scanner = _Scanner(probe)
    for node in tree.body:
        scanner.statement(node)
    return CellNames(reads=None if scanner.anything else frozenset(scanner.reads),
                     binds=None if scanner.unlisted else frozenset(scanner.binds),
                     receivers=frozenset(scanner.receivers), imports=frozenset(scanner.imports))


# --------------------------------------------------------------------------- which cells are left out
@dataclass(frozen=True)
class Conflict:
    """A marked cell that must run: a later cell that runs reads ``name``, which it may change."""

    cell: int
    name: str      # "*": the later cell may read any name
    reader: int


def plan(cells: Sequence, marked: Sequence[bool], probe: ProbeReads = probe_reads) -> tuple[set[int], list[Conflict]]:
    """Which of the ``marked`` code cells can be left out, and why each other marked cell cannot.

    Decided from the last cell up: a marked cell is left out when no later cell that still runs reads a name it
    may change; a marked cell that must run reads what it reads, like any other.
    """
    names = [cell_names(c.source, probe) if c.get("cell_type") == "code" else None for c in cells]
    # method calls on modules and builtins change nothing later cells read by name (``np.zeros``, ``dict.fromkeys``),
    # unless the notebook also binds that name to something else
    assigned = set().union(*(n.binds - n.imports for n in names if n is not None and n.binds is not None))
    imported = set().union(*(n.imports for n in names if n is not None))
    exempt = frozenset((imported | BUILTINS) - assigned)
    readers: dict[str, int] = {}    # each name read by a later cell that runs: the nearest such cell
    anything: int | None = None     # the nearest later cell that runs and may read any name
    skipped: set[int] = set()
    conflicts: list[Conflict] = []
    for index in reversed(range(len(cells))):
        if cells[index].get("cell_type") != "code":
            continue
        if marked[index]:
            clash = _clash(names[index].changes(exempt), readers, anything)
            if clash is None:
                skipped.add(index)
                continue
            conflicts.append(Conflict(index, *clash))
        reads = names[index].reads
        if reads is None:
            anything = index
        else:
            readers.update(dict.fromkeys(reads, index))
    return skipped, sorted(conflicts, key=lambda c: c.cell)


def _clash(changes: frozenset[str] | None, readers: dict[str, int], anything: int | None) -> tuple[str, int] | None:
    if anything is not None:
        return "*", anything
    history = [(name, index) for name, index in readers.items() if _HISTORY.fullmatch(name)]
    if history:
        return min(history, key=lambda item: item[1])
    if changes is None:
        return (min(readers.items(), key=lambda item: item[1])) if readers else None
    shared = [(name, readers[name]) for name in changes if name in readers]
    return min(shared, key=lambda item: (item[1], item[0])) if shared else None


def skipped_cells(cells: Sequence, probe: ProbeReads = probe_reads) -> set[int]:
    """The indices of the flagged cells that grading leaves out (a flagged cell that a later one needs runs)."""
    return plan(cells, [is_demonstration(c) for c in cells], probe)[0]


def settle_demonstrations(cells: Sequence, probe: ProbeReads = probe_reads) -> set[int]:
    """The indices of the flagged cells that grading leaves out; a flagged cell that a later one needs (a student's
    cell that uses a demonstration's name) loses its flag and runs, as in the student's own run of the notebook."""
    left_out = skipped_cells(cells, probe)
    for index, cell in enumerate(cells):
        if is_demonstration(cell) and index not in left_out:
            set_demonstration(cell, False)
    return left_out


def _first_line(cell) -> str:
    lines = [line for line in cell.source.splitlines() if line.strip()]
    return (lines[0][:60] + ("…" if len(lines[0]) > 60 else "")) if lines else ""


def check_notebook(notebook, where: str, probe: ProbeReads = probe_reads) -> list[int]:
    """The build's check of an instructor notebook's demonstration cells; their indices if all can be left out.

    Raises
    ------
    CourseError
        A marked cell has an nbgrader role, or a later cell needs a name it may change: the message names the
        notebook, the cell, the name and the cell that reads it.
    """
    marked = [is_demonstration(c) for c in notebook.cells]
    for index, cell in enumerate(notebook.cells):
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        if marked[index] and (cell.get("cell_type") != "code" or any(meta.get(k) for k in (
                "solution", "grade", "locked", "grade_id"))):
            raise CourseError(f"{where}: cell {index} ({_first_line(cell)!r}) is marked as a demonstration but is "
                              f"not a plain given code cell (it is a {cell.get('cell_type')} cell"
                              f"{' with an nbgrader role' if meta else ''}): only given code that shows something "
                              f"can be left out of grading; remove its \"{METADATA}\": {{\"{FLAG}\": true}}")
    skipped, conflicts = plan(notebook.cells, marked, probe)
    if conflicts:
        first = conflicts[0]
        cell, reader = notebook.cells[first.cell], notebook.cells[first.reader]
        what = (f"cell {first.reader} ({_first_line(reader)!r}) may read any name (globals(), eval, a magic, or "
                f"code that does not parse)" if first.name == "*" else
                f"cell {first.reader} ({_first_line(reader)!r}) reads `{first.name}`, which it may change")
        raise CourseError(f"{where}: the demonstration cell {first.cell} ({_first_line(cell)!r}) cannot be left out "
                          f"of grading: {what}; unmark it, or make the later cell independent of it")
    return sorted(skipped)


def check_source_demonstrations(path: Path, root: Path) -> list[str]:
    """The build's check of a source notebook (:func:`check_notebook`): the sources of its demonstration cells."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    return [notebook.cells[i].source for i in check_notebook(notebook, _shown(path, root))]


def check_release_demonstrations(path: Path, root: Path, sources: list[str]) -> None:
    """Grading reads the flags from the release notebook, which must carry exactly the source notebook's
    demonstration cells: nbgrader's generate_assignment keeps cell metadata it does not know, and this says so
    loudly if that ever changes."""
    import nbformat

    released = [c.source for c in nbformat.read(path, as_version=4).cells if is_demonstration(c)]
    if released != sources:
        raise CourseError(f"{_shown(path, root)} carries {len(released)} demonstration cells where the source notebook "
                          f"has {len(sources)}: the release lost the cells' \"{METADATA}\" metadata (instructor: check "
                          f"nbgrader's generate_assignment preprocessors)")


def _shown(path: Path, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)
