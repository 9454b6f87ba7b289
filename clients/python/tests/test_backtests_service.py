"""Backtests as a service: a member's laptop flow with only the Python package
(`desk_client.backtest(...)`) against a real `desk serve`, whose backtests are real
child `desk backtest` processes running real strategies in the sandbox.

Submits, follows progress, downloads report.html, and the report equals a local
`desk backtest` of the same folder and data; another member can neither see nor
cancel it (404); the member's queue cap refuses the over-quota run with a 429
naming the cap; a running backtest is canceled and its process ends; a strategy
that hunts for the desk's broker keys and tokens finds none — in its environment,
in /proc, in files — and none appears in the backtest's files or the API's answers;
a backtest over the member's CPU budget is stopped; a desk killed with a backtest
running marks it failed at its restart and runs the queued one."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

import desk_client
from conftest import REPO, DeskServer
from desk_client import backtests
from desk_client.errors import DeskRequestError
from selfservice import BROKER_SECRET, CONFIG, PYTHON_PATH, SelfServiceDesk, wait_for

SAMPLE = REPO / "data" / "sample" / "three_days.jsonl"

# Buys 5 AAPL at its first AAPL tick and sells them at its 200th: a run with fills and P&L.
TRADER = """
import json, sys
from desk_client import place_order
seen = 0
for line in sys.stdin:
    tick = json.loads(line)
    if tick.get("symbol") != "AAPL":
        continue
    seen += 1
    if seen == 1:
        print("BUY", place_order("AAPL", 5, "buy").status, flush=True)
    if seen == 200:
        print("SELL", place_order("AAPL", 5, "sell").status, flush=True)
"""

# Takes its time over every tick: a backtest that runs until it is canceled.
SLOW = """
import sys, time
print("SLOW STARTED", flush=True)
for line in sys.stdin:
    time.sleep(0.5)
"""

# Burns CPU on every tick: passes any small CPU budget.
BURNER = """
import sys
for line in sys.stdin:
    total = 0
    for i in range(3_000_000):
        total += i
"""

# Looks for the desk's secrets everywhere it can reach and prints what it found.
ATTACKER = r"""
import glob, json, os, sys
found = {"env": dict(os.environ)}
for path in ["/proc/%d/environ" % os.getppid(), "/proc/1/environ"] + glob.glob("/proc/[0-9]*/environ"):
    try:
        with open(path, "rb") as handle:
            found[path] = handle.read().decode(errors="replace")
    except OSError as error:
        found[path] = "unreadable: %s" % error.strerror
for pattern in ["../*", "../../*", "../../../*", "../../../../*", "/tmp/*/desk-config.json", "/tmp/*/desk.db",
                "/tmp/*/*.json", os.path.expanduser("~") + "/*"]:
    for path in glob.glob(pattern):
        try:
            with open(path, "rb") as handle:
                found[path] = handle.read(100000).decode(errors="replace")
        except OSError as error:
            found[path] = "unreadable: %s" % error.strerror
print("FOUND", json.dumps(found), flush=True)
print("ATTACK DONE", flush=True)
for line in sys.stdin:
    pass
"""

RESEARCH = {"concurrency": 1, "member_concurrency": 1, "member_queued": 2, "member_cpu_seconds_per_day": 3600,
            "jobs": 1}


def folder_of(root: Path, name: str, script: str, config: dict = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "strategy.py").write_text(textwrap.dedent(script))
    (folder / "config.json").write_text(json.dumps(config or {"symbols": ["AAPL"]}))
    return folder


@pytest.fixture(scope="module")
def desk() -> Iterator[SelfServiceDesk]:
    with tempfile.TemporaryDirectory(prefix="desk-backtests-") as folder:
        served = SelfServiceDesk(Path(folder), config={**CONFIG, "research": RESEARCH})
        served.tokens["officer"] = officer_token(served.server)
        try:
            yield served
        finally:
            served.stop()


@pytest.fixture(autouse=True)
def nothing_left_running(request):
    """After each test on the module's desk, its backtests end (a failed test must not hold the queue)."""
    yield
    if "desk" in request.fixturenames:
        served = request.getfixturevalue("desk")
        for view in backtests.list_backtests(served.url, served.tokens["officer"]):
            if view["status"] in ("queued", "running"):
                backtests.cancel(view["id"], served.url, served.tokens["officer"])


def officer_token(server: DeskServer) -> str:
    lines = server.desk("tokens", "issue", "olga", "--officer").stdout.splitlines()
    return lines[0].strip()


def secrets_of(desk: SelfServiceDesk) -> list:
    return [BROKER_SECRET, "PKSELFSERVICE", *desk.tokens.values()]


def work_of(desk: SelfServiceDesk, backtest_id: str) -> Path:
    return desk.folder / "research" / "backtests" / backtest_id


def cancel_all(desk: SelfServiceDesk, member: str) -> None:
    for view in backtests.list_backtests(desk.url, desk.tokens[member]):
        if view["status"] in ("queued", "running"):
            backtests.cancel(view["id"], desk.url, desk.tokens[member])
    wait_for(lambda: all(view["status"] not in ("queued", "running")
                         for view in backtests.list_backtests(desk.url, desk.tokens[member])),
             f"{member}'s backtests to end")


def running_processes(backtest_id: str) -> list:
    """The processes whose command line names the backtest (its `desk backtest`, in its work folder)."""
    return [entry for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and backtest_id.encode() in _read(entry / "cmdline")]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def comparable(report: dict) -> dict:
    """A report without what differs between two runs of the same backtest: time taken, paths."""
    timing = ("seconds", "elapsed", "wall", "work", "started", "ended", "ticks_per_second", "duration")
    if isinstance(report, dict):
        return {key: comparable(value) for key, value in report.items() if not any(t in key for t in timing)}
    if isinstance(report, list):
        return [comparable(value) for value in report]
    return report


def test_laptop_flow_matches_a_local_backtest(desk: SelfServiceDesk, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = folder_of(tmp_path / "laptop", "trader", TRADER)
    seen = []
    run = desk_client.backtest(str(folder), data=[str(SAMPLE)], server=desk.url, token=desk.tokens["alice"],
                               progress=lambda b: seen.append((b.status, dict(b.progress))), poll=0.2,
                               timeout=300)
    assert run.status == "completed", run.view
    assert seen[0][0] in ("queued", "running") and seen[-1] == ("completed", {"runs_done": 1, "runs_total": 1})
    assert run.path == "report.html" and "<html" in (tmp_path / "report.html").read_text().lower()
    assert run.view["result"] == "report.json" and "report.html" in run.files
    assert run.member == "alice" and run.strategy == "trader" and float(run.cpu_seconds) > 0

    # The same folder and data, run by `desk backtest` here: as the desk ran it (member alice, the desk's config).
    local = tmp_path / "local"
    folder_of(local / "strategies", "alice--trader", TRADER, {"symbols": ["AAPL"], "member": "alice"})
    result = subprocess.run(
        [str(desk.server.binary), "backtest", "--strategies", str(local / "strategies"), "--data", str(SAMPLE),
         "--work", str(local / "work"), "--config", str(desk.config_path), "--python-path", PYTHON_PATH,
         "--json", "--quiet"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    mine = json.loads(result.stdout)
    assert mine["members"]["alice"]["fills"] == 2
    assert comparable(run.report) == comparable(mine)


def test_a_submitted_sweep_runs_each_combination_and_serves_its_pages(desk: SelfServiceDesk, tmp_path: Path,
                                                                      monkeypatch) -> None:
    """A sweep sent to the desk: one run per combination (progress counts them), sweep.json as the result,
    sweep.html and each run's report served to the member."""
    monkeypatch.chdir(tmp_path)
    folder = folder_of(tmp_path / "laptop", "sized", TRADER.replace('place_order("AAPL", 5,', 'place_order("AAPL", int(__import__("os").environ["QTY"]),'),
                       {"symbols": ["AAPL"], "env": {"QTY": "5"}})
    seen = []
    run = desk_client.backtest(str(folder), data=[str(SAMPLE)], server=desk.url, token=desk.tokens["alice"],
                               sweep={"grid": {"QTY": ["1", "3"]}}, rank_by="total_pnl", download="sweep.html",
                               progress=lambda b: seen.append(dict(b.progress)), poll=0.2, timeout=300)
    assert run.status == "completed", run.view
    assert run.view["result"] == "sweep.json" and seen[-1] == {"runs_done": 2, "runs_total": 2}
    assert run.report == json.loads(Path(backtests.download(run.id, "sweep.json", str(tmp_path / "sweep.json"),
                                                            server=desk.url, token=desk.tokens["alice"])).read_text())
    sweep = run.report
    assert sorted(entry["params"]["QTY"] for entry in sweep["runs"]) == ["1", "3"]
    assert sorted(entry["rank"] for entry in sweep["runs"]) == [1, 2]
    assert "<table" in (tmp_path / "sweep.html").read_text()
    page = backtests.download(run.id, "report.html", str(tmp_path / "run1.html"), run="0001", server=desk.url,
                              token=desk.tokens["alice"])
    assert "<html" in Path(page).read_text().lower()


def test_another_member_neither_sees_nor_cancels(desk: SelfServiceDesk, tmp_path: Path) -> None:
    folder = folder_of(tmp_path, "slow", SLOW)
    view = backtests.submit(data=[str(SAMPLE)], folder=str(folder), server=desk.url, token=desk.tokens["alice"])
    other = desk.tokens["bob"]
    for call in (lambda: backtests.get(view["id"], desk.url, other),
                 lambda: backtests.cancel(view["id"], desk.url, other),
                 lambda: backtests.download(view["id"], "report.html", str(tmp_path / "x"), server=desk.url,
                                            token=other)):
        with pytest.raises(DeskRequestError) as refused:
            call()
        assert refused.value.status_code == 404 and view["id"] in refused.value.message
    assert view["id"] not in [b["id"] for b in backtests.list_backtests(desk.url, other)]
    assert backtests.get(view["id"], desk.url, desk.tokens["alice"])["status"] in ("queued", "running")
    # An officer sees everyone's and may cancel.
    assert view["id"] in [b["id"] for b in backtests.list_backtests(desk.url, desk.tokens["officer"])]
    canceled = backtests.cancel(view["id"], desk.url, desk.tokens["officer"])
    assert canceled["status"] == "canceled" and canceled["error"] == "canceled by olga"


def test_caps_refuse_the_over_quota_run_and_cancel_stops_a_running_one(desk: SelfServiceDesk,
                                                                        tmp_path: Path) -> None:
    cancel_all(desk, "carol")
    folder = folder_of(tmp_path, "slow", SLOW)
    token = desk.tokens["carol"]
    first = backtests.submit(data=[str(SAMPLE)], folder=str(folder), server=desk.url, token=token)
    second = backtests.submit(data=[str(SAMPLE)], folder=str(folder), server=desk.url, token=token)
    with pytest.raises(DeskRequestError) as refused:
        backtests.submit(data=[str(SAMPLE)], folder=str(folder), server=desk.url, token=token)
    assert refused.value.status_code == 429
    assert "you have 2 backtests queued or running (research.member_queued is 2)" in refused.value.message

    running = wait_for(lambda: (lambda v: v if v["status"] == "running" else None)(
        backtests.get(first["id"], desk.url, token)), "the first backtest to run")
    log = work_of(desk, first["id"]) / "logs"
    wait_for(lambda: any("SLOW STARTED" in p.read_text() for p in log.glob("*.log")) if log.exists() else False,
             "the slow strategy to start")
    assert backtests.get(second["id"], desk.url, token)["status"] == "queued"  # member_concurrency is 1
    # The running `desk backtest` child's environment was built from nothing: none of the desk's keys.
    environments = [(entry / "environ").read_bytes() for entry in Path("/proc").iterdir()
                    if entry.name.isdigit() and first["id"].encode() in _read(entry / "cmdline")]
    assert environments and all(b"PATH=" in env for env in environments)
    assert not any(secret.encode() in env for env in environments for secret in secrets_of(desk))
    canceled = backtests.cancel(running["id"], desk.url, token)
    assert canceled["status"] == "canceled"

    wait_for(lambda: not running_processes(first["id"]), "the canceled backtest's processes to end")
    assert backtests.get(first["id"], desk.url, token)["status"] == "canceled"
    # The queued one starts once the first is out.
    wait_for(lambda: backtests.get(second["id"], desk.url, token)["status"] == "running", "the second to start")
    backtests.cancel(second["id"], desk.url, token)


def test_bad_data_names_are_refused(desk: SelfServiceDesk) -> None:
    for name in ("../desk.db", "/etc/passwd", "feed/../../x.jsonl", "missing.jsonl"):
        code, reply = desk.json("alice", "POST", "/backtests", {"strategy": "x", "data": [{"file": name}]})
        assert code == 400, (name, reply)
        assert name in reply["message"]
    code, reply = desk.json("alice", "POST", "/backtests",
                            {"strategy": "x", "data": [{"recorded": {"from": "2020-01-01", "to": "2020-01-02"}}]})
    assert code == 400 and "no recorded feed for 2020-01-01 to 2020-01-02" in reply["message"], reply
    (desk.folder / "research").mkdir(exist_ok=True)
    (desk.folder / "research" / "a.jsonl").write_text('{"symbol": "AAPL", "price": "1"}\n')
    code, reply = desk.json("bob", "POST", "/backtests", {"strategy": "ghost", "data": [{"file": "a.jsonl"}]})
    assert code == 404 and "you have no deployed strategy \"ghost\"" in reply["message"]


def test_the_attacker_strategy_finds_no_key(desk: SelfServiceDesk, tmp_path: Path) -> None:
    folder = folder_of(tmp_path, "attacker", ATTACKER)
    run = desk_client.backtest(str(folder), data=[str(SAMPLE)], server=desk.url, token=desk.tokens["bob"],
                               download=None, poll=0.2, timeout=300)
    work = work_of(desk, run.id)
    logs = "".join(path.read_text(errors="replace") for path in work.rglob("*.log"))
    assert "ATTACK DONE" in logs and "FOUND" in logs, logs[-2000:]  # it ran and reported
    answers = json.dumps(run.view) + json.dumps(backtests.list_backtests(desk.url, desk.tokens["bob"]))
    everything = answers + "".join(path.read_bytes().decode(errors="replace")
                                   for path in work.rglob("*") if path.is_file())
    for secret in secrets_of(desk):
        assert secret not in everything, f"a secret of the desk leaked into backtest {run.id}"
    # It did look (its own desk's variables are there: APCA_API_BASE_URL is the backtest's desk, not a broker).
    assert '"env": {' in logs and "/environ" in logs


def short_folder() -> tempfile.TemporaryDirectory:
    """A desk's folder with a short path: a backtest's desk listens on a unix socket in its work folder
    (`research/backtests/<id>/desk.sock`), and a socket's path has at most 107 bytes."""
    return tempfile.TemporaryDirectory(prefix="dbt-")


def test_a_backtest_over_the_cpu_budget_is_stopped(tmp_path: Path) -> None:
    holder = short_folder()
    home = Path(holder.name)
    served = SelfServiceDesk(home, config={**CONFIG, "research": {**RESEARCH, "member_cpu_seconds_per_day": 2}})
    try:
        folder = folder_of(tmp_path, "burner", BURNER)
        run = desk_client.backtest(str(folder), data=[str(SAMPLE)], server=served.url,
                                   token=served.tokens["alice"], download=None, poll=0.2, timeout=300)
        assert run.status == "failed" and run.error.startswith("over the CPU budget"), run.view
        assert "(research.member_cpu_seconds_per_day is 2)" in run.error
        assert float(run.cpu_seconds) > 2
        with pytest.raises(DeskRequestError) as refused:
            backtests.submit(data=[str(SAMPLE)], folder=str(folder), server=served.url,
                             token=served.tokens["alice"])
        assert refused.value.status_code == 429 and "member_cpu_seconds_per_day is 2" in refused.value.message
    finally:
        served.stop()
        holder.cleanup()


def test_a_restart_fails_the_running_one_and_keeps_the_queued(tmp_path: Path) -> None:
    holder = short_folder()
    home = Path(holder.name)
    served = SelfServiceDesk(home, config={**CONFIG, "research": RESEARCH})
    folder = folder_of(tmp_path, "slow", SLOW)
    token = served.tokens["alice"]
    first = backtests.submit(data=[str(SAMPLE)], folder=str(folder), server=served.url, token=token)
    second = backtests.submit(data=[str(SAMPLE)], folder=str(folder), server=served.url, token=token)
    wait_for(lambda: backtests.get(first["id"], served.url, token)["status"] == "running", "the first to run")
    served.server.process.send_signal(signal.SIGKILL)
    served.server.process.wait()
    served.server.stop()
    # The same ledger and folders, a new desk process.
    again = DeskServer(home, trust_user_header=False,
                       extra_args=["--strategies-dir", str(served.strategies), "--python-path", PYTHON_PATH,
                                   "--config", str(served.config_path)])
    try:
        view = backtests.get(first["id"], again.url, token)
        assert view["status"] == "failed" and view["error"] == "the desk restarted while it ran"
        # The killed desk's child was stopped by the new desk.
        wait_for(lambda: not running_processes(first["id"]), "the left-over backtest's processes to end")
        wait_for(lambda: backtests.get(second["id"], again.url, token)["status"] == "running",
                 "the queued backtest to run after the restart")
        backtests.cancel(second["id"], again.url, token)
    finally:
        again.stop()
        holder.cleanup()


def test_server_and_token_from_the_saved_login(desk: SelfServiceDesk, tmp_path: Path, monkeypatch) -> None:
    login = tmp_path / "login.json"
    login.write_text(json.dumps({"server": desk.url, "token": desk.tokens["carol"], "member": "carol"}))
    login.chmod(0o600)
    monkeypatch.delenv("DESK_SERVER_URL", raising=False)
    monkeypatch.delenv("DESK_TOKEN", raising=False)
    monkeypatch.setenv("DESK_LOGIN_FILE", str(login))
    assert desk_client.login.load_login() == {"server": desk.url, "token": desk.tokens["carol"], "member": "carol"}
    mine = backtests.list_backtests()  # with the login's token (no token at all would be refused: 401)
    assert {view["member"] for view in mine} <= {"carol"}
    login.chmod(0o644)  # others may read it: its token may have leaked
    with pytest.raises(desk_client.DeskError, match="can be read by other users"):
        backtests.list_backtests()
