"""Loss rules on a real desk (issue 25): a strategy on a venue with `max_daily_loss` and
`on_breach: stop`, with resting orders open, is stopped with its open orders canceled within the tick that takes its
loss past the limit; the audit log and `desk strategies status` say why; a tick under the limit
changes nothing; a restart does not fire the handled breach again and the strategy stays stopped.
With the default response off paper (`demote`), a strategy promoted to `live` that breaches there
is moved back to paper within the tick, its open orders on `live` canceled.

The venue `live` is a second venue of kind `paper`, and for the demotion also an `alpaca` venue
against the Alpaca stand-in (the real `alpaca-double` binary): the cancels reach the stand-in.
Runs the real binary ($DESK_BIN); fails (never skips) when it is missing."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

from conftest import REPO, DeskServer, desk_binary
from test_alpaca import KEY_ID, SECRET, AlpacaDoubleProcess

PYTHON_PATH = f"{REPO / '.venv' / 'strategy-site'}:{REPO / 'clients' / 'python'}"
# Every wait has its own bound (nothing here waits on a default).
WAIT_SECONDS = 30
QUIET_SECONDS = 1.5

STOP_CONFIG = {
    "venues": {
        "paper": {"broker": "paper"},
        "live": {"broker": "paper", "loss": {"strategy": {"max_daily_loss": "500"}, "on_breach": "stop"}},
    },
    "default_venue": "live",
}

# Strategies start on paper; `live` demotes by default.
DEMOTE_CONFIG = {
    "venues": {
        "paper": {"broker": "paper"},
        "live": {"broker": "paper", "loss": {"strategy": {"max_daily_loss": "500"}}},
    },
    "default_venue": "paper",
}

# Buys 10 AAPL at the market on its first tick, then rests two sells far above (one side only: Alpaca
# refuses a buy and a sell of one symbol open together as a potential wash trade).
LOSER = """
    from desk_client import market_data, place_order
    placed = False
    for tick in market_data():
        print("TICK", tick["price"], flush=True)
        if not placed:
            placed = True
            for args in (dict(qty=10, side="buy"),
                         dict(qty=5, side="sell", order_type="limit", limit_price="1000", time_in_force="gtc"),
                         dict(qty=5, side="sell", order_type="limit", limit_price="2000", time_in_force="gtc")):
                response = place_order("AAPL", **args)
                print("ORDER", response.status, response.order_id, response.message, flush=True)
    """


def wait_for(condition: Callable[[], bool], what, seconds: float = WAIT_SECONDS) -> None:
    """Waits for `condition`; `what` may be a function saying what was waited for and what is there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds} s waiting for {what() if callable(what) else what}", pytrace=False)


class LossDesk:
    """A desk with the loss rules above, supervising one strategy of alice's."""

    def __init__(self, folder: Path, config: dict, extra_env: Optional[dict] = None):
        self.folder = folder
        self.extra_env = extra_env or {}
        self.strategies = folder / "strategies"
        self.config = folder / "desk.json"
        self.config.write_text(json.dumps(config))
        strategy = self.strategies / "alice_loser"
        strategy.mkdir(parents=True)
        (strategy / "strategy.py").write_text(textwrap.dedent(LOSER))
        (strategy / "config.json").write_text(json.dumps({"user_id": "alice", "symbols": ["AAPL"]}))
        self.server: DeskServer = None  # type: ignore[assignment]
        self.double: Optional[AlpacaDoubleProcess] = None

    def start(self) -> DeskServer:
        self.server = DeskServer(
            self.folder, trust_user_header=False,
            extra_args=["--feed", "none", "--config", str(self.config), "--strategies-dir", str(self.strategies),
                        "--python-path", PYTHON_PATH],
            extra_env={"LOG_LEVEL": "info", **self.extra_env})
        return self.server

    def strategies_cli(self, *args: str) -> str:
        return self.server.desk("strategies", *args, "--server", self.server.url).stdout

    def status(self) -> dict:
        rows = json.loads(self.strategies_cli("status", "--json"))["strategies"]
        return {row["name"]: row for row in rows}["alice_loser"]

    def orders(self, venue: str = "live") -> dict:
        """order id → (side, order type, status) of alice's orders on `venue`."""
        return {row[0]: row[1:] for row in self.server.ledger(
            "SELECT order_id, side, order_type, status FROM orders WHERE member = 'alice' AND venue = ?", venue)}

    def open_orders(self) -> list:
        return [order_id for order_id, (_, _, status) in self.orders().items()
                if status not in ("filled", "canceled", "expired", "rejected")]

    def breaches(self) -> list:
        return self.server.ledger(
            "SELECT member, strategy, outcome, detail FROM audit_events WHERE action = 'loss_breach' ORDER BY id")


def _desk(config: dict, live_kind: str = "paper") -> Iterator[LossDesk]:
    with tempfile.TemporaryDirectory(prefix="desk-loss-") as folder:
        # Sandboxed strategies run as their own unprivileged users: they must be able to read their folder.
        os.chmod(folder, 0o755)
        double, extra_env = None, {}
        if live_kind == "alpaca":
            # `live` is the club's Alpaca account: the stand-in, filling at its own price of 100.
            double = AlpacaDoubleProcess(Path(folder))
            set_double_price(double, "AAPL", "100")
            config = json.loads(json.dumps(config))
            config["venues"]["live"].update(
                broker="alpaca", base_url=double.url, key_id_variable="APCA_LIVE_KEY_ID",
                secret_key_variable="APCA_LIVE_SECRET_KEY")
            extra_env = {"APCA_LIVE_KEY_ID": KEY_ID, "APCA_LIVE_SECRET_KEY": SECRET}
        desk = LossDesk(Path(folder), config, extra_env)
        desk.double = double
        desk.start()
        try:
            yield desk
        finally:
            desk.server.stop()
            if double:
                double.stop()


def set_double_price(double: AlpacaDoubleProcess, symbol: str, price: str) -> None:
    request = urllib.request.Request(
        double.url + "/_double/price", method="POST", data=json.dumps({"symbol": symbol, "price": price}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as reply:
        assert reply.status == 200


@pytest.fixture(scope="module")
def loss_desk() -> Iterator[LossDesk]:
    yield from _desk(STOP_CONFIG)


@pytest.fixture(scope="module", params=["paper", "alpaca"])
def demote_desk(request) -> Iterator[LossDesk]:
    yield from _desk(DEMOTE_CONFIG, live_kind=request.param)


def test_a_breach_cancels_the_open_orders_and_stops_the_strategy_within_its_tick(loss_desk):
    desk = loss_desk
    assert "alice_loser" in desk.strategies_cli("start")
    wait_for(lambda: desk.status()["state"] == "running", "the strategy to run")
    desk.server.push_price("AAPL", "100")
    wait_for(lambda: len(desk.orders()) == 3 and len(desk.open_orders()) == 2,
             "the market buy to fill and two orders to rest")
    assert sorted(side for side, _, status in desk.orders().values() if status == "filled") == ["buy"]

    # A loss of 400: under the limit, nothing changes.
    desk.server.push_price("AAPL", "60")
    time.sleep(QUIET_SECONDS)
    assert len(desk.open_orders()) == 2
    assert desk.status()["state"] == "running"
    assert desk.breaches() == []

    # A loss of 600 on the next tick, and no tick after it: canceled and stopped within this one.
    resting = desk.open_orders()
    desk.server.push_price("AAPL", "40")
    wait_for(lambda: desk.open_orders() == [] and desk.status()["state"] == "stopped",
             "the open orders to be canceled and the strategy stopped")
    assert all(desk.orders()[order_id][2] == "canceled" for order_id in resting)

    [(member, strategy, outcome, detail)] = desk.breaches()
    assert (member, strategy, outcome) == ("alice", "alice_loser", "ok")
    assert "loss rule on venue live: lost 600 today, over its max_daily_loss of 500" in detail, detail
    assert "canceled 2 open orders" in detail and "stopped alice_loser" in detail, detail

    status = desk.status()
    assert "lost 600 today, over its max_daily_loss of 500" in status["failure"], status
    table = desk.strategies_cli("status")
    assert "alice_loser: stopped: loss rule on venue live: lost 600 today" in table, table
    assert "FAILED" not in table, table
    assert "loss rule broken" in desk.server.log_text(10_000)


def test_a_restart_does_not_fire_the_handled_breach_again(loss_desk):
    desk = loss_desk
    wait_for(lambda: len(desk.breaches()) == 1, "the first test's breach")
    desk.server.stop()
    desk.start()
    wait_for(lambda: "max_daily_loss of 500" in (desk.status().get("failure") or ""),
             "the supervisor to restore the strategy's state and why it stopped")
    assert desk.status()["state"] == "stopped", "a strategy stopped by a loss rule stays stopped"
    # Still past the limit: the monitor sees the breach again, finds nothing to do, and says so.
    desk.server.push_price("AAPL", "30")
    wait_for(lambda: "nothing left to do" in desk.server.log_text(10_000), "the monitor to check the restored book")
    assert len(desk.breaches()) == 1, desk.breaches()
    assert desk.status()["state"] == "stopped"
    assert desk.open_orders() == []


def test_a_breach_on_live_demotes_the_strategy_to_paper_within_its_tick(demote_desk):
    desk = demote_desk
    assert "alice_loser" in desk.strategies_cli("start")
    wait_for(lambda: desk.status()["state"] == "running", "the strategy to run")
    assert desk.status()["venue"] == "paper"
    desk.strategies_cli("promote", "alice_loser", "live", "--token", desk.server.admin_token)
    wait_for(lambda: desk.status()["venue"] == "live" and desk.status()["state"] == "running",
             "the strategy to run on live")
    desk.server.push_price("AAPL", "100")
    wait_for(lambda: len(desk.orders("live")) == 3 and len(desk.open_orders()) == 2,
             lambda: f"the strategy's orders on live: the market buy filled, two resting (the ledger has "
                     f"{desk.server.ledger('SELECT venue, side, order_type, status, status_reason FROM orders')})")

    desk.server.push_price("AAPL", "60")
    time.sleep(QUIET_SECONDS)
    assert len(desk.open_orders()) == 2 and desk.status()["venue"] == "live" and desk.breaches() == []

    desk.server.push_price("AAPL", "40")
    wait_for(lambda: desk.open_orders() == [] and desk.status()["venue"] == "paper",
             "the open orders on live to be canceled and the strategy moved to paper")
    [(member, strategy, outcome, detail)] = desk.breaches()
    assert (member, strategy, outcome) == ("alice", "alice_loser", "ok")
    assert "loss rule on venue live: lost 600 today, over its max_daily_loss of 500" in detail, detail
    assert "canceled 2 open orders; demoted alice_loser" in detail, detail
    moves = desk.server.ledger("SELECT detail FROM audit_events WHERE action = 'strategy_promote' ORDER BY id")
    assert "to=paper by=desk reason=loss rule on venue live" in moves[-1][0], moves
    wait_for(lambda: desk.status()["state"] == "running", "the strategy to run again, on paper")
    # Its position stays in the live book.
    assert desk.server.ledger(
        "SELECT qty FROM strategy_positions WHERE strategy = 'alice_loser' AND venue = 'live'") == [("10",)]
    if desk.double:
        # On the club's Alpaca account: the three orders went there with the live keys, and both cancels too.
        posts = [r for r in desk.double.requests() if r["method"] == "POST" and r["path"] == "/v2/orders"]
        cancels = [r for r in desk.double.requests() if r["method"] == "DELETE" and r["path"].startswith("/v2/orders/")]
        assert len(posts) == 3 and len(cancels) == 2, (posts, cancels)
        assert all(r["headers"]["apca-api-key-id"] == KEY_ID for r in posts + cancels)


@pytest.mark.parametrize("loss, message", [
    ({"strategy": {"max_daily_loss": "-5"}}, '"venues.live.loss.strategy.max_daily_loss" must be a positive decimal'),
    ({"strategy": {"max_daily_los": "5"}}, 'unknown key "venues.live.loss.strategy.max_daily_los"'),
    ({"on_breach": "liquidate"}, 'on_breach "liquidate" is not a response to a breach: use "stop" or "demote"'),
])
def test_bad_loss_rules_stop_the_desk_at_start_with_a_clear_message(tmp_path, loss, message):
    config = tmp_path / "desk.json"
    config.write_text(json.dumps({"venues": {"live": {"broker": "paper", "loss": loss}}}))
    result = subprocess.run(
        [str(desk_binary()), "serve", "--port", "0", "--db", str(tmp_path / "desk.db"), "--feed", "none",
         "--config", str(config)],
        capture_output=True, text=True, timeout=WAIT_SECONDS, cwd=tmp_path, env=DeskServer._environment())
    assert result.returncode != 0
    assert message in result.stdout + result.stderr, result.stdout + result.stderr
    assert "config file" in result.stdout + result.stderr
