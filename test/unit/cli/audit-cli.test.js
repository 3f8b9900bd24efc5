"use strict";
// `node-red-privacy audit`: through the real bin, as CI runs it. Exit 1 on an unaccepted
// active high finding (or --fail-on), 0 otherwise, 2 when it cannot read its input;
// text for people, JSON for machines; never a secret in either.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { audit, acceptInFlows } = require("../../../dist/audit");
const F = require("../../helpers/audit-flows");

const ROOT = path.join(__dirname, "..", "..", "..");
const BIN = path.join(ROOT, require("../../../package.json").bin["node-red-privacy"]);
const SECRET = "hunter2hunter2-Secret";

function cli(args, cwd) {
  const r = spawnSync(process.execPath, [BIN, "audit", ...args], { cwd, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const leaky = () => [
  F.tab("t"),
  F.broker("b", "localhost"),
  { ...F.mqttIn("in", "t", "b", "owntracks/#", ["f"]), name: "owntracks" },
  F.fn("f", "t", `const password = "${SECRET}";\nreturn msg;`, ["out"]),
  F.httpReq("out", "t", "https://api.example.com/x"),
];

describe("audit command", function () {
  this.timeout(30000);
  let dir;
  const write = (name, value) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value));
    return file;
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-cli-"));
  });

  it("text: lists findings by severity with their ids, exits 1 on a high one, never prints the secret", () => {
    const r = cli([write("flows.json", leaky())]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /^HIGH {3}"owntracks" \(mqtt in\) reaches HTTP request to api\.example\.com unprotected$/m);
    assert.match(r.out, /nodes: in -> f -> out/);
    assert.match(r.out, /id: plain-secret:f:func/);
    assert.match(r.out, /FAIL: 2 unaccepted findings at high or above\./);
    assert.match(r.out, /--settings/, "says the instance was not checked");
    assert.ok(!r.out.includes(SECRET) && !r.err.includes(SECRET));
  });

  it("JSON: the report, the failing ids and the exit code", () => {
    const r = cli([write("flows.json", leaky()), "--json"]);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out);
    assert.equal(j.exitCode, 1);
    assert.deepEqual(j.failing.sort(), ["plain-secret:f:func", "unprotected-path:in>out"]);
    assert.equal(j.findings.length, 2);
    assert.ok(!r.out.includes(SECRET));
  });

  it("exits 0 when the high findings are accepted or only in disabled nodes, and shows them apart", () => {
    let flows = leaky();
    for (const f of audit(flows).findings.filter((x) => x.rule === "plain-secret")) flows = acceptInFlows(flows, f, "test bench only", "2026-11-30T00:00:00Z", () => "gc");
    flows = flows.map((n) => (n.id === "out" ? { ...n, d: true } : n));
    const r = cli([write("flows.json", flows)]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /In disabled nodes \(would apply if enabled\):\nHIGH/);
    assert.match(r.out, /Accepted:\nHIGH .*\n(.*\n)*? {7}accepted 2026-11-30: test bench only/);
    assert.match(r.out, /OK: no unaccepted finding at high or above\./);
  });

  it("--fail-on medium fails on a medium finding; --fail-on rejects other values", () => {
    const flows = [F.tab("t"), F.broker("b", "localhost"), F.mqttIn("in", "t", "b", "x", ["out"]), F.httpReq("out", "t", "")];
    const file = write("flows.json", flows);
    assert.equal(cli([file]).code, 0);
    assert.equal(cli([file, "--fail-on", "medium"]).code, 1);
    assert.equal(cli([file, "--fail-on", "critical"]).code, 2);
  });

  it("--settings checks the instance; a plain credentials file beside the flows is found without it", () => {
    const file = write("flows.json", [F.tab("t")]);
    const settings = write("settings.js", 'module.exports = { uiPort: 1880, credentialSecret: false, adminAuth: { type: "credentials", users: [] } };');
    let j = JSON.parse(cli([file, "--settings", settings, "--json"]).out);
    // No http in node: no httpNodeAuth finding; no uiHost: the editor listens everywhere, without https.
    assert.deepEqual(j.findings.map((f) => f.id).sort(), ["instance-credential-secret", "instance-editor-https"]);
    write("flows_cred.json", { b: { user: "alice", password: SECRET } });
    const r = cli([file, "--json"]);
    j = JSON.parse(r.out);
    assert.deepEqual(j.findings.map((f) => f.id), ["instance-credential-secret"]);
    assert.equal(r.code, 1);
    assert.ok(!r.out.includes(SECRET));
    write("flows_cred.json", { $: "0a1b2c3d" });
    assert.equal(cli([file]).code, 0);
  });

  it("exits 2 with the usage on a missing file, bad JSON, a bad settings file or an unknown option", () => {
    assert.equal(cli([]).code, 2);
    assert.equal(cli([path.join(dir, "nope.json")]).code, 2);
    assert.equal(cli([write("bad.json", "{")]).code, 2);
    const ok = write("ok.json", []);
    assert.equal(cli([ok, "--bogus"]).code, 2);
    assert.equal(cli([ok, "--settings", write("s.js", "throw new Error('boom')")]).code, 2);
    const help = cli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /usage: node-red-privacy audit/);
  });

  it("the shipped examples pass the command (the CI guard users would copy)", () => {
    for (const f of fs.readdirSync(path.join(ROOT, "examples"))) {
      const r = cli([path.join(ROOT, "examples", f)]);
      assert.equal(r.code, 0, `${f}:\n${r.out}`);
    }
  });
});
