"use strict";
/**
 * The behaviours Node-RED's localfilesystem spec checks
 * (test/unit/@node-red/runtime/lib/nodes/context/localfilesystem_spec.js), written
 * again as our tests and run against Node-RED's own localfilesystem (the oracle: the
 * test says what it does) and against the encrypted store (which must do the same):
 * get/set of every JSON type, nested keys, multiple keys, invalid keys and callbacks,
 * keys, delete, clean, the cache (load, flush after flushInterval, flush on close),
 * the base and user directory. Where the encrypted store differs by design (an empty
 * or unreadable file is refused, not read as empty) the test says so.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { KINDS, keyEnv, tempDir, get, set, keys } = require("../../helpers/context");

const ENV = keyEnv();

for (const [kind, K] of Object.entries(KINDS)) {
  const encrypted = kind === "encrypted";

  describe(`context store conformance: ${kind}${encrypted ? "" : " (oracle)"}`, function () {
    this.timeout(20000);
    let dir;
    const open = async (config = {}) => {
      const store = K.make({ dir, env: ENV, ...config });
      await store.open();
      return store;
    };
    beforeEach(() => {
      dir = tempDir(`conf-${kind}-`);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const cache of [false, true]) {
      describe(`get/set, cache ${cache}`, () => {
        let store;
        beforeEach(async () => {
          store = await open({ cache, flushInterval: 3600 });
        });
        afterEach(async () => {
          await store.clean([]);
          await store.close();
        });

        it("stores a property; a missing one is undefined", async () => {
          assert.equal(await get(store, "nodeX", "foo"), undefined);
          await set(store, "nodeX", "foo", "test");
          assert.equal(await get(store, "nodeX", "foo"), "test");
        });

        it("creates missing parents: an object before a name, an array before an index", async () => {
          await set(store, "nodeX", "foo.bar", "test");
          assert.deepEqual(await get(store, "nodeX", "foo"), { bar: "test" });
          await set(store, "nodeX", "list[0].name", "b");
          assert.deepEqual(await get(store, "nodeX", "list"), [{ name: "b" }]);
          // A middle ".0." is an index (an array is made), a trailing ".0" a name.
          await set(store, "nodeX", "m.0.x", 1);
          await set(store, "nodeX", "n.0", 1);
          assert.deepEqual(await get(store, "nodeX", "m"), [{ x: 1 }]);
          assert.deepEqual(await get(store, "nodeX", "n"), { 0: 1 });
        });

        it("stores a node's scope (node:flow) apart from others", async () => {
          await set(store, "abc:def", "foo.bar", "test");
          assert.deepEqual(await get(store, "abc:def", "foo"), { bar: "test" });
          assert.equal(await get(store, "def", "foo"), undefined);
        });

        it("deletes with undefined, at any depth; an array element is spliced out", async () => {
          await set(store, "nodeX", "foo.abc.bar1", "test1");
          await set(store, "nodeX", "foo.abc.bar2", "test2");
          assert.deepEqual(await get(store, "nodeX", "foo.abc"), { bar1: "test1", bar2: "test2" });
          await set(store, "nodeX", "foo.abc.bar1", undefined);
          assert.deepEqual(await get(store, "nodeX", "foo.abc"), { bar2: "test2" });
          await set(store, "nodeX", "foo.abc", undefined);
          assert.equal(await get(store, "nodeX", "foo.abc"), undefined);
          await set(store, "nodeX", "foo", undefined);
          assert.equal(await get(store, "nodeX", "foo"), undefined);
          assert.deepEqual(await keys(store, "nodeX"), []);
          await set(store, "nodeX", "arr", ["a", "b", "c"]);
          await set(store, "nodeX", "arr[1]", undefined);
          assert.deepEqual(await get(store, "nodeX", "arr"), ["a", "c"]);
        });

        it("keeps scopes apart", async () => {
          await set(store, "nodeX", "foo", "testX");
          await set(store, "nodeY", "foo", "testY");
          assert.equal(await get(store, "nodeX", "foo"), "testX");
          assert.equal(await get(store, "nodeY", "foo"), "testY");
        });

        it("stores strings, numbers, null, booleans, objects, arrays, arrays of arrays and of objects", async () => {
          const values = {
            s: "bar",
            s1: "1",
            n: 1,
            z: null,
            t: true,
            f: false,
            o: { obj: "bar" },
            a: ["a", "b", "c"],
            aa: [["a", "b", "c"], [1, 2, 3, 4], [true, false]],
            ao: [{ obj: "bar1" }, { obj: "bar2" }, { obj: "bar3" }],
          };
          for (const [k, v] of Object.entries(values)) await set(store, "nodeX", k, v);
          for (const [k, v] of Object.entries(values)) assert.deepEqual(await get(store, "nodeX", k), v, k);
          assert.equal(await get(store, "nodeX", "a[1]"), "b");
          assert.deepEqual(await get(store, "nodeX", "aa[1]"), [1, 2, 3, 4]);
          assert.deepEqual(await get(store, "nodeX", "ao[1]"), { obj: "bar2" });
          assert.equal(await get(store, "nodeX", 'ao[2]["obj"]'), "bar3");
        });

        it("sets and gets several keys at once; missing values are null, unknown keys undefined", async () => {
          await set(store, "nodeX", ["one", "two", "three"], ["test1", "test2", "test3"]);
          const args = await new Promise((resolve) => store.get("nodeX", ["one", "two", "unknown"], (...a) => resolve(a)));
          assert.deepEqual(args, [undefined, "test1", "test2", undefined]);
          await set(store, "nodeX", ["four", "five"], "test4");
          assert.deepEqual(await get(store, "nodeX", ["four", "five"]), ["test4", null]);
        });

        it("gives an error for a bad key among several; a set then sets none before it without the cache", async () => {
          await set(store, "nodeX", ["one", "two", "three"], ["test1", "test2", "test3"]);
          await assert.rejects(get(store, "nodeX", ["one", ".foo", "three"]));
          await assert.rejects(set(store, "nodeX", ["four", ".foo", "five"], ["a", "b", "c"]));
          // Without the cache the file is not written; with it, Node-RED's memory cache
          // has set the keys before the bad one (localfilesystem does the same).
          assert.equal(await get(store, "nodeX", "four"), cache ? "a" : undefined);
        });

        it("gives an error for an invalid key on get and set", async () => {
          await set(store, "nodeX", "foo", "bar");
          for (const bad of [" ", "a b", "foo.", ".foo", "foo[", "foo[x]", "a..b", "foo['']", "foo[msg.nothere]"]) {
            await assert.rejects(get(store, "nodeX", bad), undefined, bad);
            await assert.rejects(set(store, "nodeX", bad, 1), undefined, bad);
          }
        });

        it("throws when a callback is not a function; a set without callback and a bad key does not throw", () => {
          assert.throws(() => store.get("nodeX", "foo", "callback"));
          assert.throws(() => store.set("nodeX", "foo", "bar", "callback"));
          if (!cache) {
            assert.throws(() => store.get("nodeX", "foo"));
            assert.throws(() => store.keys("nodeX"));
          }
          assert.throws(() => store.keys("nodeX", "callback"));
          if (!cache) assert.doesNotThrow(() => store.set("nodeX", " ", "bar"));
        });

        it("enumerates keys in order, per scope", async () => {
          assert.deepEqual(await keys(store, "nodeX"), []);
          await set(store, "nodeX", "foo", "bar");
          assert.deepEqual(await keys(store, "nodeX"), ["foo"]);
          await set(store, "nodeX", "abc.def", "bar");
          assert.deepEqual(await keys(store, "nodeX"), ["foo", "abc"]);
          await set(store, "nodeY", "hoge", "piyo");
          assert.deepEqual(await keys(store, "nodeY"), ["hoge"]);
          // Integer-like names come first, as in any JavaScript object (and a reload).
          await set(store, "nodeY", "7", "seven");
          assert.deepEqual(await keys(store, "nodeY"), ["7", "hoge"]);
        });

        it("deletes a scope, its file too, and leaves the others", async () => {
          await set(store, "nodeX", "foo", "testX");
          await set(store, "nodeY", "foo", "testY");
          await store.delete("nodeX");
          assert.equal(await get(store, "nodeX", "foo"), undefined);
          assert.equal(await get(store, "nodeY", "foo"), "testY");
          await store.close();
          assert.equal(K.readDisk(dir, "nodeX", { env: ENV }), undefined);
          store = await open({ cache, flushInterval: 3600 });
          assert.equal(await get(store, "nodeY", "foo"), "testY");
          assert.equal(await get(store, "nodeX", "foo"), undefined);
        });

        it("clean removes the scopes of nodes and flows no longer active, never global", async () => {
          await set(store, "global", "foo", "testGlobal");
          await set(store, "nodeX:flow1", "foo", "testX");
          await set(store, "nodeY:flow2", "foo", "testY");
          await set(store, "flow3", "foo", "test3");
          await store.clean(["flow1", "nodeX", "flow3"]);
          assert.equal(await get(store, "nodeX:flow1", "foo"), "testX");
          assert.equal(await get(store, "nodeY:flow2", "foo"), undefined);
          assert.equal(await get(store, "flow3", "foo"), "test3");
          await store.clean([]);
          assert.equal(await get(store, "nodeX:flow1", "foo"), undefined);
          assert.equal(await get(store, "flow3", "foo"), undefined);
          assert.equal(await get(store, "global", "foo"), "testGlobal");
          await store.close();
          // localfilesystem's cache still flushes a cleaned scope it had pending, as {}: ours does not.
          const left = K.readDisk(dir, "nodeX:flow1", { env: ENV });
          if (encrypted || !cache) assert.equal(left, undefined);
          else assert.deepEqual(left, {});
          assert.deepEqual(K.readDisk(dir, "global", { env: ENV }), { foo: "testGlobal" });
          store = await open({ cache, flushInterval: 3600 });
        });
      });
    }

    describe("the cache", () => {
      it("loads every scope when it opens (the files are not read again)", async () => {
        const seed = await open({ cache: false });
        await set(seed, "global", "key", "global");
        await set(seed, "flow", "key", "flow");
        await set(seed, "node:flow", "key", "node");
        await seed.close();
        const store = await open({ cache: true });
        fs.rmSync(path.join(dir, K.base), { recursive: true, force: true });
        assert.equal(store.get("global", "key"), "global");
        assert.equal(store.get("flow", "key"), "flow");
        assert.equal(store.get("node:flow", "key"), "node");
        await store.close();
      });

      it("writes a scope only after flushInterval, and on close", async () => {
        const store = await open({ cache: true, flushInterval: 1 });
        store.set("global", "foo", "bar");
        assert.equal(K.readDisk(dir, "global", { env: ENV }), undefined, "not written before the flush");
        await new Promise((r) => setTimeout(r, 1300));
        assert.deepEqual(K.readDisk(dir, "global", { env: ENV }), { foo: "bar" });
        store.set("global", "foo2", "bar2");
        store.set("flow1", "x", 1);
        await store.close();
        assert.deepEqual(K.readDisk(dir, "global", { env: ENV }), { foo: "bar", foo2: "bar2" });
        assert.deepEqual(K.readDisk(dir, "flow1", { env: ENV }), { x: 1 });
      });

      it("answers synchronously: get, set and keys without callbacks", async () => {
        const store = await open({ cache: true, flushInterval: 3600 });
        store.set("global", "foo", "bar");
        store.set("global", "foo2", "bar2");
        assert.equal(store.get("global", "foo"), "bar");
        assert.deepEqual(store.get("global", ["foo", "foo2"]), ["bar", "bar2"]);
        assert.deepEqual(store.keys("global"), ["foo", "foo2"]);
        assert.throws(() => store.get("global", "a b"), /Invalid property expression/);
        assert.throws(() => store.set("global", "a b", 1), /Invalid property expression/);
        await store.delete("global");
        assert.equal(store.get("global", "foo"), undefined);
        await store.close();
      });

      it("returns the very object it holds: a change to it is saved with the next flush of its scope", async () => {
        const store = await open({ cache: true, flushInterval: 3600 });
        store.set("global", "obj", { n: 1 });
        const obj = store.get("global", "obj");
        assert.equal(store.get("global", "obj"), obj);
        obj.n = 2;
        store.set("global", "other", true);
        await store.close();
        assert.deepEqual(K.readDisk(dir, "global", { env: ENV }), { obj: { n: 2 }, other: true });
      });

      it("cleans scopes of flows that are gone from the cache", async () => {
        const seed = await open({ cache: false });
        await set(seed, "flowA", "key", "flowA");
        await set(seed, "flowB", "key", "flowB");
        await seed.close();
        const store = await open({ cache: true, flushInterval: 3600 });
        assert.equal(store.get("flowA", "key"), "flowA");
        assert.equal(store.get("flowB", "key"), "flowB");
        await store.clean(["flowA"]);
        assert.equal(store.get("flowA", "key"), "flowA");
        assert.equal(store.get("flowB", "key"), undefined);
        await store.close();
      });
    });

    describe("values as they come back from disk", () => {
      it("a Buffer is the same Buffer until a reload, then {type, data}; a Date its ISO string; undefined and functions are dropped", async () => {
        const store = await open({ cache: true, flushInterval: 3600 });
        const buf = Buffer.from("hi");
        const when = new Date("2026-05-01T10:00:00Z");
        store.set("global", "buf", buf);
        store.set("global", "when", when);
        store.set("global", "fn", () => 1);
        store.set("global", "obj", { keep: 1, drop: undefined });
        assert.equal(store.get("global", "buf"), buf);
        await store.close();
        const again = await open({ cache: true });
        assert.deepEqual(again.get("global", "buf"), { type: "Buffer", data: [104, 105] });
        assert.equal(again.get("global", "when"), "2026-05-01T10:00:00.000Z");
        assert.equal(again.get("global", "fn"), undefined);
        assert.deepEqual(again.get("global", "obj"), { keep: 1 });
        assert.deepEqual(again.keys("global"), ["buf", "when", "obj"]);
        await again.close();
      });

      it("a circular reference is dropped when written, the rest kept", async () => {
        const store = await open({ cache: true, flushInterval: 3600 });
        const a = { x: 1, list: [1] };
        a.self = a;
        a.list.push(a);
        store.set("global", "a", a);
        await store.close();
        const again = await open({ cache: true });
        assert.deepEqual(again.get("global", "a"), { x: 1, list: [1, null] });
        await again.close();
      });

      it("a key that refers to another key of the same scope ([msg.name]) reads it there", async () => {
        const store = await open({ cache: true, flushInterval: 3600 });
        store.set("global", "which", "b");
        store.set("global", "table", { a: 1, b: 2 });
        assert.equal(store.get("global", "table[msg.which]"), 2);
        store.set("global", "table[msg.which]", 3);
        assert.deepEqual(store.get("global", "table"), { a: 1, b: 3 });
        assert.throws(() => store.get("global", "table[msg.nothing]"), /Invalid expression/);
        await store.close();
      });
    });

    describe("configuration", () => {
      it("another base folder is another store", async () => {
        const a = await open({ cache: false });
        const b = await open({ cache: false, base: "contexts2" });
        await set(b, "node2", "foo2", "bar2");
        assert.equal(await get(b, "node2", "foo2"), "bar2");
        assert.equal(await get(a, "node2", "foo2"), undefined);
        assert.ok(fs.existsSync(path.join(dir, "contexts2")));
        await a.close();
        await b.close();
      });

      it("uses Node-RED's userDir when no dir is given", async () => {
        const store = K.make({ settings: { userDir: dir }, base: "contexts2", cache: false, env: ENV });
        await store.open();
        await set(store, "node2", "foo2", "bar2");
        assert.equal(await get(store, "node2", "foo2"), "bar2");
        assert.ok(fs.existsSync(path.join(dir, "contexts2")));
        await store.close();
      });

      it(encrypted ? "refuses a file that is empty or not its format (localfilesystem reads an empty one as {})" : "reads an empty file as an empty scope, and errors on a corrupt one", async () => {
        const file = path.join(dir, K.base, "nodeX", encrypted ? "flow.enc" : "flow.json");
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, "");
        if (encrypted) {
          await assert.rejects(open({ cache: false }), /flow\.enc: .*not an encrypted context file/);
          fs.writeFileSync(file, "{abc");
          await assert.rejects(open({ cache: true }), /not an encrypted context file/);
        } else {
          const store = await open({ cache: false });
          assert.equal(await get(store, "nodeX", "foo"), undefined);
          await set(store, "nodeX", "foo", "test");
          assert.equal(await get(store, "nodeX", "foo"), "test");
          fs.writeFileSync(file, "{abc");
          await assert.rejects(get(store, "nodeX", "foo"));
          await store.close();
        }
      });
    });
  });
}
