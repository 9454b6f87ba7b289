"""HTTP transport: one keep-alive requests.Session per process, over TCP or a
unix domain socket (``unix:///path/to/desk.sock``), using only requests and urllib3."""
from __future__ import annotations

import os
import socket
import threading
from urllib.parse import unquote, urlparse

import requests
import urllib3
from requests.adapters import HTTPAdapter

UNIX_SCHEME = "unix://"
_POOL_SIZE = 8


class _UnixConnection(urllib3.connection.HTTPConnection):
    def __init__(self, socket_path: str, *args, **kwargs):
        self._socket_path = socket_path
        super().__init__(*args, **kwargs)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if isinstance(self.timeout, (int, float)):
            sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _UnixConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    def __init__(self, socket_path: str, **kwargs):
        super().__init__("localhost", **kwargs)
        self._socket_path = socket_path

    def _new_conn(self):
        return _UnixConnection(self._socket_path, host="localhost", port=None, timeout=self.timeout.connect_timeout)


class _UnixAdapter(HTTPAdapter):
    """Sends http+unix://<percent-encoded socket path>/<path> requests over the socket."""

    def __init__(self, socket_path: str):
        self._socket_path = socket_path
        self._pools: dict = {}
        self._lock = threading.Lock()
        super().__init__(pool_connections=1, pool_maxsize=_POOL_SIZE)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        return self._pool()

    def get_connection(self, url, proxies=None):  # requests < 2.32
        return self._pool()

    def _pool(self):
        with self._lock:
            pool = self._pools.get("pool")
            if pool is None:
                pool = _UnixConnectionPool(self._socket_path, maxsize=_POOL_SIZE)
                self._pools["pool"] = pool
            return pool

    def request_url(self, request, proxies):
        parsed = urlparse(request.url)
        return parsed.path + (f"?{parsed.query}" if parsed.query else "")

    def close(self):
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
        super().close()


class Transport:
    """The process's keep-alive session for one server URL. Safe to share between
    threads; recreated after fork."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self._lock = threading.Lock()
        self._session: requests.Session | None = None
        self._pid = 0
        if server_url.startswith(UNIX_SCHEME):
            self.socket_path = unquote(server_url[len(UNIX_SCHEME):])
            self.base = "http://desk.unix"
        else:
            self.socket_path = None
            self.base = server_url.rstrip("/")

    def session(self) -> requests.Session:
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                session = requests.Session()
                if self.socket_path is not None:
                    session.mount("http://desk.unix", _UnixAdapter(self.socket_path))
                else:
                    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE)
                    session.mount("http://", adapter)
                    session.mount("https://", adapter)
                self._session = session
                self._pid = os.getpid()
            return self._session

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None
