"""The order API, drop-in compatible with the original desk_client, and the
JSON read API (orders, positions, account).

``place_order`` sends a protobuf OrderRequest to ``POST /order`` and returns the
OrderResponse message. A refused order comes back with ``status == "error"`` and
the desk's message; it never raises for that. Only transport failures raise
(``DeskConnectionError``, ``DeskTimeout``).
"""
from __future__ import annotations

import http.client
import logging
import math
import os
import threading
from decimal import Decimal
from typing import Any, Dict, List, Optional, Union
from urllib.parse import quote

from . import order_pb2
from ._transport import Transport, timeout_errors
from .errors import DeskConnectionError, DeskError, DeskRequestError, DeskTimeout

logger = logging.getLogger("desk_client")

DEFAULT_SERVER_URL = "http://localhost:8080"
DEFAULT_USER_ID = "default_user"
USER_AGENT = "desk_client/2.0"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"

#: What a quantity or price may be given as.
Number = Union[str, int, float, Decimal]

_user_id: Optional[str] = None
_transport: Optional[Transport] = None
_transport_lock = threading.Lock()


def _reset_after_fork() -> None:
    # The child starts with one thread: fresh lock, fresh session on first use.
    global _transport, _transport_lock
    _transport = None
    _transport_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def get_server_url() -> str:
    """The desk's URL: ``DESK_SERVER_URL``, or ``http://localhost:8080``.

    ``unix:///path/to/desk.sock`` talks HTTP over that unix domain socket."""
    return os.environ.get("DESK_SERVER_URL") or DEFAULT_SERVER_URL


def set_user_id(user_id: Optional[str]) -> None:
    """Sets the member id sent as ``X-User-ID`` on every later request
    (overriding ``USER_ID``; ``None`` goes back to the environment)."""
    global _user_id
    _user_id = user_id


def _chosen_user_id() -> Optional[str]:
    if _user_id is not None:
        return _user_id
    return os.environ.get("USER_ID") or None


def _identity_headers() -> Dict[str, str]:
    """``Authorization: Bearer`` from ``DESK_TOKEN``, and ``X-User-ID``.

    Without a token, ``X-User-ID`` is always sent (``USER_ID``, else
    ``default_user``), exactly as the original client did. With a token it is
    sent only when a user id was chosen (``USER_ID`` or ``set_user_id``): the
    desk refuses (403) a user id that is not the token's member, so the
    ``default_user`` fallback would turn every tokened request into a refusal.
    """
    headers = {"User-Agent": USER_AGENT}
    token = os.environ.get("DESK_TOKEN", "").strip()
    user_id = _chosen_user_id()
    if token:
        headers["Authorization"] = f"Bearer {token}"
        if user_id is not None:
            headers["X-User-ID"] = user_id
    else:
        headers["X-User-ID"] = user_id if user_id is not None else DEFAULT_USER_ID
    return headers


def _get_transport() -> Transport:
    global _transport
    url = get_server_url()
    with _transport_lock:
        if _transport is None or _transport.server_url != url:
            if _transport is not None:
                _transport.close()
            _transport = Transport(url)
        return _transport


def format_decimal(value: Optional[Number], name: str) -> str:
    """The wire text of a quantity or price, exactly as Python shows the value.

    - ``str`` is sent as is (surrounding blanks removed); ``None`` is ``""``.
    - ``int`` → ``"10"``; ``Decimal`` → ``format(d, "f")`` (never an exponent).
    - ``float`` → its shortest ``repr`` without an exponent: ``0.1`` → ``"0.1"``,
      and ``145.5 + 0.1`` → ``"145.60000000000002"``. Nothing is rounded: the
      desk refuses such a price with a message saying why.

    Raises ``TypeError`` for a bool or any other type, ``ValueError`` for a NaN
    or infinite float.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a str, int, float or Decimal, not a bool")
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, not {value!r}")
        return format(Decimal(repr(value)), "f")
    raise TypeError(f"{name} must be a str, int, float or Decimal, not {type(value).__name__}")


def _send(method: str, path: str, timeout: float, headers: Dict[str, str], **kwargs: Any) -> Any:
    """One request through the process's session (a ``Reply`` or a
    ``requests.Response``); transport failures become DeskConnectionError /
    DeskTimeout naming the URL."""
    transport = _get_transport()
    server = transport.server_url
    try:
        return transport.session().request(method, transport.url(path), timeout=timeout, headers=headers,
                                            **kwargs)
    except timeout_errors() as error:
        raise DeskTimeout(f"the desk at {server} did not answer {method} {path} within {timeout} s",
                          url=server) from error
    # requests.RequestException is an OSError.
    except (OSError, http.client.HTTPException) as error:
        raise DeskConnectionError(f"cannot reach the desk at {server}: {error}", url=server) from error


def _excerpt(reply: Any, limit: int = 200) -> str:
    text = " ".join(reply.content[:4 * limit].decode("utf-8", "replace").split())
    return text[:limit] + ("…" if len(text) > limit else "")


def _json_body(reply: Any) -> Any:
    try:
        return reply.json()
    except ValueError:
        return None


def place_order(
    symbol: str,
    qty: Optional[Number] = None,
    side: str = "",
    order_type: str = "market",
    time_in_force: str = "day",
    limit_price: Optional[Number] = None,
    stop_price: Optional[Number] = None,
    timeout: float = 10,
    *,
    notional: Optional[Number] = None,
    trail_price: Optional[Number] = None,
    trail_percent: Optional[Number] = None,
    order_class: Optional[str] = None,
    take_profit: Optional[Dict[str, Number]] = None,
    stop_loss: Optional[Dict[str, Number]] = None,
    extended_hours: Optional[bool] = None,
    client_order_id: Optional[str] = None,
) -> order_pb2.OrderResponse:
    """Sends an order to the desk and returns its ``OrderResponse``.

    Args:
        symbol: e.g. ``"AAPL"``.
        qty: shares, as str, int, float or Decimal (sent exactly, see ``format_decimal``);
            leave it out for a ``notional`` order.
        side: ``"buy"`` or ``"sell"``.
        order_type: ``"market"``, ``"limit"``, ``"stop"``, ``"stop_limit"`` or ``"trailing_stop"``.
        time_in_force: ``"day"``, ``"gtc"``, ``"ioc"`` or ``"fok"``.
        limit_price: for limit and stop_limit orders.
        stop_price: for stop and stop_limit orders.
        timeout: seconds to wait for the desk.
        notional: dollars instead of ``qty`` (market day orders); the desk works
            out the quantity at the price it would fill at.
        trail_price: a trailing stop's trail in dollars.
        trail_percent: a trailing stop's trail in percent (one of the two).
        order_class: ``"simple"`` (default), ``"bracket"``, ``"oco"`` or ``"oto"``.
        take_profit: ``{"limit_price": "..."}``: the take-profit exit.
        stop_loss: ``{"stop_price": "...", "limit_price": "..."}``: the stop-loss
            exit (``limit_price`` optional: a stop-limit).
        extended_hours: a DAY limit order that may fill outside the regular session.
        client_order_id: your own id for the order, unique among your orders.

    Returns:
        The protobuf ``OrderResponse``: ``status`` is ``"success"`` (with
        ``order_id``, ``order_status``, ``filled_qty``, and for a bracket, oco or
        oto order its ``order_class`` and ``legs``) or ``"error"`` with the
        desk's ``message``. A refusal never raises.

    Raises:
        DeskConnectionError: the desk cannot be reached.
        DeskTimeout: the desk did not answer within ``timeout``.
        TypeError, ValueError: a quantity or price of an unusable type or value,
            or a ``take_profit``/``stop_loss`` with keys other than its own.
    """
    request = order_pb2.OrderRequest(
        symbol=symbol or "",
        qty=format_decimal(qty, "qty"),
        side=side or "",
        order_type=order_type or "",
        time_in_force=time_in_force or "",
        limit_price=format_decimal(limit_price, "limit_price"),
        stop_price=format_decimal(stop_price, "stop_price"),
        trail_price=format_decimal(trail_price, "trail_price"),
        trail_percent=format_decimal(trail_percent, "trail_percent"),
        notional=format_decimal(notional, "notional"),
        extended_hours=bool(extended_hours),
        order_class=order_class or "",
        client_order_id=client_order_id or "",
    )
    if extended_hours is not None and not isinstance(extended_hours, bool):
        raise TypeError(f"extended_hours must be True or False, not {extended_hours!r}")
    if take_profit is not None:
        fields = _exit_fields(take_profit, "take_profit", ("limit_price",))
        request.take_profit.CopyFrom(order_pb2.TakeProfit(**fields))
    if stop_loss is not None:
        fields = _exit_fields(stop_loss, "stop_loss", ("stop_price", "limit_price"))
        request.stop_loss.CopyFrom(order_pb2.StopLoss(**fields))
    headers = {**_identity_headers(), "Content-Type": PROTOBUF, "Accept": PROTOBUF}
    reply = _send("POST", "/order", timeout, headers, data=request.SerializeToString())
    response = _order_response(reply, request)
    if response.status == "success":
        logger.info("order %s: %s %s %s -> %s (filled %s)", response.order_id, request.side, request.qty,
                    request.symbol, response.order_status, response.filled_qty or "0")
    else:
        logger.warning("order %s %s %s refused (HTTP %s): %s", request.side, request.qty, request.symbol,
                       reply.status_code, response.message)
    return response


def _exit_fields(given: Any, name: str, keys: tuple) -> Dict[str, str]:
    """A ``take_profit``/``stop_loss`` dict as the wire's decimal strings."""
    if not isinstance(given, dict):
        raise TypeError(f"{name} must be a dict such as {{{keys[0]!r}: '145.50'}}, not {type(given).__name__}")
    unknown = sorted(set(given) - set(keys))
    if unknown:
        raise ValueError(f"{name} has unknown keys {unknown}; its keys are {list(keys)}")
    return {key: format_decimal(value, f"{name}.{key}") for key, value in given.items()}


def _order_response(reply: Any, request: order_pb2.OrderRequest) -> order_pb2.OrderResponse:
    """The reply as an OrderResponse, whatever the HTTP status. A body that is not
    one (a proxy's HTML page, a JSON error) becomes status "error" with the HTTP
    status and the body's message or an excerpt."""
    response = order_pb2.OrderResponse()
    content_type = reply.headers.get("Content-Type", "")
    if "json" not in content_type:
        try:
            response.ParseFromString(reply.content)
        except Exception:  # DecodeError, or anything a malformed body provokes
            response.Clear()
        if response.status:
            return response
    body = _json_body(reply)
    if isinstance(body, dict) and body.get("status"):
        # The same fields in JSON (what the desk sends to JSON clients).
        fields = {field.name: str(body[field.name]) for field in order_pb2.OrderResponse.DESCRIPTOR.fields
                  if isinstance(body.get(field.name), (str, int, float))}
        if fields.get("status") == "success" and reply.status_code < 400:
            return order_pb2.OrderResponse(**fields)
        message = fields.get("message") or _excerpt(reply)
        return order_pb2.OrderResponse(status="error", symbol=request.symbol, qty=request.qty, side=request.side,
                                       message=f"HTTP {reply.status_code}: {message}")
    return order_pb2.OrderResponse(
        status="error", symbol=request.symbol, qty=request.qty, side=request.side,
        message=f"HTTP {reply.status_code} {reply.reason or ''} from {get_server_url()} is not an order "
                f"response: {_excerpt(reply) or '(empty body)'}")


def _read(method: str, path: str, timeout: float, params: Optional[Dict[str, str]] = None) -> Any:
    """A JSON read-API call; raises DeskRequestError for a 4xx/5xx answer."""
    headers = {**_identity_headers(), "Accept": JSON}
    reply = _send(method, path, timeout, headers, params=params)
    body = _json_body(reply)
    if reply.status_code >= 400:
        message = body.get("message") if isinstance(body, dict) else None
        raise DeskRequestError(reply.status_code, str(message) if message else _excerpt(reply) or reply.reason)
    if body is None:
        raise DeskError(f"the desk at {get_server_url()} answered {method} {path} with HTTP {reply.status_code} "
                        f"but not JSON: {_excerpt(reply)}")
    return body


def _order_path(order_id: str) -> str:
    if not order_id:
        raise ValueError("order_id must not be empty")
    return "/orders/" + quote(str(order_id), safe="")


def _field(body: Any, name: str) -> List[Dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get(name), list):
        raise DeskError(f"the desk at {get_server_url()} answered without a {name!r} list")
    return body[name]


def get_order(order_id: str, timeout: float = 10) -> Dict[str, Any]:
    """One of your orders (``GET /orders/{id}``) as a dict: ``order_id``, ``member``,
    ``status``, ``qty``, ``filled_qty``, ``filled_avg_price``... Decimals are
    strings, missing values ``None``. Raises DeskRequestError (404) if it is
    unknown or not yours."""
    return _read("GET", _order_path(order_id), timeout)


def cancel_order(order_id: str, timeout: float = 10) -> Dict[str, Any]:
    """Cancels a working order (``DELETE /orders/{id}``); returns the order after
    the cancel. Raises DeskRequestError if the order is already final."""
    return _read("DELETE", _order_path(order_id), timeout)


def _own_strategy() -> Optional[str]:
    """The strategy this process runs as (``STRATEGY_NAME``, which the desk sets), or None."""
    return os.environ.get("STRATEGY_NAME") or None


def get_orders(status: Optional[str] = None, symbol: Optional[str] = None,
               timeout: float = 10, limit: Optional[int] = None) -> List[Dict[str, Any]]:
    """Your orders (``GET /orders``), newest first, optionally only those with
    ``status`` (``"open"``, ``"closed"``, ``"all"`` or an order status such as
    ``"filled"``) and/or for ``symbol``; at most ``limit`` (the desk's default: 100).

    Each is a dict: ``order_id``, ``symbol``, ``side``, ``qty``, ``filled_qty``,
    ``filled_avg_price``, ``status``, ``order_type``, ``time_in_force``,
    ``limit_price``, ``stop_price``, ``strategy``, ``venue``... (decimals as
    strings). Run by the desk as a strategy (``STRATEGY_NAME`` set), these are
    the strategy's own orders only; with a member's token, all the member's."""
    params = {name: value for name, value in (("status", status), ("symbol", symbol)) if value}
    if limit is not None:
        params["limit"] = str(limit)
    orders = _field(_read("GET", "/orders", timeout, params=params), "orders")
    strategy = _own_strategy()
    return [order for order in orders if order.get("strategy") == strategy] if strategy else orders


def get_positions(timeout: float = 10) -> List[Dict[str, Any]]:
    """Your positions (``GET /positions``): ``symbol``, ``qty``,
    ``avg_entry_price``, ``realized_pnl``, ``market_price``, ``market_value``,
    ``unrealized_pnl``."""
    return _field(_read("GET", "/positions", timeout), "positions")


def get_position(symbol: str, timeout: float = 10) -> Decimal:
    """Your position in ``symbol`` as an exact ``Decimal`` (negative: short; 0
    when you hold none). Run by the desk as a strategy (``STRATEGY_NAME`` set),
    the strategy's own position (``GET /positions?by=strategy``); with a member's
    token, the member's netted position (``GET /positions``)."""
    if not symbol:
        raise ValueError("symbol must not be empty")
    strategy = _own_strategy()
    params = {"by": "strategy"} if strategy else None
    rows = _field(_read("GET", "/positions", timeout, params=params), "positions")
    held = [Decimal(str(row.get("qty", "0"))) for row in rows
            if row.get("symbol") == symbol and (strategy is None or row.get("strategy") == strategy)]
    return sum(held, Decimal(0))


def get_account(timeout: float = 10) -> Dict[str, Any]:
    """Your account summary (``GET /account``): ``member``, ``realized_pnl``,
    ``unrealized_pnl``, ``market_value``, ``cash_used``, ``open_orders``,
    ``positions``."""
    return _read("GET", "/account", timeout)
