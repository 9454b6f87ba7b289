"""What a new member trips over, with the real CLI against a real `desk serve`:
`desk strategies start` says when a strategy crash-loops instead of answering
`ok`; `status` takes the short name `logs` and `start` take; a folder name with
a dot is refused with a clear message."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from selfservice import BUYER, SelfServiceDesk, serve, strategy_folder, tar_of


@pytest.fixture(scope="module")
def desk() -> Iterator[SelfServiceDesk]:
    yield from serve("desk-newcomer-")


@pytest.fixture(scope="module")
def laptop(desk) -> Path:
    path = desk.folder / "laptop"
    path.mkdir()
    return path


def cli(desk: SelfServiceDesk, *args: str):
    return desk.cli(*args, "--server", desk.url, token=desk.tokens["alice"])


def test_start_waits_and_says_when_the_strategy_crashes(desk):
    crasher = "import alpaca_that_is_not_installed\n"
    code, reply = desk.deploy("alice", "crasher", tar_of({"strategy.py": crasher}))
    assert code == 200, reply
    started = cli(desk, "strategies", "start", "crasher", "--grace", "2")
    assert started.returncode == 1, started.stdout + started.stderr
    assert "FAIL  alice--crasher" in started.stdout, started.stdout
    assert "No module named 'alpaca_that_is_not_installed'" in started.stdout, started.stdout
    assert "could not start alice--crasher" in started.stderr, started.stderr
    cli(desk, "strategies", "stop", "crasher")

    code, reply = desk.deploy("alice", "steady", tar_of({"strategy.py": BUYER}))
    assert code == 200, reply
    started = cli(desk, "strategies", "start", "steady", "--grace", "1")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "ok    alice--steady: running (pid" in started.stdout, started.stdout


def test_status_takes_a_members_short_name(desk):
    code, reply = desk.deploy("alice", "trend", tar_of({"strategy.py": BUYER}))
    assert code == 200, reply
    shown = cli(desk, "strategies", "status", "trend")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "alice--trend" in shown.stdout, shown.stdout
    unknown = cli(desk, "strategies", "status", "nosuch")
    assert unknown.returncode == 1 and "no strategy nosuch" in unknown.stderr, unknown.stderr


def test_a_folder_name_with_a_dot_is_refused_clearly(desk, laptop):
    folder = strategy_folder(laptop, "my.strat")
    deployed = cli(desk, "strategies", "deploy", str(folder))
    assert deployed.returncode == 1, deployed.stdout + deployed.stderr
    assert "my.strat is not a strategy name" in deployed.stderr and "no dots" in deployed.stderr, deployed.stderr
    assert "--name" in deployed.stderr, deployed.stderr
    code, reply = desk.deploy("alice", "my.strat", tar_of({"strategy.py": BUYER}))
    assert code == 422 and "no dots" in reply["message"], reply
    assert not any("my.strat" in name for name in desk.listing()), desk.listing()
    renamed = cli(desk, "strategies", "deploy", str(folder), "--name", "mystrat")
    assert renamed.returncode == 0 and "deployed alice--mystrat for alice: 2 files" in renamed.stdout, \
        renamed.stdout + renamed.stderr
    # A rollback counts a version as its deploy did (config.json, written in, included).
    first = renamed.stdout.split(": ", 1)[1].split(";")[0].strip()
    (folder / "strategy.py").write_text((folder / "strategy.py").read_text() + "# version 2\n")
    assert cli(desk, "strategies", "deploy", str(folder), "--name", "mystrat").returncode == 0
    rolled = cli(desk, "strategies", "rollback", "mystrat")
    assert rolled.returncode == 0 and rolled.stdout.strip() == f"rolled alice--mystrat back: {first}", \
        (first, rolled.stdout + rolled.stderr)


def test_v2_account_of_a_member_without_capital_is_unlimited_and_new_shows_nothing_filled(desk):
    import json

    from websockets.sync.client import connect

    code, account = desk.json("alice", "GET", "/v2/account")
    assert code == 200, account
    assert account["capital"] is None and account["buying_power"] == "1000000000", account
    with connect(desk.url.replace("http", "ws") + "/stream", open_timeout=10) as ws:
        ws.send(json.dumps({"action": "authenticate", "data": {"oauth_token": desk.tokens["alice"]}}))
        assert json.loads(ws.recv(timeout=10))["data"]["status"] == "authorized"
        ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        assert json.loads(ws.recv(timeout=10))["stream"] == "listening"
        code, order = desk.json("alice", "POST", "/v2/orders", {"symbol": "AAPL", "qty": "1", "side": "buy",
                                                                 "type": "market", "time_in_force": "day"})
        assert code == 200, order
        events = {}
        while "fill" not in events:
            update = json.loads(ws.recv(timeout=10))["data"]
            if update["order"]["id"] == order["id"]:
                events[update["event"]] = update["order"]
    assert events["new"]["status"] == "new" and events["new"]["filled_qty"] == "0", events["new"]
    assert events["new"]["filled_avg_price"] is None and events["new"]["filled_at"] is None, events["new"]
    assert events["fill"]["filled_qty"] == "1", events["fill"]
