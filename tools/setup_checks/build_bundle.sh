#!/usr/bin/env bash
# Build the Claude Desktop bundle (.mcpb) for THIS machine's OS, CPU and Python, then try it the
# way a host would: unpack it into an empty folder, start the server from the unpacked
# manifest.json (mcp_config resolved by @anthropic-ai/mcpb's own getMcpConfigForManifest, via
# tools/clients/manifest_command.mjs) with a bare Python that has no packages of its own, and run
# the TypeScript SDK client check against it (tools/clients/ts_client_check.mjs).
#
#   bash tools/setup_checks/build_bundle.sh [--out DIR] [--no-check]
#
# Steps:
#   1. staging copy of the checkout: the files git sees (tracked, plus new files that are not
#      gitignored); the manifest's compatibility.platforms is narrowed to this OS
#   2. pip install --target <stage>/server/lib --only-binary=:all: the runtime dependencies from
#      pyproject.toml, constrained to the versions installed in the project virtualenv (the ones
#      the tests ran with)
#   3. `mcpb pack` with the @anthropic-ai/mcpb 2.1.2 that tools/clients pins (the same as
#      `npx @anthropic-ai/mcpb@2.1.2 pack`), which applies the top-level .mcpbignore
#   4. checks: no tests/, tools/, docs/, .pyc or __pycache__ in the archive, and no file of
#      server/lib, src or templates left out (vendored test suites and server/lib/bin may be);
#      `mcpb unpack`; start it as the host would and run the client check; report sizes
#
# Why per platform: the vendored dependencies include compiled extensions (pydantic-core,
# rpds-py, markupsafe, cryptography, cffi), built for one OS, one CPU architecture and one CPython minor version
# (cp311 wheels do not load on 3.12). The bundle runs with the `python3` the host finds (Claude
# Desktop uses the system Python), which must be that same minor version.
#
# Environment: ML_SYSTEMIZATION_PYTHON  interpreter the bundle is built for (default
#                                       <repo>/.venv/bin/python); its version and platform decide
#                                       the wheels
#              KEEP=1                   keep the temporary folder (stage, unpacked bundle, logs)
#              MCPBIGNORE=FILE          pack with FILE as the staged .mcpbignore instead of the
#                                       repository's (to try a change to it)
# Needs: bash, node 20+ and npm (installs tools/clients' pinned packages if missing), PyPI access.
# Output: <out>/ml-systemization-<version>-<os>-<arch>-cp<XY>.mcpb (default out: <repo>/dist).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CLIENTS="$ROOT/tools/clients"
PY="${ML_SYSTEMIZATION_PYTHON:-$ROOT/.venv/bin/python}"
OUT="$ROOT/dist"
CHECK=1
MCPB_VERSION="2.1.2"

while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --no-check) CHECK=0; shift ;;
    -h|--help) sed -n '2,34p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "build_bundle: unknown option $1" >&2; exit 2 ;;
  esac
done

die() { echo "build_bundle: $*" >&2; exit 1; }
bounded() {
  local secs="$1"; shift
  if command -v timeout >/dev/null 2>&1; then timeout "$secs" "$@"
  else perl -e 'alarm shift; exec @ARGV or die "exec $ARGV[0]: $!\n"' "$secs" "$@"; fi
}

command -v node >/dev/null || die "node not found (Node 20+ is needed)"
command -v npm >/dev/null || die "npm not found"
command -v git >/dev/null || die "git not found (the staging copy lists files with git)"
[ -x "$PY" ] || die "no Python at $PY (set ML_SYSTEMIZATION_PYTHON)"
"$PY" -c 'import sys; assert sys.version_info >= (3, 11)' || die "$PY is older than 3.11"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/ml-systemization-bundle.XXXXXX")"
cleanup() {
  local status=$?
  if [ "${KEEP:-0}" = "1" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ pinned npm tools (mcpb)
MCPB="$CLIENTS/node_modules/.bin/mcpb"
have_mcpb() {
  [ -x "$MCPB" ] && [ "$(node -p "require('$CLIENTS/node_modules/@anthropic-ai/mcpb/package.json').version")" = "$MCPB_VERSION" ]
}
if ! have_mcpb; then
  echo "== npm ci (tools/clients: @anthropic-ai/mcpb $MCPB_VERSION, MCP TypeScript SDK)"
  mkdir -p "$ROOT/.ci-cache/npm"
  bounded 600 npm ci --prefix "$CLIENTS" --cache "$ROOT/.ci-cache/npm" --prefer-offline \
    --no-audit --no-fund --loglevel=error
  have_mcpb || die "@anthropic-ai/mcpb $MCPB_VERSION is not in tools/clients/node_modules"
fi

# ------------------------------------------------------------------ target of this build
read -r OS_TAG ARCH_TAG PY_TAG PY_MINOR VERSION < <("$PY" - <<'EOF'
import platform, sys
import ml_systemization
os_tag = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}[platform.system()]
print(os_tag, platform.machine().lower(), f"cp{sys.version_info[0]}{sys.version_info[1]}",
      f"{sys.version_info[0]}.{sys.version_info[1]}", ml_systemization.__version__)
EOF
)
NAME="ml-systemization-$VERSION-$OS_TAG-$ARCH_TAG-$PY_TAG"
echo "== building $NAME.mcpb (Python $("$PY" -c 'import sys; print(sys.version.split()[0])'), $OS_TAG $ARCH_TAG)"

# ------------------------------------------------------------------ 1. staging copy
STAGE="$TMP/stage/ml-systemization"
mkdir -p "$STAGE"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf -) | tar -xf - -C "$STAGE"
[ -f "$STAGE/manifest.json" ] && [ -f "$STAGE/.mcpbignore" ] || die "staging copy lacks manifest.json or .mcpbignore"
if [ -n "${MCPBIGNORE:-}" ]; then
  cp "$MCPBIGNORE" "$STAGE/.mcpbignore"
  echo "using $MCPBIGNORE as .mcpbignore (MCPBIGNORE)"
fi
node -e '
  const fs = require("fs"); const [file, os] = process.argv.slice(1);
  const m = JSON.parse(fs.readFileSync(file, "utf-8"));
  m.compatibility = { ...(m.compatibility || {}), platforms: [os] };
  fs.writeFileSync(file, JSON.stringify(m, null, 2) + "\n");' "$STAGE/manifest.json" "$OS_TAG"
echo "staged $(cd "$STAGE" && find . -type f | wc -l | tr -d ' ') files; manifest compatibility.platforms -> [\"$OS_TAG\"]"

# ------------------------------------------------------------------ 2. vendored dependencies
"$PY" - "$ROOT/pyproject.toml" > "$TMP/requirements.txt" <<'EOF'
import sys, tomllib
for dep in tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]:
    print(dep)
EOF
"$PY" -m pip freeze --exclude-editable 2>/dev/null | grep -v -i '^ml-systemization' > "$TMP/constraints.txt" || true
echo "== pip install --target server/lib: $(tr '\n' ' ' < "$TMP/requirements.txt")"
bounded 600 "$PY" -m pip install --quiet --disable-pip-version-check --no-compile \
  --only-binary=:all: --target "$STAGE/server/lib" -r "$TMP/requirements.txt" -c "$TMP/constraints.txt" \
  2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
ls "$STAGE/server/lib" | grep -i '\.dist-info$' | sed 's/\.dist-info$//' | tr '\n' ' '; echo
COMPILED=$(cd "$STAGE/server/lib" && find . \( -name '*.so' -o -name '*.pyd' -o -name '*.dylib' \) | sed 's|^\./||; s|/.*||' | sort -u | tr '\n' ' ')
echo "compiled extensions (bind the bundle to $OS_TAG $ARCH_TAG $PY_TAG): ${COMPILED:-none}"

# ------------------------------------------------------------------ 3. pack
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
BUNDLE="$OUT/$NAME.mcpb"
echo "== mcpb pack (@anthropic-ai/mcpb $MCPB_VERSION)"
bounded 300 "$MCPB" pack "$STAGE" "$BUNDLE" > "$TMP/pack.log" 2>&1 || { cat "$TMP/pack.log"; die "mcpb pack failed"; }
grep -E '^(package size|unpacked size|total files|ignored)' "$TMP/pack.log" || true

# ------------------------------------------------------------------ 4. checks
FAIL=0
LISTING="$TMP/listing.txt"
node -e '
  const { unzipSync } = require(process.argv[2]);
  const files = unzipSync(require("fs").readFileSync(process.argv[1]));
  for (const [name, data] of Object.entries(files)) console.log(`${data.length}\t${name}`);' \
  "$BUNDLE" "$CLIENTS/node_modules/fflate" > "$LISTING"
BAD=$(cut -f2 "$LISTING" | grep -E '^(tests|tools|docs|\.venv|\.git|\.ci-cache|\.hypothesis)/|__pycache__/|\.pyc$' || true)
if [ -n "$BAD" ]; then
  echo "[FAIL] the bundle carries files .mcpbignore should keep out:"; echo "$BAD" | head -20; FAIL=1
else
  echo "[ok] no tests/, tools/, docs/, caches or .pyc in the bundle"
fi
# Every vendored, source and template file must be in the archive (an unanchored .mcpbignore
# pattern such as `tools/` also matches server/lib/mcp/server/mcpserver/tools/), except the test
# suites that vendored packages ship (server/lib/<pkg>/tests/) and pip's console scripts
# (server/lib/bin/), which are never imported.
(cd "$STAGE" && find server/lib src templates -type f ! -name '*.pyc' ! -path '*/__pycache__/*' \
  ! -path 'server/lib/bin/*' ! -path 'server/lib/*/tests/*' | sort) > "$TMP/expected.txt"
cut -f2 "$LISTING" | sort > "$TMP/packed.txt"
DROPPED=$(comm -23 "$TMP/expected.txt" "$TMP/packed.txt")
if [ -n "$DROPPED" ]; then
  echo "[FAIL] $(echo "$DROPPED" | wc -l | tr -d ' ') needed files were left out of the bundle (.mcpbignore or mcpb's built-in excludes):"
  echo "$DROPPED" | awk -F/ '{ d = $1; for (i = 2; i < NF; i++) d = d "/" $i; n[d]++ } END { for (k in n) printf "         %s/ (%d files)\n", k, n[k] }' | sort
  echo "       .mcpbignore patterns without a leading / match at any depth; anchor them (/tools/, /tests/, /docs/)"
  FAIL=1
else
  echo "[ok] every file of server/lib, src and templates is in the bundle"
fi
for must in manifest.json src/ml_systemization/__main__.py templates/one_pager.md.j2 server/lib/mcp/__init__.py server/lib/pydantic_core/__init__.py; do
  if awk -F'\t' -v m="$must" '$2 == m { found = 1 } END { exit !found }' "$LISTING"; then echo "[ok] bundle has $must"; else echo "[FAIL] bundle lacks $must"; FAIL=1; fi
done
echo "largest parts (unpacked):"
awk -F'\t' '{ split($2, p, "/"); key = (p[1] == "server" && p[2] == "lib") ? p[1] "/" p[2] "/" p[3] : p[1]; s[key] += $1 }
  END { for (k in s) printf "%10.1f KB  %s\n", s[k] / 1024, k }' "$LISTING" | sort -rn | head -12

if [ "$CHECK" = "1" ]; then
  echo "== unpack and start as a host would (bare $PY_TAG, no packages of its own)"
  UNPACKED="$TMP/unpacked/ml-systemization"
  bounded 120 "$MCPB" unpack "$BUNDLE" "$UNPACKED" > "$TMP/unpack.log" 2>&1 || { cat "$TMP/unpack.log"; die "mcpb unpack failed"; }
  # The host's python3: the base interpreter of $PY in a fresh venv without pip or packages, so
  # only the bundle's server/lib can satisfy the imports.
  BASE=$("$PY" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')
  "$BASE" -m venv --without-pip "$TMP/bare"
  BARE="$TMP/bare/bin/python3"
  if "$BARE" -c 'import mcp' 2>/dev/null; then echo "[FAIL] the bare Python imports mcp by itself; the check would prove nothing"; FAIL=1; fi
  DB="$TMP/home/designs.sqlite3"
  mkdir -p "$TMP/home" "$TMP/run"
  CMD=()
  while IFS= read -r -d '' word; do CMD+=("$word"); done < <(
    node "$CLIENTS/manifest_command.mjs" --manifest "$UNPACKED/manifest.json" --dirname "$UNPACKED" \
      --python "$BARE" --user-config "db_path=$DB")
  echo "server command (unpacked manifest.json mcp_config): ${CMD[*]}"
  # A GUI host gives the server a small environment: no virtualenv, no PYTHONPATH of ours.
  if (cd "$TMP/run" && bounded 120 env -i HOME="$TMP/home" PATH="/usr/bin:/bin" LANG=C.UTF-8 \
      "$(command -v node)" "$CLIENTS/ts_client_check.mjs" --stdio "${CMD[@]}") > "$TMP/client.log" 2>&1; then
    tail -1 "$TMP/client.log"
  else
    cat "$TMP/client.log"; echo "[FAIL] client check against the unpacked bundle"; FAIL=1
  fi
  if [ -s "$DB" ]; then echo "[ok] user_config.db_path honored: the server wrote $DB"
  else echo "[FAIL] user_config.db_path not honored"; FAIL=1; fi
fi

SIZE=$(wc -c < "$BUNDLE" | tr -d ' ')
echo "== $BUNDLE ($(awk -v b="$SIZE" 'BEGIN { printf "%.1f MB", b / 1048576 }'))"
echo "   for $OS_TAG $ARCH_TAG, CPython $PY_MINOR only: install it where Claude Desktop's python3 is $PY_MINOR"
[ "$FAIL" = "0" ] || { echo "build_bundle: some checks FAILED"; exit 1; }
echo "build_bundle: ok"
