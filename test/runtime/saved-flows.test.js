"use strict";
/**
 * Users' flows keep working across releases: every flow that release 0.1.0 shipped
 * (its examples, as saved then: test/fixtures/flows-saved-by-0.1.0.json) deploys on
 * this build with every node type known, and the runtime hands each node's config back
 * unchanged (no type or property was renamed).
 */
const assert = require("node:assert/strict");
const path = require("node:path");
const { startRuntime, api, deploy } = require("../helpers/runtime");

const SAVED = require(path.join(__dirname, "..", "fixtures", "flows-saved-by-0.1.0.json"));
const KEYS = JSON.stringify({ "demo-1": Buffer.alloc(32, 1).toString("base64url"), "home-2026": Buffer.alloc(32, 2).toString("base64url") });

describe("flows saved by release 0.1.0", function () {
  this.timeout(60000);
  let rt;
  before(async () => {
    rt = await startRuntime({ env: { PRIVACY_DEMO_KEYS: KEYS, PRIVACY_KEYS: KEYS, npm_config_registry: "http://127.0.0.1:9/" } });
  });
  after(async () => rt && rt.stop());

  it("cover all nine node types", () => {
    const types = new Set(SAVED.map((n) => n.type).filter((t) => t.startsWith("privacy-")));
    assert.deepEqual([...types].sort(), Object.keys(require("../../package.json")["node-red"].nodes).sort());
  });

  it("deploy with every type known and come back unchanged", async () => {
    await deploy(rt, SAVED);
    const back = await api(rt, "GET", "/flows");
    const byId = new Map((back.flows || back).map((n) => [n.id, n]));
    for (const n of SAVED) {
      const got = byId.get(n.id);
      assert.ok(got, `${n.type} ${n.id} deployed`);
      for (const [k, v] of Object.entries(n)) {
        if (k === "credentials") continue;
        assert.deepEqual(got[k], v, `${n.type} ${n.id}: property ${k} unchanged`);
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(rt.output(), /missing types|Unknown type|Waiting for missing/i);
    const state = await api(rt, "GET", "/nodes");
    const ours = state.filter((s) => s.module === require("../../package.json").name);
    assert.equal(ours.length, 9, "all nine node sets registered");
    for (const s of ours) assert.ok(s.enabled && !s.err, `${s.name} enabled without error`);
  });
});
