"use strict";
/**
 * The store behind Node-RED's own context module (the one function nodes' `context`,
 * `flow` and `global` come from), configured as settings.js would: node, flow and
 * global scopes, `$parent` of subflows, the store named in a key (`#:(name)::key`),
 * functionGlobalContext as global's fallback, clean on redeploy, and a restart that
 * reads everything back; the same steps run on localfilesystem give the same answers.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { KINDS, keyEnv, tempDir, ROOT } = require("../../helpers/context");

const Context = require(path.join(ROOT, "node_modules", "@node-red", "runtime", "lib", "nodes", "context", "index.js"));
const ENV = keyEnv();

function settingsFor(kind, dir) {
  const module = kind === "encrypted" ? KINDS.encrypted.make : "localfilesystem";
  return {
    userDir: dir,
    functionGlobalContext: { seeded: "from settings", nested: { v: 1 } },
    contextStorage: {
      default: { module, config: { env: ENV, flushInterval: 3600 } },
      memoryOnly: { module: "memory" },
    },
  };
}

/** What a flow sees, through Node-RED's context objects, after a few steps. */
async function scenario(kind, dir) {
  Context.init(settingsFor(kind, dir));
  await Context.load();
  const seen = {};
  const flowA = Context.getFlowContext("flowA");
  const sub = Context.getFlowContext("subflow1", "flowA");
  const node = Context.get("node1", "flowA");
  const other = Context.get("node2", "flowB");
  node.set("count", 1);
  node.flow.set("people.alice.home", true);
  node.global.set("location", { lat: 52.52, lon: 13.4 });
  sub.set("$parent.fromSub", "up");
  node.global.set("volatile", "memory only", "memoryOnly");
  node.set("#:(memoryOnly)::inKey", "also memory");
  seen.count = node.get("count");
  seen.otherCount = other.get("count");
  seen.flowFromSub = sub.get("$parent.people.alice.home");
  seen.flowA = flowA.get(["people", "fromSub"]);
  seen.otherFlow = other.flow.get("people");
  seen.global = other.global.get("location.lat");
  seen.seeded = node.global.get("seeded");
  seen.seededNested = node.global.get("nested.v");
  seen.globalKeys = node.global.keys().sort();
  seen.volatile = node.global.get("volatile", "memoryOnly");
  seen.inKey = node.get("#:(memoryOnly)::inKey");
  seen.async = await new Promise((resolve, reject) => node.flow.get("people.alice", (err, v) => (err ? reject(err) : resolve(v))));
  seen.invalid = await new Promise((resolve) => node.get("a b", (err) => resolve(err ? err.message : "no error")));
  // A redeploy without node2/flowB: their scopes go, global stays.
  await Context.clean({ allNodes: { node1: {}, flowA: {}, subflow1: {} } });
  await Context.close();
  // A restart: the default store reads back; the memory store does not.
  Context.init(settingsFor(kind, dir));
  await Context.load();
  const n = Context.get("node1", "flowA");
  seen.afterRestart = {
    count: n.get("count"),
    flow: n.flow.get("people"),
    global: n.global.get("location"),
    volatile: n.global.get("volatile", "memoryOnly"),
    keys: n.keys(),
  };
  await Context.close();
  return seen;
}

describe("the encrypted store behind Node-RED's context module", function () {
  this.timeout(20000);
  const dirs = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("node, flow, global, $parent, named stores, functionGlobalContext, clean and restart: as localfilesystem", async () => {
    const results = {};
    for (const kind of ["localfilesystem", "encrypted"]) {
      const dir = tempDir(`scopes-${kind}-`);
      dirs.push(dir);
      results[kind] = await scenario(kind, dir);
    }
    assert.deepEqual(results.encrypted, results.localfilesystem);
    const r = results.encrypted;
    assert.equal(r.count, 1);
    assert.equal(r.otherCount, undefined);
    assert.equal(r.flowFromSub, true);
    assert.deepEqual(r.flowA, [{ alice: { home: true } }, "up"]);
    assert.equal(r.otherFlow, undefined);
    assert.equal(r.global, 52.52);
    assert.equal(r.seeded, "from settings");
    assert.equal(r.seededNested, 1);
    assert.deepEqual(r.globalKeys, ["location", "nested", "seeded"]);
    assert.equal(r.volatile, "memory only");
    assert.match(r.invalid, /Invalid property expression/);
    assert.deepEqual(r.afterRestart, {
      count: 1,
      flow: { alice: { home: true } },
      global: { lat: 52.52, lon: 13.4 },
      volatile: undefined,
      keys: ["count"],
    });
    // ...and on disk the encrypted store holds no plain value.
    const base = path.join(dirs[1], "context-encrypted");
    for (const rel of fs.readdirSync(base, { recursive: true })) {
      const full = path.join(base, rel);
      if (!fs.statSync(full).isFile()) continue;
      const bytes = fs.readFileSync(full);
      for (const needle of ["alice", "52.52", "location", "count"]) assert.ok(!bytes.includes(needle), `${rel} holds ${needle}`);
    }
  });
});
