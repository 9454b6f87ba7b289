"""`desk backtest` against a strategy that stops reading its input, in the real
sandbox: a per-tick deadline fails the run naming the strategy and the tick;
SIGTERM and SIGINT end the run; after `kill -9` of the backtest no strategy
process is left behind. Each in both `--lockstep` modes, with the same messages."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import List, Optional

import pytest

from conftest import desk_binary

# Reads STOP_AFTER lines, then stops reading (sleeps) — the strategy every run must survive.
STALLING = r'''
import os, sys, time
stop_after = int(os.environ["STOP_AFTER"])
for number, line in enumerate(sys.stdin, start=1):
    if number == stop_after:
        print("stalled on tick", number, flush=True)
        while True:
            time.sleep(3600)
'''


def setup(tmp: Path, stop_after: int, ticks: int = 20) -> Path:
    os.chmod(tmp, 0o755)
    home = tmp / "strategies" / "staller"
    home.mkdir(parents=True)
    (home / "strategy.py").write_text(STALLING)
    (home / "config.json").write_text(json.dumps({"member": "mallory", "env": {"STOP_AFTER": str(stop_after)}}))
    data = tmp / "ticks.jsonl"
    data.write_text("".join(json.dumps({"ts": f"2026-11-16T14:{31 + index:02d}:00Z", "symbol": "AAPL",
                                        "price": str(100 + index)}) + "\n" for index in range(ticks)))
    return data


def start(tmp: Path, data: Path, lockstep: str, *args: str) -> subprocess.Popen:
    command = [str(desk_binary()), "backtest", "--strategies", str(tmp / "strategies"), "--data", str(data),
               "--work", str(tmp / "work"), "--json", "--quiet", "--end-grace", "2", "--lockstep", lockstep, *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp)


def strategy_uid(tmp: Path, timeout: float = 30) -> int:
    """The uid the backtest's desk gave the strategy, once it asked for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(f"file:{tmp / 'work' / 'desk.db'}?mode=ro", uri=True, timeout=1) as db:
                row = db.execute("SELECT uid FROM strategy_users WHERE strategy = 'staller'").fetchone()
            if row:
                return row[0]
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    raise AssertionError("the strategy was never given a uid")


def processes_of(uid: int) -> List[int]:
    """Live (not zombie) processes running as `uid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith("Z"):
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            found.append(int(entry.name))
    return found


def wait_stalled(tmp: Path, uid: int, timeout: float = 30) -> None:
    """Until the strategy runs and has said it stopped reading."""
    log = tmp / "work" / "logs" / "staller.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if processes_of(uid) and log.exists() and "stalled on tick" in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"the strategy never stalled: {log.read_text(errors='replace') if log.exists() else ''}")


def gone(uid: int, timeout: float) -> Optional[List[int]]:
    """None once no process of `uid` is left within `timeout`, else those left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not processes_of(uid):
            return None
        time.sleep(0.05)
    return processes_of(uid)


def finish(process: subprocess.Popen, timeout: float) -> tuple:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"desk backtest did not end within {timeout} s: {err}")
    return process.returncode, out, err


def test_a_strategy_that_stops_reading_fails_the_run_at_the_tick_deadline(tmp_path: Path, lockstep: str) -> None:
    data = setup(tmp_path, stop_after=3)
    process = start(tmp_path, data, lockstep, "--tick-timeout", "1")
    uid = strategy_uid(tmp_path)
    status, out, err = finish(process, timeout=60)
    assert status == 1, err
    assert out == ""
    assert "strategy staller did not finish with tick 3 of 20" in err, err
    # The tick: its time and its line as the strategy got it.
    assert "2026-11-16T14:33:00" in err and "102" in err, err
    assert "--tick-timeout" in err, err
    assert gone(uid, timeout=10) is None, "the strategy is still running"


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_run_and_its_strategies(tmp_path: Path, number: int, lockstep: str) -> None:
    data = setup(tmp_path, stop_after=2)
    process = start(tmp_path, data, lockstep)  # the default tick deadline is far longer than the test
    uid = strategy_uid(tmp_path)
    wait_stalled(tmp_path, uid)
    process.send_signal(number)
    status, out, err = finish(process, timeout=30)
    assert status != 0, err
    assert "interrupted" in err and "staller" in err, err
    assert gone(uid, timeout=10) is None, "the strategy is still running"


def test_no_strategy_outlives_a_killed_backtest(tmp_path: Path, lockstep: str) -> None:
    data = setup(tmp_path, stop_after=2)
    process = start(tmp_path, data, lockstep)  # the default tick deadline is far longer than the test
    uid = strategy_uid(tmp_path)
    wait_stalled(tmp_path, uid)
    process.kill()  # SIGKILL: nothing of the desk runs any more
    process.communicate()
    left = gone(uid, timeout=10)
    assert left is None, f"strategy processes outlived the backtest: {left}"


def test_a_signal_ends_a_stream_run_while_an_order_waits_for_its_turn(tmp_path: Path) -> None:
    # The staller (first in name order) stops on tick 1; the other strategy, fed ahead, reads tick 1 and
    # orders: the order waits for its turn, after the staller's, when SIGTERM comes.
    from test_lockstep_equivalence import strategy

    data = setup(tmp_path, stop_after=1)
    strategy(tmp_path / "strategies", "zed_orderer", "zoe",
             {"2026-11-16T14:31:00.000Z": [{"symbol": "AAPL", "qty": "1", "side": "buy"}]})
    process = start(tmp_path, data, "stream")
    uid = strategy_uid(tmp_path)
    wait_stalled(tmp_path, uid)
    log = tmp_path / "work" / "logs" / "zed_orderer.log"
    deadline = time.monotonic() + 30
    while not (log.exists() and "READ " in log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # its order reaches the desk
    assert "ORDER" not in log.read_text(), "the order was answered before its turn"
    process.send_signal(signal.SIGTERM)
    status, out, err = finish(process, timeout=30)
    assert status != 0 and "interrupted" in err, err


def test_a_work_folder_too_deep_for_the_desk_socket_is_refused_with_a_shorter_one_suggested(tmp_path: Path) -> None:
    """A unix socket's path holds at most 107 bytes: a --work folder deeper than that is refused
    before anything runs, saying so (not a bare unixDomainSocketPathTooLong from every strategy)."""
    root = Path(__file__).resolve().parents[3]
    work = tmp_path / ("w" * max(1, 110 - len(str(tmp_path)) - len("/desk.sock")))
    result = subprocess.run(
        [str(desk_binary()), "backtest", "example_bob", "--strategies", str(root / "strategies"), "--data",
         str(root / "data" / "sample" / "three_days.jsonl"), "--work", str(work), "--quiet"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "too long for the backtest's desk socket" in result.stderr and "shorter --work" in result.stderr, result.stderr
    assert not (work / "desk.db").exists()
