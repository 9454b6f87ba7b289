"""The login `desk login` and `python -m desk_client login` share: one file,
``$DESK_LOGIN_FILE``, else ``$XDG_CONFIG_HOME/desk/login.json``, else
``~/.config/desk/login.json``; JSON ``{"member", "server", "token"}``; mode
0600 in a folder of mode 0700, written whole (a temporary file renamed into
place) or not at all. A file others may read is refused: its token may have
leaked.
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from .errors import DeskError


@dataclass(frozen=True)
class Login:
    """A saved login: the desk's URL, the member's token, and who the desk said the token is."""

    server: str
    token: str
    member: str


def login_path(environ: Optional[Mapping[str, str]] = None) -> Path:
    """Where the login file is for this environment (as the Swift ``LoginFile.path``)."""
    env = os.environ if environ is None else environ
    if env.get("DESK_LOGIN_FILE"):
        return Path(env["DESK_LOGIN_FILE"])
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "desk" / "login.json"


def load_login(path: Optional[Path] = None) -> Optional[Login]:
    """The saved login, or None when there is none; raises ``DeskError`` for a
    file others may read or one that is not a login file."""
    path = login_path() if path is None else Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if os.name == "posix" and mode & 0o077:
        raise DeskError(f"{path} can be read by other users (mode {stat.S_IMODE(mode):o}): revoke its token, "
                        "delete the file and log in again")
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        return Login(server=str(saved["server"]), token=str(saved["token"]), member=str(saved["member"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DeskError(f"{path} is not a login file `desk login` wrote ({error}): delete it and log in again") \
            from error


def save_login(login: Login, path: Optional[Path] = None) -> Path:
    """Writes the login file (mode 0600 from its first byte) and returns its path."""
    path = login_path() if path is None else Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.parent / f".login-{os.getpid()}.json"
    text = json.dumps({"member": login.member, "server": login.server, "token": login.token}, indent=2,
                      sort_keys=True)
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        try:
            temporary.unlink()
        except OSError:
            pass
        raise DeskError(f"cannot write {path}: {error}") from error
    return path
