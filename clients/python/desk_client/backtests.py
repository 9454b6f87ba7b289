"""Backtests run by the club's desk: submit from a laptop, follow, download.

``desk_client.backtest(folder_or_name, data=[...])`` submits a backtest to the
desk (``POST /backtests``), follows its progress until it ends, downloads its
report and returns a :class:`Backtest`. A folder path is sent as an uploaded
strategy (a tar, base64); a name is one of your deployed strategies. Each data
entry is a local file path (uploaded) or a dict as the desk's contract says:
``{"file": "aapl-2026.jsonl"}`` (a file the desk holds), ``{"recorded": {"from":
"2026-03-02", "to": "2026-03-06"}}`` (the feed the desk recorded). Options are
``desk backtest``'s with ``_``: ``from_`` (or ``**{"from": ...}``), ``to``,
``fill_at``, ``commission``, ``slippage_bps``, ``capital``, ``sweep`` (a dict),
``walk_forward``, ``rank_by``, ``jobs``.

The desk and token come from the arguments, else ``DESK_SERVER_URL`` /
``DESK_TOKEN``, else the login ``desk login`` saved. Only the standard library
and ``requests``.
"""
from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from .archive import strategy_archive
from .errors import DeskConnectionError, DeskError, DeskRequestError
from .login import server_and_token

FINAL = ("completed", "failed", "canceled")
OPTIONS = ("from", "to", "fill_at", "commission", "slippage_bps", "capital", "sweep", "walk_forward", "rank_by",
           "jobs")


def _request(method: str, path: str, server: Optional[str], token: Optional[str], timeout: float = 60,
             **kwargs: Any) -> Any:
    import requests

    url, secret = server_and_token(server, token)
    try:
        reply = requests.request(method, url + path, headers={"Authorization": f"Bearer {secret}"},
                                 timeout=timeout, **kwargs)
    except requests.exceptions.ConnectionError as error:
        raise DeskConnectionError(f"cannot reach the desk at {url}: {error}", url) from None
    if reply.status_code >= 400:
        try:
            message = reply.json().get("message", reply.text)
        except ValueError:
            message = reply.text[:200]
        raise DeskRequestError(reply.status_code, message)
    return reply


def _data_set(entry: Union[str, os.PathLike, Dict[str, Any]]) -> Dict[str, Any]:
    if isinstance(entry, dict):
        return entry
    path = os.fspath(entry)
    with open(path, "rb") as handle:
        content = base64.b64encode(handle.read()).decode("ascii")
    return {"upload": {"name": os.path.basename(path), "content": content}}


def submit(strategy: Optional[str] = None, data: Iterable[Any] = (), *, folder: Optional[str] = None,
           name: Optional[str] = None, server: Optional[str] = None, token: Optional[str] = None,
           **options: Any) -> Dict[str, Any]:
    """Submits a backtest of your deployed ``strategy`` (or the strategy ``folder``, uploaded as
    ``name``) over ``data``; returns the desk's backtest object (status ``queued``)."""
    body: Dict[str, Any] = {"data": [_data_set(entry) for entry in data]}
    if folder is not None:
        body["archive"] = base64.b64encode(strategy_archive(Path(folder))).decode("ascii")
        body["name"] = name or os.path.basename(os.path.abspath(folder))
    else:
        body["strategy"] = strategy
    if "from_" in options:
        options["from"] = options.pop("from_")
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise DeskError(f"unknown backtest options {', '.join(unknown)}; allowed: {', '.join(OPTIONS)}")
    body.update({key: value for key, value in options.items() if value is not None})
    return _request("POST", "/backtests", server, token, json=body).json()


def get(backtest_id: str, server: Optional[str] = None, token: Optional[str] = None) -> Dict[str, Any]:
    """The backtest object (status, progress, cpu_seconds, error, result, files)."""
    return _request("GET", f"/backtests/{backtest_id}", server, token).json()


def list_backtests(server: Optional[str] = None, token: Optional[str] = None) -> List[Dict[str, Any]]:
    """Your backtests, newest first (an officer's: everyone's)."""
    return _request("GET", "/backtests", server, token).json()["backtests"]


def cancel(backtest_id: str, server: Optional[str] = None, token: Optional[str] = None) -> Dict[str, Any]:
    """Cancels a queued or running backtest; returns it afterwards."""
    return _request("POST", f"/backtests/{backtest_id}/cancel", server, token).json()


def download(backtest_id: str, name: str, path: Optional[str] = None, run: Optional[str] = None,
             server: Optional[str] = None, token: Optional[str] = None) -> str:
    """Saves one result file (report.html, report.json, equity.csv, sweep.json, sweep.html,
    walkforward.json, walkforward.html; a sweep's ``run``: its report files) at ``path``
    (default: the name in the current folder); returns the path."""
    where = f"/backtests/{backtest_id}/runs/{run}/{name}" if run else f"/backtests/{backtest_id}/files/{name}"
    reply = _request("GET", where, server, token)
    path = path or name
    with open(path, "wb") as handle:
        handle.write(reply.content)
    return path


class Backtest:
    """A backtest on the desk: its latest object (``id``, ``status``, ``progress``,
    ``cpu_seconds``, ``error``, ``files``), its ``report`` (the main result's JSON once
    completed) and ``path`` (the file downloaded at the end, if any)."""

    def __init__(self, view: Dict[str, Any], server: Optional[str], token: Optional[str]):
        self._server, self._token = server, token
        self.view = view
        self.report: Optional[Dict[str, Any]] = None
        self.path: Optional[str] = None

    def __getattr__(self, name: str) -> Any:
        view = self.__dict__.get("view") or {}
        if name in view:
            return view[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"Backtest({self.id}, {self.status})"

    def refresh(self) -> "Backtest":
        self.view = get(self.id, self._server, self._token)
        return self

    def cancel(self) -> "Backtest":
        self.view = cancel(self.id, self._server, self._token)
        return self

    def download(self, name: str = "report.html", path: Optional[str] = None) -> str:
        return download(self.id, name, path, server=self._server, token=self._token)

    def wait(self, progress: Optional[Callable[["Backtest"], None]] = None, poll: float = 0.5,
             timeout: Optional[float] = None) -> "Backtest":
        """Follows the backtest until it ends (``progress(self)`` at each change); reads its report."""
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = None
        while True:
            state = (self.status, json.dumps(self.view.get("progress"), sort_keys=True))
            if state != seen and progress is not None:
                progress(self)
            seen = state
            if self.status in FINAL:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise DeskError(f"backtest {self.id} is still {self.status} after {timeout} seconds")
            time.sleep(poll)
            self.refresh()
        if self.status == "completed" and self.view.get("result"):
            reply = _request("GET", f"/backtests/{self.id}/files/{self.view['result']}", self._server, self._token)
            self.report = reply.json()
        return self


def backtest(strategy_or_folder: str, data: Iterable[Any] = (), server: Optional[str] = None,
             token: Optional[str] = None, wait: bool = True,
             progress: Optional[Callable[[Backtest], None]] = None, download: Optional[str] = "report.html",
             name: Optional[str] = None, poll: float = 0.5, timeout: Optional[float] = None,
             **options: Any) -> Backtest:
    """Runs a backtest on the desk. ``strategy_or_folder``: a folder path (uploaded) or the
    name of one of your deployed strategies. With ``wait`` (default) it follows the run to
    its end, calling ``progress(backtest)`` as it changes, and saves ``download`` (default
    report.html into the current folder; a path: that file, named by its last part; None:
    nothing) once it completed. Raises
    ``DeskRequestError`` when the desk refuses the submission (400: what was wrong; 429:
    which cap)."""
    if os.path.isdir(strategy_or_folder):
        view = submit(data=data, folder=strategy_or_folder, name=name, server=server, token=token, **options)
    else:
        view = submit(strategy_or_folder, data, server=server, token=token, **options)
    run = Backtest(view, server, token)
    if not wait:
        return run
    run.wait(progress=progress, poll=poll, timeout=timeout)
    if download and run.status == "completed":
        run.path = run.download(os.path.basename(download), download)
    return run
