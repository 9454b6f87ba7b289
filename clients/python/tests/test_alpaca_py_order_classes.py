"""Done-means 2 of issue 26 on the paper venue: alpaca-py, unchanged, places a
bracket, a trailing stop, a replace and a notional order through `/v2` of a real
`desk serve` (paper venue, prices fed through the admin API), and the desk's
answers — legs, statuses, fills, the replaced order — are Alpaca's."""
from __future__ import annotations

import json
import tempfile
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterator

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, OrderType, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.stream import TradingStream

from conftest import DeskServer


class PaperDesk:
    """A desk on its paper venue with no feed: prices come from `price`."""

    def __init__(self, folder: Path):
        self.server = DeskServer(folder, trust_user_header=False, extra_args=("--feed", "none"))
        self.client = TradingClient("alice", self.server.issue_token("alice"), paper=True,
                                    url_override=self.server.url)

    def price(self, symbol: str, price: str) -> None:
        self.server.push_price(symbol, price)

    def quote(self, symbol: str, bid: str, ask: str) -> None:
        """A quote line (no trade) through the admin API."""
        body = {"symbol": symbol, "type": "quote", "bid": bid, "ask": ask, "bid_size": "100", "ask_size": "100"}
        request = urllib.request.Request(
            self.server.url + "/admin/prices", method="POST", data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.server.admin_token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as reply:
            assert reply.status == 200, reply.read()


@pytest.fixture()
def desk() -> Iterator[PaperDesk]:
    with tempfile.TemporaryDirectory(prefix="desk-classes-") as folder:
        desk = PaperDesk(Path(folder))
        try:
            yield desk
        finally:
            desk.server.stop()


def until(what: str, check: Callable[[], bool], seconds: float = 10) -> None:
    """Waits for `check` (the paper venue books a price's fills as the desk hears it)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_bracket_fills_its_entry_then_its_take_profit_cancels_its_stop_loss(desk: PaperDesk):
    alpaca = desk.client
    desk.price("AAPL", "100")
    entry = alpaca.submit_order(MarketOrderRequest(
        symbol="AAPL", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, order_class=OrderClass.BRACKET,
        take_profit=TakeProfitRequest(limit_price=110), stop_loss=StopLossRequest(stop_price=95, limit_price=94.5)))
    assert entry.order_class == OrderClass.BRACKET
    assert [(leg.side, leg.type, leg.limit_price, leg.stop_price) for leg in entry.legs] == [
        (OrderSide.SELL, OrderType.LIMIT, "110", None), (OrderSide.SELL, OrderType.STOP_LIMIT, "94.5", "95")]
    assert all(leg.qty == "10" for leg in entry.legs)
    take_profit, stop_loss = (leg.id for leg in entry.legs)
    # The entry fills at the market; its exits then work.
    until("the entry's fill", lambda: alpaca.get_order_by_id(entry.id).status == OrderStatus.FILLED)
    filled = alpaca.get_order_by_id(entry.id)
    assert filled.filled_qty == "10" and Decimal(filled.filled_avg_price) == 100
    assert [leg.status for leg in filled.legs] == [OrderStatus.NEW, OrderStatus.NEW]
    assert alpaca.get_open_position("AAPL").qty == "10"
    # Nested, the legs are under their order only; flat, each is an order of its own.
    nested = alpaca.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, nested=True))
    assert [order.id for order in nested] == [entry.id]
    flat = {order.id for order in alpaca.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))}
    assert flat == {entry.id, take_profit, stop_loss}
    take_profit, stop_loss = str(take_profit), str(stop_loss)
    # The stop loss moves up (its exit replaced): the new one belongs to the same bracket.
    moved = alpaca.replace_order_by_id(stop_loss, ReplaceOrderRequest(stop_price=96))
    assert str(moved.replaces) == str(stop_loss) and moved.stop_price == "96" and moved.order_class == OrderClass.BRACKET
    assert alpaca.get_order_by_id(stop_loss).status == OrderStatus.REPLACED
    stop_loss = str(moved.id)
    # The bid reaches the take profit: it fills at its limit, the stop loss is canceled.
    desk.quote("AAPL", "110.5", "110.6")
    until("the take profit's fill", lambda: alpaca.get_order_by_id(take_profit).status == OrderStatus.FILLED)
    # One leg's fill cancels the other, the replaced stop loss's successor.
    assert Decimal(alpaca.get_order_by_id(take_profit).filled_avg_price) == 110
    until("the stop loss's cancel", lambda: alpaca.get_order_by_id(stop_loss).status == OrderStatus.CANCELED)
    assert alpaca.get_all_positions() == []


def test_a_trailing_stop_follows_the_high_and_sells_when_the_price_falls_by_its_trail(desk: PaperDesk):
    alpaca = desk.client
    desk.price("AAPL", "100")
    alpaca.submit_order(MarketOrderRequest(symbol="AAPL", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    until("the position", lambda: alpaca.get_all_positions() != [])
    trailing = alpaca.submit_order(TrailingStopOrderRequest(
        symbol="AAPL", qty=5, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, trail_percent=10))
    assert trailing.type == OrderType.TRAILING_STOP and trailing.trail_percent == "10"
    assert trailing.status in (OrderStatus.NEW, OrderStatus.ACCEPTED, OrderStatus.PENDING_NEW)
    desk.price("AAPL", "120")  # the high: the stop is 108
    desk.price("AAPL", "109")  # above the stop: nothing happens
    until("the high-water mark", lambda: alpaca.get_order_by_id(trailing.id).hwm == "120")
    assert alpaca.get_order_by_id(trailing.id).status == OrderStatus.NEW
    desk.price("AAPL", "107")  # through it: a market sell
    until("the trailing stop's fill", lambda: alpaca.get_order_by_id(trailing.id).status == OrderStatus.FILLED)
    sold = alpaca.get_order_by_id(trailing.id)
    assert sold.filled_qty == "5" and Decimal(sold.filled_avg_price) <= 108
    assert alpaca.get_all_positions() == []


def test_replace_order_by_id_replaces_a_working_order(desk: PaperDesk):
    alpaca = desk.client
    desk.price("MSFT", "420")
    resting = alpaca.submit_order(LimitOrderRequest(
        symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=400))
    new = alpaca.replace_order_by_id(resting.id, ReplaceOrderRequest(qty=2, limit_price=401))
    assert new.id != resting.id and str(new.replaces) == str(resting.id)
    assert (new.qty, new.limit_price, new.side, new.symbol) == ("2", "401", OrderSide.BUY, "MSFT")
    assert new.status in (OrderStatus.NEW, OrderStatus.ACCEPTED, OrderStatus.PENDING_NEW)
    old = alpaca.get_order_by_id(resting.id)
    assert old.status == OrderStatus.REPLACED and str(old.replaced_by) == str(new.id)
    assert [order.id for order in alpaca.get_orders()] == [new.id]
    # The replacement works: it fills when the price comes down to it.
    desk.price("MSFT", "400.5")
    until("the replacement's fill", lambda: alpaca.get_order_by_id(new.id).status == OrderStatus.FILLED)
    assert alpaca.get_open_position("MSFT").qty == "2"
    # A filled order cannot be replaced.
    error = pytest.raises(Exception, alpaca.replace_order_by_id, new.id, ReplaceOrderRequest(qty=3)).value
    assert getattr(error, "status_code", None) == 422 and "unable to replace order" in str(error)


def test_a_notional_order_buys_the_amount_over_the_price(desk: PaperDesk):
    alpaca = desk.client
    desk.price("MSFT", "400")
    order = alpaca.submit_order(MarketOrderRequest(
        symbol="MSFT", notional=500, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert order.notional == "500"
    until("the notional order's fill", lambda: alpaca.get_order_by_id(order.id).status == OrderStatus.FILLED)
    filled = alpaca.get_order_by_id(order.id)
    assert filled.qty == "1.25" and filled.filled_qty == "1.25" and Decimal(filled.filled_avg_price) == 400
    assert alpaca.get_open_position("MSFT").qty == "1.25"


def test_trade_updates_carry_the_legs_events_and_replaced(desk: PaperDesk):
    alpaca = desk.client
    events = []
    stream = TradingStream("alice", desk.server.issue_token("alice"), paper=True,
                           url_override=desk.server.url.replace("http://", "ws://") + "/stream")

    async def on_update(update):
        events.append(update)

    stream.subscribe_trade_updates(on_update)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    try:
        desk.price("MSFT", "420")
        desk.price("AAPL", "100")
        # Until the stream listens: a probe order's events arrive.
        probes = set()

        def probe_seen() -> bool:
            probe = alpaca.submit_order(LimitOrderRequest(
                symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=1))
            probes.add(str(probe.id))
            alpaca.cancel_order_by_id(probe.id)
            time.sleep(0.1)
            return any(str(e.order.id) in probes for e in events)

        until("the stream to listen", probe_seen, seconds=30)
        resting = alpaca.submit_order(LimitOrderRequest(
            symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=400))
        new = alpaca.replace_order_by_id(resting.id, ReplaceOrderRequest(limit_price=401))
        entry = alpaca.submit_order(MarketOrderRequest(
            symbol="AAPL", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=110), stop_loss=StopLossRequest(stop_price=95)))
        take_profit, stop_loss = (str(leg.id) for leg in entry.legs)
        until("the legs to work", lambda: all(
            any(str(e.order.id) == leg and e.event == "new" for e in events) for leg in (take_profit, stop_loss)))
        desk.quote("AAPL", "110.5", "110.6")

        def seen(order_id: str, event: str) -> bool:
            return any(str(e.order.id) == order_id and e.event == event for e in events)

        until("the take profit's fill and the stop loss's cancel",
              lambda: seen(take_profit, "fill") and seen(stop_loss, "canceled"))
        until("the replaced event", lambda: seen(str(resting.id), "replaced"))
    finally:
        stream.stop()
        thread.join(timeout=10)
    replaced = next(e for e in events if e.event == "replaced")
    assert replaced.order.status == OrderStatus.REPLACED and str(replaced.order.replaced_by) == str(new.id)
    fill = next(e for e in events if e.event == "fill" and str(e.order.id) == take_profit)
    assert fill.order.order_class == OrderClass.BRACKET and fill.price == 110 and fill.position_qty == 0
