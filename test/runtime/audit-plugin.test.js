"use strict";
// The privacy audit plugin in a real Node-RED: it registers as a plugin, serves the
// engine and the instance's facts behind Node-RED's permissions, and judges a deployed
// keyring's passphrase without ever sending it (or its length).
const assert = require("node:assert/strict");
const vm = require("node:vm");
const { startRuntime, api, deploy } = require("../helpers/runtime");

const SALT = "c2FsdHNhbHRzYWx0c2FsdA";
const PASSPHRASE = "correct-horse7"; // 14 characters: accepted by the runtime, "short" for the audit

async function get(rt, route, headers = {}) {
  const res = await fetch(new URL(route, rt.url), { headers });
  return { status: res.status, type: res.headers.get("content-type") || "", text: await res.text() };
}

describe("privacy audit plugin (runtime)", function () {
  this.timeout(60000);

  describe("without adminAuth", () => {
    let rt;
    before(async () => {
      rt = await startRuntime();
    });
    after(async () => rt && rt.stop());

    it("is listed as a plugin of the package and serves the engine the build bundled", async () => {
      const plugins = await api(rt, "GET", "/plugins");
      assert.ok(plugins.some((p) => p.module === "@privacy-toolkit/node-red-privacy" && p.plugins.some((x) => x.id === "privacy-audit")), JSON.stringify(plugins));
      const r = await get(rt, "privacy-audit/engine.js");
      assert.equal(r.status, 200);
      assert.match(r.type, /javascript/);
      const sandbox = {};
      sandbox.self = sandbox;
      vm.runInNewContext(r.text, sandbox);
      assert.equal(typeof sandbox.PrivacyAuditEngine.audit, "function");
    });

    it("reports the instance's posture and judges the deployed passphrase, never sending it", async () => {
      await deploy(rt, [
        { id: "t", type: "tab", label: "t" },
        { id: "kr", type: "privacy-keyring", name: "pass", activeKid: "k1", source: "passphrase", envVar: "", salt: SALT, credentials: { passphrase: PASSPHRASE } },
        { id: "kr2", type: "privacy-keyring", name: "no pass", activeKid: "k1", source: "passphrase", envVar: "", salt: SALT },
      ]);
      const r = await get(rt, "privacy-audit/facts");
      assert.equal(r.status, 200);
      const facts = JSON.parse(r.text);
      assert.deepEqual(facts.keyrings, { kr: { passphrase: "short" }, kr2: { passphrase: "missing" } });
      // The test runtime: no adminAuth, a generated credential key, bound to 127.0.0.1 over http.
      assert.deepEqual(facts.instance, {
        adminAuth: false, credentialSecret: "generated", httpNodeAuth: false,
        editor: { enabled: true, host: "127.0.0.1", https: false },
      });
      assert.ok(!r.text.includes(PASSPHRASE) && !r.text.includes(String(PASSPHRASE.length)));
    });
  });

  describe("with adminAuth", () => {
    let rt;
    const hash = require("bcryptjs").hashSync("secret-pass", 8);
    before(async () => {
      rt = await startRuntime({
        settings: {
          adminAuth: {
            type: "credentials",
            users: [
              { username: "admin", password: hash, permissions: "*" },
              { username: "viewer", password: hash, permissions: "read" },
              { username: "flowsonly", password: hash, permissions: ["flows.read"] },
            ],
          },
        },
      });
    });
    after(async () => rt && rt.stop());

    const SCOPE = { admin: "*", viewer: "read", flowsonly: "flows.read" };
    async function token(username) {
      const res = await fetch(new URL("auth/token", rt.url), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ client_id: "node-red-admin", grant_type: "password", scope: SCOPE[username], username, password: "secret-pass" }),
      });
      assert.equal(res.status, 200);
      return (await res.json()).access_token;
    }

    it("refuses anonymous requests and users without privacy-audit.read; read-only users may look", async () => {
      for (const route of ["privacy-audit/engine.js", "privacy-audit/facts"]) {
        assert.equal((await get(rt, route)).status, 401, `${route} anonymous`);
        assert.equal((await get(rt, route, { Authorization: `Bearer ${await token("flowsonly")}` })).status, 401, `${route} flows.read only`);
        assert.equal((await get(rt, route, { Authorization: `Bearer ${await token("viewer")}` })).status, 200, `${route} read`);
      }
      const facts = JSON.parse((await get(rt, "privacy-audit/facts", { Authorization: `Bearer ${await token("admin")}` })).text);
      assert.equal(facts.instance.adminAuth, true);
    });
  });
});
