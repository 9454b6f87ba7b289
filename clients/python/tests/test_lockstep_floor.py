"""bin/lockstep-floor, the backtest benchmark's floor (the hand-off alone, no desk): in both modes a line reader in
the sandbox is given every tick; in packet mode a reader in pieces smaller than a line is refused with what to do;
a mode it does not know is refused with the ones it has."""
import json
import subprocess
from pathlib import Path

import pytest

from conftest import desk_binary

TICKS = 300
LINE_READER = "import json, sys\ncount = 0\nfor line in sys.stdin:\n    json.loads(line)\n    count += 1\n" \
              "print(f'{count} ticks', file=sys.stderr)\n"
PIECES_READER = "import os\nwhile os.read(0, 7):\n    pass\n"


def floor(tmp_path: Path, mode: str, script: str) -> subprocess.CompletedProcess:
    data = tmp_path / "ticks.jsonl"
    data.write_text("".join(json.dumps({"ts": 1_763_303_460 + n, "symbol": "AAPL", "price": f"{100 + n % 7}.25"})
                            + "\n" for n in range(TICKS)))
    strategy = tmp_path / "strategy.py"
    strategy.write_text(script)
    return subprocess.run([str(desk_binary().parent / "lockstep-floor"), "--mode", mode, str(strategy), str(data),
                           str(tmp_path / "work")], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("mode", ["strict", "packet"])
def test_every_tick_reaches_a_line_reader(tmp_path, mode):
    result = floor(tmp_path, mode, LINE_READER)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["mode"] == mode
    assert figures["ticks"] == TICKS
    assert figures["ticks_per_second"] > 0 and figures["cpu_us_per_tick"] > 0
    assert "reads reported: 0" in result.stderr if mode == "packet" else f"reads reported: {TICKS + 1}" in result.stderr
    assert f"{TICKS} ticks" in (tmp_path / "work" / "floor.log").read_text()


def test_packet_mode_refuses_a_reader_in_pieces(tmp_path):
    result = floor(tmp_path, "packet", PIECES_READER)
    assert result.returncode == 1
    assert "reads stdin in pieces smaller than a line (512 bytes): use --mode strict" in result.stderr
    assert json.loads(result.stdout)["ticks"] == 0


def test_an_unknown_mode_is_refused(tmp_path):
    result = floor(tmp_path, "fast", LINE_READER)
    assert result.returncode == 64
    assert "--mode takes one of: strict, packet" in result.stderr
