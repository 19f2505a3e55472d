"""The step tools (seven steps, feature card): a partial section in, a revision, findings out."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import BaseModel

from ml_systemization.findings import step_feedback
from ml_systemization.model import Design
from ml_systemization.patch import patch_model
from ml_systemization.results import StepResult
from ml_systemization.server.app import AppState, state_of
from ml_systemization.server.common import (
    UPSERT,
    DesignId,
    ExpectedRevision,
    Removals,
    actor_of,
    check_request,
    rules_for,
    suggest,
    tool_errors,
)
from ml_systemization.steps import (
    PROCEDURE,
    STEP_BY_KEY,
    STEPS,
    SectionKey,
    Step,
    StepStatus,
    apply_change,
    step_status,
)
from ml_systemization.store import DesignRecord


def step_result(
    before: Design | None, record: DesignRecord, key: str, state: AppState
) -> StepResult:
    design = record.design
    if key == "context":
        status: StepStatus = "complete" if design.context.problem else "in_progress"
        missing = [] if status == "complete" else ["context.problem: state the problem"]
    else:
        status, missing = step_status(design, STEP_BY_KEY[key])
    rules = rules_for(state, design)
    feedback = step_feedback(
        before,
        design,
        rules,
        touching=key,
        settings_before=rules_for(state, before) if before is not None else None,
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
        next_step=suggest(design),
    )


def change_record(section: str, patch: BaseModel | None, remove: list[str]) -> dict[str, Any]:
    change: dict[str, Any] = {"section": section}
    if patch is not None:
        change["set"] = patch.model_dump(mode="json", exclude_unset=True)
    if remove:
        change["remove"] = remove
    return change


def apply_section(
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

    with tool_errors():
        record = state.store.update(
            design_id,
            change,
            tool=tool,
            actor=actor_of(ctx),
            change=change_record(key, patch, remove),
            expected_revision=expected_revision,
        )
    return step_result(seen[-1], record, key, state)


# --------------------------------------------------------------------------- step tools


def _step_tool(step: Step) -> Callable[..., StepResult]:
    """A typed tool function for one step; its signature is the tool's input schema."""
    patch_cls = patch_model(step.model)
    section_param = step.key
    allowed = {"design_id", section_param, "remove", "expected_revision"}

    def tool(**kwargs: Any) -> StepResult:
        ctx: Context[AppState] = kwargs["ctx"]
        check_request(ctx, allowed, step.tool)
        return apply_section(
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


def register_step_tools(server: MCPServer) -> None:
    for step in STEPS:
        server.add_tool(
            _step_tool(step),
            name=step.tool,
            title=step.title,
            description=STEP_DESCRIPTIONS[step.key],
            annotations=UPSERT,
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
