"""Where designs live by default, and an early check that the database path is usable.

Kept apart from `store` (which loads the design models) so that the command line and the
server's start-up can resolve and check the path without paying for those imports.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ml_systemization.errors import StoreError

APP_DIR = "ml-systemization"
DB_FILENAME = "designs.sqlite3"
DB_ENV_VAR = "ML_SYSTEMIZATION_DB"


def default_db_path() -> Path:
    """Where designs are stored unless the caller says otherwise.

    Returns:
        ``$ML_SYSTEMIZATION_DB`` if set; else ``designs.sqlite3`` in an ``ml-systemization``
        folder under ``$XDG_DATA_HOME``, or under the platform's per-user data folder
        (``~/.local/share``, ``%LOCALAPPDATA%``, ``~/Library/Application Support``).
    """
    explicit = os.environ.get(DB_ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    return _user_data_dir() / APP_DIR / DB_FILENAME


def _user_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    # The XDG spec says a relative value is invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        return Path(local) if local else Path.home() / "AppData" / "Local"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    return Path.home() / ".local" / "share"


def probe_writable(path: Path) -> None:
    """Create the parent folders and the file, so a failure carries the OS reason.

    sqlite3 reports every such failure as "unable to open database file"; the OS error says
    which folder is missing, read-only or a file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as exc:
        if isinstance(exc, FileExistsError):  # from mkdir: the name is taken by a file
            reason = f"{exc.filename} is a file, not a folder"
        else:
            reason = f"{exc.strerror or exc} ({exc.filename or path})"
        raise StoreError(
            f"Cannot open the design database {path}: {reason}. Set {DB_ENV_VAR} to a "
            "writable file path."
        ) from exc
