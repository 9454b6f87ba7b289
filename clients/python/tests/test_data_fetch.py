"""`desk data fetch` against alpaca-double's historical data REST: every page
followed, a 429 waited out, bars as ticks at their end, the keys checked and never
printed, and the file a backtest reads."""
from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

from conftest import DeskServer, desk_binary
from test_alpaca import KEY_ID, SECRET, AlpacaDoubleProcess


def fetch(double: AlpacaDoubleProcess, output: Path, *args: str, secret: str = SECRET) -> subprocess.CompletedProcess:
    env = DeskServer._environment() | {"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": secret,
                                        "APCA_API_DATA_URL": double.url}
    return subprocess.run([str(desk_binary()), "data", "fetch", *args, "-o", str(output)], capture_output=True,
                          text=True, timeout=120, env=env)


def test_every_page_is_fetched_and_a_rate_limit_waited_out(tmp_path: Path) -> None:
    double = AlpacaDoubleProcess(tmp_path)
    try:
        request = urllib.request.Request(double.url + "/_double/history/rate-limit-next", method="POST",
                                         data=b'{"count": 1}', headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=5).close()
        output = tmp_path / "history.jsonl"
        result = fetch(double, output, "AAPL", "MSFT", "--start", "2026-11-16", "--end", "2026-11-16",
                       "--page-size", "100")
        assert result.returncode == 0, result.stderr
        assert "780 ticks written" in result.stdout
        assert SECRET not in result.stdout + result.stderr
        with urllib.request.urlopen(double.url + "/_double/history/requests", timeout=5) as reply:
            queries = json.load(reply)
        # 780 one-minute bars (390 a session, 2 symbols) in pages of 100: 8 pages, plus the one refused with 429.
        assert len(queries) == 9
        # The first page asked twice (the 429, then again after the reset), then each page after it by its token.
        assert queries[0] == queries[1] and "page_token=" not in queries[0]
        assert all("page_token=" in query for query in queries[2:])
        ticks = [json.loads(line) for line in output.read_text().splitlines()]
        assert len(ticks) == 780
        first = ticks[0]
        assert first["type"] == "bar" and {"open", "high", "low", "volume"} <= set(first)
        # Alpaca stamps a bar with its start (09:30 New York = 14:30 UTC); its tick is at its end.
        assert first["ts"] == "2026-11-16T14:31:00.000Z"
        assert ticks[-1]["ts"] == "2026-11-16T21:00:00.000Z"
        assert [tick["ts"] for tick in ticks] == sorted(tick["ts"] for tick in ticks)
        assert {tick["symbol"] for tick in ticks} == {"AAPL", "MSFT"}

        # The file is one a backtest reads.
        strategies = tmp_path / "strategies" / "idle"
        strategies.mkdir(parents=True)
        (strategies / "strategy.py").write_text("import sys\nfor line in sys.stdin:\n    pass\n")
        (strategies / "config.json").write_text('{"user_id": "alice"}')
        tmp_path.chmod(0o755)
        run = subprocess.run([str(desk_binary()), "backtest", "--data", str(output), "--strategies",
                              str(tmp_path / "strategies"), "--work", str(tmp_path / "work"), "--json", "--quiet"],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["ticks"] == 780
    finally:
        double.stop()


def test_wrong_keys_and_bad_arguments_are_refused_clearly(tmp_path: Path) -> None:
    double = AlpacaDoubleProcess(tmp_path)
    try:
        output = tmp_path / "history.jsonl"
        wrong = fetch(double, output, "AAPL", "--start", "2026-11-16", "--end", "2026-11-16", secret="not-the-secret")
        assert wrong.returncode == 1
        assert "APCA_API_KEY_ID and APCA_API_SECRET_KEY" in wrong.stderr
        assert "not-the-secret" not in wrong.stderr + wrong.stdout
        assert not output.exists(), "nothing half-written"
        bad = fetch(double, output, "AAPL", "--start", "2026-11-18", "--end", "2026-11-16")
        assert bad.returncode != 0 and "--start must be before --end" in bad.stderr
        frame = fetch(double, output, "AAPL", "--start", "2026-11-16", "--end", "2026-11-16", "--timeframe", "2Min")
        assert frame.returncode != 0 and "1Min, 5Min, 15Min, 1Hour, 1Day" in frame.stderr
        csv = fetch(double, tmp_path / "history.csv", "AAPL", "--start", "2026-11-16", "--end", "2026-11-16")
        assert csv.returncode == 1 and ".jsonl or .ndjson" in csv.stderr
    finally:
        double.stop()
