#!/usr/bin/env python3
"""Places a limit buy LIMIT_OFFSET (default 0.10) under every price it sees,
QTY (default 5) shares, good for the day.

The original example sent ``str(price + 0.10)``: float arithmetic turns
145.50 + 0.10 into "145.60000000000002", which the desk refuses (sub-penny
price). Here the arithmetic is done with Decimal and rounded to cents.

    export DESK_SERVER_URL=http://localhost:8080
    export DESK_TOKEN=$(desk tokens issue your_username | head -1)
    echo '{"symbol": "AAPL", "price": 145.50}' | python examples/limit_order_strategy.py

DESK_TOKEN is your bearer token: the desk books every order to the member it
was issued for (USER_ID alone is believed only by a desk started with
--trust-user-header, for development).
"""
import logging
import os
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Optional

from desk_client import market_data, place_order

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
log = logging.getLogger("limit_order_strategy")

OFFSET = Decimal(os.environ.get("LIMIT_OFFSET", "0.10"))
QTY = os.environ.get("QTY", "5")
CENT = Decimal("0.01")


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
        limit = (price - OFFSET).quantize(CENT, rounding=ROUND_HALF_UP)
        response = place_order(symbol=tick["symbol"], qty=QTY, side="buy", order_type="limit",
                               time_in_force="day", limit_price=limit)
        if response.status == "success":
            log.info("limit buy %s %s @ %s: %s %s", QTY, tick["symbol"], limit, response.order_id,
                     response.order_status)
        else:
            log.warning("order refused: %s", response.message)


if __name__ == "__main__":
    main()
