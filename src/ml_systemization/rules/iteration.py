"""Iteration-loop rules ITER-001..006: triggers bound to monitors, A/B size against the cadence,
peeking, SRM and guardrails, gates per change type and a golden set that evolves, with the
numbers of catalog §F11-§F13."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from ml_systemization import stats
from ml_systemization.findings import Missing, Violation, rule
from ml_systemization.model import ABPlan, Design
from ml_systemization.rules.evaluation import gated_metrics, is_proportion, n_for_halfwidth
from ml_systemization.rules.monitoring import (
    count,
    join,
    num,
    pct,
    quoted,
    sci,
    sig3,
    uses_llm,
)
from ml_systemization.settings import RuleSettings

Outcome = Iterator[Violation | Missing]

DAYS_PER_WEEK = 7
SEQUENTIAL_METHODS = frozenset({"group_sequential", "msprt", "bayesian"})
SRM_P = 0.001
"""SRM invalidates an experiment at p < 0.001 (Fabijan et al. 2019)."""
SRM_EXAMPLE = (50_000, 48_800)
"""Catalog §F13: a 2.4% shortfall in one arm of a 50/50 split."""


# --------------------------------------------------------------------------- statistics


def mde_continuous(sigma: float, n: float, alpha: float, power: float) -> float:
    """F11: smallest mean difference detectable with `n` per arm, two-sided (the inverse of
    `stats.ab_n_per_arm_continuous`)."""
    z_sum = stats.z_alpha(alpha, two_sided=True) + stats.z_power(power)
    return z_sum * sigma * math.sqrt(2 / n)


def _normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


_PEEK_HALF_POINTS = 20
"""Simpson panels per half grid: 0.14169 at K=5, as with 60 panels and the catalog's 0.142."""
TABULATED_LOOKS = 10
"""`stats.peeking_alpha` and `stats.pocock_z` are tabulated for K ≤ 10 at alpha 0.05."""


@lru_cache(maxsize=64)
def _peeking_alpha(looks: int, crit: float) -> float:
    """Chance that any of `looks` equally spaced looks has |z| > `crit` under H0.

    The running sum S_k of unit-variance increments stays inside |S_k| < crit·√k; its
    sub-density is propagated look by look (Armitage, McPherson & Rowe 1969) with Simpson's
    rule on each continuation interval.
    """
    m = _PEEK_HALF_POINTS

    def grid(k: int) -> tuple[list[float], list[float]]:
        bound = crit * math.sqrt(k)
        h = bound / m
        xs = [-bound + i * h for i in range(2 * m + 1)]
        ws = [h / 3 * (1 if i in (0, 2 * m) else 4 if i % 2 else 2) for i in range(2 * m + 1)]
        return xs, ws

    xs, ws = grid(1)
    density = [_normal_pdf(x) for x in xs]
    for k in range(2, looks + 1):
        nxt, nws = grid(k)
        weighted = [w * f for w, f in zip(ws, density, strict=True)]
        density = [
            sum(wf * _normal_pdf(s - x) for x, wf in zip(xs, weighted, strict=True)) for s in nxt
        ]
        xs, ws = nxt, nws
    return 1 - sum(w * f for w, f in zip(ws, density, strict=True))


@lru_cache(maxsize=64)
def _pocock_z(looks: int, alpha: float) -> float:
    """Pocock's constant boundary keeping the overall two-sided `alpha` (bisection)."""
    lo = stats.z_alpha(alpha, two_sided=True)
    hi = lo + 1.5
    for _ in range(20):
        mid = (lo + hi) / 2
        if _peeking_alpha(looks, mid) > alpha:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def peeking_numbers(looks: int, alpha: float) -> tuple[float, float, float]:
    """F12: (critical z, overall alpha of `looks` unadjusted looks at it, Pocock's z).

    K=5 at alpha 0.05: (1.96, 0.142, 2.41). From `stats` where it is tabulated (alpha 0.05,
    K ≤ 10); otherwise computed here by the same recursive integration.
    """
    crit = stats.z_alpha(alpha, two_sided=True)
    if looks <= TABULATED_LOOKS and math.isclose(alpha, 0.05):
        return crit, stats.peeking_alpha(looks), stats.pocock_z(looks)
    return crit, _peeking_alpha(looks, crit), _pocock_z(looks, alpha)


def srm_example() -> tuple[float, float]:
    """F13: chi-square and p of the catalog's 50,000 vs 48,800 under a 50/50 split."""
    return stats.srm_chi2(list(SRM_EXAMPLE), [0.5, 0.5])


# --------------------------------------------------------------------------- ITER-001


_NUMBER = re.compile(r"\d")


@rule(
    "ITER-001",
    "error",
    "Update/retrain triggers are quantitative and bound to monitors",
    area="iteration",
    reads=("monitoring",),
    source="Breck Model 4, Monitor 4; Huyen ch.9 (time-, performance-, volume-, drift-based)",
)
def _triggers_bound(d: Design, s: RuleSettings) -> Outcome:
    """Each trigger names a monitoring signal, a condition with a number and an owner."""
    triggers = d.iteration.triggers
    if not triggers:
        yield Missing(["iteration.triggers"])
        return
    signals = {sig.id for sig in d.monitoring.signals}
    for t in triggers:
        path = f"iteration.triggers[{t.id}]"
        problems: list[tuple[str, str]] = []
        if not t.signal_id:
            problems.append(("signal_id", "no signal"))
        elif t.signal_id not in signals:
            problems.append(
                ("signal_id", f"signal {quoted(t.signal_id)}, which monitoring does not produce")
            )
        if not t.condition or not _NUMBER.search(t.condition):
            problems.append(("condition", "no threshold"))
        if not t.owner:
            problems.append(("owner", "no owner"))
        if problems:
            yield Violation(
                [f"{path}.{name}" for name, _ in problems],
                f"Trigger {quoted(t.id)}"
                + (f" ('{t.condition}')" if t.condition else "")
                + f" has {join(text for _, text in problems)}.",
                "Bind it to a monitoring signal id with a quantitative condition, e.g. "
                "'PSI > 0.25 for 3 consecutive windows', and name an owner "
                "(define_iteration_loop).",
            )


# --------------------------------------------------------------------------- ITER-002


def _alpha_power(ab: ABPlan, settings: RuleSettings) -> tuple[float, float]:
    """The plan's alpha and power when valid (strictly between 0 and 1), else the settings'."""
    alpha = ab.alpha if ab.alpha is not None and 0 < ab.alpha < 1 else settings.alpha
    power = ab.power if ab.power is not None and 0 < ab.power < 1 else settings.power
    return alpha, power


def _ab_needs(design: Design) -> list[str]:
    ab = design.iteration.ab
    needs = [
        f"iteration.ab.{name}"
        for name, value in (
            ("p0", ab.p0 if ab.sigma is None else ab.sigma),
            ("mde", ab.mde),
            ("share_per_arm", ab.share_per_arm),
            ("cadence_days", ab.cadence_days),
        )
        if value is None
    ]
    if design.context.traffic.ab_daily_eligible is None:
        needs.append("context.traffic.ab_daily_eligible")
    return needs


def _treated_rate(p0: float, mde: float) -> float | None:
    """The rate the test must tell from p0: p0 + mde, or p0 - mde near the top; None if
    neither is a probability."""
    if p0 + mde < 1:
        return p0 + mde
    return p0 - mde if p0 - mde > 0 else None


def ab_plan_numbers(design: Design, settings: RuleSettings) -> dict[str, Any] | None:
    """F11: A/B size and duration of `iteration.ab`, or None while an input is unset or out
    of range (p0 not in (0, 1), sigma 0, no eligible traffic).

    Proportions use the two-sided two-proportion formula from `p0` to `p0 + mde`
    (`stats.ab_n_per_arm`); with `sigma` set, `stats.ab_n_per_arm_continuous`. Alpha and
    power come from the plan, else from the rule settings.

    Returns:
        A dict with `n_per_arm` (units per arm), `days_needed` (n_per_arm /
        (ab_daily_eligible x share_per_arm)), `duration_days` (rounded up to whole weeks, at
        least 7) and `mde_within_cadence` (absolute MDE reachable in the whole weeks that fit
        the cadence, at least one week; rounded up to 3 significant figures, so it is never
        understated).
    """
    if _ab_needs(design):
        return None
    ab = design.iteration.ab
    eligible = design.context.traffic.ab_daily_eligible
    assert ab.mde is not None and ab.share_per_arm is not None and ab.cadence_days is not None
    assert eligible is not None
    per_day = eligible * ab.share_per_arm
    if per_day <= 0:
        return None
    alpha, power = _alpha_power(ab, settings)
    weeks = max(1, ab.cadence_days // DAYS_PER_WEEK)
    reachable = max(1, math.floor(per_day * DAYS_PER_WEEK * weeks))
    if ab.sigma is not None:
        if ab.sigma <= 0:
            return None
        n = stats.ab_n_per_arm_continuous(ab.sigma, ab.mde, alpha=alpha, power=power)
        mde = mde_continuous(ab.sigma, reachable, alpha, power)
    else:
        assert ab.p0 is not None
        p1 = _treated_rate(ab.p0, ab.mde) if 0 < ab.p0 < 1 else None
        if p1 is None:
            return None
        n = stats.ab_n_per_arm(ab.p0, p1, alpha=alpha, power=power)
        mde = stats.ab_mde_for_n(ab.p0, reachable, alpha=alpha, power=power)
    days = stats.ab_days(n, eligible, ab.share_per_arm)
    return {
        "n_per_arm": n,
        "days_needed": days,
        "duration_days": stats.whole_weeks_days(days),
        "mde_within_cadence": round_up_3sf(mde),
    }


def round_up_3sf(x: float) -> float:
    """`x` rounded up to 3 significant figures: a detectable minimum stays true when rounded
    (0.0091649 → 0.00917)."""
    if x <= 0 or not math.isfinite(x):
        return x
    step = 10.0 ** (math.floor(math.log10(x)) - 2)
    return round(math.ceil(x / step - 1e-9) * step, 12)


def _pp(x: float, *, stated: bool = False) -> str:
    """An absolute difference with its percentage points: 0.00917 (0.917 pp)."""
    if stated:
        return f"{num(x)} ({num(round(100 * x, 9))} pp)"
    return f"{sig3(x)} ({sig3(100 * x)} pp)"


@rule(
    "ITER-002",
    "error",
    "A/B sample size and duration fit the cadence",
    area="iteration",
    reads=("context",),
    source="Kohavi, Tang & Xu 2020 (power, full weeks); Cohen 1988; Deng et al. 2013 (CUPED)",
)
def _ab_fits_cadence(d: Design, s: RuleSettings) -> Outcome:
    """`n_arm = n_ab(p0, p0+MDE, alpha, power)`; `days = n_arm/(daily_eligible x share_per_arm)`
    rounded up to whole weeks must be ≤ `cadence_days` (F11)."""
    needs = _ab_needs(d)
    if needs:
        yield Missing(needs)
        return
    numbers = ab_plan_numbers(d, s)
    ab = d.iteration.ab
    if numbers is None:
        yield Violation(
            ["iteration.ab.p0", "iteration.ab.mde", "iteration.ab.share_per_arm"],
            "The A/B plan cannot be sized: p0 must lie strictly between 0 and 1 (or sigma "
            "be positive), p0 ± mde must be a rate, and share_per_arm x ab_daily_eligible "
            "must be positive.",
            "Fix p0 or sigma, mde and share_per_arm (define_iteration_loop).",
        )
        return
    assert ab.cadence_days is not None and ab.mde is not None
    if numbers["duration_days"] <= ab.cadence_days:
        return
    weeks = max(1, ab.cadence_days // DAYS_PER_WEEK)
    base = (
        f"on a {pct(ab.p0)} baseline"
        if ab.sigma is None and ab.p0 is not None
        else (f"with sigma={num(ab.sigma or 0)}")
    )
    yield Violation(
        ["iteration.ab.cadence_days", "iteration.ab.mde", "context.traffic.ab_daily_eligible"],
        f"An MDE of {_pp(ab.mde, stated=True)} {base} needs {count(numbers['n_per_arm'])} "
        f"per arm, i.e. {sig3(numbers['days_needed'])} days, so run {numbers['duration_days']}; a "
        f"{ab.cadence_days}-day cadence is infeasible.",
        f"Move to a cadence of ≥{numbers['duration_days']} days, accept a larger MDE "
        f"({weeks} week{'s' if weeks > 1 else ''} detect{'' if weeks > 1 else 's'} "
        f"≥{_pp(numbers['mde_within_cadence'])}), use CUPED, or get more traffic "
        "(define_iteration_loop).",
    )


# --------------------------------------------------------------------------- ITER-003


@rule(
    "ITER-003",
    "warning",
    "Peeking needs a sequential method",
    area="iteration",
    source="Armitage, McPherson & Rowe 1969; Pocock 1977; O'Brien & Fleming 1979; "
    "Johari et al. 2017",
)
def _sequential_looks(d: Design, s: RuleSettings) -> Outcome:
    """With `ab.looks > 1`, the method is group-sequential, mSPRT or Bayesian with a
    pre-registered stopping rule (F12)."""
    ab = d.iteration.ab
    if ab.looks is None or ab.looks <= 1 or ab.method in SEQUENTIAL_METHODS:
        return
    alpha, _ = _alpha_power(ab, s)
    crit, overall, pocock = peeking_numbers(ab.looks, alpha)
    yield Violation(
        ["iteration.ab.method", "iteration.ab.looks"],
        f"{ab.looks} unadjusted looks at z={crit:.2f} give an overall α of {sig3(overall)}, not "  # noqa: RUF001
        f"{num(alpha)}.",
        f"Use Pocock (z={pocock:.2f} at every look for K={ab.looks}), O'Brien-Fleming, or "
        "always-valid p-values (mSPRT), and set ab.method (define_iteration_loop).",
    )


# --------------------------------------------------------------------------- ITER-004


_GUARDRAIL_KINDS: tuple[tuple[str, str], ...] = (
    ("latency p95", r"latenc|p95|p99"),
    ("error rate", r"error|fallback|fail|timeout"),
    ("cost per request", r"cost|spend|token"),
    ("safety rate", r"safe|pii|inject|harm|polic|abuse|toxic|dispar|leak"),
)
_GUARDRAIL_PATTERNS = tuple((name, re.compile(pattern)) for name, pattern in _GUARDRAIL_KINDS)


@rule(
    "ITER-004",
    "warning",
    "SRM guard, primary metric and guardrails",
    area="iteration",
    source="Fabijan et al. KDD 2019 (SRM); Kohavi et al. 2020 (OEC, guardrail metrics)",
)
def _srm_and_guardrails(d: Design, s: RuleSettings) -> Outcome:
    """The plan runs an SRM χ² test (invalidate at p < 0.001, F13), has one primary metric and
    guardrails for latency p95, error rate, cost per request and safety, each with a
    non-inferiority margin (a number)."""
    ab = d.iteration.ab
    if ab == ABPlan():
        yield Missing(["iteration.ab"])
        return
    if not ab.srm_check:
        chi2, p = srm_example()
        a, b = SRM_EXAMPLE
        yield Violation(
            ["iteration.ab.srm_check"],
            f"No SRM check; {count(a)} vs {count(b)} under a 50/50 split (χ²={sig3(chi2)}, "
            f"p={sci(p)}) would go unnoticed.",
            f"Run a χ² sample-ratio test on every analysis and invalidate at p<{SRM_P:g} "
            "(define_iteration_loop).",
        )
    if not ab.primary_metric:
        yield Violation(
            ["iteration.ab.primary_metric"],
            "No primary metric (OEC); the experiment has no pre-registered success criterion.",
            "Name one primary metric, the online proxy of the primary eval metric "
            "(define_iteration_loop).",
        )
    text = " ".join(ab.guardrails).lower()
    absent = [name for name, pattern in _GUARDRAIL_PATTERNS if not pattern.search(text)]
    if absent:
        yield Violation(
            ["iteration.ab.guardrails"],
            f"A/B guardrails lack {join(absent)}; a win on the primary metric could ship a "
            "slower, costlier or less safe system.",
            "Add a guardrail for each with a non-inferiority margin, e.g. 'latency p95 no "
            "worse than +10%' (define_iteration_loop).",
        )
    marginless = [g for g in ab.guardrails if not _NUMBER.search(g)]
    if marginless:
        yield Violation(
            ["iteration.ab.guardrails"],
            f"Guardrail{'s' if len(marginless) > 1 else ''} "
            f"{join(quoted(g) for g in marginless)} "
            f"state{'' if len(marginless) > 1 else 's'} no non-inferiority margin, so nothing "
            "says how much worse is too much.",
            "State each margin, e.g. 'error rate no worse than +0.5 pp' (define_iteration_loop).",
        )


# --------------------------------------------------------------------------- ITER-005


def _change_types(d: Design) -> list[str]:
    """Artifacts that can change in this design, in catalog order."""
    v, a = d.architecture.versions, d.architecture
    judged = any(m.scorer == "llm_judge" for m in d.evaluation.metrics)
    present = {
        "model": True,
        "prompt": bool(v.prompt) or uses_llm(d),
        "index": bool(v.index) or bool(a.uses_retrieval),
        "tools": bool(v.tools) or bool(a.uses_tools),
        "guardrail": bool(v.guardrail),
        "judge": bool(v.judge) or judged,
    }
    return [k for k, on in present.items() if on]


@rule(
    "ITER-005",
    "warning",
    "Every change type passes the same gates",
    area="iteration",
    reads=("architecture", "evaluation"),
    source="Breck Infra 3/4/6; Sculley et al. 2015",
)
def _change_gates(d: Design, s: RuleSettings) -> Outcome:
    """`changes[]` covers each artifact the design has (model; prompt for LLMs; index, tools,
    guardrail and judge when versioned or used); each change passes the golden regression and
    a shadow or canary stage."""
    changes = d.iteration.changes
    if not changes:
        yield Missing(["iteration.changes"])
        return
    ids = [c.id.lower() for c in changes]
    uncovered = [k for k in _change_types(d) if not any(i.startswith(k) for i in ids)]
    if uncovered:
        yield Violation(
            ["iteration.changes"],
            f"No change path for {join(uncovered)}; those edits would deploy without the "
            "golden regression and canary.",
            "Add each change type with gates golden_regression plus shadow and/or canary "
            "(define_iteration_loop).",
        )
    for c in changes:
        lacks = []
        if "golden_regression" not in c.gates:
            lacks.append("the golden regression (EVAL-005)")
        if not {"shadow", "canary"} & set(c.gates):
            lacks.append("a shadow or canary stage")
        if lacks:
            yield Violation(
                [f"iteration.changes[{c.id}].gates"],
                f"Changes of {quoted(c.id)} skip {join(lacks)}; they deploy directly.",
                "Route them through golden_regression and canary like a model change "
                "(define_iteration_loop).",
            )


# --------------------------------------------------------------------------- ITER-006


def holdout_n_min(design: Design, settings: RuleSettings) -> int | None:
    """EVAL-001's n_min: the largest smallest-n with a Wilson half-width ≤ `golden_tolerance`
    at the thresholds of the gated proportion metrics; None without one."""
    crit = stats.z_alpha(settings.alpha, two_sided=True)
    sizes = [
        n_for_halfwidth(m.threshold, settings.golden_tolerance, crit)
        for m in gated_metrics(design)
        if is_proportion(m) and m.threshold is not None and 0 <= m.threshold <= 1
    ]
    return max(sizes) if sizes else None


@rule(
    "ITER-006",
    "warning",
    "The golden set evolves while the holdout stays clean",
    area="iteration",
    reads=("evaluation",),
    source="Huyen ch.6/9; Breck Model 6; Kapoor & Narayanan 2023",
)
def _golden_evolves(d: Design, s: RuleSettings) -> Outcome:
    """A refresh cadence within `golden_max_age_days`, incidents added as regression cases, a
    frozen holdout of ≥ EVAL-001's n_min and a versioned (hashed) golden set."""
    it, gs = d.iteration, d.evaluation.golden_set
    if it.golden_refresh_days is None and it.incidents_to_golden is None:
        yield Missing(["iteration.golden_refresh_days", "iteration.incidents_to_golden"])
        return
    if it.golden_refresh_days is None or it.golden_refresh_days > s.golden_max_age_days:
        yield Violation(
            ["iteration.golden_refresh_days"],
            "No golden-set refresh cadence; the set drifts away from production."
            if it.golden_refresh_days is None
            else f"The golden set is refreshed every {it.golden_refresh_days} days, longer "
            f"than the {s.golden_max_age_days}-day maximum age.",
            "Refresh with sampled production failures at least every "
            f"{s.golden_max_age_days} days, e.g. monthly (define_iteration_loop).",
        )
    if not it.incidents_to_golden:
        yield Violation(
            ["iteration.incidents_to_golden"],
            "Incidents are not added to the golden set, so a fixed failure can come back "
            "unnoticed.",
            "Add every incident as a regression case (define_iteration_loop).",
        )
    if not gs.hash:
        yield Violation(
            ["evaluation.golden_set.hash"],
            "The golden set has no content hash, so its versions cannot be diffed.",
            "Version the golden set by hash (build_evaluation).",
        )
    n_min = holdout_n_min(d, s)
    if gs.size is None or gs.holdout_fraction is None or n_min is None:
        yield Missing(
            [
                p
                for p, v in (
                    ("evaluation.golden_set.size", gs.size),
                    ("evaluation.golden_set.holdout_fraction", gs.holdout_fraction),
                    ("evaluation.metrics", n_min),
                )
                if v is None
            ]
        )
        return
    holdout = gs.size * gs.holdout_fraction
    if holdout < n_min and gs.size > 0:
        yield Violation(
            ["evaluation.golden_set.holdout_fraction", "evaluation.golden_set.size"],
            f"The frozen holdout has {count(holdout)} items ({pct(gs.holdout_fraction)} of "
            f"{count(gs.size)}); EVAL-001 needs n ≥ {count(n_min)} for ±"
            f"{num(s.golden_tolerance)}, so the release gate runs on a noisier set.",
            f"Hold out ≥{count(n_min)} items ({pct(n_min / gs.size)} of the set) or grow the "
            "golden set (build_evaluation).",
        )
