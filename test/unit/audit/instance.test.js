"use strict";
// The instance, where its settings are known: one reading of settings shared by the
// plugin and the command (instanceFacts), and the findings it leads to.
const assert = require("node:assert/strict");
const { audit, instanceFacts } = require("../../../dist/audit");
const F = require("../../helpers/audit-flows");

const flows = [F.tab("t"), F.node("hin", "http in", "t", { url: "/hook", method: "post" }, [["hres"]]), F.node("hres", "http response", "t", {}, [])];
const ids = (settings, listen) => audit(flows, { facts: { instance: instanceFacts(settings, listen) } }).findings.map((f) => `${f.id}:${f.severity}`).sort();

describe("audit: the instance", () => {
  it("reads settings: adminAuth, credentialSecret (set, false, absent), httpNodeAuth, uiHost, https, editor off", () => {
    assert.deepEqual(instanceFacts({}), { adminAuth: false, credentialSecret: "generated", httpNodeAuth: false, editor: { enabled: true, host: "", https: false } });
    const f = instanceFacts({ adminAuth: { type: "credentials" }, credentialSecret: "s3", httpNodeAuth: { user: "a" }, uiHost: "127.0.0.1", https: { key: "k" } });
    assert.deepEqual(f, { adminAuth: true, credentialSecret: "set", httpNodeAuth: true, editor: { enabled: true, host: "127.0.0.1", https: true } });
    assert.equal(instanceFacts({ credentialSecret: false }).credentialSecret, "disabled");
    assert.equal(instanceFacts({ httpAdminRoot: false }).editor.enabled, false);
    assert.deepEqual(instanceFacts({ uiHost: "0.0.0.0" }, { host: "127.0.0.1", https: false }).editor, { enabled: true, host: "127.0.0.1", https: false });
  });

  it("an open instance: every finding; a hardened one: none", () => {
    assert.deepEqual(ids({}), [
      "instance-admin-auth:high", "instance-credential-secret:medium", "instance-editor-https:high", "instance-http-node-auth:medium",
    ]);
    assert.deepEqual(ids({ adminAuth: {}, credentialSecret: "x", httpNodeAuth: {}, https: {} }), []);
    assert.deepEqual(ids({ credentialSecret: false, adminAuth: {}, httpNodeAuth: {}, https: {} }), ["instance-credential-secret:high"]);
  });

  it("an editor that listens on this machine only: no https finding, the others are low", () => {
    assert.deepEqual(ids({ uiHost: "127.0.0.1", credentialSecret: "x" }), ["instance-admin-auth:low", "instance-http-node-auth:low"]);
  });

  it("no settings: nothing reported, and a note says it was not checked", () => {
    const r = audit(flows);
    assert.deepEqual(r.findings, []);
    assert.match(r.notes.join("\n"), /instance .* not checked/);
  });

  it("instance findings name no node and are stored globally", () => {
    const r = audit(flows, { facts: { instance: instanceFacts({}) } });
    for (const f of r.findings) assert.equal(f.anchor, null, f.id);
    assert.deepEqual(r.findings.find((f) => f.id === "instance-http-node-auth").nodes, ["hin"]);
  });
});
