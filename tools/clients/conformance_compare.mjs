#!/usr/bin/env node
// Compare a `conformance server -o DIR` run with the checked-in expectations.
//
//   node conformance_compare.mjs --results DIR --scenarios FILE --url URL \
//        --expected conformance-expected-failures.txt --not-applicable conformance-not-applicable.txt
//
// --scenarios is the output of `conformance list --server`. A scenario fails when any of its
// checks has status FAILURE (WARNINGs are printed, not counted). Each failing scenario must be
// listed in exactly one file:
//   conformance-expected-failures.txt  needs a reference fixture (test_* tool, prompt or
//                                      resource) that a real server does not have;
//   conformance-not-applicable.txt     exercises an optional capability the server does not
//                                      declare; checked live against the server's initialize
//                                      result, so the entry turns into a failure the moment the
//                                      capability is declared.
// Exit 1 on an unexpected failure, a listed scenario that passes (stale entry), a listed name the
// suite does not have, an entry without a reason, or a scenario that produced no results.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, "")] = argv[i + 1];
for (const key of ["results", "scenarios", "url", "expected", "not-applicable"]) {
  if (!args[key]) {
    console.error(`conformance_compare: --${key} is required`);
    process.exit(2);
  }
}

const problems = [];

function parseList(file, fields) {
  // "<scenario> [<capability>]  # <reason>", one a line; blank lines and # comments ignored.
  const entries = new Map();
  readFileSync(file, "utf-8").split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const hash = line.indexOf("#");
    const reason = hash >= 0 ? line.slice(hash + 1).trim() : "";
    const words = (hash >= 0 ? line.slice(0, hash) : line).trim().split(/\s+/);
    const where = `${path.basename(file)}:${index + 1}`;
    if (words.length !== fields) problems.push(`${where}: expected ${fields} field(s) before the reason`);
    if (!reason) problems.push(`${where}: ${words[0]} has no reason (add "# why")`);
    if (entries.has(words[0])) problems.push(`${where}: ${words[0]} listed twice`);
    entries.set(words[0], { capability: words[1], reason });
  });
  return entries;
}

const suite = readFileSync(args.scenarios, "utf-8")
  .split("\n")
  .map((l) => l.match(/^\s*-\s+(\S+)/)?.[1])
  .filter(Boolean);
if (suite.length === 0) problems.push(`no scenarios found in ${args.scenarios}`);
const expected = parseList(args.expected, 1);
const notApplicable = parseList(args["not-applicable"], 2);
for (const [name] of [...expected, ...notApplicable]) {
  if (!suite.includes(name)) problems.push(`${name} is listed but is not a scenario of this suite version`);
  if (expected.has(name) && notApplicable.has(name)) problems.push(`${name} is in both lists`);
}

// The capabilities the server declares (legacy initialize; the suite's client uses the same).
const client = new Client({ name: "conformance-compare", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(args.url)), { timeout: 15_000 });
const capabilities = client.getServerCapabilities() || {};
await client.close();
const declared = (dotted) => dotted.split(".").reduce((o, k) => (o == null ? undefined : o[k]), capabilities);

// Results: <results>/server-<scenario>-<timestamp>/checks.json
const runs = new Map();
for (const dir of readdirSync(args.results)) {
  const name = dir.match(/^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/)?.[1];
  if (!name) continue;
  runs.set(name, JSON.parse(readFileSync(path.join(args.results, dir, "checks.json"), "utf-8")));
}

const rows = [];
let passed = 0;
for (const name of suite) {
  const checks = runs.get(name);
  if (!checks) {
    problems.push(`${name}: no results (the scenario did not run)`);
    rows.push([name, "NO RESULTS", ""]);
    continue;
  }
  const failures = checks.filter((c) => c.status === "FAILURE");
  const warnings = checks.filter((c) => c.status === "WARNING");
  const ok = failures.length === 0;
  const why = failures.map((c) => `${c.id}: ${c.errorMessage || c.description}`).join("; ");
  const warn = warnings.length ? ` (${warnings.length} warning(s): ${warnings.map((c) => c.id).join(", ")})` : "";
  let verdict;
  if (expected.has(name)) {
    verdict = ok ? "STALE: passes, remove from expected failures" : "expected failure (fixture)";
    if (ok) problems.push(`${name}: listed in ${path.basename(args.expected)} but passes`);
  } else if (notApplicable.has(name)) {
    const cap = notApplicable.get(name).capability;
    if (declared(cap)) {
      verdict = ok ? `pass (capability ${cap} declared: remove from not-applicable)` : `FAIL (capability ${cap} is declared)`;
      problems.push(`${name}: server declares ${cap}, so the scenario applies (${ok ? "passes" : why})`);
    } else {
      verdict = ok ? `STALE: passes without ${cap}` : `not applicable (no ${cap} capability)`;
      if (ok) problems.push(`${name}: listed as not applicable but passes`);
    }
  } else if (ok) {
    verdict = "pass";
    passed += 1;
  } else {
    verdict = "UNEXPECTED FAILURE";
    problems.push(`${name}: unexpected failure: ${why}`);
  }
  rows.push([name, verdict + warn, ok ? "" : why]);
}

const width = Math.max(...rows.map((r) => r[0].length));
console.log(`Conformance (${suite.length} server scenarios; declared capabilities: ${Object.keys(capabilities).join(", ")})`);
for (const [name, verdict, why] of rows) {
  console.log(`  ${name.padEnd(width)}  ${verdict}`);
  if (why) console.log(`  ${"".padEnd(width)}    ${why.slice(0, 220)}`);
}
console.log(`  ${passed} passed, ${expected.size} expected failures (fixture), ${notApplicable.size} not applicable`);
if (problems.length) {
  console.log("Conformance comparison FAILED:");
  for (const p of problems) console.log(`  - ${p}`);
  process.exit(1);
}
console.log("Conformance comparison passed.");
