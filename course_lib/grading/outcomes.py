"""Outcomes of grading: ``autograded/grading-log.json`` holds the last outcome of each submission, with its reason.

Written atomically after each submission, so a crash part-way through a class loses nothing already recorded.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
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


def log_path(root: Path) -> Path:
    return root / "autograded" / "grading-log.json"


def read_log(root: Path) -> dict[str, dict]:
    try:
        return json.loads(log_path(root).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def record(root: Path, outcome: Outcome) -> None:
    outcome.graded_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entries = read_log(root)
    entries[f"{outcome.assignment}/{outcome.student}"] = asdict(outcome)
    path = log_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def describe(outcome: Outcome) -> str:
    """One line for the terminal."""
    if outcome.status != "graded":
        return f"  {outcome.student:<20} {outcome.assignment:<16} {outcome.status.upper()}: {outcome.reason}"
    manual = "  (+ manual grading pending)" if outcome.needs_manual else ""
    line = f"  {outcome.student:<20} {outcome.assignment:<16} {outcome.score:g} / {outcome.max_score:g}{manual}"
    if outcome.reason:
        line += f"  [{outcome.reason}]"
    return line + (f"  feedback: {outcome.feedback}" if outcome.feedback else "")
