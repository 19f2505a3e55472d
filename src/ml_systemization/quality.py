"""The seed's pass/fail quality bar, its three common failure modes, and the whole review."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from ml_systemization.findings import Finding, evaluate
from ml_systemization.model import MODEL_CONFIG, Design, Metric, calls_llm
from ml_systemization.settings import RuleSettings
from ml_systemization.steps import STEPS, StepStatus, step_status


class QualityCheck(BaseModel):
    model_config = MODEL_CONFIG

    id: str = Field(description="QB-1..QB-5 (quality bar) or FM-1..FM-3 (failure modes)")
    title: str = Field(description="The check, in the seed's words")
    passed: bool = Field(description="Whether the design passes")
    reason: str = Field(description="Why it passes or fails")
    fix: str | None = Field(None, description="What to do when it fails")


class StepSummary(BaseModel):
    model_config = MODEL_CONFIG

    step: str = Field(description="Section key")
    tool: str = Field(description="Tool that fills it")
    status: StepStatus = Field(description="empty, in_progress or complete")
    missing: list[str] = Field(default_factory=list, description="What it still lacks")
    errors: int = Field(description="Unwaived error findings")
    warnings: int = Field(description="Unwaived warning findings")


class Review(BaseModel):
    model_config = MODEL_CONFIG

    ready: bool = Field(description="True only when every check passes and no error remains")
    summary: str = Field(description="One-line verdict")
    quality_bar: list[QualityCheck] = Field(description="Seed quality bar and failure modes")
    steps: list[StepSummary] = Field(description="Status per step")
    counts: dict[str, int] = Field(description="Findings by severity, waived, not_evaluable")
    findings: list[Finding] = Field(description="All findings, errors first")


@dataclass(frozen=True)
class _Outcome:
    passed: bool
    reason: str


def _metric_beats_baseline(metric: Metric, baseline: float) -> bool:
    assert metric.threshold is not None
    if metric.direction == "lower_is_better":
        return metric.threshold < baseline
    return metric.threshold > baseline


def _baseline_beatable(d: Design) -> _Outcome:
    b = d.baseline
    if not (b.type and b.description):
        return _Outcome(False, "No baseline: baseline.type and baseline.description are unset.")
    gated = [m for m in d.evaluation.metrics if m.threshold is not None]
    if not gated:
        return _Outcome(False, "No metric with a threshold, so nothing shows the AI must beat it.")
    compared = [m for m in gated if m.id in b.scores]
    if not compared:
        return _Outcome(
            False,
            "The baseline has no score on any gated metric "
            f"({', '.join(m.id for m in gated)}), so 'beatable' cannot be shown.",
        )
    losing = [m.id for m in compared if not _metric_beats_baseline(m, b.scores[m.id])]
    if losing:
        return _Outcome(
            False, f"Thresholds of {', '.join(losing)} do not beat the baseline's scores."
        )
    parts = ", ".join(f"{m.id} {m.threshold:g} vs {b.scores[m.id]:g}" for m in compared)
    return _Outcome(True, f"Baseline '{b.id or b.type}' is defined; thresholds beat it ({parts}).")


def _golden_with_thresholds(d: Design) -> _Outcome:
    size = d.evaluation.golden_set.size or 0
    gated = [m.id for m in d.evaluation.metrics if m.threshold is not None]
    if size <= 0:
        return _Outcome(False, "The golden set has no size (evaluation.golden_set.size).")
    if not gated:
        return _Outcome(False, f"{size} golden items, but no metric has a threshold.")
    return _Outcome(True, f"{size} golden items; thresholds on {', '.join(gated)}.")


def _rollout_flags_and_triggers(d: Design) -> _Outcome:
    r = d.rollout
    lacks = []
    if not r.flag.name:
        lacks.append("a feature flag (rollout.flag.name)")
    if not r.flag.kill_switch_target:
        lacks.append("a kill-switch target (rollout.flag.kill_switch_target)")
    if not r.stages:
        lacks.append("staged exposure (rollout.stages)")
    if not r.rollback_triggers:
        lacks.append("rollback triggers (rollout.rollback_triggers)")
    if lacks:
        return _Outcome(False, "Rollout lacks " + "; ".join(lacks) + ".")
    return _Outcome(
        True,
        f"Flag '{r.flag.name}', {len(r.stages)} stage(s), "
        f"{len(r.rollback_triggers)} rollback trigger(s).",
    )


def _signal_kinds(d: Design) -> set[str]:
    return {s.kind for s in d.monitoring.signals if s.kind and s.threshold is not None}


def _monitoring_cost_quality_safety(d: Design) -> _Outcome:
    kinds = _signal_kinds(d)
    lacks = [k for k in ("cost", "quality_proxy", "safety") if k not in kinds]
    if d.context.cost_budget_month_usd is None:
        lacks.append("a cost budget (context.cost_budget_month_usd)")
    if lacks:
        return _Outcome(
            False, "Monitoring lacks thresholded signals or budget: " + ", ".join(lacks) + "."
        )
    return _Outcome(True, "Cost, online quality-proxy and safety signals have thresholds.")


def _iteration_defined(d: Design) -> _Outcome:
    it = d.iteration
    if not it.changes:
        return _Outcome(False, "No change types listed (iteration.changes).")
    unbound = [t.id for t in it.triggers if not (t.signal_id and t.condition)]
    if not it.triggers or unbound:
        return _Outcome(
            False,
            "Update triggers are missing or lack a signal and condition"
            + (f": {', '.join(unbound)}." if unbound else "."),
        )
    return _Outcome(
        True,
        f"{len(it.changes)} change type(s) and {len(it.triggers)} trigger(s) bound to signals.",
    )


def _offline_only(d: Design) -> _Outcome:
    gated = [m.id for m in d.evaluation.metrics if m.threshold is not None]
    proxied = {s.proxy_for for s in d.monitoring.signals if s.kind == "quality_proxy"}
    if not gated:
        return _Outcome(False, "No gated metric yet, so no online proxy can be tied to one.")
    if not proxied - {None}:
        return _Outcome(False, "No online quality proxy is tied to an evaluation metric.")
    unproxied = [m for m in gated if m not in proxied]
    reason = f"Online proxies cover {', '.join(m for m in gated if m in proxied) or 'none'}"
    if unproxied:
        reason += f"; {', '.join(unproxied)} have none (XS-001 checks each)"
    return _Outcome(True, reason + ".")


def _cost_budget(d: Design) -> _Outcome:
    if not calls_llm(d):
        if d.context.cost_budget_month_usd is None:
            return _Outcome(False, "No monthly cost budget (context.cost_budget_month_usd).")
        return _Outcome(True, "No LLM in the path; a monthly budget is set.")
    lacks = []
    if d.context.cost_budget_month_usd is None:
        lacks.append("monthly budget")
    if d.io_contract.input_max_tokens is None:
        lacks.append("input token cap")
    if d.io_contract.output.max_tokens is None:
        lacks.append("output token cap")
    if not any(s.kind == "cost" for s in d.monitoring.signals):
        lacks.append("cost signal")
    if lacks:
        return _Outcome(False, "LLM in the path without " + ", ".join(lacks) + ".")
    return _Outcome(True, "Budget, token caps and a cost signal are set.")


def _drift_plan(d: Design) -> _Outcome:
    drift = {s.id for s in d.monitoring.signals if s.kind == "drift"}
    watched = drift | {s.id for s in d.monitoring.signals if s.kind == "quality_proxy"}
    if not drift:
        return _Outcome(False, "No drift signal on the inputs.")
    if not any(t.signal_id in watched for t in d.iteration.triggers):
        return _Outcome(False, "Drift is monitored but no update trigger acts on it.")
    return _Outcome(True, f"Drift signals {', '.join(sorted(drift))} feed update triggers.")


_Check = Callable[[Design], _Outcome]
_CHECKS: tuple[tuple[str, str, _Check, str], ...] = (
    (
        "QB-1",
        "Baseline defined and beatable",
        _baseline_beatable,
        "Call choose_baseline with a runnable baseline and its scores; set thresholds that "
        "beat it in build_evaluation.",
    ),
    (
        "QB-2",
        "Golden tasks/scenario suite exists with thresholds",
        _golden_with_thresholds,
        "Call build_evaluation with golden_set.size and metrics carrying thresholds.",
    ),
    (
        "QB-3",
        "Rollout includes flags + rollback triggers",
        _rollout_flags_and_triggers,
        "Call plan_rollout with a flag, a kill-switch target, stages and rollback triggers.",
    ),
    (
        "QB-4",
        "Monitoring includes cost + online quality proxies + safety signals",
        _monitoring_cost_quality_safety,
        "Call define_monitoring with thresholded cost, quality_proxy and safety signals, and "
        "set the budget with update_context.",
    ),
    (
        "QB-5",
        "Iteration loop defined (what changes when and why)",
        _iteration_defined,
        "Call define_iteration_loop with changes and triggers bound to monitoring signals.",
    ),
    (
        "FM-1",
        "Offline-only evaluation",
        _offline_only,
        "Add online proxies tied to user behavior and outcomes: a quality_proxy signal with "
        "proxy_for set to each gated metric (define_monitoring).",
    ),
    (
        "FM-2",
        "No cost budget for LLM",
        _cost_budget,
        "Set token/tool-call budgets (update_context, define_io_contract), add a cost signal "
        "and caching or degenerate modes.",
    ),
    (
        "FM-3",
        "No drift plan",
        _drift_plan,
        "Monitor input distributions and quality proxies (define_monitoring) and bind update "
        "triggers to them (define_iteration_loop).",
    ),
)


def quality_bar(design: Design) -> list[QualityCheck]:
    """The seed's five quality-bar items and three failure-mode checks."""
    checks = []
    for check_id, title, check, fix in _CHECKS:
        outcome = check(design)
        checks.append(
            QualityCheck(
                id=check_id,
                title=title,
                passed=outcome.passed,
                reason=outcome.reason,
                fix=None if outcome.passed else fix,
            )
        )
    return checks


def review(design: Design, settings: RuleSettings) -> Review:
    """The whole report: quality bar, step status, every finding, and `ready`."""
    findings = evaluate(design, settings)
    bar = quality_bar(design)
    live = [f for f in findings if f.kind == "violation" and not f.waived]
    blocking_unknown = [f for f in findings if f.kind == "not_evaluable" and f.severity == "error"]
    counts = {
        "error": sum(f.severity == "error" for f in live),
        "warning": sum(f.severity == "warning" for f in live),
        "info": sum(f.severity == "info" for f in live),
        "waived": sum(f.waived is not None for f in findings),
        "not_evaluable": sum(f.kind == "not_evaluable" for f in findings),
    }
    steps = []
    for step in STEPS:
        status, missing = step_status(design, step)
        mine = [f for f in live if f.step == step.key]
        steps.append(
            StepSummary(
                step=step.key,
                tool=step.tool,
                status=status,
                missing=missing,
                errors=sum(f.severity == "error" for f in mine),
                warnings=sum(f.severity == "warning" for f in mine),
            )
        )
    failed = [c.id for c in bar if not c.passed]
    ready = not failed and counts["error"] == 0 and not blocking_unknown
    if ready:
        summary = f"Ready: quality bar passes; {counts['warning']} warning(s) open."
    else:
        parts = []
        if failed:
            parts.append(f"quality bar fails {', '.join(failed)}")
        if counts["error"]:
            parts.append(f"{counts['error']} error(s)")
        if blocking_unknown:
            parts.append(f"{len(blocking_unknown)} error rule(s) not evaluable yet")
        summary = "Not ready: " + "; ".join(parts) + "."
    return Review(
        ready=ready,
        summary=summary,
        quality_bar=bar,
        steps=steps,
        counts=counts,
        findings=findings,
    )
