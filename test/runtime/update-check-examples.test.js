"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime, deploy, inject, waitFor, readJsonLines, swapDebug, tempDir } = require("../helpers/runtime");
const { startRegistry } = require("../helpers/update-servers");
const { run } = require("../../dist/cli/manifest.js");

const EXAMPLES = path.join(__dirname, "..", "..", "examples");
const load = (name) => JSON.parse(fs.readFileSync(path.join(EXAMPLES, name), "utf8"));

function userDirWith(dir, modules) {
  const userDir = path.join(dir, "user");
  fs.mkdirSync(userDir, { recursive: true });
  fs.writeFileSync(path.join(userDir, "package.json"), JSON.stringify({ name: "node-red-project", private: true, dependencies: Object.fromEntries(Object.keys(modules).map((m) => [m, "*"])) }));
  for (const [name, version] of Object.entries(modules)) {
    const p = path.join(userDir, "node_modules", name);
    fs.mkdirSync(p, { recursive: true });
    fs.writeFileSync(path.join(p, "package.json"), JSON.stringify({ name, version }));
  }
  return userDir;
}

describe("update-check examples in a real runtime", function () {
  this.timeout(90000);
  let rt;
  let reg;
  afterEach(async () => {
    if (rt) await rt.stop();
    rt = undefined;
    if (reg) await reg.close();
    reg = undefined;
  });

  it("daily vulnerability alert: one notification naming the vulnerable package and its advisory", async () => {
    const dir = tempDir("uc-ex1-");
    const nodeRedVersion = require("node-red/package.json").version;
    reg = await startRegistry({
      packages: { "node-red": { latest: nodeRedVersion }, "example-lib": { latest: "1.4.2" }, "node-red-dashboard": { latest: "3.6.5" } },
      advisories: { "example-lib": [{ id: 77, url: "https://github.com/advisories/GHSA-1111-2222-3333", title: "Command injection in example-lib", severity: "high", vulnerable_versions: "<1.4.2", cwe: ["CWE-78"], cvss: { score: 8.1 } }] },
    });
    const userDir = userDirWith(dir, { "example-lib": "1.4.0", "node-red-dashboard": "3.6.5" });
    const flow = load("update-check-daily-vulnerability-alert.json");
    assert.ok(flow.some((n) => n.type === "comment"));
    // The example leaves the registry to npm's configuration; here that is the local one.
    const notify = swapDebug(flow, "uc-daily-notify", dir);
    const report = swapDebug(flow, "uc-daily-report", dir);
    rt = await startRuntime({ userDir, env: { npm_config_registry: reg.url } });
    await deploy(rt, flow);
    await inject(rt, "uc-daily-inject");
    await waitFor(() => readJsonLines(notify).length >= 1, { what: "a notification" });
    const notes = readJsonLines(notify);
    for (const n of notes) {
      assert.equal(n.topic, "Node-RED: 1 vulnerable package(s)");
      assert.equal(n.payload, "example-lib@1.4.0 (high): Command injection in example-lib https://github.com/advisories/GHSA-1111-2222-3333 - fixed in latest 1.4.2");
    }
    await waitFor(() => readJsonLines(report).length >= 1, { what: "the full report" });
    assert.equal(readJsonLines(report)[0].payload.summary.vulnerable, 1);

    // Fixed: the report still comes, the notification does not.
    reg.state.advisories = {};
    const before = readJsonLines(notify).length;
    const reportsBefore = readJsonLines(report).length;
    await inject(rt, "uc-daily-inject");
    await waitFor(() => readJsonLines(report).length > reportsBefore, { what: "a second report" });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(readJsonLines(notify).length, before);
  });

  it("device fleet: three devices need attention with the template manifest, and a tampered manifest goes to 'check failed'", async () => {
    const dir = tempDir("uc-ex2-");
    const userDir = userDirWith(dir, {});
    const io = { out: () => undefined, err: () => undefined, now: () => Date.now() };
    const k = path.join(dir, "fleet");
    assert.equal(run(["manifest", "keygen", "--out", k], io), 0);
    assert.equal(run(["manifest", "template", "--out", path.join(dir, "m.json")], io), 0);
    const manifestFile = path.join(userDir, "firmware-manifest.json");
    assert.equal(run(["manifest", "sign", "--key", `${k}.key`, "--in", path.join(dir, "m.json"), "--out", manifestFile], io), 0);

    const flow = load("update-check-device-fleet.json");
    flow.find((n) => n.id === "uc-fleet-check").publicKeys = fs.readFileSync(`${k}.pub`, "utf8");
    const attention = swapDebug(flow, "uc-fleet-debug", dir);
    const failed = swapDebug(flow, "uc-fleet-failed", dir);
    rt = await startRuntime({ userDir });
    await deploy(rt, flow);
    await inject(rt, "uc-fleet-inject");
    await waitFor(() => readJsonLines(attention).length >= 3, { what: "three devices" });
    await new Promise((r) => setTimeout(r, 300));
    const got = readJsonLines(attention).map((l) => [l.payload.deviceId, l.payload.status]);
    assert.deepEqual(got, [
      ["porch-camera", "security-update-required"],
      ["hall-sensor", "update-available"],
      ["old-plug", "unknown-model"],
    ]);

    const env = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
    env.signed.models["EXAMPLE-1"].minimumSecure = "0.1.0";
    fs.writeFileSync(manifestFile, JSON.stringify(env));
    await inject(rt, "uc-fleet-inject");
    await waitFor(() => readJsonLines(failed).length >= 1, { what: "check failed" });
    const [f] = readJsonLines(failed);
    assert.equal(f.payload.failures[0].reason, "bad-signature");
    assert.equal(readJsonLines(attention).length, 3, "nothing from the rejected manifest reaches 'needs attention'");
  });
});
