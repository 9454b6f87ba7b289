"""The login ``desk login`` saves, read the same way from Python.

``$DESK_LOGIN_FILE``, else ``$XDG_CONFIG_HOME/desk/login.json``, else
``~/.config/desk/login.json``: ``{"server": URL, "token": SECRET, "member": ID}``,
mode 0600. A file other users may read is refused (its token may have leaked),
as the ``desk`` command refuses it.
"""
from __future__ import annotations

import json
import os
import stat
from typing import Dict, Optional, Tuple

from .errors import DeskError


def login_path(environ: Optional[Dict[str, str]] = None) -> str:
    """Where the login file is for this environment."""
    env = os.environ if environ is None else environ
    if env.get("DESK_LOGIN_FILE"):
        return env["DESK_LOGIN_FILE"]
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".config")
    return os.path.join(base, "desk", "login.json")


def load_login(path: Optional[str] = None) -> Optional[Dict[str, str]]:
    """The saved login (``server``, ``token``, ``member``), or None when there is none."""
    path = path or login_path()
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_IMODE(mode) & 0o077:
        raise DeskError(
            f"{path} can be read by other users (mode {oct(stat.S_IMODE(mode))[2:]}): revoke its token, "
            "delete the file and log in again")
    try:
        with open(path, encoding="utf-8") as handle:
            login = json.load(handle)
        if not all(isinstance(login.get(key), str) for key in ("server", "token", "member")):
            raise ValueError("missing keys")
    except ValueError:
        raise DeskError(f"{path} is not a login file `desk login` wrote: delete it and log in again") from None
    return login


def server_and_token(server: Optional[str] = None, token: Optional[str] = None) -> Tuple[str, str]:
    """The desk's URL and the member's token: the arguments, else ``DESK_SERVER_URL`` /
    ``DESK_TOKEN``, else the saved login. The saved token goes only to the server it was
    saved for: given another server, it is not used (it would hand the token to that server)."""
    server = server or os.environ.get("DESK_SERVER_URL")
    token = token or os.environ.get("DESK_TOKEN")
    if not server or not token:
        login = load_login()
        if login:
            saved = login["server"].rstrip("/")
            server = server or saved
            if not token and server.rstrip("/") == saved:
                token = login["token"]
    if not server:
        raise DeskError("no desk to talk to: pass server=URL, set DESK_SERVER_URL, or log in (desk login)")
    if not token:
        raise DeskError("no token: pass token=..., set DESK_TOKEN, or log in (desk login)")
    return server.rstrip("/"), token
