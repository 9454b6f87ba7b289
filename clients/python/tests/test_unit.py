"""desk_client pieces that need no server: the public API's shape, number
formatting, identity headers and the market data reader."""
import inspect
import io
import logging
from decimal import Decimal

import pytest

import desk_client
from desk_client import OrderResponse, format_decimal, get_server_url, market_data
from desk_client.client import _identity_headers


def test_the_seed_api_is_exported_from_the_package_root():
    for name in ("place_order", "set_user_id", "get_server_url", "get_order", "cancel_order", "get_orders",
                 "get_positions", "get_account", "market_data", "DeskError", "DeskConnectionError", "DeskTimeout",
                 "DeskRequestError"):
        assert hasattr(desk_client, name), name
    parameters = inspect.signature(desk_client.place_order).parameters
    # The seed's positional parameters, in the seed's order; qty and side may be left out (a notional
    # order needs no qty), and issue 26's fields are keyword-only, named as Alpaca names them.
    assert [(p.name, p.default) for p in parameters.values()] == [
        ("symbol", inspect.Parameter.empty), ("qty", None), ("side", ""),
        ("order_type", "market"), ("time_in_force", "day"), ("limit_price", None), ("stop_price", None),
        ("timeout", 10), ("notional", None), ("trail_price", None), ("trail_percent", None), ("order_class", None),
        ("take_profit", None), ("stop_loss", None), ("extended_hours", None), ("client_order_id", None)]
    assert [p.name for p in parameters.values() if p.kind == inspect.Parameter.KEYWORD_ONLY] == [
        "notional", "trail_price", "trail_percent", "order_class", "take_profit", "stop_loss", "extended_hours",
        "client_order_id"]
    for error in (desk_client.DeskConnectionError, desk_client.DeskTimeout, desk_client.DeskRequestError):
        assert issubclass(error, desk_client.DeskError)
    assert {field.name: field.number for field in OrderResponse.DESCRIPTOR.fields} == {
        "status": 1, "order_id": 2, "message": 3, "symbol": 4, "qty": 5, "side": 6, "filled_qty": 7,
        "order_status": 8, "order_class": 9, "legs": 10}
    assert {field.name: field.number for field in desk_client.OrderRequest.DESCRIPTOR.fields} == {
        "symbol": 1, "qty": 2, "side": 3, "order_type": 4, "time_in_force": 5, "limit_price": 6, "stop_price": 7,
        "trail_price": 8, "trail_percent": 9, "notional": 10, "extended_hours": 11, "order_class": 12,
        "take_profit": 13, "stop_loss": 14, "client_order_id": 15}


@pytest.mark.parametrize("value, text", [
    ("10", "10"), (" 2.5 ", "2.5"), ("145.60", "145.60"), (10, "10"), (0, "0"), (-3, "-3"),
    (2.5, "2.5"), (0.1, "0.1"), (145.5, "145.5"), (10.0, "10.0"), (1e-7, "0.0000001"), (1e16, "10000000000000000"),
    (140.01 + 0.10, "140.10999999999999"), (150.3 - 0.10, "150.20000000000002"), (145.50 + 0.10, "145.6"),
    (Decimal("145.60"), "145.60"), (Decimal("1E+2"), "100"), (Decimal("1E-5"), "0.00001"), (None, ""),
])
def test_format_decimal_keeps_what_python_shows(value, text):
    assert format_decimal(value, "qty") == text


def test_take_profit_and_stop_loss_take_their_own_keys_only():
    from desk_client.client import _exit_fields
    assert _exit_fields({"stop_price": 140, "limit_price": "139.5"}, "stop_loss", ("stop_price", "limit_price")) == {
        "stop_price": "140", "limit_price": "139.5"}
    with pytest.raises(ValueError, match="stop_loss has unknown keys \\['price'\\]"):
        _exit_fields({"price": 1}, "stop_loss", ("stop_price", "limit_price"))
    with pytest.raises(TypeError, match="take_profit must be a dict"):
        _exit_fields("160", "take_profit", ("limit_price",))


@pytest.mark.parametrize("value, error", [
    (True, TypeError), (False, TypeError), ([1], TypeError), (b"10", TypeError),
    (float("nan"), ValueError), (float("inf"), ValueError), (float("-inf"), ValueError),
])
def test_format_decimal_refuses(value, error):
    with pytest.raises(error, match="qty"):
        format_decimal(value, "qty")


def test_place_order_refuses_a_bool_before_sending(client_env):
    client_env("http://127.0.0.1:9")  # discard port: never contacted
    with pytest.raises(TypeError):
        desk_client.place_order("AAPL", True, "buy")
    with pytest.raises(TypeError):
        desk_client.place_order("AAPL", "1", "buy", order_type="limit", limit_price=False)


def test_server_url_defaults_and_environment(client_env, monkeypatch):
    assert get_server_url() == "http://localhost:8080"
    client_env("unix:///run/desk.sock")
    assert get_server_url() == "unix:///run/desk.sock"


def test_identity_headers(client_env):
    client_env("http://x")
    assert _identity_headers()["X-User-ID"] == "default_user"          # the seed's fallback
    assert "Authorization" not in _identity_headers()
    client_env("http://x", user="alice")
    assert _identity_headers()["X-User-ID"] == "alice"
    desk_client.set_user_id("bob")
    assert _identity_headers()["X-User-ID"] == "bob"                   # set_user_id wins over USER_ID
    client_env("http://x", token="tok123")
    headers = _identity_headers()
    assert headers["Authorization"] == "Bearer tok123"
    assert "X-User-ID" not in headers                                  # no default_user next to a token
    client_env("http://x", user="alice", token="tok123")
    assert _identity_headers()["X-User-ID"] == "alice"


def test_market_data_yields_ticks_and_reports_bad_lines(caplog):
    stream = io.StringIO('{"symbol": "AAPL", "price": 145.5, "volume": 100, "extra": {"a": 1}}\n'
                         '\n'
                         '   \n'
                         'not json\n'
                         '[1, 2]\n'
                         '{"symbol": "MSFT"}\n'
                         '{"symbol": "MSFT", "price": "300.25"}\n'
                         '{"symbol": "GOOG", "price": 99')  # truncated last line, no newline
    with caplog.at_level(logging.WARNING, logger="desk_client"):
        ticks = list(market_data(stream))
    assert ticks == [{"symbol": "AAPL", "price": 145.5, "volume": 100, "extra": {"a": 1}},
                     {"symbol": "MSFT", "price": "300.25"}]
    reports = [(record.name, record.getMessage()) for record in caplog.records]
    assert [name for name, _ in reports] == ["desk_client"] * 4  # one message per bad line, none for blanks
    for number, (_, message) in zip((4, 5, 6, 8), reports):
        assert f"line {number} " in message


def test_market_data_reads_stdin_by_default(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO('{"symbol": "AAPL", "price": 1}\n'))
    assert list(market_data()) == [{"symbol": "AAPL", "price": 1}]


def test_market_data_reports_to_stderr_without_logging_setup(capfd):
    # A strategy that never configures logging still sees the report on stderr.
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-c", "from desk_client import market_data\n"
                             "print(list(market_data()))"], input='oops\n{"symbol": "A", "price": 1}\n',
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout.strip() == "[{'symbol': 'A', 'price': 1}]"
    assert "line 1" in result.stderr and "not valid JSON" in result.stderr
