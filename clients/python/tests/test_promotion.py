"""From paper to live on one desk, end to end: a real desk with two venues —
`paper` and an `alpaca` venue `live` (requires_approval) against the Alpaca
stand-in (the real `alpaca-double` binary on loopback) — and real sandboxed
strategies of two members. Promotion requests, the approvals queue, refusals
(unknown venue, not yours, a venue's minimums, self-approval, already decided,
no reason), an officer's approval that moves exactly one strategy, and a desk
killed between an approval and the strategy's restart."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from conftest import DeskServer
from test_alpaca import KEY_ID, SECRET, AlpacaDoubleProcess
from test_backtest import backtest, strategy as backtest_strategy, write_ticks
from test_runtime import PYTHON_PATH, wait_for

LIVE_KEY = KEY_ID  # the stand-in takes these keys only
LIVE_SECRET = SECRET

# Places one far-off limit buy (it stays working), then a market buy every 15 ticks.
TRADER = """
    from desk_client import market_data, place_order
    reply = place_order("AAPL", 1, "buy", order_type="limit", limit_price="1.00", time_in_force="gtc")
    print("WORKING", reply.status, reply.order_id, reply.message, flush=True)
    for number, tick in enumerate(market_data(), start=1):
        if number % 15 == 0:
            reply = place_order(tick["symbol"], 1, "buy")
            print("ORDER", reply.status, reply.order_id, reply.message, flush=True)
    """


def config(double_url: str) -> dict:
    return {
        "venues": {
            "paper": {"broker": "paper"},
            "live": {"broker": "alpaca", "base_url": double_url, "key_id_variable": "APCA_LIVE_KEY_ID",
                     "secret_key_variable": "APCA_LIVE_SECRET_KEY", "requires_approval": True},
            "cautious": {"broker": "alpaca", "base_url": double_url, "key_id_variable": "APCA_LIVE_KEY_ID",
                         "secret_key_variable": "APCA_LIVE_SECRET_KEY", "requires_approval": True,
                         "promotion": {"min_paper_days": 5, "min_fills": 20}},
        },
        "default_venue": "paper",
    }


class PromotionDesk:
    """A desk with `paper` and `live`, two members' strategies, and the stand-in."""

    def __init__(self, folder: Path, double: AlpacaDoubleProcess, extra_env: Optional[dict] = None):
        self.folder = folder
        self.double = double
        self.strategies = folder / "strategies"
        self.logs = folder / "logs"
        self.config = folder / "desk.json"
        if not self.config.exists():
            self.config.write_text(json.dumps(config(double.url)))
            self.add("alice_trend", "alice")
            self.add("bob_mean", "bob")
        self.server = self.serve(extra_env)

    def serve(self, extra_env: Optional[dict]) -> DeskServer:
        return DeskServer(
            self.folder, trust_user_header=False,
            extra_args=["--config", str(self.config), "--feed", "synthetic", "--feed-rate", "40",
                        "--symbols", "AAPL=190,MSFT=420", "--strategies-dir", str(self.strategies),
                        "--python-path", PYTHON_PATH],
            extra_env={"APCA_LIVE_KEY_ID": LIVE_KEY, "APCA_LIVE_SECRET_KEY": LIVE_SECRET, **(extra_env or {})})

    def add(self, name: str, member: str) -> None:
        home = self.strategies / name
        home.mkdir(parents=True)
        (home / "strategy.py").write_text(textwrap.dedent(TRADER))
        (home / "config.json").write_text(json.dumps({"user_id": member, "symbols": ["AAPL"]}))

    def token(self, member: str, officer: bool = False) -> str:
        """A member's token, or an officer's."""
        if not officer:
            return self.server.issue_token(member)
        return officer_token(self.server, member)

    def desk(self, token: str, *args: str) -> subprocess.CompletedProcess:
        """`desk ARGS --server URL --token TOKEN`, whatever its exit."""
        return subprocess.run([str(self.server.binary), *args, "--server", self.server.url, "--token", token],
                              capture_output=True, text=True, timeout=60, cwd=self.folder,
                              env=DeskServer._environment())

    def ok(self, token: str, *args: str) -> str:
        result = self.desk(token, *args)
        assert result.returncode == 0, f"desk {' '.join(args)}: {result.returncode}\n{result.stdout}{result.stderr}"
        return result.stdout

    def refused(self, token: str, *args: str) -> str:
        result = self.desk(token, *args)
        assert result.returncode != 0, f"desk {' '.join(args)} was not refused:\n{result.stdout}"
        return result.stdout + result.stderr

    def status(self, token: str) -> dict:
        return {row["name"]: row for row in json.loads(self.ok(token, "strategies", "status", "--json"))["strategies"]}

    def approvals(self, token: str) -> List[dict]:
        return json.loads(self.ok(token, "approvals", "list", "--json"))

    def orders(self, strategy: str) -> list:
        return self.server.ledger("SELECT order_id, status, order_type FROM orders WHERE strategy = ? "
                                  "ORDER BY created_at, rowid", strategy)

    def order_posts(self) -> list:
        return [r for r in self.double.requests() if r["method"] == "POST" and r["path"] == "/v2/orders"]


def officer_token(server: DeskServer, member: str) -> str:
    """An officer's token: `desk tokens issue NAME --officer`."""
    lines = server.desk("tokens", "issue", member, "--officer").stdout.splitlines()
    assert lines and lines[0].strip(), "desk tokens issue --officer printed no token"
    return lines[0].strip()


def post(server: DeskServer, token: str, path: str, body: dict) -> tuple:
    request = urllib.request.Request(server.url + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="module")
def promotion_desk() -> Iterator[PromotionDesk]:
    with tempfile.TemporaryDirectory(prefix="desk-promotion-") as folder:
        os.chmod(folder, 0o755)
        double = AlpacaDoubleProcess(Path(folder))
        desk = None
        try:
            desk = PromotionDesk(Path(folder), double)
            yield desk
        finally:
            if desk:
                desk.server.stop()
            double.stop()


def test_requests_refusals_and_the_approvals_queue(promotion_desk: PromotionDesk, tmp_path: Path) -> None:
    desk = promotion_desk
    alice, bob, olivia = desk.token("alice"), desk.token("bob"), desk.token("olivia", officer=True)
    desk.ok(desk.server.admin_token, "strategies", "start")
    wait_for(lambda: len(desk.orders("alice_trend")) >= 2 and len(desk.orders("bob_mean")) >= 2, seconds=60,
             what="both strategies to place orders on paper")

    # Each strategy runs on one venue: the default one.
    status = desk.status(desk.server.admin_token)
    assert {name: (row["state"], row["venue"]) for name, row in status.items()} == {
        "alice_trend": ("running", "paper"), "bob_mean": ("running", "paper")}
    assert set(desk.status(alice)) == {"alice_trend"}

    # Bad input: a clear refusal each, nothing changed, non-zero exit.
    assert "no venue moon on this desk (venues: cautious, live, paper)" in desk.refused(
        alice, "strategies", "promote", "alice_trend", "moon")
    assert "not yours" in desk.refused(bob, "strategies", "promote", "alice_trend", "live")
    assert "cautious requires min_paper_days 5; the strategy's record has 0" in desk.refused(
        alice, "strategies", "promote", "alice_trend", "cautious")
    assert "is not a backtest report folder" in desk.refused(
        alice, "strategies", "promote", "alice_trend", "live", "--backtest", str(tmp_path))
    assert "the strategy already runs on paper" in desk.refused(alice, "strategies", "promote", "alice_trend", "paper")
    assert desk.approvals(olivia) == []

    # A real backtest's report folder is attached with its headline figures.
    reports = tmp_path / "reports"
    backtest_strategy(tmp_path / "strategies", "alice_trend", "alice",
                      plan={1: [{"symbol": "AAPL", "qty": "2", "side": "buy"}]})
    run = backtest(tmp_path, [write_ticks(tmp_path / "ticks.jsonl", ["100", "101", "103"])],
                   "--report", str(reports))
    assert run.returncode == 0, run.stderr
    assert (reports / "report.json").is_file()

    # The request: pending, with its id; a second one waits for the first.
    output = desk.ok(alice, "strategies", "promote", "alice_trend", "live", "--backtest", str(reports))
    match = re.search(r"approval (\d+) is pending", output)
    assert match, output
    approval = int(match.group(1))
    assert f"already waits for approval {approval}" in desk.refused(
        alice, "strategies", "promote", "alice_trend", "live")

    listed = desk.approvals(alice)
    assert len(listed) == 1
    entry = listed[0]
    assert {"id", "member", "strategy", "from_venue", "to_venue", "status", "requested_at", "decided_by",
            "evidence"} <= set(entry)
    assert (entry["id"], entry["member"], entry["strategy"], entry["from_venue"], entry["to_venue"],
            entry["status"], entry["decided_by"]) == (approval, "alice", "alice_trend", "paper", "live", "pending",
                                                      None)
    evidence = entry["evidence"]
    assert evidence["venue"] == "paper" and evidence["days"] == 0 and evidence["sharpe"] is None
    assert evidence["orders"] >= 2 and isinstance(evidence["fills"], int)
    assert isinstance(evidence["pnl"], str) and isinstance(evidence["max_drawdown"], str)
    assert evidence["backtest"]["path"] == str(reports)
    figures = json.loads((reports / "report.json").read_text())["members"]["alice"]["strategies"]["alice_trend"]
    assert (evidence["backtest"]["fills"], evidence["backtest"]["total_pnl"]) == (1, figures["total_pnl"])
    table = desk.ok(olivia, "approvals", "list")
    assert re.search(rf"^{approval}\s+alice_trend\s+alice\s+paper\s+live\s+pending\s", table, re.M), table
    assert desk.approvals(bob) == [], "a member sees only their own requests"
    assert [a["id"] for a in desk.approvals(olivia)] == [approval]

    # Only an officer (or the admin) who is not the requesting member decides.
    assert "alice is not an officer" in desk.refused(alice, "approvals", "approve", str(approval))
    alice_officer = desk.token("alice", officer=True)
    assert f"alice requested {approval} and cannot approve it" in desk.refused(
        alice_officer, "approvals", "approve", str(approval))
    assert "--reason" in desk.refused(olivia, "approvals", "reject", str(approval), "--reason", " ")
    code, reply = post(desk.server, olivia, f"/approvals/{approval}/reject", {"reason": ""})
    assert code == 400 and "a rejection needs a reason" in reply["message"], reply
    assert f"no approval 9999" in desk.refused(olivia, "approvals", "approve", "9999")

    # Nothing changed.
    assert desk.approvals(olivia)[0]["status"] == "pending"
    assert desk.status(desk.server.admin_token)["alice_trend"]["venue"] == "paper"
    audit = desk.server.ledger("SELECT action, outcome FROM audit_events WHERE strategy = 'alice_trend' "
                               "AND action IN ('strategy_promote', 'approval_approve', 'approval_reject')")
    assert ("strategy_promote", "pending") in audit
    assert ("approval_approve", "refused") in audit and ("approval_reject", "refused") in audit


def test_an_officer_approves_and_only_that_strategy_reaches_the_live_venue(promotion_desk: PromotionDesk) -> None:
    desk = promotion_desk
    olivia = desk.token("olivia", officer=True)
    pending = [a for a in desk.approvals(olivia) if a["status"] == "pending"]
    assert len(pending) == 1, "the previous test leaves alice's request pending"
    approval = pending[0]["id"]
    # No paper order ever reached the stand-in.
    assert desk.order_posts() == []
    working = [order_id for order_id, status, kind in desk.orders("alice_trend") if kind == "limit"
               and status in ("new", "pending_new")]
    assert working, desk.orders("alice_trend")

    output = desk.ok(olivia, "approvals", "approve", str(approval))
    assert f"approval {approval} approved by olivia" in output and "moved from paper to live" in output, output
    assert "restarted on live with a fresh token" in output and "on paper" in output, output
    status = desk.status(desk.server.admin_token)
    assert (status["alice_trend"]["venue"], status["bob_mean"]["venue"]) == ("live", "paper")
    # Its working order on paper was canceled; its positions stay in paper's book.
    assert {order_id: status for order_id, status, _ in desk.orders("alice_trend")}[working[0]] == "canceled"

    # From now on its orders (and only its) reach the stand-in, with the live venue's keys.
    wait_for(lambda: len(desk.order_posts()) >= 2, seconds=60, what="alice's orders to reach the live venue")
    bob_before = len(desk.orders("bob_mean"))
    wait_for(lambda: len(desk.orders("bob_mean")) > bob_before + 1, seconds=60, what="bob to go on trading")
    alice_ids = {order_id for order_id, _, _ in desk.orders("alice_trend")}
    for request in desk.order_posts():
        body = json.loads(request["body"])
        assert body["client_order_id"] in alice_ids, body
        assert request["headers"]["apca-api-key-id"] == LIVE_KEY
        assert request["headers"]["apca-api-secret-key"] == LIVE_SECRET

    assert "already approved by olivia" in desk.refused(olivia, "approvals", "approve", str(approval))
    decided = desk.approvals(olivia)[0]
    assert (decided["status"], decided["decided_by"]) == ("approved", "olivia")
    # The live keys are in no command's output and no strategy's log.
    for name in ("alice_trend", "bob_mean"):
        log = (desk.logs / f"{name}.log")
        assert LIVE_SECRET not in (log.read_text(errors="replace") if log.exists() else "")
    assert LIVE_SECRET not in output

    # A demotion is always allowed to the member: at once.
    alice = desk.token("alice")
    output = desk.ok(alice, "strategies", "promote", "alice_trend", "paper")
    assert "moved from live to paper" in output, output
    assert desk.status(alice)["alice_trend"]["venue"] == "paper"


def test_a_desk_killed_between_approval_and_restart_comes_back_on_one_venue() -> None:
    with tempfile.TemporaryDirectory(prefix="desk-promotion-kill-") as folder:
        os.chmod(folder, 0o755)
        double = AlpacaDoubleProcess(Path(folder))
        # The desk pauses for a minute after the ledger moved the strategy, before anything else.
        desk = PromotionDesk(Path(folder), double, extra_env={"DESK_TEST_PAUSE_AFTER_MOVE": "60"})
        try:
            alice, olivia = desk.token("alice"), desk.token("olivia", officer=True)
            desk.ok(desk.server.admin_token, "strategies", "start", "alice_trend")
            wait_for(lambda: any(kind == "limit" for _, _, kind in desk.orders("alice_trend")), seconds=60,
                     what="alice's working order on paper")
            approval = int(re.search(r"approval (\d+) is pending",
                                     desk.ok(alice, "strategies", "promote", "alice_trend", "live")).group(1))
            approving = subprocess.Popen(
                [str(desk.server.binary), "approvals", "approve", str(approval), "--server", desk.server.url,
                 "--token", olivia], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=DeskServer._environment())
            wait_for(lambda: desk.server.ledger("SELECT venue FROM strategy_venues WHERE strategy = 'alice_trend'")
                     == [("live",)], seconds=30, what="the approval's transaction")
            assert "pausing after a move" in desk.server.log_text()
            desk.server.process.send_signal(signal.SIGKILL)
            desk.server.process.wait(timeout=10)
            approving.kill()
            approving.wait(timeout=10)
            desk.server.stop()
            # Between the kill and the restart the working order is still on paper.
            before = desk.server.ledger("SELECT order_id FROM orders WHERE strategy = 'alice_trend' AND "
                                        "order_type = 'limit' AND status IN ('new', 'pending_new')")
            assert before, "the kill came before the cancels"

            desk.server = desk.serve(extra_env=None)
            wait_for(lambda: all(desk.server.ledger("SELECT status FROM orders WHERE order_id = ?", order_id)
                                 == [("canceled",)] for (order_id,) in before),
                     seconds=30, what="the order on the old venue to be canceled at start")
            wait_for(lambda: desk.status(desk.server.admin_token)["alice_trend"]["state"] == "running", seconds=30,
                     what="alice_trend to run again")
            assert desk.status(desk.server.admin_token)["alice_trend"]["venue"] == "live"
            assert desk.server.ledger("SELECT venue FROM strategy_venues WHERE strategy = 'alice_trend'") == [
                ("live",)]
            live_tokens = desk.server.ledger("SELECT venue FROM tokens WHERE strategy = 'alice_trend' AND "
                                             "revoked_at IS NULL")
            assert live_tokens == [("live",)], live_tokens
            assert desk.approvals(olivia)[0]["status"] == "approved"
        finally:
            desk.server.stop()
            double.stop()
