"use strict";
// Objects from another realm: a function node runs in its own vm context, so what it
// builds has that context's Object.prototype, Date, Uint8Array... (design.md section 4:
// test shape, not prototype identity). Each engine must treat them as it treats ours.
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const vm = require("node:vm");
const P = require("../../../dist/core/paths");
const { privacyOf, appendTrail } = require("../../../dist/core/trail");
const M = require("../../../dist/minimize/minimize");
const { validateConfig } = require("../../../dist/core/validation");
const { Anonymizer, anonymizeSchema } = require("../../../dist/anonymize/anonymize");
const { planTransform } = require("../../../dist/encryption/message-crypto");
const { encryptValue, decryptValue } = require("../../../dist/encryption/jwe");
const { Keyring } = require("../../../dist/encryption/keyring");

/** Runs code in a new context, as a function node would build a value. */
const other = (code) => vm.runInNewContext(code);

function minimize(config, msg) {
  const v = validateConfig(M.minimizeSchema, config);
  if (!v.ok) throw new Error(v.error);
  return M.minimize(M.compile(v.value), msg);
}
function anonymizer(rules) {
  const v = validateConfig(anonymizeSchema, { rules });
  if (!v.ok) throw new Error(v.error);
  return new Anonymizer(v.value);
}

describe("objects from another realm (a function node's vm context)", () => {
  it("are foreign: the premise of these tests", () => {
    const o = other("({a:{secret:1}, __proto__x: 1})");
    assert.notEqual(Object.getPrototypeOf(o), Object.prototype);
    assert.equal(o instanceof Object, false);
    assert.equal(other("new Date(0)") instanceof Date, false);
    assert.equal(other("new Uint8Array([1])") instanceof Uint8Array, false);
  });

  it("the walker steps into them, `*` included, own __proto__ keys as data", () => {
    const o = other(`({a:{secret:1}, __proto__x: 1, list: [{secret: 2}], j: JSON.parse('{"__proto__":{"secret":3}}')})`);
    assert.equal(P.isContainer(o), true);
    assert.equal(P.isContainer(other("new Date(0)")), false, "a Date is a value");
    assert.equal(P.isContainer(other("new Uint8Array(2)")), false);
    const found = P.findMatches({ payload: o }, P.parsePath("payload.*.secret")).map((m) => m.value);
    assert.deepEqual(found, [1]);
    assert.deepEqual(P.findMatches({ payload: o }, P.parsePath("payload.j.*.secret")).map((m) => m.value), [3]);
    assert.deepEqual(P.findMatches({ payload: o }, P.parsePath("payload.list[*].secret")).map((m) => m.value), [2]);
    assert.throws(() => P.findMatches(other("({m: new Map([['a', 1]])})"), P.parsePath("m.*")), /meets a Map/);
  });

  it("minimize: keep, remove, round, time and coordinates treat them like ours", () => {
    const payload = () =>
      other(`({a:{secret:1.26, other: 2}, __proto__x: 1, when: new Date(Date.UTC(2024, 4, 1, 10, 23)), gps: {lat: 52.520008, lon: 13.404954}, list: [{v: 1.5, w: 0}], j: JSON.parse('{"__proto__":{"secret":2.5}}')})`);
    const keep = minimize(
      {
        mode: "keep",
        rules: [
          { path: "*.secret", op: "round" },
          { path: "when", op: "time", unit: "hour" },
          { path: "gps", op: "coordinates", decimals: 2 },
          { path: "list[*].v" },
          { path: "j.*.secret", op: "round" },
        ],
      },
      { payload: payload() },
    ).msg.payload;
    assert.equal(JSON.stringify(keep), '{"a":{"secret":1},"when":"2024-05-01T10:00:00.000Z","gps":{"lat":52.52,"lon":13.4},"list":[{"v":1.5}],"j":{"__proto__":{"secret":3}}}');
    assert.equal(keep.a.other, undefined);
    const removed = minimize({ mode: "remove", rules: [{ path: "*.secret", op: "remove" }, { path: "j.*.secret", op: "remove" }] }, { payload: payload() }).msg.payload;
    assert.equal(removed.a.secret, undefined);
    assert.equal(removed.a.other, 2);
    assert.equal(Object.getOwnPropertyDescriptor(removed.j, "__proto__").value.secret, undefined);
    assert.equal({}.secret, undefined);
  });

  it("minimize: a message and its msg.privacy from another realm", () => {
    const msg = other("({ payload: { a: 1, b: 2 }, privacy: { trail: [{ type: 'x', id: '1' }] }, req: {} })");
    const { msg: out } = minimize({ mode: "keep", rules: [{ path: "a" }] }, msg);
    assert.deepEqual(JSON.parse(JSON.stringify(out.payload)), { a: 1 });
    appendTrail(out, { type: "privacy-minimize", id: "n" });
    assert.equal(privacyOf(out).trail.length, 2);
  });

  it("anonymize: field rules with `*`, scan, and generalize of a Date", () => {
    const rec = () => other(`({a:{secret:'alice'}, __proto__x: 1, note: {text: 'mail bob@example.org'}, when: new Date(Date.UTC(2024, 4, 1, 10)), j: JSON.parse('{"__proto__":{"secret":"carol"}}')})`);
    const { value, summary } = anonymizer([
      { path: "*.secret", op: "mask" },
      { path: "j.*.secret", op: "mask" },
      { path: "note", op: "scan" },
      { path: "when", op: "generalize", kind: "date", granularity: "month" },
    ]).run(rec());
    assert.equal(value.a.secret, "*****");
    assert.equal(Object.getOwnPropertyDescriptor(value.j, "__proto__").value.secret, "*****");
    assert.equal(value.note.text, "mail <EMAIL>");
    assert.equal(value.when, "2024-05");
    assert.deepEqual(summary.entities, { email: 1 });
    const records = anonymizer([{ path: "*.secret", op: "redact" }]).run(other("[{a:{secret:1, k:2}}, {b:{secret:3}}]")).value;
    assert.equal(JSON.stringify(records), '[{"a":{"k":2}},{"b":{}}]');
  });

  it("encrypt/decrypt: fields under `*`, a whole object, and bytes", () => {
    const ring = new Keyring({ A: crypto.randomBytes(32) }, "A");
    const { kid, key } = ring.activeKey();
    const msg = { payload: other(`({a:{secret:'s1'}, __proto__x: 1, j: JSON.parse('{"__proto__":{"secret":"s2"}}')})`) };
    const enc = (v) => encryptValue(v, kid, key).jwe;
    const dec = (v) => decryptValue(v, ring).value;
    const targets = (fields) => ({ property: P.parsePath("payload"), fields: fields.map(P.parsePath) });
    const e = planTransform(msg, targets(["payload.*.secret", "payload.j.*.secret"]), enc);
    assert.equal(e.count, 2);
    e.apply();
    assert.match(msg.payload.a.secret, /^ey/);
    assert.match(Object.getOwnPropertyDescriptor(msg.payload.j, "__proto__").value.secret, /^ey/);
    planTransform(msg, targets(["payload.*.secret", "payload.j.*.secret"]), dec).apply();
    assert.equal(msg.payload.a.secret, "s1");
    assert.equal(Object.getOwnPropertyDescriptor(msg.payload.j, "__proto__").value.secret, "s2");
    assert.deepEqual(dec(enc(other("({a: [1, {b: 'x'}]})"))), { a: [1, { b: "x" }] });
    const bytes = dec(enc(other("new Uint8Array([0, 1, 255])")));
    assert.ok(Buffer.isBuffer(bytes), "a Uint8Array from another realm is encrypted as bytes, not as a JSON object");
    assert.deepEqual([...bytes], [0, 1, 255]);
  });
});
