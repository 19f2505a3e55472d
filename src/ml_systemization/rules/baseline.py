"""Baseline rules BASE-001..004: a runnable baseline, scored on the golden set, a quantified
justification (lift against the golden set's MDE, cost per extra success) and a simplest-AI arm."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ml_systemization import stats
from ml_systemization.findings import Missing, Violation, rule
from ml_systemization.model import Baseline, Design
from ml_systemization.rules.evaluation import (
    gated_metrics,
    golden_mde,
    is_proportion,
    metric_n,
    primary_metric,
    slice_gates,
)
from ml_systemization.settings import RuleSettings

Outcome = Iterator[Violation | Missing]

_EMPTY_BASELINE = Baseline()


def _usd(x: float) -> str:
    """Dollars with 3 significant figures (0.0580, 9,200)."""
    if abs(x) >= 1000:
        return f"${x:,.0f}"
    return f"${x:#.3g}".rstrip(".")


def _pp(x: float) -> str:
    text = f"{x * 100:#.2g}".rstrip(".")
    return f"{text} pp"


def ai_cost_per_request(design: Design) -> float | None:
    """F15: expected USD per request of the AI path ($0.0092 in F15), or None while token counts
    or prices are unset: `C_month / V` of stats.monthly_cost with V = 1.

    Same conventions as XS-005's monthly estimate: h is `cache.hit_rate`, T_out is
    `llm.output_tokens` else the output cap, and unset calls, retries, tools and judging count
    as 1, 0, 0 and 0.
    """
    llm = design.architecture.llm
    t_out = llm.output_tokens
    if t_out is None:
        t_out = design.io_contract.output.max_tokens
    if (
        llm.input_tokens is None
        or t_out is None
        or llm.price_in_per_mtok is None
        or llm.price_out_per_mtok is None
    ):
        return None
    per_call = stats.call_cost(
        llm.input_tokens,
        t_out,
        llm.price_in_per_mtok,
        llm.price_out_per_mtok,
        cached_input_tokens=min(llm.cached_input_tokens or 0.0, llm.input_tokens),
    )
    return stats.monthly_cost(
        1,
        per_call,
        calls_per_request=llm.calls_per_request if llm.calls_per_request is not None else 1.0,
        retry_rate=llm.retry_rate or 0.0,
        cache_hit_rate=design.architecture.cache.hit_rate or 0.0,
        tool_calls_per_request=llm.tool_calls_per_request or 0.0,
        price_per_tool_call=llm.price_per_tool_call_usd or 0.0,
        judge_share=llm.judge_share or 0.0,
        judge_cost=llm.judge_cost_usd or 0.0,
    )


# --------------------------------------------------------------------------- BASE-001


@rule(
    "BASE-001",
    "error",
    "Baseline exists and is runnable",
    area="baseline",
    source="Zinkevich, Rules of ML #1/#4; Breck Model 5; Huyen DMLS ch.6",
)
def _baseline_exists(d: Design, s: RuleSettings) -> Outcome:
    """`baseline.type` is set and `baseline.description` says what runs today."""
    b = d.baseline
    if b == _EMPTY_BASELINE:
        yield Missing(["baseline.type", "baseline.description"])
        return
    lacks = [
        path
        for path, present in (
            ("baseline.type", b.type is not None),
            ("baseline.description", bool((b.description or "").strip())),
        )
        if not present
    ]
    if lacks:
        yield Violation(
            lacks,
            "No baseline defined (" + " and ".join(f"{p} unset" for p in lacks) + "); the "
            "design cannot show the AI beats the simplest option.",
            "Name what would ship without the model, e.g. keyword rules, FAQ search, majority "
            "class or the current workflow (choose_baseline).",
        )


# --------------------------------------------------------------------------- BASE-002


@rule(
    "BASE-002",
    "error",
    "Baseline scored on the same golden set",
    area="baseline",
    reads=("evaluation",),
    source="Breck Model 5; Huyen ch.6",
)
def _baseline_scored(d: Design, s: RuleSettings) -> Outcome:
    """Every gated metric, and every slice gate, has a baseline score computed on the current
    golden-set hash."""
    b = d.baseline
    if b == _EMPTY_BASELINE or not d.evaluation.metrics:
        yield Missing(["baseline.scores", "evaluation.metrics"])
        return
    gated = gated_metrics(d)
    if not gated:
        return
    current = d.evaluation.golden_set.hash
    on = f"golden set {current}" if current else "the golden set"
    unscored = [m.id for m in gated if m.id not in b.scores]
    if unscored:
        yield Violation(
            [f"baseline.scores[{m}]" for m in unscored],
            f"Baseline has no score for {', '.join(unscored)} on {on}; EVAL-002/EVAL-005 "
            "cannot run.",
            "Run the baseline through the same eval harness and store its score per metric "
            "(choose_baseline).",
        )
    unsliced = [
        (sl.id, m.id) for sl, m in slice_gates(d) if m.id not in b.scores_by_slice.get(sl.id, {})
    ]
    if unsliced:
        yield Violation(
            [f"baseline.scores_by_slice[{sl}][{m}]" for sl, m in unsliced],
            "Baseline has no score for slice gate(s) "
            + ", ".join(f"{sl} ({m})" for sl, m in unsliced)
            + f" on {on}; EVAL-002 cannot run on them.",
            "Store the baseline's per-slice scores from the same eval run (choose_baseline).",
        )
    if current is None:
        yield Missing(["evaluation.golden_set.hash"])
    elif b.scores and b.scored_on_golden_hash != current:
        scored = b.scored_on_golden_hash
        yield Violation(
            ["baseline.scored_on_golden_hash", "evaluation.golden_set.hash"],
            (
                f"Baseline scores were computed on golden set {scored}, but the current one "
                f"is {current}; the comparison is not like for like."
                if scored
                else f"Baseline scores do not say which golden set they were computed on "
                f"(current: {current})."
            ),
            "Rescore the baseline on the current golden set and record its hash (choose_baseline).",
        )


# --------------------------------------------------------------------------- BASE-003


@rule(
    "BASE-003",
    "warning",
    "Justification is quantified",
    area="baseline",
    reads=("evaluation", "architecture"),
    source="Zinkevich #1/#3; incremental cost-effectiveness ratio (ICER) per success",
)
def _justification_quantified(d: Design, s: RuleSettings) -> Outcome:
    """F4/F15: an expected lift at least the golden set's MDE, a higher success rate than the
    baseline's, and a cost per extra success below its value (when stated)."""
    b = d.baseline
    if b == _EMPTY_BASELINE:
        yield Missing(["baseline.expected_lift"])
        return
    needs: list[str] = []
    if b.expected_lift is None:
        yield Violation(
            ["baseline.expected_lift"],
            "No expected lift on the primary metric; the justification is not quantified.",
            "State the expected absolute lift of the AI over the baseline on the primary metric "
            "(choose_baseline).",
        )
    else:
        primary = primary_metric(d)
        n = metric_n(d, primary) if primary is not None else None
        if primary is None:
            needs.append("evaluation.metrics[].primary")
        elif primary.threshold is None or not n:
            if primary.threshold is None:
                needs.append(f"evaluation.metrics[{primary.id}].threshold")
            if not n:
                needs.append("evaluation.golden_set.size")
        elif is_proportion(primary) and 0 <= primary.threshold <= 1:
            paired = d.evaluation.comparison == "paired"
            floor = golden_mde(primary.threshold, n, s, paired=paired)
            lift = abs(b.expected_lift)
            if lift < floor:
                yield Violation(
                    ["baseline.expected_lift", "evaluation.golden_set.size"],
                    f"Expected lift {lift * 100:g} pp is below the golden set's "
                    f"{'paired' if paired else 'unpaired'} MDE of {_pp(floor)} on "
                    f"{primary.id} (n={n:,}), so the gain cannot be verified.",
                    "Enlarge or pair the golden set (build_evaluation), or consider a hybrid "
                    "where the baseline answers first and the AI handles what is left "
                    "(choose_baseline).",
                )
    succ_ai, succ_base = b.expected_success_rate, b.success_rate
    if succ_ai is not None and succ_base is not None and succ_ai <= succ_base:
        yield Violation(
            ["baseline.expected_success_rate", "baseline.success_rate"],
            f"The AI's expected success rate {succ_ai:g} does not exceed the baseline's "
            f"{succ_base:g}.",
            "Revisit the approach, or keep the baseline (choose_baseline).",
        )
    elif b.value_per_success_usd is not None:
        cost_ai = ai_cost_per_request(d)
        if succ_ai is None or succ_base is None or b.cost_per_request_usd is None:
            needs += [
                path
                for path, value in (
                    ("baseline.expected_success_rate", succ_ai),
                    ("baseline.success_rate", succ_base),
                    ("baseline.cost_per_request_usd", b.cost_per_request_usd),
                )
                if value is None
            ]
        elif cost_ai is not None:
            extra = stats.incremental_cost_per_success(
                cost_ai, succ_ai, b.cost_per_request_usd, succ_base
            )
            if extra is not None and extra > b.value_per_success_usd:
                yield Violation(
                    ["baseline.value_per_success_usd", "architecture.llm"],
                    f"Each extra success costs {_usd(extra)} ({_usd(cost_ai)} vs "
                    f"${b.cost_per_request_usd:g} per request, success {succ_ai:g} vs "
                    f"{succ_base:g}) against a value of ${b.value_per_success_usd:g}.",
                    "Cut tokens or use a cheaper tier (design_architecture), or consider a "
                    "hybrid where the baseline answers first and the AI handles what is left "
                    "(choose_baseline).",
                )
    if needs:
        yield Missing(list(dict.fromkeys(needs)))


# --------------------------------------------------------------------------- BASE-004

_LARGEST_TIER = re.compile(
    r"opus|ultra|gpt-4\.5|405b|mistral-large|command-r-plus|gemini-[\d.]+-pro"
    r"|\b(?:gpt-5|gpt-4\.1|gpt-4o|o1|o3)\b(?!-mini|-nano|\.\d)",
    re.IGNORECASE,
)
_FINE_TUNED = re.compile(r"\bft:|fine[- ]?tun", re.IGNORECASE)
_SIMPLE_ARM = re.compile(
    r"single[- ](?:call|prompt)|one call|zero[- ]shot|few[- ]shot|simplest|small(?:est)? model",
    re.IGNORECASE,
)


def complexity_features(design: Design) -> list[str]:
    """Which of {largest model tier, agent/tool loop, fine-tune, multi-call chain} the
    proposal uses, read from the model name, `uses_tools` and `calls_per_request`."""
    arch = design.architecture
    names = " ".join(n for n in (arch.llm.model, arch.versions.model) if n)
    features = []
    if _LARGEST_TIER.search(names):
        features.append("largest model tier")
    if arch.uses_tools:
        features.append("agent/tool loop")
    if _FINE_TUNED.search(names):
        features.append("fine-tune")
    if (arch.llm.calls_per_request or 0) > 1:
        features.append("multi-call chain")
    return features


@rule(
    "BASE-004",
    "warning",
    "Simplest-AI challenger evaluated",
    area="baseline",
    reads=("evaluation", "architecture"),
    source="Breck Model 5; Zinkevich #4; Sculley et al. 2015",
)
def _simplest_ai_arm(d: Design, s: RuleSettings) -> Outcome:
    """A proposal with ≥2 complexity features has a single-call small-model arm in
    `evaluation.arms` (matched by wording such as 'single call', 'zero-shot', 'simplest').
    Whether the design beats that arm by ≥ MDE needs per-arm scores, which the model lacks."""
    arch = d.architecture
    if not (arch.llm.model or arch.versions.model or arch.uses_tools is not None):
        yield Missing(["architecture.llm.model", "architecture.uses_tools"])
        return
    features = complexity_features(d)
    if len(features) < 2:
        return
    if any(_SIMPLE_ARM.search(arm) for arm in d.evaluation.arms):
        return
    yield Violation(
        ["evaluation.arms"],
        f"The proposal uses {' and '.join(features)}, but no simpler AI arm (one zero- or "
        "few-shot call to the smallest tier) is evaluated; the added complexity is "
        "unjustified.",
        "Add a single-prompt small-model arm to the golden-set run (build_evaluation).",
    )
