#!/usr/bin/env python3
"""Desk benchmark scenarios. Run through bench/run (which builds release binaries).

Every figure that has a baseline is measured in the same run, side by side, and
reported with its ratio; absolute numbers are context only (the machine is shared).
Load generator: wrk (C, event loop, Lua for the protobuf body) so the client is
never the bottleneck of a Swift server on 2 cores and its latency histogram is exact.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "clients" / "python"))
from desk_client import order_pb2  # noqa: E402  (generated from proto/order.proto)

PEERS = ROOT / "bench" / "peers"
sys.path.insert(0, str(PEERS))
from reference import reference_fills  # noqa: E402  (the peer scenario's exact fills)
from rule import MeanReversion, read_fills  # noqa: E402
from ticks import backtest_ticks, peer_index, peer_prices, peer_ticks  # noqa: E402  (THE tick generator)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident memory of `pid`; 0 once it has ended (a process of a tree may end while it is summed)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list:
    """`pid` and every process below it: a strategy is its sandbox launcher, the
    sandbox's init and the strategy itself."""
    tree = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            children = []
        for child in children:
            tree += process_tree(int(child))
    return tree


def tree_rss_kib(pid: int) -> int:
    return sum(rss_kib(member) for member in process_tree(pid))


def order_body(symbol="AAPL", qty="1", side="buy") -> bytes:
    request = order_pb2.OrderRequest(symbol=symbol, qty=qty, side=side, order_type="market", time_in_force="day")
    return request.SerializeToString()


class Desk:
    """A release `desk serve` in a temporary folder."""

    def __init__(self, bin_dir: Path, folder: Path, extra: list[str] | None = None, unix_socket: bool = False,
                 feed: bool = False):
        self.bin = bin_dir / "desk"
        self.folder = folder
        self.db = folder / "desk.db"
        self.port = free_port()
        self.socket = folder / "desk.sock" if unix_socket else None
        self.extra = extra or []
        self.feed = feed
        self.process: subprocess.Popen | None = None
        self.ready_seconds = 0.0

    def start(self) -> "Desk":
        args = [str(self.bin), "serve", "--port", str(self.port), "--db", str(self.db),
                "--config", str(ROOT / "bench" / "desk-bench.json"), *([] if self.feed else ["--feed", "none"]),
                *self.extra]
        if self.socket:
            args += ["--unix-socket", str(self.socket)]
        env = {"PATH": "/usr/bin:/bin", "LOG_LEVEL": "error"}
        started = time.monotonic()
        self.log = open(self.folder / "serve.log", "ab")
        self.process = subprocess.Popen(args, stdout=self.log, stderr=self.log, env=env)
        deadline = started + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as reply:
                    if reply.status == 200:
                        self.ready_seconds = time.monotonic() - started
                        return self
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"desk did not start: {(self.folder / 'serve.log').read_text()[-2000:]}")

    def admin_token(self) -> str:
        return (self.folder / "desk-admin.token").read_text().strip()

    def issue_token(self, member: str) -> str:
        out = subprocess.run([str(self.bin), "tokens", "issue", member, "--db", str(self.db)],
                             check=True, capture_output=True, text=True).stdout
        return out.splitlines()[0]

    def push_price(self, symbol: str, price: str) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/admin/prices", method="POST",
            data=json.dumps({"symbol": symbol, "price": price}).encode(),
            headers={"Authorization": f"Bearer {self.admin_token()}", "Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=5).read()

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-protobuf"
{auth}
done = function(summary, latency, requests)
  io.write(string.format('WRKJSON {{"requests": %d, "seconds": %f, "errors": %d, "non2xx": %d, "p50": %f, "p99": %f, "p999": %f}}\\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end
"""


def wrk(url: str, connections: int, seconds: float, token: str | None, folder: Path) -> dict:
    body = "".join(f"\\{b}" for b in order_body())
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script = folder / f"order-{connections}.lua"
    script.write_text(WRK_SCRIPT.format(body=body, auth=auth))
    threads = max(1, min(2, connections))
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("WRKJSON "))
    figures = json.loads(line[len("WRKJSON "):])
    figures["rps"] = round(figures["requests"] / figures["seconds"], 1)
    return figures


def desk_wrk(desk: "Desk", connections: int, seconds: float, token: str, folder: Path) -> dict:
    """wrk against a desk, with the server's CPU seconds per order."""
    before = cpu_seconds(desk.process.pid)
    figures = wrk(f"http://127.0.0.1:{desk.port}/order", connections, seconds, token, folder)
    used = cpu_seconds(desk.process.pid) - before
    figures["cpu_seconds"] = round(used, 2)
    figures["cpu_us_per_order"] = round(used / max(figures["requests"], 1) * 1e6, 1)
    return figures


def ledger_baseline(bin_dir: Path, connections: int, seconds: float, folder: Path, group_commit: bool = True) -> dict:
    """The storage limit: the same rows written by the same writer, no HTTP (bin/ledger-baseline)."""
    db = folder / f"ledger-{connections}-{'gc' if group_commit else 'single'}.db"
    args = [str(bin_dir / "ledger-baseline"), "--db", str(db), "--concurrency", str(connections),
            "--seconds", str(seconds)] + ([] if group_commit else ["--no-group-commit"])
    figures = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    figures["rps"] = round(figures["rps"], 1)
    figures["cpu_us_per_order"] = round(figures["cpu_seconds"] / max(figures["orders"], 1) * 1e6, 1)
    return figures


def scenario_order_path(bin_dir: Path, quick: bool) -> dict:
    seconds = 2 if quick else 10
    result: dict = {"load_generator": "wrk (protobuf body via Lua)", "seconds_per_run": seconds, "connections": {},
                    "storage_baseline": "bin/ledger-baseline: the rows of a paper market order through the "
                                        "ledger's writer, N concurrent writers, synchronous=FULL, no HTTP"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        baseline_port = free_port()
        baseline = subprocess.Popen([str(bin_dir / "desk-baseline"), "--port", str(baseline_port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        desks = {}
        try:
            for name, extra in (("desk", []), ("desk_no_group_commit", ["--no-group-commit"])):
                folder = tmp / name
                folder.mkdir()
                desk = Desk(bin_dir, folder, extra).start()
                desk.push_price("AAPL", "100.00")
                desks[name] = (desk, desk.issue_token("bench"))
            time.sleep(0.5)
            for connections in (1, 16, 64):
                row = {}
                row["baseline"] = wrk(f"http://127.0.0.1:{baseline_port}/order", connections, seconds, None, tmp)
                row["storage"] = ledger_baseline(bin_dir, connections, seconds, tmp)
                for name, (desk, token) in desks.items():
                    row[name] = desk_wrk(desk, connections, seconds, token, tmp)
                    # A desk that answers nothing has crashed or stalled: that is a failure, not a figure.
                    if row[name]["requests"] == 0 or desk.process.poll() is not None:
                        log = desk.folder / "serve.log"
                        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                        raise RuntimeError(f"{name} answered no order at {connections} connections (exit "
                                           f"{desk.process.poll()}); its log ends:\n{tail}")
                row["ratio"] = round(row["desk"]["rps"] / row["baseline"]["rps"], 3)
                row["ratio_to_storage"] = round(row["desk"]["rps"] / max(row["storage"]["rps"], 0.001), 3)
                row["group_commit_speedup"] = round(row["desk"]["rps"] / max(row["desk_no_group_commit"]["rps"], 0.001), 2)
                result["connections"][str(connections)] = row
        finally:
            baseline.terminate()
            baseline.wait()
            for desk, _ in desks.values():
                desk.stop()
    row16, row64 = result["connections"]["16"], result["connections"]["64"]
    result["targets"] = {
        "ratio_16_ge_0.5": row16["ratio"] >= 0.5,
        "ratio_64_ge_0.5": row64["ratio"] >= 0.5,
        "p99_16_under_5ms": row16["desk"]["p99"] < 5.0,
        "p50_1_le_0.3ms": result["connections"]["1"]["desk"]["p50"] <= 0.3,
    }
    return result


def post_order(session_socket_pool, port: int, token: str, body: bytes) -> str | None:
    """One keep-alive POST /order; returns the order id if acknowledged."""
    import http.client
    connection = session_socket_pool.get(threading.get_ident())
    if connection is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        session_socket_pool[threading.get_ident()] = connection
    try:
        connection.request("POST", "/order", body=body,
                           headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {token}"})
        reply = connection.getresponse()
        data = reply.read()
        if reply.status == 201:
            response = order_pb2.OrderResponse()
            response.ParseFromString(data)
            return response.order_id
    except OSError:
        session_socket_pool.pop(threading.get_ident(), None)
    except Exception:
        session_socket_pool.pop(threading.get_ident(), None)
    return None


def scenario_crash(bin_dir: Path, quick: bool) -> dict:
    rounds = 3 if quick else 20
    lost = duplicated = acknowledged_total = 0
    restart_seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        desk = Desk(bin_dir, folder).start()
        token = desk.issue_token("crash")
        body = order_body()
        acknowledged: list[str] = []
        for _ in range(rounds):
            desk.push_price("AAPL", "100.00")
            round_acks: list[str] = []
            lock = threading.Lock()
            stop = threading.Event()

            def sender():
                pool: dict = {}
                while not stop.is_set():
                    order_id = post_order(pool, desk.port, token, body)
                    if order_id:
                        with lock:
                            round_acks.append(order_id)
                    elif desk.process.poll() is not None:
                        return

            threads = [threading.Thread(target=sender) for _ in range(16)]
            for thread in threads:
                thread.start()
            while len(round_acks) < 200:
                time.sleep(0.001)
            desk.kill9()  # in the middle of the burst
            stop.set()
            for thread in threads:
                thread.join()
            acknowledged += round_acks
            started = time.monotonic()
            desk.start()
            restart_seconds.append(time.monotonic() - started)
        desk.stop()
        db = sqlite3.connect(f"file:{desk.db}?mode=ro", uri=True)
        stored = [row[0] for row in db.execute("SELECT order_id FROM orders")]
        fills = db.execute("SELECT COUNT(*), COUNT(DISTINCT order_id || '/' || fill_id) FROM fills").fetchone()
        db.close()
        acknowledged_total = len(acknowledged)
        lost = len(set(acknowledged) - set(stored))
        duplicated = (len(stored) - len(set(stored))) + (fills[0] - fills[1]) + (len(acknowledged) - len(set(acknowledged)))
    return {
        "rounds": rounds, "acknowledged": acknowledged_total, "lost": lost, "duplicated": duplicated,
        "restart_seconds_p50": round(sorted(restart_seconds)[len(restart_seconds) // 2], 3),
        "restart_seconds_max": round(max(restart_seconds), 3),
        "targets": {"zero_lost": lost == 0, "zero_duplicated": duplicated == 0},
    }


def scenario_memory(bin_dir: Path, quick: bool) -> dict:
    """Server RSS idle, with 50 running strategies, and while orders pile up;
    per-strategy overhead; database bytes per 1,000 orders; time to ready."""
    chunks, chunk_seconds = (1, 2) if quick else (12, 25)
    target_orders = 0 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        strategies = make_counters(folder, 50)
        desk = Desk(bin_dir, folder, ["--strategies-dir", str(strategies)]).start()
        try:
            ready = desk.ready_seconds
            time.sleep(1)
            idle = rss_kib(desk.process.pid)
            desk_cli(desk, "strategies", "start")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status = json.loads(desk_cli(desk, "strategies", "status", "--json"))["strategies"]
                if sum(s["state"] == "running" for s in status) == 50:
                    break
                time.sleep(0.2)
            time.sleep(1)
            with_strategies = rss_kib(desk.process.pid)
            strategy_rss = [tree_rss_kib(s["pid"]) for s in status if s.get("pid")]
            desk_cli(desk, "strategies", "stop")
            desk.push_price("AAPL", "100.00")
            token = desk.issue_token("memory")
            samples = []
            for _ in range(chunks):
                wrk(f"http://127.0.0.1:{desk.port}/order", 16, chunk_seconds, token, folder)
                db = sqlite3.connect(f"file:{desk.db}?mode=ro", uri=True)
                orders = db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
                db.close()
                samples.append({"orders": orders, "rss_kib": rss_kib(desk.process.pid)})
                if orders >= target_orders:
                    break
        finally:
            desk.stop()
        db_bytes = sum(p.stat().st_size for p in folder.glob("desk.db*"))
    orders = samples[-1]["orders"]
    return {
        "startup_to_ready_seconds": round(ready, 3), "rss_idle_kib": idle,
        "rss_with_50_strategies_kib": with_strategies,
        "server_kib_per_strategy": round((with_strategies - idle) / 50, 1),
        "strategy_process_rss_kib_mean": round(sum(strategy_rss) / max(len(strategy_rss), 1)),
        "orders": orders, "rss_after_orders_kib": samples[-1]["rss_kib"], "rss_samples": samples,
        "db_bytes_per_1000_orders": round(db_bytes / max(orders, 1) * 1000),
        "load": f"wrk, 16 connections, {len(samples)} x {chunk_seconds} s (until {target_orders:,} orders)",
    }


PYTHON = Path(sys.executable)
CLIENTS = ROOT / "bench" / "clients"


def client_env(url: str, token: str) -> dict:
    return {"PATH": "/usr/bin:/bin", "DESK_SERVER_URL": url, "DESK_TOKEN": token,
            "PYTHONPATH": str(ROOT / "clients" / "python")}


def run_client(script: str, count: int, url: str, token: str) -> dict:
    out = subprocess.run([str(PYTHON), str(CLIENTS / script), str(count)], env=client_env(url, token),
                         capture_output=True, text=True, check=True).stdout.split()
    return {"orders_per_second": float(out[0]), "acknowledged": int(out[1]), "orders": count}


def scenario_python_client(bin_dir: Path, quick: bool) -> dict:
    """Sequential place_order from one Python process: our keep-alive desk_client
    (TCP and unix socket) against the seed's requests.post-per-call client."""
    count = 200 if quick else 2_000
    with tempfile.TemporaryDirectory() as tmp:
        desk = Desk(bin_dir, Path(tmp), unix_socket=True).start()
        try:
            desk.push_price("AAPL", "100.00")
            token = desk.issue_token("python")
            tcp = f"http://127.0.0.1:{desk.port}"
            seed = run_client("seed_style_orders.py", count, tcp, token)
            ours = run_client("desk_client_orders.py", count, tcp, token)
            unix = run_client("desk_client_orders.py", count, f"unix://{desk.socket}", token)
        finally:
            desk.stop()
    ratio = round(ours["orders_per_second"] / seed["orders_per_second"], 2)
    return {
        "orders": count, "seed_style_tcp": seed, "desk_client_tcp": ours, "desk_client_unix": unix,
        "ratio": ratio, "ratio_unix": round(unix["orders_per_second"] / seed["orders_per_second"], 2),
        "targets": {"ratio_ge_3": ratio >= 3},
    }


def make_counters(folder: Path, count: int) -> Path:
    strategies = folder / "strategies"
    for index in range(count):
        target = strategies / f"counter_{index:02d}"
        target.mkdir(parents=True)
        (target / "strategy.py").write_text((CLIENTS / "tick_counter.py").read_text())
        (target / "config.json").write_text(json.dumps({"user_id": "bench", "restart": {"policy": "never"}}))
    os.chmod(folder, 0o755)
    return strategies


def read_stats(log: Path) -> dict | None:
    for line in reversed(log.read_text(errors="replace").splitlines()) if log.exists() else []:
        if line.startswith("STATS "):
            count, first, last, p50, p99 = line.split()[1:6]
            seconds = float(last) - float(first)
            return {"ticks": int(count), "rate": int(count) / seconds if seconds > 0 else 0.0,
                    "p50_ms": float(p50), "p99_ms": float(p99)}
    return None


def desk_cli(desk: "Desk", *args: str) -> str:
    return subprocess.run([str(desk.bin), *args, "--server", f"http://127.0.0.1:{desk.port}", "--db", str(desk.db)],
                          capture_output=True, text=True, check=True).stdout


def fanout_run(bin_dir: Path, strategies: int, seconds: float, stop_one: bool) -> dict:
    """The desk's synthetic feed at full speed into `strategies` counters."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_counters(folder, strategies)
        desk = Desk(bin_dir, folder, ["--feed", "synthetic", "--feed-rate", "0", "--symbols", "AAPL=190",
                                      "--strategies-dir", str(folder / "strategies")], feed=True).start()
        try:
            desk_cli(desk, "strategies", "start")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status = json.loads(desk_cli(desk, "strategies", "status", "--json"))["strategies"]
                if all(s["state"] == "running" and s["ticks_delivered"] > 0 for s in status):
                    break
                time.sleep(0.2)
            stopped = None
            if stop_one:
                stopped = status[0]
                stopped_tree = process_tree(stopped["pid"])
                for member in stopped_tree:
                    os.kill(member, signal.SIGSTOP)
            rss_samples = []
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                rss_samples.append(rss_kib(desk.process.pid))
                time.sleep(min(0.5, seconds / 4))
            strategy_rss = [tree_rss_kib(s["pid"]) for s in status if s.get("pid")]
            # Read while the strategies still run: a stopped strategy's counters leave the hub.
            metrics = urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{desk.port}/metrics", headers={"Authorization": f"Bearer {desk.admin_token()}"}),
                timeout=5).read().decode()
            if stopped:
                for member in stopped_tree:
                    os.kill(member, signal.SIGCONT)
            desk_cli(desk, "strategies", "stop")
        finally:
            desk.stop()
        stats = {s["name"]: read_stats(folder / "logs" / f"{s['name']}.log") for s in status}
    others = [v for k, v in stats.items() if v and (not stopped or k != stopped["name"])]
    dropped = sum(float(line.split()[-1]) for line in metrics.splitlines()
                  if line.startswith("desk_feed_ticks_total") and 'fate="dropped"' in line)
    rates = [v["rate"] for v in others]
    return {
        "strategies": strategies, "per_strategy_ticks_per_second": round(sum(rates) / max(len(rates), 1)),
        "total_ticks_per_second": round(sum(rates)),
        "p99_latency_ms": round(max((v["p99_ms"] for v in others), default=-1), 2),
        "p50_latency_ms": round(sorted(v["p50_ms"] for v in others)[len(others) // 2], 2) if others else -1,
        "dropped_ticks": int(dropped), "server_rss_kib_max": max(rss_samples),
        "server_rss_kib_first": rss_samples[0], "strategy_rss_kib_mean": round(sum(strategy_rss) / max(len(strategy_rss), 1)),
    }


def pipe_baseline(strategies: int, seconds: float) -> dict:
    """The same JSON lines written straight into as many counters through pipes."""
    line = (json.dumps({"symbol": "AAPL", "price": 190.12, "ts": "2026-11-25T14:30:00.123Z", "type": "trade"},
                       separators=(",", ":")) + "\n").encode()
    chunk = line * (65536 // len(line))
    readers = [subprocess.Popen([str(PYTHON), str(CLIENTS / "tick_counter.py")], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=False) for _ in range(strategies)]
    stop = time.monotonic() + seconds

    def writer(process):
        try:
            while time.monotonic() < stop:
                process.stdin.write(chunk)
            process.stdin.close()
        except BrokenPipeError:
            pass

    threads = [threading.Thread(target=writer, args=(p,)) for p in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rates = []
    for process in readers:
        out = process.stdout.read().decode().split()
        process.wait()
        count, first, last = int(out[1]), float(out[2]), float(out[3])
        rates.append(count / (last - first) if last > first else 0.0)
    return {"strategies": strategies, "per_strategy_ticks_per_second": round(sum(rates) / len(rates)),
            "total_ticks_per_second": round(sum(rates))}


def scenario_fanout(bin_dir: Path, quick: bool) -> dict:
    seconds = 1.5 if quick else 5.0
    result: dict = {"seconds_per_run": seconds, "reader": "bench/clients/tick_counter.py (Python, counts lines)",
                    "runs": {}}
    for count in (1, 20, 50):
        desk = fanout_run(bin_dir, count, seconds, stop_one=False)
        pipes = pipe_baseline(count, seconds)
        result["runs"][str(count)] = {"desk": desk, "pipes": pipes,
                                      "ratio": round(desk["total_ticks_per_second"] /
                                                     max(pipes["total_ticks_per_second"], 1), 3)}
    normal = result["runs"]["20"]["desk"]
    stopped = fanout_run(bin_dir, 20, seconds, stop_one=True)
    drop = 1 - stopped["per_strategy_ticks_per_second"] / max(normal["per_strategy_ticks_per_second"], 1)
    result["one_stopped_of_20"] = {**stopped, "others_rate_drop": round(drop, 3)}
    result["targets"] = {
        "others_drop_under_10_percent": drop < 0.10,
        "server_memory_bounded": stopped["server_rss_kib_max"] < 2 * max(normal["server_rss_kib_max"], 1) + 65536,
    }
    return result


def scenario_backtest(bin_dir: Path, quick: bool) -> dict:
    """`desk backtest` over 100,000 ticks in lockstep: a strategy that never orders, then the example
    strategies; baseline: the lockstep floor (bin/lockstep-floor: the same reader fed one line at a time,
    waiting for the same readiness reports, no desk), and the packet floor (the same reader's stdin a pipe of
    packets written ahead, as --lockstep stream feeds it): ticks/s and CPU µs per tick (getrusage) of each."""
    ticks = 5_000 if quick else 100_000
    with tempfile.TemporaryDirectory(prefix="desk-bench-backtest-") as folder:
        folder = Path(folder)
        os.chmod(folder, 0o755)
        data = folder / "ticks.jsonl"
        backtest_ticks(data, ticks)
        strategies = folder / "strategies"
        quiet = strategies / "never_orders"
        quiet.mkdir(parents=True)
        (quiet / "strategy.py").write_text((ROOT / "bench" / "clients" / "never_orders.py").read_text())
        (quiet / "config.json").write_text(json.dumps({"user_id": "quiet"}))
        for example in ("example_alice", "example_bob"):
            subprocess.run(["cp", "-r", str(ROOT / "strategies" / example), str(strategies / example)], check=True)

        # The hand-off alone, both ways: strict (a line per read reported) and packet (written ahead).
        floors = {}
        for mode in ("strict", "packet"):
            floor = subprocess.run([str(bin_dir / "lockstep-floor"), "--mode", mode, str(quiet / "strategy.py"),
                                    str(data), str(folder / f"floor-{mode}")], capture_output=True, text=True,
                                   timeout=600)
            if floor.returncode != 0:
                raise RuntimeError(f"lockstep-floor --mode {mode} failed: {floor.stderr}")
            figures = json.loads(floor.stdout)
            floors[mode] = {"ticks_per_second": round(figures["ticks_per_second"]),
                            "cpu_us_per_tick": round(figures["cpu_us_per_tick"], 1)}
        floor_rate = floors["strict"]["ticks_per_second"]

        def run(names: list, work: str) -> dict:
            whole = timed([str(bin_dir / "desk"), "backtest", *names, "--data", str(data), "--strategies",
                           str(strategies), "--work", str(folder / work), "--json", "--quiet"],
                          timeout=1200, cwd=folder, by_process=True)
            result = whole["result"]
            if result.returncode != 0:
                raise RuntimeError(f"desk backtest {names} failed: {result.stderr}")
            report = json.loads(result.stdout)
            seconds = float(report["timing"]["elapsed_seconds"])
            orders = sum(member["orders"] for member in report["members"].values())
            count = report["ticks"]
            return {"ticks": count, "seconds": round(seconds, 3),
                    "ticks_per_second": round(count / seconds), "orders": orders,
                    "orders_per_second": round(orders / seconds),
                    # Where the time goes: the whole process (start-up and report included), the CPU of the
                    # desk and everything below it, and context switches per tick (exact total; by process
                    # sampled from /proc: desk, desk-sandbox = launcher and sandbox init, python3 = strategy).
                    "whole_process_seconds": round(whole["wall"], 3),
                    "cpu_us_per_tick": round(whole["cpu"] / count * 1e6, 1),
                    "switches_per_tick": round(whole["switches"] / count, 2),
                    "switches_per_tick_by_process": {
                        name: {kind: round(n / count, 2) for kind, n in figures.items()}
                        for name, figures in sorted(whole["switches_by_process"].items())}}

        never = run(["never_orders"], "never")
        examples = run(["example_alice", "example_bob"], "examples")
    ratio = round(never["ticks_per_second"] / floor_rate, 3)
    return {
        "ticks": ticks,
        "floor_ticks_per_second": round(floor_rate),
        "floors": floors,
        "never_orders": never,
        "examples": examples,
        "ratio": ratio,
        "targets": {"ratio_ge_0_5": ratio >= 0.5, "never_orders_ge_20000_ticks_per_second":
                    never["ticks_per_second"] >= 20_000},
    }


def scenario_backtest_long(bin_dir: Path, quick: bool) -> dict:
    """`desk backtest` of the example strategies (they trade) over 1,000,000 ticks: the run, then the
    report after it (the ledger read back, the figures, report.html, equity.csv), which must stay linear
    in ticks and fills: a fraction of the run, not the minutes it once took (O(fills x ticks))."""
    ticks = 20_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="desk-bench-backtest-long-") as folder:
        folder = Path(folder)
        os.chmod(folder, 0o755)
        data = folder / "ticks.jsonl"
        backtest_ticks(data, ticks)
        strategies = folder / "strategies"
        strategies.mkdir()
        for example in ("example_alice", "example_bob"):
            subprocess.run(["cp", "-r", str(ROOT / "strategies" / example), str(strategies / example)], check=True)
        started = time.monotonic()
        result = subprocess.run([str(bin_dir / "desk"), "backtest", "--data", str(data), "--strategies",
                                 str(strategies), "--work", str(folder / "work"), "--json", "--quiet"],
                                capture_output=True, text=True, timeout=3600, cwd=folder)
        wall = time.monotonic() - started
        if result.returncode != 0:
            raise RuntimeError(f"desk backtest failed: {result.stderr}")
        report = json.loads(result.stdout)
    run_seconds = float(report["timing"]["elapsed_seconds"])
    report_seconds = float(report["timing"]["report_seconds"])
    members = report["members"].values()
    return {
        "ticks": report["ticks"],
        "orders": sum(member["orders"] for member in members),
        "fills": sum(member["fills"] for member in members),
        "run_seconds": round(run_seconds, 3),
        "ticks_per_second": round(report["ticks"] / run_seconds),
        "report_seconds": round(report_seconds, 3),
        "wall_seconds_total": round(wall, 3),
        "targets": {"report_le_10_percent_of_run": report_seconds <= max(1.0, 0.1 * run_seconds)},
    }


PEER_ENGINES = {"nautilus_trader": "nautilus_rule.py", "backtrader": "backtrader_rule.py",
                "backtesting": "backtesting_rule.py"}
PEER_VARIANTS = ("never", "orders")
# The desk's runs: engine -> (--lockstep, strategy folder prefix). `desk_events` is the same rule with its
# position from fill lines ("events": ["fills"]), the desk's path for strategies that ask for their events.
DESK_RUNS = {"desk": ("stream", "peer"), "desk_strict": ("strict", "peer"), "desk_events": ("stream", "peer_events")}


def peers_python() -> str:
    """The peer engines' python: bench/peers/make-venv.sh makes bench/.peers-venv (pyenv 3.12) once."""
    made = subprocess.run([str(PEERS / "make-venv.sh")], capture_output=True, text=True)
    if made.returncode != 0:
        raise RuntimeError(f"bench/peers/make-venv.sh failed: {made.stderr.strip()}")
    return made.stdout.strip().splitlines()[-1]


def desk_fills(db: Path) -> list:
    """(tick index, side, qty, price in cents) of every fill in a peer-scenario backtest's ledger, in order."""
    from decimal import Decimal
    ledger = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = ledger.execute("SELECT filled_at, side, qty, price FROM fills ORDER BY id").fetchall()
    finally:
        ledger.close()
    fills = []
    for filled_at, side, qty, price in rows:
        moment = datetime.datetime.fromisoformat(filled_at)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        ts_ms = round(moment.timestamp() * 1000)
        fills.append((peer_index(ts_ms), side, int(Decimal(qty)), int(Decimal(price) * 100)))
    return fills


def check_fills(engine: str, variant: str, fills: list, expected: list) -> None:
    """Raises unless `fills` are the reference's, fill by fill (tick index, side, qty, price in cents), naming
    the engine and the first fill where they part."""
    if fills == expected:
        return
    where = next((f"fill {index}: {got} where the reference has {want}"
                  for index, (got, want) in enumerate(zip(fills, expected)) if got != want),
                 f"{len(fills)} fills where the reference has {len(expected)}")
    raise RuntimeError(f"{engine} ({variant}) does not fill as the reference: {where}")


class SwitchSampler:
    """Context switches of every thread of a process tree while it runs, by process name (`desk`,
    `desk-sandbox` for a strategy's launcher and its sandbox's init, `python3` for the strategy): each thread's
    last figures from /proc, sampled every `interval` seconds (a thread's last moments before it ends are
    missed, so these are a little under the truth; the children's `getrusage` gives the exact total)."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid = pid
        self.interval = interval
        self.seen: dict = {}  # (pid, tid) -> (process name, voluntary, involuntary)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        for member in process_tree(self.pid) if Path(f"/proc/{self.pid}").exists() else []:
            try:
                name = Path(f"/proc/{member}/comm").read_text().strip()
                tasks = list(Path(f"/proc/{member}/task").iterdir())
            except (FileNotFoundError, ProcessLookupError):
                continue
            for task in tasks:
                try:
                    status = (task / "status").read_text()
                except (FileNotFoundError, ProcessLookupError):
                    continue
                figures = dict(line.split(":", 1) for line in status.splitlines() if "ctxt_switches" in line)
                self.seen[(member, task.name)] = (name, int(figures["voluntary_ctxt_switches"]),
                                                  int(figures["nonvoluntary_ctxt_switches"]))

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                self.sample()
            except (FileNotFoundError, ProcessLookupError):
                continue

    def finish(self) -> dict:
        """{process name: {"voluntary": n, "involuntary": n}} summed over its threads."""
        self.stop.set()
        self.thread.join()
        totals: dict = {}
        for name, voluntary, involuntary in self.seen.values():
            entry = totals.setdefault(name, {"voluntary": 0, "involuntary": 0})
            entry["voluntary"] += voluntary
            entry["involuntary"] += involuntary
        return totals


def timed(args: list, timeout: float, cwd: Path, env: dict | None = None, by_process: bool = False) -> dict:
    """Runs a whole process (spawn to exit): its `result` (a CompletedProcess), `wall` seconds, and for it and
    every descendant it waited for (the children's getrusage) `cpu` seconds and context `switches`; with
    `by_process`, also `switches_by_process` (``SwitchSampler``)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)
    sampler = SwitchSampler(process.pid) if by_process else None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise RuntimeError(f"{' '.join(map(str, args[:3]))} … did not end within {timeout} s")
    finally:
        by_name = sampler.finish() if sampler else None
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = {"result": subprocess.CompletedProcess(args, process.returncode, stdout, stderr), "wall": wall,
               "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
               "switches": (after.ru_nvcsw - before.ru_nvcsw) + (after.ru_nivcsw - before.ru_nivcsw)}
    if by_name is not None:
        figures["switches_by_process"] = by_name
    return figures


def peer_strategies(folder: Path) -> Path:
    """`folder`/strategies with the desk's strategy folders of the peer scenario: `peer_orders` and
    `peer_never` (bench/peers/desk_strategy.py as strategy.py, rule.py beside it, the variant in config.json)
    and `peer_events_orders` / `peer_events_never` (the same with `"events": ["fills"]`, position from fills)."""
    strategies = folder / "strategies"
    for variant in PEER_VARIANTS:
        for prefix, extra in (("peer", {}), ("peer_events", {"events": ["fills"]})):
            strategy = strategies / f"{prefix}_{variant}"
            strategy.mkdir(parents=True)
            (strategy / "strategy.py").write_text((PEERS / "desk_strategy.py").read_text())
            (strategy / "rule.py").write_text((PEERS / "rule.py").read_text())
            env = {"PEER_VARIANT": variant, **({"PEER_POSITION": "fills"} if extra else {})}
            (strategy / "config.json").write_text(json.dumps({"user_id": "peer", "env": env, **extra}))
    return strategies


def desk_peer_run(bin_dir: Path, engine: str, variant: str, data: Path, strategies: Path, work: Path,
                  timeout: float = 3600) -> dict:
    """One whole `desk backtest` of a desk run of the peer scenario (`DESK_RUNS`: its `--lockstep` and
    strategy folder) for `variant`: its fills (from the ledger, which is removed after), wall and CPU seconds,
    context switches, the run's own seconds and the lockstep it reports."""
    mode, prefix = DESK_RUNS[engine]
    run = timed(
        [str(bin_dir / "desk"), "backtest", f"{prefix}_{variant}", "--data", str(data), "--strategies",
         str(strategies), "--work", str(work), "--config", str(ROOT / "bench" / "desk-bench.json"), "--lockstep",
         mode, "--json", "--quiet"], timeout=timeout, cwd=work.parent)
    result = run["result"]
    if result.returncode != 0:
        raise RuntimeError(f"desk backtest {prefix}_{variant} --lockstep {mode} failed: {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    fills = desk_fills(work / "desk.db")
    shutil.rmtree(work)
    return {**run, "fills": fills, "run_seconds": float(report["timing"]["elapsed_seconds"]),
            "lockstep": report["timing"].get("lockstep", mode)}


def peer_engine_run(python: str, engine: str, variant: str, csv: Path, out: Path, timeout: float = 3600) -> dict:
    """One whole run of a peer engine's script (bench/peers/*_rule.py) in the peers' venv: its fills, wall
    and CPU seconds."""
    env = {"PATH": "/usr/bin:/bin", "TQDM_DISABLE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    run = timed([python, str(PEERS / PEER_ENGINES[engine]), str(csv), str(out), variant], timeout=timeout,
                cwd=out.parent, env=env)
    if run["result"].returncode != 0:
        raise RuntimeError(f"{engine} ({variant}) failed: {run['result'].stderr[-2000:]}")
    fills = read_fills(out)
    out.unlink()
    return {**run, "fills": fills}


def scenario_backtest_peers(bin_dir: Path, quick: bool, ticks: int | None = None, rounds: int | None = None) -> dict:
    """`desk backtest` against NautilusTrader, backtrader and backtesting.py: the same ticks (one symbol,
    bench/peers/ticks.py) and the same rule (bench/peers/rule.py: an SMA mean reversion, market orders
    filling at the next tick's price), with orders and never ordering, each engine a whole process (spawn to
    exit: imports, data loading, the run, its report). Rounds of every engine x variant in a seeded shuffle,
    the desk under `--lockstep stream` and `--lockstep strict`; ratios are peer time over desk time within a
    round, and their median over rounds. Every run's fills must equal the exact reference before any figure
    is reported. Not part of `--quick`."""
    ticks = ticks or (2_000 if quick else 200_000)
    rounds = rounds or (1 if quick else 3)
    python = peers_python()
    versions = json.loads(subprocess.run(
        [python, "-c", "import importlib.metadata as m, json, platform; print(json.dumps({**{p: m.version(p) for p in "
                       "('nautilus_trader', 'backtrader', 'backtesting', 'pandas', 'numpy')}, "
                       "'python': platform.python_version()}))"],
        capture_output=True, text=True, check=True).stdout)
    runs = []
    with tempfile.TemporaryDirectory(prefix="desk-bench-peers-") as folder:
        folder = Path(folder)
        os.chmod(folder, 0o755)
        jsonl, csv = peer_ticks(folder, ticks)
        strategies = peer_strategies(folder)
        prices = peer_prices(ticks)
        expected = {variant: reference_fills(prices, MeanReversion.variant(variant)) for variant in PEER_VARIANTS}

        def run(engine: str, variant: str, round_index: int) -> dict:
            name = f"{engine}-{variant}-{round_index}"
            if engine in DESK_RUNS:
                figures = desk_peer_run(bin_dir, engine, variant, jsonl, strategies, folder / name)
                extra = {"run_seconds": figures["run_seconds"], "lockstep": figures["lockstep"]}
            else:
                figures = peer_engine_run(python, engine, variant, csv, folder / f"{name}.csv")
                extra = {}
            check_fills(f"{engine} round {round_index + 1}", variant, figures["fills"], expected[variant])
            return {"round": round_index, "engine": engine, "variant": variant,
                    "wall_seconds": round(figures["wall"], 3), "cpu_seconds": round(figures["cpu"], 3),
                    "switches_per_tick": round(figures["switches"] / ticks, 2), "fills": len(figures["fills"]),
                    **extra}

        plan = [(engine, variant) for variant in PEER_VARIANTS for engine in (*DESK_RUNS, *PEER_ENGINES)]
        for round_index in range(rounds):
            order = list(plan)
            random.Random(round_index).shuffle(order)
            for engine, variant in order:
                print(f"   round {round_index + 1}/{rounds}: {engine} {variant}", flush=True)
                runs.append(run(engine, variant, round_index))

    def wall(engine: str, variant: str, round_index: int) -> float:
        return next(r["wall_seconds"] for r in runs
                    if (r["engine"], r["variant"], r["round"]) == (engine, variant, round_index))

    def per_round(numerator: str, denominator: str, variant: str) -> dict:
        ratios = [round(wall(numerator, variant, i) / wall(denominator, variant, i), 3) for i in range(rounds)]
        return {"per_round": ratios, "median": round(statistics.median(ratios), 3)}

    engines: dict = {}
    for variant in PEER_VARIANTS:
        engines[variant] = {}
        for engine in (*DESK_RUNS, *PEER_ENGINES):
            mine = [r for r in runs if (r["engine"], r["variant"]) == (engine, variant)]
            seconds = statistics.median(r["wall_seconds"] for r in mine)
            figures = {"wall_seconds": round(seconds, 3), "ticks_per_second": round(ticks / seconds),
                       "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in mine), 3),
                       "cpu_us_per_tick": round(statistics.median(r["cpu_seconds"] for r in mine) / ticks * 1e6, 1),
                       "switches_per_tick": statistics.median(r["switches_per_tick"] for r in mine)}
            if engine in DESK_RUNS:
                figures["run_seconds"] = round(statistics.median(r["run_seconds"] for r in mine), 3)
                figures["lockstep"] = sorted({r["lockstep"] for r in mine})
            engines[variant][engine] = figures
    ratios = {variant: {peer: per_round(peer, "desk", variant) for peer in PEER_ENGINES} for variant in PEER_VARIANTS}
    ratios_strict = {variant: {peer: per_round(peer, "desk_strict", variant) for peer in PEER_ENGINES}
                     for variant in PEER_VARIANTS}
    stream_gain = {variant: per_round("desk_strict", "desk", variant) for variant in PEER_VARIANTS}
    debug = "debug" in bin_dir.resolve().parts
    return {
        "ticks": ticks, "rounds": rounds, "fills": {variant: len(expected[variant]) for variant in PEER_VARIANTS},
        "bin": str(bin_dir), "debug_build": debug, "versions": versions,
        "timed": "whole process, spawn to exit; median over rounds; ratio = peer seconds / desk seconds in the "
                 "same round (above 1: the desk is faster)",
        "engines": engines, "ratios": ratios, "ratios_strict": ratios_strict, "stream_gain": stream_gain,
        "runs": runs,
        "targets": {
            "desk_ge_1_0_each_peer_never": all(r["median"] >= 1.0 for r in ratios["never"].values()),
            "desk_ge_1_0_each_peer_orders": all(r["median"] >= 1.0 for r in ratios["orders"].values()),
            "never_orders_ge_100000_ticks_per_second": engines["never"]["desk"]["ticks_per_second"] >= 100_000,
        },
    }


# The sweep scenario's grid: the example strategy bob's two parameters, 3 × 4.
SWEEP_GRID = {"grid": {"WINDOW": ["5", "10", "20"], "THRESHOLD_PERCENT": ["0.05", "0.1", "0.15", "0.2"]}}


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has been busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def scenario_sweep_jobs(bin_dir: Path, quick: bool) -> dict:
    """`desk backtest example_bob --sweep` of a 12-combination grid (WINDOW x THRESHOLD_PERCENT) on the sample
    data, with --jobs 1 and then --jobs 2: whole process wall and CPU seconds (the runs and their strategies
    included), the speed-up, and whether both gave the same results (every run's report but its timing).
    --quick: a 2 x 2 grid."""
    grid = ({"grid": {"WINDOW": ["10", "20"], "THRESHOLD_PERCENT": ["0.1", "0.2"]}} if quick else SWEEP_GRID)
    data = ROOT / "data" / "sample" / "three_days.jsonl"
    runs, results = {}, {}
    with tempfile.TemporaryDirectory(prefix="desk-bench-sweep-") as folder:
        folder = Path(folder)
        os.chmod(folder, 0o755)
        spec = folder / "sweep.json"
        spec.write_text(json.dumps(grid))
        for jobs in (1, 2):
            busy_before = machine_busy_seconds()
            whole = timed([str(bin_dir / "desk"), "backtest", "example_bob", "--strategies", str(ROOT / "strategies"),
                           "--data", str(data), "--sweep", str(spec), "--jobs", str(jobs), "--work",
                           str(folder / f"jobs-{jobs}"), "--json", "--quiet"], timeout=3600, cwd=folder)
            result = whole["result"]
            if result.returncode != 0:
                raise RuntimeError(f"desk backtest --sweep --jobs {jobs} failed: {result.stderr}")
            sweep = json.loads(result.stdout)
            seconds = [run["seconds"] for run in sweep["runs"]]
            # What else the machine ran meanwhile (other users of a shared machine take cores a sweep needs).
            others = machine_busy_seconds() - busy_before - whole["cpu"]
            runs[f"jobs_{jobs}"] = {
                "wall_seconds": round(whole["wall"], 3), "cpu_seconds": round(whole["cpu"], 3),
                "cores_used": round(whole["cpu"] / whole["wall"], 2),
                "others_cores_used": round(max(others, 0) / whole["wall"], 2),
                "run_seconds_mean": round(statistics.mean(seconds), 3),
                "lockstep": sorted({run["timing"]["lockstep"] for run in sweep["runs"]
                                    if run.get("timing", {}).get("lockstep")})}
            results[jobs] = [{key: value for key, value in run.items() if key not in ("timing", "seconds",
                                                                                     "cpu_seconds")}
                             for run in sorted(sweep["runs"], key=lambda run: run["id"])]
    speedup = round(runs["jobs_1"]["wall_seconds"] / runs["jobs_2"]["wall_seconds"], 3)
    same = results[1] == results[2]
    return {"combinations": len(results[1]), "cores": os.cpu_count(), **runs, "speedup": speedup,
            "same_results": same, "targets": {"speedup_ge_1_6": speedup >= 1.6, "same_results": same}}


SCENARIOS = {
    "order_path": scenario_order_path,
    "crash": scenario_crash,
    "python_client": scenario_python_client,
    "fanout": scenario_fanout,
    "memory": scenario_memory,
    "backtest": scenario_backtest,
    "backtest_long": scenario_backtest_long,
    "backtest_peers": scenario_backtest_peers,
    "sweep_jobs": scenario_sweep_jobs,
}
# Left out of `--quick` (CI): it installs the peer engines and times whole processes (`--only` still runs it).
NOT_QUICK = {"backtest_peers"}


def scenario_names(only: list | None, quick: bool) -> list:
    """The scenarios a run does: those named with `--only`, in that order, else every one (less `NOT_QUICK`
    with `--quick`)."""
    return list(only) if only else [name for name in SCENARIOS if not (quick and name in NOT_QUICK)]


def table(results: dict) -> str:
    lines = []
    op = results.get("order_path")
    if op:
        lines.append("order path (orders/s, p50/p99/p99.9 ms; CPU us/order)   HTTP baseline | storage baseline | "
                     "desk | desk no group commit | ratio (to HTTP, to storage)")
        for connections, row in op["connections"].items():
            def fmt(figures):
                cpu = f" {figures['cpu_us_per_order']}us" if "cpu_us_per_order" in figures else ""
                return f"{figures['rps']:>9.0f} {figures['p50']:.2f}/{figures['p99']:.2f}/{figures['p999']:.2f}{cpu}"
            lines.append(f"  c={connections:<3} {fmt(row['baseline'])} | {fmt(row['storage'])} | {fmt(row['desk'])} | "
                         f"{fmt(row['desk_no_group_commit'])} | {row['ratio']}, {row['ratio_to_storage']}")
    crash = results.get("crash")
    if crash:
        lines.append(f"crash: {crash['rounds']} rounds, {crash['acknowledged']} acknowledged, lost {crash['lost']}, "
                     f"duplicated {crash['duplicated']}, restart p50 {crash['restart_seconds_p50']} s")
    python = results.get("python_client")
    if python:
        lines.append(f"python client ({python['orders']} sequential orders/s): seed-style "
                     f"{python['seed_style_tcp']['orders_per_second']} | desk_client tcp "
                     f"{python['desk_client_tcp']['orders_per_second']} | unix {python['desk_client_unix']['orders_per_second']}"
                     f" | ratio {python['ratio']} (unix {python['ratio_unix']})")
    fanout = results.get("fanout")
    if fanout:
        lines.append("fan-out (ticks/s per strategy, total; p99 ms)   desk | pipes | ratio")
        for count, row in fanout["runs"].items():
            desk, pipes = row["desk"], row["pipes"]
            lines.append(f"  n={count:<3} {desk['per_strategy_ticks_per_second']:>8} {desk['total_ticks_per_second']:>9} "
                         f"p99 {desk['p99_latency_ms']} | {pipes['per_strategy_ticks_per_second']:>8} "
                         f"{pipes['total_ticks_per_second']:>9} | {row['ratio']}")
        stopped = fanout["one_stopped_of_20"]
        lines.append(f"  one of 20 stopped: others' rate drop {stopped['others_rate_drop']:.1%}, "
                     f"server RSS max {stopped['server_rss_kib_max']} KiB")
    memory = results.get("memory")
    if memory:
        lines.append(f"memory: idle {memory['rss_idle_kib']} KiB, with 50 strategies {memory['rss_with_50_strategies_kib']}"
                     f" KiB ({memory['server_kib_per_strategy']} KiB each in the server, "
                     f"{memory['strategy_process_rss_kib_mean']} KiB per strategy process), after {memory['orders']} orders "
                     f"{memory['rss_after_orders_kib']} KiB, {memory['db_bytes_per_1000_orders']} DB bytes/1000 orders, "
                     f"ready in {memory['startup_to_ready_seconds']} s")
    backtest = results.get("backtest")
    if backtest:
        never, examples = backtest["never_orders"], backtest["examples"]
        floors = backtest.get("floors")
        if floors:  # results from before the packet floor have none
            lines.append(f"backtest floors ({backtest['ticks']} ticks, the hand-off alone): strict "
                         f"{floors['strict']['ticks_per_second']} ticks/s, {floors['strict']['cpu_us_per_tick']} "
                         f"CPU us/tick | packet {floors['packet']['ticks_per_second']} ticks/s, "
                         f"{floors['packet']['cpu_us_per_tick']} CPU us/tick")
        lines.append(f"backtest ({backtest['ticks']} ticks, lockstep): floor {backtest['floor_ticks_per_second']} ticks/s | "
                     f"never orders {never['ticks_per_second']} ticks/s (ratio {backtest['ratio']}) | examples "
                     f"{examples['ticks_per_second']} ticks/s, {examples['orders_per_second']} orders/s")
        for name, figures in (("never orders", never), ("examples", examples)):
            if "cpu_us_per_tick" in figures:  # results from before these figures have none
                split = ", ".join(f"{process} {kinds['voluntary']}+{kinds['involuntary']}"
                                  for process, kinds in figures["switches_per_tick_by_process"].items())
                lines.append(f"  {name}: whole process {figures['whole_process_seconds']} s, "
                             f"{figures['cpu_us_per_tick']} us CPU/tick, {figures['switches_per_tick']} switches/tick "
                             f"(voluntary+involuntary: {split})")
    long = results.get("backtest_long")
    if long:
        lines.append(f"backtest long ({long['ticks']} ticks, examples): run {long['run_seconds']} s "
                     f"({long['ticks_per_second']} ticks/s, {long['fills']} fills), report {long['report_seconds']} s")
    peers = results.get("backtest_peers")
    if peers:
        note = " (DEBUG desk: not the benchmark's figures)" if peers.get("debug_build") else ""
        lines.append(f"backtest vs peers ({peers['ticks']} ticks, {peers['rounds']} rounds, whole process, median "
                     f"s and ticks/s; ratio = peer time / desk time, same round){note}")
        for variant in PEER_VARIANTS:
            figures = peers["engines"][variant]
            cells = [f"desk {figures['desk']['wall_seconds']} s {figures['desk']['ticks_per_second']}/s",
                     f"strict {figures['desk_strict']['wall_seconds']} s "
                     f"(stream gain {peers['stream_gain'][variant]['median']}x)"]
            if "desk_events" in figures:
                cells.append(f"events {figures['desk_events']['wall_seconds']} s")
            cells += [f"{peer} {figures[peer]['wall_seconds']} s {figures[peer]['ticks_per_second']}/s "
                      f"({peers['ratios'][variant][peer]['median']}x)" for peer in PEER_ENGINES]
            lines.append(f"  {variant:<6} ({peers['fills'][variant]} fills) " + " | ".join(cells))
    sweep = results.get("sweep_jobs")
    if sweep:
        runs = " | ".join(f"--jobs {jobs} {sweep[f'jobs_{jobs}']['wall_seconds']} s "
                          f"({sweep[f'jobs_{jobs}']['cpu_seconds']} s CPU, cores used "
                          f"{sweep[f'jobs_{jobs}'].get('cores_used')}, by others "
                          f"{sweep[f'jobs_{jobs}'].get('others_cores_used')})" for jobs in (1, 2))
        lines.append(f"sweep ({sweep['combinations']} runs of example_bob on the sample, {sweep['cores']} cores, "
                     f"whole process): {runs} | speed-up {sweep['speedup']}x, same results {sweep['same_results']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", type=Path, required=True,
                        help="folder with release desk and desk-baseline (a .build/debug folder works for developing "
                             "the harness: its figures are not the benchmark's and go to bench/results/debug.json)")
    parser.add_argument("--quick", action="store_true",
                        help="each scenario briefly (CI: checks the harness runs); backtest_peers only with --only")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--peer-ticks", type=int, metavar="N",
                        help="backtest_peers: ticks per run (default 200000, 2000 with --quick)")
    parser.add_argument("--peer-rounds", type=int, metavar="N",
                        help="backtest_peers: rounds (default 3, 1 with --quick)")
    args = parser.parse_args()
    args.bin = args.bin.resolve()  # the scenarios run binaries from their own folders
    for flag, value in (("--peer-ticks", args.peer_ticks), ("--peer-rounds", args.peer_rounds)):
        if value is not None and value < 1:
            parser.error(f"{flag} must be a whole number of at least 1, not {value}")
    if args.peer_ticks is not None and args.peer_ticks > 200_000:
        parser.error(f"--peer-ticks must be at most 200000 (the walk stays inside one session), not {args.peer_ticks}")
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True).stdout.strip(),
        "quick": args.quick,
    }
    started = time.monotonic()
    debug = "debug" in args.bin.parts
    out = ROOT / "bench" / "results" / ("debug.json" if debug else "quick.json" if args.quick else "latest.json")
    if args.only and out.exists():
        # Some scenarios again: keep the others' figures from the last run.
        results = {**json.loads(out.read_text()), **results}
    options = {"backtest_peers": {"ticks": args.peer_ticks, "rounds": args.peer_rounds}}
    for name in scenario_names(args.only, args.quick):
        print(f"== {name}", flush=True)
        scenario_started = time.monotonic()
        results[name] = SCENARIOS[name](args.bin, args.quick, **options.get(name, {}))
        results[name]["wall_seconds"] = round(time.monotonic() - scenario_started, 1)
        # Written after every scenario, so a failing one does not lose the others' figures.
        results["wall_seconds"] = round(time.monotonic() - started, 1)
        out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"results: {out} ({results['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
