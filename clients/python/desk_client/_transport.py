"""HTTP transport: one keep-alive session per process, over TCP or over a unix
domain socket (``DESK_SERVER_URL=unix:///path/to/desk.sock``).

A desk on this machine (a unix socket or a loopback address: where strategies
run) is spoken to with the standard library's ``http.client`` over a few kept-alive
connections: a call costs a fraction of what ``requests`` adds to each one, and
nothing there needs proxies or .netrc. Any other URL goes through a
``requests.Session`` (proxies, .netrc and TLS settings from the environment);
``requests`` is imported only then, so a strategy of a local desk (and every
backtest) starts without it.
"""
from __future__ import annotations

import http.client
import json as _json
import os
import select
import socket
import sys
import threading
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import unquote, urlencode, urlparse, urlsplit

UNIX_SCHEME = "unix://"
# Requests over a unix socket are written against this placeholder origin; only
# their path and query are sent.
UNIX_BASE = "http://desk.unix"
# Connections kept alive per pool: enough for a strategy with a few threads.
POOL_SIZE = 8


def timeout_errors() -> Tuple[type, ...]:
    """What a request that timed out raises: ``TimeoutError`` (``http.client`` and
    sockets), and ``requests.Timeout`` once ``requests`` is in use (it is not an
    ``OSError`` timeout)."""
    requests = sys.modules.get("requests")
    return (TimeoutError,) if requests is None else (TimeoutError, requests.Timeout)


class Reply:
    """An answer as the client reads it (the fields of ``requests.Response`` it uses)."""

    __slots__ = ("status_code", "reason", "headers", "content")

    def __init__(self, status_code: int, reason: str, headers: http.client.HTTPMessage, content: bytes):
        self.status_code = status_code
        self.reason = reason
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return _json.loads(self.content)


class _OneWriteConnection(http.client.HTTPConnection):
    """``http.client`` that sends a request with a bytes body in one write: the
    standard library writes the head and the body separately, which wakes the desk
    twice per order (and over TCP lets Nagle's algorithm hold the body back)."""

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        if not isinstance(message_body, bytes) or encode_chunked:
            return super()._send_output(message_body, encode_chunked=encode_chunked)
        # As the standard library builds the head (request line, headers, blank line), then the body.
        self._buffer.extend((b"", b""))
        head = b"\r\n".join(self._buffer)
        del self._buffer[:]
        self.send(head + message_body)


class _UnixConnection(_OneWriteConnection):
    """``http.client`` over a unix domain socket."""

    def __init__(self, socket_path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class LocalSession:
    """Kept-alive ``http.client`` connections to one desk on this machine, shared
    by a process's threads (each request takes one connection to itself). A
    connection the desk closed while it was idle (its idle timeout) is noticed
    before reuse and replaced; a request is never sent twice."""

    def __init__(self, socket_path: Optional[str], host: str, port: int):
        self.socket_path = socket_path
        self.host = host
        self.port = port
        self._idle: List[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _take(self, timeout: float) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                if self.socket_path is not None:
                    return _UnixConnection(self.socket_path, timeout)
                return _OneWriteConnection(self.host, self.port, timeout=timeout)
            sock = connection.sock
            # Readable while idle means the desk closed it (or sent what nobody asked for).
            if sock is not None and not select.select([sock], [], [], 0)[0]:
                sock.settimeout(timeout)
                return connection
            connection.close()

    def request(self, method: str, url: str, timeout: float, headers: Dict[str, str], data: Optional[bytes] = None,
                params: Optional[Dict[str, Optional[str]]] = None, json: Any = None) -> Reply:
        """One request, as ``requests.Session.request`` takes it (``data`` bytes or a
        ``json`` value, ``params`` for the query)."""
        if json is not None:
            data = _json.dumps(json).encode()
            headers = {"Content-Type": "application/json", **headers}
        parts = urlsplit(url)
        path = parts.path or "/"
        query = urlencode({key: value for key, value in (params or {}).items() if value is not None})
        if parts.query or query:
            path += "?" + "&".join(part for part in (parts.query, query) if part)
        connection = self._take(timeout)
        try:
            connection.request(method, path, body=data, headers=headers)
            answer = connection.getresponse()
            content = answer.read()
        except BaseException:
            connection.close()
            raise
        reply = Reply(answer.status, answer.reason, answer.headers, content)
        if answer.will_close:
            connection.close()
        else:
            with self._lock:
                if len(self._idle) < POOL_SIZE:
                    self._idle.append(connection)
                    connection = None
            if connection is not None:
                connection.close()
        return reply

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class Transport:
    """The keep-alive session for one server URL (``http(s)://host:port`` or
    ``unix:///path``). Safe to share between threads; a forked child gets a new
    session instead of the parent's sockets."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self._lock = threading.Lock()
        self._session: Optional[Any] = None
        self._pid = 0
        if server_url.startswith(UNIX_SCHEME):
            self.socket_path: Optional[str] = unquote(server_url[len(UNIX_SCHEME):])
            self.base = UNIX_BASE
        else:
            self.socket_path = None
            self.base = server_url.rstrip("/")

    def session(self) -> Any:
        """The process's session, created on first use (and again after a fork): a
        ``LocalSession`` for a desk on this machine, else a ``requests.Session``."""
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                # After a fork the parent's session is dropped, not closed: its
                # sockets still belong to the parent.
                if self.is_local:
                    address = urlparse(self.base)
                    self._session = LocalSession(self.socket_path, address.hostname or "localhost",
                                                 address.port or 80)
                else:
                    import requests
                    from requests.adapters import HTTPAdapter

                    session = requests.Session()
                    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
                    session.mount("http://", adapter)
                    session.mount("https://", adapter)
                    self._session = session
                self._pid = os.getpid()
            return self._session

    @property
    def is_local(self) -> bool:
        """A unix socket or a loopback address."""
        if self.socket_path is not None:
            return True
        address = urlparse(self.base)
        host = address.hostname or ""
        return address.scheme == "http" and (host in ("localhost", "::1") or host.startswith("127."))

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        with self._lock:
            if self._session is not None and self._pid == os.getpid():
                self._session.close()
            self._session = None
