"""The rule engine: evaluate() equals running each rule alone, and step feedback is exact."""

from __future__ import annotations

import pytest

from ml_systemization.examples import EXAMPLES, example_design
from ml_systemization.findings import (
    SEVERITY_ORDER,
    Finding,
    evaluate,
    registry,
    run_rule,
    step_feedback,
)
from ml_systemization.model import Design
from ml_systemization.settings import RuleSettings

SETTINGS = RuleSettings()


def one_by_one(design: Design, touching: str | None = None) -> list[Finding]:
    found = [
        finding
        for rule in registry().values()
        if touching is None or touching in rule.reads
        for finding in run_rule(rule, design, SETTINGS)
    ]
    found.sort(key=lambda f: (f.kind != "violation", SEVERITY_ORDER[f.severity], f.rule_id))
    return found


def designs() -> list[Design]:
    variants = [Design()]
    for name in EXAMPLES:
        full = example_design(name)
        variants.append(full)
        for section in ("evaluation", "monitoring", "rollout", "architecture", "io_contract"):
            variants.append(full.model_copy(update={section: type(getattr(full, section))()}))
        thin = full.model_copy(deep=True)
        thin.monitoring.signals = thin.monitoring.signals[:3]
        thin.evaluation.metrics = thin.evaluation.metrics[:1]
        variants.append(thin)
    return variants


@pytest.mark.parametrize("touching", [None, "evaluation", "monitoring", "context"])
def test_evaluate_gives_the_same_findings_as_each_rule_run_alone(touching: str | None) -> None:
    for design in designs():
        assert evaluate(design, SETTINGS, touching=touching) == one_by_one(design, touching)


def test_the_shipped_examples_raise_no_error() -> None:
    for name in EXAMPLES:
        errors = [f for f in evaluate(example_design(name), SETTINGS) if f.severity == "error"]
        assert errors == [], name


def test_step_feedback_names_the_rules_a_change_fixed_and_those_still_unevaluable() -> None:
    good = example_design("support_assistant")
    broken = good.model_copy(deep=True)
    broken.evaluation.golden_set.size = 50
    for metric in broken.evaluation.metrics:
        metric.n = None
    before = step_feedback(good, broken, SETTINGS, touching="evaluation")
    assert "EVAL-001" in {f.rule_id for f in before.findings}
    after = step_feedback(broken, good, SETTINGS, touching="evaluation")
    assert "EVAL-001" in after.resolved
    assert after.findings == [f for f in after.findings if f.kind == "violation"]
    empty = step_feedback(None, Design(), SETTINGS, touching="baseline")
    assert "BASE-001" in empty.not_evaluable
    assert empty.resolved == []
