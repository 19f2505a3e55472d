"""Durability with real processes: concurrent servers on one SQLite file, and SIGKILL mid-write.

Each server is the installed console script serving streamable HTTP on 127.0.0.1, driven by
the SDK client. Every wait is bounded; nothing synchronizes by sleeping.
"""

from __future__ import annotations

import random
import re
import socket
import sqlite3
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest
from mcp import Client

from ml_systemization.model import Context, Design
from ml_systemization.store import SQLiteStore

pytestmark = pytest.mark.anyio

SCRIPT = Path(sys.executable).parent / "ml-systemization"
STARTUP_S = 30
READY = b"Uvicorn running on"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """One `ml-systemization serve --transport http` process."""

    process: anyio.abc.Process
    url: str
    log: bytearray = field(default_factory=bytearray)


@asynccontextmanager
async def http_server(db: Path) -> AsyncIterator[Server]:
    """Start a server on a free port; ready once uvicorn says it listens. Killed on exit."""
    port = _free_port()
    process = await anyio.open_process(
        [str(SCRIPT), "serve", "--transport", "http", "--port", str(port), "--db", str(db)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = Server(process, f"http://127.0.0.1:{port}/mcp")
    ready = anyio.Event()

    async def drain() -> None:
        # Keep reading, or a full stderr pipe would block the server's logging.
        assert process.stderr is not None
        async for chunk in process.stderr:
            server.log.extend(chunk)
            if READY in server.log:
                ready.set()
        ready.set()  # EOF: the process ended; the check below reports it

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(drain)
            with anyio.fail_after(STARTUP_S):
                await ready.wait()
            assert READY in server.log, server.log.decode(errors="replace")
            try:
                yield server
            finally:
                if process.returncode is None:
                    process.kill()
                with anyio.fail_after(10):
                    await process.wait()
    finally:
        if process.returncode is None:
            process.kill()


def marker_of(revision_change: dict[str, Any]) -> str | None:
    metrics = revision_change.get("set", {}).get("success_metrics") or []
    return str(metrics[0]["id"]) if metrics else None


def add_metric(design_id: str, marker: str, expected: int | None = None) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "design_id": design_id,
        "context": {"success_metrics": [{"id": marker}]},
    }
    if expected is not None:
        arguments["expected_revision"] = expected
    return arguments


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        (result,) = conn.execute("PRAGMA integrity_check").fetchone()
        return str(result)
    finally:
        conn.close()


def seed_designs(db: Path, names: list[str]) -> list[str]:
    with SQLiteStore(db) as store:
        return [
            store.create(Design(context=Context(feature=name)), tool="t", actor=None, change={}).id
            for name in names
        ]


# --------------------------------------------------------------------------- concurrency


@dataclass
class Outcome:
    acknowledged: list[tuple[str, str, int, str]] = field(default_factory=list)  # client, design
    rejected: list[tuple[str, str, str, str]] = field(default_factory=list)  # ..., marker, text


async def test_two_server_processes_with_several_clients_each_never_lose_a_write(
    tmp_path: Path,
) -> None:
    """2 processes x 3 clients, writing to one shared design and to one design per process.
    A third of the writes carry expected_revision from a fresh read, and some a stale one."""
    db = tmp_path / "designs.sqlite3"
    shared, own_a, own_b = seed_designs(db, ["Shared", "Process A", "Process B"])
    writes_per_client = 12
    outcome = Outcome()

    async def client_writes(url: str, client_name: str, own: str) -> None:
        async with Client(url, read_timeout_seconds=60) as client:
            for k in range(writes_per_client):
                design_id = shared if k % 2 == 0 else own
                marker = f"{client_name}-w{k}"
                expected: int | None = None
                if k % 3 == 1:  # read, then write expecting that revision
                    read = await client.call_tool("get_design", {"design_id": design_id})
                    expected = (read.structured_content or {})["revision"]
                elif k % 6 == 2:  # certainly stale
                    expected = 1
                result = await client.call_tool(
                    "update_context", add_metric(design_id, marker, expected)
                )
                if result.is_error:
                    text = " ".join(getattr(b, "text", "") for b in result.content)
                    outcome.rejected.append((client_name, design_id, marker, text))
                else:
                    revision = (result.structured_content or {})["revision"]
                    outcome.acknowledged.append((client_name, design_id, revision, marker))

    with anyio.fail_after(90):
        async with (
            http_server(db) as server_a,
            http_server(db) as server_b,
            anyio.create_task_group() as group,
        ):
            for server, own, tag in [(server_a, own_a, "A"), (server_b, own_b, "B")]:
                for j in range(3):
                    group.start_soon(client_writes, server.url, f"{tag}{j}", own)

    total = 2 * 3 * writes_per_client
    assert len(outcome.acknowledged) + len(outcome.rejected) == total
    assert outcome.rejected, "the stale expected_revision writes must be rejected"
    for _, _, _, text in outcome.rejected:
        assert "nothing was written" in text and "is at revision" in text
        assert "Changed since revision" in text
    with SQLiteStore(db) as store:
        for design_id in (shared, own_a, own_b):
            acked = sorted(
                (rev, marker) for _, d, rev, marker in outcome.acknowledged if d == design_id
            )
            entries, current = store.revisions(design_id, limit=1000)
            by_number = {e.number: e for e in entries}
            # Every acknowledged write is a revision, and nothing else is.
            assert sorted(by_number) == list(range(1, current + 1))
            assert current == 1 + len(acked)
            for revision, marker in acked:
                assert marker_of(by_number[revision].change) == marker
                assert by_number[revision].paths == [f"context.success_metrics[{marker}]"]
            # In a consistent order: the list grew in revision order.
            final = store.get(design_id).design
            assert [m.id for m in final.context.success_metrics] == [m for _, m in acked]
            rejected = {m for _, d, m, _ in outcome.rejected if d == design_id}
            assert not rejected & {m.id for m in final.context.success_metrics}
            times = [by_number[n].at for n in range(1, current + 1)]
            assert times == sorted(times)
    # Each client saw its own writes to one design in increasing revisions.
    per_client: dict[tuple[str, str], list[int]] = defaultdict(list)
    for client_name, design_id, revision, _ in outcome.acknowledged:
        per_client[client_name, design_id].append(revision)
    for revisions in per_client.values():
        assert revisions == sorted(revisions)
    assert integrity(db) == "ok"
    print(
        f"\nconcurrency: {len(outcome.acknowledged)} writes acknowledged, "
        f"{len(outcome.rejected)} rejected as stale, 2 processes x 3 clients"
    )


# --------------------------------------------------------------------------- crash safety


@dataclass
class CrashLog:
    acknowledged: dict[str, dict[int, str]]  # design -> revision -> marker
    unknown: set[str] = field(default_factory=set)  # in flight when the server died
    tool_errors: list[str] = field(default_factory=list)
    kills: int = 0
    written: int = 0


async def crash_round(
    db: Path, designs: list[str], log: CrashLog, *, round_number: int, kill_after: int
) -> None:
    """Start a server, let three clients write, SIGKILL it after `kill_after` acknowledgements."""
    choose = random.Random(round_number)
    acks = 0
    killed = False
    async with http_server(db) as server:
        # The restarted server sees everything acknowledged before the last kill.
        async with Client(server.url, read_timeout_seconds=30) as reader:
            for design_id, acked in log.acknowledged.items():
                view = await reader.call_tool("get_design", {"design_id": design_id})
                assert not view.is_error, view.content
                assert (view.structured_content or {})["revision"] >= max(acked, default=1)

        async def writer(name: str) -> None:
            nonlocal acks, killed
            try:
                async with Client(server.url, read_timeout_seconds=30) as client:
                    while True:
                        design_id = choose.choice(designs)
                        marker = f"r{round_number}-{name}-{log.written}"
                        log.written += 1
                        log.unknown.add(marker)
                        result = await client.call_tool(
                            "update_context", add_metric(design_id, marker)
                        )
                        if result.is_error:  # a refusal, not a crash: a real failure
                            log.tool_errors.append(str(result.content))
                            return
                        log.unknown.discard(marker)
                        log.acknowledged[design_id][result.structured_content["revision"]] = marker  # type: ignore[index]
                        acks += 1
                        if acks == kill_after:
                            killed = True
                            server.process.kill()  # SIGKILL, other writes in flight
                            log.kills += 1
            except Exception:
                if not killed:
                    raise
                # The server died under this call: its write is neither acknowledged nor
                # refused, and may or may not be stored.

        async with anyio.create_task_group() as group:
            for name in ("a", "b", "c"):
                group.start_soon(writer, name)


async def test_sigkill_at_random_moments_loses_no_acknowledged_revision(tmp_path: Path) -> None:
    """Rounds of: start a server, three clients write, SIGKILL once a seeded random number
    of writes is acknowledged (other writes are in flight), restart. Then every acknowledged
    revision must be present with its content, and the file must pass integrity_check."""
    kill_points = [random.Random(20261127 + r).randint(1, 16) for r in range(10)]
    db = tmp_path / "designs.sqlite3"
    designs = seed_designs(db, ["Crash A", "Crash B"])
    log = CrashLog(acknowledged={d: {} for d in designs})

    for round_number, kill_after in enumerate(kill_points):
        with anyio.fail_after(60):
            await crash_round(db, designs, log, round_number=round_number, kill_after=kill_after)
        assert not log.tool_errors, log.tool_errors

    assert log.kills == len(kill_points)
    assert integrity(db) == "ok"
    verified = 0
    with SQLiteStore(db) as store:
        for design_id, acked in log.acknowledged.items():
            entries, current = store.revisions(design_id, limit=10_000)
            by_number = {e.number: e for e in entries}
            assert sorted(by_number) == list(range(1, current + 1))
            final_ids = [m.id for m in store.get(design_id).design.context.success_metrics]
            for revision, marker in acked.items():
                assert marker_of(by_number[revision].change) == marker
                at_revision = store.design_at(design_id, revision)
                assert at_revision.context.success_metrics[-1].id == marker
                verified += 1
            # Nothing was invented: every stored marker was acknowledged or in flight.
            assert set(final_ids) <= set(acked.values()) | log.unknown
            assert set(acked.values()) <= set(final_ids)
    total_acked = sum(len(a) for a in log.acknowledged.values())
    assert verified == total_acked >= sum(kill_points)
    print(
        f"\ncrash safety: {log.kills} SIGKILLs at {kill_points} acknowledgements, "
        f"{total_acked} writes acknowledged, {verified} revisions verified, "
        f"{len(log.unknown)} in flight at a kill"
    )


def test_the_store_runs_in_wal_mode_with_full_synchronous(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "db.sqlite3") as store:
        assert store._conn is not None
        (mode,) = store._conn.execute("PRAGMA journal_mode").fetchone()
        (sync,) = store._conn.execute("PRAGMA synchronous").fetchone()
    assert (mode, sync) == ("wal", 2)  # 2 = FULL: the log is fsynced at every commit


def test_the_readme_durability_section_names_tests_that_exist() -> None:
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Where data lives", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"(tests/\w+\.py)?::(\w+)", section)
    assert len(named) >= 8
    current = ""
    for file, test in named:
        current = file or current
        source = (root / current).read_text(encoding="utf-8")
        assert f"def {test}(" in source, f"{current}::{test}"
