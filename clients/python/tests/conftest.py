"""Fixtures that run the real `desk` server binary on loopback (and a unix socket)."""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DESK_BIN = Path(os.environ.get("DESK_BIN", REPO / ".build" / "debug" / "desk"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DeskServer:
    """A `desk serve` child process with its own ledger in a temporary folder."""

    def __init__(self, folder: Path, trust_user_header: bool):
        if not DESK_BIN.exists():
            pytest.fail(f"desk binary not found at {DESK_BIN}: run `swift build` first or set DESK_BIN")
        self.folder = folder
        self.db = folder / "desk.db"
        self.port = free_port()
        self.socket = folder / "desk.sock"
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(DESK_BIN), "serve", "--port", str(self.port), "--db", str(self.db),
                "--unix-socket", str(self.socket)]
        if trust_user_header:
            args.append("--trust-user-header")
        self.log_path = folder / "serve.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, stdout=self.log, stderr=self.log,
                                        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LOG_LEVEL": "info"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"desk serve exited: {self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as reply:
                    if reply.status == 200 and self.socket.exists():
                        break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail(f"desk serve did not become ready: {self.log_path.read_text()}")
        self.admin = (folder / "desk-admin.token").read_text().strip()

    def issue_token(self, member: str, strategy: str = "") -> str:
        args = [str(DESK_BIN), "tokens", "issue", member, "--db", str(self.db)]
        if strategy:
            args += ["--strategy", strategy]
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout.splitlines()[0]

    def push_price(self, symbol: str, price: str) -> None:
        request = urllib.request.Request(
            self.url + "/admin/prices", method="POST", data=json.dumps({"symbol": symbol, "price": price}).encode(),
            headers={"Authorization": f"Bearer {self.admin}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as reply:
            assert reply.status == 200

    def ledger_order(self, order_id: str):
        """(user_id, strategy, symbol, qty, side, status) of an order, read from the SQLite ledger."""
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return db.execute("SELECT user_id, strategy, symbol, qty, side, status FROM orders WHERE order_id = ?",
                              (order_id,)).fetchone()
        finally:
            db.close()

    def ledger_orders(self, member: str):
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return db.execute("SELECT order_id, symbol, side, qty FROM orders WHERE user_id = ?", (member,)).fetchall()
        finally:
            db.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def dev_desk():
    """A desk in development mode (X-User-ID trusted without a token)."""
    with tempfile.TemporaryDirectory() as folder:
        server = DeskServer(Path(folder), trust_user_header=True)
        yield server
        server.stop()


@pytest.fixture(scope="module")
def desk():
    """A desk that requires tokens."""
    with tempfile.TemporaryDirectory() as folder:
        server = DeskServer(Path(folder), trust_user_header=False)
        yield server
        server.stop()


@pytest.fixture
def client_env(monkeypatch):
    """Points desk_client at a server: client_env(url, user=None, token=None). Resets set_user_id."""
    import desk_client.client as client

    def configure(url: str, user: str | None = None, token: str | None = None):
        monkeypatch.setenv("DESK_SERVER_URL", url)
        for name, value in (("USER_ID", user), ("DESK_TOKEN", token)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        monkeypatch.setattr(client, "_user_id", None)

    return configure
