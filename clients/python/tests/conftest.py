"""Shared fixtures: the real `desk` server binary (one per test module and mode),
token issuing, admin price pushes, read-only ledger queries, and a helper that
points desk_client at a server through its environment variables.

The binary is $DESK_BIN, default <repo>/.build/debug/desk. If it does not exist,
every test that needs it FAILS (it is never skipped): CI must not pass silently.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence

import pytest

from equivalence import MODES

REPO = Path(__file__).resolve().parents[3]
DESK_BIN = Path(os.environ.get("DESK_BIN") or REPO / ".build" / "debug" / "desk")
READY_SECONDS = 30
STOP_SECONDS = 10

_running: List["DeskServer"] = []  # servers whose log is attached to failing tests


def free_port() -> int:
    """A TCP port nobody listens on right now (bind port 0, read it, release it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def desk_binary() -> Path:
    if not DESK_BIN.is_file() or not os.access(DESK_BIN, os.X_OK):
        pytest.fail(f"the desk server binary {DESK_BIN} does not exist or is not executable: build it "
                    f"(swift build) or set DESK_BIN to its path. Integration tests are never skipped.",
                    pytrace=False)
    return DESK_BIN


class DeskServer:
    """`desk serve` as a child process with its own ledger in a temporary folder,
    listening on a free loopback port and on a unix socket."""

    def __init__(self, folder: Path, trust_user_header: bool, extra_args: Sequence[str] = ("--feed", "none"),
                 extra_env: Optional[dict] = None):
        self.binary = desk_binary()
        self.folder = folder
        self.db = folder / "desk.db"
        self.port = free_port()
        self.socket = folder / "desk.sock"
        self.url = f"http://127.0.0.1:{self.port}"
        self.unix_url = f"unix://{self.socket}"
        self.log_path = folder / "desk-serve.log"
        args = [str(self.binary), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--db", str(self.db),
                "--unix-socket", str(self.socket), *extra_args]
        if trust_user_header:
            args.append("--trust-user-header")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        cwd=folder, env={**self._environment(), **(extra_env or {})})
        _running.append(self)
        try:
            self._wait_until_ready()
            self.admin_token = self.issue_token("desk_admin", admin=True)
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _environment() -> dict:
        # Only what a process needs: no DESK_*/PORT/DB_PATH leaking in from the caller.
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
        return {name: os.environ[name] for name in keep if name in os.environ}

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"desk serve exited with status {self.process.returncode} before it was ready:\n"
                            f"{self.log_text()}", pytrace=False)
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as reply:
                    if reply.status == 200 and self.socket.exists():
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        pytest.fail(f"desk serve did not answer 200 on /healthz within {READY_SECONDS} s:\n{self.log_text()}",
                    pytrace=False)

    def log_text(self, last_lines: int = 200) -> str:
        if not self._log.closed:
            self._log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-last_lines:])

    def desk(self, *args: str) -> subprocess.CompletedProcess:
        """Runs `desk <args> --db <this server's ledger>` (e.g. tokens issue)."""
        result = subprocess.run([str(self.binary), *args, "--db", str(self.db)], capture_output=True, text=True,
                                timeout=30, cwd=self.folder, env=self._environment())
        if result.returncode != 0:
            pytest.fail(f"desk {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}",
                        pytrace=False)
        return result

    def issue_token(self, member: str, strategy: Optional[str] = None, admin: bool = False) -> str:
        """A new bearer token for `member` (first line of `desk tokens issue`)."""
        args = ["tokens", "issue", member]
        if strategy:
            args += ["--strategy", strategy]
        if admin:
            args.append("--admin")
        lines = self.desk(*args).stdout.splitlines()
        assert lines and lines[0].strip(), "desk tokens issue printed no token"
        return lines[0].strip()

    def push_price(self, symbol: str, price: str) -> None:
        """Tells the paper broker the current price (admin API)."""
        request = urllib.request.Request(
            self.url + "/admin/prices", method="POST", data=json.dumps({"symbol": symbol, "price": price}).encode(),
            headers={"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as reply:
            assert reply.status == 200, reply.read()

    def ledger(self, sql: str, *parameters) -> list:
        """Rows of a query on the ledger, opened read-only."""
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute(sql, parameters).fetchall()
        finally:
            db.close()

    def ledger_order(self, order_id: str) -> Optional[tuple]:
        """(user_id, strategy, symbol, qty, side, status) of one order, from the ledger."""
        rows = self.ledger("SELECT member, strategy, symbol, qty, side, status FROM orders WHERE order_id = ?",
                           order_id)
        return rows[0] if rows else None

    def ledger_orders(self, member: str) -> List[tuple]:
        """(order_id, symbol, side, qty, order_type, limit_price) of a member's orders, oldest first."""
        return self.ledger("SELECT order_id, symbol, side, qty, order_type, limit_price FROM orders "
                           "WHERE member = ? ORDER BY created_at, rowid", member)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_SECONDS (with a warning: the desk is
        expected to shut down cleanly on SIGTERM)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                warnings.warn(f"desk serve did not exit within {STOP_SECONDS} s of SIGTERM and was killed; "
                              f"the end of its log:\n{self.log_text(10)}")
        if self in _running:
            _running.remove(self)
        self._log.close()


def _serve(trust_user_header: bool) -> Iterator[DeskServer]:
    with tempfile.TemporaryDirectory(prefix="desk-test-") as folder:
        server = DeskServer(Path(folder), trust_user_header=trust_user_header)
        try:
            yield server
        finally:
            server.stop()
            if server.process.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL):
                warnings.warn(f"desk serve ended with status {server.process.returncode}; the end of its log:\n"
                              f"{server.log_text(40)}")


@pytest.fixture(params=MODES)
def lockstep(request) -> str:
    """`desk backtest --lockstep MODE`: a test that takes it runs once per mode, `stream`
    (the fast path) and `strict` (the old one), with the same expectations. (A test whose
    run can be repeated compares the two runs byte for byte instead: test_backtest's
    `backtest(..., lockstep=BOTH_MODES)`.)"""
    return request.param


@pytest.fixture(scope="module")
def dev_desk() -> Iterator[DeskServer]:
    """A desk in development mode (--trust-user-header: X-User-ID is believed)."""
    yield from _serve(trust_user_header=True)


@pytest.fixture(scope="module")
def desk() -> Iterator[DeskServer]:
    """A desk that requires bearer tokens."""
    yield from _serve(trust_user_header=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test shows the log of every desk server running at the time."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in list(_running):
            report.sections.append((f"desk serve log ({server.log_path})", server.log_text()))


@pytest.fixture
def client_env(monkeypatch) -> Callable[..., None]:
    """Points desk_client at a server: ``client_env(url, user=None, token=None)``
    sets DESK_SERVER_URL and sets or removes USER_ID and DESK_TOKEN. Also undoes
    any ``set_user_id`` from an earlier test."""
    import desk_client.client as client

    def configure(url: str, user: Optional[str] = None, token: Optional[str] = None) -> None:
        monkeypatch.setenv("DESK_SERVER_URL", url)
        for name, value in (("USER_ID", user), ("DESK_TOKEN", token)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        monkeypatch.setattr(client, "_user_id", None)

    for name in ("DESK_SERVER_URL", "USER_ID", "DESK_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(client, "_user_id", None)
    return configure


@pytest.fixture(scope="module")
def chromedriver() -> str:
    """The chromedriver path; scripts/browser-env.sh installs chromium and chromium-driver when missing."""
    result = subprocess.run([str(REPO / "scripts" / "browser-env.sh")], capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        pytest.fail(f"scripts/browser-env.sh failed:\n{result.stderr}", pytrace=False)
    return result.stdout.strip().splitlines()[-1]


def headless_chromium(driver_path: str, profile: Path, width: int = 1280, height: int = 1700):
    """A real headless Chromium (Debian's) with its own profile, driven by selenium
    (scripts/python-env.sh installs it: the test extra; never skipped)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", f"--user-data-dir={profile}",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    return driver
