"""The tool definitions served by tools/list, generated from the registered tools.

Registering the tools builds the design models and their JSON schemas, which takes longer
than everything else the server does to start. Every client lists the tools right after it
starts the server, so the definitions it receives are generated ahead (the lean
`toolschema.compact_tool_schema` of each registered tool's schemas) and shipped in
`published_tools.json`; a test fails when the file differs from what the registered tools
generate. The file records the mcp and pydantic versions that generated it: with another
major.minor version of either installed, the server generates the definitions from the
registered tools instead (a slower start, never a stale schema). After changing a tool or a
model, or upgrading mcp or pydantic in the dev environment, regenerate it:

    python -m ml_systemization.server.published --write
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mcp.types import Tool

PUBLISHED_FILE = Path(__file__).with_name("published_tools.json")
REGENERATE = "python -m ml_systemization.server.published --write"
# export_design takes `path` only when the server may write files (--export-dir).
EXPORT_TOOL = "export_design"


def generator_versions() -> dict[str, str]:
    """The versions of the packages whose output the file holds: the SDK's tool definitions
    and pydantic's JSON schemas."""
    import pydantic

    return {"mcp": importlib.metadata.version("mcp"), "pydantic": pydantic.VERSION}


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def tool_definitions(*, export_dir: bool) -> list[Tool] | None:
    """The published tools, for a server run without or with --export-dir; None when the file
    was generated with other versions of mcp or pydantic than the installed ones."""
    data = json.loads(PUBLISHED_FILE.read_text(encoding="utf-8"))
    recorded = data.get("generated_with", {})
    installed = generator_versions()
    if any(
        _major_minor(recorded.get(name, "")) != _major_minor(version)
        for name, version in installed.items()
    ):
        return None
    variant = data["export_dir"] if export_dir else {}
    return [Tool.model_validate(variant.get(entry["name"], entry)) for entry in data["tools"]]


def lean(tool: Tool) -> Tool:
    """A registered tool as published: the same definition with compact schemas."""
    from ml_systemization.toolschema import compact_tool_schema

    output = tool.output_schema
    return tool.model_copy(
        update={
            "input_schema": compact_tool_schema(tool.input_schema),
            "output_schema": None if output is None else compact_tool_schema(output, output=True),
        }
    )


def _dump(tool: Tool) -> dict[str, Any]:
    dumped: dict[str, Any] = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def generate() -> dict[str, Any]:
    """The content of `published_tools.json`, from the tools as registered now."""
    import anyio

    from ml_systemization.server.app import build_server
    from ml_systemization.settings import Settings

    async def registered(export_dir: Path | None) -> list[Tool]:
        server = build_server(Settings(db_path=Path(":memory:"), export_dir=export_dir))
        tools: list[Tool] = await server.registered_tools()  # type: ignore[attr-defined]
        return [lean(tool) for tool in tools]

    plain = anyio.run(registered, None)
    writing = anyio.run(registered, Path("exports"))
    return {
        "generated_by": REGENERATE,
        "generated_with": generator_versions(),
        "tools": [_dump(tool) for tool in plain],
        "export_dir": {tool.name: _dump(tool) for tool in writing if tool.name == EXPORT_TOOL},
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ml_systemization.server.published",
        description="Check or regenerate the tool definitions served by tools/list.",
    )
    parser.add_argument("--write", action="store_true", help="rewrite published_tools.json")
    args = parser.parse_args(argv)
    fresh = render(generate())
    if args.write:
        PUBLISHED_FILE.write_text(fresh, encoding="utf-8")
        print(f"wrote {PUBLISHED_FILE}")
        return 0
    if PUBLISHED_FILE.read_text(encoding="utf-8") != fresh:
        print(f"{PUBLISHED_FILE.name} is out of date: run {REGENERATE}", file=sys.stderr)
        return 1
    print(f"{PUBLISHED_FILE.name} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
