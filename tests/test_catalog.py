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
from rules_support import CATALOG

ROOT = Path(__file__).resolve().parents[1]
RULES_MD = ROOT / "docs" / "RULES.md"
REFERENCE = Path("/work/shared/reference/validation-rules.md")

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
