"""The store's memory of recently used designs, and the section-only write it makes possible.

A step call changes one section of a design of tens of kilobytes. With the current revision
in memory (the loaded ``Design``, the JSON text of each of its fields and the parsed stored
JSON of each), a write dumps, validates, size-checks and diffs only the fields the change
replaced, and assembles the stored document from the cached text of the others. The result
is byte for byte what serializing the whole design gives (``"{" + '"name":text,' ... + "}"``
is how pydantic writes a model), and the diff is the whole-document diff, because fields
that are the same objects before and after have no differences.

Nothing here touches the database: ``store.SQLiteStore`` decides when an entry is current
(by the row's revision and updated_at, read in the write transaction) and writes what
``plan_write`` returns.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from ml_systemization import history
from ml_systemization.limits import check_document_fields
from ml_systemization.model import Design, Model
from ml_systemization.settings import Limits

# The top-level fields of a stored design, in the order model_dump_json writes them.
FIELDS: tuple[str, ...] = tuple(Design.model_fields)
# Fields holding one section model: a change to them alone is written section by section.
# The others (schema_version, waivers, rule_settings) carry Design-level validators, so a
# change to them goes through the whole-document write.
SECTIONS: dict[str, type[Model]] = {
    name: info.annotation
    for name, info in Design.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, Model)
}
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(info.annotation)
    for name, info in Design.model_fields.items()
    if name not in SECTIONS and info.annotation is not None
}


def field_json(name: str, value: Any) -> str:
    """The JSON text of one design field, as it appears inside the serialized design."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return _ADAPTERS[name].dump_json(value).decode()


def assemble(parts: tuple[str, ...] | list[str]) -> str:
    """The serialized design made of the JSON text of each field, in ``FIELDS`` order."""
    return (
        "{" + ",".join(f'"{name}":{part}' for name, part in zip(FIELDS, parts, strict=True)) + "}"
    )


@dataclass(frozen=True)
class CachedDesign:
    """The current revision of one design, as the store last read or wrote it.

    Invariants: ``assemble(parts) == doc`` (the stored text), ``parts[i]`` is the JSON text
    of field ``FIELDS[i]`` of ``design``, and ``parsed[i]`` is that field of
    ``json.loads(doc)``. ``design`` is shared with every caller that read it: it must never
    be modified (the store's callers build new designs instead).

    ``revision``, ``created_at`` and ``updated_at`` are the row's when the entry was made; the
    entry is used only while the row still has all three. The revision alone does not identify
    a write: an online restore of a backup takes a design back to an earlier revision, and
    later writes reach the cached revision number again with another content; ``updated_at``,
    later than every stored one at each write, tells them apart.
    """

    revision: int
    created_at: str
    doc: str
    design: Design
    parts: tuple[str, ...]
    parsed: tuple[Any, ...]
    # Limits the whole document is known to meet; None until checked.
    within: Limits | None
    # The row's updated_at; None matches any (an entry not made from a row, as in benchmarks).
    updated_at: str | None = None


def entry_for(
    revision: int,
    created_at: str,
    doc: str,
    design: Design,
    *,
    within: Limits | None = None,
    updated_at: str | None = None,
) -> CachedDesign | None:
    """A cache entry for a stored document and the design loaded from it.

    None when the document is not exactly what serializing ``design`` gives (written by an
    older version, or upgraded on load): the next write then diffs the whole document
    against the stored text, as it must.
    """
    parts = tuple(field_json(name, getattr(design, name)) for name in FIELDS)
    if assemble(parts) != doc:
        return None
    data = json.loads(doc)
    return CachedDesign(
        revision,
        created_at,
        doc,
        design,
        parts,
        tuple(data[name] for name in FIELDS),
        within,
        updated_at,
    )


@dataclass(frozen=True)
class SectionWrite:
    """What a section-only write stores: the document, the design, the diff, the next entry."""

    doc: str
    design: Design
    changes: list[history.Change]
    parts: tuple[str, ...]
    parsed: tuple[Any, ...]
    # False when a re-dumped section differs from its stored text: the result is not cached.
    cacheable: bool


def plan_write(entry: CachedDesign, new: Design, limits: Limits) -> SectionWrite | None:
    """The write of ``new``, the result of a change to ``entry.design``, section by section.

    Returns None when the change is not a section-only one (a Design-level field changed, no
    field was replaced, the design was modified in place, a field holds a subclass) or a
    changed section does not survive a JSON round trip: the caller then takes the
    whole-document path, which stores the same result or raises exactly the error it always
    raised.

    Raises:
        LimitExceededError: as ``limits.check_document`` on the whole new document.
    """
    old = entry.design
    if new is old or type(new) is not Design:
        return None
    changed = [i for i, name in enumerate(FIELDS) if getattr(new, name) is not getattr(old, name)]
    if not changed:
        # Nothing replaced: a no-op, or (against the contract) a field modified in place,
        # which only the whole-document path would see and store.
        return None
    parts, parsed = list(entry.parts), list(entry.parsed)
    sections: dict[str, Model] = {}
    for i in changed:
        name = FIELDS[i]
        value = getattr(new, name)
        if name not in SECTIONS or type(value) is not SECTIONS[name]:
            return None
        try:
            parts[i] = value.model_dump_json()
            sections[name] = SECTIONS[name].model_validate_json(parts[i])
        except (ValidationError, ValueError):
            return None
        parsed[i] = json.loads(parts[i])
    doc = assemble(parts)
    # Fields that did not change were within these limits when they were written; a store
    # whose limits differ from the entry's walks them all, as the whole-document check does.
    walk = changed if entry.within == limits else range(len(FIELDS))
    check_document_fields(((FIELDS[i], parsed[i]) for i in walk), len(doc.encode("utf-8")), limits)
    changes = [
        change
        for i in changed
        for change in history.diff(entry.parsed[i], parsed[i], at=(FIELDS[i],))
    ]
    # The next write dumps the validated sections; their text must be what was stored.
    redumped = {FIELDS[i]: sections[FIELDS[i]].model_dump_json() for i in changed}
    cacheable = all(redumped[FIELDS[i]] == parts[i] for i in changed)
    return SectionWrite(
        doc, old.model_copy(update=sections), changes, tuple(parts), tuple(parsed), cacheable
    )


class DesignCache:
    """The current revision of the most recently used designs, least recently used dropped.

    Not thread-safe by itself: the store calls it under its lock.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, CachedDesign] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(
        self, design_id: str, revision: int, created_at: str, updated_at: str
    ) -> CachedDesign | None:
        """The entry of this design if it was made from the row with these values, else None."""
        entry = self._entries.get(design_id)
        if (
            entry is None
            or entry.revision != revision
            or entry.created_at != created_at
            or (entry.updated_at is not None and entry.updated_at != updated_at)
        ):
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(design_id)
        return entry

    def put(self, design_id: str, entry: CachedDesign | None) -> None:
        """Remember ``entry`` (None forgets the design)."""
        self._entries.pop(design_id, None)
        if entry is None or self.size <= 0:
            return
        self._entries[design_id] = entry
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
