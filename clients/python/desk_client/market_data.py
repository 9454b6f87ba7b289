"""What the desk writes to a strategy's standard input, one JSON object per line:
market data (``{"symbol": "AAPL", "price": 145.50, ...}``) and, for a strategy
whose config.json sets ``"events": ["fills"]``, its own order events
(``{"type": "fill", "order_id": ..., "symbol": ..., "side": ..., "qty": ...,
"price": ..., "position": ...}``, ``"canceled"``, ``"expired"``, ``"rejected"``)
in order with the market data."""
from __future__ import annotations

import json
import logging
import sys
from typing import Any, Dict, Iterable, Iterator, Optional

logger = logging.getLogger("desk_client")

#: The ``type`` of a line about one of the strategy's own orders.
EVENT_TYPES = frozenset({"fill", "canceled", "expired", "rejected"})


def is_event(line: Dict[str, Any]) -> bool:
    """Whether a line from ``lines()`` is one of the strategy's order events
    (``fill``, ``canceled``, ``expired``, ``rejected``) rather than market data."""
    return line.get("type") in EVENT_TYPES


def lines(stream: Optional[Iterable[str]] = None) -> Iterator[Dict[str, Any]]:
    """Yields every line the desk sends, as a dict with a ``type``, until the end
    of ``stream`` (``sys.stdin`` by default, looked up when the generator starts).

    - Market data: ``type`` is ``"trade"``, ``"quote"`` or ``"bar"`` (``"trade"``
      when the line names none), with at least ``symbol`` and ``price``.
    - The strategy's own order events (``"events": ["fills"]`` in config.json):
      ``type`` ``"fill"`` with ``order_id``, ``symbol``, ``side``, ``qty`` (this
      fill's), ``price`` and ``position`` (the strategy's position in the symbol
      after it); ``"canceled"``, ``"expired"`` or ``"rejected"`` with
      ``order_id``, ``symbol``, ``side`` and ``reason`` when there is one.

    Numbers come as JSON numbers written from exact decimal text: read them with
    ``Decimal(str(value))``. A line that is not a JSON object, or lacks what its
    kind needs, is reported through the ``desk_client`` logger with its line
    number and skipped.
    """
    source = sys.stdin if stream is None else stream
    for number, line in enumerate(source, start=1):
        item = _parse(number, line)
        if item is not None:
            yield item


def market_data(stream: Optional[Iterable[str]] = None) -> Iterator[Dict[str, Any]]:
    """Yields each tick as a dict until the end of ``stream`` (``sys.stdin`` by
    default, looked up when the generator starts); order event lines are left out
    (read them with ``lines()``).

    A tick is a JSON object with at least ``"symbol"`` and ``"price"``; any other
    fields are passed through untouched. Blank lines are skipped. A line that is
    not JSON, not an object, or lacks ``symbol``/``price`` is reported once
    through the ``desk_client`` logger (to stderr unless logging is configured
    otherwise), naming its line number, and skipped.
    """
    source = sys.stdin if stream is None else stream
    for number, line in enumerate(source, start=1):
        item = _parse(number, line, typed=False)
        if item is not None and not is_event(item):
            yield item


def _parse(number: int, line: str, typed: bool = True) -> Optional[Dict[str, Any]]:
    """One line as a dict (with a ``type`` when ``typed``), or None (reported) when it is unusable."""
    line = line.strip()
    if not line:
        return None
    try:
        item = json.loads(line)
    except ValueError as error:
        logger.warning("market data line %d is not valid JSON (%s); skipped", number, error)
        return None
    if not isinstance(item, dict):
        logger.warning("market data line %d is a JSON %s, not an object; skipped", number, type(item).__name__)
        return None
    if is_event(item):
        missing = [field for field in ("order_id", "symbol", "side") if field not in item]
        if missing:
            logger.warning("order event line %d has no %s; skipped", number, " or ".join(missing))
            return None
        return item
    missing = [field for field in ("symbol", "price") if field not in item]
    if missing:
        logger.warning("market data line %d has no %s; skipped", number, " or ".join(missing))
        return None
    if typed:
        item.setdefault("type", "trade")
    return item
