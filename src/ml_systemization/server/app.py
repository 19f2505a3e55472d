"""build_server(settings) -> MCPServer: what the server needs to start and to answer tools/list.

Start-up is paid on every launch of the server by every client, so this module imports only
the SDK and light modules. The tools, which load the design models, rules and store, are
registered on the first tool call (`_Server._ensure_tools`); `tools/list` is answered from the
published tool definitions generated from those same registrations (`published.py`, kept
identical by a test). Resources, the prompt and completions are registered here; their bodies
import what they need when they are first read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, cast

import anyio.to_thread
from mcp import MCPError
from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.types import (
    INVALID_PARAMS,
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    GetPromptResult,
    InputRequiredResult,
    PromptReference,
    ResourceTemplateReference,
    TextContent,
    Tool,
)
from pydantic import Field

from ml_systemization import __version__
from ml_systemization.errors import (
    DesignDeletedError,
    DesignNotFoundError,
    LimitExceededError,
    MLSystemizationError,
    TemplateError,
)
from ml_systemization.limits import json_size
from ml_systemization.names import ARTIFACT_NAMES, VIEW_NAMES
from ml_systemization.settings import Settings

if TYPE_CHECKING:
    from ml_systemization.findings import FindingsMemo
    from ml_systemization.render import Renderer
    from ml_systemization.store import DesignRecord, SQLiteStore

SERVER_NAME = "ml-systemization"

INSTRUCTIONS = """\
Designs an ML/LLM feature for production in seven steps; each step tool fills one section of a
persistent design. Start with start_design and pass the design_id it returns to every other call.
1 choose_baseline  2 define_io_contract  3 build_evaluation  4 design_architecture
5 plan_rollout  6 define_monitoring  7 define_iteration_loop, then describe_feature_card.
Step tools and update_context take a partial section: fields not sent are kept, null clears a
field, list items are upserted by id (unsent item fields are kept), unknown fields are rejected.
`remove` deletes list items or map keys by "<path>/<id>", e.g. "metrics/bleu",
"golden_set.slices/es-ES", "scores/bleu". expected_revision makes a write fail, storing
nothing, unless the design is still at that revision (get_design gives it): pass it when others
may edit. An omitted revision means the current one. Units are in field names (_ms, _s,
_min minutes, _h, _d and _days, _usd, _mtok per 1M tokens); shares, fractions and rates are 0..1.
Every step result lists what the step still lacks, the findings (numbers-based checks) and the
next step. review_design gives the quality bar and `ready`; render_artifacts returns the seven
markdown artifacts. Every change is a revision (design_history, diff_design, revert_design).
export_design/import_design move a design between tools; get_design_view gives the
observability or orchestration view for downstream agents."""

SchemaName = Literal["design", "observability", "orchestration"]
_T = TypeVar("_T")


class AppState:
    """What the lifespan hands every handler: the settings, and the store, renderer and
    findings memo, each made on first use (the store loads the design models, the renderer
    Jinja2), once, whichever thread asks first."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._made: dict[str, object] = {}

    def _once(self, name: str, make: Callable[[], _T]) -> _T:
        with self._lock:  # uncontended after the first call: a few hundred nanoseconds
            if name not in self._made:
                self._made[name] = make()
            return cast(_T, self._made[name])

    @property
    def store(self) -> SQLiteStore:
        def open_store() -> SQLiteStore:
            from ml_systemization.store import SQLiteStore

            return SQLiteStore(
                self.settings.db_path,
                limits=self.settings.limits,
                retention_days=self.settings.retention_days,
            )

        return self._once("store", open_store)

    @property
    def renderer(self) -> Renderer:
        def make_renderer() -> Renderer:
            from ml_systemization.render import Renderer

            return Renderer(self.settings.templates_dir)

        return self._once("renderer", make_renderer)

    @property
    def findings(self) -> FindingsMemo:
        """Step calls reuse the previous call's evaluation of the design they start from."""

        def make_memo() -> FindingsMemo:
            from ml_systemization.findings import FindingsMemo

            return FindingsMemo()

        return self._once("findings", make_memo)

    def close(self) -> None:
        with self._lock:
            store = self._made.pop("store", None)  # opened only if some call needed it
        if store is not None:
            cast("SQLiteStore", store).close()


def state_of(ctx: Context[AppState]) -> AppState:
    return ctx.request_context.lifespan_context


# --------------------------------------------------------------------------- resources, prompt


def _register_resources(server: MCPServer) -> None:
    @server.resource(
        "template://{name}",
        name="template",
        title="Artifact template",
        description="Raw Jinja2 markdown template of one artifact",
        mime_type="text/markdown",
    )
    def template_resource(name: str, ctx: Context[AppState]) -> str:
        try:
            return state_of(ctx).renderer.template_source(name)
        except TemplateError as exc:
            raise ResourceNotFoundError(str(exc)) from exc

    @server.resource(
        "design://{design_id}",
        name="design",
        title="Design",
        description="The whole design as JSON",
        mime_type="application/json",
    )
    def design_resource(design_id: str, ctx: Context[AppState]) -> str:
        record = _resource_record(ctx, design_id)
        return json.dumps(
            {
                "design_id": record.id,
                "revision": record.revision,
                "design": record.design.model_dump(mode="json"),
            },
            indent=2,
        )

    @server.resource(
        "design://{design_id}/artifacts/{name}",
        name="artifact",
        title="Rendered artifact",
        description="One artifact of a design, rendered to markdown",
        mime_type="text/markdown",
    )
    def artifact_resource(design_id: str, name: str, ctx: Context[AppState]) -> str:
        if name not in ARTIFACT_NAMES:
            raise ResourceNotFoundError(
                f"Unknown artifact {name!r}; use one of {', '.join(ARTIFACT_NAMES)}."
            )
        from ml_systemization.server.common import render_record

        record = _resource_record(ctx, design_id)
        return render_record(state_of(ctx), record, [name])[name]

    @server.resource(
        "design://{design_id}/views/{view}",
        name="design_view",
        title="Design view",
        description="Observability or orchestration view of a design (schema://views/{view})",
        mime_type="application/json",
    )
    def view_resource(design_id: str, view: str, ctx: Context[AppState]) -> str:
        if view not in VIEW_NAMES:
            raise ResourceNotFoundError(
                f"Unknown view {view!r}; use one of {', '.join(VIEW_NAMES)}."
            )
        from ml_systemization.server.common import view_document

        record = _resource_record(ctx, design_id)
        return json.dumps(view_document(record, view), indent=2)

    def schema_resource(name: SchemaName) -> Callable[[], str]:
        def read() -> str:
            from ml_systemization.server.common import schema_document

            return json.dumps(schema_document(name), indent=2)

        return read

    for name, uri in [
        ("design", "schema://design"),
        ("observability", "schema://views/observability"),
        ("orchestration", "schema://views/orchestration"),
    ]:
        server.resource(
            uri,
            name=f"schema_{name}",
            title=f"JSON Schema: {name}",
            description=f"JSON Schema of the {name} document"
            + ("" if name == "design" else " view"),
            mime_type="application/schema+json",
        )(schema_resource(cast(SchemaName, name)))


def _resource_record(ctx: Context[AppState], design_id: str) -> DesignRecord:
    try:
        return state_of(ctx).store.get(design_id)
    except (DesignNotFoundError, DesignDeletedError) as exc:
        raise ResourceNotFoundError(str(exc)) from exc
    except MLSystemizationError as exc:  # e.g. the database cannot be used: say why
        raise ResourceError(str(exc)) from exc


def _register_prompt(server: MCPServer) -> None:
    @server.prompt(
        name="ml_systemization",
        title="Design an ML/LLM feature for production",
        description="Walk the seven steps for a feature and produce the seven artifacts",
    )
    def ml_systemization(
        feature: Annotated[str, Field(description="The ML/LLM feature to design")],
    ) -> str:
        from ml_systemization.server.step_tools import prompt_text

        return prompt_text(feature)


def _register_completions(server: MCPServer) -> None:
    @server.completion()  # type: ignore[untyped-decorator,no-untyped-call]  # untyped in the SDK
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if argument.name == "name":  # template://{name} and design://{id}/artifacts/{name}
            return Completion(values=[a for a in ARTIFACT_NAMES if a.startswith(argument.value)])
        if argument.name == "view":  # design://{id}/views/{view}
            return Completion(values=[v for v in VIEW_NAMES if v.startswith(argument.value)])
        return None


# --------------------------------------------------------------------------- factory


class _Server(MCPServer):
    """MCPServer whose tools are registered on first use, publishing lean tool schemas, and
    reporting a bad prompts/get request as Invalid params (-32602).

    tools/list: the SDK would publish the pydantic-generated schemas, and registering the tools
    builds the design models and their schemas (a third of a second). Every client starts the
    server and lists its tools before anything else, and every byte of the list is paid for in
    every conversation, so `list_tools` serves the published definitions
    (`published.tool_definitions`: `toolschema.compact_tool_schema` of each registered tool,
    generated ahead and kept identical by a test), and the tools are registered on the first
    call that needs them (`_ensure_tools`).

    prompts/get: the SDK turns an unknown prompt or a missing argument into an internal error
    (code 0 or -32603) and logs a traceback; a client deserves to be told what it sent wrong.
    """

    def __init__(
        self,
        *args: Any,
        settings: Settings,
        register_tools: Callable[[MCPServer, Settings], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._settings = settings
        self._register_tools = register_tools
        self._tools_lock = threading.Lock()
        self._tools_ready = False
        self._published: list[Tool] | None = None

    def _ensure_tools(self) -> None:
        """Register the tools (once, whichever thread asks first)."""
        if self._tools_ready:
            return
        with self._tools_lock:
            if not self._tools_ready:
                self._register_tools(self, self._settings)
                self._tools_ready = True

    async def list_tools(self) -> list[Tool]:
        if self._published is None:
            from ml_systemization.server import published

            tools = published.tool_definitions(export_dir=self._settings.export_dir is not None)
            if tools is None:  # generated with other mcp/pydantic versions: derive them here
                tools = [published.lean(tool) for tool in await self.registered_tools()]
            self._published = tools
        return list(self._published)

    async def registered_tools(self) -> list[Tool]:
        """The SDK's definitions of the registered tools (registering them if needed): what
        `published` compacts, and tests compare with what is served."""
        await anyio.to_thread.run_sync(self._ensure_tools)
        return await super().list_tools()

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        if not self._tools_ready:
            # Off the event loop: the first registration takes a few hundred milliseconds,
            # during which other requests (ping, tools/list) are still answered.
            await anyio.to_thread.run_sync(self._ensure_tools)
        return await super().call_tool(name, arguments, context)

    async def get_prompt(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        context: Context[Any] | None = None,
    ) -> GetPromptResult | InputRequiredResult:
        prompts = {p.name: p for p in await self.list_prompts()}
        prompt = prompts.get(name)
        if prompt is None:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Unknown prompt {name!r}; available: {', '.join(sorted(prompts))}.",
            )
        sent = arguments or {}
        missing = [a.name for a in prompt.arguments or [] if a.required and not sent.get(a.name)]
        if missing:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Prompt {name!r} needs argument(s): {', '.join(missing)}.",
            )
        return await super().get_prompt(name, arguments, context)


class _ArgumentSizeLimit:
    """Refuse a tools/call whose arguments exceed max_argument_bytes before the SDK validates
    them against the tool's models: the call fails as a tool error naming the size."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.method == "tools/call" and ctx.params:
            size = json_size(ctx.params.get("arguments") or {})
            if size > self.limit:
                error = LimitExceededError(
                    "The arguments of this call", size, self.limit, "max_argument_bytes", "bytes"
                )
                name = ctx.params.get("name")
                return CallToolResult(
                    content=[
                        TextContent(type="text", text=f"Error executing tool {name}: {error}")
                    ],
                    is_error=True,
                )
        return await call_next(ctx)


def _register_tools(server: MCPServer, settings: Settings) -> None:
    from ml_systemization.server.tools import register_tools

    register_tools(server, settings)


def build_server(settings: Settings) -> MCPServer:
    """A fresh server; state (the store) lives in its lifespan, keyed by design_id."""

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[AppState]:
        state = AppState(settings)
        try:
            yield state
        finally:
            state.close()

    server = _Server(
        SERVER_NAME,
        title="ML Systemization",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        middleware=[_ArgumentSizeLimit(settings.limits.max_argument_bytes)],
        settings=settings,
        register_tools=_register_tools,
    )
    _register_resources(server)
    _register_prompt(server)
    _register_completions(server)
    return server
