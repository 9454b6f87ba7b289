"""The transport against small in-process servers (no desk binary needed): HTTP
over a unix socket, what the client sends, how it reads odd replies, keep-alive,
fork safety, and the connection/timeout errors."""
from __future__ import annotations

import json
import os
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

import desk_client
from desk_client import (DeskConnectionError, DeskError, DeskRequestError, DeskTimeout, OrderRequest, OrderResponse,
                         get_account, get_order, get_orders, place_order)
from desk_client import client as client_module


class FakeDesk(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """An HTTP/1.1 server on a unix socket answering from a table of canned
    replies, recording every request and counting connections."""

    daemon_threads = True

    def __init__(self, path: str):
        self.replies = {}   # (method, path) -> (status, content type, body bytes)
        self.close_after_reply = False  # hang up after each answer without saying so (an idle timeout)
        self.closed = 0  # connections this server has closed
        self.requests = []  # dicts: method, path, headers, body
        self.connections = 0
        super().__init__(path, FakeDeskHandler)


class FakeDeskHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.server.connections += 1

    def finish(self):
        super().finish()
        self.connection.close()
        self.server.closed += 1

    def log_message(self, format, *args):  # quiet, and unix sockets have no client address
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                     "body": body})
        route = self.path.split("?")[0]
        status, content_type, payload = self.server.replies.get(
            (self.command, route), (404, "application/json", b'{"status":"error","message":"no such route"}'))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        if self.server.close_after_reply:
            self.wfile.flush()
            self.close_connection = True

    do_GET = do_POST = do_DELETE = _answer


@pytest.fixture
def fake_desk(client_env):
    with tempfile.TemporaryDirectory(prefix="fake-desk-") as folder:
        path = str(Path(folder) / "desk.sock")
        server = FakeDesk(path)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        client_env(f"unix://{path}", user="alice")
        try:
            yield server
        finally:
            server.shutdown()
            server.server_close()
            client_module._get_transport().close()


def order_reply(**fields) -> bytes:
    return OrderResponse(**fields).SerializeToString()


def test_place_order_over_a_unix_socket(fake_desk):
    fake_desk.replies[("POST", "/order")] = (201, "application/x-protobuf", order_reply(
        status="success", order_id="7b0c", symbol="AAPL", qty="10", side="buy", filled_qty="10",
        order_status="filled"))
    response = place_order("AAPL", 10, "buy", order_type="limit", time_in_force="gtc", limit_price=145.5)
    assert isinstance(response, OrderResponse)
    assert (response.status, response.order_id, response.order_status, response.filled_qty) == (
        "success", "7b0c", "filled", "10")
    sent = fake_desk.requests[-1]
    assert sent["headers"]["Content-Type"] == "application/x-protobuf"
    assert sent["headers"]["X-User-ID"] == "alice"
    assert "Authorization" not in sent["headers"]
    request = OrderRequest()
    request.ParseFromString(sent["body"])
    assert (request.symbol, request.qty, request.side, request.order_type, request.time_in_force,
            request.limit_price, request.stop_price) == ("AAPL", "10", "buy", "limit", "gtc", "145.5", "")


def test_token_is_sent_as_bearer(fake_desk, client_env):
    client_env(desk_client.get_server_url(), token="desk_secret")
    fake_desk.replies[("GET", "/account")] = (200, "application/json", b'{"user_id": "alice", "open_orders": 0}')
    assert get_account() == {"user_id": "alice", "open_orders": 0}
    headers = fake_desk.requests[-1]["headers"]
    assert headers["Authorization"] == "Bearer desk_secret"
    assert "X-User-ID" not in headers


def test_a_refusal_is_a_response_not_an_exception(fake_desk):
    fake_desk.replies[("POST", "/order")] = (422, "application/x-protobuf", order_reply(
        status="error", message="qty must be positive", symbol="AAPL", qty="-5", side="buy"))
    response = place_order("AAPL", "-5", "buy")
    assert (response.status, response.message) == ("error", "qty must be positive")


def test_a_proxy_html_page_becomes_an_error_response(fake_desk):
    page = b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>"
    fake_desk.replies[("POST", "/order")] = (502, "text/html", page)
    response = place_order("AAPL", "1", "buy")
    assert response.status == "error"
    assert "502" in response.message and "Bad Gateway" in response.message
    assert (response.symbol, response.qty, response.side) == ("AAPL", "1", "buy")


def test_a_json_error_on_the_order_endpoint_keeps_its_message(fake_desk):
    fake_desk.replies[("POST", "/order")] = (401, "application/json",
                                             b'{"status": "error", "message": "missing bearer token"}')
    response = place_order("AAPL", "1", "buy")
    assert response.status == "error"
    assert "401" in response.message and "missing bearer token" in response.message


def test_a_json_order_reply_is_understood(fake_desk):
    # A desk (or a gateway in front of it) that answers in JSON with the same field names.
    fake_desk.replies[("POST", "/order")] = (201, "application/json", json.dumps({
        "status": "success", "order_id": "42", "order_status": "new", "filled_qty": "0", "symbol": "AAPL",
        "qty": "1", "side": "buy", "extra": "ignored"}).encode())
    response = place_order("AAPL", "1", "buy")
    assert (response.status, response.order_id, response.order_status, response.filled_qty) == (
        "success", "42", "new", "0")
    fake_desk.replies[("POST", "/order")] = (422, "application/json",
                                             b'{"status": "error", "message": "qty must be positive"}')
    response = place_order("AAPL", "-1", "buy")
    assert (response.status, response.message) == ("error", "HTTP 422: qty must be positive")


def test_an_empty_reply_becomes_an_error_response(fake_desk):
    fake_desk.replies[("POST", "/order")] = (500, "application/x-protobuf", b"")
    response = place_order("AAPL", "1", "buy")
    assert response.status == "error" and "500" in response.message


def test_read_api_errors_carry_status_and_message(fake_desk):
    fake_desk.replies[("GET", "/orders/abc")] = (404, "application/json",
                                                 b'{"status": "error", "message": "no order \\"abc\\""}')
    with pytest.raises(DeskRequestError) as refused:
        get_order("abc")
    assert refused.value.status_code == 404
    assert refused.value.message == 'no order "abc"'
    fake_desk.replies[("GET", "/positions")] = (503, "text/html", b"<h1>Service Unavailable</h1>")
    with pytest.raises(DeskRequestError) as unavailable:
        desk_client.get_positions()
    assert unavailable.value.status_code == 503 and "Service Unavailable" in unavailable.value.message


def test_read_api_sends_filters_and_quotes_ids(fake_desk):
    fake_desk.replies[("GET", "/orders")] = (200, "application/json", json.dumps({"orders": [{"order_id": "1"}]})
                                             .encode())
    assert get_orders(status="open", symbol="AAPL") == [{"order_id": "1"}]
    assert fake_desk.requests[-1]["path"] == "/orders?status=open&symbol=AAPL"
    get_orders()
    assert fake_desk.requests[-1]["path"] == "/orders"
    with pytest.raises(DeskRequestError):
        get_order("../admin")
    assert fake_desk.requests[-1]["path"] == "/orders/..%2Fadmin"


def test_read_api_refuses_a_non_json_success(fake_desk):
    fake_desk.replies[("GET", "/account")] = (200, "text/html", b"<html>hello</html>")
    with pytest.raises(DeskError, match="not JSON"):
        get_account()


def test_connections_are_kept_alive_and_shared_by_threads(fake_desk):
    fake_desk.replies[("POST", "/order")] = (201, "application/x-protobuf", order_reply(status="success"))
    for _ in range(5):
        assert place_order("AAPL", "1", "buy").status == "success"
    assert fake_desk.connections == 1
    results = []
    threads = [threading.Thread(target=lambda: results.append(place_order("AAPL", "1", "buy").status))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["success"] * 6
    assert fake_desk.connections <= 1 + 6
    session = client_module._get_transport().session()
    assert client_module._get_transport().session() is session


def test_a_kept_connection_the_desk_closed_while_idle_is_replaced_not_failed(fake_desk):
    # The desk closes connections idle past its timeout; the next call must not fail on the
    # dead one (and is sent once, on a new connection).
    fake_desk.replies[("POST", "/order")] = (201, "application/x-protobuf", order_reply(status="success"))
    fake_desk.close_after_reply = True
    for number in range(1, 4):
        assert place_order("AAPL", "1", "buy").status == "success"
        deadline = time.monotonic() + 10
        while fake_desk.closed < number and time.monotonic() < deadline:  # the desk has hung up
            time.sleep(0.01)
    assert fake_desk.connections == 3
    assert len(fake_desk.requests) == 3


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_gets_its_own_session(fake_desk):
    fake_desk.replies[("POST", "/order")] = (201, "application/x-protobuf", order_reply(status="success"))
    assert place_order("AAPL", "1", "buy").status == "success"
    parent_session = client_module._get_transport().session()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running pytest's cleanup
        code = 1
        try:
            fresh = client_module._get_transport().session() is not parent_session
            ok = place_order("AAPL", "1", "buy").status == "success"
            code = 0 if fresh and ok else 2
        finally:
            os.write(write_end, bytes([code]))
            os._exit(code)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    child_code = os.read(read_end, 1)
    os.close(read_end)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, child_code
    assert client_module._get_transport().session() is parent_session
    assert place_order("AAPL", "1", "buy").status == "success"


def test_an_order_is_sent_in_one_write(fake_desk, monkeypatch):
    # The head and the body together: one wake-up of the desk per order, and nothing for Nagle to hold back.
    from desk_client import _transport
    writes = []
    original = _transport.http.client.HTTPConnection.send
    monkeypatch.setattr(_transport.http.client.HTTPConnection, "send",
                        lambda self, data: (writes.append(bytes(data)), original(self, data))[1])
    fake_desk.replies[("POST", "/order")] = (201, "application/x-protobuf", order_reply(status="success"))
    fake_desk.replies[("GET", "/orders")] = (200, "application/json", b'{"orders": []}')
    assert place_order("AAPL", 10, "buy", order_type="limit", limit_price="145.5").status == "success"
    assert place_order("AAPL", 10, "sell").status == "success"
    get_orders()
    assert len(writes) == 3, writes
    for write, sent in zip(writes, fake_desk.requests):
        head, body = write.split(b"\r\n\r\n", 1)
        assert head.startswith(f"{sent['method']} {sent['path']} HTTP/1.1".encode())
        assert body == sent["body"]
    request = OrderRequest()
    request.ParseFromString(fake_desk.requests[0]["body"])
    assert (request.symbol, request.qty, request.side, request.limit_price) == ("AAPL", "10", "buy", "145.5")


def test_a_local_desk_is_spoken_to_without_importing_requests(fake_desk):
    # A fresh interpreter (this one has requests already): import, place an order over
    # the unix socket, and a loopback TCP session; only a non-local URL imports requests.
    fake_desk.replies[("POST", "/order")] = (201, "application/x-protobuf", order_reply(status="success"))
    script = (
        "import sys, desk_client\n"
        "from desk_client._transport import Transport\n"
        "print('requests' in sys.modules)\n"
        "print(desk_client.place_order('AAPL', '1', 'buy').status)\n"
        "Transport('http://127.0.0.1:1').session()\n"
        "print('requests' in sys.modules)\n"
        "print(type(Transport('https://127.0.0.1:1').session()).__module__)\n"
        "print('requests' in sys.modules)\n")
    package = str(Path(desk_client.__file__).resolve().parent.parent)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([package, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "success", "False", "requests.sessions", "True"]


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_connection_refused_names_the_url(client_env):
    url = closed_port_url()
    client_env(url, user="x")
    with pytest.raises(DeskConnectionError, match=url) as failure:
        place_order("AAPL", "1", "buy")
    assert failure.value.url == url
    with pytest.raises(DeskConnectionError, match=url):
        get_account()


def test_missing_socket_file_names_the_url(client_env):
    url = "unix:///nonexistent-folder/desk.sock"
    client_env(url, user="x")
    with pytest.raises(DeskConnectionError, match=url):
        place_order("AAPL", "1", "buy")


def test_invalid_server_url_is_a_connection_error(client_env):
    client_env("localhost:8080", user="x")
    with pytest.raises(DeskConnectionError, match="localhost:8080"):
        place_order("AAPL", "1", "buy")


def test_a_server_that_never_answers_times_out_over_tcp(client_env):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel accepts connections; nobody ever reads or answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client_env(url, user="x")
        with pytest.raises(DeskTimeout, match=url):
            place_order("AAPL", "1", "buy", timeout=0.3)
        with pytest.raises(DeskTimeout, match=url):
            get_orders(timeout=0.3)


def test_a_server_that_never_answers_times_out_over_a_unix_socket(client_env):
    with tempfile.TemporaryDirectory() as folder, socket.socket(socket.AF_UNIX) as listener:
        path = os.path.join(folder, "silent.sock")
        listener.bind(path)
        listener.listen(8)
        client_env(f"unix://{path}", user="x")
        with pytest.raises(DeskTimeout, match=path):
            place_order("AAPL", "1", "buy", timeout=0.3)
