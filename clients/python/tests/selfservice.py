"""What the member self-service and web desk tests share: a real `desk serve`
with a strategies folder, a synthetic feed, the sandbox and a config file with
per-member caps; members' tokens; raw HTTP calls with a member's token; tar
archives written the way a member's tool (or an attacker's) would."""
from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import tarfile
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from conftest import REPO, DeskServer

PYTHON_PATH = f"{REPO / '.venv' / 'strategy-site'}:{REPO / 'clients' / 'python'}"
BROKER_SECRET = "self-service-test-broker-secret"
WAIT_SECONDS = float(os.environ.get("DESK_TEST_WAIT_SECONDS", "60"))

# Buys one share at the first tick, says so, then reads the feed until stopped.
BUYER = """
    from desk_client import market_data, place_order
    print("READY", flush=True)
    for tick in market_data():
        response = place_order(tick["symbol"], 1, "buy")
        print("ORDER", response.status, response.order_id, flush=True)
        break
    for tick in market_data():
        pass
    """

CONFIG = {
    "strategies": {
        "defaults": {"max_strategies": 4, "memory": "512m"},
        "members": {"carol": {"max_strategies": 1}},
        "upload": {"max_files": 200, "max_bytes": "8m"},
    },
    "web": {"pnl_interval_seconds": 1, "live_interval_seconds": 1},
}


def wait_for(condition: Callable[[], object], what, seconds: float = WAIT_SECONDS):
    """Polls `condition` until it returns something true; fails naming `what`
    (a text, or a function giving one, called then) after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {seconds} s waiting for {what() if callable(what) else what}", pytrace=False)


class SelfServiceDesk:
    """A desk with a strategies folder (empty at first), a synthetic AAPL feed, and
    member tokens for alice, bob and carol."""

    def __init__(self, folder: Path, config: Optional[dict] = None):
        self.folder = folder
        self.strategies = folder / "strategies"
        self.logs = folder / "logs"
        self.strategies.mkdir()
        self.config_path = folder / "desk-config.json"
        self.config_path.write_text(json.dumps(config or CONFIG))
        self.server = DeskServer(
            folder, trust_user_header=False,
            extra_args=["--feed", "synthetic", "--feed-rate", "20", "--symbols", "AAPL=190",
                        "--strategies-dir", str(self.strategies), "--python-path", PYTHON_PATH,
                        "--config", str(self.config_path)],
            extra_env={"APCA_API_KEY_ID": "PKSELFSERVICE", "APCA_API_SECRET_KEY": BROKER_SECRET})
        self.url = self.server.url
        self.tokens: Dict[str, str] = {name: self.server.issue_token(name) for name in ("alice", "bob", "carol")}
        self.tokens["admin"] = self.server.admin_token

    def stop(self) -> None:
        self.server.stop()

    # HTTP with a member's token.
    def call(self, member: Optional[str], method: str, path: str, body: Optional[bytes] = None,
             content_type: str = "application/json", headers: Optional[dict] = None) -> Tuple[int, object]:
        sent = dict(headers or {})
        if member is not None:
            sent["Authorization"] = f"Bearer {self.tokens[member]}"
        if body is not None:
            sent["Content-Type"] = content_type
        request = urllib.request.Request(self.url + path, method=method, data=body, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, _json(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())

    def json(self, member: str, method: str, path: str, body: Optional[object] = None) -> Tuple[int, object]:
        return self.call(member, method, path, None if body is None else json.dumps(body).encode())

    def deploy(self, member: str, name: str, archive: bytes, start: bool = False, method: str = "PUT"):
        path = f"/strategies/{name}" if method == "PUT" else f"/strategies?name={name}"
        return self.call(member, method, path + (("&" if "?" in path else "?") + "start=1" if start else ""),
                         archive, content_type="application/x-tar")

    def status(self, member: str = "admin") -> Dict[str, dict]:
        code, reply = self.json(member, "GET", "/strategies")
        assert code == 200, reply
        return {strategy["name"]: strategy for strategy in reply["strategies"]}

    def state(self, name: str) -> Optional[str]:
        return self.status().get(name, {}).get("state")

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def lines(self, name: str, prefix: str) -> List[str]:
        return [line[len(prefix) + 1:] for line in self.log(name).splitlines() if line.startswith(prefix + " ")]

    def listing(self) -> List[str]:
        """Everything in the strategies folder (what a refused deploy must not change)."""
        return sorted(str(path.relative_to(self.strategies)) for path in self.strategies.rglob("*"))

    def cli(self, *args: str, env: Optional[dict] = None, token: Optional[str] = None) -> subprocess.CompletedProcess:
        """`desk <args>` as a member on their laptop would run it: no ledger beside it, only a URL and a token."""
        environment = {"PATH": os.environ["PATH"], "HOME": str(self.folder / "home")}
        environment.update(env or {})
        command = [str(self.server.binary), *args]
        if token is not None:
            command += ["--token", token]
        return subprocess.run(command, capture_output=True, text=True, timeout=WAIT_SECONDS, cwd=self.folder,
                              env=environment)


def serve(prefix: str) -> Iterator[SelfServiceDesk]:
    """A module's desk (for a fixture): started in a new temporary folder, stopped at the end."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        desk = SelfServiceDesk(Path(folder))
        try:
            yield desk
        finally:
            desk.stop()


def _json(data: bytes) -> object:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data.decode(errors="replace")


def strategy_folder(root: Path, name: str, script: str = BUYER, config: Optional[dict] = None,
                    extra: Optional[Dict[str, str]] = None) -> Path:
    """A strategy's folder on a member's laptop."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "strategy.py").write_text(textwrap.dedent(script))
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    for path, text in (extra or {}).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return folder


def tar_of(files: Dict[str, str], hostile: Optional[List[tarfile.TarInfo]] = None,
           data: Optional[Dict[str, bytes]] = None) -> bytes:
    """An uncompressed tar of `files` (path → text), plus hand-made entries."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for path, text in files.items():
            body = textwrap.dedent(text).encode()
            info = tarfile.TarInfo(path)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
        for info in hostile or []:
            archive.addfile(info, io.BytesIO((data or {}).get(info.name, b"")) if info.size else None)
    return buffer.getvalue()


def entry(name: str, kind: bytes, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def raw_upload(url: str, token: str, path: str, declared: Optional[int], send: int,
               chunk: int = 1 << 20) -> Tuple[int, str]:
    """PUTs `send` bytes of zeros to `path` on a raw socket: with `declared` as its
    Content-Length, or chunked when None. Sends from a thread while it reads the
    answer, so a desk that answers early (and stops reading) is seen doing so."""
    import threading

    host, port = url.split("//", 1)[1].split(":")
    connection = socket.create_connection((host, int(port)), timeout=WAIT_SECONDS)
    head = (f"PUT {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/x-tar\r\n")
    head += f"Content-Length: {declared}\r\n" if declared is not None else "Transfer-Encoding: chunked\r\n"
    connection.sendall((head + "\r\n").encode())
    sent = {"bytes": 0}

    def pump() -> None:
        block = bytes(chunk)
        try:
            while sent["bytes"] < send:
                if declared is None:
                    connection.sendall(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                else:
                    connection.sendall(block)
                sent["bytes"] += len(block)
            if declared is None:
                connection.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the desk stopped reading: what the test is about

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    answer = b""
    while b"\r\n\r\n" not in answer:
        piece = connection.recv(65536)
        if not piece:
            break
        answer += piece
    head_text, _, rest = answer.partition(b"\r\n\r\n")
    status = int(head_text.split(b" ")[1]) if head_text else 0
    length = 0
    for line in head_text.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        piece = connection.recv(65536)
        if not piece:
            break
        rest += piece
    connection.close()
    return status, rest.decode(errors="replace")
