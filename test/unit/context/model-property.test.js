"use strict";
/**
 * Property test against a model: any sequence of set, delete (set undefined), get and
 * restart on the encrypted store agrees with a plain in-memory model of scopes holding
 * JSON values (a restart is a JSON round trip of the model), with and without the
 * cache. Names include `__proto__`, `constructor` and `toString`: they are stored and
 * read as own data, and Object.prototype never changes.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const fc = require("fast-check");
const { encryptedStore, keyEnv, tempDir, memoryLog } = require("../../helpers/context");

const ENV = keyEnv();
const SCOPES = ["global", "flowA", "n1:flowA"];
const NAMES = ["a", "b", "x1", "__proto__", "constructor", "toString", "prototype"];

const name = fc.constantFrom(...NAMES);
const key = fc.oneof(name.map((n) => [n]), fc.tuple(name, name));
const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant("set"), scope: fc.constantFrom(...SCOPES), key, value: fc.jsonValue({ maxDepth: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("delete"), scope: fc.constantFrom(...SCOPES), key }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("get"), scope: fc.constantFrom(...SCOPES), key }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("restart") }) },
);

/** Quoted names, so a prototype name is a name and not syntax: `["__proto__"]["a"]`. */
const keyText = (parts) => parts.map((p, i) => (i === 0 ? `"${p}"` : `["${p}"]`)).join("");

const own = (obj, k) => obj !== null && typeof obj === "object" && Object.prototype.hasOwnProperty.call(obj, k);
const define = (obj, k, v) => Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });

/** The model: scope -> null-prototype object of own data properties. */
class Model {
  constructor() {
    this.scopes = new Map();
  }
  root(scope) {
    if (!this.scopes.has(scope)) this.scopes.set(scope, Object.create(null));
    return this.scopes.get(scope);
  }
  set(scope, [a, b], value) {
    const root = this.root(scope);
    if (b === undefined) return define(root, a, value);
    if (!own(root, a)) define(root, a, {});
    else if (typeof root[a] !== "object" || root[a] === null) return; // cannot set beneath a primitive
    define(root[a], b, value);
  }
  delete(scope, [a, b]) {
    const root = this.root(scope);
    if (b === undefined) delete root[a];
    else if (own(root, a) && typeof root[a] === "object" && root[a] !== null) delete root[a][b];
  }
  get(scope, [a, b]) {
    const root = this.scopes.get(scope);
    if (!root || !own(root, a)) return undefined;
    if (b === undefined) return root[a];
    return own(root[a], b) ? root[a][b] : undefined;
  }
  /** What survives a restart: JSON (an array's named property does not, as in any JSON store). */
  restart() {
    for (const [scope, root] of this.scopes) this.scopes.set(scope, Object.assign(Object.create(null), JSON.parse(JSON.stringify(root))));
  }
}

describe("property: the encrypted store agrees with an in-memory model", function () {
  this.timeout(300000);
  // Taken when the test runs: other test files (the node test helper loads `should`)
  // may have added to Object.prototype before this one starts.
  let protoBefore;
  beforeEach(() => {
    protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  });

  for (const cache of [true, false]) {
    it(`set/delete/get/restart, prototype names included, cache ${cache}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
          const dir = tempDir("model-");
          const make = () => encryptedStore({ dir, cache, flushInterval: 3600, env: ENV, log: memoryLog() });
          let store = make();
          await store.open();
          const model = new Model();
          const call = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
          try {
            for (const [i, o] of ops.entries()) {
              if (o.t === "restart") {
                await store.close();
                store = make();
                await store.open();
                model.restart();
              } else if (o.t === "set") {
                await call((cb) => store.set(o.scope, keyText(o.key), structuredClone(o.value), cb));
                model.set(o.scope, o.key, structuredClone(o.value));
                // Without the cache every write goes through the file: a JSON round trip.
                if (!cache) model.restart();
              } else if (o.t === "delete") {
                await call((cb) => store.set(o.scope, keyText(o.key), undefined, cb));
                model.delete(o.scope, o.key);
                if (!cache) model.restart();
              } else {
                const got = await call((cb) => store.get(o.scope, keyText(o.key), cb));
                assert.deepEqual(got, model.get(o.scope, o.key), `op ${i}: ${JSON.stringify(o)}`);
              }
            }
            for (const scope of SCOPES) {
              for (const a of NAMES) assert.deepEqual(await call((cb) => store.get(scope, keyText([a]), cb)), model.get(scope, [a]), `${scope} ${a} at the end`);
            }
            assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoBefore, "Object.prototype unchanged");
            assert.equal({}.a, undefined);
          } finally {
            await store.close();
            fs.rmSync(dir, { recursive: true, force: true });
          }
        }),
        { numRuns: Number(process.env.CONTEXT_RUNS) || (cache ? 150 : 50) },
      );
    });
  }
});
