"""Fills a strategy can see: with `"events": ["fills"]` in config.json a strategy
reads its own order events on stdin, in order with its market data — in a
backtest (the fill lines a tick caused before the next tick) and live (after the
booking, before later ticks) — and never another strategy's, not even one of
its own member's; a strategy without `events` reads exactly the ticks.
`desk_client.get_position`/`get_orders` answer for the strategy itself. The
shipped example counts its position from fills, so it decides the same in a
backtest and on a live paper desk fed the same prices."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional, Sequence

from conftest import REPO, DeskServer, desk_binary
from test_backtest import BOTH_MODES, backtest, report, rows, write_ticks
from test_loss_rules import wait_for

PYTHON_PATH = f"{REPO / '.venv' / 'strategy-site'}:{REPO / 'clients' / 'python'}"

# Prints each raw line it reads ("RAW ..."), then acts on the tick's number in PLAN
# (orders to place, or "cancel": the last order it placed). ASK: after each fill
# it prints what get_position and get_orders answer; LIST_ORDERS: get_orders at each tick.
SCRIPTED = r'''
import json, os, sys
from desk_client import cancel_order, get_orders, get_position, is_event, lines, place_order
plan = json.loads(os.environ.get("PLAN", "{}"))
last_id, ticks = None, 0
for raw in sys.stdin:
    print("RAW", raw.strip(), flush=True)
    for line in lines([raw]):
        if is_event(line):
            if line["type"] == "fill" and os.environ.get("ASK"):
                print("POSITION", line["symbol"], get_position(line["symbol"]), flush=True)
                print("ORDERS", sorted(order["order_id"] for order in get_orders(status="all")), flush=True)
            continue
        ticks += 1
        if os.environ.get("LIST_ORDERS"):
            print("ORDERS", [order["order_id"] for order in get_orders(status="all")], flush=True)
        for order in plan.get(str(ticks), []):
            if order == "cancel":
                print("CANCELED", cancel_order(last_id)["status"], flush=True)
                continue
            reply = place_order(**order)
            last_id = reply.order_id
            print("ORDER", reply.order_id, reply.status, reply.order_status, flush=True)
'''

BUY = {"symbol": "AAPL", "qty": "10", "side": "buy"}


def scripted(folder: Path, name: str, member: str, plan: Optional[dict] = None, events: bool = True,
             **env: str) -> None:
    home = folder / name
    home.mkdir(parents=True)
    (home / "strategy.py").write_text(SCRIPTED)
    config: dict = {"user_id": member, "env": {"PLAN": json.dumps(plan or {}), **env}}
    if events:
        config["events"] = ["fills"]
    (home / "config.json").write_text(json.dumps(config))


def log_lines(log: Path, prefix: str) -> List[str]:
    """The text after `prefix ` of each of the log's lines that has it, in order."""
    if not log.exists():
        return []
    marker = prefix + " "
    return [line.split(marker, 1)[1] for line in log.read_text().splitlines() if marker in line]


def raw(log: Path) -> List[dict]:
    return [json.loads(text) for text in log_lines(log, "RAW")]


def kinds(lines: List[dict]) -> List[str]:
    """Each line as `tick <price>` or `<type> <order_id>`."""
    return [f"{line['type']} {line['order_id']}" if "order_id" in line else f"tick {line['price']}"
            for line in lines]


def test_backtest_fill_lines_come_before_the_next_tick_and_only_to_their_strategy(tmp_path: Path) -> None:
    data = write_ticks(tmp_path / "ticks.jsonl", ["100", "101", "105", "102", "103"])
    strategies = tmp_path / "strategies"
    scripted(strategies, "alice_trader", "alice",
             {1: [BUY], 2: [{"symbol": "AAPL", "qty": "5", "side": "buy", "order_type": "limit",
                             "limit_price": "50", "time_in_force": "gtc"}], 3: ["cancel"]}, ASK="1")
    scripted(strategies, "alice_spy", "alice", LIST_ORDERS="1")  # same member, another strategy
    scripted(strategies, "bob_plain", "bob", {1: [BUY]}, events=False)
    report(backtest(tmp_path, [data], lockstep=BOTH_MODES))
    logs = tmp_path / "work" / "logs"
    ids = [line.split()[0] for line in log_lines(logs / "alice_trader.log", "ORDER")]
    assert len(ids) == 2
    trader = raw(logs / "alice_trader.log")
    # The buy of tick 1 fills at tick 2's price, told before tick 2; the cancel of tick 3 before tick 4.
    assert kinds(trader) == ["tick 100", f"fill {ids[0]}", "tick 101", "tick 105", f"canceled {ids[1]}",
                             "tick 102", "tick 103"]
    fill_text = log_lines(logs / "alice_trader.log", "RAW")[1]
    assert fill_text == ('{"type":"fill","order_id":"%s","symbol":"AAPL","side":"buy","qty":10,"price":101,'
                         '"position":10,"ts":"2026-11-16T14:32:00.000Z"}' % ids[0])
    assert trader[4]["side"] == "buy" and trader[4]["symbol"] == "AAPL"
    # get_position and get_orders answer for the strategy itself.
    assert log_lines(logs / "alice_trader.log", "POSITION") == ["AAPL 10"]
    assert log_lines(logs / "alice_trader.log", "ORDERS") == [str(sorted(ids[:1]))]
    # Another strategy of the same member sees none of it: no event line, none of its orders.
    assert kinds(raw(logs / "alice_spy.log")) == ["tick 100", "tick 101", "tick 105", "tick 102", "tick 103"]
    assert set(log_lines(logs / "alice_spy.log", "ORDERS")) == {"[]"}
    # Without "events", exactly the ticks, as before (its own order filled meanwhile).
    assert kinds(raw(logs / "bob_plain.log")) == ["tick 100", "tick 101", "tick 105", "tick 102", "tick 103"]
    assert rows(tmp_path / "work" / "desk.db", "SELECT status FROM orders WHERE member = 'bob'") == [("filled",)]


class LiveDesk:
    """`desk serve` on a paper venue with --feed none, supervising the strategies in `folder/strategies`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.strategies = folder / "strategies"
        self.server: Optional[DeskServer] = None

    def start(self) -> DeskServer:
        self.server = DeskServer(
            self.folder, trust_user_header=False,
            extra_args=["--feed", "none", "--strategies-dir", str(self.strategies), "--python-path", PYTHON_PATH])
        return self.server

    def run_all(self, names: Sequence[str]) -> None:
        assert self.server
        self.server.desk("strategies", "start", "--server", self.server.url)

        def running() -> bool:
            out = self.server.desk("strategies", "status", "--json", "--server", self.server.url).stdout
            states = {row["name"]: row["state"] for row in json.loads(out)["strategies"]}
            return all(states.get(name) == "running" for name in names)

        wait_for(running, lambda: self.server.log_text(20) if self.server else "")

    def log(self, name: str) -> Path:
        return self.folder / "logs" / f"{name}.log"


def live_desk() -> "tempfile.TemporaryDirectory[str]":
    folder = tempfile.TemporaryDirectory(prefix="desk-events-")
    # Sandboxed strategies run as their own unprivileged users: they must be able to read their folder.
    os.chmod(folder.name, 0o755)
    return folder


def test_live_fill_lines_come_after_the_booking_before_later_ticks_and_only_to_their_strategy() -> None:
    with live_desk() as folder:
        desk = LiveDesk(Path(folder))
        scripted(desk.strategies, "alice_trader", "alice", {1: [BUY], 2: [dict(BUY, qty="5")]}, ASK="1")
        scripted(desk.strategies, "alice_spy", "alice", LIST_ORDERS="1")
        scripted(desk.strategies, "bob_plain", "bob", {1: [BUY]}, events=False)
        server = desk.start()
        try:
            desk.run_all(["alice_trader", "alice_spy", "bob_plain"])
            for count, price in enumerate(["100", "101", "102"], start=1):
                server.push_price("AAPL", price)
                # Each strategy has finished with the tick (alice_trader: and with its fill).
                wait_for(lambda: len(log_lines(desk.log("alice_trader"), "POSITION")) == min(count, 2)
                         and all(len([line for line in raw(desk.log(name)) if "order_id" not in line]) == count
                                 for name in ("alice_trader", "alice_spy", "bob_plain")),
                         lambda: f"tick {count}: " + desk.log("alice_trader").read_text()[-2000:])
        finally:
            server.stop()
        ids = [line.split()[0] for line in log_lines(desk.log("alice_trader"), "ORDER")]
        trader = raw(desk.log("alice_trader"))
        assert kinds(trader) == ["tick 100", f"fill {ids[0]}", "tick 101", f"fill {ids[1]}", "tick 102"]
        assert [(line["qty"], line["price"], line["position"]) for line in trader if line.get("type") == "fill"] \
            == [(10, 100, 10), (5, 101, 15)]
        assert log_lines(desk.log("alice_trader"), "POSITION") == ["AAPL 10", "AAPL 15"]
        assert log_lines(desk.log("alice_trader"), "ORDERS") == [str(sorted(ids[:1])), str(sorted(ids))]
        assert kinds(raw(desk.log("alice_spy"))) == ["tick 100", "tick 101", "tick 102"]
        assert set(log_lines(desk.log("alice_spy"), "ORDERS")) == {"[]"}
        assert kinds(raw(desk.log("bob_plain"))) == ["tick 100", "tick 101", "tick 102"]


# The same-decisions test: the shipped example_alice, with settings that make its cap bind quickly.
ALICE_SETTINGS = {"RUN_LENGTH": "1", "ORDER_QTY": "5", "MAX_POSITION": "10", "LOG_LEVEL": "DEBUG"}
PRICES = ["100", "101", "102", "103", "104", "105", "104", "103", "102", "101", "100", "99", "98", "99", "100"]


def example_alice(strategies: Path) -> None:
    home = strategies / "example_alice"
    shutil.copytree(REPO / "strategies" / "example_alice", home)
    config = json.loads((home / "config.json").read_text())
    config["env"].update(ALICE_SETTINGS)
    config["symbols"] = ["AAPL"]
    (home / "config.json").write_text(json.dumps(config))


def decisions(db: Path) -> List[tuple]:
    with_sqlite = rows(db, "SELECT side, qty FROM orders WHERE member = 'alice' ORDER BY created_at, rowid")
    return [(side, qty) for side, qty in with_sqlite]


def test_the_example_decides_the_same_in_a_backtest_and_on_a_live_paper_desk(tmp_path: Path) -> None:
    example_alice(tmp_path / "strategies")
    data = write_ticks(tmp_path / "ticks.jsonl", PRICES)
    report(backtest(tmp_path, [data], lockstep=BOTH_MODES))
    in_backtest = decisions(tmp_path / "work" / "desk.db")
    # Up from 100 to 105: two buys reach the cap of 10; down to 98: four sells reach −10; up again: two buys.
    # (Counting from the orders' answers, "new, 0 filled" in a backtest, it bought at every up-tick.)
    assert in_backtest == [("buy", "5"), ("buy", "5"), ("sell", "5"), ("sell", "5"), ("sell", "5"), ("sell", "5"),
                           ("buy", "5"), ("buy", "5")]

    with live_desk() as folder:
        desk = LiveDesk(Path(folder))
        example_alice(desk.strategies)
        server = desk.start()
        try:
            desk.run_all(["example_alice"])
            for count, price in enumerate(PRICES, start=1):
                server.push_price("AAPL", price)
                # It logs each tick once it has decided (and placed its order, whose fill it is told of first).
                wait_for(lambda: len(log_lines(desk.log("example_alice"), "alice.momentum DEBUG tick")) == count,
                         lambda: desk.log("example_alice").read_text()[-2000:])
            live = decisions(Path(folder) / "desk.db")
        finally:
            server.stop()

    assert live == in_backtest


def test_desk_orders_reads_a_backtests_ledger(tmp_path: Path) -> None:
    data = write_ticks(tmp_path / "ticks.jsonl", ["100", "101", "102"])
    resting = {"symbol": "AAPL", "qty": "5", "side": "buy", "order_type": "limit", "limit_price": "50",
               "time_in_force": "gtc"}
    scripted(tmp_path / "strategies", "alice_trader", "alice", {1: [BUY, resting]})
    result = backtest(tmp_path, [data])
    report(result)
    work = tmp_path / "work"
    assert f"ledger: desk orders --work {work}" in result.stderr
    desk = [str(desk_binary())]

    def orders(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(desk + ["orders", "--status", "open", "--json", *args], capture_output=True, text=True,
                              timeout=30, cwd=tmp_path)

    for args in (["--work", str(work)], ["--db", str(work / "desk.db")]):
        listed = orders(*args)
        assert listed.returncode == 0, listed.stderr
        rows_listed = json.loads(listed.stdout)["orders"]
        assert [(row["side"], row["qty"], row["order_type"], row["limit_price"], row["status"], row["strategy"])
                for row in rows_listed] == [("buy", "5", "limit", "50", "new", "alice_trader")]
    both = orders("--work", str(work), "--db", str(work / "desk.db"))
    assert both.returncode == 64 and "not both" in both.stderr
    missing = orders("--work", str(tmp_path / "nowhere"))
    assert missing.returncode != 0 and str(tmp_path / "nowhere" / "desk.db") in missing.stderr


def test_backtest_a_day_order_expiring_at_the_close_is_told_before_the_next_sessions_tick(tmp_path: Path) -> None:
    # 15:58 and 15:59 New York on Monday, then 09:31 on Tuesday: the day's close (16:00) passes between.
    data = write_ticks(tmp_path / "ticks.jsonl", ["100", "101"],
                       start=datetime(2026, 11, 16, 20, 58, tzinfo=timezone.utc))
    more = write_ticks(tmp_path / "more.jsonl", ["102"], start=datetime(2026, 11, 17, 14, 31, tzinfo=timezone.utc))
    day_limit = {"symbol": "AAPL", "qty": "5", "side": "buy", "order_type": "limit", "limit_price": "50"}
    scripted(tmp_path / "strategies", "alice_trader", "alice", {1: [day_limit]})
    report(backtest(tmp_path, [data, more], lockstep=BOTH_MODES))
    log = tmp_path / "work" / "logs" / "alice_trader.log"
    ids = [line.split()[0] for line in log_lines(log, "ORDER")]
    assert kinds(raw(log)) == ["tick 100", "tick 101", f"expired {ids[0]}", "tick 102"]
