"""Persistence of designs and their revision history; the only module that contains SQL."""

from __future__ import annotations

import builtins
import datetime as dt
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self

from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter, ValidationError

from ml_systemization import designcache, history
from ml_systemization.errors import (
    DesignDeletedError,
    DesignNotFoundError,
    InvalidChangeError,
    RevisionError,
    StaleRevisionError,
    StoreError,
)
from ml_systemization.limits import check_document
from ml_systemization.locations import DB_ENV_VAR, probe_writable
from ml_systemization.model import MODEL_CONFIG, SCHEMA_VERSION, Design
from ml_systemization.settings import DEFAULT_RETENTION_DAYS, Limits
from ml_systemization.upgrades import migrate_design

BUSY_TIMEOUT_MS = 10_000
# Designs whose current revision a store keeps in memory (about 0.5 MB each for a complete
# design): enough for the few designs one conversation edits at a time.
DEFAULT_CACHE_SIZE = 16
# A revision stores the full document every CHECKPOINT_EVERY revisions (1, 17, 33, ...) and a
# field-level diff from the previous revision always, so rebuilding any revision applies at
# most CHECKPOINT_EVERY - 1 diffs to the nearest checkpoint before it.
CHECKPOINT_EVERY = 16

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
    (
        # Revisions written before this migration kept only the request (`change`): the
        # latest one per design gets the current document as its checkpoint, so history can
        # rebuild and diff from there on; older ones keep their metadata and request only.
        "revision_diffs_checkpoints_and_soft_delete",
        """
        ALTER TABLE revisions ADD COLUMN diff TEXT;
        ALTER TABLE revisions ADD COLUMN checkpoint TEXT;
        ALTER TABLE designs ADD COLUMN deleted_at TEXT;
        UPDATE revisions SET checkpoint = (
            SELECT doc FROM designs WHERE designs.id = revisions.design_id
        )
        WHERE revision = (
            SELECT designs.revision FROM designs WHERE designs.id = revisions.design_id
        );
        CREATE INDEX designs_deleted ON designs (deleted_at) WHERE deleted_at IS NOT NULL;
        """,
    ),
]

_CHANGE = TypeAdapter(dict[str, Any])
# Revision 1 records its diff from an empty design, so its history lists the fields it set.
_EMPTY: dict[str, Any] = Design().model_dump(mode="json")


class DesignSummary(BaseModel):
    """One design in a listing: its identity and timestamps, without the document."""

    model_config = MODEL_CONFIG

    id: str = Field(description="Design id")
    revision: int = Field(ge=1, description="Current revision; 1 after creation")
    created_at: AwareDatetime = Field(description="Creation time, UTC")
    updated_at: AwareDatetime = Field(description="Time of the latest revision, UTC")
    feature: str | None = Field(description="Feature name (context.feature)")
    deleted_at: AwareDatetime | None = Field(None, description="When it was deleted, if it was")


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
    paths: builtins.list[str] | None = Field(
        description="Fields this revision changed; None when not recorded (before history)"
    )


class DesignStore(Protocol):
    """What the server needs from a design database; SQLiteStore is the one implementation."""

    def create(
        self, design: Design, *, tool: str, actor: str | None, change: dict[str, Any]
    ) -> DesignRecord: ...

    def get(self, design_id: str) -> DesignRecord: ...

    def list(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        query: str | None = None,
        include_deleted: bool = False,
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
    ) -> tuple[builtins.list[RevisionInfo], int]: ...

    def design_at(self, design_id: str, revision: int) -> Design: ...

    def diff(
        self, design_id: str, from_revision: int, to_revision: int | None = None
    ) -> tuple[builtins.list[history.Change], int]: ...

    def revert(
        self,
        design_id: str,
        to_revision: int,
        *,
        actor: str | None,
        expected_revision: int | None = None,
    ) -> tuple[DesignRecord, builtins.list[history.Change]]: ...

    def delete(
        self, design_id: str, *, actor: str | None, expected_revision: int | None = None
    ) -> DesignRecord: ...

    def restore(
        self, design_id: str, *, actor: str | None, expected_revision: int | None = None
    ) -> DesignRecord: ...

    def purge(self, design_id: str) -> int: ...

    def purge_expired(self) -> builtins.list[str]: ...

    def close(self) -> None: ...


class SQLiteStore:
    """Designs in one SQLite file: the current document per design plus an append-only history.

    One connection per store, shared by all threads and serialized by a lock; every write is
    one ``BEGIN IMMEDIATE`` transaction, so writers in other processes wait for each other
    instead of losing updates. Use as a context manager, or call ``close()``.

    Reading the current design is one row of ``designs``. Each revision row keeps the request
    (``change``), the field-level diff from the previous revision, and every
    ``CHECKPOINT_EVERY`` revisions the full document, from which ``design_at`` rebuilds any
    revision without replaying the whole history.

    The current revision of recently used designs stays in memory (``designcache``), so that
    a change to one section reads, validates, checks and diffs only that section. An entry is
    used only when the row's revision and updated_at, read in the same transaction, are still
    its own: a write by another store or process makes it stale, and the row is loaded as
    without a cache. Designs returned by the store may be shared with that cache: never modify one.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        limits: Limits | None = None,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        """Open (creating if needed) and migrate the database at ``path``.

        Args:
            path: The database file; its parent folders are created. ``":memory:"`` gives a
                private in-memory database, for tests.
            limits: Size limits every stored document must meet (default: ``Limits()``).
            retention_days: Days a deleted design can be restored before it may be purged.
            cache_size: Designs whose current revision is kept in memory; 0 keeps none (every
                call then reads, validates and diffs whole documents).

        Raises:
            StoreError: The file cannot be opened or created (the message names the path and
                the OS reason), is not a database, or was written by a newer package version.
        """
        self.path = path if str(path) == ":memory:" else Path(path).expanduser()
        self.limits = limits or Limits()
        self.retention = dt.timedelta(days=retention_days)
        # Reentrant: update() holds it from its read to the cache update after COMMIT, around
        # the transaction, which takes it too.
        self._lock = threading.RLock()
        self._cache = designcache.DesignCache(cache_size)
        self._conn: sqlite3.Connection | None = self._connect()

    # ------------------------------------------------------------------ lifecycle

    def _connect(self) -> sqlite3.Connection:
        if isinstance(self.path, Path):
            probe_writable(self.path)
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
            # WAL: readers never block the writer and a crash mid-commit leaves the last
            # committed state (the log is replayed or ignored on open).
            conn.execute("PRAGMA journal_mode = WAL")
            # An acknowledged change must survive a power loss, not only a crash of this
            # process; in WAL mode FULL costs one fsync of the log per commit (NORMAL would
            # lose the last commits on power loss, though never corrupt the file).
            conn.execute("PRAGMA synchronous = FULL")
            # macOS's fsync leaves data in the drive's cache; F_FULLFSYNC flushes it (a no-op
            # elsewhere). Designs change a few times a minute, so the cost is not felt.
            conn.execute("PRAGMA fullfsync = ON")
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

    def get(self, design_id: str, *, include_deleted: bool = False) -> DesignRecord:
        """Return the current revision of a design: one row read, whatever its history.

        Args:
            design_id: The id returned by ``create``.
            include_deleted: Also return a deleted design instead of raising.

        Raises:
            DesignNotFoundError: No design has this id.
            DesignDeletedError: The design is deleted (and ``include_deleted`` is false).
            StoreError: The database failed, or the stored document cannot be read by this
                version of the package.
        """
        with self._transaction("BEGIN") as conn:
            row, entry = self._current_row(conn, design_id, include_deleted=include_deleted)
        return _record(row, entry.design if entry else _load_design(design_id, row.doc))

    def list(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        query: str | None = None,
        include_deleted: bool = False,
    ) -> tuple[builtins.list[DesignSummary], int]:
        """List designs, most recently updated first.

        Args:
            limit: Maximum number of summaries to return.
            offset: Number of summaries to skip, for paging.
            query: If given, keep only designs whose feature name contains it, ignoring case.
            include_deleted: Also list deleted designs (their ``deleted_at`` is set).

        Returns:
            The page of summaries, and the total number of matching designs.

        Raises:
            ValueError: ``limit`` or ``offset`` is negative.
        """
        _check_page(limit, offset)
        conditions: builtins.list[str] = []
        params: tuple[str, ...] = ()
        if query:
            conditions.append("instr(casefold(feature), ?) > 0")
            params = (query.casefold(),)
        if not include_deleted:
            conditions.append("deleted_at IS NULL")
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._transaction("BEGIN") as conn:
            (total,) = conn.execute(f"SELECT count(*) FROM designs {where}", params).fetchone()
            rows = conn.execute(
                "SELECT id, revision, created_at, updated_at, feature, deleted_at FROM designs "
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
                deleted_at=_parse_time(deleted_at) if deleted_at else None,
            )
            for design_id, revision, created_at, updated_at, feature, deleted_at in rows
        ]
        return summaries, total

    def revisions(
        self, design_id: str, *, limit: int = 50, offset: int = 0
    ) -> tuple[builtins.list[RevisionInfo], int]:
        """List a design's revisions, newest first.

        Args:
            design_id: The design.
            limit: Maximum number of revisions to return.
            offset: Number of revisions to skip, for paging.

        Returns:
            The page, and the number of revisions (the current revision number).

        Raises:
            DesignNotFoundError: No design has this id.
            DesignDeletedError: The design is deleted.
            ValueError: ``limit`` or ``offset`` is negative.
        """
        _check_page(limit, offset)
        with self._transaction("BEGIN") as conn:
            current = self._row(conn, design_id)
            rows = conn.execute(
                "SELECT revision, at, tool, actor, change, diff FROM revisions "
                "WHERE design_id = ? ORDER BY revision DESC LIMIT ? OFFSET ?",
                (design_id, limit, offset),
            ).fetchall()
        return [
            RevisionInfo(
                number=number,
                at=_parse_time(at),
                tool=tool,
                actor=actor,
                change=_CHANGE.validate_json(change),
                paths=history.changed_paths(history.loads(diff)) if diff is not None else None,
            )
            for number, at, tool, actor, change, diff in rows
        ], current.revision

    def design_at(self, design_id: str, revision: int) -> Design:
        """Rebuild a design as it was at ``revision``, upgraded to the current schema.

        Raises:
            DesignNotFoundError, DesignDeletedError: as for ``get``.
            RevisionError: The revision does not exist, or predates the recorded history.
        """
        with self._transaction("BEGIN") as conn:
            current = self._row(conn, design_id)
            doc = _document_at(conn, current, revision)
        return _design_from(design_id, doc)

    def diff(
        self, design_id: str, from_revision: int, to_revision: int | None = None
    ) -> tuple[builtins.list[history.Change], int]:
        """Field-level changes from one revision to another (default: the current one).

        Returns:
            The changes, and the revision they lead to.

        Raises:
            DesignNotFoundError, DesignDeletedError: as for ``get``.
            RevisionError: A revision does not exist, or predates the recorded history.
        """
        with self._transaction("BEGIN") as conn:
            current = self._row(conn, design_id)
            target = current.revision if to_revision is None else to_revision
            before = _document_at(conn, current, from_revision)
            after = _document_at(conn, current, target)
        return history.diff(before, after), target

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
            LimitExceededError: The design is over a size limit; nothing is stored.
            StoreError: The database failed; nothing is stored.
            ValueError: ``change`` cannot be serialized to JSON; nothing is written.
        """
        doc, stored = _dump_design(design)
        new = self._checked(doc)
        change_json = _CHANGE.dump_json(change).decode()
        with self._transaction("BEGIN IMMEDIATE") as conn:
            design_id = _new_id(conn)
            now = _timestamp(conn)
            conn.execute(
                "INSERT INTO designs (id, revision, created_at, updated_at, feature, doc) "
                "VALUES (?, 1, ?, ?, ?, ?)",
                (design_id, now, now, stored.context.feature, doc),
            )
            _append_revision(
                conn, design_id, 1, now, tool, actor, change_json, history.diff(_EMPTY, new), doc
            )
        return _record(_Row(design_id, 1, now, now, doc, None), stored)

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
            DesignDeletedError: The design is deleted; nothing is written.
            StaleRevisionError: ``expected_revision`` is not current; the error lists the
                fields changed since; nothing is written.
            LimitExceededError: The result is over a size limit; nothing is written.
            pydantic.ValidationError: The result of ``apply`` does not survive a JSON round
                trip; nothing is written.
            StoreError: The database failed; nothing is written.
            ValueError: ``change`` cannot be serialized to JSON; nothing is written.
        """
        change_json = _CHANGE.dump_json(change).decode()
        # Held until the cache is updated, after COMMIT: the entry must describe what the
        # database holds, and no other thread of this store may write in between.
        with self._lock:
            with self._transaction("BEGIN IMMEDIATE") as conn:
                row, entry = self._current_row(conn, design_id)
                _check_expected(conn, row, expected_revision)
                if entry is None:
                    current, entry = self._load_row(row)
                else:
                    current = entry.design
                new = apply(current)
                planned = designcache.plan_write(entry, new, self.limits) if entry else None
                written: _Row | None = None
                if planned is None:
                    doc, stored = _dump_design(new)
                    record, _ = self._write(conn, row, doc, stored, tool, actor, change_json)
                else:
                    record, written = self._append(
                        conn,
                        row,
                        planned.doc,
                        planned.design,
                        planned.changes,
                        tool,
                        actor,
                        change_json,
                    )
            self._remember(record.id, written, planned)
        return record

    def revert(
        self,
        design_id: str,
        to_revision: int,
        *,
        actor: str | None,
        expected_revision: int | None = None,
    ) -> tuple[DesignRecord, builtins.list[history.Change]]:
        """Store the design as it was at ``to_revision`` as a new revision; nothing is deleted.

        Returns:
            The new record, and the changes the revert made to the current design.

        Raises:
            RevisionError: ``to_revision`` does not exist or predates the recorded history.
            As ``update`` otherwise.
        """
        change_json = _CHANGE.dump_json({"to_revision": to_revision}).decode()
        with self._transaction("BEGIN IMMEDIATE") as conn:
            row = self._row(conn, design_id)
            _check_expected(conn, row, expected_revision)
            old = _design_from(design_id, _document_at(conn, row, to_revision))
            doc, stored = _dump_design(old)
            return self._write(conn, row, doc, stored, "revert_design", actor, change_json)

    def delete(
        self, design_id: str, *, actor: str | None, expected_revision: int | None = None
    ) -> DesignRecord:
        """Mark a design deleted: it leaves listings and reads, and can be restored for the
        retention period. Recorded as a revision that changes no field.

        Raises:
            DesignNotFoundError, StaleRevisionError: as for ``update``.
            DesignDeletedError: It is already deleted.
        """
        return self._set_deleted(design_id, True, actor, expected_revision)

    def restore(
        self,
        design_id: str,
        *,
        actor: str | None,
        expected_revision: int | None = None,
        now: dt.datetime | None = None,
    ) -> DesignRecord:
        """Bring a deleted design back, if its retention period has not passed.

        Raises:
            DesignNotFoundError, StaleRevisionError: as for ``update``.
            InvalidChangeError: It is not deleted, or was deleted longer ago than retention.
        """
        return self._set_deleted(design_id, False, actor, expected_revision, now=now)

    def purge(self, design_id: str) -> int:
        """Remove a deleted design and its whole history from the database.

        Returns:
            The number of revisions removed.

        Raises:
            DesignNotFoundError: No design has this id.
            InvalidChangeError: The design is not deleted (delete it first).
        """
        with self._transaction("BEGIN IMMEDIATE") as conn:
            row = self._row(conn, design_id, include_deleted=True)
            if row.deleted_at is None:
                raise InvalidChangeError(
                    f"Design {design_id!r} is not deleted; nothing was purged. Call "
                    "delete_design first: only deleted designs can be purged."
                )
            self._cache.put(design_id, None)
            return _purge(conn, design_id)

    def purge_expired(self, *, now: dt.datetime | None = None) -> builtins.list[str]:
        """Purge every design deleted longer ago than the retention period.

        Returns:
            The ids of the purged designs.
        """
        cutoff = (now or dt.datetime.now(dt.UTC)) - self.retention
        with self._transaction("BEGIN IMMEDIATE") as conn:
            ids = [
                design_id
                for (design_id,) in conn.execute(
                    "SELECT id FROM designs WHERE deleted_at IS NOT NULL AND deleted_at < ? "
                    "ORDER BY deleted_at",
                    (cutoff.isoformat(timespec="microseconds"),),
                ).fetchall()
            ]
            for design_id in ids:
                _purge(conn, design_id)
                self._cache.put(design_id, None)
        return ids

    # ------------------------------------------------------------------ internals

    def _row(
        self, conn: sqlite3.Connection, design_id: str, *, include_deleted: bool = False
    ) -> _Row:
        found = conn.execute(
            "SELECT revision, created_at, updated_at, doc, deleted_at FROM designs WHERE id = ?",
            (design_id,),
        ).fetchone()
        if found is None:
            raise DesignNotFoundError(design_id)
        row = _Row(design_id, *found)
        if row.deleted_at is not None and not include_deleted:
            raise DesignDeletedError(design_id, row.deleted_at, self._restore_until(row))
        return row

    def _current_row(
        self, conn: sqlite3.Connection, design_id: str, *, include_deleted: bool = False
    ) -> tuple[_Row, designcache.CachedDesign | None]:
        """The row of ``design_id`` and, if cached at the row's revision, its cache entry.

        A hit reads only the row's small columns: the document is the cached one. The
        revision and updated_at are read inside the caller's transaction, so an entry older
        than a write by another store (or process) is never used.
        """
        found = conn.execute(
            "SELECT revision, created_at, updated_at, deleted_at FROM designs WHERE id = ?",
            (design_id,),
        ).fetchone()
        if found is not None and (found[3] is None or include_deleted):
            revision, created_at, updated_at, deleted_at = found
            entry = self._cache.get(design_id, revision, created_at, updated_at)
            if entry is not None:
                row = _Row(design_id, revision, created_at, updated_at, entry.doc, deleted_at)
                return row, entry
        # A miss, or an unknown or deleted design: _row raises the errors it always raised.
        return self._row(conn, design_id, include_deleted=include_deleted), None

    def _load_row(self, row: _Row) -> tuple[Design, designcache.CachedDesign | None]:
        """The design of a row read from the database, and a cache entry for it (None when
        caching is off or the stored text is not what this version writes)."""
        design = _load_design(row.id, row.doc)
        if self._cache.size <= 0:
            return design, None
        return design, designcache.entry_for(
            row.revision, row.created_at, row.doc, design, updated_at=row.updated_at
        )

    def _remember(
        self,
        design_id: str,
        written: _Row | None,
        planned: designcache.SectionWrite | None,
    ) -> None:
        """Cache what update() just committed (``written``: the row it wrote). A
        whole-document write is cached on the next update instead, which has to read it
        anyway (only a section write has the text of every field at hand)."""
        entry = None
        if written is not None and planned is not None and planned.cacheable:
            entry = designcache.CachedDesign(
                written.revision,
                written.created_at,
                planned.doc,
                planned.design,
                planned.parts,
                planned.parsed,
                self.limits,
                written.updated_at,
            )
        self._cache.put(design_id, entry)

    def _restore_until(self, row: _Row) -> str:
        assert row.deleted_at is not None
        return (_parse_time(row.deleted_at) + self.retention).isoformat(timespec="seconds")

    def _checked(self, doc: str) -> dict[str, Any]:
        """The document as JSON, once it is known to be within the limits."""
        data: dict[str, Any] = json.loads(doc)
        check_document(data, len(doc.encode("utf-8")), self.limits)
        return data

    def _write(
        self,
        conn: sqlite3.Connection,
        row: _Row,
        doc: str,
        stored: Design,
        tool: str,
        actor: str | None,
        change_json: str,
    ) -> tuple[DesignRecord, builtins.list[history.Change]]:
        """Store ``doc`` as the revision after ``row``, with its diff from ``row``."""
        new = self._checked(doc)
        # Diff against the document as stored, not as upgraded on load, so that applying the
        # diffs in order rebuilds exactly what was stored, across schema upgrades too.
        changes = history.diff(json.loads(row.doc), new)
        record, _ = self._append(conn, row, doc, stored, changes, tool, actor, change_json)
        return record, changes

    def _append(
        self,
        conn: sqlite3.Connection,
        row: _Row,
        doc: str,
        stored: Design,
        changes: builtins.list[history.Change],
        tool: str,
        actor: str | None,
        change_json: str,
    ) -> tuple[DesignRecord, _Row]:
        """Store ``doc`` (checked, with its diff from ``row``) as the revision after ``row``;
        returns the record and the row as written."""
        revision = row.revision + 1
        now = _timestamp(conn)
        conn.execute(
            "UPDATE designs SET revision = ?, updated_at = ?, feature = ?, doc = ? WHERE id = ?",
            (revision, now, stored.context.feature, doc, row.id),
        )
        checkpoint = doc if (revision - 1) % CHECKPOINT_EVERY == 0 else None
        _append_revision(conn, row.id, revision, now, tool, actor, change_json, changes, checkpoint)
        written = _Row(row.id, revision, row.created_at, now, doc, None)
        return _record(written, stored), written

    def _set_deleted(
        self,
        design_id: str,
        deleted: bool,
        actor: str | None,
        expected_revision: int | None,
        *,
        now: dt.datetime | None = None,
    ) -> DesignRecord:
        tool = "delete_design" if deleted else "restore_design"
        change_json = _CHANGE.dump_json({"deleted": deleted}).decode()
        with self._transaction("BEGIN IMMEDIATE") as conn:
            row = self._row(conn, design_id, include_deleted=not deleted)
            if not deleted:
                if row.deleted_at is None:
                    raise InvalidChangeError(
                        f"Design {design_id!r} is not deleted; there is nothing to restore."
                    )
                until = _parse_time(row.deleted_at) + self.retention
                if (now or dt.datetime.now(dt.UTC)) > until:
                    raise InvalidChangeError(
                        f"Design {design_id!r} was deleted at {row.deleted_at}, longer ago "
                        f"than the retention period ({self.retention.days} days); it can no "
                        "longer be restored and will be removed by `ml-systemization purge "
                        "--expired`."
                    )
            _check_expected(conn, row, expected_revision)
            revision = row.revision + 1
            at = _timestamp(conn)
            deleted_at = at if deleted else None
            conn.execute(
                "UPDATE designs SET revision = ?, updated_at = ?, deleted_at = ? WHERE id = ?",
                (revision, at, deleted_at, design_id),
            )
            checkpoint = row.doc if (revision - 1) % CHECKPOINT_EVERY == 0 else None
            _append_revision(
                conn, design_id, revision, at, tool, actor, change_json, [], checkpoint
            )
        updated = _Row(design_id, revision, row.created_at, at, row.doc, deleted_at)
        return _record(updated, _load_design(design_id, row.doc))


# ---------------------------------------------------------------------- helpers


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


@dataclass(frozen=True)
class _Row:
    """One row of ``designs``."""

    id: str
    revision: int
    created_at: str
    updated_at: str
    doc: str
    deleted_at: str | None


def _check_expected(conn: sqlite3.Connection, row: _Row, expected: int | None) -> None:
    """Refuse a write based on a stale read, naming the fields changed since."""
    if expected is None or expected == row.revision:
        return
    changed: builtins.list[str] | None = None
    if expected < row.revision:
        try:
            before = _document_at(conn, row, expected)
        except RevisionError:
            changed = None
        else:
            changed = history.changed_paths(history.diff(before, json.loads(row.doc)))
    raise StaleRevisionError(row.id, expected, row.revision, changed)


def _document_at(conn: sqlite3.Connection, row: _Row, revision: int) -> dict[str, Any]:
    """The stored JSON of ``row``'s design at ``revision``: the nearest checkpoint at or
    before it, plus at most CHECKPOINT_EVERY - 1 diffs."""
    if not 1 <= revision <= row.revision:
        raise RevisionError(
            f"Design {row.id!r} has revisions 1 to {row.revision}; there is no revision "
            f"{revision}. Call design_history to see them."
        )
    if revision == row.revision:
        current: dict[str, Any] = json.loads(row.doc)
        return current
    base = conn.execute(
        "SELECT revision, checkpoint FROM revisions WHERE design_id = ? AND revision <= ? "
        "AND checkpoint IS NOT NULL ORDER BY revision DESC LIMIT 1",
        (row.id, revision),
    ).fetchone()
    if base is None:
        (earliest,) = conn.execute(
            "SELECT min(revision) FROM revisions WHERE design_id = ? AND checkpoint IS NOT NULL",
            (row.id,),
        ).fetchone()
        raise RevisionError(
            f"Revision {revision} of design {row.id!r} was written before this database "
            "recorded document history; its request is in design_history, but its content "
            f"cannot be rebuilt. The earliest revision with content is {earliest}."
        )
    start, checkpoint = base
    doc: dict[str, Any] = json.loads(checkpoint)
    for number, diff in conn.execute(
        "SELECT revision, diff FROM revisions WHERE design_id = ? AND revision > ? "
        "AND revision <= ? ORDER BY revision",
        (row.id, start, revision),
    ).fetchall():
        if diff is None:
            raise RevisionError(f"Revision {number} of design {row.id!r} has no recorded diff.")
        try:
            doc = history.apply_in_place(doc, history.loads(diff))
        except ValueError as exc:
            raise StoreError(
                f"The history of design {row.id!r} is inconsistent at revision {number}: "
                f"{exc}. Restore the database from a backup."
            ) from exc
    return doc


def _design_from(design_id: str, doc: dict[str, Any]) -> Design:
    return _load_design(design_id, json.dumps(doc))


def _purge(conn: sqlite3.Connection, design_id: str) -> int:
    (count,) = conn.execute(
        "SELECT count(*) FROM revisions WHERE design_id = ?", (design_id,)
    ).fetchone()
    conn.execute("DELETE FROM revisions WHERE design_id = ?", (design_id,))
    conn.execute("DELETE FROM designs WHERE id = ?", (design_id,))
    return int(count)


def _append_revision(
    conn: sqlite3.Connection,
    design_id: str,
    revision: int,
    at: str,
    tool: str,
    actor: str | None,
    change_json: str,
    changes: builtins.list[history.Change],
    checkpoint: str | None,
) -> None:
    conn.execute(
        "INSERT INTO revisions (design_id, revision, at, tool, actor, change, diff, checkpoint) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (design_id, revision, at, tool, actor, change_json, history.dumps(changes), checkpoint),
    )


def _record(row: _Row, design: Design) -> DesignRecord:
    return DesignRecord(
        id=row.id,
        revision=row.revision,
        created_at=_parse_time(row.created_at),
        updated_at=_parse_time(row.updated_at),
        feature=design.context.feature,
        deleted_at=_parse_time(row.deleted_at) if row.deleted_at else None,
        design=design,
    )
