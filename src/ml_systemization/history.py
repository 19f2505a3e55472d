"""Field-level diffs between two design documents, and applying a diff to rebuild a revision.

The documents are plain JSON (``design.model_dump(mode="json")``). A path is a tuple of
segments: a dict key (``str``) or a list item (``ItemKey``), for lists whose items all carry a
unique ``id``; other lists are values compared as a whole. Rendered, a path reads
``evaluation.metrics[groundedness].threshold``.

``diff(a, b)`` followed by ``apply(a, changes)`` gives back ``b`` exactly, item order included,
so the store can keep one diff per revision and rebuild any revision from a checkpoint.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, assert_never

Op = Literal["added", "removed", "changed", "reordered"]


@dataclass(frozen=True)
class ItemKey:
    """A list item addressed by its ``id``."""

    id: str


Segment = str | ItemKey
Path = tuple[Segment, ...]


@dataclass(frozen=True)
class Change:
    """One field-level difference. ``reordered``: ``before``/``after`` are the item ids (or
    the map keys) in their old and new order."""

    path: Path
    op: Op
    before: Any = None
    after: Any = None

    @property
    def where(self) -> str:
        return render_path(self.path)

    def summary(self) -> str:
        """One line for a person or a model: the path and what happened to it."""
        where = self.where or "design"
        match self.op:
            case "added":
                return f"{where}: added {_short(self.after)}"
            case "removed":
                return f"{where}: removed (was {_short(self.before)})"
            case "changed":
                if self.before is None:
                    return f"{where}: set to {_short(self.after)}"
                if self.after is None:
                    return f"{where}: cleared (was {_short(self.before)})"
                return f"{where}: {_short(self.before)} → {_short(self.after)}"
            case "reordered":
                return f"{where}: order {', '.join(self.before)} → {', '.join(self.after)}"
            case _:
                assert_never(self.op)


# --------------------------------------------------------------------------- diff


def diff(before: Any, after: Any, *, at: Path = ()) -> list[Change]:
    """The changes that turn ``before`` into ``after`` (both JSON values), in document order.

    ``at`` is where the two values sit in a larger document: the paths of the changes start
    with it, so diffing one section of two documents whose other sections are equal gives
    the same changes as diffing the whole documents.
    """
    changes: list[Change] = []
    _diff(at, before, after, changes)
    return changes


def _diff(path: Path, a: Any, b: Any, out: list[Change]) -> None:
    if isinstance(a, dict | list) and a == b and _identical(a, b):
        # Most of a document is unchanged: C-speed == and a plain walk settle it, instead of
        # building paths and item indexes for every field only to find no difference.
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key, value in a.items():
            if key not in b:
                out.append(Change((*path, key), "removed", before=value))
            else:
                _diff((*path, key), value, b[key], out)
        for key, value in b.items():
            if key not in a:
                out.append(Change((*path, key), "added", after=value))
        _check_order(path, list(a), list(b), out)
        return
    if isinstance(a, list) and isinstance(b, list):
        keyed_a, keyed_b = _keyed(a), _keyed(b)
        if keyed_a is not None and keyed_b is not None and (a or b):
            _diff_items(path, keyed_a, keyed_b, out)
            return
    if not _same(a, b):
        out.append(Change(path, "changed", before=a, after=b))


def _diff_items(
    path: Path, a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]], out: list[Change]
) -> None:
    for item_id, item in a.items():
        if item_id not in b:
            out.append(Change((*path, ItemKey(item_id)), "removed", before=item))
        else:
            _diff((*path, ItemKey(item_id)), item, b[item_id], out)
    for item_id, item in b.items():
        if item_id not in a:
            out.append(Change((*path, ItemKey(item_id)), "added", after=item))
    _check_order(path, list(a), list(b), out)


def _check_order(path: Path, a: list[str], b: list[str], out: list[Change]) -> None:
    """Applying changes keeps survivors (items or map keys) in their old order and appends new
    ones; record the order when it is anything else."""
    kept = set(b)
    old = set(a)
    natural = [k for k in a if k in kept] + [k for k in b if k not in old]
    if natural != b:
        out.append(Change(path, "reordered", before=a, after=b))


def _keyed(items: list[Any]) -> dict[str, dict[str, Any]] | None:
    """Items by id when every item is an object with a unique string id; else None."""
    keyed: dict[str, dict[str, Any]] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            return None
        if item["id"] in keyed:
            return None
        keyed[item["id"]] = item
    return keyed


def _identical(a: Any, b: Any) -> bool:
    """Whether ``diff(a, b)`` is empty for certain: the same JSON, types and key order included
    (``==`` alone takes ``1`` for ``1.0`` and ``true``, and ignores key order)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            ka == kb and _identical(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: unlike ``==``, ``true`` is not ``1`` and ``1`` is not ``1.0``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# --------------------------------------------------------------------------- apply


def apply(doc: Any, changes: Sequence[Change]) -> Any:
    """``doc`` with ``changes`` applied; ``doc`` itself is not modified.

    Raises:
        ValueError: a change does not fit the document (a path that does not exist).
    """
    return apply_in_place(copy.deepcopy(doc), changes)


def apply_in_place(doc: Any, changes: Sequence[Change]) -> Any:
    """Like ``apply``, but may modify ``doc`` (cheaper when rebuilding from a checkpoint)."""
    for change in changes:
        doc = _apply_one(doc, change)
    return doc


def _apply_one(doc: Any, change: Change) -> Any:
    if change.op == "reordered":
        target = _resolve(doc, change.path)
        entries = target if isinstance(target, dict) else {item["id"]: item for item in target}
        if sorted(entries) != sorted(change.after):
            raise ValueError(f"Cannot reorder {render_path(change.path)}: entries differ")
        ordered = [(key, entries[key]) for key in change.after]
        if isinstance(target, dict):
            target.clear()
            target.update(ordered)
        else:
            target[:] = [value for _, value in ordered]
        return doc
    if not change.path:
        if change.op != "changed":
            raise ValueError(f"Cannot apply {change.op} to the whole document")
        return copy.deepcopy(change.after)
    parent = _resolve(doc, change.path[:-1])
    last = change.path[-1]
    value = copy.deepcopy(change.after)
    if isinstance(last, ItemKey):
        if not isinstance(parent, list):
            raise ValueError(f"{render_path(change.path[:-1])} is not a list")
        index = next((i for i, item in enumerate(parent) if item.get("id") == last.id), None)
        if change.op == "removed":
            if index is None:
                raise ValueError(f"No item {render_path(change.path)} to remove")
            del parent[index]
        elif index is None:
            parent.append(value)
        else:
            parent[index] = value
        return doc
    if not isinstance(parent, dict):
        raise ValueError(f"{render_path(change.path[:-1])} is not an object")
    if change.op == "removed":
        if last not in parent:
            raise ValueError(f"No field {render_path(change.path)} to remove")
        del parent[last]
    else:
        parent[last] = value
    return doc


def _resolve(doc: Any, path: Path) -> Any:
    node = doc
    for depth, segment in enumerate(path):
        if isinstance(segment, ItemKey) and isinstance(node, list):
            node = next((item for item in node if item.get("id") == segment.id), None)
        elif isinstance(segment, str) and isinstance(node, dict):
            node = node.get(segment)
        else:
            node = None
        if node is None:
            raise ValueError(f"No {render_path(path[: depth + 1])} in the document")
    return node


# --------------------------------------------------------------------------- storage, display


def dumps(changes: Sequence[Change]) -> str:
    """Compact JSON of the changes, enough to apply them (``before`` is not kept)."""
    return json.dumps(
        [_stored(change) for change in changes], separators=(",", ":"), ensure_ascii=False
    )


def _stored(change: Change) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "p": [s if isinstance(s, str) else {"id": s.id} for s in change.path],
        "op": change.op,
    }
    if change.op != "removed":
        entry["v"] = change.after
    return entry


def loads(text: str) -> list[Change]:
    """The changes stored by ``dumps``."""
    return [
        Change(
            tuple(s if isinstance(s, str) else ItemKey(s["id"]) for s in entry["p"]),
            entry["op"],
            after=entry.get("v"),
        )
        for entry in json.loads(text)
    ]


def render_path(path: Path) -> str:
    """``("evaluation", "metrics", ItemKey("bleu"), "threshold")`` ->
    ``evaluation.metrics[bleu].threshold``."""
    text = ""
    for segment in path:
        if isinstance(segment, ItemKey):
            text += f"[{segment.id}]"
        else:
            text += f".{segment}" if text else segment
    return text


def changed_paths(changes: Sequence[Change]) -> list[str]:
    """The distinct rendered paths of ``changes``, in order."""
    return list(dict.fromkeys(change.where or "design" for change in changes))


_SHORT = 80


def _short(value: Any) -> str:
    text = json.dumps(_compact(value), ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def _compact(value: Any) -> Any:
    """Drop nulls and empty containers, which a model dump is full of, for display."""
    if isinstance(value, dict):
        kept = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value
