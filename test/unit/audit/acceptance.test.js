"use strict";
// Accepting a finding: stored in the flows (the finding's tab env, or the global-config
// node's), read back by every face, honoured only while the finding is no more severe,
// withdrawn where it was found; broken storage is itself a finding, never a crash.
const assert = require("node:assert/strict");
const { audit, acceptInFlows, withAcceptance, ENV_NAME, instanceFacts } = require("../../../dist/audit");
const F = require("../../helpers/audit-flows");

const z = "t";
const AT = "2026-11-30T10:00:00.000Z";
const leaky = (host = "broker.example.com") => [
  F.tab(z),
  F.broker("local", "localhost"),
  F.broker("cloud", host, { usetls: true }),
  F.mqttIn("in", z, "local", "x", ["out"]),
  F.mqttOut("out", z, "cloud"),
];
let n = 0;
const newId = () => `gc${++n}`;

describe("audit: accepting findings", () => {
  it("stores the reason in the tab's env as JSON; the finding comes back accepted, with nothing else changed", () => {
    const flows = leaky();
    const [f] = audit(flows).findings;
    const next = acceptInFlows(flows, f, "  the broker is our own server  ", AT, newId);
    const tab = next.find((o) => o.id === z);
    const entry = tab.env.find((e) => e.name === ENV_NAME);
    assert.equal(entry.type, "json");
    assert.deepEqual(JSON.parse(entry.value), { [f.id]: { reason: "the broker is our own server", at: AT, severity: "high" } });
    assert.deepEqual(flows.find((o) => o.id === z).env, [], "the input flows are not changed");
    const again = audit(JSON.parse(JSON.stringify(next)));
    assert.deepEqual(again.findings[0].accepted, { reason: "the broker is our own server", at: AT, severity: "high", storedIn: z });
    assert.deepEqual(again.unusedAcceptances, []);
  });

  it("instance findings (no tab) go to the global-config node, made if missing and reused after", () => {
    const flows = leaky();
    const opts = { facts: { instance: instanceFacts({ credentialSecret: "x", adminAuth: {}, https: {} }) } };
    const flows2 = [...flows, F.node("hin", "http in", z, { url: "/x" }, [[]])];
    const f = audit(flows2, opts).findings.find((x) => x.id === "instance-http-node-auth");
    const next = acceptInFlows(flows2, f, "behind a reverse proxy with a login", AT, newId);
    const gc = next.filter((o) => o.type === "global-config");
    assert.equal(gc.length, 1);
    assert.equal(gc[0].env[0].name, ENV_NAME);
    assert.equal(audit(next, opts).findings.find((x) => x.id === f.id).accepted.storedIn, "global");
    const p = audit(next, opts).findings.find((x) => x.rule === "unprotected-path");
    const both = acceptInFlows(acceptInFlows(next, { ...p, anchor: null }, "ok", AT, newId), f, "still behind the proxy", AT, newId);
    assert.equal(both.filter((o) => o.type === "global-config").length, 1);
    assert.deepEqual(Object.keys(JSON.parse(both.find((o) => o.type === "global-config").env[0].value)).sort(), [f.id, p.id].sort());
  });

  it("holds only while the finding is no more severe than when accepted", () => {
    const lan = leaky("192.168.1.10");
    const [f] = audit(lan).findings.filter((x) => x.rule === "unprotected-path");
    assert.equal(f.severity, "low");
    const accepted = acceptInFlows(lan, f, "our NAS", AT, newId);
    assert.ok(audit(accepted).findings[0].accepted);
    accepted.find((o) => o.id === "cloud").broker = "broker.example.com";
    const r = audit(accepted);
    const now = r.findings.find((x) => x.id === f.id);
    assert.equal(now.severity, "high");
    assert.equal(now.accepted, undefined);
    assert.match(r.notes.join("\n"), /accepted as low and is now high/);
  });

  it("withdrawing removes it where it was stored (even after the nodes moved tab), and drops an empty entry", () => {
    const flows = leaky();
    const [f] = audit(flows).findings;
    let next = acceptInFlows(flows, f, "fine", AT, newId);
    next = [...next, F.tab("t2")];
    for (const o of next) if (o.z === z) o.z = "t2";
    const moved = audit(next).findings[0];
    assert.equal(moved.anchor, "t2");
    assert.equal(moved.accepted.storedIn, z, "still honoured from its old tab");
    const back = acceptInFlows(next, moved, null, AT, newId);
    assert.deepEqual(back.find((o) => o.id === z).env, []);
    assert.equal(audit(back).findings[0].accepted, undefined);
  });

  it("an acceptance whose finding is gone is listed as unused", () => {
    const flows = leaky();
    const [f] = audit(flows).findings;
    const next = acceptInFlows(flows, f, "fine", AT, newId).filter((o) => o.id !== "out");
    assert.deepEqual(audit(next).unusedAcceptances, [{ id: f.id, storedIn: z }]);
  });

  it("an unreadable entry is a finding, and accepting there refuses to overwrite it", () => {
    const flows = leaky();
    flows[0].env = [{ name: ENV_NAME, type: "json", value: "{not json" }];
    const r = audit(flows);
    assert.ok(r.findings.some((f) => f.id === `acceptances-unreadable:${z}`));
    assert.throws(() => withAcceptance(flows[0].env, r.findings[0], "x", AT), /JSON/);
    flows[0].env = [{ name: ENV_NAME, type: "json", value: "[1,2]" }];
    assert.ok(audit(flows).findings.some((f) => f.rule === "acceptances-unreadable"));
  });

  it("needs a reason of at most 500 characters", () => {
    const [f] = audit(leaky()).findings;
    assert.throws(() => withAcceptance([], f, "   ", AT), /reason/);
    assert.throws(() => withAcceptance([], f, "x".repeat(501), AT), /500/);
  });
});
