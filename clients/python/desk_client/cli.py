"""``python -m desk_client login|deploy|start|stop|logs|backtest``: a member's
desk from a laptop with only Python (no Swift toolchain).

The server and token come from ``--server`` / ``--token``, else
``DESK_SERVER_URL`` / ``DESK_TOKEN``, else the login ``login`` (or the Swift
``desk login``) saved: both tools share one file (see ``desk_client.login``).
Every failure prints ``error: <what was wrong>`` on stderr and exits 1; bad
arguments exit 2 with the usage.
"""
from __future__ import annotations

import argparse
import getpass
import http.client
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import quote, urlencode, urlsplit

from ._transport import Transport, timeout_errors
from .archive import strategy_archive
from .errors import DeskError
from .login import load_login, login_path

#: Folders a deploy leaves out (caches and version control), as ``desk strategies deploy`` does.
#: Seconds to wait for one answer (``DESK_CLIENT_TIMEOUT``).
TIMEOUT = float(os.environ.get("DESK_CLIENT_TIMEOUT", "60"))


class Failure(Exception):
    """A command that could not do what it was asked: its message is printed, the exit status is 1."""


# MARK: Talking to the desk


class Desk:
    """A desk at ``server`` spoken to with ``token``."""

    def __init__(self, server: str, token: str):
        self.server = server.rstrip("/")
        self.token = token
        self.transport = Transport(self.server)

    def headers(self, content_type: Optional[str] = None) -> Dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}", "User-Agent": "desk_client-cli/2.0"}
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                content_type: str = "application/json") -> Any:
        """The answer's JSON; a refusal raises ``Failure`` with the desk's message."""
        try:
            reply = self.transport.session().request(
                method, self.transport.url(path), timeout=TIMEOUT,
                headers=self.headers(content_type if body is not None else None), data=body)
        except timeout_errors() as error:
            raise Failure(f"the desk at {self.server} did not answer {method} {path} within {TIMEOUT} s") from error
        except (OSError, http.client.HTTPException) as error:
            raise Failure(f"no desk is answering at {self.server} ({error}): check --server") from error
        if reply.status_code >= 400:
            raise Failure(f"the desk refused {method} {path.split('?')[0]} ({reply.status_code}): {message(reply)}")
        try:
            return json.loads(reply.content) if reply.content else None
        except ValueError as error:
            raise Failure(f"the desk's answer to {method} {path} is not JSON: {reply.content[:200]!r}") from error

    def stream(self, path: str, out: Any) -> None:
        """Copies a streamed answer (a followed log) to ``out`` until the desk ends it."""
        parts = urlsplit(self.server)
        if self.transport.socket_path is not None:
            from ._transport import _UnixConnection
            connection: http.client.HTTPConnection = _UnixConnection(self.transport.socket_path, None)
        elif parts.scheme == "https":
            connection = http.client.HTTPSConnection(parts.hostname or "", parts.port)
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80)
        try:
            connection.request("GET", path, headers=self.headers())
            reply = connection.getresponse()
            if reply.status >= 400:
                raise Failure(f"the desk refused GET {path.split('?')[0]} ({reply.status}): "
                              f"{_text_message(reply.read())}")
            while True:
                chunk = reply.read1(65536)
                if not chunk:
                    return
                out.write(chunk.decode("utf-8", "replace"))
                out.flush()
        except (OSError, http.client.HTTPException) as error:
            raise Failure(f"no desk is answering at {self.server} ({error}): check --server") from error
        finally:
            connection.close()


def message(reply: Any) -> str:
    """The desk's message in a refusal (its JSON ``message``/``error``, else the body's start)."""
    return _text_message(reply.content)


def _text_message(content: bytes) -> str:
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "reason"):
            if isinstance(body.get(key), str):
                return body[key]
    text = " ".join(content[:400].decode("utf-8", "replace").split())
    return text or "it gave no reason"


def connect(args: argparse.Namespace) -> Desk:
    """The desk and token from the flags, the environment, or the saved login."""
    try:
        login = load_login()
    except DeskError as error:
        raise Failure(str(error)) from error
    server = args.server or os.environ.get("DESK_SERVER_URL") or (login["server"] if login else None)
    if not server:
        raise Failure("no desk: pass --server URL, set DESK_SERVER_URL, or run `python -m desk_client login` first")
    # The saved token goes only to the server it was saved for.
    saved = login["token"] if login and login["server"].rstrip("/") == server.rstrip("/") else None
    token = args.token or os.environ.get("DESK_TOKEN") or saved
    if not token:
        raise Failure(f"no token: pass --token, set DESK_TOKEN, or run `python -m desk_client login --server {server}`")
    return Desk(server, token)


# MARK: Commands


def login(args: argparse.Namespace) -> None:
    token = args.token or os.environ.get("DESK_TOKEN") or _typed_token()
    if not token:
        raise Failure("no token: pass --token, set DESK_TOKEN, or type it when asked")
    desk = Desk(args.server, token)
    try:
        session = desk.request("GET", "/session")
    except Failure as error:
        raise Failure(str(error).replace("the desk refused GET /session", "the desk refused the token")) from None
    path = save_login({"member": session["member"], "server": args.server, "token": token})
    admin = " (admin)" if session.get("admin") else ""
    print(f"logged in to {args.server} as {session['member']}{admin}; saved in {path}")


def save_login(login: Dict[str, str]) -> Path:
    """Writes the login file as `desk login` does: mode 0600 from its first byte, in a
    folder of mode 0700, whole (a temporary file renamed into place) or not at all."""
    path = Path(login_path())
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.parent / f".login-{os.getpid()}.json"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(json.dumps(login, indent=2, sort_keys=True))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise Failure(f"cannot write {path}: {error}") from error
    return path


def _typed_token() -> Optional[str]:
    if sys.stdin.isatty():
        typed = getpass.getpass("Token: ")
    else:
        typed = sys.stdin.readline()
    return typed.strip() or None


def deploy(args: argparse.Namespace) -> None:
    folder = Path(args.folder).resolve()
    name = args.name or folder.name
    if not args.name and "." in name:
        raise Failure(f"the folder's name {name} is not a strategy name; rename the folder or pass --name")
    archive = strategy_archive(folder)
    desk = connect(args)
    path = f"/strategies/{quote(name, safe='')}" + ("?start=1" if args.start else "")
    reply = desk.request("PUT", path, archive, content_type="application/x-tar")
    line = f"deployed {reply['name']} for {reply['member']}: {reply['files']} files, {reply['bytes']} bytes"
    if reply.get("previous_kept"):
        line += f"; the previous version is kept (desk strategies rollback {reply['name']})"
    print(line)
    started = reply.get("started")
    if started:
        print(f"{started['name']}: {started['message']}")
        if not started.get("ok"):
            raise Failure(f"deployed {reply['name']}, but could not start it: {started['message']}")


def start_or_stop(args: argparse.Namespace) -> None:
    desk = connect(args)
    reply = desk.request("POST", f"/strategies/{args.command}", json.dumps({"names": args.names}).encode())
    failed = []
    for result in reply.get("results", []):
        print(f"{result['name']}: {result['message']}")
        if not result.get("ok"):
            failed.append(result["name"])
    if failed:
        raise Failure(f"could not {args.command} {', '.join(failed)}")


def logs(args: argparse.Namespace) -> None:
    if args.tail < 0:
        raise Failure("--tail must be 0 or more lines")
    desk = connect(args)
    query = urlencode({"tail": args.tail, **({"follow": "1"} if args.follow else {})})
    path = f"/strategies/{quote(args.name, safe='')}/logs?{query}"
    if args.follow:
        try:
            desk.stream(path, sys.stdout)
        except KeyboardInterrupt:
            pass
        return
    for line in desk.request("GET", path).get("lines", []):
        print(line)


# MARK: backtest


def parse_sweep(path: Optional[str]) -> Optional[Any]:
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise Failure(f"cannot read --sweep {path}: {error.strerror}") from error
    except ValueError as error:
        raise Failure(f"--sweep {path} is not JSON ({error}): give SWEEP.json, e.g. "
                      '{"grid": {"WINDOW": ["10", "20"]}}') from error


def data_sets(files: Sequence[str], recorded: Optional[str]) -> List[Any]:
    """``--data FILE``: a file on this machine (uploaded), or ``desk:NAME`` (a file the desk holds);
    ``--recorded FROM:TO``: the desk's recorded feed."""
    sets: List[Any] = []
    for given in files:
        if given.startswith("desk:"):
            sets.append({"file": given[len("desk:"):]})
        else:
            path = Path(given)
            if not path.is_file():
                raise Failure(f"--data {given} is not a file: give a .jsonl/.csv file on this machine, "
                              "or desk:NAME for a file the desk holds")
            sets.append(path)
    if recorded:
        first, _, last = recorded.partition(":")
        sets.append({"recorded": {"from": first, "to": last or first}})
    if not sets:
        raise Failure("no data: give --data FILE (or desk:NAME) or --recorded FROM:TO")
    return sets


def backtest(args: argparse.Namespace) -> None:
    from . import backtests as service  # h3's client of POST /backtests

    desk = connect(args)
    target = Path(args.strategy)
    strategy: Any = target if target.is_dir() else args.strategy
    options: Dict[str, Any] = {}
    for option in ("from_", "to", "fill_at", "commission", "slippage_bps", "capital", "walk_forward",
                   "rank_by", "jobs"):
        value = getattr(args, option)
        if value is not None:
            options[option.rstrip("_")] = value
    sweep = parse_sweep(args.sweep)
    if sweep is not None:
        options["sweep"] = sweep
    if args.walk_forward and sweep is None:
        raise Failure("--walk-forward needs --sweep SWEEP.json: the parameters to choose on each training window")
    out = Path(args.out) if args.out else Path("backtests")
    main = "walkforward.html" if args.walk_forward else "sweep.html" if sweep is not None else "report.html"

    def progress(view: Any) -> None:
        done = _field(view, "progress") or {}
        print(f"{_field(view, 'id')}: {_field(view, 'status')} "
              f"{done.get('runs_done', 0)}/{done.get('runs_total', 0)} runs", file=sys.stderr, flush=True)

    try:
        result = service.backtest(strategy, data=data_sets(args.data, args.recorded), server=desk.server,
                                  token=desk.token, wait=True, progress=progress, download=None, **options)
    except DeskError as error:
        raise Failure(str(error)) from error
    status = _field(result, "status")
    identifier = _field(result, "id")
    if status != "completed":
        raise Failure(f"backtest {identifier} {status}: {_field(result, 'error') or 'no reason given'}")
    out.mkdir(parents=True, exist_ok=True)
    files = _field(result, "files") or []
    wanted = [name for name in files if name.endswith((".html", ".json", ".csv"))]
    for name in wanted:
        try:
            service.download(identifier, name, out / name, server=desk.server, token=desk.token)
        except DeskError as error:
            raise Failure(f"cannot download {name} of {identifier}: {error}") from error
    print_figures(out, main)
    print(f"backtest {identifier}: {out / main}")


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def print_figures(out: Path, main: str) -> None:
    """The figures of the downloaded result: a single report's per member, or a sweep's ranked runs."""
    if (out / "report.json").is_file() and main == "report.html":
        report = json.loads((out / "report.json").read_text())
        rows = [[member, str(figures.get("total_pnl")), str(figures.get("fills")), str(figures.get("sharpe")),
                 str(figures.get("max_drawdown"))] for member, figures in sorted(report.get("members", {}).items())]
        table(["member", "total_pnl", "fills", "sharpe", "max_drawdown"], rows)
    elif (out / "sweep.json").is_file():
        runs = json.loads((out / "sweep.json").read_text()).get("runs", [])
        names = sorted({name for run in runs for name in run.get("params", {})})
        rows = [[str(run.get("rank"))] + [str(run.get("params", {}).get(name, "")) for name in names]
                + [str(run.get("total_pnl")), str(run.get("sharpe"))]
                for run in sorted(runs, key=lambda run: run.get("rank") or 1 << 30)]
        table(["rank"] + names + ["total_pnl", "sharpe"], rows)
    elif (out / "walkforward.json").is_file():
        print((out / "walkforward.json").read_text())


def table(header: List[str], rows: List[List[str]]) -> None:
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


# MARK: Arguments


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m desk_client",
        description="A member's desk from a laptop: log in, deploy, start, stop, read logs, run backtests on the desk.")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        if name != "login":
            sub.add_argument("--server", help="the desk's URL (env DESK_SERVER_URL; else the saved login's)")
        sub.add_argument("--token", help="your member token (env DESK_TOKEN; else the saved login's)")
        return sub

    sub = command("login", "Check a token with the desk and save the server and token "
                           f"(in {login_path()}, shared with `desk login`).")
    sub.add_argument("--server", required=True, help="the desk's URL, e.g. https://desk.example.org")
    sub.set_defaults(run=login)

    sub = command("deploy", "Upload a strategy's folder (strategy.py, config.json, …) as your strategy.")
    sub.add_argument("folder", help="the folder that holds strategy.py")
    sub.add_argument("--name", help="the strategy's name (default: the folder's)")
    sub.add_argument("--start", action="store_true", help="start it once deployed")
    sub.set_defaults(run=deploy)

    for action in ("start", "stop"):
        sub = command(action, f"{action.capitalize()} your deployed strategies (none named: all of them).")
        sub.add_argument("names", nargs="*", metavar="NAME")
        sub.set_defaults(run=start_or_stop)

    sub = command("logs", "Print one of your strategies' log.")
    sub.add_argument("name", metavar="NAME")
    sub.add_argument("--tail", type=int, default=100, help="lines from the end (default 100)")
    sub.add_argument("--follow", action="store_true", help="keep printing new lines until interrupted")
    sub.set_defaults(run=logs)

    sub = command("backtest", "Run a backtest (a sweep, a walk-forward) on the desk and download its pages.")
    sub.add_argument("strategy", metavar="FOLDER_OR_NAME",
                     help="a strategy folder on this machine (uploaded), or the name of one you deployed")
    sub.add_argument("--data", nargs="+", default=[], metavar="FILE",
                     help="tick files (.jsonl/.csv) on this machine, uploaded; desk:NAME for a file the desk holds")
    sub.add_argument("--recorded", metavar="FROM:TO", help="the desk's recorded feed, New York dates YYYY-MM-DD")
    sub.add_argument("--sweep", metavar="SWEEP.json", help='parameter sweep, e.g. {"grid": {"WINDOW": ["10", "20"]}}')
    sub.add_argument("--walk-forward", metavar="SPEC", help="train=60d,test=20d[,step=20d][,anchored] (with --sweep)")
    sub.add_argument("--rank-by", choices=["total_pnl", "sharpe", "sortino", "calmar", "max_drawdown"])
    sub.add_argument("--jobs", type=int, help="runs at once within the backtest (the desk caps it)")
    sub.add_argument("--from", dest="from_", metavar="DATE", help="first New York day, YYYY-MM-DD")
    sub.add_argument("--to", metavar="DATE", help="last New York day, YYYY-MM-DD")
    sub.add_argument("--fill-at", help="as desk backtest --fill-at")
    sub.add_argument("--commission", help="dollars per share")
    sub.add_argument("--slippage-bps", help="basis points")
    sub.add_argument("--capital", help="starting capital per member")
    sub.add_argument("--out", metavar="DIR", help="where the pages and JSON go (default ./backtests)")
    sub.set_defaults(run=backtest)
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except Failure as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except DeskError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
