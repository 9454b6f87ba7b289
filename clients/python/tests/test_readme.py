"""The README's own paths, run as written: what they print is what the README
says they print. Blocks are found by their `<!-- README test: NAME ... -->` marker."""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

from conftest import REPO, desk_binary, free_port

README = REPO / "README.md"


def block(name: str) -> tuple[str, str]:
    """The fenced block after the marker `name`: its language and its text."""
    text = README.read_text()
    marker = f"<!-- README test: {name} "
    assert marker in text, f"README.md has no block marked {marker!r}"
    after = text[text.index(marker):]
    match = re.search(r"```(\w*)\n(.*?)```", after, re.S)
    assert match, f"no fenced block after {marker!r}"
    return match.group(1), match.group(2)


def test_the_backtest_sample_output_is_what_the_run_prints():
    _, shown = block("backtest output")
    with tempfile.TemporaryDirectory(prefix="desk-readme-") as work:
        # The README's first backtest command, as written (desk is the built one); its work folder elsewhere.
        result = subprocess.run([str(desk_binary()), "backtest", "--data", "data/sample/three_days.jsonl",
                                 "--work", str(Path(work) / "run")], cwd=REPO, capture_output=True, text=True,
                                timeout=600, env={"PATH": os.environ["PATH"], "HOME": work})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == shown, f"the README shows:\n{shown}\nthe run printed:\n{result.stdout}"


def test_placing_an_order_from_python_works_as_written():
    language, script = block("python order")
    assert language == "sh"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="desk-readme-") as folder:
        # The checkout's scripts, build and venv, in a folder of its own (club.db lands there).
        for name in ("scripts", ".build", ".venv", "clients"):
            os.symlink(REPO / name, Path(folder) / name)
        environment = {"PATH": os.environ["PATH"], "HOME": folder, "PORT": str(port),
                       "DESK_SERVER_URL": f"http://127.0.0.1:{port}"}
        result = subprocess.run(["bash", "-e", "-c", "trap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + script],
                                cwd=folder, capture_output=True, text=True, timeout=600, env=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "filled", result.stdout + result.stderr
