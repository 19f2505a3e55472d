"""The seven steps in procedure order, the card, and the pure functions that apply a change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from ml_systemization.model import (
    Architecture,
    Baseline,
    Card,
    Context,
    Design,
    Evaluation,
    IOContract,
    Iteration,
    Model,
    Monitoring,
    Rollout,
)
from ml_systemization.names import ARTIFACT_NAMES
from ml_systemization.patch import apply_removals, merge_section

SectionKey = Literal[
    "context",
    "baseline",
    "io_contract",
    "evaluation",
    "architecture",
    "rollout",
    "monitoring",
    "iteration",
    "card",
]
StepStatus = Literal["empty", "in_progress", "complete"]


@dataclass(frozen=True)
class Requirement:
    """A field a step needs before it counts as complete."""

    path: str
    hint: str
    present: Callable[[Design], bool]


@dataclass(frozen=True)
class Step:
    number: int
    key: SectionKey
    tool: str
    title: str
    artifact: str
    model: type[Model]
    requirements: tuple[Requirement, ...]


def _req(path: str, hint: str, present: Callable[[Design], Any]) -> Requirement:
    return Requirement(path, hint, lambda d: bool(present(d)))


def _has_signal(kind: str) -> Callable[[Design], bool]:
    return lambda d: any(s.kind == kind for s in d.monitoring.signals)


STEPS: tuple[Step, ...] = (
    Step(
        1,
        "baseline",
        "choose_baseline",
        "Choose the baseline",
        "baseline_spec",
        Baseline,
        (
            _req("baseline.id", "name the baseline system", lambda d: d.baseline.id),
            _req("baseline.type", "pick the kind of baseline", lambda d: d.baseline.type),
            _req("baseline.description", "say what it does", lambda d: d.baseline.description),
            _req(
                "baseline.justification",
                "say why ML/LLM beats it",
                lambda d: d.baseline.justification,
            ),
            _req(
                "baseline.scores",
                "score it on the golden-set metrics",
                lambda d: d.baseline.scores,
            ),
        ),
    ),
    Step(
        2,
        "io_contract",
        "define_io_contract",
        "Define the I/O contract",
        "one_pager",
        IOContract,
        (
            _req(
                "io_contract.input_fields", "list the inputs", lambda d: d.io_contract.input_fields
            ),
            _req(
                "io_contract.output.schema_kind",
                "make the output machine-validatable",
                lambda d: d.io_contract.output.schema_kind,
            ),
            _req(
                "io_contract.output.max_tokens",
                "cap the output",
                lambda d: d.io_contract.output.max_tokens,
            ),
            _req(
                "io_contract.failure_behavior",
                "map each failure mode to an action",
                lambda d: d.io_contract.failure_behavior,
            ),
            _req(
                "io_contract.fallback_target",
                "name the fallback",
                lambda d: d.io_contract.fallback_target,
            ),
            _req("io_contract.timeout_ms", "set the timeout", lambda d: d.io_contract.timeout_ms),
            _req(
                "io_contract.deadline_ms", "set the deadline", lambda d: d.io_contract.deadline_ms
            ),
        ),
    ),
    Step(
        3,
        "evaluation",
        "build_evaluation",
        "Build the evaluation",
        "evaluation_plan",
        Evaluation,
        (
            _req(
                "evaluation.golden_set.size",
                "size the golden set",
                lambda d: d.evaluation.golden_set.size,
            ),
            _req(
                "evaluation.golden_set.sources",
                "say where golden items come from",
                lambda d: d.evaluation.golden_set.sources,
            ),
            _req(
                "evaluation.metrics",
                "add at least one metric with a threshold",
                lambda d: any(m.threshold is not None for m in d.evaluation.metrics),
            ),
            _req(
                "evaluation.failure_taxonomy",
                "list the failure categories",
                lambda d: d.evaluation.failure_taxonomy,
            ),
        ),
    ),
    Step(
        4,
        "architecture",
        "design_architecture",
        "Design the architecture",
        "one_pager",
        Architecture,
        (
            _req("architecture.mode", "online, batch or streaming", lambda d: d.architecture.mode),
            _req(
                "architecture.invocation",
                "sync, async or streaming",
                lambda d: d.architecture.invocation,
            ),
            _req(
                "architecture.components",
                "list the request path with p95s",
                lambda d: d.architecture.components,
            ),
            _req(
                "architecture.versions.model",
                "pin the model version",
                lambda d: d.architecture.versions.model,
            ),
            _req(
                "architecture.slo.p95_ms",
                "set the latency SLO",
                lambda d: d.architecture.slo.p95_ms,
            ),
        ),
    ),
    Step(
        5,
        "rollout",
        "plan_rollout",
        "Plan the rollout",
        "rollout_plan",
        Rollout,
        (
            _req("rollout.flag.name", "name the feature flag", lambda d: d.rollout.flag.name),
            _req(
                "rollout.flag.kill_switch_target",
                "route the kill switch",
                lambda d: d.rollout.flag.kill_switch_target,
            ),
            _req("rollout.stages", "add canary stages", lambda d: d.rollout.stages),
            _req(
                "rollout.rollback_triggers",
                "add rollback triggers",
                lambda d: d.rollout.rollback_triggers,
            ),
        ),
    ),
    Step(
        6,
        "monitoring",
        "define_monitoring",
        "Define monitoring",
        "monitoring_plan",
        Monitoring,
        (
            *(
                _req(f"monitoring.signals[kind={kind}]", f"add a {kind} signal", _has_signal(kind))
                for kind in ("system", "drift", "quality_proxy", "safety", "cost")
            ),
            _req(
                "context.cost_budget_month_usd",
                "set the monthly cost budget (start_design context or update_context)",
                lambda d: d.context.cost_budget_month_usd is not None,
            ),
        ),
    ),
    Step(
        7,
        "iteration",
        "define_iteration_loop",
        "Define the iteration loop",
        "iteration_plan",
        Iteration,
        (
            _req("iteration.changes", "list what changes", lambda d: d.iteration.changes),
            _req("iteration.triggers", "bind update triggers", lambda d: d.iteration.triggers),
            _req(
                "iteration.ab.primary_metric",
                "pick the A/B primary metric",
                lambda d: d.iteration.ab.primary_metric,
            ),
        ),
    ),
    Step(
        8,
        "card",
        "describe_feature_card",
        "Describe the feature card",
        "feature_card",
        Card,
        (
            _req("card.intended_use", "state the intended use", lambda d: d.card.intended_use),
            _req("card.non_goals", "list non-goals", lambda d: d.card.non_goals),
            _req("card.limitations", "list known limitations", lambda d: d.card.limitations),
            _req(
                "card.data_privacy.retention",
                "state data retention",
                lambda d: d.card.data_privacy.retention,
            ),
            _req(
                "card.data_privacy.access",
                "state who can access data",
                lambda d: d.card.data_privacy.access,
            ),
        ),
    ),
)

STEP_BY_KEY: dict[str, Step] = {step.key: step for step in STEPS}
STEP_BY_TOOL: dict[str, Step] = {step.tool: step for step in STEPS}
PROCEDURE: tuple[Step, ...] = tuple(step for step in STEPS if step.key != "card")

ARTIFACTS: tuple[str, ...] = ARTIFACT_NAMES


def step_status(design: Design, step: Step) -> tuple[StepStatus, list[str]]:
    """Return the step's status and what it still lacks, as `path: hint` lines."""
    missing = [f"{r.path}: {r.hint}" for r in step.requirements if not r.present(design)]
    section: BaseModel = getattr(design, step.key)
    if section == step.model():
        return "empty", missing
    return ("complete" if not missing else "in_progress"), missing


def next_step(design: Design) -> Step | None:
    """The first step, in procedure order, that is not complete (the card last)."""
    for step in STEPS:
        status, _ = step_status(design, step)
        if status != "complete":
            return step
    return None


def apply_change(
    design: Design,
    key: SectionKey,
    patch: BaseModel | None,
    *,
    remove: Sequence[str] = (),
) -> Design:
    """Return a new design with `patch` merged into section `key` and `remove` applied.

    The input design is not modified, and the new design shares every other field with it
    (the store relies on that to write only what changed). Raises InvalidChangeError (nothing
    applied) when a removal names an unknown path or id, and pydantic.ValidationError when
    the merged section is invalid.
    """
    section_cls: type[Model] = Context if key == "context" else STEP_BY_KEY[key].model
    current = getattr(design, key).model_dump(mode="json")
    if patch is not None:
        current = merge_section(
            section_cls, current, patch.model_dump(mode="json", exclude_unset=True), path=key
        )
    if remove:
        current = apply_removals(section_cls, current, remove, section=key)
    try:
        section = section_cls.model_validate(current)
    except ValidationError:
        # Validated inside the whole design, the error's locations start with the section
        # name and list any other invalid field, exactly as callers have always seen them.
        data = design.model_dump(mode="json")
        data[key] = current
        Design.model_validate(data)
        raise
    # The Design-level validators (unique waiver ids, rule_settings) read no section, so
    # validating the section alone keeps every guarantee of validating the whole design.
    return design.model_copy(update={key: section})
