"""Outcomes of grading: ``autograded/grading-log.json`` holds the last outcome of each submission, with its reason.

Written atomically after each submission, so a crash part-way through a class loses nothing already recorded, and
under a lock, so that graders sharing the course do not lose each other's entries.
"""
from __future__ import annotations

import fcntl
import json
import os
import statistics
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path


@dataclass
class Outcome:
    student: str
    assignment: str
    status: str            # "graded", "rejected" (bad input) or "failed" (grading broke)
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    needs_manual: bool = False
    feedback: str = ""
    graded_at: str = ""
    content_hash: str = ""     # of the handed-in files, and of the build that graded them: a rerun keeps it if
    build_hash: str = ""       # neither changed
    seconds: float = 0.0       # grading it took, wall; of which executing the notebook's own cells:
    cell_seconds: float = 0.0
    attempts: int = 0          # gradings started (2: its first grading process was lost)
    worker: str = ""           # host:pid of the worker
    kept: bool = field(default=False, metadata={"logged": False})   # unchanged since it was graded: not regraded

    @classmethod
    def from_entry(cls, entry: dict) -> "Outcome":
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in entry.items() if key in known})


def log_path(root: Path) -> Path:
    return root / "autograded" / "grading-log.json"


def read_log(root: Path) -> dict[str, dict]:
    try:
        return json.loads(log_path(root).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def record(root: Path, outcome: Outcome) -> None:
    """Add ``outcome`` to the log; graders sharing a course (several at once on one gradebook) take turns."""
    outcome.graded_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entry = asdict(outcome)
    entry.pop("kept")
    path = log_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = read_log(root)
        entries[f"{outcome.assignment}/{outcome.student}"] = entry
        tmp = path.with_suffix(f".json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def describe(outcome: Outcome) -> str:
    """One line for the terminal."""
    if outcome.status != "graded":
        return f"  {outcome.student:<20} {outcome.assignment:<16} {outcome.status.upper()}: {outcome.reason}"
    manual = "  (+ manual grading pending)" if outcome.needs_manual else ""
    kept = "  (unchanged since graded: kept; --force regrades)" if outcome.kept else ""
    line = (f"  {outcome.student:<20} {outcome.assignment:<16} {outcome.score:g} / {outcome.max_score:g}"
            f"{manual}{kept}")
    if outcome.reason:
        line += f"  [{outcome.reason}]"
    return line + (f"  feedback: {outcome.feedback}" if outcome.feedback else "")


def summary_table(outcomes: list[Outcome]) -> str:
    """The end of a run: per assignment, how many were graded, kept, rejected and failed, the mean score and the
    seconds a grading took; then every submission that was not graded, with its reason."""
    rows = [("assignment", "submissions", "graded", "kept", "rejected", "failed", "mean score", "s/submission")]
    for name in sorted({o.assignment for o in outcomes}):
        mine = [o for o in outcomes if o.assignment == name]
        graded = [o for o in mine if o.status == "graded"]
        fresh = [o.seconds for o in graded if not o.kept and o.seconds]
        mean = (f"{statistics.fmean(o.score for o in graded):.1f} / {max(o.max_score for o in graded):g}"
                if graded else "-")
        rows.append((name, str(len(mine)), str(len(graded) - sum(o.kept for o in graded)),
                     str(sum(o.kept for o in graded)), str(sum(o.status == "rejected" for o in mine)),
                     str(sum(o.status == "failed" for o in mine)), mean,
                     f"{statistics.median(fresh):.1f}" if fresh else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["", "Summary:"] + ["  " + "  ".join(cell.rjust(w) if i else cell.ljust(w)
                                                for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
    bad = [o for o in outcomes if o.status != "graded"]
    if bad:
        lines += ["", "Not graded:"] + [f"  {o.assignment}/{o.student}: {o.status}: {o.reason}" for o in bad]
    return "\n".join(lines)
