"""Per-consumer views of a design for downstream agents, each a documented, validated JSON.

* ``observability``: what to monitor and when to act: signals, SLOs, rollback triggers, the
  kill switch, and the cost budget with its alerts.
* ``orchestration``: what to wire up: the I/O contract with failure behavior per mode,
  timeouts and deadline, the architecture (components, dependencies, LLM, cache, versions,
  isolation) and the kill switch.

Each view's JSON Schema is published (``schema://views/<name>``); ``VIEW_VERSION`` changes
when a field is removed or changes meaning.
"""

from __future__ import annotations

from typing import Any, Literal, assert_never

from pydantic import Field

from ml_systemization.model import (
    SLO,
    Architecture,
    CostMonitoring,
    Design,
    Flag,
    IOContract,
    Model,
    RollbackTrigger,
    Signal,
    SLOSpec,
)
from ml_systemization.names import VIEW_NAMES, ViewName

VIEWS = VIEW_NAMES
VIEW_VERSION = 1


class _ViewBase(Model):
    view_version: int = Field(VIEW_VERSION, description="Version of this view's format")
    design_id: str = Field(description="Design id")
    revision: int = Field(description="Design revision the view was built from")
    feature: str | None = Field(description="Feature name")


class CostView(Model):
    budget_month_usd: float | None = Field(description="Monthly budget for the AI path, USD")
    alerts: CostMonitoring = Field(description="Budget alert levels, daily alert, tenant caps")
    signal_ids: list[str] = Field(description="Ids of the cost signals in `signals`")


class ObservabilityView(_ViewBase):
    """What to monitor, which SLOs to hold, and when to roll back, for an observability agent."""

    view: Literal["observability"] = Field("observability", description="View name")
    signals: list[Signal] = Field(description="Monitored signals with thresholds and windows")
    slos: list[SLOSpec] = Field(description="SLOs with burn-rate alerts")
    service_slo: SLO = Field(description="Latency and availability targets of the service")
    rollback_triggers: list[RollbackTrigger] = Field(description="When the rollout rolls back")
    kill_switch: Flag = Field(description="Feature flag and what serves when it is killed")
    cost: CostView = Field(description="Cost budget and its alerts")
    decision_horizon_days: float | None = Field(
        description="Days within which a quality drop must be detected"
    )


class OrchestrationView(_ViewBase):
    """The I/O contract, failure behavior and architecture, for an orchestration agent."""

    view: Literal["orchestration"] = Field("orchestration", description="View name")
    io_contract: IOContract = Field(
        description="Inputs, output, failure behavior per mode, timeout, retries, deadline"
    )
    architecture: Architecture = Field(
        description="Serving mode, components, dependencies, LLM, cache, versions, isolation"
    )
    kill_switch: Flag = Field(description="Feature flag and what serves when it is killed")


VIEW_MODELS: dict[ViewName, type[ObservabilityView] | type[OrchestrationView]] = {
    "observability": ObservabilityView,
    "orchestration": OrchestrationView,
}


def build_view(
    name: ViewName, design: Design, *, design_id: str, revision: int
) -> ObservabilityView | OrchestrationView:
    """The view ``name`` of one design revision, validated against its model."""
    common: dict[str, Any] = {
        "design_id": design_id,
        "revision": revision,
        "feature": design.context.feature,
    }
    match name:
        case "observability":
            monitoring = design.monitoring
            return ObservabilityView.model_validate(
                {
                    **common,
                    "signals": monitoring.signals,
                    "slos": monitoring.slos,
                    "service_slo": design.architecture.slo,
                    "rollback_triggers": design.rollout.rollback_triggers,
                    "kill_switch": design.rollout.flag,
                    "cost": CostView(
                        budget_month_usd=design.context.cost_budget_month_usd,
                        alerts=monitoring.cost,
                        signal_ids=[s.id for s in monitoring.signals if s.kind == "cost"],
                    ),
                    "decision_horizon_days": monitoring.decision_horizon_days,
                }
            )
        case "orchestration":
            return OrchestrationView.model_validate(
                {
                    **common,
                    "io_contract": design.io_contract,
                    "architecture": design.architecture,
                    "kill_switch": design.rollout.flag,
                }
            )
        case _:
            assert_never(name)


def view_schema(name: ViewName) -> dict[str, Any]:
    """The JSON Schema of view ``name``."""
    return VIEW_MODELS[name].model_json_schema()
