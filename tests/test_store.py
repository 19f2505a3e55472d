"""Tests of the SQLite design store, on real database files."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ml_systemization import store as store_module
from ml_systemization.errors import (
    DesignDeletedError,
    DesignNotFoundError,
    InvalidChangeError,
    StaleRevisionError,
    StoreError,
)
from ml_systemization.locations import default_db_path
from ml_systemization.model import SCHEMA_VERSION, Context, Design, SuccessMetric
from ml_systemization.store import (
    MIGRATIONS,
    DesignStore,
    SQLiteStore,
)
from ml_systemization.upgrades import DESIGN_UPGRADES, migrate_design

JOIN_TIMEOUT_S = 120


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "designs.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(db_path) as opened:
        yield opened


def design(feature: str | None = "Support answer assistant") -> Design:
    return Design(context=Context(feature=feature, problem="Agents answer the same questions"))


def add_metric(metric_id: str) -> Callable[[Design], Design]:
    """An update that appends one success metric, as a step tool would."""

    def apply(current: Design) -> Design:
        metrics = [*current.context.success_metrics, SuccessMetric(id=metric_id)]
        context = current.context.model_copy(update={"success_metrics": metrics})
        return current.model_copy(update={"context": context})

    return apply


def set_feature(feature: str) -> Callable[[Design], Design]:
    def apply(current: Design) -> Design:
        context = current.context.model_copy(update={"feature": feature})
        return current.model_copy(update={"context": context})

    return apply


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        return int(version)
    finally:
        conn.close()


# --------------------------------------------------------------------------- round trips


def test_a_created_design_reads_back_unchanged(store: SQLiteStore) -> None:
    created = store.create(design(), tool="start_design", actor="ana", change={"seed": 1})

    loaded = store.get(created.id)

    assert created.id.startswith("d-")
    assert loaded == created
    assert loaded.revision == 1
    assert loaded.feature == "Support answer assistant"
    assert loaded.design == design()
    assert loaded.created_at == loaded.updated_at
    assert loaded.created_at.utcoffset() == dt.timedelta(0)


def test_sqlite_store_satisfies_the_design_store_protocol(store: SQLiteStore) -> None:
    typed: DesignStore = store
    assert typed.list() == ([], 0)


def test_each_update_adds_a_revision_and_history_is_listed_newest_first(
    store: SQLiteStore,
) -> None:
    created = store.create(design(), tool="start_design", actor=None, change={"n": 0})
    store.update(created.id, add_metric("m1"), tool="update_context", actor="ana", change={"n": 1})
    third = store.update(
        created.id, add_metric("m2"), tool="update_context", actor="bo", change={"n": 2}
    )

    history, total = store.revisions(created.id)

    assert third.revision == 3
    assert third.created_at == created.created_at
    assert third.updated_at > created.updated_at
    assert total == 3
    assert [r.number for r in history] == [3, 2, 1]
    assert [r.tool for r in history] == ["update_context", "update_context", "start_design"]
    assert [r.actor for r in history] == ["bo", "ana", None]
    assert [r.change for r in history] == [{"n": 2}, {"n": 1}, {"n": 0}]
    assert history[0].at == third.updated_at
    assert [r.number for r in store.revisions(created.id, limit=1, offset=1)[0]] == [2]
    assert [m.id for m in store.get(created.id).design.context.success_metrics] == ["m1", "m2"]


def test_the_feature_column_follows_the_design(store: SQLiteStore) -> None:
    created = store.create(design("Old name"), tool="t", actor=None, change={})

    updated = store.update(created.id, set_feature("New name"), tool="t", actor=None, change={})

    assert updated.feature == "New name"
    assert store.list(query="new")[0][0].feature == "New name"


def test_designs_survive_closing_and_reopening_the_store(db_path: Path) -> None:
    with SQLiteStore(db_path) as first:
        created = first.create(design(), tool="t", actor=None, change={})
        first.update(created.id, add_metric("m1"), tool="t", actor=None, change={})

    with SQLiteStore(db_path) as second:
        loaded = second.get(created.id)
        assert loaded.revision == 2
        assert [m.id for m in loaded.design.context.success_metrics] == ["m1"]
        assert len(second.revisions(created.id)[0]) == 2


def test_an_in_memory_store_works_for_tests() -> None:
    with SQLiteStore(":memory:") as memory:
        created = memory.create(design(), tool="t", actor=None, change={})
        assert memory.get(created.id).revision == 1


# --------------------------------------------------------------------------- failures


def test_a_stale_revision_is_rejected_and_nothing_is_written(store: SQLiteStore) -> None:
    created = store.create(design(), tool="t", actor=None, change={})
    store.update(created.id, add_metric("m1"), tool="t", actor=None, change={})
    before = store.get(created.id)

    with pytest.raises(StaleRevisionError) as caught:
        store.update(
            created.id, add_metric("m2"), tool="t", actor=None, change={}, expected_revision=1
        )

    assert (caught.value.expected, caught.value.current) == (1, 2)
    assert store.get(created.id) == before
    assert len(store.revisions(created.id)[0]) == 2


def test_a_current_expected_revision_is_accepted(store: SQLiteStore) -> None:
    created = store.create(design(), tool="t", actor=None, change={})

    updated = store.update(
        created.id, add_metric("m1"), tool="t", actor=None, change={}, expected_revision=1
    )

    assert updated.revision == 2


def test_an_exception_inside_apply_is_reraised_unchanged_and_nothing_is_written(
    store: SQLiteStore,
) -> None:
    created = store.create(design(), tool="t", actor=None, change={})
    failure = RuntimeError("apply failed")

    def explode(current: Design) -> Design:
        raise failure

    with pytest.raises(RuntimeError) as caught:
        store.update(created.id, explode, tool="t", actor=None, change={})

    assert caught.value is failure
    assert store.get(created.id) == created
    assert len(store.revisions(created.id)[0]) == 1
    # The store is still usable: the transaction was rolled back, not left open.
    assert store.update(created.id, add_metric("m1"), tool="t", actor=None, change={}).revision == 2


def test_a_design_that_cannot_be_read_back_is_refused(store: SQLiteStore) -> None:
    created = store.create(design(), tool="t", actor=None, change={})

    def corrupt(current: Design) -> Design:
        broken = current.model_copy(deep=True)
        broken.context.feature = ""  # assignment is not validated; min_length is 1
        return broken

    with pytest.raises(ValidationError):
        store.update(created.id, corrupt, tool="t", actor=None, change={})

    assert store.get(created.id) == created


def test_an_unknown_design_id_raises_design_not_found(store: SQLiteStore) -> None:
    with pytest.raises(DesignNotFoundError):
        store.get("d-0000000000")
    with pytest.raises(DesignNotFoundError):
        store.update("d-0000000000", add_metric("m"), tool="t", actor=None, change={})
    with pytest.raises(DesignNotFoundError):
        store.revisions("d-0000000000")


def test_a_change_that_is_not_json_is_refused_before_anything_is_written(
    store: SQLiteStore,
) -> None:
    created = store.create(design(), tool="t", actor=None, change={})

    with pytest.raises(ValueError):
        store.update(created.id, add_metric("m"), tool="t", actor=None, change={"x": object()})

    assert store.get(created.id).revision == 1


def test_a_closed_store_raises_store_error(db_path: Path) -> None:
    opened = SQLiteStore(db_path)
    opened.close()
    opened.close()

    with pytest.raises(StoreError):
        opened.list()


@pytest.mark.parametrize("kind", ["parent_is_a_file", "path_is_a_directory"])
def test_an_unopenable_path_raises_store_error_naming_it(tmp_path: Path, kind: str) -> None:
    if kind == "parent_is_a_file":
        (tmp_path / "file").write_text("x", encoding="utf-8")
        path = tmp_path / "file" / "designs.sqlite3"
    else:
        path = tmp_path

    with pytest.raises(StoreError, match="Cannot open") as caught:
        SQLiteStore(path)

    assert str(path) in str(caught.value)


def test_a_file_that_is_not_a_database_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"this is not a database, just some text that is long enough " * 20)

    with pytest.raises(StoreError, match=r"notes\.sqlite3"):
        SQLiteStore(path)


def test_a_design_written_by_a_newer_version_raises_store_error(
    store: SQLiteStore, db_path: Path
) -> None:
    created = store.create(design(), tool="t", actor=None, change={})
    conn = sqlite3.connect(db_path)
    try:
        conn.execute(
            "UPDATE designs SET doc = json_set(doc, '$.schema_version', 999) WHERE id = ?",
            (created.id,),
        )
        conn.commit()
    finally:
        conn.close()

    with pytest.raises(StoreError, match="Upgrade the package"):
        store.get(created.id)


# --------------------------------------------------------------------------- listing


def test_listing_is_newest_updated_first_with_paging_total_and_query(
    store: SQLiteStore,
) -> None:
    a = store.create(design("Support answer assistant"), tool="t", actor=None, change={})
    b = store.create(design("Fraud scoring"), tool="t", actor=None, change={})
    c = store.create(design("Поиск по базе знаний"), tool="t", actor=None, change={})
    d = store.create(design(None), tool="t", actor=None, change={})
    store.update(a.id, add_metric("m1"), tool="t", actor=None, change={})

    everything, total = store.list()
    first_page, total_paged = store.list(limit=2)
    second_page, _ = store.list(limit=2, offset=2)
    past_the_end, _ = store.list(limit=2, offset=10)

    assert [s.id for s in everything] == [a.id, d.id, c.id, b.id]
    assert total == total_paged == 4
    assert [s.id for s in first_page + second_page] == [s.id for s in everything]
    assert past_the_end == []
    assert everything[0].revision == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ASSIST", {"Support answer assistant"}),
        ("s", {"Fraud scoring", "Support answer assistant"}),
        ("ЗНАНИЙ", {"Поиск по базе знаний"}),
        ("50%_off", set()),
        (None, {"Support answer assistant", "Fraud scoring", "Поиск по базе знаний", None}),
        ("", {"Support answer assistant", "Fraud scoring", "Поиск по базе знаний", None}),
    ],
)
def test_the_query_filters_feature_names_by_substring_ignoring_case(
    store: SQLiteStore, query: str | None, expected: set[str | None]
) -> None:
    for feature in ["Support answer assistant", "Fraud scoring", "Поиск по базе знаний", None]:
        store.create(design(feature), tool="t", actor=None, change={})

    summaries, total = store.list(query=query)

    assert {s.feature for s in summaries} == expected
    assert total == len(expected)


def test_negative_paging_arguments_are_rejected(store: SQLiteStore) -> None:
    with pytest.raises(ValueError):
        store.list(limit=-1)
    with pytest.raises(ValueError):
        store.revisions("d-x", offset=-1)


# --------------------------------------------------------------------------- migrations


def test_a_fresh_database_ends_at_the_latest_schema_version_in_wal_mode(
    store: SQLiteStore, db_path: Path
) -> None:
    assert user_version(db_path) == len(MIGRATIONS)
    conn = sqlite3.connect(db_path)
    try:
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(designs)")}
    finally:
        conn.close()
    assert mode == "wal"
    assert "designs_by_updated_at" in indexes


def test_reopening_does_not_rerun_migrations(db_path: Path) -> None:
    with SQLiteStore(db_path) as first:
        created = first.create(design(), tool="t", actor=None, change={})

    # CREATE TABLE without IF NOT EXISTS would fail if the first migration ran again.
    with SQLiteStore(db_path) as second:
        assert second.get(created.id).revision == 1
    assert user_version(db_path) == len(MIGRATIONS)


def test_a_new_migration_is_applied_once_to_an_existing_database(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SQLiteStore(db_path).close()
    counting = ("count_runs", "CREATE TABLE runs (n INTEGER);\nINSERT INTO runs VALUES (1);")
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, counting])

    SQLiteStore(db_path).close()
    SQLiteStore(db_path).close()

    conn = sqlite3.connect(db_path)
    try:
        (runs,) = conn.execute("SELECT count(*) FROM runs").fetchone()
    finally:
        conn.close()
    assert runs == 1
    assert user_version(db_path) == len(MIGRATIONS) + 1


def test_a_failing_migration_rolls_back_and_raises_store_error(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SQLiteStore(db_path).close()
    broken = ("broken", "CREATE TABLE half (n INTEGER);\nINSERT INTO nowhere VALUES (1);")
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, broken])

    with pytest.raises(StoreError, match="broken"):
        SQLiteStore(db_path)

    conn = sqlite3.connect(db_path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert "half" not in tables
    assert user_version(db_path) == len(MIGRATIONS)


def test_a_database_from_a_newer_version_raises_store_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()

    with pytest.raises(StoreError, match="Upgrade the package"):
        SQLiteStore(db_path)


def test_every_older_design_schema_version_has_an_upgrade_step() -> None:
    assert set(DESIGN_UPGRADES) == set(range(1, SCHEMA_VERSION))


def test_migrate_design_leaves_a_current_document_unchanged() -> None:
    data = design().model_dump(mode="json")

    assert migrate_design(data) == data


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0, "1"])
def test_migrate_design_refuses_unknown_schema_versions(version: object) -> None:
    with pytest.raises(StoreError):
        migrate_design({"schema_version": version})


# --------------------------------------------------------------------------- default path


def test_default_db_path_honours_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ML_SYSTEMIZATION_DB", str(tmp_path / "mine.sqlite3"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    assert default_db_path() == tmp_path / "mine.sqlite3"


def test_default_db_path_honours_xdg_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ML_SYSTEMIZATION_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    assert default_db_path() == tmp_path / "xdg" / "ml-systemization" / "designs.sqlite3"


@pytest.mark.parametrize(
    ("platform", "parts"),
    [
        ("linux", (".local", "share")),
        ("darwin", ("Library", "Application Support")),
        ("win32", ("AppData", "Local")),
    ],
)
def test_default_db_path_falls_back_to_the_platform_data_folder(
    monkeypatch: pytest.MonkeyPatch, platform: str, parts: tuple[str, str]
) -> None:
    monkeypatch.delenv("ML_SYSTEMIZATION_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "relative/is/ignored")
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    monkeypatch.setattr(sys, "platform", platform)

    assert default_db_path() == Path.home().joinpath(*parts, "ml-systemization", "designs.sqlite3")


# --------------------------------------------------------------------------- concurrency


def test_concurrent_threads_never_lose_an_update(store: SQLiteStore) -> None:
    created = store.create(design(), tool="t", actor=None, change={})
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        start.wait(timeout=JOIN_TIMEOUT_S)
        for i in range(per_thread):
            store.update(
                created.id, add_metric(f"t{worker}-{i}"), tool="t", actor=None, change={"i": i}
            )

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(work, worker) for worker in range(threads)]
        for future in futures:
            future.result(timeout=JOIN_TIMEOUT_S)

    final = store.get(created.id)
    ids = [m.id for m in final.design.context.success_metrics]
    assert final.revision == 1 + threads * per_thread
    assert sorted(ids) == sorted(f"t{w}-{i}" for w in range(threads) for i in range(per_thread))
    assert len(store.revisions(created.id, limit=1000)[0]) == final.revision


def _process_worker(path: str, design_id: str, worker: int, count: int, start: Any) -> None:
    """Runs in a spawned process: its own store on the shared file."""
    start.wait(timeout=JOIN_TIMEOUT_S)
    with SQLiteStore(path) as own:
        for i in range(count):
            own.update(design_id, add_metric(f"p{worker}-{i}"), tool="t", actor=None, change={})


def test_two_processes_on_one_file_never_lose_an_update(db_path: Path) -> None:
    with SQLiteStore(db_path) as opened:
        design_id = opened.create(design(), tool="t", actor=None, change={}).id
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    count = 30
    processes = [
        context.Process(target=_process_worker, args=(str(db_path), design_id, w, count, start))
        for w in range(2)
    ]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=JOIN_TIMEOUT_S)
        assert [p.exitcode for p in processes] == [0, 0]
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(timeout=10)

    with SQLiteStore(db_path) as reopened:
        final = reopened.get(design_id)
    ids = {m.id for m in final.design.context.success_metrics}
    assert ids == {f"p{w}-{i}" for w in range(2) for i in range(count)}
    assert final.revision == 1 + 2 * count
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


# --------------------------------------------------------------------------- delete, restore


def test_restore_works_within_retention_and_purge_expired_removes_only_expired(
    db_path: Path,
) -> None:
    with SQLiteStore(db_path, retention_days=30) as store:
        old = store.create(design("Old"), tool="t", actor=None, change={})
        recent = store.create(design("Recent"), tool="t", actor=None, change={})
        kept = store.create(design("Kept"), tool="t", actor=None, change={})
        deleted = store.delete(old.id, actor="ana")
        store.delete(recent.id, actor="ana")
        assert deleted.deleted_at is not None
        later = deleted.deleted_at + dt.timedelta(days=31)

        with pytest.raises(InvalidChangeError, match="longer ago than the retention period"):
            store.restore(old.id, actor="ana", now=later)
        assert store.purge_expired(now=deleted.deleted_at + dt.timedelta(days=29)) == []
        purged = store.purge_expired(now=later)

        assert purged == [old.id, recent.id]
        with pytest.raises(DesignNotFoundError):
            store.get(old.id, include_deleted=True)
        assert store.get(kept.id).revision == 1


def test_a_deleted_design_refuses_writes_until_restored(store: SQLiteStore) -> None:
    created = store.create(design(), tool="t", actor=None, change={})
    store.delete(created.id, actor=None, expected_revision=1)

    with pytest.raises(DesignDeletedError):
        store.update(created.id, add_metric("m"), tool="t", actor=None, change={})
    with pytest.raises(StaleRevisionError):
        store.restore(created.id, actor=None, expected_revision=1)
    restored = store.restore(created.id, actor=None, expected_revision=2)

    assert restored.revision == 3
    assert restored.deleted_at is None
    assert store.update(created.id, add_metric("m"), tool="t", actor=None, change={}).revision == 4
    with pytest.raises(InvalidChangeError, match="not deleted"):
        store.purge(created.id)
