"""Render a design's artifacts with its findings and computed numbers, from one rules evaluation."""

from __future__ import annotations

from collections.abc import Sequence

from ml_systemization.computed import compute_numbers
from ml_systemization.findings import evaluate
from ml_systemization.model import Design
from ml_systemization.render import Renderer
from ml_systemization.settings import RuleSettings
from ml_systemization.steps import ARTIFACTS


def render_design(
    renderer: Renderer,
    design: Design,
    *,
    design_id: str,
    revision: int,
    rules: RuleSettings,
    names: Sequence[str] = ARTIFACTS,
) -> dict[str, str]:
    """Artifact name -> markdown, for `names` in the given order."""
    findings = [f for f in evaluate(design, rules) if f.kind == "violation"]
    computed = compute_numbers(design, rules)
    return {
        name: renderer.render(
            name,
            design,
            design_id=design_id,
            revision=revision,
            findings=findings,
            computed=computed,
        )
        for name in names
    }
