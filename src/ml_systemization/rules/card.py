"""Feature-card rules CARD-001..006: required sections, enforced non-goals, failure modes traced
to the taxonomy and monitors, data-and-privacy specifics, and sync with steps 2-6.

The card is rendered from the design, so its evaluation, versions and monitoring-and-rollback
sections are the evaluation, `architecture.versions`, `monitoring.signals` and
`rollout.rollback_triggers` sections themselves: they cannot drift from the deployed pins, and
the revision stamp of the design plays the role of the card's `updated_at`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ml_systemization.findings import Missing, Violation, rule
from ml_systemization.model import Card, DataPrivacy, Design
from ml_systemization.rules.monitoring import join, quoted
from ml_systemization.settings import RuleSettings

Outcome = Iterator[Violation | Missing]

_FAILURE_MODE_REF = re.compile(r"failure_behavior\.([A-Za-z0-9_]+)")
_OUT_OF_SCOPE_DETECTOR = re.compile(r"out[-_ ]of[-_ ]scope|classifier|detector", re.IGNORECASE)
_NOT_APPLICABLE = re.compile(r"^\s*(n/?a|none|not applicable|-|—)\s*\.?\s*$", re.IGNORECASE)


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


_TOOLS = {
    "card": "describe_feature_card",
    "evaluation": "build_evaluation",
    "architecture": "design_architecture",
    "monitoring": "define_monitoring",
    "rollout": "plan_rollout",
}


def _card_sections(d: Design) -> list[tuple[str, bool]]:
    """(path, present) of every section CARD-001 requires, in card order."""
    card, ev = d.card, d.evaluation
    return [
        ("card.intended_use", not _blank(card.intended_use)),
        ("card.non_goals", bool(card.non_goals)),
        ("card.limitations", bool(card.limitations)),
        ("card.failure_modes", bool(card.failure_modes)),
        ("card.data_privacy", card.data_privacy != DataPrivacy()),
        ("monitoring.signals", bool(d.monitoring.signals)),
        ("rollout.rollback_triggers", bool(d.rollout.rollback_triggers)),
        ("architecture.versions.model", not _blank(d.architecture.versions.model)),
        ("card.owner", not _blank(card.owner)),
        ("evaluation.metrics", any(m.threshold is not None for m in ev.metrics)),
        ("evaluation.golden_set.size", bool(ev.golden_set.size)),
    ]


@rule(
    "CARD-001",
    "error",
    "Required sections are present",
    area="card",
    reads=("evaluation", "architecture", "monitoring", "rollout"),
    source="Mitchell et al. 2019 (Model Cards); NIST AI RMF MAP 1.1, MAP 2.2",
)
def _required_sections(d: Design, s: RuleSettings) -> Outcome:
    """Intended use, non-goals, limitations, failure modes, data and privacy, monitoring and
    rollback, versions, owner and evaluation. `updated_at` is the design revision."""
    sections = _card_sections(d)
    absent = [path for path, present in sections if not present]
    if d.card == Card():
        yield Missing(absent)
        return
    if absent:
        tools = dict.fromkeys(_TOOLS[p.split(".", 1)[0]] for p in absent)
        yield Violation(
            absent,
            f"Card missing {join(absent)}; a reader cannot tell what it is for, how it fails "
            "or how it is rolled back.",
            f"Fill {join(absent)} ({', '.join(tools)}).",
        )


@rule(
    "CARD-003",
    "error",
    "Non-goals are enforced",
    area="card",
    reads=("io_contract",),
    source="Mitchell et al. 2019 (out-of-scope uses); NIST AI RMF MAP 2.2",
)
def _non_goals_enforced(d: Design, s: RuleSettings) -> Outcome:
    """Each non-goal names its enforcement; one that relies on a detector (or names
    `failure_behavior.<mode>`) needs that failure mode mapped to an action in the I/O contract."""
    if not d.card.non_goals:
        yield Missing(["card.non_goals"])
        return
    actions = {r.id: r.action for r in d.io_contract.failure_behavior}
    for goal in d.card.non_goals:
        path = f"card.non_goals[{goal.id}].enforcement"
        if _blank(goal.enforcement):
            yield Violation(
                [path],
                f"Non-goal {quoted(goal.id)} has no enforcement, so nothing stops that use.",
                "Name an out-of-scope detector wired to failure_behavior.out_of_scope, an "
                "access control, or a UI/terms disclosure (describe_feature_card).",
            )
            continue
        assert goal.enforcement is not None
        modes = set(_FAILURE_MODE_REF.findall(goal.enforcement))
        if not modes and _OUT_OF_SCOPE_DETECTOR.search(goal.enforcement):
            modes = {"out_of_scope"}
        for mode in sorted(modes):
            if actions.get(mode) is None:
                yield Violation(
                    [path, "io_contract.failure_behavior"],
                    f"Non-goal {quoted(goal.id)} is enforced by a detector routed to "
                    f"{quoted(mode)}, but the I/O contract maps no action for {quoted(mode)}; "
                    "a detected case has nowhere to go.",
                    f"Add failure_behavior {quoted(mode)} with abstain_with_message or "
                    "fallback_baseline (define_io_contract).",
                )


@rule(
    "CARD-004",
    "warning",
    "Failure modes trace to taxonomy and monitors",
    area="card",
    reads=("evaluation", "monitoring"),
    source="Mitchell et al. 2019; NIST AI RMF MEASURE 2.4",
)
def _failure_modes_traced(d: Design, s: RuleSettings) -> Outcome:
    """`card.failure_modes ⊆ evaluation.failure_taxonomy` by id; each has a mitigation and a
    signal."""
    if not d.card.failure_modes:
        yield Missing(["card.failure_modes"])
        return
    taxonomy = {c.id for c in d.evaluation.failure_taxonomy}
    for mode in d.card.failure_modes:
        path = f"card.failure_modes[{mode.id}]"
        if mode.id not in taxonomy:
            yield Violation(
                [path, "evaluation.failure_taxonomy"],
                f"Failure mode {quoted(mode.id)} is absent from the failure taxonomy, so no "
                "slice measures it.",
                "Add it to the taxonomy with a slice and a detector (build_evaluation), or use "
                "the taxonomy id in the card (describe_feature_card).",
            )
        lacks = [
            name
            for name, value in (("mitigation", mode.mitigation), ("signal_id", mode.signal_id))
            if _blank(value)
        ]
        if lacks:
            yield Violation(
                [f"{path}.{name}" for name in lacks],
                f"Failure mode {quoted(mode.id)} has no {' or '.join(lacks)}.",
                "State how it is mitigated and which monitoring signal watches it "
                "(describe_feature_card).",
            )


def _pii_fields(d: Design) -> list[str]:
    return [f.id for f in d.io_contract.input_fields if f.pii]


@rule(
    "CARD-005",
    "error",
    "Data and privacy specifics",
    area="card",
    reads=("io_contract", "architecture"),
    source="NIST AI RMF MEASURE 2.10; OWASP LLM02; Breck Data 5",
)
def _data_privacy(d: Design, s: RuleSettings) -> Outcome:
    """PII categories, retention, processors and region, provider training use, redaction and
    access. "N/A" is accepted only when no input field is PII; without PII the categories and
    redaction may be left empty, the rest must still be stated."""
    dp = d.card.data_privacy
    if dp == DataPrivacy():
        needs = ["card.data_privacy"]
        if not d.io_contract.input_fields:
            needs.append("io_contract.input_fields")
        yield Missing(needs)
        return
    pii = _pii_fields(d)
    items: list[tuple[str, str | None]] = [
        ("retention", dp.retention),
        ("processors", dp.processors),
        ("provider_training", dp.provider_training),
        ("access", dp.access),
    ]
    if pii:
        items.append(("redaction", dp.redaction))
    unstated = [name for name, value in items if _blank(value)]
    if pii:
        unstated += [name for name, value in items if value and _NOT_APPLICABLE.match(value)]
        if not dp.pii_categories:
            unstated.insert(0, "pii_categories")
    if not unstated:
        return
    if not pii:
        subject = "The data handling is incomplete"
    elif d.architecture.llm.model:
        subject = f"Inputs with PII ({join(pii)}) are sent to {d.architecture.llm.model}"
    else:
        subject = f"Inputs with PII ({join(pii)}) are processed and logged"
    yield Violation(
        [f"card.data_privacy.{name}" for name in unstated],
        f"{subject}; {join(unstated)} {'is' if len(unstated) == 1 else 'are'} unstated"
        + (" or 'N/A'." if pii else "."),
        "State the PII categories, retention of prompts, outputs and logs, third-party "
        "processors and their region, whether the provider trains on the data (and the "
        "opt-out), redaction before logging and access control (describe_feature_card).",
    )


def _names(field_id: str, categories: list[str]) -> bool:
    text = " ".join(categories).lower()
    return field_id.lower() in text or field_id.lower().replace("_", " ") in text


@rule(
    "CARD-006",
    "warning",
    "Card is in sync with deployed artifacts and steps 5–6",  # noqa: RUF001
    area="card",
    reads=("io_contract", "monitoring"),
    source="Mitchell et al. 2019 (cards as living documents); Breck Infra 7",
)
def _card_in_sync(d: Design, s: RuleSettings) -> Outcome:
    """The card's own references resolve: every failure-mode signal exists in monitoring, and
    every PII input field is named in `data_privacy.pii_categories`. Versions, rollback
    triggers and the update time are rendered from the design, so they are in sync by
    construction."""
    card = d.card
    if not card.failure_modes and card.data_privacy == DataPrivacy():
        yield Missing(["card.failure_modes", "card.data_privacy"])
        return
    signals = {sig.id for sig in d.monitoring.signals}
    dangling = [m for m in card.failure_modes if m.signal_id and m.signal_id not in signals]
    if dangling:
        yield Violation(
            [f"card.failure_modes[{m.id}].signal_id" for m in dangling],
            "The card cites signals monitoring does not produce: "
            + join(f"{quoted(m.signal_id or '')} (for {quoted(m.id)})" for m in dangling)
            + ".",
            "Point the failure modes at existing signal ids (describe_feature_card) or add the "
            "signals (define_monitoring).",
        )
    if card.data_privacy.pii_categories:
        unnamed = [f for f in _pii_fields(d) if not _names(f, card.data_privacy.pii_categories)]
        if unnamed:
            yield Violation(
                ["card.data_privacy.pii_categories", "io_contract.input_fields"],
                f"PII input field{'s' if len(unnamed) > 1 else ''} "
                f"{join(quoted(f) for f in unnamed)} {'are' if len(unnamed) > 1 else 'is'} "
                "not named in the card's PII categories, so the card under-reports what "
                "personal data flows.",
                "List each PII field with its categories, e.g. 'ticket_body: names, emails' "
                "(describe_feature_card).",
            )
