"""The alpaca-py example strategy (examples/alpaca_py_strategy/) run by the desk
in its sandbox, unchanged, as the README says: copied under the strategies folder
of a `desk serve` with the default `--python-path` (which holds the alpaca-py that
scripts/python-env.sh installs), started with `desk strategies start`: it reaches the desk's Alpaca-compatible API through the
loopback in its own network namespace, with APCA_* variables that name its member
and hold its own desk token, never the club's keys; its orders land under its
member and strategy, and its TradingStream gets their fills."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from conftest import REPO, DeskServer
from test_runtime import wait_for

CLUB_SECRET = "club-broker-secret-never-shown"


def test_alpaca_py_strategy_trades_from_the_sandbox_unchanged():
    with tempfile.TemporaryDirectory(prefix="desk-alpaca-py-") as folder:
        os.chmod(folder, 0o755)
        root = Path(folder)
        strategies = root / "strategies"
        shutil.copytree(REPO / "examples" / "alpaca_py_strategy", strategies / "example_carol_alpaca")
        config = root / "desk-config.json"
        config.write_text(json.dumps({"risk": {"defaults": {"capital": "10000"}}}))
        server = DeskServer(
            root, trust_user_header=False,
            extra_args=["--feed", "synthetic", "--feed-rate", "40", "--symbols", "AAPL=190", "--config", str(config),
                        "--strategies-dir", str(strategies)],
            extra_env={"APCA_API_KEY_ID": "PKCLUBKEY", "APCA_API_SECRET_KEY": CLUB_SECRET})
        log = root / "logs" / "example_carol_alpaca.log"

        def lines(prefix: str) -> list:
            text = log.read_text(errors="replace") if log.exists() else ""
            return [line.split() for line in text.splitlines() if line.startswith(prefix)]

        try:
            server.desk("strategies", "start", "example_carol_alpaca", "--server", server.url)
            wait_for(lambda: len(lines("ORDER")) >= 2 and lines("UPDATE"), seconds=60,
                     what="the alpaca-py strategy's orders and their trade updates")
            # One reading of the log, then the ledger: the strategy keeps trading meanwhile, and a
            # trade update may be printed before the ORDER line of the same order.
            account, placed, updates = lines("ACCOUNT")[0], lines("ORDER"), lines("UPDATE")
            assert account[1] == "carol" and account[2] == "cash=10000", account
            orders = {row[0]: row[1:] for row in server.ledger(
                "SELECT order_id, member, strategy, symbol FROM orders")}
            for line in placed:
                assert orders[line[1]] == ("carol", "example_carol_alpaca", "AAPL"), line
            for line in updates:
                assert orders[line[2]] == ("carol", "example_carol_alpaca", "AAPL"), line
            text = log.read_text(errors="replace")
            assert CLUB_SECRET not in text and "PKCLUBKEY" not in text
        finally:
            server.stop()
