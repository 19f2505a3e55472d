"""Feature-card rules CARD-001..006: each flags a deliberately broken card, stays silent on the
shipped examples, and reports "not evaluable" on an empty design."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from ml_systemization.examples import EXAMPLES, example_design
from ml_systemization.findings import Finding, run_rule
from ml_systemization.model import CardFailureMode, Design
from ml_systemization.rules import load_rules
from ml_systemization.settings import RuleSettings

SETTINGS = RuleSettings()
CATALOG_SEVERITY = {
    "CARD-001": "error",
    "CARD-003": "error",
    "CARD-004": "warning",
    "CARD-005": "error",
    "CARD-006": "warning",
}
NOT_CHECKED = ("CARD-002",)
ALWAYS_APPLY = tuple(sorted(CATALOG_SEVERITY))


@functools.cache
def _example(name: str) -> Design:
    return example_design(name)


def broken(mutate: Callable[[Design], object], name: str = "support_assistant") -> Design:
    """A deep copy of an example with one thing broken, re-validated."""
    design = _example(name).model_copy(deep=True)
    mutate(design)
    return Design.model_validate(design.model_dump())


def run(design: Design, rule_id: str) -> list[Finding]:
    return run_rule(load_rules()[rule_id], design, SETTINGS)


def violations(design: Design, rule_id: str) -> list[Finding]:
    return [f for f in run(design, rule_id) if f.kind == "violation"]


# --------------------------------------------------------------------------- mutations


def _no_limitations(d: Design) -> None:
    d.card.limitations = []


def _no_rollback_triggers(d: Design) -> None:
    d.rollout.rollback_triggers = []


def _unenforced_non_goal(d: Design) -> None:
    d.card.non_goals[0].enforcement = "  "


def _detector_without_out_of_scope_action(d: Design) -> None:
    d.io_contract.failure_behavior = [
        r for r in d.io_contract.failure_behavior if r.id != "out_of_scope"
    ]


def _failure_mode_outside_taxonomy(d: Design) -> None:
    d.card.failure_modes.append(
        CardFailureMode(
            id="hallucinated_citations",
            description="Cites articles that do not exist",
            mitigation="Citation check",
            signal_id="ungrounded_rate",
        )
    )


def _failure_mode_without_mitigation(d: Design) -> None:
    d.card.failure_modes[0].mitigation = None


def _retention_unstated(d: Design) -> None:
    d.card.data_privacy.retention = None


def _training_use_not_applicable(d: Design) -> None:
    d.card.data_privacy.provider_training = "N/A"


def _no_pii_categories(d: Design) -> None:
    d.card.data_privacy.pii_categories = []


def _failure_mode_on_an_unknown_signal(d: Design) -> None:
    d.card.failure_modes[0].signal_id = "hallucination_score"


def _pii_field_not_in_categories(d: Design) -> None:
    d.card.data_privacy.pii_categories = ["names and email addresses"]


BROKEN = [
    ("CARD-001", "no limitations", _no_limitations, ["Card missing card.limitations"]),
    ("CARD-001", "no rollback triggers", _no_rollback_triggers, ["rollout.rollback_triggers"]),
    ("CARD-003", "an unenforced non-goal", _unenforced_non_goal, ["'auto_send' has no"]),
    (
        "CARD-003",
        "a detector with nowhere to go",
        _detector_without_out_of_scope_action,
        ["'legal_security_gdpr'", "no action for 'out_of_scope'"],
    ),
    (
        "CARD-004",
        "a failure mode outside the taxonomy",
        _failure_mode_outside_taxonomy,
        ["Failure mode 'hallucinated_citations' is absent from the failure taxonomy"],
    ),
    ("CARD-004", "no mitigation", _failure_mode_without_mitigation, ["has no mitigation"]),
    ("CARD-005", "retention unstated", _retention_unstated, ["retention is unstated"]),
    ("CARD-005", "training use 'N/A'", _training_use_not_applicable, ["provider_training"]),
    ("CARD-005", "no PII categories", _no_pii_categories, ["pii_categories", "claude-sonnet"]),
    (
        "CARD-006",
        "a failure mode on an unknown signal",
        _failure_mode_on_an_unknown_signal,
        ["'hallucination_score'"],
    ),
    (
        "CARD-006",
        "PII fields missing from the categories",
        _pii_field_not_in_categories,
        ["'ticket_subject'", "'thread_history'"],
    ),
]


@pytest.mark.parametrize(
    ("rule_id", "mutate", "expected"),
    [pytest.param(r, m, e, id=f"{r}: {desc}") for r, desc, m, e in BROKEN],
)
def test_a_deliberately_broken_card_raises_the_rule(
    rule_id: str, mutate: Callable[[Design], object], expected: list[str]
) -> None:
    found = violations(broken(mutate), rule_id)
    assert found, f"{rule_id} did not fire"
    text = " ".join(f"{f.message} {f.fix}" for f in found)
    for piece in expected:
        assert piece in text


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("rule_id", sorted(CATALOG_SEVERITY))
def test_the_shipped_examples_raise_no_finding_of_this_family(name: str, rule_id: str) -> None:
    assert run(_example(name), rule_id) == []


@pytest.mark.parametrize("rule_id", ALWAYS_APPLY)
def test_an_empty_design_is_not_evaluable_rather_than_silent(rule_id: str) -> None:
    found = run(Design(), rule_id)
    assert [f.kind for f in found] == ["not_evaluable"]
    assert found[0].paths


@pytest.mark.parametrize(("rule_id", "severity"), sorted(CATALOG_SEVERITY.items()))
def test_every_rule_is_registered_with_the_catalogs_severity(rule_id: str, severity: str) -> None:
    registered = load_rules()[rule_id]
    assert registered.severity == severity
    assert registered.area == "card"
    assert registered.source


def test_rules_without_fields_to_check_are_not_registered() -> None:
    assert not set(NOT_CHECKED) & set(load_rules())


def test_without_pii_fields_not_applicable_privacy_items_are_accepted() -> None:
    def no_pii(d: Design) -> None:
        for field in d.io_contract.input_fields:
            field.pii = False
        d.card.data_privacy.pii_categories = []
        d.card.data_privacy.redaction = None
        d.card.data_privacy.provider_training = "N/A"

    assert run(broken(no_pii), "CARD-005") == []
