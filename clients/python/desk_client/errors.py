"""Exceptions raised by desk_client.

A refused order is *not* an exception: ``place_order`` returns an OrderResponse
with ``status == "error"`` and the desk's message, as the original client did.
Exceptions are for the transport (the desk cannot be reached or does not answer)
and for refusals of the JSON read API.
"""
from __future__ import annotations

from typing import Optional


class DeskError(Exception):
    """Base class of every desk_client error."""


class DeskConnectionError(DeskError):
    """The desk could not be reached: connection refused, unknown host, missing
    socket file, invalid ``DESK_SERVER_URL``... The message names the URL."""

    def __init__(self, message: str, url: Optional[str] = None):
        super().__init__(message)
        self.url = url


class DeskTimeout(DeskError):
    """The desk did not answer within the timeout. The message names the URL."""

    def __init__(self, message: str, url: Optional[str] = None):
        super().__init__(message)
        self.url = url


class DeskRequestError(DeskError):
    """The desk answered a read-API call (orders, positions, account) with an
    error status. ``status_code`` is the HTTP status, ``message`` the desk's
    explanation (the ``message`` of its ``{"status": "error", ...}`` body)."""

    def __init__(self, status_code: int, message: str):
        super().__init__(f"desk answered {status_code}: {message}")
        self.status_code = status_code
        self.message = message
