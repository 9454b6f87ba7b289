"""Strategies that do not read stdin a whole line at a time still get the strict
result from `desk backtest --lockstep stream`: a read shorter than a line, a vectored
read, or a reader thread reading in small pieces while a timer runs makes the run go
back to strict lockstep (a note on stderr, `timing.lockstep` says why), and what it
leaves is what `--lockstep strict` leaves."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from equivalence import assert_same, outcome
from test_backtest import TIMEOUT, backtest, write_ticks
from test_lockstep_equivalence import STRATEGY

# A reader thread reading stdin 7 bytes at a time hands each line to the main thread and
# waits until it is handled (so strict lockstep sees it finish each tick); a timer ticks
# beside them. The main thread places the orders PLAN lists for a tick's ts.
THREAD_AND_TIMER = r'''
import json, os, queue, threading
from desk_client import place_order

plan = json.loads(os.environ.get("PLAN", "{}"))
lines, handled = queue.Queue(), threading.Semaphore(0)
beats = 0

def beat():
    global beats
    beats += 1
    timer = threading.Timer(0.005, beat)
    timer.daemon = True
    timer.start()

def read():
    rest = b""
    while True:
        chunk = os.read(0, 7)
        if not chunk:
            break
        *done, rest = (rest + chunk).split(b"\n")
        for line in done:
            lines.put(line.decode())
            handled.acquire()
    lines.put(None)

beat()
threading.Thread(target=read, daemon=True).start()
while True:
    text = lines.get()
    if text is None:
        break
    print("READ", text, flush=True)
    for order in plan.get(json.loads(text)["ts"], []):
        reply = place_order(**order)
        print("ORDER", order, "->", reply.status, reply.order_id, reply.order_status, flush=True)
    handled.release()
'''

PRICES = ["100", "101", "99", "102", "98", "103", "100", "101"]
TS = [f"2026-11-16T14:{31 + index}:00.000Z" for index in range(len(PRICES))]
PLAN = {TS[1]: [{"symbol": "AAPL", "qty": "10", "side": "buy"}],
        TS[4]: [{"symbol": "AAPL", "qty": "5", "side": "sell", "order_type": "limit", "limit_price": "100",
                 "time_in_force": "gtc"}]}


def folder(strategies: Path, name: str, member: str, script: str, plan: dict, **env: str) -> None:
    home = strategies / name
    home.mkdir(parents=True)
    (home / "strategy.py").write_text(script)
    (home / "config.json").write_text(json.dumps({"user_id": member, "env": {"PLAN": json.dumps(plan), **env}}))


def both(tmp: Path, timeout: float = TIMEOUT) -> tuple:
    """The stream run (which falls back) and the strict run of tmp/strategies over the ticks."""
    data = write_ticks(tmp / "ticks.jsonl", PRICES)
    return tuple(backtest(tmp, [data], work=mode, lockstep=mode, timeout=timeout) for mode in ("stream", "strict"))


def assert_fell_back_to_the_strict_result(tmp: Path, stream: CompletedProcess, strict: CompletedProcess) -> None:
    assert stream.returncode == 0, stream.stderr
    assert json.loads(stream.stdout)["timing"]["lockstep"] == \
        "strict (fallback: strategy odd_reader reads stdin in pieces smaller than a line)"
    assert json.loads(strict.stdout)["timing"]["lockstep"] == "strict"
    # stderr: the stream attempt's first line, the note, then all the strict run says; apart from that
    # the stream run left what the strict run left.
    first, *rest = strict.stderr.splitlines(keepends=True)
    note = "strategy odd_reader reads stdin in pieces smaller than a line: the backtest runs again in strict" \
        " lockstep (--lockstep strict)\n"
    assert stream.stderr.replace(str(tmp / "stream"), "WORK") == \
        (first + note + first + "".join(rest)).replace(str(tmp / "strict"), "WORK")
    stream.stderr = stream.stderr.replace(first.replace(str(tmp / "strict"), str(tmp / "stream")) + note, "", 1)
    assert_same(outcome(stream, tmp / "stream"), outcome(strict, tmp / "strict"))
    # And nothing was lost: it read every tick once, in order (the short read that showed it up never ran).
    log = (tmp / "stream" / "logs" / "odd_reader.log").read_text()
    read = [json.loads(line.split(" ", 1)[1]) for line in log.splitlines() if line.startswith("READ ")]
    assert [(line["ts"], Decimal(str(line["price"]))) for line in read] == [
        (ts, Decimal(price)) for ts, price in zip(TS, PRICES)]


@pytest.mark.parametrize("reader", ["os.read(0, 7)", "os.readv(0, [bytearray(65536)])", "thread and timer"])
def test_a_strategy_not_reading_whole_lines_falls_back_to_strict_with_the_same_result(tmp_path: Path,
                                                                                       reader: str) -> None:
    strategies = tmp_path / "strategies"
    if reader == "thread and timer":
        folder(strategies, "odd_reader", "olga", THREAD_AND_TIMER, PLAN)
    else:
        folder(strategies, "odd_reader", "olga", STRATEGY, PLAN, READER=reader)
    # Reads whole lines: alone it would stream. (It sends nothing: a request held when the stream attempt
    # stops is the next test's.)
    folder(strategies, "plain_reader", "pat", STRATEGY, {})
    assert_fell_back_to_the_strict_result(tmp_path, *both(tmp_path))


def test_a_request_held_when_the_run_falls_back_is_answered_in_the_strict_run(tmp_path: Path) -> None:
    # odd_reader (first in name order) starts reading a second late: plain_reader's order on the first tick
    # is held for its turn, after odd_reader's, when odd_reader's short read stops the stream attempt.
    strategies = tmp_path / "strategies"
    folder(strategies, "odd_reader", "olga", STRATEGY, PLAN, READER="os.read(0, 7)", FIRST_READ_AFTER="1")
    folder(strategies, "plain_reader", "pat", STRATEGY, {TS[0]: PLAN[TS[1]]})
    assert_fell_back_to_the_strict_result(tmp_path, *both(tmp_path, timeout=15))
