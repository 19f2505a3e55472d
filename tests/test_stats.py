"""Worked examples of reference section F, properties and domain checks for stats."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_systemization import stats as s

# Hypothesis: no example database, so test runs leave no files behind.
PROPERTY = settings(database=None, deadline=None, max_examples=200)


def sig3(x: float) -> float:
    """Round to 3 significant figures, the precision of the reference oracle."""
    return float(f"{x:.3g}")


def assert_sig3(actual: float, expected: float) -> None:
    assert sig3(actual) == sig3(expected), f"{actual!r} is not {expected!r} to 3 s.f."


# ---------------------------------------------------------------------------
# Worked examples of section F, to 3 significant figures
# ---------------------------------------------------------------------------

FLOAT_EXAMPLES: list[tuple[str, Callable[[], float], float]] = [
    # Normal quantiles (section 0 defaults)
    ("z two-sided", lambda: s.z_alpha(0.05, two_sided=True), 1.96),
    ("z power", lambda: s.z_power(0.8), 0.842),
    # F1
    ("F1 lower n=200", lambda: s.wilson_interval(0.90, 200)[0], 0.851),
    ("F1 upper n=200", lambda: s.wilson_interval(0.90, 200)[1], 0.934),
    ("F1 hw n=200", lambda: s.wilson_halfwidth(0.90, 200), 0.0419),
    ("F1 hw n=100", lambda: s.wilson_halfwidth(0.90, 100), 0.0596),
    ("F1 hw n=12", lambda: s.wilson_halfwidth(0.90, 12), 0.177),
    # F2
    ("F2 lower", lambda: s.wilson_lower(0.85, 200), 0.794),
    # F3
    ("F3 bonferroni z", lambda: s.bonferroni_z(0.05, 10), 2.81),
    ("F3 any false flag", lambda: s.any_false_flag(0.05, 10), 0.401),
    # F4
    ("F4 unpaired MDE", lambda: s.mde_unpaired(0.85, 500), 0.0562),
    ("F4 paired MDE", lambda: s.mde_paired(500, discordance=0.10), 0.0352),
    # F5
    ("F5 bound 0/500", lambda: s.zero_failure_upper_bound(500), 0.00597),
    ("F5 CP bound 0/500", lambda: s.clopper_pearson_upper(0, 500), 0.00597),
    # F6
    ("F6 RG judged 0.80", lambda: s.rogan_gladen(0.80, 120 / 130, 50 / 70), 0.807),
    ("F6 RG lenient judge", lambda: s.rogan_gladen(0.85, 0.95, 0.60), 0.818),
    # F7
    ("F7 hours k=1", lambda: s.canary_hours(6105, 20_000, 0.05), 6.11),
    ("F7 hours k=19", lambda: s.canary_hours(3005, 20_000, 0.05), 3.00),
    (
        "F7 hours from n k=1",
        lambda: s.canary_hours(s.n_two_prop(0.010, 0.015), 20_000, 0.05),
        6.105,
    ),
    # F8
    ("F8 trigger samples", lambda: s.trigger_samples(0.01, 20_000, 30), 100),
    ("F8 stage hours", lambda: s.hours_for_samples(1000, 0.01, 20_000), 5.00),
    ("F8 sparse events/h", lambda: s.trigger_samples(0.05, 20_000, 60, rate=0.02), 20),
    # F9
    ("F9 one stage", lambda: s.fwer(0.05, 8), 0.337),
    ("F9 three stages", lambda: s.fwer(0.05, 8 * 3), 0.708),
    ("F9 sidak", lambda: s.sidak_alpha(0.10, 24), 0.00438),
    # F10
    ("F10 budget", lambda: s.error_budget(0.999, 30, 1_000_000), 30_000),
    ("F10 canary burn", lambda: s.canary_budget_burn(0.05, 41_667, 6, 0.20), 2500),
    (
        "F10 canary share",
        lambda: s.canary_budget_burn(0.05, 41_667, 6, 0.20) / s.error_budget(0.999, 30, 1_000_000),
        0.0833,
    ),
    ("F10 burn 2%/1h", lambda: s.burn_rate(0.02, 1), 14.4),
    ("F10 burn 5%/6h", lambda: s.burn_rate(0.05, 6), 6.00),
    ("F10 burn 10%/72h", lambda: s.burn_rate(0.10, 72), 1.00),
    # F11
    ("F11 days", lambda: s.ab_days(14_751, 5000, 0.5), 5.90),
    # F12
    ("F12 peeking K=5", lambda: s.peeking_alpha(5), 0.142),
    ("F12 peeking K=10", lambda: s.peeking_alpha(10), 0.193),
    ("F12 pocock K=5", lambda: s.pocock_z(5), 2.41),
    ("F12 K=1 alpha", lambda: s.peeking_alpha(1), 0.05),
    ("F12 K=1 pocock", lambda: s.pocock_z(1), 1.96),
    # F13
    ("F13 chi2", lambda: s.srm_chi2([50_000, 48_800], [0.5, 0.5])[0], 14.6),
    ("F13 p-value", lambda: s.srm_chi2([50_000, 48_800], [0.5, 0.5])[1], 1.35e-4),
    # F14
    ("F14 PSI moderate", lambda: s.psi([0.25] * 4, [0.10, 0.20, 0.30, 0.40]), 0.228),
    ("F14 PSI small", lambda: s.psi([0.25] * 4, [0.20, 0.25, 0.25, 0.30]), 0.0203),
    ("F14 chi2 quantile", lambda: s.chi2_quantile(0.95, 9), 16.9),
    ("F14 floor n_cur=200", lambda: s.psi_noise_floor(10, 10_000, 200), 0.0863),
    ("F14 floor n_cur=100", lambda: s.psi_noise_floor(10, 10_000, 100), 0.171),
    # F15
    ("F15 call cost", lambda: s.call_cost(1500, 300, 3, 15), 0.00900),
    (
        "F15 cached input part",
        lambda: s.call_cost(1500, 0, 3, 15, cached_input_tokens=1200),
        0.00126,
    ),
    (
        "F15 monthly",
        lambda: s.monthly_cost(
            1_000_000,
            s.call_cost(1500, 300, 3, 15),
            cache_hit_rate=0.20,
            tool_calls_per_request=0.5,
            price_per_tool_call=0.005,
        ),
        9200,
    ),
    (
        "F15 monthly with prefix cache",
        lambda: s.monthly_cost(
            1_000_000,
            s.call_cost(1500, 300, 3, 15, cached_input_tokens=1200),
            cache_hit_rate=0.20,
            tool_calls_per_request=0.5,
            price_per_tool_call=0.005,
        ),
        6608,
    ),
    (
        "F15 judged traffic",
        lambda: s.monthly_cost(1_000_000, 0.0, judge_share=0.02, judge_cost=0.01),
        200,
    ),
    ("F15 budget", lambda: s.budget_needed(9200), 11_040),
    ("F15 per success", lambda: s.cost_per_success(9200 / 1_000_000, 0.85), 0.0108),
    # F16
    ("F16 LLM latency", lambda: s.llm_latency_ms(500, 250, 15), 4250),
    (
        "F16 end-to-end",
        lambda: s.serial_latency_ms(
            [
                (150, None),
                (100, None),
                (s.llm_latency_ms(500, 250, 15), None),
                (200, None),
                (100, None),
            ]
        ),
        4800,
    ),
    ("F16 deadline", lambda: s.deadline_worst_case_ms(2000, 1, [200], 150), 4350),
    ("F16 max timeout", lambda: s.max_timeout_ms(3000, 1, [200], 150), 1325),
    # F17
    ("F17 RPM", lambda: s.quota_rpm(30), 1800),
    ("F17 TPM", lambda: s.quota_tpm(s.quota_rpm(30), 1800), 3.24e6),
    ("F17 serial", lambda: s.serial_availability([0.9995, 0.99, 0.9995]), 0.989),
    ("F17 fallback leg", lambda: s.with_fallback(0.99, 0.999), 0.99999),
    (
        "F17 total with fallback",
        lambda: s.serial_availability([0.9995, s.with_fallback(0.99, 0.999), 0.9995]),
        0.999,
    ),
    # F18
    ("F18 days at 300/day", lambda: s.online_proxy_days(0.05, 0.025, 300), 3.86),
    ("F18 days at 50/day", lambda: s.online_proxy_days(0.05, 0.025, 50), 23.2),
]


@pytest.mark.parametrize(
    ("compute", "expected"),
    [(f, e) for _, f, e in FLOAT_EXAMPLES],
    ids=[name for name, _, _ in FLOAT_EXAMPLES],
)
def test_formulas_match_worked_examples_to_three_significant_figures(
    compute: Callable[[], float], expected: float
) -> None:
    assert_sig3(compute(), expected)


INT_EXAMPLES: list[tuple[str, Callable[[], int | None], int]] = [
    ("F1 n_min 0.90 +-0.05", lambda: s.wilson_n_min(0.90, 0.05), 141),
    ("F2 distinguishable", lambda: s.distinguishable_n_min(0.85, 0.80), 246),
    (
        "F2 mirrored, lower is better",
        lambda: s.distinguishable_n_min(0.15, 0.20, higher_is_better=False),
        246,
    ),
    ("F3 slice n_min +-0.10", lambda: s.wilson_n_min(0.90, 0.10), 37),
    (
        "F3 bonferroni n_min",
        lambda: s.wilson_n_min(0.90, 0.05, z=s.bonferroni_z(0.05, 10)),
        290,
    ),
    ("F4 unpaired n", lambda: s.n_for_mde_unpaired(0.85, 0.02), 3942),
    ("F4 paired n", lambda: s.n_for_mde_paired(0.02, discordance=0.10), 1546),
    ("F5 r=0.001", lambda: s.zero_failure_n(0.001), 2995),
    ("F5 r=0.01", lambda: s.zero_failure_n(0.01), 299),
    ("F6 calibration n", lambda: s.calibration_n_min(0.85, 0.05), 196),
    ("F7 k=1", lambda: s.n_two_prop(0.010, 0.015, k=1), 6105),
    ("F7 k=19", lambda: s.n_two_prop(0.010, 0.015, k=19), 3005),
    ("F7 see one in 1,000", lambda: s.requests_to_see_one(0.001, prob=0.95), 2995),
    ("F8 Kayenta points", lambda: s.analysis_points(30, 60), 30),
    ("F11 per arm", lambda: s.ab_n_per_arm(0.10, 0.11), 14_751),
    ("F11 whole weeks", lambda: s.whole_weeks_days(s.ab_days(14_751, 5000, 0.5)), 7),
    ("F11 continuous", lambda: s.ab_n_per_arm_continuous(1.0, 0.05), 6280),
    ("F14 window B=10", lambda: s.psi_min_window(0.1, 10, 10_000), 190),
    ("F14 window B=30", lambda: s.psi_min_window(0.1, 30, 10_000), 489),
    ("F16 max output tokens", lambda: s.max_output_tokens(3000, 550, 500, 15), 130),
    ("F18 labels per arm", lambda: s.n_two_prop(0.05, 0.075), 1159),
]


@pytest.mark.parametrize(
    ("compute", "expected"),
    [(f, e) for _, f, e in INT_EXAMPLES],
    ids=[name for name, _, _ in INT_EXAMPLES],
)
def test_integer_results_match_worked_examples_exactly(
    compute: Callable[[], int | None], expected: int
) -> None:
    assert compute() == expected


def test_default_z_values_match_section_zero() -> None:
    assert round(s.z_alpha(0.05, two_sided=True), 3) == 1.960
    assert round(s.z_alpha(0.05, two_sided=False), 3) == 1.645
    assert round(s.z_power(0.80), 3) == 0.842
    assert s.z_quantile(0.975) == pytest.approx(s.Z95, abs=1e-6)


def test_ab_mde_for_one_week_matches_the_worked_example_rounded_up() -> None:
    # The exact root is 0.0091649 (0.00916 to 3 s.f.); the reference reports 0.00917,
    # the smallest 3-s.f. lift that 17,500 per arm can detect (MDE rounded up).
    mde = s.ab_mde_for_n(0.10, 17_500)
    assert mde == pytest.approx(0.00917, rel=1e-3)
    assert math.ceil(mde * 1e5) / 1e5 == 0.00917
    assert s.ab_n_per_arm(0.10, 0.10917) <= 17_500 < s.ab_n_per_arm(0.10, 0.10916)


def test_canary_hours_are_exactly_n_over_exposed_traffic() -> None:
    assert s.canary_hours(6105, 20_000, 0.05) == pytest.approx(6.105, rel=1e-12)
    assert s.canary_hours(3005, 20_000, 0.05) == pytest.approx(3.005, rel=1e-12)


def test_cohen_kappa_matches_the_judge_calibration_example() -> None:
    agreement = s.cohen_kappa(tp=120, fn=10, fp=20, tn=50)
    assert_sig3(agreement.p_o, 0.850)
    assert_sig3(agreement.p_e, 0.560)
    assert_sig3(agreement.kappa, 0.659)
    assert_sig3(agreement.sensitivity, 0.923)
    assert_sig3(agreement.specificity, 0.714)
    assert_sig3(
        s.rogan_gladen(0.80, agreement.sensitivity, agreement.specificity),
        0.807,
    )


def test_wilson_n_min_is_the_first_n_within_the_halfwidth_and_beats_wald() -> None:
    assert s.wilson_halfwidth(0.90, 141) <= 0.05 < s.wilson_halfwidth(0.90, 140)
    wald = math.ceil(s.Z95**2 * 0.90 * 0.10 / 0.05**2)
    assert wald == 139


def test_distinguishability_fails_at_200_and_holds_from_246() -> None:
    assert s.wilson_lower(0.85, 200) <= 0.80
    assert s.wilson_lower(0.85, 245) <= 0.80 < s.wilson_lower(0.85, 246)


@pytest.mark.parametrize(
    ("threshold", "baseline", "higher_is_better"),
    [(0.80, 0.85, True), (0.80, 0.80, True), (0.20, 0.15, False), (0.20, 0.20, False)],
)
def test_distinguishable_n_min_is_none_when_the_threshold_does_not_beat_the_baseline(
    threshold: float, baseline: float, higher_is_better: bool
) -> None:
    assert s.distinguishable_n_min(threshold, baseline, higher_is_better=higher_is_better) is None


def test_srm_flags_the_worked_example_below_one_in_a_thousand() -> None:
    _, p = s.srm_chi2([50_000, 48_800], [0.5, 0.5])
    assert p < 0.001


def test_budget_verdicts_of_the_cost_example() -> None:
    c_month = s.monthly_cost(
        1_000_000,
        s.call_cost(1500, 300, 3, 15),
        cache_hit_rate=0.20,
        tool_calls_per_request=0.5,
        price_per_tool_call=0.005,
    )
    assert c_month > 9000
    assert s.budget_needed(c_month) == pytest.approx(11_040)


@pytest.mark.parametrize(
    ("args", "expected"),
    [((0.0092, 0.85, 0.0005, 0.70), 0.0580), ((0.0092, 0.70, 0.0005, 0.70), None)],
)
def test_incremental_cost_per_success_matches_worked_example_or_is_none(
    args: tuple[float, float, float, float], expected: float | None
) -> None:
    result = s.incremental_cost_per_success(*args)
    if expected is None:
        assert result is None
    else:
        assert result is not None
        assert_sig3(result, expected)


def test_psi_min_window_is_none_when_the_reference_alone_exceeds_the_threshold() -> None:
    assert s.psi_min_window(0.1, 10, 100) is None


def test_serial_latency_takes_the_max_of_each_parallel_group() -> None:
    components: list[tuple[float, str | None]] = [
        (150, None),
        (100, "retrieval"),
        (300, "retrieval"),
        (4250, None),
    ]
    assert s.serial_latency_ms(components) == 150 + 300 + 4250


def test_infeasible_budgets_clamp_to_zero() -> None:
    assert s.max_output_tokens(500, 550, 500, 15) == 0
    assert s.max_timeout_ms(300, 1, [200], 150) == 0.0


def test_ab_mde_for_n_inverts_the_sample_size_formula() -> None:
    mde = s.ab_mde_for_n(0.10, 17_500)
    assert s.ab_n_per_arm(0.10, 0.10 + mde) == 17_500
    assert s.ab_mde_for_n(0.99, 100) == math.inf


def test_peeking_tables_cover_one_to_ten_looks_and_grow_with_k() -> None:
    alphas = [s.peeking_alpha(k) for k in range(1, 11)]
    bounds = [s.pocock_z(k) for k in range(1, 11)]
    assert alphas == sorted(alphas)
    assert bounds == sorted(bounds)


def test_clopper_pearson_for_zero_failures_equals_the_closed_form() -> None:
    for n in (1, 10, 500, 10_000):
        assert s.clopper_pearson_upper(0, n) == s.zero_failure_upper_bound(n)
    assert s.clopper_pearson_upper(5, 5) == 1.0
    assert s.clopper_pearson_upper(1, 500) > s.clopper_pearson_upper(0, 500)


def test_chi2_quantile_inverts_the_cdf() -> None:
    for df in (1, 2, 9, 29, 200):
        for q in (0.01, 0.5, 0.95, 0.999):
            x = s.chi2_quantile(q, df)
            assert s.chi2_cdf(x, df) == pytest.approx(q, abs=1e-10)
            assert s.chi2_sf(x, df) == pytest.approx(1 - q, abs=1e-10)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@PROPERTY
@given(
    p=probabilities,
    n=st.integers(min_value=1, max_value=100_000),
    extra=st.integers(min_value=1, max_value=100_000),
)
def test_a_larger_n_never_widens_the_wilson_interval(p: float, n: int, extra: int) -> None:
    lo1, hi1 = s.wilson_interval(p, n)
    lo2, hi2 = s.wilson_interval(p, n + extra)
    assert hi2 - lo2 <= hi1 - lo1 + 1e-12
    assert s.wilson_halfwidth(p, n + extra) <= s.wilson_halfwidth(p, n) + 1e-12


@PROPERTY
@given(p=probabilities, hw=st.floats(min_value=0.005, max_value=0.5))
def test_wilson_n_min_is_the_smallest_sufficient_n(p: float, hw: float) -> None:
    n = s.wilson_n_min(p, hw)
    assert s.wilson_halfwidth(p, n) <= hw
    if n > 1:
        assert s.wilson_halfwidth(p, n - 1) > hw


@PROPERTY
@given(
    n=st.integers(min_value=0, max_value=1_000_000),
    traffic=st.floats(min_value=1.0, max_value=1e7),
    factor=st.floats(min_value=1.0, max_value=100.0),
    fraction=st.floats(min_value=0.001, max_value=1.0),
)
def test_more_traffic_never_lengthens_canary_hours(
    n: int, traffic: float, factor: float, fraction: float
) -> None:
    more = s.canary_hours(n, traffic * factor, fraction)
    assert more <= s.canary_hours(n, traffic, fraction)


@PROPERTY
@given(
    p0=st.floats(min_value=0.001, max_value=0.5),
    gap=st.floats(min_value=0.001, max_value=0.24),
    further=st.floats(min_value=0.0, max_value=0.24),
    k=st.sampled_from([1.0, 4.0, 19.0]),
)
def test_n_two_prop_decreases_as_p1_moves_away_from_p0(
    p0: float, gap: float, further: float, k: float
) -> None:
    near = s.n_two_prop(p0, p0 + gap, k=k)
    far = s.n_two_prop(p0, p0 + gap + further, k=k)
    assert far <= near


@PROPERTY
@given(
    bins=st.integers(min_value=2, max_value=50),
    n_ref=st.integers(min_value=10, max_value=1_000_000),
    n_cur=st.floats(min_value=1.0, max_value=1e6),
    factor=st.floats(min_value=1.0, max_value=100.0),
)
def test_psi_noise_floor_decreases_as_n_cur_grows(
    bins: int, n_ref: int, n_cur: float, factor: float
) -> None:
    assert s.psi_noise_floor(bins, n_ref, n_cur * factor) <= s.psi_noise_floor(bins, n_ref, n_cur)


@PROPERTY
@given(
    rate=st.floats(min_value=1e-6, max_value=0.9),
    shrink=st.floats(min_value=0.01, max_value=1.0),
)
def test_zero_failure_n_grows_as_rate_shrinks(rate: float, shrink: float) -> None:
    assert s.zero_failure_n(rate * shrink) >= s.zero_failure_n(rate)


@PROPERTY
@given(
    volume=st.floats(min_value=0.0, max_value=1e9),
    extra=st.floats(min_value=0.0, max_value=1e9),
    call=st.floats(min_value=0.0, max_value=1.0),
    hit=probabilities,
    retry=st.floats(min_value=0.0, max_value=1.0),
    judge_share=probabilities,
)
def test_monthly_cost_is_monotone_in_volume(
    volume: float, extra: float, call: float, hit: float, retry: float, judge_share: float
) -> None:
    def cost(v: float) -> float:
        return s.monthly_cost(
            v,
            call,
            retry_rate=retry,
            cache_hit_rate=hit,
            tool_calls_per_request=0.5,
            price_per_tool_call=0.005,
            judge_share=judge_share,
            judge_cost=0.01,
        )

    assert cost(volume + extra) >= cost(volume)


@settings(database=None, deadline=None, max_examples=60)
@given(
    k=st.integers(min_value=0, max_value=200),
    n=st.integers(min_value=1, max_value=2000),
)
def test_clopper_pearson_upper_bounds_the_observed_rate(k: int, n: int) -> None:
    k = min(k, n)
    bound = s.clopper_pearson_upper(k, n)
    assert k / n <= bound <= 1.0


@PROPERTY
@given(p=st.floats(min_value=0.01, max_value=0.99), judged=probabilities)
def test_rogan_gladen_is_identity_for_a_perfect_judge_and_stays_in_unit_interval(
    p: float, judged: float
) -> None:
    assert s.rogan_gladen(p, 1.0, 1.0) == pytest.approx(p)
    assert 0.0 <= s.rogan_gladen(judged, 0.8, 0.7) <= 1.0


# ---------------------------------------------------------------------------
# Out-of-domain inputs
# ---------------------------------------------------------------------------

BAD_CALLS: list[tuple[str, Callable[[], Any]]] = [
    ("z_quantile at 0", lambda: s.z_quantile(0.0)),
    ("z_quantile at 1", lambda: s.z_quantile(1.0)),
    ("z_alpha above 1", lambda: s.z_alpha(1.5, two_sided=True)),
    ("z_power nan", lambda: s.z_power(math.nan)),
    ("wilson n=0", lambda: s.wilson_interval(0.5, 0)),
    ("wilson p>1", lambda: s.wilson_halfwidth(1.2, 10)),
    ("wilson p<0", lambda: s.wilson_lower(-0.1, 10)),
    ("wilson n not integral", lambda: s.wilson_upper(0.5, 2.5)),  # type: ignore[arg-type]
    ("wilson z<=0", lambda: s.wilson_interval(0.5, 10, z=0.0)),
    ("wilson n_min hw=0", lambda: s.wilson_n_min(0.9, 0.0)),
    ("distinguishable p>1", lambda: s.distinguishable_n_min(1.1, 0.8)),
    ("bonferroni m=0", lambda: s.bonferroni_z(0.05, 0)),
    ("any_false_flag m=0", lambda: s.any_false_flag(0.05, 0)),
    ("mde_unpaired n=0", lambda: s.mde_unpaired(0.85, 0)),
    ("mde_paired d>1", lambda: s.mde_paired(500, discordance=1.5)),
    ("n_for_mde mde=0", lambda: s.n_for_mde_unpaired(0.85, 0.0)),
    ("n_for_mde_paired mde<0", lambda: s.n_for_mde_paired(-0.02)),
    ("zero_failure_n rate=0", lambda: s.zero_failure_n(0.0)),
    ("zero_failure_n rate=1", lambda: s.zero_failure_n(1.0)),
    ("zero_failure bound n=0", lambda: s.zero_failure_upper_bound(0)),
    ("clopper k>n", lambda: s.clopper_pearson_upper(6, 5)),
    ("clopper k<0", lambda: s.clopper_pearson_upper(-1, 5)),
    ("requests_to_see_one prob=1", lambda: s.requests_to_see_one(0.001, prob=1.0)),
    ("kappa negative count", lambda: s.cohen_kappa(-1, 10, 20, 50)),
    ("kappa no human negatives", lambda: s.cohen_kappa(10, 5, 0, 0)),
    ("rogan_gladen sens+spec<=1", lambda: s.rogan_gladen(0.8, 0.5, 0.5)),
    ("rogan_gladen rate>1", lambda: s.rogan_gladen(1.2, 0.9, 0.9)),
    ("calibration hw=0", lambda: s.calibration_n_min(0.85, 0.0)),
    ("n_two_prop equal rates", lambda: s.n_two_prop(0.01, 0.01)),
    ("n_two_prop k=0", lambda: s.n_two_prop(0.01, 0.015, k=0.0)),
    ("n_two_prop p1>1", lambda: s.n_two_prop(0.01, 1.5)),
    ("canary_hours zero traffic", lambda: s.canary_hours(100, 0.0, 0.05)),
    ("canary_hours zero fraction", lambda: s.canary_hours(100, 1000.0, 0.0)),
    ("trigger_samples fraction>1", lambda: s.trigger_samples(1.5, 20_000, 30)),
    ("hours_for_samples rate=0", lambda: s.hours_for_samples(10, 0.1, 100, rate=0.0)),
    ("analysis_points step=0", lambda: s.analysis_points(30, 0)),
    ("online_proxy_days no labels", lambda: s.online_proxy_days(0.05, 0.025, 0)),
    ("fwer tests=0", lambda: s.fwer(0.05, 0)),
    ("sidak family=0", lambda: s.sidak_alpha(0.0, 24)),
    ("error_budget slo>1", lambda: s.error_budget(1.5, 30, 1e6)),
    ("canary_budget_burn e_bad>1", lambda: s.canary_budget_burn(0.05, 1000, 6, 2.0)),
    ("burn_rate window=0", lambda: s.burn_rate(0.02, 0)),
    ("ab equal rates", lambda: s.ab_n_per_arm(0.1, 0.1)),
    ("ab continuous sigma=0", lambda: s.ab_n_per_arm_continuous(0.0, 0.05)),
    ("ab_days share=0", lambda: s.ab_days(100, 5000, 0.0)),
    ("whole_weeks negative", lambda: s.whole_weeks_days(-1.0)),
    ("ab_mde p0=1", lambda: s.ab_mde_for_n(1.0, 1000)),
    ("peeking K=0", lambda: s.peeking_alpha(0)),
    ("peeking K=11", lambda: s.peeking_alpha(11)),
    ("pocock K=11", lambda: s.pocock_z(11)),
    ("srm length mismatch", lambda: s.srm_chi2([1, 2], [1.0])),
    ("srm shares do not sum to 1", lambda: s.srm_chi2([1, 2], [0.5, 0.6])),
    ("srm zero share", lambda: s.srm_chi2([1, 2], [0.0, 1.0])),
    ("srm negative count", lambda: s.srm_chi2([-1, 2], [0.5, 0.5])),
    ("srm all zero", lambda: s.srm_chi2([0, 0], [0.5, 0.5])),
    ("chi2_quantile q=1", lambda: s.chi2_quantile(1.0, 9)),
    ("chi2_quantile df=0", lambda: s.chi2_quantile(0.95, 0)),
    ("chi2_sf negative x", lambda: s.chi2_sf(-1.0, 3)),
    ("psi zero share", lambda: s.psi([0.5, 0.5], [1.0, 0.0])),
    ("psi not normalized", lambda: s.psi([0.5, 0.6], [0.5, 0.5])),
    ("psi bin mismatch", lambda: s.psi([0.5, 0.5], [0.2, 0.3, 0.5])),
    ("psi single bin", lambda: s.psi([1.0], [1.0])),
    ("psi_noise_floor bins=1", lambda: s.psi_noise_floor(1, 10_000, 200)),
    ("psi_noise_floor n_cur=0", lambda: s.psi_noise_floor(10, 10_000, 0)),
    ("psi_min_window threshold=0", lambda: s.psi_min_window(0.0, 10, 10_000)),
    ("call_cost negative tokens", lambda: s.call_cost(-1, 300, 3, 15)),
    ("call_cost cached>input", lambda: s.call_cost(100, 300, 3, 15, cached_input_tokens=200)),
    ("monthly_cost hit>1", lambda: s.monthly_cost(1e6, 0.01, cache_hit_rate=1.5)),
    ("monthly_cost negative volume", lambda: s.monthly_cost(-1, 0.01)),
    ("cost_per_success rate=0", lambda: s.cost_per_success(0.01, 0.0)),
    ("icps succ>1", lambda: s.incremental_cost_per_success(0.01, 1.5, 0.0, 0.5)),
    ("budget_needed headroom=0", lambda: s.budget_needed(100, headroom=0.0)),
    ("llm_latency negative", lambda: s.llm_latency_ms(-1, 250, 15)),
    ("max_output_tokens tpot=0", lambda: s.max_output_tokens(3000, 550, 500, 0)),
    ("deadline negative retries", lambda: s.deadline_worst_case_ms(2000, -1, [], 150)),
    ("max_timeout negative backoff", lambda: s.max_timeout_ms(3000, 1, [-5], 150)),
    ("serial_latency negative", lambda: s.serial_latency_ms([(-1.0, None)])),
    ("quota_rpm negative", lambda: s.quota_rpm(-1)),
    ("quota_tpm negative", lambda: s.quota_tpm(100, -1)),
    ("availability>1", lambda: s.serial_availability([0.99, 1.01])),
    ("fallback availability<0", lambda: s.with_fallback(0.99, -0.1)),
]


@pytest.mark.parametrize("call", [c for _, c in BAD_CALLS], ids=[name for name, _ in BAD_CALLS])
def test_out_of_domain_inputs_raise_value_error(call: Callable[[], Any]) -> None:
    with pytest.raises(ValueError):
        call()


# ---------------------------------------------------------------------------
# Cross-check against scipy when it is installed
# ---------------------------------------------------------------------------


def test_results_agree_with_scipy_over_a_grid() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")

    z = float(scipy_stats.norm.ppf(0.975))
    for q in (1e-6, 0.025, 0.2, 0.5, 0.8, 0.95, 0.999):
        assert s.z_quantile(q) == pytest.approx(float(scipy_stats.norm.ppf(q)), rel=1e-9)

    for n in (1, 5, 12, 50, 200, 1000):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            lo, hi = scipy_stats.binomtest(k, n).proportion_ci(
                confidence_level=0.95, method="wilson"
            )
            mine = s.wilson_interval(k / n, n, z=z)
            assert mine == pytest.approx((float(lo), float(hi)), abs=1e-9)

    for df in (1, 2, 3, 5, 9, 29, 100, 1000):
        for q in (0.001, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999):
            expected = float(scipy_stats.chi2.ppf(q, df))
            assert s.chi2_quantile(q, df) == pytest.approx(expected, rel=1e-8)
        for x in (0.01, 0.5, 1.0, df / 2, df, 2 * df, 3 * df + 20):
            expected_sf = float(scipy_stats.chi2.sf(x, df))
            assert s.chi2_sf(x, df) == pytest.approx(expected_sf, rel=1e-8, abs=1e-300)

    for observed, shares in (
        ([50_000, 48_800], [0.5, 0.5]),
        ([1_000, 1_030, 990], [1 / 3, 1 / 3, 1 / 3]),
        ([5_000, 44_000, 51_500], [0.05, 0.45, 0.50]),
        ([10, 25, 30, 35], [0.1, 0.2, 0.3, 0.4]),
    ):
        total = sum(observed)
        ref = scipy_stats.chisquare(observed, [total * p for p in shares])
        stat, p_value = s.srm_chi2(observed, shares)
        assert stat == pytest.approx(float(ref.statistic), rel=1e-9)
        assert p_value == pytest.approx(float(ref.pvalue), rel=1e-7)

    for n in (1, 10, 50, 500, 3000):
        for k in sorted({0, 1, 2, n // 10, n // 2, n - 1} & set(range(n))):
            for alpha in (0.05, 0.01):
                expected = float(scipy_stats.beta.ppf(1 - alpha, k + 1, n - k))
                got = s.clopper_pearson_upper(k, n, alpha=alpha)
                assert got == pytest.approx(expected, rel=1e-8)
