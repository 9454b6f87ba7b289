"""desk_client: place orders through the quant club's Desk server.

Drop-in compatible with the original client (``place_order``, ``set_user_id``,
``get_server_url``; environment ``DESK_SERVER_URL`` and ``USER_ID``), plus
bearer tokens (``DESK_TOKEN``), unix-socket servers (``unix:///path``), the JSON
read API (orders, positions, account; ``get_position`` for the strategy's own
position), a market data reader and ``lines()``, which also yields the
strategy's own order events (``"events": ["fills"]`` in config.json).
"""
from .client import (
    cancel_order,
    format_decimal,
    get_account,
    get_order,
    get_orders,
    get_position,
    get_positions,
    get_server_url,
    place_order,
    set_user_id,
)
from . import backtests, login
from .backtests import Backtest, backtest
from .errors import DeskConnectionError, DeskError, DeskRequestError, DeskTimeout
from .market_data import EVENT_TYPES, is_event, lines, market_data
from .order_pb2 import OrderRequest, OrderResponse

__version__ = "2.0.0"

__all__ = [
    "backtest",
    "backtests",
    "Backtest",
    "place_order",
    "set_user_id",
    "get_server_url",
    "get_order",
    "get_orders",
    "cancel_order",
    "get_positions",
    "get_position",
    "get_account",
    "market_data",
    "lines",
    "is_event",
    "EVENT_TYPES",
    "format_decimal",
    "DeskError",
    "DeskConnectionError",
    "DeskTimeout",
    "DeskRequestError",
    "OrderRequest",
    "OrderResponse",
]
