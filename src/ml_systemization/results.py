"""What the tools return: the result models whose JSON Schemas are the tools' outputSchemas.

Output schemas are published without descriptions (toolschema.py): each tool's description
says what comes back, so the notes on the fields below are comments for readers of the code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ml_systemization import bundle as bundles
from ml_systemization.findings import Finding
from ml_systemization.model import MODEL_CONFIG
from ml_systemization.quality import Review
from ml_systemization.steps import StepStatus


class Result(BaseModel):
    model_config = MODEL_CONFIG


class StepResult(Result):
    """What every step tool (and start_design, update_context) returns."""

    design_id: str
    revision: int  # after this change
    step: str  # the section changed
    status: StepStatus
    missing: list[str]  # what the step still lacks
    findings: list[Finding]  # violations of the rules that read this section
    resolved: list[str]  # rule ids this change fixed
    not_evaluable: list[str]  # rule ids still lacking inputs (review_design lists the fields)
    next_step: str | None  # suggested next tool, or review_design


class DesignView(Result):
    design_id: str
    revision: int
    created_at: str  # ISO time
    updated_at: str
    # A plain object: the full design schema would cost ~35 KB of every tools/list; it is
    # the resource schema://design.
    design: dict[str, Any]


class DesignSummaryOut(Result):
    design_id: str
    feature: str | None
    revision: int
    updated_at: str
    deleted_at: str | None = None  # set when deleted (restore_design)


class DesignList(Result):
    designs: list[DesignSummaryOut]  # newest first
    total: int  # designs matching the query


class ReviewResult(Result):
    design_id: str
    revision: int
    review: Review


class Artifact(Result):
    name: str
    uri: str  # resource URI of the artifact
    markdown: str


class RenderResult(Result):
    design_id: str
    revision: int
    artifacts: list[Artifact]


class TemplateOut(Result):
    name: str
    source: Literal["builtin", "override"]
    text: str | None = None  # raw Jinja2 markdown (get_template only)


class TemplateList(Result):
    templates: list[TemplateOut]


class HistoryEntry(Result):
    revision: int
    at: str
    tool: str
    actor: str | None  # principal, else client name
    paths: list[str] | None  # fields changed; null: not recorded
    change: dict[str, Any] | None = None  # the request (details=true)


class HistoryResult(Result):
    design_id: str
    revision: int  # current
    revisions: list[HistoryEntry]  # newest first


class FieldChange(Result):
    path: str  # e.g. evaluation.metrics[groundedness].threshold
    op: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None
    summary: str  # one readable line


class DiffResult(Result):
    design_id: str
    from_revision: int
    to_revision: int
    total: int  # all changes; `changes` holds up to `limit`
    changes: list[FieldChange]


class WriteResult(Result):
    design_id: str
    revision: int | None  # null once purged
    status: Literal["active", "deleted", "purged"]
    changed: list[str]  # fields changed
    note: str


class ExportResult(bundles.Bundle):
    files: list[str] = Field(default_factory=list)  # files written
