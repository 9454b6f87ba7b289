"""The desk records its feed for backtests: a real `desk serve` with the synthetic
feed writes `<research data folder>/feed/YYYY-MM-DD.jsonl` (New York date), the
lines replay with `desk backtest`, old days are deleted, and a recorder that
cannot write never stops the desk."""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import pytest

from conftest import REPO, DeskServer
from selfservice import wait_for


def today_in_new_york() -> str:
    return datetime.now(ZoneInfo("America/New_York")).strftime("%Y-%m-%d")


def start_desk(folder: Path, research: dict) -> DeskServer:
    config = folder / "desk-config.json"
    config.write_text(json.dumps({"research": research}))
    return DeskServer(folder, trust_user_header=False,
                      extra_args=["--feed", "synthetic", "--feed-rate", "50", "--symbols", "AAPL=190,MSFT=420",
                                  "--config", str(config)])


def metric(desk: DeskServer, name: str) -> float:
    request = urllib.request.Request(desk.url + "/metrics", headers={"Authorization": f"Bearer {desk.admin_token}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        for line in reply.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def lines_of(path: Path) -> list:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture()
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="desk-feed-recorder-") as name:
        yield Path(name)


def test_the_feed_is_recorded_by_new_york_day_and_replays_with_desk_backtest(folder):
    research = folder / "research"
    feed = research / "feed"
    feed.mkdir(parents=True)
    (feed / "2020-01-02.jsonl").write_text('{"symbol":"AAPL","price":1,"ts":"2020-01-02T15:00:00.000Z"}\n')
    (feed / "notes.txt").write_text("not a day's file: left alone\n")
    desk = start_desk(folder, {"data_folder": str(research), "feed_retention_days": 3})
    today = feed / f"{today_in_new_york()}.jsonl"
    try:
        wait_for(lambda: len(lines_of(today)) >= 40, lambda: f"40 lines in {today}: {desk.log_text(20)}")
        # Past its retention, the old day is gone; other files stay.
        assert not (feed / "2020-01-02.jsonl").exists()
        assert (feed / "notes.txt").exists()
        assert metric(desk, "desk_feed_recorder_dropped_lines_total") == 0
    finally:
        desk.stop()
    assert desk.process.returncode == 0, desk.log_text(30)

    # Every line the hub published until shutdown is there, whole, in the ticks' format.
    lines = lines_of(today)
    ticks = [json.loads(line) for line in lines]
    assert {tick["symbol"] for tick in ticks} == {"AAPL", "MSFT"}
    assert all(set(tick) >= {"symbol", "price", "ts"} for tick in ticks), ticks[:3]
    assert [tick["ts"] for tick in ticks] == sorted(tick["ts"] for tick in ticks)

    # The recording replays: `desk backtest --data` reads every line of it.
    strategies = folder / "strategies"
    shutil.copytree(REPO / "strategies" / "example_alice", strategies / "example_alice")
    run = subprocess.run([str(desk.binary), "backtest", "--strategies", str(strategies), "--data", str(today),
                          "--work", str(folder / "work"), "--json", "--quiet", "--end-grace", "5"],
                         capture_output=True, text=True, timeout=120, cwd=folder)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["ticks"] == len(lines), (report["ticks"], len(lines))


def test_a_recorder_that_cannot_write_does_not_stop_the_desk(folder):
    research = folder / "research"
    research.mkdir()
    # Where the feed folder should be is a file: nothing can be written under it (even by root).
    (research / "feed").write_text("in the way\n")
    desk = start_desk(folder, {"data_folder": str(research), "feed_retention_days": 3})
    try:
        wait_for(lambda: metric(desk, "desk_feed_recorder_dropped_lines_total") >= 20,
                 lambda: f"dropped lines counted: {desk.log_text(20)}")
        published = metric(desk, "desk_feed_ticks_published_total")
        wait_for(lambda: metric(desk, "desk_feed_ticks_published_total") > published, "the feed still publishing")
        with urllib.request.urlopen(desk.url + "/healthz", timeout=10) as reply:
            assert reply.status == 200
        log = desk.log_text(500)
        assert log.count("the feed recorder cannot create the folder") == 1, log
    finally:
        desk.stop()
    assert desk.process.returncode == 0, desk.log_text(30)


def test_no_recording_with_a_retention_of_zero_days(folder):
    research = folder / "research"
    desk = start_desk(folder, {"data_folder": str(research), "feed_retention_days": 0})
    try:
        wait_for(lambda: metric(desk, "desk_feed_ticks_published_total") >= 20, "the feed publishing")
    finally:
        desk.stop()
    assert not (research / "feed").exists()
