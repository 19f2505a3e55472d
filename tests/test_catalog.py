"""docs/RULES.md is generated from the registry, and the registry covers the catalog."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ml_systemization.catalog import (
    FAMILIES,
    NOT_IMPLEMENTED,
    PARTLY_CHECKED,
    family_of,
    rules_markdown,
)
from ml_systemization.findings import registry

ROOT = Path(__file__).resolve().parents[1]
RULES_MD = ROOT / "docs" / "RULES.md"
REFERENCE = Path("/work/shared/reference/validation-rules.md")

# The catalog's 70 rule ids and severities (validation-rules.md v0.1), checked in so the test
# runs where the reference file is absent; when it is present, the two must agree.
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
_REFERENCE_RULE = re.compile(r"\*\*([A-Z]+-\d{3}) · (error|warning|info) · ")


def test_docs_rules_md_is_the_generated_catalog() -> None:
    assert RULES_MD.read_text(encoding="utf-8") == rules_markdown(), (
        "docs/RULES.md is stale; regenerate it with "
        "`python -m ml_systemization.catalog > docs/RULES.md`"
    )


def test_the_module_prints_the_catalog() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ml_systemization.catalog"],
        capture_output=True,
        check=True,
        encoding="utf-8",
        timeout=60,
    )
    assert done.stdout == rules_markdown()


def test_the_checked_in_catalog_matches_the_reference_when_present() -> None:
    if not REFERENCE.is_file():
        pytest.skip(f"{REFERENCE} is not on this machine")
    parsed = dict(_REFERENCE_RULE.findall(REFERENCE.read_text(encoding="utf-8")))
    assert parsed == CATALOG


def test_every_catalog_rule_is_registered_or_listed_as_not_implemented() -> None:
    rules = registry()
    unaccounted = sorted(set(CATALOG) - set(rules) - set(NOT_IMPLEMENTED))
    assert not unaccounted, f"neither registered nor in NOT_IMPLEMENTED: {unaccounted}"


def test_a_rule_is_either_implemented_or_listed_as_not_implemented_never_both() -> None:
    assert not set(NOT_IMPLEMENTED) & set(registry())


def test_not_yet_checked_lists_only_catalog_rules() -> None:
    assert set(NOT_IMPLEMENTED) <= set(CATALOG)
    assert set(PARTLY_CHECKED) <= set(CATALOG)
    assert set(PARTLY_CHECKED) <= set(registry()), "a partly checked rule must be registered"
    assert all(reason.strip() for reason in (NOT_IMPLEMENTED | PARTLY_CHECKED).values())


def test_the_registry_holds_at_least_sixty_catalog_rules() -> None:
    assert len(set(registry()) & set(CATALOG)) >= 60


@pytest.mark.parametrize("rule_id", sorted(set(CATALOG) - set(NOT_IMPLEMENTED)))
def test_severity_matches_the_catalog(rule_id: str) -> None:
    assert registry()[rule_id].severity == CATALOG[rule_id]


def test_every_registered_rule_belongs_to_a_family() -> None:
    for rule_id in registry():
        family_of(rule_id)  # raises for an unknown prefix


def test_family_sizes_match_the_catalog() -> None:
    sizes = {f.prefix: f.catalog_rules for f in FAMILIES if f.catalog_rules}
    counted: dict[str, int] = {}
    for rule_id in CATALOG:
        prefix = family_of(rule_id).prefix
        counted[prefix] = counted.get(prefix, 0) + 1
    assert counted == sizes


def test_every_registered_rule_and_every_unchecked_part_appears_in_the_doc() -> None:
    text = rules_markdown()
    for rule_id in [*registry(), *NOT_IMPLEMENTED, *PARTLY_CHECKED]:
        assert f"| {rule_id} |" in text
