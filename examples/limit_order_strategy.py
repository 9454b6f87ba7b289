#!/usr/bin/env python3
"""Places a limit buy LIMIT_OFFSET (default 0.10) under each price it sees.

The original example computed ``str(price + 0.10)`` with floats, which sends
prices like "145.60000000000002"; this one uses Decimal and rounds to cents.
"""
import logging
import os
from decimal import ROUND_HALF_UP, Decimal

from desk_client import market_data, place_order

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("limit_order_strategy")

OFFSET = Decimal(os.environ.get("LIMIT_OFFSET", "0.10"))
QTY = os.environ.get("QTY", "5")
CENT = Decimal("0.01")


def main() -> None:
    for tick in market_data():
        price = Decimal(str(tick["price"]))
        limit = (price - OFFSET).quantize(CENT, rounding=ROUND_HALF_UP)
        response = place_order(symbol=tick["symbol"], qty=QTY, side="buy", order_type="limit",
                               time_in_force="day", limit_price=limit)
        if response.status == "success":
            log.info("limit buy %s %s @ %s: %s", QTY, tick["symbol"], limit, response.order_status)
        else:
            log.warning("order refused: %s", response.message)


if __name__ == "__main__":
    main()
