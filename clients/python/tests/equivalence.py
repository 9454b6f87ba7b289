"""Two `desk backtest` runs compared byte for byte: the same strategies over the same
data, once per `--lockstep` mode (`stream`, the fast path, and `strict`, the old one).

What is compared (everything a run leaves, apart from how long it took):
- the exit code and stdout: `--json` byte for byte with only its `timing` object cut out;
- stderr, with the work folder's path and the desk's wall-clock stamps masked;
- report.json (minus `timing`), equity.csv and report.html, byte for byte;
- every table of the ledger, listed from sqlite_master (a table added later is
  compared without anyone touching this file), rows in primary-key order; only the
  columns in RUN_IDENTITY are left out;
- each strategy's log (logs/NAME.log: what it printed, so the lines it was given when
  it prints them), with the wall-clock stamps of the desk's lines and of Python's
  `logging` masked.
"""
from __future__ import annotations

import re
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

MODES = ("stream", "strict")

# Columns that differ between ANY two runs, whatever the mode: not results of the run but
# its identity on this machine (the wall clock when the desk started, a token's random
# hash, the uid the machine gave a strategy). Every other column of every table is compared.
RUN_IDENTITY: Dict[str, Tuple[str, ...]] = {
    "tokens": ("token_hash", "created_at", "revoked_at"),
    "strategy_users": ("uid", "allocated_at"),
    "strategies": ("pid", "started_at", "updated_at"),
}

_TIMING = re.compile(r',"timing":\{[^{}]*\}|"timing":\{[^{}]*\},?')
_DESK_STAMP = re.compile(r"\[desk \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\]")
_LOGGING_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.MULTILINE)  # Python's logging
_LOG_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} ", re.MULTILINE)  # the desk's own log lines


def without_timing(text: str) -> str:
    """A report's JSON text with its `timing` object cut out and every other byte kept.
    A report always has one (the run's time and its lockstep mode): none is an error."""
    cut, count = _TIMING.subn("", text, count=1)
    if count != 1:
        raise AssertionError(f"no \"timing\" object in the report: {text[:300]!r}")
    return cut


def masked(text: str, work: Path) -> str:
    """Output with what differs between any two runs masked: the work folder, wall-clock stamps."""
    text = text.replace(str(work), "WORK")
    for stamp, mask in ((_DESK_STAMP, "[desk TIME]"), (_LOGGING_STAMP, "TIME "), (_LOG_STAMP, "TIME ")):
        text = stamp.sub(mask, text)
    return text


def ledger_tables(db: Path) -> Dict[str, list]:
    """Every table's rows in primary-key order (all columns' order where it has none),
    the RUN_IDENTITY columns left out; each table's first entry
    is its column names."""
    tables: Dict[str, list] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                                      " ORDER BY name")]
        for name in names:
            info = connection.execute(f'PRAGMA table_info("{name}")').fetchall()  # cid, name, type, notnull, _, pk
            columns = [row[1] for row in info if row[1] not in RUN_IDENTITY.get(name, ())]
            keys = [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5] > 0]
            order = ", ".join(f'"{key}"' for key in keys) if keys else ", ".join(f'"{c}"' for c in columns)
            selected = ", ".join(f'"{column}"' for column in columns)
            tables[name] = [tuple(columns)] + connection.execute(
                f'SELECT {selected} FROM "{name}" ORDER BY {order}').fetchall()
    return tables


@dataclass
class Outcome:
    """What one `desk backtest` run left, in comparable form (see the module's text)."""
    returncode: int
    stdout: str
    stderr: str
    files: Dict[str, Optional[str]] = field(default_factory=dict)
    ledger: Dict[str, list] = field(default_factory=dict)
    logs: Dict[str, str] = field(default_factory=dict)


def outcome(result: subprocess.CompletedProcess, work: Path) -> Outcome:
    """The run `result` whose work folder (ledger, logs, report) is `work`."""
    stdout = result.stdout
    if result.returncode == 0 and stdout.startswith("{"):
        stdout = without_timing(stdout)
    files: Dict[str, Optional[str]] = {}
    for name in ("report.json", "equity.csv", "report.html"):
        path = work / name
        text = path.read_text() if path.exists() else None
        files[name] = without_timing(text) if name == "report.json" and text is not None else text
    db = work / "desk.db"
    logs = {path.name: masked(path.read_text(errors="replace"), work)
            for path in sorted((work / "logs").glob("*.log"))} if (work / "logs").is_dir() else {}
    return Outcome(returncode=result.returncode, stdout=stdout, stderr=masked(result.stderr, work), files=files,
                   ledger=ledger_tables(db) if db.exists() else {}, logs=logs)


def _first_difference(left: list, right: list) -> str:
    for index, (one, other) in enumerate(zip(left, right)):
        if one != other:
            return f"line {index}: {one!r} != {other!r}"
    return f"{len(left)} lines != {len(right)} lines"


def differences(one: Outcome, other: Outcome) -> List[str]:
    """Each way the two runs differ, the first differing line or row of each part; [] when they are the same."""
    found = []
    if one.returncode != other.returncode:
        found.append(f"exit code {one.returncode} != {other.returncode}")
    for name in ("stdout", "stderr"):
        if getattr(one, name) != getattr(other, name):
            found.append(f"{name}: " + _first_difference(getattr(one, name).splitlines(),
                                                         getattr(other, name).splitlines()))
    for kind, left, right in (("file", one.files, other.files), ("ledger table", one.ledger, other.ledger),
                              ("log", one.logs, other.logs)):
        for name in sorted(set(left) | set(right)):
            if name not in left or name not in right:
                found.append(f"{kind} {name}: only in the {'first' if name in left else 'second'} run")
            elif left[name] != right[name]:
                a, b = left[name], right[name]
                lines = (a or "").splitlines() if not isinstance(a, list) else a
                other_lines = (b or "").splitlines() if not isinstance(b, list) else b
                found.append(f"{kind} {name}: " + _first_difference(lines, other_lines))
    return found


def assert_same(stream: Outcome, strict: Outcome) -> None:
    """The stream run left exactly what the strict run left."""
    found = differences(stream, strict)
    assert not found, "--lockstep stream and strict differ (stream first):\n" + "\n".join(found)
