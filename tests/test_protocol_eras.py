"""The whole seven-step flow over real stdio and HTTP servers, on both protocol eras."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from ml_systemization.examples import load_example
from ml_systemization.steps import ARTIFACTS, STEPS

SCRIPT = Path(sys.executable).parent / "ml-systemization"
MODES = ["auto", "legacy"]  # 2026-07-28 (server/discover) and 2025-11-25 (initialize)
ERA = {"auto": "2026-07-28", "legacy": "2025-11-25"}


async def seven_steps(client: Client, mode: str) -> None:
    assert client.protocol_version == ERA[mode]
    example = load_example("fraud_scorer")
    started = await client.call_tool(
        "start_design", {"feature": example.feature, "context": example.context}
    )
    assert not started.is_error, started.content
    design_id = (started.structured_content or {})["design_id"]
    for step in STEPS:
        result = await client.call_tool(
            step.tool, {"design_id": design_id, step.key: example.steps[step.key]}
        )
        assert not result.is_error, result.content
        assert (result.structured_content or {})["status"] == "complete"
    reviewed = await client.call_tool("review_design", {"design_id": design_id})
    review: dict[str, Any] = (reviewed.structured_content or {})["review"]
    assert review["ready"], review["summary"]
    artifact = await client.read_resource(f"design://{design_id}/artifacts/{ARTIFACTS[0]}")
    assert artifact.contents[0].text.startswith("# ")  # type: ignore[union-attr]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def http_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    db = tmp_path_factory.mktemp("http") / "db.sqlite3"
    server = subprocess.Popen(
        [str(SCRIPT), "serve", "--transport", "http", "--port", str(port), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("the HTTP server did not start listening within 30 s")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_the_seven_steps_over_stdio(tmp_path: Path, mode: str) -> None:
    params = StdioServerParameters(
        command=str(SCRIPT), args=["serve", "--db", str(tmp_path / "db.sqlite3")]
    )
    with anyio.fail_after(60):
        async with Client(params, mode=mode) as client:  # type: ignore[arg-type]
            await seven_steps(client, mode)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_the_seven_steps_over_streamable_http(http_url: str, mode: str) -> None:
    with anyio.fail_after(60):
        async with Client(http_url, mode=mode) as client:  # type: ignore[arg-type]
            await seven_steps(client, mode)
