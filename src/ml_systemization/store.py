"""Persistence of designs and their revision history; the only module that contains SQL."""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
import secrets
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, Self

from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter, ValidationError

from ml_systemization.errors import DesignNotFoundError, StaleRevisionError, StoreError
from ml_systemization.model import MODEL_CONFIG, SCHEMA_VERSION, Design

APP_DIR = "ml-systemization"
DB_FILENAME = "designs.sqlite3"
DB_ENV_VAR = "ML_SYSTEMIZATION_DB"
BUSY_TIMEOUT_MS = 10_000

# Named schema migrations, applied in order, each in its own transaction; PRAGMA user_version
# counts how many have been applied. Append only: never edit or reorder a released entry.
MIGRATIONS: list[tuple[str, str]] = [
    (
        "create_designs_and_revisions",
        """
        CREATE TABLE designs (
            id         TEXT PRIMARY KEY,
            revision   INTEGER NOT NULL CHECK (revision >= 1),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            feature    TEXT,
            doc        TEXT NOT NULL
        );
        CREATE TABLE revisions (
            design_id TEXT NOT NULL REFERENCES designs (id) ON DELETE CASCADE,
            revision  INTEGER NOT NULL CHECK (revision >= 1),
            at        TEXT NOT NULL,
            tool      TEXT NOT NULL,
            actor     TEXT,
            change    TEXT NOT NULL,
            PRIMARY KEY (design_id, revision)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "index_designs_by_updated_at",
        "CREATE INDEX designs_by_updated_at ON designs (updated_at, id);",
    ),
]

DesignUpgrade = Callable[[dict[str, Any]], dict[str, Any]]

# DESIGN_UPGRADES[n] turns a stored design document of schema_version n into version n + 1.
# Each SCHEMA_VERSION bump adds one entry; version 1 is the first, so there is none yet.
DESIGN_UPGRADES: dict[int, DesignUpgrade] = {}

_CHANGE = TypeAdapter(dict[str, Any])


class DesignSummary(BaseModel):
    """One design in a listing: its identity and timestamps, without the document."""

    model_config = MODEL_CONFIG

    id: str = Field(description="Design id")
    revision: int = Field(ge=1, description="Current revision; 1 after creation")
    created_at: AwareDatetime = Field(description="Creation time, UTC")
    updated_at: AwareDatetime = Field(description="Time of the latest revision, UTC")
    feature: str | None = Field(description="Feature name (context.feature)")


class DesignRecord(DesignSummary):
    """A stored design: the summary fields plus the current document."""

    design: Design = Field(description="The current design")


class RevisionInfo(BaseModel):
    """One entry of a design's history."""

    model_config = MODEL_CONFIG

    number: int = Field(ge=1, description="Revision number; 1 is the creation")
    at: AwareDatetime = Field(description="When it was written, UTC")
    tool: str = Field(description="Tool that wrote it")
    actor: str | None = Field(description="Who asked for it, if known")
    change: dict[str, Any] = Field(description="The change as requested")


class DesignStore(Protocol):
    """What the server needs from a design database; SQLiteStore is the one implementation."""

    def create(
        self, design: Design, *, tool: str, actor: str | None, change: dict[str, Any]
    ) -> DesignRecord: ...

    def get(self, design_id: str) -> DesignRecord: ...

    def list(
        self, *, limit: int = 50, offset: int = 0, query: str | None = None
    ) -> tuple[builtins.list[DesignSummary], int]: ...

    def update(
        self,
        design_id: str,
        apply: Callable[[Design], Design],
        *,
        tool: str,
        actor: str | None,
        change: dict[str, Any],
        expected_revision: int | None = None,
    ) -> DesignRecord: ...

    def revisions(
        self, design_id: str, *, limit: int = 50, offset: int = 0
    ) -> builtins.list[RevisionInfo]: ...

    def close(self) -> None: ...


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


def migrate_design(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored design document up to the current ``SCHEMA_VERSION``.

    Args:
        data: The parsed JSON of a stored design; not modified.

    Returns:
        A document of the current schema version.

    Raises:
        StoreError: The document is from a newer version of the package, or its
            ``schema_version`` is not a positive integer.
    """
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StoreError(f"A stored design has an invalid schema_version {version!r}.")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"A stored design has schema_version {version}, but this version of "
            f"ml-systemization knows only up to {SCHEMA_VERSION}. Upgrade the package."
        )
    upgraded = dict(data)
    while version < SCHEMA_VERSION:
        upgraded = DESIGN_UPGRADES[version](upgraded)
        version += 1
        upgraded["schema_version"] = version
    return upgraded


class SQLiteStore:
    """Designs in one SQLite file: the current document per design plus an append-only history.

    One connection per store, shared by all threads and serialized by a lock; every write is
    one ``BEGIN IMMEDIATE`` transaction, so writers in other processes wait for each other
    instead of losing updates. Use as a context manager, or call ``close()``.
    """

    def __init__(self, path: Path | str) -> None:
        """Open (creating if needed) and migrate the database at ``path``.

        Args:
            path: The database file; its parent folders are created. ``":memory:"`` gives a
                private in-memory database, for tests.

        Raises:
            StoreError: The file cannot be opened or created (the message names the path and
                the OS reason), is not a database, or was written by a newer package version.
        """
        self.path = path if str(path) == ":memory:" else Path(path).expanduser()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = self._connect()

    # ------------------------------------------------------------------ lifecycle

    def _connect(self) -> sqlite3.Connection:
        if isinstance(self.path, Path):
            _probe_writable(self.path)
        try:
            # isolation_level=None: the sqlite3 module never opens transactions on its own;
            # each method says BEGIN IMMEDIATE/COMMIT/ROLLBACK itself. check_same_thread=False
            # because the MCP SDK calls sync tools from worker threads; self._lock serializes.
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the design database {self.path}: {exc}.") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            # An acknowledged change must survive a power loss, not only a crash of this
            # process; in WAL mode FULL costs one fsync of the log per commit.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.create_function("casefold", 1, _casefold, deterministic=True)
            _migrate(conn, self.path)
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(
                f"Cannot use {self.path} as the design database: {exc}. Point "
                f"{DB_ENV_VAR} at another file or move this one aside."
            ) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        """Close the connection; further calls on this store raise StoreError. Idempotent."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        """Run the body in one transaction: commit at the end, roll back on any exception.

        Exceptions from the body are re-raised unchanged, except sqlite3 errors, which become
        StoreError so the caller gets a message rather than a driver error.
        """
        with self._lock:
            conn = self._conn
            if conn is None:
                raise StoreError("The design store is closed; open a new SQLiteStore.")
            try:
                conn.execute(begin)
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    # SQLite rolls back by itself after some errors (e.g. a full disk).
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreError(
                    f"The design database {self.path} failed: {exc}. Nothing was written; "
                    "retry, and check free disk space and file permissions if it persists."
                ) from exc

    # ------------------------------------------------------------------ reads

    def get(self, design_id: str) -> DesignRecord:
        """Return the current revision of a design.

        Args:
            design_id: The id returned by ``create``.

        Raises:
            DesignNotFoundError: No design has this id.
            StoreError: The database failed, or the stored document cannot be read by this
                version of the package.
        """
        with self._transaction("BEGIN") as conn:
            row = conn.execute(
                "SELECT revision, created_at, updated_at, doc FROM designs WHERE id = ?",
                (design_id,),
            ).fetchone()
        if row is None:
            raise DesignNotFoundError(design_id)
        revision, created_at, updated_at, doc = row
        return _record(design_id, revision, created_at, updated_at, _load_design(design_id, doc))

    def list(
        self, *, limit: int = 50, offset: int = 0, query: str | None = None
    ) -> tuple[builtins.list[DesignSummary], int]:
        """List designs, most recently updated first.

        Args:
            limit: Maximum number of summaries to return.
            offset: Number of summaries to skip, for paging.
            query: If given, keep only designs whose feature name contains it, ignoring case.

        Returns:
            The page of summaries, and the total number of matching designs.

        Raises:
            ValueError: ``limit`` or ``offset`` is negative.
        """
        _check_page(limit, offset)
        where: str = ""
        params: tuple[str, ...] = ()
        if query:
            where, params = "WHERE instr(casefold(feature), ?) > 0", (query.casefold(),)
        with self._transaction("BEGIN") as conn:
            (total,) = conn.execute(f"SELECT count(*) FROM designs {where}", params).fetchone()
            rows = conn.execute(
                "SELECT id, revision, created_at, updated_at, feature FROM designs "
                f"{where} ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        summaries = [
            DesignSummary(
                id=design_id,
                revision=revision,
                created_at=_parse_time(created_at),
                updated_at=_parse_time(updated_at),
                feature=feature,
            )
            for design_id, revision, created_at, updated_at, feature in rows
        ]
        return summaries, total

    def revisions(
        self, design_id: str, *, limit: int = 50, offset: int = 0
    ) -> builtins.list[RevisionInfo]:
        """List a design's revisions, newest first.

        Args:
            design_id: The design.
            limit: Maximum number of revisions to return.
            offset: Number of revisions to skip, for paging.

        Raises:
            DesignNotFoundError: No design has this id.
            ValueError: ``limit`` or ``offset`` is negative.
        """
        _check_page(limit, offset)
        with self._transaction("BEGIN") as conn:
            exists = conn.execute("SELECT 1 FROM designs WHERE id = ?", (design_id,)).fetchone()
            rows = conn.execute(
                "SELECT revision, at, tool, actor, change FROM revisions WHERE design_id = ? "
                "ORDER BY revision DESC LIMIT ? OFFSET ?",
                (design_id, limit, offset),
            ).fetchall()
        if exists is None:
            raise DesignNotFoundError(design_id)
        return [
            RevisionInfo(
                number=number,
                at=_parse_time(at),
                tool=tool,
                actor=actor,
                change=_CHANGE.validate_json(change),
            )
            for number, at, tool, actor, change in rows
        ]

    # ------------------------------------------------------------------ writes

    def create(
        self, design: Design, *, tool: str, actor: str | None, change: dict[str, Any]
    ) -> DesignRecord:
        """Store a new design as revision 1.

        Args:
            design: The initial design.
            tool: Name of the tool that creates it, kept in the history.
            actor: Who asked for it, if known.
            change: The request as received, kept in the history.

        Returns:
            The stored record with its new id.

        Raises:
            pydantic.ValidationError: The design does not survive a JSON round trip (it was
                mutated into an invalid state); nothing is stored.
            StoreError: The database failed; nothing is stored.
            ValueError: ``change`` cannot be serialized to JSON; nothing is written.
        """
        doc, stored = _dump_design(design)
        change_json = _CHANGE.dump_json(change).decode()
        with self._transaction("BEGIN IMMEDIATE") as conn:
            design_id = _new_id(conn)
            now = _timestamp(conn)
            conn.execute(
                "INSERT INTO designs (id, revision, created_at, updated_at, feature, doc) "
                "VALUES (?, 1, ?, ?, ?, ?)",
                (design_id, now, now, stored.context.feature, doc),
            )
            _append_revision(conn, design_id, 1, now, tool, actor, change_json)
        return _record(design_id, 1, now, now, stored)

    def update(
        self,
        design_id: str,
        apply: Callable[[Design], Design],
        *,
        tool: str,
        actor: str | None,
        change: dict[str, Any],
        expected_revision: int | None = None,
    ) -> DesignRecord:
        """Apply a change to the current design and store the result as the next revision.

        Read, ``apply`` and write happen in one ``BEGIN IMMEDIATE`` transaction, so concurrent
        writers (threads or processes) queue up and none loses another's update.

        Args:
            design_id: The design to change.
            apply: Pure function from the current design to the new one. Anything it raises
                rolls the transaction back and is re-raised unchanged.
            tool: Name of the tool making the change, kept in the history.
            actor: Who asked for it, if known.
            change: The request as received, kept in the history.
            expected_revision: If given, the change is refused unless this is the current
                revision (optimistic concurrency for read-then-write callers).

        Returns:
            The stored record at its new revision.

        Raises:
            DesignNotFoundError: No design has this id; nothing is written.
            StaleRevisionError: ``expected_revision`` is not current; nothing is written.
            pydantic.ValidationError: The result of ``apply`` does not survive a JSON round
                trip; nothing is written.
            StoreError: The database failed; nothing is written.
            ValueError: ``change`` cannot be serialized to JSON; nothing is written.
        """
        change_json = _CHANGE.dump_json(change).decode()
        with self._transaction("BEGIN IMMEDIATE") as conn:
            row = conn.execute(
                "SELECT revision, created_at, doc FROM designs WHERE id = ?", (design_id,)
            ).fetchone()
            if row is None:
                raise DesignNotFoundError(design_id)
            current, created_at, old_doc = row
            if expected_revision is not None and expected_revision != current:
                raise StaleRevisionError(design_id, expected_revision, current)
            doc, stored = _dump_design(apply(_load_design(design_id, old_doc)))
            revision = current + 1
            now = _timestamp(conn)
            conn.execute(
                "UPDATE designs SET revision = ?, updated_at = ?, feature = ?, doc = ? "
                "WHERE id = ?",
                (revision, now, stored.context.feature, doc, design_id),
            )
            _append_revision(conn, design_id, revision, now, tool, actor, change_json)
        return _record(design_id, revision, created_at, now, stored)


# ---------------------------------------------------------------------- helpers


def _probe_writable(path: Path) -> None:
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


def _migrate(conn: sqlite3.Connection, path: Path | str) -> None:
    """Apply the migrations this database lacks, each in its own transaction."""
    latest = len(MIGRATIONS)
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    _check_schema_version(version, latest, path)
    for target, (name, sql) in enumerate(MIGRATIONS[version:], start=version + 1):
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-read under the write lock: another process may have migrated meanwhile.
                (version,) = conn.execute("PRAGMA user_version").fetchone()
                _check_schema_version(version, latest, path)
                if version < target:
                    for statement in _statements(sql):
                        conn.execute(statement)
                    # PRAGMA takes no parameters; target is an int from enumerate.
                    conn.execute(f"PRAGMA user_version = {target}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(
                f"Migration {target} ({name}) of the design database {path} failed: {exc}."
            ) from exc


def _check_schema_version(version: int, latest: int, path: Path | str) -> None:
    if version > latest:
        raise StoreError(
            f"The design database {path} has schema version {version}, but this version of "
            f"ml-systemization knows only up to {latest}. Upgrade the package "
            "(pip install -U ml-systemization-mcp), or point "
            f"{DB_ENV_VAR} at another file."
        )


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into single statements, which is what execute() accepts.

    executescript() would run them all, but it commits any open transaction first, which
    would drop the write lock taken to check user_version.
    """
    pieces = script.split(";")
    pending = ""
    for piece in pieces[:-1]:
        pending += piece + ";"
        # A ';' inside a string literal or a trigger body does not end the statement.
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if (pending + pieces[-1]).strip():
        raise ValueError(f"Migration SQL does not end with ';': {pending + pieces[-1]!r}")


def _casefold(value: str | None) -> str | None:
    # SQLite's LIKE and lower() fold ASCII only; feature names are often not ASCII.
    return None if value is None else value.casefold()


def _check_page(limit: int, offset: int) -> None:
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must be >= 0, got limit={limit}, offset={offset}")


def _new_id(conn: sqlite3.Connection) -> str:
    # 40 random bits: short enough to type, and a collision is checked under the write lock.
    while True:
        design_id = "d-" + secrets.token_hex(5)
        if conn.execute("SELECT 1 FROM designs WHERE id = ?", (design_id,)).fetchone() is None:
            return design_id


def _timestamp(conn: sqlite3.Connection) -> str:
    """Now in UTC as fixed-width ISO 8601, later than every stored updated_at.

    Called under the write lock, so listing order is write order even when the clock is
    coarse or steps back; the text sorts chronologically.
    """
    now = dt.datetime.now(dt.UTC)
    (latest,) = conn.execute("SELECT max(updated_at) FROM designs").fetchone()
    if latest is not None:
        now = max(now, _parse_time(latest) + dt.timedelta(microseconds=1))
    return now.isoformat(timespec="microseconds")


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _dump_design(design: Design) -> tuple[str, Design]:
    """Serialize a design and read it back, so nothing is stored that cannot be loaded.

    Pydantic does not validate attribute assignment, so a design may have been mutated into
    an invalid state; storing it would make the design unreadable from then on.
    """
    doc = design.model_dump_json()
    return doc, Design.model_validate_json(doc)


def _load_design(design_id: str, doc: str) -> Design:
    try:
        design = Design.model_validate_json(doc)
    except ValidationError:
        design = None  # perhaps an older schema that migrate_design knows how to upgrade
    if design is not None and design.schema_version == SCHEMA_VERSION:
        return design
    try:
        return Design.model_validate(migrate_design(json.loads(doc)))
    except ValidationError as exc:
        raise StoreError(
            f"The stored design {design_id!r} does not match this version's schema "
            f"({exc.error_count()} errors, first at {_first_loc(exc)}). Upgrade the package, "
            "or restore the database from a backup."
        ) from exc


def _first_loc(exc: ValidationError) -> str:
    errors = exc.errors()
    return ".".join(str(part) for part in errors[0]["loc"]) if errors else "?"


def _append_revision(
    conn: sqlite3.Connection,
    design_id: str,
    revision: int,
    at: str,
    tool: str,
    actor: str | None,
    change_json: str,
) -> None:
    conn.execute(
        "INSERT INTO revisions (design_id, revision, at, tool, actor, change) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (design_id, revision, at, tool, actor, change_json),
    )


def _record(
    design_id: str, revision: int, created_at: str, updated_at: str, design: Design
) -> DesignRecord:
    return DesignRecord(
        id=design_id,
        revision=revision,
        created_at=_parse_time(created_at),
        updated_at=_parse_time(updated_at),
        feature=design.context.feature,
        design=design,
    )
