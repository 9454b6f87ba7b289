"""HTTP transport: one keep-alive ``requests.Session`` per process, over TCP or
over a unix domain socket (``DESK_SERVER_URL=unix:///path/to/desk.sock``).

The unix-socket support uses only requests and urllib3: a transport adapter
whose connection pool opens AF_UNIX sockets instead of TCP connections.
"""
from __future__ import annotations

import os
import socket
import threading
from typing import Optional
from urllib.parse import unquote, urlparse, urlsplit

import requests
import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter

UNIX_SCHEME = "unix://"
# Requests over a unix socket are sent to this placeholder origin; the adapter
# mounted for it ignores the host and connects the socket file instead.
UNIX_BASE = "http://desk.unix"
# Connections kept alive per pool: enough for a strategy with a few threads.
POOL_SIZE = 8


class _UnixHTTPConnection(urllib3.connection.HTTPConnection):
    """An HTTP/1.1 connection whose transport is a unix domain socket."""

    def __init__(self, socket_path: str, *args, **kwargs):
        self.socket_path = socket_path
        super().__init__(*args, **kwargs)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # urllib3 passes the connect timeout here (a sentinel when there is none)
        # and sets the read timeout on the socket itself before reading.
        if isinstance(self.timeout, (int, float)):
            sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _UnixHTTPConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    """A keep-alive pool of connections to one socket file."""

    def __init__(self, socket_path: str, **kwargs):
        super().__init__("localhost", **kwargs)
        self.socket_path = socket_path

    def _new_conn(self) -> _UnixHTTPConnection:
        self.num_connections += 1
        return _UnixHTTPConnection(self.socket_path, host="localhost", port=None,
                                   timeout=self.timeout.connect_timeout)


class UnixSocketAdapter(HTTPAdapter):
    """A requests transport adapter sending every request to one unix socket.
    Mount it on ``UNIX_BASE``; the URL's path and query are sent as is."""

    def __init__(self, socket_path: str, pool_maxsize: int = POOL_SIZE):
        self.socket_path = socket_path
        self._pool: Optional[_UnixHTTPConnectionPool] = None
        self._pool_lock = threading.Lock()
        self._unix_pool_maxsize = pool_maxsize
        super().__init__(pool_connections=1, pool_maxsize=pool_maxsize)

    def _unix_pool(self) -> _UnixHTTPConnectionPool:
        with self._pool_lock:
            if self._pool is None:
                self._pool = _UnixHTTPConnectionPool(self.socket_path, maxsize=self._unix_pool_maxsize)
            return self._pool

    # requests >= 2.32 asks this method for the pool...
    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        return self._unix_pool()

    # ...older versions ask this one.
    def get_connection(self, url, proxies=None):
        return self._unix_pool()

    def request_url(self, request, proxies) -> str:
        # Never a proxy: only the path and query go on the request line.
        parts = urlsplit(request.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
        super().close()


class Transport:
    """The keep-alive session for one server URL (``http(s)://host:port`` or
    ``unix:///path``). Safe to share between threads; a forked child gets a new
    session instead of the parent's sockets."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self._lock = threading.Lock()
        self._session: Optional[requests.Session] = None
        self._pid = 0
        if server_url.startswith(UNIX_SCHEME):
            self.socket_path: Optional[str] = unquote(server_url[len(UNIX_SCHEME):])
            self.base = UNIX_BASE
        else:
            self.socket_path = None
            self.base = server_url.rstrip("/")

    def session(self) -> requests.Session:
        """The process's session, created on first use (and again after a fork)."""
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                # After a fork the parent's session is dropped, not closed: its
                # sockets still belong to the parent.
                session = requests.Session()
                # Proxy and .netrc settings from the environment mean nothing for a unix
                # socket or a desk on this machine, and reading them costs every call.
                session.trust_env = not self.is_local
                if self.socket_path is not None:
                    session.mount(UNIX_BASE, UnixSocketAdapter(self.socket_path))
                else:
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
        host = urlparse(self.base).hostname or ""
        return host in ("localhost", "::1") or host.startswith("127.")

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        with self._lock:
            if self._session is not None and self._pid == os.getpid():
                self._session.close()
            self._session = None
