"""Done-means of issue 26: a backtest over quote data the desk has never seen gives,
fill by fill and to the cent, what an independent simulation of the fill rules
(`fill_reference.py`) gives — fills at the bid and the ask, partial fills by quoted
size, resting limits at their limit, bracket exits and a trailing stop — and the
live paper venue (`desk serve`, same-tick fills) gives what the simulation's
same-tick mode gives over the same lines.

The data is generated here, seeded: trades carrying a quote, trades alone and
quote-only lines (their price the midpoint), sizes of 1 to 6 shares against orders
of 10 (so orders fill in parts), and a price path up, down and up again, so that a
take profit, a stop loss and a trailing stop are all reached."""
from __future__ import annotations

import inspect
import json
import random
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from conftest import DeskServer
from fill_reference import Sim, SimOrder
from test_backtest import BOTH_MODES, backtest, report, rows, strategy

START = datetime(2026, 11, 16, 14, 31, tzinfo=timezone.utc)  # a Monday, 09:31 New York
CENT = Decimal("0.01")


def generate(seed: int = 26, count: int = 100) -> List[dict]:
    """Lines of AAPL: up from 100 to 103, down to 97, up to 101, with noise."""
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        if index < 30:
            mid = Decimal(100) + Decimal("0.10") * index
        elif index < 65:
            mid = Decimal(103) - Decimal(6) * (index - 30) / 35
        else:
            mid = Decimal(97) + Decimal(4) * (index - 65) / 35
        mid = (mid + Decimal(rng.randint(-3, 3)) * CENT).quantize(CENT)
        half = CENT * rng.choice([1, 2])
        bid, ask = mid - half, mid + half
        line: dict = {"ts": (START + timedelta(minutes=index)).strftime("%Y-%m-%dT%H:%M:%SZ"), "symbol": "AAPL"}
        kind = rng.choices(["both", "trade", "quote"], weights=[4, 2, 4])[0]
        if kind in ("both", "trade"):
            line.update(type="trade", price=str(rng.choice([bid, ask])), size=str(rng.randint(1, 9)))
        else:
            line.update(type="quote", price=str((bid + ask) / 2))
        if kind in ("both", "quote"):
            line.update(bid=str(bid), ask=str(ask), bid_size=str(rng.randint(1, 6)), ask_size=str(rng.randint(1, 6)))
        lines.append(line)
    return lines


def supports(*names: str) -> bool:
    """Whether desk_client.place_order takes these keyword arguments (issue 26's order classes)."""
    from desk_client import place_order
    return all(name in inspect.signature(place_order).parameters for name in names)


def plan(lines: List[dict]) -> Dict[int, List[dict]]:
    """Orders by line number (1-based, as the strategy counts them): market and limit
    orders, and — when desk_client has the keywords — two brackets and a trailing stop."""
    ask5 = Decimal(lines[4].get("ask") or lines[4]["price"])
    orders: Dict[int, List[dict]] = {
        2: [{"symbol": "AAPL", "qty": "10", "side": "buy", "time_in_force": "gtc"}],
        5: [{"symbol": "AAPL", "qty": "10", "side": "buy", "order_type": "limit", "time_in_force": "gtc",
             "limit_price": str(ask5 + Decimal("0.05"))}],
        8: [{"symbol": "AAPL", "qty": "5", "side": "sell", "order_type": "limit", "time_in_force": "gtc",
             "limit_price": "102.00"}],
        70: [{"symbol": "AAPL", "qty": "15", "side": "sell", "time_in_force": "gtc"}],
    }
    if supports("order_class", "take_profit", "stop_loss"):
        orders[10] = [{"symbol": "AAPL", "qty": "10", "side": "buy", "time_in_force": "gtc", "order_class": "bracket",
                       "take_profit": {"limit_price": "102.50"}, "stop_loss": {"stop_price": "97.50"}}]
        orders[36] = [{"symbol": "AAPL", "qty": "10", "side": "buy", "time_in_force": "gtc", "order_class": "bracket",
                       "take_profit": {"limit_price": "103.00"}, "stop_loss": {"stop_price": "98.00"}}]
    if supports("trail_percent"):
        orders[26] = [{"symbol": "AAPL", "qty": "10", "side": "sell", "order_type": "trailing_stop",
                       "time_in_force": "gtc", "trail_percent": "1"}]
    return orders


def sim_order(key: str, order: dict) -> SimOrder:
    def dec(name: str):
        return Decimal(order[name]) if name in order else None
    legs = []
    if order.get("order_class") == "bracket":
        exit_side = "sell" if order["side"] == "buy" else "buy"
        legs = [SimOrder(key + ".tp", exit_side, Decimal(order["qty"]), "limit",
                         limit=Decimal(order["take_profit"]["limit_price"])),
                SimOrder(key + ".sl", exit_side, Decimal(order["qty"]), "stop",
                         stop=Decimal(order["stop_loss"]["stop_price"]))]
    return SimOrder(key, order["side"], Decimal(order["qty"]), order.get("order_type", "market"), limit=dec("limit_price"),
                    stop=dec("stop_price"), trail_price=dec("trail_price"), trail_percent=dec("trail_percent"),
                    legs=legs)


def simulate(lines: List[dict], orders: Dict[int, List[dict]], next_tick: bool) -> List[Tuple[str, Decimal, Decimal]]:
    sim = Sim(next_tick=next_tick)
    for number, line in enumerate(lines, start=1):
        sim.line(line)
        for index, order in enumerate(orders.get(number, [])):
            sim.submit(sim_order(f"{number}.{index}", order))
    return sim.fills


def keys_by_order_id(db_rows: list, orders: Dict[int, List[dict]]) -> Dict[str, str]:
    """The plan's key of each ledger order: top-level orders in the order they were
    placed, legs by their entry and type (a take profit is the limit)."""
    planned = [f"{number}.{index}" for number in sorted(orders) for index in range(len(orders[number]))]
    top = [row for row in db_rows if not row[1]]
    assert len(top) == len(planned), f"the ledger has {len(top)} orders, the plan {len(planned)}: {db_rows}"
    keys = {row[0]: key for row, key in zip(top, planned)}
    for order_id, parent, order_type in db_rows:
        if parent:
            keys[order_id] = keys[parent] + (".tp" if order_type == "limit" else ".sl")
    return keys


def ledger_orders(db: Path) -> list:
    columns = {row[1] for row in rows(db, "PRAGMA table_info(orders)")}
    parent = "parent_id" if "parent_id" in columns else "NULL"
    return rows(db, f"SELECT order_id, {parent}, order_type FROM orders ORDER BY rowid")


def ledger_fills(db: Path, orders: Dict[int, List[dict]]) -> List[Tuple[str, Decimal, Decimal]]:
    keys = keys_by_order_id(ledger_orders(db), orders)
    return [(keys[order_id], Decimal(qty), Decimal(price))
            for order_id, qty, price in rows(db, "SELECT order_id, qty, price FROM fills ORDER BY id")]


def test_the_simulation_exercises_every_rule() -> None:
    """The hidden data makes the rules matter: partial fills, fills at the bid and the
    ask that differ from the last trade, and (with order classes) both bracket exits
    and the trailing stop."""
    lines = generate()
    orders = plan(lines)
    for next_tick in (True, False):
        fills = simulate(lines, orders, next_tick)
        by_key: Dict[str, List[Tuple[Decimal, Decimal]]] = {}
        for key, qty, price in fills:
            by_key.setdefault(key, []).append((qty, price))
        assert len(by_key["2.0"]) > 1, "the market buy fills in parts"
        assert sum(q for q, _ in by_key["2.0"]) == 10
        assert by_key["8.0"][-1][1] == Decimal("102.00"), "a resting sell limit fills at its limit"
        if "10" in {k.split(".")[0] for k in by_key}:
            assert "10.0.tp" in by_key and "10.0.sl" not in by_key, "the first bracket takes profit"
            assert "36.0.sl" in by_key and "36.0.tp" not in by_key, "the second bracket stops out"
            assert "26.0" in by_key, "the trailing stop triggers"


def test_a_fill_rule_broken_is_caught() -> None:
    """The comparison can fail: fills at the last trade instead of the quote differ."""
    lines = generate()
    orders = plan(lines)
    honest = simulate(lines, orders, next_tick=True)
    at_last_trade = [{key: value for key, value in line.items() if key not in ("bid", "ask", "bid_size", "ask_size")}
                     for line in lines]
    assert simulate(at_last_trade, orders, next_tick=True) != honest


def test_a_backtest_equals_the_reference_simulation(tmp_path: Path) -> None:
    lines = generate()
    orders = plan(lines)
    data = tmp_path / "quotes.jsonl"
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))
    strategy(tmp_path / "strategies", "scripted", "alice", orders)
    figures = report(backtest(tmp_path, [data], "--fill-at", "next-tick", "--capital", "1000000", lockstep=BOTH_MODES))
    expected = simulate(lines, orders, next_tick=True)
    got = ledger_fills(tmp_path / "work" / "desk.db", orders)
    assert got == expected
    assert figures["members"]["alice"]["fills"] == len(expected), "each partial fill counts"
    # Same-tick fills in a backtest: the simulation's other mode.
    strategy(tmp_path / "same", "scripted", "alice", orders)
    report(backtest(tmp_path, [data], "--fill-at", "same-tick", "--capital", "1000000", work="same-work",
                    strategies=tmp_path / "same", lockstep=BOTH_MODES))
    assert ledger_fills(tmp_path / "same-work" / "desk.db", orders) == simulate(lines, orders, next_tick=False)


def push_line(desk: DeskServer, line: dict) -> None:
    body = {key: value for key, value in line.items() if key != "ts"}
    request = urllib.request.Request(
        desk.url + "/admin/prices", method="POST", data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {desk.admin_token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200, reply.read()


def test_the_live_paper_venue_equals_the_same_tick_simulation(tmp_path: Path, client_env) -> None:
    """`desk serve` (same-tick fills): each line is pushed to the desk's feed, then the
    orders planned for it are placed through desk_client, as a strategy reading the
    feed would; fills are read from its ledger."""
    from desk_client import place_order
    lines = generate()
    orders = plan(lines)
    expected = simulate(lines, orders, next_tick=False)
    desk = DeskServer(tmp_path, trust_user_header=False)
    try:
        client_env(desk.url, token=desk.issue_token("alice"))
        for number, line in enumerate(lines, start=1):
            push_line(desk, line)
            for order in orders.get(number, []):
                reply = place_order(**order)
                assert reply.status == "success", reply.message
        deadline = time.monotonic() + 30
        while len(desk.ledger("SELECT order_id FROM fills")) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ledger_fills(desk.db, orders) == expected
    finally:
        desk.stop()
