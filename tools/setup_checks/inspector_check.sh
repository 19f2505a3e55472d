#!/usr/bin/env bash
# Try the MCP Inspector commands the README gives, against the installed console script:
#   1. CLI mode: --method tools/list, and --method tools/call --tool-name start_design
#      --tool-arg feature=Demo (the server started over stdio by the Inspector)
#   2. UI mode: start the Inspector without opening a browser, check that the page is served and
#      that its proxy launches the server and answers tools/list and tools/call, connecting the
#      way the page's "Connect" button does (inspector_proxy_client.mjs). A human still needs a
#      browser for the UI itself.
#
#   bash tools/setup_checks/inspector_check.sh
#
# Environment: ML_SYSTEMIZATION_BIN  the console script (default <repo>/.venv/bin/ml-systemization)
#              INSPECTOR_VERSION     default 0.15.0: the newest release whose package.json accepts
#                                    Node 20 (0.16.0 and later declare node >=22.7.5, 2.x >=22.19)
# Needs: node 20+, npx (npm registry), curl; the first run downloads the Inspector into the npm
# cache (.ci-cache/npm). Uses a temporary database, never the default one.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${ML_SYSTEMIZATION_BIN:-$ROOT/.venv/bin/ml-systemization}"
VERSION="${INSPECTOR_VERSION:-0.15.0}"
export npm_config_cache="${npm_config_cache:-$ROOT/.ci-cache/npm}"
export npm_config_update_notifier=false

die() { echo "inspector_check: $*" >&2; exit 1; }
bounded() {
  local secs="$1"; shift
  if command -v timeout >/dev/null 2>&1; then timeout "$secs" "$@"
  else perl -e 'alarm shift; exec @ARGV or die "exec $ARGV[0]: $!\n"' "$secs" "$@"; fi
}
command -v npx >/dev/null || die "npx not found (Node 20+ with npm is needed)"
command -v curl >/dev/null || die "curl not found"
[ -x "$BIN" ] || die "no console script at $BIN (set ML_SYSTEMIZATION_BIN)"
[ -d "$ROOT/tools/clients/node_modules/@modelcontextprotocol/sdk" ] \
  || die "run 'npm ci --prefix tools/clients' first (the UI check uses its TypeScript SDK)"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/ml-systemization-inspector.XXXXXX")"
UI_PID=""
cleanup() {
  local status=$?
  if [ -n "$UI_PID" ]; then kill -- "-$UI_PID" 2>/dev/null || kill "$UI_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
DB="$TMP/designs.sqlite3"
FAIL=0
ok() { echo "[ok] $*"; }
bad() { echo "[FAIL] $*"; FAIL=1; }

echo "== npx @modelcontextprotocol/inspector@$VERSION --cli $BIN serve --method tools/list"
if bounded 300 npx --yes "@modelcontextprotocol/inspector@$VERSION" --cli "$BIN" serve --db "$DB" \
    --method tools/list > "$TMP/list.json" 2> "$TMP/list.err"; then
  N=$(node -e 'const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf-8")).tools;
    if (!t.some((x) => x.name === "start_design")) process.exit(1); console.log(t.length)' "$TMP/list.json") \
    && ok "tools/list: $N tools, start_design among them" || bad "tools/list output lacks start_design"
else
  bad "CLI tools/list failed"; tail -20 "$TMP/list.err"
fi

echo "== ... --cli $BIN serve --method tools/call --tool-name start_design --tool-arg feature=Demo"
if bounded 120 npx --yes "@modelcontextprotocol/inspector@$VERSION" --cli "$BIN" serve --db "$DB" \
    --method tools/call --tool-name start_design --tool-arg feature=Demo > "$TMP/call.json" 2> "$TMP/call.err"; then
  ID=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf-8"));
    if (r.isError || !r.structuredContent?.design_id) process.exit(1); console.log(r.structuredContent.design_id)' \
    "$TMP/call.json") && ok "tools/call start_design: design $ID" || { bad "start_design result"; cat "$TMP/call.json"; }
else
  bad "CLI tools/call failed"; tail -20 "$TMP/call.err"
fi

echo "== npx @modelcontextprotocol/inspector@$VERSION $BIN serve   (UI, no browser opened)"
free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
CLIENT_PORT=$(free_port); SERVER_PORT=$(free_port)
set -m  # the Inspector runs in its own process group, so cleanup stops all its children
MCP_AUTO_OPEN_ENABLED=false CLIENT_PORT="$CLIENT_PORT" SERVER_PORT="$SERVER_PORT" \
  npx --yes "@modelcontextprotocol/inspector@$VERSION" "$BIN" serve --db "$DB" > "$TMP/ui.log" 2>&1 &
UI_PID=$!
set +m
TOKEN=""
for _ in $(seq 1 150); do
  TOKEN=$(sed -n 's/.*Session token: \([0-9a-f]*\).*/\1/p' "$TMP/ui.log" | head -1)
  [ -n "$TOKEN" ] && grep -q "up and running" "$TMP/ui.log" && break
  kill -0 "$UI_PID" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$TOKEN" ]; then
  bad "the Inspector UI did not start"; cat "$TMP/ui.log"
else
  CODE=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CLIENT_PORT/") || CODE=000
  [ "$CODE" = "200" ] && ok "UI page served on http://127.0.0.1:$CLIENT_PORT" || bad "UI page: HTTP $CODE"
  CONFIG=$(curl -s -H "X-MCP-Proxy-Auth: Bearer $TOKEN" "http://127.0.0.1:$SERVER_PORT/config") || CONFIG=""
  case "$CONFIG" in
    *"\"defaultCommand\":\"$BIN\""*) ok "UI pre-fills the command: $BIN" ;;
    *) bad "UI config does not pre-fill the command: $CONFIG" ;;
  esac
  if bounded 90 node "$HERE/inspector_proxy_client.mjs" --proxy "http://127.0.0.1:$SERVER_PORT" \
      --token "$TOKEN" --command "$BIN" --args "serve --db $DB"; then
    ok "the UI's proxy launched the server over stdio and it answered"
  else
    bad "connecting through the UI's proxy"
  fi
fi

[ "$FAIL" = "0" ] || { echo "inspector_check: some checks FAILED"; exit 1; }
echo "inspector_check: ok (Inspector $VERSION, node $(node --version))"
