"""A strategy that prints terminal escape sequences (a window title, a
clipboard write, a line erased and forged) cannot reach the terminal of whoever
runs `desk strategies status` or `desk strategies logs`: through a real
pseudo-terminal the CLI shows them as text. To a pipe `logs` keeps the log's
bytes (for files and tools), and `status` escapes them always."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import tty
from typing import Iterator

import pytest

from selfservice import SelfServiceDesk, serve, tar_of, wait_for

HOSTILE = r'''
import sys
sys.stdout.write("title \x1b]0;pwned\x07 clipboard \x1b]52;c;cm0gLXJmIH4K\x07\n")
sys.stdout.write("real line\x1b[2K\rFORGED: all strategies stopped\n")
sys.stdout.write("bell \x07 backspace \x08 c1 \u009b31m del \x7f\n")
sys.stdout.flush()
sys.exit(1)
'''


@pytest.fixture(scope="module")
def desk() -> Iterator[SelfServiceDesk]:
    yield from serve("desk-terminal-")


def through_a_terminal(desk: SelfServiceDesk, *args: str) -> bytes:
    """`desk <args>` with its stdout and stderr on a pseudo-terminal in raw mode
    (no newline translation: every byte is what the CLI wrote); its whole output."""
    controller, terminal = pty.openpty()
    tty.setraw(terminal)
    environment = {"PATH": os.environ["PATH"], "HOME": str(desk.folder / "home")}
    process = subprocess.Popen([str(desk.server.binary), *args, "--server", desk.url, "--token",
                                desk.tokens["admin"]], stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal,
                               env=environment, cwd=desk.folder)
    os.close(terminal)
    output = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 30)
        if not ready:
            process.kill()
            pytest.fail(f"desk {' '.join(args)} printed nothing for 30 s; so far: {output!r}")
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal's last writer closed it
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    process.wait(timeout=30)
    return output


def assert_no_controls(output: bytes) -> None:
    for byte, name in ((0x1B, "ESC"), (0x07, "BEL"), (0x0D, "CR"), (0x08, "BS"), (0x7F, "DEL")):
        assert bytes([byte]) not in output, f"raw {name} reached the terminal: {output!r}"
    assert "\u009b".encode() not in output, f"a raw C1 CSI reached the terminal: {output!r}"


@pytest.fixture(scope="module")
def hostile(desk) -> str:
    code, reply = desk.deploy("mallory" if "mallory" in desk.tokens else "bob", "escapes",
                              tar_of({"strategy.py": HOSTILE, "config.json": '{"restart": {"max_restarts": 0}}'}),
                              start=True)
    assert code == 200, reply
    name = reply["name"]
    wait_for(lambda: desk.state(name) == "failed", f"{name} to fail")
    return name


def test_status_escapes_a_strategys_output_on_a_terminal(desk, hostile):
    output = through_a_terminal(desk, "strategies", "status", hostile)
    assert b"FAILED" in output, output
    assert_no_controls(output)
    assert b"\\x1b]0;pwned\\x07" in output and b"\\x1b]52;c;" in output, output
    assert b"\\x1b[2K\\x0dFORGED" in output, output


def test_logs_escape_a_strategys_output_on_a_terminal(desk, hostile):
    output = through_a_terminal(desk, "strategies", "logs", hostile)
    assert_no_controls(output)
    assert b"\\x1b]0;pwned\\x07" in output and b"\\x1b[2K\\x0dFORGED" in output, output
    assert b"\\u009b31m" in output and b"\\x7f" in output, output


def test_logs_to_a_pipe_keep_the_logs_bytes_and_status_escapes_always(desk, hostile):
    logs = desk.cli("strategies", "logs", hostile, "--server", desk.url, token=desk.tokens["admin"])
    assert logs.returncode == 0, logs.stderr
    assert "\x1b]0;pwned\x07" in logs.stdout
    status = desk.cli("strategies", "status", hostile, "--server", desk.url, token=desk.tokens["admin"])
    assert "\x1b" not in status.stdout and "\\x1b]0;pwned\\x07" in status.stdout, status.stdout
