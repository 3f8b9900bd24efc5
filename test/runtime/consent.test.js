"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime, inject, waitFor, readJsonLines, fileSink, tempDir } = require("../helpers/runtime");
const { ConsentStore } = require("../../dist/consent/consent-store");

const PURPOSES = [{ id: "cloud-upload", description: "readings go to the cloud", policyVersion: "1" }];

function consentInject(id, consent, wire) {
  return { id, type: "inject", z: "t", props: [{ p: "consent", v: JSON.stringify(consent), vt: "json" }], repeat: "", once: false, wires: [[wire]] };
}

describe("consent in a real Node-RED runtime", function () {
  this.timeout(90000);
  let rt;
  afterEach(async () => {
    if (rt) await rt.kill();
    rt = undefined;
  });

  it("keeps consent across a restart of the runtime", async () => {
    const dir = tempDir();
    const userDir = path.join(dir, "user");
    const acks = fileSink("acks", "t", dir);
    const passed = fileSink("passed", "t", dir);
    const blocked = fileSink("blocked", "t", dir);
    const flows = [
      { id: "t", type: "tab", label: "consent" },
      { id: "store", type: "privacy-consent-store", name: "household", backend: "file", file: "", purposes: PURPOSES },
      consentInject("grant", { action: "grant", subject: "alice", purpose: "cloud-upload", method: "panel" }, "mgr"),
      { id: "mgr", type: "privacy-consent", z: "t", store: "store", wires: [[acks.input]] },
      { id: "reading", type: "inject", z: "t", props: [{ p: "payload", v: "21.5", vt: "num" }, { p: "topic", v: "alice", vt: "str" }], wires: [["gate"]] },
      { id: "gate", type: "privacy-consent-gate", z: "t", store: "store", purpose: "cloud-upload", subjectProperty: "topic", onBlocked: "output", wires: [[passed.input], [blocked.input]] },
      ...acks.nodes,
      ...passed.nodes,
      ...blocked.nodes,
    ];
    rt = await startRuntime({ userDir, flows });
    await inject(rt, "reading");
    const b = await waitFor(() => readJsonLines(blocked.file)[0], { what: "a blocked reading" });
    assert.equal(b.privacy.blocked.reason, "no-consent");
    await inject(rt, "grant");
    const ack = await waitFor(() => readJsonLines(acks.file)[0], { what: "the receipt" });
    assert.equal(ack.payload.status, "granted");
    assert.equal(ack.payload.method, "panel");
    await inject(rt, "reading");
    await waitFor(() => readJsonLines(passed.file).length === 1, { what: "a passed reading" });
    await rt.stop();
    const journal = path.join(userDir, "privacy-consent", "store.jsonl");
    const lines = fs.readFileSync(journal, "utf8").trim().split("\n");
    assert.deepEqual(JSON.parse(lines[0]), { format: "node-red-privacy/consent-journal", version: 2 }, "the journal is in the user directory, header first");
    assert.equal(lines.length, 2);
    assert.equal(fs.existsSync(`${journal}.lock`), false, "a graceful stop releases the lock");

    rt = await startRuntime({ userDir });
    await inject(rt, "reading");
    const p = await waitFor(() => readJsonLines(passed.file)[1], { what: "a reading passed after the restart" });
    assert.equal(p.privacy.trail[0].allowed, true);
    assert.equal(readJsonLines(blocked.file).length, 1);
  });

  it("a store pointed at the runtime's own flows.json refuses it and leaves it byte for byte; Node-RED keeps running", async () => {
    const dir = tempDir();
    const userDir = path.join(dir, "user");
    const blocked = fileSink("blocked", "t", dir);
    const flows = [
      { id: "t", type: "tab", label: "consent" },
      // retainDays: the release before this one compacted such a file to 0 bytes at start.
      { id: "store", type: "privacy-consent-store", backend: "file", file: "flows.json", retainDays: 1, purposes: PURPOSES },
      { id: "reading", type: "inject", z: "t", props: [{ p: "topic", v: "alice", vt: "str" }], wires: [["gate"]] },
      { id: "gate", type: "privacy-consent-gate", z: "t", store: "store", purpose: "cloud-upload", wires: [[], [blocked.input]] },
      ...blocked.nodes,
    ];
    rt = await startRuntime({ userDir, flows });
    const flowsFile = path.join(userDir, "flows.json");
    const before = fs.readFileSync(flowsFile);
    await inject(rt, "reading");
    const b = await waitFor(() => readJsonLines(blocked.file)[0], { what: "a blocked reading" });
    assert.equal(b.privacy.blocked.reason, "store-unavailable");
    assert.match(rt.output(), /flows\.json is not a consent journal/);
    await rt.stop();
    assert.deepEqual(fs.readFileSync(flowsFile), before);
    assert.equal(fs.existsSync(`${flowsFile}.lock`), false);
    rt = undefined;
  });

  it("after kill -9 while grants are being written, every acknowledged grant is there", async () => {
    const dir = tempDir();
    const userDir = path.join(dir, "user");
    const listed = fileSink("listed", "t", dir);
    const flows = [
      { id: "t", type: "tab", label: "consent" },
      { id: "store", type: "privacy-consent-store", backend: "file", file: "consent/journal.jsonl", purposes: PURPOSES },
      { id: "go", type: "inject", z: "t", props: [{ p: "payload" }], payload: "", payloadType: "date", wires: [["loop"]] },
      {
        id: "loop",
        type: "function",
        z: "t",
        outputs: 1,
        // Grants in a loop, many in flight at once, until the process is killed.
        func: "let i = 0; const end = Date.now() + 20000; function burst() { for (let k = 0; k < 40; k++) node.send({ consent: { action: 'grant', subject: 's' + (i++), purpose: 'cloud-upload' } }); if (Date.now() < end) setTimeout(burst, 2); } burst(); return null;",
        wires: [["mgr"]],
      },
      { id: "mgr", type: "privacy-consent", z: "t", store: "store", wires: [["ack"]] },
      // The acknowledgement record: a log line on stdout (a pipe: written synchronously)
      // as soon as the manager has answered, so it is as close to the kill as it can be.
      { id: "ack", type: "function", z: "t", outputs: 1, func: "node.warn('ACK ' + msg.payload.subject); return null;", wires: [] },
      consentInject("list", { action: "list" }, "mgr2"),
      { id: "mgr2", type: "privacy-consent", z: "t", store: "store", wires: [[listed.input]] },
      ...listed.nodes,
    ];
    rt = await startRuntime({ userDir, flows });
    await inject(rt, "go");
    const acks = () => [...rt.output().matchAll(/ACK (s\d+)/g)].map((m) => m[1]);
    await waitFor(() => acks().length >= 3000, { what: "3000 acknowledged grants", timeout: 30000 });
    await rt.kill();
    const acked = acks();
    rt = undefined;
    assert.ok(acked.length >= 3000);
    const journal = path.join(userDir, "consent", "journal.jsonl");
    assert.equal(fs.existsSync(`${journal}.lock`), true, "the killed process left its lock");

    rt = await startRuntime({ userDir });
    await inject(rt, "list");
    const list = await waitFor(() => readJsonLines(listed.file)[0], { what: "the list after restart" });
    const granted = new Set(list.payload.subjects.filter((s) => s.purposes["cloud-upload"] === "granted").map((s) => s.subject));
    const missing = acked.filter((s) => !granted.has(s));
    assert.deepEqual(missing, [], `${missing.length} acknowledged grants missing after kill -9`);
    assert.ok(granted.size >= acked.length);
    await rt.stop();
    rt = undefined;
    // And the journal is whole: every line parses, the store opens it cleanly.
    const store = new ConsentStore({ backend: "file", file: journal, purposes: PURPOSES, owner: "check" });
    assert.equal(store.unavailable, undefined);
    assert.equal(store.loadReport.skipped, 0);
    for (const s of acked) assert.equal(typeof store.check(s, "cloud-upload"), "object", s);
    await store.close();
  });
});
