"""Iteration rules ITER-001..006: each flags a deliberately broken design with the catalog's
numbers (§F11-§F13), stays silent on the shipped examples, and reports "not evaluable" on an
empty design (those two checks, shared by every family, are in test_rules_families.py)."""

from __future__ import annotations

import pytest

from ml_systemization.examples import EXAMPLES
from ml_systemization.model import Change, Design
from ml_systemization.rules.iteration import (
    ab_plan_numbers,
    holdout_n_min,
    mde_continuous,
    peeking_numbers,
    round_up_3sf,
    srm_example,
)
from rules_support import SETTINGS, Mutation, assert_raises, example, findings, mutated

# --------------------------------------------------------------------------- mutations


def _vague_trigger(d: Design) -> None:
    trigger = d.iteration.triggers[0]
    trigger.condition = "retrain when performance drops"


def _trigger_on_an_unknown_signal(d: Design) -> None:
    d.iteration.triggers[0].signal_id = "judge_fail_rate"


def _twice_weekly_ab(d: Design) -> None:
    """F11: 0.10 → 0.11 needs 14,751 per arm; 5,000 eligible a day at 50/50 → 5.90 days."""
    ab = d.iteration.ab
    ab.p0, ab.mde, ab.alpha, ab.power, ab.share_per_arm, ab.cadence_days = (
        0.10,
        0.01,
        0.05,
        0.8,
        0.5,
        3,
    )
    d.context.traffic.ab_daily_eligible = 5000


def _continuous_metric_weekly(d: Design) -> None:
    """F11 continuous: sigma=1, δ=0.05 → 6,280 per arm; 500 a day per arm → 12.6 days."""
    ab = d.iteration.ab
    ab.p0, ab.sigma, ab.mde, ab.share_per_arm, ab.cadence_days = None, 1.0, 0.05, 0.5, 7
    ab.alpha, ab.power = 0.05, 0.8
    d.context.traffic.ab_daily_eligible = 1000


def _five_fixed_looks(d: Design) -> None:
    d.iteration.ab.looks, d.iteration.ab.method = 5, "fixed"


def _no_srm_check(d: Design) -> None:
    d.iteration.ab.srm_check = False


def _no_cost_guardrail(d: Design) -> None:
    d.iteration.ab.guardrails = [g for g in d.iteration.ab.guardrails if "cost" not in g]


def _guardrail_without_margin(d: Design) -> None:
    d.iteration.ab.guardrails.append("csat does not drop")


def _prompt_hotfix_skips_eval(d: Design) -> None:
    d.iteration.changes.append(Change(id="prompt_hotfix", gates=["canary"]))


def _no_judge_change_path(d: Design) -> None:
    d.iteration.changes = [c for c in d.iteration.changes if c.id != "judge"]


def _tiny_holdout(d: Design) -> None:
    d.evaluation.golden_set.holdout_fraction = 0.05


def _no_incidents_in_golden(d: Design) -> None:
    d.iteration.incidents_to_golden = False


BROKEN = [
    ("ITER-001", "a vague trigger", _vague_trigger, ["'retrain when performance drops'"]),
    (
        "ITER-001",
        "a trigger on an unknown signal",
        _trigger_on_an_unknown_signal,
        ["which monitoring does not produce"],
    ),
    (
        "ITER-002",
        "a twice-weekly cadence",
        _twice_weekly_ab,
        ["14,751 per arm", "5.90 days", "run 7", "3-day cadence", "0.00917", "0.917 pp"],
    ),
    ("ITER-002", "a continuous metric", _continuous_metric_weekly, ["6,280 per arm", "run 14"]),
    ("ITER-003", "5 fixed looks", _five_fixed_looks, ["overall α of 0.142", "z=2.41"]),  # noqa: RUF001
    ("ITER-004", "no SRM check", _no_srm_check, ["50,000 vs 48,800", "χ²=14.6", "p=1.35e-4"]),
    ("ITER-004", "no cost guardrail", _no_cost_guardrail, ["lack cost per request"]),
    ("ITER-004", "a guardrail without margin", _guardrail_without_margin, ["'csat does not"]),
    ("ITER-005", "a prompt hotfix skipping eval", _prompt_hotfix_skips_eval, ["golden"]),
    ("ITER-005", "no judge change path", _no_judge_change_path, ["No change path for judge"]),
    ("ITER-006", "a 120-item holdout", _tiny_holdout, ["120 items", "n ≥ 245"]),
    ("ITER-006", "incidents not added", _no_incidents_in_golden, ["Incidents are not added"]),
]


@pytest.mark.parametrize(
    ("rule_id", "mutate", "expected"),
    [pytest.param(r, m, e, id=f"{r}: {desc}") for r, desc, m, e in BROKEN],
)
def test_a_deliberately_broken_design_raises_the_rule_with_its_numbers(
    rule_id: str, mutate: Mutation, expected: list[str]
) -> None:
    assert_raises(rule_id, mutated(mutate), expected)


def test_peeking_with_a_sequential_method_or_a_single_look_is_fine() -> None:
    def sequential(d: Design) -> None:
        d.iteration.ab.looks, d.iteration.ab.method = 5, "group_sequential"

    def single_look(d: Design) -> None:
        d.iteration.ab.looks, d.iteration.ab.method = 1, "fixed"

    assert findings("ITER-003", mutated(sequential)) == []
    assert findings("ITER-003", mutated(single_look)) == []


# --------------------------------------------------------------------------- §F oracle


def test_ab_sizing_reproduces_f11() -> None:
    numbers = ab_plan_numbers(mutated(_twice_weekly_ab), SETTINGS)
    assert numbers is not None
    assert numbers["n_per_arm"] == 14751
    assert numbers["days_needed"] == pytest.approx(5.90, abs=0.005)
    assert numbers["duration_days"] == 7
    assert numbers["mde_within_cadence"] == pytest.approx(0.00917)
    continuous = ab_plan_numbers(mutated(_continuous_metric_weekly), SETTINGS)
    assert continuous is not None
    assert continuous["n_per_arm"] == 6280
    assert mde_continuous(1.0, 6280, 0.05, 0.8) == pytest.approx(0.05, abs=1e-4)


def test_the_mde_is_rounded_up_so_it_is_never_understated() -> None:
    assert round_up_3sf(0.0091649) == pytest.approx(0.00917)
    assert round_up_3sf(0.00917) == pytest.approx(0.00917)
    assert round_up_3sf(14.41) == pytest.approx(14.5)


def test_peeking_reproduces_f12_and_extends_beyond_the_table() -> None:
    crit, overall, pocock = peeking_numbers(5, 0.05)
    assert (round(crit, 2), round(overall, 3), round(pocock, 2)) == (1.96, 0.142, 2.41)
    assert peeking_numbers(10, 0.05)[1] == pytest.approx(0.193, abs=5e-4)
    # Outside stats' table the same quantities come from the recursive integration.
    assert peeking_numbers(5, 0.0500001)[1] == pytest.approx(0.1417, abs=2e-4)
    assert peeking_numbers(5, 0.0500001)[2] == pytest.approx(2.413, abs=2e-3)
    twelve = peeking_numbers(12, 0.05)
    assert 0.193 < twelve[1] < 0.25
    assert twelve[2] > 2.555


def test_the_srm_illustration_reproduces_f13() -> None:
    chi2, p = srm_example()
    assert chi2 == pytest.approx(14.6, abs=0.05)
    assert p == pytest.approx(1.35e-4, rel=5e-3)


def test_the_holdout_minimum_is_evaluation_001s_n_min() -> None:
    assert holdout_n_min(example("support_assistant"), SETTINGS) == 245


def test_the_examples_ab_plans_fit_their_cadence() -> None:
    for name in EXAMPLES:
        numbers = ab_plan_numbers(example(name), SETTINGS)
        assert numbers is not None
        assert numbers["duration_days"] <= (example(name).iteration.ab.cadence_days or 0)
