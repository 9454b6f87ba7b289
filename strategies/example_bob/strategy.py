#!/usr/bin/env python3
"""Mean reversion: keeps a WINDOW-tick moving average per symbol; buys ORDER_QTY
at a limit price when the price is THRESHOLD_PERCENT under it, sells when as far
over it, within MAX_POSITION either way. Prices are Decimals rounded to cents."""
import logging
import os
from collections import defaultdict, deque
from decimal import ROUND_HALF_UP, Decimal

from desk_client import market_data, place_order

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("mean_reversion")

WINDOW = int(os.environ.get("WINDOW", "20"))
THRESHOLD = Decimal(os.environ.get("THRESHOLD_PERCENT", "0.3")) / 100
ORDER_QTY = Decimal(os.environ.get("ORDER_QTY", "10"))
MAX_POSITION = Decimal(os.environ.get("MAX_POSITION", "100"))
CENT = Decimal("0.01")

prices = defaultdict(lambda: deque(maxlen=WINDOW))
position = defaultdict(Decimal)


def trade(symbol: str, side: str, price: Decimal) -> None:
    # A marketable limit: a cent through the price, so it fills now or not at all.
    limit = (price + CENT if side == "buy" else price - CENT).quantize(CENT, rounding=ROUND_HALF_UP)
    response = place_order(symbol, ORDER_QTY, side, order_type="limit", time_in_force="ioc", limit_price=limit)
    if response.status == "success":
        position[symbol] += Decimal(response.filled_qty or "0") * (1 if side == "buy" else -1)
        log.info("%s %s %s @ %s: %s, position %s", side, ORDER_QTY, symbol, limit, response.order_status,
                 position[symbol])
    else:
        log.warning("%s %s refused: %s", side, symbol, response.message)


def main() -> None:
    for tick in market_data():
        symbol, price = tick["symbol"], Decimal(str(tick["price"]))
        window = prices[symbol]
        window.append(price)
        if len(window) < WINDOW:
            continue
        average = sum(window) / len(window)
        if price < average * (1 - THRESHOLD) and position[symbol] + ORDER_QTY <= MAX_POSITION:
            trade(symbol, "buy", price)
            window.clear()
        elif price > average * (1 + THRESHOLD) and position[symbol] - ORDER_QTY >= -MAX_POSITION:
            trade(symbol, "sell", price)
            window.clear()


if __name__ == "__main__":
    main()
