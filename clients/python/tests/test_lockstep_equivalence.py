"""`desk backtest --lockstep stream` (ticks written ahead, each request taken at the
tick its strategy had read) leaves exactly what `--lockstep strict` (one tick at a
time) leaves: the `--json` report byte for byte apart from `timing`, report.json,
equity.csv, every ledger table row by row, the strategies' logs (equivalence.py).

Data sets: the sample three days with both example strategies; 20,000 ticks of the
benchmark's seeded walk; and the interleaving case: four strategies of which two share
a member whose `max_position` lets only the first of their orders on a tick through,
an events strategy, IOC limits, GTC limits resting across ticks and a strategy reading
its input in each of the ways Python strategies do, orders of several strategies on
the same ticks and on the ticks right after fills, across a session close (a day order
on the session's last line, a day limit expiring) and a split, with next-tick and
same-tick fills. (The split of test_corporate_actions.py and the session closes of
test_backtest.py are compared in both modes by those tests themselves.)"""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

from conftest import REPO
from equivalence import Outcome, assert_same, differences, ledger_tables, outcome
from test_backtest import BOTH_MODES, backtest, report, rows

sys.path.insert(0, str(REPO / "bench"))
from harness import backtest_ticks  # noqa: E402  (the benchmark's seeded walk)

# Reads its input the way READER says (FIRST_READ_AFTER seconds after it starts), echoes
# each line it read ("READ ...") and places the orders PLAN lists for a tick's ts (a JSON
# object: ts → orders), printing each answer.
# Event lines (config.json "events") are echoed and not counted as ticks.
STRATEGY = r'''
import json, os, sys, time
from desk_client import is_event, place_order

reader = os.environ.get("READER", "for line in sys.stdin")
plan = json.loads(os.environ.get("PLAN", "{}"))
time.sleep(float(os.environ.get("FIRST_READ_AFTER", "0")))

def read_lines():
    if reader == "for line in sys.stdin":
        for line in sys.stdin:
            yield line
    elif reader == "readline()":
        while True:
            line = sys.stdin.readline()
            if not line:
                return
            yield line
    elif reader == "input()":
        while True:
            try:
                yield input() + "\n"
            except EOFError:
                return
    elif reader == "sys.stdin.buffer":
        for line in sys.stdin.buffer:
            yield line.decode()
    elif reader == "os.readv(0, [bytearray(65536)])":
        buffer, rest = bytearray(65536), b""
        while True:
            size = os.readv(0, [buffer])
            if not size:
                return
            *done, rest = (rest + bytes(buffer[:size])).split(b"\n")
            for line in done:
                yield line.decode() + "\n"
    elif reader.startswith("os.read(0, "):
        size, rest = int(reader[len("os.read(0, "):-1]), b""
        while True:
            chunk = os.read(0, size)
            if not chunk:
                return
            *done, rest = (rest + chunk).split(b"\n")
            for line in done:
                yield line.decode() + "\n"
    else:
        raise SystemExit("unknown READER " + reader)

for text in read_lines():
    print("READ", text.strip(), flush=True)
    line = json.loads(text)
    if is_event(line):
        continue
    for order in plan.get(line["ts"], []):
        reply = place_order(**order)
        print("ORDER", line["ts"], order, "->", reply.status, reply.order_id, reply.order_status, reply.message,
              flush=True)
'''

READERS = ("for line in sys.stdin", "readline()", "input()", "sys.stdin.buffer", "os.read(0, 65536)")

# Risk limits off except the one the interleaving case is about: member m may hold at most
# 15 shares of a symbol, open orders counted, so of two buys of 10 on one tick only the
# first one the desk takes passes.
CONFIG = {"risk": {"defaults": {"max_order_qty": "1000000", "max_order_notional": None, "max_position": None,
                                "max_open_orders": None, "orders_per_second": None, "order_burst": None},
                   "members": {"m": {"max_position": "15"}}}}


def strategy(folder: Path, name: str, member: str, plan: Optional[Dict[str, List[dict]]] = None,
             symbols: Optional[List[str]] = None, events: bool = False, reader: str = READERS[0]) -> None:
    home = folder / name
    home.mkdir(parents=True)
    (home / "strategy.py").write_text(STRATEGY)
    config: dict = {"user_id": member, "env": {"PLAN": json.dumps(plan or {}), "READER": reader}}
    if symbols:
        config["symbols"] = symbols
    if events:
        config["events"] = ["fills"]
    (home / "config.json").write_text(json.dumps(config))


def stamp(at: datetime) -> str:
    """A time as the desk writes it in a tick line."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def write_lines(path: Path, lines: Sequence[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def runs(tmp: Path, data: Sequence[Path], *args: str, strategies: Optional[Path] = None) -> dict:
    """Both modes over `data`, compared (backtest(..., lockstep=BOTH_MODES)); the stream run's report."""
    return report(backtest(tmp, data, *args, strategies=strategies, lockstep=BOTH_MODES))


def test_the_comparison_finds_every_kind_of_difference(tmp_path: Path) -> None:
    """The comparison can fail: a row of a table nobody names, a table only one run has, stdout, a log;
    and what differs between any two runs (timing, a token's hash) is not a difference."""
    def run(folder: str, fill_price: str, extra_table: bool, log: str, seconds: str) -> Outcome:
        work = tmp_path / folder
        (work / "logs").mkdir(parents=True)
        (work / "logs" / "s.log").write_text(log)
        with sqlite3.connect(work / "desk.db") as db:
            db.execute("CREATE TABLE tokens (id INTEGER PRIMARY KEY, token_hash TEXT, member TEXT)")
            db.execute("INSERT INTO tokens VALUES (1, ?, 'm')", (folder,))
            db.execute("CREATE TABLE some_new_table (b TEXT, a TEXT, PRIMARY KEY (a, b))")
            db.executemany("INSERT INTO some_new_table VALUES (?, ?)", [("x", "2"), (fill_price, "1")])
            if extra_table:
                db.execute("CREATE TABLE only_here (a TEXT)")
        stdout = '{"ticks":3,"timing":{"elapsed_seconds":"%s","lockstep":"%s"}}' % (seconds, folder)
        return outcome(subprocess.CompletedProcess([], 0, stdout, f"backtest work folder: {work}\n"), work)

    base = run("one", "100", False, "[desk 2026-12-07T22:10:56Z] starting\n", "1.0")
    assert differences(base, run("two", "100", False, "[desk 2026-12-07T22:10:57Z] starting\n", "2.0")) == []
    assert ledger_tables(tmp_path / "one" / "desk.db")["some_new_table"] == [("b", "a"), ("100", "1"), ("x", "2")]
    changed = differences(base, run("three", "101", True, "[desk 2026-12-07T22:10:56Z] started\n", "1.0"))
    assert [found.split(":")[0] for found in changed] == [
        "ledger table only_here", "ledger table some_new_table", "log s.log"], changed
    other = outcome(subprocess.CompletedProcess([], 0, '{"ticks":4,"timing":{}}', ""), tmp_path / "one")
    assert [found.split(":")[0] for found in differences(base, other)] == ["stdout", "stderr"]


def test_the_sample_days_with_both_example_strategies(tmp_path: Path) -> None:
    figures = runs(tmp_path, [REPO / "data" / "sample" / "three_days.jsonl"], strategies=REPO / "strategies")
    assert figures["members"]["alice"]["fills"] > 0 and figures["members"]["bob"]["fills"] > 0


def test_twenty_thousand_ticks_of_the_benchmark_walk(tmp_path: Path) -> None:
    data = tmp_path / "ticks.jsonl"
    backtest_ticks(data, 20_000)
    strategies = tmp_path / "strategies"
    quiet = strategies / "never_orders"
    quiet.mkdir(parents=True)
    shutil.copy(REPO / "bench" / "clients" / "never_orders.py", quiet / "strategy.py")
    (quiet / "config.json").write_text(json.dumps({"user_id": "quiet"}))
    # A plain line reader ordering every 997th second, a market buy and an IOC limit sell.
    start = datetime(2025, 11, 16, 14, 31, tzinfo=timezone.utc)
    plan = {stamp(start + timedelta(seconds=index)): [
        {"symbol": "AAPL", "qty": "3", "side": "buy"},
        {"symbol": "MSFT", "qty": "2", "side": "sell", "order_type": "limit", "limit_price": "400",
         "time_in_force": "ioc"}] for index in range(500, 20_000, 997)}
    strategy(strategies, "plain", "pat", plan)
    figures = runs(tmp_path, [data], "--capital", "1000000")
    assert figures["ticks"] == 20_000
    assert figures["members"]["pat"]["orders"] == 2 * len(plan) and figures["members"]["pat"]["fills"] > 0


FRIDAY = datetime(2026, 11, 20, 20, 50, tzinfo=timezone.utc)  # 15:50 New York; the close is 21:00 UTC
MONDAY = datetime(2026, 11, 23, 14, 31, tzinfo=timezone.utc)  # AAPL splits 4 for 1 before the open
HALF_MINUTE = timedelta(seconds=30)
PRICES = {  # each session: AAPL on the minute, MSFT half a minute later, ten of each
    FRIDAY: (["200", "201", "199", "202", "198", "203", "200", "201", "204", "199"],
             ["400", "398", "401", "397", "402", "396", "403", "399", "405", "398"]),
    MONDAY: (["50", "50.5", "49.75", "51", "49.5", "50.25", "51.5", "49", "50", "50.75"],
             ["399", "401", "397", "402", "396", "404", "395", "400", "398", "403"]),
}


def at(session: datetime, minute: int, symbol: str = "AAPL") -> str:
    """The ts of `symbol`'s tick in `session`'s `minute`, as the strategies read it."""
    return stamp(session + timedelta(minutes=minute) + (HALF_MINUTE if symbol == "MSFT" else timedelta()))


def order(symbol: str, qty: str, side: str, limit: Optional[str] = None, tif: Optional[str] = None) -> dict:
    placed: dict = {"symbol": symbol, "qty": qty, "side": side}
    if limit:
        placed.update(order_type="limit", limit_price=limit)
    if tif:
        placed["time_in_force"] = tif
    return placed


def interleaving(tmp: Path, reader: str) -> List[Path]:
    """The four strategies, the data, the split and the config: the arguments of the runs."""
    ticks = []
    for session, (aapl, msft) in PRICES.items():
        for minute in range(10):
            ticks.append({"ts": at(session, minute), "symbol": "AAPL", "price": aapl[minute]})
            ticks.append({"ts": at(session, minute, "MSFT"), "symbol": "MSFT", "price": msft[minute]})
    strategies = tmp / "strategies"
    # m's two strategies: on Friday's first tick both buy 10 AAPL (only the first order the desk takes fits
    # under max_position 15, open orders counted); on the next AAPL tick — where a_events' buy filled — b
    # sells 20, which fits only once that fill is booked.
    strategy(strategies, "a_events", "m", events=True, plan={
        at(FRIDAY, 0): [order("AAPL", "10", "buy")],
        at(FRIDAY, 1): [order("MSFT", "5", "sell")],
        at(FRIDAY, 2): [order("AAPL", "5", "buy")],
        at(FRIDAY, 5): [order("AAPL", "2", "buy", limit="150", tif="day")],  # expires at the close
        at(FRIDAY, 9): [order("AAPL", "4", "buy", tif="day")],
        at(MONDAY, 0): [order("AAPL", "10", "sell")],
        at(MONDAY, 1, "MSFT"): [order("MSFT", "5", "buy")],
    })
    strategy(strategies, "b_same_member", "m", symbols=["AAPL"], reader=reader, plan={
        at(FRIDAY, 0): [order("AAPL", "10", "buy", limit="205", tif="ioc")],
        at(FRIDAY, 1): [order("AAPL", "20", "sell", limit="195", tif="ioc")],
        at(FRIDAY, 2): [order("AAPL", "10", "buy", limit="200", tif="ioc")],
        at(MONDAY, 0): [order("AAPL", "10", "buy", limit="60", tif="ioc")],
        at(MONDAY, 1): [order("AAPL", "10", "sell", limit="40", tif="ioc")],
    })
    strategy(strategies, "c_gtc", "carol", symbols=["MSFT"], reader=reader, plan={
        at(FRIDAY, 0, "MSFT"): [order("MSFT", "5", "buy", limit="397", tif="gtc")],
        at(FRIDAY, 1, "MSFT"): [order("MSFT", "5", "sell", limit="404", tif="gtc")],  # rests over the weekend
        at(MONDAY, 1, "MSFT"): [order("MSFT", "5", "buy", limit="390", tif="gtc")],  # never fills
    })
    strategy(strategies, "d_reader", "dave", reader=reader, plan={
        at(FRIDAY, 0): [order("AAPL", "5", "buy")],
        at(FRIDAY, 1): [order("AAPL", "5", "sell", limit="199", tif="ioc")],
        at(FRIDAY, 3, "MSFT"): [order("MSFT", "2", "buy")],
        at(FRIDAY, 8): [order("AAPL", "10", "buy", limit="150", tif="gtc")],  # canceled by the split
        at(FRIDAY, 9, "MSFT"): [order("MSFT", "1", "buy", tif="day")],  # on the session's last line
        at(MONDAY, 0): [order("AAPL", "5", "sell")],
    })
    config = tmp / "desk.json"
    config.write_text(json.dumps(CONFIG))
    actions = write_lines(tmp / "actions.jsonl",
                          [{"type": "split", "symbol": "AAPL", "ex_date": "2026-11-23", "ratio": "4"}])
    return [write_lines(tmp / "ticks.jsonl", ticks), config, actions]


@pytest.mark.parametrize("reader,fill_at", [(reader, "next-tick") for reader in READERS]
                         + [(READERS[0], "same-tick")])
def test_four_strategies_with_interleaved_orders(tmp_path: Path, reader: str, fill_at: str) -> None:
    data, config, actions = interleaving(tmp_path, reader)
    figures = runs(tmp_path, [data], "--config", str(config), "--corporate-actions", str(actions),
                   "--fill-at", fill_at)
    assert figures["fill_at"] == fill_at and figures["ticks"] == 40
    # The runs were the same; and they were about something: a_events' buy came first on Friday's first tick,
    # so b's was refused there; b's sell of 20 on the next AAPL tick came after a_events' fill was booked.
    answers = [line.split(" -> ")[1] for line in (tmp_path / "work" / "logs" / "b_same_member.log").read_text()
               .splitlines() if line.startswith("ORDER ")]
    assert answers[0].startswith("error") and "max_position" in answers[0], answers
    assert answers[1].startswith("success"), answers
    db = tmp_path / "work" / "desk.db"
    assert rows(db, "SELECT at, strategy FROM audit_events WHERE outcome = 'risk_rejected' ORDER BY id LIMIT 1") \
        == [("2026-11-20 20:50:00.000", "b_same_member")]
    assert rows(db, "SELECT status FROM orders WHERE strategy = 'c_gtc' ORDER BY created_at") == [
        ("filled",), ("filled",), ("new",)], "c_gtc's limits rest across ticks (the second over the weekend)"
    assert rows(db, "SELECT status FROM orders WHERE strategy = 'd_reader' AND order_type = 'limit'"
                    " AND time_in_force = 'gtc'") == [("canceled",)], "the split cancels d's resting AAPL limit"
    assert figures["members"]["dave"]["fills"] >= 4


def test_the_ledger_does_not_depend_on_fsync(tmp_path: Path) -> None:
    """A backtest's ledger commits without fsync; with DESK_BACKTEST_LEDGER_DURABILITY=full (every
    commit synced, as a live desk's) the strict run leaves the same as the default stream run."""
    data, config, actions = interleaving(tmp_path, READERS[0])
    arguments = ("--config", str(config), "--corporate-actions", str(actions))
    stream = backtest(tmp_path, [data], *arguments, work="stream", lockstep="stream")
    strict = backtest(tmp_path, [data], *arguments, work="strict", lockstep="strict",
                      environment={"DESK_BACKTEST_LEDGER_DURABILITY": "full"})
    assert_same(outcome(stream, tmp_path / "stream"), outcome(strict, tmp_path / "strict"))
