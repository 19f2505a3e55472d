"""Export bundles: a design as versioned JSON plus its rendered artifacts, and reading them back.

A bundle is what ``export_design`` returns and ``ml-systemization export`` writes::

    {"format": "ml-systemization/design", "format_version": 1, "schema_version": 1,
     "design_id": "d-…", "revision": 12, "exported_at": "…", "design": {…},
     "artifacts": {"one_pager": "# …", …}}

On disk it is a folder: ``design.json`` (the bundle without its artifacts) and one
``<artifact>.md`` per artifact. Importing reads the ``design`` (artifacts are rendered again
from it), upgrades an older ``schema_version`` and validates it; a bare design document is
accepted too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from ml_systemization.errors import BundleError, StoreError
from ml_systemization.model import MODEL_CONFIG, SCHEMA_VERSION, Design
from ml_systemization.upgrades import migrate_design

FORMAT: Literal["ml-systemization/design"] = "ml-systemization/design"
FORMAT_VERSION = 1
DESIGN_FILE = "design.json"


class Bundle(BaseModel):
    """A design as versioned JSON plus its seven rendered artifacts."""

    model_config = MODEL_CONFIG

    format: Literal["ml-systemization/design"] = Field(FORMAT, description="Bundle format")
    format_version: int = Field(FORMAT_VERSION, description="Bundle format version")
    schema_version: int = Field(description="Design schema version of `design`")
    design_id: str | None = Field(None, description="Id in the exporting database")
    revision: int | None = Field(None, description="Revision exported")
    exported_at: AwareDatetime | None = Field(None, description="When, UTC")
    design: dict[str, Any] = Field(description="The design (schema: schema://design)")
    artifacts: dict[str, str] = Field(default_factory=dict, description="Artifact name -> markdown")


class Imported(BaseModel):
    """A design read from a bundle, with where it came from."""

    design: Design
    migrated_from: int | None = Field(description="Older schema_version it was upgraded from")
    source_design_id: str | None
    source_revision: int | None


def make_bundle(
    design: Design,
    *,
    design_id: str,
    revision: int,
    artifacts: Mapping[str, str],
    now: dt.datetime | None = None,
) -> Bundle:
    """The bundle of one design revision."""
    return Bundle(
        schema_version=design.schema_version,
        design_id=design_id,
        revision=revision,
        exported_at=now or dt.datetime.now(dt.UTC),
        design=design.model_dump(mode="json"),
        artifacts=dict(artifacts),
    )


def read_bundle(data: Any) -> Imported:
    """Validate a bundle (or a bare design document) and upgrade it to the current schema.

    Raises:
        BundleError: Not a bundle or design, an unknown format or a newer version, or a
            design that does not validate; the message names the problem fields.
    """
    if not isinstance(data, Mapping):
        raise BundleError("Expected a JSON object: an export bundle or a design document.")
    source_id: str | None = None
    source_revision: int | None = None
    if "format" in data:
        if data["format"] != FORMAT:
            raise BundleError(f"Unknown bundle format {data['format']!r}; expected {FORMAT!r}.")
        version = data.get("format_version")
        if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
            raise BundleError(
                f"Bundle format_version {version!r} is not supported (this version reads 1 to "
                f"{FORMAT_VERSION}); upgrade ml-systemization."
            )
        design = data.get("design")
        if not isinstance(design, Mapping):
            raise BundleError("The bundle has no `design` object.")
        source_id = data.get("design_id") if isinstance(data.get("design_id"), str) else None
        revision = data.get("revision")
        source_revision = revision if isinstance(revision, int) else None
    else:
        design = data
    schema_version = design.get("schema_version", 1)
    if isinstance(schema_version, int) and schema_version > SCHEMA_VERSION:
        raise BundleError(
            f"The design has schema_version {schema_version}, newer than this version of "
            f"ml-systemization reads ({SCHEMA_VERSION}); upgrade the package to import it."
        )
    try:
        upgraded = migrate_design(dict(design))
        loaded = Design.model_validate(upgraded)
    except StoreError as exc:
        raise BundleError(f"The design cannot be imported: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'design'}: {err['msg']}"
            for err in exc.errors(include_url=False)[:10]
        )
        raise BundleError(
            f"The design does not validate ({exc.error_count()} errors): {problems}. "
            "Nothing was stored."
        ) from exc
    return Imported(
        design=loaded,
        migrated_from=schema_version if schema_version != SCHEMA_VERSION else None,
        source_design_id=source_id,
        source_revision=source_revision,
    )


def write_folder(bundle: Bundle, folder: Path) -> list[Path]:
    """Write ``design.json`` and one ``<artifact>.md`` per artifact into ``folder``.

    Files are created exclusively: an existing file is never overwritten, so two exports that
    race for one folder cannot mix their files (the second one fails).

    Returns:
        The files written.

    Raises:
        BundleError: A file exists already, or the folder cannot be written.
    """
    document = bundle.model_dump(mode="json", exclude={"artifacts"})
    contents = {DESIGN_FILE: json.dumps(document, indent=2, ensure_ascii=False) + "\n"}
    contents |= {f"{name}.md": markdown for name, markdown in bundle.artifacts.items()}
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for filename, text in contents.items():
            path = folder / filename
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
            written.append(path)
    except FileExistsError as exc:
        raise BundleError(
            f"{exc.filename} exists already; an export never overwrites files. Choose a new "
            f"folder (written before stopping: {len(written)} file(s))."
        ) from exc
    except OSError as exc:
        raise BundleError(
            f"Cannot write the export to {folder}: {exc.strerror or exc} "
            f"(written before stopping: {len(written)} file(s))."
        ) from exc
    return written


def read_path(path: Path) -> Any:
    """The JSON of a bundle folder (its ``design.json``) or of a JSON file.

    Raises:
        BundleError: The path does not exist or is not JSON.
    """
    target = path / DESIGN_FILE if path.is_dir() else path
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError(f"Cannot read {target}: {exc.strerror or exc}.") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(f"{target} is not JSON: {exc}.") from exc


def export_target(root: Path, requested: str) -> Path:
    """The folder ``requested`` names inside the export folder ``root``, made safe.

    The result resolves inside ``root`` (after following symlinks) and is missing or empty,
    so an export never escapes the folder and never overwrites anything.

    Raises:
        BundleError: The path escapes ``root`` or names a non-empty folder or a file.
    """
    base = root.resolve()
    try:
        candidate = Path(requested)
        target = candidate.resolve() if candidate.is_absolute() else (base / candidate).resolve()
        exists = target.exists()
        occupied = exists and (not target.is_dir() or _has_entries(target))
    except (OSError, ValueError) as exc:
        raise BundleError(
            f"Export path {requested!r} cannot be used ({exc}); pass a plain folder name "
            "relative to the export folder."
        ) from exc
    if target == base:
        raise BundleError(
            f"Export path {requested!r} names the export folder itself; pass a new folder "
            "name inside it, e.g. 'support-assistant-v3'."
        )
    if not target.is_relative_to(base):
        raise BundleError(
            f"Export path {requested!r} is outside the export folder {base}; pass a folder "
            "name relative to it, e.g. 'support-assistant-v3'."
        )
    if occupied:
        raise BundleError(
            f"Export path {requested!r} already exists and is not an empty folder; nothing "
            "was written. Choose a new folder name."
        )
    return target


def _has_entries(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return any(True for _ in entries)
