"""`desk backtest --walk-forward` with the real binary, the real example strategy
(example_bob, a child `desk backtest` per run) and the sample data's three New York
days (2026-11-16..18): train=1d,test=1d makes two windows; a random sweep with a
fixed seed chooses on each training day, and the choice runs on the next day. The
same inputs give the same walkforward.json (timing aside); each test run is exactly
the single backtest of the chosen parameters on that day; bad specs are refused."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

from conftest import REPO, desk_binary

TIMEOUT = float(os.environ.get("DESK_TEST_BACKTEST_TIMEOUT", "120")) * 4
DATA = REPO / "data" / "sample" / "three_days.jsonl"
SWEEP = {"random": {"samples": 2, "seed": 7,
                    "space": {"WINDOW": ["5", "10", "20"], "THRESHOLD_PERCENT": ["0.05", "0.1", "0.2"]}}}
DAYS = ["2026-11-16", "2026-11-17", "2026-11-18"]


def strategies(tmp: Path, env: dict = None) -> Path:
    """A strategies folder holding a copy of example_bob (with `env` merged into its config.json)."""
    folder = tmp / "strategies"
    if not folder.exists():
        shutil.copytree(REPO / "strategies" / "example_bob", folder / "example_bob")
    if env:
        config_file = folder / "example_bob" / "config.json"
        config = json.loads(config_file.read_text())
        config["env"].update(env)
        config_file.write_text(json.dumps(config))
    return folder


# The work folders are short: each run's desk listens on WORK/windows/01/train/runs/0001/desk.sock,
# and a unix socket's path may not pass 107 bytes.
def run(tmp: Path, *args: str, work: str = "w", sweep: dict = SWEEP) -> subprocess.CompletedProcess:
    sweep_file = tmp / "sweep.json"
    sweep_file.write_text(json.dumps(sweep))
    command = [str(desk_binary()), "backtest", "example_bob", "--strategies", str(strategies(tmp)),
               "--data", str(DATA), "--sweep", str(sweep_file), "--work", str(tmp / work), "--jobs", "2",
               *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp)


def without_timing(report: dict) -> dict:
    return {key: value for key, value in report.items() if key != "timing"}


def single(tmp: Path, params: dict, day: str, work: str) -> dict:
    """`desk backtest --from DAY --to DAY` of example_bob with `params` put in its config.json env by hand."""
    folder = tmp / work / "strategies"
    shutil.copytree(REPO / "strategies" / "example_bob", folder / "example_bob")
    config_file = folder / "example_bob" / "config.json"
    config = json.loads(config_file.read_text())
    config["env"].update(params)
    config_file.write_text(json.dumps(config))
    result = subprocess.run(
        [str(desk_binary()), "backtest", "--strategies", str(folder), "--data", str(DATA), "--from", day,
         "--to", day, "--work", str(tmp / work / "run"), "--json", "--quiet"],
        capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_two_windows(tmp_path: Path) -> None:
    first = run(tmp_path, "--walk-forward", "train=1d,test=1d", "--json", "--quiet")
    assert first.returncode == 0, first.stderr
    printed = json.loads(first.stdout)
    work = tmp_path / "w"
    written = json.loads((work / "walkforward.json").read_text())
    assert printed == written

    # Two windows by the calendar: train on a day, test on the next.
    assert [(w["window"], w["train"], w["test"]) for w in written["windows"]] == [
        (1, {"from": DAYS[0], "to": DAYS[0]}, {"from": DAYS[1], "to": DAYS[1]}),
        (2, {"from": DAYS[1], "to": DAYS[1]}, {"from": DAYS[2], "to": DAYS[2]}),
    ]
    assert written["skipped"] == [] and written["failures"] == []
    assert written["spec"] == {"train_days": 1, "test_days": 1, "step_days": 1, "anchored": False}
    assert written["data"] == {"from": DAYS[0], "to": DAYS[2]} and written["combinations"] == 2
    assert json.loads((work / "progress.json").read_text()) == {"runs_done": 6, "runs_total": 6}

    in_total = out_total = 0
    for window in written["windows"]:
        number = "%02d" % window["window"]
        # The chosen parameters are the training sweep's rank 1, drawn from the space.
        sweep = json.loads((work / "windows" / number / "train" / "sweep.json").read_text())
        assert (work / "windows" / number / "train" / "sweep.html").exists()
        best = next(r for r in sweep["runs"] if r["rank"] == 1)
        assert window["params"] == best["params"]
        assert window["train_run"] == f"windows/{number}/train/runs/{best['id']}"
        assert window["params"]["WINDOW"] in SWEEP["random"]["space"]["WINDOW"]
        assert window["in_sample"]["bob"]["total_pnl"] == best["members"]["bob"]["total_pnl"]
        # The test run is exactly the single backtest of those parameters on the test day.
        day = window["test"]["from"]
        alone = single(tmp_path, window["params"], day, f"single-{number}")
        test_report = json.loads((work / "windows" / number / "test" / "report.json").read_text())
        assert without_timing(alone) == without_timing(test_report)
        for key in ("total_pnl", "return", "sharpe", "sortino", "max_drawdown", "fills"):
            assert window["out_of_sample"]["bob"].get(key) == alone["members"]["bob"].get(key), key
        assert alone["start"].startswith(day)
        in_total += float(window["in_sample"]["bob"]["total_pnl"])
        out_total += float(window["out_of_sample"]["bob"]["total_pnl"])

    # The stitched statistics add the windows up; the equity chains from the capital.
    bob = written["members"]["bob"]
    assert float(bob["out_of_sample"]["total_pnl"]) == pytest.approx(out_total)
    assert float(bob["in_sample"]["total_pnl"]) == pytest.approx(in_total)
    assert bob["out_of_sample"]["days"] == 2 and bob["in_sample"]["days"] == 2
    assert [point["day"] for point in bob["out_of_sample_equity"]] == DAYS[1:]
    assert float(bob["out_of_sample_equity"][-1]["equity"]) == pytest.approx(100000 + out_total)
    for figure in ("total_pnl", "max_drawdown", "pnl_per_day"):
        assert "e" not in bob["out_of_sample"][figure].lower()  # exact decimal text, never a float's

    # The page: in- and out-of-sample side by side, the stitched equity, links to each window's runs.
    page = (work / "walkforward.html").read_text()
    assert "<th>In-sample</th><th>Out-of-sample</th>" in page
    assert 'id="equity-bob"' in page and "<polyline" in page
    assert 'href="windows/01/train/sweep.html"' in page and 'href="windows/02/test/report.html"' in page

    # The same inputs (and seed) again: the same walkforward.json, timing aside.
    second = run(tmp_path, "--walk-forward", "train=1d,test=1d", "--json", "--quiet", work="w2")
    assert second.returncode == 0, second.stderr
    again = json.loads((tmp_path / "w2" / "walkforward.json").read_text())
    assert without_timing(again) == without_timing(written)
    assert "timing" in written


def test_table_on_stdout(tmp_path: Path) -> None:
    result = run(tmp_path, "--walk-forward", "train=1d,test=1d,anchored",
                 sweep={"grid": {"THRESHOLD_PERCENT": ["0.1"]}})
    assert result.returncode == 0, result.stderr
    assert "walk-forward train=1d,test=1d,anchored over 2026-11-16..2026-11-18: 2 windows" in result.stdout
    assert "IN-SAMPLE" in result.stdout and "OUT-OF-SAMPLE" in result.stdout
    assert "walk-forward efficiency" in result.stdout
    report = json.loads((tmp_path / "w" / "walkforward.json").read_text())
    # Anchored: the second window trains from the data's first day.
    assert report["windows"][1]["train"] == {"from": DAYS[0], "to": DAYS[1]}
    assert "run 4/4 done" in result.stderr


@pytest.mark.parametrize("spec,message", [
    ("train=1d", "test=Md is missing"),
    ("train=1,test=1d", "train=1 is not a whole number of days"),
    ("train=0d,test=1d", "train=0d must be at least 1d"),
    ("train=1d,test=1d,sideways", '"sideways" is not NAME=DAYS nor anchored'),
    ("train=3d,test=1d", "the data spans 3 days (2026-11-16..2026-11-18), too short"),
])
def test_bad_specs_are_refused(tmp_path: Path, spec: str, message: str) -> None:
    result = run(tmp_path, "--walk-forward", spec)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert not (tmp_path / "w" / "windows").exists()


def test_a_failed_run_fails_the_command_after_the_others(tmp_path: Path) -> None:
    # WINDOW=oops makes example_bob crash at its start: those training runs fail, the others are chosen.
    result = run(tmp_path, "--walk-forward", "train=1d,test=1d", sweep={"grid": {"WINDOW": ["10", "oops"]}})
    assert result.returncode != 0
    assert "2 runs of the walk-forward failed" in result.stderr, result.stderr
    assert "windows/01/train/runs/0002 failed (WINDOW=oops)" in result.stderr
    report = json.loads((tmp_path / "w" / "walkforward.json").read_text())
    assert [f["run"] for f in report["failures"]] == ["windows/01/train/runs/0002", "windows/02/train/runs/0002"]
    assert [w["params"] for w in report["windows"]] == [{"WINDOW": "10"}, {"WINDOW": "10"}]
    assert all(w["out_of_sample"] for w in report["windows"])
