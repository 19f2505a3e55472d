"""Types, annotations and helpers the tool modules share; what resources read too."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, authenticated_principal
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, BeforeValidator, Field, ValidationError, WithJsonSchema

from ml_systemization.artifacts import render_design
from ml_systemization.errors import MLSystemizationError
from ml_systemization.limits import check_arguments
from ml_systemization.model import MODEL_CONFIG, Design
from ml_systemization.model import Context as DesignContext
from ml_systemization.names import ViewName
from ml_systemization.patch import patch_model
from ml_systemization.server.app import AppState, SchemaName, state_of
from ml_systemization.settings import RuleSettings, effective_rule_settings
from ml_systemization.steps import next_step
from ml_systemization.store import DesignRecord
from ml_systemization.upstream import normalize_context
from ml_systemization.views import build_view, view_schema

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
def tool_errors() -> Iterator[None]:
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


def check_request(
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
        with tool_errors():
            check_arguments(sent, state_of(ctx).settings.limits)


def actor_of(ctx: Context[AppState]) -> str | None:
    principal = authenticated_principal(ctx.request_context)
    if principal:
        return principal
    with contextlib.suppress(AttributeError):
        params = ctx.session.client_params
        if params is not None:
            name: str = params.client_info.name
            return name
    return None


def rules_for(state: AppState, design: Design) -> RuleSettings:
    """The server's rule settings with this design's overrides."""
    return effective_rule_settings(state.settings.rules, design.rule_settings)


def suggest(design: Design) -> str:
    step = next_step(design)
    return step.tool if step else "review_design"


def capped(paths: Sequence[str]) -> list[str]:
    shown = list(paths[:MAX_PATHS])
    if len(paths) > MAX_PATHS:
        shown.append(f"... and {len(paths) - MAX_PATHS} more")
    return shown


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
        rules=rules_for(state, record.design),
        names=names,
    )
