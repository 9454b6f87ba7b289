#!/usr/bin/env python3
"""Mean reversion: keeps a moving average of the last WINDOW prices per symbol.
When the price is THRESHOLD_PERCENT under the average it buys ORDER_QTY, when it
is that far over it sells, staying within MAX_POSITION shares long or short.

Orders are limit orders one cent through the price, immediate-or-cancel, so
they never rest on the book. Prices are Decimals rounded to cents (a float such
as 145.50 + 0.10 would be sent as "145.60000000000002" and refused).

Its position comes from its own fills, never from an order's answer: with
"events": ["fills"] in config.json the desk writes each fill of its orders to
its stdin in order with the market data, so the cap holds the same in a
backtest (where orders fill on a later tick), on paper and live.

Settings come from the environment (config.json's "env" sets them). The desk
runs it with its own DESK_TOKEN (a bearer token for this member and strategy,
issued at each start and revoked when it ends) and DESK_SERVER_URL; desk_client
reads both, so every order is booked to this strategy's member. To run it by
hand, export DESK_SERVER_URL and DESK_TOKEN=$(desk tokens issue <member> | head -1)."""
import logging
import os
from collections import defaultdict, deque
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Optional

from desk_client import DeskError, is_event, lines, place_order

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
log = logging.getLogger("bob.mean_reversion")

WINDOW = int(os.environ.get("WINDOW", "20"))
THRESHOLD = Decimal(os.environ.get("THRESHOLD_PERCENT", "1")) / 100
ORDER_QTY = Decimal(os.environ.get("ORDER_QTY", "10"))
MAX_POSITION = Decimal(os.environ.get("MAX_POSITION", "100"))
CENT = Decimal("0.01")

recent = defaultdict(lambda: deque(maxlen=WINDOW))  # symbol -> last WINDOW prices
position = defaultdict(Decimal)                     # symbol -> shares we hold (negative: short), from fills


def trade(symbol: str, side: str, price: Decimal) -> None:
    limit = (price + CENT if side == "buy" else price - CENT).quantize(CENT, rounding=ROUND_HALF_UP)
    try:
        response = place_order(symbol, ORDER_QTY, side, order_type="limit", time_in_force="ioc",
                               limit_price=limit)
    except DeskError as error:  # the desk is unreachable: log it and keep going
        log.error("%s %s not sent: %s", side, symbol, error)
        return
    if response.status != "success":
        log.warning("%s %s refused: %s", side, symbol, response.message)
        return
    log.info("%s %s %s @ %s: order %s %s", side, ORDER_QTY, symbol, limit, response.order_id,
             response.order_status)


def tick_price(tick: dict) -> Optional[Decimal]:
    """The tick's price as a Decimal (via str, which keeps 145.5 exact), or None
    when it is not a positive number."""
    try:
        price = Decimal(str(tick["price"]))
    except InvalidOperation:
        return None
    return price if price.is_finite() and price > 0 else None


def main() -> None:
    for tick in lines():
        if tick["type"] == "fill":
            position[tick["symbol"]] = Decimal(str(tick["position"]))
            log.info("filled %s %s %s at %s, position now %s", tick["side"], tick["qty"], tick["symbol"],
                     tick["price"], tick["position"])
            continue
        if is_event(tick):  # canceled (an ioc order that did not fill), expired, rejected
            log.info("order %s %s %s", tick["order_id"], tick["type"], tick.get("reason", ""))
            continue
        symbol = tick["symbol"]
        price = tick_price(tick)
        if price is None:
            log.warning("skipping a tick with an unusable price: %r", tick)
            continue
        window = recent[symbol]
        window.append(price)
        if len(window) < WINDOW:
            continue
        average = sum(window) / len(window)
        if price < average * (1 - THRESHOLD) and position[symbol] + ORDER_QTY <= MAX_POSITION:
            trade(symbol, "buy", price)
            window.clear()  # start a fresh average after trading
        elif price > average * (1 + THRESHOLD) and position[symbol] - ORDER_QTY >= -MAX_POSITION:
            trade(symbol, "sell", price)
            window.clear()
    log.info("market data ended; positions %s", dict(position))


if __name__ == "__main__":
    main()
