#!/usr/bin/env python3
"""Buys 10 shares whenever the price is below BUY_BELOW (default 150).

    echo '{"symbol": "AAPL", "price": 145.50}' | python examples/simple_strategy.py
"""
import logging
import os

from desk_client import market_data, place_order

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("simple_strategy")

BUY_BELOW = float(os.environ.get("BUY_BELOW", "150"))


def main() -> None:
    for tick in market_data():
        if float(tick["price"]) < BUY_BELOW:
            response = place_order(symbol=tick["symbol"], qty="10", side="buy", order_type="market",
                                   time_in_force="day")
            if response.status == "success":
                log.info("order placed: %s (%s)", response.order_id, response.order_status)
            else:
                log.warning("order refused: %s", response.message)


if __name__ == "__main__":
    main()
