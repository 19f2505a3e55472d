"""The installed console script: a real stdio server, the demo, and the inspection commands."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from ml_systemization.examples import EXAMPLES
from ml_systemization.steps import ARTIFACTS

SCRIPT = Path(sys.executable).parent / "ml-systemization"
MARKER = "not set:"


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_SYSTEMIZATION")}
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def test_the_console_script_is_installed() -> None:
    assert SCRIPT.exists(), f"install the package first (pip install -e .); missing {SCRIPT}"
    assert run("--version").stdout.startswith("ml-systemization ")


@pytest.mark.anyio
async def test_the_installed_script_serves_stdio_to_a_real_client(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=str(SCRIPT), args=["serve", "--db", str(tmp_path / "db.sqlite3")]
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"start_design", "choose_baseline", "review_design"} <= names
            started = await client.call_tool("start_design", {"feature": "Churn scorer"})
            design_id = (started.structured_content or {})["design_id"]
            step = await client.call_tool(
                "choose_baseline",
                {"design_id": design_id, "baseline": {"id": "rules", "type": "rules"}},
            )
            assert not step.is_error
            result: dict[str, Any] = step.structured_content or {}
            assert result["revision"] == 2
    assert (tmp_path / "db.sqlite3").exists()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("demo")
    db, out = root / "db.sqlite3", root / "out"
    proc = run("demo", "--db", str(db), "--out", str(out), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return db, out, proc.stdout


def test_the_demo_writes_seven_artifacts_per_example_with_no_unfilled_markers(
    demo: tuple[Path, Path, str],
) -> None:
    _, out, stdout = demo
    for example in EXAMPLES:
        folder = out / example
        for artifact in ARTIFACTS:
            text = (folder / f"{artifact}.md").read_text(encoding="utf-8")
            assert len(text) > 500, artifact
            assert MARKER not in text, f"{example}/{artifact} has unfilled fields"
        review = json.loads((folder / "review.json").read_text(encoding="utf-8"))
        assert review["ready"], review["summary"]
        assert example in stdout


def test_list_show_review_and_render_read_the_stored_designs(
    demo: tuple[Path, Path, str], tmp_path: Path
) -> None:
    db, _, _ = demo
    listed = run("list", "--db", str(db))
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.strip().splitlines()[1:]
    assert len(rows) == len(EXAMPLES)
    design_id = rows[0].split()[0]
    shown = run("show", design_id, "--db", str(db))
    assert json.loads(shown.stdout)["design_id"] == design_id
    reviewed = run("review", design_id, "--db", str(db))
    assert reviewed.returncode == 0, reviewed.stdout
    assert "[pass] QB-1" in reviewed.stdout
    as_json = json.loads(run("review", design_id, "--db", str(db), "--json").stdout)
    assert as_json["ready"] is True
    rendered = run("render", design_id, "--db", str(db), "--out", str(tmp_path / "r"))
    assert rendered.returncode == 0, rendered.stderr
    assert sorted(p.stem for p in (tmp_path / "r").glob("*.md")) == sorted(ARTIFACTS)


def test_an_unknown_design_id_is_a_clear_cli_error(tmp_path: Path) -> None:
    proc = run("show", "d-nope", "--db", str(tmp_path / "db.sqlite3"))
    assert proc.returncode == 2
    assert "No design with id 'd-nope'" in proc.stderr
    empty = run("list", "--db", str(tmp_path / "db.sqlite3"))
    assert "No designs" in empty.stdout


def test_serve_refuses_an_unusable_database_path_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = run("serve", "--db", str(blocker / "designs.sqlite3"), timeout=60)
    assert proc.returncode == 2
    assert "Cannot open the design database" in proc.stderr
    assert "is a file, not a folder" in proc.stderr or "Not a directory" in proc.stderr


def test_serve_refuses_a_missing_template_folder_at_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_SYSTEMIZATION")}
    command = ["serve", "--db", str(tmp_path / "d.sqlite3"), "--templates", str(tmp_path / "x")]
    proc = subprocess.run(
        [str(SCRIPT), *command],
        stdin=subprocess.DEVNULL,  # a server that starts exits at once instead of waiting
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Template override directory" in proc.stderr
    assert "does not exist" in proc.stderr


def test_serve_refuses_a_file_that_is_not_a_database_at_start(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not a database\n" * 10)
    proc = run("serve", "--db", str(notes), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "is not an SQLite database" in proc.stderr
    assert notes.read_text() == "my notes, not a database\n" * 10


def test_the_db_location_follows_the_environment_variable(tmp_path: Path) -> None:
    env = {**os.environ, "ML_SYSTEMIZATION_DB": str(tmp_path / "env.sqlite3")}
    proc = subprocess.run(
        [str(SCRIPT), "list"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "env.sqlite3").exists()


def test_rule_settings_can_be_set_for_the_whole_server(tmp_path: Path) -> None:
    db = str(tmp_path / "db.sqlite3")
    bad = run("list", "--db", db, "--rule", "alpha=2")
    assert bad.returncode == 2
    assert "alpha" in bad.stderr
    unknown = run("list", "--db", db, "--rule", "nonsense=1")
    assert unknown.returncode == 2
    assert "golden_tolerance" in unknown.stderr


def test_server_rule_settings_reach_the_review(demo: tuple[Path, Path, str]) -> None:
    db, _, _ = demo
    design_id = run("list", "--db", str(db)).stdout.strip().splitlines()[1].split()[0]
    strict = run("review", design_id, "--db", str(db), "--json", "--rule", "golden_tolerance=0.001")
    review = json.loads(strict.stdout)
    assert strict.returncode == 1
    assert "EVAL-001" in {f["rule_id"] for f in review["findings"]}


def test_purge_expired_removes_only_designs_deleted_before_the_retention_period(
    tmp_path: Path,
) -> None:
    from ml_systemization.model import Design
    from ml_systemization.store import SQLiteStore

    db = tmp_path / "db.sqlite3"
    with SQLiteStore(db) as store:
        expired = store.create(Design(), tool="t", actor=None, change={}).id
        recent = store.create(Design(), tool="t", actor=None, change={}).id
        store.delete(expired, actor=None)
        store.delete(recent, actor=None)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE designs SET deleted_at = '2020-01-01T00:00:00.000000+00:00' WHERE id = ?",
            (expired,),
        )

    refused = run("purge", "--db", str(db))
    purged = run("purge", "--expired", "--db", str(db), "--retention-days", "30")

    assert refused.returncode == 2
    assert purged.returncode == 0, purged.stderr
    assert f"Purged 1 design(s) deleted more than 30 days ago: {expired}" in purged.stdout
    with SQLiteStore(db) as store:
        assert [s.id for s in store.list(include_deleted=True)[0]] == [recent]
