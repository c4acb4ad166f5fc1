"""The second stage of model scoring: ``model_predict.py`` run on the checked copy in a process of its own, and its
predictions read back without trusting them.

With ``sandbox="bwrap"`` the script runs under bubblewrap (no network, own PIDs, no capabilities, read-only system and
Python, any copy of ``course_lib`` hidden, a small private ``/tmp``), ``prlimit`` (memory, CPU time, processes, file
size), the kernel sandbox's cgroups where writable (processes, memory) and ``timeout`` (wall time). With
``sandbox="none"`` (no bubblewrap, e.g. macOS) the same script runs in a plain subprocess with the same rlimits,
never in the grader's process. Either way it sees the model and the inputs, never the labels or the course.

A failed run is explained in one line (:func:`_explain_failure`); the predictions file is read back as plain numbers
(no pickle, a ``.npy`` header checked before NumPy allocates anything, bounded size, one row per input, finite).
"""
from __future__ import annotations

import functools
import io
import os
import resource
import stat
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import course_lib
from course_lib.grading.model_archive import GiB, KiB, MiB, ModelRejected, ModelScoring, open_unfollowed
from course_lib.grading.sandbox import (PASS_ENV, Sandbox, _ro_system, bwrap_available, make_cgroups,
                                        remove_cgroups)

#: The program run in the scoring sandbox (bound read-only into it; never imported by the grader).
PREDICT_SCRIPT = Path(__file__).with_name("model_predict.py")
#: Where the sandboxed process sees its script, inputs and output directory.
INSIDE_SCRIPT, INSIDE_IN, INSIDE_OUT = "/scoring/model_predict.py", "/scoring/in", "/scoring/out"
#: Exit codes of model_predict.py (mirrored here: the grader never imports that script).
EXIT_LOAD, EXIT_PREDICT, EXIT_MEMORY = 3, 4, 5


@functools.cache
def _bwrap_problem(executable: str) -> str | None:
    return bwrap_available(executable)


def _site_dirs() -> list[str]:
    """The site-packages directories holding NumPy and Keras (``-I -S`` leaves them off the path)."""
    paths = sysconfig.get_paths()
    return sorted({os.path.realpath(paths[key]) for key in ("purelib", "platlib")})


def _environment(home: str, tmp: str) -> dict[str, str]:
    env = {"HOME": home, "TMPDIR": tmp, "PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
           "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "KERAS_BACKEND": "tensorflow", "KERAS_HOME": f"{home}/.keras",
           "MPLCONFIGDIR": f"{tmp}/matplotlib", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
           # few threads and malloc arenas: TensorFlow's address space then stays near 1.2 GiB, under the limit
           "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "2", "TF_NUM_INTRAOP_THREADS": "2",
           "TF_NUM_INTEROP_THREADS": "1"}
    env.update({key: os.environ[key] for key in PASS_ENV if key in os.environ})
    return env


def _file_limit(settings: ModelScoring) -> int:
    # the predictions, and Keras' extracted copy of the assets in the private /tmp
    return max(settings.max_prediction_bytes, settings.max_asset_bytes) + MiB


def _bwrap_command(settings: ModelScoring, script: Path, in_dir: Path, out_dir: Path) -> list[str]:
    """``bwrap ... timeout prlimit python -I -S script``, seeing only the script, ``in_dir`` and ``out_dir``."""
    prefixes = sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix})
    args = [Sandbox(parent=settings).bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--proc", "/proc", "--dev", "/dev",
            # a bounded private /tmp: Keras extracts the assets there
            "--size", str(2 * settings.max_asset_bytes + 64 * MiB), "--tmpfs", "/tmp", *_ro_system()]
    for prefix in prefixes:
        args += ["--ro-bind", prefix, prefix]
    args += _hide_course(prefixes)
    args += ["--ro-bind", str(script), INSIDE_SCRIPT, "--ro-bind", str(in_dir), INSIDE_IN,
             "--bind", str(out_dir), INSIDE_OUT, "--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    for key, value in sorted(_environment("/tmp", "/tmp").items()):
        args += ["--setenv", key, value]
    # CPU: SIGXCPU at the soft limit (a status that says why); SIGKILL at the hard one, if that is ignored
    limits = ["prlimit", f"--as={settings.memory_bytes}", f"--cpu={settings.cpu_seconds}:{settings.cpu_seconds + 5}",
              f"--nproc={settings.max_processes}", f"--fsize={_file_limit(settings)}", "--core=0", "--"]
    wall = ["timeout", "--signal=KILL", str(settings.wall_seconds)]
    return args + ["--"] + wall + limits + _python(settings, INSIDE_SCRIPT, INSIDE_IN, INSIDE_OUT)


def _hide_course(prefixes: list[str]) -> list[str]:
    """Empty directories over any copy of course_lib inside the bound Python installation (a non-editable install)."""
    candidates = {Path(course_lib.__file__).resolve().parent, *(Path(d) / "course_lib" for d in _site_dirs())}
    hidden = []
    for candidate in sorted(candidates):
        if candidate.is_dir() and any(str(candidate).startswith(prefix.rstrip("/") + "/") for prefix in prefixes):
            hidden += ["--tmpfs", str(candidate)]
    return hidden


def _python(settings: ModelScoring, script: str, in_dir: str, out_dir: str) -> list[str]:
    sites = [arg for directory in _site_dirs() for arg in ("--site", directory)]
    return [sys.executable, "-I", "-S", script, *sites, "--in", in_dir, "--out", out_dir,
            "--batch-size", str(settings.batch_size), "--max-output-bytes", str(settings.max_prediction_bytes)]


def _plain_limits(settings: ModelScoring) -> Callable[[], None]:
    """rlimits for the unsandboxed mode, applied in the child before it runs Python."""
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (settings.memory_bytes, settings.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (settings.cpu_seconds, settings.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (_file_limit(settings),) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def _run_isolated(script: Path, scratch: Path, settings: ModelScoring, sandbox: str) -> tuple[int, float, str]:
    """Run ``script`` on ``scratch/in`` (read-only) writing ``scratch/out``, sandboxed or (mode "none") limited.

    Returns
    -------
    tuple
        ``(exit status, wall seconds, last line of its stderr)``; a status above 128 is 128 + a signal.
    """
    in_dir, out_dir, groups = scratch / "in", scratch / "out", []
    if sandbox == "bwrap":
        command, extra = _bwrap_command(settings, script, in_dir, out_dir), {}
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}  # bwrap itself gets no grader environment
        groups = make_cgroups(scratch.name, _cgroup_settings(settings))
        if groups:  # RLIMIT_NPROC does not bind a root-owned process: the pids cgroup does
            join = "; ".join(f'echo $$ > "{group}/cgroup.procs"' for group in groups)
            command = ["/bin/sh", "-c", f'{join} && exec "$@"', "sh", *command]
    else:
        home = scratch / "home"
        home.mkdir()
        command = _python(settings, str(script), str(in_dir), str(out_dir))
        env, extra = _environment(str(home), str(home)), {"preexec_fn": _plain_limits(settings)}
    try:
        return _wait(command, env, extra, scratch, settings, margin=15 if sandbox == "bwrap" else 0)
    finally:
        remove_cgroups(groups)


def _cgroup_settings(settings: ModelScoring) -> Sandbox:
    """The kernel sandbox's cgroup settings, with the process and memory limits of model scoring."""
    limits = Sandbox(parent=settings)
    limits.max_processes, limits.memory_bytes = settings.max_processes, settings.memory_bytes
    return limits


def _wait(command: list[str], env: dict[str, str], extra: dict, scratch: Path, settings: ModelScoring,
          margin: float) -> tuple[int, float, str]:
    """Run ``command`` to its end or the wall-time limit plus ``margin``; ``(status, seconds, stderr's last line)``."""
    log = scratch / "stderr.txt"
    started = time.monotonic()
    with open(log, "wb") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                   env=env, cwd=str(scratch / "out"), start_new_session=True, **extra)
        try:
            # in bwrap mode `timeout` ends it first; the margin only covers a sandbox that fails to
            status = process.wait(timeout=settings.wall_seconds + margin)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
            status = 128 + 9
    status = 128 - status if status < 0 else status
    return status, time.monotonic() - started, _last_line(log, 4 * KiB)


def _last_line(path: Path, limit: int) -> str:
    """The last non-empty line of at most ``limit`` bytes of a file the sandbox wrote, printable characters only."""
    try:
        descriptor = open_unfollowed(path)
    except OSError:
        return ""
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return ""
        size = os.fstat(descriptor).st_size
        file.seek(max(0, size - limit))
        text = file.read(limit).decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line.strip()]
    return "".join(c for c in lines[-1] if c.isprintable())[:300] if lines else ""


def _explain_failure(status: int, seconds: float, stderr: str, out_dir: Path, settings: ModelScoring) -> str:
    """One line in the student's terms for a predicting process that did not succeed."""
    if seconds >= settings.wall_seconds - 0.5:
        return f"scoring the model took longer than {settings.wall_seconds} s"
    reason = _last_line(out_dir / "error.txt", KiB)
    if status == EXIT_MEMORY:
        return f"the model used more than {settings.memory_bytes / GiB:g} GiB while predicting"
    if status == 128 + 24:  # SIGXCPU
        return f"scoring the model used more than {settings.cpu_seconds} s of CPU time"
    if status in (EXIT_LOAD, EXIT_PREDICT) and reason:
        return reason
    if status > 128:  # what an allocation failure in TensorFlow's C++ code looks like
        return (f"the model crashed while predicting (signal {status - 128}), most likely by needing more than "
                f"{settings.memory_bytes / GiB:g} GiB of memory")
    return f"scoring the model failed (exit status {status}{': ' + stderr if stderr else ''})"


def _read_predictions(path: Path, rows: int, settings: ModelScoring) -> np.ndarray:
    """The predictions file written in the sandbox, as float64, if it is a plain bounded array with ``rows`` rows."""
    try:
        descriptor = open_unfollowed(path)
    except OSError:
        raise ModelRejected("the model produced no predictions (the scoring process wrote no regular file)") from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ModelRejected("the model produced no predictions (the scoring process wrote no regular file)")
        if info.st_size > settings.max_prediction_bytes + 64 * KiB:
            raise ModelRejected(_too_large(info.st_size, settings))
        data = file.read(settings.max_prediction_bytes + 64 * KiB)
    shape = _npy_shape(data, settings)
    if not shape or shape[0] != rows:
        got = f"{shape[0]} rows" if shape else "a single number"
        raise ModelRejected(f"the model returned {got} of predictions for {rows} inputs: it must return one "
                            "prediction per input")
    predictions = np.load(io.BytesIO(data), allow_pickle=False)
    if not np.all(np.isfinite(predictions)):
        raise ModelRejected("the model's predictions contain NaN or infinity (did training diverge?)")
    return predictions.astype(np.float64)


def _too_large(size: int, settings: ModelScoring) -> str:
    return (f"the model's predictions take {size / MiB:.0f} MiB, more than the {settings.max_prediction_bytes / MiB:g}"
            " MiB the grader reads: predict fewer values per example")


def _npy_shape(data: bytes, settings: ModelScoring) -> tuple[int, ...]:
    """The shape in a .npy header, once the header says plain numbers of a bounded size that the file holds.

    Checked before ``np.load``, which would allocate whatever shape the header declares before reading the data.
    """
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
    except (ValueError, SyntaxError, TypeError, EOFError) as error:
        raise ModelRejected(f"the model's predictions could not be read as numbers ({str(error)[:100]})") from None
    if dtype.kind not in "biuf" or dtype.fields is not None:
        raise ModelRejected(f"the model's predictions have dtype {dtype}, not numbers")
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if expected > settings.max_prediction_bytes:
        raise ModelRejected(_too_large(expected, settings))
    if expected != len(data) - stream.tell():
        raise ModelRejected("the model's predictions file does not hold the array its header declares")
    return tuple(shape)
