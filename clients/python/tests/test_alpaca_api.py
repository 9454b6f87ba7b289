"""The desk's Alpaca-compatible API with the real, pinned alpaca-py (see
pyproject.toml) against a real `desk serve` on loopback: every TradingClient call
parses and returns the desk's state for the calling member, orders go through the
desk's pipeline (risk limits, kill switch, capital), and a second member — or an
attacker holding only their own token — sees and touches none of the first
member's orders, positions or events."""
from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterator
from uuid import UUID

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)

from conftest import DeskServer

CAPITAL = Decimal("25000")
BOB_CAPITAL = Decimal("1000")


class AlpacaDesk:
    """A desk with capital allocations (25000 each, bob 1000), tokens for three
    members, and a TradingClient per member pointed at it."""

    def __init__(self, folder: Path):
        config = folder / "desk-config.json"
        config.write_text(json.dumps({"risk": {
            "defaults": {"capital": str(CAPITAL), "max_order_qty": "500"},
            "members": {"bob": {"capital": str(BOB_CAPITAL)}}}}))
        self.server = DeskServer(folder, trust_user_header=False,
                                 extra_args=("--feed", "none", "--config", str(config)))
        self.tokens = {member: self.server.issue_token(member) for member in ("alice", "bob", "carol")}
        self.server.push_price("AAPL", "190.25")
        self.server.push_price("MSFT", "420.5")

    def client(self, member: str, key_id: str | None = None, secret: str | None = None) -> TradingClient:
        return TradingClient(key_id or member, secret or self.tokens[member], paper=True,
                             url_override=self.server.url)

    def oauth_client(self, member: str) -> TradingClient:
        return TradingClient(oauth_token=self.tokens[member], paper=True, url_override=self.server.url)

    def admin(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.server.url + path, method=method, data=json.dumps(body or {}).encode(),
            headers={"Authorization": f"Bearer {self.server.admin_token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as reply:
            return json.load(reply)


@pytest.fixture(scope="module")
def desk() -> Iterator[AlpacaDesk]:
    with tempfile.TemporaryDirectory(prefix="desk-v2-") as folder:
        desk = AlpacaDesk(Path(folder))
        try:
            yield desk
        finally:
            desk.server.stop()


def api_error(call) -> APIError:
    with pytest.raises(APIError) as raised:
        call()
    return raised.value


def test_account_is_the_members_allocation(desk: AlpacaDesk):
    account = desk.client("carol").get_account()
    assert Decimal(account.cash) == CAPITAL and Decimal(account.buying_power) == CAPITAL
    assert Decimal(account.equity) == CAPITAL and account.account_number == "carol"
    assert desk.client("bob").get_account().buying_power == str(BOB_CAPITAL)
    assert not account.trading_blocked


def test_market_order_lands_under_the_member_and_cash_follows_the_fill_exactly(desk: AlpacaDesk):
    alice = desk.client("alice")
    order = alice.submit_order(MarketOrderRequest(symbol="AAPL", qty=10, side=OrderSide.BUY,
                                                  time_in_force=TimeInForce.DAY, client_order_id="alice-first"))
    assert isinstance(order.id, UUID) and order.client_order_id == "alice-first"
    assert order.status == OrderStatus.FILLED and order.filled_avg_price == "190.25"
    assert desk.server.ledger_order(str(order.id))[:2] == ("alice", "")
    assert alice.get_order_by_id(order.id).status == OrderStatus.FILLED
    assert alice.get_order_by_client_id("alice-first").id == order.id
    account = alice.get_account()
    assert Decimal(account.cash) == CAPITAL - Decimal("1902.50")
    assert Decimal(account.buying_power) == CAPITAL - Decimal("1902.50")
    assert Decimal(account.long_market_value) == Decimal("1902.50")
    assert Decimal(account.equity) == CAPITAL
    position = alice.get_open_position("AAPL")
    assert (position.qty, position.avg_entry_price, position.side.value) == ("10", "190.25", "long")
    assert [p.symbol for p in alice.get_all_positions()] == ["AAPL"]


def test_client_order_id_is_unique_per_member_not_across_members(desk: AlpacaDesk):
    request = dict(symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                   client_order_id="shared-name")
    desk.client("alice").submit_order(MarketOrderRequest(**request))
    error = api_error(lambda: desk.client("alice").submit_order(MarketOrderRequest(**request)))
    assert error.status_code == 422 and "client_order_id must be unique" in error.message
    # Another member may use the same name, and it names their own order.
    carol_order = desk.client("carol").submit_order(MarketOrderRequest(**request))
    assert desk.client("carol").get_order_by_client_id("shared-name").id == carol_order.id
    assert desk.client("alice").get_order_by_client_id("shared-name").id != carol_order.id


def test_limit_orders_list_filter_and_cancel(desk: AlpacaDesk):
    alice = desk.client("alice")
    resting = alice.submit_order(LimitOrderRequest(symbol="AAPL", qty=2, side=OrderSide.BUY, limit_price=150.5,
                                                   time_in_force=TimeInForce.GTC))
    assert resting.status in (OrderStatus.NEW, OrderStatus.ACCEPTED) and resting.limit_price == "150.5"
    # The resting buy claims buying power at its limit price.
    reserved = Decimal("301.0")
    assert Decimal(alice.get_account().buying_power) == CAPITAL - Decimal("1902.50") - Decimal("420.5") - reserved
    open_ids = [o.id for o in alice.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))]
    assert open_ids == [resting.id]
    everything = alice.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500))
    assert resting.id in [o.id for o in everything] and len(everything) >= 3
    msft = alice.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, symbols=["MSFT"]))
    assert msft and all(o.symbol == "MSFT" for o in msft)
    ascending = alice.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, direction="asc"))
    assert [o.submitted_at for o in ascending] == sorted(o.submitted_at for o in ascending)
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert alice.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, after=later)) == []
    assert alice.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=1))[0].id == resting.id
    assert alice.cancel_order_by_id(resting.id) is None
    assert alice.get_order_by_id(resting.id).status == OrderStatus.CANCELED
    error = api_error(lambda: alice.cancel_order_by_id(resting.id))
    assert error.status_code == 422 and "not cancelable" in error.message
    # Cancel all: every open order of the member, 207 with one entry each.
    ids = {alice.submit_order(LimitOrderRequest(symbol="MSFT", qty=1, side=OrderSide.BUY, limit_price=100,
                                                time_in_force=TimeInForce.DAY)).id for _ in range(2)}
    results = alice.cancel_orders()
    assert {r.id for r in results} == ids and all(r.status == 200 for r in results)
    assert alice.get_orders() == []


def test_order_class_rules_are_refused_with_alpacas_422_naming_the_field(desk: AlpacaDesk):
    alice = desk.client("alice")
    # A buy bracket's stop loss above its take profit.
    bracket = MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                 order_class=OrderClass.BRACKET, take_profit=TakeProfitRequest(limit_price=100),
                                 stop_loss=StopLossRequest(stop_price=300))
    error = api_error(lambda: alice.submit_order(bracket))
    assert error.status_code == 422 and error.code == 42210000 and "stop_loss.stop_price" in error.message
    trailing = TrailingStopOrderRequest(symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.IOC,
                                        trail_percent=1)
    error = api_error(lambda: alice.submit_order(trailing))
    assert error.status_code == 422 and "trailing_stop orders must be DAY or GTC" in error.message
    extended = MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                  extended_hours=True)
    assert "extended hours order must be DAY limit orders" in api_error(lambda: alice.submit_order(extended)).message
    notional = MarketOrderRequest(symbol="AAPL", notional=500, side=OrderSide.BUY, time_in_force=TimeInForce.GTC)
    assert "notional orders must be DAY orders" in api_error(lambda: alice.submit_order(notional)).message
    resting = alice.submit_order(LimitOrderRequest(symbol="MSFT", qty=1, side=OrderSide.BUY, limit_price=100,
                                                   time_in_force=TimeInForce.DAY))
    alice.cancel_order_by_id(resting.id)
    error = api_error(lambda: alice.replace_order_by_id(resting.id, ReplaceOrderRequest(qty=3)))
    assert error.status_code == 422 and "unable to replace order" in error.message


def test_risk_limits_capital_and_kill_switch_refuse_with_the_desks_message(desk: AlpacaDesk):
    bob = desk.client("bob")
    error = api_error(lambda: bob.submit_order(MarketOrderRequest(symbol="AAPL", qty=6, side=OrderSide.BUY,
                                                                  time_in_force=TimeInForce.DAY)))
    assert error.status_code == 403 and "insufficient buying power" in error.message
    assert "1141.5" in error.message and "1000" in error.message  # 6 x 190.25 needed, the allocation
    error = api_error(lambda: bob.submit_order(MarketOrderRequest(symbol="AAPL", qty=501, side=OrderSide.SELL,
                                                                  time_in_force=TimeInForce.DAY)))
    assert error.status_code == 403 and "max_order_qty" in error.message
    bob.submit_order(MarketOrderRequest(symbol="AAPL", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert Decimal(bob.get_account().cash) == Decimal("48.75")  # 1000 - 5 x 190.25, exactly
    desk.admin("POST", "/admin/halt", {"member": "bob", "reason": "test"})
    try:
        error = api_error(lambda: bob.submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.SELL,
                                                                      time_in_force=TimeInForce.DAY)))
        assert error.status_code == 403 and "halt" in error.message.lower()
        assert bob.get_account().trading_blocked
    finally:
        desk.admin("POST", "/admin/resume", {"member": "bob"})
    # A sell of what is held needs no buying power; the proceeds come back as cash.
    bob.submit_order(MarketOrderRequest(symbol="AAPL", qty=5, side=OrderSide.SELL, time_in_force=TimeInForce.DAY))
    assert Decimal(bob.get_account().cash) == BOB_CAPITAL


def test_close_positions(desk: AlpacaDesk):
    carol = desk.client("carol")
    carol.submit_order(MarketOrderRequest(symbol="AAPL", qty=4, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    closing = carol.close_position("AAPL", ClosePositionRequest(percentage="50"))
    assert closing.side == OrderSide.SELL and closing.qty == "2" and closing.status == OrderStatus.FILLED
    assert carol.get_open_position("AAPL").qty == "2"
    results = carol.close_all_positions(cancel_orders=True)
    assert sorted(r.symbol for r in results) == ["AAPL", "MSFT"] and all(r.status == 200 for r in results)
    assert carol.get_all_positions() == []
    error = api_error(lambda: carol.get_open_position("AAPL"))
    assert error.status_code == 404 and error.message == "position does not exist"
    assert Decimal(carol.get_account().cash) == CAPITAL  # bought and sold at the same prices


def test_clock_calendar_and_assets(desk: AlpacaDesk):
    client = desk.oauth_client("carol")  # Authorization: Bearer, the SDK's oauth_token
    clock = client.get_clock()
    assert clock.is_open and clock.next_close > clock.timestamp
    days = client.get_calendar(GetCalendarRequest(start=date(2024, 1, 1), end=date(2024, 1, 7)))
    # The exchange calendar: New Year's Day is a holiday.
    assert [d.date for d in days] == [date(2024, 1, d) for d in (2, 3, 4, 5)]
    assert days[0].open.hour == 9 and days[0].open.minute == 30
    asset = client.get_asset("AAPL")
    assert asset.symbol == "AAPL" and asset.tradable and isinstance(asset.id, UUID)
    assert api_error(lambda: client.get_asset("not a symbol")).status_code == 404


def test_everything_else_answers_alpacas_404_shape(desk: AlpacaDesk):
    client = desk.client("carol")
    error = api_error(lambda: client.get_watchlists())
    assert error.status_code == 404 and error.code == 40410000 and "/v2/watchlists" in error.message


# MARK: attackers


def test_another_member_sees_and_touches_none_of_alices_orders_or_positions(desk: AlpacaDesk):
    alice, bob = desk.client("alice"), desk.client("bob")
    resting = alice.submit_order(LimitOrderRequest(symbol="MSFT", qty=1, side=OrderSide.BUY, limit_price=100,
                                                   time_in_force=TimeInForce.GTC, client_order_id="alice-secret"))
    try:
        assert resting.id not in [o.id for o in bob.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))]
        assert api_error(lambda: bob.get_order_by_id(resting.id)).status_code == 404
        assert api_error(lambda: bob.get_order_by_client_id("alice-secret")).status_code == 404
        assert api_error(lambda: bob.get_order_by_client_id(str(resting.id))).status_code == 404
        assert api_error(lambda: bob.cancel_order_by_id(resting.id)).status_code == 404
        assert api_error(lambda: bob.replace_order_by_id(resting.id, ReplaceOrderRequest(qty=2))).status_code == 404
        assert resting.id not in [r.id for r in bob.cancel_orders()]
        assert alice.get_order_by_id(resting.id).status in (OrderStatus.NEW, OrderStatus.ACCEPTED)
        assert "AAPL" in [p.symbol for p in alice.get_all_positions()]
        assert "AAPL" not in [p.symbol for p in bob.get_all_positions()]
        assert api_error(lambda: bob.get_open_position("AAPL")).status_code == 404
        bob.close_all_positions(cancel_orders=True)
        assert alice.get_order_by_id(resting.id).status in (OrderStatus.NEW, OrderStatus.ACCEPTED)
        assert alice.get_open_position("AAPL").qty == "10"
    finally:
        alice.cancel_order_by_id(resting.id)


def test_a_key_id_naming_another_member_with_ones_own_secret_is_refused(desk: AlpacaDesk):
    spoofed = desk.client("bob", key_id="alice", secret=desk.tokens["bob"])
    error = api_error(spoofed.get_account)
    assert error.status_code == 401 and error.code == 40110000 and "alice" in error.message
    error = api_error(lambda: spoofed.submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                                                     time_in_force=TimeInForce.DAY)))
    assert error.status_code == 401
    assert desk.server.ledger("SELECT COUNT(*) FROM orders WHERE member = 'alice' AND qty = '1' "
                              "AND symbol = 'AAPL'") == [(0,)]
    made_up = desk.client("alice", secret="not-a-token")
    assert api_error(made_up.get_account).status_code == 401
    # A key id alone (no secret) is not an identity either.
    request = urllib.request.Request(desk.server.url + "/v2/account", headers={"APCA-API-KEY-ID": "alice"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    body = json.load(refused.value)
    assert refused.value.code == 401 and body["code"] == 40110000 and "APCA-API-SECRET-KEY" in body["message"]


def test_latest_market_data_from_the_desks_own_prices(desk: AlpacaDesk):
    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.requests import StockLatestBarRequest, StockLatestTradeRequest

    desk.server.push_price("AMZN", "181.375")
    client = StockHistoricalDataClient("carol", desk.tokens["carol"], url_override=desk.server.url)
    trades = client.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols=["AMZN", "AAPL"]))
    assert trades["AMZN"].price == 181.375 and trades["AAPL"].price == 190.25
    bar = client.get_stock_latest_bar(StockLatestBarRequest(symbol_or_symbols="AMZN"))["AMZN"]
    assert bar.close == 181.375 and bar.timestamp.tzinfo is not None
    nobody = StockHistoricalDataClient("carol", "not-a-token", url_override=desk.server.url)
    assert api_error(lambda: nobody.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols="AMZN"))
                     ).status_code == 401
