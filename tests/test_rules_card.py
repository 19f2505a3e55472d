"""Feature-card rules CARD-001..006: each flags a deliberately broken card, stays silent on the
shipped examples, and reports "not evaluable" on an empty design (those two checks, shared by
every family, are in test_rules_families.py)."""

from __future__ import annotations

import pytest

from ml_systemization.model import CardFailureMode, Design
from ml_systemization.rules import load_rules
from rules_support import Mutation, assert_raises, findings, mutated

NOT_CHECKED = ("CARD-002",)


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
    rule_id: str, mutate: Mutation, expected: list[str]
) -> None:
    assert_raises(rule_id, mutated(mutate), expected)


def test_rules_without_fields_to_check_are_not_registered() -> None:
    assert not set(NOT_CHECKED) & set(load_rules())


def test_without_pii_fields_not_applicable_privacy_items_are_accepted() -> None:
    def no_pii(d: Design) -> None:
        for field in d.io_contract.input_fields:
            field.pii = False
        d.card.data_privacy.pii_categories = []
        d.card.data_privacy.redaction = None
        d.card.data_privacy.provider_training = "N/A"

    assert findings("CARD-005", mutated(no_pii)) == []
