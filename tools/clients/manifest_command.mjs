#!/usr/bin/env node
// Resolve manifest.json's server.mcp_config the way an MCPB host does (the getMcpConfigForManifest
// of @anthropic-ai/mcpb: ${__dirname}, ${HOME}, ${user_config.*} substitution, defaults) and print
// the resulting command as NUL-separated argv: `env K=V ... <command> <args...>`.
//
//   node manifest_command.mjs --manifest manifest.json --dirname DIR \
//        [--python EXE] [--user-config key=value ...]
//
// --python replaces a `python`/`python3` command with the interpreter that has the dependencies
// (a packed bundle vendors them into server/lib; a checkout uses the project virtualenv).

import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";

function fail(message) {
  console.error(`manifest_command: ${message}`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const options = { userConfig: {} };
for (let i = 0; i < argv.length; i += 1) {
  const flag = argv[i];
  const value = argv[i + 1];
  if (value === undefined) fail(`${flag} needs a value`);
  i += 1;
  if (flag === "--manifest") options.manifest = value;
  else if (flag === "--dirname") options.dirname = path.resolve(value);
  else if (flag === "--python") options.python = value;
  else if (flag === "--user-config") {
    const eq = value.indexOf("=");
    if (eq < 1) fail(`--user-config takes key=value, got ${value}`);
    options.userConfig[value.slice(0, eq)] = value.slice(eq + 1);
  } else fail(`unknown option ${flag}`);
}
if (!options.manifest || !options.dirname) fail("--manifest and --dirname are required");

const manifest = JSON.parse(readFileSync(options.manifest, "utf-8"));
for (const key of Object.keys(options.userConfig)) {
  if (!manifest.user_config || !(key in manifest.user_config)) fail(`manifest has no user_config.${key}`);
}
const home = os.homedir();
const config = await getMcpConfigForManifest({
  manifest,
  extensionPath: options.dirname,
  systemDirs: {
    HOME: home,
    DESKTOP: path.join(home, "Desktop"),
    DOCUMENTS: path.join(home, "Documents"),
    DOWNLOADS: path.join(home, "Downloads"),
  },
  userConfig: options.userConfig,
  pathSeparator: path.sep,
});
if (!config) fail("the manifest yields no mcp_config (missing required user_config?)");

const unresolved = JSON.stringify(config).match(/\$\{[^}]+\}/g);
if (unresolved) fail(`unresolved variables after substitution: ${unresolved.join(", ")}`);

let command = config.command;
if (options.python && /^python3?$/.test(command)) command = options.python;
const env = Object.entries(config.env || {}).map(([k, v]) => `${k}=${v}`);
const out = ["env", ...env, command, ...(config.args || [])];
process.stdout.write(out.map((s) => `${s}\0`).join(""));
