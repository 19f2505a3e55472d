"""Hand-off between agents: published JSON Schemas, per-consumer views, upstream context."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from mcp import Client, MCPError

from ml_systemization.examples import load_example
from ml_systemization.model import Design
from ml_systemization.server import build_server
from ml_systemization.settings import Settings
from ml_systemization.steps import STEPS
from ml_systemization.upstream import normalize_context, slug
from ml_systemization.views import VIEWS, ObservabilityView, OrchestrationView, view_schema

pytestmark = pytest.mark.anyio


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def complete_design(client: Client) -> str:
    example = load_example("support_assistant")
    started = await call(
        client, "start_design", {"feature": example.feature, "context": example.context}
    )
    design_id: str = started["design_id"]
    for step in STEPS:
        await call(client, step.tool, {"design_id": design_id, step.key: example.steps[step.key]})
    return design_id


async def test_the_design_schema_is_a_resource_and_a_tool(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        listed = {r.uri: r for r in (await client.list_resources()).resources}
        resource = (await client.read_resource("schema://design")).contents[0]
        tool = await call(client, "get_design_schema", {})
        design_id = await complete_design(client)
        design = (await call(client, "get_design", {"design_id": design_id}))["design"]

    assert str(listed["schema://design"].uri) == "schema://design"
    assert resource.mime_type == "application/schema+json"
    schema = json.loads(resource.text)  # type: ignore[union-attr]
    assert schema == tool == Design.model_json_schema()
    jsonschema.validate(design, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**design, "unknown": 1}, schema)


@pytest.mark.parametrize("view", VIEWS)
async def test_each_view_is_documented_and_validates_against_its_published_schema(
    settings: Settings, view: str
) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await complete_design(client)
        from_tool = await call(client, "get_design_view", {"design_id": design_id, "view": view})
        resource = (await client.read_resource(f"design://{design_id}/views/{view}")).contents[0]
        schema_resource = (await client.read_resource(f"schema://views/{view}")).contents[0]
        schema_tool = await call(client, "get_design_schema", {"name": view})

    schema = json.loads(schema_resource.text)  # type: ignore[union-attr]
    assert schema == schema_tool == view_schema(view)  # type: ignore[arg-type]
    assert schema["description"]
    assert all(prop.get("description") for prop in schema["properties"].values())
    assert json.loads(resource.text) == from_tool  # type: ignore[union-attr]
    jsonschema.validate(from_tool, schema)
    assert from_tool["view"] == view
    assert from_tool["design_id"] == design_id
    assert from_tool["revision"] == 9
    assert from_tool["view_version"] == 1


async def test_the_observability_view_carries_signals_slos_triggers_and_cost(
    settings: Settings,
) -> None:
    example = load_example("support_assistant")
    async with Client(build_server(settings)) as client:
        design_id = await complete_design(client)
        view = ObservabilityView.model_validate(
            await call(client, "get_design_view", {"design_id": design_id, "view": "observability"})
        )
        design = Design.model_validate(
            (await call(client, "get_design", {"design_id": design_id}))["design"]
        )

    assert view.signals == design.monitoring.signals and view.signals
    assert view.slos == design.monitoring.slos
    assert view.rollback_triggers == design.rollout.rollback_triggers and view.rollback_triggers
    assert view.kill_switch == design.rollout.flag
    assert view.cost.budget_month_usd == example.context["cost_budget_month_usd"]
    assert view.cost.alerts == design.monitoring.cost
    assert view.cost.signal_ids == [s.id for s in design.monitoring.signals if s.kind == "cost"]
    assert view.service_slo == design.architecture.slo


async def test_the_orchestration_view_carries_the_contract_failures_and_architecture(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        design_id = await complete_design(client)
        view = OrchestrationView.model_validate(
            await call(client, "get_design_view", {"design_id": design_id, "view": "orchestration"})
        )
        design = Design.model_validate(
            (await call(client, "get_design", {"design_id": design_id}))["design"]
        )

    assert view.io_contract == design.io_contract
    assert view.io_contract.failure_behavior
    assert view.architecture == design.architecture
    assert view.kill_switch == design.rollout.flag


async def test_unknown_views_and_designs_are_not_found(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        design_id = (await call(client, "start_design", {"feature": "F"}))["design_id"]
        bad = await client.call_tool("get_design_view", {"design_id": design_id, "view": "sales"})
        with pytest.raises(MCPError):
            await client.read_resource(f"design://{design_id}/views/sales")
        with pytest.raises(MCPError):
            await client.read_resource("design://d-unknown/views/observability")

    assert bad.is_error


UPSTREAM = {
    # What a data-centric-design or trade-off step hands over: JSON close to Context.
    "problem": "Agents spend 40% of their time answering repeated questions.",
    "success_metrics": [
        "Resolution without an agent +10%",
        {"name": "CSAT", "target": 4.5, "owner": "cx-team"},
        {"id": "handle_time", "description": "Median handle time", "target": "-20%"},
    ],
    "guardrails": [{"name": "Escalation rate", "threshold": 0.05}, "No PII in answers"],
    "data_contracts": [
        {"name": "tickets", "owner": "support-data", "freshness": "15 min"},
        {"name": "kb_articles", "owner": "docs", "schema_version": 3},
    ],
    "data_quality": {"label_noise": 0.08, "checks": ["dedup", "language"]},
    "traffic": {"req_per_hour": 1200},
    "cost_budget_month_usd": 3000,
}


async def test_start_design_accepts_upstream_context_as_json(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        started = await call(
            client, "start_design", {"feature": "Support answer assistant", "context": UPSTREAM}
        )
        design = (await call(client, "get_design", {"design_id": started["design_id"]}))["design"]
        update = await call(
            client,
            "update_context",
            {
                "design_id": started["design_id"],
                "context": {"data_contracts": {"tickets": {"owner": "support-data-v2"}}},
            },
        )

    context = design["context"]
    assert context["problem"] == UPSTREAM["problem"]
    assert [m["id"] for m in context["success_metrics"]] == [
        "resolution_without_an_agent_10",
        "csat",
        "handle_time",
    ]
    assert context["success_metrics"][1] == {
        "id": "csat",
        "description": "CSAT; owner: cx-team",
        "target": "4.5",
    }
    assert [g["id"] for g in context["guardrails"]] == ["escalation_rate", "no_pii_in_answers"]
    assert json.loads(context["data_contracts"]) == UPSTREAM["data_contracts"]
    assert json.loads(context["data_quality"]) == UPSTREAM["data_quality"]
    assert context["cost_budget_month_usd"] == 3000
    assert update["revision"] == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ({"problem": "p"}, {"problem": "p"}),
        (
            {"success_metrics": [{"id": "x", "colour": "red"}]},
            {"success_metrics": [{"id": "x", "description": "colour: red"}]},
        ),
        ({"success_metrics": [3]}, {"success_metrics": [3]}),  # left for validation to reject
    ],
)
def test_normalize_context_only_maps_the_known_differences(value: Any, expected: Any) -> None:
    assert normalize_context(value) == expected


def test_slugs_are_valid_ids() -> None:
    assert slug("Résolution rate (7d) +10%") == "r_solution_rate_7d_10"
    assert slug("!!!") == "item"
    assert len(slug("x" * 300)) == 120
