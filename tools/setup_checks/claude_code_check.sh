#!/usr/bin/env bash
# Try the README's Claude Code commands with a throw-away HOME and project folder, so nothing of
# the user's own Claude Code configuration is read or changed:
#   claude mcp add ml-systemization -- <abs>/ml-systemization serve           (local scope)
#   claude mcp add --scope user ...                                           (user scope)
#   claude mcp add --scope project ...  -> .mcp.json                          (project scope)
#   a hand-written .mcp.json with ${ML_SYSTEMIZATION_BIN:-ml-systemization}
#   claude mcp add --transport http ml-systemization http://127.0.0.1:PORT/mcp
# each followed by `claude mcp list` / `claude mcp get`, whose health check starts the server and
# speaks MCP to it (server/discover, tools/list) without any login or API key. Using the tools in a
# chat needs a login and is NOT tried here.
#
#   bash tools/setup_checks/claude_code_check.sh
#
# Environment: ML_SYSTEMIZATION_BIN  the console script (default <repo>/.venv/bin/ml-systemization)
#              CLAUDE_BIN            an installed `claude` to use; otherwise
#              CLAUDE_CODE_VERSION   (default 2.1.332) is installed from npm into a temporary
#                                    prefix (about 400 MB: a native binary; npm warns that the
#                                    package wants Node 22+, the binary itself does not use Node)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${ML_SYSTEMIZATION_BIN:-$ROOT/.venv/bin/ml-systemization}"
VERSION="${CLAUDE_CODE_VERSION:-2.1.332}"

die() { echo "claude_code_check: $*" >&2; exit 1; }
bounded() {
  local secs="$1"; shift
  if command -v timeout >/dev/null 2>&1; then timeout "$secs" "$@"
  else perl -e 'alarm shift; exec @ARGV or die "exec $ARGV[0]: $!\n"' "$secs" "$@"; fi
}
[ -x "$BIN" ] || die "no console script at $BIN (set ML_SYSTEMIZATION_BIN)"
BIN_DIR="$(cd "$(dirname "$BIN")" && pwd)"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/ml-systemization-claude-code.XXXXXX")"
HTTP_PID=""
cleanup() {
  local status=$?
  if [ -n "$HTTP_PID" ]; then kill "$HTTP_PID" 2>/dev/null || true; wait "$HTTP_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${CLAUDE_BIN:-}" ]; then
  CLAUDE="$CLAUDE_BIN"
else
  command -v npm >/dev/null || die "npm not found (or set CLAUDE_BIN)"
  echo "== npm install -g --prefix <tmp> @anthropic-ai/claude-code@$VERSION"
  bounded 900 npm install -g --prefix "$TMP/prefix" --prefer-offline \
    --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$VERSION" 2>&1 | grep -v EBADENGINE || true
  CLAUDE="$TMP/prefix/bin/claude"
fi
[ -x "$CLAUDE" ] || die "no claude executable at $CLAUDE"

# A throw-away user: its own HOME (so ~/.claude.json is temporary), no ML_SYSTEMIZATION_* variables
# (the server uses the default database under that HOME), no auto-update or telemetry traffic.
export HOME="$TMP/home"
unset ML_SYSTEMIZATION_DB ML_SYSTEMIZATION_TEMPLATES XDG_DATA_HOME XDG_CONFIG_HOME
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1
mkdir -p "$HOME" "$TMP/project"
cd "$TMP/project"
echo "claude $(bounded 60 "$CLAUDE" --version)"

FAIL=0
expect() {  # expect LABEL PATTERN CMD...: run CMD, print its output, check PATTERN occurs in it
  local label="$1" pattern="$2"; shift 2
  local out
  out=$(bounded 90 "$@" 2>&1) || true
  echo "$ $(printf '%q ' "${@/#$CLAUDE/claude}")"; echo "$out" | sed 's/^/    /'
  if printf '%s' "$out" | grep -q -- "$pattern"; then echo "[ok] $label"; else echo "[FAIL] $label (expected: $pattern)"; FAIL=1; fi
}

echo; echo "== local scope (the default: this project, private to you)"
expect "mcp add" "Added stdio MCP server ml-systemization" "$CLAUDE" mcp add ml-systemization -- "$BIN" serve
expect "mcp list health check connects" "ml-systemization: .* - ✔ Connected" "$CLAUDE" mcp list
expect "mcp get: local scope, connected" "Status: ✔ Connected" "$CLAUDE" mcp get ml-systemization
[ -s "$HOME/.local/share/ml-systemization/designs.sqlite3" ] || [ -s "$HOME/Library/Application Support/ml-systemization/designs.sqlite3" ] \
  && echo "[ok] the health check started the server (default database created under the temporary HOME)" \
  || { echo "[FAIL] no database under the temporary HOME: was the server started?"; FAIL=1; }
expect "mcp remove" "Removed MCP server ml-systemization" "$CLAUDE" mcp remove ml-systemization -s local

echo; echo "== user scope (all your projects)"
expect "mcp add --scope user" "to user config" "$CLAUDE" mcp add --scope user ml-systemization -- "$BIN" serve
expect "mcp get: user scope, connected" "Scope: User config" "$CLAUDE" mcp get ml-systemization
expect "mcp get: connected" "Status: ✔ Connected" "$CLAUDE" mcp get ml-systemization
expect "mcp remove" "Removed MCP server ml-systemization" "$CLAUDE" mcp remove ml-systemization -s user

echo; echo "== project scope (.mcp.json, shared through the repository)"
expect "mcp add --scope project" "to project config" "$CLAUDE" mcp add --scope project ml-systemization -- "$BIN" serve
node -e 'const c = JSON.parse(require("fs").readFileSync(".mcp.json", "utf-8")).mcpServers["ml-systemization"];
  if (c.command !== process.argv[1] || JSON.stringify(c.args) !== "[\"serve\"]") process.exit(1)' "$BIN" \
  && echo "[ok] .mcp.json holds the command and args" || { echo "[FAIL] .mcp.json content"; cat .mcp.json; FAIL=1; }
expect "an unapproved .mcp.json server is not started" "Pending approval" "$CLAUDE" mcp list
# Approval is interactive (run `claude` in the project and accept). Simulate the user's "yes" in
# the temporary ~/.claude.json: trust the folder and enable the server.
node -e 'const fs = require("fs"); const [file, project] = process.argv.slice(1);
  const c = JSON.parse(fs.readFileSync(file, "utf-8"));
  const p = (c.projects ||= {})[project] ||= {};
  p.hasTrustDialogAccepted = true; p.enabledMcpjsonServers = ["ml-systemization"];
  fs.writeFileSync(file, JSON.stringify(c, null, 2));' "$HOME/.claude.json" "$(pwd -P)"
expect "approved .mcp.json server connects" "ml-systemization: .* - ✔ Connected" "$CLAUDE" mcp list
cat > .mcp.json <<'EOF'
{
  "mcpServers": {
    "ml-systemization": {
      "command": "${ML_SYSTEMIZATION_BIN:-ml-systemization}",
      "args": ["serve"]
    }
  }
}
EOF
expect "portable .mcp.json: \${ML_SYSTEMIZATION_BIN} set" "✔ Connected" env ML_SYSTEMIZATION_BIN="$BIN" "$CLAUDE" mcp list
expect "portable .mcp.json: script on PATH" "✔ Connected" env PATH="$BIN_DIR:$PATH" "$CLAUDE" mcp list
expect "portable .mcp.json: neither -> a clear failure" "Failed to connect" "$CLAUDE" mcp list
rm -f .mcp.json

echo; echo "== streamable HTTP"
PY="$BIN_DIR/python"
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" serve --transport http --host 127.0.0.1 --port "$PORT" --db "$TMP/http.sqlite3" > "$TMP/http.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.2; done
URL="http://127.0.0.1:$PORT/mcp"
expect "mcp add --transport http" "Added HTTP MCP server" "$CLAUDE" mcp add --transport http ml-systemization "$URL"
expect "HTTP server connects" "ml-systemization: $URL (HTTP) - ✔ Connected" "$CLAUDE" mcp list
expect "mcp remove" "Removed MCP server ml-systemization" "$CLAUDE" mcp remove ml-systemization -s local

echo
echo "Not tried: using the tools in a Claude Code chat (needs a login or API key)."
[ "$FAIL" = "0" ] || { echo "claude_code_check: some checks FAILED"; exit 1; }
echo "claude_code_check: ok"
