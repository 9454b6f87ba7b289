#!/usr/bin/env python3
"""The peer benchmark's rule (`rule.py`) on backtesting.py: each tick is a bar with Open = High = Low = Close
= its price, read from the CSV with pandas. `trade_on_close=False` (its default): a market order placed in
`next()` fills at the next bar's open, which is the next tick's price. No commission, no spread, cash enough
for any position; `finalize_trades=False`, so no trade is closed at the end that the rule did not close.
The fills are the engine's own record: each trade's entry (bar, size, price) and exit, summed per bar.

    backtesting_rule.py TICKS_CSV FILLS_CSV orders|never
"""
import sys
from collections import defaultdict

import pandas as pd
from backtesting import Backtest, Strategy

from rule import MeanReversion, cents, write_fills


class PeerRule(Strategy):
    variant = "orders"

    def init(self):
        self.rule = MeanReversion.variant(self.variant)
        # backtesting.py calls next() from the second bar on: the rule reads the first one here.
        self.rule.on_price(cents(self.data.Close[0]))

    def next(self):
        side = self.rule.on_price(cents(self.data.Close[-1]))
        if side is not None:
            (self.buy if side == "buy" else self.sell)(size=self.rule.qty)
            self.rule.accepted(side)


def fills_of(strategy) -> list:
    """(bar, side, qty, price in cents) from the trades: an entry of size s is a buy (s > 0) or a sell, its
    exit the other side; the orders of one bar fill at one price."""
    shares = defaultdict(int)
    price = {}
    for trade in [*strategy.closed_trades, *strategy.trades]:
        legs = [(trade.entry_bar, trade.size, trade.entry_price)]
        if trade.exit_bar is not None:
            legs.append((trade.exit_bar, -trade.size, trade.exit_price))
        for bar, size, at in legs:
            shares[(bar, "buy" if size > 0 else "sell")] += abs(size)
            price[(bar, "buy" if size > 0 else "sell")] = cents(at)
    return [(bar, side, qty, price[(bar, side)]) for (bar, side), qty in sorted(shares.items())]


def main(ticks_csv: str, fills_csv: str, variant: str) -> None:
    frame = pd.read_csv(ticks_csv)
    prices = frame["price"].to_numpy()
    bars = pd.DataFrame({"Open": prices, "High": prices, "Low": prices, "Close": prices},
                        index=pd.to_datetime(frame["ts_ms"], unit="ms"))
    test = Backtest(bars, PeerRule, cash=1e12, commission=0.0, spread=0.0, trade_on_close=False,
                    finalize_trades=False)
    stats = test.run(variant=variant)
    write_fills(fills_csv, fills_of(stats._strategy))


if __name__ == "__main__":
    main(*sys.argv[1:])
