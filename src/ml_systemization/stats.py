"""Statistics formulas behind the validation rules (reference section F), stdlib only."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from statistics import NormalDist

__all__ = [
    "Z95",
    "JudgeAgreement",
    "ab_days",
    "ab_mde_for_n",
    "ab_n_per_arm",
    "ab_n_per_arm_continuous",
    "analysis_points",
    "any_false_flag",
    "bonferroni_z",
    "budget_needed",
    "burn_rate",
    "calibration_n_min",
    "call_cost",
    "canary_budget_burn",
    "canary_hours",
    "chi2_cdf",
    "chi2_quantile",
    "chi2_sf",
    "clopper_pearson_upper",
    "cohen_kappa",
    "cost_per_success",
    "deadline_worst_case_ms",
    "distinguishable_n_min",
    "error_budget",
    "fwer",
    "hours_for_samples",
    "incremental_cost_per_success",
    "llm_latency_ms",
    "max_output_tokens",
    "max_timeout_ms",
    "mde_paired",
    "mde_unpaired",
    "monthly_cost",
    "n_for_mde_paired",
    "n_for_mde_unpaired",
    "n_two_prop",
    "online_proxy_days",
    "peeking_alpha",
    "pocock_z",
    "psi",
    "psi_min_window",
    "psi_noise_floor",
    "quota_rpm",
    "quota_tpm",
    "requests_to_see_one",
    "rogan_gladen",
    "serial_availability",
    "serial_latency_ms",
    "sidak_alpha",
    "srm_chi2",
    "trigger_samples",
    "whole_weeks_days",
    "wilson_halfwidth",
    "wilson_interval",
    "wilson_lower",
    "wilson_n_min",
    "wilson_upper",
    "with_fallback",
    "z_alpha",
    "z_power",
    "z_quantile",
    "zero_failure_n",
    "zero_failure_upper_bound",
]

#: Two-sided 95% normal quantile, the default z of the Wilson helpers.
Z95 = 1.959964

#: Tolerance on "shares sum to 1" for PSI and SRM inputs.
_SHARE_SUM_TOL = 1e-3

_STD_NORMAL = NormalDist()


# ---------------------------------------------------------------------------
# Validation and rounding helpers
# ---------------------------------------------------------------------------


def _check_prob(
    name: str, value: float, *, open_low: bool = False, open_high: bool = False
) -> None:
    """Raise ValueError unless value lies in [0, 1] (optionally open at either end)."""
    low_ok = value > 0.0 if open_low else value >= 0.0
    high_ok = value < 1.0 if open_high else value <= 1.0
    if not (low_ok and high_ok):
        lo = "(" if open_low else "["
        hi = ")" if open_high else "]"
        raise ValueError(f"{name} must be in {lo}0, 1{hi}, got {value!r}")


def _check_open_unit(name: str, value: float) -> None:
    """Raise ValueError unless 0 < value < 1."""
    _check_prob(name, value, open_low=True, open_high=True)


def _check_positive(name: str, value: float) -> None:
    """Raise ValueError unless value is a finite number > 0."""
    if not (value > 0.0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _check_non_negative(name: str, value: float) -> None:
    """Raise ValueError unless value is a finite number >= 0."""
    if not (value >= 0.0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _check_count(name: str, value: int, *, minimum: int = 1) -> None:
    """Raise ValueError unless value is an integer (or integral float) >= minimum."""
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not integral or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _ceil(x: float) -> int:
    """Round up, ignoring floating-point noise just above an integer."""
    return math.ceil(x - 1e-9 * max(1.0, abs(x)))


def _check_shares(name: str, shares: Sequence[float]) -> None:
    """Raise ValueError unless shares are all > 0 and sum to 1 (within tolerance)."""
    if len(shares) < 2:
        raise ValueError(f"{name} needs at least 2 shares, got {len(shares)}")
    for s in shares:
        if not (s > 0.0 and math.isfinite(s)):
            raise ValueError(f"{name} shares must all be > 0, got {s!r}")
    total = math.fsum(shares)
    if abs(total - 1.0) > _SHARE_SUM_TOL:
        raise ValueError(f"{name} shares must sum to 1, got {total!r}")


# ---------------------------------------------------------------------------
# Normal quantiles
# ---------------------------------------------------------------------------


def z_quantile(q: float) -> float:
    """Standard normal quantile, the inverse CDF at q.

    Args:
        q: Probability in (0, 1).

    Returns:
        z such that P(Z <= z) = q.
    """
    _check_open_unit("q", q)
    return _inv_cdf(q)


# The rules ask for the same few quantiles (alpha, power, Bonferroni z) many times per review.
@lru_cache(maxsize=1024)
def _inv_cdf(q: float) -> float:
    return _STD_NORMAL.inv_cdf(q)


def z_alpha(alpha: float, *, two_sided: bool) -> float:
    """Critical z for significance level alpha (1.960 two-sided, 1.645 one-sided at 0.05)."""
    _check_open_unit("alpha", alpha)
    return z_quantile(1.0 - alpha / 2.0 if two_sided else 1.0 - alpha)


def z_power(power: float) -> float:
    """z for the requested power, z_{power} (0.842 at 0.80)."""
    _check_open_unit("power", power)
    return z_quantile(power)


# ---------------------------------------------------------------------------
# Wilson intervals (F1-F3)
# ---------------------------------------------------------------------------


def _check_wilson(p: float, n: int, z: float) -> None:
    _check_prob("p", p)
    _check_count("n", n)
    _check_positive("z", z)


def _wilson_parts(p: float, n: float, z: float) -> tuple[float, float]:
    """Return the Wilson centre and half-width for proportion p over n items."""
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    hw = z / denom * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    return centre, hw


def wilson_interval(p: float, n: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for an observed proportion (F1).

    Args:
        p: Observed proportion in [0, 1].
        n: Number of scored items (>= 1).
        z: Normal quantile of the interval (1.96 for 95%).

    Returns:
        (lower, upper), clamped to [0, 1].
    """
    _check_wilson(p, n, z)
    centre, hw = _wilson_parts(p, n, z)
    lower = 0.0 if p == 0.0 else max(0.0, centre - hw)
    upper = 1.0 if p == 1.0 else min(1.0, centre + hw)
    return lower, upper


def wilson_lower(p: float, n: int, *, z: float = Z95) -> float:
    """Lower end of the Wilson interval (F2)."""
    return wilson_interval(p, n, z=z)[0]


def wilson_upper(p: float, n: int, *, z: float = Z95) -> float:
    """Upper end of the Wilson interval (F2)."""
    return wilson_interval(p, n, z=z)[1]


def wilson_halfwidth(p: float, n: int, *, z: float = Z95) -> float:
    """Wilson half-width z/(1+z^2/n) * sqrt(p(1-p)/n + z^2/4n^2) (F1)."""
    _check_wilson(p, n, z)
    return _wilson_parts(p, n, z)[1]


def _smallest_n(pred_ok: Callable[[int], bool], *, limit: int = 1 << 62) -> int | None:
    """Smallest n >= 1 with pred_ok(n) true, for a predicate monotone in n.

    Uses doubling then bisection; returns None if not reached below ``limit``.
    """
    if pred_ok(1):
        return 1
    lo, hi = 1, 2
    while not pred_ok(hi):
        lo, hi = hi, hi * 2
        if hi > limit:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pred_ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def wilson_n_min(p: float, halfwidth: float, *, z: float = Z95) -> int:
    """Smallest n whose Wilson half-width at p is <= halfwidth (F1, F3).

    The half-width decreases monotonically in n, so this is an exact search,
    not the Wald approximation z^2 p(1-p)/h^2 (which gives 139 instead of 141
    at 0.90 / +-0.05).

    Args:
        p: Acceptance threshold in [0, 1].
        halfwidth: Target half-width (> 0).
        z: Normal quantile (2.81 for Bonferroni over 10 gates).

    Returns:
        The minimum number of items.
    """
    _check_prob("p", p)
    _check_positive("halfwidth", halfwidth)
    _check_positive("z", z)
    return _wilson_n_min(p, halfwidth, z)


# The searches below are pure and the rules repeat them with the same few inputs on every
# review; the arguments are validated before the cache is consulted.
@lru_cache(maxsize=4096)
def _wilson_n_min(p: float, halfwidth: float, z: float) -> int:
    n = _smallest_n(lambda k: _wilson_parts(p, k, z)[1] <= halfwidth)
    if n is None:  # pragma: no cover - unreachable for finite halfwidth > 0
        raise ValueError(f"halfwidth {halfwidth!r} is too small to reach")
    return n


def distinguishable_n_min(
    threshold: float,
    baseline: float,
    *,
    higher_is_better: bool = True,
    z: float = Z95,
) -> int | None:
    """Smallest n for which scoring exactly the threshold excludes the baseline (F2).

    Requires wilson_lower(threshold, n) > baseline when higher is better, or
    wilson_upper(threshold, n) < baseline when lower is better.

    Args:
        threshold: Acceptance threshold t in [0, 1].
        baseline: Baseline score b in [0, 1].
        higher_is_better: Direction of the metric.
        z: Normal quantile.

    Returns:
        The minimum n, or None when the threshold does not beat the baseline.
    """
    _check_prob("threshold", threshold)
    _check_prob("baseline", baseline)
    _check_positive("z", z)
    return _distinguishable_n_min(threshold, baseline, higher_is_better, z)


@lru_cache(maxsize=4096)
def _distinguishable_n_min(
    threshold: float, baseline: float, higher_is_better: bool, z: float
) -> int | None:
    if higher_is_better:
        if threshold <= baseline:
            return None
        return _smallest_n(lambda k: wilson_lower(threshold, k, z=z) > baseline)
    if threshold >= baseline:
        return None
    return _smallest_n(lambda k: wilson_upper(threshold, k, z=z) < baseline)


def bonferroni_z(alpha: float, m: int) -> float:
    """Bonferroni-adjusted two-sided z, Phi^-1(1 - alpha/(2m)) (F3: 2.81 for m=10)."""
    _check_open_unit("alpha", alpha)
    _check_count("m", m)
    return z_quantile(1.0 - alpha / (2.0 * m))


def any_false_flag(alpha: float, m: int) -> float:
    """Chance that at least one of m independent gates flips on noise, 1-(1-alpha)^m."""
    _check_prob("alpha", alpha)
    _check_count("m", m)
    return 1.0 - (1.0 - alpha) ** m


# ---------------------------------------------------------------------------
# Golden-set MDE (F4); alpha here is one-sided
# ---------------------------------------------------------------------------


def _z_sum(alpha: float, power: float) -> float:
    """z_{1-alpha} + z_{power} for a one-sided test."""
    return z_alpha(alpha, two_sided=False) + z_power(power)


def mde_unpaired(p: float, n: int, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Unpaired MDE (z_{1-a}+z_{power}) * sqrt(2p(1-p)/n) (F4: 0.0562 at p=.85, n=500)."""
    _check_prob("p", p)
    _check_count("n", n)
    return _z_sum(alpha, power) * math.sqrt(2.0 * p * (1.0 - p) / n)


def mde_paired(
    n: int, *, discordance: float = 0.10, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Paired MDE (z_{1-a}+z_{power}) * sqrt(d/n), d = discordant share (F4: 0.0352)."""
    _check_count("n", n)
    _check_prob("discordance", discordance)
    return _z_sum(alpha, power) * math.sqrt(discordance / n)


def n_for_mde_unpaired(p: float, mde: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Items per system for an unpaired comparison to detect mde (F4: 3,942)."""
    _check_prob("p", p)
    _check_positive("mde", mde)
    zs = _z_sum(alpha, power)
    return max(1, _ceil(zs * zs * 2.0 * p * (1.0 - p) / (mde * mde)))


def n_for_mde_paired(
    mde: float, *, discordance: float = 0.10, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Items for a paired (McNemar-style) comparison to detect mde (F4: 1,546)."""
    _check_positive("mde", mde)
    _check_prob("discordance", discordance)
    zs = _z_sum(alpha, power)
    return max(1, _ceil(zs * zs * discordance / (mde * mde)))


# ---------------------------------------------------------------------------
# Zero-failure claims and binomial bounds (F5, F7)
# ---------------------------------------------------------------------------


def zero_failure_n(rate: float, *, alpha: float = 0.05) -> int:
    """Items needed so that 0 failures bounds the rate at <= rate, ceil(ln a / ln(1-r)) (F5)."""
    _check_open_unit("rate", rate)
    _check_open_unit("alpha", alpha)
    return max(1, _ceil(math.log(alpha) / math.log1p(-rate)))


def zero_failure_upper_bound(n: int, *, alpha: float = 0.05) -> float:
    """One-sided upper bound on the rate after 0 failures in n, 1 - alpha^(1/n) (F5)."""
    _check_count("n", n)
    _check_open_unit("alpha", alpha)
    return -math.expm1(math.log(alpha) / n)


def requests_to_see_one(rate: float, *, prob: float = 0.95) -> int:
    """Requests needed to see >= 1 event of the given rate with probability prob (F7)."""
    _check_open_unit("rate", rate)
    _check_open_unit("prob", prob)
    return zero_failure_n(rate, alpha=1.0 - prob)


def _binom_cdf(log_combs: Sequence[float], n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), k = len(log_combs) - 1, summed in log space."""
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [lc + i * log_p + (n - i) * log_q for i, lc in enumerate(log_combs)]
    top = max(terms)
    return min(1.0, math.exp(top) * math.fsum(math.exp(t - top) for t in terms))


def clopper_pearson_upper(k: int, n: int, *, alpha: float = 0.05) -> float:
    """One-sided Clopper-Pearson upper bound on a failure rate after k failures in n (F5).

    Solves P(X <= k | n, p) = alpha for p by bisection on the binomial CDF. For
    k = 0 this is the closed form of ``zero_failure_upper_bound``.

    Args:
        k: Observed failures (0 <= k <= n).
        n: Items tested (>= 1).
        alpha: One-sided error level.

    Returns:
        The upper confidence bound on the rate.
    """
    _check_count("n", n)
    _check_count("k", k, minimum=0)
    if k > n:
        raise ValueError(f"k must be <= n, got k={k!r}, n={n!r}")
    _check_open_unit("alpha", alpha)
    if k == 0:
        return zero_failure_upper_bound(n, alpha=alpha)
    if k == n:
        return 1.0
    log_n_fact = math.lgamma(n + 1)
    log_combs = [log_n_fact - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in range(k + 1)]
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _binom_cdf(log_combs, n, mid) > alpha:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------------------
# LLM-as-judge calibration (F6)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeAgreement:
    """Agreement of an LLM judge with human labels (human = reference)."""

    p_o: float
    p_e: float
    kappa: float
    sensitivity: float
    specificity: float


def cohen_kappa(tp: int, fn: int, fp: int, tn: int) -> JudgeAgreement:
    """Cohen's kappa, sensitivity and specificity of a judge against human labels (F6).

    Args:
        tp: Human positive, judge positive.
        fn: Human positive, judge negative.
        fp: Human negative, judge positive.
        tn: Human negative, judge negative.

    Returns:
        Observed and chance agreement, kappa, sensitivity and specificity.
    """
    for name, value in (("tp", tp), ("fn", fn), ("fp", fp), ("tn", tn)):
        _check_count(name, value, minimum=0)
    if tp + fn == 0 or fp + tn == 0:
        raise ValueError("need at least one human-positive and one human-negative item")
    total = tp + fn + fp + tn
    p_o = (tp + tn) / total
    human_pos = (tp + fn) / total
    judge_pos = (tp + fp) / total
    p_e = human_pos * judge_pos + (1.0 - human_pos) * (1.0 - judge_pos)
    if p_e >= 1.0:
        raise ValueError("kappa is undefined when chance agreement is 1")
    return JudgeAgreement(
        p_o=p_o,
        p_e=p_e,
        kappa=(p_o - p_e) / (1.0 - p_e),
        sensitivity=tp / (tp + fn),
        specificity=tn / (tn + fp),
    )


def rogan_gladen(judged_rate: float, sensitivity: float, specificity: float) -> float:
    """Rogan-Gladen corrected rate (p_j + spec - 1)/(sens + spec - 1), clamped to [0, 1] (F6)."""
    _check_prob("judged_rate", judged_rate)
    _check_prob("sensitivity", sensitivity)
    _check_prob("specificity", specificity)
    youden = sensitivity + specificity - 1.0
    if youden <= 0.0:
        raise ValueError(
            f"sensitivity + specificity must exceed 1, got {sensitivity + specificity!r}"
        )
    return min(1.0, max(0.0, (judged_rate + specificity - 1.0) / youden))


def calibration_n_min(agreement: float = 0.85, halfwidth: float = 0.05) -> int:
    """Human-labelled items needed to pin the judge agreement to +-halfwidth (F6: 196).

    Uses the Wilson search of ``wilson_n_min``. At the defaults the Wald
    formula z^2 p(1-p)/h^2 = 195.9 also rounds up to 196; the two differ
    elsewhere (e.g. 141 vs 139 at 0.90), and Wilson is the one EVAL-001 uses.
    """
    return wilson_n_min(agreement, halfwidth)


# ---------------------------------------------------------------------------
# Canary sizing and trigger evaluability (F7, F8, F18)
# ---------------------------------------------------------------------------


def n_two_prop(
    p0: float,
    p1: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    k: float = 1.0,
    one_sided: bool = True,
) -> int:
    """Canary (treatment) arm size to detect p0 -> p1 with control = k * n (F7).

    n = [z_a sqrt(pbar qbar (1+1/k)) + z_b sqrt(p1 q1 + p0 q0/k)]^2 / (p1-p0)^2 with
    pbar = (p1 + k p0)/(1 + k) (Fleiss, Levin & Paik, unequal arms).

    Args:
        p0: Control (baseline) rate.
        p1: Rate to detect in the canary.
        alpha: Significance level.
        power: Desired power.
        k: Control size / canary size (1 = equal arms, 19 = rest of a 5% fleet).
        one_sided: Use z_{1-alpha} (True) or z_{1-alpha/2}.

    Returns:
        Canary arm size, rounded up.
    """
    _check_prob("p0", p0)
    _check_prob("p1", p1)
    _check_positive("k", k)
    if p0 == p1:
        raise ValueError("p0 and p1 must differ")
    za = z_alpha(alpha, two_sided=not one_sided)
    zb = z_power(power)
    p_bar = (p1 + k * p0) / (1.0 + k)
    pooled = za * math.sqrt(p_bar * (1.0 - p_bar) * (1.0 + 1.0 / k))
    unpooled = zb * math.sqrt(p1 * (1.0 - p1) + p0 * (1.0 - p0) / k)
    return max(1, _ceil((pooled + unpooled) ** 2 / (p1 - p0) ** 2))


def canary_hours(n: int, req_per_hour: float, fraction: float) -> float:
    """Hours for a canary at the given traffic fraction to collect n requests, n/(T f) (F7)."""
    _check_count("n", n, minimum=0)
    _check_positive("req_per_hour", req_per_hour)
    _check_prob("fraction", fraction, open_low=True)
    return n / (req_per_hour * fraction)


def trigger_samples(
    fraction: float, req_per_hour: float, window_min: float, *, rate: float = 1.0
) -> float:
    """Samples a trigger window sees, f * T * window_h * r (F8: 100 at 1% of 20k over 30 min)."""
    _check_prob("fraction", fraction)
    _check_non_negative("req_per_hour", req_per_hour)
    _check_non_negative("window_min", window_min)
    _check_prob("rate", rate)
    return fraction * req_per_hour * (window_min / 60.0) * rate


def hours_for_samples(
    min_samples: float, fraction: float, req_per_hour: float, *, rate: float = 1.0
) -> float:
    """Hours until a trigger accumulates min_samples, n/(f T r) (F8: 5.00 h)."""
    _check_non_negative("min_samples", min_samples)
    _check_prob("fraction", fraction, open_low=True)
    _check_positive("req_per_hour", req_per_hour)
    _check_prob("rate", rate, open_low=True)
    return min_samples / (fraction * req_per_hour * rate)


def analysis_points(duration_min: float, step_s: float) -> int:
    """Data points per metric in a canary analysis, floor(duration / step) (F8: 30)."""
    _check_non_negative("duration_min", duration_min)
    _check_positive("step_s", step_s)
    return math.floor(duration_min * 60.0 / step_s + 1e-9)


def online_proxy_days(
    p0: float,
    delta: float,
    labels_per_day: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Days of labels to detect p0 -> p0+delta on an online proxy (F18: 3.86 at 300/day)."""
    _check_positive("labels_per_day", labels_per_day)
    return n_two_prop(p0, p0 + delta, alpha=alpha, power=power) / labels_per_day


# ---------------------------------------------------------------------------
# Multiplicity across metrics and stages (F9)
# ---------------------------------------------------------------------------


def fwer(alpha: float, tests: int) -> float:
    """Family-wise false-alarm rate 1 - (1 - alpha)^tests, tests = metrics x stages (F9)."""
    return any_false_flag(alpha, tests)


def sidak_alpha(family_rate: float, tests: int) -> float:
    """Per-test alpha keeping the family-wise rate at family_rate, 1-(1-F)^(1/m) (F9)."""
    _check_open_unit("family_rate", family_rate)
    _check_count("tests", tests)
    return -math.expm1(math.log1p(-family_rate) / tests)


# ---------------------------------------------------------------------------
# Error budgets and burn rates (F10)
# ---------------------------------------------------------------------------


def error_budget(slo: float, days: float, req_per_day: float) -> float:
    """Allowed bad requests over the window, (1 - SLO) * days * req/day (F10: 30,000)."""
    _check_prob("slo", slo)
    _check_non_negative("days", days)
    _check_non_negative("req_per_day", req_per_day)
    return (1.0 - slo) * days * req_per_day


def canary_budget_burn(
    fraction: float, req_per_hour: float, duration_h: float, e_bad: float
) -> float:
    """Bad requests a canary could cost, f * T * hours * e_bad (F10: 2,500)."""
    _check_prob("fraction", fraction)
    _check_non_negative("req_per_hour", req_per_hour)
    _check_non_negative("duration_h", duration_h)
    _check_prob("e_bad", e_bad)
    return fraction * req_per_hour * duration_h * e_bad


def burn_rate(budget_fraction: float, window_h: float, *, period_h: float = 720.0) -> float:
    """Burn rate that spends budget_fraction of the budget in window_h (F10: 14.4 for 2%/1 h)."""
    _check_prob("budget_fraction", budget_fraction, open_low=True)
    _check_positive("window_h", window_h)
    _check_positive("period_h", period_h)
    return budget_fraction * period_h / window_h


# ---------------------------------------------------------------------------
# A/B sizing, peeking and SRM (F11-F13); alpha here is two-sided
# ---------------------------------------------------------------------------


def _ab_n_raw(p1: float, p2: float, za: float, zb: float) -> float:
    p_bar = (p1 + p2) / 2.0
    num = za * math.sqrt(2.0 * p_bar * (1.0 - p_bar)) + zb * math.sqrt(
        p1 * (1.0 - p1) + p2 * (1.0 - p2)
    )
    return num * num / ((p2 - p1) ** 2)


def ab_n_per_arm(p1: float, p2: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Per-arm size of a two-sided two-proportion A/B test (F11: 14,751 for 0.10 -> 0.11)."""
    _check_prob("p1", p1)
    _check_prob("p2", p2)
    if p1 == p2:
        raise ValueError("p1 and p2 must differ")
    za = z_alpha(alpha, two_sided=True)
    return max(1, _ceil(_ab_n_raw(p1, p2, za, z_power(power))))


def ab_n_per_arm_continuous(
    sigma: float, delta: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Per-arm size for a difference in means, 2 (z_{1-a/2} + z_b)^2 sigma^2 / delta^2 (F11)."""
    _check_positive("sigma", sigma)
    _check_positive("delta", delta)
    zs = z_alpha(alpha, two_sided=True) + z_power(power)
    return max(1, _ceil(2.0 * zs * zs * sigma * sigma / (delta * delta)))


def ab_days(n_per_arm: int, daily_eligible: float, share_per_arm: float) -> float:
    """Days for each arm to reach n_per_arm (F11: 5.90)."""
    _check_count("n_per_arm", n_per_arm, minimum=0)
    _check_positive("daily_eligible", daily_eligible)
    _check_prob("share_per_arm", share_per_arm, open_low=True)
    return n_per_arm / (daily_eligible * share_per_arm)


def whole_weeks_days(days: float) -> int:
    """Round a test duration up to whole weeks, at least 7 days (F11: 5.90 -> 7)."""
    _check_non_negative("days", days)
    return 7 * max(1, _ceil(days / 7.0))


def ab_mde_for_n(p0: float, n_per_arm: int, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest upward lift detectable with n_per_arm per arm (F11: 0.00917 at 17,500).

    Solves the ``ab_n_per_arm`` formula (unrounded) for delta by bisection.

    Returns:
        The MDE in absolute terms, or math.inf if even p1 = 1 is not detectable.
    """
    _check_prob("p0", p0, open_high=True)
    _check_count("n_per_arm", n_per_arm)
    return _ab_mde_for_n(p0, n_per_arm, z_alpha(alpha, two_sided=True), z_power(power))


@lru_cache(maxsize=4096)
def _ab_mde_for_n(p0: float, n_per_arm: int, za: float, zb: float) -> float:
    hi = 1.0 - p0
    if _ab_n_raw(p0, 1.0, za, zb) > n_per_arm:
        return math.inf
    lo = 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _ab_n_raw(p0, p0 + mid, za, zb) > n_per_arm:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15:
            break
    return hi


# Overall type-I error of K equally spaced, unadjusted two-sided looks at |z| > 1.96,
# i.e. 1 - P(|Z_1|, ..., |Z_K| <= 1.96) with corr(Z_i, Z_j) = sqrt(i/j). Computed once
# with scipy.stats.multivariate_normal (Genz) and cross-checked by recursive numerical
# integration (Armitage, McPherson & Rowe 1969); they agree with the published tables.
_PEEKING_ALPHA: dict[int, float] = {
    1: 0.05,
    2: 0.0831,
    3: 0.1073,
    4: 0.1262,
    5: 0.1417,
    6: 0.1548,
    7: 0.1662,
    8: 0.1763,
    9: 0.1852,
    10: 0.1934,
}

# Pocock (1977) constant boundary for K equally spaced two-sided looks at overall
# alpha = 0.05. K = 1..9 were recomputed with the same two methods and match Pocock's
# Table 1 and Jennison & Turnbull (2000) Table 2.1; K = 10 is taken from those tables.
_POCOCK_Z: dict[int, float] = {
    1: 1.960,
    2: 2.178,
    3: 2.289,
    4: 2.361,
    5: 2.413,
    6: 2.453,
    7: 2.485,
    8: 2.512,
    9: 2.535,
    10: 2.555,
}


def peeking_alpha(looks: int) -> float:
    """Overall alpha of K unadjusted looks at |z| > 1.96 (F12: 0.142 at K=5; K in 1..10)."""
    if looks not in _PEEKING_ALPHA:
        raise ValueError(f"looks must be an integer in 1..10, got {looks!r}")
    return _PEEKING_ALPHA[looks]


def pocock_z(looks: int) -> float:
    """Pocock boundary for K looks at overall alpha 0.05 (F12: 2.41 at K=5; K in 1..10)."""
    if looks not in _POCOCK_Z:
        raise ValueError(f"looks must be an integer in 1..10, got {looks!r}")
    return _POCOCK_Z[looks]


# Chi-square distribution via the regularized incomplete gamma function.


def _gamma_p_series(a: float, x: float) -> float:
    """Regularized lower incomplete gamma P(a, x) by its power series (x < a + 1)."""
    term = 1.0 / a
    total = term
    ap = a
    for _ in range(10_000):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * 1e-16:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_q_cont_frac(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x) by Lentz's continued fraction (x >= a + 1)."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return h * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _check_df(df: int) -> None:
    _check_count("df", df)


def chi2_sf(x: float, df: int) -> float:
    """Chi-square survival function P(X > x) with df degrees of freedom."""
    _check_df(df)
    _check_non_negative("x", x)
    a, half_x = df / 2.0, x / 2.0
    if half_x == 0.0:
        return 1.0
    if half_x < a + 1.0:
        return max(0.0, 1.0 - _gamma_p_series(a, half_x))
    return min(1.0, _gamma_q_cont_frac(a, half_x))


def chi2_cdf(x: float, df: int) -> float:
    """Chi-square CDF P(X <= x) with df degrees of freedom."""
    _check_df(df)
    _check_non_negative("x", x)
    a, half_x = df / 2.0, x / 2.0
    if half_x == 0.0:
        return 0.0
    if half_x < a + 1.0:
        return min(1.0, _gamma_p_series(a, half_x))
    return max(0.0, 1.0 - _gamma_q_cont_frac(a, half_x))


def chi2_quantile(q: float, df: int) -> float:
    """Chi-square quantile by bisection on the CDF (F14: 16.9 for q=0.95, df=9)."""
    _check_open_unit("q", q)
    _check_df(df)
    return _chi2_quantile(q, int(df))


@cache
def _chi2_quantile(q: float, df: int) -> float:
    lo, hi = 0.0, max(1.0, 2.0 * df)
    while chi2_cdf(hi, df) < q:
        lo, hi = hi, hi * 2.0
    for _ in range(300):
        mid = 0.5 * (lo + hi)
        if chi2_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return 0.5 * (lo + hi)


def srm_chi2(observed: Sequence[int], expected_shares: Sequence[float]) -> tuple[float, float]:
    """Sample-ratio-mismatch chi-square goodness-of-fit test (F13).

    Args:
        observed: Units observed per arm (non-negative counts, total > 0).
        expected_shares: Planned allocation per arm (> 0, summing to 1).

    Returns:
        (chi-square statistic, p-value) with len(observed) - 1 degrees of freedom.
    """
    if len(observed) != len(expected_shares):
        raise ValueError("observed and expected_shares must have the same length")
    _check_shares("expected_shares", expected_shares)
    for count in observed:
        _check_count("observed count", count, minimum=0)
    total = sum(observed)
    if total <= 0:
        raise ValueError("observed counts must not all be zero")
    norm = math.fsum(expected_shares)
    stat = math.fsum(
        (o - total * s / norm) ** 2 / (total * s / norm)
        for o, s in zip(observed, expected_shares, strict=True)
    )
    return stat, chi2_sf(stat, len(observed) - 1)


# ---------------------------------------------------------------------------
# Drift: PSI and its sampling-noise floor (F14)
# ---------------------------------------------------------------------------


def psi(reference: Sequence[float], current: Sequence[float]) -> float:
    """Population stability index, sum (c_i - r_i) ln(c_i / r_i) (F14).

    Args:
        reference: Reference bin shares (> 0, summing to 1).
        current: Current bin shares, same bins.

    Returns:
        The PSI (0 means identical distributions).
    """
    if len(reference) != len(current):
        raise ValueError("reference and current must have the same number of bins")
    _check_shares("reference", reference)
    _check_shares("current", current)
    return math.fsum((c - r) * math.log(c / r) for r, c in zip(reference, current, strict=True))


def psi_noise_floor(bins: int, n_ref: int, n_cur: float, *, q: float = 0.95) -> float:
    """Null q-quantile of PSI, chi2_{q,B-1} * (1/n_ref + 1/n_cur) (F14: 0.0863)."""
    _check_count("bins", bins, minimum=2)
    _check_positive("n_ref", n_ref)
    _check_positive("n_cur", n_cur)
    return chi2_quantile(q, bins - 1) * (1.0 / n_ref + 1.0 / n_cur)


def psi_min_window(
    threshold: float,
    bins: int,
    n_ref: float,
    *,
    safety: float = 1.1,
    q: float = 0.95,
) -> int | None:
    """Smallest current window keeping the PSI noise floor below threshold (F14: 190).

    n_cur >= safety / (threshold / chi2_{q,B-1} - 1/n_ref).

    Returns:
        The window size, or None if unreachable (1/n_ref >= threshold / chi2).
    """
    _check_positive("threshold", threshold)
    _check_count("bins", bins, minimum=2)
    _check_positive("n_ref", n_ref)
    _check_positive("safety", safety)
    room = threshold / chi2_quantile(q, bins - 1) - 1.0 / n_ref
    if room <= 0.0:
        return None
    return max(1, _ceil(safety / room))


# ---------------------------------------------------------------------------
# Cost (F15)
# ---------------------------------------------------------------------------


def call_cost(
    input_tokens: float,
    output_tokens: float,
    price_in_per_mtok: float,
    price_out_per_mtok: float,
    *,
    cached_input_tokens: float = 0,
    cached_price_factor: float = 0.10,
) -> float:
    """USD per LLM call; prefix-cached input is billed at cached_price_factor (F15: $0.00900)."""
    for name, value in (
        ("input_tokens", input_tokens),
        ("output_tokens", output_tokens),
        ("price_in_per_mtok", price_in_per_mtok),
        ("price_out_per_mtok", price_out_per_mtok),
        ("cached_input_tokens", cached_input_tokens),
        ("cached_price_factor", cached_price_factor),
    ):
        _check_non_negative(name, value)
    if cached_input_tokens > input_tokens:
        raise ValueError("cached_input_tokens must not exceed input_tokens")
    p_in = price_in_per_mtok / 1e6
    p_out = price_out_per_mtok / 1e6
    uncached = input_tokens - cached_input_tokens
    return (
        uncached * p_in + cached_input_tokens * p_in * cached_price_factor + output_tokens * p_out
    )


def monthly_cost(
    volume_per_month: float,
    call_cost_usd: float,
    *,
    calls_per_request: float = 1.0,
    retry_rate: float = 0.0,
    cache_hit_rate: float = 0.0,
    tool_calls_per_request: float = 0.0,
    price_per_tool_call: float = 0.0,
    judge_share: float = 0.0,
    judge_cost: float = 0.0,
) -> float:
    """Monthly spend (F15: $9,200).

    C = V (1-h) [c_call * calls * (1+retry) + n_tool * P_tool] + V * s_judge * c_judge,
    where a response-cache hit (rate h) skips the whole pipeline.
    """
    for name, value in (
        ("volume_per_month", volume_per_month),
        ("call_cost_usd", call_cost_usd),
        ("calls_per_request", calls_per_request),
        ("retry_rate", retry_rate),
        ("tool_calls_per_request", tool_calls_per_request),
        ("price_per_tool_call", price_per_tool_call),
        ("judge_cost", judge_cost),
    ):
        _check_non_negative(name, value)
    _check_prob("cache_hit_rate", cache_hit_rate)
    _check_prob("judge_share", judge_share)
    per_request = (
        call_cost_usd * calls_per_request * (1.0 + retry_rate)
        + tool_calls_per_request * price_per_tool_call
    )
    return volume_per_month * ((1.0 - cache_hit_rate) * per_request + judge_share * judge_cost)


def cost_per_success(cost_per_request: float, success_rate: float) -> float:
    """Cost per successful outcome (F15: $0.0108 at $0.0092 and 0.85)."""
    _check_non_negative("cost_per_request", cost_per_request)
    _check_prob("success_rate", success_rate, open_low=True)
    return cost_per_request / success_rate


def incremental_cost_per_success(
    cost_ai: float, succ_ai: float, cost_base: float, succ_base: float
) -> float | None:
    """Extra cost per extra success over the baseline (F15 ICPS: $0.0580).

    Returns:
        (cost_ai - cost_base) / (succ_ai - succ_base), or None if the AI does
        not succeed more often than the baseline.
    """
    _check_non_negative("cost_ai", cost_ai)
    _check_non_negative("cost_base", cost_base)
    _check_prob("succ_ai", succ_ai)
    _check_prob("succ_base", succ_base)
    if succ_ai <= succ_base:
        return None
    return (cost_ai - cost_base) / (succ_ai - succ_base)


def budget_needed(monthly_cost: float, *, headroom: float = 1.2) -> float:
    """Budget with headroom over the estimate (F15: $11,040)."""
    _check_non_negative("monthly_cost", monthly_cost)
    _check_positive("headroom", headroom)
    return monthly_cost * headroom


# ---------------------------------------------------------------------------
# Latency and deadlines (F16)
# ---------------------------------------------------------------------------


def llm_latency_ms(ttft_ms: float, output_tokens: float, tpot_ms: float) -> float:
    """Generation latency TTFT + N_out * TPOT (F16: 4,250 ms)."""
    _check_non_negative("ttft_ms", ttft_ms)
    _check_non_negative("output_tokens", output_tokens)
    _check_non_negative("tpot_ms", tpot_ms)
    return ttft_ms + output_tokens * tpot_ms


def max_output_tokens(slo_ms: float, other_ms: float, ttft_ms: float, tpot_ms: float) -> int:
    """Largest output-token cap meeting the SLO, floor((SLO - other - TTFT)/TPOT) (F16: 130).

    Returns 0 when the non-generation budget alone already exceeds the SLO.
    """
    _check_non_negative("slo_ms", slo_ms)
    _check_non_negative("other_ms", other_ms)
    _check_non_negative("ttft_ms", ttft_ms)
    _check_positive("tpot_ms", tpot_ms)
    return max(0, math.floor((slo_ms - other_ms - ttft_ms) / tpot_ms + 1e-9))


def deadline_worst_case_ms(
    timeout_ms: float, retries: int, backoff_ms: Sequence[float], fallback_p95_ms: float
) -> float:
    """Worst case timeout * (1 + retries) + sum(backoff) + fallback p95 (F16: 4,350 ms)."""
    _check_non_negative("timeout_ms", timeout_ms)
    _check_count("retries", retries, minimum=0)
    for b in backoff_ms:
        _check_non_negative("backoff_ms", b)
    _check_non_negative("fallback_p95_ms", fallback_p95_ms)
    return timeout_ms * (1 + retries) + math.fsum(backoff_ms) + fallback_p95_ms


def max_timeout_ms(
    deadline_ms: float, retries: int, backoff_ms: Sequence[float], fallback_p95_ms: float
) -> float:
    """Largest per-attempt timeout that closes the deadline (F16: 1,325 ms).

    Returns 0.0 when backoff plus fallback alone exceed the deadline.
    """
    _check_non_negative("deadline_ms", deadline_ms)
    _check_count("retries", retries, minimum=0)
    for b in backoff_ms:
        _check_non_negative("backoff_ms", b)
    _check_non_negative("fallback_p95_ms", fallback_p95_ms)
    return max(0.0, (deadline_ms - math.fsum(backoff_ms) - fallback_p95_ms) / (1 + retries))


def serial_latency_ms(components: Sequence[tuple[float, str | None]]) -> float:
    """Conservative end-to-end p95 from component p95s (F16: 4,800 ms).

    Args:
        components: (p95_ms, parallel_group) pairs; group None means sequential,
            and components sharing a group run in parallel and contribute their max.

    Returns:
        Sum of sequential p95s plus each parallel group's max.
    """
    sequential: list[float] = []
    groups: dict[str, float] = {}
    for p95, group in components:
        _check_non_negative("p95_ms", p95)
        if group is None:
            sequential.append(p95)
        else:
            groups[group] = max(groups.get(group, 0.0), p95)
    return math.fsum(sequential) + math.fsum(groups.values())


# ---------------------------------------------------------------------------
# Quota and availability (F17)
# ---------------------------------------------------------------------------


def quota_rpm(peak_qps: float, *, calls_per_request: float = 1.0, retry_rate: float = 0.0) -> float:
    """Provider requests per minute at peak, QPS * 60 * calls * (1 + retry) (F17: 1,800)."""
    _check_non_negative("peak_qps", peak_qps)
    _check_non_negative("calls_per_request", calls_per_request)
    _check_non_negative("retry_rate", retry_rate)
    return peak_qps * 60.0 * calls_per_request * (1.0 + retry_rate)


def quota_tpm(rpm: float, tokens_per_request: float) -> float:
    """Tokens per minute, RPM * (T_in + T_out) (F17: 3.24e6)."""
    _check_non_negative("rpm", rpm)
    _check_non_negative("tokens_per_request", tokens_per_request)
    return rpm * tokens_per_request


def serial_availability(avails: Sequence[float]) -> float:
    """Availability of serial dependencies, the product of theirs (F17: 0.989)."""
    result = 1.0
    for a in avails:
        _check_prob("availability", a)
        result *= a
    return result


def with_fallback(avail: float, fallback_avail: float) -> float:
    """Availability of a leg with a fallback, 1 - (1 - A)(1 - A_fb) (F17: 0.99999)."""
    _check_prob("avail", avail)
    _check_prob("fallback_avail", fallback_avail)
    return 1.0 - (1.0 - avail) * (1.0 - fallback_avail)
