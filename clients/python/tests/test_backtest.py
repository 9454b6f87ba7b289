"""`desk backtest` with real strategy processes in the real sandbox: the fill
models, commission and slippage, day expiry at the data's session close, a limit
order resting across many ticks, P&L and drawdown of a hand-computed run, a
crash, a malformed data file, determinism, and the report page in a real browser.
Where the lockstep matters, each run is made in both `--lockstep` modes and the two
are compared byte for byte (`backtest(..., lockstep=BOTH_MODES)`)."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

from conftest import REPO, chromedriver, desk_binary, headless_chromium  # noqa: F401  (chromedriver: a fixture)
from equivalence import MODES, assert_same, outcome

TIMEOUT = float(os.environ.get("DESK_TEST_BACKTEST_TIMEOUT", "120"))

# Places the orders of PLAN (a JSON object: tick number → list of orders) as it
# reads ticks; CRASH_AT=N raises on tick N. Plain `for line in sys.stdin:`.
SCRIPTED = r'''
import json, os, sys
from desk_client import place_order
plan = json.loads(os.environ.get("PLAN", "{}"))
crash_at = int(os.environ.get("CRASH_AT", "0"))
for number, line in enumerate(sys.stdin, start=1):
    if number == crash_at:
        raise RuntimeError("boom on tick %d" % number)
    for order in plan.get(str(number), []):
        reply = place_order(**order)
        print("tick", number, order, "->", reply.status, reply.order_status, reply.message, flush=True)
'''

START = datetime(2026, 11, 16, 14, 31, tzinfo=timezone.utc)  # 09:31 New York


def write_ticks(path: Path, prices: Sequence[str], symbol: str = "AAPL", start: datetime = START,
                step: timedelta = timedelta(minutes=1)) -> Path:
    lines = [json.dumps({"ts": (start + step * index).strftime("%Y-%m-%dT%H:%M:%SZ"), "symbol": symbol,
                         "price": price}) for index, price in enumerate(prices)]
    path.write_text("\n".join(lines) + "\n")
    return path


def strategy(folder: Path, name: str, member: str, plan: Optional[Dict[int, List[dict]]] = None,
             crash_at: int = 0, symbols: Optional[List[str]] = None) -> None:
    home = folder / name
    home.mkdir(parents=True)
    (home / "strategy.py").write_text(SCRIPTED)
    env = {"PLAN": json.dumps({str(k): v for k, v in (plan or {}).items()})}
    if crash_at:
        env["CRASH_AT"] = str(crash_at)
    config: dict = {"user_id": member, "env": env}
    if symbols:
        config["symbols"] = symbols
    (home / "config.json").write_text(json.dumps(config))


# `backtest(..., lockstep=BOTH_MODES)`: the run in each --lockstep mode, compared (see backtest).
BOTH_MODES = "both"


def backtest(tmp: Path, data: Sequence[Path], *args: str, work: str = "work",
             strategies: Optional[Path] = None, lockstep: Optional[str] = None,
             timeout: float = TIMEOUT, environment: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """`desk backtest --json` over `data` into the work folder `tmp/work`. `lockstep`: None
    runs the default mode; "stream" or "strict" passes `--lockstep`; BOTH_MODES runs
    stream into `tmp/work` and strict into `tmp/work-strict`, asserts they left the same
    (equivalence.assert_same: exit code, output, report, ledger, logs) and returns the
    stream run, so the caller's own assertions hold for both modes. `environment`: variables
    added to this process's for the run."""
    if lockstep == BOTH_MODES:
        runs = {mode: backtest(tmp, data, *args, work=work if mode == "stream" else f"{work}-strict",
                               strategies=strategies, lockstep=mode, timeout=timeout) for mode in MODES}
        assert_same(outcome(runs["stream"], tmp / work), outcome(runs["strict"], tmp / f"{work}-strict"))
        return runs["stream"]
    command = [str(desk_binary()), "backtest", "--strategies", str(strategies or tmp / "strategies"),
               "--work", str(tmp / work), "--json", "--quiet", "--end-grace", "5"]
    if lockstep is not None:
        command += ["--lockstep", lockstep]
    for file in data:
        command += ["--data", str(file)]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=timeout, cwd=tmp,
                          env={**os.environ, **environment} if environment else None)


def report(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def rows(db: Path, sql: str) -> list:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return connection.execute(sql).fetchall()


BUY = {"symbol": "AAPL", "qty": "10", "side": "buy"}
SELL = {"symbol": "AAPL", "qty": "10", "side": "sell"}


@pytest.mark.parametrize("fill_at,buy_price,sell_price,realized", [
    ("next-tick", "101", "102", "10"),  # the ticks after the ones the orders reacted to
    ("same-tick", "100", "105", "50"),  # the ticks the orders reacted to
])
def test_fill_models(tmp_path: Path, fill_at: str, buy_price: str, sell_price: str, realized: str) -> None:
    data = write_ticks(tmp_path / "ticks.jsonl", ["100", "101", "105", "102"])
    strategy(tmp_path / "strategies", "scripted", "alice", {1: [BUY], 3: [SELL]})
    figures = report(backtest(tmp_path, [data], "--fill-at", fill_at, lockstep=BOTH_MODES))
    assert figures["fill_at"] == fill_at
    alice = figures["members"]["alice"]
    assert (alice["orders"], alice["fills"], alice["rejected"]) == (2, 2, 0)
    assert alice["realized_pnl"] == realized and alice["total_pnl"] == realized
    assert alice["positions"] == {}
    fills = rows(tmp_path / "work" / "desk.db", "SELECT side, price FROM fills ORDER BY id")
    assert fills == [("buy", buy_price), ("sell", sell_price)]


def test_commission_and_slippage_are_in_the_pnl(tmp_path: Path) -> None:
    data = write_ticks(tmp_path / "ticks.jsonl", ["100", "101", "105", "102"])
    strategy(tmp_path / "strategies", "scripted", "alice", {1: [BUY], 3: [SELL]})
    figures = report(backtest(tmp_path, [data], "--commission", "0.01", "--slippage-bps", "10", lockstep=BOTH_MODES))
    alice = figures["members"]["alice"]
    # Buy at 101 + 10 bps = 101.101, sell at 102 − 10 bps = 101.898: (101.898 − 101.101) × 10 = 7.97,
    # less 20 shares × 0.01 commission.
    assert alice["realized_pnl"] == "7.97"
    assert alice["commission"] == "0.2"
    assert alice["total_pnl"] == "7.77"
    assert rows(tmp_path / "work" / "desk.db", "SELECT price FROM fills ORDER BY id") == [("101.101",), ("101.898",)]


def test_pnl_and_drawdown_of_a_hand_computed_run(tmp_path: Path) -> None:
    # Buy 10 on tick 1 (fills at 101 on tick 2), sell 10 on tick 4 (fills at 100 on tick 5).
    # Equity: 100000, 100000, 99980, 100030 (the peak), 99990, 99990: drawdown 40, P&L −10.
    data = write_ticks(tmp_path / "ticks.jsonl", ["100", "101", "99", "104", "100", "98"])
    strategy(tmp_path / "strategies", "scripted", "alice", {1: [BUY], 4: [SELL]})
    figures = report(backtest(tmp_path, [data], "--capital", "100000", lockstep=BOTH_MODES))
    alice = figures["members"]["alice"]
    assert alice["realized_pnl"] == "-10"
    assert alice["unrealized_pnl"] == "0"
    assert alice["total_pnl"] == "-10"
    assert alice["max_drawdown"] == "40"
    assert (alice["round_trips"], alice["win_rate"]) == (1, "0.0000")
    assert alice["traded_notional"] == "2010"
    assert alice["strategies"]["scripted"]["total_pnl"] == "-10"
    assert figures["ticks"] == 6
    assert figures["start"] == "2026-11-16T14:31:00.000Z" and figures["end"] == "2026-11-16T14:36:00.000Z"
    equity = (tmp_path / "work" / "equity.csv").read_text().splitlines()
    assert equity[0] == "timestamp,member,equity"
    assert "2026-11-16T14:34:00.000Z,alice,100030" in equity
    assert equity[-1].endswith(",alice,99990")
    # Every time in the ledger is the data's.
    times = rows(tmp_path / "work" / "desk.db", "SELECT created_at, updated_at FROM orders ORDER BY created_at")
    assert times == [("2026-11-16 14:31:00.000", "2026-11-16 14:32:00.000"),
                     ("2026-11-16 14:34:00.000", "2026-11-16 14:35:00.000")]
    # The web desk's P&L history is sampled on the wall clock: a backtest keeps none (its report is its history).
    assert rows(tmp_path / "work" / "desk.db", "SELECT count(*) FROM pnl_history") == [(0,)]


def test_day_orders_expire_at_the_data_close_and_gtc_limits_rest(tmp_path: Path) -> None:
    # Day 1 from 20:50 to 21:10 UTC (16:00 New York is 21:00 UTC in November), price falling slowly.
    prices = [f"{100 - index * 0.25:.2f}" for index in range(21)]
    data = write_ticks(tmp_path / "ticks.jsonl", prices, start=datetime(2026, 11, 16, 20, 50, tzinfo=timezone.utc))
    day = {"symbol": "AAPL", "qty": "5", "side": "buy", "order_type": "limit", "limit_price": "90",
           "time_in_force": "day"}
    gtc = {"symbol": "AAPL", "qty": "5", "side": "buy", "order_type": "limit", "limit_price": "96.00",
           "time_in_force": "gtc"}
    # A day market order on the 20:59 tick meets the 21:00 tick: stamped at the close, still the session's.
    last_minute = {"symbol": "AAPL", "qty": "1", "side": "buy", "time_in_force": "day"}
    strategy(tmp_path / "strategies", "scripted", "bob", {1: [day, gtc], 10: [last_minute]})
    figures = report(backtest(tmp_path, [data], lockstep=BOTH_MODES))
    orders = rows(tmp_path / "work" / "desk.db",
                  "SELECT order_type, time_in_force, status, updated_at, filled_avg_price FROM orders"
                  " ORDER BY created_at, time_in_force")
    assert orders[0] == ("limit", "day", "expired", "2026-11-16 21:00:00.000", None)
    # 96.00 is first reached on tick 17 (20:50 + 16 min): it rested across 16 ticks.
    assert orders[1] == ("limit", "gtc", "filled", "2026-11-16 21:06:00.000", "96")
    assert orders[2] == ("market", "day", "filled", "2026-11-16 21:00:00.000", "97.5")
    assert figures["members"]["bob"]["fills"] == 2


def test_thanksgiving_week_follows_the_exchange_calendar(tmp_path: Path) -> None:
    # Wednesday 2026-11-25 15:50–16:10 New York, then Friday 2026-11-27 (Thanksgiving is closed; Friday
    # closes at 13:00 = 18:00 UTC) from 09:31 to 14:00 New York, a tick every 10 minutes, falling slowly.
    wednesday = datetime(2026, 11, 25, 20, 50, tzinfo=timezone.utc)
    friday = datetime(2026, 11, 27, 14, 31, tzinfo=timezone.utc)
    lines = [(wednesday + timedelta(minutes=10 * i), f"{100 - i * 0.25:.2f}") for i in range(3)]
    lines += [(friday + timedelta(minutes=10 * i), f"{99 - i * 0.25:.2f}") for i in range(28)]
    data = tmp_path / "ticks.jsonl"
    data.write_text("".join(json.dumps({"ts": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "symbol": "AAPL", "price": price})
                            + "\n" for at, price in lines))
    # Tick 2 (Wednesday 16:00): a day limit below the market expires at Wednesday's close.
    # Tick 4 (Friday 09:31): a day limit at 93.75, which the price reaches only after 13:00 (tick 25, 13:01),
    # expires at 13:00 — not at 16:00, and unfilled.
    # Tick 24 (Friday 12:51, 94.00, the session's last line): a day market order meets that line at the close
    # and fills there (Alpaca would have filled it at once), instead of expiring or filling after the close.
    wednesday_limit = {"symbol": "AAPL", "qty": "1", "side": "buy", "order_type": "limit", "limit_price": "90",
                       "time_in_force": "day"}
    friday_limit = {"symbol": "AAPL", "qty": "2", "side": "buy", "order_type": "limit", "limit_price": "93.75",
                    "time_in_force": "day"}
    last_line = {"symbol": "AAPL", "qty": "3", "side": "buy", "time_in_force": "day"}
    strategy(tmp_path / "strategies", "scripted", "bob", {2: [wednesday_limit], 4: [friday_limit], 24: [last_line]})
    figures = report(backtest(tmp_path, [data], lockstep=BOTH_MODES))
    orders = rows(tmp_path / "work" / "desk.db",
                  "SELECT qty, status, updated_at, filled_avg_price FROM orders ORDER BY created_at")
    assert orders[0] == ("1", "expired", "2026-11-25 21:00:00.000", None)
    assert orders[1] == ("2", "expired", "2026-11-27 18:00:00.000", None)
    assert orders[2] == ("3", "filled", "2026-11-27 18:00:00.000", "94")
    assert figures["members"]["bob"]["fills"] == 1


def test_a_crashed_strategy_fails_the_run_with_its_last_log_lines(tmp_path: Path) -> None:
    data = write_ticks(tmp_path / "ticks.jsonl", ["100"] * 10)
    strategy(tmp_path / "strategies", "crashing", "carol", crash_at=3)
    result = backtest(tmp_path, [data], lockstep=BOTH_MODES)
    assert result.returncode != 0
    assert "strategy crashing failed" in result.stderr
    assert "boom on tick 3" in result.stderr
    assert result.stdout == ""


def test_a_malformed_data_file_is_named_with_its_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"ts":"2026-11-16T14:31:00Z","symbol":"AAPL","price":"100"}\n'
                    '{"ts":"2026-11-16T14:32:00Z","symbol":"AAPL","price":"101"}\n'
                    '{"ts":"2026-11-16T14:33:00Z","symbol":"AAPL","price":"-1"}\n')
    strategy(tmp_path / "strategies", "scripted", "alice")
    result = backtest(tmp_path, [data])
    assert result.returncode == 1
    assert f"{data}:3:" in result.stderr
    assert not (tmp_path / "work").exists(), "nothing is started for bad data"


def test_two_runs_give_the_same_report_and_ledger(tmp_path: Path) -> None:
    sample = REPO / "data" / "sample" / "three_days.jsonl"
    outputs = []
    for work in ("one", "two"):
        figures = report(backtest(tmp_path, [sample], work=work, strategies=REPO / "strategies"))
        figures.pop("timing")
        outputs.append(json.dumps(figures, sort_keys=True))
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["members"]["alice"]["orders"] > 0
    for table in ("orders", "fills", "member_positions", "strategy_positions", "audit_events"):
        first, second = (rows(tmp_path / work / "desk.db", f"SELECT * FROM {table} ORDER BY 1") for work in ("one", "two"))
        assert first == second, table
        assert first, f"{table} is empty"


def test_the_ledger_durability_variable_is_read_and_checked(tmp_path: Path) -> None:
    # A backtest's ledger skips the fsync per commit; DESK_BACKTEST_LEDGER_DURABILITY=full brings it back,
    # with the same results, and anything else is refused before the run starts.
    data = write_ticks(tmp_path / "ticks.jsonl", ["100", "101", "99", "102", "98", "103"])
    strategy(tmp_path / "strategies", "scripted", "alice", {1: [BUY], 3: [SELL], 4: [BUY]})
    figures = []
    for work, value in (("backtest", None), ("full", "full")):
        environment = {key: item for key, item in os.environ.items() if key != "DESK_BACKTEST_LEDGER_DURABILITY"}
        if value:
            environment["DESK_BACKTEST_LEDGER_DURABILITY"] = value
        command = [str(desk_binary()), "backtest", "--strategies", str(tmp_path / "strategies"), "--work",
                   str(tmp_path / work), "--json", "--quiet", "--data", str(data)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path,
                                env=environment)
        report_figures = report(result)
        report_figures.pop("timing")
        figures.append(report_figures)
        # The kept ledger is whole: no write-ahead log content, and it opens read-only.
        wal = tmp_path / work / "desk.db-wal"
        assert not wal.exists() or wal.stat().st_size == 0
        assert len(rows(tmp_path / work / "desk.db", "SELECT * FROM fills")) == 3
    assert figures[0] == figures[1]
    refused = subprocess.run(
        [str(desk_binary()), "backtest", "--strategies", str(tmp_path / "strategies"), "--work",
         str(tmp_path / "refused"), "--json", "--quiet", "--data", str(data)],
        capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path,
        env={**os.environ, "DESK_BACKTEST_LEDGER_DURABILITY": "none"})
    assert refused.returncode != 0
    assert "DESK_BACKTEST_LEDGER_DURABILITY=none is not a ledger durability: use full or backtest" in refused.stderr
    assert not (tmp_path / "refused" / "desk.db").exists()


def test_several_files_are_merged_by_time(tmp_path: Path) -> None:
    one = write_ticks(tmp_path / "aapl.jsonl", ["100", "101", "102"], symbol="AAPL")
    two = write_ticks(tmp_path / "msft.jsonl", ["400", "401", "402"], symbol="MSFT",
                      start=START + timedelta(seconds=30))
    strategy(tmp_path / "strategies", "scripted", "alice",
             {2: [{"symbol": "MSFT", "qty": "1", "side": "buy"}]})
    figures = report(backtest(tmp_path, [one, two], lockstep=BOTH_MODES))
    assert figures["ticks"] == 6
    # Tick 2 is MSFT at 400 (14:31:30); the buy fills at MSFT's next tick, 401.
    assert rows(tmp_path / "work" / "desk.db", "SELECT symbol, price FROM fills") == [("MSFT", "401")]


def test_a_backtest_beside_a_live_desk_never_shares_or_kills_its_strategies_uid(tmp_path: Path) -> None:
    """The attack: a member starts a backtest (a fresh ledger, whose first strategy would get the
    first uid) while the club's desk runs a strategy as that uid. Without machine-wide claims the
    backtest's start-up kills the live strategy (leftovers of "its" uid) and its strategy could read
    the live one's token in /proc."""
    import time

    from conftest import DeskServer

    os.chmod(tmp_path, 0o755)
    live = tmp_path / "live"
    (live / "strategies" / "keeper").mkdir(parents=True)
    (live / "strategies" / "keeper" / "strategy.py").write_text("import sys\nprint('READY', flush=True)\n"
                                                              "sys.stdin.read()\n")
    (live / "strategies" / "keeper" / "config.json").write_text(json.dumps({"user_id": "alice"}))
    server = DeskServer(live, trust_user_header=False,
                        extra_args=["--feed", "none", "--strategies-dir", str(live / "strategies")])
    try:
        server.desk("strategies", "start", "keeper", "--server", server.url)
        deadline = time.monotonic() + TIMEOUT
        pid = None
        while time.monotonic() < deadline and not pid:
            status = json.loads(server.desk("strategies", "status", "--json", "--server", server.url).stdout)
            pid = next((row.get("pid") for row in status["strategies"] if row["state"] == "running"), None)
            time.sleep(0.1)
        assert pid, "the live strategy did not start"
        live_uid = rows(live / "desk.db", "SELECT uid FROM strategy_users WHERE strategy = 'keeper'")[0][0]

        data = write_ticks(tmp_path / "ticks.jsonl", ["100", "101", "102"])
        strategy(tmp_path / "strategies", "scripted", "mallory", {1: [BUY]})
        figures = report(backtest(tmp_path, [data]))
        assert figures["members"]["mallory"]["orders"] == 1
        backtest_uid = rows(tmp_path / "work" / "desk.db", "SELECT uid FROM strategy_users")[0][0]
        assert backtest_uid != live_uid
        assert Path(f"/proc/{pid}").exists(), "the live desk's strategy was killed by the backtest"
        status = json.loads(server.desk("strategies", "status", "--json", "--server", server.url).stdout)
        assert [(row["state"], row.get("pid")) for row in status["strategies"]] == [("running", pid)]
    finally:
        server.stop()


def test_the_report_page_loads_from_its_file_alone_and_shows_the_charts(tmp_path: Path, chromedriver: str) -> None:
    # A file URL in a headless Chromium: everything the page shows is in the file (no scripts, fonts or
    # images from anywhere), with the table and each member's equity and drawdown charts.
    data = write_ticks(tmp_path / "ticks.jsonl", ["100", "101", "99", "104", "100", "98"])
    strategy(tmp_path / "strategies", "scripted", "alice", {1: [BUY], 4: [SELL]})
    strategy(tmp_path / "strategies", "idle", "bob")
    report(backtest(tmp_path, [data]))
    page = tmp_path / "work" / "report.html"
    html = page.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    driver = headless_chromium(chromedriver, tmp_path / "profile", 1200, 1400)
    try:
        driver.get(page.as_uri())
        resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert resources == [], f"the page loaded {resources}"
        rows = driver.execute_script(
            "return Array.from(document.querySelectorAll('#results tbody tr')).map(r => r.cells[0].textContent + ' ' +"
            " r.cells[1].textContent + ' ' + r.cells[7].textContent)")
        assert "alice (all) -10.00" in rows and "bob (all) 0.00" in rows
        for chart in ("equity-alice", "drawdown-alice"):
            box = driver.execute_script(
                "const svg = document.getElementById(arguments[0]); const r = svg.getBoundingClientRect();"
                " return [r.width, r.height, svg.querySelectorAll('polyline, polygon, path').length]", chart)
            assert box[0] > 300 and box[1] > 100 and box[2] >= 1, f"{chart}: {box}"
        driver.save_screenshot(str(tmp_path / "report.png"))
    finally:
        driver.quit()
