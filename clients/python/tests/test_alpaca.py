"""`desk serve --broker alpaca` end to end against the Alpaca double (the real
`alpaca-double` binary on loopback): the example strategies trade, their orders
reach "Alpaca" as Alpaca's JSON with the keys in the headers, fills come back over
the trade_updates stream, positions and P&L update, `desk reconcile` agrees, and
the keys never reach a strategy, a log or a command's output."""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest

from conftest import DESK_BIN, REPO, DeskServer
from test_runtime import PYTHON_PATH, wait_for

DOUBLE_BIN = DESK_BIN.parent / "alpaca-double"
KEY_ID = "PKE2EDOUBLEKEY"
SECRET = "e2e-double-secret-never-shown"


class AlpacaDoubleProcess:
    def __init__(self, folder: Path):
        if not DOUBLE_BIN.is_file():
            pytest.fail(f"{DOUBLE_BIN} does not exist: build it (swift build)", pytrace=False)
        self.log_path = folder / "alpaca-double.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(DOUBLE_BIN), "--port", "0", "--key", KEY_ID, "--secret", SECRET, "--prices", "AAPL=190,MSFT=420"],
            stdout=subprocess.PIPE, stderr=self._log, env=DeskServer._environment())
        line = self.process.stdout.readline().decode()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not match:
            self.stop()
            pytest.fail(f"alpaca-double did not start: {line!r} {self.log_path.read_text()}", pytrace=False)
        self.url = f"http://127.0.0.1:{match.group(1)}"

    def requests(self) -> list:
        with urllib.request.urlopen(self.url + "/_double/requests", timeout=5) as reply:
            return json.load(reply)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="module")
def alpaca_desk() -> Iterator[tuple]:
    with tempfile.TemporaryDirectory(prefix="desk-alpaca-") as folder:
        os.chmod(folder, 0o755)
        double = AlpacaDoubleProcess(Path(folder))
        server = None
        try:
            server = DeskServer(
                Path(folder), trust_user_header=False,
                extra_args=["--broker", "alpaca", "--feed", "synthetic", "--feed-rate", "50",
                            "--symbols", "AAPL=190,MSFT=420", "--strategies-dir", str(REPO / "strategies"),
                            "--python-path", PYTHON_PATH],
                extra_env={"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": SECRET,
                           "APCA_API_BASE_URL": double.url})
            yield server, double
        finally:
            if server:
                server.stop()
            double.stop()


def get_json(server: DeskServer, path: str):
    request = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {server.admin_token}"})
    with urllib.request.urlopen(request, timeout=5) as reply:
        return json.load(reply)


def test_example_strategies_trade_through_alpaca(alpaca_desk):
    server, double = alpaca_desk
    assert get_json(server, "/healthz")["broker"] == "alpaca"
    server.desk("strategies", "start", "--server", server.url)

    def filled_members() -> set:
        return {row[0] for row in server.ledger("SELECT DISTINCT member FROM fills")}

    wait_for(lambda: {"alice", "bob"} <= filled_members(), seconds=60, what="fills for alice and bob")
    server.desk("strategies", "stop", "--server", server.url)
    # An order a strategy placed just before it stopped may still be on its way to "Alpaca" (the pacer).
    wait_for(lambda: not server.ledger("SELECT 1 FROM orders WHERE status = 'pending_new'"),
             what="orders in flight to reach the broker")

    # Every ledger order went to "Alpaca" once, under its own id, as Alpaca's JSON with the keys.
    posts = [r for r in double.requests() if r["method"] == "POST" and r["path"] == "/v2/orders"]
    bodies = [json.loads(r["body"]) for r in posts]
    ledger_ids = {row[0] for row in server.ledger("SELECT order_id FROM orders")}
    client_ids = [body["client_order_id"] for body in bodies]
    assert set(client_ids) == ledger_ids
    assert len(client_ids) == len(set(client_ids)), "an order was sent twice"
    for request, body in zip(posts, bodies):
        assert request["headers"]["apca-api-key-id"] == KEY_ID
        assert request["headers"]["apca-api-secret-key"] == SECRET
        assert request["headers"]["content-type"] == "application/json"
        assert isinstance(body["qty"], str) and body["type"] in ("market", "limit")
        if "limit_price" in body:
            assert isinstance(body["limit_price"], str)

    # Fills came back over the stream: positions and P&L follow them exactly (the fill of an order placed
    # just before the stop may still be on its way when the ledger is first read).
    for member in ("alice", "bob"):
        def books() -> tuple:
            fills = server.ledger("SELECT side, qty, price FROM fills WHERE member = ?", member)
            net = sum(Decimal(qty) if side == "buy" else -Decimal(qty) for side, qty, _ in fills)
            positions = get_json(server, f"/positions?user={member}")["positions"]
            return sum(Decimal(p["qty"]) for p in positions), net, positions, fills

        def agree() -> bool:
            booked, net, _, _ = books()
            return booked == net

        wait_for(agree, what=f"{member}'s positions to follow its fills")
        booked, net, positions, fills = books()
        assert booked == net, f"{member}: positions {positions} vs fills {fills}"
        account = get_json(server, f"/account?user={member}")
        assert account["member"] == member and "realized_pnl" in account


def test_reconcile_agrees_with_the_account(alpaca_desk):
    server, _ = alpaca_desk
    time.sleep(0.5)  # let the last stream events land after the strategies stopped
    report = json.loads(server.desk("reconcile", "--json", "--server", server.url).stdout)
    assert report["outside_orders"] == []
    assert report["unknown_to_broker"] == []
    assert report["position_differences"] == [], report
    # No capital is configured here: no allocations, next to the account's equity at the double.
    assert report["capital"]["allocated"] == "0" and report["capital"]["allocations"] == {}
    assert Decimal(report["capital"]["broker_equity"]) > 0
    text = server.desk("reconcile", "--server", server.url).stdout
    assert "agree" in text and "capital allocated to members: 0" in text


def test_the_keys_never_leak(alpaca_desk):
    server, _ = alpaca_desk
    assert SECRET not in server.log_text(100_000)
    for log in (server.folder / "logs").glob("*.log*"):
        assert SECRET not in log.read_text(errors="replace"), log
        assert KEY_ID not in log.read_text(errors="replace"), log
    for command in (["strategies", "status", "--server", server.url], ["orders"], ["positions"]):
        output = server.desk(*command)
        assert SECRET not in output.stdout + output.stderr
