"""Cross-step rules XS-001..009: each flags a deliberately broken design with the catalog's
numbers (§F15 for the budget), stays silent on the shipped examples, and reports "not
evaluable" on an empty design (those two checks, shared by every family, are in
test_rules_families.py)."""

from __future__ import annotations

import pytest

from ml_systemization.model import Design
from ml_systemization.rules.cross_step import cost_estimate
from rules_support import SETTINGS, Mutation, assert_raises, example, findings, mutated, signal

# --------------------------------------------------------------------------- F15 designs


def f15(d: Design) -> None:
    """Catalog §F15: 1M requests/month, 1,500 in / 300 out at $3/$15 per M, 20% response-cache
    hits, 0.5 tool calls at $0.005, no judging, against a $9,000 budget."""
    d.context.traffic.req_per_month = 1_000_000
    d.context.traffic.req_per_hour = 1_000_000 / 720
    d.context.cost_budget_month_usd = 9000
    d.io_contract.output.max_tokens = 300
    llm = d.architecture.llm
    llm.input_tokens, llm.cached_input_tokens, llm.output_tokens = 1500, 0, 300
    llm.price_in_per_mtok, llm.price_out_per_mtok = 3.0, 15.0
    llm.calls_per_request, llm.retry_rate = 1, 0.0
    llm.tool_calls_per_request, llm.price_per_tool_call_usd = 0.5, 0.005
    llm.judge_share, llm.judge_cost_usd = 0.0, 0.0
    d.architecture.cache.hit_rate = 0.2
    d.baseline.expected_success_rate = 0.85


def f15_prefix_cached(d: Design) -> None:
    f15(d)
    d.architecture.llm.cached_input_tokens = 1200
    d.context.cost_budget_month_usd = 6000


def f15_judged(d: Design) -> None:
    f15(d)
    d.architecture.llm.judge_share, d.architecture.llm.judge_cost_usd = 0.02, 0.01


# --------------------------------------------------------------------------- mutations


def _citation_precision_unproxied(d: Design) -> None:
    signal(d, "cited_link_kept_rate").proxy_for = None


def _trigger_on_an_unknown_signal(d: Design) -> None:
    d.rollout.rollback_triggers[0].signal_id = "judge_fail_rate"


def _trigger_backwards(d: Design) -> None:
    d.rollout.rollback_triggers[0].comparator = "<"


def _trigger_in_seconds(d: Design) -> None:
    d.rollout.rollback_triggers[1].threshold = 9


def _signal_window_longer_than_stage(d: Design) -> None:
    signal(d, "unsafe_output_rate").window_h = 48


def _fallback_to_a_bigger_model(d: Design) -> None:
    d.io_contract.fallback_target = "bigger_model"


def _slow_fallback(d: Design) -> None:
    d.baseline.p95_latency_ms = 25_000


def _locale_undrifted(d: Design) -> None:
    d.monitoring.signals = [s for s in d.monitoring.signals if s.id != "drift_locale_mix"]


def _no_output_drift(d: Design) -> None:
    d.monitoring.signals = [s for s in d.monitoring.signals if s.id != "drift_output_tokens"]


def _no_safety_rollback(d: Design) -> None:
    safety = {s.id for s in d.monitoring.signals if s.kind == "safety"}
    d.rollout.rollback_triggers = [
        t for t in d.rollout.rollback_triggers if t.signal_id not in safety
    ]


def _pii_leak_without_trigger(d: Design) -> None:
    d.rollout.rollback_triggers = [t for t in d.rollout.rollback_triggers if t.id != "rb_pii_leak"]


def _cost_model_with_fewer_tokens(d: Design) -> None:
    d.io_contract.output.max_tokens = 300
    d.architecture.llm.output_tokens = 150


def _latency_budget_with_fewer_tokens(d: Design) -> None:
    next(c for c in d.architecture.components if c.is_llm).p95_ms = 4000


def _latency_signal_in_seconds(d: Design) -> None:
    signal(d, "draft_latency_p95").threshold = 9


def _monthly_traffic_per_day(d: Design) -> None:
    d.context.traffic.req_per_month = 28_800


def _proxy_for_a_misspelled_metric(d: Design) -> None:
    signal(d, "cited_link_kept_rate").proxy_for = "citation_precission"


def _iteration_trigger_backwards(d: Design) -> None:
    d.iteration.triggers[0].condition = "> 0.58 for 2 consecutive daily windows"


def _availability_slo_unmonitored(d: Design) -> None:
    d.architecture.slo.availability = 0.999


def _engagement_as_primary(d: Design) -> None:
    d.iteration.ab.primary_metric = "engagement"


BROKEN = [
    (
        "XS-001",
        "citation precision without a proxy",
        _citation_precision_unproxied,
        ["'citation_precision' is gated offline but never observed in production."],
    ),
    (
        "XS-002",
        "a trigger on an unknown signal",
        _trigger_on_an_unknown_signal,
        ["Trigger 'rb_fallback_rate' uses 'judge_fail_rate', which monitoring does not produce."],
    ),
    ("XS-002", "a backwards trigger", _trigger_backwards, ["direction backwards"]),
    ("XS-002", "a trigger in seconds", _trigger_in_seconds, ["9, but", "9,000"]),
    ("XS-002", "a 48 h window in 24 h stages", _signal_window_longer_than_stage, ["48 h"]),
    (
        "XS-003",
        "fallback to a bigger model",
        _fallback_to_a_bigger_model,
        ["Fallback serves 'bigger_model'", "'helpcenter_search'"],
    ),
    ("XS-003", "a 25 s fallback", _slow_fallback, ["25,000 ms", "20,000 ms deadline"]),
    (
        "XS-004",
        "locale without drift",
        _locale_undrifted,
        ["Input field 'locale' has no drift monitor."],
    ),
    ("XS-004", "no output drift", _no_output_drift, ["No output property"]),
    (
        "XS-005",
        "the F15 design on a $9,000 budget",
        f15,
        ["Estimated $9,200/month", "$0.00900 per LLM call", "$9,000 budget", "$11,040"],
    ),
    ("XS-005", "F15 with a 1,200-token prefix cache", f15_prefix_cached, ["$6,608/month"]),
    ("XS-005", "F15 with 2% judged", f15_judged, ["$9,400/month", "$200 of online judging"]),
    ("XS-006", "no safety rollback", _no_safety_rollback, ["no safety rollback trigger"]),
    (
        "XS-007",
        "PII leak without a trigger",
        _pii_leak_without_trigger,
        ["Critical category 'pii_leak' has no rollback trigger"],
    ),
    (
        "XS-008",
        "cost model with 150 tokens",
        _cost_model_with_fewer_tokens,
        ["max_tokens is 300 in the I/O contract but 150 in the cost estimate."],
    ),
    (
        "XS-008",
        "latency budget with fewer tokens",
        _latency_budget_with_fewer_tokens,
        ["allows only 207 tokens", "7,400 ms at the cap"],
    ),
    (
        "XS-008",
        "a latency signal in seconds",
        _latency_signal_in_seconds,
        ["9,000 ms in the architecture but 9 in monitoring"],
    ),
    ("XS-008", "traffic per day as per month", _monthly_traffic_per_day, ["864,000"]),
    ("XS-008", "a misspelled proxy", _proxy_for_a_misspelled_metric, ["'citation_precission'"]),
    ("XS-008", "a backwards iteration trigger", _iteration_trigger_backwards, ["disagree"]),
    ("XS-008", "availability SLO unmonitored", _availability_slo_unmonitored, ["0.999"]),
    ("XS-009", "engagement as primary metric", _engagement_as_primary, ["'engagement'"]),
]


@pytest.mark.parametrize(
    ("rule_id", "mutate", "expected"),
    [pytest.param(r, m, e, id=f"{r}: {desc}") for r, desc, m, e in BROKEN],
)
def test_a_deliberately_broken_design_raises_the_rule_with_its_numbers(
    rule_id: str, mutate: Mutation, expected: list[str]
) -> None:
    assert_raises(rule_id, mutated(mutate), expected)


# --------------------------------------------------------------------------- §F15 oracle


def test_the_cost_estimate_reproduces_f15() -> None:
    est = cost_estimate(mutated(f15), SETTINGS)
    assert est is not None
    assert est["cost_per_call_usd"] == pytest.approx(0.009)
    assert est["month_usd"] == pytest.approx(9200)
    assert est["budget_needed_usd"] == pytest.approx(11_040)
    assert est["cost_per_success_usd"] == pytest.approx(0.0108, abs=5e-5)
    cached = cost_estimate(mutated(f15_prefix_cached), SETTINGS)
    assert cached is not None
    assert cached["month_usd"] == pytest.approx(6608)
    judged = cost_estimate(mutated(f15_judged), SETTINGS)
    assert judged is not None
    assert judged["judge_month_usd"] == pytest.approx(200)
    assert judged["month_usd"] == pytest.approx(9400)


def test_a_budget_with_room_passes_and_a_missing_budget_is_not_evaluable() -> None:
    def roomy(d: Design) -> None:
        f15(d)
        d.context.cost_budget_month_usd = 11_040

    def unbudgeted(d: Design) -> None:
        f15(d)
        d.context.cost_budget_month_usd = None

    assert findings("XS-005", mutated(roomy)) == []
    found = findings("XS-005", mutated(unbudgeted))
    assert [(f.kind, f.paths) for f in found] == [
        ("not_evaluable", ["context.cost_budget_month_usd"])
    ]


def test_a_design_without_an_llm_has_no_llm_cost_to_check() -> None:
    fraud = example("fraud_scorer")
    assert cost_estimate(fraud, SETTINGS) is None
    assert findings("XS-005", fraud) == []
    assert findings("XS-005", Design()) == []


def test_shared_numbers_only_compare_what_is_stated_twice() -> None:
    assert findings("XS-008", Design()) == []
