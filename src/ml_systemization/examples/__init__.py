"""Complete example designs shipped with the package, replayed by `demo` and used by the tests.

Each example is one JSON file in this package, named ``<name>.json``::

    {
      "name": "support_assistant",          # equals the file name
      "title": "...",                       # one line, for listings
      "summary": "...",                     # one sentence: what it does and what it beats
      "feature": "Support answer assistant",
      "context": {...},                     # fields of model.Context except `feature`
      "steps": {                            # in procedure order, the card last
        "baseline": {...}, "io_contract": {...}, "evaluation": {...}, "architecture": {...},
        "rollout": {...}, "monitoring": {...}, "iteration": {...}, "card": {...}
      }
    }

``context`` plus ``feature`` is what ``start_design`` takes, and each ``steps[key]`` is a partial
section accepted by ``patch_model(STEP_BY_KEY[key].model)``: exactly the input of that step's
tool, so the demo sends it as is, one call per step. Every number in an example was checked
against the validation catalog (golden-set size, latency and deadline budgets, canary
durations, drift windows, cost against budget); ``tests/test_examples.py`` recomputes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ml_systemization.model import Context, Design
from ml_systemization.patch import patch_model
from ml_systemization.steps import STEP_BY_KEY, STEPS, apply_change

EXAMPLES: tuple[str, ...] = ("support_assistant", "fraud_scorer")

_TOP_LEVEL = frozenset({"name", "title", "summary", "feature", "context", "steps"})


@dataclass(frozen=True)
class Example:
    """One example design as stored: the seed context and one partial section per step."""

    name: str
    title: str
    summary: str
    feature: str
    context: dict[str, Any]
    steps: dict[str, dict[str, Any]]


def load_example(name: str) -> Example:
    """Read example `name` from the package data.

    Raises:
        KeyError: `name` is not one of `EXAMPLES`; the message lists the valid names.
        ValueError: the file is malformed (wrong keys, a name that differs from the file name,
            or a step key that is not a step).
    """
    if name not in EXAMPLES:
        raise KeyError(f"Unknown example {name!r}; valid names: {', '.join(EXAMPLES)}.")
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict) or set(data) != _TOP_LEVEL:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"Example {name!r} must have exactly {sorted(_TOP_LEVEL)}, got {keys}.")
    if data["name"] != name:
        raise ValueError(f"Example file {name}.json declares name {data['name']!r}.")
    steps = data["steps"]
    unknown = sorted(set(steps) - set(STEP_BY_KEY))
    if unknown:
        raise ValueError(
            f"Example {name!r} has unknown step(s) {', '.join(unknown)}; "
            f"steps are {', '.join(STEP_BY_KEY)}."
        )
    return Example(
        name=name,
        title=data["title"],
        summary=data["summary"],
        feature=data["feature"],
        context=dict(data["context"]),
        steps={key: dict(section) for key, section in steps.items()},
    )


def example_design(name: str) -> Design:
    """Build example `name` as the step tools would: the context first, then each step in order.

    Raises:
        KeyError: `name` is not one of `EXAMPLES`.
        pydantic.ValidationError: a section does not fit its patch model.
    """
    example = load_example(name)
    context = patch_model(Context).model_validate({**example.context, "feature": example.feature})
    design = apply_change(Design.model_validate({}), "context", context)
    for step in STEPS:
        section = example.steps.get(step.key)
        if section is not None:
            design = apply_change(design, step.key, patch_model(step.model).model_validate(section))
    return design
