"use strict";
/**
 * Context keys are read exactly as Node-RED reads them: parseKey against
 * @node-red/util's normalisePropertyExpression (the oracle, with a scope object for
 * [msg.x] cross-references) on keys from the grammar and on arbitrary strings of its
 * characters; the parts, their types (a middle ".0." is a number, a trailing ".0" a
 * string) and the errors agree.
 */
const assert = require("node:assert/strict");
const path = require("node:path");
const fc = require("fast-check");
const { ROOT } = require("../../helpers/context");
const { parseKey, readParts } = require("../../../dist/context/property.js");

const { util } = require(path.join(ROOT, "node_modules", "@node-red", "util"));

const SCOPE = { a: "b", b: { c: 1 }, n: 2, z: null, t: true, list: ["x", "y"] };
const resolver = (expression) => {
  const resolve = (e) => readParts(SCOPE, parseKey(e.startsWith("msg.") ? e.slice(4) : e, resolve));
  return resolve(expression);
};

function ours(key) {
  try {
    return { parts: parseKey(key, resolver) };
  } catch (e) {
    return { error: e.message, code: e.code };
  }
}

function theirs(key) {
  try {
    return { parts: util.normalisePropertyExpression(key, SCOPE) };
  } catch (e) {
    return { error: e.message, code: e.code };
  }
}

describe("context keys: Node-RED's property syntax", () => {
  it("examples: parts and their types", () => {
    for (const [key, parts] of [
      ["a", ["a"]],
      ["a.b.c", ["a", "b", "c"]],
      ["a.0", ["a", "0"]],
      ["a.0.b", ["a", 0, "b"]],
      ["a[0]", ["a", 0]],
      ["0[1]", ["0", 1]],
      ['a["b c"]', ["a", "b c"]],
      ["a['x'].y", ["a", "x", "y"]],
      ['"quoted".x', ["quoted", "x"]],
      ["a[msg.a]", ["a", "b"]],
      ["a[msg.b.c]", ["a", 1]],
      ["a[msg.z]", ["a", null]],
      ["a[msg.list[1]]", ["a", "y"]],
    ]) {
      assert.deepEqual(ours(key), { parts }, key);
      assert.deepEqual(theirs(key), { parts }, key);
    }
    for (const bad of ["", " ", "a b", ".a", "a.", "[0]", "a[", "a]", "a[x]", "a..b", "a['']", 'a"b"', "a[msg.nothing]", "a[msg.b.c.d.e]", "a[msg.a"]) {
      assert.equal(ours(bad).code, "INVALID_EXPR", bad);
      assert.deepEqual(ours(bad), theirs(bad), bad);
    }
  });

  it("property: any key from the grammar or its alphabet parses (or fails) as in Node-RED", () => {
    const piece = fc.constantFrom("a", "b", "n", "z", "list", "0", "12", ".", "[", "]", "'", '"', " ", "msg.", "[msg.", "$", "_", "-", "x y");
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 12 }), (pieces) => {
        const key = pieces.join("");
        assert.deepEqual(ours(key), theirs(key), key);
      }),
      { numRuns: 20000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 16 }), (key) => {
        assert.deepEqual(ours(key), theirs(key), key);
      }),
      { numRuns: 5000 },
    );
  });
});
