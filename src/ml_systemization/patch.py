"""Partial updates: patch models derived from the design models, and the merge that applies them.

A patch has the shape of its section with every field optional. Merge rules:

* a field that is not sent is kept;
* an explicit ``null`` clears it (a nested object goes back to empty, a list to ``[]``);
* nested objects merge field by field;
* lists of items (objects with an ``id``) are upserted by id, and each item merges field by field;
* lists of plain values are replaced as a whole;
* maps (``scores``) merge key by key, and a ``null`` value removes a key;
* ``remove`` entries such as ``"metrics/groundedness"`` delete one item or one map key.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from functools import cache
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, Field, create_model

from ml_systemization.errors import InvalidChangeError
from ml_systemization.model import MODEL_CONFIG, Item, Model


def _strip_optional(annotation: Any) -> Any:
    """`X | None` -> X; anything else unchanged."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _model_class(annotation: Any) -> type[Model] | None:
    inner = _strip_optional(annotation)
    if isinstance(inner, type) and issubclass(inner, Model):
        return inner
    return None


def _item_class(annotation: Any) -> type[Item] | None:
    inner = _strip_optional(annotation)
    if get_origin(inner) is list:
        (arg,) = get_args(inner)
        if get_origin(arg) is typing.Annotated:
            arg = get_args(arg)[0]
        if isinstance(arg, type) and issubclass(arg, Item):
            return arg
    return None


def _is_map(annotation: Any) -> bool:
    return get_origin(_strip_optional(annotation)) is dict


def _nullable_map(annotation: Any) -> Any:
    """dict[str, V] -> dict[str, nullable(V) | None], recursively, so null removes a key."""
    inner = _strip_optional(annotation)
    if get_origin(inner) is dict:
        key, value = get_args(inner)
        value_type: Any = typing.Optional[_nullable_map(value)]  # noqa: UP045
        return dict[key, value_type]  # type: ignore[valid-type]
    return inner


@cache
def patch_model(cls: type[BaseModel]) -> type[BaseModel]:
    """The patch model of `cls`: same fields, all optional and defaulting to "not sent"."""
    fields: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if cls is not Item and issubclass(cls, Item) and name == "id":
            fields[name] = (info.annotation, info)
            continue
        description = info.description
        sub = _model_class(info.annotation)
        item = _item_class(info.annotation)
        if sub is not None:
            annotation: Any = patch_model(sub) | None
        elif item is not None:
            annotation = list[patch_model(item)] | None  # type: ignore[misc]
        elif _is_map(info.annotation):
            annotation = _nullable_map(info.annotation) | None
        else:
            # Reuse the original constraints (ge/le/max_length); only the default changes.
            fields[name] = (typing.Optional[info.annotation], _copy_field(info))  # noqa: UP045
            continue
        fields[name] = (annotation, Field(None, description=description))
    model = create_model(f"{cls.__name__}Patch", __config__=MODEL_CONFIG, **fields)
    # The docstring is the schema's description: one line, as tools/list publishes it.
    doc = cls.__doc__ if cls.__doc__ and cls.__doc__ != Item.__doc__ else None
    model.__doc__ = " ".join(doc.split()) if doc else None
    return model


def _copy_field(info: Any) -> Any:
    copied = info._copy() if hasattr(info, "_copy") else info
    copied.default = None
    copied.default_factory = None
    return copied


# --------------------------------------------------------------------------- merging


def merge_section(
    section_cls: type[Model],
    current: dict[str, Any],
    patch: dict[str, Any],
    *,
    path: str,
) -> dict[str, Any]:
    """Return `current` (a JSON dump of `section_cls`) with `patch` applied."""
    merged = dict(current)
    for name, value in patch.items():
        info = section_cls.model_fields[name]
        sub = _model_class(info.annotation)
        item = _item_class(info.annotation)
        where = f"{path}.{name}"
        if value is None:
            merged[name] = _empty(info)
        elif sub is not None:
            merged[name] = merge_section(sub, merged.get(name) or {}, value, path=where)
        elif item is not None:
            merged[name] = _upsert(item, merged.get(name) or [], value, path=where)
        elif _is_map(info.annotation):
            merged[name] = _merge_map(merged.get(name) or {}, value)
        else:
            merged[name] = value
    return merged


def _empty(info: Any) -> Any:
    if info.default_factory is not None:
        value = info.default_factory()
        return value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return None


def _upsert(
    item_cls: type[Item], current: list[dict[str, Any]], patch: list[dict[str, Any]], *, path: str
) -> list[dict[str, Any]]:
    seen: set[str] = set()
    result = [dict(existing) for existing in current]
    index = {existing["id"]: i for i, existing in enumerate(result)}
    for item in patch:
        item_id = item["id"]
        if item_id in seen:
            raise InvalidChangeError(
                f"{path} lists id {item_id!r} twice in one call; send each item once."
            )
        seen.add(item_id)
        if item_id in index:
            result[index[item_id]] = merge_section(
                item_cls, result[index[item_id]], item, path=f"{path}[{item_id}]"
            )
        else:
            index[item_id] = len(result)
            result.append(merge_section(item_cls, {}, item, path=f"{path}[{item_id}]"))
    return result


def _merge_map(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_map(merged[key], value)
        else:
            merged[key] = value
    return merged


# --------------------------------------------------------------------------- removal


def removable_paths(section_cls: type[Model], prefix: str = "") -> list[str]:
    """Paths inside a section whose entries can be removed one by one."""
    paths: list[str] = []
    for name, info in section_cls.model_fields.items():
        where = f"{prefix}{name}"
        if _item_class(info.annotation) is not None or _is_map(info.annotation):
            paths.append(where)
        sub = _model_class(info.annotation)
        if sub is not None:
            paths.extend(removable_paths(sub, f"{where}."))
    return paths


def apply_removals(
    section_cls: type[Model], current: dict[str, Any], removals: Sequence[str], *, section: str
) -> dict[str, Any]:
    """Delete the entries named `"<list or map path>/<id>"` from a section dump."""
    result = current
    for entry in removals:
        list_path, sep, entry_id = entry.rpartition("/")
        allowed = removable_paths(section_cls)
        if not sep or list_path not in allowed:
            raise InvalidChangeError(
                f"Cannot remove {entry!r}: use '<path>/<id>' where <path> is one of "
                f"{', '.join(allowed)} (section {section})."
            )
        result = _remove_one(section_cls, result, list_path.split("."), entry_id, entry, section)
    return result


def _remove_one(
    cls: type[Model],
    data: dict[str, Any],
    parts: list[str],
    entry_id: str,
    entry: str,
    section: str,
) -> dict[str, Any]:
    name, rest = parts[0], parts[1:]
    info = cls.model_fields[name]
    copy = dict(data)
    if rest:
        sub = _model_class(info.annotation)
        assert sub is not None
        copy[name] = _remove_one(sub, copy.get(name) or {}, rest, entry_id, entry, section)
        return copy
    if _is_map(info.annotation):
        values: dict[str, Any] = dict(copy.get(name) or {})
        if entry_id not in values:
            raise InvalidChangeError(
                f"Cannot remove {entry!r}: {section}.{name} has no key {entry_id!r} "
                f"(keys: {', '.join(values) or 'none'})."
            )
        del values[entry_id]
        copy[name] = values
        return copy
    items: list[dict[str, Any]] = list(copy.get(name) or [])
    kept = [item for item in items if item.get("id") != entry_id]
    if len(kept) == len(items):
        ids = ", ".join(str(item.get("id")) for item in items) or "none"
        raise InvalidChangeError(
            f"Cannot remove {entry!r}: {section}.{name} has no item {entry_id!r} (ids: {ids})."
        )
    copy[name] = kept
    return copy
