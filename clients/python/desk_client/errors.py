"""Exceptions raised by desk_client. A refused order is not an exception: it is an
OrderResponse with status "error", as in the original client."""


class DeskError(Exception):
    """Base class of every desk_client error."""


class DeskConnectionError(DeskError):
    """The desk could not be reached (refused, no such host, socket file missing...)."""


class DeskTimeout(DeskError):
    """The desk did not answer in time."""


class DeskRequestError(DeskError):
    """The desk answered a read-API call with an error status."""

    def __init__(self, status_code: int, message: str):
        super().__init__(f"desk answered {status_code}: {message}")
        self.status_code = status_code
        self.message = message
