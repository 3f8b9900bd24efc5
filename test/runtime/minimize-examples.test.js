"use strict";
// Deploys each privacy-minimize example in a real Node-RED and checks that what reaches
// its debug node (replaced by a file sink) is what the example's comment promises.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { suiteRuntime, deploy, inject, waitFor, readJsonLines, fileSink } = require("../helpers/runtime");

const EXAMPLES = path.join(__dirname, "..", "..", "examples");
const load = (name) => JSON.parse(fs.readFileSync(path.join(EXAMPLES, name), "utf8"));

/** Replaces the example's debug node by a file sink; returns the flow and the sink file. */
function withSink(flow, debugId, dir) {
  const debug = flow.find((n) => n.id === debugId);
  assert.ok(debug && debug.type === "debug", `example has debug node ${debugId}`);
  const sink = fileSink(`${debugId}-sink`, debug.z, dir);
  const nodes = flow
    .filter((n) => n.id !== debugId)
    .map((n) => (n.wires ? { ...n, wires: n.wires.map((port) => port.map((id) => (id === debugId ? sink.input : id))) } : n));
  return { flow: [...nodes, ...sink.nodes], file: sink.file };
}

describe("privacy-minimize examples (real runtime)", function () {
  this.timeout(60000);
  const suite = suiteRuntime();

  it("every example has a tab, a comment and the node", () => {
    for (const f of fs.readdirSync(EXAMPLES).filter((f) => f.startsWith("minimize-"))) {
      const flow = load(f);
      assert.ok(flow.some((n) => n.type === "tab"), f);
      assert.ok(flow.some((n) => n.type === "comment"), f);
      assert.ok(flow.some((n) => n.type === "privacy-minimize"), f);
    }
  });

  it("smart meter: uploads only rounded kwh/power, the hour and a geohash, no headers", async () => {
    const { rt, dir } = suite;
    const { flow, file } = withSink(load("minimize-smart-meter-before-cloud-upload.json"), "pm-ex1-debug", dir);
    await deploy(rt, flow);
    await inject(rt, "pm-ex1-inject");
    const [line] = await waitFor(() => readJsonLines(file).length === 1 && readJsonLines(file), { what: "the smart meter output" });
    assert.deepEqual(line.payload, { kwh: 1234.6, power: 450, ts: "2024-05-01T10:00:00.000Z", location: "u33dc" });
    assert.equal(line.topic, "meter/7");
    const entry = line.privacy.trail[0];
    assert.equal(entry.type, "privacy-minimize");
    // keys no rule keeps are counted, not named: a key found in the data can be personal data
    assert.deepEqual(entry.removed, []);
    assert.equal(entry.unlisted, 4);
    assert.deepEqual(entry.coarsened.sort(), ["payload.kwh", "payload.location", "payload.power", "payload.ts"]);
    assert.ok(entry.stripped.includes("headers"));
    assert.equal(JSON.stringify(line).includes("Alex"), false);
  });

  it("GPS tracker: coarse fix, rounded speed, battery bucket, no IMEI, driver or BSSIDs", async () => {
    const { rt, dir } = suite;
    const { flow, file } = withSink(load("minimize-gps-tracker.json"), "pm-ex2-debug", dir);
    await deploy(rt, flow);
    await inject(rt, "pm-ex2-inject");
    const [line] = await waitFor(() => readJsonLines(file).length === 1 && readJsonLines(file), { what: "the tracker output" });
    assert.deepEqual(line.payload, { fix: { lat: 48.14, lon: 11.58, alt: 519 }, speed: 55, battery: "ok", time: 1714558980, wifi: [{ rssi: -61 }, { rssi: -78 }] });
    assert.deepEqual(line.privacy.trail[0].removed.sort(), ["payload.driver", "payload.imei", "payload.wifi[*].bssid"]);
  });

  it("temperature stream: one summary per room with count, mean, min and max on flush", async () => {
    const { rt, dir } = suite;
    const example = load("minimize-aggregate-temperature-15min.json");
    // the test presses the tick itself rather than waiting for its 10-second repeat
    const ticked = example.map((n) => (n.id === "pm-ex3-tick" ? { ...n, repeat: "" } : n));
    const { flow, file } = withSink(ticked, "pm-ex3-debug", dir);
    await deploy(rt, flow);
    for (let i = 0; i < 4; i++) await inject(rt, "pm-ex3-tick");
    await new Promise((r) => setTimeout(r, 300));
    await inject(rt, "pm-ex3-flush");
    const lines = await waitFor(() => readJsonLines(file).length >= 2 && readJsonLines(file), { what: "the summaries" });
    // A run that crosses a quarter hour splits a room into two windows: combine them.
    const rooms = {};
    for (const l of lines) {
      const s = l.payload.temperature;
      const r = (rooms[l.topic] = rooms[l.topic] || { count: 0, sum: 0, min: Infinity, max: -Infinity });
      r.count += s.count;
      r.sum += s.mean * s.count;
      r.min = Math.min(r.min, s.min);
      r.max = Math.max(r.max, s.max);
      assert.deepEqual(Object.keys(l.payload), ["temperature"], "occupant never leaves");
    }
    assert.deepEqual(rooms.kitchen, { count: 4, sum: 83, min: 20, max: 21.5 });
    assert.deepEqual(rooms.bedroom, { count: 4, sum: 75, min: 18, max: 19.5 });
  });
});
