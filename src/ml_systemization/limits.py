"""Size limits on tool arguments and stored designs; pure checks that raise LimitExceededError."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ml_systemization.errors import LimitExceededError
from ml_systemization.settings import Limits


def check_arguments(arguments: Mapping[str, Any], limits: Limits) -> None:
    """Refuse a tool call whose arguments, any text in them, or any list is over its limit.

    Runs before the transaction, so an oversize call never takes the write lock.

    Raises:
        LimitExceededError: names the argument path, its size and the limit.
    """
    size = json_size(arguments)
    if size > limits.max_argument_bytes:
        raise LimitExceededError(
            "The arguments of this call",
            size,
            limits.max_argument_bytes,
            "max_argument_bytes",
            "bytes",
        )
    _walk(arguments, "", limits)


def check_document(doc: Mapping[str, Any], doc_bytes: int, limits: Limits) -> None:
    """Refuse to store a design over the design-size, text or list limits.

    Args:
        doc: The design as JSON.
        doc_bytes: Size of its serialized form, as stored.
        limits: The limits to apply.

    Raises:
        LimitExceededError: names the field path (or the whole design), its size and the limit.
    """
    check_document_fields(doc.items(), doc_bytes, limits)


def check_document_fields(
    fields: Iterable[tuple[str, Any]], doc_bytes: int, limits: Limits
) -> None:
    """``check_document`` on some top-level fields of a design only, in the order given.

    For a change to one section of a design whose other fields are known to be within the
    limits: the same checks, the same first error and the same message as ``check_document``
    on the whole document, without walking what did not change.

    Args:
        fields: ``(name, JSON value)`` of the fields to walk, in document order.
        doc_bytes: Size of the whole serialized design, as stored.
        limits: The limits to apply.

    Raises:
        LimitExceededError: as ``check_document``.
    """
    if doc_bytes > limits.max_design_bytes:
        raise LimitExceededError(
            "The design after this change",
            doc_bytes,
            limits.max_design_bytes,
            "max_design_bytes",
            "bytes",
        )
    for name, value in fields:
        _walk(value, name, limits)


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON, counted without serializing it.

    Serializing a multi-megabyte argument only to measure it would add two more copies of it
    to the server's memory. Exact except for control characters, escaped as 2 to 6 bytes but
    counted as 1.
    """
    if isinstance(value, str):
        size = len(value) if value.isascii() else len(value.encode("utf-8"))
        return size + 2 + value.count('"') + value.count("\\")
    if value is None or isinstance(value, bool):
        return 4 if value in (None, True) else 5
    if isinstance(value, int | float):
        return len(json.dumps(value))
    if isinstance(value, Mapping):
        pairs = sum(json_size(str(k)) + 1 + json_size(v) for k, v in value.items())
        return 2 + pairs + max(len(value) - 1, 0)
    if isinstance(value, list | tuple):
        return 2 + sum(json_size(v) for v in value) + max(len(value) - 1, 0)
    return len(json.dumps(value, default=str).encode("utf-8"))


def _walk(value: Any, path: str, limits: Limits) -> None:
    if isinstance(value, str):
        if len(value) > limits.max_text_chars:
            raise LimitExceededError(
                path or "value", len(value), limits.max_text_chars, "max_text_chars", "characters"
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _walk(item, f"{path}.{key}" if path else str(key), limits)
    elif isinstance(value, list):
        if len(value) > limits.max_list_items:
            raise LimitExceededError(
                path or "value", len(value), limits.max_list_items, "max_list_items", "items"
            )
        for index, item in enumerate(value):
            label = item.get("id") if isinstance(item, Mapping) else None
            _walk(item, f"{path}[{label if isinstance(label, str) else index}]", limits)
