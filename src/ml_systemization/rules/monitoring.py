"""Monitoring rules MON-001..010: signal classes, SLO burn rates, drift statistics and windows,
LLM and safety coverage, cost alerts, label-starved quality proxies, staleness and alert
ownership, with the numbers of catalog §F10, §F14 and §F18.

The first section holds the helpers the iteration, card and cross-step families share: number
formatting, whether the design calls an LLM, and matching signals by what they measure.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from ml_systemization import stats
from ml_systemization.findings import Missing, Violation, per_design, rule
from ml_systemization.model import Design, Signal, calls_llm
from ml_systemization.settings import RuleSettings

Outcome = Iterator[Violation | Missing]

HOURS_PER_MONTH = 720.0
"""A 30-day month, as in catalog §F10 and §F15."""

MIN_BIN_COUNT = 5
"""Expected count per PSI bin below which the χ² approximation of F14 breaks down."""

DRIFT_STATS = frozenset(
    {"psi", "ks", "chi2", "z", "wasserstein", "jensenshannon", "embedding_distance"}
)
P_VALUE_STATS = frozenset({"ks", "chi2", "z"})
PSI_BAND = (0.1, 0.25)
"""PSI alert band: 0.1 is a moderate shift, above 0.25 a major one (Lewis 1992; Siddiqi 2006)."""
P_VALUE_MAX_N_REF = 1000
"""Evidently switches from p-value tests to distances above 1,000 reference rows."""


# --------------------------------------------------------------------------- shared helpers


def count(x: float) -> str:
    """A count with thousands separators: 14,751."""
    return f"{round(x):,}"


def sig3(x: float) -> str:
    """3 significant figures keeping trailing zeros (6.00, 0.0863); whole numbers from 1,000."""
    if not math.isfinite(x):
        return "∞"
    if abs(x) >= 999.5:  # would print as 1.00e+03
        return count(x)
    return f"{x:#.3g}".rstrip(".")


def num(x: float) -> str:
    """A number the design states, echoed as given: 24, 0.1, 9,000, 0.005."""
    if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.6g}"


def usd(x: float) -> str:
    """Dollars: whole from $100 ($9,200), cents from $1, else 3 significant figures ($0.00900)."""
    if abs(x) >= 100:
        return f"${x:,.0f}"
    if abs(x) >= 1:
        return f"${x:,.2f}"
    return f"${x:#.3g}"


def pct(x: float) -> str:
    """A share as a percentage, up to 3 significant figures: 2%, 7.5%, 1.66%."""
    return f"{100 * x:.3g}%"


def sci(p: float) -> str:
    """A small probability: 1.35e-4 (3 significant figures)."""
    if p >= 1e-3:
        return sig3(p)
    mantissa, exponent = f"{p:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def quoted(text: str) -> str:
    return f"'{text}'"


def join(items: Iterable[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    parts = list(items)
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# One definition of "calls an LLM" for every rule (model.calls_llm), memoized per evaluation.
uses_llm = per_design(calls_llm)


def signal_text(sig: Signal) -> str:
    """What a signal measures, for keyword matching: id and description, lower case."""
    return f"{sig.id} {sig.description or ''}".lower().replace("-", "_")


@per_design
def signal_keys(design: Design) -> tuple[tuple[Signal, str, str], ...]:
    """Each signal with its normalized id and its `signal_text` (computed once per evaluation;
    read-only)."""
    return tuple(
        (sig, sig.id.lower().replace("-", "_"), signal_text(sig))
        for sig in design.monitoring.signals
    )


def signals_matching(design: Design, pattern: re.Pattern[str]) -> list[Signal]:
    """Signals whose id matches `pattern`, else those whose description does (ids are short,
    so the common case stays cheap)."""
    keys = signal_keys(design)
    by_id = [sig for sig, key, _ in keys if pattern.search(key)]
    return by_id or [sig for sig, _, text in keys if pattern.search(text)]


def any_signal_matching(design: Design, pattern: re.Pattern[str]) -> bool:
    """`bool(signals_matching(design, pattern))`, stopping at the first match."""
    keys = signal_keys(design)
    return any(pattern.search(key) for _, key, _ in keys) or any(
        pattern.search(text) for _, _, text in keys
    )


def req_per_day(design: Design) -> float | None:
    """Requests per day from `context.traffic` (req_per_hour x 24, else req_per_month / 30)."""
    t = design.context.traffic
    if t.req_per_hour is not None:
        return t.req_per_hour * 24
    if t.req_per_month is not None:
        return t.req_per_month * 24 / HOURS_PER_MONTH
    return None


def _signal_path(sig: Signal, name: str | None = None) -> str:
    return f"monitoring.signals[{sig.id}]" + (f".{name}" if name else "")


def _absent(sig: Signal, names: Iterable[str]) -> list[str]:
    return [_signal_path(sig, n) for n in names if getattr(sig, n) is None]


# --------------------------------------------------------------------------- MON-001


_CLASSES = ("system", "drift", "quality_proxy", "cost")
_CLASS_EXAMPLES = {
    "system": "latency p95/p99, error rate, traffic and saturation",
    "drift": "PSI on key inputs and on an output property",
    "quality_proxy": "an online proxy of each gated metric (acceptance, judged sample)",
    "safety": "injection, PII-leak and policy-violation detections",
    "cost": "spend per day and cost per request",
}


def user_facing_text(design: Design) -> bool | None:
    """True when the output is user-facing generated text; None while either flag is unset."""
    out = design.io_contract.output
    if out.user_facing is False or out.generated_text is False:
        return False
    if out.user_facing is None or out.generated_text is None:
        return None
    return True


@rule(
    "MON-001",
    "error",
    "All signal classes are present",
    area="monitoring",
    reads=("io_contract",),
    source="Breck Monitor 1-7; SRE book ch.6; Huyen ch.8; NIST MEASURE 2.4, MANAGE 4.1",
)
def _signal_classes(d: Design, s: RuleSettings) -> Outcome:
    """≥1 signal of each class system, drift, quality_proxy and cost, plus safety when the
    output is user-facing generated text."""
    if not d.monitoring.signals:
        yield Missing(["monitoring.signals"])
        return
    present = {sig.kind for sig in d.monitoring.signals}
    needed = list(_CLASSES)
    if user_facing_text(d):
        needed.insert(3, "safety")
    for kind in needed:
        if kind not in present:
            yield Violation(
                [f"monitoring.signals[kind={kind}]"],
                f"No {kind} signal defined.",
                f"Add a {kind} signal, e.g. {_CLASS_EXAMPLES[kind]} (define_monitoring).",
            )


# --------------------------------------------------------------------------- MON-002


def burn_rate(budget_fraction: float, slo_window_d: float, long_window_h: float) -> float:
    """F10: the burn rate at which `budget_fraction` of the budget goes in `long_window_h`."""
    return stats.burn_rate(budget_fraction, long_window_h, period_h=slo_window_d * 24)


def burn_rates(design: Design) -> dict[str, dict[str, float]]:
    """F10 burn rate of every fully specified burn alert.

    Returns:
        `{slo_id: {burn_alert_id: burn}}` where `burn = budget_fraction x window_d x 24 /
        long_window_h` (30 d: 2%/1 h → 14.4, 5%/6 h → 6.00, 10%/72 h → 1.00). SLOs without
        a window and alerts without a fraction or window are left out.
    """
    out: dict[str, dict[str, float]] = {}
    for slo in design.monitoring.slos:
        if slo.window_d is None:
            continue
        burns = {
            a.id: burn_rate(a.budget_fraction, slo.window_d, a.long_window_h)
            for a in slo.burn_alerts
            if a.budget_fraction and a.long_window_h
        }
        if burns:
            out[slo.id] = burns
    return out


_RECOMMENDED_BURNS = ((0.02, 1.0, "page"), (0.05, 6.0, "page"), (0.10, 72.0, "ticket"))


def _recommended(window_d: float) -> str:
    parts = [
        f"{severity} at {pct(fraction)} of the budget in {num(hours)} h (burn "
        f"{sig3(burn_rate(fraction, window_d, hours))})"
        for fraction, hours, severity in _RECOMMENDED_BURNS
    ]
    return join(parts)


@rule(
    "MON-002",
    "error",
    "SLOs use burn-rate alerts",
    area="monitoring",
    source="SRE Workbook 'Alerting on SLOs'; SRE book ch.4",
)
def _burn_rate_alerts(d: Design, s: RuleSettings) -> Outcome:
    """Each SLO has an SLI, a target and a window, and pages on a multiwindow burn rate
    (F10); a page must burn faster than 1, i.e. spend the budget before the window ends.
    The short confirm window (1/12 of the long one) has no field and is not checked."""
    if not d.monitoring.slos:
        yield Missing(["monitoring.slos"])
        return
    burns = burn_rates(d)
    for slo in d.monitoring.slos:
        path = f"monitoring.slos[{slo.id}]"
        lacks = [n for n in ("sli", "target", "window_d") if getattr(slo, n) in (None, "")]
        if lacks:
            yield Violation(
                [f"{path}.{n}" for n in lacks],
                f"SLO {quoted(slo.id)} has no {join(lacks)}, so no error budget can be "
                "computed and no alert can be tied to it.",
                "State the SLI as good events / valid events, the target (e.g. 0.999) and the "
                "window in days (define_monitoring).",
            )
            continue
        assert slo.window_d is not None and slo.target is not None
        window_d = slo.window_d
        target = f"{slo.target:.6g} over {window_d} d"
        if not slo.burn_alerts:
            yield Violation(
                [f"{path}.burn_alerts"],
                f"SLO {quoted(slo.id)} ({target}) has no burn-rate alerts; paging on raw "
                "thresholds is not tied to the error budget.",
                f"Add multiwindow burn-rate alerts: {_recommended(window_d)}, each confirmed "
                "over a window 1/12 as long (define_monitoring).",
            )
            continue
        incomplete = [a.id for a in slo.burn_alerts if not (a.budget_fraction and a.long_window_h)]
        if incomplete:
            yield Violation(
                [f"{path}.burn_alerts[{a}]" for a in incomplete],
                f"Burn alert(s) {join(quoted(a) for a in incomplete)} of SLO {quoted(slo.id)} "
                "lack a budget fraction or a long window, so their burn rate is undefined.",
                f"Set budget_fraction and long_window_h, e.g. {_recommended(window_d)} "
                "(define_monitoring).",
            )
        rates = burns.get(slo.id, {})
        pages = [a for a in slo.burn_alerts if a.severity == "page" and a.id in rates]
        listed = join(f"{quoted(a)} {sig3(b)}" for a, b in rates.items())
        if not pages and not incomplete:
            yield Violation(
                [f"{path}.burn_alerts"],
                f"SLO {quoted(slo.id)} ({target}) has burn-rate alerts ({listed}) but none "
                "pages, so a fast burn waits for a ticket.",
                f"Page on fast burns: {_recommended(window_d)} (define_monitoring).",
            )
        for a in pages:
            if rates[a.id] <= 1:
                yield Violation(
                    [f"{path}.burn_alerts[{a.id}]"],
                    f"Page {quoted(a.id)} of SLO {quoted(slo.id)} fires at burn "
                    f"{sig3(rates[a.id])} ({pct(a.budget_fraction or 0)} of the budget in "
                    f"{num(a.long_window_h or 0)} h); at burn ≤ 1 the budget lasts the whole "
                    "window, so this is a ticket, not a page.",
                    f"Page at {pct(0.02)} in 1 h (burn {sig3(burn_rate(0.02, window_d, 1))}) "
                    "and make slower burns tickets (define_monitoring).",
                )


# --------------------------------------------------------------------------- MON-003


def _stat(sig: Signal) -> str:
    return _normalized_stat(sig.stat)


@functools.lru_cache(maxsize=256)
def _normalized_stat(stat: str | None) -> str:
    return (stat or "").strip().lower().replace("-", "_").replace(" ", "_")


@rule(
    "MON-003",
    "warning",
    "Drift statistic and threshold are sane",
    area="monitoring",
    source="Evidently defaults (PSI 0.1, 30 bins; KS/χ² ≤1,000 rows, else Wasserstein/JS 0.1); "
    "PSI bands 0.1/0.25 (Lewis 1992; Siddiqi 2006)",
)
def _drift_statistics(d: Design, s: RuleSettings) -> Outcome:
    """Drift signals use a known statistic; PSI alerts sit in [0.1, 0.25]; p-value tests use
    alpha ≤ the tool's alpha and a reference of at most ~1,000 rows."""
    drift = [sig for sig in d.monitoring.signals if sig.kind == "drift"]
    needs: list[str] = []
    for sig in drift:
        missing = _absent(sig, ("stat", "threshold"))
        if missing:
            needs += missing
            continue
        assert sig.threshold is not None
        stat, theta = _stat(sig), sig.threshold
        if stat not in DRIFT_STATS:
            yield Violation(
                [_signal_path(sig, "stat")],
                f"Drift signal {quoted(sig.id)} uses {quoted(sig.stat or '')}, which has no "
                "known behaviour under no drift.",
                "Use psi, ks, chi2, z, wasserstein, jensenshannon or embedding_distance "
                "(define_monitoring).",
            )
        elif stat == "psi" and not PSI_BAND[0] <= theta <= PSI_BAND[1]:
            low = theta < PSI_BAND[0]
            yield Violation(
                [_signal_path(sig, "threshold")],
                f"PSI alert {quoted(sig.id)} at {num(theta)} "
                + (
                    "fires below a moderate shift (0.1) and will alert on noise."
                    if low
                    else "misses a 'major shift' (>0.25)."
                ),
                "Warn at 0.1-0.2 and alert at most at 0.25 (define_monitoring).",
            )
        elif stat in P_VALUE_STATS:
            if theta > s.alpha:
                yield Violation(
                    [_signal_path(sig, "threshold")],
                    f"Drift test {quoted(sig.id)} alerts at p<{num(theta)}, above "
                    f"alpha={num(s.alpha)}.",
                    f"Alert at p<{num(s.alpha)} or lower (define_monitoring).",
                )
            if sig.n_ref is not None and sig.n_ref > P_VALUE_MAX_N_REF:
                yield Violation(
                    [_signal_path(sig, "n_ref"), _signal_path(sig, "stat")],
                    f"{stat.upper()} p<{num(theta)} on {count(sig.n_ref)} reference rows "
                    "will alert on negligible shifts.",
                    "Above 1,000 rows use a distance (Wasserstein normed or Jensen-Shannon at "
                    "0.1) or PSI (define_monitoring).",
                )
    if needs:
        yield Missing(needs)


# --------------------------------------------------------------------------- MON-004


def _sample_rate(sig: Signal) -> float:
    """Share of traffic the signal sees; unset means every request."""
    return 1.0 if sig.sample_rate is None else sig.sample_rate


def _psi_signals(design: Design) -> list[Signal]:
    return list(_psi_signal_tuple(design))


@per_design
def _psi_signal_tuple(design: Design) -> tuple[Signal, ...]:
    return tuple(sig for sig in design.monitoring.signals if _stat(sig) == "psi")


def _psi_signals_checked(design: Design) -> list[Signal]:
    """PSI signals F14 can size: a positive threshold and at least 2 bins (MON-003 judges
    the threshold; a single bin measures nothing)."""
    return [
        sig
        for sig in _psi_signals(design)
        if (sig.threshold is None or sig.threshold > 0) and (sig.bins is None or sig.bins >= 2)
    ]


def _psi_needs(design: Design, sig: Signal) -> list[str]:
    needs = _absent(sig, ("threshold", "window_h", "bins", "n_ref"))
    if design.context.traffic.req_per_hour is None:
        needs.append("context.traffic.req_per_hour")
    return needs


def psi_min_window(theta: float, bins: int, n_ref: float, settings: RuleSettings) -> int | None:
    """F14: smallest window whose PSI noise floor clears `theta` with the safety factor, and
    whose bins expect ≥5 counts each; None when the reference is too small for `theta`."""
    window = stats.psi_min_window(theta, bins, n_ref, safety=settings.psi_safety)
    return None if window is None else max(window, MIN_BIN_COUNT * bins)


def drift_windows(design: Design, settings: RuleSettings) -> dict[str, dict[str, Any]]:
    """F14 numbers of every PSI signal whose inputs are set.

    Returns:
        `{signal_id: {...}}` with `samples_in_window` (req_per_hour x window_h x sample_rate),
        `psi_noise_floor` (95th percentile of PSI under no drift at that window,
        `χ²_{.95,B-1}·(1/n_ref + 1/n_cur)`) and `min_window_samples` (smallest window that
        clears the threshold with the safety factor and ≥5 counts per bin; None when no
        window can because n_ref is too small).
    """
    out: dict[str, dict[str, Any]] = {}
    rph = design.context.traffic.req_per_hour
    for sig in _psi_signals_checked(design):
        if _psi_needs(design, sig):
            continue
        assert rph is not None and sig.window_h is not None and sig.threshold is not None
        assert sig.bins is not None and sig.n_ref is not None
        n_cur = rph * sig.window_h * _sample_rate(sig)
        floor = stats.psi_noise_floor(sig.bins, sig.n_ref, n_cur) if n_cur > 0 else math.inf
        out[sig.id] = {
            "samples_in_window": n_cur,
            "psi_noise_floor": floor,
            "min_window_samples": psi_min_window(sig.threshold, sig.bins, sig.n_ref, settings),
        }
    return out


@rule(
    "MON-004",
    "error",
    "Drift window is large enough for its threshold",
    area="monitoring",
    reads=("context",),
    source="PSI as Jeffreys divergence; n·m/(n+m)·PSI ≈ χ²_{B-1} under H0 (F14)",
)
def _drift_window(d: Design, s: RuleSettings) -> Outcome:
    """For PSI with B bins, `n_cur ≥ 1.1/(θ/χ²_{.95,B-1} - 1/n_ref)` and ≥5 per bin, where
    `n_cur = req_per_hour x window_h x sample_rate` (F14)."""
    signals = _psi_signals_checked(d)
    needs = sorted({p for sig in signals for p in _psi_needs(d, sig)})
    windows = drift_windows(d, s)
    rph = d.context.traffic.req_per_hour
    for sig in signals:
        numbers = windows.get(sig.id)
        if numbers is None:
            continue
        assert rph is not None and sig.threshold is not None and sig.bins is not None
        assert sig.n_ref is not None and sig.window_h is not None
        n_cur, floor = numbers["samples_in_window"], numbers["psi_noise_floor"]
        minimum: int | None = numbers["min_window_samples"]
        theta, bins = sig.threshold, sig.bins
        paths = [_signal_path(sig, n) for n in ("window_h", "sample_rate", "bins", "n_ref")]
        seen = (
            f"Drift window {quoted(sig.id)} has {count(n_cur)} samples ({count(rph)} req/h x "
            f"{num(sig.window_h)} h x {num(_sample_rate(sig))} sampled)"
        )
        if minimum is None:
            n_ref_min = math.ceil(stats.chi2_quantile(0.95, bins - 1) / theta)
            yield Violation(
                paths,
                f"{seen}, but with {count(sig.n_ref)} reference rows and B={bins} the PSI "
                f"noise floor alone is above θ={num(theta)}; no window is large enough.",
                f"Use ≥{count(n_ref_min)} reference rows, fewer bins or a higher threshold "
                "(define_monitoring).",
            )
            continue
        if n_cur >= minimum:
            continue
        verdict = (
            f"above θ={num(theta)}, so the alert fires chronically"
            if floor >= theta
            else f"within the x{num(s.psi_safety)} safety margin of θ={num(theta)}"
        )
        hours = minimum / (rph * _sample_rate(sig)) if rph * _sample_rate(sig) > 0 else math.inf
        b10 = psi_min_window(theta, 10, sig.n_ref, s)
        b30 = psi_min_window(theta, 30, sig.n_ref, s)
        alternatives = (
            f" (at θ={num(theta)}: ≥{count(b10)} samples for B=10, ≥{count(b30)} for B=30)"
            if b10 is not None and b30 is not None
            else ""
        )
        yield Violation(
            paths,
            f"{seen}; under no drift the PSI 95th percentile is {sig3(floor)}, {verdict}. "
            f"B={bins} needs ≥{count(minimum)} samples.",
            f"Lengthen the window to ≥{sig3(hours)} h, raise sample_rate, or use fewer "
            f"bins{alternatives} (define_monitoring).",
        )
    if needs:
        yield Missing(needs)


# --------------------------------------------------------------------------- MON-005


_LLM_COVERAGE_TEXT: tuple[tuple[str, str, str], ...] = (
    (
        "input tokens",
        r"input[_ ]?tokens?|prompt[_ ]?tokens?|(body|input|prompt|query|question)[_ ]?"
        r"(tokens?|length)|tokens?[_ ]?per[_ ]?request",
        "input length drift",
    ),
    (
        "language/intent mix",
        r"lang|locale|intent|topic|product[_ ]?area|category",
        "a shift in who asks what",
    ),
    ("embedding-centroid distance", r"embedding", "semantic drift of the inputs"),
    (
        "output tokens",
        r"output[_ ]?tokens?|completion[_ ]?tokens?|response[_ ]?(length|tokens?)",
        "verbosity changes",
    ),
    ("refusal rate", r"refus|abstain|abstention", "over-refusal after a prompt or model change"),
    (
        "truncation rate",
        r"truncat|finish[_ ]?reason|max[_ ]?tokens",
        "max_tokens too low would go unnoticed",
    ),
    (
        "schema-failure rate",
        r"schema|invalid[_ ]?output|parse[_ ]?(error|fail)",
        "invalid outputs would reach the fallback silently",
    ),
    ("fallback rate", r"fallback", "silent degradation to the baseline"),
)
_LLM_COVERAGE = tuple((name, re.compile(p), why) for name, p, why in _LLM_COVERAGE_TEXT)
_RETRIEVAL_COVERAGE = (
    "empty or low-score retrieval rate",
    re.compile(r"retriev"),
    "index gaps and retrieval regressions",
)


@rule(
    "MON-005",
    "warning",
    "LLM input/output drift coverage",
    area="monitoring",
    reads=("architecture",),
    source="Huyen ch.8; Breck Monitor 2/5",
)
def _llm_coverage(d: Design, s: RuleSettings) -> Outcome:
    """LLM designs watch input tokens, language/intent mix, embedding distance and (RAG) empty
    retrieval; and output tokens, refusals, truncation, schema failures and fallbacks. Signals
    are matched by keywords in their id and description."""
    if not uses_llm(d):
        return
    if not d.monitoring.signals:
        yield Missing(["monitoring.signals"])
        return
    wanted = list(_LLM_COVERAGE)
    if d.architecture.uses_retrieval:
        wanted.insert(3, _RETRIEVAL_COVERAGE)
    for name, pattern, why in wanted:
        if not any_signal_matching(d, pattern):
            yield Violation(
                ["monitoring.signals"],
                f"{name[0].upper()}{name[1:]} not monitored; {why}.",
                f"Add a {name} signal from the response envelope (IO-006) (define_monitoring).",
            )


# --------------------------------------------------------------------------- MON-006


_SAFETY_COVERAGE_TEXT: tuple[tuple[str, str, str, bool], ...] = (
    ("injection/jailbreak detections (LLM01)", "injection", r"inject|jailbreak", False),
    (
        "PII or secret leaks (LLM02)",
        "pii_leak",
        r"(?<![a-z])pii|secret|personal[_ ]data|credential",
        False,
    ),
    (
        "system-prompt leaks (LLM07)",
        "system_prompt_leak",
        r"system[_ ]?prompt|prompt[_ ]?leak|canary[_ ]?(string|token)",
        False,
    ),
    ("policy-violating output", "policy", r"polic|unsafe|toxic|harm|moderat|violat", False),
    (
        "ungrounded claims (LLM09)",
        "ungrounded",
        r"grounded|groundedness|hallucin|faithful|unsupported|confabul",
        False,
    ),
    (
        "denied tool actions (LLM06)",
        "denied_action",
        r"denied|blocked[_ ]?action|excessive[_ ]?agency|unauthori[sz]ed[_ ]?action",
        True,
    ),
    (
        "per-user token abuse (LLM10)",
        "token_abuse",
        r"token[_ ]?(cap|abuse|limit|quota|budget)|abuse|rate[_ ]?limit[_ ]?hit",
        False,
    ),
)


_SAFETY_COVERAGE = tuple(
    (name, key, re.compile(p), tools) for name, key, p, tools in _SAFETY_COVERAGE_TEXT
)


@per_design
def _triggered_signals(design: Design) -> frozenset[str | None]:
    """Signal ids some rollback or iteration trigger acts on."""
    triggers = {t.signal_id for t in design.rollout.rollback_triggers}
    triggers |= {t.signal_id for t in design.iteration.triggers}
    return frozenset(triggers)


def _linked(design: Design, sig: Signal) -> bool:
    """A signal's alert leads somewhere: a severity, or a rollback or iteration trigger."""
    return sig.alert.severity is not None or sig.id in _triggered_signals(design)


@rule(
    "MON-006",
    "error",
    "Safety signals with thresholds",
    area="monitoring",
    reads=("io_contract", "architecture", "rollout", "iteration"),
    source="OWASP LLM Top 10 2025; NIST AI 600-1; NIST MEASURE 2.7, 2.10",
)
def _safety_signals(d: Design, s: RuleSettings) -> Outcome:
    """User-facing generated text needs signals for injections, PII leaks, system-prompt leaks,
    policy violations, ungrounded claims, denied tool actions (with tools) and token abuse,
    each with a threshold, window, owner and linked action (alert severity or trigger)."""
    applies = user_facing_text(d)
    if applies is False:
        return
    if applies is None:
        yield Missing(["io_contract.output.user_facing", "io_contract.output.generated_text"])
        return
    if not d.monitoring.signals:
        yield Missing(["monitoring.signals"])
        return
    tools = bool(d.architecture.uses_tools or d.architecture.side_effect_tools)
    for name, key, pattern, needs_tools in _SAFETY_COVERAGE:
        if needs_tools and not tools:
            continue
        found = signals_matching(d, pattern)
        if not found:
            yield Violation(
                [f"monitoring.signals[kind=safety:{key}]"],
                f"Output is user-facing generated text, but no signal watches {name}.",
                "Add a detector signal with a threshold, window, owner and a rollback or "
                "paging action (define_monitoring).",
            )
            continue
        if any(
            sig.threshold is not None and sig.window_h and sig.alert.owner and _linked(d, sig)
            for sig in found
        ):
            continue
        sig = found[0]
        lacks = [
            label
            for label, ok in (
                ("threshold", sig.threshold is not None),
                ("window", bool(sig.window_h)),
                ("owner", bool(sig.alert.owner)),
                ("linked action", _linked(d, sig)),
            )
            if not ok
        ]
        yield Violation(
            [_signal_path(sig)],
            f"Safety signal {quoted(sig.id)} ({name}) has no {join(lacks)}, so a detection "
            "changes nothing.",
            "Give it a threshold, window and owner, and route it to a rollback trigger or a "
            "page (define_monitoring, plan_rollout).",
        )


# --------------------------------------------------------------------------- MON-007


_SPEND = re.compile(r"spend|daily[_ ]?cost|cost[_ ]?(per|a)[_ ]?(day|hour)|budget[_ ]?burn")
_COST_PER_REQUEST = re.compile(r"cost[_ ]?per[_ ]?(request|call|query)|unit[_ ]?cost")
_TOKENS_PER_REQUEST = re.compile(r"tokens?[_ ]?(per[_ ]?(request|call)|usage|used)")
_COST_PER_SUCCESS = re.compile(
    r"cost[_ ]?per[_ ](?!request|call|query|day|hour|token|month)[a-z]|per success"
)


def _percentiles(signals: list[Signal]) -> set[str]:
    return {_stat(sig) for sig in signals}


@rule(
    "MON-007",
    "error",
    "Cost is monitored against the budget",
    area="monitoring",
    reads=("context", "architecture"),
    source="OWASP LLM10 (denial of wallet); FinOps unit economics",
)
def _cost_monitoring(d: Design, s: RuleSettings) -> Outcome:
    """Signals for spend/day, cost/request p50 and p95, tokens/request p95 (LLM designs) and
    cost per successful outcome; budget alerts at ≥2 levels; a daily alert at most at
    `budget/30 x daily_cost_alert_factor`; per-tenant caps (monitoring or isolation)."""
    m, budget = d.monitoring, d.context.cost_budget_month_usd
    if not m.signals and not m.cost.alert_pct and m.cost.daily_alert_usd is None:
        yield Missing(
            ["monitoring.signals", "monitoring.cost.alert_pct", "monitoring.cost.daily_alert_usd"]
        )
        return
    wanted: list[tuple[str, re.Pattern[str], tuple[str, ...], str]] = [
        ("spend per day", _SPEND, (), "a runaway day would surface on the invoice"),
        (
            "cost per request",
            _COST_PER_REQUEST,
            ("p50", "p95"),
            "a prompt regression doubling tokens would surface on the invoice",
        ),
        (
            "cost per successful outcome",
            _COST_PER_SUCCESS,
            (),
            "spend can rise while outcomes fall without any alert",
        ),
    ]
    if uses_llm(d):
        wanted.insert(
            2,
            (
                "tokens per request",
                _TOKENS_PER_REQUEST,
                ("p95",),
                "prompt or context growth would go unnoticed until the invoice",
            ),
        )
    for name, pattern, percentiles, why in wanted:
        found = signals_matching(d, pattern)
        lacking = sorted(set(percentiles) - _percentiles(found))
        if found and not lacking:
            continue
        detail = f" at {join(lacking)}" if found else ""
        yield Violation(
            ["monitoring.signals[kind=cost]"],
            f"No {name} signal{detail}; {why}.",
            f"Add a cost signal for {name}"
            + (f" ({join(percentiles)})" if percentiles else "")
            + " (define_monitoring).",
        )
    if len(m.cost.alert_pct) < 2:
        yield Violation(
            ["monitoring.cost.alert_pct"],
            f"Budget alerts at {len(m.cost.alert_pct)} level"
            f"{'' if len(m.cost.alert_pct) == 1 else 's'}; a single alert either fires too "
            "late or too often.",
            "Alert at ≥2 levels, e.g. [0.8, 1.0]: 80% of the forecast and 100% of actual "
            "(define_monitoring).",
        )
    daily_max = None if budget is None else budget / 30 * s.daily_cost_alert_factor
    if m.cost.daily_alert_usd is None:
        yield Violation(
            ["monitoring.cost.daily_alert_usd"],
            "No daily spend alert; a runaway day is only seen on the monthly invoice.",
            "Set monitoring.cost.daily_alert_usd"
            + (
                f" to at most {usd(daily_max)} (budget/30 x {num(s.daily_cost_alert_factor)})"
                if daily_max is not None
                else ""
            )
            + " (define_monitoring).",
        )
    elif daily_max is not None and m.cost.daily_alert_usd > daily_max:
        assert budget is not None
        yield Violation(
            ["monitoring.cost.daily_alert_usd", "context.cost_budget_month_usd"],
            f"The daily spend alert at {usd(m.cost.daily_alert_usd)} is above "
            f"{usd(daily_max)} ({usd(budget)}/30 x {num(s.daily_cost_alert_factor)}); a day "
            "can overspend by half before anyone hears.",
            f"Lower daily_alert_usd to ≤{usd(daily_max)} (define_monitoring).",
        )
    if not (m.cost.per_tenant_cap or d.architecture.isolation.per_tenant_limits):
        yield Violation(
            ["monitoring.cost.per_tenant_cap"],
            "No per-tenant spend or token cap; one client can exhaust the budget.",
            "Set a per-tenant cap (define_monitoring) or per-tenant limits (design_architecture).",
        )
    if budget is None:
        yield Missing(["context.cost_budget_month_usd"])


# --------------------------------------------------------------------------- MON-008


def _proxies(design: Design) -> list[Signal]:
    """Quality proxies whose detection time matters: tied to an eval metric or label-sampled."""
    return [
        sig
        for sig in design.monitoring.signals
        if sig.kind == "quality_proxy" and (sig.proxy_for or sig.label_rate is not None)
    ]


def _proxy_needs(design: Design, sig: Signal) -> list[str]:
    needs = _absent(sig, ("baseline_rate", "detect_delta"))
    if req_per_day(design) is None:
        needs.append("context.traffic.req_per_hour")
    return needs


def _label_rate(sig: Signal) -> float:
    if sig.label_rate is not None:
        return sig.label_rate
    return _sample_rate(sig)


def proxy_detectability(design: Design, settings: RuleSettings) -> dict[str, dict[str, Any]]:
    """F18 numbers of every quality proxy tied to a metric (or label-sampled) with its inputs.

    Returns:
        `{signal_id: {...}}` with `labels_per_day` (req/day x label_rate, else x sample_rate),
        `labels_needed` (one-sided two-proportion n per arm to see `baseline_rate` move by
        `detect_delta` in the alert's direction, at the tool's alpha and power) and
        `days_to_detect` (labels_needed / labels_per_day, plus `label_delay_h` when given;
        infinity without labels).
    """
    out: dict[str, dict[str, Any]] = {}
    per_day = req_per_day(design)
    for sig in _proxies(design):
        if _proxy_needs(design, sig):
            continue
        assert per_day is not None and sig.baseline_rate is not None
        assert sig.detect_delta is not None
        p0 = sig.baseline_rate
        delta = abs(sig.detect_delta)
        p1 = p0 - delta if sig.comparator in ("<", "<=") else p0 + delta
        if not 0 < p1 < 1 or delta == 0:
            continue
        n = stats.n_two_prop(p0, p1, alpha=settings.alpha, power=settings.power)
        labels = per_day * _label_rate(sig)
        delay_d = (sig.label_delay_h or 0) / 24
        out[sig.id] = {
            "labels_per_day": labels,
            "labels_needed": n,
            "days_to_detect": n / labels + delay_d if labels > 0 else math.inf,
        }
    return out


@rule(
    "MON-008",
    "warning",
    "Online quality proxies get enough labels",
    area="monitoring",
    reads=("context",),
    source="Huyen ch.8 (natural labels, feedback loops); Breck Model 2, Monitor 7",
)
def _proxy_labels(d: Design, s: RuleSettings) -> Outcome:
    """`labels/day = req/day x label_rate`; days to detect δ = n_two_prop(p0, p0±δ) /
    labels/day (+ label delay) must fit the decision horizon (F18)."""
    proxies = _proxies(d)
    needs = sorted({p for sig in proxies for p in _proxy_needs(d, sig)})
    numbers = proxy_detectability(d, s)
    horizon = d.monitoring.decision_horizon_days or s.decision_horizon_days
    per_day = req_per_day(d)
    for sig in proxies:
        got = numbers.get(sig.id)
        if got is None or got["days_to_detect"] <= horizon:
            continue
        assert per_day is not None and sig.baseline_rate is not None
        assert sig.detect_delta is not None
        p0, delta = sig.baseline_rate, abs(sig.detect_delta)
        p1 = p0 - delta if sig.comparator in ("<", "<=") else p0 + delta
        n, labels, days = got["labels_needed"], got["labels_per_day"], got["days_to_detect"]
        delay = f" plus a {num(sig.label_delay_h or 0)} h label delay" if sig.label_delay_h else ""
        spare_days = horizon - (sig.label_delay_h or 0) / 24
        if spare_days <= 0:
            rate_fix = "the label delay alone exceeds the horizon: use an earlier label"
        elif per_day <= 0:
            rate_fix = "state the traffic (update_context)"
        elif (needed_rate := n / spare_days / per_day) <= 1:
            rate_fix = f"raise the label or judge sampling rate to ≥{pct(needed_rate)}"
        else:
            rate_fix = "even labelling every request is too slow: use a denser proxy"
        yield Violation(
            [_signal_path(sig, "label_rate"), "monitoring.decision_horizon_days"],
            f"At {count(labels)} labels/day ({count(per_day)} req/day x "
            f"{pct(_label_rate(sig))}), detecting {quoted(sig.id)} moving from {pct(p0)} to "
            f"{pct(p1)} needs {count(n)} labels, i.e. {sig3(days)} days{delay}, beyond the "
            f"{num(horizon)}-day decision horizon.",
            f"{rate_fix[0].upper()}{rate_fix[1:]}, add implicit signals (rephrase, escalate, "
            "copy), or accept a larger detect_delta (define_monitoring).",
        )
    if needs:
        yield Missing(needs)


# --------------------------------------------------------------------------- MON-009


_MODEL_AGE = re.compile(r"deprecat|model[_ ]?(age|staleness)|model[_ ]?eol")
_INDEX_AGE = re.compile(
    r"(index|corpus|snapshot|graph|embedding)[_ ]?(age|fresh|stale|lag)|index.*refresh"
)
_GOLDEN_AGE = re.compile(r"golden")
_HOURS_SUFFIX = re.compile(r"(_h|_hours?)$")
_DAYS_SUFFIX = re.compile(r"(_d|_days?)$")


def _threshold_hours(sig: Signal) -> float | None:
    """The signal's threshold in hours when its id states the unit (`_h`, `_days`), else None."""
    if sig.threshold is None:
        return None
    name = sig.id.lower()
    if _HOURS_SUFFIX.search(name):
        return sig.threshold
    if _DAYS_SUFFIX.search(name):
        return sig.threshold * 24
    return None


@rule(
    "MON-009",
    "warning",
    "Staleness and serving skew",
    area="monitoring",
    reads=("architecture", "evaluation"),
    source="Breck Monitor 1, 3 (skew), 4 (staleness); Zinkevich #8, #37",
)
def _staleness(d: Design, s: RuleSettings) -> Outcome:
    """Artifact-age signals: model deprecation or age, index age against
    `architecture.freshness_need_h` (when an index or retrieval exists) and golden-set age
    against `golden_max_age_days`. The serving-vs-evaluated prompt hash and deprecation
    subscriptions have no fields and are not checked."""
    if not d.monitoring.signals:
        yield Missing(["monitoring.signals"])
        return
    a = d.architecture
    wanted: list[tuple[str, re.Pattern[str], float | None, str]] = [
        ("model deprecation or age", _MODEL_AGE, None, ""),
    ]
    if a.versions.index or a.uses_retrieval:
        wanted.append(
            ("index age", _INDEX_AGE, a.freshness_need_h, "architecture.freshness_need_h")
        )
    wanted.append(("golden-set age", _GOLDEN_AGE, s.golden_max_age_days * 24.0, ""))
    for name, pattern, limit_h, limit_path in wanted:
        found = signals_matching(d, pattern)
        if not found:
            yield Violation(
                ["monitoring.signals"],
                f"No {name} signal; a stale artifact degrades quality without any alert.",
                f"Add a {name} signal with a threshold (define_monitoring).",
            )
            continue
        if limit_h is None:
            continue
        late = [
            (sig, hours)
            for sig in found
            if (hours := _threshold_hours(sig)) is not None and hours > limit_h
        ]
        for sig, hours in late:
            yield Violation(
                [_signal_path(sig, "threshold"), *([limit_path] if limit_path else [])],
                f"{quoted(sig.id)} alerts at {num(hours)} h, later than the "
                f"{num(limit_h)} h the {name.split()[0]} may age.",
                f"Alert at ≤{num(limit_h)} h (define_monitoring).",
            )


# --------------------------------------------------------------------------- MON-010


@rule(
    "MON-010",
    "warning",
    "Every alert is actionable",
    area="monitoring",
    source="SRE book ch.6 ('every page should be actionable'); NIST MANAGE 2.4",
)
def _actionable_alerts(d: Design, s: RuleSettings) -> Outcome:
    """Each signal with a threshold has an owner, a severity and a runbook. Page response
    time has no field and is not checked."""
    for sig in d.monitoring.signals:
        if sig.threshold is None:
            continue
        lacks = [n for n in ("owner", "severity", "runbook") if not getattr(sig.alert, n)]
        if lacks:
            yield Violation(
                [_signal_path(sig, f"alert.{n}") for n in lacks],
                f"Signal {quoted(sig.id)} alerts with no {join(lacks)}.",
                "Assign an owner, a severity (page/ticket) and a runbook, or drop the "
                "threshold and keep it as a dashboard (define_monitoring).",
            )
