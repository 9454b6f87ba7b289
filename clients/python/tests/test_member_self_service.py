"""Members run their own strategies over the API and the CLI with their own
token, against a real `desk serve` (sandbox, synthetic feed, SQLite ledger):
deploy, start, logs, stop, restart, rollback, delete; the same calls on another
member's strategy are refused — from the API and from a deployed strategy, a
real member process inside the sandbox using its own token; hostile archives
are refused with a message and leave nothing behind; caps; the P&L history;
`desk login`."""
from __future__ import annotations

import json
import os
import stat
import tarfile
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from selfservice import (BUYER, SelfServiceDesk, entry, raw_upload, serve, strategy_folder, tar_of,
                         wait_for)

SPY = """
    import json, os
    from desk_client import client
    target = os.environ["TARGET"]
    headers = client._identity_headers()
    def attempt(name, method, path, **extra):
        reply = client._send(method, path, 20, {**headers, **extra.pop("headers", {})}, **extra)
        print("ATTEMPT", name, reply.status_code, reply.text.replace("\\n", " ")[:4000], flush=True)
    attempt("list", "GET", "/strategies")
    attempt("stop", "POST", "/strategies/stop", json={"names": [target]})
    attempt("restart", "POST", "/strategies/restart", json={"names": [target]})
    attempt("logs", "GET", f"/strategies/{target}/logs")
    attempt("delete", "DELETE", f"/strategies/{target}")
    attempt("rollback", "POST", f"/strategies/{target}/rollback")
    attempt("replace", "PUT", f"/strategies/{target}", data=b"x" * 1024,
            headers={"Content-Type": "application/x-tar"})
    attempt("admin-stop", "POST", "/admin/strategies/stop", json={"names": [target]})
    attempt("admin-logs", "GET", f"/admin/strategies/{target}/logs")
    attempt("pnl", "GET", "/pnl?member=alice")
    attempt("orders", "GET", "/orders?member=alice")
    print("DONE", flush=True)
    for line in __import__("sys").stdin:
        pass
    """


@pytest.fixture(scope="module")
def desk() -> Iterator[SelfServiceDesk]:
    yield from serve("desk-self-service-")


@pytest.fixture(scope="module")
def laptop(desk) -> Path:
    """Where members keep their strategies' folders (not the desk's)."""
    path = desk.folder / "laptop"
    path.mkdir()
    return path


def test_a_member_deploys_starts_reads_logs_stops_and_deletes_their_own_strategy(desk, laptop):
    folder = strategy_folder(laptop, "trend", config={"symbols": ["AAPL"]})
    deployed = desk.cli("strategies", "deploy", str(folder), "--start", "--server", desk.url,
                        token=desk.tokens["alice"])
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "deployed alice--trend for alice" in deployed.stdout
    assert (desk.strategies / "alice--trend" / "strategy.py").is_file()
    config = json.loads((desk.strategies / "alice--trend" / "config.json").read_text())
    assert config["member"] == "alice", config

    wait_for(lambda: desk.lines("alice--trend", "ORDER"), "alice--trend's first order")
    status, order_id = desk.lines("alice--trend", "ORDER")[0].split()
    assert status == "success"
    # The strategy's order is the deploying member's, under the deployed strategy's name.
    assert desk.server.ledger_order(order_id)[:2] == ("alice", "alice--trend")

    shown = desk.cli("strategies", "status", "--server", desk.url, "--json", token=desk.tokens["alice"])
    assert shown.returncode == 0, shown.stderr
    names = [strategy["name"] for strategy in json.loads(shown.stdout)["strategies"]]
    assert names == ["alice--trend"], names

    logs = desk.cli("strategies", "logs", "trend", "--server", desk.url, token=desk.tokens["alice"])
    assert logs.returncode == 0 and "READY" in logs.stdout, logs.stdout + logs.stderr
    # Following it: the stream starts with the tail, and stays open.
    follow = urllib.request.Request(desk.url + "/strategies/trend/logs?follow=1&tail=20",
                                    headers={"Authorization": f"Bearer {desk.tokens['alice']}"})
    with urllib.request.urlopen(follow, timeout=30) as stream:
        assert stream.status == 200
        seen = []
        wait_for(lambda: seen.append(stream.read1(65536)) or b"READY" in b"".join(seen),
                 lambda: f"READY in the followed log: {b''.join(seen)!r}")

    stopped = desk.cli("strategies", "stop", "trend", "--server", desk.url, token=desk.tokens["alice"])
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert desk.state("alice--trend") == "stopped"
    started = desk.cli("strategies", "start", "alice--trend", "--server", desk.url, token=desk.tokens["alice"])
    assert started.returncode == 0, started.stdout + started.stderr
    wait_for(lambda: desk.state("alice--trend") == "running", "alice--trend running again")

    # A new version keeps the previous one; rollback puts it back.
    (folder / "strategy.py").write_text((folder / "strategy.py").read_text() + "\n# version 2\n")
    again = desk.cli("strategies", "deploy", str(folder), "--server", desk.url, "--json", token=desk.tokens["alice"])
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["previous_kept"] is True
    assert "version 2" in (desk.strategies / "alice--trend" / "strategy.py").read_text()
    rolled = desk.cli("strategies", "rollback", "trend", "--server", desk.url, token=desk.tokens["alice"])
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert "version 2" not in (desk.strategies / "alice--trend" / "strategy.py").read_text()

    deleted = desk.cli("strategies", "delete", "trend", "--server", desk.url, token=desk.tokens["alice"])
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert not (desk.strategies / "alice--trend").exists()
    assert "alice--trend" not in desk.status()

    audit = desk.server.ledger(
        "SELECT action, outcome FROM audit_events WHERE member = 'alice' AND strategy = 'alice--trend' "
        "AND action LIKE 'strategy_%' ORDER BY id")
    assert [row[0] for row in audit] == ["strategy_deploy_version", "strategy_deploy_version", "strategy_rollback",
                                         "strategy_delete"], audit
    assert all(row[1] == "accepted" for row in audit), audit


def test_every_call_on_another_members_strategy_is_refused_and_changes_nothing(desk, laptop):
    code, reply = desk.deploy("alice", "victim", tar_of({"strategy.py": BUYER}), start=True)
    assert code == 200, reply
    wait_for(lambda: desk.state("alice--victim") == "running", "alice--victim running")
    before = desk.listing()

    assert "alice--victim" not in desk.status("bob")
    for name in ("alice--victim", "victim"):
        for action in ("stop", "restart", "start"):
            code, reply = desk.json("bob", "POST", f"/strategies/{action}", {"names": [name]})
            assert code == 200 and [r["ok"] for r in reply["results"]] == [False], reply
            assert "of member bob" in reply["results"][0]["message"], reply
        assert desk.json("bob", "GET", f"/strategies/{name}/logs")[0] == 404
        assert desk.json("bob", "DELETE", f"/strategies/{name}")[0] == 404
        assert desk.json("bob", "POST", f"/strategies/{name}/rollback")[0] == 404
    # Bob's "alice--victim" can only ever be bob's own folder name, which may not hold "--".
    code, reply = desk.deploy("bob", "alice--victim", tar_of({"strategy.py": "print(1)\n"}))
    assert code == 422 and "--" in reply["message"], reply
    # Stopping "all" of bob's strategies touches none of alice's.
    code, reply = desk.json("bob", "POST", "/strategies/stop", {})
    assert code == 200 and reply["results"] == [], reply
    assert desk.json("bob", "GET", "/admin/strategies")[0] == 403
    assert desk.json("bob", "GET", "/pnl?member=alice")[0] == 403

    assert desk.state("alice--victim") == "running"
    assert desk.listing() == before
    # The CLI with bob's token says so and exits non-zero.
    refused = desk.cli("strategies", "stop", "alice--victim", "--server", desk.url, token=desk.tokens["bob"])
    assert refused.returncode == 1 and "of member bob" in refused.stdout, refused.stdout + refused.stderr
    refused = desk.cli("strategies", "delete", "alice--victim", "--server", desk.url, token=desk.tokens["bob"])
    assert refused.returncode == 1 and "404" in refused.stderr, refused.stdout + refused.stderr


def test_a_members_strategy_process_cannot_reach_another_members_strategies(desk):
    code, reply = desk.deploy("alice", "target", tar_of({"strategy.py": BUYER}), start=True)
    assert code == 200, reply
    wait_for(lambda: "READY" in desk.log("alice--target"), "alice--target ready")
    spy = tar_of({"strategy.py": SPY, "config.json": json.dumps({"env": {"TARGET": "alice--target"}})})
    code, reply = desk.deploy("bob", "spy", spy, start=True)
    assert code == 200, reply
    wait_for(lambda: "\nDONE" in desk.log("bob--spy"), "bob--spy's attempts")
    attempts = {line.split()[0]: line.split(" ", 2)[1:] for line in desk.lines("bob--spy", "ATTEMPT")}
    listed = json.loads(attempts["list"][1])
    assert [s["name"] for s in listed["strategies"]] == ["bob--spy"], attempts["list"]
    for action in ("stop", "restart"):
        assert attempts[action][0] == "200" and '"ok":false' in attempts[action][1], attempts[action]
    for action in ("logs", "delete", "rollback"):
        assert attempts[action][0] == "404", attempts[action]
    assert attempts["replace"][0] == "422", attempts["replace"]
    for action in ("admin-stop", "admin-logs", "pnl", "orders"):
        assert attempts[action][0] == "403", (action, attempts[action])
    assert "READY" not in desk.log("bob--spy")
    assert desk.state("alice--target") == "running"
    assert (desk.strategies / "alice--target" / "strategy.py").is_file()
    restarts = desk.status()["alice--target"]["restarts"]
    assert restarts == 0, desk.status()["alice--target"]


HOSTILE = [
    ("dot-dot", tar_of({"strategy.py": "print(1)\n", "../escaped.py": "x = 1\n"}), 422, "climbs out"),
    ("absolute", tar_of({"strategy.py": "print(1)\n", "/tmp/desk-absolute.py": "x = 1\n"}), 422, "absolute path"),
    ("symlink", tar_of({"strategy.py": "print(1)\n"}, [entry("secrets", tarfile.SYMTYPE, "/etc/shadow")]), 422,
     "symbolic link"),
    ("hardlink", tar_of({"strategy.py": "print(1)\n"}, [entry("secrets", tarfile.LNKTYPE, "/etc/shadow")]), 422,
     "hard link"),
    ("device", tar_of({"strategy.py": "print(1)\n"}, [entry("disk", tarfile.BLKTYPE)]), 422, "device"),
    ("fifo", tar_of({"strategy.py": "print(1)\n"}, [entry("pipe", tarfile.FIFOTYPE)]), 422, "FIFO"),
    ("10,000 files", tar_of({"strategy.py": "print(1)\n", **{f"f/{i}.py": "" for i in range(10_000)}}), 413,
     "more than 200 files"),
    ("other member", tar_of({"strategy.py": "print(1)\n", "config.json": '{"user_id": "alice"}'}), 403,
     'names member "alice"'),
    ("unknown config key", tar_of({"strategy.py": "print(1)\n", "config.json": '{"membr": "bob"}'}), 422,
     "membr"),
    ("syntax error", tar_of({"strategy.py": "def broken(:\n"}), 422, "does not compile"),
    ("no strategy.py", tar_of({"main.py": "print(1)\n"}), 422, "no strategy.py"),
    ("memory over the cap", tar_of({"strategy.py": "print(1)\n", "config.json": '{"limits": {"memory": "1g"}}'}),
     403, "at most 512m"),
    ("gzip", b"\x1f\x8b\x08\x00" + bytes(1020), 422, "gzip"),
    ("not a tar", b"hello, desk", 422, "not a tar file"),
]


@pytest.mark.parametrize("label,archive,status,message", HOSTILE, ids=[case[0] for case in HOSTILE])
def test_hostile_archives_are_refused_with_a_message_and_leave_nothing_behind(desk, label, archive, status, message):
    before = desk.listing()
    code, reply = desk.deploy("bob", "hostile", archive)
    assert code == status, (label, reply)
    assert message in reply["message"], (label, reply)
    assert desk.listing() == before, label
    assert not Path("/tmp/desk-absolute.py").exists()
    assert not (desk.strategies.parent / "escaped.py").exists()
    refused = desk.server.ledger(
        "SELECT outcome, http_status FROM audit_events WHERE member = 'bob' AND strategy = 'bob--hostile' "
        "ORDER BY id DESC LIMIT 1")
    assert refused == [("refused", status)], refused


@pytest.mark.parametrize("declared", [100 << 20, None], ids=["content-length 100 MB", "chunked 100 MB"])
def test_a_100_mb_body_is_refused_without_being_read(desk, declared):
    before = desk.listing()
    status, body = raw_upload(desk.url, desk.tokens["bob"], "/strategies/big", declared, send=100 << 20)
    assert status == 413, body
    assert "8388608" in body, body
    assert desk.listing() == before


def test_wrong_content_type_and_missing_name_say_what_is_allowed(desk):
    code, reply = desk.call("bob", "PUT", "/strategies/x", b"{}", content_type="application/json")
    assert code == 415 and "application/x-tar" in reply["message"], reply
    code, reply = desk.call("bob", "POST", "/strategies", tar_of({"strategy.py": "print(1)\n"}),
                            content_type="application/x-tar")
    assert code == 400 and "?name=" in reply["message"], reply


def test_caps_limit_how_many_strategies_a_member_has(desk):
    code, reply = desk.deploy("carol", "one", tar_of({"strategy.py": "print(1)\n"}), method="POST")
    assert code == 200, reply
    code, reply = desk.deploy("carol", "two", tar_of({"strategy.py": "print(1)\n"}), method="POST")
    assert code == 403 and "at most 1 strategy on this desk" in reply["message"], reply
    code, reply = desk.deploy("carol", "one", tar_of({"strategy.py": "print(1)\n"}), method="POST")
    assert code == 409 and "already deployed" in reply["message"], reply
    assert not (desk.strategies / "carol--two").exists()
    # The admin deploys for a member; a member cannot.
    code, reply = desk.call("admin", "PUT", "/strategies/gift?member=bob", tar_of({"strategy.py": "print(1)\n"}),
                            content_type="application/x-tar")
    assert code == 200 and reply["name"] == "bob--gift", reply
    code, reply = desk.call("carol", "PUT", "/strategies/gift?member=bob", tar_of({"strategy.py": "print(1)\n"}),
                            content_type="application/x-tar")
    assert code == 403, reply
    assert desk.json("admin", "DELETE", "/strategies/bob--gift")[0] == 200


def test_pnl_history_is_recorded_in_the_ledger_and_served_per_member(desk):
    desk.deploy("alice", "pnl", tar_of({"strategy.py": BUYER}), start=True)
    wait_for(lambda: desk.lines("alice--pnl", "ORDER"), "alice--pnl's order")
    wait_for(lambda: desk.server.ledger("SELECT count(*) FROM pnl_history WHERE member = 'alice' AND strategy = ''")
             [0][0] > 0, "alice's P&L history rows")
    code, history = desk.json("alice", "GET", "/pnl?step=1m")
    assert code == 200 and history["member"] == "alice", history
    assert history["points"], history
    code, account = desk.json("alice", "GET", "/account")
    assert code == 200
    last = history["points"][-1]
    # The last point is now: the account's realized and unrealized P&L.
    assert last["realized_pnl"] == account["realized_pnl"], (last, account)
    code, strategy = desk.json("alice", "GET", "/pnl?strategy=alice--pnl")
    assert code == 200 and strategy["strategy"] == "alice--pnl", strategy
    assert desk.json("admin", "GET", "/pnl?member=alice")[1]["member"] == "alice"
    code, reply = desk.json("alice", "GET", "/pnl?step=7m")
    assert code == 400 and "1m" in reply["message"], reply
    code, reply = desk.json("alice", "GET", "/pnl?since=yesterday")
    assert code == 400 and "ISO-8601" in reply["message"], reply
    # At most one row per member book (and per strategy) per minute.
    rows = desk.server.ledger("SELECT member, strategy, minute, count(*) FROM pnl_history GROUP BY 1, 2, 3 "
                              "HAVING count(*) > 1")
    assert rows == [], rows


def test_desk_login_saves_the_server_and_token_for_the_member_only(desk, laptop):
    config_home = desk.folder / "config-home"
    env = {"XDG_CONFIG_HOME": str(config_home)}
    bad = desk.cli("login", "--server", desk.url, "--token", "desk_not-a-token", env=env)
    assert bad.returncode == 1 and "refused the token" in bad.stderr, bad.stdout + bad.stderr
    assert not (config_home / "desk" / "login.json").exists()

    done = desk.cli("login", "--server", desk.url, env={**env, "DESK_TOKEN": desk.tokens["bob"]})
    assert done.returncode == 0 and "as bob" in done.stdout, done.stdout + done.stderr
    saved = config_home / "desk" / "login.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert desk.tokens["bob"] not in done.stdout + done.stderr

    folder = strategy_folder(laptop, "mean-revert")
    deployed = desk.cli("strategies", "deploy", str(folder), "--name", "meanrev", env=env)
    assert deployed.returncode == 0 and "bob--meanrev" in deployed.stdout, deployed.stdout + deployed.stderr
    shown = desk.cli("strategies", "status", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    names = {strategy["name"] for strategy in json.loads(shown.stdout)["strategies"]}
    assert "bob--meanrev" in names and not any(name.startswith("alice--") for name in names), names
    assert desk.cli("strategies", "delete", "meanrev", env=env).returncode == 0

    os.chmod(saved, 0o644)
    leaky = desk.cli("strategies", "status", env=env)
    assert leaky.returncode == 1 and "can be read by other users" in leaky.stderr, leaky.stderr
