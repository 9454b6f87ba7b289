"""Runs research's backtests as Ray tasks: the driver of `desk backtest --cluster ray://HOST:PORT`.

    python -m desk_client.ray_backtests --address ray://HOST:PORT < jobs.json

stdin: ``{"jobs": [{"id": "0001", "params": {...}, "arguments": [...], "work": "/abs/work/0001"}, ...]}``
where ``arguments`` is the job's ``desk backtest`` argv after the program (``BacktestJob.arguments``).

Each job becomes one Ray task (``num_cpus=1``, spread over the nodes). The files its
arguments name — the ``--strategies`` folder, every ``--data`` file, a ``--config`` or
``--corporate-actions`` file — go through Ray's object store, each distinct content once
for the whole call. On the node, the task writes them into a temporary folder, runs the
node's own ``desk`` (``DESK_RAY_DESK_BIN`` in the environment ``ray start`` ran in, else
``desk`` on its PATH; the binary is never shipped) with those paths rewritten, and returns
its stdout, exit status, stderr's tail, CPU seconds and report files. This driver writes
them into the job's work folder as the local executor leaves it (backtest.out,
backtest.err, report.json, report.html, equity.csv; plus ray-node.json: where it ran) and
prints one JSON line per finished job, as they finish::

    {"id", "params", "status", "seconds", "cpuSeconds", "failure", "logTail", "node"}

``failure`` is set only when the task could not run ``desk backtest`` (no binary on the
node, the node died); otherwise the caller reads the work folder as it reads a local run's.
SIGTERM or SIGINT cancels the tasks still running and exits 143; so does the end of
the process that started the driver (its output has nowhere to go). A problem of the driver
itself (Ray not installed, the cluster unreachable, bad input) is one line
``desk-ray: ...`` on stderr and exit status 2.

This module is never imported by ``import desk_client``; only it imports ray.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

# The flags of `desk backtest` whose value is a file to ship, a folder to ship, the work folder.
FILE_FLAGS = ("--data", "--config", "--corporate-actions")
FOLDER_FLAG = "--strategies"
WORK_FLAG = "--work"
# What comes back from the node's work folder (BacktestJob.reportFiles).
REPORT_FILES = ("report.json", "report.html", "equity.csv")
STDERR_TAIL_BYTES = 64 * 1024
LOG_TAIL_LINES = 20
EXIT_DRIVER = 2
EXIT_CANCELLED = 143


class DriverError(Exception):
    """The driver cannot run the jobs (said on stderr, exit 2)."""


class Cancelled(BaseException):
    """SIGTERM or SIGINT: cancel the tasks and exit."""


# ---------------------------------------------------------------------------
# On the node: one job. Self-contained (stdlib only): shipped by value to nodes
# that need not have desk_client installed.


def run_on_node(arguments: List[str], files: Dict[str, Tuple[str, int]], folders: Dict[str, List[tuple]],
                contents: Dict[str, Any]) -> Dict[str, Any]:
    """Runs `desk backtest` with `arguments` on this node. `files`: path → (digest, mode);
    `folders`: path → [(relative path, digest, mode, None) or (relative path, None, 0, link target)]; `contents`: digest → ObjectRef
    (nested in a dict, so Ray hands the refs over unresolved and this task fetches them)."""
    import shutil
    import subprocess
    import tempfile

    import ray

    context = ray.get_runtime_context()
    node = {"id": context.get_node_id(), "host": socket.gethostname()}
    binary = os.environ.get("DESK_RAY_DESK_BIN") or shutil.which("desk")
    if not binary or not os.access(binary, os.X_OK):
        where = f"DESK_RAY_DESK_BIN={binary}" if os.environ.get("DESK_RAY_DESK_BIN") else "desk on PATH"
        return {"node": node, "error": f"no desk binary on node {node['id']} ({node['host']}): {where} is not "
                                       f"an executable file; install desk there and start the node with "
                                       f"DESK_RAY_DESK_BIN=/path/to/desk (or put desk on its PATH)"}
    digests = sorted({digest for digest, _ in files.values()}
                     | {entry[1] for entries in folders.values() for entry in entries if entry[1]})
    blobs = dict(zip(digests, ray.get([contents[digest] for digest in digests])))
    home = tempfile.mkdtemp(prefix="desk-ray-")
    try:
        local: Dict[str, str] = {}

        def write(path: str, digest: str, mode: int) -> None:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as out:
                out.write(blobs[digest])
            os.chmod(path, mode & 0o777)

        for index, (path, (digest, mode)) in enumerate(sorted(files.items())):
            local[path] = os.path.join(home, "files", str(index), os.path.basename(path))
            write(local[path], digest, mode)
        for index, (path, entries) in enumerate(sorted(folders.items())):
            local[path] = os.path.join(home, "folders", str(index))
            os.makedirs(local[path])
            for relative, digest, mode, link in entries:
                if link is None:
                    write(os.path.join(local[path], relative), digest, mode)
                else:  # as the local copy keeps it: the sandbox decides what it may reach
                    os.makedirs(os.path.dirname(os.path.join(local[path], relative)), exist_ok=True)
                    os.symlink(link, os.path.join(local[path], relative))
        work = os.path.join(home, "work")
        rewritten = list(arguments)
        for index in range(len(rewritten) - 1):
            flag, value = rewritten[index], rewritten[index + 1]
            if flag == WORK_FLAG:
                rewritten[index + 1] = work
            elif flag in FILE_FLAGS or flag == FOLDER_FLAG:
                rewritten[index + 1] = local[value]
        os.makedirs(work)
        started = time.monotonic()
        with open(os.path.join(home, "out"), "wb") as out, open(os.path.join(home, "err"), "wb") as err:
            child = subprocess.Popen([binary, *rewritten], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     cwd=home, start_new_session=True)
        try:
            # Not a blocking wait: Ray cancels a running task by raising KeyboardInterrupt in
            # it, which only happens between Python steps.
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.1)
        except BaseException:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait()
            raise
        child.returncode = os.waitstatus_to_exitcode(status)
        code = child.returncode if child.returncode >= 0 else 128 - child.returncode
        with open(os.path.join(home, "out"), "rb") as out:
            stdout = out.read()
        with open(os.path.join(home, "err"), "rb") as err:
            err.seek(max(0, os.path.getsize(err.name) - STDERR_TAIL_BYTES))
            stderr = err.read()
        # Its lines name the node's copies (the work folder, the data): name the originals.
        originals = {copy: original for original, copy in local.items()}
        given = dict(zip(arguments, arguments[1:])).get(WORK_FLAG)
        if given:
            originals[work] = given
        for copy in sorted(originals, key=len, reverse=True):
            stderr = stderr.replace(copy.encode(), originals[copy].encode())
        reports = {}
        for name in REPORT_FILES:
            path = os.path.join(work, name)
            if os.path.isfile(path):
                with open(path, "rb") as report:
                    reports[name] = report.read()
        return {"node": node, "status": code, "seconds": time.monotonic() - started,
                "cpuSeconds": usage.ru_utime + usage.ru_stime, "stdout": stdout, "stderr": stderr,
                "files": reports}
    finally:
        shutil.rmtree(home, ignore_errors=True)


# ---------------------------------------------------------------------------
# On the driver's machine.


class Shipment:
    """Every file the jobs need, in the object store once per distinct content."""

    def __init__(self, put):
        self._put = put
        self.refs: Dict[str, Any] = {}  # digest → ObjectRef
        self._known: Dict[Tuple[str, int, int], Tuple[str, int]] = {}  # (path, size, mtime) → (digest, mode)

    def file(self, path: str) -> Tuple[str, int]:
        try:
            facts = os.stat(path)
        except OSError as error:
            raise DriverError(f"cannot read {path}: {error.strerror}") from None
        key = (path, facts.st_size, facts.st_mtime_ns)
        if key not in self._known:
            with open(path, "rb") as source:
                content = source.read()
            digest = hashlib.sha256(content).hexdigest()
            if digest not in self.refs:
                self.refs[digest] = self._put(content)
            self._known[key] = (digest, facts.st_mode)
        return self._known[key]

    def folder(self, path: str) -> List[tuple]:
        """Its regular files, and its symbolic links as links: never what a link points to (a
        member's link to a file of this machine must not carry that file to the node)."""
        if not os.path.isdir(path):
            raise DriverError(f"the strategies folder {path} is not there")
        entries: List[tuple] = []
        for root, folders, names in os.walk(path):  # does not descend into linked folders
            for name in sorted(folders + names):
                full = os.path.join(root, name)
                relative = os.path.relpath(full, path)
                if os.path.islink(full):
                    entries.append((relative, None, 0, os.readlink(full)))
                elif os.path.isfile(full):
                    digest, mode = self.file(full)
                    entries.append((relative, digest, mode, None))
        return entries


def plan(arguments: List[str], shipment: Shipment) -> Tuple[Dict[str, Tuple[str, int]], Dict[str, list]]:
    """The files and folders `arguments` name, shipped: (files, folders) for run_on_node."""
    files: Dict[str, Tuple[str, int]] = {}
    folders: Dict[str, list] = {}
    for flag, value in zip(arguments, arguments[1:]):
        if flag in FILE_FLAGS:
            files[value] = shipment.file(value)
        elif flag == FOLDER_FLAG:
            folders[value] = shipment.folder(value)
    return files, folders


def tail(text: str, lines: int = LOG_TAIL_LINES) -> List[str]:
    return [line for line in text.splitlines() if line][-lines:]


def deliver(job: Dict[str, Any], answer: Dict[str, Any]) -> Dict[str, Any]:
    """Writes a finished task's files into the job's work folder; its JSON line."""
    work = job["work"]
    os.makedirs(work, exist_ok=True)
    line: Dict[str, Any] = {"id": job["id"], "params": job.get("params", {}), "status": None, "seconds": 0.0,
                            "cpuSeconds": None, "failure": None, "logTail": [], "node": answer.get("node")}
    if answer.get("node"):
        with open(os.path.join(work, "ray-node.json"), "w") as where:
            json.dump(answer["node"], where)
    if "error" in answer:
        line["failure"] = answer["error"]
        return line
    with open(os.path.join(work, "backtest.out"), "wb") as out:
        out.write(answer["stdout"])
    with open(os.path.join(work, "backtest.err"), "wb") as err:
        err.write(answer["stderr"])
    for name, content in answer["files"].items():
        with open(os.path.join(work, name), "wb") as report:
            report.write(content)
    line.update(status=answer["status"], seconds=answer["seconds"], cpuSeconds=answer["cpuSeconds"])
    return line


def read_jobs(text: str) -> List[Dict[str, Any]]:
    try:
        jobs = json.loads(text)["jobs"]
    except (ValueError, KeyError, TypeError):
        raise DriverError('stdin is not {"jobs": [...]} as JSON') from None
    for job in jobs:
        if not (isinstance(job, dict) and isinstance(job.get("id"), str) and isinstance(job.get("work"), str)
                and isinstance(job.get("arguments"), list)):
            raise DriverError("each job needs an id, a work folder and its arguments")
    return jobs


def connect(address: str, timeout: float):
    try:
        import ray
    except ImportError:
        raise DriverError(f"ray is not installed in {sys.executable}: pip install 'desk_client[ray]' there "
                          f"(the same Ray version as the cluster's), or point DESK_RAY_PYTHON at a Python "
                          f"that has it") from None
    if not address.startswith("ray://"):
        raise DriverError(f"--address {address} is not a Ray client address: give ray://HOST:PORT")
    host, _, port = address[len("ray://"):].rpartition(":")
    deadline = time.monotonic() + timeout
    while True:  # until the timeout: a head that is just starting opens its port late
        try:
            socket.create_connection((host, int(port)), timeout=max(0.1, deadline - time.monotonic())).close()
            break
        except (OSError, ValueError) as error:
            if isinstance(error, ValueError) or time.monotonic() >= deadline:
                raise DriverError(f"the Ray cluster {address} is unreachable ({error}): is its head running with "
                                  f"--ray-client-server-port={port}, and is the port open to this machine?") from None
            time.sleep(0.25)
    attempt = 1
    while True:
        try:
            ray.init(address, logging_level="ERROR", log_to_driver=False)
            break
        except Exception as error:  # Ray's own connection errors are of several types
            # The head starts a server per client; one that failed to start (a busy machine, a port
            # still held) is worth another try on the next port while the timeout lasts.
            if attempt >= 3:
                raise DriverError(f"cannot connect to the Ray cluster {address} ({attempt} attempt(s)): "
                                  f"{str(error).strip()}") from None
            attempt += 1
            ray.shutdown()
            time.sleep(1)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return ray


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desk_client.ray_backtests",
                                     description="Run desk backtest jobs (JSON on stdin) as Ray tasks.")
    parser.add_argument("--address", required=True, help="the cluster: ray://HOST:PORT")
    parser.add_argument("--connect-timeout", type=float,
                        default=float(os.environ.get("DESK_RAY_CONNECT_TIMEOUT", "10")),
                        help="seconds to reach the cluster (env DESK_RAY_CONNECT_TIMEOUT; default 10)")
    parser.add_argument("--cancel-grace", type=float,
                        default=float(os.environ.get("DESK_RAY_CANCEL_GRACE", "30")),
                        help="seconds cancelled tasks have to end their runs (env DESK_RAY_CANCEL_GRACE; default 30)")
    options = parser.parse_args(argv)

    def cancel(signum, frame):
        raise Cancelled()

    signal.signal(signal.SIGTERM, cancel)
    signal.signal(signal.SIGINT, cancel)
    running: Dict[Any, Dict[str, Any]] = {}
    ray = None
    try:
        jobs = read_jobs(sys.stdin.read())
        ray = connect(options.address, options.connect_timeout)
        # ray.init installs its own SIGTERM handler (exit 15 at once): cancel instead.
        signal.signal(signal.SIGTERM, cancel)
        task = ray.remote(num_cpus=1, scheduling_strategy="SPREAD")(run_on_node)
        shipment = Shipment(ray.put)
        for job in jobs:
            files, folders = plan(job["arguments"], shipment)
            needed = {digest for digest, _ in files.values()} | {entry[1] for entries in folders.values()
                                                                 for entry in entries if entry[1]}
            contents = {digest: shipment.refs[digest] for digest in needed}
            running[task.remote(job["arguments"], files, folders, contents)] = job
        parent = os.getppid()
        while running:
            # A bounded wait, so a signal is handled while tasks run, and a caller that died (its
            # runs' results have nowhere to go) is noticed.
            done, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
            if os.getppid() != parent:
                raise Cancelled()
            for ref in done:
                job = running.pop(ref)
                try:
                    answer = ray.get(ref)
                except Exception as error:  # the task or its node failed
                    answer = {"error": f"the Ray task failed: {str(error).strip().splitlines()[-1]}",
                              "node": None}
                try:
                    print(json.dumps(deliver(job, answer)), flush=True)
                except BrokenPipeError:  # the caller is gone
                    raise Cancelled() from None
        return 0
    except Cancelled:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if ray is not None and running:
            for ref in running:
                ray.cancel(ref)
            # Each cancelled task ends its desk backtest (SIGTERM to its process group) before it
            # ends; leaving at once could have Ray kill the workers and orphan those processes.
            ray.wait(list(running), num_returns=len(running), timeout=options.cancel_grace)
        return EXIT_CANCELLED
    except DriverError as error:
        print(f"desk-ray: {error}", file=sys.stderr, flush=True)
        return EXIT_DRIVER
    finally:
        if ray is not None and ray.is_initialized():
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            ray.shutdown()


if __name__ == "__main__":
    sys.exit(main())
