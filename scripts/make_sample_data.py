#!/usr/bin/env python3
"""Writes data/sample/three_days.jsonl: the sample history `desk backtest`
runs on offline. It is generated, not recorded: a seeded random walk of
one-minute bars for AAPL, MSFT and GOOG over three regular sessions
(2026-11-16 to 2026-11-18, 09:31 to 16:00 New York time), one tick per bar at
its close with the bar's open, high, low and volume, as `desk data fetch` writes
bars. Run it again and the file is byte for byte the same."""
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

START = {"AAPL": Decimal("190.00"), "MSFT": Decimal("420.00"), "GOOG": Decimal("170.00")}
DAYS = ["2026-11-16", "2026-11-17", "2026-11-18"]
CENT = Decimal("0.01")


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "data/sample/three_days.jsonl"
    rng = random.Random(20261116)
    price = dict(START)
    lines = []
    for day in DAYS:
        # 09:30 New York is 14:30 UTC in November (EST).
        open_at = datetime.fromisoformat(day).replace(hour=14, minute=30, tzinfo=timezone.utc)
        for minute in range(1, 391):
            close_at = open_at + timedelta(minutes=minute)
            for symbol in START:
                first = price[symbol]
                path = [first]
                for _ in range(4):
                    step = Decimal(rng.gauss(0, 0.0007)) * path[-1]
                    path.append(max(CENT, (path[-1] + step).quantize(CENT, ROUND_HALF_EVEN)))
                last = path[-1]
                price[symbol] = last
                lines.append(json.dumps({
                    "ts": close_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "symbol": symbol, "type": "bar",
                    "price": str(last), "open": str(first), "high": str(max(path)), "low": str(min(path)),
                    "volume": str(rng.randrange(1_000, 50_000)),
                }, separators=(",", ":")))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"{out}: {len(lines)} ticks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
