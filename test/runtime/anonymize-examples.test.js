"use strict";
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime, deploy, inject, waitFor, readJsonLines, fileSink, tempDir } = require("../helpers/runtime");

const EXAMPLES = path.join(__dirname, "..", "..", "examples");

/** The example's flow with its debug node replaced by a file sink the test can read. */
function withSink(file, debugId, dir) {
  const flow = JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), "utf8"));
  const debug = flow.find((n) => n.id === debugId);
  const sink = fileSink(`${debugId}-sink`, debug.z, dir);
  const nodes = flow
    .filter((n) => n.id !== debugId)
    .map((n) => (n.wires ? { ...n, wires: n.wires.map((w) => w.map((id) => (id === debugId ? sink.input : id))) } : n));
  return { nodes: [...nodes, ...sink.nodes], file: sink.file };
}

describe("privacy-anonymize examples (real runtime)", function () {
  this.timeout(60000);
  const key = crypto.randomBytes(32);
  let rt;
  before(async () => {
    rt = await startRuntime({ env: { PRIVACY_KEYS: JSON.stringify({ "analytics-1": key.toString("base64url") }) } });
  });
  after(async () => rt && rt.stop());

  it("pseudonymize-before-analytics: stable dev_/usr_ pseudonyms by the documented formula, name removed, IP /24", async () => {
    const dir = tempDir();
    const { nodes, file } = withSink("anonymize-pseudonymize-before-analytics.json", "anon-ex1-debug", dir);
    await deploy(rt, nodes);
    await inject(rt, "anon-ex1-inject");
    await inject(rt, "anon-ex1-inject");
    const lines = await waitFor(() => readJsonLines(file).length === 2 && readJsonLines(file), { what: "two anonymized events" });
    const subkey = Buffer.from(crypto.hkdfSync("sha256", key, Buffer.alloc(0), Buffer.from("privacy-pseudonymize"), 32));
    const p = (v) => crypto.createHmac("sha256", subkey).update(v, "utf8").digest("hex").slice(0, 16);
    const out = lines[0].payload;
    assert.deepEqual(out, { deviceId: `dev_${p("doorbell-front-0042")}`, user: { email: `usr_${p("alice@example.com")}` }, ip: "192.168.1.0", event: "ring", battery: 87 });
    assert.deepEqual(lines[1].payload, out, "the same input gives the same pseudonyms");
    const entry = lines[0].privacy.trail[0];
    assert.deepEqual(entry.fields, { pseudonymize: 2, redact: 1, generalize: 1 });
    assert.ok(!JSON.stringify(lines).includes("alice@"));
  });

  it("scan-doorbell-notes: entities replaced, IP generalized, near-misses kept, counts in the trail", async () => {
    const dir = tempDir();
    const { nodes, file } = withSink("anonymize-scan-doorbell-notes.json", "anon-ex2-debug", dir);
    await deploy(rt, nodes);
    await inject(rt, "anon-ex2-inject");
    const [line] = await waitFor(() => readJsonLines(file).length === 1 && readJsonLines(file), { what: "the anonymized log" });
    assert.deepEqual(line.payload, [
      { time: "2024-03-15T10", note: "Visitor left a number, <PHONE>, and email <EMAIL>" },
      { time: "2024-03-15T18", note: "Courier called from <PHONE>; camera 192.168.1.0 (mac <MAC>) on fw 2.14.3 at 18:05" },
      { time: "2024-03-16T07", note: "Test card 4111 1111 1111 1112 is invalid, ignore" },
    ]);
    const entry = line.privacy.trail[0];
    assert.deepEqual(entry.entities, { email: 1, phone: 2, ipv4: 1, mac: 1 });
    assert.equal(entry.records, 3);
  });

  it("energy-study-budget: time part, noise for counts, Laplace and randomized response, then the daily budget stops the second release", async () => {
    const dir = tempDir();
    const first = withSink("anonymize-energy-study-budget.json", "anon-ex3-debug", dir);
    // a sink that also keeps msg.error (the shared file sink keeps payload, privacy and topic)
    const caughtSink = fileSink("anon-ex3-caught-sink", "anon-ex3-tab", dir);
    caughtSink.nodes[0].func = "msg.payload = JSON.stringify({payload: msg.payload, error: msg.error}); return msg;";
    const nodes = first.nodes
      .filter((n) => n.id !== "anon-ex3-caught")
      .map((n) => (n.id === "anon-ex3-catch" ? { ...n, wires: [[caughtSink.input]] } : n))
      .concat(caughtSink.nodes);
    await deploy(rt, nodes);
    await inject(rt, "anon-ex3-inject");
    const [sent] = await waitFor(() => readJsonLines(first.file).length === 1 && readJsonLines(first.file), { what: "the released reading" });
    assert.equal(sent.payload.ts, 19);
    assert.ok(Number.isInteger(sent.payload.occupants) && sent.payload.occupants >= 0);
    assert.ok(sent.payload.kwh >= 0 && Math.round(sent.payload.kwh * 10) / 10 === sent.payload.kwh);
    assert.equal(typeof sent.payload.home, "boolean");
    assert.equal("address" in sent.payload, false);
    const use = sent.privacy.trail[0].budgets["energy-study"];
    assert.deepEqual([use.purpose, use.spent.epsilon, use.remaining.epsilon], ["neighbourhood energy project", 2, 1]);
    assert.ok(!JSON.stringify(sent.privacy).includes("flat-3"), "the trail names no household");
    await inject(rt, "anon-ex3-inject");
    const [caught] = await waitFor(() => readJsonLines(caughtSink.file).length === 1 && readJsonLines(caughtSink.file), { what: "the refused release" });
    assert.match(caught.error.message, /budget "energy-study" spent for flat-3, resets \d{4}-\d\d-\d\d 00:00 UTC/);
    assert.equal(caught.payload, undefined, "nothing of the reading in the caught message");
    assert.equal(readJsonLines(first.file).length, 1);
  });
});
