"""Errors a caller can act on, each named by what went wrong.

    MLSystemizationError          base; the message always says what to do next
    ├── DesignNotFoundError       unknown design_id
    ├── InvalidChangeError        a change that cannot be applied (bad remove path, duplicate ids)
    ├── StaleRevisionError        expected_revision no longer current
    ├── TemplateError             unknown template or artifact name, broken override
    └── StoreError                the database cannot be opened or migrated

The server turns each into a ToolError so the model sees the message. Design defects are
never exceptions: they are findings.
"""

from __future__ import annotations


class MLSystemizationError(Exception):
    """Base class; the message is shown to the caller and says how to recover."""


class DesignNotFoundError(MLSystemizationError):
    def __init__(self, design_id: str) -> None:
        super().__init__(
            f"No design with id {design_id!r}. Call list_designs to see existing ids, "
            "or start_design to create one."
        )
        self.design_id = design_id


class InvalidChangeError(MLSystemizationError):
    """The requested change is malformed; nothing was stored."""


class StaleRevisionError(MLSystemizationError):
    def __init__(self, design_id: str, expected: int, current: int) -> None:
        super().__init__(
            f"Design {design_id!r} is at revision {current}, not {expected}; nothing was "
            "written. Call get_design to see the current state, then retry with "
            f"expected_revision={current}."
        )
        self.design_id = design_id
        self.expected = expected
        self.current = current


class TemplateError(MLSystemizationError):
    """A template is unknown or an override cannot be loaded or rendered."""


class StoreError(MLSystemizationError):
    """The database cannot be opened, migrated or written."""
