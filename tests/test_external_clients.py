"""Clients other than the Python SDK: tools/clients/run_checks.sh runs the TypeScript SDK client
over stdio (server launched from manifest.json) and streamable HTTP, the MCP conformance suite in
server mode, and `mcpb validate manifest.json`.

Needs Node 20+ and npm (the first run installs the pinned packages from the npm registry into
tools/clients/node_modules, cache .ci-cache/npm). Without node the test is skipped, unless
ML_SYSTEMIZATION_REQUIRE_NODE=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "clients" / "run_checks.sh"
TIMEOUT_S = 900


def _missing_tools() -> str | None:
    """Why the checks cannot run here, or None."""
    for tool in ("bash", "node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH"
    version = subprocess.run(
        ["node", "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    major = version.lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < 20:
        return f"Node 20+ is needed, found {version or 'an unknown version'}"
    return None


def test_typescript_client_conformance_suite_and_mcpb_validate_pass() -> None:
    missing = _missing_tools()
    if missing:
        message = f"external-client checks need Node 20+ and npm: {missing}"
        if os.environ.get("ML_SYSTEMIZATION_REQUIRE_NODE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ML_SYSTEMIZATION_")}
    env["ML_SYSTEMIZATION_PYTHON"] = sys.executable
    proc = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    output = proc.stdout + ("\n--- stderr\n" + proc.stderr if proc.stderr.strip() else "")
    tail = "\n".join(output.splitlines()[-150:])
    assert proc.returncode == 0, f"{SCRIPT.relative_to(ROOT)} failed:\n{tail}"
