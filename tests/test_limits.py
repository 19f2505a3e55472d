"""Size limits: oversize texts, lists, designs and arguments fail clearly and store nothing."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from ml_systemization import cli
from ml_systemization.errors import LimitExceededError
from ml_systemization.limits import check_arguments, check_document
from ml_systemization.server import build_server
from ml_systemization.settings import Limits, Settings

SCRIPT = Path(sys.executable).parent / "ml-systemization"
MB = 1024 * 1024


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def error_text(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


def stored(db: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        designs = conn.execute("SELECT id, revision, doc FROM designs ORDER BY id").fetchall()
        revisions = conn.execute("SELECT count(*) FROM revisions").fetchone()
    finally:
        conn.close()
    return [*designs, revisions]


SMALL = Limits(
    max_text_chars=100, max_list_items=3, max_design_bytes=20_000, max_argument_bytes=4_000
)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"context": {"problem": "x" * 101}},
            "context.problem: 101 characters, over the limit of 100 (max_text_chars)",
        ),
        (
            {"evaluation": {"metrics": [{"id": f"m{i}"} for i in range(4)]}},
            "evaluation.metrics: 4 items, over the limit of 3 (max_list_items)",
        ),
        (
            {"evaluation": {"metrics": [{"id": "g", "description": "y" * 150}]}},
            "evaluation.metrics[g].description: 150 characters",
        ),
        (
            {"card": {"limitations": ["ok", "z" * 200]}},
            "card.limitations[1]: 200 characters",
        ),
        (
            {"context": {"problem": "p" * 90, "user_outcome": "u" * 90}} | {"pad": "x" * 5000},
            "The arguments of this call: 5,",
        ),
    ],
)
def test_oversize_arguments_name_the_path_the_size_and_the_limit(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(LimitExceededError) as caught:
        check_arguments(arguments, SMALL)

    assert message in str(caught.value)
    assert "nothing was stored" in str(caught.value)


def test_a_document_over_the_design_size_limit_is_refused() -> None:
    doc = {"context": {"problem": "p"}}

    with pytest.raises(LimitExceededError, match="max_design_bytes"):
        check_document(doc, 20_001, SMALL)
    check_document(doc, 20_000, SMALL)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("update_context", {"context": {"problem": "x" * 101}}, "context.problem: 101 characters"),
        (
            "build_evaluation",
            {"evaluation": {"metrics": [{"id": f"m{i}"} for i in range(4)]}},
            "evaluation.metrics: 4 items",
        ),
        (
            "update_context",
            {"context": {"problem": "x" * 5000}},
            "The arguments of this call: 5,0",
        ),
    ],
)
async def test_an_oversize_tool_call_fails_clearly_and_stores_nothing(
    tmp_path: Path, tool: str, arguments: dict[str, Any], message: str
) -> None:
    settings = Settings(db_path=tmp_path / "db.sqlite3", limits=SMALL)
    async with Client(build_server(settings)) as client:
        design_id = (await call(client, "start_design", {"feature": "F"}))["design_id"]
        before = stored(settings.db_path)

        text = await error_text(client, tool, {"design_id": design_id, **arguments})

        assert message in text
        assert stored(settings.db_path) == before


@pytest.mark.anyio
async def test_a_list_grown_past_its_limit_by_upserts_is_refused(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "db.sqlite3", limits=SMALL)
    async with Client(build_server(settings)) as client:
        design_id = (await call(client, "start_design", {"feature": "F"}))["design_id"]
        for i in range(3):
            await call(
                client,
                "build_evaluation",
                {"design_id": design_id, "evaluation": {"metrics": [{"id": f"m{i}"}]}},
            )
        before = stored(settings.db_path)

        text = await error_text(
            client,
            "build_evaluation",
            {"design_id": design_id, "evaluation": {"metrics": [{"id": "m3"}]}},
        )

        assert "evaluation.metrics: 4 items, over the limit of 3" in text
        assert stored(settings.db_path) == before


@pytest.mark.anyio
async def test_a_design_grown_past_the_size_limit_is_refused(tmp_path: Path) -> None:
    limits = Limits(max_design_bytes=8_000)
    settings = Settings(db_path=tmp_path / "db.sqlite3", limits=limits)
    async with Client(build_server(settings)) as client:
        design_id = (await call(client, "start_design", {"feature": "F"}))["design_id"]
        text = ""
        for i in range(40):
            result = await client.call_tool(
                "update_context",
                {
                    "design_id": design_id,
                    "context": {"guardrails": [{"id": f"g{i}", "description": "d" * 400}]},
                },
            )
            if result.is_error:
                text = " ".join(getattr(block, "text", "") for block in result.content)
                break
        view = await call(client, "get_design", {"design_id": design_id})

    assert "The design after this change:" in text
    assert "over the limit of 8,000 (max_design_bytes)" in text
    assert view["revision"] == i + 1  # the refused change left no revision


def test_limits_are_configurable_from_the_command_line(tmp_path: Path) -> None:
    args = cli._parser().parse_args(
        [
            "serve",
            "--db",
            str(tmp_path / "db.sqlite3"),
            "--limit",
            "max_text_chars=5000",
            "--limit",
            "max_list_items=50",
            "--retention-days",
            "7",
            "--export-dir",
            str(tmp_path / "exports"),
        ]
    )
    settings = cli._settings(args)

    assert settings.limits == Limits(max_text_chars=5000, max_list_items=50)
    assert settings.retention_days == 7
    assert settings.export_dir == tmp_path / "exports"
    for bad in ["max_text_chars=0", "nonsense=3", "max_list_items"]:
        with pytest.raises(cli.MLSystemizationError, match="--limit"):
            cli._settings(cli._parser().parse_args(["list", "--limit", bad]))


# --------------------------------------------------------------------------- a real process


def _pid_serving(db: Path) -> int:
    """The server subprocess, found by its unique --db argument."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(db).encode() in cmdline and b"serve" in cmdline:
            return int(proc.name)
    raise AssertionError(f"no server process for {db}")


def _memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


@pytest.mark.anyio
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
async def test_a_multi_megabyte_argument_over_stdio_is_refused_with_bounded_memory(
    tmp_path: Path,
) -> None:
    """Sends 5 MB (over max_argument_bytes) and 3.5 MB (under it, but over max_text_chars)
    over stdio; the server refuses both, stays bounded in memory and answers the next call
    promptly. The numbers are printed (pytest -s) and quoted in the README."""
    db = tmp_path / "db.sqlite3"
    params = StdioServerParameters(command=str(SCRIPT), args=["serve", "--db", str(db)])
    with anyio.fail_after(90):
        async with Client(params) as client:
            design_id = (await call(client, "start_design", {"feature": "Big"}))["design_id"]
            pid = _pid_serving(db)
            idle = _memory_kb(pid)
            report = [f"idle RSS {idle['VmRSS'] / 1024:.0f} MB"]
            for size, setting in [
                (5 * MB, "max_argument_bytes"),
                (3 * MB + MB // 2, "max_text_chars"),
            ]:
                started = time.perf_counter()
                text = await error_text(
                    client,
                    "update_context",
                    {"design_id": design_id, "context": {"problem": "x" * size}},
                )
                refused_s = time.perf_counter() - started
                assert setting in text
                assert "nothing was stored" in text
                started = time.perf_counter()
                view = await call(client, "get_design", {"design_id": design_id})
                next_s = time.perf_counter() - started
                assert view["revision"] == 1
                memory = _memory_kb(pid)
                report.append(
                    f"{size / MB:.1f} MB argument: refused in {refused_s * 1000:.0f} ms, "
                    f"next small call {next_s * 1000:.0f} ms, peak RSS "
                    f"{memory['VmHWM'] / 1024:.0f} MB, RSS after {memory['VmRSS'] / 1024:.0f} MB"
                )
                assert next_s < 2.0
            print("\n" + "\n".join(report))
            # Bounded: a few copies of the message (line, parsed JSON, validation), not more.
            assert memory["VmHWM"] - idle["VmRSS"] < 200 * 1024


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"a": [1, 2.5, None, True, False], "b": {"c": 'quote " and \\ backslash'}},
        {"ünïcode": "日本語のテキスト", "n": -3},
        ["x" * 1000, {"id": "m", "v": [[], {}]}],
    ],
)
def test_the_argument_size_is_the_size_of_its_compact_json(value: Any) -> None:
    import json

    from ml_systemization.limits import json_size

    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert json_size(value) == len(compact)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_oversize_arguments_are_refused_before_validation_in_both_protocol_eras(
    tmp_path: Path, mode: str
) -> None:
    settings = Settings(db_path=tmp_path / "db.sqlite3", limits=SMALL)
    async with Client(build_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        # Over max_argument_bytes and invalid too: the size is reported, not the type error.
        text = await error_text(
            client, "start_design", {"feature": "F", "context": {"traffic": "x" * 5000}}
        )
        listed = await call(client, "list_designs", {})

    assert text.startswith("Error executing tool start_design: The arguments of this call: 5,")
    assert listed["total"] == 0
