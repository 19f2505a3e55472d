"""Lean tool schemas: what tools/list publishes, derived from the pydantic-generated schemas.

Every tool schema is paid for in every conversation (docs/PERFORMANCE.md, "tools/list size"),
so the published schemas keep the types and constraints the server enforces and drop what
says nothing a model needs:

* generated ``title``s, ``default`` values that mean "not sent" (``null``, ``[]``, ``false``),
  and ``additionalProperties: true`` (the JSON Schema default);
* ``"type"`` next to an ``enum`` (the values say it), and ``anyOf: [X, null]`` written as a
  nullable ``type`` where ``X`` is a plain type;
* ``$defs`` entries used once, inlined where they are used;
* in output schemas, every ``description``, ``default`` and ``additionalProperties: false``:
  the tool description says what comes back, a default tells what a caller may omit (nothing,
  in a result), and a client only checks a result against the schema.

The pydantic models still validate every call, so nothing the server accepts or rejects
changes; `tests/test_context_size.py` guards the size and the snapshot of the result.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

# Keywords whose value is a map of name -> schema, a schema, or a list of schemas.
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains", "propertyNames")
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_DEFS_REF = "#/$defs/"
_KEY_ORDER = {"type": 0, "description": 1, "enum": 2, "const": 2, "properties": 3, "items": 3}


def compact_tool_schema(schema: dict[str, Any], *, output: bool = False) -> dict[str, Any]:
    """A lean copy of a tool's input (or output, with ``output=True``) schema."""
    result: dict[str, Any] = copy.deepcopy(schema)
    _inline_single_use_defs(result)
    _compact_node(result, output=output)
    return result


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for key in _SCHEMA_MAPS:
        value = node.get(key)
        if isinstance(value, dict):
            found.extend(v for v in value.values() if isinstance(v, dict))
    for key in _SCHEMA_VALUES:
        value = node.get(key)
        if isinstance(value, dict):
            found.append(value)
    for key in _SCHEMA_LISTS:
        value = node.get(key)
        if isinstance(value, list):
            found.extend(v for v in value if isinstance(v, dict))
    return found


def _compact_node(node: dict[str, Any], *, output: bool) -> None:
    for child in _children(node):
        _compact_node(child, output=output)
    node.pop("title", None)
    if "default" in node and _says_not_sent(node["default"]):
        del node["default"]
    if node.get("additionalProperties") is True:
        del node["additionalProperties"]
    if output:
        node.pop("description", None)
        node.pop("default", None)
        if node.get("additionalProperties") is False:
            del node["additionalProperties"]
    _merge_nullable(node)
    if ("enum" in node or "const" in node) and "type" in node:
        del node["type"]
    # Reading order: what it is first, then what it means, then the details.
    ordered = sorted(node.items(), key=lambda item: _KEY_ORDER.get(item[0], len(_KEY_ORDER)))
    node.clear()
    node.update(ordered)


def _says_not_sent(default: Any) -> bool:
    """A default that omitting the argument states anyway: null, false, [] or {}."""
    return default is None or default is False or default == [] or default == {}


def _merge_nullable(node: dict[str, Any]) -> None:
    """``anyOf: [X, {"type": "null"}]`` -> X with ``null`` added to its type (or enum)."""
    variants = node.get("anyOf")
    if not (isinstance(variants, list) and len(variants) == 2 and {"type": "null"} in variants):
        return
    (other,) = [v for v in variants if v != {"type": "null"}]
    kind = other.get("type")
    if "$ref" in other or "anyOf" in other or not isinstance(kind, str):
        return
    if set(other) & set(node) - {"anyOf", "description"}:
        return
    del node["anyOf"]
    node.update({key: value for key, value in other.items() if key not in node})
    node["type"] = [kind, "null"]
    if "enum" in node:
        node["enum"] = [*node["enum"], None]


def _refs(node: Any, counts: Counter[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS_REF):
            counts[ref[len(_DEFS_REF) :]] += 1
        for value in node.values():
            _refs(value, counts)
    elif isinstance(node, list):
        for value in node:
            _refs(value, counts)


def _inline_single_use_defs(schema: dict[str, Any]) -> None:
    """Replace the ``$ref`` to a definition used once (and not by itself) with its body, one
    definition at a time (a recursive definition stays where it is); drop unused ones."""
    defs: dict[str, Any] = schema.get("$defs") or {}
    while True:
        counts: Counter[str] = Counter()
        _refs({k: v for k, v in schema.items() if k != "$defs"}, counts)
        for body in defs.values():
            _refs(body, counts)
        name = next(
            (
                name
                for name, body in defs.items()
                if counts[name] <= 1 and f'"{_DEFS_REF}{name}"' not in json.dumps(body)
            ),
            None,
        )
        if name is None:
            break
        body = defs.pop(name)
        if counts[name]:
            _replace_ref(schema, f"{_DEFS_REF}{name}", body)
    if "$defs" in schema and not defs:
        del schema["$defs"]


def _replace_ref(node: Any, ref: str, body: dict[str, Any]) -> bool:
    if isinstance(node, dict):
        if node.get("$ref") == ref:
            del node["$ref"]
            for key, value in body.items():
                node.setdefault(key, value)
            return True
        return any(_replace_ref(value, ref, body) for value in node.values())
    if isinstance(node, list):
        return any(_replace_ref(value, ref, body) for value in node)
    return False
