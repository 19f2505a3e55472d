"""The shipped example designs load, complete every step and pass the catalog's arithmetic."""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

import pytest

from ml_systemization.examples import EXAMPLES, Example, example_design, load_example
from ml_systemization.model import Context, Design
from ml_systemization.patch import patch_model
from ml_systemization.quality import quality_bar
from ml_systemization.steps import STEP_BY_KEY, STEPS, step_status

TODAY = dt.date(2026, 11, 27)
Z = NormalDist().inv_cdf
Z95 = Z(0.975)

# --------------------------------------------------------------------------- formulas (§F)


def wilson(p: float, n: float, z: float = Z95) -> tuple[float, float, float]:
    """F1: (lower, upper, half-width) of the Wilson interval."""
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    hw = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - hw, centre + hw, hw


def n_two_prop(p0: float, p1: float, alpha: float, power: float = 0.8, k: float = 1.0) -> float:
    """F7: canary size for a one-sided two-proportion test; control is k times the canary."""
    p_bar = (p1 + k * p0) / (1 + k)
    a = Z(1 - alpha) * math.sqrt(p_bar * (1 - p_bar) * (1 + 1 / k))
    b = Z(power) * math.sqrt(p1 * (1 - p1) + p0 * (1 - p0) / k)
    return (a + b) ** 2 / (p1 - p0) ** 2


def n_ab(p1: float, p2: float, alpha: float, power: float) -> float:
    """F11: A/B size per arm for a two-sided two-proportion test."""
    p_bar = (p1 + p2) / 2
    a = Z(1 - alpha / 2) * math.sqrt(2 * p_bar * (1 - p_bar))
    b = Z(power) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return (a + b) ** 2 / (p2 - p1) ** 2


def chi2_ppf(q: float, df: int) -> float:
    """Chi-square quantile by bisection on the regularised lower incomplete gamma series."""

    def cdf(x: float) -> float:
        a, half = df / 2, x / 2
        term = total = 1 / a
        for i in range(1, 2000):
            term *= half / (a + i)
            total += term
            if term < 1e-16 * total:
                break
        return total * math.exp(-half + a * math.log(half) - math.lgamma(a))

    lo, hi = 1e-9, 10.0 * df + 100
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return (lo + hi) / 2


def psi_min_window(theta: float, bins: int, n_ref: float, safety: float = 1.1) -> float:
    """F14: smallest current window whose PSI noise floor stays below theta."""
    return safety / (theta / chi2_ppf(0.95, bins - 1) - 1 / n_ref)


def monthly_cost(design: Design) -> float:
    """F15: monthly LLM cost with response cache, prefix cache, retries, tools and judges."""
    llm = design.architecture.llm
    assert llm.input_tokens is not None and llm.output_tokens is not None
    assert llm.price_in_per_mtok is not None and llm.price_out_per_mtok is not None
    cached = llm.cached_input_tokens or 0
    c_call = (
        (llm.input_tokens - cached) * llm.price_in_per_mtok
        + cached * llm.price_in_per_mtok * 0.10
        + llm.output_tokens * llm.price_out_per_mtok
    ) / 1e6
    volume = design.context.traffic.req_per_month
    assert volume is not None
    per_request = c_call * (llm.calls_per_request or 1) * (1 + (llm.retry_rate or 0)) + (
        llm.tool_calls_per_request or 0
    ) * (llm.price_per_tool_call_usd or 0)
    judged = volume * (llm.judge_share or 0) * (llm.judge_cost_usd or 0)
    return volume * (1 - (design.architecture.cache.hit_rate or 0)) * per_request + judged


def test_the_formulas_used_here_reproduce_the_catalogs_worked_examples() -> None:
    assert wilson(0.90, 200)[2] == pytest.approx(0.0419, abs=5e-5)
    assert wilson(0.85, 200)[0] == pytest.approx(0.794, abs=5e-4)
    assert math.ceil(n_two_prop(0.010, 0.015, 0.05)) == 6105
    assert math.ceil(n_two_prop(0.010, 0.015, 0.05, k=19)) == 3005
    assert math.ceil(n_ab(0.10, 0.11, 0.05, 0.8)) == 14751
    assert chi2_ppf(0.95, 9) == pytest.approx(16.919, abs=1e-3)
    assert math.ceil(psi_min_window(0.1, 10, 10_000)) == 190
    assert math.ceil(psi_min_window(0.1, 30, 10_000)) == 489
    assert math.ceil(math.log(0.05) / math.log(1 - 0.001)) == 2995


# --------------------------------------------------------------------------- loading


@pytest.fixture(scope="module", params=EXAMPLES)
def design(request: pytest.FixtureRequest) -> Design:
    name: str = request.param
    return example_design(name)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_loads_with_a_title_summary_and_every_step_in_order(name: str) -> None:
    example = load_example(name)
    assert isinstance(example, Example)
    assert example.name == name
    assert example.title and example.summary and example.feature
    assert "feature" not in example.context
    assert list(example.steps) == [step.key for step in STEPS]


def test_an_unknown_example_name_raises_and_lists_the_valid_names() -> None:
    with pytest.raises(KeyError) as raised:
        load_example("chatbot")
    for name in EXAMPLES:
        assert name in str(raised.value)
    with pytest.raises(KeyError):
        example_design("chatbot")


@pytest.mark.parametrize(("name", "key"), [(name, step.key) for name in EXAMPLES for step in STEPS])
def test_every_step_section_validates_against_its_tools_patch_model(name: str, key: str) -> None:
    section = load_example(name).steps[key]
    patch = patch_model(STEP_BY_KEY[key].model).model_validate(section)
    assert patch.model_dump(mode="json", exclude_unset=True) == section


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_context_validates_against_the_start_design_patch_model(name: str) -> None:
    example = load_example(name)
    patch_model(Context).model_validate({**example.context, "feature": example.feature})


def test_every_step_of_an_example_design_is_complete(design: Design) -> None:
    for step in STEPS:
        status, missing = step_status(design, step)
        assert (step.key, status, missing) == (step.key, "complete", [])


def test_an_example_design_passes_all_eight_quality_bar_checks(design: Design) -> None:
    checks = quality_bar(design)
    assert len(checks) == 8
    assert [(c.id, c.reason) for c in checks if not c.passed] == []


def test_an_example_design_round_trips_through_json_and_has_no_waivers(design: Design) -> None:
    assert Design.model_validate(design.model_dump(mode="json")) == design
    assert design.waivers == []


def test_the_classic_ml_example_leaves_the_llm_fields_empty() -> None:
    design = example_design("fraud_scorer")
    assert design.architecture.llm.model_dump(exclude_none=True) == {}
    assert not any(c.is_llm for c in design.architecture.components)
    assert design.io_contract.output.generated_text is False


# --------------------------------------------------------------------------- arithmetic


def test_the_deadline_closes_with_retries_and_the_baseline_fallback(design: Design) -> None:
    io = design.io_contract
    assert io.timeout_ms is not None and io.retries is not None
    assert design.baseline.p95_latency_ms is not None and io.deadline_ms is not None
    worst = io.timeout_ms * (1 + io.retries) + sum(io.backoff_ms) + design.baseline.p95_latency_ms
    assert worst <= io.deadline_ms


def test_the_latency_budget_closes_within_the_slo(design: Design) -> None:
    arch = design.architecture
    sequential = 0.0
    groups: dict[str, float] = {}
    for component in arch.components:
        assert component.p95_ms is not None
        if component.is_llm:
            llm = arch.llm
            assert llm.ttft_p95_ms is not None and llm.tpot_ms is not None
            max_tokens = design.io_contract.output.max_tokens
            assert max_tokens is not None
            assert component.p95_ms == llm.ttft_p95_ms + max_tokens * llm.tpot_ms
        if component.parallel_group:
            groups[component.parallel_group] = max(
                groups.get(component.parallel_group, 0), component.p95_ms
            )
        else:
            sequential += component.p95_ms
    assert arch.slo.p95_ms is not None
    assert sequential + sum(groups.values()) <= arch.slo.p95_ms


def test_every_gated_threshold_is_precise_and_beats_the_baseline(design: Design) -> None:
    evaluation, baseline = design.evaluation, design.baseline
    size = evaluation.golden_set.size
    assert size is not None
    assert baseline.scored_on_golden_hash == evaluation.golden_set.hash
    for metric in evaluation.metrics:
        assert metric.threshold is not None
        lower, upper, hw = wilson(metric.threshold, size)
        assert hw <= 0.05, metric.id
        if metric.direction == "lower_is_better":
            assert upper < baseline.scores[metric.id], metric.id
        else:
            assert lower > baseline.scores[metric.id], metric.id
    by_id = {m.id: m for m in evaluation.metrics}
    for piece in evaluation.golden_set.slices:
        if piece.threshold is None:
            continue
        assert piece.n is not None and piece.metric_id is not None
        lower, upper, hw = wilson(piece.threshold, piece.n)
        base = baseline.scores_by_slice[piece.id][piece.metric_id]
        assert hw <= 0.10, piece.id
        if by_id[piece.metric_id].direction == "lower_is_better":
            assert upper < base, piece.id
        else:
            assert lower > base, piece.id


def test_critical_zero_failure_categories_have_enough_items(design: Design) -> None:
    slices = {s.id: s.n or 0 for s in design.evaluation.golden_set.slices}
    critical = [c for c in design.evaluation.failure_taxonomy if c.severity == "critical"]
    assert critical
    for category in critical:
        assert category.target_rate is not None and category.allowed_failures == 0
        needed = math.ceil(math.log(0.05) / math.log(1 - category.target_rate))
        assert max(slices[s] for s in category.slice_ids) >= needed, category.id


def test_the_golden_set_is_recent_and_drawn_from_production(design: Design) -> None:
    golden = design.evaluation.golden_set
    assert golden.created_at is not None and (TODAY - golden.created_at).days < 180
    assert sum(s.share or 0 for s in golden.sources) == pytest.approx(1.0)
    assert sum(s.share or 0 for s in golden.sources if s.kind == "production") >= 0.3
    assert all(s.date is not None for s in golden.sources)
    if design.io_contract.output.user_facing:
        assert any(s.kind == "adversarial" for s in golden.sources)


def test_llm_judges_are_calibrated_against_humans(design: Design) -> None:
    for metric in design.evaluation.metrics:
        if metric.scorer != "llm_judge":
            continue
        calibration = metric.judge.calibration
        assert calibration.n is not None and calibration.n >= 196
        assert calibration.kappa is not None and calibration.kappa >= 0.6
        assert calibration.sensitivity is not None and calibration.specificity is not None
        assert calibration.sensitivity + calibration.specificity > 1


def test_the_monthly_cost_fits_the_budget_with_headroom() -> None:
    design = example_design("support_assistant")
    budget = design.context.cost_budget_month_usd
    assert budget is not None
    assert monthly_cost(design) * 1.2 <= budget
    llm, traffic = design.architecture.llm, design.context.traffic
    assert llm.output_tokens == design.io_contract.output.max_tokens
    assert traffic.peak_qps is not None and llm.quota_rpm is not None and llm.quota_tpm is not None
    rpm = traffic.peak_qps * 60 * (llm.calls_per_request or 1) * (1 + (llm.retry_rate or 0))
    assert rpm <= 0.8 * llm.quota_rpm
    assert rpm * ((llm.input_tokens or 0) + (llm.output_tokens or 0)) <= 0.8 * llm.quota_tpm


def test_the_fallback_and_kill_switch_are_the_baseline(design: Design) -> None:
    flag = design.rollout.flag
    assert flag.default == "off" and flag.runtime is True and flag.owner
    assert flag.kill_switch_target == design.io_contract.fallback_target == design.baseline.id
    assert flag.rollback_time_min is not None and flag.rollback_time_min <= 5


def test_each_canary_stage_is_long_enough_to_detect_its_regression(design: Design) -> None:
    rollout, traffic = design.rollout, design.context.traffic
    assert rollout.control == "concurrent_baseline" and rollout.alpha is not None
    assert traffic.req_per_hour is not None
    label_rates = {s.id: s.label_rate or 1.0 for s in design.monitoring.signals}
    for stage in rollout.stages:
        assert stage.p0 is not None and stage.p1 is not None and stage.gate_signal
        assert stage.fraction is not None and stage.duration_h is not None
        per_hour = traffic.req_per_hour * stage.fraction * label_rates[stage.gate_signal]
        for alpha in (0.05, rollout.alpha):
            needed_h = n_two_prop(stage.p0, stage.p1, alpha) / per_hour
            assert needed_h <= stage.duration_h, (stage.id, alpha, needed_h)


def test_each_rollback_trigger_sees_enough_samples_in_the_first_stage(design: Design) -> None:
    rollout, traffic = design.rollout, design.context.traffic
    assert traffic.req_per_hour is not None
    first = min(rollout.stages, key=lambda s: s.fraction or 0)
    assert first.fraction is not None and first.duration_h is not None
    signals = {s.id: s for s in design.monitoring.signals}
    for trigger in rollout.rollback_triggers:
        assert trigger.signal_id in signals, trigger.id
        assert trigger.window_min is not None and trigger.min_samples is not None
        assert trigger.window_min <= first.duration_h * 60
        rate = trigger.sample_rate if trigger.sample_rate is not None else 1.0
        seen = first.fraction * traffic.req_per_hour * trigger.window_min / 60 * rate
        assert seen >= trigger.min_samples, (trigger.id, seen)
        assert trigger.on_no_data in ("fail", "inconclusive")


def test_the_family_wise_false_rollback_rate_stays_under_ten_percent(design: Design) -> None:
    rollout = design.rollout
    assert rollout.alpha is not None
    tests = len(rollout.rollback_triggers) * len(rollout.stages)
    assert 1 - (1 - rollout.alpha) ** tests <= 0.10


def test_psi_drift_windows_are_above_the_noise_floor(design: Design) -> None:
    rate = design.context.traffic.req_per_hour
    assert rate is not None
    psi = [s for s in design.monitoring.signals if s.stat == "psi"]
    assert psi
    for signal in psi:
        assert signal.threshold is not None and signal.window_h is not None
        assert signal.bins is not None and signal.n_ref is not None
        n_cur = rate * signal.window_h * (signal.sample_rate or 1.0)
        assert n_cur >= psi_min_window(signal.threshold, signal.bins, signal.n_ref), signal.id


def test_online_proxies_and_monitored_signals_close_the_loop(design: Design) -> None:
    signals = {s.id: s for s in design.monitoring.signals}
    for metric in design.evaluation.metrics:
        assert any(s.proxy_for == metric.id for s in signals.values()), metric.id
    for field in design.io_contract.input_fields:
        if field.required:
            assert any(s.kind == "drift" and s.input_field == field.id for s in signals.values())
    for trigger in design.iteration.triggers:
        assert trigger.signal_id in signals and trigger.condition and trigger.owner
    assert {s.kind for s in signals.values()} == {
        "system",
        "drift",
        "quality_proxy",
        "safety",
        "cost",
    }


def test_the_ab_test_fits_its_cadence_in_whole_weeks(design: Design) -> None:
    ab, traffic = design.iteration.ab, design.context.traffic
    assert ab.p0 is not None and ab.mde is not None and ab.alpha is not None
    assert ab.power is not None and ab.share_per_arm is not None and ab.cadence_days
    assert traffic.ab_daily_eligible is not None
    days = n_ab(ab.p0, ab.p0 + ab.mde, ab.alpha, ab.power) / (
        traffic.ab_daily_eligible * ab.share_per_arm
    )
    weeks_in_days = max(7, 7 * math.ceil(days / 7))
    assert weeks_in_days <= ab.cadence_days
    assert ab.srm_check is True and ab.guardrails
    assert ab.looks is not None and (ab.looks <= 1 or ab.method != "fixed")


def test_card_failure_modes_match_the_taxonomy_and_name_a_signal(design: Design) -> None:
    taxonomy = {c.id for c in design.evaluation.failure_taxonomy}
    signals = {s.id for s in design.monitoring.signals}
    assert {f.id for f in design.card.failure_modes} == taxonomy
    assert all(f.signal_id in signals and f.mitigation for f in design.card.failure_modes)
    assert all(goal.enforcement for goal in design.card.non_goals)
