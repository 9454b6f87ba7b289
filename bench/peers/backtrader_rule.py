#!/usr/bin/env python3
"""The peer benchmark's rule (`rule.py`) on backtrader: each tick is a bar with open = high = low = close =
its price, read from the CSV with pandas (`PandasData`). A market order placed in `next()` fills at the next
bar's open (backtrader's default, `cheat_on_open` off), which is the next tick's price. Observers are off
(`stdstats=False`): the rule needs none, and they would only slow the peer down.

    backtrader_rule.py TICKS_CSV FILLS_CSV orders|never
"""
import sys

import backtrader as bt
import pandas as pd

from rule import MeanReversion, cents, write_fills


class PeerRule(bt.Strategy):
    params = (("variant", "orders"),)

    def __init__(self):
        self.rule = MeanReversion.variant(self.p.variant)
        self.fills = []

    def next(self):
        side = self.rule.on_price(cents(self.data.close[0]))
        if side is not None:
            (self.buy if side == "buy" else self.sell)(size=self.rule.qty)
            self.rule.accepted(side)

    def notify_order(self, order):
        if order.status == order.Completed:
            # Told before next() of the bar it filled on: len(self) counts that bar.
            side = "buy" if order.isbuy() else "sell"
            self.fills.append((len(self) - 1, side, abs(int(order.executed.size)), cents(order.executed.price)))
        elif order.status in (order.Canceled, order.Margin, order.Rejected):
            raise SystemExit(f"backtrader refused an order: {order.getstatusname()}")


def main(ticks_csv: str, fills_csv: str, variant: str) -> None:
    frame = pd.read_csv(ticks_csv)
    frame.index = pd.to_datetime(frame["ts_ms"], unit="ms")
    prices = frame["price"]
    bars = pd.DataFrame({"open": prices, "high": prices, "low": prices, "close": prices, "volume": 0.0},
                        index=frame.index)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars))
    cerebro.addstrategy(PeerRule, variant=variant)
    cerebro.broker.setcash(1e12)
    strategy = cerebro.run()[0]
    write_fills(fills_csv, strategy.fills)


if __name__ == "__main__":
    main(*sys.argv[1:])
