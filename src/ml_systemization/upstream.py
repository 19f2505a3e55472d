"""Seed context handed over by an upstream agent step (data-centric design, trade-off analysis).

Such steps emit the problem, success metrics, guardrails and data contracts as JSON whose
shape is close to, but not exactly, ``model.Context``. ``normalize_context`` maps the common
differences before validation, so the payload is accepted as sent:

* a text field given as a JSON object or list (``data_contracts: [{"name": ..., "owner": ...}]``)
  is kept as compact JSON text;
* a success metric or guardrail given as a string becomes ``{"id": <slug>, "description": s}``;
* an item with ``name`` instead of ``id`` gets ``id`` from the name, and fields the model does
  not have (``threshold``, ``owner``, ...) are kept in its ``description``.

Anything else is left for validation to accept or reject with its usual message.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TEXT_FIELDS = (
    "problem",
    "user_outcome",
    "business_outcome",
    "data_contracts",
    "data_quality",
    "feedback_plan",
    "deployment_environment",
    "operational_constraints",
)
_ITEM_FIELDS = {"success_metrics": ("description", "target"), "guardrails": ("description",)}


def normalize_context(value: Any) -> Any:
    """Map an upstream context payload onto the shape of ``model.Context``; see the module."""
    if not isinstance(value, dict):
        return value
    result = dict(value)
    for key in _TEXT_FIELDS:
        if isinstance(result.get(key), dict | list):
            result[key] = _json_text(result[key])
    for key, known in _ITEM_FIELDS.items():
        items = result.get(key)
        if isinstance(items, list):
            result[key] = [_item(item, known) for item in items]
    return result


def _item(item: Any, known: tuple[str, ...]) -> Any:
    if isinstance(item, str):
        return {"id": slug(item), "description": item}
    if not isinstance(item, dict):
        return item
    named = item.get("id", item.get("name"))
    if not isinstance(named, str):
        return item
    result: dict[str, Any] = {"id": item["id"] if "id" in item else slug(named)}
    extras: list[str] = []
    if "id" not in item:
        extras.append(named)
    for key, value in item.items():
        if key in ("id", "name"):
            continue
        if key in known:
            result[key] = value if isinstance(value, str) or value is None else _json_text(value)
        else:
            extras.append(f"{key}: {value if isinstance(value, str) else _json_text(value)}")
    if extras:
        description = result.get("description")
        result["description"] = "; ".join([*([description] if description else []), *extras])
    return result


def slug(text: str) -> str:
    """An id for ``text``: lower case, runs of other characters as ``_``, at most 120 chars."""
    cleaned = re.sub(r"[^a-z0-9_.:-]+", "_", text.lower()).strip("_.:-")
    return (cleaned or "item")[:120]


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
