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
import signal
import socket
import sqlite3
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def order_body(symbol="AAPL", qty="1", side="buy") -> bytes:
    request = order_pb2.OrderRequest(symbol=symbol, qty=qty, side=side, order_type="market", time_in_force="day")
    return request.SerializeToString()


class Desk:
    """A release `desk serve` in a temporary folder."""

    def __init__(self, bin_dir: Path, folder: Path, extra: list[str] | None = None, unix_socket: bool = False):
        self.bin = bin_dir / "desk"
        self.folder = folder
        self.db = folder / "desk.db"
        self.port = free_port()
        self.socket = folder / "desk.sock" if unix_socket else None
        self.extra = extra or []
        self.process: subprocess.Popen | None = None
        self.ready_seconds = 0.0

    def start(self) -> "Desk":
        args = [str(self.bin), "serve", "--port", str(self.port), "--db", str(self.db), "--feed", "none",
                "--config", str(ROOT / "bench" / "desk-bench.json"), *self.extra]
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


def scenario_order_path(bin_dir: Path, quick: bool) -> dict:
    seconds = 2 if quick else 10
    result: dict = {"load_generator": "wrk (protobuf body via Lua)", "seconds_per_run": seconds, "connections": {}}
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
                for name, (desk, token) in desks.items():
                    row[name] = wrk(f"http://127.0.0.1:{desk.port}/order", connections, seconds, token, tmp)
                row["ratio"] = round(row["desk"]["rps"] / row["baseline"]["rps"], 3)
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
    orders = 5_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        desk = Desk(bin_dir, folder).start()
        ready = desk.ready_seconds
        time.sleep(1)
        idle = rss_kib(desk.process.pid)
        desk.push_price("AAPL", "100.00")
        token = desk.issue_token("memory")
        samples = []
        body = order_body()
        sent = 0
        per_worker = orders // 8

        def worker(count):
            pool: dict = {}
            done = 0
            for _ in range(count):
                if post_order(pool, desk.port, token, body):
                    done += 1
            return done

        started = time.monotonic()
        # Send in 4 chunks to watch whether memory grows with the order count.
        for chunk in range(4):
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                sent += sum(pool.map(worker, [per_worker // 4] * 8))
            samples.append({"orders": sent, "rss_kib": rss_kib(desk.process.pid)})
        elapsed = time.monotonic() - started
        desk.stop()
        db_bytes = sum(p.stat().st_size for p in folder.glob("desk.db*"))
    return {
        "startup_to_ready_seconds": round(ready, 3), "rss_idle_kib": idle, "orders": sent,
        "rss_after_orders_kib": samples[-1]["rss_kib"], "rss_samples": samples,
        "db_bytes_per_1000_orders": round(db_bytes / max(sent, 1) * 1000),
        "orders_per_second_python_load": round(sent / elapsed, 1),
    }


SCENARIOS = {
    "order_path": scenario_order_path,
    "crash": scenario_crash,
    "memory": scenario_memory,
}


def table(results: dict) -> str:
    lines = []
    op = results.get("order_path")
    if op:
        lines.append("order path (orders/s, p50/p99/p99.9 ms)   baseline | desk | desk no group commit | ratio")
        for connections, row in op["connections"].items():
            def fmt(figures):
                return f"{figures['rps']:>9} {figures['p50']:.2f}/{figures['p99']:.2f}/{figures['p999']:.2f}"
            lines.append(f"  c={connections:<3} {fmt(row['baseline'])} | {fmt(row['desk'])} | "
                         f"{fmt(row['desk_no_group_commit'])} | {row['ratio']}")
    crash = results.get("crash")
    if crash:
        lines.append(f"crash: {crash['rounds']} rounds, {crash['acknowledged']} acknowledged, lost {crash['lost']}, "
                     f"duplicated {crash['duplicated']}, restart p50 {crash['restart_seconds_p50']} s")
    memory = results.get("memory")
    if memory:
        lines.append(f"memory: idle {memory['rss_idle_kib']} KiB, after {memory['orders']} orders "
                     f"{memory['rss_after_orders_kib']} KiB, {memory['db_bytes_per_1000_orders']} DB bytes/1000 orders, "
                     f"ready in {memory['startup_to_ready_seconds']} s")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", type=Path, required=True, help="folder with release desk and desk-baseline")
    parser.add_argument("--quick", action="store_true", help="each scenario briefly (CI: checks the harness runs)")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only these scenarios")
    args = parser.parse_args()
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True).stdout.strip(),
        "quick": args.quick,
    }
    started = time.monotonic()
    for name in args.only or SCENARIOS:
        print(f"== {name}", flush=True)
        scenario_started = time.monotonic()
        results[name] = SCENARIOS[name](args.bin, args.quick)
        results[name]["wall_seconds"] = round(time.monotonic() - scenario_started, 1)
    results["wall_seconds"] = round(time.monotonic() - started, 1)
    out = ROOT / "bench" / "results" / ("quick.json" if args.quick else "latest.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"results: {out} ({results['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
