"""Issue 26's done-means 2, forwarded natively: the real, pinned alpaca-py,
unchanged, against a real `desk serve` whose `live` venue is the real
`alpaca-double`. A bracket (`MarketOrderRequest(order_class=OrderClass.BRACKET,
take_profit=..., stop_loss=...)`) reaches the stand-in as ONE request in Alpaca's
shape (never three orders), a `TrailingStopOrderRequest` as a trailing stop, a
`ReplaceOrderRequest` as `PATCH /v2/orders/{id}`; the exits' events come back into
the desk's ledger under the exits' own ids, and `desk reconcile` is clean after."""
from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterator

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, TimeInForce
from alpaca.trading.requests import (GetOrderByIdRequest, LimitOrderRequest, MarketOrderRequest, ReplaceOrderRequest,
                                     StopLossRequest, TakeProfitRequest, TrailingStopOrderRequest)

from conftest import DeskServer
from test_alpaca import KEY_ID, SECRET, AlpacaDoubleProcess


class NativeDesk:
    """A desk with the paper venue and an Alpaca venue `live` on the stand-in; alice's key is bound to `live`."""

    def __init__(self, folder: Path, double: AlpacaDoubleProcess):
        self.double = double
        self.config = folder / "desk-config.json"
        self.config.write_text(json.dumps({
            "venues": {"paper": {"broker": "paper"},
                       "live": {"broker": "alpaca", "base_url": double.url,
                                "key_id_variable": "LIVE_KEY", "secret_key_variable": "LIVE_SECRET"}},
            "default_venue": "paper"}))
        self.server = DeskServer(folder, trust_user_header=False,
                                 extra_args=("--feed", "none", "--config", str(self.config)),
                                 extra_env={"LIVE_KEY": KEY_ID, "LIVE_SECRET": SECRET})
        out = self.server.desk("tokens", "issue", "alice", "--venue", "live", "--config", str(self.config)).stdout
        self.client = TradingClient("alice", out.splitlines()[0].strip(), paper=True, url_override=self.server.url)

    def price(self, symbol: str, price: str) -> None:
        """The price at the desk (admission values orders by it) and at the stand-in (it fills by it)."""
        self.server.push_price(symbol, price)
        request = urllib.request.Request(
            self.double.url + "/_double/price", method="POST",
            data=json.dumps({"symbol": symbol, "price": price}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as reply:
            assert reply.status == 200

    def sent(self, method: str, path_prefix: str) -> list:
        """The requests of `method` under `path_prefix` the stand-in received, bodies parsed."""
        return [json.loads(r["body"]) for r in self.double.requests()
                if r["method"] == method and r["path"].startswith(path_prefix)]

    def ledger_status(self, order_id: str):
        row = self.server.ledger_order(str(order_id))
        return row[5] if row else None


def wait(condition: Callable[[], object], what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    assert condition(), f"timed out waiting for {what}"


@pytest.fixture(scope="module")
def native() -> Iterator[NativeDesk]:
    with tempfile.TemporaryDirectory(prefix="desk-native-") as folder:
        os.chmod(folder, 0o755)
        double = AlpacaDoubleProcess(Path(folder))
        desk = None
        try:
            desk = NativeDesk(Path(folder), double)
            yield desk
        finally:
            if desk:
                desk.server.stop()
            double.stop()


def test_a_bracket_is_one_request_in_alpacas_shape_and_its_exits_come_back(native: NativeDesk):
    native.price("AAPL", "190")
    entry = native.client.submit_order(MarketOrderRequest(
        symbol="AAPL", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, order_class=OrderClass.BRACKET,
        take_profit=TakeProfitRequest(limit_price=200), stop_loss=StopLossRequest(stop_price=185)))
    assert entry.order_class == OrderClass.BRACKET
    posts = native.sent("POST", "/v2/orders")
    assert len(posts) == 1, posts
    body = posts[0]
    assert body["client_order_id"] == str(entry.id)
    assert body["order_class"] == "bracket" and body["type"] == "market" and body["qty"] == "5"
    assert Decimal(body["take_profit"]["limit_price"]) == Decimal("200")
    assert Decimal(body["stop_loss"]["stop_price"]) == Decimal("185")
    assert "limit_price" not in body["stop_loss"]

    # The entry fills at the stand-in; its exits (the desk's own ids) start working.
    wait(lambda: native.ledger_status(entry.id) == "filled", "the entry's fill in the ledger")
    nested = native.client.get_order_by_id(entry.id, GetOrderByIdRequest(nested=True))
    legs = {leg.order_type.value: leg for leg in nested.legs or []}
    assert set(legs) == {"limit", "stop"}, nested.legs
    take_profit, stop_loss = legs["limit"].id, legs["stop"].id
    wait(lambda: native.ledger_status(take_profit) == "new" and native.ledger_status(stop_loss) == "new",
         "both exits working in the ledger")

    # The price falls through the stop: the stop loss fills, the take profit is canceled — under the desk's ids.
    native.price("AAPL", "184.5")
    wait(lambda: native.ledger_status(stop_loss) == "filled", "the stop loss's fill in the ledger")
    wait(lambda: native.ledger_status(take_profit) == "canceled", "the take profit canceled in the ledger")
    fills = native.server.ledger("SELECT order_id, qty, price FROM fills WHERE order_id = ?", str(stop_loss))
    assert [(qty, Decimal(str(price))) for _, qty, price in fills] in ([("5", Decimal("184.5"))],
                                                                       [(5, Decimal("184.5"))])
    # Still one order request: the exits were never sent as orders of their own.
    assert len(native.sent("POST", "/v2/orders")) == 1


def test_a_trailing_stop_is_forwarded_natively(native: NativeDesk):
    native.price("MSFT", "420")
    order = native.client.submit_order(TrailingStopOrderRequest(
        symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, trail_percent=1))
    body = next(b for b in native.sent("POST", "/v2/orders") if b["client_order_id"] == str(order.id))
    assert body["type"] == "trailing_stop" and Decimal(body["trail_percent"]) == Decimal("1")
    assert "stop_price" not in body and "trail_price" not in body
    wait(lambda: native.ledger_status(order.id) == "new", "the trailing stop working")
    # A buy's low-water mark follows the price down; 1% above it, it triggers.
    native.price("MSFT", "400")
    native.price("MSFT", "404")
    wait(lambda: native.ledger_status(order.id) == "filled", "the trailing stop's fill")
    fills = native.server.ledger("SELECT price FROM fills WHERE order_id = ?", str(order.id))
    assert [Decimal(str(price)) for (price,) in fills] == [Decimal("404")]


def test_a_replace_is_a_patch_and_the_new_order_is_the_desks(native: NativeDesk):
    native.price("AAPL", "190")
    old = native.client.submit_order(LimitOrderRequest(
        symbol="AAPL", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=150))
    wait(lambda: native.ledger_status(old.id) == "new", "the limit order working")
    new = native.client.replace_order_by_id(old.id, ReplaceOrderRequest(qty=3, limit_price=155.5))
    assert new.id != old.id
    patches = native.sent("PATCH", "/v2/orders/")
    assert len(patches) == 1, patches
    assert patches[0]["client_order_id"] == str(new.id)
    assert Decimal(patches[0]["limit_price"]) == Decimal("155.5") and Decimal(patches[0]["qty"]) == 3
    wait(lambda: native.ledger_status(old.id) == "replaced", "the old order replaced in the ledger")
    wait(lambda: native.ledger_status(new.id) == "new", "the new order working")
    # The new order lives at the stand-in under the desk's id; canceling it there goes through the desk.
    native.client.cancel_order_by_id(new.id)
    wait(lambda: native.ledger_status(new.id) == "canceled", "the new order canceled")


def test_a_market_order_fills_at_the_stand_ins_quote(native: NativeDesk):
    native.price("MSFT", "404")
    request = urllib.request.Request(
        native.double.url + "/_double/data/quote", method="POST",
        data=json.dumps({"symbol": "MSFT", "bid": "403.9", "ask": "404.1", "bid_size": 3, "ask_size": 5}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as reply:
        assert reply.status == 200
    order = native.client.submit_order(MarketOrderRequest(
        symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    wait(lambda: native.ledger_status(order.id) == "filled", "the market order's fill")
    fills = native.server.ledger("SELECT price FROM fills WHERE order_id = ?", str(order.id))
    assert [Decimal(str(price)) for (price,) in fills] == [Decimal("404.1")]


def test_reconcile_is_clean_afterwards(native: NativeDesk):
    time.sleep(0.3)  # the last stream events land
    report = json.loads(native.server.desk("reconcile", "--json", "--server", native.server.url).stdout)
    assert report["outside_orders"] == [], report
    assert report["unknown_to_broker"] == [], report
    assert report["position_differences"] == [], report
    log = native.server.log_text(100_000)
    # Every event the stand-in sent was for an order the desk knows (the exits under their desk ids).
    assert "did not place" not in log
    assert SECRET not in log
