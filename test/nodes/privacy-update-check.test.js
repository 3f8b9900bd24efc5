"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const helper = require("node-red-node-test-helper");
const updateNode = require("../../dist/nodes/privacy-update-check.js");
const { startRegistry, startManifestServer, makeSigner } = require("../helpers/update-servers");

helper.init(require.resolve("node-red"));

const ADVISORY = { id: 42, url: "https://github.com/advisories/GHSA-aaaa-bbbb-cccc", title: "RCE in example-lib", severity: "critical", vulnerable_versions: "<1.4.2", cwe: ["CWE-94"], cvss: { score: 9.8, vectorString: "" } };

/** A user dir with a package.json and installed modules, like ~/.node-red. */
function makeUserDir(modules) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uc-node-"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "node-red-project", dependencies: Object.fromEntries(Object.keys(modules).map((m) => [m, "*"])) }));
  for (const [name, version] of Object.entries(modules)) {
    const p = path.join(dir, "node_modules", ...name.split("/"));
    fs.mkdirSync(p, { recursive: true });
    fs.writeFileSync(path.join(p, "package.json"), JSON.stringify({ name, version }));
  }
  return dir;
}

/** Collects what reaches a helper node, and the statuses a node shows. */
function collect(n) {
  const got = [];
  n.on("input", (msg) => got.push(msg));
  return got;
}

function statuses(n) {
  const seen = [];
  const orig = n.status.bind(n);
  n.status = (s) => {
    seen.push(s);
    return orig(s);
  };
  return seen;
}

async function until(fn, what) {
  const end = Date.now() + 8000;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function flow(cfg) {
  return [
    { id: "t1", type: "tab" },
    { id: "uc", type: "privacy-update-check", z: "t1", interval: 0, timeout: 0.5, wires: [["out"]], ...cfg },
    { id: "out", type: "helper", z: "t1" },
    { id: "c", type: "catch", z: "t1", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "t1" },
  ];
}

describe("privacy-update-check node", function () {
  this.timeout(15000);
  let reg;
  let userDir;
  beforeEach(async () => {
    reg = await startRegistry({
      packages: {
        "node-red": { latest: "4.1.15" },
        "node-red-dashboard": { latest: "3.6.5", versions: ["3.6.0", "3.6.5"] },
        "example-lib": { latest: "1.4.2", versions: ["1.4.0", "1.4.2"] },
      },
      advisories: { "example-lib": [ADVISORY] },
    });
    userDir = makeUserDir({ "node-red-dashboard": "3.6.0", "example-lib": "1.4.0" });
    helper.settings({ userDir });
    await new Promise((r) => helper.startServer(r));
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    await reg.close();
  });

  describe("(a) this Node-RED", () => {
    it("reports the running Node-RED and the user dir's modules, with advisories", async () => {
      await helper.load(updateNode, flow({ check: "node-red", registry: reg.url }));
      const uc = helper.getNode("uc");
      const seen = statuses(uc);
      const out = collect(helper.getNode("out"));
      uc.receive({ payload: "go", topic: "t" });
      const [msg] = await until(() => out.length === 1 && out, "a report");
      const p = msg.payload;
      assert.equal(p.kind, "node-red");
      assert.equal(p.ok, true);
      assert.equal(p.stale, false);
      assert.ok(Date.parse(p.checkedAt) > Date.now() - 10000);
      assert.equal(p.nodeRed.name, "node-red");
      assert.equal(p.nodeRed.installed, require("node-red/package.json").version);
      assert.deepEqual(p.modules.map((m) => [m.name, m.installed, m.latest, m.status]), [
        ["example-lib", "1.4.0", "1.4.2", "vulnerable"],
        ["node-red-dashboard", "3.6.0", "3.6.5", "update-available"],
      ]);
      assert.deepEqual(p.modules[0].advisories, [{ id: 42, severity: "critical", title: ADVISORY.title, url: ADVISORY.url, vulnerableVersions: "<1.4.2" }]);
      assert.equal(p.summary.vulnerable, 1);
      assert.equal(msg.topic, "t");
      assert.deepEqual(msg.privacy.trail, [{ type: "privacy-update-check", id: "uc", kind: "node-red", ok: true, stale: false, failures: 0, checked: 3 }]);
      const last = seen[seen.length - 1];
      assert.equal(last.fill, "red");
      assert.match(last.text, /1 vulnerable, 2 updates/);
    });

    it("says advisories unavailable (yellow), never 'no vulnerabilities', when the endpoint answers 405", async () => {
      reg.state.mode.advisories = 405;
      await helper.load(updateNode, flow({ check: "node-red", registry: reg.url }));
      const uc = helper.getNode("uc");
      const seen = statuses(uc);
      const out = collect(helper.getNode("out"));
      uc.receive({ payload: 1 });
      const [msg] = await until(() => out.length === 1 && out, "a report");
      assert.equal(msg.payload.ok, false);
      assert.equal(msg.payload.summary.advisories, "unavailable");
      assert.equal(msg.payload.summary.vulnerable, null);
      assert.equal(msg.payload.modules.find((m) => m.name === "example-lib").status, "update-available");
      assert.match(msg.payload.failures[0].message, /advisories unavailable: HTTP 405/);
      assert.deepEqual(seen[seen.length - 1], { fill: "yellow", shape: "ring", text: "2 updates, advisories unavailable" });
    });

    it("keeps the last good result when the registry goes offline, and says so", async () => {
      await helper.load(updateNode, flow({ check: "node-red", registry: reg.url }));
      const uc = helper.getNode("uc");
      const seen = statuses(uc);
      const out = collect(helper.getNode("out"));
      uc.receive({ payload: 1 });
      await until(() => out.length === 1, "first report");
      reg.state.mode.metadata = "slow";
      reg.state.mode.advisories = "slow";
      uc.receive({ payload: 2 });
      await until(() => out.length === 2, "second report");
      const [good, offline] = out.map((m) => m.payload);
      assert.equal(offline.ok, false);
      assert.equal(offline.stale, true);
      assert.equal(offline.lastOkAt, good.checkedAt);
      assert.deepEqual(offline.modules, good.modules);
      assert.ok(offline.failures.length >= 4 && offline.failures.every((f) => f.reason === "timeout"));
      assert.deepEqual(seen[seen.length - 1], { fill: "yellow", shape: "ring", text: "offline, last ok just now" });
    });

    it("reports 'registry not configured' and asks no host when nothing is configured", async () => {
      const saved = { ...process.env };
      for (const k of Object.keys(process.env)) if (/^npm_config_registry$/i.test(k)) delete process.env[k];
      process.env.HOME = fs.mkdtempSync(path.join(os.tmpdir(), "uc-home-"));
      try {
        await helper.load(updateNode, flow({ check: "node-red", registry: "" }));
        const uc = helper.getNode("uc");
        const seen = statuses(uc);
        const out = collect(helper.getNode("out"));
        uc.receive({ payload: 1 });
        const [msg] = await until(() => out.length === 1 && out, "a report");
        assert.deepEqual(msg.payload.failures, [{ what: "registry", reason: "not-configured", message: "registry not configured" }]);
        assert.equal(msg.payload.lastOkAt, null, "nothing answered, so nothing was ever ok");
        assert.ok([msg.payload.nodeRed, ...msg.payload.modules].every((m) => m.status === "unknown"));
        assert.equal(msg.payload.summary.vulnerable, null);
        assert.deepEqual(seen[seen.length - 1], { fill: "yellow", shape: "ring", text: "registry not configured" });
        assert.equal(reg.state.requests.length, 0);
      } finally {
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
        Object.assign(process.env, saved);
      }
    });

    it("uses the registry from .npmrc in the user dir", async () => {
      fs.writeFileSync(path.join(userDir, ".npmrc"), `registry=${reg.url}\n`);
      const saved = process.env.npm_config_registry;
      delete process.env.npm_config_registry;
      try {
        await helper.load(updateNode, flow({ check: "node-red", registry: "" }));
        const out = collect(helper.getNode("out"));
        helper.getNode("uc").receive({ payload: 1 });
        const [msg] = await until(() => out.length === 1 && out, "a report");
        assert.equal(msg.payload.ok, true);
        assert.ok(reg.state.requests.length >= 3);
      } finally {
        if (saved !== undefined) process.env.npm_config_registry = saved;
      }
    });

    it("runs on its interval without an input message, and reports when nothing changed", async () => {
      await helper.load(updateNode, flow({ check: "node-red", registry: reg.url, interval: 0.0002 }));
      const out = collect(helper.getNode("out"));
      await until(() => out.length >= 2, "two scheduled reports");
      assert.equal(out[0].topic, "privacy-update-check");
      assert.deepEqual(out[1].payload.modules, out[0].payload.modules);
      assert.equal(out[1].privacy.trail.length, 1);
    });

    it("closes cleanly while a request hangs: no output, no unhandled rejection", async () => {
      const rejections = [];
      const onRej = (e) => rejections.push(e);
      process.on("unhandledRejection", onRej);
      try {
        reg.state.mode.metadata = "hang-body";
        reg.state.mode.advisories = "slow";
        await helper.load(updateNode, flow({ check: "node-red", registry: reg.url, timeout: 30 }));
        const out = collect(helper.getNode("out"));
        helper.getNode("uc").receive({ payload: 1 });
        await until(() => reg.state.requests.length >= 2, "requests to start");
        const t0 = Date.now();
        await helper.unload();
        assert.ok(Date.now() - t0 < 5000, "close did not wait for the 30 s timeout");
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(out.length, 0);
        assert.deepEqual(rejections, []);
      } finally {
        process.off("unhandledRejection", onRej);
      }
    });
  });

  describe("(b) devices", () => {
    let ms;
    const signer = makeSigner();
    const inventory = [
      { deviceId: "kitchen", model: "TH-100", version: "2.4.1" },
      { deviceId: "hall", model: "TH-100", version: "2.3.1" },
      { deviceId: "garage", model: "TH-100", version: "2.0.0" },
      { deviceId: "door", model: "CAM-7", version: "1.9.0" },
      { deviceId: "toy", model: "ROBO-1", version: "1.0" },
    ];
    beforeEach(async () => {
      ms = await startManifestServer();
    });
    afterEach(() => ms.close());

    const devFlow = (extra = {}) => flow({ check: "devices", manifestType: "url", manifest: ms.manifestUrl, publicKeys: signer.publicKey, ...extra });

    async function check(uc, out, payload = inventory) {
      const n = out.length;
      uc.receive({ payload });
      await until(() => out.length === n + 1, "a device report");
      return out[n].payload;
    }

    it("gives each device its status from a signed manifest", async () => {
      ms.state.body = signer.sign({ version: 3 });
      await helper.load(updateNode, devFlow());
      const uc = helper.getNode("uc");
      const seen = statuses(uc);
      const out = collect(helper.getNode("out"));
      const p = await check(uc, out);
      assert.equal(p.ok, true);
      assert.deepEqual(p.manifest, { name: "acme-sensors", version: 3, expires: ms.state.body.signed.expires, keyid: signer.keyid });
      assert.deepEqual(p.devices.map((d) => [d.deviceId, d.status]), [
        ["kitchen", "up-to-date"],
        ["hall", "update-available"],
        ["garage", "security-update-required"],
        ["door", "end-of-support"],
        ["toy", "unknown-model"],
      ]);
      assert.deepEqual(seen[seen.length - 1], { fill: "red", shape: "dot", text: "1 insecure, 1 end of support, 1 update, 1 unknown" });
      const state = JSON.parse(fs.readFileSync(path.join(userDir, "privacy-update-check", "uc.json"), "utf8"));
      assert.equal(state.version, 3);
    });

    const attacks = [
      ["tampered", (b) => ((b.signed.models["TH-100"].minimumSecure = "1.0.0"), b), "bad-signature"],
      ["expired (freeze)", () => signer.sign({ version: 9, expiresInDays: -1 }), "expired"],
      ["signed with another key", () => makeSigner().sign({ version: 9 }), "untrusted-key"],
      ["rolled back", () => signer.sign({ version: 2 }), "rollback"],
      ["not a manifest", () => ({ hello: "world" }), "malformed"],
    ];
    for (const [name, make, reason] of attacks) {
      it(`refuses a manifest that is ${name}, keeps the last good result and says why`, async () => {
        ms.state.body = signer.sign({ version: 3 });
        await helper.load(updateNode, devFlow());
        const uc = helper.getNode("uc");
        const seen = statuses(uc);
        const out = collect(helper.getNode("out"));
        const good = await check(uc, out);
        ms.state.body = make(signer.sign({ version: 4 }));
        const bad = await check(uc, out);
        assert.equal(bad.ok, false);
        assert.equal(bad.stale, true);
        assert.deepEqual(bad.devices, good.devices);
        assert.deepEqual(bad.manifest, good.manifest);
        assert.equal(bad.failures[0].what, "manifest");
        assert.equal(bad.failures[0].reason, reason);
        assert.deepEqual(seen[seen.length - 1], { fill: "red", shape: "ring", text: `manifest rejected: ${reason}` });
        const state = JSON.parse(fs.readFileSync(path.join(userDir, "privacy-update-check", "uc.json"), "utf8"));
        assert.equal(state.version, 3, "the counter did not move");
      });
    }

    for (const [mode, text] of [[500, "HTTP 500, last ok just now"], ["slow", "offline, last ok just now"], ["reset", "offline, last ok just now"], ["garbage", "manifest rejected: bad answer"], ["huge", "manifest rejected: answer too large"]]) {
      it(`reports a manifest server answering ${mode} without crashing`, async () => {
        ms.state.body = signer.sign({ version: 3 });
        ms.state.hugeBytes = 2 * 1024 * 1024;
        await helper.load(updateNode, devFlow({ maxSize: 64 }));
        const uc = helper.getNode("uc");
        const seen = statuses(uc);
        const out = collect(helper.getNode("out"));
        await check(uc, out);
        ms.state.mode = mode;
        const bad = await check(uc, out);
        assert.equal(bad.ok, false);
        assert.equal(bad.stale, true);
        assert.equal(bad.devices.length, 5);
        assert.deepEqual(seen[seen.length - 1].text, text);
      });
    }

    it("with no good result yet, reports the failure with no device statuses", async () => {
      ms.state.body = signer.sign({ version: 1, expiresInDays: -1 });
      await helper.load(updateNode, devFlow());
      const uc = helper.getNode("uc");
      const out = collect(helper.getNode("out"));
      const p = await check(uc, out);
      assert.equal(p.ok, false);
      assert.equal(p.lastOkAt, null);
      assert.equal(p.devices, undefined);
      assert.equal(p.failures[0].reason, "expired");
    });

    it("reads the manifest from a file in the user dir", async () => {
      fs.writeFileSync(path.join(userDir, "fw.json"), JSON.stringify(signer.sign({ version: 1 })));
      await helper.load(updateNode, devFlow({ manifestType: "file", manifest: "fw.json" }));
      const out = collect(helper.getNode("out"));
      const p = await check(helper.getNode("uc"), out);
      assert.equal(p.ok, true);
      assert.equal(p.devices.length, 5);
    });

    it("fails closed (done(err), nothing sent) on an invalid inventory", async () => {
      ms.state.body = signer.sign({ version: 1 });
      await helper.load(updateNode, devFlow());
      const out = collect(helper.getNode("out"));
      const caught = collect(helper.getNode("caught"));
      helper.getNode("uc").receive({ payload: [{ deviceId: "a", model: "TH-100" }] });
      const [c] = await until(() => caught.length === 1 && caught, "a caught error");
      assert.match(c.error.message, /msg\.payload\[0\]\.version/);
      assert.equal(out.length, 0);
      assert.equal(ms.state.requests, 0);
    });

    it("answers hostile messages with a whole report or done(err), never a crash or pollution (property)", async () => {
      ms.state.body = signer.sign({ version: 1 });
      await helper.load(updateNode, devFlow());
      const uc = helper.getNode("uc");
      const out = collect(helper.getNode("out"));
      const caught = collect(helper.getNode("caught"));
      const fc = require("fast-check");
      const payloads = fc.sample(
        fc.oneof(
          fc.anything({ maxDepth: 3, withNullPrototype: true }),
          fc.array(fc.record({ deviceId: fc.oneof(fc.string(), fc.integer()), model: fc.constantFrom("TH-100", "__proto__", "constructor", "CAM-7"), version: fc.oneof(fc.string(), fc.constantFrom("1.0", "2.4.1", "v3")) }), { maxLength: 5 }),
        ),
        { numRuns: 60, seed: 42 },
      );
      for (const [i, payload] of payloads.entries()) {
        const before = out.length + caught.length;
        uc.receive({ payload, _i: i });
        await until(() => out.length + caught.length === before + 1, `an answer to message ${i}`);
      }
      for (const m of out) {
        assert.equal(m.payload.ok, true);
        assert.ok(Array.isArray(m.payload.devices));
        assert.equal(m.privacy.trail.length, 1);
      }
      for (const c of caught) assert.match(c.error.message, /^InventoryError: msg\.payload/);
      assert.ok(out.length > 0 && caught.length > 0, "both paths were exercised");
      assert.equal({}.polluted, undefined);
      assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "latest"), false);
    });

    it("fails closed on bad config: red status naming the field", async () => {
      await helper.load(updateNode, devFlow({ publicKeys: "not-a-key" }));
      const uc = helper.getNode("uc");
      const caught = collect(helper.getNode("caught"));
      const out = collect(helper.getNode("out"));
      uc.receive({ payload: inventory });
      const [c] = await until(() => caught.length === 1 && caught, "a caught error");
      assert.match(c.error.message, /invalid config: "publicKeys"/);
      assert.equal(out.length, 0);
    });

    it("refuses to run when the stored counter is corrupt rather than take it as 0", async () => {
      fs.mkdirSync(path.join(userDir, "privacy-update-check"), { recursive: true });
      fs.writeFileSync(path.join(userDir, "privacy-update-check", "uc.json"), "{ torn");
      ms.state.body = signer.sign({ version: 1 });
      await helper.load(updateNode, devFlow());
      const uc = helper.getNode("uc");
      const out = collect(helper.getNode("out"));
      const p = await check(uc, out);
      assert.equal(p.ok, false);
      assert.deepEqual([p.failures[0].what, p.failures[0].reason], ["state", "unreadable"]);
      assert.equal(p.devices, undefined);
    });
  });
});
