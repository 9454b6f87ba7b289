"""THE tick generator of the benchmark: a seeded random walk in whole cents.

`bench/harness.py` imports it for every backtest scenario, and the peer scenario writes one walk twice
from it — JSON lines for `desk backtest`, CSV for the peer engines — so the data cannot drift between
scenarios or engines.

- `backtest_ticks`: the `backtest` and `backtest_long` scenarios' file (AAPL and MSFT in turn, a second
  apart, from 2025-11-16 14:31 UTC, epoch-second `ts`), unchanged from when it lived in the harness.
- `peer_ticks`: the `backtest_peers` scenario's walk: one symbol, AAPL, 100 ms apart from Monday
  2026-11-16 14:31:00 UTC. 200,000 ticks end at 20:04:20 UTC, inside one NYSE session (it closes at
  21:00 UTC that day), so no day order expires at a close and the peers need no exchange calendar.
  `desk backtest` reads the fractional ISO-8601 times (`2026-11-16T14:31:00.100Z`).
"""
from __future__ import annotations

import datetime
import json
import random
from pathlib import Path

PEER_SYMBOL = "AAPL"
PEER_START_MS = 1_794_839_460_000  # 2026-11-16 14:31:00 UTC (a Monday; the session closes at 21:00 UTC)
PEER_SPACING_MS = 100
PEER_SEED = 13


def walk(count: int, symbols: tuple = ("AAPL", "MSFT"), seed: int = PEER_SEED) -> list:
    """`count` (symbol, price in cents) pairs: the symbols in turn, each moving by -3, -1, 0, +1 or +3 cents
    a step (never below a dollar), AAPL from $190.00 and MSFT from $420.00."""
    steps = random.Random(seed)
    prices = {"AAPL": 19000, "MSFT": 42000}
    out = []
    for index in range(count):
        symbol = symbols[index % len(symbols)]
        prices[symbol] = max(100, prices[symbol] + steps.choice((-3, -1, 0, 1, 3)))
        out.append((symbol, prices[symbol]))
    return out


def price_text(cents: int) -> str:
    """`19003` → `"190.03"`: the exact decimal text every engine is given."""
    return f"{cents // 100}.{cents % 100:02d}"


def backtest_ticks(path: Path, count: int) -> None:
    """`count` ticks of a seeded walk, AAPL and MSFT in turn, a second apart (the `backtest` scenarios)."""
    start = 1_763_303_460  # 2025-11-16 14:31 UTC
    with path.open("w") as out:
        for index, (symbol, cents) in enumerate(walk(count)):
            out.write(json.dumps({"ts": start + index, "symbol": symbol, "price": price_text(cents)}) + "\n")


def peer_prices(count: int) -> list:
    """The peer scenario's prices in cents, tick by tick (one symbol: `PEER_SYMBOL`)."""
    return [cents for _, cents in walk(count, symbols=(PEER_SYMBOL,))]


def peer_ts_ms(index: int) -> int:
    """Tick `index`'s time, epoch milliseconds."""
    return PEER_START_MS + index * PEER_SPACING_MS


def peer_index(ts_ms: int) -> int:
    """The tick index of a peer-scenario time (epoch milliseconds); ValueError for a time between ticks."""
    index, rest = divmod(ts_ms - PEER_START_MS, PEER_SPACING_MS)
    if rest or index < 0:
        raise ValueError(f"{ts_ms} ms is not the time of a tick of the peer scenario")
    return index


def iso_ms(ts_ms: int) -> str:
    """`2026-11-16T14:31:00.100Z`."""
    moment = datetime.datetime.fromtimestamp(ts_ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


def peer_ticks(folder: Path, count: int) -> tuple:
    """Writes the peer scenario's `count` ticks as `ticks.jsonl` (for `desk backtest`) and `ticks.csv`
    (`ts_ms,price`: epoch milliseconds and the price's decimal text, for the peers) in `folder`; returns
    both paths."""
    jsonl, csv = folder / "ticks.jsonl", folder / "ticks.csv"
    with jsonl.open("w") as desk_lines, csv.open("w") as peer_lines:
        peer_lines.write("ts_ms,price\n")
        for index, cents in enumerate(peer_prices(count)):
            ts_ms = peer_ts_ms(index)
            desk_lines.write(json.dumps({"ts": iso_ms(ts_ms), "symbol": PEER_SYMBOL, "price": price_text(cents)},
                                        separators=(",", ":")) + "\n")
            peer_lines.write(f"{ts_ms},{price_text(cents)}\n")
    return jsonl, csv
