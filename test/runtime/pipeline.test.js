"use strict";
/**
 * The full smart home pipeline example (the flow `npm start` preloads) in a real
 * Node-RED: every step its comment promises, checked against independent oracles
 * (jose opens what was written; pseudonyms are recomputed with node:crypto).
 */
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime, deploy, inject, waitFor, readJsonLines, swapDebug, tempDir } = require("../helpers/runtime");
const { startRegistry } = require("../helpers/update-servers");

const EXAMPLE = path.join(__dirname, "..", "..", "examples", "smart-home-privacy-pipeline.json");
const KEY = crypto.randomBytes(32);

function pseudonym(value, prefix) {
  const subkey = Buffer.from(crypto.hkdfSync("sha256", KEY, Buffer.alloc(0), "privacy-pseudonymize", 32));
  return prefix + crypto.createHmac("sha256", subkey).update(String(value), "utf8").digest("hex").slice(0, 16);
}

describe("smart home privacy pipeline example in a real runtime", function () {
  this.timeout(120000);
  let rt;
  let reg;
  after(async () => {
    if (rt) await rt.stop();
    if (reg) await reg.close();
  });

  it("blocks without consent, sends minimized, anonymized, encrypted readings after a grant, blocks again after a withdrawal, and checks updates", async () => {
    const dir = tempDir("pipeline-");
    const flow = JSON.parse(fs.readFileSync(EXAMPLE, "utf8"));
    assert.ok(flow.find((n) => n.type === "comment"), "the example explains itself");
    const outFile = path.join(dir, "out", "pipeline.jsonl");
    flow.find((n) => n.type === "tab").env = [{ name: "PRIVACY_PIPELINE_FILE", value: outFile, type: "str" }];
    const sinks = {};
    for (const id of ["pipe-blocked", "pipe-receipts", "pipe-leaves", "pipe-home", "pipe-update-report"]) sinks[id] = swapDebug(flow, id, dir);
    const nodeRedVersion = require("node-red/package.json").version;
    reg = await startRegistry({ packages: { "node-red": { latest: nodeRedVersion } } });
    rt = await startRuntime({ userDir: path.join(dir, "user"), env: { PRIVACY_DEMO_KEYS: JSON.stringify({ "demo-1": KEY.toString("base64url") }), npm_config_registry: reg.url } });
    await deploy(rt, flow);
    const lines = (id) => readJsonLines(sinks[id]);
    const waitLines = (id, n) => waitFor(() => lines(id).length >= n && lines(id), { what: `${n} message(s) at ${id}` });

    // 1. no consent yet
    await inject(rt, "pipe-thermostat");
    const [blocked] = await waitLines("pipe-blocked", 1);
    assert.deepEqual(blocked.privacy.blocked, { reason: "no-consent", subject: "alice", purpose: "cloud-analytics" });

    // 2. alice agrees
    await inject(rt, "pipe-alice-yes");
    const [receipt] = await waitLines("pipe-receipts", 1);
    const r = Array.isArray(receipt.payload) ? receipt.payload[0] : receipt.payload;
    assert.equal(r.subject, "alice");
    assert.equal(r.purpose, "cloud-analytics");
    assert.equal(String(r.policyVersion), "1");
    assert.ok(r.receiptId);

    // 3. readings: alice's pass, bob's is blocked
    await inject(rt, "pipe-thermostat");
    await waitLines("pipe-home", 1);
    await inject(rt, "pipe-doorbell");
    await waitLines("pipe-home", 2);
    await inject(rt, "pipe-tracker");
    const blockedNow = await waitLines("pipe-blocked", 2);
    assert.equal(blockedNow[1].privacy.blocked.subject, "bob");
    assert.equal(blockedNow[1].privacy.blocked.reason, "no-consent");

    const written = await waitFor(() => fs.existsSync(outFile) && fs.readFileSync(outFile, "utf8").trim().split("\n"), { what: "the output file" });
    assert.equal(written.length, 2);
    const { compactDecrypt } = await import("jose");
    const opened = [];
    for (const line of written) {
      assert.match(line, /^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/, "only JWE compact strings are written");
      const { plaintext, protectedHeader } = await compactDecrypt(line, new Uint8Array(KEY));
      assert.equal(protectedHeader.alg, "dir");
      assert.equal(protectedHeader.enc, "A256GCM");
      assert.equal(protectedHeader.kid, "demo-1");
      opened.push(JSON.parse(Buffer.from(plaintext).toString("utf8")));
    }
    const [thermostat, doorbell] = opened;
    assert.deepEqual(thermostat, { device: "thermostat-livingroom", temperature: 21.5, humidity: 40, owner: pseudonym("alice@example.com", "person_"), location: { lat: 48.14, lon: 11.58 } });
    assert.equal(doorbell.device, "doorbell-front");
    assert.equal(doorbell.time, "2026-11-25T18:00:00.000Z");
    assert.doesNotMatch(doorbell.note, /alice@example\.com|1234567|192\.168\.1\.23/, "no PII left in the note");
    assert.match(doorbell.note, /<EMAIL>/);
    assert.match(doorbell.note, /<PHONE>/);
    assert.match(doorbell.note, /192\.168\.1\.0/);

    const home = lines("pipe-home");
    assert.deepEqual(home[0].payload, thermostat, "decrypt at home restores what was written");
    assert.deepEqual(home[0].privacy.trail.map((e) => e.type), ["privacy-consent-gate", "privacy-minimize", "privacy-anonymize", "privacy-encrypt", "privacy-decrypt"]);
    const leaves = lines("pipe-leaves");
    assert.equal(leaves.length, 2);
    assert.equal(leaves[0].payload, written[0], "what leaves is what was written");

    // 4. bob agrees, his tracker passes; alice withdraws, hers is blocked
    await inject(rt, "pipe-bob-yes");
    await waitLines("pipe-receipts", 2);
    await inject(rt, "pipe-tracker");
    const home3 = await waitLines("pipe-home", 3);
    assert.deepEqual(home3[2].payload, { device: "tracker-bike", mac: pseudonym("a4:5e:60:d1:22:9f", "dev_"), owner: pseudonym("bob@example.com", "person_"), fix: { lat: 48.14, lon: 11.56 }, speed: 15, battery: "ok" });
    await inject(rt, "pipe-alice-no");
    await waitLines("pipe-receipts", 3);
    await inject(rt, "pipe-thermostat");
    const blocked3 = await waitLines("pipe-blocked", 3);
    assert.equal(blocked3[2].privacy.blocked.reason, "withdrawn");
    assert.equal(lines("pipe-home").length, 3, "nothing more passed");

    // 5. the update check reports this Node-RED against the (local) registry
    await inject(rt, "pipe-update-now");
    const [report] = await waitLines("pipe-update-report", 1);
    assert.equal(report.payload.nodeRed.installed, nodeRedVersion);
    assert.equal(report.payload.nodeRed.status, "up-to-date");
    assert.ok(Array.isArray(report.payload.modules));
    assert.ok(report.payload.summary);
  });
});
