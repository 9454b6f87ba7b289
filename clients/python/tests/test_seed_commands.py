"""The original desk's own commands, as its users type them at the repository
root: ./scripts/deploy_strategies.sh start|stop|restart|status,
./strategy_manager.py ... (logs with a folder path, -f), and
./scripts/build_strategy_image.sh, run against a real `desk serve` ($DESK_BIN).
The image build runs with a stand-in docker CLI that records what it was asked
(no engine runs here; scripts/docker-e2e.sh builds the image for real)."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Iterator

import pytest

from conftest import REPO, DeskServer, desk_binary

DEPLOY = REPO / "scripts" / "deploy_strategies.sh"
BUILD_IMAGE = REPO / "scripts" / "build_strategy_image.sh"
MANAGER = REPO / "strategy_manager.py"

STRATEGY = """
    import sys
    print("HELLO from", sys.argv[0], flush=True)
    for line in sys.stdin:
        pass
    """


@pytest.fixture(scope="module")
def seed_desk() -> Iterator[DeskServer]:
    with tempfile.TemporaryDirectory(prefix="desk-seed-") as name:
        folder = Path(name)
        os.chmod(folder, 0o755)
        for strategy in ("seed_alice", "seed_bob"):
            (folder / "strategies" / strategy).mkdir(parents=True)
            (folder / "strategies" / strategy / "strategy.py").write_text(textwrap.dedent(STRATEGY))
            (folder / "strategies" / strategy / "config.json").write_text(
                json.dumps({"user_id": strategy.split("_")[1]}))
        server = DeskServer(folder, trust_user_header=False,
                            extra_args=["--feed", "none", "--strategies-dir", str(folder / "strategies")])
        try:
            yield server
        finally:
            server.stop()


def run(server: DeskServer, *command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Runs a seed command from the server's folder (so strategies/<name>/ is a
    real relative path), finding the desk through DB_PATH alone."""
    env = {"PATH": os.environ["PATH"], "DESK_BIN": str(desk_binary()), "DB_PATH": str(server.db)}
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=timeout,
                          cwd=server.folder, env=env)


def states(server: DeskServer) -> dict:
    result = run(server, DEPLOY, "status")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[2:] if line.startswith("seed_")]
    return {row[0]: row[2] for row in rows}


def wait_for_states(server: DeskServer, wanted: dict, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if states(server) == wanted:
            return
        time.sleep(0.1)
    pytest.fail(f"strategies never reached {wanted}: {states(server)}\n{server.log_text(40)}", pytrace=False)


def test_deploy_script_starts_reports_restarts_and_stops_every_strategy(seed_desk: DeskServer) -> None:
    started = run(seed_desk, DEPLOY, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "seed_alice" in started.stdout and "seed_bob" in started.stdout
    wait_for_states(seed_desk, {"seed_alice": "running", "seed_bob": "running"})
    pids = {row.split()[0]: row.split()[4] for row in run(seed_desk, DEPLOY, "status").stdout.splitlines()
            if row.startswith("seed_")}

    restarted = run(seed_desk, DEPLOY, "restart")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    wait_for_states(seed_desk, {"seed_alice": "running", "seed_bob": "running"})
    new_pids = {row.split()[0]: row.split()[4] for row in run(seed_desk, DEPLOY, "status").stdout.splitlines()
                if row.startswith("seed_")}
    assert all(new_pids[name] != pids[name] for name in pids), (pids, new_pids)

    stopped = run(seed_desk, DEPLOY, "stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    wait_for_states(seed_desk, {"seed_alice": "stopped", "seed_bob": "stopped"})


def test_deploy_script_refuses_an_unknown_verb_and_reports_failures(seed_desk: DeskServer) -> None:
    wrong = run(seed_desk, DEPLOY, "deploy")
    assert wrong.returncode == 64
    assert "usage:" in wrong.stderr
    missing = run(seed_desk, DEPLOY, "start", "nosuch")
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "FAIL" in missing.stdout and "nosuch" in missing.stdout
    assert "Usage:" not in missing.stderr


def test_strategy_manager_acts_on_folder_paths_and_follows_logs(seed_desk: DeskServer) -> None:
    started = run(seed_desk, MANAGER, "start", "strategies/seed_alice/")
    assert started.returncode == 0, started.stdout + started.stderr
    wait_for_states(seed_desk, {"seed_alice": "running", "seed_bob": "stopped"})
    status = run(seed_desk, MANAGER, "status", "strategies/seed_alice/")
    assert status.returncode == 0 and "seed_alice" in status.stdout and "seed_bob" not in status.stdout

    deadline = time.monotonic() + 20
    logs = run(seed_desk, MANAGER, "logs", "strategies/seed_alice/")
    while "HELLO from" not in logs.stdout and time.monotonic() < deadline:
        time.sleep(0.1)
        logs = run(seed_desk, MANAGER, "logs", "strategies/seed_alice/")
    assert logs.returncode == 0, logs.stdout + logs.stderr
    assert "HELLO from" in logs.stdout

    env = {"PATH": os.environ["PATH"], "DESK_BIN": str(desk_binary()), "DB_PATH": str(seed_desk.db)}
    follower = subprocess.Popen([str(MANAGER), "logs", "strategies/seed_alice/", "-f", "--tail", "0"],
                                cwd=seed_desk.folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    try:
        time.sleep(0.5)
        restarted = run(seed_desk, MANAGER, "restart", "strategies/seed_alice/")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        line = ""
        deadline = time.monotonic() + 20
        while "HELLO from" not in line and time.monotonic() < deadline:
            line = follower.stdout.readline()
        assert "HELLO from" in line, "logs -f did not show the restarted strategy's output"
    finally:
        follower.terminate()
        follower.wait(timeout=10)

    stopped = run(seed_desk, MANAGER, "stop", "strategies/seed_alice")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    wait_for_states(seed_desk, {"seed_alice": "stopped", "seed_bob": "stopped"})
    unknown = run(seed_desk, MANAGER, "logs", "strategies/nosuch/")
    assert unknown.returncode == 1
    assert 'no strategy "nosuch"' in unknown.stderr and "seed_alice" in unknown.stderr


def test_build_strategy_image_builds_from_the_offline_context(tmp_path: Path) -> None:
    record = tmp_path / "docker-call.json"
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    # A stand-in docker CLI: records its arguments and what the build context holds.
    fake.write_text(textwrap.dedent(f"""\
        #!/usr/bin/env python3
        import json, os, sys
        context = sys.argv[-1]
        json.dump({{"args": sys.argv[1:],
                    "files": sorted(os.listdir(context)),
                    "python": sorted(os.listdir(os.path.join(context, "python")))}},
                  open({str(record)!r}, "w"))
        """))
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}:{os.environ['PATH']}", "DOCKER_IMAGE": "club-strategy"}
    result = subprocess.run([str(BUILD_IMAGE)], capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    call = json.loads(record.read_text())
    assert call["args"][:7] == ["build", "--network", "none", "--build-arg", "BASE_IMAGE=python:3.11-slim", "-t",
                                "club-strategy"]
    assert "Dockerfile" in call["files"]
    assert "desk_client" in call["python"] and "requests" in call["python"]
    assert "built club-strategy" in result.stdout

    missing = subprocess.run([str(BUILD_IMAGE)], capture_output=True, text=True, timeout=30, cwd=REPO,
                             env={"PATH": "/usr/bin:/bin", "DESK_DOCKER": "no-such-docker"})
    assert missing.returncode == 1
    assert "no-such-docker is not installed" in missing.stderr
