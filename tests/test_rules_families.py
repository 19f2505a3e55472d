"""What every rule family's tests used to check on their own: each rule is registered with the
catalog's severity and its family's area, raises nothing on the shipped examples, and on an
empty design reports "not evaluable" rather than staying silent (or, where it does not apply
to an empty design, stays silent). Test ids name the family (the rules' area) and the rule."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from ml_systemization.examples import EXAMPLES
from ml_systemization.findings import registry
from ml_systemization.model import Design
from rules_support import example, family_catalog, findings

SEED = ("SEED-001", "SEED-002", "SEED-003")
CARD = tuple(sorted(set(family_catalog("CARD")) - {"CARD-002"}))  # CARD-002 is not checked


def _all(prefix: str) -> tuple[str, ...]:
    return tuple(sorted(family_catalog(prefix)))


def _errors(prefix: str) -> tuple[str, ...]:
    return tuple(sorted(r for r, sev in family_catalog(prefix).items() if sev == "error"))


# Architecture and rollout check the examples rule by rule in their own modules.
CLEAN_ON_THE_EXAMPLES: dict[str, tuple[str, ...]] = {
    "baseline": _all("BASE"),
    "io_contract": _all("IO"),
    "evaluation": _all("EVAL"),
    "monitoring": _errors("MON"),
    "iteration": _errors("ITER"),
    "card": CARD,
    "cross_step": _errors("XS"),
    "seed": SEED,
}
NOT_EVALUABLE_WHEN_EMPTY: dict[str, tuple[str, ...]] = {
    "baseline": _all("BASE"),
    "io_contract": _all("IO"),
    "evaluation": _all("EVAL"),
    "architecture": ("ARCH-001", "ARCH-004", "ARCH-005", "ARCH-007"),
    "rollout": ("ROLL-001", "ROLL-003", "ROLL-004", "ROLL-006", "ROLL-007", "ROLL-008", "ROLL-009"),
    "monitoring": ("MON-001", "MON-002", "MON-006", "MON-007", "MON-009"),
    "iteration": ("ITER-001", "ITER-002", "ITER-004", "ITER-005", "ITER-006"),
    "card": CARD,
    "cross_step": ("XS-001", "XS-002", "XS-003", "XS-004", "XS-006", "XS-007", "XS-009"),
    "seed": SEED,
}
# Where the paths of an empty design's "not evaluable" finding must point, beyond being given.
EMPTY_PATHS_UNDER = {"architecture": "architecture."}
SILENT_WHEN_EMPTY: dict[str, tuple[str, ...]] = {
    # Rules for an LLM, a cache or tools.
    "architecture": ("ARCH-002", "ARCH-003", "ARCH-006", "ARCH-008"),
    # Rules for generated output or statistical stages.
    "rollout": ("ROLL-002", "ROLL-005"),
}
# Checked rule by rule; seed checks its rules' reads as well, in its own module.
REGISTERED_RULE_BY_RULE: dict[str, dict[str, str]] = {
    "baseline": family_catalog("BASE"),
    "io_contract": family_catalog("IO"),
    "evaluation": family_catalog("EVAL"),
    "monitoring": family_catalog("MON"),
    "iteration": family_catalog("ITER"),
    "card": {r: sev for r, sev in family_catalog("CARD").items() if r in CARD},
    "cross_step": family_catalog("XS"),
}
# Checked as a whole: the registered rules with the prefix are exactly the catalog's.
REGISTERED_AS_A_WHOLE = {"architecture": "ARCH", "rollout": "ROLL"}


def _by_rule(table: Mapping[str, Iterable[str]]) -> list[tuple[str, str]]:
    return [(family, rule_id) for family, rule_ids in table.items() for rule_id in rule_ids]


@pytest.mark.parametrize(
    ("family", "rule_id", "name"),
    [(*case, name) for case in _by_rule(CLEAN_ON_THE_EXAMPLES) for name in EXAMPLES],
)
def test_the_shipped_examples_raise_no_finding(family: str, rule_id: str, name: str) -> None:
    assert findings(rule_id, example(name)) == []


@pytest.mark.parametrize(("family", "rule_id"), _by_rule(NOT_EVALUABLE_WHEN_EMPTY))
def test_an_empty_design_is_not_evaluable_rather_than_silent(family: str, rule_id: str) -> None:
    found = findings(rule_id, Design())
    assert [f.kind for f in found] == ["not_evaluable"]
    assert found[0].paths
    under = EMPTY_PATHS_UNDER.get(family, "")
    assert all(p.startswith(under) for p in found[0].paths)


@pytest.mark.parametrize(("family", "rule_id"), _by_rule(SILENT_WHEN_EMPTY))
def test_rules_that_do_not_apply_stay_silent_on_an_empty_design(family: str, rule_id: str) -> None:
    assert findings(rule_id, Design()) == []


@pytest.mark.parametrize(
    ("family", "rule_id", "severity"),
    [
        (family, rule_id, severity)
        for family, rules in REGISTERED_RULE_BY_RULE.items()
        for rule_id, severity in sorted(rules.items())
    ],
)
def test_every_rule_is_registered_with_the_catalog_severity(
    family: str, rule_id: str, severity: str
) -> None:
    registered = registry()[rule_id]
    assert registered.severity == severity
    assert registered.area == family
    assert registered.source


@pytest.mark.parametrize(("family", "prefix"), sorted(REGISTERED_AS_A_WHOLE.items()))
def test_the_familys_registered_rules_are_the_catalogs_with_its_severities(
    family: str, prefix: str
) -> None:
    catalog = family_catalog(prefix)
    rules = registry()
    registered = {rid: r.severity for rid, r in rules.items() if rid.startswith(f"{prefix}-")}
    assert registered == catalog
    assert all(rules[rid].area == family for rid in catalog)
    assert all(rules[rid].source for rid in catalog)
