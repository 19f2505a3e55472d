#!/usr/bin/env bash
# External-client checks of the ml-systemization MCP server (Node 20+; loopback only):
#   1. npm ci of the pinned packages in tools/clients (npm cache under .ci-cache/npm; skipped when
#      node_modules already matches package-lock.json)
#   2. mcpb validate manifest.json (@anthropic-ai/mcpb, pinned)
#   3. TypeScript SDK client over stdio, the server started from manifest.json's mcp_config as an
#      MCPB host resolves it (db_path user_config -> ML_SYSTEMIZATION_DB), python -> the venv's
#   4. TypeScript SDK client over streamable HTTP (ml-systemization serve --transport http)
#   5. conformance suite (@modelcontextprotocol/conformance, server mode, all scenarios) against
#      the HTTP server, compared with conformance-expected-failures.txt and
#      conformance-not-applicable.txt
# Every wait is bounded; the HTTP server is killed on exit. Exit 0 only if every step passed.
# (Step functions run under `||`, where errexit is off: each failure is returned explicitly.)
#
# Environment: ML_SYSTEMIZATION_PYTHON  interpreter with the package installed
#                                       (default: <repo>/.venv/bin/python)
#              RUN_CHECKS_KEEP=1        keep the temporary folder (logs, conformance results)
set -euo pipefail

CLIENTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$CLIENTS/../.." && pwd)"
PY="${ML_SYSTEMIZATION_PYTHON:-$ROOT/.venv/bin/python}"
BIN="$CLIENTS/node_modules/.bin"
NPM_CACHE="$ROOT/.ci-cache/npm"
START=$(date +%s)
# Hermetic: the servers get their database and templates only from this script.
unset ML_SYSTEMIZATION_DB ML_SYSTEMIZATION_TEMPLATES

TMP="$(mktemp -d "${TMPDIR:-/tmp}/ml-systemization-clients.XXXXXX")"
SERVER_PID=""
FAILED=()

now_ms() { node -p 'Date.now()'; }

# bounded SECS CMD...: run CMD, killed after SECS (GNU timeout, else perl alarm, e.g. on macOS).
bounded() {
  local secs="$1"; shift
  if command -v timeout >/dev/null 2>&1; then
    timeout "$secs" "$@"
  else
    perl -e 'alarm shift; exec @ARGV or die "exec $ARGV[0]: $!\n"' "$secs" "$@"
  fi
}

cleanup() {
  local status=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${RUN_CHECKS_KEEP:-0}" = "1" ]; then
    echo "kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_step NAME CMD...: run, time, record a failure without stopping the other steps.
run_step() {
  local name="$1"; shift
  local t0; t0=$(now_ms)
  printf '\n=== %s\n' "$name"
  local rc=0
  "$@" || rc=$?
  local secs; secs=$(awk -v ms="$(( $(now_ms) - t0 ))" 'BEGIN { printf "%.1f", ms / 1000 }')
  if [ "$rc" -eq 0 ]; then
    printf -- '--- ok: %s (%ss)\n' "$name" "$secs"
  else
    printf -- '--- FAILED (exit %s): %s (%ss)\n' "$rc" "$name" "$secs"
    FAILED+=("$name")
  fi
  return 0
}

die() { echo "run_checks: $*" >&2; exit 1; }

command -v node >/dev/null || die "node not found (Node 20+ is needed)"
command -v npm >/dev/null || die "npm not found"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || die "Node 20+ is needed, found $(node --version)"
[ -x "$PY" ] || die "no Python at $PY (set ML_SYSTEMIZATION_PYTHON)"
"$PY" -c 'import ml_systemization' || die "$PY cannot import ml_systemization"
echo "node $(node --version), npm $(npm --version), python $("$PY" -c 'import sys; print(sys.version.split()[0])')"

# --------------------------------------------------------------------------- 1. npm packages
npm_install() {
  local stamp="$CLIENTS/node_modules/.ci-lock.sha256"
  local want
  want=$(node -e 'const c = require("crypto"), fs = require("fs");
    console.log(c.createHash("sha256").update(fs.readFileSync(process.argv[1])).digest("hex"))' \
    "$CLIENTS/package-lock.json")
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$BIN/conformance" ] \
    && [ -x "$BIN/mcpb" ]; then
    echo "node_modules matches package-lock.json; skipping npm ci"
  else
    mkdir -p "$NPM_CACHE"
    bounded 600 npm ci --prefix "$CLIENTS" --cache "$NPM_CACHE" --prefer-offline \
      --no-audit --no-fund --loglevel=error || return 1
    echo "$want" > "$stamp"
  fi
  node -e '
    const v = (p) => require(`${process.argv[1]}/node_modules/${p}/package.json`).version;
    for (const p of ["@modelcontextprotocol/sdk", "@anthropic-ai/mcpb", "@modelcontextprotocol/conformance"])
      console.log(`${p} ${v(p)}`);' "$CLIENTS"
}
run_step "npm ci (tools/clients, cache .ci-cache/npm)" npm_install
[ ${#FAILED[@]} -eq 0 ] || die "npm install failed"

# --------------------------------------------------------------------------- 2. manifest
run_step "mcpb validate manifest.json" bounded 120 "$BIN/mcpb" validate "$ROOT/manifest.json"

# --------------------------------------------------------------------------- 3. stdio
stdio_check() {
  local db="$TMP/stdio-designs.sqlite3"
  local cmd=() word
  while IFS= read -r -d '' word; do cmd+=("$word"); done < <(
    node "$CLIENTS/manifest_command.mjs" --manifest "$ROOT/manifest.json" --dirname "$ROOT" \
      --python "$PY" --user-config "db_path=$db")
  [ ${#cmd[@]} -gt 0 ] || { echo "manifest_command.mjs produced no command"; return 1; }
  echo "server command (from manifest.json mcp_config): ${cmd[*]}"
  (cd "$TMP" && bounded 120 node "$CLIENTS/ts_client_check.mjs" --stdio "${cmd[@]}") || return 1
  # The user_config db_path must have reached the server (ML_SYSTEMIZATION_DB).
  if [ -s "$db" ]; then
    echo "  [ok] user_config.db_path honored: $db was written"
  else
    echo "  [FAIL] user_config.db_path not honored: $db was not written"
    return 1
  fi
}
run_step "TypeScript SDK client over stdio (server started from manifest.json)" stdio_check

# --------------------------------------------------------------------------- 4. HTTP server
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_http_server() {
  local attempt
  for attempt in 1 2 3; do
    PORT=$(free_port)
    "$PY" -m ml_systemization serve --transport http --host 127.0.0.1 --port "$PORT" \
      --db "$TMP/http-designs.sqlite3" >"$TMP/http-server.log" 2>&1 &
    SERVER_PID=$!
    local deadline=$(( $(date +%s) + 30 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
      if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        break  # exited (e.g. the port was taken meanwhile): retry with another port
      fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        URL="http://127.0.0.1:$PORT/mcp"
        echo "HTTP server pid $SERVER_PID listening on $URL (attempt $attempt)"
        return 0
      fi
      sleep 0.2
    done
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    echo "attempt $attempt: server did not listen on $PORT; log:"
    tail -20 "$TMP/http-server.log"
  done
  return 1
}

run_step "start HTTP server (127.0.0.1, free port, bounded wait)" start_http_server
if [ -n "$SERVER_PID" ]; then
  run_step "TypeScript SDK client over streamable HTTP" \
    bounded 120 node "$CLIENTS/ts_client_check.mjs" --http "$URL"

  # ------------------------------------------------------------------------- 5. conformance
  conformance() {
    "$BIN/conformance" --version
    bounded 60 "$BIN/conformance" list --server > "$TMP/conformance-scenarios.txt" || return 1
    local rc=0
    # The suite's exit code is 1 whenever any scenario fails (fixtures); the comparison decides.
    (cd "$TMP" && bounded 600 "$BIN/conformance" server --url "$URL" --suite all \
      -o "$TMP/conformance") > "$TMP/conformance.log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
      echo "conformance run aborted (exit $rc):"; tail -30 "$TMP/conformance.log"; return 1
    fi
    bounded 60 node "$CLIENTS/conformance_compare.mjs" --results "$TMP/conformance" \
      --scenarios "$TMP/conformance-scenarios.txt" --url "$URL" \
      --expected "$CLIENTS/conformance-expected-failures.txt" \
      --not-applicable "$CLIENTS/conformance-not-applicable.txt"
  }
  run_step "conformance suite, server mode, against $URL" conformance

  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "HTTP server died during the checks; log:"; tail -40 "$TMP/http-server.log"
    FAILED+=("HTTP server stayed up")
  fi
fi

printf '\n=== summary (%ss)\n' "$(( $(date +%s) - START ))"
if [ ${#FAILED[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${FAILED[@]}"
  [ -f "$TMP/http-server.log" ] && { echo "--- HTTP server log (tail)"; tail -40 "$TMP/http-server.log"; }
  exit 1
fi
echo "all external-client checks passed"
