"""The rule catalog as markdown (docs/RULES.md), generated from the registry.

Regenerate the checked-in copy with ``python -m ml_systemization.catalog > docs/RULES.md``;
``tests/test_catalog.py`` fails when the two differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ml_systemization.findings import Rule, registry
from ml_systemization.settings import RuleSettings

CATALOG = "ML/LLM production-design validation rules, catalog v0.1"


@dataclass(frozen=True)
class Family:
    """A rule family: the id prefix, its heading, and how many rules the catalog defines."""

    prefix: str
    title: str
    catalog_rules: int


FAMILIES: tuple[Family, ...] = (
    Family("BASE", "Baseline", 4),
    Family("IO", "I/O contract", 6),
    Family("EVAL", "Evaluation plan", 12),
    Family("ARCH", "Architecture", 8),
    Family("ROLL", "Rollout", 9),
    Family("MON", "Monitoring", 10),
    Family("ITER", "Iteration loop", 6),
    Family("CARD", "Model / feature card", 6),
    Family("XS", "Cross-step consistency", 9),
    # The seed procedure's own requirements; not catalog rules.
    Family("SEED", "Seed requirements", 0),
)

NOT_IMPLEMENTED: dict[str, str] = {
    "CARD-002": (
        "Disaggregated metrics carry CIs and match the eval (warning). The design stores "
        "thresholds, not eval-run results: there is no run id and no measured per-slice value "
        "to compare the card with."
    ),
}
"""Catalog rules with no implementation, and why (written by the rule authors)."""

PARTLY_CHECKED: dict[str, str] = {
    "BASE-004": (
        "The design holds no per-arm scores, so 'beats the simplest AI arm by ≥ MDE' is not "
        "computed; the design's complexity is recognised from its wording."
    ),
    "IO-002": "'Then fallback' after the retry has no field; the retry count is checked.",
    "EVAL-001": (
        "The catalog's warn-level sub-check (a continuous metric without a bootstrap CI) is "
        "reported at the rule's error severity."
    ),
    "EVAL-008": (
        "Self-preference cannot be measured from the design, so a judge from the candidate's "
        "vendor is always flagged."
    ),
    "EVAL-009": (
        "The catalog's warn-level sub-check (production share below 0.3) is reported at the "
        "rule's error severity."
    ),
    "EVAL-010": (
        "MinHash near-duplicate overlap is not computed; the rule checks that a leakage check "
        "is declared, that its overlap count is 0 and that the holdout is ≥ 20%."
    ),
    "EVAL-011": "Coverage of the required categories is recognised by keywords.",
    "EVAL-012": "Gating on mean - 1.96·SD/√k (or the CI lower bound) cannot be checked.",
    "ARCH-002": (
        "The info-level advice about provider batch APIs is not emitted; batch processing time "
        "has no field."
    ),
    "ARCH-005": "Pinning is recognised by patterns (dated snapshot, hash, full or vN version).",
    "ARCH-006": (
        "The normalized input in the cache key and the flush on a version bump cannot be checked."
    ),
    "ARCH-007": "The global kill switch is left to ROLL-001.",
    "ARCH-008": "Least-privilege credentials are recognised by flagged words.",
    "ROLL-009": "Aborting after N consecutive metric-query errors has no field.",
    "MON-002": (
        "The short confirm window (1/12 of the long one) has no field. An SLO with no burn-rate "
        "alert (paging on raw thresholds only, a warning in the catalog) is reported at the "
        "rule's error severity, since a rule has one severity."
    ),
    "MON-008": "A missing label delay is not flagged.",
    "MON-009": (
        "The serving prompt hash (against the evaluated one) and provider deprecation "
        "subscriptions have no fields."
    ),
    "MON-010": "The bounded response time of a page has no field.",
    "CARD-001": "The design's revision stands in for updated_at.",
    "CARD-006": (
        "Versions and triggers in the card are rendered from the design, so they cannot drift; "
        "the rule checks the signal ids and the PII categories."
    ),
    "XS-004": "Excluding one input field from drift monitoring needs a waiver of the whole rule.",
    "XS-005": (
        "The 1.2x headroom warning is stated in the error's message, not raised as a separate "
        "warning."
    ),
    "XS-009": "Trigger signals and change gates are left to ITER-001 and ITER-005.",
}
"""Catalog rules implemented in part: what is not checked, and why."""

_ID = re.compile(r"^([A-Z]+)-(\d+)$")


def family_of(rule_id: str) -> Family:
    """The family of a rule id such as EVAL-002.

    Raises:
        ValueError: the prefix is not in `FAMILIES` (add the family there).
    """
    match = _ID.match(rule_id)
    prefix = match.group(1) if match else ""
    for family in FAMILIES:
        if family.prefix == prefix:
            return family
    raise ValueError(f"Rule id {rule_id!r} has no family in catalog.FAMILIES; add it there.")


def _order(rule_id: str) -> tuple[int, int]:
    match = _ID.match(rule_id)
    number = int(match.group(2)) if match else 0
    return FAMILIES.index(family_of(rule_id)), number


def _heading(family: Family) -> str:
    return f"{family.prefix}: {family.title}"


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _cell(value: object) -> str:
    """A markdown table cell: pipes escaped, on one line."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _rules_by_family(rules: dict[str, Rule]) -> dict[str, list[Rule]]:
    grouped: dict[str, list[Rule]] = {f.prefix: [] for f in FAMILIES}
    for rule_id in sorted(rules, key=_order):
        grouped[family_of(rule_id).prefix].append(rules[rule_id])
    return grouped


def _intro(rules: dict[str, Rule]) -> list[str]:
    catalog = sum(1 for r in rules if family_of(r).catalog_rules)
    total = sum(f.catalog_rules for f in FAMILIES)
    return [
        "# Validation rules",
        "",
        "<!-- Generated by `python -m ml_systemization.catalog > docs/RULES.md`; do not edit. -->",
        "",
        f"The server checks every design against {len(rules)} rules: {catalog} of the "
        f"{total} rules of the catalog ({CATALOG}) and {len(rules) - catalog} from the seed "
        "procedure itself. Each rule is a pure function of the design and the rule settings; "
        "it reports a finding with the rule id, severity, the fields involved, a message with "
        "the computed numbers, and a fix.",
        "",
        "- **error**: the design is unsafe, incoherent or unverifiable. An open error blocks "
        "`ready` in `review_design`; errors cannot be waived.",
        "- **warning**: a likely defect. It can be waived with a written reason through "
        "`configure_review` (so can an info); a waived finding stays in the report, marked "
        "waived.",
        "- **info**: advice; it never blocks.",
        "- **not evaluable**: the inputs a rule needs are not filled yet. This is reported as "
        "a finding of kind `not_evaluable` whose paths name the missing fields. An error rule "
        "that is not evaluable blocks `ready`, since it cannot be shown to pass.",
        "",
        "`ready` also needs the seed's quality bar (QB-1..QB-5, FM-1..FM-3) to pass.",
        "",
        "Columns: **area** is the step the finding belongs to; **reads** lists the other "
        "sections the rule takes inputs from, so a change to any of them re-runs it; "
        "**source** is where the threshold or check comes from.",
    ]


_SEVERITIES = ("error", "warning", "info")


def _summary(grouped: dict[str, list[Rule]]) -> list[str]:
    header = ["Family", "In catalog", "Implemented", "Partly checked", "Not implemented"]
    rows: list[list[object]] = []
    totals = [0] * 7
    for f in FAMILIES:
        rules = grouped[f.prefix]
        counts = [
            f.catalog_rules,
            len(rules),
            sum(r.id in PARTLY_CHECKED for r in rules),
            sum(family_of(rule_id) == f for rule_id in NOT_IMPLEMENTED),
            *(sum(r.severity == s for r in rules) for s in _SEVERITIES),
        ]
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        label = f"[{_heading(f)}](#{_anchor(_heading(f))})"
        rows.append([label, *(counts if f.catalog_rules else ["—", *counts[1:]])])
    rows.append(["**Total**", *totals])
    return [
        "## Summary",
        "",
        *_table([*header, *(s.capitalize() for s in _SEVERITIES)], rows),
    ]


def _family_section(family: Family, rules: list[Rule]) -> list[str]:
    heading = f"## {_heading(family)}"
    note = (
        f"{len(rules)} of the catalog's {family.catalog_rules} rules."
        if family.catalog_rules
        else "The seed procedure's own requirements, checked as rules; not in the catalog."
    )
    rows = [
        [
            r.id,
            r.severity,
            r.title,
            r.area,
            ", ".join(r.reads[1:]) or "—",
            r.source or "—",
        ]
        for r in rules
    ]
    header = ["Id", "Severity", "Title", "Area", "Reads", "Source"]
    return [heading, "", note, "", *_table(header, rows)]


def _not_yet_checked(rules: dict[str, Rule]) -> list[str]:
    status = {rule_id: "not implemented" for rule_id in NOT_IMPLEMENTED}
    status |= {rule_id: f"partly ({rules[rule_id].severity})" for rule_id in PARTLY_CHECKED}
    reasons = NOT_IMPLEMENTED | PARTLY_CHECKED
    rows = [[rule_id, status[rule_id], reasons[rule_id]] for rule_id in sorted(reasons, key=_order)]
    return [
        "## Not yet checked",
        "",
        "Catalog rules, or parts of rules, that the server does not check, and why. A part "
        "that needs a field the design does not have stays unchecked until the field exists.",
        "",
        *_table(["Id", "Status", "What is not checked, and why"], rows),
    ]


def _defaults() -> list[str]:
    rows = [
        [f"`{name}`", field.default, field.description or ""]
        for name, field in RuleSettings.model_fields.items()
    ]
    return [
        "## Tool defaults",
        "",
        "Numbers the rules use that are our choice, not a published standard "
        "(`settings.RuleSettings`). The rendered artifacts state the values a design was "
        "checked with.",
        "",
        *_table(["Setting", "Default", "Meaning"], rows),
        "",
        "Overrides:",
        "",
        '- per design: `configure_review` with `settings`, e.g. `{"alpha": 0.01}`; a `null` '
        "value drops that override;",
        "- per-server overrides: see README.",
    ]


def rules_markdown() -> str:
    """docs/RULES.md: severities, a summary per family, every rule, what is not yet checked,
    and the tool defaults with how to override them."""
    rules = registry()
    grouped = _rules_by_family(rules)
    parts = [_intro(rules), _summary(grouped)]
    parts += [_family_section(f, grouped[f.prefix]) for f in FAMILIES if grouped[f.prefix]]
    parts += [_not_yet_checked(rules), _defaults()]
    return "\n\n".join("\n".join(part) for part in parts) + "\n"


def main() -> int:
    """Print docs/RULES.md."""
    print(rules_markdown(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
