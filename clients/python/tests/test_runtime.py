"""The strategy runtime end to end: `desk serve --strategies-dir` supervising real
Python strategies that use desk_client, fed by the synthetic feed, driven by the
`desk strategies` CLI. Runs the real binary ($DESK_BIN) with its default
sandbox; fails (never skips) when it is missing."""
from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from conftest import REPO, DeskServer

BROKER_SECRET = "super-secret-broker-key-for-tests"
# alpaca-site: alpaca-py for the alpaca-py example strategy (scripts/python-env.sh installs it).
PYTHON_PATH = f"{REPO / '.venv' / 'strategy-site'}:{REPO / 'clients' / 'python'}:{REPO / '.venv' / 'alpaca-site'}"

ALICE = """
    from desk_client import market_data, place_order
    seen = 0
    for tick in market_data():
        seen += 1
        print("TICK", seen, tick["symbol"], tick["price"], flush=True)
        if seen <= 3:
            response = place_order(tick["symbol"], 1, "buy")
            print("ORDER", response.status, response.order_id, response.message, flush=True)
    """

BOB = """
    import os, socket
    from desk_client import market_data, place_order, set_user_id
    leaked = [name for name, value in os.environ.items() if value in ("{secret}", "PKTESTKEY")]
    print("LEAKED", leaked, flush=True)
    # Alpaca's variables name the strategy's own member and token, never the club's keys.
    own = os.environ.get("APCA_API_KEY_ID") == "bob" and os.environ.get("APCA_API_SECRET_KEY") == os.environ["DESK_TOKEN"]
    print("APCA", "own" if own else "other", os.environ.get("APCA_API_BASE_URL"), flush=True)
    try:
        socket.create_connection(("127.0.0.1", int(os.environ["PROBE_PORT"])), timeout=3).close()
        print("TCP CONNECTED", flush=True)
    except OSError as error:
        print("TCP FAILED", error, flush=True)
    set_user_id("alice")
    response = place_order("MSFT", 1, "buy")
    print("AS ALICE", response.status, response.message, flush=True)
    set_user_id("bob")
    for tick in market_data():
        response = place_order(tick["symbol"], 2, "sell")
        print("ORDER", response.status, response.order_id, response.message, flush=True)
        break
    for tick in market_data():
        pass
    """.replace("{secret}", BROKER_SECRET)


def wait_for(condition: Callable[[], bool], seconds: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {seconds} s waiting for {what}", pytrace=False)


class Runtime:
    """A desk supervising a strategies folder in a temporary directory."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.strategies = folder / "strategies"
        self.logs = folder / "logs"
        self.server: DeskServer = None  # type: ignore[assignment]

    def start_server(self) -> DeskServer:
        self.server = DeskServer(
            self.folder, trust_user_header=False,
            extra_args=["--feed", "synthetic", "--feed-rate", "40", "--symbols", "AAPL=190,MSFT=420",
                        "--strategies-dir", str(self.strategies), "--python-path", PYTHON_PATH],
            extra_env={"APCA_API_KEY_ID": "PKTESTKEY", "APCA_API_SECRET_KEY": BROKER_SECRET})
        return self.server

    def add(self, name: str, script: str, config: dict) -> None:
        folder = self.strategies / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "strategy.py").write_text(textwrap.dedent(script))
        (folder / "config.json").write_text(json.dumps(config))

    def cli(self, *args: str) -> str:
        return self.server.desk("strategies", *args, "--server", self.server.url).stdout

    def status(self) -> dict:
        return {row["name"]: row for row in json.loads(self.cli("status", "--json"))["strategies"]}

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def lines(self, name: str, prefix: str) -> List[List[str]]:
        return [line.split() for line in self.log(name).splitlines() if line.startswith(prefix)]


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with tempfile.TemporaryDirectory(prefix="desk-runtime-") as folder:
        # Sandboxed strategies run as their own unprivileged users: they must be able to read their folder.
        os.chmod(folder, 0o755)
        runtime = Runtime(Path(folder))
        runtime.strategies.mkdir()
        server = runtime.start_server()
        runtime.add("alice_trend", ALICE, {"user_id": "alice", "symbols": ["AAPL"]})
        runtime.add("bob_probe", BOB, {"user_id": "bob", "symbols": ["MSFT"],
                                       "env": {"PROBE_PORT": str(server.port)}})
        try:
            yield runtime
        finally:
            runtime.server.stop()


def test_strategies_start_and_orders_land_under_their_members(runtime):
    output = runtime.cli("start")
    assert "alice_trend" in output and "bob_probe" in output, output
    wait_for(lambda: len(runtime.lines("alice_trend", "ORDER")) == 3 and runtime.lines("bob_probe", "ORDER"),
             what="both strategies to place their orders")
    for name in ("alice_trend", "bob_probe"):
        for line in runtime.lines(name, "ORDER"):
            assert line[1] == "success", f"{name}: {line}"
    alice_ids = {line[2] for line in runtime.lines("alice_trend", "ORDER")}
    bob_ids = {line[2] for line in runtime.lines("bob_probe", "ORDER")}
    ledger = {row[0]: row[1:] for row in runtime.server.ledger(
        "SELECT order_id, member, strategy, symbol, side FROM orders")}
    for order_id in alice_ids:
        assert ledger[order_id] == ("alice", "alice_trend", "AAPL", "buy")
    for order_id in bob_ids:
        assert ledger[order_id] == ("bob", "bob_probe", "MSFT", "sell")
    # Ticks reach only the subscribed strategy: alice asked for AAPL only.
    assert {line[2] for line in runtime.lines("alice_trend", "TICK")} == {"AAPL"}


def test_a_strategy_cannot_act_as_another_member(runtime):
    wait_for(lambda: runtime.lines("bob_probe", "AS ALICE"), what="bob's impersonation attempt")
    attempt = " ".join(runtime.lines("bob_probe", "AS ALICE")[0])
    assert attempt.startswith("AS ALICE error"), attempt
    assert "alice" in attempt and "bob" in attempt, attempt
    assert not runtime.server.ledger("SELECT 1 FROM orders WHERE member = 'alice' AND strategy = 'bob_probe'")


def test_the_sandbox_blocks_tcp_and_hides_the_broker_keys(runtime):
    wait_for(lambda: runtime.lines("bob_probe", "TCP"), what="bob's TCP probe")
    assert runtime.lines("bob_probe", "LEAKED")[0] == ["LEAKED", "[]"]
    assert runtime.lines("bob_probe", "APCA")[0] == ["APCA", "own", "http://127.0.0.1:8080"]
    assert runtime.lines("bob_probe", "TCP")[0][:2] == ["TCP", "FAILED"], runtime.log("bob_probe")
    assert BROKER_SECRET not in runtime.log("bob_probe")
    assert BROKER_SECRET not in runtime.server.log_text(10_000)


def test_status_lists_running_strategies_with_members_and_pids(runtime):
    status = runtime.status()
    assert status["alice_trend"]["member"] == "alice"
    assert status["alice_trend"]["state"] == "running" and status["alice_trend"]["pid"] > 0
    assert status["alice_trend"]["orders_placed"] == 3
    assert status["alice_trend"]["symbols"] == ["AAPL"] and status["alice_trend"]["ticks_delivered"] > 0
    assert status["bob_probe"]["member"] == "bob"
    table = runtime.cli("status")
    assert "alice_trend" in table and "running" in table and "alice" in table


def test_logs_follow_prints_lines_written_after_it_started(runtime):
    def last_tick() -> int:
        ticks = runtime.lines("alice_trend", "TICK")
        return int(ticks[-1][1]) if ticks else 0

    wait_for(lambda: last_tick() > 0, what="alice's first tick")
    started_at = last_tick()
    follower = subprocess.Popen(
        [str(runtime.server.binary), "strategies", "logs", "alice_trend", "-f", "--tail", "5",
         "--server", runtime.server.unix_url, "--db", str(runtime.server.db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=runtime.folder, env=DeskServer._environment())
    try:
        seen: List[str] = []
        pending = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select([follower.stdout], [], [], 0.5)
            if not ready:
                assert follower.poll() is None, follower.stderr.read().decode()
                continue
            chunk = os.read(follower.stdout.fileno(), 65536)
            assert chunk, f"desk strategies logs -f ended: {follower.stderr.read().decode()}"
            pending += chunk
            *complete, pending = pending.split(b"\n")
            seen += [line.decode() for line in complete]
            followed = [int(line.split()[1]) for line in seen if line.startswith("TICK")]
            if followed and max(followed) > started_at + 3:
                break
        followed = [int(line.split()[1]) for line in seen if line.startswith("TICK")]
        assert followed and max(followed) > started_at + 3, f"followed only: {seen[-10:]}"
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_stop_and_restart(runtime):
    before = runtime.status()["alice_trend"]["pid"]
    assert "stopped" in runtime.cli("stop", "alice_trend")
    wait_for(lambda: runtime.status()["alice_trend"]["state"] == "stopped", what="alice_trend to stop")
    assert runtime.status()["bob_probe"]["state"] == "running"
    runtime.cli("restart", "alice_trend")
    wait_for(lambda: runtime.status()["alice_trend"]["state"] == "running", what="alice_trend to run again")
    assert runtime.status()["alice_trend"]["pid"] != before


def test_running_strategies_start_again_after_a_desk_restart(runtime):
    runtime.cli("stop", "bob_probe")
    starts = runtime.log("alice_trend").count("starting alice_trend")
    runtime.server.stop()
    runtime.start_server()
    wait_for(lambda: runtime.log("alice_trend").count("starting alice_trend") == starts + 1,
             what="the desk to start alice_trend again")
    wait_for(lambda: runtime.status()["alice_trend"]["state"] == "running", what="alice_trend to run")
    assert runtime.status()["bob_probe"]["state"] == "stopped"
