#!/usr/bin/env python3
"""Momentum: after RUN_LENGTH up-ticks in a row in a symbol, buy ORDER_QTY at
market; after RUN_LENGTH down-ticks in a row, sell ORDER_QTY. The position per
symbol stays within MAX_POSITION shares, long or short.

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

from desk_client import DeskError, market_data, place_order

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
log = logging.getLogger("alice.momentum")

RUN_LENGTH = int(os.environ.get("RUN_LENGTH", "3"))
ORDER_QTY = Decimal(os.environ.get("ORDER_QTY", "5"))
MAX_POSITION = Decimal(os.environ.get("MAX_POSITION", "50"))

last_price = {}                 # symbol -> previous price
streak = defaultdict(int)       # symbol -> +n after n up-ticks, -n after n down-ticks
position = defaultdict(Decimal)  # symbol -> shares we hold (negative: short)


def trade(symbol: str, side: str) -> None:
    try:
        response = place_order(symbol, ORDER_QTY, side)
    except DeskError as error:  # the desk is unreachable: log it and keep going
        log.error("%s %s not sent: %s", side, symbol, error)
        return
    if response.status != "success":
        log.warning("%s %s refused: %s", side, symbol, response.message)
        return
    filled = Decimal(response.filled_qty or "0")
    position[symbol] += filled if side == "buy" else -filled
    log.info("%s %s %s: %s, position now %s", side, ORDER_QTY, symbol, response.order_status, position[symbol])


def tick_price(tick: dict) -> Optional[Decimal]:
    """The tick's price as a Decimal (via str, which keeps 145.5 exact), or None
    when it is not a positive number."""
    try:
        price = Decimal(str(tick["price"]))
    except InvalidOperation:
        return None
    return price if price.is_finite() and price > 0 else None


def main() -> None:
    for tick in market_data():
        symbol = tick["symbol"]
        price = tick_price(tick)
        if price is None:
            log.warning("skipping a tick with an unusable price: %r", tick)
            continue
        previous, last_price[symbol] = last_price.get(symbol), price
        if previous is None or price == previous:
            continue
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
    log.info("market data ended; positions %s", dict(position))


if __name__ == "__main__":
    main()
