"""Cross-step rules XS-001..009: offline gates have online proxies, triggers use monitored
signals, the fallback is the baseline, drift covers the inputs, the budget covers the cost
(catalog §F15), safety coverage, taxonomy traceability, shared numbers and the closed loop."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from ml_systemization import stats
from ml_systemization.findings import Missing, Violation, rule
from ml_systemization.model import Design, Signal
from ml_systemization.rules.evaluation import gated_metrics
from ml_systemization.rules.monitoring import (
    HOURS_PER_MONTH,
    count,
    join,
    num,
    pct,
    quoted,
    signal_keys,
    signal_text,
    usd,
    user_facing_text,
    uses_llm,
)
from ml_systemization.settings import RuleSettings

Outcome = Iterator[Violation | Missing]

TRAFFIC_TOLERANCE = 0.10
"""Relative gap at which req_per_month and req_per_hour x 720 count as different numbers."""

_ABOVE = frozenset({">", ">="})


def _side(comparator: str | None) -> str | None:
    if comparator is None:
        return None
    return "above" if comparator in _ABOVE else "below"


def _signals(d: Design) -> dict[str, Signal]:
    return {sig.id: sig for sig in d.monitoring.signals}


def _gated(d: Design) -> list[str]:
    return [m.id for m in gated_metrics(d) if m.threshold is not None]


# --------------------------------------------------------------------------- XS-001


@rule(
    "XS-001",
    "error",
    "Each offline gate has an online proxy",
    area="cross_step",
    reads=("evaluation", "monitoring"),
    source="Breck Model 2, Monitor 7; NIST MEASURE 2.4",
)
def _online_proxies(d: Design, s: RuleSettings) -> Outcome:
    """Every gated eval metric has a monitoring signal with `proxy_for` = its id and a
    threshold."""
    gated = _gated(d)
    if not gated:
        yield Missing(["evaluation.metrics"])
        return
    if not d.monitoring.signals:
        yield Missing(["monitoring.signals"])
        return
    for metric in gated:
        proxies = [sig for sig in d.monitoring.signals if sig.proxy_for == metric]
        if any(sig.threshold is not None for sig in proxies):
            continue
        yield Violation(
            [f"evaluation.metrics[{metric}]", "monitoring.signals"],
            f"{quoted(metric)} is gated offline but "
            + (
                f"its proxy {join(quoted(p.id) for p in proxies)} has no threshold."
                if proxies
                else "never observed in production."
            ),
            "Have the same judge score a share of traffic, or define a behavioural proxy "
            f"(answer accepted, citation clicked) with proxy_for={metric} and a threshold "
            "(define_monitoring).",
        )


# --------------------------------------------------------------------------- XS-002


UNIT_RATIO = 100
"""Trigger and signal thresholds this many times apart are taken to be in different units."""


@rule(
    "XS-002",
    "error",
    "Rollback triggers reference monitored signals",
    area="cross_step",
    reads=("rollout", "monitoring"),
    source="Breck Infra 6/7; Argo Rollouts; Kayenta",
)
def _triggers_monitored(d: Design, s: RuleSettings) -> Outcome:
    """Each trigger's signal exists in monitoring, alerts on the same side, uses the same units
    (a rate stays in [0, 1]; thresholds within 100x of each other), and the signal's window
    fits within the shortest stage."""
    triggers = d.rollout.rollback_triggers
    if not triggers:
        yield Missing(["rollout.rollback_triggers"])
        return
    if not d.monitoring.signals:
        yield Missing(["monitoring.signals"])
        return
    signals = _signals(d)
    stages = [st.duration_h for st in d.rollout.stages if st.duration_h]
    shortest = min(stages) if stages else None
    for t in triggers:
        path = f"rollout.rollback_triggers[{t.id}]"
        if not t.signal_id:
            continue  # ROLL-009 reports an incomplete trigger
        sig = signals.get(t.signal_id)
        if sig is None:
            yield Violation(
                [f"{path}.signal_id"],
                f"Trigger {quoted(t.id)} uses {quoted(t.signal_id)}, which monitoring does "
                "not produce.",
                "Add the signal (define_monitoring) or retarget the trigger (plan_rollout).",
            )
            continue
        spath = f"monitoring.signals[{sig.id}]"
        if (
            _side(t.comparator)
            and _side(sig.comparator)
            and (_side(t.comparator) != _side(sig.comparator))
        ):
            yield Violation(
                [f"{path}.comparator", f"{spath}.comparator"],
                f"Trigger {quoted(t.id)} fires when {quoted(sig.id)} is {t.comparator} "
                f"{num(t.threshold or 0)}, but monitoring alerts when it is "
                f"{sig.comparator} {num(sig.threshold or 0)}; one of them has the direction "
                "backwards.",
                "Use the same direction in both (plan_rollout, define_monitoring).",
            )
        if t.threshold is not None and sig.threshold is not None:
            rate_out = (sig.stat or "").lower() == "rate" and not 0 <= t.threshold <= 1
            a, b = abs(t.threshold), abs(sig.threshold)
            apart = a > 0 and b > 0 and max(a, b) / min(a, b) >= UNIT_RATIO
            if rate_out or apart:
                yield Violation(
                    [f"{path}.threshold", f"{spath}.threshold"],
                    f"Trigger {quoted(t.id)} compares {quoted(sig.id)} with "
                    f"{num(t.threshold)}, but monitoring's threshold is {num(sig.threshold)}"
                    + (" and the signal is a rate in [0, 1]" if rate_out else "")
                    + "; the two use different units.",
                    "Express both thresholds in the signal's unit (a rate as a share, "
                    "latency in ms) (plan_rollout).",
                )
        if shortest is not None and sig.window_h is not None and sig.window_h > shortest:
            yield Violation(
                [f"{spath}.window_h", "rollout.stages"],
                f"Signal {quoted(sig.id)} aggregates over {num(sig.window_h)} h, longer than "
                f"the shortest stage ({num(shortest)} h), so trigger {quoted(t.id)} cannot "
                "see a full window inside it.",
                "Shorten the signal window or lengthen the stage (define_monitoring, "
                "plan_rollout).",
            )


# --------------------------------------------------------------------------- XS-003


@rule(
    "XS-003",
    "error",
    "The fallback is the baseline",
    area="cross_step",
    reads=("io_contract", "baseline", "rollout"),
    source="Zinkevich #1; NIST MANAGE 2.4; SRE book ch.22",
)
def _fallback_is_baseline(d: Design, s: RuleSettings) -> Outcome:
    """`io_contract.fallback_target == baseline.id == rollout.flag.kill_switch_target`, and the
    baseline's p95 is known and fits the client deadline (IO-004 does the full arithmetic)."""
    base = d.baseline.id
    fallback = d.io_contract.fallback_target
    kill = d.rollout.flag.kill_switch_target
    needs = [
        p
        for p, v in (
            ("baseline.id", base),
            ("io_contract.fallback_target", fallback),
            ("rollout.flag.kill_switch_target", kill),
        )
        if v is None
    ]
    if base is not None:
        for path, target, what in (
            ("io_contract.fallback_target", fallback, "Fallback"),
            ("rollout.flag.kill_switch_target", kill, "Kill switch"),
        ):
            if target is not None and target != base:
                yield Violation(
                    [path, "baseline.id"],
                    f"{what} serves {quoted(target)}, which is not the scored baseline "
                    f"{quoted(base)}, so what users get on failure was never evaluated.",
                    f"Fall back to {quoted(base)} (define_io_contract, plan_rollout), or score "
                    f"{quoted(target)} as the baseline (choose_baseline).",
                )
    elif fallback is not None and kill is not None and fallback != kill:
        yield Violation(
            ["io_contract.fallback_target", "rollout.flag.kill_switch_target"],
            f"Fallback serves {quoted(fallback)} but the kill switch serves {quoted(kill)}.",
            "Route both to the baseline (define_io_contract, plan_rollout).",
        )
    if base is not None and fallback == base:
        p95, deadline = d.baseline.p95_latency_ms, d.io_contract.deadline_ms
        if p95 is None:
            needs.append("baseline.p95_latency_ms")
        elif deadline is not None and p95 > deadline:
            yield Violation(
                ["baseline.p95_latency_ms", "io_contract.deadline_ms"],
                f"The baseline's p95 of {count(p95)} ms alone exceeds the {count(deadline)} ms "
                "deadline, so the fallback arrives after the client has given up.",
                "Use a faster fallback (cached or precomputed) or extend the deadline "
                "(choose_baseline, define_io_contract).",
            )
    if needs:
        yield Missing(needs)


# --------------------------------------------------------------------------- XS-004


@rule(
    "XS-004",
    "warning",
    "Drift monitors cover the I/O inputs",
    area="cross_step",
    reads=("io_contract", "monitoring"),
    source="Breck Monitor 2; Huyen ch.8",
)
def _drift_covers_inputs(d: Design, s: RuleSettings) -> Outcome:
    """Every required input field has a drift signal (`input_field` = its id; free text through
    derived features), and ≥1 drift signal watches an output property (no `input_field`).
    Justified exclusions are waivers of this rule."""
    fields = [f.id for f in d.io_contract.input_fields if f.required]
    if not d.io_contract.input_fields:
        yield Missing(["io_contract.input_fields"])
        return
    if not d.monitoring.signals:
        yield Missing(["monitoring.signals"])
        return
    drift = [sig for sig in d.monitoring.signals if sig.kind == "drift"]
    watched = {sig.input_field for sig in drift}
    for field in fields:
        if field not in watched:
            yield Violation(
                [f"io_contract.input_fields[{field}]", "monitoring.signals[kind=drift]"],
                f"Input field {quoted(field)} has no drift monitor.",
                f"Add a drift signal with input_field={field} (free text through length, "
                "language or embedding features) (define_monitoring), or waive with a reason.",
            )
    if not any(sig.input_field is None for sig in drift):
        yield Violation(
            ["monitoring.signals[kind=drift]"],
            "No output property is monitored for drift (score, length or label mix).",
            "Add a drift signal on an output property, without input_field (define_monitoring).",
        )


# --------------------------------------------------------------------------- XS-005


def _volume(d: Design) -> float | None:
    t = d.context.traffic
    if t.req_per_month is not None:
        return t.req_per_month
    if t.req_per_hour is not None:
        return t.req_per_hour * HOURS_PER_MONTH
    return None


def _output_tokens(d: Design) -> float | None:
    llm_out = d.architecture.llm.output_tokens
    return llm_out if llm_out is not None else d.io_contract.output.max_tokens


def _cost_needs(d: Design) -> list[str]:
    llm = d.architecture.llm
    needs = [
        f"architecture.llm.{name}"
        for name in ("input_tokens", "price_in_per_mtok", "price_out_per_mtok")
        if getattr(llm, name) is None
    ]
    if _output_tokens(d) is None:
        needs.append("io_contract.output.max_tokens")
    if _volume(d) is None:
        needs.append("context.traffic.req_per_month")
    return needs


def cost_estimate(design: Design, settings: RuleSettings) -> dict[str, Any] | None:
    """F15: monthly cost of the LLM path, or None without an LLM or while an input is unset.

    `C_month = V·(1-h)·[c_call·calls·(1+retry) + n_tool·P_tool] + V·s_judge·c_judge` with
    `c_call = (T_in-T_cached)·P_in + T_cached·P_in·0.10 + T_out·P_out` (`stats.call_cost`,
    `stats.monthly_cost`). V is `context.traffic.req_per_month` (else req_per_hour x 720),
    h the response-cache hit rate, T_out `architecture.llm.output_tokens` (else the I/O
    output cap); unset calls, retries, tools and judging count as 1, 0, 0 and 0.

    Returns:
        A dict with `requests_per_month`, `cost_per_call_usd`, `cost_per_request_usd`
        (C_month / V), `month_usd`, `judge_month_usd`, `cost_per_success_usd` (per request
        over `baseline.expected_success_rate`; None when unset or 0), `budget_needed_usd`
        (month_usd x budget_headroom) and `prefix_saving_per_1k_usd` (monthly saving of
        prefix-caching 1,000 more input tokens).
    """
    if not uses_llm(design) or _cost_needs(design):
        return None
    llm, hit_rate = design.architecture.llm, design.architecture.cache.hit_rate or 0.0
    volume, t_out = _volume(design), _output_tokens(design)
    assert volume is not None and t_out is not None and llm.input_tokens is not None
    assert llm.price_in_per_mtok is not None and llm.price_out_per_mtok is not None
    c_call = stats.call_cost(
        llm.input_tokens,
        t_out,
        llm.price_in_per_mtok,
        llm.price_out_per_mtok,
        cached_input_tokens=min(llm.cached_input_tokens or 0.0, llm.input_tokens),
    )
    calls = llm.calls_per_request if llm.calls_per_request is not None else 1.0
    retry = llm.retry_rate or 0.0
    judge_share, judge_cost = llm.judge_share or 0.0, llm.judge_cost_usd or 0.0
    month = stats.monthly_cost(
        volume,
        c_call,
        calls_per_request=calls,
        retry_rate=retry,
        cache_hit_rate=hit_rate,
        tool_calls_per_request=llm.tool_calls_per_request or 0.0,
        price_per_tool_call=llm.price_per_tool_call_usd or 0.0,
        judge_share=judge_share,
        judge_cost=judge_cost,
    )
    judge = stats.monthly_cost(volume, 0.0, judge_share=judge_share, judge_cost=judge_cost)
    saving_per_call = stats.call_cost(1000, 0, llm.price_in_per_mtok, 0) - stats.call_cost(
        1000, 0, llm.price_in_per_mtok, 0, cached_input_tokens=1000
    )
    per_request = month / volume if volume > 0 else 0.0
    success = design.baseline.expected_success_rate
    return {
        "requests_per_month": volume,
        "cost_per_call_usd": c_call,
        "cost_per_request_usd": per_request,
        "month_usd": month,
        "judge_month_usd": judge,
        "cost_per_success_usd": stats.cost_per_success(per_request, success) if success else None,
        "budget_needed_usd": stats.budget_needed(month, headroom=settings.budget_headroom),
        "prefix_saving_per_1k_usd": (
            volume * (1 - hit_rate) * calls * (1 + retry) * saving_per_call
        ),
    }


@rule(
    "XS-005",
    "error",
    "Budget covers the estimated cost",
    area="cross_step",
    reads=("context", "architecture", "io_contract", "baseline"),
    source="Unit economics; OWASP LLM10 (unbounded consumption)",
)
def _budget_covers_cost(d: Design, s: RuleSettings) -> Outcome:
    """`context.cost_budget_month_usd ≥ C_month` of `cost_estimate` (F15). Designs without an
    LLM have no per-request cost field, so the rule does not apply to them. The 1.2x headroom
    is reported in the message; a rule has one severity, so there is no separate warning."""
    if not uses_llm(d):
        return
    needs = _cost_needs(d)
    budget = d.context.cost_budget_month_usd
    if budget is None:
        needs.append("context.cost_budget_month_usd")
    if needs:
        yield Missing(needs)
        return
    est = cost_estimate(d, s)
    assert est is not None and budget is not None
    month = est["month_usd"]
    if budget >= month:
        return
    judge = est["judge_month_usd"]
    judged = f", including {usd(judge)} of online judging" if judge > 0 else ""
    llm = d.architecture.llm
    cached = llm.cached_input_tokens or 0
    prefix = (
        f"prefix-cache the static prompt (each 1,000 cached input tokens save "
        f"{usd(est['prefix_saving_per_1k_usd'])}/month)"
        if cached < (llm.input_tokens or 0)
        else "shorten the prompt"
    )
    yield Violation(
        ["context.cost_budget_month_usd", "architecture.llm"],
        f"Estimated {usd(month)}/month ({count(est['requests_per_month'])} requests at "
        f"{usd(est['cost_per_request_usd'])}; {usd(est['cost_per_call_usd'])} per LLM call"
        f"{judged}) exceeds the {usd(budget)} budget; {usd(est['budget_needed_usd'])} is "
        f"needed with {pct(s.budget_headroom - 1)} headroom.",
        f"Raise the budget to {usd(est['budget_needed_usd'])} (update_context), cut tokens, "
        f"{prefix}, or use a cheaper tier (design_architecture).",
    )


# --------------------------------------------------------------------------- XS-006


def _safety_signal_ids(d: Design) -> set[str]:
    return {sig.id for sig in d.monitoring.signals if sig.kind == "safety"}


@rule(
    "XS-006",
    "error",
    "User-facing generated text requires safety coverage",
    area="cross_step",
    reads=("io_contract", "monitoring", "evaluation", "rollout"),
    source="OWASP LLM Top 10 2025; NIST AI 600-1; NIST MANAGE 2.4",
)
def _safety_coverage(d: Design, s: RuleSettings) -> Outcome:
    """With user-facing generated text: ≥1 safety signal (MON-006), an adversarial golden
    source (EVAL-006) and ≥1 rollback trigger on a safety signal."""
    applies = user_facing_text(d)
    if applies is False:
        return
    if applies is None:
        yield Missing(["io_contract.output.user_facing", "io_contract.output.generated_text"])
        return
    safety = _safety_signal_ids(d)
    adversarial = any(
        src.kind == "adversarial" and src.share != 0 for src in d.evaluation.golden_set.sources
    )
    rollback = any(t.signal_id in safety for t in d.rollout.rollback_triggers)
    lacks = [
        (path, text)
        for ok, path, text in (
            (bool(safety), "monitoring.signals[kind=safety]", "no safety signal"),
            (adversarial, "evaluation.golden_set.sources", "no adversarial golden items"),
            (rollback, "rollout.rollback_triggers", "no safety rollback trigger"),
        )
        if not ok
    ]
    if lacks:
        yield Violation(
            [p for p, _ in lacks],
            f"Generated text reaches users with {join(t for _, t in lacks)}.",
            "Add safety signals (define_monitoring), a red-team golden source and slices "
            "(build_evaluation) and an auto-rollback trigger on a safety signal (plan_rollout).",
        )


# --------------------------------------------------------------------------- XS-007


def _category_signals(d: Design, category: str, texts: dict[str, str]) -> set[str]:
    """Signals watching a taxonomy category: the card's failure-mode signal, or any signal
    whose id or description (`texts`, by signal id) names the category."""
    ids = {m.signal_id for m in d.card.failure_modes if m.id == category and m.signal_id}
    key = category.lower()
    ids |= {sig_id for sig_id, text in texts.items() if key in text}
    return ids & texts.keys()


@rule(
    "XS-007",
    "warning",
    "Each taxonomy category has a slice and a monitor",
    area="cross_step",
    reads=("evaluation", "monitoring", "rollout", "card"),
    source="Breck Model 6, Monitor 7; NIST MEASURE 2.4",
)
def _taxonomy_traced(d: Design, s: RuleSettings) -> Outcome:
    """Each category has a slice with n > 0 and a signal (the card's failure-mode signal, or a
    signal naming it); critical categories also have a rollback trigger on that signal."""
    taxonomy = d.evaluation.failure_taxonomy
    if not taxonomy:
        yield Missing(["evaluation.failure_taxonomy"])
        return
    slices = {sl.id: sl.n or 0 for sl in d.evaluation.golden_set.slices}
    triggered = {t.signal_id for t in d.rollout.rollback_triggers}
    texts = {sig.id: text for sig, _, text in signal_keys(d)}
    for cat in taxonomy:
        path = f"evaluation.failure_taxonomy[{cat.id}]"
        lacks: list[tuple[str, str]] = []
        if not any(slices.get(sid, 0) > 0 for sid in cat.slice_ids):
            lacks.append((f"{path}.slice_ids", "no eval slice with items"))
        watching = _category_signals(d, cat.id, texts)
        if not watching:
            lacks.append(("monitoring.signals", "no online signal"))
        elif cat.severity == "critical" and not watching & triggered:
            lacks.append(("rollout.rollback_triggers", "no rollback trigger"))
        if lacks:
            label = f"{cat.severity.capitalize()} category" if cat.severity else "Category"
            yield Violation(
                [p for p, _ in lacks],
                f"{label} {quoted(cat.id)} has {join(t for _, t in lacks)}.",
                "Add a slice (build_evaluation), a signal named after the category or linked "
                "from the card's failure mode (define_monitoring), and for critical categories "
                "a rollback trigger (plan_rollout).",
            )


# --------------------------------------------------------------------------- XS-008


_LATENCY = re.compile(r"latenc")
_CONDITION_SIDE = re.compile(r"(>=|<=|≥|≤|>|<)")


def _condition_side(condition: str | None) -> str | None:
    if not condition:
        return None
    found = _CONDITION_SIDE.search(condition)
    if not found:
        return None
    return "above" if found.group(1) in (">", ">=", "≥") else "below"


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _latency_mismatches(d: Design) -> Iterator[Violation]:
    slo = d.architecture.slo
    if slo.p95_ms is not None:
        for sig in d.monitoring.signals:
            if (sig.stat or "").lower() != "p95" or not _LATENCY.search(signal_text(sig)):
                continue
            if sig.threshold is not None and not _close(sig.threshold, slo.p95_ms):
                yield Violation(
                    ["architecture.slo.p95_ms", f"monitoring.signals[{sig.id}].threshold"],
                    f"p95 latency SLO is {count(slo.p95_ms)} ms in the architecture but "
                    f"{num(sig.threshold)} in monitoring signal {quoted(sig.id)}.",
                    "Use one source of truth: alert on the architecture's SLO in ms "
                    "(define_monitoring).",
                )
    if slo.availability is not None and d.monitoring.slos:
        targets = [x.target for x in d.monitoring.slos if x.target is not None]
        match = [
            x
            for x in d.monitoring.slos
            if x.target is not None and _close(x.target, slo.availability)
        ]
        if targets and not match:
            yield Violation(
                ["architecture.slo.availability", "monitoring.slos"],
                f"Availability SLO is {slo.availability:.6g} in the architecture, but no "
                f"monitoring SLO has that target ({join(f'{t:.6g}' for t in targets)}).",
                "Monitor the architecture's availability SLO with burn-rate alerts "
                "(define_monitoring).",
            )
        for x in match:
            if slo.window_d is not None and x.window_d is not None and x.window_d != slo.window_d:
                yield Violation(
                    ["architecture.slo.window_d", f"monitoring.slos[{x.id}].window_d"],
                    f"The SLO window is {slo.window_d} d in the architecture but {x.window_d} d "
                    f"in monitoring SLO {quoted(x.id)}.",
                    "Use one SLO window (design_architecture, define_monitoring).",
                )


def _token_mismatches(d: Design) -> Iterator[Violation]:
    cap = d.io_contract.output.max_tokens
    llm = d.architecture.llm
    if cap is None:
        return
    if llm.output_tokens is not None and not _close(llm.output_tokens, cap):
        yield Violation(
            ["io_contract.output.max_tokens", "architecture.llm.output_tokens"],
            f"max_tokens is {count(cap)} in the I/O contract but {count(llm.output_tokens)} "
            "in the cost estimate.",
            "Use one source of truth: set architecture.llm.output_tokens to the I/O cap "
            "(design_architecture).",
        )
    if llm.ttft_p95_ms is None or not llm.tpot_ms:
        return
    for c in d.architecture.components:
        if not c.is_llm or c.p95_ms is None:
            continue
        modelled = llm.ttft_p95_ms + cap * llm.tpot_ms
        if c.p95_ms < modelled - 0.5:
            implied = (c.p95_ms - llm.ttft_p95_ms) / llm.tpot_ms
            yield Violation(
                [f"architecture.components[{c.id}].p95_ms", "io_contract.output.max_tokens"],
                f"max_tokens is {count(cap)} in the I/O contract but the latency budget of "
                f"{quoted(c.id)} ({count(c.p95_ms)} ms) allows only {count(max(implied, 0))} "
                f"tokens (TTFT {num(llm.ttft_p95_ms)} ms + N x {num(llm.tpot_ms)} ms); "
                f"{count(modelled)} ms at the cap.",
                "Use one source of truth: budget the LLM at TTFT + max_tokens x TPOT "
                "(design_architecture) or lower the cap (define_io_contract).",
            )


def _traffic_mismatches(d: Design) -> Iterator[Violation]:
    t = d.context.traffic
    if t.req_per_hour is not None and t.req_per_month is not None and t.req_per_hour > 0:
        implied = t.req_per_hour * HOURS_PER_MONTH
        if abs(t.req_per_month - implied) > TRAFFIC_TOLERANCE * implied:
            yield Violation(
                ["context.traffic.req_per_month", "context.traffic.req_per_hour"],
                f"Traffic is {count(t.req_per_month)} requests/month for cost but "
                f"{count(t.req_per_hour)} req/h x {count(HOURS_PER_MONTH)} h = {count(implied)} "
                "for rollout and monitoring.",
                "Make the two volumes agree (update_context).",
            )
    if t.req_per_hour is not None and t.peak_qps is not None and t.peak_qps * 3600 < t.req_per_hour:
        yield Violation(
            ["context.traffic.peak_qps", "context.traffic.req_per_hour"],
            f"Peak {num(t.peak_qps)} QPS ({count(t.peak_qps * 3600)} req/h) is below the "
            f"typical {count(t.req_per_hour)} req/h.",
            "Set peak_qps to the busiest second's rate (update_context).",
        )


def _id_mismatches(d: Design) -> Iterator[Violation]:
    metrics = {m.id: m for m in d.evaluation.metrics}
    signals = _signals(d)
    if metrics:
        for sig in d.monitoring.signals:
            if sig.proxy_for and sig.proxy_for not in metrics:
                yield Violation(
                    [f"monitoring.signals[{sig.id}].proxy_for", "evaluation.metrics"],
                    f"Signal {quoted(sig.id)} proxies {quoted(sig.proxy_for)}, which is not an "
                    f"eval metric id ({join(quoted(m) for m in metrics)}).",
                    "Use the eval metric's id in proxy_for (define_monitoring).",
                )
        for sl in d.evaluation.golden_set.slices:
            if sl.metric_id and sl.metric_id not in metrics:
                yield Violation(
                    [f"evaluation.golden_set.slices[{sl.id}].metric_id"],
                    f"Slice {quoted(sl.id)} gates {quoted(sl.metric_id)}, which is not an eval "
                    "metric id.",
                    "Use the eval metric's id (build_evaluation).",
                )
        for sig in d.monitoring.signals:
            m = metrics.get(sig.id)
            if m is None or m.direction is None or _side(sig.comparator) is None:
                continue
            bad = "below" if m.direction == "higher_is_better" else "above"
            if _side(sig.comparator) != bad:
                yield Violation(
                    [f"monitoring.signals[{sig.id}].comparator", f"evaluation.metrics[{m.id}]"],
                    f"{quoted(m.id)} is {m.direction.replace('_', ' ')} offline, but its "
                    f"online signal alerts when it goes {_side(sig.comparator)} "
                    f"{num(sig.threshold or 0)}.",
                    "Alert on the side where the metric gets worse (define_monitoring).",
                )
    if signals:
        for st in d.rollout.stages:
            if st.gate_signal and st.gate_signal not in signals:
                yield Violation(
                    [f"rollout.stages[{st.id}].gate_signal"],
                    f"Stage {quoted(st.id)} is judged on {quoted(st.gate_signal)}, which "
                    "monitoring does not produce.",
                    "Use a monitoring signal id (plan_rollout) or add it (define_monitoring).",
                )
        for trig in d.iteration.triggers:
            watched = signals.get(trig.signal_id or "")
            side = _condition_side(trig.condition)
            if watched is None or side is None or _side(watched.comparator) is None:
                continue
            if side != _side(watched.comparator):
                yield Violation(
                    [f"iteration.triggers[{trig.id}].condition"],
                    f"Trigger {quoted(trig.id)} acts when {quoted(watched.id)} is "
                    f"'{trig.condition}', but monitoring treats {watched.comparator} "
                    f"{num(watched.threshold or 0)} as bad; the directions disagree.",
                    "Use the signal's direction in the condition (define_iteration_loop).",
                )


@rule(
    "XS-008",
    "error",
    "Shared numbers match across steps",
    area="cross_step",
    reads=(
        "context",
        "io_contract",
        "evaluation",
        "architecture",
        "rollout",
        "monitoring",
        "iteration",
    ),
    source="Sculley et al. 2015 (configuration debt)",
)
def _shared_numbers(d: Design, s: RuleSettings) -> Outcome:
    """Numbers stated in more than one place agree: the p95 SLO (architecture vs p95 latency
    signals) and availability SLO and window (architecture vs monitoring SLOs); the output cap
    (I/O vs `architecture.llm.output_tokens` in the cost model vs the LLM component's latency
    budget); metric ids (signals' `proxy_for`, slices, stage gates) and directions (eval metric
    vs its same-id signal; iteration trigger conditions vs their signal).

    Traffic has one source of truth, `context.traffic`, which rollout, cost and A/B all read;
    only its internal coherence is checked (req_per_month ≈ req_per_hour x 720 within 10%,
    peak ≥ typical). The rule applies only where a number appears twice, so it never reports
    "not evaluable"."""
    yield from _latency_mismatches(d)
    yield from _token_mismatches(d)
    yield from _traffic_mismatches(d)
    yield from _id_mismatches(d)


# --------------------------------------------------------------------------- XS-009


@rule(
    "XS-009",
    "warning",
    "The iteration loop closes",
    area="cross_step",
    reads=("iteration", "monitoring", "evaluation", "context"),
    source="Breck Model 2; Huyen ch.9; NIST MANAGE 4.1",
)
def _loop_closes(d: Design, s: RuleSettings) -> Outcome:
    """The A/B primary metric is an eval metric, the online proxy of one (a signal with
    `proxy_for`) or a business success metric from the context. Triggers bound to unknown
    signals are reported by ITER-001 and change gates by ITER-005."""
    primary = d.iteration.ab.primary_metric
    if primary is None:
        yield Missing(["iteration.ab.primary_metric"])
        return
    metrics = {m.id for m in d.evaluation.metrics}
    proxies = {sig.id: sig.proxy_for for sig in d.monitoring.signals if sig.proxy_for}
    kpis = {m.id for m in d.context.success_metrics}
    if primary in metrics or primary in proxies or primary in kpis:
        return
    yield Violation(
        ["iteration.ab.primary_metric"],
        f"A/B primary metric {quoted(primary)} is not linked to any eval metric, online proxy "
        "or business success metric.",
        "Use the online proxy of the primary eval metric or a context success metric "
        "(define_iteration_loop), or add proxy_for to its signal (define_monitoring).",
    )
