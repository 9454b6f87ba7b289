"""Issue 25's venues with the real, pinned alpaca-py: one member, two keys — a
paper key and a live key (two tokens of the same member, each bound to one venue)
— against a real `desk serve` with `paper` and an `alpaca` venue named `live` on
the `alpaca-double` stand-in. Each key sees its own account (its venue's capital
allocation), its own orders and its own positions; only the live key's orders
reach the stand-in."""
from __future__ import annotations

import json
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, MarketOrderRequest

from conftest import DeskServer
from test_alpaca import KEY_ID, SECRET, AlpacaDoubleProcess


class TwoVenueDesk:
    def __init__(self, folder: Path, double: AlpacaDoubleProcess):
        self.config = folder / "desk-config.json"
        self.config.write_text(json.dumps({
            "venues": {"paper": {"broker": "paper"},
                       "live": {"broker": "alpaca", "base_url": double.url,
                                "key_id_variable": "LIVE_KEY", "secret_key_variable": "LIVE_SECRET"}},
            "default_venue": "paper",
            "risk": {"members": {"alice": {"capital": {"paper": "100000", "live": "5000"}}}}}))
        self.server = DeskServer(folder, trust_user_header=False,
                                 extra_args=("--feed", "none", "--config", str(self.config)),
                                 extra_env={"LIVE_KEY": KEY_ID, "LIVE_SECRET": SECRET})
        self.paper_key = self.issue("alice")
        self.live_key = self.issue("alice", "--venue", "live")
        self.server.push_price("AAPL", "190")

    def issue(self, *args: str) -> str:
        out = self.server.desk("tokens", "issue", *args, "--config", str(self.config)).stdout
        return out.splitlines()[0].strip()

    def client(self, secret: str) -> TradingClient:
        return TradingClient("alice", secret, paper=True, url_override=self.server.url)


@pytest.fixture(scope="module")
def venues_desk() -> Iterator[TwoVenueDesk]:
    with tempfile.TemporaryDirectory(prefix="desk-venues-") as folder:
        os.chmod(folder, 0o755)
        double = AlpacaDoubleProcess(Path(folder))
        desk = None
        try:
            desk = TwoVenueDesk(Path(folder), double)
            desk.double = double
            yield desk
        finally:
            if desk:
                desk.server.stop()
            double.stop()


def test_each_key_is_its_venues_account(venues_desk: TwoVenueDesk):
    paper = venues_desk.client(venues_desk.paper_key).get_account()
    live = venues_desk.client(venues_desk.live_key).get_account()
    assert Decimal(paper.cash) == Decimal("100000")
    assert Decimal(live.cash) == Decimal("5000")


def test_orders_and_positions_per_venue(venues_desk: TwoVenueDesk):
    paper = venues_desk.client(venues_desk.paper_key)
    live = venues_desk.client(venues_desk.live_key)
    paper_order = paper.submit_order(MarketOrderRequest(symbol="AAPL", qty=10, side=OrderSide.BUY,
                                                        time_in_force=TimeInForce.DAY))
    live_order = live.submit_order(MarketOrderRequest(symbol="AAPL", qty=2, side=OrderSide.BUY,
                                                      time_in_force=TimeInForce.DAY))
    every = GetOrdersRequest(status=QueryOrderStatus.ALL)
    assert [o.id for o in paper.get_orders(every)] == [paper_order.id]
    assert [o.id for o in live.get_orders(every)] == [live_order.id]
    # Only the live key's order reached the stand-in, with the live venue's keys and the desk's order id.
    sent = [r for r in venues_desk.double.requests() if r["method"] == "POST" and r["path"] == "/v2/orders"]
    assert [json.loads(r["body"])["client_order_id"] for r in sent] == [str(live_order.id)]
    assert all(r["headers"].get("apca-api-key-id") == KEY_ID for r in sent)
    # Each key's positions are its venue's book.
    assert [(p.symbol, p.qty) for p in paper.get_all_positions()] == [("AAPL", "10")]
    live_positions = []
    for _ in range(100):
        live_positions = [(p.symbol, p.qty) for p in live.get_all_positions()]
        if live_positions:
            break
        time.sleep(0.05)
    assert live_positions == [("AAPL", "2")]
    assert Decimal(paper.get_account().cash) == Decimal("100000") - Decimal("1900")
    assert Decimal(live.get_account().cash) < Decimal("5000")
    # The paper key cannot read the live order.
    with pytest.raises(Exception):
        paper.get_order_by_id(live_order.id)
