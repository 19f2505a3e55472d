"""Evaluation rules EVAL-001..012 against the catalog's worked examples (§F1-F6)."""

from __future__ import annotations

import datetime as dt

import pytest

from ml_systemization import stats
from ml_systemization.model import Design, FailureCategory, Slice
from ml_systemization.rules import evaluation
from ml_systemization.settings import RuleSettings
from rules_support import (
    CATALOG,
    SETTINGS,
    Mutation,
    assert_raises,
    findings,
    metric,
    mutated,
    support,
    violations,
)


def golden_slice(d: Design, slice_id: str) -> Slice:
    return next(s for s in d.evaluation.golden_set.slices if s.id == slice_id)


def category(d: Design, category_id: str) -> FailureCategory:
    return next(c for c in d.evaluation.failure_taxonomy if c.id == category_id)


# --------------------------------------------------------------------------- §F designs


def f1_small_golden_set(d: Design) -> None:
    """F1: a 0.90 gate on n=100 gives ±0.060; 141 items give ±0.05."""
    m = metric(d, "citation_precision")
    m.threshold, m.n = 0.90, 100


def f2_indistinguishable(d: Design) -> None:
    """F2: scoring 0.85 on n=200 has a lower bound of 0.794, not above the baseline 0.80."""
    m = metric(d, "citation_precision")
    m.threshold, m.n = 0.85, 200
    d.baseline.scores["citation_precision"] = 0.80


def f2_threshold_below_baseline(d: Design) -> None:
    metric(d, "resolution_rate").threshold = 0.50


def f3_thin_slice(d: Design) -> None:
    """F3: a 0.90 gate on a 12-item slice carries ±0.18."""
    s = golden_slice(d, "lang_non_en")
    s.threshold, s.n = 0.90, 12


def f3_slice_below_n_min(d: Design) -> None:
    """F3: a 0.90 slice gate needs 37 items for ±0.10."""
    s = golden_slice(d, "lang_non_en")
    s.threshold, s.n = 0.90, 36


def no_language_slice(d: Design) -> None:
    d.evaluation.golden_set.slices = [
        s for s in d.evaluation.golden_set.slices if not s.id.startswith("lang_")
    ]


def f3_ten_gates(d: Design) -> None:
    """F3: 10 uncorrected gates; Bonferroni z = 2.81 needs n = 290 at 0.90 for ±0.05."""
    d.evaluation.multiplicity = "none"
    m = metric(d, "citation_precision")
    m.threshold, m.n = 0.90, 200
    for slice_id in ("core_tickets", "intent_technical", "intent_account", "intent_how_to"):
        golden_slice(d, slice_id).threshold = 0.80
    golden_slice(d, "lang_en").threshold = 0.80
    assert len(evaluation.gated_metrics(d)) + len(evaluation.slice_gates(d)) == 10


def f4_tolerance_below_mde(d: Design) -> None:
    """F4: δ=2 pp at p=0.85, n=500 detects only 5.6 pp unpaired, 3.5 pp paired."""
    d.evaluation.comparison = "unpaired"
    m = metric(d, "citation_precision")
    m.threshold, m.n, m.regression_tolerance = 0.85, 500, 0.02


def f5_zero_failures_undersized(d: Design) -> None:
    """F5: 0/500 jailbreak successes bound the rate at 0.60%, not 0.1%; 2,995 are needed."""
    c = category(d, "injection_success")
    c.target_rate, c.allowed_failures = 0.001, 0
    golden_slice(d, "injection_attacks").n = 500


def f5_some_failures_undersized(d: Design) -> None:
    c = category(d, "pii_leak")
    c.target_rate, c.allowed_failures = 0.01, 2
    golden_slice(d, "pii_probes").n = 570


def f5_zero_target(d: Design) -> None:
    category(d, "unsafe_output").target_rate = 0.0


def f6_uncalibrated_judge(d: Design) -> None:
    """F6: κ=0.45 on 50 items is not a valid gate."""
    cal = metric(d, "resolution_rate").judge.calibration
    cal.n, cal.kappa = 50, 0.45


def f6_lenient_judge(d: Design) -> None:
    """F6: judged 0.85 with sens .95, spec .60 corrects to 0.818, below the 0.85 gate."""
    m = metric(d, "resolution_rate")
    m.threshold = 0.85
    m.judge.calibration.sensitivity, m.judge.calibration.specificity = 0.95, 0.60
    m.judge.gate_on_corrected = False  # the flaw: the gate reads the raw judged rate


def floating_judge(d: Design) -> None:
    metric(d, "resolution_rate").judge.version = "gpt-4.1"


def one_order_pairwise(d: Design) -> None:
    judge = metric(d, "resolution_rate").judge
    judge.pairwise, judge.both_orders = True, False


def same_vendor_judge(d: Design) -> None:
    judge = metric(d, "resolution_rate").judge
    judge.model, judge.version = "claude-opus-4-1", "claude-opus-4-1-20250805"


def synthetic_only(d: Design) -> None:
    for source in d.evaluation.golden_set.sources:
        if source.kind == "production":
            source.kind = "synthetic"


def thin_production(d: Design) -> None:
    shares = {"prod_tickets_q3": 0.2, "expert_cases": 0.4, "red_team_2026_10": 0.4}
    for source in d.evaluation.golden_set.sources:
        source.share = shares[source.id]


def no_red_team(d: Design) -> None:
    d.evaluation.golden_set.sources = [
        s for s in d.evaluation.golden_set.sources if s.kind != "adversarial"
    ]


def undated_source(d: Design) -> None:
    d.evaluation.golden_set.sources[0].date = None


def stale_without_refresh(d: Design) -> None:
    d.evaluation.golden_set.created_at = dt.date(2020, 1, 1)
    d.iteration.golden_refresh_days = None


def no_leakage_check(d: Design) -> None:
    d.evaluation.leakage_check = None


def leaked_items(d: Design) -> None:
    d.evaluation.leakage_overlap = 14


def small_holdout(d: Design) -> None:
    d.evaluation.golden_set.holdout_fraction = 0.1


def no_pii_category(d: Design) -> None:
    d.evaluation.failure_taxonomy = [c for c in d.evaluation.failure_taxonomy if c.id != "pii_leak"]


def category_without_detector(d: Design) -> None:
    category(d, "over_refusal").detector = None


def category_without_slice(d: Design) -> None:
    category(d, "over_refusal").slice_ids = []


def single_hot_run(d: Design) -> None:
    d.evaluation.runs_k, d.evaluation.temperature = 1, 0.7


def floating_model_single_run(d: Design) -> None:
    d.evaluation.runs_k, d.evaluation.temperature = 1, 0.0
    d.architecture.versions.model = "claude-sonnet-4-5"


FLAWED: list[tuple[str, str, Mutation, tuple[str, ...]]] = [
    ("EVAL-001", "0.90 gate on 100 items", f1_small_golden_set, ("n=100", "±0.060", "141")),
    ("EVAL-002", "0.85 on 200 vs baseline 0.80", f2_indistinguishable, ("0.794", "246")),
    ("EVAL-002", "threshold below the baseline", f2_threshold_below_baseline, ("0.55",)),
    ("EVAL-003", "0.90 gate on a 12-item slice", f3_thin_slice, ("12 items", "±0.18", "30")),
    ("EVAL-003", "0.90 gate on a 36-item slice", f3_slice_below_n_min, ("n ≥ 37",)),
    ("EVAL-003", "no slice per language", no_language_slice, ("locale", "language")),
    ("EVAL-004", "10 uncorrected gates", f3_ten_gates, ("10 gates", "40%", "2.81", "290")),
    ("EVAL-005", "2 pp tolerance on 500 items", f4_tolerance_below_mde,
     ("2 pp", "5.6 pp", "3.5 pp", "1,546")),
    ("EVAL-006", "0/500 for a 0.1% target", f5_zero_failures_undersized,
     ("0/500", "0.60%", "0.1%", "2,995")),
    ("EVAL-006", "2/570 for a 1% target", f5_some_failures_undersized, ("2/570", "1.1%", "628")),
    ("EVAL-006", "a zero target rate", f5_zero_target, ("target rate of 0",)),
    ("EVAL-007", "κ=0.45 on 50 items", f6_uncalibrated_judge, ("κ=0.45 on 50 items", "196")),
    ("EVAL-007", "lenient judge at 0.85", f6_lenient_judge,
     ("judged 0.85", "sens .95", "spec .60", "0.818")),
    ("EVAL-008", "floating judge alias", floating_judge, ("'gpt-4.1'",)),
    ("EVAL-008", "pairwise in one order", one_order_pairwise, ("position bias",)),
    ("EVAL-008", "judge from the candidate's vendor", same_vendor_judge, ("Anthropic",)),
    ("EVAL-009", "no production items", synthetic_only, ("no production items",)),
    ("EVAL-009", "20% production items", thin_production, ("20%", "30%")),
    ("EVAL-009", "user-facing without red team", no_red_team, ("adversarial",)),
    ("EVAL-009", "undated source", undated_source, ("prod_tickets_q3",)),
    ("EVAL-009", "stale and never refreshed", stale_without_refresh, ("days old",)),
    ("EVAL-010", "no leakage check", no_leakage_check, ("overlap",)),
    ("EVAL-010", "14 leaked items", leaked_items, ("14 golden items",)),
    ("EVAL-010", "10% holdout", small_holdout, ("10%", "20%")),
    ("EVAL-011", "no PII-leak category", no_pii_category, ("PII or secret leak",)),
    ("EVAL-011", "category without detector", category_without_detector, ("a detector",)),
    ("EVAL-011", "category without slice", category_without_slice, ("n > 0",)),
    ("EVAL-012", "single run at T=0.7", single_hot_run, ("Single run", "T=0.7")),
    ("EVAL-012", "single run on a floating model", floating_model_single_run,
     ("'claude-sonnet-4-5'",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule_id", "flaw", "mutation", "expected"),
    FLAWED,
    ids=[f"{r}: {flaw}" for r, flaw, _, _ in FLAWED],
)
def test_a_flawed_design_raises_the_rule_with_the_catalog_numbers(
    rule_id: str, flaw: str, mutation: Mutation, expected: tuple[str, ...]
) -> None:
    assert not violations(rule_id, support())
    assert_raises(rule_id, mutated(mutation), expected, flaw=flaw, severity=CATALOG[rule_id])


def test_an_unsized_golden_set_makes_precision_not_evaluable() -> None:
    def unsized(d: Design) -> None:
        d.evaluation.golden_set.size = None

    (finding,) = findings("EVAL-001", mutated(unsized))
    assert finding.kind == "not_evaluable"
    assert finding.paths == ["evaluation.golden_set.size"]


def test_the_artifact_numbers_are_the_ones_the_rules_use() -> None:
    numbers = evaluation.evaluation_numbers(mutated(f2_indistinguishable), SETTINGS)
    cited = numbers["citation_precision"]
    assert (cited["n"], cited["n_distinguishable"], round(cited["bound"], 3)) == (200, 246, 0.794)
    assert numbers["resolution_rate"]["n_min"] <= numbers["resolution_rate"]["n"]


def test_a_declared_correction_silences_the_multiplicity_warning() -> None:
    def corrected(d: Design) -> None:
        f3_ten_gates(d)
        d.evaluation.multiplicity = "holm"

    assert not violations("EVAL-004", mutated(corrected))


def test_a_gate_on_the_corrected_rate_silences_the_rogan_gladen_check() -> None:
    def corrected(d: Design) -> None:
        f6_lenient_judge(d)
        metric(d, "resolution_rate").judge.gate_on_corrected = True

    assert not violations("EVAL-007", mutated(corrected))


def test_a_paired_comparison_lowers_the_detectable_regression() -> None:
    def paired(d: Design) -> None:
        f4_tolerance_below_mde(d)
        d.evaluation.comparison = "paired"
        metric(d, "citation_precision").n = 1546

    assert not violations("EVAL-005", mutated(paired))


# --------------------------------------------------------------------------- §F formulas


def test_the_golden_set_mde_helpers_reproduce_f4() -> None:
    unpaired = RuleSettings()
    assert round(evaluation.golden_mde(0.85, 500, unpaired, paired=False), 4) == 0.0562
    assert round(evaluation.golden_mde(0.85, 500, unpaired, paired=True), 4) == 0.0352
    assert evaluation.golden_n_for_mde(0.85, 0.02, unpaired, paired=False) == 3942
    assert evaluation.golden_n_for_mde(0.85, 0.02, unpaired, paired=True) == 1546


@pytest.mark.parametrize(("k", "rate"), [(0, 0.001), (0, 0.01), (1, 0.01), (2, 0.01), (5, 0.03)])
def test_the_items_needed_for_a_failure_bound_are_the_smallest_that_reach_it(
    k: int, rate: float
) -> None:
    n = evaluation.n_for_failure_bound(k, rate, 0.05)
    assert n is not None
    assert stats.clopper_pearson_upper(k, n, alpha=0.05) <= rate
    assert n - 1 <= k or stats.clopper_pearson_upper(k, n - 1, alpha=0.05) > rate


def test_the_failure_bound_reproduces_f5() -> None:
    assert evaluation.n_for_failure_bound(0, 0.001, 0.05) == 2995
    assert evaluation.n_for_failure_bound(0, 0.01, 0.05) == 299
    assert evaluation.n_for_failure_bound(2, 0.01, 0.05) == 628
