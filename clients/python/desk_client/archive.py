"""A strategy folder as the desk takes it (``PUT /strategies/{name}``, an uploaded backtest): an
uncompressed tar of its files and folders, paths relative to it."""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from .errors import DeskError

SKIPPED = {"__pycache__", ".git", ".venv", ".mypy_cache", ".pytest_cache"}


def strategy_archive(folder: Path) -> bytes:
    """An uncompressed tar of the strategy's folder (paths relative to it), as the desk takes it:
    files and folders only, caches and version control left out."""
    if not folder.is_dir():
        raise DeskError(f"{folder} is not a folder: give the folder that holds strategy.py")
    if not (folder / "strategy.py").is_file():
        raise DeskError(f"{folder} has no strategy.py: a strategy's folder holds strategy.py (and config.json)")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        def add(relative: str) -> None:
            path = folder / relative if relative else folder
            for name in sorted(os.listdir(path)):
                if name in SKIPPED:
                    continue
                child = f"{relative}/{name}" if relative else name
                full = folder / child
                if full.is_symlink() or not (full.is_dir() or full.is_file()):
                    raise DeskError(f"{full} is a link or special file; the desk takes only files and folders "
                                  "(copy what it points to instead)")
                info = tarfile.TarInfo(child)
                info.mode = 0o755 if full.is_dir() else 0o644
                if full.is_dir():
                    info.type = tarfile.DIRTYPE
                    archive.addfile(info)
                    add(child)
                else:
                    data = full.read_bytes()
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
        add("")
    return buffer.getvalue()
