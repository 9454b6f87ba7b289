"""Reading ahead buys a strategy nothing in `desk backtest`, in either `--lockstep`
mode: an order is taken at the tick the strategy had READ when the desk got it
(never at the tick it pretends to react to), and the calls that would let it look
at its input without reading it (`tee`, io_uring) are refused."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from test_backtest import backtest, report, rows

START = datetime(2026, 11, 16, 14, 31, tzinfo=timezone.utc)  # 09:31 New York
TICKS = 2000
JUMP = 100  # the price is 100 up to this tick, 150 from the next one on

# A thread drains stdin as fast as the desk writes; the main thread waits until it has seen
# the jump far ahead, then buys "on tick 10" (before the jump) and says how many lines had
# been read when it sent the order and when the answer came.
READ_AHEAD = r'''
import json, sys, threading, time
from desk_client import place_order

seen = []
ended = threading.Event()

def drain():
    for line in sys.stdin:
        seen.append(json.loads(line))
    ended.set()

threading.Thread(target=drain, daemon=True).start()
while len(seen) < 120 and not ended.is_set():
    time.sleep(0.001)
before = len(seen)
reply = place_order("AAPL", 10, "buy")
after = len(seen)
print("LOOKAHEAD", json.dumps({"decided_on": seen[9]["ts"], "read_before": before, "read_after": after,
                               "status": reply.status, "order_id": reply.order_id}), flush=True)
ended.wait()
'''

# Takes 5 ms over each of its first 200 ticks: the desk's turns go at its pace while the
# reader above reads ahead.
SLOW = r'''
import sys, time
for number, line in enumerate(sys.stdin, start=1):
    if number <= 200:
        time.sleep(0.005)
'''

# Tries to copy its stdin without consuming it (tee) and to set up io_uring, and says what each returned.
PEEKING = r'''
import ctypes, errno, os, platform, sys

libc = ctypes.CDLL(None, use_errno=True)
tee = {"x86_64": 276, "aarch64": 77}[platform.machine()]
_, copy = os.pipe()

def attempt(name, *args):
    result = libc.syscall(*args)
    print("SYSCALL", name, result, errno.errorcode.get(ctypes.get_errno(), "none"), flush=True)

for line in sys.stdin:
    attempt("tee", tee, 0, copy, 65536, 2)  # SPLICE_F_NONBLOCK
    attempt("io_uring_setup", 425, 8, ctypes.create_string_buffer(120))
'''


def ts(tick: int) -> datetime:
    """The time of tick `tick` (1-based): a second apart."""
    return START + timedelta(seconds=tick - 1)


def ledger_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.000")


def setup(tmp: Path, strategies: dict, ticks: int = TICKS) -> Path:
    """The strategy folders (name → script, all mallory's) and the ticks file."""
    for name, script in strategies.items():
        home = tmp / "strategies" / name
        home.mkdir(parents=True)
        (home / "strategy.py").write_text(script)
        (home / "config.json").write_text(json.dumps({"user_id": "mallory"}))
    data = tmp / "ticks.jsonl"
    data.write_text("".join(json.dumps({"ts": ts(tick).strftime("%Y-%m-%dT%H:%M:%SZ"), "symbol": "AAPL",
                                        "price": "100" if tick <= JUMP else "150"}) + "\n"
                            for tick in range(1, ticks + 1)))
    return data


def log_line(tmp: Path, name: str, prefix: str) -> list:
    log = (tmp / "work" / "logs" / f"{name}.log").read_text()
    return [line.split(" ", 1)[1] for line in log.splitlines() if line.startswith(prefix + " ")]


def test_an_order_is_taken_at_the_tick_its_strategy_had_read_not_the_one_it_reacts_to(tmp_path: Path,
                                                                                       lockstep: str) -> None:
    data = setup(tmp_path, {"reader_ahead": READ_AHEAD, "slow": SLOW})
    report(backtest(tmp_path, [data], lockstep=lockstep))
    said = json.loads(log_line(tmp_path, "reader_ahead", "LOOKAHEAD")[0])
    assert said["status"] == "success" and said["decided_on"] == "2026-11-16T14:31:09.000Z", said
    assert JUMP < said["read_before"] < TICKS, f"it did not read ahead past the jump: {said}"
    db = tmp_path / "work" / "desk.db"
    (created,), = rows(db, f"SELECT created_at FROM orders WHERE order_id = '{said['order_id']}'")
    # Taken no earlier than the tick it had read when it sent the order, no later than the one after
    # what it had read when the answer came: never at tick 10.
    earliest, latest = ledger_time(ts(said["read_before"])), ledger_time(ts(said["read_after"] + 1))
    assert earliest <= created <= latest, (said, created)
    # So it bought after the jump it had seen, at 150, not at tick 11's 100.
    assert rows(db, "SELECT price FROM fills") == [("150",)]


def test_looking_at_stdin_without_reading_it_is_refused(tmp_path: Path, lockstep: str) -> None:
    data = setup(tmp_path, {"peeker": PEEKING}, ticks=3)
    report(backtest(tmp_path, [data], lockstep=lockstep))
    assert log_line(tmp_path, "peeker", "SYSCALL") == ["tee -1 EPERM", "io_uring_setup -1 EPERM"] * 3
