"""Corporate actions from a `--corporate-actions` file: a backtest across a 4-for-1
split (positions × 4, cost unchanged, P&L unchanged by the split, the open order
canceled), and the paper venue of `desk serve` applying a split and a dividend once,
however often the desk restarts."""
from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import DeskServer
from test_backtest import BOTH_MODES, backtest, report, rows, strategy
from test_runtime import wait_for


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_backtest_across_a_split(tmp_path: Path) -> None:
    friday = datetime(2026, 2, 27, 14, 31, tzinfo=timezone.utc)
    monday = datetime(2026, 3, 2, 14, 31, tzinfo=timezone.utc)
    ticks = [(friday + timedelta(minutes=i), "100") for i in range(3)]
    ticks += [(monday, "25"), (monday + timedelta(minutes=1), "25.5")]
    data = write_lines(tmp_path / "ticks.jsonl", [{"ts": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "symbol": "AAPL",
                                                   "price": price} for at, price in ticks])
    actions = write_lines(tmp_path / "actions.jsonl",
                          [{"type": "split", "symbol": "AAPL", "ex_date": "2026-03-02", "ratio": "4"}])
    buy = {"symbol": "AAPL", "qty": "10", "side": "buy"}
    resting = {"symbol": "AAPL", "qty": "10", "side": "sell", "order_type": "limit", "limit_price": "150",
               "time_in_force": "gtc"}
    strategy(tmp_path / "strategies", "scripted", "alice", {1: [buy, resting]})
    figures = report(backtest(tmp_path, [data], "--corporate-actions", str(actions), lockstep=BOTH_MODES))
    alice = figures["members"]["alice"]
    # 10 bought at 100 became 40 at a cost of 1000; at 25.5 that is +20, exactly as 10 at 102 would be.
    assert alice["positions"] == {"AAPL": "40"}
    assert Decimal(alice["total_pnl"]) == Decimal("20")
    db = tmp_path / "work" / "desk.db"
    assert rows(db, "SELECT qty, cost_basis FROM member_positions") == [("40", "1000")]
    assert rows(db, "SELECT qty, cost_basis FROM strategy_positions") == [("40", "1000")]
    assert rows(db, "SELECT order_type, status FROM orders ORDER BY created_at, order_type") == [
        ("limit", "canceled"), ("market", "filled")]
    assert rows(db, "SELECT action_id, venue, type FROM corporate_actions") == [
        ("split:AAPL:2026-03-02:4", "paper", "split")]
    audit = rows(db, "SELECT member, strategy, detail FROM audit_events WHERE action = 'corporate_action'")
    assert len(audit) == 2 and all("10 → 40 shares" in line[2] for line in audit)


def test_a_bad_corporate_actions_line_is_named(tmp_path: Path) -> None:
    data = write_lines(tmp_path / "ticks.jsonl", [{"ts": "2026-03-02T14:31:00Z", "symbol": "AAPL", "price": "1"}])
    actions = tmp_path / "actions.jsonl"
    actions.write_text('{"type":"split","symbol":"AAPL","ex_date":"2026-03-02","ratio":"4"}\n'
                       '{"type":"split","symbol":"AAPL","ex_date":"2026-03-02","ratio":"zero"}\n')
    strategy(tmp_path / "strategies", "scripted", "alice", {})
    result = backtest(tmp_path, [data], "--corporate-actions", str(actions))
    assert result.returncode != 0
    assert f"{actions}:2: ratio \"zero\" must be a positive decimal string" in result.stderr


def post_json(url: str, body: dict, token: str) -> dict:
    request = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as reply:
        return json.load(reply)


def test_the_paper_venue_applies_a_split_and_a_dividend_once(tmp_path: Path) -> None:
    today = datetime.now(timezone.utc).date()
    actions = write_lines(tmp_path / "actions.jsonl", [
        {"type": "split", "symbol": "AAPL", "ex_date": (today - timedelta(days=2)).isoformat(), "ratio": "4"},
        {"type": "dividend", "symbol": "AAPL", "ex_date": (today - timedelta(days=1)).isoformat(),
         "payable_date": today.isoformat(), "amount": "0.25"},
        {"type": "split", "symbol": "AAPL", "ex_date": (today + timedelta(days=30)).isoformat(), "ratio": "2"},
    ])
    with tempfile.TemporaryDirectory(prefix="desk-actions-") as folder:
        os.chmod(folder, 0o755)
        server = DeskServer(Path(folder), trust_user_header=False)
        try:
            token = server.issue_token("alice")
            server.push_price("AAPL", "100")
            reply = post_json(server.url + "/order", {"symbol": "AAPL", "qty": "10", "side": "buy"}, token)
            assert reply["status"] == "success", reply
            resting = post_json(server.url + "/order", {"symbol": "AAPL", "qty": "5", "side": "sell",
                                                        "order_type": "limit", "limit_price": "150",
                                                        "time_in_force": "gtc"}, token)
            assert resting["status"] == "success", resting
        finally:
            server.stop()
        for _ in range(2):  # the second start applies nothing again
            server = DeskServer(Path(folder), trust_user_header=False,
                                extra_args=["--feed", "none", "--corporate-actions", str(actions)])
            try:
                wait_for(lambda: len(server.ledger("SELECT 1 FROM corporate_actions")) == 2,
                         what="the split and the dividend in the ledger")
                # 10 × 4 = 40 shares at the same cost; the dividend on 40 shares: 10.
                assert server.ledger("SELECT qty, cost_basis, realized_pnl FROM member_positions") == [
                    ("40", "1000", "10")]
                assert server.ledger("SELECT type FROM corporate_actions ORDER BY ex_date") == [
                    ("split",), ("dividend",)]
                assert server.ledger("SELECT status FROM orders WHERE order_type = 'limit'") == [("canceled",)]
                assert len(server.ledger("SELECT 1 FROM audit_events WHERE action = 'corporate_action'")) == 2
            finally:
                server.stop()


@pytest.mark.parametrize("found_by", ["reconcile", "poll"])
def test_a_split_and_a_dividend_on_the_alpaca_stand_in_leave_reconcile_clean(found_by: str) -> None:
    # reconcile: `desk reconcile` finds the actions (the desk's own poll waits an hour);
    # poll: the desk's poll of Alpaca's announcements (every 0.2 s here) books them before anyone reconciles.
    from test_alpaca import KEY_ID, SECRET, AlpacaDoubleProcess, get_json
    # The exchange's day (New York): from 00:00 UTC until midnight in New York the UTC date is a day ahead,
    # and a split dated that day is not yet in effect at the desk (the stand-in applied it at once).
    today = datetime.now(ZoneInfo("America/New_York")).date()
    interval = "0.2" if found_by == "poll" else "3600"
    with tempfile.TemporaryDirectory(prefix="desk-alpaca-actions-") as folder:
        os.chmod(folder, 0o755)
        double = AlpacaDoubleProcess(Path(folder))
        server = None
        try:
            server = DeskServer(
                Path(folder), trust_user_header=False, extra_args=["--broker", "alpaca", "--feed", "none"],
                extra_env={"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": SECRET, "APCA_API_BASE_URL": double.url,
                           "DESK_CORPORATE_ACTIONS_INTERVAL": interval})
            server.push_price("AAPL", "190")
            for member, qty in (("alice", "10"), ("bob", "3")):
                reply = post_json(server.url + "/order", {"symbol": "AAPL", "qty": qty, "side": "buy"},
                                  server.issue_token(member))
                assert reply["status"] == "success", reply
            wait_for(lambda: len(server.ledger("SELECT 1 FROM orders WHERE status = 'filled'")) == 2,
                     what="both buys filled at the stand-in")
            before = {m: Decimal(get_json(server, f"/account?user={m}")["total_pnl"]) for m in ("alice", "bob")}

            for line in ({"type": "split", "symbol": "AAPL", "ex_date": today.isoformat(), "ratio": "4"},
                         {"type": "dividend", "symbol": "AAPL", "ex_date": today.isoformat(),
                          "payable_date": (today + timedelta(days=7)).isoformat(), "amount": "0.25"}):
                urllib.request.urlopen(urllib.request.Request(
                    double.url + "/_double/corporate-actions", method="POST", data=json.dumps(line).encode(),
                    headers={"Content-Type": "application/json"}), timeout=5).close()
            booked = "SELECT 1 FROM corporate_actions"
            if found_by == "poll":
                wait_for(lambda: len(server.ledger(booked)) == 2, what="the poll to book the split and the dividend")
            else:
                assert server.ledger(booked) == [], "nothing is booked before the desk asks"

            report = json.loads(server.desk("reconcile", "--json", "--server", server.url).stdout)
            assert report["position_differences"] == [], report
            assert report["outside_orders"] == [] and report["unknown_to_broker"] == []
            assert server.ledger("SELECT member, qty, cost_basis FROM member_positions ORDER BY member") == [
                ("alice", "40", "1900"), ("bob", "12", "570")]
            # The split alone leaves each member's P&L where it was at the split's price (190 / 4);
            # the dividend then adds 0.25 a share on the split quantity.
            server.push_price("AAPL", "47.5")
            after = {m: Decimal(get_json(server, f"/account?user={m}")["total_pnl"]) for m in ("alice", "bob")}
            assert after == {"alice": before["alice"] + Decimal("10"), "bob": before["bob"] + Decimal("3")}
            # Applied once: a second reconcile (and the restart's) changes nothing.
            report = json.loads(server.desk("reconcile", "--json", "--server", server.url).stdout)
            assert report["position_differences"] == [], report
            assert len(server.ledger("SELECT 1 FROM corporate_actions")) == 2
            assert len(server.ledger("SELECT 1 FROM audit_events WHERE action = 'corporate_action'")) == 4
        finally:
            if server:
                server.stop()
            double.stop()
