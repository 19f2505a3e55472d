"""The seed skill's own rules: evaluation before optimization, online quality proxies with a cost
budget, and a staged rollout with rollback triggers. (Its "baseline to beat" is BASE-001.)"""

from __future__ import annotations

from collections.abc import Iterator

from ml_systemization.findings import Missing, Violation, rule
from ml_systemization.model import Architecture, Design, Monitoring, Rollout
from ml_systemization.settings import RuleSettings

Outcome = Iterator[Violation | Missing]

_EMPTY_ARCHITECTURE = Architecture()
_EMPTY_ROLLOUT = Rollout()
_EMPTY_MONITORING = Monitoring()


def _evaluation_gaps(d: Design) -> list[tuple[str, str]]:
    """What evaluation still lacks before optimization: golden tasks and thresholds."""
    gaps = []
    if not d.evaluation.golden_set.size:
        gaps.append(("evaluation.golden_set.size", "golden tasks (golden_set.size)"))
    if not any(m.threshold is not None for m in d.evaluation.metrics):
        gaps.append(("evaluation.metrics[].threshold", "thresholds (no metric has one)"))
    return gaps


@rule(
    "SEED-001",
    "error",
    "Evaluation before optimization",
    area="evaluation",
    reads=("architecture", "rollout"),
    source="datasaa-ml-systemization seed: 'Must define evaluation before optimization'",
)
def _evaluation_first(d: Design, s: RuleSettings) -> Outcome:
    """Architecture or rollout choices are recorded only after golden tasks and thresholds."""
    gaps = _evaluation_gaps(d)
    if not gaps:
        return
    recorded = [
        name
        for name, section, empty in (
            ("architecture", d.architecture, _EMPTY_ARCHITECTURE),
            ("rollout", d.rollout, _EMPTY_ROLLOUT),
        )
        if section != empty
    ]
    if not recorded:
        yield Missing([path for path, _ in gaps])
        return
    yield Violation(
        [path for path, _ in gaps] + recorded,
        f"{' and '.join(recorded).capitalize()} choices are recorded while evaluation still "
        f"lacks {' and '.join(text for _, text in gaps)}; optimizing without a yardstick "
        "cannot show it helped.",
        "Call build_evaluation first: set golden_set.size and a threshold on each gated "
        "metric, then revisit the architecture and rollout.",
    )


@rule(
    "SEED-002",
    "error",
    "Online quality proxies and a cost budget are required",
    area="monitoring",
    reads=("context",),
    source="datasaa-ml-systemization seed: 'Must include online quality proxies and cost budgets'",
)
def _proxies_and_budget(d: Design, s: RuleSettings) -> Outcome:
    """At least one quality_proxy signal and a monthly cost budget."""
    has_proxy = any(sig.kind == "quality_proxy" for sig in d.monitoring.signals)
    has_budget = d.context.cost_budget_month_usd is not None
    if has_proxy and has_budget:
        return
    if d.monitoring == _EMPTY_MONITORING:
        yield Missing(
            ["monitoring.signals[kind=quality_proxy]"]
            + ([] if has_budget else ["context.cost_budget_month_usd"])
        )
        return
    if not has_proxy:
        yield Violation(
            ["monitoring.signals"],
            "No online quality proxy is monitored; quality in production is observed only offline.",
            "Add a quality_proxy signal tied to user behaviour or outcomes, with proxy_for "
            "naming the eval metric it tracks (define_monitoring).",
        )
    if not has_budget:
        yield Violation(
            ["context.cost_budget_month_usd"],
            "No monthly cost budget; spend has nothing to be alerted against.",
            "Set context.cost_budget_month_usd (update_context) and alert on it "
            "(define_monitoring).",
        )


@rule(
    "SEED-003",
    "error",
    "Rollout is staged with rollback triggers",
    area="rollout",
    source="datasaa-ml-systemization seed: 'Must include staged rollout and rollback triggers'",
)
def _staged_with_triggers(d: Design, s: RuleSettings) -> Outcome:
    """A partial stage (0 < fraction < 1) comes before full exposure, and a rollback trigger
    exists."""
    r = d.rollout
    if r == _EMPTY_ROLLOUT:
        yield Missing(["rollout.stages", "rollout.rollback_triggers"])
        return
    fractions = [st.fraction for st in r.stages if st.fraction is not None]
    first_full = next((i for i, f in enumerate(fractions) if f >= 1), len(fractions))
    if not any(0 < f < 1 for f in fractions[:first_full]):
        found = (
            "no stages"
            if not r.stages
            else "no stage fractions"
            if not fractions
            else "stage fractions " + ", ".join(f"{f:g}" for f in fractions)
        )
        yield Violation(
            ["rollout.stages"],
            f"Rollout is not staged ({found}); no partial exposure precedes full traffic.",
            "Add canary stages with 0 < fraction < 1 (e.g. 1%, 10%, 50%) before 100% "
            "(plan_rollout).",
        )
    if not r.rollback_triggers:
        yield Violation(
            ["rollout.rollback_triggers"],
            "Rollout has no rollback trigger; a bad release is found by users, not by a signal.",
            "Add rollback triggers bound to monitored signals, with threshold, window and "
            "min_samples (plan_rollout).",
        )
