#!/usr/bin/env node
// Connect to a running MCP Inspector UI's proxy the way the Inspector web page does when you press
// "Connect" with the stdio transport (GET /stdio?transportType=stdio&command=...&args=..., then
// POST /message), and check that the server it launches answers: tools/list, then tools/call
// start_design. Uses the MCP TypeScript SDK installed in tools/clients/node_modules.
//
//   node inspector_proxy_client.mjs --proxy http://127.0.0.1:6277 --token TOKEN \
//        --command /abs/.venv/bin/ml-systemization --args "serve --db /tmp/x.sqlite3"
//
// Exit 0 only if both calls succeed; every request has a timeout.

import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const sdk = path.join(here, "..", "clients", "node_modules", "@modelcontextprotocol", "sdk", "dist", "esm");
const { Client } = await import(pathToFileURL(path.join(sdk, "client", "index.js")).href);
const { SSEClientTransport } = await import(pathToFileURL(path.join(sdk, "client", "sse.js")).href);

const options = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) options[argv[i].replace(/^--/, "")] = argv[i + 1];
for (const key of ["proxy", "token", "command", "args"]) {
  if (options[key] === undefined) {
    console.error(`inspector_proxy_client: --${key} is required`);
    process.exit(2);
  }
}

const deadline = setTimeout(() => {
  console.error("FAIL: no verdict within 60 s");
  process.exit(3);
}, 60_000);
deadline.unref();

const url = new URL("/stdio", options.proxy);
url.searchParams.set("transportType", "stdio");
url.searchParams.set("command", options.command);
url.searchParams.set("args", options.args);
url.searchParams.set("env", JSON.stringify({}));
const auth = { "X-MCP-Proxy-Auth": `Bearer ${options.token}` };
const transport = new SSEClientTransport(url, {
  eventSourceInit: {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers || {}), ...auth } }),
  },
  requestInit: { headers: auth },
});
const client = new Client({ name: "inspector-proxy-check", version: "1.0.0" });
const opts = { timeout: 20_000 };
let code = 1;
try {
  await client.connect(transport, opts);
  console.log(`  [ok] connected through the Inspector proxy: ${client.getServerVersion()?.name}`);
  const tools = await client.listTools(undefined, opts);
  console.log(`  [ok] tools/list: ${tools.tools.length} tools`);
  const started = await client.callTool(
    { name: "start_design", arguments: { feature: "Inspector UI check" } }, undefined, opts);
  const id = started.structuredContent?.design_id;
  if (started.isError || !id) throw new Error(`start_design failed: ${JSON.stringify(started)}`);
  console.log(`  [ok] tools/call start_design: ${id}`);
  code = 0;
} catch (error) {
  console.error(`FAIL: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await Promise.race([client.close().catch(() => {}), new Promise((r) => setTimeout(r, 3_000).unref())]);
}
process.exit(code);
