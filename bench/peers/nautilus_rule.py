#!/usr/bin/env python3
"""The peer benchmark's rule (`rule.py`) on NautilusTrader's low-level `BacktestEngine`: a test equity
(AAPL on XNAS), a cash account, netting, the ticks as `TradeTick`s (made from the CSV by its
`TradeTickDataWrangler`, size 1,000,000 so no order outgrows the top of the book).

Nautilus fills a market order against the tick it is submitted on (the trade sets its L1 book). So the
strategy submits on the tick AFTER the rule's decision, before deciding on that tick: the order fills at the
next tick's price, as in the other engines. The rule books the order when it decides (as the others do when
they place it), so the position it sees is the same number in every engine. Logging is at ERROR.

    nautilus_rule.py TICKS_CSV FILLS_CSV orders|never
"""
import sys

import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.config import BacktestEngineConfig, LoggingConfig, StrategyConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.objects import Money, Quantity
from nautilus_trader.persistence.wranglers import TradeTickDataWrangler
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

from rule import MeanReversion, cents, write_fills
from ticks import peer_index


class PeerRuleConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    variant: str = "orders"


class PeerRule(Strategy):
    def __init__(self, config: PeerRuleConfig):
        super().__init__(config)
        self.rule = MeanReversion.variant(config.variant)
        self.pending = None  # the side decided on the previous tick, submitted on this one
        self.fills = []

    def on_start(self):
        self.instrument = self.cache.instrument(self.config.instrument_id)
        self.quantity = Quantity.from_int(self.rule.qty)
        self.subscribe_trade_ticks(self.instrument.id)

    def on_trade_tick(self, tick):
        if self.pending is not None:
            side = OrderSide.BUY if self.pending == "buy" else OrderSide.SELL
            self.submit_order(self.order_factory.market(self.instrument.id, side, self.quantity))
            self.pending = None
        side = self.rule.on_price(cents(tick.price))
        if side is not None:
            self.rule.accepted(side)
            self.pending = side

    def on_order_filled(self, event):
        side = "buy" if event.order_side == OrderSide.BUY else "sell"
        self.fills.append((peer_index(event.ts_event // 1_000_000), side, int(event.last_qty), cents(event.last_px)))

    def on_order_rejected(self, event):
        raise SystemExit(f"nautilus rejected an order: {event.reason}")

    def on_order_denied(self, event):
        raise SystemExit(f"nautilus denied an order: {event.reason}")


def main(ticks_csv: str, fills_csv: str, variant: str) -> None:
    frame = pd.read_csv(ticks_csv)
    trades = pd.DataFrame({"price": frame["price"].to_numpy(), "quantity": 1_000_000.0,
                           "trade_id": frame.index.astype(str)},
                          index=pd.to_datetime(frame["ts_ms"], unit="ms", utc=True))
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR"), run_analysis=False))
    venue = Venue("XNAS")
    engine.add_venue(venue=venue, oms_type=OmsType.NETTING, account_type=AccountType.CASH,
                     starting_balances=[Money(1_000_000_000_000, USD)], base_currency=USD)
    instrument = TestInstrumentProvider.equity(symbol="AAPL", venue="XNAS")
    engine.add_instrument(instrument)
    engine.add_data(TradeTickDataWrangler(instrument).process(trades))
    strategy = PeerRule(PeerRuleConfig(instrument_id=instrument.id, variant=variant))
    engine.add_strategy(strategy)
    engine.run()
    write_fills(fills_csv, strategy.fills)
    engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:])
