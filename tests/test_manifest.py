"""manifest.json (MCP Bundle) is a contract: it must list what the server registers, carry the
package version, and launch the server the way the CLI expects.

When a tool, the prompt or the version changes, update the manifest with
`.venv/bin/python tools/clients/sync_manifest.py`. `mcpb validate` runs in
tools/clients/run_checks.sh (tests/test_external_clients.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from ml_systemization import __version__, cli
from ml_systemization.locations import DB_ENV_VAR, default_db_path
from ml_systemization.server import SERVER_NAME, build_server
from ml_systemization.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
MANIFEST_PATH = ROOT / "manifest.json"
SYNC = "run `.venv/bin/python tools/clients/sync_manifest.py` to update manifest.json"
# MCPB hosts substitute ${arguments.<name>} in a manifest prompt's text.
PLACEHOLDER = "${{arguments.{}}}"
USER_CONFIG_REF = re.compile(r"\$\{user_config\.([^}]+)\}")


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    return data


def test_the_manifest_version_is_the_package_version(manifest: dict[str, Any]) -> None:
    assert manifest["version"] == __version__, SYNC


def test_the_manifest_names_the_server_and_pins_the_schema(manifest: dict[str, Any]) -> None:
    # 0.3: the current stable MCPB manifest version (@anthropic-ai/mcpb 2.1.2; 0.4 is experimental).
    assert manifest["manifest_version"] == "0.3"
    assert manifest["name"] == SERVER_NAME
    assert manifest["server"]["type"] == "python"
    assert (ROOT / manifest["server"]["entry_point"]).is_file()


@pytest.mark.anyio
async def test_the_manifest_tools_are_the_registered_tools(
    manifest: dict[str, Any], settings: Settings
) -> None:
    async with Client(build_server(settings)) as client:
        listed = await client.list_tools()
    assert listed.next_cursor is None
    registered = {tool.name: tool.description or "" for tool in listed.tools}
    declared = {tool["name"]: tool.get("description", "") for tool in manifest["tools"]}
    assert len(declared) == len(manifest["tools"]), "a tool is listed twice in manifest.json"
    missing = sorted(set(registered) - set(declared))
    extra = sorted(set(declared) - set(registered))
    assert not missing and not extra, f"not in manifest: {missing}; not registered: {extra}; {SYNC}"
    changed = sorted(name for name in registered if declared[name] != registered[name])
    assert not changed, f"descriptions differ for {changed}; {SYNC}"
    assert manifest["tools_generated"] is False


@pytest.mark.anyio
async def test_the_manifest_prompts_are_the_registered_prompts(
    manifest: dict[str, Any], settings: Settings
) -> None:
    declared = {prompt["name"]: prompt for prompt in manifest["prompts"]}
    assert len(declared) == len(manifest["prompts"]), "a prompt is listed twice in manifest.json"
    async with Client(build_server(settings)) as client:
        prompts = (await client.list_prompts()).prompts
        assert sorted(declared) == sorted(p.name for p in prompts), f"prompt names differ; {SYNC}"
        for prompt in prompts:
            entry = declared[prompt.name]
            names = [argument.name for argument in prompt.arguments or []]
            assert entry.get("description") == prompt.description, SYNC
            assert entry.get("arguments", []) == names, SYNC
            # The manifest's text is the server's own rendering, arguments as MCPB placeholders.
            rendered = await client.get_prompt(
                prompt.name, {name: PLACEHOLDER.format(name) for name in names}
            )
            texts = [m.content.text for m in rendered.messages if m.content.type == "text"]
            assert entry["text"] == "\n\n".join(texts), f"prompt text differs; {SYNC}"
    assert declared["ml_systemization"]["arguments"] == ["feature"]
    assert manifest["prompts_generated"] is False


def test_the_launch_command_is_stdio_serve(manifest: dict[str, Any]) -> None:
    config = manifest["server"]["mcp_config"]
    assert config["command"] in {"python", "python3"}
    module_flag, module, *rest = config["args"]
    assert (module_flag, module) == ("-m", "ml_systemization")
    args = cli._parser().parse_args(rest)
    assert (args.command, args.transport) == ("serve", "stdio")
    assert "${__dirname}/src" in config["env"]["PYTHONPATH"].split(":")
    # Run from the bundle's src/, the built-in templates come from the top-level templates/.
    assert (ROOT / "templates").is_dir()


def test_every_user_config_option_is_used_and_every_reference_is_declared(
    manifest: dict[str, Any],
) -> None:
    config = manifest["server"]["mcp_config"]
    referenced = set(USER_CONFIG_REF.findall(json.dumps(config)))
    assert referenced == set(manifest["user_config"])
    for key, option in manifest["user_config"].items():
        # A host leaves ${user_config.X} unreplaced when X has no value and no default.
        assert option.get("required") or "default" in option, key
    assert config["env"][DB_ENV_VAR] == "${user_config.db_path}"
    assert config["env"]["ML_SYSTEMIZATION_TEMPLATES"] == "${user_config.templates_dir}"


@pytest.mark.parametrize("configured", [True, False], ids=["set", "default"])
def test_user_config_reaches_the_server_settings(
    manifest: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    configured: bool,
) -> None:
    """Substitute the user_config like an MCPB host and build the settings `serve` would use."""
    monkeypatch.delenv(DB_ENV_VAR, raising=False)
    monkeypatch.delenv("ML_SYSTEMIZATION_TEMPLATES", raising=False)
    builtin_default = default_db_path()
    values = {key: option.get("default") for key, option in manifest["user_config"].items()}
    if configured:
        values |= {"db_path": str(tmp_path / "team.sqlite3"), "templates_dir": str(tmp_path)}
    env = {
        name: USER_CONFIG_REF.sub(lambda m: str(values[m.group(1)]), value)
        for name, value in manifest["server"]["mcp_config"]["env"].items()
    }
    for name in (DB_ENV_VAR, "ML_SYSTEMIZATION_TEMPLATES"):
        monkeypatch.setenv(name, env[name])
    rest = manifest["server"]["mcp_config"]["args"][2:]
    settings = cli._settings(cli._parser().parse_args(rest))
    if configured:
        assert settings.db_path == tmp_path / "team.sqlite3"
        assert settings.templates_dir == tmp_path
    else:
        # The empty defaults mean "not set": the platform default, the built-in templates.
        assert settings.db_path == builtin_default
        assert settings.templates_dir is None
