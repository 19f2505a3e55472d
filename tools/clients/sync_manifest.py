"""Rewrite the server-derived parts of manifest.json: version, tools and prompts.

    .venv/bin/python tools/clients/sync_manifest.py          # rewrite manifest.json
    .venv/bin/python tools/clients/sync_manifest.py --check  # exit 1 if it is out of date

Everything else in the manifest (server command, user_config, compatibility, ...) is hand
written and kept as is. tests/test_manifest.py fails when these parts drift from the server.
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

from ml_systemization import __version__
from ml_systemization.server import build_server
from ml_systemization.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifest.json"
# The manifest prompt text is the server's rendering with this placeholder as the argument; MCPB
# hosts substitute ${arguments.<name>}.
PLACEHOLDER = "${{arguments.{}}}"


async def server_parts(db_path: Path) -> dict[str, Any]:
    """The manifest's tools and prompts as the server registers them."""
    async with Client(build_server(Settings(db_path=db_path))) as client:
        tools = (await client.list_tools()).tools
        prompts = (await client.list_prompts()).prompts
        manifest_prompts = []
        for prompt in prompts:
            names = [a.name for a in prompt.arguments or []]
            rendered = await client.get_prompt(
                prompt.name, {n: PLACEHOLDER.format(n) for n in names}
            )
            texts = [m.content.text for m in rendered.messages if m.content.type == "text"]
            entry: dict[str, Any] = {"name": prompt.name}
            if prompt.description:
                entry["description"] = prompt.description
            entry["arguments"] = names
            entry["text"] = "\n\n".join(texts)
            manifest_prompts.append(entry)
    return {
        "version": __version__,
        "tools": [{"name": t.name, "description": t.description or ""} for t in tools],
        "tools_generated": False,
        "prompts": manifest_prompts,
        "prompts_generated": False,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report drift")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        parts = anyio.run(server_parts, Path(tmp) / "designs.sqlite3")
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    updated = {**manifest, **parts}
    if args.check:
        stale = sorted(k for k in parts if manifest.get(k) != parts[k])
        if stale:
            print(f"manifest.json is out of date: {', '.join(stale)}", file=sys.stderr)
            return 1
        print("manifest.json matches the server")
        return 0
    MANIFEST.write_text(json.dumps(updated, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {MANIFEST} ({len(parts['tools'])} tools, {len(parts['prompts'])} prompts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
