"use strict";
/**
 * Property test against the oracle: any sequence of set (one key or several), get,
 * keys, delete, clean and restart, with keys drawn from Node-RED's property grammar
 * (names, numbers in the middle and at the end, indexes, quoted names, [msg.x]
 * cross-references, and near-misses that are invalid), gives the same answers and the
 * same errors from the encrypted store as from Node-RED's localfilesystem, with and
 * without the cache, and the same state after a restart.
 *
 * Prototype names (`__proto__`, `constructor`) are left to the model test: there the
 * stores differ by design.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const fc = require("fast-check");
const { KINDS, keyEnv, tempDir } = require("../../helpers/context");

const ENV = keyEnv();
const SCOPES = ["global", "flowA", "n1:flowA", "n2:flowB"];

const name = fc.constantFrom("a", "b", "c", "n0", "0", "1", "$x", "_y");
const step = fc.oneof(
  name.map((n) => `.${n}`),
  fc.nat(3).map((i) => `[${i}]`),
  fc.constantFrom('["a"]', "['b c']", '["0"]', "[msg.a]", "[msg.b.c]"),
);
const validKey = fc.tuple(name, fc.array(step, { maxLength: 3 })).map(([head, rest]) => head + rest.join(""));
const invalidKey = fc.constantFrom(" ", "a b", "a.", ".a", "a[", "a[x]", "a..b", "a['']", "[0]", "a]", 'a"b"', "a[msg.zz]");
const key = fc.oneof({ weight: 9, arbitrary: validKey }, { weight: 1, arbitrary: invalidKey });
const value = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom("a", "b", 0, 1, 2) },
);
const scope = fc.constantFrom(...SCOPES);

const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant("set"), scope, key, value }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("setMany"), scope, keys: fc.array(key, { minLength: 1, maxLength: 3 }), values: fc.array(value, { maxLength: 3 }) }),
  },
  { weight: 5, arbitrary: fc.record({ t: fc.constant("get"), scope, key }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("getMany"), scope, keys: fc.array(key, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("keys"), scope }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("delete"), scope }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("clean"), active: fc.subarray(["flowA", "n1", "flowB", "n2"]) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("restart") }) },
);

/** Runs one op through the callback API; returns { ok, value } or { error }. */
function call(store, o) {
  return new Promise((resolve) => {
    const done = (err, ...values) => resolve(err ? { error: err.code === "INVALID_EXPR" ? err.message : "error" } : { ok: true, values });
    try {
      switch (o.t) {
        case "set":
          return store.set(o.scope, o.key, structuredClone(o.value), done);
        case "setMany":
          return store.set(o.scope, o.keys, structuredClone(o.values), done);
        case "get":
          return store.get(o.scope, o.key, done);
        case "getMany":
          return store.get(o.scope, o.keys, done);
        case "keys":
          return store.keys(o.scope, done);
        case "delete":
          return store.delete(o.scope).then(() => done(), done);
        case "clean":
          return store.clean(o.active).then(() => done(), done);
        default:
          throw new Error(o.t);
      }
    } catch (e) {
      resolve({ error: e.code === "INVALID_EXPR" ? e.message : "thrown" });
    }
  });
}

async function everything(store) {
  const out = {};
  for (const s of SCOPES) {
    const keys = await call(store, { t: "keys", scope: s });
    out[s] = {};
    for (const k of keys.values[0]) out[s][k] = (await call(store, { t: "get", scope: s, key: `["${k}"]`.replace(/^\[/, "").replace(/\]$/, "") })).values;
  }
  return out;
}

describe("property: the encrypted store answers as localfilesystem does", function () {
  this.timeout(300000);

  for (const cache of [true, false]) {
    it(`for any sequence of operations, cache ${cache}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
          const dirs = { localfilesystem: tempDir("oracle-lfs-"), encrypted: tempDir("oracle-enc-") };
          const config = { cache, flushInterval: 3600, env: ENV };
          const stores = {};
          try {
            for (const kind of Object.keys(dirs)) {
              stores[kind] = KINDS[kind].make({ dir: dirs[kind], ...config });
              await stores[kind].open();
            }
            for (const [i, o] of ops.entries()) {
              if (o.t === "restart") {
                for (const kind of Object.keys(dirs)) {
                  await stores[kind].close();
                  stores[kind] = KINDS[kind].make({ dir: dirs[kind], ...config });
                  await stores[kind].open();
                }
                continue;
              }
              const expected = await call(stores.localfilesystem, o);
              const actual = await call(stores.encrypted, o);
              assert.deepEqual(actual, expected, `op ${i}: ${JSON.stringify(o)}`);
            }
            for (const kind of Object.keys(dirs)) {
              await stores[kind].close();
              stores[kind] = KINDS[kind].make({ dir: dirs[kind], ...config });
              await stores[kind].open();
            }
            assert.deepEqual(await everything(stores.encrypted), await everything(stores.localfilesystem), "after a restart");
          } finally {
            for (const s of Object.values(stores)) await s.close();
            for (const d of Object.values(dirs)) fs.rmSync(d, { recursive: true, force: true });
          }
        }),
        { numRuns: Number(process.env.CONTEXT_RUNS) || (cache ? 150 : 60) },
      );
    });
  }
});
