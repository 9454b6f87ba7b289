#!/usr/bin/env python3
"""The original desk's strategy manager, kept for its users: a thin wrapper over
``desk strategies``, which asks the running desk to act on the strategies of its
``--strategies-dir``.

    ./strategy_manager.py start [FOLDER...]          # all strategies without a folder
    ./strategy_manager.py stop [FOLDER...]
    ./strategy_manager.py restart [FOLDER...]
    ./strategy_manager.py status [FOLDER...]
    ./strategy_manager.py logs strategies/example_alice/ [-f] [--tail 50]

A strategy is named by its folder (``strategies/example_alice/``) or its folder's
name (``example_alice``). The desk is found as ``desk strategies`` finds it:
``DESK_SERVER_URL``, else the desk running on the ledger ``DB_PATH``; the admin
token is ``DESK_ADMIN_TOKEN`` or ``desk-admin.token`` beside the ledger. The desk
binary is ``$DESK_BIN``, else ``.build/debug/desk`` in this checkout, else ``desk``
on the PATH. The exit status is desk's own: non-zero when an action failed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def desk_binary() -> str:
    if os.environ.get("DESK_BIN"):
        return os.environ["DESK_BIN"]
    built = ROOT / ".build" / "debug" / "desk"
    if built.is_file() and os.access(built, os.X_OK):
        return str(built)
    found = shutil.which("desk")
    if found:
        return found
    sys.exit(f"error: no desk binary: build it with `swift build` in {ROOT}, or set DESK_BIN")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Start, stop, restart and inspect the desk's strategies.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "stop", "restart", "status"):
        command = commands.add_parser(name, help=f"{name} strategies (all when none is named)")
        command.add_argument("strategies", nargs="*", metavar="FOLDER")
    logs = commands.add_parser("logs", help="show a strategy's log")
    logs.add_argument("strategy", metavar="FOLDER")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("--tail", type=int, default=50, help="lines to show first (default 50)")
    args = parser.parse_args(argv)

    desk = desk_binary()
    if args.command == "logs":
        command = [desk, "strategies", "logs", args.strategy, "--tail", str(args.tail)]
        if args.follow:
            command.append("--follow")
    else:
        command = [desk, "strategies", args.command, *args.strategies]
    os.execv(desk, command)


if __name__ == "__main__":
    main(sys.argv[1:])
