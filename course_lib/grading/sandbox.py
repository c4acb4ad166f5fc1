"""A sandbox for every graded kernel: bubblewrap namespaces, resource limits, IPC sockets.

The student's kernel runs as ``bwrap ... timeout prlimit ... python -m ipykernel_launcher`` with

* private PID, network, IPC, UTS and user namespaces (``--unshare-all``): it cannot see or signal the grader, and
  has no network; ``--die-with-parent`` ends it, and everything it started, with the grading process;
* a read-only view of the system (``/usr`` and a few files of ``/etc``), the Python installation and the course's
  virtual environment with ``course_lib`` removed, except an allowlist: the probe, its wire format, the
  assignment's hidden-test inputs and any helper the notebook is meant to import (``Sandbox.kernel_modules``);
* one writable directory: a private work directory holding copies of the assignment's released data files and
  nothing else (not even the notebook, which the kernel receives cell by cell), plus a private ``/tmp``; the connection file and IPC sockets live in a directory bound
  into the sandbox, so grader and kernel need no TCP;
* limits on address space, CPU seconds, processes, file size and total wall time.

:class:`SandboxedExecute` is nbgrader's ``Execute`` with this kernel manager, and it turns a kernel that dies or
exceeds a limit into a recorded reason instead of an aborted notebook. It leaves out the demonstration cells that
sanitising flagged (:mod:`~course_lib.grading.demonstration`), each with one line of output saying why.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
import nbformat
from nbgrader.preprocessors import Execute
from traitlets import CaselessStrEnum, Integer, List, Unicode
from traitlets.config import Configurable

import course_lib
from course_lib.grading.demonstration import NOT_RUN, settle_demonstrations
from course_lib.grading.output_limits import BoundedOutputs

GiB = 1024**3
MiB = 1024**2

#: Files of /etc a Python kernel reads (name resolution of its own user, time zone, loader cache, fonts).
ETC_FILES = ("ld.so.cache", "localtime", "passwd", "group", "nsswitch.conf", "fonts", "alternatives", "mime.types")
#: Environment variables passed into the sandbox (everything else is cleared, NBGRADER_EXECUTION included).
PASS_ENV = ("LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


class Sandbox(Configurable):
    """Settings of the grading sandbox (``c.Sandbox.*`` in nbgrader_config.py, ``--sandbox`` on the command line)."""

    mode = CaselessStrEnum(["bwrap", "none"], default_value="bwrap",
                           help="bwrap: every kernel in a bubblewrap sandbox; none: no protection at all").tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap executable").tag(config=True)
    memory_bytes = Integer(4 * GiB, help="Address-space limit of the kernel (RLIMIT_AS)").tag(config=True)
    cpu_seconds = Integer(600, help="CPU-time limit of the kernel (RLIMIT_CPU)").tag(config=True)
    max_processes = Integer(256, help="Process/thread limit inside the sandbox (RLIMIT_NPROC)").tag(config=True)
    max_file_bytes = Integer(256 * MiB, help="Largest file the kernel may write (RLIMIT_FSIZE)").tag(config=True)
    wall_seconds = Integer(600, help="Wall-time limit of one notebook's kernel").tag(config=True)
    kernel_modules = List(Unicode(), default_value=["course_lib.grading.probe", "course_lib.grading.wire"],
                          help="The only course_lib modules the kernel can import (set per assignment by the "
                          "grading worker: the probe, the assignment's inputs, its helpers)").tag(config=True)
    work_root = Unicode("", help="Where the kernels' private work directories are made (default: the system's "
                        "temporary directory); the grading worker points it into its scratch course").tag(config=True)


def bwrap_available(executable: str = "bwrap") -> str | None:
    """``None`` if bubblewrap runs here, else why not."""
    if sys.platform != "linux":
        return f"bubblewrap needs Linux (this is {sys.platform})"
    path = shutil.which(executable)
    if path is None:
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    probe = subprocess.run([path, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"bwrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return None


def _ro_system() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        path = Path("/etc") / name
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    return args


@functools.cache
def kernel_package_dir() -> Path:
    """Where the kernel's Python imports ``course_lib`` from (the installed copy, which may not be the one this
    process imported, e.g. when grading from another checkout): the directory to bind, and to hide parts of."""
    found = subprocess.run([sys.executable, "-c", "import course_lib; print(course_lib.__file__)"],
                           capture_output=True, text=True, cwd="/", timeout=60)
    if found.returncode == 0 and found.stdout.strip():
        return Path(found.stdout.strip()).resolve().parent
    return Path(course_lib.__file__).resolve().parent


def kernel_files(package: Path, modules: list[str]) -> list[Path]:
    """The files (relative to the ``course_lib`` directory) that make ``modules`` importable, and only those."""
    files: set[Path] = set()
    for module in modules:
        parts = module.split(".")
        if parts[0] != "course_lib" or not all(p.isidentifier() for p in parts):
            raise ValueError(f"Sandbox.kernel_modules: {module!r} is not a course_lib module")
        for depth in range(1, len(parts)):
            files.add(Path(*parts[1:depth], "__init__.py"))
        module_file = Path(*parts[1:]).with_suffix(".py")
        if not (package / module_file).is_file():
            raise ValueError(f"Sandbox.kernel_modules: {module} is not a module file of {package}")
        files.add(module_file)
    return sorted(files)


def bwrap_command(settings: Sandbox, kernel_cmd: list[str], work_dir: str, ipc_dir: str) -> list[str]:
    """The full command line that runs ``kernel_cmd`` in the sandbox (pure: easy to inspect and test)."""
    package = kernel_package_dir()
    prefixes = sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix})
    # No capabilities (as root, bwrap would keep them inside the user namespace), and a /tmp of bounded size.
    args = [settings.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", "--size", str(settings.max_file_bytes), "--tmpfs", "/tmp"]
    args += _ro_system()
    for prefix in prefixes:
        args += ["--ro-bind", prefix, prefix]
    # course_lib is an empty directory (a later mount over a bound directory hides it), into which only the
    # allowlisted modules and the __init__ files of their packages are bound read-only.
    args += ["--tmpfs", str(package)]
    for path in kernel_files(package, settings.kernel_modules):
        args += ["--ro-bind", str(package / path), str(package / path)]
    args += ["--remount-ro", str(package)]  # nothing can be added to that view from inside either
    args += ["--bind", work_dir, work_dir, "--bind", ipc_dir, ipc_dir, "--remount-ro", "/", "--chdir", work_dir]
    env = {"HOME": work_dir, "PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin", "PYTHONNOUSERSITE": "1",
           "MPLCONFIGDIR": "/tmp/matplotlib", "TF_CPP_MIN_LOG_LEVEL": "2", "LANG": "C.UTF-8"}
    env.update({k: os.environ[k] for k in PASS_ENV if k in os.environ})
    args.append("--clearenv")
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    limits = ["prlimit", f"--as={settings.memory_bytes}", f"--cpu={settings.cpu_seconds}",
              f"--nproc={settings.max_processes}", f"--fsize={settings.max_file_bytes}", "--core=0", "--"]
    wall = ["timeout", "--signal=KILL", str(settings.wall_seconds)]
    return args + ["--"] + wall + limits + kernel_cmd


CGROUP_ROOT = Path("/sys/fs/cgroup")


def make_cgroups(name: str, settings: Sandbox) -> list[Path]:
    """Per-kernel cgroups capping the number of processes and the total memory of everything in the sandbox.

    RLIMIT_NPROC does not bind a root-owned process, and RLIMIT_AS is per process: a fork bomb is stopped by
    the ``pids`` cgroup and many processes' memory by the ``memory`` cgroup. cgroup v1 hierarchies and the
    unified v2 one are both handled; where none is writable, the sandbox still runs (the PID namespace and the
    wall-time limit end every process).
    """
    made = []
    plans = [
        (CGROUP_ROOT / "pids", {"pids.max": str(settings.max_processes)}),
        (CGROUP_ROOT / "memory", {"memory.limit_in_bytes": str(settings.memory_bytes)}),
        (CGROUP_ROOT / "unified", {"pids.max": str(settings.max_processes), "memory.max": str(settings.memory_bytes)}),
    ]
    for hierarchy, limits in plans:
        directory = hierarchy / name
        try:
            if not hierarchy.is_dir() or not os.access(hierarchy, os.W_OK):
                continue
            directory.mkdir()
            written = 0
            for key, value in limits.items():
                if (directory / key).exists():
                    (directory / key).write_text(value)
                    written += 1
            if written:
                made.append(directory)
            else:
                directory.rmdir()
        except OSError:
            continue
    return made


def remove_cgroups(directories: list[Path]) -> None:
    for directory in directories:
        for _ in range(50):  # the kernel's processes may take a moment to be reaped
            try:
                directory.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside :func:`bwrap_command`, talking over IPC sockets."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.settings = Sandbox(parent=self)
        self._ipc_dir = tempfile.mkdtemp(prefix="lstm-course-ipc-")
        self.transport = "ipc"
        self.ip = os.path.join(self._ipc_dir, "kernel")
        self.connection_file = os.path.join(self._ipc_dir, "connection.json")
        self._cgroups: list[Path] = []

    async def _async_pre_start_kernel(self, **kw):
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        # The kernel works in a private copy of its directory: nbgrader writes the graded notebook into the
        # original one, so nothing the kernel leaves (a symlink in place of the notebook...) is ever written
        # through or read by the grader, except the files a hidden test asks for (a saved model), checked then.
        self.work_dir = private_work_dir(kw.get("cwd") or os.getcwd(), self.settings.work_root or None)
        command = bwrap_command(self.settings, kernel_cmd, self.work_dir, self._ipc_dir)
        self._cgroups = make_cgroups(os.path.basename(self._ipc_dir), self.settings)
        if self._cgroups:
            # The shell joins the cgroups, then becomes bwrap: every process of the sandbox is inside them.
            join = "; ".join(f'echo $$ > "{d}/cgroup.procs"' for d in self._cgroups)
            command = ["/bin/sh", "-c", f'{join} && exec "$@"', "sh", *command]
        # bwrap itself (PID 1 inside, whose /proc/1/environ the kernel can read) gets no grader environment.
        kw["env"] = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        kw["cwd"] = "/"
        # What the kernel prints on its own stdout/stderr (not cell output) is not the grader's business.
        kw.setdefault("stdout", open(os.devnull, "w"))  # noqa: SIM115 - owned by the kernel process
        kw.setdefault("stderr", kw["stdout"])
        return command, kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            remove_cgroups(self._cgroups)
            shutil.rmtree(self._ipc_dir, ignore_errors=True)


def private_work_dir(source: str, parent: str | None) -> str:
    """A fresh directory holding copies of the regular files of ``source`` except notebooks (the released data)."""
    work = tempfile.mkdtemp(prefix="lstm-course-work-", dir=parent)
    for directory, subdirs, files in os.walk(source, followlinks=False):
        relative = os.path.relpath(directory, source)
        for name in files:
            path = os.path.join(directory, name)
            if name.endswith(".ipynb") or os.path.islink(path) or not os.path.isfile(path):
                continue
            os.makedirs(os.path.join(work, relative), exist_ok=True)
            shutil.copyfile(path, os.path.join(work, relative, name))
    return os.path.realpath(work)


class SandboxedExecute(BoundedOutputs, Execute):
    """nbgrader's Execute, in the sandbox when configured, keeping at most ``c.SubmissionLimits.max_output_bytes*``
    of output, leaving out demonstration cells, and recording a kernel's death instead of aborting."""

    def __init__(self, *args, **kwargs):
        if Sandbox(parent=kwargs.get("parent"), config=kwargs.get("config")).mode == "bwrap":
            kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    _kernel_manager = None
    _assignment = None
    _not_run: frozenset[int] = frozenset()

    def create_kernel_manager(self):
        # nbclient forgets its kernel manager once the kernel is shut down; we still need its work directory
        self._kernel_manager = super().create_kernel_manager()
        # messages nested too deeply for json.loads become inert outputs, not a dead run (output_limits)
        self._kernel_manager.session.unpacker = "course_lib.grading.output_limits.unpack_bounded"
        if isinstance(self._kernel_manager, SandboxedKernelManager) and self._assignment:
            # the graded assignment's own modules, whoever started the grading (a plain `nbgrader autograde` too)
            from course_lib.assignments.registry import get_assignment

            settings = self._kernel_manager.settings
            settings.kernel_modules = list(dict.fromkeys(
                [*settings.kernel_modules, *get_assignment(self._assignment).kernel_allowlist()]))
        return self._kernel_manager

    def preprocess(self, nb, resources=None, km=None):
        problems = resources.setdefault("lstm_course", {}).setdefault("problems", [])
        self._assignment = resources.get("nbgrader", {}).get("assignment")
        # decided again on exactly the code that runs (the test cells now hold their hidden tests)
        self._not_run = frozenset(settle_demonstrations(nb.cells))
        started = time.monotonic()
        settings = Sandbox(parent=self)
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError:
            elapsed = time.monotonic() - started
            if settings.mode == "bwrap" and elapsed >= settings.wall_seconds - 1:
                problems.append(f"the notebook was stopped after the wall-time limit of {settings.wall_seconds} s")
            else:
                problems.append("the kernel died (a limit was exceeded or it crashed); cells after that did not run")
        except CellTimeoutError:
            problems.append(f"a cell ran longer than {self.timeout} s and was stopped")
        except RuntimeError as error:  # e.g. the kernel did not start or respond
            problems.append(f"the kernel stopped responding: {str(error)[:200]}")
        finally:
            # where the kernel worked: the only place a hidden test may ask the grader to read a file from
            resources["lstm_course"]["work_dir"] = getattr(self._kernel_manager, "work_dir", None)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if index in self._not_run:
            # the flag came from the release notebook (SanitizeSubmission), never from the submission
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=NOT_RUN)]
            cell.execution_count = None
            return cell, self.resources
        return super().preprocess_cell(cell, resources, index)
