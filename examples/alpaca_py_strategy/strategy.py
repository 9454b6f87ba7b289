#!/usr/bin/env python3
"""An alpaca-py strategy, as a member brings it from Alpaca: mean reversion on the
desk's ticks. When a tick's price is DIP_PERCENT below the symbol's running
average it buys ORDER_QTY at market with `TradingClient.submit_order`; when it is
that far above and the member holds shares, it sells what it holds. Fills are
logged from `TradingStream` when STREAM_FILLS is 1.

Nothing in it knows the desk: it reads Alpaca's usual variables. Run by the desk
(this folder, examples/alpaca_py_strategy/, copied to strategies/<name>/), APCA_API_BASE_URL points at the desk's Alpaca-compatible
API (127.0.0.1 inside the sandbox), APCA_API_KEY_ID is the member and
APCA_API_SECRET_KEY the strategy's own desk token (never the club's keys), so
every order is booked to this member under the desk's limits. By hand:

    export APCA_API_BASE_URL=http://127.0.0.1:8080 APCA_API_KEY_ID=carol
    export APCA_API_SECRET_KEY=$(desk tokens issue carol | head -1)
    echo '{"symbol": "AAPL", "price": 190}' | python examples/alpaca_py_strategy.py

Ticks arrive as JSON lines on stdin (the desk's feed); it ends when stdin does.
"""
import json
import logging
import os
import sys
import threading
from collections import defaultdict
from decimal import Decimal

from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest
from alpaca.trading.stream import TradingStream

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
log = logging.getLogger("alpaca_py_strategy")

DIP = Decimal(os.environ.get("DIP_PERCENT", "0.05")) / 100
ORDER_QTY = Decimal(os.environ.get("ORDER_QTY", "1"))
MAX_ORDERS = int(os.environ.get("MAX_ORDERS", "3"))
KEY, SECRET = os.environ["APCA_API_KEY_ID"], os.environ["APCA_API_SECRET_KEY"]
BASE_URL = os.environ.get("APCA_API_BASE_URL")  # None: Alpaca itself

trading = TradingClient(KEY, SECRET, paper=True, url_override=BASE_URL)


def stream_fills() -> None:
    url = os.environ.get("APCA_API_STREAM_URL")
    stream = TradingStream(KEY, SECRET, paper=True, url_override=url + "/stream" if url else None)

    async def on_update(update):
        print(f"UPDATE {update.event} {update.order.id} {update.order.symbol} {update.order.filled_qty}", flush=True)

    stream.subscribe_trade_updates(on_update)
    stream.run()


def main() -> None:
    account = trading.get_account()
    print(f"ACCOUNT {account.account_number} cash={account.cash} buying_power={account.buying_power}", flush=True)
    if os.environ.get("STREAM_FILLS") == "1":
        threading.Thread(target=stream_fills, daemon=True).start()
    average: dict = {}
    count = defaultdict(int)
    orders = 0
    for line in sys.stdin:
        try:
            tick = json.loads(line)
            symbol, price = tick["symbol"], Decimal(str(tick["price"]))
        except (ValueError, KeyError):
            continue
        count[symbol] += 1
        mean = average.get(symbol, price)
        average[symbol] = mean + (price - mean) / count[symbol]
        side = None
        if price < mean * (1 - DIP) and orders < MAX_ORDERS:
            side, qty = OrderSide.BUY, ORDER_QTY
        elif price > mean * (1 + DIP):
            held = [p for p in trading.get_all_positions() if p.symbol == symbol]
            if held and Decimal(held[0].qty) > 0:
                side, qty = OrderSide.SELL, Decimal(held[0].qty)
        if side is None:
            continue
        try:
            order = trading.submit_order(MarketOrderRequest(symbol=symbol, qty=float(qty), side=side,
                                                            time_in_force=TimeInForce.DAY))
            orders += 1
            print(f"ORDER {order.id} {side.value} {symbol} {order.status.value}", flush=True)
        except APIError as error:
            print(f"REFUSED {side.value} {symbol} {error.status_code} {error.message}", flush=True)


if __name__ == "__main__":
    main()
