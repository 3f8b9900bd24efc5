"use strict";
/**
 * Each encryption example deployed in a real Node-RED, checking what its comment node
 * promises. Debug nodes become file sinks; the MQTT broker becomes a loopback that
 * records what the broker would see; files go to a temp dir; keys and the legacy
 * passphrase are given as credentials, as a user would in the editor.
 */
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime, deploy, inject, waitFor, readJsonLines, fileSink, tempDir } = require("../helpers/runtime");

const EXAMPLES = path.join(__dirname, "..", "..", "examples");
const load = (name) => JSON.parse(fs.readFileSync(path.join(EXAMPLES, `${name}.json`), "utf8"));
const KEYS = JSON.stringify({ "home-2026": crypto.randomBytes(32).toString("base64url") });

/** Replaces every debug node by a file sink; returns the sinks by debug node id. */
function sinkDebugNodes(flow, dir) {
  const sinks = {};
  const out = [];
  for (const n of flow) {
    if (n.type !== "debug") {
      out.push(n);
      continue;
    }
    const sink = fileSink(`sink-${n.id}`, n.z, dir);
    sinks[n.id] = sink;
    out.push(...sink.nodes);
  }
  for (const n of out) if (n.wires) n.wires = n.wires.map((ws) => ws.map((w) => (sinks[w] ? sinks[w].input : w)));
  return { flow: out, sinks };
}

function withKeys(flow, extra = {}) {
  return flow.map((n) => (n.type === "privacy-keyring" ? { ...n, credentials: { keys: KEYS } } : extra[n.id] ? { ...n, credentials: extra[n.id] } : n));
}

const trailTypes = (m) => (m.privacy && m.privacy.trail ? m.privacy.trail.map((e) => e.type) : []);

// The runtime helper reports ready only once the flows and their credentials are loaded.
const ENV = {};

describe("encryption examples in a real runtime", function () {
  this.timeout(60000);
  let rt;
  before(async () => {
    rt = await startRuntime({ env: ENV });
  });
  after(async () => rt && rt.stop());

  it("encrypt-sensor-data-mqtt: the broker sees only a JWE string, the debug node the original reading", async () => {
    const dir = tempDir();
    let flow = load("encrypt-sensor-data-mqtt");
    const mqttIn = flow.find((n) => n.type === "mqtt in");
    const broker = fileSink("broker-sees", mqttIn.z, dir);
    // The broker as a loopback: what mqtt out publishes (a string) comes out of mqtt in.
    flow = flow
      .filter((n) => n.type !== "mqtt in" && n.type !== "mqtt-broker")
      .map((n) =>
        n.type === "mqtt out"
          ? { id: n.id, type: "function", z: n.z, func: "msg.payload = typeof msg.payload === 'string' ? msg.payload : JSON.stringify(msg.payload); delete msg.privacy; return msg;", outputs: 1, wires: [[broker.input, ...mqttIn.wires[0]]] }
          : n,
      );
    const { flow: f, sinks } = sinkDebugNodes(flow.concat(broker.nodes), dir);
    await deploy(rt, withKeys(f));
    await inject(rt, "ex-mqtt-inject");
    const [out] = await waitFor(() => readJsonLines(sinks["ex-mqtt-debug"].file).length === 1 && readJsonLines(sinks["ex-mqtt-debug"].file), { what: "decrypted reading" });
    const [seen] = readJsonLines(broker.file);
    assert.match(seen.payload, /^eyJ[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.ok(!seen.payload.includes("alice"));
    assert.deepEqual(out.payload, { sensor: "living-room", t: 21.5, h: 40, owner: "alice", location: { lat: 48.8566, lon: 2.3522 } });
    assert.deepEqual(trailTypes(out), ["privacy-decrypt"]);
  });

  it("encrypt-fields-to-file: the file holds JWE owner/location and clear t/h; read back restores them", async () => {
    const dir = tempDir();
    const file = path.join(dir, "privacy-readings.jsonl");
    const flow = load("encrypt-fields-to-file").map((n) => (n.type === "file" || n.type === "file in" ? { ...n, filename: file } : n));
    const { flow: f, sinks } = sinkDebugNodes(flow, dir);
    await deploy(rt, withKeys(f));
    await inject(rt, "ex-file-inject");
    await inject(rt, "ex-file-inject");
    const lines = await waitFor(() => readJsonLines(file).length === 2 && readJsonLines(file), { what: "the readings file" });
    for (const l of lines) {
      assert.equal(l.t, 21.5);
      assert.equal(l.h, 40);
      assert.match(l.owner, /^eyJ/);
      assert.match(l.location, /^eyJ/);
      assert.ok(!JSON.stringify(l).includes("alice") && !JSON.stringify(l).includes("48.85"));
    }
    assert.notEqual(lines[0].owner, lines[1].owner, "fresh IV per value");
    await inject(rt, "ex-file-read-inject");
    const back = await waitFor(() => readJsonLines(sinks["ex-file-debug"].file).length === 2 && readJsonLines(sinks["ex-file-debug"].file), { what: "read back" });
    for (const m of back) {
      assert.deepEqual(m.payload, { sensor: "living-room", t: 21.5, h: 40, owner: "alice", location: { lat: 48.8566, lon: 2.3522 } });
      assert.deepEqual(trailTypes(m), ["privacy-decrypt"]);
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.doesNotMatch(rt.output(), /\[json[^\]]*\]|Unexpected end of JSON input/, "the read-back logs no JSON error");
  });

  it("migrate-cryptojs-ciphertexts: the CryptoJS samples come out as JWE and decrypt to the original texts", async () => {
    const dir = tempDir();
    const { flow: f, sinks } = sinkDebugNodes(load("migrate-cryptojs-ciphertexts"), dir);
    await deploy(rt, withKeys(f, { "ex-mig-decrypt": { legacyPassphrase: "old example passphrase" } }));
    await inject(rt, "ex-mig-inject");
    const checked = await waitFor(() => readJsonLines(sinks["ex-mig-debug2"].file).length === 3 && readJsonLines(sinks["ex-mig-debug2"].file), { what: "checked texts" });
    const jwes = readJsonLines(sinks["ex-mig-debug"].file);
    assert.equal(jwes.length, 3);
    for (const j of jwes) assert.match(j.payload, /^eyJ[\w-]+\.\./);
    assert.deepEqual(
      checked.map((m) => m.payload),
      ["21.5", '{"sensor":"kitchen","t":22.1,"owner":"alice"}', "door opened by bob"],
    );
    assert.deepEqual(trailTypes(checked[0]), ["privacy-decrypt", "privacy-encrypt", "privacy-decrypt"]);
    assert.equal(checked[0].privacy.trail[0].legacy, 1);
  });
});
