"""Contract tests that stop drift: registry vs tools, README vs server, domain code vs mcp."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from mcp import Client

import ml_systemization
from ml_systemization import cli
from ml_systemization.model import Design
from ml_systemization.server import build_server
from ml_systemization.settings import Settings
from ml_systemization.steps import ARTIFACTS, STEPS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_domain_modules_never_import_mcp() -> None:
    modules = [
        "model", "patch", "steps", "findings", "quality", "settings", "store", "render",
        "examples", "errors", "stats", "history", "limits", "bundle", "views", "upstream",
    ]  # fmt: skip
    script = (
        "import sys, importlib\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module('ml_systemization.' + m)\n"
        "bad = sorted(n for n in sys.modules if n == 'mcp' or n.startswith('mcp.'))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_every_step_has_a_tool_a_section_and_an_artifact_template() -> None:
    templates = {p.name for p in (ROOT / "templates").glob("*.md.j2") if not p.name.startswith("_")}
    assert templates == {f"{a}.md.j2" for a in ARTIFACTS}
    for step in STEPS:
        assert step.artifact in ARTIFACTS
        assert Design.model_fields[step.key].annotation is step.model
    assert {s.artifact for s in STEPS} | {"one_pager"} == set(ARTIFACTS)


@pytest.mark.anyio
async def test_the_readme_lists_exactly_the_registered_tools_resources_and_prompts(
    tmp_path: Path,
) -> None:
    async with Client(build_server(Settings(db_path=tmp_path / "db.sqlite3"))) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        prompts = {p.name for p in (await client.list_prompts()).prompts}
    tool_table = README.split("### Tools", 1)[1].split("###", 1)[0]
    assert set(re.findall(r"^\| `(\w+)` \|", tool_table, flags=re.M)) == tools
    for uri in templates:
        assert f"`{uri}`" in README
    for prompt in prompts:
        assert f"`{prompt}`" in README


def test_the_readme_commands_exist() -> None:
    assert (
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/ml-systemization demo"
        in README
    )
    assert '.venv/bin/pip install -e ".[dev]" && .venv/bin/python -m pytest' in README
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert '-m pip install --quiet -e ".[dev]"' in ci
    assert "-m pytest" in ci and "python -m pytest" in README
    commands = set(cli._parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for command in re.findall(r"`ml-systemization (\w+)", README):
        assert command in commands, command


def test_the_package_version_is_the_single_source() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["dynamic"] == ["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", ml_systemization.__version__)
