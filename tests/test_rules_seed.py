"""The seed skill's rules SEED-001..003: evaluation before optimization, online quality proxies
with a cost budget, and a staged rollout with rollback triggers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ml_systemization.findings import REGISTRY, evaluate
from ml_systemization.model import Design
from ml_systemization.rules import seed
from rules_support import SETTINGS, Mutation, assert_raises, findings, mutated, support

assert seed.__name__  # importing the module registers its rules

SEED_RULES = {
    # id: (severity, area, reads)
    "SEED-001": ("error", "evaluation", ("evaluation", "architecture", "rollout")),
    "SEED-002": ("error", "monitoring", ("monitoring", "context")),
    "SEED-003": ("error", "rollout", ("rollout",)),
}


# --------------------------------------------------------------------------- flawed designs


def no_golden_tasks_or_thresholds(d: Design) -> None:
    d.evaluation.golden_set.size = None
    for m in d.evaluation.metrics:
        m.threshold = None


def architecture_first(d: Design) -> None:
    d.architecture.mode = "online"


def rollout_first(d: Design) -> None:
    d.rollout.flag.name = "assistant.enabled"


def no_quality_proxy(d: Design) -> None:
    d.monitoring.signals = [s for s in d.monitoring.signals if s.kind != "quality_proxy"]


def no_budget(d: Design) -> None:
    d.context.cost_budget_month_usd = None


def full_exposure_only(d: Design) -> None:
    for stage in d.rollout.stages:
        stage.fraction = 1.0


def full_exposure_first(d: Design) -> None:
    d.rollout.stages[0].fraction = 1.0


def no_rollback_triggers(d: Design) -> None:
    d.rollout.rollback_triggers = []


FLAWED: list[tuple[str, str, Mutation, Callable[[], Design], tuple[str, ...]]] = [
    ("SEED-001", "architecture and rollout without golden tasks or thresholds",
     no_golden_tasks_or_thresholds, support,
     ("Architecture and rollout", "golden tasks", "thresholds", "build_evaluation first")),
    ("SEED-001", "an architecture choice on an empty design", architecture_first, Design,
     ("Architecture choices", "golden tasks", "build_evaluation first")),
    ("SEED-001", "a rollout choice on an empty design", rollout_first, Design,
     ("Rollout choices", "build_evaluation first")),
    ("SEED-002", "no quality-proxy signal", no_quality_proxy, support, ("quality proxy",)),
    ("SEED-002", "no cost budget", no_budget, support, ("cost budget",)),
    ("SEED-003", "every stage at 100%", full_exposure_only, support, ("not staged", "1, 1")),
    ("SEED-003", "100% before the canaries", full_exposure_first, support, ("not staged",)),
    ("SEED-003", "no rollback trigger", no_rollback_triggers, support, ("rollback trigger",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule_id", "flaw", "mutation", "base", "expected"),
    FLAWED,
    ids=[f"{r}: {flaw}" for r, flaw, _, _, _ in FLAWED],
)
def test_a_flawed_design_raises_the_seed_rule(
    rule_id: str,
    flaw: str,
    mutation: Mutation,
    base: Callable[[], Design],
    expected: tuple[str, ...],
) -> None:
    assert_raises(rule_id, mutated(mutation, base), expected, flaw=flaw, severity="error")


@pytest.mark.parametrize(("rule_id", "spec"), sorted(SEED_RULES.items()))
def test_every_seed_rule_is_registered_with_its_severity_area_and_reads(
    rule_id: str, spec: tuple[str, str, tuple[str, ...]]
) -> None:
    severity, area, reads = spec
    registered = REGISTRY[rule_id]
    assert (registered.severity, registered.area, registered.reads) == (severity, area, reads)
    assert registered.source


def test_recording_an_architecture_choice_reports_the_missing_evaluation_at_that_step() -> None:
    design = mutated(architecture_first, Design)
    ids = {f.rule_id for f in evaluate(design, SETTINGS, touching="architecture")}
    assert "SEED-001" in ids


def test_evaluation_with_golden_tasks_and_thresholds_allows_optimization() -> None:
    def evaluation_only(d: Design) -> None:
        d.evaluation.golden_set.size = 200
        d.evaluation.metrics = [support().evaluation.metrics[0]]
        d.architecture.mode = "online"

    assert findings("SEED-001", mutated(evaluation_only, Design)) == []
