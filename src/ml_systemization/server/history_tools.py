"""History and lifecycle tools: history, diff, revert, delete, restore, purge."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from ml_systemization import history
from ml_systemization.results import (
    DiffResult,
    FieldChange,
    HistoryEntry,
    HistoryResult,
    WriteResult,
)
from ml_systemization.server.app import AppState, state_of
from ml_systemization.server.common import (
    DESTRUCTIVE,
    READ_ONLY,
    WRITE,
    DesignId,
    ExpectedRevision,
    OptionalRevision,
    Revision,
    actor_of,
    capped,
    check_request,
    tool_errors,
)

# --------------------------------------------------------------------------- history, lifecycle


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


def register_history_tools(server: MCPServer) -> None:
    @server.tool(title="Design history", annotations=READ_ONLY)
    def design_history(
        design_id: DesignId,
        ctx: Context[AppState],
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
        offset: Annotated[int, Field(ge=0)] = 0,
        details: Annotated[bool, Field(description="Include each request")] = False,
    ) -> HistoryResult:
        """A design's revisions, newest first: time, tool, actor, fields changed."""
        with tool_errors():
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
                    paths=capped(e.paths) if e.paths is not None else None,
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
        with tool_errors():
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
        check_request(ctx, {"design_id", "to_revision", "expected_revision"}, "revert_design")
        with tool_errors():
            record, changes = state_of(ctx).store.revert(
                design_id, to_revision, actor=actor_of(ctx), expected_revision=expected_revision
            )
        return WriteResult(
            design_id=record.id,
            revision=record.revision,
            status="active",
            changed=capped(history.changed_paths(changes)),
            note=f"Revision {record.revision} has the content of revision {to_revision}.",
        )

    @server.tool(title="Delete a design", annotations=DESTRUCTIVE)
    def delete_design(
        design_id: DesignId,
        ctx: Context[AppState],
        expected_revision: ExpectedRevision = None,
    ) -> WriteResult:
        """Move a design out of listings; restore_design brings it back within retention."""
        check_request(ctx, {"design_id", "expected_revision"}, "delete_design")
        state = state_of(ctx)
        with tool_errors():
            record = state.store.delete(
                design_id, actor=actor_of(ctx), expected_revision=expected_revision
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
        check_request(ctx, {"design_id", "expected_revision"}, "restore_design")
        with tool_errors():
            record = state_of(ctx).store.restore(
                design_id, actor=actor_of(ctx), expected_revision=expected_revision
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
        check_request(ctx, {"design_id", "confirm"}, "purge_design")
        if confirm != design_id:
            raise ToolError(
                f"confirm must equal the design_id {design_id!r}; nothing was purged. Purging "
                "cannot be undone: check the id with list_designs(include_deleted=true)."
            )
        with tool_errors():
            removed = state_of(ctx).store.purge(design_id)
        return WriteResult(
            design_id=design_id,
            revision=None,
            status="purged",
            changed=[],
            note=f"Removed the design and its {removed} revisions; this cannot be undone.",
        )
