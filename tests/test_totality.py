"""No design the models accept can make a review, the computed numbers or a render fail."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from ml_systemization.artifacts import render_design
from ml_systemization.computed import compute_numbers
from ml_systemization.examples import EXAMPLES, example_design
from ml_systemization.model import Design
from ml_systemization.quality import review
from ml_systemization.render import Renderer
from ml_systemization.settings import RuleSettings

EDGES: tuple[float, ...] = (0, 1e-300, 1e300, 5_000)
SETTINGS = RuleSettings()


def numeric_paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from numeric_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from numeric_paths(value, (*path, index))
    elif isinstance(data, int | float) and not isinstance(data, bool):
        yield path


def with_value(data: dict[str, Any], path: tuple[Any, ...], value: float) -> dict[str, Any]:
    copy: Any = {**data}
    node = copy
    for key in path[:-1]:
        child = node[key]
        child = {**child} if isinstance(child, dict) else [*child]
        node[key] = child
        node = child
    node[path[-1]] = value
    return dict(copy)


def variants(name: str) -> Iterator[Design]:
    base = example_design(name).model_dump(mode="json")
    for path in numeric_paths(base):
        if path[0] == "schema_version":
            continue
        for value in EDGES:
            original = base
            for key in path:
                original = original[key]
            typed = int(value) if isinstance(original, int) else value
            try:
                yield Design.model_validate(with_value(base, path, typed))
            except ValidationError:
                continue  # the models refuse it, with a clear error, before any rule runs


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_accepted_extreme_value_still_reviews_and_computes(name: str) -> None:
    count = 0
    for design in variants(name):
        review(design, SETTINGS)
        compute_numbers(design, SETTINGS)
        count += 1
    assert count > 300


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_sample_of_extreme_designs_renders(name: str) -> None:
    renderer = Renderer()
    sample = random.Random(7).sample(list(variants(name)), 25)
    for design in sample:
        out = render_design(renderer, design, design_id="d-x", revision=1, rules=SETTINGS)
        assert all(text.startswith("# ") for text in out.values())
