#!/usr/bin/env python3
"""Momentum: after RUN_LENGTH consecutive up-ticks in a symbol, buy ORDER_QTY;
after as many down-ticks, sell. Never holds more than MAX_POSITION either way."""
import logging
import os
from collections import defaultdict
from decimal import Decimal

from desk_client import market_data, place_order

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("momentum")

RUN_LENGTH = int(os.environ.get("RUN_LENGTH", "3"))
ORDER_QTY = Decimal(os.environ.get("ORDER_QTY", "5"))
MAX_POSITION = Decimal(os.environ.get("MAX_POSITION", "50"))

last_price = {}
run = defaultdict(int)  # > 0: consecutive up-ticks, < 0: down-ticks
position = defaultdict(Decimal)


def trade(symbol: str, side: str) -> None:
    response = place_order(symbol, ORDER_QTY, side)
    if response.status == "success":
        position[symbol] += Decimal(response.filled_qty or "0") * (1 if side == "buy" else -1)
        log.info("%s %s %s: %s, position %s", side, ORDER_QTY, symbol, response.order_status, position[symbol])
    else:
        log.warning("%s %s refused: %s", side, symbol, response.message)


def main() -> None:
    for tick in market_data():
        symbol, price = tick["symbol"], Decimal(str(tick["price"]))
        previous = last_price.get(symbol)
        last_price[symbol] = price
        if previous is None or price == previous:
            continue
        up = price > previous
        run[symbol] = max(run[symbol], 0) + 1 if up else min(run[symbol], 0) - 1
        if run[symbol] >= RUN_LENGTH and position[symbol] + ORDER_QTY <= MAX_POSITION:
            trade(symbol, "buy")
            run[symbol] = 0
        elif run[symbol] <= -RUN_LENGTH and position[symbol] - ORDER_QTY >= -MAX_POSITION:
            trade(symbol, "sell")
            run[symbol] = 0


if __name__ == "__main__":
    main()
