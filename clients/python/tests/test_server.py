"""desk_client against the real desk server binary."""
import os
import socket
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest

import desk_client
from desk_client import (DeskConnectionError, DeskRequestError, DeskTimeout, cancel_order, get_account, get_order,
                         get_orders, get_positions, place_order, set_user_id)

REPO = Path(__file__).resolve().parents[3]


def test_seed_style_order_with_user_id_in_development_mode(dev_desk, client_env):
    dev_desk.push_price("AAPL", "145.50")
    client_env(dev_desk.url, user="trader1")
    response = place_order(symbol="AAPL", qty="10", side="buy", order_type="market", time_in_force="day")
    assert response.status == "success", response.message
    assert response.order_status == "filled"
    assert response.filled_qty == "10"
    assert dev_desk.ledger_order(response.order_id) == ("trader1", "", "AAPL", "10", "buy", "filled")


def test_set_user_id_overrides_the_environment(dev_desk, client_env):
    dev_desk.push_price("AAPL", "145.50")
    client_env(dev_desk.url, user="trader1")
    set_user_id("trader2")
    response = place_order("AAPL", 1, "buy")
    assert dev_desk.ledger_order(response.order_id)[0] == "trader2"


def test_token_identifies_member_and_strategy(desk, client_env):
    desk.push_price("MSFT", "300")
    client_env(desk.url, token=desk.issue_token("alice", strategy="momentum"))
    response = place_order("MSFT", Decimal("2"), "buy")
    assert response.status == "success", response.message
    assert desk.ledger_order(response.order_id)[:2] == ("alice", "momentum")


def test_no_token_is_refused_with_the_reason(desk, client_env):
    client_env(desk.url, user="alice")
    response = place_order("MSFT", "1", "buy")
    assert response.status == "error"
    assert "bearer token" in response.message


def test_token_with_another_members_user_id_is_refused(desk, client_env):
    client_env(desk.url, user="bob", token=desk.issue_token("alice"))
    response = place_order("MSFT", "1", "buy")
    assert response.status == "error"
    assert "does not match" in response.message


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(symbol="AAPL", qty="-5", side="buy"), "qty"),
    (dict(symbol="AAPL", qty="1", side="buy", order_type="limit", limit_price=150.3 - 0.10), "sub-penny"),
    (dict(symbol="AAPL", qty="1", side="hold"), "side"),
    (dict(symbol="ZZZZ", qty="1", side="buy"), "no price is known"),
])
def test_rejections_come_back_as_status_error(dev_desk, client_env, kwargs, fragment):
    client_env(dev_desk.url, user="carol")
    before = len(dev_desk.ledger_orders("carol"))
    response = place_order(**kwargs)
    assert response.status == "error"
    assert fragment in response.message
    assert response.symbol == kwargs["symbol"]
    assert len(dev_desk.ledger_orders("carol")) == before


def test_numbers_are_sent_exactly(dev_desk, client_env):
    client_env(dev_desk.url, user="dave")
    response = place_order("AAPL", 0.1, "buy", order_type="limit", limit_price=Decimal("120.10"))
    assert response.status == "success", response.message
    assert dev_desk.ledger_order(response.order_id)[3] == "0.1"
    assert get_order(response.order_id)["limit_price"] == "120.1"


def test_unix_socket_end_to_end(dev_desk, client_env):
    dev_desk.push_price("AAPL", "145.50")
    client_env(f"unix://{dev_desk.socket}", user="erin")
    response = place_order("AAPL", "3", "buy")
    assert response.status == "success", response.message
    assert dev_desk.ledger_order(response.order_id)[0] == "erin"
    assert get_positions()[0]["qty"] == "3"


def test_read_api(desk, client_env):
    desk.push_price("GOOG", "100")
    client_env(desk.url, token=desk.issue_token("frank"))
    filled = place_order("GOOG", "4", "buy")
    resting = place_order("GOOG", "2", "buy", order_type="limit", time_in_force="gtc", limit_price="50")
    assert resting.order_status == "new"
    assert {order["order_id"] for order in get_orders()} == {filled.order_id, resting.order_id}
    assert [order["order_id"] for order in get_orders(status="open")] == [resting.order_id]
    assert get_order(filled.order_id)["fills"][0]["price"] == "100"
    assert cancel_order(resting.order_id)["status"] == "canceled"
    with pytest.raises(DeskRequestError) as refused:
        cancel_order(resting.order_id)
    assert refused.value.status_code == 422 and "already canceled" in refused.value.message
    with pytest.raises(DeskRequestError) as missing:
        get_order("00000000-0000-0000-0000-000000000000")
    assert missing.value.status_code == 404
    position = get_positions()[0]
    assert (position["symbol"], position["qty"], position["avg_entry_price"]) == ("GOOG", "4", "100")
    account = get_account()
    assert account["user_id"] == "frank" and account["cash_used"] == "400" and account["open_orders"] == 0


def test_connection_error_names_the_url(client_env):
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{port.getsockname()[1]}"
    port.close()
    client_env(url, user="x")
    with pytest.raises(DeskConnectionError, match=url):
        place_order("AAPL", "1", "buy")
    client_env("unix:///nonexistent/desk.sock", user="x")
    with pytest.raises(DeskConnectionError, match="/nonexistent/desk.sock"):
        place_order("AAPL", "1", "buy")


def test_timeout_is_its_own_error(client_env):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    client_env(url, user="x")
    try:
        with pytest.raises(DeskTimeout, match=url):
            place_order("AAPL", "1", "buy", timeout=0.5)
    finally:
        listener.close()


def test_one_session_shared_by_threads(dev_desk, client_env):
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
    from desk_client import client
    assert client._get_transport().session() is client._get_transport().session()


def run_python(script, stdin, env):
    return subprocess.run([sys.executable, str(script)], input=stdin, capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], **env})


def test_seed_readme_command_places_an_order(dev_desk):
    dev_desk.push_price("AAPL", "145.50")
    # echo '{"symbol": "AAPL", "price": 145.50}' | python examples/simple_strategy.py
    result = run_python(REPO / "examples" / "simple_strategy.py", '{"symbol": "AAPL", "price": 145.50}\n',
                        {"DESK_SERVER_URL": dev_desk.url, "USER_ID": "readme_user"})
    assert result.returncode == 0, result.stderr
    assert "order placed" in result.stderr
    assert [(symbol, side, qty) for _, symbol, side, qty in dev_desk.ledger_orders("readme_user")] == [
        ("AAPL", "buy", "10")]


def test_limit_order_example_sends_clean_prices(dev_desk):
    result = run_python(REPO / "examples" / "limit_order_strategy.py", '{"symbol": "AAPL", "price": 145.5}\n',
                        {"DESK_SERVER_URL": dev_desk.url, "USER_ID": "limit_user"})
    assert result.returncode == 0, result.stderr
    orders = dev_desk.ledger_orders("limit_user")
    assert len(orders) == 1
    import sqlite3
    db = sqlite3.connect(f"file:{dev_desk.db}?mode=ro", uri=True)
    assert db.execute("SELECT limit_price FROM orders WHERE order_id = ?", (orders[0][0],)).fetchone() == ("145.4",)


@pytest.mark.parametrize("folder, member, ticks", [
    ("example_alice", "alice", [("AAPL", p) for p in ["100", "100.5", "101", "101.5", "101", "100.5", "100"]]),
    ("example_bob", "bob", [("AAPL", "100")] * 20 + [("AAPL", "98")]),
])
def test_example_strategies_trade_and_exit_at_eof(desk, folder, member, ticks):
    import json
    desk.push_price("AAPL", "98")
    config = json.loads((REPO / "strategies" / folder / "config.json").read_text())
    assert config["user_id"] == member
    lines = "".join(json.dumps({"symbol": s, "price": float(p), "type": "trade"}) + "\n" for s, p in ticks)
    result = run_python(REPO / "strategies" / folder / "strategy.py", lines,
                        {**config["env"], "DESK_SERVER_URL": desk.url,
                         "DESK_TOKEN": desk.issue_token(member, strategy=folder)})
    assert result.returncode == 0, result.stderr
    assert desk.ledger_orders(member), result.stderr
