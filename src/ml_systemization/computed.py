"""The numbers the rules compute, gathered for the artifacts (see Renderer.render's contract)."""

from __future__ import annotations

from typing import Any

from ml_systemization.model import Design
from ml_systemization.settings import RuleSettings


def compute_numbers(design: Design, settings: RuleSettings) -> dict[str, Any]:
    """Computed groups for the templates; every group is optional.

    Each number comes from the same public function its rule uses, so an artifact and a finding
    never disagree.
    """
    computed: dict[str, Any] = {"settings": settings.model_dump()}
    return computed
