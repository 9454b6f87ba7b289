"""`python -m desk_client`: a member's laptop with only Python and the package,
against a real desk (tokens, the sandbox, a synthetic feed). Each command runs
in a child process whose PYTHONPATH holds only clients/python."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Iterator, Optional
from zoneinfo import ZoneInfo

import pytest

from conftest import REPO, desk_binary
from selfservice import PYTHON_PATH, WAIT_SECONDS, SelfServiceDesk, serve, strategy_folder, wait_for

PACKAGE = REPO / "clients" / "python"


@pytest.fixture(scope="module")
def desk() -> Iterator[SelfServiceDesk]:
    yield from serve("desk-client-cli-")


@pytest.fixture()
def laptop(desk, tmp_path) -> Path:
    """A member's machine: a home of its own (so a login file of its own), strategy folders in it."""
    (tmp_path / "home").mkdir()
    return tmp_path


def client(laptop: Path, *args: str, env: Optional[dict] = None,
           timeout: float = WAIT_SECONDS) -> subprocess.CompletedProcess:
    """`python -m desk_client ARGS` as the member runs it."""
    environment = {"PATH": os.environ["PATH"], "HOME": str(laptop / "home"), "PYTHONPATH": str(PACKAGE)}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "desk_client", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=laptop, env=environment)


def test_login_deploy_start_logs_stop_through_the_command_line(desk, laptop):
    refused = client(laptop, "login", "--server", desk.url, "--token", "desk_not-a-token")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "refused the token (401)" in refused.stderr, refused.stderr
    saved = laptop / "home" / ".config" / "desk" / "login.json"
    assert not saved.exists()

    done = client(laptop, "login", "--server", desk.url, env={"DESK_TOKEN": desk.tokens["alice"]})
    assert done.returncode == 0 and "as alice" in done.stdout, done.stdout + done.stderr
    assert desk.tokens["alice"] not in done.stdout + done.stderr
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert json.loads(saved.read_text()) == {"server": desk.url, "token": desk.tokens["alice"], "member": "alice"}
    # The Swift `desk` reads the same login.
    shown = desk.cli("strategies", "status", "--json", env={"HOME": str(laptop / "home")})
    assert shown.returncode == 0, shown.stdout + shown.stderr

    folder = strategy_folder(laptop, "cli-trend", config={"symbols": ["AAPL"]})
    deployed = client(laptop, "deploy", str(folder), "--name", "clitrend", "--start")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "deployed alice--clitrend for alice" in deployed.stdout, deployed.stdout
    assert (desk.strategies / "alice--clitrend" / "strategy.py").read_text() == (folder / "strategy.py").read_text()
    wait_for(lambda: desk.state("alice--clitrend") == "running", "alice--clitrend running")

    wait_for(lambda: "READY" in client(laptop, "logs", "clitrend", "--tail", "20").stdout,
             "READY in `python -m desk_client logs clitrend`")
    follower = subprocess.Popen(
        [sys.executable, "-m", "desk_client", "logs", "clitrend", "--follow", "--tail", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=laptop,
        env={"PATH": os.environ["PATH"], "HOME": str(laptop / "home"), "PYTHONPATH": str(PACKAGE)})
    try:
        assert "READY" in follower.stdout.readline() + follower.stdout.readline()
        assert follower.poll() is None, "a followed log stays open"
    finally:
        follower.terminate()
        follower.wait(timeout=WAIT_SECONDS)

    stopped = client(laptop, "stop", "clitrend")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert desk.state("alice--clitrend") == "stopped"
    started = client(laptop, "start", "clitrend")
    assert started.returncode == 0, started.stdout + started.stderr
    wait_for(lambda: desk.state("alice--clitrend") == "running", "alice--clitrend running again")
    assert client(laptop, "stop", "clitrend").returncode == 0


def test_another_members_strategy_and_bad_input_fail_with_a_message(desk, laptop):
    bob = {"DESK_SERVER_URL": desk.url, "DESK_TOKEN": desk.tokens["bob"]}
    folder = strategy_folder(laptop, "mine", config={"symbols": ["AAPL"]})
    assert client(laptop, "deploy", str(folder), env={**bob, "DESK_TOKEN": desk.tokens["alice"]}).returncode == 0
    # Bob cannot start, read or stop alice's strategy: the desk refuses, the client says so and exits 1.
    for args in (["start", "alice--mine"], ["logs", "alice--mine"], ["stop", "alice--mine"]):
        attempt = client(laptop, *args, env=bob)
        assert attempt.returncode == 1, (args, attempt.stdout, attempt.stderr)
        assert attempt.stderr.startswith("error: "), attempt.stderr
    assert desk.state("alice--mine") == "stopped"

    wrong = client(laptop, "stop", "mine", env={**bob, "DESK_TOKEN": "desk_wrong"})
    assert wrong.returncode == 1 and "(401)" in wrong.stderr, wrong.stderr
    nowhere = client(laptop, "stop", "mine", env={**bob, "DESK_SERVER_URL": "http://127.0.0.1:9"})
    assert nowhere.returncode == 1 and "no desk is answering at http://127.0.0.1:9" in nowhere.stderr, nowhere.stderr
    no_token = client(laptop, "stop", "mine", env={"DESK_SERVER_URL": desk.url})
    assert no_token.returncode == 1 and "no token" in no_token.stderr, no_token.stderr
    not_a_strategy = client(laptop, "deploy", str(laptop / "home"), env=bob)
    assert not_a_strategy.returncode == 1 and "has no strategy.py" in not_a_strategy.stderr, not_a_strategy.stderr
    (folder / "link.py").symlink_to("/etc/passwd")
    linked = client(laptop, "deploy", str(folder), env=bob)
    assert linked.returncode == 1 and "is a link or special file" in linked.stderr, linked.stderr
    usage = client(laptop, "logs")
    assert usage.returncode == 2 and "usage:" in usage.stderr, usage.stderr
    for command in ("login", "deploy", "start", "stop", "logs", "backtest"):
        helped = client(laptop, command, "--help")
        assert helped.returncode == 0 and "usage: python -m desk_client " + command in helped.stdout, helped.stdout

    # A login file others may read is refused, its token never used.
    saved = laptop / "home" / ".config" / "desk" / "login.json"
    assert client(laptop, "login", "--server", desk.url, env=bob).returncode == 0
    os.chmod(saved, 0o644)
    leaky = client(laptop, "stop", "mine")
    assert leaky.returncode == 1 and "can be read by other users" in leaky.stderr, leaky.stderr


def require_the_backtests_service(desk) -> None:
    """These tests need the desk's POST /backtests (the service) and its Python client."""
    if not (PACKAGE / "desk_client" / "backtests.py").exists():
        pytest.skip("desk_client.backtests (the backtests service's client) is not in this tree yet")
    code, reply = desk.json("alice", "GET", "/backtests")
    if code == 404:
        pytest.skip(f"this desk has no /backtests route yet: {reply}")


def local_figures(laptop: Path, folder: Path, data: Path) -> dict:
    """The same backtest run here, by `desk backtest --json`: what the desk's run must equal."""
    run = subprocess.run([str(desk_binary()), "backtest", folder.name, "--strategies", str(folder.parent),
                          "--data", str(data), "--work", str(laptop / "local"), "--json", "--quiet",
                          "--python-path", PYTHON_PATH],
                         capture_output=True, text=True, timeout=4 * WAIT_SECONDS, cwd=laptop)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout)["members"]


def test_backtest_from_the_command_line_downloads_the_report(desk, laptop):
    require_the_backtests_service(desk)
    folder = laptop / "example_alice"
    shutil.copytree(REPO / "strategies" / "example_alice", folder)
    out = laptop / "pages"
    run = client(laptop, "backtest", str(folder), "--data", str(REPO / "data" / "sample" / "three_days.jsonl"),
                 "--out", str(out), env={"DESK_SERVER_URL": desk.url, "DESK_TOKEN": desk.tokens["alice"]},
                 timeout=4 * WAIT_SECONDS)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "completed" in run.stderr, run.stderr
    report = json.loads((out / "report.json").read_text())
    assert "<html" in (out / "report.html").read_text().lower()
    figures = report["members"]["alice"]
    assert figures["total_pnl"] in run.stdout and "total_pnl" in run.stdout, run.stdout
    local = local_figures(laptop, folder, REPO / "data" / "sample" / "three_days.jsonl")
    assert figures["total_pnl"] == local["alice"]["total_pnl"] and figures["fills"] == local["alice"]["fills"]

    # The desk's recorded feed (research/feed/ beside its ledger, recorded since it started) as the data.
    today = datetime.now(ZoneInfo("America/New_York")).strftime("%Y-%m-%d")
    wait_for(lambda: (desk.folder / "research" / "feed" / f"{today}.jsonl").is_file(), "today's recorded feed")
    recorded = client(laptop, "backtest", str(folder), "--recorded", f"{today}:{today}", "--out", str(laptop / "rec"),
                      env={"DESK_SERVER_URL": desk.url, "DESK_TOKEN": desk.tokens["alice"]}, timeout=4 * WAIT_SECONDS)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert json.loads((laptop / "rec" / "report.json").read_text())["ticks"] > 0

    # A recorded day whose last line is still being written: the backtest takes its whole lines.
    day = [line for line in (REPO / "data" / "sample" / "three_days.jsonl").read_text().splitlines()
           if line.startswith('{"ts":"2026-11-16')]
    (desk.folder / "research" / "feed" / "2026-11-16.jsonl").write_text("\n".join(day) + '\n{"ts":"2026-11-16T21:0')
    partial = client(laptop, "backtest", str(folder), "--recorded", "2026-11-16:2026-11-16", "--out",
                     str(laptop / "partial"), env={"DESK_SERVER_URL": desk.url, "DESK_TOKEN": desk.tokens["alice"]},
                     timeout=4 * WAIT_SECONDS)
    assert partial.returncode == 0, partial.stdout + partial.stderr
    assert json.loads((laptop / "partial" / "report.json").read_text())["ticks"] == len(day)

    missing = client(laptop, "backtest", str(folder), "--data", str(laptop / "nope.jsonl"),
                     env={"DESK_SERVER_URL": desk.url, "DESK_TOKEN": desk.tokens["alice"]})
    assert missing.returncode == 1 and "nope.jsonl is not a file" in missing.stderr, missing.stderr


def test_desk_backtest_server_submits_to_the_desk_and_prints_what_a_local_run_prints(desk, laptop):
    require_the_backtests_service(desk)
    strategies = laptop / "strategies"
    shutil.copytree(REPO / "strategies" / "example_alice", strategies / "example_alice")
    data = REPO / "data" / "sample" / "three_days.jsonl"
    pages = laptop / "remote"
    remote = desk.cli("backtest", "example_alice", "--strategies", str(strategies), "--data", str(data),
                      "--server", desk.url, "--report", str(pages), "--json", token=desk.tokens["alice"])
    assert remote.returncode == 0, remote.stdout + remote.stderr
    assert "completed" in remote.stderr, remote.stderr
    assert (pages / "report.html").is_file()
    printed = json.loads(remote.stdout)
    assert printed == json.loads((pages / "report.json").read_text())
    local = local_figures(laptop, strategies / "example_alice", data)
    for figure in ("total_pnl", "fills", "orders", "max_drawdown"):
        assert printed["members"]["alice"][figure] == local["alice"][figure], figure

    # A wrong token: refused, said so, exit 1.
    refused = desk.cli("backtest", "example_alice", "--strategies", str(strategies), "--data", str(data),
                       "--server", desk.url, token="desk_wrong")
    assert refused.returncode == 1 and "refused" in refused.stderr, refused.stderr
