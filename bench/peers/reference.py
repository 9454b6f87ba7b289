"""The exact fills of the peer benchmark's rule (`rule.py`): a plain loop with no engine, where an order
decided on tick i fills whole at tick i + 1's price, and one decided on the last tick never fills. Every
engine's fills must equal these, tick index, side, quantity and price, before any timing is reported."""
from __future__ import annotations

from rule import MeanReversion


def reference_fills(prices: list, rule: MeanReversion) -> list:
    """(tick index, side, qty, price in cents) of each fill of `rule` (fresh: `MeanReversion.variant("orders")`)
    over `prices` (cents, tick by tick)."""
    fills = []
    pending = None
    for index, price in enumerate(prices):
        if pending is not None:
            fills.append((index, pending, rule.qty, price))
            pending = None
        side = rule.on_price(price)
        if side is not None:
            rule.accepted(side)
            pending = side
    return fills
