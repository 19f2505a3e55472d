"""Design tools: start, context, read, list, review and its settings, render, templates."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import Field

from ml_systemization.model import Design
from ml_systemization.names import ArtifactName
from ml_systemization.quality import review
from ml_systemization.results import (
    Artifact,
    DesignList,
    DesignSummaryOut,
    DesignView,
    RenderResult,
    ReviewResult,
    StepResult,
    TemplateList,
    TemplateOut,
)
from ml_systemization.server.app import AppState, state_of
from ml_systemization.server.common import (
    READ_ONLY,
    UPSERT,
    WRITE,
    ContextPatch,
    DesignId,
    ExpectedRevision,
    Removals,
    RuleSettingsPatch,
    SeedContext,
    UpstreamContext,
    WaiverIn,
    actor_of,
    check_request,
    render_record,
    rules_for,
    tool_errors,
)
from ml_systemization.server.step_tools import apply_section, change_record, step_result
from ml_systemization.steps import ARTIFACTS, apply_change
from ml_systemization.waivers import apply_review_options


def register_design_tools(server: MCPServer) -> None:

    @server.tool(title="Start a design", annotations=WRITE)
    def start_design(
        feature: Annotated[str, Field(min_length=1, max_length=200)],
        ctx: Context[AppState],
        context: SeedContext = None,
    ) -> StepResult:
        """Create a design and return its design_id; pass upstream context if you have it."""
        check_request(ctx, {"feature", "context"}, "start_design")
        state = state_of(ctx)
        with tool_errors():
            design = apply_change(Design(), "context", context)
            design = apply_change(design, "context", ContextPatch(feature=feature))
            record = state.store.create(
                design,
                tool="start_design",
                actor=actor_of(ctx),
                change=change_record("context", context, []) | {"feature": feature},
            )
        return step_result(None, record, "context", state)

    @server.tool(title="Update the context", annotations=UPSERT)
    def update_context(
        design_id: DesignId,
        ctx: Context[AppState],
        context: UpstreamContext = None,
        remove: Removals = [],  # noqa: B006 - pydantic copies defaults
        expected_revision: ExpectedRevision = None,
    ) -> StepResult:
        """Change the seed inputs: problem, outcomes, metrics, guardrails, traffic, budget."""
        check_request(
            ctx, {"design_id", "context", "remove", "expected_revision"}, "update_context"
        )
        return apply_section(
            ctx,
            tool="update_context",
            design_id=design_id,
            key="context",
            patch=context,
            remove=remove,
            expected_revision=expected_revision,
        )

    @server.tool(title="Get a design", annotations=READ_ONLY)
    def get_design(design_id: DesignId, ctx: Context[AppState]) -> DesignView:
        """The whole current design and its revision."""
        with tool_errors():
            record = state_of(ctx).store.get(design_id)
        return DesignView(
            design_id=record.id,
            revision=record.revision,
            created_at=record.created_at.isoformat(),
            updated_at=record.updated_at.isoformat(),
            design=record.design.model_dump(mode="json"),
        )

    @server.tool(title="List designs", annotations=READ_ONLY)
    def list_designs(
        ctx: Context[AppState],
        query: Annotated[str | None, Field(description="Substring of the feature name")] = None,
        limit: Annotated[int, Field(ge=1, le=200)] = 50,
        offset: Annotated[int, Field(ge=0)] = 0,
        include_deleted: bool = False,
    ) -> DesignList:
        """Stored designs, most recently updated first."""
        with tool_errors():
            summaries, total = state_of(ctx).store.list(
                limit=limit, offset=offset, query=query, include_deleted=include_deleted
            )
        return DesignList(
            designs=[
                DesignSummaryOut(
                    design_id=s.id,
                    feature=s.feature,
                    revision=s.revision,
                    updated_at=s.updated_at.isoformat(),
                    deleted_at=s.deleted_at.isoformat() if s.deleted_at else None,
                )
                for s in summaries
            ],
            total=total,
        )

    @server.tool(title="Review a design", annotations=READ_ONLY)
    def review_design(design_id: DesignId, ctx: Context[AppState]) -> ReviewResult:
        """Quality bar, step status, all findings and whether the design is ready."""
        state = state_of(ctx)
        with tool_errors():
            record = state.store.get(design_id)
        return ReviewResult(
            design_id=record.id,
            revision=record.revision,
            review=review(record.design, rules_for(state, record.design)),
        )

    @server.tool(
        title="Configure the review",
        annotations=UPSERT,
        description="Waive a warning (never an error) with a reason, end a waiver, or override "
        "rule settings (alpha, power, tolerances) for this design; returns the review.",
    )
    def configure_review(
        design_id: DesignId,
        ctx: Context[AppState],
        waive: Annotated[list[WaiverIn], Field(description="Warnings to waive, with reasons")] = [],  # noqa: B006 - pydantic copies defaults
        unwaive: Annotated[list[str], Field(description="Rule ids whose waiver ends")] = [],  # noqa: B006
        settings: Annotated[
            RuleSettingsPatch | None,
            Field(description="Per-design rule settings; a null value drops its override"),
        ] = None,
        expected_revision: ExpectedRevision = None,
    ) -> ReviewResult:
        check_request(
            ctx,
            {"design_id", "waive", "unwaive", "settings", "expected_revision"},
            "configure_review",
        )
        state = state_of(ctx)
        actor = actor_of(ctx)
        overrides = settings.model_dump(exclude_unset=True) if settings is not None else {}
        with tool_errors():
            record = state.store.update(
                design_id,
                lambda design: apply_review_options(
                    design,
                    waive={w.rule_id: w.reason for w in waive},
                    unwaive=unwaive,
                    settings=overrides,
                    actor=actor,
                    now=dt.datetime.now(dt.UTC),
                ),
                tool="configure_review",
                actor=actor,
                change={
                    "waive": [w.model_dump() for w in waive],
                    "unwaive": unwaive,
                    "settings": overrides,
                },
                expected_revision=expected_revision,
            )
        return ReviewResult(
            design_id=record.id,
            revision=record.revision,
            review=review(record.design, rules_for(state, record.design)),
        )

    @server.tool(title="Render artifacts", annotations=READ_ONLY)
    def render_artifacts(
        design_id: DesignId,
        ctx: Context[AppState],
        names: Annotated[list[ArtifactName] | None, Field(description="Default: all seven")] = None,
    ) -> RenderResult:
        """Render the design's markdown artifacts (unfilled fields show which tool fills them)."""
        state = state_of(ctx)
        with tool_errors():
            record = state.store.get(design_id)
            rendered = render_record(state, record, names or ARTIFACTS)
        artifacts = [
            Artifact(name=name, uri=f"design://{record.id}/artifacts/{name}", markdown=markdown)
            for name, markdown in rendered.items()
        ]
        return RenderResult(design_id=record.id, revision=record.revision, artifacts=artifacts)

    @server.tool(title="List templates", annotations=READ_ONLY)
    def list_templates(ctx: Context[AppState]) -> TemplateList:
        """The artifact templates, each built in or overridden."""
        with tool_errors():
            infos = state_of(ctx).renderer.list_templates()
        return TemplateList(templates=[TemplateOut(name=i.name, source=i.source) for i in infos])

    @server.tool(title="Get a template", annotations=READ_ONLY)
    def get_template(name: ArtifactName, ctx: Context[AppState]) -> TemplateOut:
        """One raw Jinja2 artifact template (also resource template://{name})."""
        with tool_errors():
            renderer = state_of(ctx).renderer
            info = next(i for i in renderer.list_templates() if i.name == name)
            return TemplateOut(name=name, source=info.source, text=renderer.template_source(name))
