"""The README's set-up instructions, tried as a new user would.

The snippets are read out of README.md (each follows a `<!-- setup-snippet: NAME -->` comment), the
placeholder path is replaced by the installed console script, and each command is started the way
its client starts it: a real stdio subprocess spoken to by the Python SDK client, with a temporary
HOME and nothing else of ours in its environment; the curl example runs as written against a real
HTTP server on 127.0.0.1 (only the port differs); the Inspector's CLI commands run through npx
(skipped without Node 20+, unless ML_SYSTEMIZATION_REQUIRE_NODE=1). No test touches the default
database. The clients themselves (Claude Desktop, Claude Code, VS Code, the bundle) are tried by the
scripts in tools/setup_checks/.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SCRIPT = Path(sys.executable).parent / "ml-systemization"
PLACEHOLDER = "/absolute/path/to/.venv/bin/ml-systemization"
SETUP_SECTION = "Use it from your assistant"
SNIPPET = re.compile(r"<!-- setup-snippet: ([\w-]+) -->\n```(\w+)\n(.*?)\n```", re.DOTALL)
EXPECTED = {
    "claude-desktop": "json",
    "claude-code": "bash",
    "claude-code-mcp-json": "json",
    "vscode": "json",
    "http-curl": "bash",
    "inspector": "bash",
}
# Claude Code's expansion of ${VAR} and ${VAR:-default} in .mcp.json (tried with the real client
# in tools/setup_checks/claude_code_check.sh).
ENV_REF = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")
CONNECT_TIMEOUT_S = 30
LAUNCHES = (
    "claude-desktop",
    "vscode",
    "claude-code",
    ".mcp.json, variable set",
    ".mcp.json, script on PATH",
)


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _section(title: str) -> str:
    text = _readme()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _snippets() -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for name, lang, body in SNIPPET.findall(_section(SETUP_SECTION)):
        assert name not in found, f"two README snippets are marked {name!r}"
        found[name] = (lang, body)
    return found


def _snippet(name: str) -> str:
    lang, body = _snippets()[name]
    assert lang == EXPECTED[name]
    return body


def _json_snippet(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_snippet(name))
    return data


def _commands(bash: str) -> list[list[str]]:
    """The commands of a bash snippet: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", bash)
    commands = [shlex.split(line, comments=True) for line in joined.splitlines()]
    return [command for command in commands if command]


def _real(word: str) -> str:
    return word.replace(PLACEHOLDER, str(SCRIPT))


def _expand(word: str, env: dict[str, str]) -> str:
    return ENV_REF.sub(lambda m: env.get(m.group(1)) or m.group(2) or "", word)


def _node_missing() -> str | None:
    for tool in ("node", "npx"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH"
    version = subprocess.run(
        ["node", "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    major = version.lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < 20:
        return f"Node 20+ is needed, found {version or 'an unknown version'}"
    return None


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ML_SYSTEMIZATION_")}


# --------------------------------------------------------------------------- the snippets


def test_each_client_has_its_snippet_in_the_setup_section() -> None:
    snippets = _snippets()
    assert {name: lang for name, (lang, _) in snippets.items()} == EXPECTED
    assert tuple(_launches()) == LAUNCHES
    assert SCRIPT.exists(), f"install the package first (pip install -e .); missing {SCRIPT}"


def test_every_json_block_in_the_setup_section_is_valid_json() -> None:
    blocks = re.findall(r"```json\n(.*?)\n```", _section(SETUP_SECTION), re.DOTALL)
    assert len(blocks) >= 3
    for block in blocks:
        json.loads(block)  # raises with the position of the error


def test_the_json_snippets_have_each_clients_shape() -> None:
    desktop = _json_snippet("claude-desktop")["mcpServers"]["ml-systemization"]
    assert desktop == {"command": PLACEHOLDER, "args": ["serve"]}
    vscode = _json_snippet("vscode")["servers"]["ml-systemization"]
    assert vscode == {"type": "stdio", "command": PLACEHOLDER, "args": ["serve"]}
    project = _json_snippet("claude-code-mcp-json")["mcpServers"]["ml-systemization"]
    assert ENV_REF.fullmatch(project["command"]) and project["args"] == ["serve"]
    assert os.path.isabs(PLACEHOLDER)


def test_the_claude_code_command_adds_the_server_after_the_separator() -> None:
    add = _commands(_snippet("claude-code"))[0]
    assert add[:4] == ["claude", "mcp", "add", "ml-systemization"], add
    assert add[4:] == ["--", PLACEHOLDER, "serve"], add


# --------------------------------------------------------------------------- stdio launches


def _launches() -> dict[str, tuple[str, list[str], dict[str, str]]]:
    """Client name -> (command, args, extra environment) as that client would start the server."""
    desktop = _json_snippet("claude-desktop")["mcpServers"]["ml-systemization"]
    vscode = _json_snippet("vscode")["servers"]["ml-systemization"]
    add = _commands(_snippet("claude-code"))[0]
    after = add[add.index("--") + 1 :]
    project = _json_snippet("claude-code-mcp-json")["mcpServers"]["ml-systemization"]
    var = ENV_REF.fullmatch(project["command"])
    assert var, project["command"]
    with_var = {var.group(1): str(SCRIPT)}
    on_path = {"PATH": f"{SCRIPT.parent}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    return {
        "claude-desktop": (_real(desktop["command"]), desktop["args"], {}),
        "vscode": (_real(vscode["command"]), vscode["args"], {}),
        "claude-code": (_real(after[0]), after[1:], {}),
        ".mcp.json, variable set": (
            _expand(project["command"], with_var),
            project["args"],
            {},
        ),
        ".mcp.json, script on PATH": (_expand(project["command"], {}), project["args"], on_path),
    }


@pytest.mark.anyio
@pytest.mark.parametrize("client", LAUNCHES)
async def test_the_documented_command_starts_a_server_that_answers(
    client: str, tmp_path: Path
) -> None:
    command, args, extra = _launches()[client]
    home = tmp_path / "home"
    home.mkdir()
    # A host passes a small environment; HOME is temporary, so the default database lands there.
    env = {"HOME": str(home), "PATH": f"/usr/bin{os.pathsep}/bin", **extra}
    params = StdioServerParameters(command=command, args=args, env=env, cwd=str(tmp_path))
    with anyio.fail_after(CONNECT_TIMEOUT_S):
        async with Client(params) as session:
            assert session.server_info is not None
            assert session.server_info.name == "ml-systemization"
            names = {t.name for t in (await session.list_tools()).tools}
            assert {"start_design", "choose_baseline", "review_design"} <= names
            started = await session.call_tool("start_design", {"feature": f"Set-up: {client}"})
            assert not started.is_error, started.content
            assert str((started.structured_content or {})["design_id"]).startswith("d-")
    databases = list(home.rglob("designs.sqlite3"))
    assert databases, f"the server wrote no default database under the temporary HOME {home}"


# --------------------------------------------------------------------------- streamable HTTP


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_http_server(db: Path, log: Path, *options: str) -> tuple[subprocess.Popen[bytes], int]:
    for _ in range(3):
        port = _free_port()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    str(SCRIPT),
                    "serve",
                    "--transport",
                    "http",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--db",
                    str(db),
                    *options,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_clean_env(),
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, port
            except OSError:
                time.sleep(0.1)
        _stop(proc)
    pytest.fail(f"the HTTP server did not listen; log:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_the_http_serve_command_and_the_curl_example_agree_on_the_endpoint() -> None:
    section = _section(SETUP_SECTION)
    serve = "ml-systemization serve --transport http --host 127.0.0.1 --port 8000"
    assert serve in section
    assert _snippet("http-curl").count("http://127.0.0.1:8000/mcp") == 1


def test_the_curl_example_creates_a_design_on_a_real_http_server(tmp_path: Path) -> None:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("the README's HTTP example needs curl and bash, which are not on PATH")
    proc, port = _start_http_server(tmp_path / "http.sqlite3", tmp_path / "server.log")
    try:
        script = _snippet("http-curl").replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        run = subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False
        )
    finally:
        _stop(proc)
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert run.returncode == 0, f"{run.stderr}\nserver log:\n{log}"
    answer = json.loads(run.stdout)
    result = answer["result"]
    assert answer["id"] == 1 and result["isError"] is False, answer
    assert str(result["structuredContent"]["design_id"]).startswith("d-")
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "ml-systemization"


def _post(port: int, body: bytes, *, name: str = "start_design") -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/mcp",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2026-07-28",
            "Mcp-Method": "tools/call",
            "Mcp-Name": name,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _call_body(arguments: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": "start_design",
                "arguments": arguments,
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        }
    ).encode()


def test_the_http_server_refuses_bodies_over_the_argument_limit_before_parsing(
    tmp_path: Path,
) -> None:
    limit = 100_000
    proc, port = _start_http_server(
        tmp_path / "http.sqlite3",
        tmp_path / "server.log",
        "--limit",
        f"max_argument_bytes={limit}",
    )
    try:
        # Just over the argument limit: parsed, and refused by the tool with its size.
        over = _call_body({"feature": "F", "context": {"problem": "x" * (limit + 10)}})
        status, answer = _post(port, over)
        assert status == 200, answer
        result = json.loads(answer)["result"]
        assert result["isError"] is True
        assert "max_argument_bytes" in result["content"][0]["text"]
        # Under the limit, but escaped by the client (\u00e9 is 6 bytes for 2 of UTF-8):
        # the body is larger than the limit and still read.
        text = "\u00e9" * 15_000  # under max_text_chars per field
        fields = ("problem", "user_outcome", "business_outcome")
        escaped = _call_body({"feature": "F", "context": dict.fromkeys(fields, text)})
        assert len(escaped) > 2 * limit
        status, answer = _post(port, escaped)
        assert status == 200 and json.loads(answer)["result"]["isError"] is False, answer
        # Far over it (beyond what escapes and the envelope allow): 413, never parsed.
        status, _ = _post(port, _call_body({"feature": "F", "context": {"problem": "x" * 500_000}}))
        assert status == 413
        # The server goes on answering.
        status, answer = _post(port, _call_body({"feature": "After"}))
        assert status == 200 and json.loads(answer)["result"]["isError"] is False
    finally:
        _stop(proc)


# --------------------------------------------------------------------------- MCP Inspector


def test_the_inspector_cli_commands_list_the_tools_and_start_a_design(tmp_path: Path) -> None:
    missing = _node_missing()
    if missing:
        message = f"the README's Inspector commands need Node 20+ and npx: {missing}"
        if os.environ.get("ML_SYSTEMIZATION_REQUIRE_NODE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    commands = _commands(_snippet("inspector"))
    cli = [c for c in commands if "--cli" in c]
    ui = [c for c in commands if "--cli" not in c]
    assert len(cli) == 2 and len(ui) == 1, commands
    packages = {c[1] for c in commands}
    assert len(packages) == 1, f"the Inspector commands pin different versions: {packages}"
    assert re.fullmatch(r"@modelcontextprotocol/inspector@\d+\.\d+\.\d+", packages.pop())
    assert ui[0][2:] == [PLACEHOLDER, "serve"]
    # The Inspector passes its own environment to the server: ML_SYSTEMIZATION_DB keeps the run
    # out of the default database. npm's cache is the one run_checks.sh fills.
    env = {
        **_clean_env(),
        "ML_SYSTEMIZATION_DB": str(tmp_path / "inspector.sqlite3"),
        "npm_config_cache": str(ROOT / ".ci-cache" / "npm"),
        "npm_config_update_notifier": "false",
    }
    outputs = []
    for command in cli:
        argv = [_real(word) for word in command]
        argv[:2] = [shutil.which("npx") or "npx", "--yes", argv[1]]
        run = subprocess.run(
            argv, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False
        )
        detail = f"{shlex.join(argv)}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        assert run.returncode == 0, detail
        outputs.append(json.loads(run.stdout))
    listed, called = outputs
    assert {"start_design", "choose_baseline"} <= {tool["name"] for tool in listed["tools"]}
    assert called["isError"] is False
    assert str(called["structuredContent"]["design_id"]).startswith("d-")
    assert (tmp_path / "inspector.sqlite3").exists()


# --------------------------------------------------------------------------- the bundle


def test_mcpbignore_keeps_repository_folders_out_but_no_vendored_package_files(
    tmp_path: Path,
) -> None:
    """`mcpb pack` reads .mcpbignore with gitignore rules (the `ignore` package), which git's own
    matcher applies the same way: a pattern without a leading slash matches at any depth."""
    if shutil.which("git") is None:
        pytest.skip("checking .mcpbignore's gitignore rules needs git, which is not on PATH")
    repo = tmp_path / "bundle"
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    shutil.copy(ROOT / ".mcpbignore", repo / ".gitignore")
    vendored = []
    for package in ("mcp", "mcp_types", "pydantic", "pydantic_core", "jinja2", "anyio"):
        spec_dir = Path(__import__(package).__file__ or "").resolve().parent
        for file in sorted(spec_dir.rglob("*.py")):
            relative = file.relative_to(spec_dir.parent)
            if "__pycache__" not in relative.parts and relative.parts[1:2] != ("tests",):
                vendored.append(f"server/lib/{relative.as_posix()}")
    assert any(p.startswith("server/lib/mcp/server/mcpserver/tools/") for p in vendored)
    kept = [
        "manifest.json",
        "src/ml_systemization/__main__.py",
        "src/ml_systemization/server.py",
        "templates/one_pager.md.j2",
        *vendored,
    ]
    left_out = [
        "tests/test_cli.py",
        "tools/clients/run_checks.sh",
        "docs/RULES.md",
        ".venv/bin/python",
        ".ci-cache/npm/index",
        "src/ml_systemization/__pycache__/server.cpython-311.pyc",
    ]

    def ignored(paths: list[str]) -> set[str]:
        run = subprocess.run(
            ["git", "-c", "core.excludesFile=", "check-ignore", "--no-index", "--stdin"],
            cwd=repo,
            input="\n".join(paths) + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode in (0, 1), run.stderr
        return set(run.stdout.splitlines())

    dropped = sorted(ignored(kept))
    assert not dropped, (
        f".mcpbignore leaves {len(dropped)} needed files out of the bundle, e.g. {dropped[:5]}; "
        "anchor repository folders with a leading slash (/tools/, /tests/, /docs/)"
    )
    assert sorted(ignored(left_out)) == sorted(left_out)
