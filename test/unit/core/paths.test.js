"use strict";
const assert = require("node:assert/strict");
const fc = require("fast-check");
const P = require("../../../dist/core/paths");

describe("lib/paths", () => {
  it("parses Node-RED property syntax with wildcards", () => {
    const p = P.parsePath('payload.items[0]["mac addr"].x[*].*');
    assert.deepEqual(p.segments, ["payload", "items", 0, "mac addr", "x", P.WILDCARD, P.WILDCARD]);
    assert.equal(p.hasWildcard, true);
    assert.equal(P.parsePath("payload").hasWildcard, false);
  });

  for (const bad of ["", ".a", "a.", "a..b", "a[", "a[x]", "a[-1]", 'a["x]', "a b", "a.#"]) {
    it(`rejects malformed path ${JSON.stringify(bad)}`, () => {
      assert.throws(() => P.parsePath(bad), P.PathError);
    });
  }

  for (const bad of ["__proto__", "a.__proto__.x", 'a["__proto__"]', "a.constructor.prototype", "prototype"]) {
    it(`refuses prototype path ${bad}`, () => {
      assert.throws(() => P.parsePath(bad), /not allowed/);
    });
  }

  it("finds matches through wildcards over arrays and objects", () => {
    const msg = { payload: { readings: [{ owner: "a", v: 1 }, { v: 2 }, { owner: "c" }], x: { p: { mac: 1 }, q: { mac: 2 } } } };
    const owners = P.findMatches(msg, P.parsePath("payload.readings[*].owner"));
    assert.deepEqual(owners.map((m) => m.value), ["a", "c"]);
    assert.deepEqual(owners.map((m) => P.formatKeys(m.keys)), ["payload.readings[0].owner", "payload.readings[2].owner"]);
    assert.deepEqual(P.findMatches(msg, P.parsePath("payload.x.*.mac")).map((m) => m.value), [1, 2]);
    assert.deepEqual(P.findMatches(msg, P.parsePath("payload.nope.x")), []);
  });

  it("`*` visits own __proto__, constructor and prototype keys as data; writes and removes stay own", () => {
    const text = '{"p":{"dev":{"s":1},"__proto__":{"s":2},"constructor":{"s":3},"prototype":{"s":4}}}';
    const root = JSON.parse(text);
    const path = P.parsePath("p.*.s");
    const matches = P.findMatches(root, path);
    assert.deepEqual(matches.map((m) => m.value), [1, 2, 3, 4]);
    assert.deepEqual(matches.map((m) => m.keys[1]), ["dev", "__proto__", "constructor", "prototype"]);
    matches.forEach((m) => P.replaceMatch(m, { polluted: m.value }));
    assert.equal(JSON.stringify(root), '{"p":{"dev":{"s":{"polluted":1}},"__proto__":{"s":{"polluted":2}},"constructor":{"s":{"polluted":3}},"prototype":{"s":{"polluted":4}}}}');
    // the values themselves, under `*`, replaced: still own data, no prototype set
    P.findMatches(root, P.parsePath("p.*")).forEach((m) => P.replaceMatch(m, { polluted: 5 }));
    assert.deepEqual(Object.keys(root.p), ["dev", "__proto__", "constructor", "prototype"]);
    assert.equal(Object.getPrototypeOf(root.p), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(root.p, "__proto__").value.polluted, 5);
    assert.equal(P.deleteMatches(root, P.parsePath("p.*")), 4);
    assert.deepEqual(Object.getOwnPropertyNames(root.p), []);
    assert.equal(Object.getPrototypeOf(root.p), Object.prototype);
    assert.equal({}.polluted, undefined);
    assert.equal(Object.prototype.polluted, undefined);
  });

  it("refuses to step into a Map or a Set (their entries are not properties) rather than skip them", () => {
    const root = { m: new Map([["a", { s: 1 }]]), s: new Set([1]), d: new Date(0) };
    assert.throws(() => P.findMatches(root, P.parsePath("m.*.s")), (e) => e instanceof P.PathError && /meets a Map/.test(e.message));
    assert.throws(() => P.findMatches(root, P.parsePath("s.a")), /meets a Set/);
    assert.throws(() => P.setValue(root, P.parsePath("m.a"), 1), P.PathError);
    assert.deepEqual(P.findMatches(root, P.parsePath("*")).map((m) => m.key), ["m", "s", "d"], "a Map as a value is fine");
    assert.deepEqual(P.findMatches(root, P.parsePath("d.*")), [], "a Date is a value, not a container");
  });

  it("pathsConflict: paths whose values cannot all be written into one object", () => {
    const c = (a, b) => P.pathsConflict(P.parsePath(a), P.parsePath(b));
    assert.match(c("readings[0]", "readings.x"), /readings would be an array for one and an object for the other/);
    assert.match(c("readings.x", "readings[0]"), /array for one and an object/);
    assert.match(c("a[0]", 'a["0"]'), /array for one and an object/);
    assert.match(c("a", "a.b"), /one is inside the other/);
    assert.match(c("a.b", "a.b"), /the same path/);
    assert.match(c("[0]", "a"), /the top level would be/);
    for (const [a, b] of [["a.b", "a.c"], ["a[0]", "a[1]"], ["a.b.c", "a.x.c"], ["t", "h"]]) assert.equal(c(a, b), null, `${a} ${b}`);
  });

  it("never walks into inherited properties", () => {
    const o = Object.create({ inherited: { secret: 1 } });
    assert.deepEqual(P.findMatches({ o }, P.parsePath("o.inherited.secret")), []);
    assert.equal(P.getValue({ o }, P.parsePath("o.inherited")), undefined);
    assert.equal(P.getValue({ a: "str" }, P.parsePath("a.length")), undefined);
  });

  it("sets values creating containers, and refuses to write through scalars", () => {
    const root = {};
    P.setValue(root, P.parsePath("a.b[1].c"), 5);
    assert.deepEqual(root.a.b[1], { c: 5 });
    assert.equal(root.a.b.length, 2);
    assert.throws(() => P.setValue({ a: 1 }, P.parsePath("a.b"), 2), /not an object/);
    assert.throws(() => P.setValue({}, P.parsePath("a[*]"), 2), /wildcard/);
  });

  it("deletes every match, splicing arrays from the end", () => {
    const root = { list: [{ k: 1 }, { k: 2 }, { k: 3 }], o: { a: 1, b: 2 } };
    assert.equal(P.deleteMatches(root, P.parsePath("list[*]")), 3);
    assert.deepEqual(root.list, []);
    assert.equal(P.deleteMatches(root, P.parsePath("o.*")), 2);
    assert.deepEqual(root.o, {});
  });

  it("property: no path and no JSON input pollutes Object.prototype", () => {
    const segment = fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "*", "a", "0"), fc.string({ maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.json(), (segs, json) => {
        const text = segs.join(".");
        let path;
        try {
          path = P.parsePath(text);
        } catch (e) {
          assert.ok(e instanceof P.PathError);
          return;
        }
        const root = JSON.parse(`{"__proto__":{"polluted":1},"a":${json}}`);
        P.findMatches(root, path).forEach((m) => P.replaceMatch(m, { polluted: 2 }));
        if (!path.hasWildcard) {
          try {
            P.setValue(root, path, { polluted: 3 });
          } catch (e) {
            assert.ok(e instanceof P.PathError, String(e)); // e.g. a key on an array
          }
        }
        P.deleteMatches(root, path);
        assert.equal({}.polluted, undefined);
        assert.equal(Object.prototype.polluted, undefined);
      }),
      { numRuns: 500 },
    );
  });
});
