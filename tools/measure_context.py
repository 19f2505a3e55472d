"""Size of the tools/list result: what every conversation pays for the tool definitions.

Usage::

    python tools/measure_context.py            # markdown table, as in docs/PERFORMANCE.md
    python tools/measure_context.py --json     # machine output
    python tools/measure_context.py --export-dir   # the server as run with --export-dir

It lists the tools through the SDK's in-memory client (default protocol negotiation, as
tests/test_context_size.py does) and measures the result as the client receives it: the
compact JSON (no spaces, UTF-8) of ``ListToolsResult`` dumped by alias without unset fields.
Per tool: the bytes of its ``inputSchema``, of its ``outputSchema``, of the rest (name, title,
description, annotations) and of the whole entry. Tokens are estimated as bytes / 4; no
tokenizer is used.

Developer script: never imported by the package.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from ml_systemization.server import build_server
from ml_systemization.settings import Settings

# The goal (docs/PERFORMANCE.md, "tools/list size").
GOAL_BYTES = 32 * 1024


def compact(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


async def tools_list(settings: Settings) -> dict[str, Any]:
    """The tools/list result as the in-memory client receives it, as JSON data."""
    async with Client(build_server(settings)) as client:
        listed = await client.list_tools()
    data: dict[str, Any] = listed.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


def measure(result: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for tool in result["tools"]:
        rest = {k: v for k, v in tool.items() if k not in ("inputSchema", "outputSchema")}
        rows.append(
            {
                "tool": tool["name"],
                "input": compact(tool.get("inputSchema")),
                "output": compact(tool.get("outputSchema")),
                "rest": compact(rest),
                "total": compact(tool),
            }
        )
    total = compact(result)
    # Many clients hand the model only name, description and inputSchema; outputSchema is used
    # to check results. Reported apart, never instead of the total.
    bare = [{k: v for k, v in tool.items() if k != "outputSchema"} for tool in result["tools"]]
    without_outputs = compact({**result, "tools": bare})
    # What a host that calls the Anthropic or OpenAI API sends the model for each tool: its
    # name, description and input schema (titles and annotations stay in the client too).
    seen = [
        {k: tool[k] for k in ("name", "description", "inputSchema") if k in tool}
        for tool in result["tools"]
    ]
    model_visible = compact(seen)
    return {
        "total_bytes": total,
        "total_tokens_estimate": round(total / 4),
        "without_output_schemas_bytes": without_outputs,
        "model_visible_bytes": model_visible,
        "goal_bytes": GOAL_BYTES,
        "tools": rows,
    }


def markdown(report: dict[str, Any]) -> str:
    rows = report["tools"]
    lines = [
        "| tool | input | output | name, title, description, annotations | total |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in sorted(rows, key=lambda r: -r["total"]):
        lines.append(
            f"| `{row['tool']}` | {row['input']:,} | {row['output']:,} | {row['rest']:,} "
            f"| {row['total']:,} |"
        )
    sums = {key: sum(r[key] for r in rows) for key in ("input", "output", "rest", "total")}
    lines.append(
        f"| **{len(rows)} tools** | **{sums['input']:,}** | **{sums['output']:,}** "
        f"| **{sums['rest']:,}** | **{sums['total']:,}** |"
    )
    total = report["total_bytes"]
    lines += [
        "",
        f"tools/list result: **{total:,} bytes** ({total / 1024:.1f} KiB), "
        f"≈ {report['total_tokens_estimate']:,} tokens (bytes / 4); "
        f"without the output schemas {report['without_output_schemas_bytes']:,} bytes "
        f"(≈ {round(report['without_output_schemas_bytes'] / 4):,} tokens); name, "
        f"description and inputSchema only (what a model API receives) "
        f"{report['model_visible_bytes']:,} bytes "
        f"(≈ {round(report['model_visible_bytes'] / 4):,} tokens). "
        f"Goal: {report['goal_bytes']:,} bytes.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--export-dir", action="store_true", help="measure the server run with --export-dir"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            db_path=Path(tmp) / "designs.sqlite3",
            export_dir=Path(tmp) if args.export_dir else None,
        )
        result = anyio.run(tools_list, settings)
    report = measure(result)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
