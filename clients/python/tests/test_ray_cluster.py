"""Research's runs on a REAL local Ray cluster: a head and one worker node, each a
separate `ray start --block` process on 127.0.0.1 (ports from DESK_TEST_RAY_PORT,
default 6390, up to +199: outside 10002–19999), stopped at the end even on failure
(each node's processes ended by their ids). The runs go through the driver
`python -m desk_client.ray_backtests` as `desk backtest --cluster` hands them over,
and through `desk backtest --sweep … --cluster ray://…` itself; the results equal
the same runs made on this machine, and the runs really ran on both nodes.

If Ray is not installed in this Python or cannot start here, the tests are skipped
with the reason printed as a warning (never silently); DESK_TEST_RAY_REQUIRED=1 makes
that a failure. Timeouts: DESK_TEST_RAY_TIMEOUT (default 180 s)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from conftest import REPO, desk_binary, free_port

TIMEOUT = float(os.environ.get("DESK_TEST_RAY_TIMEOUT", "180"))
BASE_PORT = int(os.environ.get("DESK_TEST_RAY_PORT", "6390"))
RAY = Path(sys.executable).with_name("ray")
SAMPLE = REPO / "data" / "sample" / "three_days.jsonl"
BOB = REPO / "strategies" / "example_bob"
# Fields of a report that hold the wall clock of the run, not its result.
TIMING = {"timing", "seconds", "cpu_seconds", "cpuSeconds", "elapsed_seconds", "ticks_per_second", "report_seconds"}


def skip_or_fail(reason: str) -> None:
    if os.environ.get("DESK_TEST_RAY_REQUIRED") == "1":
        pytest.fail(f"DESK_TEST_RAY_REQUIRED=1 but {reason}", pytrace=False)
    warnings.warn(f"Ray tests skipped: {reason}")
    print(f"Ray tests skipped: {reason}", file=sys.stderr)
    pytest.skip(reason)


class RayNode:
    """One `ray start --block` process and everything it started (ended by pid)."""

    def __init__(self, name: str, arguments: List[str], folder: Path, environment: Dict[str, str]):
        self.name = name
        self.log_path = folder / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen([str(RAY), "start", "--block", "--disable-usage-stats", *arguments],
                                        stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=environment, start_new_session=True)

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def descendants(self) -> List[int]:
        children: Dict[int, List[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        found, queue = [], [self.process.pid]
        while queue:
            for child in children.get(queue.pop(), []):
                found.append(child)
                queue.append(child)
        return found

    def stop(self) -> None:
        pids = self.descendants()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # ray start --block ends the node's processes
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in pids + self.descendants():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()


def node_ports(first: int) -> List[str]:
    return ["--dashboard-agent-listen-port", str(first + 2), "--dashboard-agent-grpc-port", str(first + 3),
            "--metrics-export-port", str(first + 4), "--runtime-env-agent-port", str(first + 5),
            "--node-manager-port", str(first + 6), "--object-manager-port", str(first + 7),
            "--min-worker-port", str(first + 10), "--max-worker-port", str(first + 49)]


class RayCluster:
    """A head and `workers` extra nodes on 127.0.0.1, each with its own temp folder and ports."""

    def __init__(self, base_port: int, workers: int, desk_bin: Dict[str, str]):
        if not RAY.exists():
            skip_or_fail(f"ray is not installed in {sys.executable} (scripts/python-env.sh installs it)")
        self.folder = Path(tempfile.mkdtemp(prefix="dray"))  # short: Ray's socket paths must fit 107 bytes
        self.port = base_port
        self.address = f"ray://127.0.0.1:{base_port + 1}"
        self.nodes: List[RayNode] = []
        environment = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL") if name in os.environ}
        environment.update(RAY_USAGE_STATS_ENABLED="0")
        common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1"]
        self.nodes.append(RayNode("head", ["--head", "--port", str(base_port), "--ray-client-server-port",
                                           str(base_port + 1), "--include-dashboard", "false",
                                           "--temp-dir", str(self.folder / "head"), *common, *node_ports(base_port)],
                                  self.folder, {**environment, **desk_bin.get("head", desk_bin["*"])}))
        try:
            self._wait_for(1)
            for number in range(1, workers + 1):
                self.nodes.append(RayNode(f"worker{number}", ["--address", f"127.0.0.1:{base_port}",
                                                              "--temp-dir", str(self.folder / f"worker{number}"),
                                                              *common, *node_ports(base_port + 50 * number)],
                                          self.folder, {**environment, **desk_bin.get(f"worker{number}",
                                                                                      desk_bin["*"])}))
            self._wait_for(1 + workers)
        except BaseException:
            self.stop()
            raise

    def _wait_for(self, count: int) -> None:
        deadline = time.monotonic() + TIMEOUT
        status = ""
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.process.poll() is not None:
                    skip_or_fail(f"ray start ({node.name}) exited with {node.process.returncode}:\n{node.log_text()}")
            result = subprocess.run([str(RAY), "status", "--address", f"127.0.0.1:{self.port}"], capture_output=True,
                                    text=True, timeout=TIMEOUT, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
            status = result.stdout
            active = status.split("Active:", 1)[-1].split("Pending:", 1)[0] if "Active:" in status else ""
            if active.count("node_") >= count and self._client_server_listens():
                return
            time.sleep(0.5)
        skip_or_fail(f"the Ray cluster did not reach {count} node(s) within {TIMEOUT} s:\n{status}\n"
                     + "\n".join(node.log_text() for node in self.nodes))

    def _client_server_listens(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port + 1), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    running = RayCluster(BASE_PORT, workers=1, desk_bin={"*": {"DESK_RAY_DESK_BIN": str(desk_binary())}})
    try:
        yield running
    finally:
        running.stop()


def driver(jobs: List[dict], address: str, timeout: float = TIMEOUT,
           environment: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """`python -m desk_client.ray_backtests --address ADDRESS` with `jobs` on stdin, as RayExecutor runs it."""
    return subprocess.run([sys.executable, "-m", "desk_client.ray_backtests", "--address", address],
                          input=json.dumps({"jobs": jobs}), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(environment or {})})


def job(tmp: Path, number: int, params: Dict[str, str]) -> dict:
    """A job as BacktestJob builds it: a copy of example_bob with `params` in its env."""
    strategies = tmp / "strategies" / f"{number:04d}"
    shutil.copytree(BOB, strategies / "example_bob")
    config = json.loads((strategies / "example_bob" / "config.json").read_text())
    config["env"].update(params)
    (strategies / "example_bob" / "config.json").write_text(json.dumps(config))
    work = tmp / "ray" / f"{number:04d}"
    arguments = ["backtest", "example_bob", "--strategies", str(strategies), "--data", str(SAMPLE),
                 "--end-grace", "5", "--work", str(work), "--json", "--quiet"]
    return {"id": f"{number:04d}", "params": params, "arguments": arguments, "work": str(work)}


def without_timing(value):
    if isinstance(value, dict):
        return {key: without_timing(item) for key, item in value.items() if key not in TIMING}
    if isinstance(value, list):
        return [without_timing(item) for item in value]
    return value


def lines(text: str) -> List[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_the_driver_runs_each_job_on_a_node_and_leaves_what_a_local_run_leaves(cluster: RayCluster,
                                                                                tmp_path: Path) -> None:
    jobs = [job(tmp_path, number, {"WINDOW": window, "THRESHOLD_PERCENT": threshold})
            for number, (window, threshold) in enumerate([("10", "0.1"), ("20", "0.1"), ("10", "0.2"),
                                                          ("20", "0.2")], start=1)]
    result = driver(jobs, cluster.address)
    assert result.returncode == 0, result.stderr
    finished = lines(result.stdout)
    assert sorted(line["id"] for line in finished) == ["0001", "0002", "0003", "0004"]
    for line in finished:
        assert line["status"] == 0 and line["failure"] is None, line
        assert line["cpuSeconds"] > 0 and line["seconds"] > 0
    assert len({line["node"]["id"] for line in finished}) == 2, finished  # both nodes ran runs
    for each in jobs:
        work = Path(each["work"])
        assert sorted(path.name for path in work.iterdir()) == [
            "backtest.err", "backtest.out", "equity.csv", "ray-node.json", "report.html", "report.json"]
        local = tmp_path / "local" / each["id"]
        arguments = [str(local) if argument == each["work"] else argument for argument in each["arguments"]]
        here = subprocess.run([str(desk_binary()), *arguments[:]], capture_output=True, text=True, timeout=TIMEOUT)
        assert here.returncode == 0, here.stderr
        assert without_timing(json.loads((work / "backtest.out").read_text())) == without_timing(
            json.loads(here.stdout))
        assert without_timing(json.loads((work / "report.json").read_text())) == without_timing(
            json.loads((local / "report.json").read_text()))
        assert (work / "equity.csv").read_bytes() == (local / "equity.csv").read_bytes()
        # backtest.err names this machine's work folder, not the node's temporary copy.
        assert str(work) in (work / "backtest.err").read_text() and "desk-ray-" not in (
            work / "backtest.err").read_text()


def test_a_failing_run_comes_back_with_its_error_and_does_not_stop_the_others(cluster: RayCluster,
                                                                              tmp_path: Path) -> None:
    good = job(tmp_path, 1, {"WINDOW": "10"})
    bad = job(tmp_path, 2, {"WINDOW": "10"})
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"ts": "2026-11-16T14:31:00Z", "symbol": "AAPL", "price": "190"}\nnot a tick\n')
    bad["arguments"][bad["arguments"].index(str(SAMPLE))] = str(broken)
    result = driver([good, bad], cluster.address)
    assert result.returncode == 0, result.stderr
    finished = {line["id"]: line for line in lines(result.stdout)}
    assert finished["0001"]["status"] == 0
    assert finished["0002"]["status"] != 0 and finished["0002"]["failure"] is None
    error = (Path(bad["work"]) / "backtest.err").read_text()
    assert f"{broken}:2" in error, error  # the bad line, named by this machine's path


def test_an_unreachable_cluster_is_a_clear_error() -> None:
    address = f"ray://127.0.0.1:{free_port()}"
    result = driver([{"id": "0001", "params": {}, "arguments": ["backtest"], "work": "/nonexistent"}], address,
                    environment={"DESK_RAY_CONNECT_TIMEOUT": "2"})
    assert result.returncode == 2
    assert f"desk-ray: the Ray cluster {address} is unreachable" in result.stderr, result.stderr


def test_a_python_without_ray_is_a_clear_error(tmp_path: Path) -> None:
    # A fresh venv: this Python without any site-packages; desk_client and its dependencies, without ray.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True,
                   timeout=TIMEOUT)
    bare = str(tmp_path / "bare" / "bin" / "python")
    result = subprocess.run([bare, "-m", "desk_client.ray_backtests", "--address", "ray://127.0.0.1:1"],
                            input='{"jobs": []}', capture_output=True, text=True, timeout=TIMEOUT,
                            env={"PATH": "/usr/bin:/bin",
                                 "PYTHONPATH": f"{REPO / 'clients' / 'python'}:{REPO / '.venv' / 'strategy-site'}"})
    assert result.returncode == 2
    assert f"desk-ray: ray is not installed in {bare}" in result.stderr, result.stderr


def test_a_node_without_the_desk_binary_is_named_in_the_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-desk-here"
    bare = RayCluster(BASE_PORT + 100, workers=0, desk_bin={"*": {"DESK_RAY_DESK_BIN": str(missing)}})
    try:
        result = driver([job(tmp_path, 1, {"WINDOW": "10"})], bare.address)
    finally:
        bare.stop()
    assert result.returncode == 0, result.stderr
    [line] = lines(result.stdout)
    assert line["status"] is None
    assert line["failure"].startswith(f"no desk binary on node {line['node']['id']} ("), line
    assert f"DESK_RAY_DESK_BIN={missing} is not an executable file" in line["failure"]


def desk_processes_on_nodes() -> List[int]:
    """The `desk backtest` processes a Ray task started (their paths are in a desk-ray- folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if entry.name.isdigit() and b"backtest" in arguments and any(b"/desk-ray-" in a for a in arguments):
            found.append(int(entry.name))
    return found


def sleeper(tmp: Path) -> Path:
    """A strategy folder whose run over the sample lasts about an hour (3510 ticks, 1 s each)."""
    slow = tmp / "slow" / "sleeper"
    slow.mkdir(parents=True)
    (slow / "strategy.py").write_text("import sys, time\nfor line in sys.stdin:\n    time.sleep(1)\n")
    (slow / "config.json").write_text(json.dumps({"user_id": "carol", "env": {}}))
    return slow


def wait_until_the_nodes_run_no_desk() -> None:
    deadline = time.monotonic() + TIMEOUT
    while desk_processes_on_nodes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert desk_processes_on_nodes() == [], "the cancelled tasks left their desk backtest running"


def test_sigterm_cancels_the_tasks_and_ends_their_runs(cluster: RayCluster, tmp_path: Path) -> None:
    slow = sleeper(tmp_path)
    jobs = []
    for number in (1, 2):
        work = tmp_path / "ray" / f"{number:04d}"
        jobs.append({"id": f"{number:04d}", "params": {}, "work": str(work),
                     "arguments": ["backtest", "sleeper", "--strategies", str(slow.parent), "--data", str(SAMPLE),
                                   "--work", str(work), "--json", "--quiet"]})
    process = subprocess.Popen([sys.executable, "-m", "desk_client.ray_backtests", "--address", cluster.address],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        process.stdin.write(json.dumps({"jobs": jobs}))
        process.stdin.close()
        deadline = time.monotonic() + TIMEOUT
        while len(desk_processes_on_nodes()) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        if len(desk_processes_on_nodes()) < 2:
            process.kill()
            process.wait()
            stdout, stderr = process.stdout.read(), process.stderr.read()
            pytest.fail(f"the two runs never started on the nodes (driver: {process.returncode}):\n{stdout}{stderr}",
                        pytrace=False)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=TIMEOUT)
        stdout, stderr = process.stdout.read(), process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, stderr
    assert stdout == ""  # no run finished
    wait_until_the_nodes_run_no_desk()  # uncancelled, each would run for an hour


def test_when_desk_dies_the_driver_cancels_the_runs(cluster: RayCluster, tmp_path: Path) -> None:
    slow = sleeper(tmp_path)
    spec = tmp_path / "grid.json"
    spec.write_text(json.dumps({"grid": {"X": ["1", "2"]}}))
    desk = subprocess.Popen([str(desk_binary()), "backtest", "sleeper", "--strategies", str(slow.parent), "--data",
                             str(SAMPLE), "--sweep", str(spec), "--work", str(tmp_path / "sweep"), "--quiet",
                             "--cluster", cluster.address], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "DESK_RAY_PYTHON": sys.executable})
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(desk_processes_on_nodes()) < 2 and time.monotonic() < deadline and desk.poll() is None:
            time.sleep(0.2)
        assert len(desk_processes_on_nodes()) == 2, f"the two runs never started on the nodes ({desk.poll()})"
    finally:
        desk.kill()  # no chance to cancel anything itself
        desk.wait()
    wait_until_the_nodes_run_no_desk()
    deadline = time.monotonic() + TIMEOUT
    while drivers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert drivers() == [], "the driver outlived desk"


def drivers() -> List[int]:
    """This machine's Ray drivers of desk backtest."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"desk_client.ray_backtests" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_sweep_on_the_cluster_equals_the_same_sweep_here(cluster: RayCluster, tmp_path: Path) -> None:
    spec = tmp_path / "grid.json"
    spec.write_text(json.dumps({"grid": {"WINDOW": ["10", "20"], "THRESHOLD_PERCENT": ["0.1", "0.2"]}}))
    command = [str(desk_binary()), "backtest", "example_bob", "--strategies", str(REPO / "strategies"), "--data",
               str(SAMPLE), "--sweep", str(spec), "--json", "--quiet"]
    here = subprocess.run([*command, "--work", str(tmp_path / "here"), "--jobs", "2"], capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=tmp_path)
    assert here.returncode == 0, here.stderr
    there = subprocess.run([*command, "--work", str(tmp_path / "there"), "--cluster", cluster.address],
                           capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path,
                           env={**os.environ, "DESK_RAY_PYTHON": sys.executable})
    assert there.returncode == 0, there.stderr

    def sweep_file(work: Path) -> dict:
        return without_timing(json.loads((work / "sweep.json").read_text().replace(str(work), "WORK")))

    local, remote = sweep_file(tmp_path / "here"), sweep_file(tmp_path / "there")
    assert len(remote["runs"]) == 4 and remote["runs_failed"] == 0
    assert remote == local
    assert without_timing(json.loads(there.stdout)) == without_timing(json.loads(here.stdout))
    for run in remote["runs"]:
        for name in ("report.json", "equity.csv"):
            local_file = tmp_path / "here" / "runs" / run["id"] / name
            remote_file = tmp_path / "there" / "runs" / run["id"] / name
            assert without_timing(json.loads(remote_file.read_text())) == without_timing(
                json.loads(local_file.read_text())) if name.endswith(".json") else (
                remote_file.read_bytes() == local_file.read_bytes())
    nodes = {json.loads(path.read_text())["id"] for path in (tmp_path / "there").glob("runs/*/ray-node.json")}
    assert len(nodes) == 2, "the runs ran on both nodes"


def test_a_link_in_a_strategy_folder_is_shipped_as_a_link_never_as_what_it_points_to(tmp_path: Path) -> None:
    from desk_client.ray_backtests import Shipment

    secret = tmp_path / "desk-machine-secret.txt"
    secret.write_text("the desk machine's own file")
    folder = tmp_path / "strategies"
    (folder / "mallory").mkdir(parents=True)
    (folder / "mallory" / "strategy.py").write_text("print(open('peek').read())\n")
    (folder / "mallory" / "peek").symlink_to(secret)
    (folder / "mallory" / "etc").symlink_to("/etc")
    put: List[bytes] = []
    entries = Shipment(lambda content: put.append(content) or len(put)).folder(str(folder))
    assert put == [b"print(open('peek').read())\n"]
    assert sorted((entry[0], entry[3]) for entry in entries) == [
        ("mallory/etc", "/etc"), ("mallory/peek", str(secret)), ("mallory/strategy.py", None)]
