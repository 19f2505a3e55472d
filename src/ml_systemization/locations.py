"""Where designs live by default, and early checks that the paths `serve` uses are usable.

Kept apart from `store` and `render` (which load the design models and Jinja2) so that the
command line and the server's start-up can resolve and check the paths without paying for
those imports; the store and the renderer open on the first call that needs them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ml_systemization.errors import StoreError, TemplateError

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


SQLITE_MAGIC = b"SQLite format 3\x00"


def check_database_file(path: Path) -> None:
    """Refuse an existing file that is not an SQLite database, before anything is served.

    The store makes the full check (the schema version too) when it opens, on the first
    call; this one only reads the file's first 16 bytes.
    """
    with path.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head and head != SQLITE_MAGIC:
        raise StoreError(
            f"Cannot use {path} as the design database: it is not an SQLite database. Point "
            f"{DB_ENV_VAR} (or --db) at another file or move this one aside."
        )


def check_templates_dir(path: Path) -> None:
    """Refuse a template override folder that does not exist (the renderer's check too)."""
    if not path.is_dir():
        raise TemplateError(
            f"Template override directory {path} does not exist; create it "
            "or leave the setting unset to use the built-in templates."
        )
