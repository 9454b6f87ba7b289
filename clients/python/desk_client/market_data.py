"""Market data as the desk delivers it to a strategy: one JSON object per line
on standard input, e.g. ``{"symbol": "AAPL", "price": 145.50}``."""
from __future__ import annotations

import json
import logging
import sys
from typing import Any, Dict, Iterable, Iterator, Optional

logger = logging.getLogger("desk_client")


def market_data(stream: Optional[Iterable[str]] = None) -> Iterator[Dict[str, Any]]:
    """Yields each tick as a dict until the end of ``stream`` (``sys.stdin`` by
    default, looked up when the generator starts).

    A tick is a JSON object with at least ``"symbol"`` and ``"price"``; any other
    fields are passed through untouched. Blank lines are skipped. A line that is
    not JSON, not an object, or lacks ``symbol``/``price`` is reported once
    through the ``desk_client`` logger (to stderr unless logging is configured
    otherwise), naming its line number, and skipped.
    """
    lines = sys.stdin if stream is None else stream
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            tick = json.loads(line)
        except ValueError as error:
            logger.warning("market data line %d is not valid JSON (%s); skipped", number, error)
            continue
        if not isinstance(tick, dict):
            logger.warning("market data line %d is a JSON %s, not an object; skipped", number,
                           type(tick).__name__)
            continue
        missing = [field for field in ("symbol", "price") if field not in tick]
        if missing:
            logger.warning("market data line %d has no %s; skipped", number, " or ".join(missing))
            continue
        yield tick
