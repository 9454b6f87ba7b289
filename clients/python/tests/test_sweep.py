"""`desk backtest --sweep`: a grid over the example strategy bob's WINDOW and
THRESHOLD_PERCENT on the sample data, run by real `desk backtest` children; each
run's report is the report of a single backtest of a copy of bob whose config.json
env holds that run's values; sweep.json and sweep.html in --work; a combination
the strategy rejects fails that run alone; a bad SWEEP.json is refused."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import REPO, desk_binary

TIMEOUT = float(os.environ.get("DESK_TEST_BACKTEST_TIMEOUT", "300"))
SAMPLE = REPO / "data" / "sample" / "three_days.jsonl"
WINDOWS = ["5", "10", "20"]
THRESHOLDS = ["0.05", "0.1", "0.15", "0.2"]


def desk(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(desk_binary()), "backtest", *args], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=tmp)


def sweep(tmp: Path, spec: object, *args: str, work: str = "sweep") -> subprocess.CompletedProcess:
    file = tmp / f"{work}.json"
    file.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    return desk(tmp, "example_bob", "--strategies", str(REPO / "strategies"), "--data", str(SAMPLE),
                "--sweep", str(file), "--work", str(tmp / work), *args)


def single(tmp: Path, name: str, params: Dict[str, str]) -> dict:
    """A single backtest of a copy of bob with `params` written into its config.json env by hand."""
    strategies = tmp / "singles" / name
    shutil.copytree(REPO / "strategies" / "example_bob", strategies / "example_bob")
    config_file = strategies / "example_bob" / "config.json"
    config = json.loads(config_file.read_text())
    config["env"].update(params)
    config_file.write_text(json.dumps(config))
    result = desk(tmp, "example_bob", "--strategies", str(strategies), "--data", str(SAMPLE),
                  "--work", str(tmp / "singles" / f"{name}-work"), "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    report.pop("timing")
    return report


def test_a_grid_is_twelve_single_backtests_ranked(tmp_path: Path) -> None:
    result = sweep(tmp_path, {"grid": {"WINDOW": WINDOWS, "THRESHOLD_PERCENT": THRESHOLDS}},
                   "--jobs", "2", "--rank-by", "sharpe", "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    work = tmp_path / "sweep"
    written = json.loads((work / "sweep.json").read_text())
    assert printed == written, "--json prints sweep.json's object"
    assert written["rank_by"] == "sharpe" and written["parameters"] == ["WINDOW", "THRESHOLD_PERCENT"]
    runs: List[dict] = written["runs"]
    assert len(runs) == 12 and written["runs_total"] == 12 and written["runs_failed"] == 0
    assert sorted(run["rank"] for run in runs) == list(range(1, 13))
    assert sorted((run["params"]["WINDOW"], run["params"]["THRESHOLD_PERCENT"]) for run in runs) == sorted(
        (window, threshold) for window in WINDOWS for threshold in THRESHOLDS)
    # Ranked by sharpe, best first: those with a sharpe in descending order, then those without, by id.
    by_rank = sorted(runs, key=lambda run: run["rank"])
    with_sharpe = [run for run in by_rank if "sharpe" in run]
    assert [float(run["sharpe"]) for run in with_sharpe] == sorted(
        (float(run["sharpe"]) for run in with_sharpe), reverse=True)
    assert [run["id"] for run in by_rank[len(with_sharpe):]] == sorted(run["id"] for run in by_rank[len(with_sharpe):])
    assert with_sharpe, "bob trades the sample over three days: some runs have a sharpe"
    for run in runs:
        assert run["report_page"] == f"runs/{run['id']}/report.html"
        assert (work / run["report_page"]).is_file()
        bob = run["members"]["bob"]
        assert run["total_pnl"] == bob["total_pnl"] and run["fills"] == bob["fills"]
    assert len({run["total_pnl"] for run in runs}) > 1, "the parameters change the results"
    assert json.loads((work / "progress.json").read_text()) == {"runs_done": 12, "runs_total": 12}

    # Each run is exactly the single backtest of a copy of bob with those values in config.json env.
    with ThreadPoolExecutor(max_workers=2) as pool:
        singles = dict(zip((run["id"] for run in runs),
                           pool.map(lambda run: single(tmp_path, run["id"], run["params"]), runs)))
    for run in runs:
        expected = singles[run["id"]]
        assert {key: run[key] for key in expected} == expected, run["params"]
        assert "timing" in run

    # sweep.html: a column per parameter, a row per run, each run's report linked, the heatmap.
    page = (work / "sweep.html").read_text()
    assert re.findall(r'<th class="param">([^<]*)</th>', page) == ["WINDOW", "THRESHOLD_PERCENT"]
    assert len(re.findall(r'<tr id="run-\d{4}">', page)) == 12
    assert sorted(re.findall(r'<a href="(runs/\d{4}/report\.html)">report</a>', page)) == sorted(
        f"runs/{run['id']}/report.html" for run in runs)
    heatmap = page[page.index('<table id="heatmap">'):]
    heatmap = heatmap[:heatmap.index("</table>")]
    assert "<th>WINDOW \\ THRESHOLD_PERCENT</th>" + "".join(f"<th>{t}</th>" for t in THRESHOLDS) in heatmap
    assert len(re.findall(r"<tr><th>", heatmap)) == 1 + 3, "the header and a row per WINDOW"


def test_the_table_and_progress_for_people(tmp_path: Path) -> None:
    result = sweep(tmp_path, {"grid": {"WINDOW": ["10", "20"]}}, "--jobs", "2", "--heatmap", "WINDOW,WINDOW")
    assert result.returncode != 0 and "--heatmap takes two different parameter names" in result.stderr
    result = sweep(tmp_path, {"grid": {"WINDOW": ["10", "20"]}}, "--jobs", "2", work="people")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "sweep: 2 runs ranked by total_pnl"
    assert re.split(r"\s+", lines[2].strip()) == ["RANK", "RUN", "WINDOW", "TOTAL", "P&L", "SHARPE", "SORTINO",
                                                    "CALMAR", "MAX", "DD", "FILLS"]
    progress = [line for line in result.stderr.splitlines() if line.startswith("run ")]
    assert len(progress) == 2 and all(re.fullmatch(r"run [12]/2 done: WINDOW=(10|20) total_pnl -?\d+\.\d\d", line)
                                      for line in progress), result.stderr
    assert f"sweep: {tmp_path / 'people' / 'sweep.html'}" in result.stderr
    quiet = sweep(tmp_path, {"grid": {"WINDOW": ["10"]}}, "--quiet", work="quiet")
    assert quiet.returncode == 0 and not [line for line in quiet.stderr.splitlines() if line.startswith("run ")]
    again = sweep(tmp_path, {"grid": {"WINDOW": ["10"]}}, work="quiet")
    assert again.returncode != 0 and "already holds a sweep" in again.stderr


def test_a_failing_combination_fails_alone_with_its_parameters_and_log_tail(tmp_path: Path) -> None:
    # bob reads WINDOW with int(): "x" makes it exit with a ValueError at its start.
    result = sweep(tmp_path, {"grid": {"WINDOW": ["10", "x", "20"]}}, "--jobs", "2", "--json")
    assert result.returncode != 0
    assert "1 of 3 runs failed" in result.stderr
    assert "run 0002 failed: WINDOW=x" in result.stderr
    assert "ValueError" in result.stderr, result.stderr
    written = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert json.loads(result.stdout) == written
    assert written["runs_total"] == 3 and written["runs_failed"] == 1
    failed = [run for run in written["runs"] if "failure" in run]
    assert len(failed) == 1 and failed[0]["params"] == {"WINDOW": "x"} and failed[0]["rank"] == 3
    assert failed[0]["failure"] and any("ValueError" in line for line in failed[0]["log_tail"])
    assert "members" not in failed[0]
    completed = [run for run in written["runs"] if "failure" not in run]
    assert sorted(run["params"]["WINDOW"] for run in completed) == ["10", "20"]
    assert all(run["members"]["bob"]["orders"] >= 0 for run in completed)


def processes_under(folder: Path) -> List[int]:
    """Processes whose command line names a path in `folder` (the runs and their strategies)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(folder).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def wait_for(condition, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.1)


def test_sigterm_stops_every_run_and_fails(tmp_path: Path) -> None:
    # A strategy that takes its first tick and then never finishes with it: both runs stay busy
    # (--tick-timeout 600) until the sweep is told to stop.
    home = tmp_path / "strategies" / "stuck"
    home.mkdir(parents=True)
    (home / "strategy.py").write_text("import sys, time\nprint('waiting', flush=True)\nsys.stdin.readline()\n"
                                      "time.sleep(600)\n")
    (home / "config.json").write_text(json.dumps({"user_id": "alice", "env": {"X": "0"}}))
    (tmp_path / "sweep.json").write_text(json.dumps({"grid": {"X": ["1", "2"]}}))
    work = tmp_path / "work"
    process = subprocess.Popen([str(desk_binary()), "backtest", "stuck", "--strategies", str(tmp_path / "strategies"),
                                "--data", str(SAMPLE), "--sweep", str(tmp_path / "sweep.json"), "--jobs", "2",
                                "--tick-timeout", "600", "--work", str(work)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        logs = [work / "runs" / run / "logs" / "stuck.log" for run in ("0001", "0002")]
        wait_for(lambda: all(log.is_file() and "waiting" in log.read_text() for log in logs), "both runs' strategies")
        assert len(processes_under(tmp_path)) >= 2
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert "stopped by SIGTERM" in stderr, stderr
    wait_for(lambda: not processes_under(tmp_path), "every run and strategy to end", timeout=60)


@pytest.mark.parametrize("spec,message", [
    ({"grid": {"WINDOW": []}}, "grid.WINDOW is an empty list: give at least one value"),
    ({"grid": {"WIN-DOW": ["1"]}}, '"WIN-DOW" is not a parameter name'),
    ({"grid": {"WINDOW": ["1"]}, "extra": 1}, 'unknown key "extra"'),
    ({"random": {"samples": 5, "space": {"WINDOW": ["1"]}}}, "random: seed is missing"),
    ({"grid": {"WINDOW": [True]}}, "grid.WINDOW[0] must be a string"),
    ('{"grid": ', "not valid JSON"),
])
def test_a_bad_sweep_file_is_refused_with_what_is_wrong(tmp_path: Path, spec: object, message: str) -> None:
    result = sweep(tmp_path, spec)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert str(tmp_path / "sweep.json") in result.stderr, "the message names the file"
    assert not (tmp_path / "sweep").exists(), "nothing ran"
