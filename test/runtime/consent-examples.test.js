"use strict";
const assert = require("node:assert/strict");
const path = require("node:path");
const { startRuntime, deploy, inject, waitFor, readJsonLines, fileSink, tempDir } = require("../helpers/runtime");

const EXAMPLES = path.join(__dirname, "..", "..", "examples");
const load = (name) => JSON.parse(JSON.stringify(require(path.join(EXAMPLES, `${name}.json`))));

/** Replaces output nodes (debug, http request) by file sinks; returns the flows and the sink files. */
function withSinks(flows, ids, dir) {
  const files = {};
  let out = flows.filter((n) => !ids.includes(n.id));
  for (const id of ids) {
    const z = flows.find((n) => n.id === id).z;
    const sink = fileSink(`${id}-sink`, z, dir);
    files[id] = sink.file;
    out = out.map((n) => (n.wires ? { ...n, wires: n.wires.map((port) => port.map((w) => (w === id ? sink.input : w))) } : n));
    out.push(...sink.nodes);
  }
  return { flows: out, files };
}

describe("consent examples (deployed in a real runtime)", function () {
  this.timeout(60000);
  let rt;
  before(async () => {
    rt = await startRuntime({});
  });
  after(async () => rt && rt.stop());

  it("consent-gate-cloud-upload: blocked without consent, uploaded after, blocked again after withdrawal", async () => {
    const dir = tempDir();
    const { flows, files } = withSinks(load("consent-gate-cloud-upload"), ["ex1-upload", "ex1-blocked", "ex1-receipt"], dir);
    assert.ok(flows.some((n) => n.type === "comment"));
    await deploy(rt, flows);
    await inject(rt, "ex1-reading");
    const blocked = await waitFor(() => readJsonLines(files["ex1-blocked"])[0], { what: "a blocked reading" });
    assert.deepEqual(blocked.privacy.blocked, { reason: "no-consent", subject: "alice", purpose: "cloud-upload" });
    await inject(rt, "ex1-grant");
    const receipt = await waitFor(() => readJsonLines(files["ex1-receipt"])[0], { what: "alice's receipt" });
    assert.equal(receipt.payload.status, "granted");
    assert.equal(receipt.payload.method, "inject button");
    await inject(rt, "ex1-reading");
    const uploaded = await waitFor(() => readJsonLines(files["ex1-upload"])[0], { what: "an uploaded reading" });
    assert.deepEqual(uploaded.payload, { temperature: 21.5, humidity: 40 });
    await inject(rt, "ex1-withdraw");
    await waitFor(() => readJsonLines(files["ex1-receipt"]).length === 2, { what: "the withdrawal receipt" });
    await inject(rt, "ex1-reading");
    const again = await waitFor(() => readJsonLines(files["ex1-blocked"])[1], { what: "a reading blocked again" });
    assert.equal(again.privacy.blocked.reason, "withdrawn");
    assert.equal(readJsonLines(files["ex1-upload"]).length, 1);
  });

  it("consent-panel-http: the page, grant and withdraw over HTTP, the query, and 400 for a bad request", async () => {
    const dir = tempDir();
    const { flows, files } = withSinks(load("consent-panel-http"), ["ex2-debug"], dir);
    await deploy(rt, flows);
    const base = new URL("api/", rt.url);
    const page = await waitFor(async () => {
      const res = await fetch(new URL("consent-panel", base));
      return res.ok && res.text();
    }, { what: "the panel page" });
    assert.match(page, /action="consent\/grant"/);
    const form = new URLSearchParams([["subject", "dana"], ["purpose", "cloud-backup"], ["purpose", "energy-stats"]]);
    let res = await fetch(new URL("consent/grant", base), { method: "POST", body: form });
    assert.equal(res.status, 200);
    const receipts = await res.json();
    assert.deepEqual(receipts.map((r) => [r.subject, r.purpose, r.status, r.method]), [["dana", "cloud-backup", "granted", "consent panel"], ["dana", "energy-stats", "granted", "consent panel"]]);
    res = await fetch(new URL("consent/dana", base));
    let state = await res.json();
    assert.equal(state.purposes["cloud-backup"].state, "granted");
    res = await fetch(new URL("consent/withdraw", base), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ subject: "dana" }) });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).length, 2);
    state = await (await fetch(new URL("consent/dana", base))).json();
    assert.equal(state.purposes["energy-stats"].state, "withdrawn");
    res = await fetch(new URL("consent/grant", base), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ subject: "dana", purpose: "marketing" }) });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, /unknown purpose "marketing"/);
    await inject(rt, "ex2-grant-bob");
    const bob = await waitFor(() => readJsonLines(files["ex2-debug"])[0], { what: "bob's receipts" });
    assert.equal(bob.payload.length, 2);
    assert.ok(bob.payload.every((r) => r.expiresAt !== null));
  });

  it("consent-export-receipts: the export lists carol's three receipts and her current state", async () => {
    const dir = tempDir();
    const { flows, files } = withSinks(load("consent-export-receipts"), ["ex3-debug"], dir);
    await deploy(rt, flows);
    await inject(rt, "ex3-grant");
    await new Promise((r) => setTimeout(r, 300));
    await inject(rt, "ex3-withdraw");
    await new Promise((r) => setTimeout(r, 300));
    await inject(rt, "ex3-export");
    const out = await waitFor(() => readJsonLines(files["ex3-debug"])[0], { what: "the export" });
    assert.equal(readJsonLines(files["ex3-debug"]).length, 1, "only the export reaches the debug node");
    assert.equal(out.payload.subject, "carol");
    assert.deepEqual(out.payload.receipts.map((r) => `${r.purpose}:${r.status}`), ["voice-assistant:granted", "presence-stats:granted", "voice-assistant:withdrawn"]);
    assert.equal(out.payload.receipts[0].note, "asked at move-in");
    assert.equal(out.payload.purposes["voice-assistant"].state, "withdrawn");
    assert.equal(out.payload.purposes["presence-stats"].state, "granted");
  });
});
