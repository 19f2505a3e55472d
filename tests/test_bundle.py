"""Export and import: lossless round trips, schema upgrades, exports kept inside their folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from ml_systemization import bundle as bundle_module
from ml_systemization import upgrades as upgrades_module
from ml_systemization.bundle import FORMAT, export_target, read_bundle
from ml_systemization.errors import BundleError
from ml_systemization.examples import EXAMPLES, load_example
from ml_systemization.model import SCHEMA_VERSION, Design
from ml_systemization.server import build_server
from ml_systemization.settings import Settings
from ml_systemization.steps import ARTIFACTS, STEPS

SCRIPT = Path(sys.executable).parent / "ml-systemization"


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def error_text(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


async def complete_design(client: Client, name: str = "support_assistant") -> str:
    example = load_example(name)
    started = await call(
        client, "start_design", {"feature": example.feature, "context": example.context}
    )
    design_id: str = started["design_id"]
    for step in STEPS:
        await call(client, step.tool, {"design_id": design_id, step.key: example.steps[step.key]})
    await call(
        client,
        "configure_review",
        {
            "design_id": design_id,
            "settings": {"alpha": 0.01},
            "waive": [{"rule_id": "ROLL-006", "reason": "Accepted until the second pool ships."}],
        },
    )
    return design_id


@pytest.mark.anyio
@pytest.mark.parametrize("example", EXAMPLES)
async def test_export_then_import_is_lossless(settings: Settings, example: str) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await complete_design(client, example)
        exported = await call(client, "export_design", {"design_id": design_id})
        imported = await call(client, "import_design", {"bundle": exported})
        again = await call(client, "export_design", {"design_id": imported["design_id"]})
        original = await call(client, "get_design", {"design_id": design_id})

    assert exported["format"] == FORMAT
    assert exported["format_version"] == 1
    assert exported["schema_version"] == SCHEMA_VERSION
    assert (exported["design_id"], exported["revision"]) == (design_id, 10)
    assert sorted(exported["artifacts"]) == sorted(ARTIFACTS)
    assert exported["design"] == original["design"]
    assert imported["design_id"] != design_id
    assert imported["revision"] == 1
    assert again["design"] == exported["design"]
    assert json.dumps(again["design"]) == json.dumps(exported["design"])  # key order too
    # The artifacts differ only in the id and revision they name.
    for name in ARTIFACTS:
        assert same_artifact(
            exported["artifacts"][name], (design_id, 10), again["artifacts"][name]
        ), name


def same_artifact(first: str, identity: tuple[str, int], second: str) -> bool:
    """Equal once the design id and revision in each header are ignored."""
    design_id, revision = identity
    header = f"`{design_id}` · revision {revision}"
    assert header in first
    return first.replace(header, "") == re.sub(r"`d-[0-9a-f]+` · revision \d+", "", second, count=1)


@pytest.mark.anyio
async def test_an_older_revision_can_be_exported(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await complete_design(client)
        first = await call(client, "export_design", {"design_id": design_id, "revision": 1})

    assert first["revision"] == 1
    assert first["design"]["baseline"]["id"] is None


@pytest.mark.anyio
async def test_import_into_an_existing_design_needs_a_current_expected_revision(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        source = await complete_design(client)
        bundle = await call(client, "export_design", {"design_id": source})
        target = (await call(client, "start_design", {"feature": "Empty"}))["design_id"]

        unguarded = await error_text(
            client, "import_design", {"bundle": bundle, "design_id": target}
        )
        stale = await error_text(
            client,
            "import_design",
            {"bundle": bundle, "design_id": target, "expected_revision": 5},
        )
        written = await call(
            client,
            "import_design",
            {"bundle": bundle, "design_id": target, "expected_revision": 1},
        )
        now = await call(client, "get_design", {"design_id": target})
        history = await call(client, "design_history", {"design_id": target, "details": True})

    assert "needs expected_revision" in unguarded
    assert "is at revision 1, not 5" in stale
    assert written["revision"] == 2
    assert "baseline.id" in written["changed"]
    assert now["design"] == bundle["design"]
    newest = history["revisions"][0]
    assert newest["tool"] == "import_design"
    assert newest["change"] == {
        "source_design_id": source,
        "source_revision": 10,
        "migrated_from": None,
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"format": "other/thing", "design": {}}, "Unknown bundle format"),
        ({"format": FORMAT, "format_version": 2, "design": {}}, "format_version 2"),
        ({"format": FORMAT, "format_version": 1}, "no `design` object"),
        ({"schema_version": SCHEMA_VERSION + 1}, "newer than this version"),
        ({"context": {"feature": "x", "colour": "red"}}, "context.colour: Extra inputs"),
        ({"evaluation": {"golden_set": {"size": -1}}}, "evaluation.golden_set.size"),
    ],
)
async def test_an_invalid_bundle_is_refused_and_nothing_is_stored(
    settings: Settings, payload: dict[str, Any], message: str
) -> None:
    async with Client(build_server(settings)) as client:
        text = await error_text(client, "import_design", {"bundle": payload})
        listed = await call(client, "list_designs", {})

    assert message in text
    assert listed["total"] == 0


def test_a_bare_design_document_is_accepted() -> None:
    imported = read_bundle({"context": {"feature": "Bare"}})

    assert imported.design == Design.model_validate({"context": {"feature": "Bare"}})
    assert imported.migrated_from is None


def test_an_older_schema_version_is_upgraded_on_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulate the next schema: version 2 renamed context.problem_statement to problem."""

    def upgrade_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
        context = dict(doc.get("context", {}))
        context["problem"] = context.pop("problem_statement", None)
        return {**doc, "context": context}

    monkeypatch.setattr(upgrades_module, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(bundle_module, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(upgrades_module.DESIGN_UPGRADES, 1, upgrade_1_to_2)
    old = {
        "format": FORMAT,
        "format_version": 1,
        "schema_version": 1,
        "design": {"schema_version": 1, "context": {"feature": "Old", "problem_statement": "P"}},
    }

    imported = read_bundle(old)

    assert imported.migrated_from == 1
    assert imported.design.schema_version == 2
    assert imported.design.context.problem == "P"


# --------------------------------------------------------------------------- export folder


@pytest.mark.anyio
async def test_without_an_export_folder_export_writes_no_files_and_is_read_only(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        design_id = (await call(client, "start_design", {"feature": "F"}))["design_id"]
        text = await error_text(client, "export_design", {"design_id": design_id, "path": "x"})
        exported = await call(client, "export_design", {"design_id": design_id})

    tool = tools["export_design"]
    assert "path" not in tool.input_schema["properties"]
    assert tool.annotations is not None and tool.annotations.read_only_hint is True
    assert "writes no files" in text and "--export-dir" in text
    assert exported["files"] == []
    assert not any(settings.db_path.parent.glob("x"))


@pytest.mark.anyio
async def test_with_an_export_folder_export_writes_a_new_folder_inside_it(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    settings = Settings(db_path=tmp_path / "db.sqlite3", export_dir=exports)
    async with Client(build_server(settings)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        design_id = (await call(client, "start_design", {"feature": "F"}))["design_id"]
        written = await call(client, "export_design", {"design_id": design_id, "path": "v1"})
        again = await error_text(client, "export_design", {"design_id": design_id, "path": "v1"})
        escape = await error_text(
            client, "export_design", {"design_id": design_id, "path": "../outside"}
        )

    tool = tools["export_design"]
    assert "path" in tool.input_schema["properties"]
    assert tool.annotations is not None and tool.annotations.read_only_hint is False
    assert tool.annotations.destructive_hint is False
    assert sorted(Path(f).name for f in written["files"]) == sorted(
        ["design.json", *(f"{a}.md" for a in ARTIFACTS)]
    )
    assert all(Path(f).parent == exports.resolve() / "v1" for f in written["files"])
    assert "already exists" in again
    assert "outside the export folder" in escape
    assert not (tmp_path / "outside").exists()


@pytest.mark.parametrize(
    "requested",
    ["..", "../x", "a/../../x", "/etc/ml-systemization", "link/inside", "link"],
)
def test_export_paths_that_escape_the_folder_are_rejected(tmp_path: Path, requested: str) -> None:
    root = tmp_path / "exports"
    root.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, root / "link")

    with pytest.raises(BundleError, match="outside the export folder"):
        export_target(root, requested)


def test_export_paths_inside_the_folder_are_accepted(tmp_path: Path) -> None:
    root = tmp_path / "exports"
    (root / "team").mkdir(parents=True)

    assert export_target(root, "team/v2") == root.resolve() / "team" / "v2"
    assert export_target(root, str(root / "abs")) == root.resolve() / "abs"


# --------------------------------------------------------------------------- command line


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_SYSTEMIZATION")}
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


@pytest.mark.anyio
async def test_the_cli_exports_to_a_folder_and_imports_it_back_losslessly(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    async with Client(build_server(Settings(db_path=db))) as client:
        design_id = await complete_design(client)

    exported = run("export", design_id, "--db", str(db), "--out", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted(["design.json", *(f"{a}.md" for a in ARTIFACTS)])
    document = json.loads((tmp_path / "out" / "design.json").read_text(encoding="utf-8"))
    assert document["format"] == FORMAT and "artifacts" not in document

    other_db = tmp_path / "other.sqlite3"
    imported = run("import", str(tmp_path / "out"), "--db", str(other_db))
    assert imported.returncode == 0, imported.stderr
    new_id = imported.stdout.strip()
    again = run("export", new_id, "--db", str(other_db), "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    second = json.loads((tmp_path / "again" / "design.json").read_text(encoding="utf-8"))
    assert second["design"] == document["design"]
    for name in ARTIFACTS:
        first_md = (tmp_path / "out" / f"{name}.md").read_text(encoding="utf-8")
        second_md = (tmp_path / "again" / f"{name}.md").read_text(encoding="utf-8")
        assert same_artifact(first_md, (design_id, 10), second_md), name

    from_file = run("import", str(tmp_path / "out" / "design.json"), "--db", str(other_db))
    assert from_file.returncode == 0, from_file.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    failed = run("import", str(broken), "--db", str(other_db))
    assert failed.returncode == 2
    assert "is not JSON" in failed.stderr


def test_an_export_never_overwrites_and_reports_unusable_paths(tmp_path: Path) -> None:
    from ml_systemization import bundle as bundles
    from ml_systemization.errors import BundleError
    from ml_systemization.examples import example_design

    made = bundles.make_bundle(
        example_design("fraud_scorer"), design_id="d-x", revision=1, artifacts={"one_pager": "# x"}
    )
    first = bundles.write_folder(made, tmp_path / "out")
    assert [p.name for p in first] == ["design.json", "one_pager.md"]
    with pytest.raises(BundleError, match="never overwrites"):
        bundles.write_folder(made, tmp_path / "out")
    assert (tmp_path / "out" / "one_pager.md").read_text(encoding="utf-8") == "# x"
    for itself in (".", "", "sub/.."):
        with pytest.raises(BundleError, match="names the export folder itself"):
            bundles.export_target(tmp_path, itself)
    with pytest.raises(BundleError, match="cannot be used"):
        bundles.export_target(tmp_path, "a\x00b")
    with pytest.raises(BundleError, match="outside the export folder"):
        bundles.export_target(tmp_path, "../elsewhere")
