"""An independent reference simulation of the paper venue's fill rules (issue 26),
written from the rules as the README states them, not from the Swift code:

- An order on side `buy` meets the ask and `ask_size`, a sell the bid and
  `bid_size`, once the symbol has a quote on that side (the last quote stands until
  a line carries another); otherwise the last trade and its size. A size not given
  is unlimited. A quote-only line offers only what it quotes. Each line offers its
  sizes afresh; the orders on one line fill oldest first and share them.
- Market orders fill at the offer up to its size; the rest on later lines.
- Limit orders fill where the offer is marketable (buy: offer <= limit; sell:
  offer >= limit): on the first line they meet at the offer, afterwards at the
  limit when the offer is a quote (without a quote, at the trade price).
- Stops and trailing stops trigger on trades only. A trailing stop's mark follows
  trade prices from the first line it meets (sell: the highest, buy: the lowest);
  its stop is mark * (1 -/+ pct/100) or mark -/+ trail. Triggered, it is a market
  order; with next-tick fills it fills from the next line.
- A bracket's exits (take profit limit, stop loss) are held until the entry filled
  completely, then work from the next line; the first fill of one (a partial one
  too) cancels the other.
- Next-tick (backtests): a new order first meets the next line of its symbol.
  Same-tick (the live paper venue): it meets the standing quote / last trade at once.

`Sim.fills` lists (order key, qty, price) in the order they happen.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Dict, List, Optional, Tuple


@dataclass
class SimOrder:
    key: str
    side: str
    qty: Decimal
    type: str = "market"
    limit: Optional[Decimal] = None
    stop: Optional[Decimal] = None
    trail_price: Optional[Decimal] = None
    trail_percent: Optional[Decimal] = None
    legs: List["SimOrder"] = field(default_factory=list)
    filled: Decimal = Decimal(0)
    triggered: bool = True
    waiting: bool = False
    fresh: bool = True
    mark: Optional[Decimal] = None
    group: Optional[str] = None

    def __post_init__(self) -> None:
        self.triggered = self.stop is None and self.type != "trailing_stop"

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled


class Sim:
    def __init__(self, next_tick: bool) -> None:
        self.next_tick = next_tick
        self.last_trade: Optional[Decimal] = None
        self.trade_size: Optional[Decimal] = None
        self.quote: Optional[dict] = None
        self.working: List[SimOrder] = []
        self.held: Dict[str, List[SimOrder]] = {}
        self.fills: List[Tuple[str, Decimal, Decimal]] = []
        self.canceled: List[str] = []

    # What an order on `side` meets now: (price, size or None, quoted) or None.
    def offer(self, side: str, trade_line: bool = True):
        name, size_name = ("ask", "ask_size") if side == "buy" else ("bid", "bid_size")
        if self.quote is not None and self.quote.get(name) is not None:
            return self.quote[name], self.quote.get(size_name), True
        if trade_line and self.last_trade is not None:
            return self.last_trade, self.trade_size, False
        return None

    def stop_level(self, order: SimOrder) -> Optional[Decimal]:
        if order.type != "trailing_stop":
            return order.stop
        if order.mark is None:
            return None
        sign = Decimal(-1) if order.side == "sell" else Decimal(1)
        if order.trail_percent is not None:
            return order.mark * (1 + sign * order.trail_percent / 100)
        return order.mark + sign * order.trail_price

    def reaches_stop(self, order: SimOrder, trade: Decimal) -> bool:
        level = self.stop_level(order)
        if level is None:
            return False
        return trade >= level if order.side == "buy" else trade <= level

    def try_fill(self, order: SimOrder, offer, used: Dict[str, Decimal]) -> None:
        if offer is None:
            return
        price, size, quoted = offer
        if order.type in ("limit", "stop_limit"):
            ok = price <= order.limit if order.side == "buy" else price >= order.limit
            if not ok:
                return
            if quoted and not order.fresh:
                price = order.limit
        available = order.remaining if size is None else size - used.get(order.side, Decimal(0))
        qty = min(order.remaining, available)
        if qty <= 0:
            return
        if size is not None:
            used[order.side] = used.get(order.side, Decimal(0)) + qty
        order.filled += qty
        self.fills.append((order.key, qty, price))

    def after_fill(self, order: SimOrder, activated: List[SimOrder]) -> None:
        if order.filled <= 0:
            return
        if order.group is not None:
            for other in self.working:
                if other is not order and other.group == order.group:
                    self.canceled.append(other.key)
            self.working = [o for o in self.working if o is order or o.group != order.group]
            order.group = None
        if order.remaining <= 0 and order.key in self.held:
            legs = self.held.pop(order.key)
            for leg in legs:
                leg.fresh = False
                leg.group = order.key if len(legs) > 1 else None
                activated.append(leg)

    def submit(self, order: SimOrder) -> None:
        if order.legs:
            self.held[order.key] = list(order.legs)
        if self.next_tick:
            order.waiting = True
            self.working.append(order)
            return
        if order.type == "trailing_stop":
            order.mark = self.last_trade
        if not order.triggered and self.last_trade is not None:
            order.triggered = self.reaches_stop(order, self.last_trade)
        if order.triggered:
            self.try_fill(order, self.offer(order.side), {})
        order.fresh = False
        self.working.append(order)
        activated: List[SimOrder] = []
        self.after_fill(order, activated)
        self.working = [o for o in self.working if o.remaining > 0] + activated

    def line(self, line: dict) -> None:
        is_trade = line.get("type", "trade") != "quote"
        if "bid" in line or "ask" in line:
            self.quote = {k: (Decimal(line[k]) if k in line else None) for k in ("bid", "ask", "bid_size", "ask_size")}
        if is_trade:
            self.last_trade = Decimal(line["price"])
            self.trade_size = Decimal(line["size"]) if "size" in line else None
        used: Dict[str, Decimal] = {}
        activated: List[SimOrder] = []
        for order in list(self.working):
            if order not in self.working:
                continue  # canceled by a sibling's fill on this line
            trade = Decimal(line["price"]) if is_trade else None
            if trade is not None and order.type == "trailing_stop" and not order.triggered:
                if order.mark is None:
                    order.mark = trade
                order.mark = max(order.mark, trade) if order.side == "sell" else min(order.mark, trade)
            just = False
            if not order.triggered and trade is not None:
                order.triggered = self.reaches_stop(order, trade)
                just = order.triggered
                if just:
                    order.fresh = True
            if order.triggered and not (just and self.next_tick):
                self.try_fill(order, self.offer(order.side, trade_line=is_trade), used)
                order.fresh = False
            self.after_fill(order, activated)
            order.waiting = False
        self.working = [o for o in self.working if o.remaining > 0] + activated
