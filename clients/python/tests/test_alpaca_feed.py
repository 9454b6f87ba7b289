"""`desk serve --feed alpaca` end to end against the Alpaca double (the real
`alpaca-double` binary, whose v2 market data stream publishes a random walk for
the symbols clients subscribe to): the desk subscribes to exactly the symbols the
running strategies asked for and follows them as strategies stop and start, their
ticks reach the strategies, and the paper broker fills at the streamed prices (the
feed is chosen independently of the broker). The keys never reach a strategy or a log."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest

from conftest import DESK_BIN, REPO, DeskServer
from test_alpaca import KEY_ID, SECRET, AlpacaDoubleProcess, get_json
from test_runtime import PYTHON_PATH, wait_for


def data_state(double: AlpacaDoubleProcess) -> dict:
    with urllib.request.urlopen(double.url + "/_double/data/state", timeout=5) as reply:
        return json.load(reply)


def subscribed(double: AlpacaDoubleProcess) -> list | None:
    """The trade symbols of the desk's one data connection; None unless exactly one is open."""
    connections = data_state(double)["connections"]
    return connections[0]["trades"] if len(connections) == 1 and connections[0]["authenticated"] else None


@pytest.fixture(scope="module")
def feed_desk() -> Iterator[tuple]:
    with tempfile.TemporaryDirectory(prefix="desk-alpaca-feed-") as folder:
        os.chmod(folder, 0o755)
        double = AlpacaDoubleProcess(Path(folder))
        server = None
        try:
            server = DeskServer(
                Path(folder), trust_user_header=False,
                extra_args=["--broker", "paper", "--feed", "alpaca", "--symbols", "SPY",
                            "--strategies-dir", str(REPO / "strategies"), "--python-path", PYTHON_PATH],
                extra_env={"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": SECRET,
                           "APCA_API_DATA_STREAM_URL": double.url.replace("http://", "ws://") + "/v2"})
            yield server, double
        finally:
            if server:
                server.stop()
            double.stop()


def strategy_status(server: DeskServer) -> dict:
    return {s["name"]: s for s in get_json(server, "/admin/strategies")["strategies"]}


def test_subscription_follows_the_running_strategies(feed_desk):
    server, double = feed_desk
    wait_for(lambda: subscribed(double) == [], what="the desk's data connection, subscribed to nothing")
    server.desk("strategies", "start", "--server", server.url)
    # alice wants AAPL and MSFT, bob AAPL and GOOG.
    wait_for(lambda: subscribed(double) == ["AAPL", "GOOG", "MSFT"], what="the strategies' symbols")
    wait_for(lambda: all(s["ticks_delivered"] > 20 for s in strategy_status(server).values()), what="ticks for both")
    server.desk("strategies", "stop", "example_bob", "--server", server.url)
    wait_for(lambda: subscribed(double) == ["AAPL", "MSFT"], what="GOOG dropped with bob")
    server.desk("strategies", "start", "example_bob", "--server", server.url)
    wait_for(lambda: subscribed(double) == ["AAPL", "GOOG", "MSFT"], what="GOOG back with bob")
    assert data_state(double)["connections_opened"] == 1, "subscription changes travel on one connection"


def post_json(url: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=5) as reply:
        return json.load(reply)


def test_the_paper_broker_fills_at_the_streamed_price(feed_desk):
    server, double = feed_desk
    server.desk("strategies", "start", "example_alice", "--server", server.url)
    wait_for(lambda: "AAPL" in (subscribed(double) or []), what="AAPL subscribed for alice")
    # A price far from the walk's, published on the stream; the walk goes on from it.
    before = strategy_status(server)["example_alice"]["ticks_delivered"]
    assert post_json(double.url + "/_double/data/trade", {"symbol": "AAPL", "price": "250.00"})["sent_to"] == 1
    # Ticks reach the paper broker before any strategy, in order: once alice has read
    # later ticks than that one, the desk has seen 250.
    wait_for(lambda: strategy_status(server)["example_alice"]["ticks_delivered"] > before + 8, what="ticks after the 250 trade")
    carol = server.issue_token("carol")
    order = post_json(server.url + "/order", {"symbol": "AAPL", "qty": "1", "side": "buy"}, carol)
    assert order["status"] == "success" and order["order_status"] == "filled", order
    (price,), = server.ledger("SELECT price FROM fills WHERE order_id = ?", order["order_id"])
    assert abs(Decimal(price) - Decimal("250")) < Decimal("2.5"), f"filled at {price}, not near the streamed 250"
    server.desk("strategies", "stop", "--server", server.url)
    wait_for(lambda: subscribed(double) == [], what="nothing streamed once no strategy runs")


def test_the_keys_never_leak(feed_desk):
    server, _ = feed_desk
    assert SECRET not in server.log_text(100_000)
    for log in (server.folder / "logs").glob("*.log*"):
        text = log.read_text(errors="replace")
        assert SECRET not in text and KEY_ID not in text, log


def test_refused_keys_are_reported_clearly(tmp_path):
    os.chmod(tmp_path, 0o755)
    double = AlpacaDoubleProcess(tmp_path)
    server = None
    try:
        server = DeskServer(
            tmp_path, trust_user_header=False, extra_args=["--feed", "alpaca"],
            extra_env={"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": "not-the-secret",
                       "APCA_API_DATA_STREAM_URL": double.url.replace("http://", "ws://") + "/v2"})

        def health() -> dict:
            with urllib.request.urlopen(server.url + "/healthz", timeout=5) as reply:
                return json.load(reply)

        wait_for(lambda: health()["feed_state"].startswith("failed"), what="the feed to report the refusal")
        state = health()["feed_state"]
        assert "402 auth failed" in state and "APCA_API_KEY_ID" in state and "APCA_API_SECRET_KEY" in state, state
        assert "not-the-secret" not in state and KEY_ID not in state
        assert "not-the-secret" not in server.log_text(100_000)
        assert data_state(double)["connections_opened"] == 1, "refused keys are not retried"
    finally:
        if server:
            server.stop()
        double.stop()


def test_missing_keys_stop_the_start_naming_the_variables(tmp_path):
    result = subprocess.run([str(DESK_BIN), "serve", "--port", "0", "--db", str(tmp_path / "d.db"), "--feed", "alpaca"],
                            capture_output=True, text=True, timeout=30, env=DeskServer._environment())
    assert result.returncode != 0
    assert "--feed alpaca needs APCA_API_KEY_ID and APCA_API_SECRET_KEY" in result.stdout + result.stderr
