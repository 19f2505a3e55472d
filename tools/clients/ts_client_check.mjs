#!/usr/bin/env node
// External-client check of the ml-systemization MCP server with the official TypeScript SDK.
//
//   node ts_client_check.mjs --stdio <command> [args...]
//   node ts_client_check.mjs --http http://127.0.0.1:PORT/mcp
//
// Connects (initialize handshake), lists tools, resources, resource templates and prompts, calls
// start_design and choose_baseline, reads the rendered one_pager artifact, gets the
// ml_systemization prompt. Structured output is checked by the SDK itself: Client.listTools()
// caches a JSON-Schema validator per tool outputSchema and Client.callTool() validates
// structuredContent against it (throwing on a mismatch). We list tools first, assert that the
// validators are cached for the tools we call, and print every check. Exit 0 only if all pass.
// Every request has a timeout and the whole run has a deadline, so this never hangs.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const REQUEST_TIMEOUT_MS = 20_000;
const DEADLINE_MS = Number(process.env.TS_CLIENT_CHECK_DEADLINE_MS || 90_000);
const FEATURE = "TS client check: support-ticket triage";

function usage(message) {
  if (message) console.error(`error: ${message}`);
  console.error("usage: ts_client_check.mjs --stdio <command> [args...] | --http <url>");
  process.exit(2);
}

function parseArgs(argv) {
  if (argv[0] === "--stdio") {
    if (argv.length < 2) usage("--stdio needs a command");
    return { kind: "stdio", command: argv[1], args: argv.slice(2) };
  }
  if (argv[0] === "--http") {
    if (argv.length !== 2) usage("--http takes exactly one URL");
    const url = new URL(argv[1]);
    if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
      usage(`only loopback URLs are allowed, got ${url.hostname}`);
    }
    return { kind: "http", url };
  }
  return usage();
}

const target = parseArgs(process.argv.slice(2));
const label = target.kind === "stdio" ? "stdio" : `http ${target.url}`;
const results = [];

function record(ok, name, detail = "") {
  results.push({ ok, name });
  console.log(`  [${ok ? "ok" : "FAIL"}] ${name}${detail ? ` - ${detail}` : ""}`);
}

function check(condition, name, detail = "") {
  record(Boolean(condition), name, detail);
  return Boolean(condition);
}

async function step(name, fn) {
  try {
    return await fn();
  } catch (error) {
    const code = error && typeof error === "object" && "code" in error ? ` (code ${error.code})` : "";
    record(false, name, `${error instanceof Error ? error.message : String(error)}${code}`);
    return undefined;
  }
}

async function listAll(fetchPage, key) {
  const items = [];
  let cursor;
  let pages = 0;
  do {
    const page = await fetchPage(cursor ? { cursor } : undefined);
    items.push(...page[key]);
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor && pages < 50);
  return { items, pages };
}

function textOf(result) {
  return (result.content || [])
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

const deadline = setTimeout(() => {
  console.error(`FAIL: ${label}: no verdict within ${DEADLINE_MS} ms`);
  process.exit(3);
}, DEADLINE_MS);
deadline.unref();

const opts = { timeout: REQUEST_TIMEOUT_MS };
const client = new Client({ name: "ml-systemization-ts-check", version: "1.0.0" });
let transport;
if (target.kind === "stdio") {
  // Pass the caller's environment through (the SDK default passes only HOME, PATH, ...).
  transport = new StdioClientTransport({
    command: target.command,
    args: target.args,
    env: { ...process.env },
    stderr: "inherit",
  });
} else {
  transport = new StreamableHTTPClientTransport(target.url);
}
let negotiated;
const setVersion = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (version) => {
  negotiated = version;
  setVersion?.(version);
};

console.log(`TypeScript SDK client -> ml-systemization over ${label}`);
let exitCode = 1;
try {
  await client.connect(transport, opts);
  const info = client.getServerVersion();
  const caps = client.getServerCapabilities() || {};
  check(info?.name === "ml-systemization", "initialize: serverInfo.name", `${info?.name} ${info?.version}`);
  check(Boolean(negotiated), "initialize: protocol version negotiated", String(negotiated));
  check(caps.tools && caps.resources && caps.prompts, "initialize: tools, resources, prompts capabilities",
    Object.keys(caps).join(", "));
  check((client.getInstructions() || "").includes("start_design"), "initialize: instructions mention start_design");

  // tools/list first: this is what makes the SDK cache one output validator per tool.
  const tools = await step("tools/list", () => listAll((p) => client.listTools(p, opts), "tools"));
  if (tools) {
    const names = tools.items.map((t) => t.name);
    check(names.includes("start_design") && names.includes("choose_baseline"),
      "tools/list: start_design and choose_baseline present", `${names.length} tools`);
    check(tools.pages === 1, "tools/list: one page (SDK keeps validators of the last page only)",
      `${tools.pages} page(s)`);
    const withOutput = tools.items.filter((t) => t.outputSchema);
    check(withOutput.length === tools.items.length, "tools/list: every tool declares an outputSchema",
      `${withOutput.length}/${tools.items.length}`);
    const cached = withOutput.filter((t) => typeof client.getToolOutputValidator(t.name) === "function");
    check(cached.length === withOutput.length, "SDK cached an output validator per outputSchema",
      `${cached.length}/${withOutput.length}`);
    const validator = client.getToolOutputValidator("start_design");
    if (validator) {
      const verdict = validator({});
      check(!verdict.valid, "SDK validator rejects {} for start_design (schema is not vacuous)",
        verdict.errorMessage || "");
    }
    for (const t of tools.items) {
      check(t.inputSchema?.type === "object" && typeof t.description === "string" && t.description,
        `tools/list: ${t.name} has description and object inputSchema`);
    }
  }

  const resources = await step("resources/list", () =>
    listAll((p) => client.listResources(p, opts), "resources"));
  if (resources) check(Array.isArray(resources.items), "resources/list", `${resources.items.length} static resources`);

  const templates = await step("resources/templates/list", () =>
    listAll((p) => client.listResourceTemplates(p, opts), "resourceTemplates"));
  if (templates) {
    const uris = templates.items.map((t) => t.uriTemplate);
    for (const uri of ["design://{design_id}", "design://{design_id}/artifacts/{name}", "template://{name}"]) {
      check(uris.includes(uri), `resources/templates/list: ${uri}`);
    }
  }

  const prompts = await step("prompts/list", () => listAll((p) => client.listPrompts(p, opts), "prompts"));
  if (prompts) {
    const prompt = prompts.items.find((p) => p.name === "ml_systemization");
    check(prompt, "prompts/list: ml_systemization");
    check(prompt?.arguments?.some((a) => a.name === "feature" && a.required),
      "prompts/list: ml_systemization takes a required feature argument");
  }

  // tools/call: the SDK validates structuredContent against the cached outputSchema and throws
  // McpError on a mismatch, so a returned result here has passed that validation.
  const started = await step("tools/call start_design", () =>
    client.callTool({ name: "start_design", arguments: { feature: FEATURE } }, undefined, opts));
  const designId = started?.structuredContent?.design_id;
  if (started) {
    check(!started.isError, "start_design: not an error", started.isError ? textOf(started) : "");
    check(typeof designId === "string" && designId.length > 0, "start_design: structuredContent.design_id",
      String(designId));
    check(started.structuredContent?.revision === 1, "start_design: revision 1");
    check(textOf(started).includes(String(designId)), "start_design: text content carries the JSON");
    record(true, "start_design: structuredContent passed the SDK's outputSchema validation");
  }

  if (designId) {
    const baseline = {
      id: "keyword_rules",
      type: "rules",
      description: "Keyword rules route tickets to queues",
      scores: { accuracy: 0.62 },
    };
    const chosen = await step("tools/call choose_baseline", () =>
      client.callTool({ name: "choose_baseline", arguments: { design_id: designId, baseline } },
        undefined, opts));
    if (chosen) {
      const sc = chosen.structuredContent || {};
      check(!chosen.isError, "choose_baseline: not an error", chosen.isError ? textOf(chosen) : "");
      check(sc.design_id === designId && sc.revision === 2, "choose_baseline: same design, revision 2",
        `revision ${sc.revision}`);
      check(sc.step === "baseline", "choose_baseline: step is baseline", String(sc.step));
      check(sc.status === "in_progress", "choose_baseline: partial baseline is in_progress", String(sc.status));
      check(Array.isArray(sc.missing) && sc.missing.some((m) => m.includes("justification")),
        "choose_baseline: missing names the unsent justification", JSON.stringify(sc.missing));
      check(Array.isArray(sc.findings), "choose_baseline: findings is a list", `${sc.findings?.length} findings`);
      check(typeof sc.next_step === "string", "choose_baseline: next_step", String(sc.next_step));
      record(true, "choose_baseline: structuredContent passed the SDK's outputSchema validation");
    }

    const uri = `design://${designId}/artifacts/one_pager`;
    const read = await step(`resources/read ${uri}`, () => client.readResource({ uri }, opts));
    if (read) {
      const content = read.contents?.[0];
      check(read.contents?.length === 1 && content.uri === uri, "one_pager: one content for the URI");
      check(content?.mimeType === "text/markdown", "one_pager: mimeType text/markdown", String(content?.mimeType));
      check(typeof content?.text === "string" && content.text.includes(FEATURE),
        "one_pager: rendered markdown names the feature", `${content?.text?.length} chars`);
      check(content?.text?.includes("keyword_rules"), "one_pager: rendered markdown shows the baseline");
    }

    const viaTemplate = await step("resources/read design://{id}", () =>
      client.readResource({ uri: `design://${designId}` }, opts));
    if (viaTemplate) {
      const design = JSON.parse(viaTemplate.contents?.[0]?.text || "{}");
      check(design.revision === 2 && design.design?.baseline?.id === "keyword_rules",
        "design resource: JSON at revision 2 with the baseline");
    }
  }

  const prompt = await step("prompts/get ml_systemization", () =>
    client.getPrompt({ name: "ml_systemization", arguments: { feature: FEATURE } }, opts));
  if (prompt) {
    const first = prompt.messages?.[0];
    check(first?.role === "user" && first.content?.type === "text", "prompt: a user text message");
    check(first?.content?.text?.includes(FEATURE), "prompt: text names the feature");
    check(first?.content?.text?.includes("choose_baseline"), "prompt: text lists the step tools");
  }

  const failed = results.filter((r) => !r.ok);
  console.log(`${failed.length === 0 ? "PASS" : "FAIL"}: ${label}: ${results.length - failed.length}/${results.length} checks passed`);
  exitCode = failed.length === 0 ? 0 : 1;
} catch (error) {
  console.error(`FAIL: ${label}: ${error instanceof Error ? error.stack || error.message : String(error)}`);
  exitCode = 1;
} finally {
  await Promise.race([
    client.close().catch(() => {}),
    new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
  ]);
}
process.exit(exitCode);
