#!/usr/bin/env python3
"""The simplest strategy: buy 10 shares whenever a tick's price is under
BUY_BELOW (default 150).

    export DESK_SERVER_URL=http://localhost:8080
    export DESK_TOKEN=$(desk tokens issue your_username | head -1)
    echo '{"symbol": "AAPL", "price": 145.50}' | python examples/simple_strategy.py

DESK_TOKEN is your bearer token: the desk books every order to the member it
was issued for (USER_ID alone is believed only by a desk started with
--trust-user-header, for development). Run by the desk (strategies/<name>/),
a strategy gets its own DESK_TOKEN and DESK_SERVER_URL and needs neither export.
Ticks arrive as JSON lines on stdin; the script ends when stdin does.
"""
import logging
import os
from decimal import Decimal, InvalidOperation
from typing import Optional

from desk_client import market_data, place_order

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
log = logging.getLogger("simple_strategy")

BUY_BELOW = Decimal(os.environ.get("BUY_BELOW", "150"))


def tick_price(tick: dict) -> Optional[Decimal]:
    """The tick's price as a Decimal (via str: Decimal(145.5) would keep the
    float's binary noise), or None, logged, when it is not a positive number."""
    try:
        price = Decimal(str(tick["price"]))
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite() or price <= 0:
        log.warning("skipping a tick with an unusable price: %r", tick)
        return None
    return price


def main() -> None:
    for tick in market_data():
        price = tick_price(tick)
        if price is None:
            continue
        if price < BUY_BELOW:
            response = place_order(symbol=tick["symbol"], qty="10", side="buy", order_type="market",
                                   time_in_force="day")
            if response.status == "success":
                log.info("order placed: %s %s (filled %s)", response.order_id, response.order_status,
                         response.filled_qty)
            else:
                log.warning("order refused: %s", response.message)
    log.info("end of market data")


if __name__ == "__main__":
    main()
