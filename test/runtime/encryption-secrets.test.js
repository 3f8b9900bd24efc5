"use strict";
/**
 * Keys and passphrases live only in Node-RED's encrypted credentials file: never in
 * flows.json, the flows API, the keyring's admin endpoint, the debug sidebar or the log.
 */
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime, deploy, inject, waitFor, readJsonLines, fileSink, api, tempDir } = require("../helpers/runtime");

// The runtime helper reports ready only once the flows and their credentials are loaded.
const ENV = {};

describe("encryption secrets in a real runtime", function () {
  this.timeout(60000);
  let rt;
  after(async () => rt && rt.stop());

  it("keys and the legacy passphrase appear nowhere but in the credentials; the admin endpoint lists kids only", async () => {
    const dir = tempDir();
    const key = crypto.randomBytes(32).toString("base64url");
    const oldKey = crypto.randomBytes(32).toString("base64url");
    const legacy = "legacy passphrase 12345";
    rt = await startRuntime({ userDir: path.join(dir, "user"), logLevel: "info", env: ENV });
    const sink = fileSink("sink", "t1", dir);
    const flows = [
      { id: "t1", type: "tab", label: "t" },
      { id: "kr", type: "privacy-keyring", activeKid: "new", credentials: { keys: JSON.stringify({ new: key, old: oldKey }) } },
      { id: "in", type: "inject", z: "t1", props: [{ p: "payload" }], payload: '{"owner":"alice"}', payloadType: "json", wires: [["enc"]] },
      { id: "enc", type: "privacy-encrypt", z: "t1", keyring: "kr", property: "payload", fields: [], wires: [["dbg", "dec"]] },
      { id: "dec", type: "privacy-decrypt", z: "t1", keyring: "kr", property: "payload", fields: [], credentials: { legacyPassphrase: legacy }, wires: [[sink.input, "dbg"]] },
      { id: "dbg", type: "debug", z: "t1", active: true, tosidebar: true, console: true, complete: "true", targetType: "full", wires: [] },
      ...sink.nodes,
    ];
    await deploy(rt, flows);
    await inject(rt, "in");
    const [out] = await waitFor(() => readJsonLines(sink.file).length === 1 && readJsonLines(sink.file), { what: "decrypted output" });
    assert.deepEqual(out.payload, { owner: "alice" });

    // GCM uses are counted per kid, and the count survives a full redeploy (node context).
    assert.deepEqual((await api(rt, "GET", "/privacy-keyring/kr/kids")).uses, { new: 1 });
    await deploy(rt, JSON.parse(JSON.stringify(flows)));
    const after = await waitFor(async () => {
      const r = await api(rt, "GET", "/privacy-keyring/kr/kids").catch(() => null);
      return r && r.deployed !== false && r; // not deployed again yet: { deployed: false }
    }, { what: "redeploy" });
    assert.deepEqual(after.uses, { new: 1 });

    const flowsFile = fs.readFileSync(path.join(rt.userDir, "flows.json"), "utf8");
    const flowsApi = JSON.stringify(await api(rt, "GET", "/flows"));
    const kids = await api(rt, "GET", "/privacy-keyring/kr/kids");
    assert.deepEqual(kids.kids, ["new", "old"]);
    assert.equal(kids.activeKid, "new");
    const creds = JSON.stringify(await api(rt, "GET", "/credentials/privacy-keyring/kr"));
    assert.match(creds, /has_keys/);
    // The debug node logs to the console too: the log is really captured (it shows the decrypted value).
    await waitFor(() => rt.output().includes("alice"), { what: "debug output in the log" });
    for (const [where, text] of [["flows.json", flowsFile], ["GET /flows", flowsApi], ["kids endpoint", JSON.stringify(kids)], ["credentials API", creds], ["log and debug console", rt.output()]]) {
      for (const secret of [key, oldKey, legacy]) assert.ok(!text.includes(secret), `a secret leaked into ${where}`);
    }
    // The credentials file exists and is encrypted (no key in clear text either).
    const credFile = fs.readFileSync(path.join(rt.userDir, "flows_cred.json"), "utf8");
    for (const secret of [key, oldKey, legacy]) assert.ok(!credFile.includes(secret));
    const usesFile = fs.readFileSync(path.join(rt.userDir, ".privacy-keyring-uses.json"), "utf8");
    for (const secret of [key, oldKey]) assert.ok(!usesFile.includes(secret), "the use count file holds no key");
  });

  it("GCM use counts survive a restart exactly, and a crash at most GCM_SAVE_AHEAD high, never low", async () => {
    const { GCM_SAVE_AHEAD } = require("../../dist/encryption/keyring.js");
    const dir = tempDir();
    const userDir = path.join(dir, "user");
    const key = crypto.randomBytes(32).toString("base64url");
    const flows = [
      { id: "t1", type: "tab", label: "t" },
      { id: "kr", type: "privacy-keyring", activeKid: "k", credentials: { keys: JSON.stringify({ k: key }) } },
      { id: "in", type: "inject", z: "t1", props: [{ p: "payload" }], payload: "reading", payloadType: "str", wires: [["enc"]] },
      { id: "enc", type: "privacy-encrypt", z: "t1", keyring: "kr", property: "payload", fields: [], wires: [[]] },
    ];
    if (rt) await rt.stop();
    const uses = async (want) => {
      const r = await waitFor(async () => {
        const k = await api(rt, "GET", "/privacy-keyring/kr/kids").catch(() => null);
        return k && k.deployed !== false && (k.uses.k ?? 0) >= want && k;
      }, { what: `${want} uses of key k` });
      return r.uses.k;
    };
    rt = await startRuntime({ userDir, env: ENV });
    await deploy(rt, flows);
    await inject(rt, "in");
    await inject(rt, "in");
    assert.equal(await uses(2), 2);
    await rt.stop(); // clean: exact counts saved
    rt = await startRuntime({ userDir, env: ENV });
    assert.equal(await uses(2), 2);
    await inject(rt, "in");
    assert.equal(await uses(3), 3);
    await rt.kill(); // crash: only what was saved ahead of use is on disk
    rt = await startRuntime({ userDir, env: ENV });
    assert.equal(await uses(3), 3 + GCM_SAVE_AHEAD);
    await rt.stop();
    rt = undefined;
  });
});
