"use strict";
/**
 * The encrypted context store in a real Node-RED (child processes), configured as a
 * user would in settings.js (`module: require("@privacy-toolkit/node-red-privacy/context")`,
 * resolved from the user directory through the package's exports):
 *
 * - a flow keeps a door code and a location in flow and global context; on disk the
 *   context folder holds neither (searched byte for byte); a restart reads them back;
 * - a wrong key: Node-RED does not start the store, one log line names the file and
 *   the reason, and every file is left as it was; so for one flipped byte;
 * - kill -9 in the middle of a flush of 10,000 keys: the store opens afterwards, with
 *   every key of the previous generation or every key of the new one.
 */
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime, deploy, inject, waitFor, readJsonLines, fileSink, tempDir } = require("../helpers/runtime");
const { KINDS, snapshot } = require("../helpers/context");

const STORE = {
  default: { module: "@privacy-toolkit/node-red-privacy/context", config: { flushInterval: 0.5 } },
};
const DOOR_CODE = "door-4711-SECRET";
const LAT = "52.520008";
const LON = "13.404954";

function keys(kid = "home-1") {
  return { PRIVACY_CONTEXT_KEYS: `${kid}:${crypto.randomBytes(32).toString("base64url")}` };
}

/** A flow with two buttons: "remember" writes flow and global context, "recall" reads it back into a file. */
function rememberFlow(dir) {
  const sink = fileSink("ctx-sink", "t-ctx", dir);
  return {
    file: sink.file,
    nodes: [
      { id: "t-ctx", type: "tab", label: "context" },
      { id: "ctx-remember", type: "inject", z: "t-ctx", props: [{ p: "payload" }], payload: "", payloadType: "date", wires: [["ctx-set"]] },
      {
        id: "ctx-set",
        type: "function",
        z: "t-ctx",
        func: `flow.set("doorCode", "${DOOR_CODE}");\nglobal.set("people.alice", { home: true, location: { lat: ${LAT}, lon: ${LON} } });\nmsg.payload = "stored";\nreturn msg;`,
        outputs: 1,
        wires: [[sink.input]],
      },
      { id: "ctx-recall", type: "inject", z: "t-ctx", props: [{ p: "payload" }], payload: "", payloadType: "date", wires: [["ctx-get"]] },
      {
        id: "ctx-get",
        type: "function",
        z: "t-ctx",
        func: 'msg.payload = { doorCode: flow.get("doorCode"), alice: global.get("people.alice") };\nreturn msg;',
        outputs: 1,
        wires: [[sink.input]],
      },
      ...sink.nodes,
    ],
  };
}

/** Starts a runtime that is expected to fail; returns its output. */
async function failedStart(options) {
  try {
    const rt = await startRuntime(options);
    await rt.stop();
  } catch (e) {
    return e.message;
  }
  throw new Error("the runtime started");
}

function searchBytes(dir, needles) {
  const found = [];
  for (const rel of fs.readdirSync(dir, { recursive: true })) {
    const full = path.join(dir, rel);
    if (!fs.statSync(full).isFile()) continue;
    const bytes = fs.readFileSync(full);
    for (const n of needles) {
      if (bytes.includes(n) || bytes.includes(Buffer.from(n, "utf16le"))) found.push(`${rel}: ${n}`);
    }
  }
  return found;
}

describe("encrypted context store in a real runtime", function () {
  this.timeout(180000);
  const dirs = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("keeps a secret and a location as ciphertext only, reads them back after a restart, refuses a wrong key or a flipped byte", async () => {
    const userDir = tempDir("nr-ctx-");
    dirs.push(userDir);
    const env = keys();
    const { nodes, file } = rememberFlow(userDir);
    let rt = await startRuntime({ userDir, env, contextStorage: STORE });
    try {
      await deploy(rt, nodes);
      await inject(rt, "ctx-remember");
      await waitFor(() => readJsonLines(file).length === 1, { what: "the flow stored its context" });
    } finally {
      await rt.stop(); // a clean stop flushes
    }
    const base = path.join(userDir, "context-encrypted");
    const files = fs.readdirSync(base, { recursive: true }).filter((f) => f.endsWith(".enc")).sort();
    assert.deepEqual(files, ["global/global.enc", "t-ctx/flow.enc"]);
    assert.deepEqual(searchBytes(base, [DOOR_CODE, LAT, LON, "doorCode", "alice", "people"]), []);
    assert.ok(!fs.existsSync(path.join(userDir, "context")), "no plain localfilesystem folder");
    assert.deepEqual(KINDS.encrypted.readDisk(userDir, "t-ctx", { env }), { doorCode: DOOR_CODE });

    rt = await startRuntime({ userDir, env, contextStorage: STORE });
    try {
      await inject(rt, "ctx-recall");
      const lines = await waitFor(() => readJsonLines(file).length === 2 && readJsonLines(file), { what: "the recalled context" });
      assert.deepEqual(lines[1].payload, { doorCode: DOOR_CODE, alice: { home: true, location: { lat: Number(LAT), lon: Number(LON) } } });
    } finally {
      await rt.stop();
    }

    // A wrong key: the store does not open, one line says which file and why, nothing changes.
    const before = snapshot(base);
    const wrong = await failedStart({ userDir, env: keys(), contextStorage: STORE });
    const reasonLines = wrong.split("\n").filter((l) => /context-encrypted[\\/].*\.enc/.test(l));
    assert.equal(reasonLines.length, 1, wrong);
    assert.match(reasonLines[0], /cannot open .*context-encrypted[\\/]global[\\/]global\.enc: authentication failed: wrong key "home-1"/);
    assert.deepEqual(snapshot(base), before, "the files are untouched");

    // One flipped byte: refused the same way, naming the file.
    const target = path.join(base, "t-ctx", "flow.enc");
    const good = fs.readFileSync(target);
    const bad = Buffer.from(good);
    bad[Math.floor(bad.length / 2)] ^= 0x04;
    fs.writeFileSync(target, bad);
    const tampered = snapshot(base);
    const flipped = await failedStart({ userDir, env, contextStorage: STORE });
    const flippedLines = flipped.split("\n").filter((l) => /context-encrypted[\\/].*\.enc/.test(l));
    assert.equal(flippedLines.length, 1, flipped);
    assert.match(flippedLines[0], /cannot open .*t-ctx[\\/]flow\.enc: authentication failed/);
    assert.deepEqual(snapshot(base), tampered, "the tampered file is left for inspection, not overwritten");
    fs.writeFileSync(target, good);

    // No key at all: refused, naming what to set.
    const none = await failedStart({ userDir, env: { PRIVACY_CONTEXT_KEYS: "" }, contextStorage: STORE });
    assert.match(none, /no key: set PRIVACY_CONTEXT_KEYS/);
    assert.deepEqual(snapshot(base), before);
  });

  it("kill -9 during a flush of 10,000 keys leaves a store that opens, with one whole generation", async () => {
    const userDir = tempDir("nr-ctx-kill-");
    dirs.push(userDir);
    const env = keys();
    const sink = fileSink("kill-sink", "t-kill", userDir);
    const flow = [
      { id: "t-kill", type: "tab", label: "kill" },
      { id: "kill-fill", type: "inject", z: "t-kill", props: [{ p: "payload" }], payload: "1", payloadType: "num", wires: [["kill-set"]] },
      {
        id: "kill-set",
        type: "function",
        z: "t-kill",
        // ~10 MB of context: a flush long enough to be killed in the middle of.
        func: 'const note = "x".repeat(1000);\nfor (let i = 0; i < 10000; i++) global.set("k" + i, { gen: msg.payload, i, note });\nreturn null;',
        outputs: 1,
        wires: [[]],
      },
      { id: "kill-check", type: "inject", z: "t-kill", props: [{ p: "payload" }], payload: "", payloadType: "date", wires: [["kill-read"]] },
      {
        id: "kill-read",
        type: "function",
        z: "t-kill",
        func: 'const keys = global.keys();\nconst gens = [...new Set(keys.map((k) => global.get(k).gen))];\nmsg.payload = { count: keys.length, gens };\nreturn msg;',
        outputs: 1,
        wires: [[sink.input]],
      },
      ...sink.nodes,
    ];
    const globalDir = path.join(userDir, "context-encrypted", "global");
    const readGlobal = () => {
      try {
        return KINDS.encrypted.readDisk(userDir, "global", { env });
      } catch {
        return undefined;
      }
    };
    let rt = await startRuntime({ userDir, env, contextStorage: STORE });
    await deploy(rt, flow);
    // Generation 1, written whole.
    await inject(rt, "kill-fill");
    await waitFor(() => {
      const g = readGlobal();
      return g && Object.keys(g).length === 10000;
    }, { timeout: 30000, what: "generation 1 on disk" });
    let killedMidFlush = false;
    let gen = 1;
    for (let attempt = 0; attempt < 6 && !killedMidFlush; attempt++) {
      gen++;
      const watcher = fs.watch(globalDir);
      const sawTemp = new Promise((resolve) => watcher.on("change", (_event, name) => /^\.global\.enc\..*\.tmp$/.test(String(name)) && resolve(String(name))));
      const fill = flow.map((n) => (n.id === "kill-fill" ? { ...n, payload: String(gen) } : n));
      await deploy(rt, fill);
      await inject(rt, "kill-fill");
      const temp = await Promise.race([sawTemp, new Promise((r) => setTimeout(r, 20000))]);
      await rt.kill();
      watcher.close();
      killedMidFlush = temp !== undefined && fs.existsSync(path.join(globalDir, temp));
      rt = await startRuntime({ userDir, env, contextStorage: STORE });
      if (!killedMidFlush) continue; // the rename beat the kill: try again
      assert.ok(!fs.readdirSync(globalDir).some((n) => n.endsWith(".tmp")), "the torn temporary file is cleaned up");
      await inject(rt, "kill-check");
      const lines = await waitFor(() => readJsonLines(sink.file).length > 0 && readJsonLines(sink.file), { what: "the store's contents after the crash" });
      const { count, gens } = lines[lines.length - 1].payload;
      assert.equal(count, 10000);
      assert.equal(gens.length, 1, `one generation, not a mix: ${gens}`);
      assert.ok(gens[0] === gen || gens[0] === gen - 1, `the previous (${gen - 1}) or the new (${gen}) state, got ${gens[0]}`);
    }
    await rt.stop();
    assert.ok(killedMidFlush, "the process was killed while a flush was writing");
  });

  it("a plain localfilesystem store: a warning in Node-RED's log until migrateFrom asks for it, then encrypted and removed", async () => {
    const userDir = tempDir("nr-ctx-migrate-");
    dirs.push(userDir);
    const env = keys();
    const plain = path.join(userDir, "context");
    fs.mkdirSync(path.join(plain, "global"), { recursive: true });
    fs.writeFileSync(path.join(plain, "global", "global.json"), JSON.stringify({ people: { alice: { location: { lat: Number(LAT), lon: Number(LON) } } } }, null, 4));
    const { nodes, file } = rememberFlow(userDir);
    let rt = await startRuntime({ userDir, env, contextStorage: STORE });
    try {
      assert.match(rt.output(), /\[warn\] \[context\] 1 plain localfilesystem context file\(s\) remain in .*context; add migrateFrom: "localfilesystem"/);
      assert.ok(fs.existsSync(path.join(plain, "global", "global.json")), "left alone");
    } finally {
      await rt.stop();
    }
    const migrating = { default: { ...STORE.default, config: { ...STORE.default.config, migrateFrom: "localfilesystem" } } };
    rt = await startRuntime({ userDir, env, contextStorage: migrating, logLevel: "warn" });
    try {
      assert.match(rt.output(), /\[warn\] \[context\] migrated 1 scope\(s\) from .*context to .*context-encrypted; 1 plain file\(s\) removed/);
      assert.ok(!fs.existsSync(plain), "the plain store is gone");
      await deploy(rt, nodes);
      await inject(rt, "ctx-recall");
      const [line] = await waitFor(() => readJsonLines(file).length === 1 && readJsonLines(file), { what: "the migrated context" });
      assert.deepEqual(line.payload.alice, { location: { lat: Number(LAT), lon: Number(LON) } });
    } finally {
      await rt.stop();
    }
    assert.deepEqual(searchBytes(path.join(userDir, "context-encrypted"), [LAT, LON, "alice"]), []);
  });
});
