"""Baseline rules BASE-001..004, with the F4 MDE and F15 cost-per-extra-success examples."""

from __future__ import annotations

import pytest

from ml_systemization import stats
from ml_systemization.model import Design, LLMSpec
from ml_systemization.rules import baseline
from rules_support import CATALOG, Mutation, assert_raises, metric, mutated, support, violations

# --------------------------------------------------------------------------- flawed designs


def no_description(d: Design) -> None:
    d.baseline.description = "  "


def no_type(d: Design) -> None:
    d.baseline.type = None


def unscored_metric(d: Design) -> None:
    del d.baseline.scores["citation_precision"]


def unscored_slice(d: Design) -> None:
    del d.baseline.scores_by_slice["lang_non_en"]


def scored_on_old_golden_set(d: Design) -> None:
    d.baseline.scored_on_golden_hash = "sha256:0000old"


def no_expected_lift(d: Design) -> None:
    d.baseline.expected_lift = None


def f4_lift_below_mde(d: Design) -> None:
    """F4: a 2 pp lift on n=500 at 0.85, unpaired, is below the 5.6 pp MDE."""
    d.evaluation.comparison = "unpaired"
    m = metric(d, "resolution_rate")
    m.threshold, m.n = 0.85, 500
    d.baseline.expected_lift = 0.02


def no_gain_in_success(d: Design) -> None:
    d.baseline.expected_success_rate = 0.50


def f15_llm(d: Design) -> None:
    """F15: 1,500 in / 300 out tokens at $3/$15 per M, 20% cache hits, 0.5 tool calls at
    $0.005: $0.0092 per request."""
    d.architecture.llm = LLMSpec(
        model="claude-sonnet-4-5-20250929",
        input_tokens=1500,
        output_tokens=300,
        price_in_per_mtok=3.0,
        price_out_per_mtok=15.0,
        calls_per_request=1,
        tool_calls_per_request=0.5,
        price_per_tool_call_usd=0.005,
    )
    d.architecture.cache.hit_rate = 0.20


def f15_icps_above_value(d: Design) -> None:
    """F15: against a baseline at $0.0005 and 0.70 success, 0.85 success costs $0.0580 per extra
    success, above a $0.05 value."""
    f15_llm(d)
    b = d.baseline
    b.cost_per_request_usd, b.success_rate = 0.0005, 0.70
    b.expected_success_rate, b.value_per_success_usd = 0.85, 0.05


def complex_without_simple_arm(d: Design) -> None:
    d.architecture.llm.model = d.architecture.versions.model = "claude-opus-4-1-20250805"
    d.architecture.uses_tools = True
    d.evaluation.arms = [a for a in d.evaluation.arms if "challenger" not in a]


FLAWED: list[tuple[str, str, Mutation, tuple[str, ...]]] = [
    ("BASE-001", "blank description", no_description, ("baseline.description", "simplest")),
    ("BASE-001", "no type", no_type, ("baseline.type",)),
    ("BASE-002", "a gated metric without a baseline score", unscored_metric,
     ("citation_precision", "sha256:7b2f9e0c", "EVAL-002/EVAL-005")),
    ("BASE-002", "a slice gate without a baseline score", unscored_slice, ("lang_non_en",)),
    ("BASE-002", "scores from an older golden set", scored_on_old_golden_set,
     ("sha256:0000old",)),
    ("BASE-003", "no expected lift", no_expected_lift, ("expected lift",)),
    ("BASE-003", "lift below the golden set's MDE", f4_lift_below_mde,
     ("Expected lift 2 pp", "5.6 pp")),
    ("BASE-003", "no gain in success rate", no_gain_in_success, ("0.5", "0.55")),
    ("BASE-003", "extra success costs more than it is worth", f15_icps_above_value,
     ("$0.0580", "$0.00920", "$0.0005", "$0.05")),
    ("BASE-004", "largest tier and tools without a simple arm", complex_without_simple_arm,
     ("largest model tier", "agent/tool loop")),
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
    assert_raises(
        rule_id, mutated(mutation), expected, flaw=flaw, severity=CATALOG[rule_id], with_paths=True
    )


def test_a_simple_design_needs_no_simplest_ai_arm() -> None:
    def tools_only(d: Design) -> None:
        d.architecture.uses_tools = True
        d.evaluation.arms = []

    assert baseline.complexity_features(mutated(tools_only)) == ["agent/tool loop"]
    assert not violations("BASE-004", mutated(tools_only))


def test_the_cost_formulas_reproduce_the_catalog_worked_examples() -> None:
    d = mutated(f15_llm)
    per_request = baseline.ai_cost_per_request(d)
    assert per_request is not None
    assert round(per_request * 1_000_000) == 9200
    extra = stats.incremental_cost_per_success(per_request, 0.85, 0.0005, 0.70)
    assert extra is not None
    assert round(extra, 4) == 0.0580

    def prefix_cached(design: Design) -> None:
        f15_llm(design)
        design.architecture.llm.cached_input_tokens = 1200

    cached = baseline.ai_cost_per_request(mutated(prefix_cached))
    assert cached is not None
    assert round(cached * 1_000_000) == 6608
