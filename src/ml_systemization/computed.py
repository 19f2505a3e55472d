"""The numbers the rules compute, gathered for the artifacts (see Renderer.render's contract)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ml_systemization import stats
from ml_systemization.model import Design, Metric
from ml_systemization.rules.architecture import architecture_numbers, quota_usage
from ml_systemization.rules.baseline import ai_cost_per_request
from ml_systemization.rules.cross_step import cost_estimate
from ml_systemization.rules.evaluation import (
    evaluation_numbers,
    is_proportion,
    lower_is_better,
    slice_metric,
)
from ml_systemization.rules.io_contract import worst_case_ms
from ml_systemization.rules.iteration import ab_plan_numbers
from ml_systemization.rules.monitoring import burn_rates, drift_windows, proxy_detectability
from ml_systemization.rules.rollout import (
    false_rollback_rate,
    stage_requirements,
    trigger_feasibility,
)
from ml_systemization.settings import RuleSettings

Value = bool | int | float | str
Group = dict[str, Value]

NOT_REACHABLE = "not reachable"
"""What an infinite number reads as: no amount of time or samples gets there."""

# Keys each group shows, in reading order; a rule function's other keys stay internal.
STAGE_KEYS = ("n_required", "min_duration_h", "expected_samples", "data_points", "budget_share")
TRIGGER_KEYS = ("feasible", "stage", "samples_in_window", "min_stage_h")
DRIFT_KEYS = ("samples_in_window", "psi_noise_floor", "min_window_samples")
PROXY_KEYS = ("labels_per_day", "labels_needed", "days_to_detect")
ARCHITECTURE_KEYS = (
    "llm_p95_ms",
    "e2e_p95_ms",
    "worst_case_deadline_ms",
    "availability",
    "peak_rpm",
    "rpm_limit",
    "peak_tpm",
    "tpm_limit",
)
COST_KEYS = (
    "requests_per_month",
    "cost_per_call_usd",
    "cost_per_request_usd",
    "month_usd",
    "judge_month_usd",
    "cost_per_success_usd",
    "budget_needed_usd",
)
AB_KEYS = ("n_per_arm", "days_needed", "duration_days", "mde_within_cadence")


def compute_numbers(design: Design, settings: RuleSettings) -> dict[str, Any]:
    """Computed groups for the templates; a group with nothing computed is left out.

    Each number comes from the same public function its rule uses, so an artifact and a finding
    never disagree. Values are JSON-friendly: bools, ints, finite floats and text (an id, or
    "not reachable" for an infinite duration or sample size); a number whose inputs are unset
    is left out rather than shown as None.

    Args:
        design: The design.
        settings: The rule settings in effect for it (the server's, with `design.rule_settings`
            applied), as the rules were evaluated with.
    """
    builders: dict[str, Callable[[], Any]] = {
        "metrics": lambda: _metrics(design, settings),
        "slices": lambda: _slices(design, settings),
        "stages": lambda: _keyed(stage_requirements(design, settings), STAGE_KEYS),
        "triggers": lambda: _keyed(trigger_feasibility(design), TRIGGER_KEYS),
        "signals": lambda: _signals(design, settings),
        "slos": lambda: _keyed(burn_rates(design)),
        "baseline": lambda: _baseline(design),
        "architecture": lambda: _architecture(design, settings),
        "cost": lambda: _cost(design, settings),
        "rollout": lambda: _pick({"fwer": false_rollback_rate(design, settings)}),
        "ab": lambda: _pick(ab_plan_numbers(design, settings) or {}, AB_KEYS),
        "settings": lambda: _pick(settings.model_dump()),
        "setting_defaults": lambda: _setting_defaults(settings),
    }
    groups: dict[str, Any] = {}
    for name, build in builders.items():
        try:
            groups[name] = build()
        except (ArithmeticError, ValueError, RecursionError):
            # Inputs too extreme for the arithmetic; the matching rule reports it as not
            # evaluable, and the artifact shows the group without computed numbers.
            groups[name] = None
    return {name: group for name, group in groups.items() if group}


# --------------------------------------------------------------------------- values


def _clean(value: object) -> Value | None:
    """A JSON-friendly value, or None for one that is not there (None, NaN)."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else NOT_REACHABLE
    return None


def _pick(numbers: Mapping[str, object], keys: Iterable[str] | None = None) -> Group:
    """`keys` of `numbers` (all of them by default) in that order, cleaned; unset ones left out."""
    chosen = numbers.keys() if keys is None else keys
    group: Group = {}
    for key in chosen:
        value = _clean(numbers.get(key))
        if value is not None:
            group[key] = value
    return group


def _keyed(
    per_item: Mapping[str, Mapping[str, object]], keys: Iterable[str] | None = None
) -> dict[str, Group]:
    """A keyed group: each item's chosen numbers; items with none are left out."""
    chosen = None if keys is None else tuple(keys)
    picked = {item: _pick(numbers, chosen) for item, numbers in per_item.items()}
    return {item: group for item, group in picked.items() if group}


# --------------------------------------------------------------------------- evaluation plan


def _metrics(design: Design, settings: RuleSettings) -> dict[str, Group]:
    """EVAL-001/002/005 per gated proportion metric, and EVAL-007's corrected rate per judge."""
    numbers = evaluation_numbers(design, settings)
    mde = "mde_paired" if design.evaluation.comparison == "paired" else "mde"
    groups: dict[str, Group] = {}
    for metric in design.evaluation.metrics:
        got = numbers.get(metric.id, {})
        bound = "wilson_upper" if lower_is_better(metric) else "wilson_lower"
        group = _pick(
            {
                "wilson_half_width": got.get("halfwidth"),
                "n_min": got.get("n_min"),
                bound: got.get("bound"),
                "n_distinguishable": got.get("n_distinguishable"),
                mde: got.get("mde"),
                "n_mde": got.get("n_mde"),
                "corrected_rate": _corrected_rate(metric),
            }
        )
        if group:
            groups[metric.id] = group
    return groups


def _corrected_rate(metric: Metric) -> float | None:
    """EVAL-007 (F6): the true rate that a judged rate at the threshold stands for, on the
    rule's conditions (a judged metric, a rate threshold, sensitivity + specificity > 1).

    Composed here until `evaluation_numbers` returns it; same `stats` function as the rule.
    """
    cal, t = metric.judge.calibration, metric.threshold
    sens, spec = cal.sensitivity, cal.specificity
    if metric.scorer != "llm_judge" or t is None or not 0 <= t <= 1:
        return None
    if sens is None or spec is None or sens + spec <= 1:
        return None
    return stats.rogan_gladen(t, sens, spec)


def _slices(design: Design, settings: RuleSettings) -> dict[str, Group]:
    """EVAL-003 (F3) per slice it checks (gated, or testing a failure category): the Wilson
    half-width at the slice's target rate and the n that reaches ±slice_tolerance there.

    The target is EVAL-003's: the slice's threshold, else its metric's proportion threshold,
    else the target rate of a failure category tested in it. `at_rate` says which rate when the
    slice has no threshold of its own.

    Composed here until the evaluation rules expose their slice numbers; the same `stats`
    functions, z and tolerance as the rule.
    """
    z = stats.z_alpha(settings.alpha, two_sided=True)
    tied = {sid: c for c in design.evaluation.failure_taxonomy for sid in c.slice_ids}
    groups: dict[str, Group] = {}
    for sl in design.evaluation.golden_set.slices:
        if sl.threshold is None and sl.id not in tied:
            continue  # a report-only slice that tests no failure category: EVAL-003 skips it
        target = sl.threshold
        if target is None:
            metric = slice_metric(design, sl)
            if metric is not None and metric.threshold is not None and is_proportion(metric):
                target = metric.threshold
            elif sl.id in tied:
                target = tied[sl.id].target_rate
        if target is None or not 0 <= target <= 1:
            continue
        group = _pick(
            {
                "wilson_half_width": stats.wilson_halfwidth(target, sl.n, z=z) if sl.n else None,
                "n_min": stats.wilson_n_min(target, settings.slice_tolerance, z=z),
                "at_rate": None if sl.threshold is not None else target,
            }
        )
        groups[sl.id] = group
    return groups


# --------------------------------------------------------------------------- monitoring plan


def _signals(design: Design, settings: RuleSettings) -> dict[str, Group]:
    """MON-004 (F14) per PSI drift signal and MON-008 (F18) per quality proxy."""
    groups: dict[str, Group] = {}
    for signal_id, numbers in drift_windows(design, settings).items():
        window = numbers.get("min_window_samples")
        # None here is not a missing input: no window clears the threshold (n_ref too small).
        shown = {**numbers, "min_window_samples": math.inf if window is None else window}
        groups.setdefault(signal_id, {}).update(_pick(shown, DRIFT_KEYS))
    for signal_id, numbers in proxy_detectability(design, settings).items():
        groups.setdefault(signal_id, {}).update(_pick(numbers, PROXY_KEYS))
    return {signal_id: group for signal_id, group in groups.items() if group}


def _cost(design: Design, settings: RuleSettings) -> Group:
    """XS-005 (F15): the monthly cost of the LLM path and what it takes per call, request and
    success; online judging only when there is any."""
    estimate = cost_estimate(design, settings)
    if estimate is None:
        return {}
    if not estimate.get("judge_month_usd"):
        estimate = {k: v for k, v in estimate.items() if k != "judge_month_usd"}
    return _pick(estimate, COST_KEYS)


# --------------------------------------------------------------------------- baseline, one-pager


def _baseline(design: Design) -> Group:
    """BASE-003 (F15): the ML/LLM path's cost per request and the cost per extra success."""
    b = design.baseline
    cost_ai = ai_cost_per_request(design)
    icps = None
    if (
        cost_ai is not None
        and b.expected_success_rate is not None
        and b.success_rate is not None
        and b.cost_per_request_usd is not None
    ):
        icps = stats.incremental_cost_per_success(
            cost_ai, b.expected_success_rate, b.cost_per_request_usd, b.success_rate
        )
    return _pick({"ai_cost_per_request_usd": cost_ai, "icps_usd": icps})


def _architecture(design: Design, settings: RuleSettings) -> Group:
    """ARCH-001/003/004 (F16-F17) and IO-004's worst-case deadline path, with the usable quota
    next to the peak load it is compared with."""
    numbers: dict[str, object] = dict(architecture_numbers(design, settings))
    numbers["worst_case_deadline_ms"] = worst_case_ms(design)
    if "peak_rpm" in numbers:
        quota = quota_usage(design, settings)
        if quota is not None:
            numbers["rpm_limit"] = quota["rpm_limit"]
            numbers["tpm_limit"] = quota["tpm_limit"]
    return _pick(numbers, ARCHITECTURE_KEYS)


# --------------------------------------------------------------------------- settings


def _setting_defaults(settings: RuleSettings) -> Group:
    """The tool default of every setting whose value in use differs from it."""
    defaults = RuleSettings().model_dump()
    used = settings.model_dump()
    return _pick({key: value for key, value in defaults.items() if used[key] != value})
