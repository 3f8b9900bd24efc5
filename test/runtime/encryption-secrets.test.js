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
  });
});
