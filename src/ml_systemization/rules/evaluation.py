"""Evaluation rules EVAL-001..012: golden-set precision, distinguishability from the baseline,
slices, multiplicity, regression MDE, zero-failure claims, judge calibration and bias, sources,
leakage, taxonomy and non-determinism, with the numbers of catalog §F1-F6."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from ml_systemization import stats
from ml_systemization.findings import Missing, Violation, per_design, rule
from ml_systemization.model import Design, Evaluation, FailureCategory, Metric, Slice
from ml_systemization.rules.architecture import is_pinned
from ml_systemization.settings import RuleSettings

Outcome = Iterator[Violation | Missing]

MIN_HOLDOUT_FRACTION = 0.2
"""EVAL-010: a frozen holdout of at least 20% (catalog)."""

MIN_RUNS_NONDETERMINISTIC = 3
"""EVAL-012: runs per item when sampling is non-deterministic (catalog)."""

_EMPTY_EVALUATION = Evaluation()


# --------------------------------------------------------------------------- formatting


def _count(x: float) -> str:
    return f"{round(x):,}"


def _sig(x: float, digits: int = 3) -> str:
    """`digits` significant figures keeping trailing zeros (0.060); whole numbers when large."""
    if x == 0:
        return "0"
    if abs(x) >= 10**digits:
        return _count(x)
    text = f"{x:#.{digits}g}"
    return f"{x:.{digits}g}" if "e" in text else text.rstrip(".")


def _rate(x: float) -> str:
    """A bound or corrected rate: three decimals (0.794), or 3 s.f. below 0.1 (0.00470)."""
    return f"{x:.3f}" if abs(x) >= 0.1 else _sig(x)


def _pp(x: float) -> str:
    return f"{_sig(x * 100, 2)} pp"


def _pct(x: float) -> str:
    return f"{_sig(x * 100, 2)}%"


def _tol(x: float) -> str:
    """A tolerance as the catalog writes it: 0.05, 0.10."""
    return f"{x:.2f}" if round(x, 2) == x else f"{x:g}"


def _conf(alpha: float) -> str:
    return f"{(1 - alpha) * 100:g}%"


def _prob(x: float) -> str:
    """Sensitivity/specificity as the catalog writes them: .95, .60."""
    return f"{x:.2f}".removeprefix("0")


# --------------------------------------------------------------------------- formulas (§F1-F6)


def n_for_halfwidth(p: float, half: float, z: float) -> int:
    """F1: smallest n whose Wilson half-width at `p` is ≤ `half` (141 at 0.90, ±0.05); kept for
    the modules that import it (ITER-006), delegating to stats.wilson_n_min."""
    return stats.wilson_n_min(p, half, z=z)


def golden_mde(p: float, n: int, s: RuleSettings, *, paired: bool) -> float:
    """F4: smallest drop the golden set detects at `p` on `n` items (paired: discordance d)."""
    if paired:
        return stats.mde_paired(n, discordance=s.discordance, alpha=s.alpha, power=s.power)
    return stats.mde_unpaired(p, n, alpha=s.alpha, power=s.power)


def golden_n_for_mde(p: float, delta: float, s: RuleSettings, *, paired: bool) -> int:
    """F4: items needed to detect `delta` (1,546 paired with d=0.10; 3,942 unpaired at 0.85)."""
    if paired:
        return stats.n_for_mde_paired(
            delta, discordance=s.discordance, alpha=s.alpha, power=s.power
        )
    return stats.n_for_mde_unpaired(p, delta, alpha=s.alpha, power=s.power)


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p), summed in log space."""
    if p <= 0 or k >= n:
        return 1.0
    if p >= 1:
        return 0.0
    step = math.log(p) - math.log1p(-p)
    log_pmf = n * math.log1p(-p)
    terms = [log_pmf]
    for i in range(k):
        log_pmf += math.log(n - i) - math.log(i + 1) + step
        terms.append(log_pmf)
    top = max(terms)
    return min(1.0, math.exp(top) * math.fsum(math.exp(t - top) for t in terms))


def _failure_bound(k: int, n: int, alpha: float) -> float:
    """F5: one-sided Clopper-Pearson upper bound, 1.0 when nothing (or only failures) is seen."""
    return stats.clopper_pearson_upper(k, n, alpha=alpha) if n > k else 1.0


def n_for_failure_bound(k: int, rate: float, alpha: float) -> int | None:
    """F5: smallest n at which `k` failures still bound the rate at ≤ `rate` (one-sided 1-alpha
    Clopper-Pearson; 2,995 for k=0 at 0.001). stats.py has the bound, not its inverse for k > 0:
    the bound is ≤ rate exactly when P(X ≤ k | n, rate) ≤ alpha, which falls with n."""
    if not 0 < rate < 1:
        return None
    if k == 0:
        return stats.zero_failure_n(rate, alpha=alpha)
    hi = max(k + 1, stats.zero_failure_n(rate, alpha=alpha))
    while _binom_cdf(k, hi, rate) > alpha:
        hi *= 2
    lo = k
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _binom_cdf(k, mid, rate) <= alpha:
            hi = mid
        else:
            lo = mid
    return hi


# --------------------------------------------------------------------------- design helpers


def is_gated(metric: Metric) -> bool:
    """A pass/fail gate: `gated`, which defaults to having a threshold."""
    return metric.gated if metric.gated is not None else metric.threshold is not None


def is_proportion(metric: Metric) -> bool:
    if metric.kind is not None:
        return metric.kind == "proportion"
    return metric.threshold is not None and 0 <= metric.threshold <= 1


def gated_metrics(d: Design) -> list[Metric]:
    return [m for m in d.evaluation.metrics if is_gated(m)]


def metric_n(d: Design, metric: Metric) -> int | None:
    """Golden items scored on `metric`: its own `n`, else the golden-set size."""
    return metric.n if metric.n is not None else d.evaluation.golden_set.size


@per_design
def primary_metric(d: Design) -> Metric | None:
    """The metric marked primary; else the only gated metric."""
    marked = [m for m in d.evaluation.metrics if m.primary]
    if marked:
        return marked[0]
    gated = gated_metrics(d)
    return gated[0] if len(gated) == 1 else None


def slice_metric(d: Design, s: Slice) -> Metric | None:
    """The metric a slice is scored on: its `metric_id`, else the primary metric."""
    if s.metric_id is not None:
        return _metrics_by_id(d).get(s.metric_id)
    return primary_metric(d)


@per_design
def _metrics_by_id(d: Design) -> dict[str, Metric]:
    """Metrics by id, the first of a repeated id winning (as a scan would); read-only."""
    by_id: dict[str, Metric] = {}
    for m in d.evaluation.metrics:
        by_id.setdefault(m.id, m)
    return by_id


def slice_gates(d: Design) -> list[tuple[Slice, Metric]]:
    """Slices with their own threshold, with the metric they gate."""
    gates = []
    for s in d.evaluation.golden_set.slices:
        metric = slice_metric(d, s)
        if s.threshold is not None and metric is not None:
            gates.append((s, metric))
    return gates


def lower_is_better(metric: Metric) -> bool:
    return metric.direction == "lower_is_better"


def _metric_path(m: Metric, field: str) -> str:
    return f"evaluation.metrics[{m.id}].{field}"


def _slice_path(s: Slice, field: str) -> str:
    return f"evaluation.golden_set.slices[{s.id}].{field}"


def _category_path(c: FailureCategory, field: str) -> str:
    return f"evaluation.failure_taxonomy[{c.id}].{field}"


def _unit(x: float | None) -> bool:
    """A rate the Wilson and MDE formulas accept: a number in [0, 1]."""
    return x is not None and 0 <= x <= 1


def _dedupe(paths: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(paths))


@per_design
def _is_empty(d: Design) -> bool:
    return d.evaluation == _EMPTY_EVALUATION


def evaluation_numbers(design: Design, settings: RuleSettings) -> dict[str, Any]:
    """The computed numbers behind EVAL-001/002/005 per gated proportion metric, for artifacts.

    Returns:
        `{metric_id: {n, halfwidth, n_min, baseline, bound, n_distinguishable, mde, n_mde}}`;
        a value is None while its inputs are unset.
    """
    z = stats.z_alpha(settings.alpha, two_sided=True)
    tol = settings.golden_tolerance
    paired = design.evaluation.comparison == "paired"
    numbers: dict[str, Any] = {}
    for m in gated_metrics(design):
        n, t = metric_n(design, m), m.threshold
        if not is_proportion(m) or t is None or not _unit(t) or not n:
            continue
        b = design.baseline.scores.get(m.id)
        low, high = stats.wilson_interval(t, n, z=z)
        delta = m.regression_tolerance
        numbers[m.id] = {
            "n": n,
            "halfwidth": stats.wilson_halfwidth(t, n, z=z),
            "n_min": stats.wilson_n_min(t, tol, z=z),
            "baseline": b,
            "bound": high if lower_is_better(m) else low,
            "n_distinguishable": None
            if b is None or not _unit(b)
            else stats.distinguishable_n_min(t, b, higher_is_better=not lower_is_better(m), z=z),
            "mde": golden_mde(t, n, settings, paired=paired),
            "n_mde": golden_n_for_mde(t, delta, settings, paired=paired) if delta else None,
        }
    return numbers


# --------------------------------------------------------------------------- EVAL-001


@rule(
    "EVAL-001",
    "error",
    "Golden-set precision at the acceptance threshold",
    area="evaluation",
    source="Wilson 1927; Brown, Cai & DasGupta 2001; Breck Infra 4",
)
def _golden_precision(d: Design, s: RuleSettings) -> Outcome:
    """F1: the Wilson half-width at each gated proportion threshold is within the tolerance.

    A gated continuous metric needs a bootstrap CI (the catalog's "warn" is reported at this
    rule's severity).
    """
    if _is_empty(d) or not d.evaluation.metrics:
        yield Missing(["evaluation.golden_set.size", "evaluation.metrics"])
        return
    z = stats.z_alpha(s.alpha, two_sided=True)
    tol = s.golden_tolerance
    needs: list[str] = []
    for m in gated_metrics(d):
        if not is_proportion(m):
            if m.threshold is not None and not m.bootstrap_ci:
                yield Violation(
                    [_metric_path(m, "bootstrap_ci")],
                    f"{m.id} is a gated continuous metric with no bootstrap CI, so its "
                    "precision at the threshold is unknown.",
                    f"Report a bootstrap 95% CI for {m.id}, or make it report-only "
                    "(build_evaluation).",
                )
            continue
        n, t = metric_n(d, m), m.threshold
        if t is None:
            needs.append(_metric_path(m, "threshold"))
            continue
        if not n:
            needs.append("evaluation.golden_set.size")
            continue
        if not _unit(t):
            yield Violation(
                [_metric_path(m, "threshold")],
                f"{m.id} is a proportion, but its threshold {t:g} is outside [0, 1].",
                "Give the threshold as a rate between 0 and 1 (build_evaluation).",
            )
            continue
        half = stats.wilson_halfwidth(t, n, z=z)
        if half <= tol:
            continue
        n_min = stats.wilson_n_min(t, tol, z=z)
        yield Violation(
            [_metric_path(m, "threshold"), "evaluation.golden_set.size"],
            f"{m.id}: n={_count(n)} at threshold {t:g} gives ±{_sig(half, 2)} "
            f"({_conf(s.alpha)} Wilson); n ≥ {_count(n_min)} is needed for ±{_tol(tol)}.",
            f"Grow the golden set to {_count(n_min)} items scored on {m.id}, or accept a "
            "wider tolerance explicitly (configure_review, golden_tolerance).",
        )
    if needs:
        yield Missing(_dedupe(needs))


# --------------------------------------------------------------------------- EVAL-002


def _distinguishable(
    label: str, t: float, b: float, n: int | None, metric: Metric, s: RuleSettings
) -> tuple[str, str] | None:
    """The EVAL-002 message and fix for one gate, or None when the gate excludes the baseline."""
    lower = lower_is_better(metric)
    side = "lower" if lower else "higher"
    if (t >= b) if lower else (t <= b):
        return (
            f"{label}: the threshold {t:g} does not beat the baseline's {b:g} ({side} is "
            "better); passing this gate proves no improvement.",
            f"Set a threshold {side} than the baseline's {b:g}, or drop the gate if the metric "
            "is only a guardrail (build_evaluation).",
        )
    if not is_proportion(metric) or not n or not (_unit(t) and _unit(b)):
        return None
    z = stats.z_alpha(s.alpha, two_sided=True)
    low, high = stats.wilson_interval(t, n, z=z)
    if (high < b) if lower else (low > b):
        return None
    n_min = stats.distinguishable_n_min(t, b, higher_is_better=not lower, z=z)
    bound = f"upper bound of {_rate(high)}" if lower else f"lower bound of {_rate(low)}"
    return (
        f"{label}: scoring exactly {t:g} on n={_count(n)} gives a {_conf(s.alpha)} CI {bound}, "
        f"which does not exclude the baseline {b:g}. Passing this gate proves no improvement; "
        f"n ≥ {_count(n_min or 0)} is needed.",
        f"Enlarge n to {_count(n_min or 0)}, move the threshold further from the baseline, or "
        "compare paired against the baseline on the same items (build_evaluation).",
    )


@rule(
    "EVAL-002",
    "error",
    "The threshold is distinguishable from the baseline",
    area="evaluation",
    reads=("baseline",),
    source="Wilson 1927; Breck Model 5; Dror et al. ACL 2018",
)
def _threshold_distinguishable(d: Design, s: RuleSettings) -> Outcome:
    """F2: each gate (metric or slice) excludes the baseline's score at its n."""
    if _is_empty(d) or not d.evaluation.metrics:
        yield Missing(["evaluation.metrics", "baseline.scores"])
        return
    needs: list[str] = []
    for m in gated_metrics(d):
        b, n = d.baseline.scores.get(m.id), metric_n(d, m)
        missing = [
            path
            for path, absent in (
                (_metric_path(m, "threshold"), m.threshold is None),
                (f"baseline.scores[{m.id}]", b is None),
                ("evaluation.golden_set.size", n is None and is_proportion(m)),
            )
            if absent
        ]
        if missing or m.threshold is None or b is None:
            needs += missing
            continue
        outcome = _distinguishable(m.id, m.threshold, b, n, m, s)
        if outcome:
            yield Violation([_metric_path(m, "threshold"), f"baseline.scores[{m.id}]"], *outcome)
    for sl, m in slice_gates(d):
        b = d.baseline.scores_by_slice.get(sl.id, {}).get(m.id)
        if b is None or (sl.n is None and is_proportion(m)):
            needs.append(
                f"baseline.scores_by_slice[{sl.id}][{m.id}]" if b is None else _slice_path(sl, "n")
            )
            continue
        assert sl.threshold is not None
        outcome = _distinguishable(f"slice {sl.id} ({m.id})", sl.threshold, b, sl.n, m, s)
        if outcome:
            yield Violation(
                [_slice_path(sl, "threshold"), f"baseline.scores_by_slice[{sl.id}][{m.id}]"],
                *outcome,
            )
    if needs:
        yield Missing(_dedupe(needs))


# --------------------------------------------------------------------------- EVAL-003

_SEGMENTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # segment: (input-field id tokens that name it, slice tokens that cover it)
    "language": (
        frozenset({"locale", "language", "lang"}),
        frozenset(
            {"lang", "language", "languages", "locale", "english", "german", "french"}
            | {"spanish", "portuguese", "italian", "japanese", "dutch", "chinese", "korean"}
        ),
    ),
    "tier": (
        frozenset({"tier", "plan"}),
        frozenset({"tier", "tiers", "plan", "plans", "enterprise", "premium"}),
    ),
    "intent": (
        frozenset({"intent", "topic"}),
        frozenset({"intent", "intents", "topic", "topics"}),
    ),
}
_WORD = re.compile(r"[a-z]+")


def _tokens(*texts: str | None) -> set[str]:
    return {w for text in texts if text for w in _WORD.findall(text.lower())}


def _slice_target(d: Design, sl: Slice, category: FailureCategory | None) -> float | None:
    if sl.threshold is not None:
        return sl.threshold
    metric = slice_metric(d, sl)
    if metric is not None and metric.threshold is not None and is_proportion(metric):
        return metric.threshold
    return category.target_rate if category is not None else None


@rule(
    "EVAL-003",
    "warning",
    "Per-slice minimum counts",
    area="evaluation",
    reads=("io_contract",),
    source="Breck Model 6; Mitchell et al. 2019; Huyen ch.6",
)
def _slice_counts(d: Design, s: RuleSettings) -> Outcome:
    """F3: gated and taxonomy slices reach n_min(t, ±slice tolerance); gates need n ≥ 30; key
    I/O segments (language, tier, intent) have slices. Categories without any slice are
    EVAL-011's (an error)."""
    if _is_empty(d):
        yield Missing(["evaluation.golden_set.slices"])
        return
    z = stats.z_alpha(s.alpha, two_sided=True)
    tol = s.slice_tolerance
    golden = d.evaluation.golden_set
    tied = {sid: c for c in d.evaluation.failure_taxonomy for sid in c.slice_ids}
    needs: list[str] = []
    for sl in golden.slices:
        category = tied.get(sl.id)
        gated = sl.threshold is not None
        if not gated and category is None:
            continue
        t = _slice_target(d, sl, category)
        if sl.n is None:
            needs.append(_slice_path(sl, "n"))
            continue
        if t is None or not 0 <= t <= 1:
            continue
        role = f"a {t:g} gate on it" if gated else f"category {category.id if category else ''}"
        if gated and sl.n < s.min_gated_slice_n:
            carries = f" carries ±{_sig(stats.wilson_halfwidth(t, sl.n, z=z), 2)}" if sl.n else ""
            yield Violation(
                [_slice_path(sl, "n"), _slice_path(sl, "threshold")],
                f"Slice '{sl.id}' has {_count(sl.n)} items; {role}{carries}. Slices under "
                f"{s.min_gated_slice_n} items may be reported but never gated.",
                f"Collect or synthesize targeted items for '{sl.id}', merge it with a "
                "neighbour, or drop its threshold to make it report-only (build_evaluation).",
            )
            continue
        half = stats.wilson_halfwidth(t, sl.n, z=z) if sl.n else 1.0
        if half <= tol:  # the half-width falls with n, so this is n >= n_min
            continue
        n_min = stats.wilson_n_min(t, tol, z=z)
        what = role if gated else f"at {t:g} for {role}"
        yield Violation(
            [_slice_path(sl, "n")],
            f"Slice '{sl.id}' has {_count(sl.n)} items; {what} carries ±{_sig(half, 2)}; "
            f"n ≥ {_count(n_min)} is needed for ±{_tol(tol)}.",
            f"Grow '{sl.id}' to {_count(n_min)} items, merge thin slices, or mark it "
            "report-only (build_evaluation).",
        )
    slice_words: set[str] | None = None
    for field in d.io_contract.input_fields:
        words = _tokens(field.id.replace("_", " "))
        for segment, (field_terms, slice_terms) in _SEGMENTS.items():
            if not words & field_terms:
                continue
            if slice_words is None:  # ids first; descriptions only when no id names it
                slice_words = _tokens(*(sl.id.replace("_", " ") for sl in golden.slices))
            if not slice_words & slice_terms:
                slice_words |= _tokens(*(sl.description for sl in golden.slices))
            if not slice_words & slice_terms:
                yield Violation(
                    [f"io_contract.input_fields[{field.id}]", "evaluation.golden_set.slices"],
                    f"Input field '{field.id}' is a key {segment} segment, but no golden-set "
                    f"slice is defined per {segment}.",
                    f"Add a slice per {segment} value that matters (build_evaluation).",
                )
    if needs:
        yield Missing(_dedupe(needs))


# --------------------------------------------------------------------------- EVAL-004


@rule(
    "EVAL-004",
    "warning",
    "Multiplicity across gates",
    area="evaluation",
    source="Bonferroni; Holm 1979; Dror et al. TACL 2017",
)
def _multiplicity(d: Design, s: RuleSettings) -> Outcome:
    """F3: m > 1 gates without a declared correction; recheck precision at z = Φ⁻¹(1 - alpha/2m)."""
    if _is_empty(d) or not d.evaluation.metrics:
        yield Missing(["evaluation.metrics"])
        return
    metric_gates = [m for m in gated_metrics(d) if m.threshold is not None]
    gates = len(metric_gates) + len(slice_gates(d))
    if gates <= 1 or d.evaluation.multiplicity in ("bonferroni", "holm"):
        return
    family = stats.any_false_flag(s.alpha, gates)
    z = stats.bonferroni_z(s.alpha, gates)
    short: list[str] = []
    checks: list[tuple[str, float, int | None, float]] = []
    for m in metric_gates:
        if is_proportion(m) and m.threshold is not None and _unit(m.threshold):
            checks.append((m.id, m.threshold, metric_n(d, m), s.golden_tolerance))
    for sl, m in slice_gates(d):
        if is_proportion(m) and sl.threshold is not None and _unit(sl.threshold):
            checks.append((f"slice {sl.id}", sl.threshold, sl.n, s.slice_tolerance))
    for label, t, n, tol in checks:
        if n and stats.wilson_halfwidth(t, n, z=z) > tol:
            n_min = stats.wilson_n_min(t, tol, z=z)
            short.append(f"{label} at {t:g} needs n ≥ {_count(n_min)} for ±{_tol(tol)} (has {n:,})")
    detail = f" With Bonferroni (z={_sig(z)}): " + "; ".join(short) + "." if short else ""
    yield Violation(
        ["evaluation.multiplicity"],
        f"{gates} gates at α={s.alpha:g} each give up to a {family:.0%} chance that at least "  # noqa: RUF001
        f"one flips on noise alone.{detail}",
        "Declare Holm or Bonferroni (evaluation.multiplicity), or keep 1-3 primary gates and "
        "make the rest report-only (build_evaluation).",
    )


# --------------------------------------------------------------------------- EVAL-005


@rule(
    "EVAL-005",
    "warning",
    "The regression tolerance is detectable",
    area="evaluation",
    source="Cohen 1988; McNemar 1947",
)
def _regression_detectable(d: Design, s: RuleSettings) -> Outcome:
    """F4: each gated proportion metric's regression tolerance δ ≥ the golden set's MDE."""
    if _is_empty(d) or not d.evaluation.metrics:
        yield Missing(["evaluation.metrics"])
        return
    paired = d.evaluation.comparison == "paired"
    needs: list[str] = []
    for m in gated_metrics(d):
        if not is_proportion(m):
            continue
        n, t, delta = metric_n(d, m), m.threshold, m.regression_tolerance
        missing = [
            path
            for path, value in (
                (_metric_path(m, "threshold"), t),
                ("evaluation.golden_set.size", n),
                (_metric_path(m, "regression_tolerance"), delta),
            )
            if not value and value != 0
        ]
        if missing or t is None or not n or delta is None:
            needs += missing
            continue
        if not _unit(t):
            continue  # EVAL-001 reports a proportion threshold outside [0, 1]
        unpaired_mde = golden_mde(t, n, s, paired=False)
        paired_mde = golden_mde(t, n, s, paired=True)
        if delta >= (paired_mde if paired else unpaired_mde):
            continue
        if delta > 0:
            n_paired = golden_n_for_mde(t, delta, s, paired=True)
            n_unpaired = golden_n_for_mde(t, delta, s, paired=False)
            grow = (
                f"grow n to ≥ {_count(n_paired)} (paired, d={s.discordance:g}) or "
                f"{_count(n_unpaired)} (unpaired)"
            )
        else:
            grow = "a tolerance of 0 cannot be detected at any n"
        yield Violation(
            [_metric_path(m, "regression_tolerance"), "evaluation.comparison"],
            f"{m.id}: tolerance is {delta * 100:g} pp, but n={_count(n)} only detects "
            f"{_pp(unpaired_mde)} unpaired or {_pp(paired_mde)} paired.",
            ("" if paired else "Compare paired on the same items (McNemar); ")
            + f"{grow}; or loosen δ (build_evaluation).",
        )
    if needs:
        yield Missing(_dedupe(needs))


# --------------------------------------------------------------------------- EVAL-006


@rule(
    "EVAL-006",
    "error",
    "Zero-failure safety claims are sized",
    area="evaluation",
    source="Hanley & Lippman-Hand 1983; Clopper & Pearson 1934; OWASP LLM01",
)
def _safety_claims_sized(d: Design, s: RuleSettings) -> Outcome:
    """F5: each critical category's slices bound its target rate at 1 - alpha (rule of three, or the
    Clopper-Pearson upper bound when k > 0 failures are allowed)."""
    if _is_empty(d):
        yield Missing(["evaluation.failure_taxonomy"])
        return
    slices = {sl.id: sl for sl in d.evaluation.golden_set.slices}
    needs: list[str] = []
    for c in d.evaluation.failure_taxonomy:
        if c.severity != "critical":
            continue
        r, k = c.target_rate, c.allowed_failures
        if r is None or k is None:
            needs += [
                _category_path(c, f)
                for f, v in (("target_rate", r), ("allowed_failures", k))
                if v is None
            ]
            continue
        sized = [slices[i] for i in c.slice_ids if i in slices]
        if any(sl.n is None for sl in sized):
            needs += [_slice_path(sl, "n") for sl in sized if sl.n is None]
            continue
        n = sum(sl.n or 0 for sl in sized)
        paths = [_category_path(c, "target_rate"), _category_path(c, "slice_ids")]
        if r >= 1:
            continue
        if r <= 0:
            yield Violation(
                paths,
                f"{c.id}: a target rate of 0 cannot be demonstrated by any finite number of "
                f"items; {_count(n)} items with {k} failures bound it at "
                f"≤{_pct(_failure_bound(k, n, s.alpha))} "
                f"({_conf(s.alpha)}).",
                "State a non-zero target rate (e.g. 0.01 needs "
                f"{_count(stats.zero_failure_n(0.01, alpha=s.alpha))} items with 0 failures) and "
                "size the slice for it (build_evaluation).",
            )
            continue
        bound = _failure_bound(k, n, s.alpha)
        if bound <= r:
            continue
        n_min = n_for_failure_bound(k, r, s.alpha) or 0
        yield Violation(
            paths,
            f"{c.id}: {k}/{_count(n)} failures only bounds the rate at ≤{_pct(bound)} "
            f"({_conf(s.alpha)}), not ≤{r * 100:g}%; {_count(n_min)} items are needed.",
            f"Use {_count(n_min)} targeted or adversarial items for {c.id}, or state the weaker "
            "bound as the target (build_evaluation).",
        )
    if needs:
        yield Missing(_dedupe(needs))


# --------------------------------------------------------------------------- EVAL-007


def judge_metrics(d: Design) -> list[Metric]:
    return [m for m in d.evaluation.metrics if m.scorer == "llm_judge"]


@rule(
    "EVAL-007",
    "error",
    "LLM-as-judge is calibrated against human labels",
    area="evaluation",
    source="Zheng et al. 2023; Landis & Koch 1977; Rogan & Gladen 1978",
)
def _judge_calibrated(d: Design, s: RuleSettings) -> Outcome:
    """F6: calibration n ≥ 196 and κ ≥ 0.60, sens + spec > 1, and a gate on the raw judged rate
    is not more lenient than the Rogan-Gladen corrected rate."""
    if _is_empty(d) or not d.evaluation.metrics:
        yield Missing(["evaluation.metrics"])
        return
    for m in judge_metrics(d):
        cal = m.judge.calibration
        base = _metric_path(m, "judge.calibration")
        gaps: list[str] = []
        paths: list[str] = []
        if cal.n is None or cal.n < s.judge_calibration_n:
            gaps.append(f"n ≥ {s.judge_calibration_n}")
            paths.append(f"{base}.n")
        if cal.kappa is None or cal.kappa < s.kappa_min:
            gaps.append(f"κ ≥ {s.kappa_min:.2f}")
            paths.append(f"{base}.kappa")
        sens, spec = cal.sensitivity, cal.specificity
        if sens is None or spec is None or sens + spec <= 1:
            gaps.append("sensitivity + specificity > 1")
            paths += [f"{base}.sensitivity", f"{base}.specificity"]
        if gaps:
            kappa = f"κ={cal.kappa:.2f}" if cal.kappa is not None else "κ unknown"
            items = f"{_count(cal.n)} items" if cal.n is not None else "no labelled items"
            yield Violation(
                paths,
                f"Judge of {m.id}: {kappa} on {items} is not a valid gate; it needs "
                + ", ".join(gaps)
                + ".",
                f"Have ≥2 humans label ≥{s.judge_calibration_n} items (their κ is the ceiling), "
                "tighten the rubric, and report sensitivity and specificity (build_evaluation).",
            )
        t = m.threshold
        if t is None or not _unit(t) or sens is None or spec is None or sens + spec <= 1:
            continue
        if m.judge.gate_on_corrected:
            continue
        corrected = stats.rogan_gladen(t, sens, spec)
        lower = lower_is_better(m)
        if (corrected <= t) if lower else (corrected >= t):
            continue
        side = "above" if lower else "below"
        yield Violation(
            [_metric_path(m, "threshold"), _metric_path(m, "judge.gate_on_corrected")],
            f"{m.id}: judged {t:g} with sens {_prob(sens)} and spec {_prob(spec)} corrects to "
            f"{_rate(corrected)}, which is {side} the {t:g} threshold.",
            f"Gate {m.id} on the Rogan-Gladen corrected rate (judge.gate_on_corrected), or "
            "tighten the judge (build_evaluation).",
        )


# --------------------------------------------------------------------------- EVAL-008

_VENDORS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (vendor, re.compile(pattern, re.IGNORECASE))
    for vendor, pattern in (
        ("OpenAI", r"\bgpt|\bo[134](?:-|\b)|chatgpt"),
        ("Anthropic", r"claude"),
        ("Google", r"gemini|gemma|palm"),
        ("Meta", r"llama"),
        ("Mistral", r"mistral|mixtral|codestral"),
        ("Cohere", r"command-r|cohere"),
        ("Alibaba", r"qwen"),
        ("DeepSeek", r"deepseek"),
    )
)


def model_vendor(name: str | None) -> str | None:
    """The model family's vendor (OpenAI, Anthropic, ...) from a model name, if recognised."""
    if not name:
        return None
    return next((vendor for vendor, pattern in _VENDORS if pattern.search(name)), None)


@rule(
    "EVAL-008",
    "warning",
    "Judge bias controls and pinning",
    area="evaluation",
    reads=("architecture",),
    source="Zheng et al. 2023; Dubois et al. 2024",
)
def _judge_bias_controls(d: Design, s: RuleSettings) -> Outcome:
    """Pinned judge snapshot, both orders when pairwise, a judge vendor other than the
    candidate's, a rubric and a length control. Self-preference measurement has no field, so a
    same-vendor judge is reported and can be waived with the measurement as the reason."""
    if _is_empty(d) or not d.evaluation.metrics:
        yield Missing(["evaluation.metrics"])
        return
    arch = d.architecture
    candidate = arch.llm.model or arch.versions.model
    candidate_vendor = model_vendor(candidate)
    for m in judge_metrics(d):
        judge = m.judge
        issues: list[tuple[str, str, str]] = []
        if not judge.version or not is_pinned(judge.version):
            shown = f"'{judge.version}'" if judge.version else "unset"
            issues.append(
                (
                    f"judge version {shown} is not an immutable snapshot",
                    _metric_path(m, "judge.version"),
                    "pin a dated judge snapshot",
                )
            )
        if judge.pairwise and not judge.both_orders:
            issues.append(
                (
                    "pairwise judge runs in one order only; position bias can flip verdicts",
                    _metric_path(m, "judge.both_orders"),
                    "run both orders and count disagreements as ties",
                )
            )
        if not judge.length_controlled:
            issues.append(
                (
                    "no length control; verbosity bias favours long answers",
                    _metric_path(m, "judge.length_controlled"),
                    "add a length-controlled score",
                )
            )
        vendor = model_vendor(judge.model or judge.version)
        if vendor is not None and vendor == candidate_vendor:
            issues.append(
                (
                    f"the judge and the candidate ({candidate}) are both {vendor} models; "
                    "self-preference is not controlled",
                    _metric_path(m, "judge.model"),
                    "use another vendor's judge, or measure self-preference and waive with it",
                )
            )
        if not (d.evaluation.rubric or "").strip():
            issues.append(
                (
                    "no rubric lists the criteria",
                    "evaluation.rubric",
                    "write a rubric with explicit pass/fail criteria",
                )
            )
        if issues:
            fixes = "; ".join(fix for _, _, fix in issues)
            yield Violation(
                [path for _, path, _ in issues],
                f"Judge of {m.id}: " + "; ".join(text for text, _, _ in issues) + ".",
                f"{fixes[0].upper()}{fixes[1:]} (build_evaluation).",
            )


# --------------------------------------------------------------------------- EVAL-009


@rule(
    "EVAL-009",
    "error",
    "Golden-set sources are representative and dated",
    area="evaluation",
    reads=("io_contract", "iteration"),
    source="NIST AI RMF MEASURE 2.1, 2.3; Huyen ch.8; Breck Model 6",
)
def _sources_representative(d: Design, s: RuleSettings) -> Outcome:
    """Production items (share ≥ the tool default 0.3, reported at this rule's severity),
    adversarial items for user-facing output, dated sources, and a fresh set or a refresh."""
    golden = d.evaluation.golden_set
    if _is_empty(d):
        yield Missing(["evaluation.golden_set.sources"])
        return
    if not golden.sources:
        yield Violation(
            ["evaluation.golden_set.sources"],
            "The golden set has no declared sources; whether it represents production is unknown.",
            "List the sources with kind, share and date, including sampled production traffic "
            "(build_evaluation).",
        )
    else:
        production = [src for src in golden.sources if src.kind == "production"]
        if not production:
            mix = ", ".join(
                f"{src.kind or src.id} {src.share:.0%}"
                if src.share is not None
                else f"{src.kind or src.id}"
                for src in golden.sources
            )
            yield Violation(
                ["evaluation.golden_set.sources"],
                f"Golden set has no production items ({mix}); results may not hold in production.",
                "Add stratified samples of real traffic (build_evaluation).",
            )
        else:
            share = sum(src.share or 0 for src in production)
            if all(src.share is not None for src in production) and (
                share < s.min_production_share
            ):
                yield Violation(
                    [f"evaluation.golden_set.sources[{src.id}].share" for src in production],
                    f"Only {share:.0%} of the golden set is sampled production traffic "
                    f"(tool default minimum {s.min_production_share:.0%}); results may not hold "
                    "in production.",
                    "Add stratified production samples (build_evaluation).",
                )
        if d.io_contract.output.user_facing and not any(
            src.kind == "adversarial" for src in golden.sources
        ):
            yield Violation(
                ["evaluation.golden_set.sources", "io_contract.output.user_facing"],
                "Output is user-facing, but the golden set has no adversarial (red-team) source.",
                "Add a red-team set: injections, PII probes, unsafe requests (build_evaluation).",
            )
        undated = [src.id for src in golden.sources if src.date is None]
        if undated:
            yield Violation(
                [f"evaluation.golden_set.sources[{i}].date" for i in undated],
                f"Source(s) {', '.join(undated)} have no collection date.",
                "Date every source (build_evaluation).",
            )
    if d.iteration.golden_refresh_days is None:
        created = golden.created_at
        if created is None:
            yield Violation(
                ["evaluation.golden_set.created_at", "iteration.golden_refresh_days"],
                "The golden set has no creation date and no refresh cadence, so its age is "
                "unknown.",
                "Set golden_set.created_at (build_evaluation) or a refresh cadence "
                "(define_iteration_loop).",
            )
        elif (age := (date.today() - created).days) > s.golden_max_age_days:
            yield Violation(
                ["evaluation.golden_set.created_at", "iteration.golden_refresh_days"],
                f"The golden set is {_count(age)} days old (limit {s.golden_max_age_days}) and no "
                "refresh is planned.",
                "Refresh it with recent production samples (build_evaluation) and set "
                "iteration.golden_refresh_days (define_iteration_loop).",
            )


# --------------------------------------------------------------------------- EVAL-010


@rule(
    "EVAL-010",
    "error",
    "No leakage into prompts or training",
    area="evaluation",
    source="Kapoor & Narayanan 2023; Breck Infra 1",
)
def _no_leakage(d: Design, s: RuleSettings) -> Outcome:
    """A declared overlap check with 0 overlapping items, and a frozen holdout ≥ 20%."""
    ev = d.evaluation
    if _is_empty(d):
        yield Missing(["evaluation.leakage_check", "evaluation.golden_set.holdout_fraction"])
        return
    if not (ev.leakage_check or "").strip():
        yield Violation(
            ["evaluation.leakage_check"],
            "No check for overlap between golden items and few-shot examples, prompt text or "
            "training data; leaked items would inflate the scores.",
            "Hash-normalize golden items, compare them (exact and MinHash Jaccard ≥ 0.8) with "
            "prompts and training data on every change, and log the hashes (build_evaluation).",
        )
    if ev.leakage_overlap:
        yield Violation(
            ["evaluation.leakage_overlap"],
            f"{_count(ev.leakage_overlap)} golden items appear in prompts or training data; the "
            "scores are inflated.",
            "Deduplicate, rotate the holdout, and log the hashes (build_evaluation).",
        )
    holdout = ev.golden_set.holdout_fraction
    if holdout is None or holdout < MIN_HOLDOUT_FRACTION:
        shown = f"{holdout:.0%}" if holdout is not None else "not set"
        yield Violation(
            ["evaluation.golden_set.holdout_fraction"],
            f"Frozen holdout is {shown}; at least {MIN_HOLDOUT_FRACTION:.0%} of the golden set "
            "must never be used while iterating on prompts.",
            f"Freeze a holdout of ≥{MIN_HOLDOUT_FRACTION:.0%} scored only at release gates "
            "(build_evaluation).",
        )


# --------------------------------------------------------------------------- EVAL-011

_COVERAGE: tuple[tuple[str, tuple[str, ...]], ...] = (
    # category: keywords looked for in the lower-cased ids and definitions
    ("ungrounded or incorrect (LLM09)",
     ("ground", "hallucinat", "incorrect", "wrong", "confabul", "factual", "llm09")),
    ("policy or unsafe output", ("unsafe", "policy", "toxic", "harm", "abusive")),
    ("injection success (LLM01)", ("inject", "jailbreak", "llm01")),
    ("PII or secret leak (LLM02)", ("pii", "secret", "personal data", "llm02", "leak")),
    ("schema violation", ("schema", "malformed", "invalid output", "unparseable")),
    ("over-refusal", ("refus", "abstain")),
    ("timeout", ("timeout", "time out", "timed out", "deadline")),
)  # fmt: skip


@rule(
    "EVAL-011",
    "error",
    "Failure taxonomy is complete and operational",
    area="evaluation",
    reads=("io_contract",),
    source="OWASP LLM Top 10 2025; NIST AI 600-1; Breck Model 6",
)
def _taxonomy_complete(d: Design, s: RuleSettings) -> Outcome:
    """Each category is defined, rated, sliced (n > 0) and detected; generated text covers the
    seven catalog categories (matched by keywords in category ids and definitions)."""
    ev = d.evaluation
    if _is_empty(d):
        yield Missing(["evaluation.failure_taxonomy"])
        return
    if not ev.failure_taxonomy:
        yield Violation(
            ["evaluation.failure_taxonomy"],
            "No failure taxonomy; failures cannot be counted, sliced or monitored.",
            "Add categories with a definition, severity, slice and detector (build_evaluation).",
        )
        return
    slice_n = {sl.id: sl.n or 0 for sl in ev.golden_set.slices}
    for c in ev.failure_taxonomy:
        lacks = [
            field
            for field, value in (
                ("definition", c.definition),
                ("severity", c.severity),
                ("detector", c.detector),
            )
            if not value
        ]
        if not any(slice_n.get(i, 0) > 0 for i in c.slice_ids):
            lacks.append("slice_ids")
        if lacks:
            named = ", ".join("a slice with n > 0" if f == "slice_ids" else f"a {f}" for f in lacks)
            yield Violation(
                [_category_path(c, f) for f in lacks],
                f"Category {c.id} lacks {named}.",
                f"Give {c.id} a definition, a severity, a detector and a slice that tests it "
                "(build_evaluation).",
            )
    if d.io_contract.output.generated_text:
        text = "\n".join(f"{c.id} {c.definition or ''}" for c in ev.failure_taxonomy).lower()
        absent = [name for name, words in _COVERAGE if not any(w in text for w in words)]
        if absent:
            yield Violation(
                ["evaluation.failure_taxonomy", "io_contract.output.generated_text"],
                f"Taxonomy lacks {', '.join(absent)}.",
                "Add each category with a slice and a detector (build_evaluation).",
            )


# --------------------------------------------------------------------------- EVAL-012


@rule(
    "EVAL-012",
    "warning",
    "Non-determinism is accounted for",
    area="evaluation",
    reads=("architecture",),
    source="Breck Infra 1; Huyen ch.6",
)
def _nondeterminism(d: Design, s: RuleSettings) -> Outcome:
    """Temperature > 0, or a floating model or judge alias, needs runs_k ≥ 3."""
    ev = d.evaluation
    if _is_empty(d):
        yield Missing(["evaluation.temperature", "evaluation.runs_k"])
        return
    k = ev.runs_k or 1
    if k >= MIN_RUNS_NONDETERMINISTIC:
        return
    floating = [
        (f"{label} '{version}'", path)
        for label, version, path in (
            ("model", d.architecture.versions.model, "architecture.versions.model"),
            ("judge", d.architecture.versions.judge, "architecture.versions.judge"),
            *(
                ("judge", m.judge.version, _metric_path(m, "judge.version"))
                for m in judge_metrics(d)
            ),
        )
        if version and not is_pinned(version)
    ]
    hot = ev.temperature is not None and ev.temperature > 0
    if not hot and not floating:
        return
    causes = ([f"T={ev.temperature:g}"] if hot else []) + [
        f"floating {text}" for text, _ in floating
    ]
    runs = "Single run" if k == 1 else f"{k} runs"
    yield Violation(
        [
            "evaluation.runs_k",
            *(["evaluation.temperature"] if hot else []),
            *(path for _, path in floating),
        ],
        f"{runs} at {', '.join(causes)}; run-to-run noise is unknown.",
        f"Set runs_k ≥ {MIN_RUNS_NONDETERMINISTIC}, report the SD and gate on "
        "mean - 1.96·SD/√k (build_evaluation); pin floating versions (design_architecture).",
    )
