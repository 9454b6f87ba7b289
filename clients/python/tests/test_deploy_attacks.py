"""A hostile member against the deploy route of a real `desk serve` (sandbox,
caps from a config file): concurrent deploys racing the `max_strategies` cap,
and strategy.py files built to exhaust the compile check's memory (a 16 MB
one-line list, a deeply nested expression). The cap holds, nothing
half-written is left, the compile runs in the sandbox as an unprivileged uid
with the member's memory limit, and the desk keeps answering."""
from __future__ import annotations

import os
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterator, List, Set

import pytest

from selfservice import SelfServiceDesk, tar_of

CONFIG = {
    "strategies": {
        "defaults": {"max_strategies": 2, "memory": "256m"},
        "upload": {"max_files": 50, "max_bytes": "24m"},
    },
}
MARKER = "compile(open('strategy.py'"


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[SelfServiceDesk]:
    desk = SelfServiceDesk(tmp_path_factory.mktemp("deploy-attacks"), CONFIG)
    try:
        yield desk
    finally:
        desk.stop()


def compile_processes() -> Dict[int, dict]:
    """The desk's compile checks running now: pid → real uid and address-space limit."""
    found: Dict[int, dict] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if MARKER not in command or "python" not in command:
                continue
            status = Path(f"/proc/{entry}/status").read_text()
            limits = Path(f"/proc/{entry}/limits").read_text()
        except OSError:
            continue
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        space = next(line for line in limits.splitlines() if line.startswith("Max address space")).split()[3]
        found[int(entry)] = {"uid": uid, "address_space": space}
    return found


def test_concurrent_deploys_of_one_member_cannot_pass_max_strategies(desk):
    archive = tar_of({"strategy.py": "x = 1\n" * 20_000})
    barrier = threading.Barrier(8)

    def deploy(index: int):
        barrier.wait()
        return desk.deploy("carol", f"race{index}", archive, method="POST")

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(deploy, range(8)))
    accepted = [reply for code, reply in replies if code == 200]
    refused = [(code, reply) for code, reply in replies if code != 200]
    assert len(accepted) == 2, replies
    for code, reply in refused:
        assert code == 403 and "at most 2 strategies" in reply["message"], reply
    deployed = sorted(reply["name"] for reply in accepted)
    # The two deployed, whole; nothing of the refused ones, no staging or compile folder left.
    whole = {f"{name}/{file}" for name in deployed for file in ("config.json", "strategy.py")}
    assert set(desk.listing()) == set(deployed) | whole | {".deploys", ".deploys/previous"}, desk.listing()


BOMBS = [
    ("a 16 MB one-line list", "x = [" + "1," * (8 << 20) + "]\n", "memory limit (256m"),
    ("a deeply nested expression", "x = " + "-" * (1 << 20) + "1\n", "too large or too deeply nested"),
    ("nested parentheses", "x = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n", "too many nested parentheses"),
]


@pytest.mark.parametrize("label,source,message", BOMBS, ids=[bomb[0] for bomb in BOMBS])
def test_a_compile_bomb_is_refused_inside_the_sandbox_and_the_desk_keeps_answering(desk, label, source, message):
    before = desk.listing()
    archive = tar_of({"strategy.py": source})
    result: dict = {}
    seen: Dict[int, dict] = {}
    health: List[float] = []

    def deploy() -> None:
        result["reply"] = desk.deploy("bob", "bomb", archive)

    sender = threading.Thread(target=deploy)
    sender.start()
    while sender.is_alive():
        seen.update(compile_processes())
        started = time.monotonic()
        with urllib.request.urlopen(desk.url + "/healthz", timeout=5) as reply:
            assert reply.status == 200
        health.append(time.monotonic() - started)
        time.sleep(0.02)
    sender.join()
    code, reply = result["reply"]
    assert code == 422 and message in reply["message"], (label, reply)
    assert desk.listing() == before, label
    assert health, label
    # Every compile the desk ran for it ran as an unprivileged uid, with the member's memory cap.
    if label == BOMBS[0][0]:
        assert seen, "the 16 MB compile was never seen running"
    for pid, process in seen.items():
        assert process["uid"] != 0, (label, pid, process)
        assert process["address_space"] == str(256 << 20), (label, pid, process)
