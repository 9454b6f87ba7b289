"""The official SDK (alpaca-py's `StockDataStream`) against `alpaca-double`'s v2
market data stream: the double speaks the real protocol as the SDK does it
(MessagePack, its fragmented subscribe, `t` as a Timestamp extension), so the
desk's own source is tested against a server the SDK accepts too."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

from alpaca.data.live import StockDataStream

from test_alpaca import KEY_ID, SECRET, AlpacaDoubleProcess


def test_alpaca_py_streams_trades_and_quotes_from_the_double(tmp_path: Path):
    double = AlpacaDoubleProcess(tmp_path)
    try:
        stream = StockDataStream(KEY_ID, SECRET, url_override=double.url.replace("http://", "ws://") + "/v2/iex")
        trades, quotes = [], []

        async def on_trade(trade):
            trades.append(trade)

        async def on_quote(quote):
            quotes.append(quote)

        stream.subscribe_trades(on_trade, "AAPL", "MSFT")
        stream.subscribe_quotes(on_quote, "AAPL")
        state = {}

        def drive() -> None:
            deadline = time.monotonic() + 30
            injected = False
            while time.monotonic() < deadline:
                with urllib.request.urlopen(double.url + "/_double/data/state", timeout=5) as reply:
                    state.update(json.load(reply))
                subscribed = [c for c in state["connections"] if c["trades"] == ["AAPL", "MSFT"]]
                if subscribed and not injected:
                    body = json.dumps({"symbol": "MSFT", "price": "420.37", "size": 3}).encode()
                    request = urllib.request.Request(double.url + "/_double/data/trade", data=body, method="POST",
                                                     headers={"Content-Type": "application/json"})
                    urllib.request.urlopen(request, timeout=5).close()
                    injected = True
                if injected and any(t.price == 420.37 for t in trades) and len(quotes) >= 2:
                    break
                time.sleep(0.1)
            stream.stop()

        threading.Thread(target=drive, daemon=True).start()
        stream.run()

        connection = [c for c in state["connections"] if c["trades"] == ["AAPL", "MSFT"]][0]
        assert connection["codec"] == "msgpack" and connection["quotes"] == ["AAPL"]
        injected = [t for t in trades if t.price == 420.37]
        assert injected and injected[0].symbol == "MSFT" and injected[0].size == 3
        assert {t.symbol for t in trades} <= {"AAPL", "MSFT"}
        assert all(t.timestamp.tzinfo is not None for t in trades)
        assert all(q.symbol == "AAPL" and q.bid_price < q.ask_price for q in quotes)
    finally:
        double.stop()
