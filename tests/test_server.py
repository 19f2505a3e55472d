"""End to end through the SDK's in-memory Client: every tool, resource and the prompt."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError

from ml_systemization.examples import load_example
from ml_systemization.server import build_server
from ml_systemization.settings import Settings
from ml_systemization.steps import ARTIFACTS, PROCEDURE, STEPS

pytestmark = pytest.mark.anyio


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def error_text(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


async def start(client: Client, feature: str = "Support answer assistant") -> str:
    started = await call(client, "start_design", {"feature": feature})
    assert started["revision"] == 1
    return str(started["design_id"])


def db_rows(settings: Settings) -> list[tuple[Any, ...]]:
    with sqlite3.connect(settings.db_path) as conn:
        return conn.execute("SELECT id, revision, doc FROM designs ORDER BY id").fetchall()


async def test_the_seven_steps_complete_a_design_and_the_review_is_ready(
    settings: Settings,
) -> None:
    example = load_example("support_assistant")
    async with Client(build_server(settings)) as client:
        started = await call(
            client, "start_design", {"feature": example.feature, "context": example.context}
        )
        design_id = started["design_id"]
        assert started["next_step"] == "choose_baseline"
        revision = 1
        for step in STEPS:
            result = await call(
                client, step.tool, {"design_id": design_id, step.key: example.steps[step.key]}
            )
            revision += 1
            assert result["revision"] == revision
            assert result["step"] == step.key
            assert result["status"] == "complete", result["missing"]
            assert result["missing"] == []
            assert "design" not in result  # compact: no echo of the whole design
        assert result["next_step"] == "review_design"
        review = (await call(client, "review_design", {"design_id": design_id}))["review"]
        assert review["ready"], review["summary"]
        assert [c["id"] for c in review["quality_bar"]] == [
            "QB-1", "QB-2", "QB-3", "QB-4", "QB-5", "FM-1", "FM-2", "FM-3",
        ]  # fmt: skip
        assert all(c["passed"] for c in review["quality_bar"])
        rendered = await call(client, "render_artifacts", {"design_id": design_id})
        assert [a["name"] for a in rendered["artifacts"]] == list(ARTIFACTS)
        for artifact in rendered["artifacts"]:
            assert artifact["markdown"].startswith("# ")


async def test_a_step_result_reports_status_missing_fields_and_the_next_step(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await start(client)
        result = await call(
            client,
            "choose_baseline",
            {"design_id": design_id, "baseline": {"id": "faq_search", "type": "search_lookup"}},
        )
        assert result["status"] == "in_progress"
        assert any(m.startswith("baseline.description") for m in result["missing"])
        assert result["next_step"] == "choose_baseline"
        empty = await call(client, "plan_rollout", {"design_id": design_id, "rollout": {}})
        assert empty["status"] == "empty"


async def test_fields_not_sent_are_kept_null_clears_and_items_upsert_by_id(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await start(client)
        evaluation = {
            "golden_set": {"size": 400, "hash": "sha256:ab12"},
            "metrics": [
                {"id": "groundedness", "threshold": 0.9, "direction": "higher_is_better"},
                {"id": "resolution", "threshold": 0.6, "direction": "higher_is_better"},
            ],
        }
        await call(client, "build_evaluation", {"design_id": design_id, "evaluation": evaluation})
        # One metric changes, one is added: the others are not resent.
        await call(
            client,
            "build_evaluation",
            {
                "design_id": design_id,
                "evaluation": {
                    "metrics": [
                        {"id": "groundedness", "threshold": 0.92},
                        {"id": "refusal_rate", "threshold": 0.05, "direction": "lower_is_better"},
                    ],
                    "golden_set": {"hash": None},
                },
            },
        )
        design = (await call(client, "get_design", {"design_id": design_id}))["design"]
        metrics = {m["id"]: m for m in design["evaluation"]["metrics"]}
        assert list(metrics) == ["groundedness", "resolution", "refusal_rate"]
        assert metrics["groundedness"]["threshold"] == 0.92
        assert metrics["groundedness"]["direction"] == "higher_is_better"
        assert metrics["resolution"]["threshold"] == 0.6
        assert design["evaluation"]["golden_set"] == {
            **design["evaluation"]["golden_set"],
            "size": 400,
            "hash": None,
        }
        removed = await call(
            client,
            "build_evaluation",
            {"design_id": design_id, "remove": ["metrics/resolution"]},
        )
        assert removed["revision"] == 4
        design = (await call(client, "get_design", {"design_id": design_id}))["design"]
        assert [m["id"] for m in design["evaluation"]["metrics"]] == [
            "groundedness",
            "refusal_rate",
        ]


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("choose_baseline", {"design_id": "d-nope", "baseline": {}}, "No design with id"),
        (
            "build_evaluation",
            {"design_id": "{id}", "evaluation": {"golden_set": {"size": -5}}},
            "greater than or equal to 0",
        ),
        (
            "plan_rollout",
            {"design_id": "{id}", "rollout": {"stages": [{"id": "s1", "fraction": 1.5}]}},
            "less than or equal to 1",
        ),
        (
            "build_evaluation",
            {"design_id": "{id}", "evaluation": {"golden_set": {"size": "many"}}},
            "valid integer",
        ),
        (
            "choose_baseline",
            {"design_id": "{id}", "baseline": {"id": "x", "colour": "red"}},
            "Extra inputs are not permitted",
        ),
        (
            "choose_baseline",
            {"design_id": "{id}", "baseline": {"id": "x"}, "threshold": 0.9},
            "Unknown argument(s) threshold",
        ),
        (
            "build_evaluation",
            {"design_id": "{id}", "remove": ["metrics/absent"]},
            "has no item 'absent'",
        ),
        (
            "build_evaluation",
            {"design_id": "{id}", "remove": ["nonsense"]},
            "Cannot remove 'nonsense'",
        ),
        (
            "define_monitoring",
            {"design_id": "{id}", "monitoring": {}, "expected_revision": 7},
            "is at revision 1, not 7",
        ),
        ("review_design", {"design_id": "d-missing"}, "Call list_designs"),
    ],
)
async def test_bad_input_gets_a_clear_error_and_nothing_stored_changes(
    settings: Settings, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await start(client)
        before = db_rows(settings)
        args = {k: (design_id if v == "{id}" else v) for k, v in arguments.items()}
        text = await error_text(client, tool, args)
        assert expected in text
        assert db_rows(settings) == before


async def test_designs_survive_a_server_restart_on_the_same_db_file(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await start(client)
        await call(
            client,
            "choose_baseline",
            {"design_id": design_id, "baseline": {"id": "faq_search", "type": "search_lookup"}},
        )
    async with Client(build_server(settings)) as client:
        listed = await call(client, "list_designs", {})
        assert [d["design_id"] for d in listed["designs"]] == [design_id]
        view = await call(client, "get_design", {"design_id": design_id})
        assert view["revision"] == 2
        assert view["design"]["baseline"]["id"] == "faq_search"
        result = await call(
            client, "choose_baseline", {"design_id": design_id, "baseline": {"success_rate": 0.7}}
        )
        assert result["revision"] == 3


async def test_a_stale_expected_revision_is_rejected_and_a_current_one_accepted(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await start(client)
        ok = await call(
            client,
            "update_context",
            {
                "design_id": design_id,
                "context": {"problem": "Slow replies"},
                "expected_revision": 1,
            },
        )
        assert ok["revision"] == 2
        text = await error_text(
            client,
            "update_context",
            {"design_id": design_id, "context": {"problem": "Other"}, "expected_revision": 1},
        )
        assert "expected_revision=2" in text


async def test_every_tool_has_an_output_schema_and_accurate_annotations(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    expected_steps = {s.tool for s in STEPS}
    read_only = {
        "get_design",
        "list_designs",
        "review_design",
        "render_artifacts",
        "get_template",
        "list_templates",
        "design_history",
        "diff_design",
        "export_design",
        "get_design_schema",
        "get_design_view",
    }
    writes = {
        "start_design",
        "update_context",
        "configure_review",
        "revert_design",
        "restore_design",
        "import_design",
    }
    destructive = {"delete_design", "purge_design"}
    assert set(tools) == expected_steps | read_only | writes | destructive
    for name, tool in tools.items():
        assert tool.output_schema is not None, name
        assert tool.description, name
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (name in read_only), name
        if name not in read_only:
            assert tool.annotations.destructive_hint is (name in destructive), name
    assert [s.tool for s in PROCEDURE] == [
        "choose_baseline",
        "define_io_contract",
        "build_evaluation",
        "design_architecture",
        "plan_rollout",
        "define_monitoring",
        "define_iteration_loop",
    ]


async def test_resources_serve_templates_designs_and_rendered_artifacts(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await start(client)
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        assert templates >= {
            "template://{name}",
            "design://{design_id}",
            "design://{design_id}/artifacts/{name}",
        }
        raw = (await client.read_resource("template://one_pager")).contents[0]
        assert raw.mime_type == "text/markdown"
        assert "{{" in raw.text or "{%" in raw.text
        doc = (await client.read_resource(f"design://{design_id}")).contents[0]
        assert doc.mime_type == "application/json"
        assert json.loads(doc.text)["design"]["context"]["feature"] == "Support answer assistant"
        card = (
            await client.read_resource(f"design://{design_id}/artifacts/feature_card")
        ).contents[0]
        assert card.text.startswith("# ")
        assert "describe_feature_card" in card.text  # unfilled fields name their tool
        with pytest.raises(MCPError):
            await client.read_resource("design://d-unknown")
        with pytest.raises(MCPError):
            await client.read_resource(f"design://{design_id}/artifacts/nope")
        with pytest.raises(MCPError):
            await client.read_resource("template://nope")


async def test_templates_are_reachable_through_tools_for_clients_without_resources(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        listed = await call(client, "list_templates", {})
        assert sorted(t["name"] for t in listed["templates"]) == sorted(ARTIFACTS)
        one = await call(client, "get_template", {"name": "feature_card"})
        assert one["source"] == "builtin"
        assert "Intended use" in one["text"]


async def test_the_prompt_and_instructions_explain_the_seven_step_flow(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        prompts = (await client.list_prompts()).prompts
        assert [p.name for p in prompts] == ["ml_systemization"]
        assert [a.name for a in prompts[0].arguments or []] == ["feature"]
        got = await client.get_prompt("ml_systemization", {"feature": "Churn scorer"})
        text = got.messages[0].content.text  # type: ignore[union-attr]
        assert "Churn scorer" in text
        for step in PROCEDURE:
            assert step.tool in text
            assert step.tool in (client.instructions or "")


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_both_protocol_eras_complete_a_step(settings: Settings, mode: str) -> None:
    async with Client(build_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        design_id = await start(client)
        result = await call(
            client, "choose_baseline", {"design_id": design_id, "baseline": {"id": "rules"}}
        )
        assert result["revision"] == 2


async def test_template_overrides_apply_by_file_name(tmp_path: Path) -> None:
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "one_pager.md.j2").write_text(
        "# Our one-pager for {{ design.context.feature }}\n", encoding="utf-8"
    )
    settings = Settings(db_path=tmp_path / "db.sqlite3", templates_dir=overrides)
    async with Client(build_server(settings)) as client:
        design_id = await start(client, "Churn scorer")
        rendered = await call(
            client,
            "render_artifacts",
            {"design_id": design_id, "names": ["one_pager", "feature_card"]},
        )
        one_pager, card = rendered["artifacts"]
        assert one_pager["markdown"] == "# Our one-pager for Churn scorer\n"
        assert card["markdown"].startswith("# Feature")
        listed = await call(client, "list_templates", {})
        sources = {t["name"]: t["source"] for t in listed["templates"]}
        assert sources["one_pager"] == "override"
        assert sources["feature_card"] == "builtin"


async def test_a_missing_template_folder_is_named_by_every_template_tool(tmp_path: Path) -> None:
    # The renderer opens on first use, so the folder's absence surfaces in a tool call (serve
    # checks it at start): each tool must say what is wrong, not only "Error executing tool".
    settings = Settings(db_path=tmp_path / "db.sqlite3", templates_dir=tmp_path / "missing")
    async with Client(build_server(settings)) as client:
        for tool, arguments in [("get_template", {"name": "one_pager"}), ("list_templates", {})]:
            assert "does not exist" in await error_text(client, tool, arguments), tool


async def test_reading_a_design_resource_from_an_unusable_database_says_why(
    tmp_path: Path,
) -> None:
    # The store opens on first use (serve checks the file at start; an embedding host may not).
    notes = tmp_path / "notes.sqlite3"
    notes.write_bytes(b"not a database at all, just text " * 20)
    async with Client(build_server(Settings(db_path=notes))) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource("design://d-123")
    assert "as the design database" in raised.value.error.message


async def test_a_warning_can_be_waived_with_a_reason_but_an_error_cannot(
    settings: Settings,
) -> None:
    example = load_example("support_assistant")
    async with Client(build_server(settings)) as client:
        started = await call(
            client, "start_design", {"feature": example.feature, "context": example.context}
        )
        design_id = started["design_id"]
        for step in STEPS:
            await call(
                client, step.tool, {"design_id": design_id, step.key: example.steps[step.key]}
            )
        # A before/after comparison is a warning (ROLL-006), not an error.
        changed = await call(
            client,
            "plan_rollout",
            {"design_id": design_id, "rollout": {"control": "before_after"}},
        )
        assert "ROLL-006" in {f["rule_id"] for f in changed["findings"]}
        waived = await call(
            client,
            "configure_review",
            {
                "design_id": design_id,
                "waive": [
                    {"rule_id": "ROLL-006", "reason": "No second serving pool until Q3; accepted."}
                ],
            },
        )
        roll006 = [f for f in waived["review"]["findings"] if f["rule_id"] == "ROLL-006"]
        assert roll006 and all(f["waived"] for f in roll006)
        assert waived["review"]["counts"]["waived"] == len(roll006)
        design = (await call(client, "get_design", {"design_id": design_id}))["design"]
        assert design["waivers"][0]["id"] == "ROLL-006"
        assert design["waivers"][0]["at"] is not None
        rendered = await call(
            client, "render_artifacts", {"design_id": design_id, "names": ["rollout_plan"]}
        )
        assert "No second serving pool until Q3" in rendered["artifacts"][0]["markdown"]
        before = db_rows(settings)
        text = await error_text(
            client,
            "configure_review",
            {
                "design_id": design_id,
                "waive": [{"rule_id": "EVAL-002", "reason": "We are confident it is fine."}],
            },
        )
        assert "cannot be waived" in text
        assert db_rows(settings) == before


async def test_rule_settings_can_be_overridden_per_design_and_show_in_the_artifacts(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await start(client)
        result = await call(
            client,
            "configure_review",
            {"design_id": design_id, "settings": {"alpha": 0.01, "golden_tolerance": 0.03}},
        )
        assert result["revision"] == 2
        design = (await call(client, "get_design", {"design_id": design_id}))["design"]
        assert design["rule_settings"] == {"alpha": 0.01, "golden_tolerance": 0.03}
        text = await error_text(
            client, "configure_review", {"design_id": design_id, "settings": {"alpha": 0.9}}
        )
        assert "alpha" in text
        cleared = await call(
            client, "configure_review", {"design_id": design_id, "settings": {"alpha": None}}
        )
        assert cleared["revision"] == 3
        design = (await call(client, "get_design", {"design_id": design_id}))["design"]
        assert design["rule_settings"] == {"golden_tolerance": 0.03}
        plan = await call(
            client, "render_artifacts", {"design_id": design_id, "names": ["evaluation_plan"]}
        )
        assert "0.03" in plan["artifacts"][0]["markdown"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_bad_prompt_request_is_invalid_params(settings: Settings, mode: str) -> None:
    async with Client(build_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("nope", {})
        assert unknown.value.error.code == -32602
        assert "ml_systemization" in unknown.value.error.message
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("ml_systemization", {})
        assert missing.value.error.code == -32602
        assert "feature" in missing.value.error.message


async def test_artifact_and_template_names_complete(settings: Settings) -> None:
    from mcp.types import ResourceTemplateReference

    async with Client(build_server(settings)) as client:
        got = await client.complete(
            ref=ResourceTemplateReference(uri="template://{name}"),
            argument={"name": "name", "value": "r"},
        )
        assert got.completion.values == ["rollout_plan"]


async def test_a_deleted_design_leaves_listings_and_reads_and_can_be_restored(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await start(client)
        other = await start(client, "Churn scorer")
        deleted = await call(client, "delete_design", {"design_id": design_id})
        listed = await call(client, "list_designs", {})
        with_deleted = await call(client, "list_designs", {"include_deleted": True})
        read = await error_text(client, "get_design", {"design_id": design_id})
        write = await error_text(
            client, "choose_baseline", {"design_id": design_id, "baseline": {"id": "rules"}}
        )
        again = await error_text(client, "delete_design", {"design_id": design_id})
        with pytest.raises(MCPError):
            await client.read_resource(f"design://{design_id}")
        restored = await call(client, "restore_design", {"design_id": design_id})
        view = await call(client, "get_design", {"design_id": design_id})
        history = await call(client, "design_history", {"design_id": design_id})

    assert deleted["status"] == "deleted" and deleted["revision"] == 2
    assert "until" in deleted["note"]
    assert [d["design_id"] for d in listed["designs"]] == [other]
    assert listed["total"] == 1
    flagged = {d["design_id"]: d["deleted_at"] for d in with_deleted["designs"]}
    assert flagged[other] is None and flagged[design_id] is not None
    for text in (read, write, again):
        assert "was deleted at" in text and "restore_design" in text
    assert restored["status"] == "active" and restored["revision"] == 3
    assert view["design"]["context"]["feature"] == "Support answer assistant"
    assert [(e["revision"], e["tool"], e["paths"]) for e in history["revisions"][:2]] == [
        (3, "restore_design", []),
        (2, "delete_design", []),
    ]


async def test_purge_needs_a_deleted_design_and_the_id_repeated(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await start(client)
        not_deleted = await error_text(
            client, "purge_design", {"design_id": design_id, "confirm": design_id}
        )
        await call(client, "delete_design", {"design_id": design_id})
        unconfirmed = await error_text(
            client, "purge_design", {"design_id": design_id, "confirm": "yes"}
        )
        purged = await call(client, "purge_design", {"design_id": design_id, "confirm": design_id})
        gone = await error_text(client, "restore_design", {"design_id": design_id})

    assert "delete_design first" in not_deleted
    assert "confirm must equal the design_id" in unconfirmed
    assert purged == {
        "design_id": design_id,
        "revision": None,
        "status": "purged",
        "changed": [],
        "note": "Removed the design and its 2 revisions; this cannot be undone.",
    }
    assert "No design with id" in gone
    with sqlite3.connect(settings.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM revisions").fetchone() == (0,)
