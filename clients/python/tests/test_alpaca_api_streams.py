"""The desk's Alpaca streams with the real alpaca-py: `TradingStream` at `/stream`
gets the member's own fills and nothing of another member's, `StockDataStream` at
`/v2/iex` gets the desk's own ticks (MessagePack, as the SDK asks); a raw client
checks the JSON codec and the refusals (another member's key id with one's own
secret, listening before authenticating)."""
from __future__ import annotations

import json
import os
import threading
import time
from uuid import UUID

from alpaca.data.live import StockDataStream
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
from alpaca.trading.stream import TradingStream
from websockets.sync.client import connect

from test_alpaca_api import AlpacaDesk, desk  # noqa: F401 (the fixture: a desk of this module's own)

WAIT_SECONDS = float(os.environ.get("DESK_TEST_WAIT_SECONDS", "30"))  # how long a stream may take to deliver


def ws_url(desk: AlpacaDesk, path: str) -> str:
    return desk.server.url.replace("http://", "ws://") + path


def run_in_thread(stream) -> threading.Thread:
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    return thread


def test_trading_stream_carries_only_the_members_own_events(desk: AlpacaDesk):
    events = {"alice": [], "bob": []}
    streams = {}
    for member in events:
        stream = TradingStream(member, desk.tokens[member], paper=True, url_override=ws_url(desk, "/stream"))

        async def on_update(update, member=member):
            events[member].append(update)

        stream.subscribe_trade_updates(on_update)
        streams[member] = stream
    threads = [run_in_thread(stream) for stream in streams.values()]
    alice, bob = desk.client("alice"), desk.client("bob")
    alice_ids, bob_ids = set(), set()
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            alice_ids.add(alice.submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                                                time_in_force=TimeInForce.DAY)).id)
            resting = bob.submit_order(LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, limit_price=100,
                                                         time_in_force=TimeInForce.DAY))
            bob_ids.add(resting.id)
            bob.cancel_order_by_id(resting.id)
            alice_fills = [e for e in events["alice"] if e.event == "fill" and e.order.id in alice_ids]
            bob_cancels = [e for e in events["bob"] if e.event == "canceled" and e.order.id in bob_ids]
            if alice_fills and bob_cancels:
                break
            time.sleep(0.2)
        # One more round after both listen: its events must reach only their own member.
        alice_ids.add(alice.submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                                            time_in_force=TimeInForce.DAY)).id)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and len([e for e in events["alice"] if e.event == "fill"]) < 2:
            time.sleep(0.1)
    finally:
        for stream in streams.values():
            stream.stop()
        for thread in threads:
            thread.join(timeout=10)
    fills = [e for e in events["alice"] if e.event == "fill"]
    assert len(fills) >= 2, events["alice"]
    fill = fills[-1]
    assert fill.order.symbol == "AAPL" and fill.order.status.value == "filled" and fill.price == 190.25
    assert isinstance(fill.execution_id, UUID) and fill.qty == 1 and fill.position_qty >= 1
    assert fill.timestamp is not None
    assert all(e.order.id in alice_ids for e in events["alice"])
    assert events["bob"] and all(e.order.id in bob_ids for e in events["bob"])
    assert {e.event for e in events["bob"]} <= {"new", "canceled"}


def test_stock_data_stream_receives_the_desks_ticks(desk: AlpacaDesk):
    stream = StockDataStream("carol", desk.tokens["carol"], url_override=ws_url(desk, "/v2/iex"))
    trades = []

    async def on_trade(trade):
        trades.append(trade)

    stream.subscribe_trades(on_trade, "NVDA")
    thread = run_in_thread(stream)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and not trades:
            desk.server.push_price("NVDA", "875.125")
            desk.server.push_price("AMD", "150")  # not subscribed: never sent
            time.sleep(0.2)
    finally:
        stream.stop()
        thread.join(timeout=10)
    assert trades, "no trade reached StockDataStream"
    assert all(t.symbol == "NVDA" for t in trades)
    assert trades[0].price == 875.125 and trades[0].timestamp.tzinfo is not None


def test_json_clients_get_json_and_keys_are_checked(desk: AlpacaDesk):
    with connect(ws_url(desk, "/v2/test"), open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10)) == [{"T": "success", "msg": "connected"}]
        ws.send(json.dumps({"action": "subscribe", "trades": ["NVDA"]}))
        assert json.loads(ws.recv(timeout=10))[0]["code"] == 401
        ws.send(json.dumps({"action": "auth", "key": "alice", "secret": desk.tokens["bob"]}))
        assert json.loads(ws.recv(timeout=10)) == [{"T": "error", "code": 402, "msg": "auth failed"}]
        ws.send(json.dumps({"action": "auth", "key": "bob", "secret": desk.tokens["bob"]}))
        assert json.loads(ws.recv(timeout=10)) == [{"T": "success", "msg": "authenticated"}]
        ws.send(json.dumps({"action": "subscribe", "trades": ["NVDA"]}))
        assert json.loads(ws.recv(timeout=10))[0]["trades"] == ["NVDA"]
        deadline = time.monotonic() + WAIT_SECONDS
        trade = None
        while time.monotonic() < deadline and trade is None:
            desk.server.push_price("NVDA", "880.5")
            try:
                trade = json.loads(ws.recv(timeout=0.5))[0]
            except TimeoutError:
                pass
        assert trade and trade["T"] == "t" and trade["S"] == "NVDA" and trade["p"] == 880.5
        assert trade["t"].endswith("Z")


def test_trading_stream_refuses_a_spoofed_key_id_and_listening_before_auth(desk: AlpacaDesk):
    with connect(ws_url(desk, "/stream"), open_timeout=10) as ws:
        ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        reply = json.loads(ws.recv(timeout=10))
        assert reply == {"stream": "authorization", "data": {"status": "unauthorized", "action": "listen"}}
        ws.send(json.dumps({"action": "authenticate",
                            "data": {"key_id": "alice", "secret_key": desk.tokens["bob"]}}))
        reply = json.loads(ws.recv(timeout=10))
        assert reply["data"]["status"] == "unauthorized"
        ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        assert json.loads(ws.recv(timeout=10))["data"]["status"] == "unauthorized"
        # Alice trades meanwhile (her events are published before the order is answered); the
        # refused connection's next message is the answer to its next request, not her fill.
        desk.client("alice").submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                                             time_in_force=TimeInForce.DAY))
        ws.send(json.dumps({"action": "ping"}))
        assert json.loads(ws.recv(timeout=10))["stream"] == "error"
    with connect(ws_url(desk, "/stream"), open_timeout=10) as ws:
        ws.send(json.dumps({"action": "authenticate", "data": {"oauth_token": desk.tokens["bob"]}}))
        assert json.loads(ws.recv(timeout=10))["data"] == {"status": "authorized", "action": "authenticate"}
        ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        assert json.loads(ws.recv(timeout=10)) == {"stream": "listening", "data": {"streams": ["trade_updates"]}}


def test_trading_stream_speaks_messagepack_when_asked(desk: AlpacaDesk):
    import msgpack

    with connect(ws_url(desk, "/stream"), open_timeout=10,
                 additional_headers={"Content-Type": "application/msgpack"}) as ws:
        ws.send(msgpack.packb({"action": "authenticate",
                               "data": {"key_id": "carol", "secret_key": desk.tokens["carol"]}}))
        reply = ws.recv(timeout=10)
        assert isinstance(reply, bytes)
        assert msgpack.unpackb(reply) == {"stream": "authorization",
                                          "data": {"status": "authorized", "action": "authenticate"}}
        ws.send(msgpack.packb({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        assert msgpack.unpackb(ws.recv(timeout=10))["stream"] == "listening"
        order = desk.client("carol").submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                                                     time_in_force=TimeInForce.DAY))
        events = []
        while not any(e["data"]["event"] == "fill" for e in events):
            events.append(msgpack.unpackb(ws.recv(timeout=WAIT_SECONDS)))
        assert {e["data"]["order"]["id"] for e in events} == {str(order.id)}
        assert [e["data"]["event"] for e in events] == ["new", "fill"]
