"""The demo: run the server as a real stdio subprocess and drive the shipped examples through it."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from ml_systemization.errors import MLSystemizationError
from ml_systemization.examples import EXAMPLES, load_example
from ml_systemization.settings import RuleSettings, Settings
from ml_systemization.steps import STEPS


class DemoError(MLSystemizationError):
    """A tool call of the demo failed."""


def server_command(settings: Settings) -> list[str]:
    """The command line that starts this package's server on stdio."""
    args = [sys.executable, "-m", "ml_systemization", "serve", "--db", str(settings.db_path)]
    if settings.templates_dir is not None:
        args += ["--templates", str(settings.templates_dir)]
    defaults = RuleSettings()
    for key, value in settings.rules.model_dump().items():
        if value != getattr(defaults, key):
            args += ["--rule", f"{key}={value}"]
    return args


async def _call(client: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise DemoError(f"{tool} failed: {text}")
    structured: dict[str, Any] = result.structured_content or {}
    return structured


async def drive(settings: Settings, out: Path, names: Sequence[str]) -> list[dict[str, Any]]:
    """Run each example through a stdio server; write artifacts and reviews under `out`."""
    from mcp import Client, StdioServerParameters

    command = server_command(settings)
    params = StdioServerParameters(command=command[0], args=command[1:])
    summaries: list[dict[str, Any]] = []
    async with Client(params) as client:
        for name in names:
            example = load_example(name)
            started = await _call(
                client, "start_design", {"feature": example.feature, "context": example.context}
            )
            design_id = started["design_id"]
            for step in STEPS:
                await _call(
                    client, step.tool, {"design_id": design_id, step.key: example.steps[step.key]}
                )
            review = (await _call(client, "review_design", {"design_id": design_id}))["review"]
            rendered = await _call(client, "render_artifacts", {"design_id": design_id})
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            for artifact in rendered["artifacts"]:
                (folder / f"{artifact['name']}.md").write_text(
                    artifact["markdown"], encoding="utf-8"
                )
            (folder / "review.json").write_text(
                json.dumps(review, indent=2) + "\n", encoding="utf-8"
            )
            summaries.append(
                {
                    "example": name,
                    "design_id": design_id,
                    "revision": rendered["revision"],
                    "ready": review["ready"],
                    "summary": review["summary"],
                    "counts": review["counts"],
                    "folder": str(folder),
                    "artifacts": len(rendered["artifacts"]),
                }
            )
    return summaries


def run_demo(settings: Settings, out: Path, names: Sequence[str] | None) -> int:
    chosen = list(names or EXAMPLES)
    unknown = [n for n in chosen if n not in EXAMPLES]
    if unknown:
        raise DemoError(f"Unknown example(s) {', '.join(unknown)}; choose from {EXAMPLES}.")
    print(f"Starting the server over stdio (db {settings.db_path}) ...")
    summaries = anyio.run(drive, settings, out, chosen)
    for s in summaries:
        counts = s["counts"]
        print(
            f"\n{s['example']}: design {s['design_id']}, revision {s['revision']}, "
            f"{len(STEPS)} tool calls after start_design"
        )
        print(
            f"  review: {s['summary']} (errors {counts['error']}, warnings {counts['warning']}, "
            f"not evaluable {counts['not_evaluable']})"
        )
        print(f"  wrote {s['artifacts']} artifacts and review.json to {s['folder']}")
    print(
        "\nNext: `ml-systemization list`, `ml-systemization review <design id>`, or add the "
        "server to your assistant (see README)."
    )
    return 0 if all(s["ready"] for s in summaries) else 1
