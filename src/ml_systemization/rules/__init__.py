"""The validation rule catalog: importing this package registers every rule in findings.REGISTRY."""

from __future__ import annotations

import importlib

from ml_systemization.findings import REGISTRY, Rule

FAMILIES = (
    "seed",
    "baseline",
    "io_contract",
    "evaluation",
    "architecture",
    "rollout",
    "monitoring",
    "iteration",
    "card",
    "cross_step",
)


def load_rules() -> dict[str, Rule]:
    """Import every family module (idempotent) and return the registry."""
    for family in FAMILIES:
        importlib.import_module(f"ml_systemization.rules.{family}")
    return REGISTRY
