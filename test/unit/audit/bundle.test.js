"use strict";
// The editor runs the audit from dist/audit/browser.js, bundled by scripts/build.js
// from the same compiled modules the command uses. In a bare vm context (no require,
// no process, no Buffer) it must load and give the very same report.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const engine = require("../../../dist/audit");
const F = require("../../helpers/audit-flows");

const BUNDLE = path.join(__dirname, "..", "..", "..", "dist", "audit", "browser.js");

describe("audit: the browser bundle", () => {
  it("loads without Node and gives the same report as the engine the command uses", () => {
    const sandbox = { console };
    vm.createContext(sandbox);
    sandbox.self = sandbox;
    vm.runInContext(fs.readFileSync(BUNDLE, "utf8"), sandbox, { filename: "browser.js" });
    const browser = sandbox.PrivacyAuditEngine;
    assert.equal(typeof browser.audit, "function");
    const flows = [
      F.tab("t"),
      F.broker("b", "broker.example.com"),
      F.mqttIn("in", "t", "b", "owntracks/#", ["f"]),
      F.fn("f", "t", 'const token = "abcdefgh12345678";\nreturn msg;', ["out"]),
      F.httpReq("out", "t", "http://api.example.com/x?apikey=abcdef123456"),
    ];
    const facts = { instance: engine.instanceFacts({}) };
    // JSON round trip: objects from the vm's realm compare by value.
    assert.deepEqual(JSON.parse(JSON.stringify(browser.audit(flows, { facts }))), JSON.parse(JSON.stringify(engine.audit(flows, { facts }))));
    const env = browser.withAcceptance([], { id: "x", severity: "low" }, "reason", "2026-01-01T00:00:00Z");
    assert.equal(env[0].name, engine.ENV_NAME);
  });

  it("holds every module of dist/audit and requires nothing outside it", () => {
    const text = fs.readFileSync(BUNDLE, "utf8");
    const mods = fs.readdirSync(path.dirname(BUNDLE)).filter((f) => f.endsWith(".js") && f !== "browser.js");
    for (const m of mods) assert.ok(text.includes(`"audit/${m}"`), `${m} bundled`);
    assert.doesNotMatch(text, /require\("(?!\.)/);
  });
});
