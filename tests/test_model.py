"""Model-level guards: values that would corrupt a design are refused before anything is stored."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from ml_systemization.examples import example_design
from ml_systemization.model import Design


def dump() -> dict[str, Any]:
    return example_design("support_assistant").model_dump(mode="json")


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_infinity_and_nan_are_refused_rather_than_stored_as_null(value: float) -> None:
    data = dump()
    data["context"]["traffic"]["req_per_hour"] = value
    with pytest.raises(ValidationError, match="finite"):
        Design.model_validate(data)


def test_a_list_with_a_repeated_id_is_refused() -> None:
    data = dump()
    data["evaluation"]["metrics"].append(dict(data["evaluation"]["metrics"][0]))
    with pytest.raises(ValidationError, match="twice; ids must be unique"):
        Design.model_validate(data)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [({"bogus": 1.0}, "unknown rule setting"), ({"alpha": 0.9}, "alpha")],
)
def test_rule_settings_are_checked_so_a_design_can_always_be_reviewed(
    settings: dict[str, float], expected: str
) -> None:
    data = dump()
    data["rule_settings"] = settings
    with pytest.raises(ValidationError, match=expected):
        Design.model_validate(data)


def test_allowed_failures_is_bounded_so_one_value_cannot_stall_the_rules() -> None:
    data = dump()
    data["evaluation"]["failure_taxonomy"][0]["allowed_failures"] = 1_000_000_000
    with pytest.raises(ValidationError, match="less than or equal to 5000"):
        Design.model_validate(data)


def test_one_definition_of_calling_an_llm_serves_the_rules_and_the_quality_bar() -> None:
    from ml_systemization.model import calls_llm
    from ml_systemization.quality import quality_bar
    from ml_systemization.rules.io_contract import uses_llm as io_uses_llm
    from ml_systemization.rules.monitoring import uses_llm as monitoring_uses_llm

    assert calls_llm(example_design("support_assistant"))
    assert not calls_llm(example_design("fraud_scorer"))
    generated_only = Design()
    generated_only.io_contract.output.generated_text = True
    for predicate in (calls_llm, io_uses_llm, monitoring_uses_llm):
        assert predicate(generated_only)
    fm2 = next(c for c in quality_bar(generated_only) if c.id == "FM-2")
    assert "LLM in the path" in fm2.reason
