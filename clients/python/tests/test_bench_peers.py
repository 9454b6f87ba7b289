"""The peer benchmark's parts that decide what is measured (issue 27): THE tick generator
(bench/peers/ticks.py), the rule every engine runs (rule.py), the exact reference fills
(reference.py), the harness's fill check and scenario choice, and the desk's side of fill
equality: `desk backtest` of the peer strategy folder under both `--lockstep` modes fills
exactly as the reference, read back from its ledger as the harness reads it.

The peer engines themselves (NautilusTrader, backtrader, backtesting.py) need their own
Python 3.12 venv from PyPI; the harness checks their fills against the same reference on
every run (`bench/run --only backtest_peers`), so they are not run here. No timing here."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, desk_binary

sys.path.insert(0, str(REPO / "bench"))
import harness  # noqa: E402  (bench/harness.py; it puts bench/peers on the path)
from reference import reference_fills  # noqa: E402
from rule import MeanReversion, cents, read_fills, write_fills  # noqa: E402
from ticks import backtest_ticks, iso_ms, peer_index, peer_prices, peer_ticks, peer_ts_ms  # noqa: E402

TIMEOUT = 120


def test_backtest_ticks_are_the_ones_the_backtest_scenarios_always_had(tmp_path: Path) -> None:
    # The digest of the first 2,000 lines the generator wrote while it lived in harness.py (commit bd98dae).
    path = tmp_path / "ticks.jsonl"
    backtest_ticks(path, 2_000)
    lines = path.read_text().splitlines()
    assert lines[0] == '{"ts": 1763303460, "symbol": "AAPL", "price": "190.00"}'
    assert lines[1] == '{"ts": 1763303461, "symbol": "MSFT", "price": "420.00"}'
    assert hashlib.sha256(path.read_bytes()).hexdigest() == \
        "263a9d148103ae75908423058472e6bc8a8823245c52c81b1952ce54a6140624"


def test_peer_ticks_are_one_walk_in_two_formats_inside_one_session(tmp_path: Path) -> None:
    jsonl, csv = peer_ticks(tmp_path, 500)
    desk_lines = jsonl.read_text().splitlines()
    peer_lines = csv.read_text().splitlines()
    assert peer_lines[0] == "ts_ms,price"
    assert len(desk_lines) == len(peer_lines) - 1 == 500
    prices = peer_prices(500)
    for index in (0, 1, 250, 499):
        ts_ms, price = peer_lines[index + 1].split(",")
        assert int(ts_ms) == peer_ts_ms(index) and cents(price) == prices[index]
        assert desk_lines[index] == (f'{{"ts":"{iso_ms(peer_ts_ms(index))}","symbol":"AAPL",'
                                     f'"price":"{prices[index] // 100}.{prices[index] % 100:02d}"}}')
    assert desk_lines[1].startswith('{"ts":"2026-11-16T14:31:00.100Z"')
    # 200,000 ticks end before the session's close (21:00 UTC): no day order expires.
    assert iso_ms(peer_ts_ms(199_999)) == "2026-11-16T20:04:19.900Z"


@pytest.mark.parametrize("ts_ms,index", [(peer_ts_ms(0), 0), (peer_ts_ms(7), 7), (peer_ts_ms(199_999), 199_999),
                                         (peer_ts_ms(3) + 50, None), (peer_ts_ms(0) - 100, None)])
def test_peer_index(ts_ms: int, index) -> None:
    if index is None:
        with pytest.raises(ValueError):
            peer_index(ts_ms)
    else:
        assert peer_index(ts_ms) == index


# A window of 3 and 100 basis points: buy below SMA * 0.99, sell above SMA * 1.01, 10 shares, at most 20.
@pytest.mark.parametrize("prices,position,decisions", [
    ([100, 100], 0, [None, None]),                               # fewer prices than the window: nothing
    ([100, 100, 96], 0, [None, None, "buy"]),                    # 96 < 98.67 * 0.99
    ([100, 100, 97], 0, [None, None, "buy"]),                    # 97 < 99 * 0.99 = 98.01
    ([100, 100, 99], 0, [None, None, None]),                     # 99 > 99.67 * 0.99 = 98.67: no signal
    ([100, 100, 96], 20, [None, None, None]),                    # at the cap: no buy
    ([100, 100, 104], 10, [None, None, "sell"]),                 # 104 > 101.33 * 1.01
    ([100, 100, 104], 0, [None, None, None]),                    # long only: nothing to sell
    ([100, 100, 100, 100, 95], 0, [None, None, None, None, "buy"]),  # the window slides: (100+100+95)/3
    ([99, 100, 101], 10, [None, None, None]),                    # exactly at SMA * 1.01 is no signal
])
def test_rule_decisions(prices: list, position: int, decisions: list) -> None:
    rule = MeanReversion(100, window=3, qty=10, max_position=20)
    rule.position = position
    assert [rule.on_price(price) for price in prices] == decisions


def test_rule_compares_in_whole_numbers_at_the_bound() -> None:
    # SMA 100.00 exactly, threshold 1 bp: 99.99 is exactly at SMA * (1 - 0.0001), so no buy; 99.98 is below.
    at_bound = MeanReversion(1, window=2, qty=1, max_position=1)
    assert [at_bound.on_price(p) for p in (10001, 9999)] == [None, None]
    below = MeanReversion(1, window=2, qty=1, max_position=1)
    assert [below.on_price(p) for p in (10002, 9998)] == [None, "buy"]


def test_reference_fills_at_the_next_tick_and_never_after_the_last() -> None:
    # Window 3, 100 bp: buy decided on tick 2 (96), filled at tick 3's 97; sell decided on tick 4 (100 above
    # 97.67 * 1.01), filled at tick 5's 104; buy decided on the last tick (90): never filled.
    prices = [100, 100, 96, 97, 100, 104, 90]
    rule = MeanReversion(100, window=3, qty=10, max_position=20)
    assert reference_fills(prices, rule) == [(3, "buy", 10, 97), (5, "sell", 10, 104)]
    assert rule.position == 10  # the last decision was booked, as an engine books an order it took


def test_reference_fills_of_the_variants() -> None:
    walk = peer_prices(3_000)
    fills = reference_fills(walk, MeanReversion.variant("orders"))
    assert len(fills) == 174
    assert all(price == walk[index] and qty == 10 for index, _, qty, price in fills)
    assert reference_fills(walk, MeanReversion.variant("never")) == []
    with pytest.raises(SystemExit, match="unknown variant 'sometimes': use one of never, orders"):
        MeanReversion.variant("sometimes")


def test_fills_round_trip_and_cents(tmp_path: Path) -> None:
    fills = [(21, "buy", 10, 19003), (40, "sell", 10, 18997)]
    write_fills(tmp_path / "fills.csv", fills)
    assert read_fills(tmp_path / "fills.csv") == fills
    assert [cents(p) for p in (190.03, "190.03", 190.03000000001, 189.99999999)] == [19003, 19003, 19003, 19000]


@pytest.mark.parametrize("fills,message", [
    ([(1, "buy", 10, 100), (3, "sell", 10, 101)], None),
    ([(1, "buy", 10, 100), (3, "sell", 10, 102)], "fill 1: (3, 'sell', 10, 102) where the reference has "
                                                   "(3, 'sell', 10, 101)"),
    ([(1, "buy", 10, 100)], "1 fills where the reference has 2"),
    ([(1, "buy", 10, 100), (3, "sell", 10, 101), (5, "buy", 10, 99)], "3 fills where the reference has 2"),
])
def test_check_fills(fills: list, message) -> None:
    expected = [(1, "buy", 10, 100), (3, "sell", 10, 101)]
    if message is None:
        harness.check_fills("backtrader", "orders", fills, expected)
    else:
        with pytest.raises(RuntimeError) as error:
            harness.check_fills("backtrader", "orders", fills, expected)
        assert str(error.value) == f"backtrader (orders) does not fill as the reference: {message}"


@pytest.mark.parametrize("only,quick,names", [
    (None, False, ["order_path", "crash", "python_client", "fanout", "memory", "backtest", "backtest_long",
                   "backtest_peers", "sweep_jobs"]),
    (None, True, ["order_path", "crash", "python_client", "fanout", "memory", "backtest", "backtest_long",
                  "sweep_jobs"]),
    (["backtest_peers"], True, ["backtest_peers"]),
    (["backtest", "backtest_peers"], False, ["backtest", "backtest_peers"]),
])
def test_scenario_names_keep_the_peers_out_of_quick(only, quick: bool, names: list) -> None:
    assert harness.scenario_names(only, quick) == names


@pytest.mark.parametrize("flag,value,message", [
    ("--peer-ticks", "0", "--peer-ticks must be a whole number of at least 1, not 0"),
    ("--peer-rounds", "-2", "--peer-rounds must be a whole number of at least 1, not -2"),
    ("--peer-ticks", "200001", "--peer-ticks must be at most 200000"),
])
def test_bad_peer_options_are_refused(tmp_path: Path, flag: str, value: str, message: str) -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "harness.py"), "--bin", str(tmp_path),
                             "--only", "backtest_peers", flag, value], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize("engine,lockstep", [("desk", "stream"), ("desk_strict", "strict"),
                                            ("desk_events", "stream")])
def test_desk_fills_as_the_reference(tmp_path: Path, engine: str, lockstep: str) -> None:
    """The desk's side of the harness's fill equality: the peer strategy folder (a plain line reader placing
    market orders through desk_client; for desk_events, the same rule with its position from fill lines) in a
    real `desk backtest`, its fills read back from the ledger. The plain reader must not fall back to strict."""
    tmp_path.chmod(0o755)
    jsonl, _ = peer_ticks(tmp_path, 600)
    strategies = harness.peer_strategies(tmp_path)
    walk = peer_prices(600)
    assert len(reference_fills(walk, MeanReversion.variant("orders"))) >= 10
    for variant in ("orders", "never"):
        run = harness.desk_peer_run(desk_binary().parent, engine, variant, jsonl, strategies,
                                    tmp_path / f"work-{variant}", timeout=TIMEOUT)
        assert run["fills"] == reference_fills(walk, MeanReversion.variant(variant))
        assert run["lockstep"] == lockstep if engine != "desk_events" else run["lockstep"].startswith("stream")
        assert not (tmp_path / f"work-{variant}").exists()


def test_timed_counts_the_whole_process_tree(tmp_path: Path) -> None:
    # A child that sleeps 40 times in a grandchild: every sleep is a voluntary context switch, counted in the
    # children's getrusage total and, sampled from /proc while it runs, under the grandchild's name.
    script = "import subprocess, sys; subprocess.run([sys.executable, '-c', " \
             "'import time\\nfor _ in range(40): time.sleep(0.01)'])"
    figures = harness.timed([sys.executable, "-c", script], timeout=TIMEOUT, cwd=tmp_path, by_process=True)
    assert figures["result"].returncode == 0
    assert figures["wall"] >= 0.4
    assert figures["cpu"] > 0
    assert figures["switches"] >= 40
    assert sum(kinds["voluntary"] for kinds in figures["switches_by_process"].values()) >= 10  # sampled: fewer


def test_timed_stops_a_process_at_its_timeout(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="did not end within 0.5 s"):
        harness.timed([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5, cwd=tmp_path)


def fake_pyenv(tmp_path: Path, versions: list) -> dict:
    """A PATH whose `pyenv root` names a folder holding only `versions` (each with a bin/python3 that says
    it is that version), and a HOME without ~/.pyenv."""
    root = tmp_path / "pyenv-root"
    for version in versions:
        python = root / "versions" / version / "bin" / "python3"
        python.parent.mkdir(parents=True)
        major, minor = version.split(".")[:2]
        python.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import sys; sys.exit(0 if ({major}, {minor}) == "
                          f"(3, 12) else 1)'\n")
        python.chmod(0o755)
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "pyenv").write_text(f"#!/bin/sh\necho {root}\n")
    (tools / "pyenv").chmod(0o755)
    return {"PATH": f"{tools}:/usr/bin:/bin", "HOME": str(tmp_path / "home")}


@pytest.mark.parametrize("versions,python,message", [
    (None, None, "pyenv is missing: the peer engines need Python 3.12"),
    (["3.11.7", "3.13.0"], None, "no Python 3.12 in {root}/versions (found: 3.11.7 3.13.0 )"),
    (["3.11.7"], "3.11.7", "{root}/versions/3.11.7/bin/python3 is not Python 3.12"),
])
def test_make_venv_says_what_is_missing(tmp_path: Path, versions, python, message: str) -> None:
    if versions is None:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    else:
        env = fake_pyenv(tmp_path, versions)
    if python:
        env["PEERS_PYTHON"] = str(tmp_path / "pyenv-root" / "versions" / python / "bin" / "python3")
    result = subprocess.run([str(REPO / "bench" / "peers" / "make-venv.sh")], env=env, capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert result.returncode == 1
    assert message.format(root=tmp_path / "pyenv-root") in result.stderr
    assert result.stdout == ""
