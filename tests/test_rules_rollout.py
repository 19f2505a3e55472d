"""Rollout rules ROLL-001..009 against the catalog's worked examples (§F7-F10)."""

from __future__ import annotations

import pytest

from ml_systemization.examples import EXAMPLES
from ml_systemization.model import Design, RollbackTrigger, Stage
from ml_systemization.rules import rollout
from ml_systemization.settings import RuleSettings
from ml_systemization.stats import sidak_alpha
from rules_support import (
    SETTINGS,
    Mutation,
    both,
    example,
    family_catalog,
    findings,
    mutated,
    set_field,
    violations,
)

CATALOG_SEVERITY = family_catalog("ROLL")


def _trigger(trigger_id: str, signal: str, **fields: object) -> RollbackTrigger:
    spec: dict[str, object] = {
        "comparator": ">",
        "threshold": 0.02,
        "window_min": 60,
        "min_samples": 50,
        "action": "auto_rollback",
        "on_no_data": "fail",
        "sample_rate": 1.0,
        **fields,
    }
    return RollbackTrigger.model_validate({"id": trigger_id, "signal_id": signal, **spec})


# --------------------------------------------------------------------------- §F designs


def f7_canary(d: Design) -> None:
    """F7: T=20,000 req/h, a 5% stage for 1 h, errors 1.0% -> 1.5%, alpha 0.05, power 0.8."""
    d.context.traffic.req_per_hour = 20_000
    d.rollout.alpha = None
    d.rollout.control = "concurrent_baseline"
    d.rollout.stages = [
        Stage(
            id="canary_5pct",
            fraction=0.05,
            duration_h=1,
            gate_signal="fallback_rate",
            p0=0.010,
            p1=0.015,
            judgment="threshold",
        )
    ]
    d.rollout.rollback_triggers = [_trigger("rb_fallback", "fallback_rate")]


def f7_rest_of_fleet(d: Design) -> None:
    f7_canary(d)
    d.rollout.control = "rest_of_fleet"


def f8_trigger(d: Design) -> None:
    """F8: a 1% stage of 20k req/h for 30 min; 'error_rate > 2% over 1 h, min 1,000 req'."""
    d.context.traffic.req_per_hour = 20_000
    d.rollout.stages = [
        Stage(id="canary_1pct", fraction=0.01, duration_h=0.5),
        Stage(id="canary_50pct", fraction=0.5, duration_h=24),
    ]
    d.rollout.rollback_triggers = [
        _trigger("rb_errors", "error_rate", window_min=60, min_samples=1000)
    ]


def f8_kayenta(d: Design) -> None:
    """F8: a 30-min statistical stage with a 60 s metric step."""
    d.rollout.stages[0].duration_h = 0.5
    d.rollout.stages[0].metric_step_s = 60


def f9_false_rollbacks(d: Design) -> None:
    """F9: 8 metrics tested in each of 3 stages at alpha 0.05."""
    d.rollout.alpha = 0.05
    d.rollout.rollback_triggers = [_trigger(f"rb_{i}", f"signal_{i}") for i in range(8)]
    for stage in d.rollout.stages:
        stage.gate_signal = "signal_0"


def f10_budget(d: Design) -> None:
    """F10: 30,000 budgeted errors; a 5% stage of 41,667 req/h for 6 h at a 20% defect rate."""
    d.architecture.slo.availability = 0.999
    d.context.traffic.req_per_month = 30_000_000
    d.context.traffic.req_per_hour = 41_667
    d.rollout.defect_rate = 0.20
    d.rollout.stages = [Stage(id="canary_5pct", fraction=0.05, duration_h=6)]


def _first_trigger(field: str, value: object) -> Mutation:
    def mutation(d: Design) -> None:
        setattr(d.rollout.rollback_triggers[0], field, value)

    return mutation


HALF_BUDGET_SHARE = RuleSettings(canary_budget_share=0.05)

FLAWED: list[tuple[str, str, Mutation, RuleSettings, tuple[str, ...]]] = [
    (
        "ROLL-001",
        "rollback needs a redeploy",
        set_field("rollout.flag.runtime", False),
        SETTINGS,
        ("redeploy",),
    ),
    ("ROLL-001", "flag defaults to on", set_field("rollout.flag.default", "on"), SETTINGS, ("on",)),
    (
        "ROLL-001",
        "kill switch is not the I/O fallback",
        set_field("rollout.flag.kill_switch_target", "bigger_model"),
        SETTINGS,
        ("'bigger_model'", "'helpcenter_search'"),
    ),
    (
        "ROLL-001",
        "rollback takes 15 min",
        set_field("rollout.flag.rollback_time_min", 15),
        SETTINGS,
        ("15 min", "5 min"),
    ),
    (
        "ROLL-002",
        "F7: shadow of 600 requests against 6,105",
        both(
            f7_canary,
            set_field("rollout.shadow.fraction", 0.03),
            set_field("rollout.shadow.duration_h", 1),
        ),
        SETTINGS,
        ("Shadow sees 600 requests", "6,105 are needed"),
    ),
    (
        "ROLL-002",
        "shadow outputs not scored",
        set_field("rollout.shadow.scored", False),
        SETTINGS,
        ("not scored",),
    ),
    (
        "ROLL-003",
        "F7: a 5% stage for 1 h against a same-size baseline",
        f7_canary,
        SETTINGS,
        ("1,000 samples", "1% to 1.5%", "6,105", "6.11 h", "k=1"),
    ),
    (
        "ROLL-003",
        "F7: the same stage against the rest of the fleet",
        f7_rest_of_fleet,
        SETTINGS,
        ("3,005", "3.00 h", "k=19"),
    ),
    (
        "ROLL-004",
        "F8: 100 requests in a 30-min stage against min_samples 1,000",
        f8_trigger,
        SETTINGS,
        ("'rb_errors'", "100 samples", "5.00 h", "'canary_1pct'"),
    ),
    (
        "ROLL-004",
        "a trigger without min_samples",
        _first_trigger("min_samples", None),
        SETTINGS,
        ("no min_samples",),
    ),
    ("ROLL-005", "F8: 30 points in a 30-min stage", f8_kayenta, SETTINGS, ("30 points", "50")),
    (
        "ROLL-006",
        "before/after comparison",
        set_field("rollout.control", "before_after"),
        SETTINGS,
        ("Before/after",),
    ),
    (
        "ROLL-007",
        "F10: 2,500 of 30,000 errors with a 5% share allowed",
        f10_budget,
        HALF_BUDGET_SHARE,
        ("2,500 of 30,000", "8.3%", "5%"),
    ),
    (
        "ROLL-008",
        "F9: 8 metrics x 3 stages at alpha 0.05",
        f9_false_rollbacks,
        SETTINGS,
        ("8 metrics x 3 stages", "0.708"),
    ),
    (
        "ROLL-009",
        "missing data counts as success",
        _first_trigger("on_no_data", "pass"),
        SETTINGS,
        ("treats missing data as success",),
    ),
    (
        "ROLL-009",
        "a trigger without comparator",
        _first_trigger("comparator", None),
        SETTINGS,
        ("lacks comparator",),
    ),
]


@pytest.mark.parametrize(
    ("rule_id", "flaw", "mutation", "settings", "expected"),
    FLAWED,
    ids=[f"{rule_id}: {flaw}" for rule_id, flaw, _, _, _ in FLAWED],
)
def test_a_design_with_one_flaw_raises_that_rule_with_the_computed_numbers(
    rule_id: str,
    flaw: str,
    mutation: Mutation,
    settings: RuleSettings,
    expected: tuple[str, ...],
) -> None:
    messages = violations(rule_id, mutated(mutation), settings)
    assert messages, f"{rule_id} did not fire for: {flaw}"
    assert any(all(text in m for text in expected) for m in messages), messages


# --------------------------------------------------------------------------- §F numbers


def test_stage_requirements_reproduce_f7_for_both_controls() -> None:
    (same,) = rollout.stage_requirements(mutated(f7_canary), SETTINGS).values()
    assert same["n_required"] == 6105
    assert same["min_duration_h"] == pytest.approx(6.105)
    (fleet,) = rollout.stage_requirements(mutated(f7_rest_of_fleet), SETTINGS).values()
    assert fleet["n_required"] == 3005
    assert fleet["min_duration_h"] == pytest.approx(3.005)


def test_the_f7_fix_offers_the_rest_of_the_fleet_at_3_hours() -> None:
    (finding,) = [f for f in findings("ROLL-003", mutated(f7_canary)) if f.kind == "violation"]
    assert "Lengthen the stage to ≥ 6.11 h" in finding.fix
    assert "k=19 gives 3.00 h" in finding.fix
    assert finding.fix.endswith("plan_rollout.")


def test_a_before_after_control_sizes_the_canary_like_a_same_size_baseline() -> None:
    design = mutated(both(f7_canary, set_field("rollout.control", "before_after")))
    (numbers,) = rollout.stage_requirements(design, SETTINGS).values()
    assert numbers["n_required"] == 6105
    assert violations("ROLL-006", design)


def test_a_sparse_gate_signal_lengthens_the_stage_by_its_label_rate() -> None:
    def sparse(d: Design) -> None:
        f7_canary(d)
        d.rollout.stages[0].gate_signal = "draft_acceptance_rate"  # label rate 0.9

    (numbers,) = rollout.stage_requirements(mutated(sparse), SETTINGS).values()
    assert numbers["min_duration_h"] == pytest.approx(6105 / (20_000 * 0.05 * 0.9))


def test_trigger_feasibility_reproduces_f8() -> None:
    feasibility = rollout.trigger_feasibility(mutated(f8_trigger))
    assert feasibility["rb_errors"] == {
        "feasible": False,
        "stage": "canary_1pct",
        "samples_in_window": pytest.approx(100),
        "min_stage_h": pytest.approx(5.0),
    }


def test_a_sparse_feedback_signal_yields_20_events_an_hour_at_a_5_percent_stage() -> None:
    def feedback(d: Design) -> None:
        d.context.traffic.req_per_hour = 20_000
        d.rollout.stages = [Stage(id="canary_5pct", fraction=0.05, duration_h=24)]
        d.rollout.rollback_triggers = [
            _trigger("rb_thumbs", "thumbs_down_rate", sample_rate=0.02, min_samples=100)
        ]

    design = mutated(feedback)
    numbers = rollout.trigger_feasibility(design)["rb_thumbs"]
    assert numbers["samples_in_window"] == pytest.approx(20)
    assert numbers["min_stage_h"] == pytest.approx(5.0)
    (message,) = violations("ROLL-004", design)
    assert "20 samples" in message and "5.00 h" in message


def test_a_trigger_is_checked_in_every_stage_not_only_the_first() -> None:
    def short_late_stage(d: Design) -> None:
        f8_trigger(d)
        d.rollout.stages[0].duration_h = 24
        d.rollout.stages[0].fraction = 0.1  # 2,000 per hour: fine
        d.rollout.stages[1].duration_h = 0.25  # shorter than the 60-min window

    (message,) = violations("ROLL-004", mutated(short_late_stage))
    assert "'canary_50pct'" in message and "longer than the stage" in message


def test_false_rollback_rates_reproduce_f9() -> None:
    three = mutated(f9_false_rollbacks)
    rate = rollout.false_rollback_rate(three, SETTINGS)
    assert rate is not None and round(rate, 3) == 0.708

    def one_stage(d: Design) -> None:
        f9_false_rollbacks(d)
        del d.rollout.stages[1:]

    one = mutated(one_stage)
    rate = rollout.false_rollback_rate(one, SETTINGS)
    assert rate is not None and round(rate, 3) == 0.337
    assert round(sidak_alpha(0.10, 24), 5) == 0.00438


def test_the_f9_fix_names_the_sidak_alpha_for_24_tests() -> None:
    (finding,) = findings("ROLL-008", mutated(f9_false_rollbacks))
    assert "rollout.alpha to 0.00438" in finding.fix and "24 tests" in finding.fix


def test_the_f10_stage_burns_8_3_percent_of_the_error_budget() -> None:
    design = mutated(f10_budget)
    (numbers,) = rollout.stage_requirements(design, SETTINGS).values()
    assert numbers["budget_share"] == pytest.approx(2500 / 30_000, rel=1e-4)
    assert violations("ROLL-007", design) == []  # 8.3% fits the default 10% share


# --------------------------------------------------------------------------- examples, empty


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_shipped_examples_break_no_rollout_rule_and_are_fully_evaluable(name: str) -> None:
    design = example(name)
    for rule_id in CATALOG_SEVERITY:
        found = findings(rule_id, design)
        assert found == [], (rule_id, [f.message for f in found])


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_stage_and_trigger_of_an_example_gets_its_computed_numbers(name: str) -> None:
    design = example(name)
    stages = rollout.stage_requirements(design, SETTINGS)
    assert set(stages) == {s.id for s in design.rollout.stages}
    for numbers in stages.values():
        assert {"n_required", "min_duration_h", "expected_samples", "data_points"} <= set(numbers)
        assert numbers["min_duration_h"] <= 24 * 2
    triggers = rollout.trigger_feasibility(design)
    assert set(triggers) == {t.id for t in design.rollout.rollback_triggers}
    assert all(t["feasible"] for t in triggers.values())
    rate = rollout.false_rollback_rate(design, SETTINGS)
    assert rate is not None and rate <= SETTINGS.max_false_rollback


def test_a_gated_stage_without_its_regression_is_not_evaluable_for_roll_003() -> None:
    def no_p1(d: Design) -> None:
        d.rollout.stages[0].p1 = None

    (finding,) = findings("ROLL-003", mutated(no_p1))
    assert finding.kind == "not_evaluable"
    assert finding.paths == ["rollout.stages[canary_5pct].p1"]
