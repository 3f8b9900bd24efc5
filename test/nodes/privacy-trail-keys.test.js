"use strict";
// The trail and the status name rule paths and counts, never a key found in the data
// (design.md section 4): an email address or an id can be a key (`payload["alice@example.com"]`).
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const helper = require("node-red-node-test-helper");
const catchNode = require("@node-red/nodes/core/common/25-catch.js");
const keyringNode = require("../../dist/nodes/privacy-keyring.js");
const minimizeNode = require("../../dist/nodes/privacy-minimize.js");
const anonymizeNode = require("../../dist/nodes/privacy-anonymize.js");
const encryptNode = require("../../dist/nodes/privacy-encrypt.js");
const decryptNode = require("../../dist/nodes/privacy-decrypt.js");

helper.init(require.resolve("node-red"));

const key = crypto.randomBytes(32).toString("base64url");
const IDS = ["mn", "an", "enc", "dec"];

/** minimize -> anonymize -> encrypt -> decrypt -> out, every node with `*` rules; catch -> caught. */
function flow(mode) {
  const minimizeRules =
    mode === "keep"
      ? [{ path: "*.v", op: "round" }, { path: "*.secret" }, { path: "*.name" }, { path: "*.age" }]
      : [{ path: "*.v", op: "round" }, { path: "*.drop", op: "remove" }];
  return [
    { id: "t", type: "tab" },
    { id: "kr", type: "privacy-keyring", activeKid: "A" },
    { id: "mn", type: "privacy-minimize", z: "t", mode, rules: minimizeRules, wires: [["an"]] },
    { id: "an", type: "privacy-anonymize", z: "t", property: "payload", rules: [{ path: "*.name", op: "mask" }, { path: "*.age", op: "noise", epsilon: 1 }], wires: [["enc"]] },
    { id: "enc", type: "privacy-encrypt", z: "t", keyring: "kr", fields: ["payload.*.secret"], wires: [["dec"]] },
    { id: "dec", type: "privacy-decrypt", z: "t", keyring: "kr", fields: ["payload.*.secret"], wires: [["out"]] },
    { id: "out", type: "helper", z: "t" },
    { id: "c", type: "catch", z: "t", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "t" },
  ];
}

describe("trail and status never name a key found in the data", function () {
  afterEach(() => helper.unload());

  for (const mode of ["keep", "remove"]) {
    it(`minimize (${mode}) -> anonymize -> encrypt -> decrypt, messages that pass and messages that fail`, async function () {
      await helper.load([keyringNode, minimizeNode, anonymizeNode, encryptNode, decryptNode, catchNode], flow(mode), { kr: { keys: JSON.stringify({ A: key }) } });
      const email = "alice@example.com";
      const uuid = crypto.randomUUID();
      const texts = [];
      for (const id of IDS) helper.getNode(id).on("call:status", (call) => texts.push(JSON.stringify(call.args[0])));
      const results = [];
      const settle = new Map();
      for (const sink of ["out", "caught"]) helper.getNode(sink).on("input", (m) => {
        results.push({ at: sink, msg: m });
        const done = settle.get(results.length);
        if (done) done();
      });
      const send = async (msg) => {
        const n = results.length + 1;
        const arrived = new Promise((resolve) => settle.set(n, resolve));
        helper.getNode("mn").receive(msg);
        await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error("no message")), 2000))]);
        return results[n - 1];
      };
      const good = await send({
        [uuid]: 1,
        payload: { [email]: { v: 1.26, secret: "s", name: "Alice", age: 31, drop: 1, x: 1 }, [uuid]: { v: 2.5, secret: "t" }, meta: { [email]: 1 } },
      });
      assert.equal(good.at, "out", good.msg.error && good.msg.error.message);
      assert.equal(good.msg.privacy.trail.length, 4);
      assert.equal(good.msg.payload[email].secret, "s", "the round trip restored the value");
      // each node fails on a value under a key from the data
      const failing = [
        { payload: { [email]: { v: "not a number" } } },
        { payload: { [email]: { age: "old" }, [uuid]: { v: 1 } } },
        { payload: { [uuid]: { secret: undefined, v: 1 }, [email]: { secret: () => 1 } } },
      ];
      for (const msg of failing) {
        const r = await send(msg);
        assert.equal(r.at, "caught");
        texts.push(r.msg.error.message);
        if (r.msg.privacy !== undefined) texts.push(JSON.stringify(r.msg.privacy));
      }
      // a ciphertext that does not open, under a key from the data
      await helper.getNode("dec").receive({ payload: { [uuid]: { secret: "not.a.jwe.at.all" } } });
      await new Promise((r) => setTimeout(r, 400)); // statuses are coalesced
      texts.push(JSON.stringify(good.msg.privacy));
      assert.ok(texts.length > 6, texts.join("\n"));
      for (const t of texts) for (const k of [email, uuid]) assert.ok(!t.includes(k), t);
    });
  }
});
