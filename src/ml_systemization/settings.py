"""Frozen settings: where data lives, template overrides, size limits, retention, rule defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class RuleSettings(BaseModel):
    """Tool defaults of the validation rules (not published standards); override per server or
    per design. The rendered artifacts state which values were used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(0.05, gt=0, lt=0.5, description="Significance level")
    power: float = Field(0.80, gt=0.5, lt=1, description="Statistical power")
    golden_tolerance: float = Field(0.05, gt=0, lt=0.5, description="Golden-set CI half-width")
    slice_tolerance: float = Field(0.10, gt=0, lt=0.5, description="Slice CI half-width")
    min_gated_slice_n: int = Field(30, ge=1, description="Smallest slice that may be gated")
    kappa_min: float = Field(0.60, ge=0, le=1, description="Minimum judge-human kappa")
    judge_calibration_n: int = Field(196, ge=1, description="Minimum judge calibration items")
    budget_headroom: float = Field(1.2, ge=1, description="Budget over estimated cost")
    quota_margin: float = Field(0.8, gt=0, le=1, description="Usable share of provider quota")
    canary_budget_share: float = Field(
        0.10, gt=0, le=1, description="Error-budget share one canary may burn"
    )
    max_false_rollback: float = Field(0.10, gt=0, lt=1, description="Family-wise rollback rate")
    psi_safety: float = Field(1.1, ge=1, description="PSI window safety factor")
    max_rollback_min: float = Field(5, gt=0, description="Max minutes to roll back")
    min_production_share: float = Field(0.3, ge=0, le=1, description="Production share of golden")
    golden_max_age_days: int = Field(180, ge=1, description="Golden set age before refresh")
    decision_horizon_days: float = Field(7, gt=0, description="Days to detect a quality drop")
    min_analysis_points: int = Field(50, ge=1, description="Points per canary analysis")
    discordance: float = Field(0.10, gt=0, le=1, description="Paired discordance default")
    daily_cost_alert_factor: float = Field(1.5, ge=1, description="Daily alert vs budget/30")


def effective_rule_settings(server: RuleSettings, overrides: Mapping[str, float]) -> RuleSettings:
    """The server's rule settings with a design's overrides applied (validated again)."""
    if not overrides:
        return server
    return RuleSettings.model_validate(server.model_dump() | dict(overrides))


class Limits(BaseModel):
    """Maximum sizes of what a caller may send and store; an oversize request stores nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_text_chars: int = Field(20_000, ge=1, description="Characters in one text field")
    max_list_items: int = Field(500, ge=1, description="Items in one list")
    max_design_bytes: int = Field(2_000_000, ge=1_000, description="Stored design, UTF-8 JSON")
    max_argument_bytes: int = Field(
        4_000_000, ge=1_000, description="Arguments of one tool call, UTF-8 JSON"
    )


DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class Settings:
    """What one server process is configured with (built by the CLI, or by tests)."""

    db_path: Path
    templates_dir: Path | None = None
    rules: RuleSettings = field(default_factory=RuleSettings)
    limits: Limits = field(default_factory=Limits)
    # Days a deleted design can still be restored; after that `purge --expired` removes it.
    retention_days: int = DEFAULT_RETENTION_DAYS
    # export_design writes files only inside this folder, and only when it is set.
    export_dir: Path | None = None
