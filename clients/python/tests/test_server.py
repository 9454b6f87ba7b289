"""desk_client, the examples and the example strategies against the REAL desk
server binary ($DESK_BIN). These tests fail (never skip) when it is missing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from desk_client import (DeskRequestError, cancel_order, get_account, get_order, get_orders, get_positions,
                         place_order, set_user_id)

REPO = Path(__file__).resolve().parents[3]
ORDER_FIELDS = {"order_id", "member", "strategy", "symbol", "qty", "side", "order_type", "time_in_force",
                "limit_price", "stop_price", "status", "filled_qty", "filled_avg_price", "reject_reason",
                "created_at", "updated_at"}
POSITION_FIELDS = {"member", "symbol", "qty", "avg_entry_price", "realized_pnl", "market_price", "market_value",
                   "unrealized_pnl"}
ACCOUNT_FIELDS = {"member", "realized_pnl", "unrealized_pnl", "market_value", "cash_used", "open_orders",
                  "positions"}


def assert_success(response):
    assert response.status == "success", f"refused: {response.message}"
    assert str(uuid.UUID(response.order_id)) == response.order_id.lower()


# --- identity -----------------------------------------------------------------------------------------------------

def test_seed_style_order_with_user_id_in_trust_mode(dev_desk, client_env):
    dev_desk.push_price("AAPL", "145.50")
    client_env(dev_desk.url, user="trader1")
    response = place_order(symbol="AAPL", qty="10", side="buy", order_type="market", time_in_force="day")
    assert_success(response)
    assert (response.symbol, response.qty, response.side) == ("AAPL", "10", "buy")
    assert response.order_status == "filled" and Decimal(response.filled_qty) == 10
    assert dev_desk.ledger_order(response.order_id) == ("trader1", "", "AAPL", "10", "buy", "filled")


def test_order_classes_trailing_stops_notional_and_client_order_ids_by_keyword(dev_desk, client_env):
    dev_desk.push_price("AAPL", "145.50")
    client_env(dev_desk.url, user="trader3")
    bracket = place_order("AAPL", 2, "buy", order_type="limit", limit_price="140", time_in_force="gtc",
                          order_class="bracket", take_profit={"limit_price": "160"},
                          stop_loss={"stop_price": "130", "limit_price": "129.50"}, client_order_id="entry-1")
    assert_success(bracket)
    assert bracket.order_class == "bracket" and bracket.order_status == "new"
    assert [(leg.side, leg.order_type, leg.limit_price, leg.stop_price, leg.order_status) for leg in bracket.legs] == [
        ("sell", "limit", "160", "", "held"), ("sell", "stop_limit", "129.5", "130", "held")]
    listed = get_order(bracket.order_id)
    assert listed["order_class"] == "bracket"
    assert [leg["order_id"] for leg in listed["legs"]] == [leg.order_id for leg in bracket.legs]
    assert get_order(bracket.legs[0].order_id)["parent_id"] == bracket.order_id
    again = place_order("AAPL", 2, "buy", client_order_id="entry-1")
    assert again.status == "error" and "client_order_id must be unique" in again.message
    notional = place_order("AAPL", side="buy", notional="291")
    assert_success(notional)
    assert notional.qty == "2" and notional.order_status == "filled"
    assert get_order(notional.order_id)["notional"] == "291"
    trailing = place_order("AAPL", 1, "sell", order_type="trailing_stop", trail_percent=Decimal("2.5"))
    assert_success(trailing)
    assert get_order(trailing.order_id)["trail_percent"] == "2.5"
    refused = place_order("AAPL", 1, "sell", order_type="trailing_stop", trail_price="1", trail_percent="2")
    assert refused.status == "error" and "trail_price or trail_percent, not both" in refused.message
    refused = place_order("AAPL", 1, "buy", extended_hours=True)
    assert refused.status == "error" and "extended hours order must be DAY limit orders" in refused.message


def test_trust_mode_without_user_id_is_default_user(dev_desk, client_env):
    dev_desk.push_price("AAPL", "145.50")
    client_env(dev_desk.url)
    response = place_order("AAPL", "1", "buy")
    assert_success(response)
    assert dev_desk.ledger_order(response.order_id)[0] == "default_user"


def test_set_user_id_overrides_the_environment(dev_desk, client_env):
    dev_desk.push_price("AAPL", "145.50")
    client_env(dev_desk.url, user="trader1")
    set_user_id("trader2")
    response = place_order("AAPL", 1, "buy")
    assert_success(response)
    assert dev_desk.ledger_order(response.order_id)[0] == "trader2"


def test_token_identifies_member_and_strategy(desk, client_env):
    desk.push_price("MSFT", "300")
    client_env(desk.url, token=desk.issue_token("alice", strategy="momentum"))
    response = place_order("MSFT", Decimal("2"), "buy")
    assert_success(response)
    assert desk.ledger_order(response.order_id)[:3] == ("alice", "momentum", "MSFT")


def test_token_with_its_own_member_as_user_id(desk, client_env):
    # What the supervisor gives a strategy: USER_ID and DESK_TOKEN for the same member.
    desk.push_price("MSFT", "300")
    client_env(desk.url, user="alice", token=desk.issue_token("alice", strategy="s2"))
    response = place_order("MSFT", "1", "buy")
    assert_success(response)
    assert desk.ledger_order(response.order_id)[:2] == ("alice", "s2")


def test_no_token_is_refused_with_401_and_the_reason(desk, client_env):
    client_env(desk.url, user="alice")
    response = place_order("MSFT", "1", "buy")
    assert response.status == "error"
    assert "token" in response.message.lower()
    with pytest.raises(DeskRequestError) as refused:
        get_account()
    assert refused.value.status_code == 401


def test_token_with_another_members_user_id_is_refused_with_403(desk, client_env):
    client_env(desk.url, user="bob", token=desk.issue_token("alice"))
    response = place_order("MSFT", "1", "buy")
    assert response.status == "error"
    assert "bob" in response.message and "alice" in response.message
    with pytest.raises(DeskRequestError) as refused:
        get_orders()
    assert refused.value.status_code == 403
    assert desk.ledger("SELECT count(*) FROM orders WHERE member = 'bob'") == [(0,)]


# --- rejections and number formatting ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, fragments", [
    (dict(symbol="AAPL", qty="-5", side="buy"), ["qty"]),
    (dict(symbol="AAPL", qty=0, side="buy"), ["qty"]),
    (dict(symbol="AAPL", qty="1", side="buy", order_type="limit", limit_price="145.60000000000002"),
     ["decimal", "penn"]),
    # float arithmetic: 140.01 + 0.10 is 140.10999999999999 and is sent as such, not rounded
    (dict(symbol="AAPL", qty="1", side="buy", order_type="limit", limit_price=140.01 + 0.10), ["decimal", "penn"]),
    (dict(symbol="AAPL", qty="1", side="hold"), ["side"]),
    (dict(symbol="AAPL", qty="1", side="buy", order_type="limit"), ["limit_price"]),
    (dict(symbol="ZZZZ", qty="1", side="buy"), ["no price"]),
])
def test_rejections_come_back_as_status_error(dev_desk, client_env, kwargs, fragments):
    dev_desk.push_price("AAPL", "145.50")
    client_env(dev_desk.url, user="carol")
    response = place_order(**kwargs)
    assert response.status == "error", response
    assert any(fragment in response.message.lower() for fragment in fragments), response.message
    assert not response.order_id or dev_desk.ledger_order(response.order_id)[-1] == "rejected"


@pytest.mark.parametrize("qty, limit_price, sent_qty, sent_limit", [
    ("3", "120.10", "3", "120.10"),
    (3, 120.1, "3", "120.1"),
    (Decimal("3"), Decimal("120.10"), "3", "120.10"),
    (0.5, Decimal("1.2E+2"), "0.5", "120"),
    (Decimal("2.50"), 99.99, "2.50", "99.99"),
])
def test_numbers_and_strings_are_sent_exactly(dev_desk, client_env, qty, limit_price, sent_qty, sent_limit):
    client_env(dev_desk.url, user="dave")
    # time_in_force "day": the desk allows fractional quantities only on day orders
    response = place_order("IBM", qty, "buy", order_type="limit", time_in_force="day", limit_price=limit_price)
    assert_success(response)
    assert response.qty == sent_qty  # the desk echoes the text it received
    order = get_order(response.order_id)
    assert Decimal(order["qty"]) == Decimal(sent_qty)
    assert Decimal(order["limit_price"]) == Decimal(sent_limit)
    assert order["stop_price"] is None


# --- transports ----------------------------------------------------------------------------------------------------

def test_unix_socket_end_to_end(dev_desk, client_env):
    dev_desk.push_price("AAPL", "145.50")
    client_env(dev_desk.unix_url, user="erin")
    response = place_order("AAPL", "3", "buy")
    assert_success(response)
    assert dev_desk.ledger_order(response.order_id)[0] == "erin"
    assert get_order(response.order_id)["member"] == "erin"
    assert [(p["symbol"], Decimal(p["qty"])) for p in get_positions()] == [("AAPL", 3)]


def test_unix_socket_with_a_token(desk, client_env):
    desk.push_price("AAPL", "145.50")
    client_env(desk.unix_url, token=desk.issue_token("erin", strategy="unix"))
    response = place_order("AAPL", "1", "sell")
    assert_success(response)
    assert desk.ledger_order(response.order_id)[:2] == ("erin", "unix")


def test_threads_share_the_session(dev_desk, client_env):
    import threading
    dev_desk.push_price("AAPL", "145.50")
    client_env(dev_desk.url, user="gina")
    results = []
    threads = [threading.Thread(target=lambda: results.append(place_order("AAPL", "1", "buy").status))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["success"] * 8
    assert len(dev_desk.ledger_orders("gina")) == 8


# --- the read API --------------------------------------------------------------------------------------------------

def test_read_api(desk, client_env):
    desk.push_price("GOOG", "100")
    desk.push_price("AMZN", "50")
    client_env(desk.url, token=desk.issue_token("frank", strategy="reader"))
    filled = place_order("GOOG", "4", "buy")
    other = place_order("AMZN", "2", "buy")
    resting = place_order("GOOG", "2", "buy", order_type="limit", time_in_force="gtc", limit_price="50.00")
    for response in (filled, other, resting):
        assert_success(response)
    assert resting.order_status == "new" and Decimal(resting.filled_qty or "0") == 0

    orders = get_orders()
    assert {order["order_id"] for order in orders} == {filled.order_id, other.order_id, resting.order_id}
    assert all(set(order) >= ORDER_FIELDS for order in orders)
    assert {order["member"] for order in orders} == {"frank"}
    assert [order["order_id"] for order in get_orders(status="open")] == [resting.order_id]
    assert {order["order_id"] for order in get_orders(status="closed")} == {filled.order_id, other.order_id}
    assert {order["order_id"] for order in get_orders(status="filled", symbol="GOOG")} == {filled.order_id}
    assert {order["order_id"] for order in get_orders(status="all", symbol="AMZN")} == {other.order_id}

    one = get_order(filled.order_id)
    assert (one["symbol"], one["side"], one["status"], one["strategy"]) == ("GOOG", "buy", "filled", "reader")
    assert Decimal(one["filled_qty"]) == 4 and Decimal(one["filled_avg_price"]) == 100
    assert one["limit_price"] is None and one["reject_reason"] is None

    canceled = cancel_order(resting.order_id)
    assert canceled["order_id"] == resting.order_id
    assert canceled["status"] in ("canceled", "cancelled")
    assert get_order(resting.order_id)["status"] == canceled["status"]
    assert get_orders(status="open") == []
    with pytest.raises(DeskRequestError) as again:
        cancel_order(resting.order_id)
    assert 400 <= again.value.status_code < 500 and again.value.message
    with pytest.raises(DeskRequestError) as missing:
        get_order(str(uuid.uuid4()))
    assert missing.value.status_code == 404 and missing.value.message

    positions = {position["symbol"]: position for position in get_positions()}
    assert set(positions) == {"GOOG", "AMZN"}
    assert all(set(position) >= POSITION_FIELDS for position in positions.values())
    assert Decimal(positions["GOOG"]["qty"]) == 4 and Decimal(positions["GOOG"]["avg_entry_price"]) == 100

    account = get_account()
    assert set(account) >= ACCOUNT_FIELDS
    assert account["member"] == "frank"
    assert Decimal(account["cash_used"]) == 4 * 100 + 2 * 50
    assert account["open_orders"] == 0 and account["positions"] == 2


def test_members_see_only_their_own_orders_and_admins_see_all(desk, client_env):
    desk.push_price("GOOG", "100")
    client_env(desk.url, token=desk.issue_token("hana"))
    mine = place_order("GOOG", "1", "buy")
    assert_success(mine)
    client_env(desk.url, token=desk.issue_token("ivan"))
    assert mine.order_id not in {order["order_id"] for order in get_orders(status="all")}
    with pytest.raises(DeskRequestError) as hidden:
        get_order(mine.order_id)
    assert hidden.value.status_code == 404
    with pytest.raises(DeskRequestError):
        cancel_order(mine.order_id)
    client_env(desk.url, token=desk.admin_token)
    assert mine.order_id in {order["order_id"] for order in get_orders(status="all")}


# --- examples and strategies as subprocesses -------------------------------------------------------------------------

def run(command, stdin: str, env: dict, shell: bool = False) -> subprocess.CompletedProcess:
    """Runs a strategy process with only the given environment (plus PATH with
    this interpreter's folder first, so `python` is the one with desk_client)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60, cwd=REPO, shell=shell,
                          env={"PATH": path, **env})


def test_seed_readme_command_places_an_order(dev_desk):
    dev_desk.push_price("AAPL", "145.50")
    command = """echo '{"symbol": "AAPL", "price": 145.50}' | python examples/simple_strategy.py"""
    result = run(command, "", {"DESK_SERVER_URL": dev_desk.url, "USER_ID": "readme_user"}, shell=True)
    assert result.returncode == 0, result.stderr
    orders = dev_desk.ledger_orders("readme_user")
    assert [(symbol, side, qty, kind) for _, symbol, side, qty, kind, _ in orders] == [("AAPL", "buy", "10", "market")]
    assert orders[0][0] in result.stderr  # the order id is logged


def test_simple_strategy_respects_buy_below_and_survives_bad_lines(dev_desk):
    dev_desk.push_price("AAPL", "145.50")
    ticks = '{"symbol": "AAPL", "price": 160}\nnot json\n\n{"symbol": "AAPL", "price": 99.5, "venue": "X"}\n'
    result = run([sys.executable, "examples/simple_strategy.py"], ticks,
                 {"DESK_SERVER_URL": dev_desk.url, "USER_ID": "simple_user", "BUY_BELOW": "100"})
    assert result.returncode == 0, result.stderr
    assert "line 2" in result.stderr
    assert len(dev_desk.ledger_orders("simple_user")) == 1


def test_limit_order_example_sends_clean_prices(dev_desk):
    ticks = '{"symbol": "AAPL", "price": 145.7}\n{"symbol": "AAPL", "price": "145.5"}\n'
    result = run([sys.executable, "examples/limit_order_strategy.py"], ticks,
                 {"DESK_SERVER_URL": dev_desk.url, "USER_ID": "limit_user", "LIMIT_OFFSET": "0.10"})
    assert result.returncode == 0, result.stderr
    orders = dev_desk.ledger_orders("limit_user")
    # float arithmetic would have sent 145.7 - 0.10 = "145.59999999999999" and been refused
    assert [(kind, Decimal(limit)) for _, _, _, _, kind, limit in orders] == [
        ("limit", Decimal("145.60")), ("limit", Decimal("145.40"))]


def strategy(folder: str):
    config = json.loads((REPO / "strategies" / folder / "config.json").read_text())
    assert set(config) >= {"user_id", "name", "description", "version", "env", "symbols"}
    assert all(isinstance(value, str) for value in config["env"].values())
    return REPO / "strategies" / folder / "strategy.py", config


def tick_lines(symbol: str, prices) -> str:
    return "".join(json.dumps({"symbol": symbol, "price": price, "volume": 100, "ts": n}) + "\n"
                   for n, price in enumerate(prices))


@pytest.mark.parametrize("folder, ticks, sides", [
    # momentum: three up-ticks buy, three down-ticks sell (RUN_LENGTH from config.json)
    ("example_alice", tick_lines("AAPL", [100, 100.5, 101, 101.5, 101, 100.5, 100]), ["buy", "sell"]),
    # mean reversion: 20 ticks at 100 make the average, a drop of 2% buys
    ("example_bob", tick_lines("AAPL", [100] * 20 + [98]), ["buy"]),
])
def test_example_strategies_trade_and_exit_at_eof(desk, folder, ticks, sides):
    desk.push_price("AAPL", "98")
    script, config = strategy(folder)
    member = config["user_id"]
    token = desk.issue_token(member, strategy=folder)
    before = len(desk.ledger_orders(member))
    result = run([sys.executable, str(script)], "garbage line\n" + ticks,
                 {**config["env"], "DESK_SERVER_URL": desk.url, "USER_ID": member, "DESK_TOKEN": token})
    assert result.returncode == 0, result.stderr
    placed = desk.ledger_orders(member)[before:]
    assert [side for _, _, side, _, _, _ in placed] == sides, result.stderr
    assert {desk.ledger_order(order_id)[1] for order_id, *_ in placed} == {folder}


@pytest.mark.parametrize("folder, ticks, env, expected", [
    # a market order for a symbol without a price: refused by the desk
    ("example_alice", tick_lines("NOPRICE", [10, 11, 12, 13]), {}, "refused"),
    # a token the desk does not know: every order refused (401)
    ("example_bob", tick_lines("AAPL", [100] * 20 + [90]), {"DESK_TOKEN": "desk_not_a_real_token"}, "refused"),
    # no desk at all: the strategy logs it and keeps reading
    ("example_alice", tick_lines("AAPL", [10, 11, 12, 13]), {"DESK_SERVER_URL": "http://127.0.0.1:9"}, "not sent"),
])
def test_example_strategies_survive_refusals_and_bad_ticks(desk, folder, ticks, env, expected):
    script, config = strategy(folder)
    member = config["user_id"]
    result = run([sys.executable, str(script)], ticks + '{"symbol": "X", "price": "abc"}\n{"symbol": "X"}\n',
                 {**config["env"], "DESK_SERVER_URL": desk.url, "USER_ID": member,
                  "DESK_TOKEN": desk.issue_token(member, strategy=folder), **env})
    assert result.returncode == 0, result.stderr
    assert expected in result.stderr
    assert "unusable price" in result.stderr
