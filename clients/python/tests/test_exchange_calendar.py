"""The exchange calendar with an Alpaca venue: the desk takes Alpaca's own
`/v2/calendar` (here the stand-in's, with a day it closed beyond the NYSE rules)
and serves it on its `/v2/calendar` and `/v2/clock`."""
from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from conftest import DeskServer
from test_alpaca import KEY_ID, SECRET, AlpacaDoubleProcess


def next_weekday(after: date, days: int) -> date:
    day = after + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def test_the_desk_serves_the_alpaca_venues_calendar() -> None:
    today = datetime.now(timezone.utc).date()
    closed = next_weekday(today, 20)
    with tempfile.TemporaryDirectory(prefix="desk-calendar-") as folder:
        os.chmod(folder, 0o755)
        double = AlpacaDoubleProcess(Path(folder))
        server = None
        try:
            request = urllib.request.Request(double.url + "/_double/calendar", method="POST",
                                             data=json.dumps({"closed": [closed.isoformat()]}).encode(),
                                             headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=5).close()
            server = DeskServer(
                Path(folder), trust_user_header=False, extra_args=["--broker", "alpaca", "--feed", "none"],
                extra_env={"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": SECRET,
                           "APCA_API_BASE_URL": double.url})
            token = server.issue_token("carol")

            def get(path: str):
                ask = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(ask, timeout=5) as reply:
                    return json.load(reply)

            start, end = closed - timedelta(days=7), closed + timedelta(days=7)
            days = [d["date"] for d in get(f"/v2/calendar?start={start.isoformat()}&end={end.isoformat()}")]
            assert closed.isoformat() not in days, "the desk kept its own rules instead of Alpaca's calendar"
            assert any(d > closed.isoformat() for d in days) and any(d < closed.isoformat() for d in days)
            assert "/v2/calendar" in [r["path"] for r in double.requests()]
            clock = get("/v2/clock")
            assert set(clock) >= {"timestamp", "is_open", "next_open", "next_close"}
        finally:
            if server:
                server.stop()
            double.stop()
