"""The rule every engine of the peer benchmark runs, tick by tick, in plain Python: a mean reversion on a
simple moving average, long only.

On each tick, with `price` in cents and `total` the sum of the last `WINDOW` prices (this one included):
- buy `QTY` shares when price < SMA * (1 - threshold) and the position is at most `MAX_POSITION - QTY`;
- sell `QTY` shares when price > SMA * (1 + threshold) and the position is at least `QTY`;
with the threshold in basis points and every comparison in whole numbers (price * WINDOW * 10000 against
total * (10000 -/+ threshold)), so no engine's floating point can tip a decision. Orders are market orders
that fill at the NEXT tick's price. The position is counted from the orders the engine accepted (each fills
whole on the next tick, before the next decision, in every engine), so it is the same number everywhere.

The "never" variant does the same work with a threshold of 10,000 basis points: a price below zero or above
twice its average, which the walk cannot reach, so it never orders.

This file is stdlib only: the harness copies it into the desk's strategy folder beside `desk_strategy.py`.
"""
from __future__ import annotations

from collections import deque

WINDOW = 20
QTY = 10
MAX_POSITION = 100
THRESHOLDS_BP = {"orders": 4, "never": 10_000}


class MeanReversion:
    """The rule's state for one symbol; `on_price` says what to do on a tick, `accepted` books an order the
    engine took."""

    def __init__(self, threshold_bp: int, window: int = WINDOW, qty: int = QTY, max_position: int = MAX_POSITION):
        self.window = window
        self.qty = qty
        self.max_position = max_position
        self.scale = window * 10_000  # price * scale < total * (10000 - t)  <=>  price < SMA * (1 - t)
        self.buy_bound = 10_000 - threshold_bp
        self.sell_bound = 10_000 + threshold_bp
        self.prices: deque = deque()
        self.total = 0
        self.position = 0

    @classmethod
    def variant(cls, name: str) -> "MeanReversion":
        """The rule of the benchmark's variant `name`: "orders" or "never"."""
        if name not in THRESHOLDS_BP:
            raise SystemExit(f"unknown variant {name!r}: use one of {', '.join(sorted(THRESHOLDS_BP))}")
        return cls(THRESHOLDS_BP[name])

    def on_price(self, cents: int):
        """`"buy"`, `"sell"` or None for this tick's price in cents."""
        prices = self.prices
        prices.append(cents)
        self.total += cents
        if len(prices) > self.window:
            self.total -= prices.popleft()
        elif len(prices) < self.window:
            return None
        scaled = cents * self.scale
        if scaled < self.total * self.buy_bound and self.position + self.qty <= self.max_position:
            return "buy"
        if scaled > self.total * self.sell_bound and self.position >= self.qty:
            return "sell"
        return None

    def accepted(self, side: str) -> None:
        """The engine took an order of `qty` shares on `side`: count it in the position."""
        self.position += self.qty if side == "buy" else -self.qty


def cents(price) -> int:
    """A price as whole cents, from an engine's float, Decimal or text (`190.03`, `190.03000000001`)."""
    return round(float(price) * 100)


def write_fills(path, fills) -> None:
    """`index,side,qty,price_cents` per fill, in order: what every engine's script leaves for the harness."""
    with open(path, "w") as out:
        out.write("index,side,qty,price_cents\n")
        for index, side, qty, price in fills:
            out.write(f"{index},{side},{qty},{price}\n")


def read_fills(path) -> list:
    """The fills `write_fills` wrote, as (index, side, qty, price_cents) tuples."""
    with open(path) as lines:
        next(lines)
        return [(int(i), side, int(q), int(p)) for i, side, q, p in (line.strip().split(",") for line in lines)]
