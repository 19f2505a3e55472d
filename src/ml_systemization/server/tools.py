"""The server's tools: typed inputs, thin handlers over the store, the steps and the rules.

Imported on the first tool call (`app._Server._ensure_tools`), not at start-up: it loads the
design models, the rules, the store and the renderer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import typing
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context, authenticated_principal
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import (
    ToolAnnotations,
)
from pydantic import BaseModel, BeforeValidator, Field, ValidationError, WithJsonSchema

from ml_systemization import bundle as bundles
from ml_systemization import history
from ml_systemization.artifacts import render_design
from ml_systemization.errors import (
    MLSystemizationError,
)
from ml_systemization.findings import step_feedback
from ml_systemization.limits import check_arguments
from ml_systemization.model import MODEL_CONFIG, Design
from ml_systemization.model import Context as DesignContext
from ml_systemization.names import ViewName
from ml_systemization.patch import patch_model
from ml_systemization.quality import review
from ml_systemization.results import (
    Artifact,
    DesignList,
    DesignSummaryOut,
    DesignView,
    DiffResult,
    ExportResult,
    FieldChange,
    HistoryEntry,
    HistoryResult,
    RenderResult,
    ReviewResult,
    StepResult,
    TemplateList,
    TemplateOut,
    WriteResult,
)
from ml_systemization.server.app import AppState, SchemaName, state_of
from ml_systemization.settings import RuleSettings, Settings, effective_rule_settings
from ml_systemization.steps import (
    ARTIFACTS,
    PROCEDURE,
    STEP_BY_KEY,
    STEPS,
    SectionKey,
    Step,
    StepStatus,
    apply_change,
    next_step,
    step_status,
)
from ml_systemization.store import DesignRecord
from ml_systemization.upstream import normalize_context
from ml_systemization.views import build_view, view_schema
from ml_systemization.waivers import apply_review_options

ArtifactName = Literal[
    "one_pager",
    "baseline_spec",
    "evaluation_plan",
    "rollout_plan",
    "monitoring_plan",
    "iteration_plan",
    "feature_card",
]
assert set(typing.get_args(ArtifactName)) == set(ARTIFACTS)

# Parameters shared by many tools carry no description: INSTRUCTIONS (sent once) explains them.
# A design_id is the id start_design returned; its length bounds (1..64) are still enforced but
# not published in 21 tool schemas, where they tell a caller nothing it could act on.
DesignId = Annotated[str, Field(min_length=1, max_length=64), WithJsonSchema({"type": "string"})]
ExpectedRevision = Annotated[int | None, Field(ge=1)]
Removals = list[str]
Revision = Annotated[int, Field(ge=1)]
OptionalRevision = Annotated[int | None, Field(ge=1)]


if TYPE_CHECKING:
    ContextPatch = DesignContext
    RuleSettingsPatch = RuleSettings
else:
    # Tool inputs derived from the models: every field optional, unsent fields untouched.
    ContextPatch = patch_model(DesignContext)
    RuleSettingsPatch = patch_model(RuleSettings)

# Upstream agents (data-centric design, trade-off steps) send near-Context JSON: accept it.
UpstreamContext = Annotated[ContextPatch | None, BeforeValidator(normalize_context)]
# start_design publishes its context as a plain object: it takes update_context's fields, and
# upstream payloads (whose shapes vary) as is. The same model validates it: unknown fields and
# out-of-range values are still rejected, with nothing stored.
SeedContext = Annotated[
    UpstreamContext,
    WithJsonSchema(
        {
            "type": ["object", "null"],
            "description": "update_context's context fields; upstream step JSON is accepted "
            "as is (items as strings or {name, ...}, text fields as JSON)",
        }
    ),
]


class WaiverIn(BaseModel):
    model_config = MODEL_CONFIG

    rule_id: str = Field(description="A warning's rule id, e.g. ROLL-006")
    reason: str = Field(min_length=10, max_length=2000)


READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
# Re-sending the same partial section leaves the design unchanged except for a new revision.
UPSERT = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# Delete and purge: a second identical call changes nothing more (it reports an error).
DESTRUCTIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
# Export into a new folder of the configured export folder: writes files, overwrites none.
EXPORT_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
# Shown when a listing of changed paths is cut short.
MAX_PATHS = 50


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """Turn the errors a caller can act on into ToolErrors, whose message reaches the model."""
    try:
        yield
    except MLSystemizationError as exc:
        raise ToolError(str(exc)) from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise ToolError(f"Invalid change, nothing was stored: {problems}") from exc


def _check_request(
    ctx: Context[AppState], allowed: set[str], tool: str, *, check_fields: bool = True
) -> None:
    """Refuse unknown top-level arguments (the SDK ignores them, so a misplaced field would
    vanish silently) and arguments over the size limits, before any transaction."""
    params = ctx.request_context.params or {}
    sent = params.get("arguments") or {}
    unknown = sorted(set(sent) - allowed)
    if unknown:
        raise ToolError(
            f"Unknown argument(s) {', '.join(unknown)} for {tool}; nothing was stored. "
            f"Accepted: {', '.join(sorted(allowed))}. Section fields go inside the section "
            "object."
        )
    if check_fields:
        with _tool_errors():
            check_arguments(sent, state_of(ctx).settings.limits)


def _actor(ctx: Context[AppState]) -> str | None:
    principal = authenticated_principal(ctx.request_context)
    if principal:
        return principal
    with contextlib.suppress(AttributeError):
        params = ctx.session.client_params
        if params is not None:
            name: str = params.client_info.name
            return name
    return None


def _rules(state: AppState, design: Design) -> RuleSettings:
    """The server's rule settings with this design's overrides."""
    return effective_rule_settings(state.settings.rules, design.rule_settings)


def _suggest(design: Design) -> str:
    step = next_step(design)
    return step.tool if step else "review_design"


def _step_result(
    before: Design | None, record: DesignRecord, key: str, state: AppState
) -> StepResult:
    design = record.design
    if key == "context":
        status: StepStatus = "complete" if design.context.problem else "in_progress"
        missing = [] if status == "complete" else ["context.problem: state the problem"]
    else:
        status, missing = step_status(design, STEP_BY_KEY[key])
    rules = _rules(state, design)
    feedback = step_feedback(
        before,
        design,
        rules,
        touching=key,
        settings_before=_rules(state, before) if before is not None else None,
        memo=state.findings,
    )
    return StepResult(
        design_id=record.id,
        revision=record.revision,
        step=key,
        status=status,
        missing=missing,
        findings=feedback.findings,
        resolved=feedback.resolved,
        not_evaluable=feedback.not_evaluable,
        next_step=_suggest(design),
    )


def _change_record(section: str, patch: BaseModel | None, remove: list[str]) -> dict[str, Any]:
    change: dict[str, Any] = {"section": section}
    if patch is not None:
        change["set"] = patch.model_dump(mode="json", exclude_unset=True)
    if remove:
        change["remove"] = remove
    return change


def _apply(
    ctx: Context[AppState],
    *,
    tool: str,
    design_id: str,
    key: SectionKey,
    patch: BaseModel | None,
    remove: list[str],
    expected_revision: int | None,
) -> StepResult:
    """Apply one change in one transaction and report on it."""
    state = state_of(ctx)
    seen: list[Design] = []

    def change(design: Design) -> Design:
        seen.append(design)
        return apply_change(design, key, patch, remove=remove)

    with _tool_errors():
        record = state.store.update(
            design_id,
            change,
            tool=tool,
            actor=_actor(ctx),
            change=_change_record(key, patch, remove),
            expected_revision=expected_revision,
        )
    return _step_result(seen[-1], record, key, state)


# --------------------------------------------------------------------------- step tools


def _step_tool(step: Step) -> Callable[..., StepResult]:
    """A typed tool function for one step; its signature is the tool's input schema."""
    patch_cls = patch_model(step.model)
    section_param = step.key
    allowed = {"design_id", section_param, "remove", "expected_revision"}

    def tool(**kwargs: Any) -> StepResult:
        ctx: Context[AppState] = kwargs["ctx"]
        _check_request(ctx, allowed, step.tool)
        return _apply(
            ctx,
            tool=step.tool,
            design_id=kwargs["design_id"],
            key=step.key,
            patch=kwargs[section_param],
            remove=kwargs["remove"],
            expected_revision=kwargs["expected_revision"],
        )

    parameters = [
        inspect.Parameter("design_id", inspect.Parameter.KEYWORD_ONLY, annotation=DesignId),
        inspect.Parameter(
            section_param,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=patch_cls | None,
            default=None,
        ),
        inspect.Parameter(
            "remove", inspect.Parameter.KEYWORD_ONLY, annotation=Removals, default=[]
        ),
        inspect.Parameter(
            "expected_revision",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=ExpectedRevision,
            default=None,
        ),
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context[AppState]),
    ]
    tool.__signature__ = inspect.Signature(parameters, return_annotation=StepResult)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": StepResult}
    tool.__name__ = step.tool
    return tool


STEP_DESCRIPTIONS: dict[str, str] = {
    "baseline": "Step 1: the baseline to beat (non-AI or simplest AI), its scores and cost, "
    "and why ML/LLM.",
    "io_contract": "Step 2: the I/O contract: typed bounded inputs, validatable output, "
    "failure behavior per mode, timeouts and deadline.",
    "evaluation": "Step 3: golden set (size, sources, slices), metrics with thresholds, "
    "judge calibration, failure taxonomy.",
    "architecture": "Step 4: serving mode, components with p95s, LLM tokens/prices/quotas, "
    "cache, pinned versions, dependencies, SLOs, isolation.",
    "rollout": "Step 5: flag and kill switch, shadow, canary stages, rollback triggers with "
    "windows and minimum samples.",
    "monitoring": "Step 6: signals (system, drift, quality_proxy, safety, cost) with "
    "thresholds and windows, SLOs with burn-rate alerts, cost alerts.",
    "iteration": "Step 7: what changes and through which gates, update triggers bound to "
    "signals, A/B plan.",
    "card": "Feature card fields: intended use, non-goals, limitations, failure modes, data and "
    "privacy.",
}


def _register_step_tools(server: MCPServer) -> None:
    for step in STEPS:
        server.add_tool(
            _step_tool(step),
            name=step.tool,
            title=step.title,
            description=STEP_DESCRIPTIONS[step.key],
            annotations=UPSERT,
        )


# --------------------------------------------------------------------------- design tools


def _register_design_tools(server: MCPServer) -> None:

    @server.tool(title="Start a design", annotations=WRITE)
    def start_design(
        feature: Annotated[str, Field(min_length=1, max_length=200)],
        ctx: Context[AppState],
        context: SeedContext = None,
    ) -> StepResult:
        """Create a design and return its design_id; pass upstream context if you have it."""
        _check_request(ctx, {"feature", "context"}, "start_design")
        state = state_of(ctx)
        with _tool_errors():
            design = apply_change(Design(), "context", context)
            design = apply_change(design, "context", ContextPatch(feature=feature))
            record = state.store.create(
                design,
                tool="start_design",
                actor=_actor(ctx),
                change=_change_record("context", context, []) | {"feature": feature},
            )
        return _step_result(None, record, "context", state)

    @server.tool(title="Update the context", annotations=UPSERT)
    def update_context(
        design_id: DesignId,
        ctx: Context[AppState],
        context: UpstreamContext = None,
        remove: Removals = [],  # noqa: B006 - pydantic copies defaults
        expected_revision: ExpectedRevision = None,
    ) -> StepResult:
        """Change the seed inputs: problem, outcomes, metrics, guardrails, traffic, budget."""
        _check_request(
            ctx, {"design_id", "context", "remove", "expected_revision"}, "update_context"
        )
        return _apply(
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
        with _tool_errors():
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
        with _tool_errors():
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
        with _tool_errors():
            record = state.store.get(design_id)
        return ReviewResult(
            design_id=record.id,
            revision=record.revision,
            review=review(record.design, _rules(state, record.design)),
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
        _check_request(
            ctx,
            {"design_id", "waive", "unwaive", "settings", "expected_revision"},
            "configure_review",
        )
        state = state_of(ctx)
        actor = _actor(ctx)
        overrides = settings.model_dump(exclude_unset=True) if settings is not None else {}
        with _tool_errors():
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
            review=review(record.design, _rules(state, record.design)),
        )

    @server.tool(title="Render artifacts", annotations=READ_ONLY)
    def render_artifacts(
        design_id: DesignId,
        ctx: Context[AppState],
        names: Annotated[list[ArtifactName] | None, Field(description="Default: all seven")] = None,
    ) -> RenderResult:
        """Render the design's markdown artifacts (unfilled fields show which tool fills them)."""
        state = state_of(ctx)
        with _tool_errors():
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
        with _tool_errors():
            infos = state_of(ctx).renderer.list_templates()
        return TemplateList(templates=[TemplateOut(name=i.name, source=i.source) for i in infos])

    @server.tool(title="Get a template", annotations=READ_ONLY)
    def get_template(name: ArtifactName, ctx: Context[AppState]) -> TemplateOut:
        """One raw Jinja2 artifact template (also resource template://{name})."""
        renderer = state_of(ctx).renderer
        with _tool_errors():
            info = next(i for i in renderer.list_templates() if i.name == name)
            return TemplateOut(name=name, source=info.source, text=renderer.template_source(name))


# --------------------------------------------------------------------------- history, lifecycle


def _capped(paths: Sequence[str]) -> list[str]:
    shown = list(paths[:MAX_PATHS])
    if len(paths) > MAX_PATHS:
        shown.append(f"... and {len(paths) - MAX_PATHS} more")
    return shown


def _field_change(change: history.Change) -> FieldChange:
    if change.op == "reordered":
        # Item order is a value of the list itself: report it as a change of the list.
        return FieldChange(
            path=change.where,
            op="changed",
            before=change.before,
            after=change.after,
            summary=change.summary(),
        )
    return FieldChange(
        path=change.where or "design",
        op=change.op,
        before=change.before,
        after=change.after,
        summary=change.summary(),
    )


def _register_history_tools(server: MCPServer) -> None:
    @server.tool(title="Design history", annotations=READ_ONLY)
    def design_history(
        design_id: DesignId,
        ctx: Context[AppState],
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
        offset: Annotated[int, Field(ge=0)] = 0,
        details: Annotated[bool, Field(description="Include each request")] = False,
    ) -> HistoryResult:
        """A design's revisions, newest first: time, tool, actor, fields changed."""
        with _tool_errors():
            entries, current = state_of(ctx).store.revisions(design_id, limit=limit, offset=offset)
        return HistoryResult(
            design_id=design_id,
            revision=current,
            revisions=[
                HistoryEntry(
                    revision=e.number,
                    at=e.at.isoformat(),
                    tool=e.tool,
                    actor=e.actor,
                    paths=_capped(e.paths) if e.paths is not None else None,
                    change=e.change if details else None,
                )
                for e in entries
            ],
        )

    @server.tool(title="Diff two revisions", annotations=READ_ONLY)
    def diff_design(
        design_id: DesignId,
        from_revision: Revision,
        ctx: Context[AppState],
        to_revision: OptionalRevision = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 100,
    ) -> DiffResult:
        """Field-level changes between two revisions, each with a readable summary line."""
        with _tool_errors():
            changes, target = state_of(ctx).store.diff(design_id, from_revision, to_revision)
        return DiffResult(
            design_id=design_id,
            from_revision=from_revision,
            to_revision=target,
            total=len(changes),
            changes=[_field_change(c) for c in changes[:limit]],
        )

    @server.tool(title="Revert a design", annotations=WRITE)
    def revert_design(
        design_id: DesignId,
        to_revision: Revision,
        ctx: Context[AppState],
        expected_revision: ExpectedRevision = None,
    ) -> WriteResult:
        """Restore the content of an earlier revision as a new revision; nothing is deleted."""
        _check_request(ctx, {"design_id", "to_revision", "expected_revision"}, "revert_design")
        with _tool_errors():
            record, changes = state_of(ctx).store.revert(
                design_id, to_revision, actor=_actor(ctx), expected_revision=expected_revision
            )
        return WriteResult(
            design_id=record.id,
            revision=record.revision,
            status="active",
            changed=_capped(history.changed_paths(changes)),
            note=f"Revision {record.revision} has the content of revision {to_revision}.",
        )

    @server.tool(title="Delete a design", annotations=DESTRUCTIVE)
    def delete_design(
        design_id: DesignId,
        ctx: Context[AppState],
        expected_revision: ExpectedRevision = None,
    ) -> WriteResult:
        """Move a design out of listings; restore_design brings it back within retention."""
        _check_request(ctx, {"design_id", "expected_revision"}, "delete_design")
        state = state_of(ctx)
        with _tool_errors():
            record = state.store.delete(
                design_id, actor=_actor(ctx), expected_revision=expected_revision
            )
        assert record.deleted_at is not None
        until = record.deleted_at + dt.timedelta(days=state.settings.retention_days)
        return WriteResult(
            design_id=record.id,
            revision=record.revision,
            status="deleted",
            changed=[],
            note=f"Deleted; restore_design can bring it back until {until.isoformat()}.",
        )

    @server.tool(title="Restore a deleted design", annotations=WRITE)
    def restore_design(
        design_id: DesignId,
        ctx: Context[AppState],
        expected_revision: ExpectedRevision = None,
    ) -> WriteResult:
        """Bring back a deleted design, within the retention period."""
        _check_request(ctx, {"design_id", "expected_revision"}, "restore_design")
        with _tool_errors():
            record = state_of(ctx).store.restore(
                design_id, actor=_actor(ctx), expected_revision=expected_revision
            )
        return WriteResult(
            design_id=record.id,
            revision=record.revision,
            status="active",
            changed=[],
            note="Restored with its whole history.",
        )

    @server.tool(title="Purge a deleted design", annotations=DESTRUCTIVE)
    def purge_design(
        design_id: DesignId,
        confirm: Annotated[str, Field(max_length=64, description="The design_id again")],
        ctx: Context[AppState],
    ) -> WriteResult:
        """Permanently remove a deleted design and its history; confirm must repeat the id."""
        _check_request(ctx, {"design_id", "confirm"}, "purge_design")
        if confirm != design_id:
            raise ToolError(
                f"confirm must equal the design_id {design_id!r}; nothing was purged. Purging "
                "cannot be undone: check the id with list_designs(include_deleted=true)."
            )
        with _tool_errors():
            removed = state_of(ctx).store.purge(design_id)
        return WriteResult(
            design_id=design_id,
            revision=None,
            status="purged",
            changed=[],
            note=f"Removed the design and its {removed} revisions; this cannot be undone.",
        )


# --------------------------------------------------------------------------- hand-off


def _register_handoff_tools(server: MCPServer, settings: Settings) -> None:
    def export(
        ctx: Context[AppState], design_id: str, revision: int | None, path: str | None
    ) -> ExportResult:
        state = state_of(ctx)
        with _tool_errors():
            record = state.store.get(design_id)
            number = revision or record.revision
            design = (
                record.design
                if number == record.revision
                else state.store.design_at(design_id, number)
            )
            artifacts = render_design(
                state.renderer,
                design,
                design_id=record.id,
                revision=number,
                rules=_rules(state, design),
            )
            bundle = bundles.make_bundle(
                design, design_id=record.id, revision=number, artifacts=artifacts
            )
            files: list[str] = []
            if path is not None:
                assert state.settings.export_dir is not None
                target = bundles.export_target(state.settings.export_dir, path)
                files = [str(p) for p in bundles.write_folder(bundle, target)]
        return ExportResult(**dict(bundle), files=files)

    export_doc = "The design as versioned JSON plus its seven rendered artifacts."
    if settings.export_dir is None:

        @server.tool(title="Export a design", annotations=READ_ONLY, description=export_doc)
        def export_design(
            design_id: DesignId,
            ctx: Context[AppState],
            revision: OptionalRevision = None,
        ) -> ExportResult:
            sent = (ctx.request_context.params or {}).get("arguments") or {}
            if "path" in sent:
                raise ToolError(
                    "This server writes no files: export_design takes a path only when the "
                    "server runs with --export-dir DIR. Call it without path to get the bundle."
                )
            return export(ctx, design_id, revision, None)

    else:

        @server.tool(
            title="Export a design",
            annotations=EXPORT_WRITE,
            description=export_doc + " With path, also write it to a new folder there.",
        )
        def export_design(
            design_id: DesignId,
            ctx: Context[AppState],
            revision: OptionalRevision = None,
            path: Annotated[
                str | None,
                Field(max_length=255, description="New folder, relative to the export folder"),
            ] = None,
        ) -> ExportResult:
            return export(ctx, design_id, revision, path)

    @server.tool(title="Import a design", annotations=WRITE)
    def import_design(
        bundle: Annotated[
            dict[str, Any], Field(description="An export_design bundle, or a design document")
        ],
        ctx: Context[AppState],
        design_id: Annotated[
            str | None, Field(max_length=64, description="Write a new revision of this design")
        ] = None,
        expected_revision: ExpectedRevision = None,
    ) -> WriteResult:
        """Validate a bundle, upgrade older schemas, and store it as a new design or revision."""
        # Artifacts may be long markdown and are rendered again: only the total size counts.
        _check_request(
            ctx, {"bundle", "design_id", "expected_revision"}, "import_design", check_fields=False
        )
        state = state_of(ctx)
        actor = _actor(ctx)
        with _tool_errors():
            imported = bundles.read_bundle(bundle)
            change = {
                "source_design_id": imported.source_design_id,
                "source_revision": imported.source_revision,
                "migrated_from": imported.migrated_from,
            }
            if design_id is None:
                record = state.store.create(
                    imported.design, tool="import_design", actor=actor, change=change
                )
                changed: list[str] = []
            else:
                if expected_revision is None:
                    raise ToolError(
                        f"Replacing the content of {design_id!r} needs expected_revision (its "
                        "revision from get_design); nothing was stored."
                    )
                before = state.store.get(design_id)
                record = state.store.update(
                    design_id,
                    lambda _: imported.design,
                    tool="import_design",
                    actor=actor,
                    change=change,
                    expected_revision=expected_revision,
                )
                changed = history.changed_paths(
                    history.diff(
                        before.design.model_dump(mode="json"),
                        record.design.model_dump(mode="json"),
                    )
                )
        upgraded = (
            f" (upgraded from schema_version {imported.migrated_from})"
            if imported.migrated_from
            else ""
        )
        return WriteResult(
            design_id=record.id,
            revision=record.revision,
            status="active",
            changed=_capped(changed),
            note=f"Imported as revision {record.revision} of {record.id}{upgraded}.",
        )

    @server.tool(title="Get a JSON Schema", annotations=READ_ONLY)
    def get_design_schema(
        name: SchemaName = "design",
    ) -> dict[str, Any]:
        """The JSON Schema of the design or of a view (also resources schema://...)."""
        return schema_document(name)

    @server.tool(title="Get a view of a design", annotations=READ_ONLY)
    def get_design_view(
        design_id: DesignId, view: ViewName, ctx: Context[AppState]
    ) -> dict[str, Any]:
        """A design's observability or orchestration view (schema: schema://views/<view>)."""
        with _tool_errors():
            record = state_of(ctx).store.get(design_id)
        return view_document(record, view)


def schema_document(name: SchemaName) -> dict[str, Any]:
    if name == "design":
        return Design.model_json_schema()
    return view_schema(name)


def view_document(record: DesignRecord, view: ViewName) -> dict[str, Any]:
    built = build_view(view, record.design, design_id=record.id, revision=record.revision)
    return built.model_dump(mode="json")


def render_record(state: AppState, record: DesignRecord, names: Sequence[str]) -> dict[str, str]:
    return render_design(
        state.renderer,
        record.design,
        design_id=record.id,
        revision=record.revision,
        rules=_rules(state, record.design),
        names=names,
    )


AGENT_PROMPT = """\
You are running the ml-systemization procedure for: {feature}.

Goal: seven artifacts (one-pager, baseline spec, evaluation plan, rollout plan, monitoring and
drift plan, iteration loop plan, feature card) that pass the quality bar.

Work with the ml-systemization tools, one step at a time, asking the user for facts you do not
have instead of inventing numbers:
1. start_design (feature, problem, success metrics, guardrails, data, traffic, cost budget).
{steps}
Then describe_feature_card, review_design, and render_artifacts.

Rules you must hold to:
- Define a baseline to beat, and score it on the same golden set.
- Define the evaluation (golden tasks and thresholds) before optimizing the architecture.
- Include online quality proxies and a cost budget.
- Stage the rollout behind a flag, with rollback triggers that can fire inside their stage.
After each call, read `missing` and `findings`: fix errors before moving on, and explain each
warning you keep to the user."""


def prompt_text(feature: str) -> str:
    """The agent prompt for one feature, with the step tools in procedure order."""
    steps = "\n".join(
        f"{step.number + 1}. {step.tool}: {STEP_DESCRIPTIONS[step.key]}" for step in PROCEDURE
    )
    return AGENT_PROMPT.format(feature=feature, steps=steps)


def register_tools(server: MCPServer, settings: Settings) -> None:
    """Register every tool on `server`."""
    _register_design_tools(server)
    _register_step_tools(server)
    _register_history_tools(server)
    _register_handoff_tools(server, settings)
