"""A hostile member against a real `desk serve` with its default sandbox: a
strategy that tries to read the ledger, the admin token, the desk's environment
(broker keys), another member's strategy and token, and to plant code for the
next strategy to run. Every attempt is made for real, from inside the sandbox,
and reported in its log; the test reads the log and the ledger."""
from __future__ import annotations

import json
import os
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest

from conftest import REPO, DeskServer

BROKER_SECRET = "isolation-test-broker-secret"
PYTHON_PATH = f"{REPO / '.venv' / 'strategy-site'}:{REPO / 'clients' / 'python'}"

VICTIM = """
    import os, sys
    with open(os.path.join(os.environ["HOME"], "notes.txt"), "w") as f:
        f.write("victor's private notes")
    print("HOME", os.environ["HOME"], flush=True)
    print("UID", os.getuid(), flush=True)
    print("MODULES", "usercustomize" in sys.modules, flush=True)
    from desk_client import market_data, place_order
    for tick in market_data():
        response = place_order(tick["symbol"], 1, "buy")
        print("ORDER", response.status, response.order_id, flush=True)
        break
    for tick in market_data():
        pass
    """

ATTACKER = """
    import glob, os, site, socket, sys
    def attempt(name, action):
        try:
            result = action()
            print("ESCAPED", name, repr(result)[:200], flush=True)
        except OSError as error:
            print("BLOCKED", name, type(error).__name__, flush=True)
    folder = os.environ["FOLDER"]
    attempt("ledger", lambda: open(os.path.join(folder, "desk.db"), "rb").read(64))
    attempt("ledger-wal", lambda: open(os.path.join(folder, "desk.db-wal"), "rb").read(64))
    attempt("admin-token", lambda: open(os.path.join(folder, "desk-admin.token")).read())
    attempt("desk-environ", lambda: open(f"/proc/{os.environ['PID']}/environ", "rb").read())
    attempt("strategies", lambda: os.listdir(os.path.join(folder, "strategies")))
    attempt("victim-code", lambda: open(os.path.join(folder, "strategies", "victim", "strategy.py")).read())
    attempt("victim-log", lambda: open(os.path.join(folder, "logs", "victim.log")).read())
    attempt("victim-notes", lambda: open(os.environ["VICTIM_HOME"] + "/notes.txt").read())
    attempt("victim-home-write", lambda: open(os.environ["VICTIM_HOME"] + "/usercustomize.py", "w").write("x"))
    others = []
    for path in glob.glob("/proc/[0-9]*/environ"):
        try:
            if b"DESK_TOKEN" in open(path, "rb").read() and not path.startswith(f"/proc/{os.getpid()}/"):
                others.append(path)
        except OSError:
            pass
    print("OTHER-TOKENS", others or "none", flush=True)
    attempt("tcp", lambda: socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), timeout=2))
    planted = os.path.join(site.getusersitepackages(), "usercustomize.py")
    os.makedirs(os.path.dirname(planted), exist_ok=True)
    for target in (planted, "/tmp/usercustomize.py"):
        with open(target, "w") as f:
            f.write("print('PWNED', flush=True)\\n")
    print("UID", os.getuid(), flush=True)
    print("DONE", flush=True)
    sys.stdin.read()
    """


def wait_for(condition: Callable[[], bool], seconds: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {seconds} s waiting for {what}", pytrace=False)


class Desk:
    def __init__(self, folder: Path):
        self.folder = folder
        self.strategies = folder / "strategies"
        self.logs = folder / "logs"
        self.strategies.mkdir()
        self.server = DeskServer(
            folder, trust_user_header=False,
            extra_args=["--feed", "synthetic", "--feed-rate", "40", "--symbols", "AAPL=190",
                        "--strategies-dir", str(self.strategies), "--python-path", PYTHON_PATH],
            extra_env={"APCA_API_KEY_ID": "PKISOLATION", "APCA_API_SECRET_KEY": BROKER_SECRET})

    def add(self, name: str, script: str, config: dict) -> None:
        folder = self.strategies / name
        folder.mkdir()
        (folder / "strategy.py").write_text(textwrap.dedent(script))
        (folder / "config.json").write_text(json.dumps(config))

    def cli(self, *args: str) -> str:
        return self.server.desk("strategies", *args, "--server", self.server.url).stdout

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def values(self, name: str, prefix: str) -> List[str]:
        return [line[len(prefix) + 1:] for line in self.log(name).splitlines() if line.startswith(prefix + " ")]


@pytest.fixture(scope="module")
def desk() -> Iterator[Desk]:
    with tempfile.TemporaryDirectory(prefix="desk-isolation-") as folder:
        desk = Desk(Path(folder))
        try:
            yield desk
        finally:
            desk.server.stop()


def test_a_hostile_strategy_reaches_nothing_of_the_desk_or_another_member(desk):
    assert os.getuid() == 0, "the desk must run as root for strategies to get their own uids (CI does)"
    desk.add("victim", VICTIM, {"user_id": "victor", "symbols": ["AAPL"]})
    desk.cli("start", "victim")
    wait_for(lambda: desk.values("victim", "ORDER"), what="the victim's first order")
    victim_home = desk.values("victim", "HOME")[0]
    # It knows where everything is: the desk's folder and pid, the victim's HOME.
    desk.add("attacker", ATTACKER, {"user_id": "mallory", "env": {
        "VICTIM_HOME": victim_home, "PORT": str(desk.server.port), "FOLDER": str(desk.folder),
        "PID": str(desk.server.process.pid)}})
    desk.cli("start", "attacker")
    wait_for(lambda: "DONE" in desk.log("attacker"), what="the attacker to finish its attempts")
    log = desk.log("attacker")
    assert desk.values("attacker", "ESCAPED") == [], log
    blocked = {line.split()[0] for line in desk.values("attacker", "BLOCKED")}
    assert blocked == {"ledger", "ledger-wal", "admin-token", "desk-environ", "strategies", "victim-code",
                       "victim-log", "victim-notes", "victim-home-write", "tcp"}, log
    assert desk.values("attacker", "OTHER-TOKENS") == ["none"], log
    assert desk.values("attacker", "UID")[0] not in ("0", desk.values("victim", "UID")[0])

    # The victim restarts after the attacker planted its code: nothing of it runs.
    desk.cli("restart", "victim")
    wait_for(lambda: len(desk.values("victim", "MODULES")) == 2, what="the victim to start again")
    assert desk.values("victim", "MODULES") == ["False", "False"]
    assert "PWNED" not in desk.log("victim")
    # Its orders are its member's; the broker secret is nowhere a strategy or a log could show it.
    order_id = desk.values("victim", "ORDER")[0].split()[1]
    assert desk.server.ledger("SELECT member, strategy FROM orders WHERE order_id = ?", order_id) == [
        ("victor", "victim")]
    for name in ("victim", "attacker"):
        assert BROKER_SECRET not in desk.log(name)
    assert BROKER_SECRET not in desk.server.log_text(10_000)


def test_strategy_uids_are_allocated_once_and_remembered_in_the_ledger(desk):
    rows = dict(desk.server.ledger("SELECT strategy, uid FROM strategy_users"))
    assert set(rows) >= {"victim", "attacker"}
    assert len(set(rows.values())) == len(rows), rows
    assert all(uid >= 61000 for uid in rows.values()), rows
