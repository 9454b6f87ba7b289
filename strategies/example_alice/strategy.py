#!/usr/bin/env python3
"""Momentum: after RUN_LENGTH up-ticks in a row in a symbol, buy ORDER_QTY at
market; after RUN_LENGTH down-ticks in a row, sell ORDER_QTY. The position per
symbol stays within MAX_POSITION shares, long or short.

Its position comes from its own fills: config.json sets "events": ["fills"], so
the desk writes a line about each fill of its orders to its stdin, in order with
the market data (before the next tick, in a backtest as live). An order's answer
is not a fill: in a backtest, as at Alpaca, a market order answers "new, 0
filled" and fills on a later tick. LOG_LEVEL=DEBUG logs every tick.

Settings come from the environment (config.json's "env" sets them). The desk
runs it with its own DESK_TOKEN (a bearer token for this member and strategy,
issued at each start and revoked when it ends) and DESK_SERVER_URL; desk_client
reads both, so every order is booked to this strategy's member. To run it by
hand, export DESK_SERVER_URL and DESK_TOKEN=$(desk tokens issue <member> | head -1)."""
import logging
import os
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Optional

from desk_client import DeskError, is_event, lines, place_order

logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                    format="%(asctime)s %(name)s %(levelname)s %(message)s")
log = logging.getLogger("alice.momentum")

RUN_LENGTH = int(os.environ.get("RUN_LENGTH", "3"))
ORDER_QTY = Decimal(os.environ.get("ORDER_QTY", "5"))
MAX_POSITION = Decimal(os.environ.get("MAX_POSITION", "50"))

last_price = {}                 # symbol -> previous price
streak = defaultdict(int)       # symbol -> +n after n up-ticks, -n after n down-ticks
position = defaultdict(Decimal)  # symbol -> shares we hold (negative: short), from our fills


def trade(symbol: str, side: str) -> None:
    try:
        response = place_order(symbol, ORDER_QTY, side)
    except DeskError as error:  # the desk is unreachable: log it and keep going
        log.error("%s %s not sent: %s", side, symbol, error)
        return
    if response.status != "success":
        log.warning("%s %s refused: %s", side, symbol, response.message)
        return
    log.info("%s %s %s: order %s %s", side, ORDER_QTY, symbol, response.order_id, response.order_status)


def on_order_event(event: dict) -> None:
    """A fill sets the position (the desk says what it is after the fill); a
    canceled, expired or rejected order changes nothing but is logged."""
    if event["type"] == "fill":
        position[event["symbol"]] = Decimal(str(event["position"]))
        log.info("filled %s %s %s at %s: position now %s", event["side"], event["qty"], event["symbol"],
                 event["price"], position[event["symbol"]])
    else:
        log.warning("order %s %s: %s", event["order_id"], event["type"], event.get("reason", ""))


def tick_price(tick: dict) -> Optional[Decimal]:
    """The tick's price as a Decimal (via str, which keeps 145.5 exact), or None
    when it is not a positive number."""
    try:
        price = Decimal(str(tick["price"]))
    except InvalidOperation:
        return None
    return price if price.is_finite() and price > 0 else None


def decide(tick: dict) -> None:
    """Buys or sells on this tick's streak, within the position cap."""
    symbol = tick["symbol"]
    price = tick_price(tick)
    if price is None:
        log.warning("skipping a tick with an unusable price: %r", tick)
        return
    previous, last_price[symbol] = last_price.get(symbol), price
    if previous is None or price == previous:
        return
    if price > previous:
        streak[symbol] = max(streak[symbol], 0) + 1
    else:
        streak[symbol] = min(streak[symbol], 0) - 1

    if streak[symbol] >= RUN_LENGTH and position[symbol] + ORDER_QTY <= MAX_POSITION:
        trade(symbol, "buy")
        streak[symbol] = 0
    elif streak[symbol] <= -RUN_LENGTH and position[symbol] - ORDER_QTY >= -MAX_POSITION:
        trade(symbol, "sell")
        streak[symbol] = 0


def main() -> None:
    for line in lines():
        if is_event(line):
            on_order_event(line)
            continue
        decide(line)
        log.debug("tick %s %s: streak %s, position %s", line["symbol"], line["price"], streak[line["symbol"]],
                  position[line["symbol"]])
    log.info("market data ended; positions %s", dict(position))


if __name__ == "__main__":
    main()
