"""Hand-off tools: export and import bundles, JSON Schemas, views for downstream agents."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from ml_systemization import bundle as bundles
from ml_systemization import history
from ml_systemization.artifacts import render_design
from ml_systemization.names import ViewName
from ml_systemization.results import ExportResult, WriteResult
from ml_systemization.server.app import AppState, SchemaName, state_of
from ml_systemization.server.common import (
    EXPORT_WRITE,
    READ_ONLY,
    WRITE,
    DesignId,
    ExpectedRevision,
    OptionalRevision,
    actor_of,
    capped,
    check_request,
    rules_for,
    schema_document,
    tool_errors,
    view_document,
)
from ml_systemization.settings import Settings


def register_handoff_tools(server: MCPServer, settings: Settings) -> None:
    def export(
        ctx: Context[AppState], design_id: str, revision: int | None, path: str | None
    ) -> ExportResult:
        state = state_of(ctx)
        with tool_errors():
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
                rules=rules_for(state, design),
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
        check_request(
            ctx, {"bundle", "design_id", "expected_revision"}, "import_design", check_fields=False
        )
        state = state_of(ctx)
        actor = actor_of(ctx)
        with tool_errors():
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
            changed=capped(changed),
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
        with tool_errors():
            record = state_of(ctx).store.get(design_id)
        return view_document(record, view)
