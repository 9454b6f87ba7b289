"""A member following logs over real HTTP (`GET /strategies/NAME/logs?follow=1`)
against a real `desk serve` with a sandboxed strategy: at most four followers at
once per member (the fifth is refused with 429 and says why), another member is
not limited by them, and a follower's place comes back when its client goes."""
from __future__ import annotations

import urllib.error
import urllib.request
from typing import Iterator

import pytest

from selfservice import SelfServiceDesk, serve, strategy_folder, wait_for

TALKER = """
    from desk_client import market_data
    print("READY", flush=True)
    for tick in market_data():
        print("TICK", tick["price"], flush=True)
    """


@pytest.fixture(scope="module")
def desk() -> Iterator[SelfServiceDesk]:
    yield from serve("desk-followers-")


def follow(desk: SelfServiceDesk, member: str, name: str):
    request = urllib.request.Request(f"{desk.url}/strategies/{name}/logs?follow=1",
                                     headers={"Authorization": f"Bearer {desk.tokens[member]}"})
    return urllib.request.urlopen(request, timeout=30)


def test_a_member_follows_at_most_four_logs_at_once_and_gets_the_places_back(desk, tmp_path):
    for member in ("bob", "carol"):
        folder = strategy_folder(tmp_path / member, "talker", script=TALKER, config={"symbols": ["AAPL"]})
        deployed = desk.cli("strategies", "deploy", str(folder), "--start", "--server", desk.url,
                            token=desk.tokens[member])
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    streams = [follow(desk, "bob", "talker") for _ in range(4)]
    try:
        assert [stream.status for stream in streams] == [200] * 4
        with pytest.raises(urllib.error.HTTPError) as refused:
            follow(desk, "bob", "talker")
        assert refused.value.code == 429
        message = refused.value.read().decode()
        assert "4" in message and "follow" in message, message
        # Bob's followers are his own limit: carol still follows hers.
        with follow(desk, "carol", "talker") as carol:
            assert carol.status == 200
            seen = []
            wait_for(lambda: seen.append(carol.read1(65536)) or b"TICK" in b"".join(seen),
                     lambda: f"ticks in carol's followed log: {b''.join(seen)!r}")
    finally:
        for stream in streams:
            stream.close()

    # Once bob's clients are gone (the desk notices at its next write), his places come back.
    def follows_again() -> bool:
        try:
            with follow(desk, "bob", "talker") as again:
                return again.status == 200
        except urllib.error.HTTPError as error:
            assert error.code == 429, error.read()
            return False

    wait_for(follows_again, "bob following his strategy's log again after closing his followers")
