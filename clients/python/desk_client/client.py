"""The order API, drop-in compatible with the original desk_client.

``place_order`` sends a protobuf OrderRequest to ``POST /order`` and returns the
OrderResponse message. A refused order comes back with ``status == "error"`` and
the desk's message (it never raises for that); only transport failures raise
``DeskConnectionError`` or ``DeskTimeout``.
"""
from __future__ import annotations

import logging
import os
import threading
from decimal import Decimal
from typing import Any, Optional, Union

import requests

from . import order_pb2
from ._transport import Transport
from .errors import DeskConnectionError, DeskRequestError, DeskTimeout

logger = logging.getLogger("desk_client")

DEFAULT_SERVER_URL = "http://localhost:8080"
DEFAULT_USER_ID = "default_user"

Number = Union[str, int, float, Decimal]

_user_id: Optional[str] = None
_transport: Optional[Transport] = None
_transport_lock = threading.Lock()


def get_server_url() -> str:
    """The desk's URL: ``DESK_SERVER_URL`` or http://localhost:8080 (``unix:///path`` for a socket)."""
    return os.environ.get("DESK_SERVER_URL", DEFAULT_SERVER_URL)


def set_user_id(user_id: str) -> None:
    """Sets the member id sent as X-User-ID (the desk checks it against the token)."""
    global _user_id
    _user_id = user_id


def _explicit_user_id() -> Optional[str]:
    return _user_id if _user_id is not None else os.environ.get("USER_ID")


def _get_transport() -> Transport:
    global _transport
    url = get_server_url()
    with _transport_lock:
        if _transport is None or _transport.server_url != url:
            if _transport is not None:
                _transport.close()
            _transport = Transport(url)
        return _transport


def _headers(content_type: str) -> dict:
    """With a token, X-User-ID is sent only when a user id was set explicitly (the
    desk refuses one that names another member); without a token the original
    client's behaviour is kept: USER_ID, else default_user."""
    headers = {"Content-Type": content_type}
    token = os.environ.get("DESK_TOKEN")
    user_id = _explicit_user_id()
    if token:
        headers["Authorization"] = f"Bearer {token}"
        if user_id is not None:
            headers["X-User-ID"] = user_id
    else:
        headers["X-User-ID"] = user_id if user_id is not None else DEFAULT_USER_ID
    return headers


def format_decimal(value: Optional[Number], name: str) -> str:
    """Text for a quantity or price, exactly as Python shows it: no float noise is
    added (``0.1`` → ``"0.1"``) and none is hidden (``145.5 + 0.1`` stays
    ``"145.60000000000002"``, which the desk refuses with a clear message)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number or a decimal string, not a bool")
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{name} must be a finite number, not {value}")
        return format(Decimal(repr(value)), "f")
    raise TypeError(f"{name} must be str, int, float or Decimal, not {type(value).__name__}")


def _send(method: str, path: str, timeout: float, **kwargs) -> requests.Response:
    transport = _get_transport()
    url = transport.url(path)
    try:
        return transport.session().request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout as error:
        raise DeskTimeout(f"the desk at {transport.server_url} did not answer within {timeout} s") from error
    except (requests.ConnectionError, OSError) as error:
        raise DeskConnectionError(f"cannot reach the desk at {transport.server_url}: {error}") from error


def place_order(
    symbol: str,
    qty: Number,
    side: str,
    order_type: str = "market",
    time_in_force: str = "day",
    limit_price: Optional[Number] = None,
    stop_price: Optional[Number] = None,
    timeout: float = 10,
) -> order_pb2.OrderResponse:
    """Places an order; returns the desk's OrderResponse (``status`` "success" or "error")."""
    request = order_pb2.OrderRequest(
        symbol=symbol,
        qty=format_decimal(qty, "qty"),
        side=side,
        order_type=order_type or "",
        time_in_force=time_in_force or "",
        limit_price=format_decimal(limit_price, "limit_price"),
        stop_price=format_decimal(stop_price, "stop_price"),
    )
    reply = _send("POST", "/order", timeout, data=request.SerializeToString(),
                  headers=_headers("application/x-protobuf"))
    response = order_pb2.OrderResponse()
    try:
        response.ParseFromString(reply.content)
        if not response.status:
            raise ValueError("no status field")
    except Exception:
        response = order_pb2.OrderResponse(
            status="error", symbol=request.symbol, qty=request.qty, side=request.side,
            message=f"HTTP {reply.status_code} from {get_server_url()}: {reply.text[:200]}")
    if response.status == "success":
        logger.info("order %s %s %s %s: %s (filled %s)", response.order_id, side, request.qty, symbol,
                    response.order_status, response.filled_qty)
    else:
        logger.warning("order %s %s %s refused (%s): %s", side, request.qty, symbol, reply.status_code,
                       response.message)
    return response


def _json(method: str, path: str, timeout: float = 10, params: Optional[dict] = None) -> Any:
    reply = _send(method, path, timeout, params=params, headers=_headers("application/json"))
    try:
        body = reply.json()
    except ValueError:
        body = {"message": reply.text[:200]}
    if reply.status_code >= 400:
        message = body.get("message") if isinstance(body, dict) else str(body)
        raise DeskRequestError(reply.status_code, message or f"HTTP {reply.status_code}")
    return body


def get_order(order_id: str, timeout: float = 10) -> dict:
    """One of your orders, with its fills."""
    return _json("GET", f"/orders/{order_id}", timeout)


def cancel_order(order_id: str, timeout: float = 10) -> dict:
    """Cancels a working order; returns the order afterwards."""
    return _json("DELETE", f"/orders/{order_id}", timeout)


def get_orders(status: Optional[str] = None, symbol: Optional[str] = None, timeout: float = 10) -> list:
    """Your orders, newest first; status is open, closed, all or an order status."""
    params = {key: value for key, value in (("status", status), ("symbol", symbol)) if value}
    return _json("GET", "/orders", timeout, params=params)["orders"]


def get_positions(timeout: float = 10) -> list:
    """Your positions with realized and unrealized P&L."""
    return _json("GET", "/positions", timeout)["positions"]


def get_account(timeout: float = 10) -> dict:
    """Your account summary: cash used, market value, realized and unrealized P&L."""
    return _json("GET", "/account", timeout)
