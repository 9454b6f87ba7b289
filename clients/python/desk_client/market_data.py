"""Market data as the desk delivers it: one JSON object per line on stdin."""
from __future__ import annotations

import json
import logging
import sys
from typing import IO, Iterator

logger = logging.getLogger("desk_client")


def market_data(stream: IO[str] = None) -> Iterator[dict]:
    """Yields each tick (a dict with at least ``symbol`` and ``price``) until EOF.
    Blank lines are skipped; lines that are not JSON objects are reported on
    stderr with their line number and skipped."""
    stream = sys.stdin if stream is None else stream
    for number, line in enumerate(stream, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            tick = json.loads(line)
        except ValueError as error:
            logger.warning("market data line %d is not JSON (%s); skipped", number, error)
            continue
        if not isinstance(tick, dict) or "symbol" not in tick or "price" not in tick:
            logger.warning("market data line %d is not a tick with symbol and price; skipped", number)
            continue
        yield tick
