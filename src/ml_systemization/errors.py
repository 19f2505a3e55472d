"""Errors a caller can act on, each named by what went wrong.

    MLSystemizationError          base; the message always says what to do next
    ├── DesignNotFoundError       unknown design_id
    ├── DesignDeletedError        the design is deleted (restore_design brings it back)
    ├── InvalidChangeError        a change that cannot be applied (bad remove path, duplicate ids)
    ├── StaleRevisionError        expected_revision no longer current (names what changed since)
    ├── RevisionError             a revision that does not exist or cannot be rebuilt
    ├── LimitExceededError        a text, list, argument or design over its configured limit
    ├── BundleError               an export bundle that cannot be imported, or a bad export path
    ├── TemplateError             unknown template or artifact name, broken override
    └── StoreError                the database cannot be opened or migrated

The server turns each into a ToolError so the model sees the message. Design defects are
never exceptions: they are findings.
"""

from __future__ import annotations

from collections.abc import Sequence

# How many changed paths a stale-revision message names before it summarizes the rest.
_SHOWN_PATHS = 12


class MLSystemizationError(Exception):
    """Base class; the message is shown to the caller and says how to recover."""


class DesignNotFoundError(MLSystemizationError):
    def __init__(self, design_id: str) -> None:
        super().__init__(
            f"No design with id {design_id!r}. Call list_designs to see existing ids, "
            "or start_design to create one."
        )
        self.design_id = design_id


class DesignDeletedError(MLSystemizationError):
    def __init__(self, design_id: str, deleted_at: str, restore_until: str) -> None:
        super().__init__(
            f"Design {design_id!r} was deleted at {deleted_at}; nothing was read or written. "
            f"Call restore_design to bring it back (possible until {restore_until})."
        )
        self.design_id = design_id


class InvalidChangeError(MLSystemizationError):
    """The requested change is malformed; nothing was stored."""


class StaleRevisionError(MLSystemizationError):
    def __init__(
        self,
        design_id: str,
        expected: int,
        current: int,
        changed: Sequence[str] | None = None,
    ) -> None:
        if expected > current:
            since = f"Revision {expected} does not exist yet."
        elif changed is None:
            since = f"What changed since revision {expected} is not recorded."
        elif not changed:
            since = f"No field changed since revision {expected} (only history entries)."
        else:
            shown = ", ".join(changed[:_SHOWN_PATHS])
            more = len(changed) - _SHOWN_PATHS
            since = f"Changed since revision {expected}: {shown}" + (
                f" and {more} more." if more > 0 else "."
            )
        super().__init__(
            f"Design {design_id!r} is at revision {current}, not {expected}; nothing was "
            f"written. {since} Call get_design to re-read it (diff_design shows the "
            f"changes), then retry with expected_revision={current}."
        )
        self.design_id = design_id
        self.expected = expected
        self.current = current
        self.changed = list(changed) if changed is not None else None


class RevisionError(MLSystemizationError):
    """A revision that does not exist, or whose document the history cannot rebuild."""


class LimitExceededError(MLSystemizationError):
    def __init__(self, path: str, size: int, limit: int, setting: str, unit: str) -> None:
        hint = {
            "max_text_chars": "Shorten the text or link to a document instead.",
            "max_list_items": "Keep fewer items, or summarize them.",
            "max_design_bytes": "Shorten long texts or remove items from the design.",
            "max_argument_bytes": "Send the change in smaller parts (fields not sent are kept).",
        }.get(setting, "")
        super().__init__(
            f"{path}: {size:,} {unit}, over the limit of {limit:,} ({setting}); nothing was "
            f"stored. {hint}".rstrip()
        )
        self.path = path
        self.size = size
        self.limit = limit
        self.setting = setting


class BundleError(MLSystemizationError):
    """An export bundle that cannot be imported, or an export path outside the export folder."""


class TemplateError(MLSystemizationError):
    """A template is unknown or an override cannot be loaded or rendered."""


class StoreError(MLSystemizationError):
    """The database cannot be opened, migrated or written."""
