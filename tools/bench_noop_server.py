"""The reference server of tools/bench.py: a bare MCPServer with one no-op tool, over stdio.

Usage::

    python tools/bench_noop_server.py        # serves stdio until stdin closes

Same SDK and same transport as ``ml-systemization serve``, nothing else: no lifespan, no
store, no rules. Its one tool, ``noop``, takes a small typed argument and returns a small
structured result, so a call pays for what every MCP tool call pays (JSON-RPC framing,
argument validation against the input schema, a worker-thread hop for a sync tool, output
validation and serialization) and for nothing the tool itself does.

The tool is a sync ``def`` like every tool of ml-systemization, so both sides take the same
worker-thread path through the SDK.

Developer script: never imported by the package.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from pydantic import BaseModel, Field

server = MCPServer("bench-noop", version="0.0.0")


class NoopResult(BaseModel):
    key: str = Field(description="The key sent")
    value: int = Field(description="The value sent")
    ok: bool = Field(description="Always true")


@server.tool()
def noop(
    key: Annotated[str, Field(min_length=1, max_length=64, description="Any short string")],
    value: Annotated[int, Field(ge=0, description="Any non-negative integer")] = 0,
) -> NoopResult:
    """Return the arguments; does nothing else."""
    return NoopResult(key=key, value=value, ok=True)


if __name__ == "__main__":
    server.run()
