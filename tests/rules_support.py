"""Helpers shared by the rule tests (tests/test_rules_*.py, tests/test_catalog.py): the checked-in
catalog, the shipped examples, one-flaw mutations and running one rule. Not a test module."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache

from ml_systemization.examples import example_design
from ml_systemization.findings import Finding, registry, run_rule
from ml_systemization.model import Design, Metric, Signal
from ml_systemization.settings import RuleSettings

SETTINGS = RuleSettings()
Mutation = Callable[[Design], None]

# The catalog's 70 rule ids and severities (validation-rules.md v0.1), checked in so the tests
# run where the reference file is absent; when it is present, the two must agree (test_catalog).
CATALOG: dict[str, str] = {
    "BASE-001": "error",
    "BASE-002": "error",
    "BASE-003": "warning",
    "BASE-004": "warning",
    "IO-001": "error",
    "IO-002": "error",
    "IO-003": "error",
    "IO-004": "error",
    "IO-005": "error",
    "IO-006": "info",
    "EVAL-001": "error",
    "EVAL-002": "error",
    "EVAL-003": "warning",
    "EVAL-004": "warning",
    "EVAL-005": "warning",
    "EVAL-006": "error",
    "EVAL-007": "error",
    "EVAL-008": "warning",
    "EVAL-009": "error",
    "EVAL-010": "error",
    "EVAL-011": "error",
    "EVAL-012": "warning",
    "ARCH-001": "error",
    "ARCH-002": "error",
    "ARCH-003": "error",
    "ARCH-004": "warning",
    "ARCH-005": "error",
    "ARCH-006": "warning",
    "ARCH-007": "warning",
    "ARCH-008": "error",
    "ROLL-001": "error",
    "ROLL-002": "warning",
    "ROLL-003": "error",
    "ROLL-004": "error",
    "ROLL-005": "warning",
    "ROLL-006": "warning",
    "ROLL-007": "warning",
    "ROLL-008": "warning",
    "ROLL-009": "error",
    "MON-001": "error",
    "MON-002": "error",
    "MON-003": "warning",
    "MON-004": "error",
    "MON-005": "warning",
    "MON-006": "error",
    "MON-007": "error",
    "MON-008": "warning",
    "MON-009": "warning",
    "MON-010": "warning",
    "ITER-001": "error",
    "ITER-002": "error",
    "ITER-003": "warning",
    "ITER-004": "warning",
    "ITER-005": "warning",
    "ITER-006": "warning",
    "CARD-001": "error",
    "CARD-002": "warning",
    "CARD-003": "error",
    "CARD-004": "warning",
    "CARD-005": "error",
    "CARD-006": "warning",
    "XS-001": "error",
    "XS-002": "error",
    "XS-003": "error",
    "XS-004": "warning",
    "XS-005": "error",
    "XS-006": "error",
    "XS-007": "warning",
    "XS-008": "error",
    "XS-009": "warning",
}


def family_catalog(prefix: str) -> dict[str, str]:
    """The catalog's rules with the id prefix `prefix` ("BASE", "IO", ...) and their severities."""
    return {rule_id: sev for rule_id, sev in CATALOG.items() if rule_id.startswith(f"{prefix}-")}


# --------------------------------------------------------------------------- designs


@cache
def example(name: str) -> Design:
    """A shipped example, loaded once and shared: do not change it (see `support`, `mutated`)."""
    return example_design(name)


def support() -> Design:
    """A fresh copy of the support-assistant example."""
    return example("support_assistant").model_copy(deep=True)


def mutated(mutation: Mutation, base: Callable[[], Design] = support) -> Design:
    """A fresh design from `base` (the support-assistant example) with one thing changed by
    `mutation`, re-validated."""
    design = base()
    mutation(design)
    return Design.model_validate(design.model_dump())


def set_field(path: str, value: object) -> Mutation:
    """A mutation that sets the dotted attribute `path` of the design to `value`."""

    def mutation(d: Design) -> None:
        *parents, leaf = path.split(".")
        target: object = d
        for name in parents:
            target = getattr(target, name)
        setattr(target, leaf, value)

    return mutation


def both(*mutations: Mutation) -> Mutation:
    """A mutation that applies `mutations` in turn."""

    def mutation(d: Design) -> None:
        for m in mutations:
            m(d)

    return mutation


def metric(d: Design, metric_id: str) -> Metric:
    return next(m for m in d.evaluation.metrics if m.id == metric_id)


def signal(d: Design, signal_id: str) -> Signal:
    return next(s for s in d.monitoring.signals if s.id == signal_id)


# --------------------------------------------------------------------------- running one rule


def findings(rule_id: str, design: Design, settings: RuleSettings = SETTINGS) -> list[Finding]:
    """Everything rule `rule_id` reports on `design`."""
    return run_rule(registry()[rule_id], design, settings)


def violation_findings(
    rule_id: str, design: Design, settings: RuleSettings = SETTINGS
) -> list[Finding]:
    """The violations (not "not evaluable" findings) rule `rule_id` reports on `design`."""
    return [f for f in findings(rule_id, design, settings) if f.kind == "violation"]


def violations(rule_id: str, design: Design, settings: RuleSettings = SETTINGS) -> list[str]:
    """The messages of the violations rule `rule_id` reports on `design`."""
    return [f.message for f in violation_findings(rule_id, design, settings)]


def assert_raises(
    rule_id: str,
    design: Design,
    expected: Iterable[str],
    *,
    flaw: str = "",
    severity: str | None = None,
    with_paths: bool = False,
) -> None:
    """Assert that rule `rule_id` raises at least one violation on `design` (a design with
    `flaw`), that its violations' messages and fixes (with `with_paths`, also their paths)
    together mention every `expected` text, and, given `severity`, that every violation is
    `rule_id`'s at that severity."""
    found = violation_findings(rule_id, design)
    assert found, f"{rule_id} did not fire" + (f" for: {flaw}" if flaw else "")
    text = " ".join(
        f"{f.message} {f.fix} {' '.join(f.paths)}" if with_paths else f"{f.message} {f.fix}"
        for f in found
    )
    for part in expected:
        assert part in text, f"{part!r} not in {text!r}"
    if severity is not None:
        assert all(f.rule_id == rule_id and f.severity == severity for f in found)
