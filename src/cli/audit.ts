/**
 * `npx @privacy-toolkit/node-red-privacy audit <flows.json> [--settings settings.js] [--json]`:
 * the privacy audit for people (text) and machines (JSON). It exits 1 when a finding
 * at or above --fail-on (default high) is neither accepted nor only in disabled nodes,
 * so it can guard a git repository of flows in CI; 2 when it cannot read its input.
 *
 * --settings loads settings.js the way Node-RED does (it is JavaScript, and runs), to
 * judge adminAuth, credentialSecret, httpNodeAuth and where the editor listens. The
 * credentials file beside the flows (flows_cred.json) is only looked at to see whether
 * it is encrypted; nothing in it is decrypted or printed.
 */
import fs from "node:fs";
import path from "node:path";
import { audit } from "../audit/audit";
import { instanceFacts } from "../audit/settings-facts";
import { rank } from "../audit/acceptance";
import type { AuditFacts, AuditReport, Finding, InstanceFacts, Severity } from "../audit/types";
import { SEVERITIES } from "../audit/types";
import { options, reportError, UsageError } from "./args";
import type { CliIO } from "./io";

const USAGE = `usage: node-red-privacy audit <flows.json> [options]

  --settings FILE     settings.js of that Node-RED: also check adminAuth, credentialSecret,
                      httpNodeAuth and https (the file is loaded, as Node-RED loads it)
  --json              print the report as JSON
  --fail-on LEVEL     exit 1 on an unaccepted finding of this severity or worse: high
                      (default), medium or low; findings in disabled nodes never fail

Accept a finding in the editor's privacy sidebar: the reason is stored in the flows.`;

interface Options {
  file: string;
  settings?: string;
  json: boolean;
  failOn: Severity;
}

function parse(args: string[]): Options {
  const files: string[] = [];
  const opts = options(args, { settings: "value", json: "flag", "fail-on": "value" }, files);
  const failOn = opts["fail-on"] ?? "high";
  if (!SEVERITIES.includes(failOn as Severity)) {
    throw new UsageError(`--fail-on must be one of ${SEVERITIES.join(", ")}`);
  }
  if (files.length === 0) throw new UsageError("no flows file given");
  if (files.length > 1) throw new UsageError(`one flows file at a time (got ${files[0]} and ${files[1]})`);
  const settings = opts.settings;
  return {
    file: files[0],
    json: opts.json === true,
    failOn: failOn as Severity,
    ...(typeof settings === "string" && settings ? { settings } : {}),
  };
}

function readFlows(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not JSON: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function loadSettings(file: string): Record<string, unknown> {
  const abs = path.resolve(file);
  let loaded: unknown;
  try {
    // settings.js is a CommonJS module, loaded as Node-RED loads it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(abs);
  } catch (e) {
    throw new Error(`cannot load ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (typeof loaded !== "object" || loaded === null) throw new Error(`${file} does not export a settings object`);
  return loaded as Record<string, unknown>;
}

/** Whether flows_cred.json beside flows.json is encrypted ({"$": ...}), plain, or absent. */
function credentialsFile(flowsFile: string): InstanceFacts["credentialsFile"] {
  const ext = path.extname(flowsFile);
  const cred = path.join(path.dirname(flowsFile), `${path.basename(flowsFile, ext)}_cred${ext || ".json"}`);
  let text: string;
  try {
    text = fs.readFileSync(cred, "utf8");
  } catch {
    return "absent";
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return "absent";
    const keys = Object.keys(parsed);
    if (keys.length === 0) return "absent";
    return keys.length === 1 && keys[0] === "$" ? "encrypted" : "plain";
  } catch {
    return "absent";
  }
}

function factsFor(o: Options): AuditFacts {
  const cred = credentialsFile(o.file);
  if (o.settings) return { instance: { ...instanceFacts(loadSettings(o.settings)), credentialsFile: cred } };
  return { instance: { credentialsFile: cred } };
}

const LABEL: Record<Severity, string> = { high: "HIGH  ", medium: "MEDIUM", low: "LOW   " };

function printFinding(io: CliIO, f: Finding): void {
  io.out(`${LABEL[f.severity]} ${f.title}`);
  io.out(`       ${f.explanation}`);
  io.out(`       fix: ${f.fix.text}`);
  const isPath = f.rule === "unprotected-path" || f.rule === "minimize-remove-to-cloud";
  if (f.nodes.length > 0) io.out(`       nodes: ${f.nodes.join(isPath ? " -> " : ", ")}`);
  if (f.accepted) io.out(`       accepted ${f.accepted.at.slice(0, 10)}: ${f.accepted.reason}`);
  io.out(`       id: ${f.id}`);
}

function printText(io: CliIO, file: string, report: AuditReport, failing: Finding[], failOn: Severity): void {
  const c = report.counts;
  io.out(`Privacy audit of ${file}: ${c.nodes} nodes, ${c.wires} wires, ${c.sources} sources, ${c.sinks} destinations`);
  const active = report.findings.filter((f) => !f.accepted && !f.dormant);
  const dormant = report.findings.filter((f) => !f.accepted && f.dormant);
  const accepted = report.findings.filter((f) => f.accepted);
  const groups: Array<[string, Finding[]]> = [
    ["", active],
    ["In disabled nodes (would apply if enabled):", dormant],
    ["Accepted:", accepted],
  ];
  for (const [title, list] of groups) {
    if (list.length === 0) continue;
    io.out("");
    if (title) io.out(title);
    for (const f of list) printFinding(io, f);
  }
  const notes = [...report.notes];
  if (report.unusedAcceptances.length > 0) {
    notes.push(`Acceptances that match no finding any more: ${report.unusedAcceptances.map((u) => u.id).join(", ")}`);
  }
  if (notes.length > 0) {
    io.out("");
    io.out("Not checked / notes:");
    for (const n of notes) io.out(`  - ${n}`);
  }
  io.out("");
  const count = (s: Severity): number => active.filter((f) => f.severity === s).length;
  io.out(
    `${active.length} to look at (${SEVERITIES.map((s) => `${count(s)} ${s}`).join(", ")}), ` +
      `${dormant.length} in disabled nodes, ${accepted.length} accepted.`,
  );
  io.out(
    failing.length > 0
      ? `FAIL: ${failing.length} unaccepted finding${failing.length === 1 ? "" : "s"} at ${failOn} or above.`
      : `OK: no unaccepted finding at ${failOn} or above.`,
  );
}

export function run(argv: string[], io: CliIO): number {
  const args = argv[0] === "audit" ? argv.slice(1) : argv;
  if (args.includes("--help") || args[0] === "help") {
    io.out(USAGE);
    return 0;
  }
  try {
    const o = parse(args);
    const flows = readFlows(o.file);
    const report = audit(flows, { facts: factsFor(o) });
    const failing = report.findings.filter((f) => !f.accepted && !f.dormant && rank(f.severity) >= rank(o.failOn));
    const code = failing.length > 0 ? 1 : 0;
    if (o.json) {
      const out = { file: o.file, failOn: o.failOn, failing: failing.map((f) => f.id), exitCode: code, ...report };
      io.out(JSON.stringify(out, null, 2));
    } else {
      printText(io, o.file, report, failing, o.failOn);
    }
    return code;
  } catch (e) {
    return reportError(e, USAGE, io, 2);
  }
}
