"""Monitoring rules MON-001..010: each flags a deliberately broken design with the catalog's
numbers, stays silent on the shipped examples, and reports "not evaluable" on an empty design
(those two checks, shared by every family, are in test_rules_families.py)."""

from __future__ import annotations

import pytest

from ml_systemization.findings import Finding
from ml_systemization.model import Design
from ml_systemization.rules.monitoring import (
    burn_rate,
    burn_rates,
    drift_windows,
    proxy_detectability,
    psi_min_window,
)
from rules_support import (
    SETTINGS,
    Mutation,
    assert_raises,
    example,
    findings,
    mutated,
    signal,
    violation_findings,
)


def drop_signals(design: Design, *ids: str) -> None:
    design.monitoring.signals = [s for s in design.monitoring.signals if s.id not in ids]


# --------------------------------------------------------------------------- mutations


def _no_cost_signals(d: Design) -> None:
    d.monitoring.signals = [s for s in d.monitoring.signals if s.kind != "cost"]


def _no_safety_signals(d: Design) -> None:
    d.monitoring.signals = [s for s in d.monitoring.signals if s.kind != "safety"]


def _ticket_only_burn_alerts(d: Design) -> None:
    slo = d.monitoring.slos[0]
    slo.burn_alerts = [a for a in slo.burn_alerts if a.severity == "ticket"]


def _no_burn_alerts(d: Design) -> None:
    d.monitoring.slos[0].burn_alerts = []


def _page_at_burn_one(d: Design) -> None:
    d.monitoring.slos[0].burn_alerts[2].severity = "page"


def _psi_alert_too_high(d: Design) -> None:
    signal(d, "drift_locale_mix").threshold = 0.5


def _ks_on_a_large_reference(d: Design) -> None:
    sig = signal(d, "drift_tier_mix")
    sig.stat, sig.threshold, sig.comparator = "ks", 0.05, "<"


def _psi_window_of_100_samples(d: Design) -> None:
    """F14: B=10, n_ref 10,000, θ=0.1, and a daily window that sees 100 samples."""
    sig = signal(d, "drift_subject_length")
    sig.bins, sig.n_ref, sig.threshold, sig.window_h = 10, 10_000, 0.1, 24
    sig.sample_rate = 100 / (1200 * 24)


def _no_truncation_signal(d: Design) -> None:
    drop_signals(d, "truncation_rate")


def _no_pii_leak_signal(d: Design) -> None:
    drop_signals(d, "pii_leak_rate")


def _safety_signal_without_owner_or_action(d: Design) -> None:
    sig = signal(d, "system_prompt_leak_rate")
    sig.alert.owner, sig.alert.severity = None, None


def _daily_alert_above_budget_share(d: Design) -> None:
    d.context.cost_budget_month_usd = 16_000
    d.monitoring.cost.daily_alert_usd = 2000


def _one_budget_alert_level(d: Design) -> None:
    d.monitoring.cost.alert_pct = [1.0]


def _no_tokens_per_request_signal(d: Design) -> None:
    drop_signals(d, "tokens_per_request_p95")


def _about(found: list[Finding], signal_id: str) -> list[Finding]:
    """The findings that concern one signal (others may also miss a shortened horizon)."""
    return [f for f in found if any(f"[{signal_id}]" in p for p in f.paths)]


def _label_starved_proxy(d: Design) -> None:
    """F18: 10,000 req/day, 0.5% feedback → 50 labels/day; 5% → 7.5% needs 1,159 labels."""
    d.context.traffic.req_per_hour = 10_000 / 24
    d.monitoring.decision_horizon_days = 7
    sig = signal(d, "cited_link_kept_rate")
    sig.baseline_rate, sig.detect_delta, sig.comparator = 0.05, 0.025, ">"
    sig.label_rate, sig.threshold = 0.005, 0.075


def _no_deprecation_signal(d: Design) -> None:
    drop_signals(d, "model_deprecation_days")


def _index_age_alert_later_than_freshness(d: Design) -> None:
    signal(d, "index_age_h").threshold = 48


def _alert_without_runbook(d: Design) -> None:
    signal(d, "timeout_rate").alert.runbook = None


BROKEN = [
    ("MON-001", "no cost signal", _no_cost_signals, ["No cost signal defined."]),
    ("MON-001", "no safety signal for user-facing text", _no_safety_signals, ["No safety"]),
    ("MON-002", "only a ticket burn alert", _ticket_only_burn_alerts, ["1.00", "14.4", "6.00"]),
    ("MON-002", "no burn alerts at all", _no_burn_alerts, ["14.4", "6.00", "1.00"]),
    ("MON-002", "a page at burn 1", _page_at_burn_one, ["burn 1.00", "ticket, not a page"]),
    ("MON-003", "PSI alert at 0.5", _psi_alert_too_high, ["misses a 'major shift'"]),
    ("MON-003", "KS on 50,000 reference rows", _ks_on_a_large_reference, ["50,000"]),
    (
        "MON-004",
        "a 100-sample PSI window",
        _psi_window_of_100_samples,
        ["100 samples", "0.171", "above θ=0.1", "≥190 samples", "≥489 for B=30"],
    ),
    ("MON-005", "no truncation signal", _no_truncation_signal, ["Truncation rate not monitored"]),
    ("MON-006", "no PII-leak signal", _no_pii_leak_signal, ["PII or secret leaks"]),
    (
        "MON-006",
        "a safety signal without owner or action",
        _safety_signal_without_owner_or_action,
        ["'system_prompt_leak_rate'", "owner and linked action"],
    ),
    ("MON-007", "daily alert above budget/30 x 1.5", _daily_alert_above_budget_share, ["$800"]),
    ("MON-007", "a single budget alert level", _one_budget_alert_level, ["at 1 level;"]),
    ("MON-007", "no tokens/request signal", _no_tokens_per_request_signal, ["tokens per request"]),
    (
        "MON-008",
        "50 labels/day",
        _label_starved_proxy,
        ["50 labels/day", "1,159 labels", "23.2 days", "7-day"],
    ),
    ("MON-009", "no deprecation signal", _no_deprecation_signal, ["model deprecation"]),
    (
        "MON-009",
        "index age alert at 48 h",
        _index_age_alert_later_than_freshness,
        ["alerts at 48 h", "36 h"],
    ),
    ("MON-010", "an alert without runbook", _alert_without_runbook, ["no runbook"]),
]


@pytest.mark.parametrize(
    ("rule_id", "mutate", "expected"),
    [pytest.param(r, m, e, id=f"{r}: {desc}") for r, desc, m, e in BROKEN],
)
def test_a_deliberately_broken_design_raises_the_rule_with_its_numbers(
    rule_id: str, mutate: Mutation, expected: list[str]
) -> None:
    assert_raises(rule_id, mutated(mutate), expected)


def test_rules_that_do_not_apply_stay_silent_on_a_non_llm_or_internal_design() -> None:
    fraud = example("fraud_scorer")
    assert findings("MON-005", fraud) == []  # no LLM
    assert findings("MON-006", fraud) == []  # output is not user-facing text


# --------------------------------------------------------------------------- §F oracle


def test_burn_rates_reproduce_f10() -> None:
    assert [round(burn_rate(f, 30, h), 2) for f, h in ((0.02, 1), (0.05, 6), (0.1, 72))] == [
        14.4,
        6.0,
        1.0,
    ]
    rates = burn_rates(example("support_assistant"))["draft_availability"]
    assert rates == pytest.approx({"fast_burn": 14.4, "slow_burn": 6.0, "drift_burn": 1.0})


def test_minimum_psi_windows_reproduce_f14_and_keep_five_counts_per_bin() -> None:
    assert psi_min_window(0.1, 10, 10_000, SETTINGS) == 190
    assert psi_min_window(0.1, 30, 10_000, SETTINGS) == 489
    assert psi_min_window(1.0, 10, 1_000_000, SETTINGS) == 5 * 10  # bins, not noise, bind
    assert psi_min_window(0.1, 10, 100, SETTINGS) is None


def test_a_200_sample_psi_window_clears_the_threshold_and_reports_its_floor() -> None:
    def two_hundred(d: Design) -> None:
        _psi_window_of_100_samples(d)
        signal(d, "drift_subject_length").sample_rate = 200 / (1200 * 24)

    design = mutated(two_hundred)
    numbers = drift_windows(design, SETTINGS)["drift_subject_length"]
    assert drift_windows(mutated(_psi_window_of_100_samples), SETTINGS)["drift_subject_length"][
        "psi_noise_floor"
    ] == pytest.approx(0.171, abs=5e-4)
    assert numbers["samples_in_window"] == pytest.approx(200)
    assert numbers["psi_noise_floor"] == pytest.approx(0.0863, abs=5e-5)
    assert numbers["min_window_samples"] == 190
    assert violation_findings("MON-004", design) == []


def test_proxy_detectability_reproduces_f18() -> None:
    design = mutated(_label_starved_proxy)
    numbers = proxy_detectability(design, SETTINGS)["cited_link_kept_rate"]
    assert numbers["labels_per_day"] == pytest.approx(50)
    assert numbers["labels_needed"] == 1159
    assert numbers["days_to_detect"] == pytest.approx(23.18, abs=0.01)

    def three_hundred_a_day(d: Design) -> None:
        _label_starved_proxy(d)
        signal(d, "cited_link_kept_rate").label_rate = 0.03

    design = mutated(three_hundred_a_day)
    days = proxy_detectability(design, SETTINGS)["cited_link_kept_rate"]["days_to_detect"]
    assert days == pytest.approx(3.86, abs=0.005)
    assert _about(violation_findings("MON-008", design), "cited_link_kept_rate") == []


def test_a_stated_label_delay_counts_toward_the_decision_horizon() -> None:
    def delayed(d: Design) -> None:
        _label_starved_proxy(d)
        sig = signal(d, "cited_link_kept_rate")
        sig.label_rate, sig.label_delay_h = 0.03, 96

    found = _about(violation_findings("MON-008", mutated(delayed)), "cited_link_kept_rate")
    assert len(found) == 1
    assert "7.86 days plus a 96 h label delay" in found[0].message


def test_a_psi_reference_too_small_for_its_threshold_says_no_window_suffices() -> None:
    def tiny_reference(d: Design) -> None:
        sig = signal(d, "drift_subject_length")
        sig.n_ref, sig.threshold = 100, 0.1

    found = violation_findings("MON-004", mutated(tiny_reference))
    assert "no window is large enough" in found[0].message
    assert "≥170 reference rows" in found[0].fix


def test_a_psi_signal_without_its_inputs_is_not_evaluable() -> None:
    def unbinned(d: Design) -> None:
        signal(d, "drift_subject_length").bins = None

    found = findings("MON-004", mutated(unbinned))
    assert [f.kind for f in found] == ["not_evaluable"]
    assert found[0].paths == ["monitoring.signals[drift_subject_length].bins"]
