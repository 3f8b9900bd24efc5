"use strict";
// The editor's path check (resources/privacy-editor.js, plain browser JS) and the
// runtime's (src/core/paths.ts) must accept and refuse exactly the same paths and read
// the same segments: a path the dialog shows as valid must deploy, and the reverse.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const fc = require("fast-check");
const { parsePath, WILDCARD } = require("../../../dist/core/paths");

const source = fs.readFileSync(path.join(__dirname, "..", "..", "..", "resources", "privacy-editor.js"), "utf8");
const sandbox = { $: () => assert.fail("no DOM in this test") };
sandbox.window = sandbox;
vm.runInNewContext(source, sandbox);
const editor = sandbox.PrivacyEditor;

function runtime(text) {
  try {
    return { segments: parsePath(text).segments.map((s) => (s === WILDCARD ? "*" : typeof s === "number" ? { index: s } : { key: s })) };
  } catch (e) {
    return { error: e.message };
  }
}
function browser(text) {
  const r = editor.parsePath(text);
  // Values from the vm realm: compare as JSON.
  return JSON.parse(JSON.stringify(r));
}
function same(text) {
  const a = runtime(text);
  const b = browser(text);
  assert.equal("error" in b, "error" in a, `${JSON.stringify(text)}: runtime ${JSON.stringify(a)}, editor ${JSON.stringify(b)}`);
  if ("error" in a) assert.ok(a.error.endsWith(b.error), `${JSON.stringify(text)}: same reason (${a.error} / ${b.error})`);
  else assert.deepEqual(b.segments, a.segments, JSON.stringify(text));
}

const EXAMPLES = [
  "payload", "payload.gps.lat", "payload.items[0].mac", 'payload["a key"]', "payload['it''s']", 'payload["a\\"b"]',
  "payload.readings[*].owner", "payload.*.mac", "*", "*.secret", "[0]", "[*]", " payload.x ", "payload.a-b", "$x._y",
  "", " ", ".", "payload.", ".payload", "payload..x", "payload[", "payload[]", "payload[x]", "payload[-1]", "payload[1.5]",
  'payload["x]', "payload[' ']", "payload[ 3 ]", "payload.[0]", "payload*", "payload.9", "payload x", "msg.payload",
  "__proto__", "payload.__proto__", 'payload["constructor"]', "payload.prototype.x", "payload['__proto__']", "a.__proto__x",
  "payload.é", "payload\n.x", "payload[*][*]", "**", "*.*", "payload.*x",
];

describe("editor path check = runtime path grammar", () => {
  it("agrees on every documented and near-miss example", () => {
    for (const text of EXAMPLES) same(text);
  });

  it("agrees on paths built from the grammar's own tokens (property)", () => {
    const token = fc.constantFrom("a", "b1", "$x", "_", "-", ".", "[", "]", "*", "0", "12", '"', "'", "\\", " ", "__proto__", "constructor", "prototype", "é", "msg.", "\n");
    fc.assert(fc.property(fc.array(token, { maxLength: 12 }), (parts) => same(parts.join(""))), { numRuns: 5000 });
  });

  it("pathProblem applies the wildcard and msg. options", () => {
    assert.equal(editor.pathProblem("payload.*", { wildcard: false }), 'cannot contain "*"');
    assert.equal(editor.pathProblem("msg.payload.x", { msgPrefix: true }), null);
    assert.equal(editor.isPath("payload[0]"), true);
    assert.deepEqual(Array.from(editor.toList("a, b\nc,,")), ["a", "b", "c"]);
  });
});
