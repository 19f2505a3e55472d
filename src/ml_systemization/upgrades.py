"""Upgrades of stored design documents from older ``schema_version``s to the current one.

Used wherever an older document can come in: the store (rows written by an older package) and
import (bundles exported by one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ml_systemization.errors import StoreError
from ml_systemization.model import SCHEMA_VERSION

DesignUpgrade = Callable[[dict[str, Any]], dict[str, Any]]

# DESIGN_UPGRADES[n] turns a stored design document of schema_version n into version n + 1.
# Each SCHEMA_VERSION bump adds one entry; version 1 is the first, so there is none yet.
DESIGN_UPGRADES: dict[int, DesignUpgrade] = {}


def migrate_design(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored design document up to the current ``SCHEMA_VERSION``.

    Args:
        data: The parsed JSON of a stored design; not modified.

    Returns:
        A document of the current schema version.

    Raises:
        StoreError: The document is from a newer version of the package, or its
            ``schema_version`` is not a positive integer.
    """
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StoreError(f"A stored design has an invalid schema_version {version!r}.")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"A stored design has schema_version {version}, but this version of "
            f"ml-systemization knows only up to {SCHEMA_VERSION}. Upgrade the package."
        )
    upgraded = dict(data)
    while version < SCHEMA_VERSION:
        upgraded = DESIGN_UPGRADES[version](upgraded)
        version += 1
        upgraded["schema_version"] = version
    return upgraded
