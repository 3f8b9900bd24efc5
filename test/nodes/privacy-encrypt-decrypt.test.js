"use strict";
const assert = require("node:assert");
const crypto = require("node:crypto");
const helper = require("node-red-node-test-helper");
const fc = require("fast-check");
const CryptoJS = require("crypto-js");
const keyringNode = require("../../dist/nodes/privacy-keyring.js");
const encryptNode = require("../../dist/nodes/privacy-encrypt.js");
const decryptNode = require("../../dist/nodes/privacy-decrypt.js");
const catchNode = require("@node-red/nodes/core/common/25-catch.js");

helper.init(require.resolve("node-red"));

const keyA = crypto.randomBytes(32);
const keyB = crypto.randomBytes(32);
const b64 = (k) => k.toString("base64url");
const NODES = [keyringNode, encryptNode, decryptNode, catchNode];

/** keyring kr -> encrypt enc -> out1 ; decrypt dec -> out2 ; catch -> caught */
function flow({ activeKid = "A", encFields = [], decFields = [], property = "payload", decIn = false } = {}) {
  return [
    { id: "t", type: "tab" },
    { id: "kr", type: "privacy-keyring", activeKid },
    { id: "enc", type: "privacy-encrypt", z: "t", keyring: "kr", property, fields: encFields, wires: [["out1", ...(decIn ? ["dec"] : [])]] },
    { id: "dec", type: "privacy-decrypt", z: "t", keyring: "kr", property, fields: decFields, wires: [["out2"]] },
    { id: "out1", type: "helper", z: "t" },
    { id: "out2", type: "helper", z: "t" },
    { id: "c", type: "catch", z: "t", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "t" },
  ];
}
const creds = (keys, extra = {}) => ({ kr: { keys: JSON.stringify(keys) }, ...extra });

/**
 * Sends msg into node id and resolves with the first message at one of the sinks.
 * (Node-RED's input handlers do not support once(): one listener per sink, dispatching
 * to the pending run.)
 */
let pending = null;
function listen() {
  for (const s of ["out1", "out2", "caught"]) {
    helper.getNode(s).on("input", (m) => {
      const p = pending;
      if (!p || !p.sinks.includes(s)) return;
      pending = null;
      p.resolve({ at: s, msg: m });
    });
  }
}
function run(inputId, msg, sinks = ["out1", "out2", "caught"]) {
  return new Promise((resolve) => {
    pending = { resolve, sinks };
    helper.getNode(inputId).receive(msg);
  });
}
async function load(f, c) {
  await helper.load(NODES, f, c);
  listen();
}
const noKeyIn = (text) => {
  for (const k of [keyA, keyB]) {
    assert.ok(!String(text).includes(b64(k)), "a key leaked");
    assert.ok(!String(text).includes(k.toString("hex")), "a key leaked");
  }
};

describe("privacy-encrypt / privacy-decrypt nodes", function () {
  afterEach(() => helper.unload());

  it("round-trips whole payloads of every kind through encrypt then decrypt", async function () {
    await load(flow(), creds({ A: b64(keyA) }));
    const values = ["", "héllo ✓", 0, 42.5, true, null, {}, [], { a: { b: [1, 2] } }, [1, "x", null], Buffer.from([0, 1, 255]), Buffer.alloc(0)];
    for (const v of values) {
      const e = await run("enc", { payload: v });
      assert.strictEqual(e.at, "out1");
      assert.match(e.msg.payload, /^[\w-]+\.\.[\w-]+\.[\w-]*\.[\w-]+$/);
      assert.deepStrictEqual(e.msg.privacy.trail, [{ type: "privacy-encrypt", id: "enc", kid: "A", encrypted: 1 }]);
      const d = await run("dec", { payload: e.msg.payload });
      assert.strictEqual(d.at, "out2");
      if (Buffer.isBuffer(v)) assert.ok(Buffer.isBuffer(d.msg.payload) && d.msg.payload.equals(v));
      else assert.deepStrictEqual(d.msg.payload, v);
      assert.deepStrictEqual(d.msg.privacy.trail[0], { type: "privacy-decrypt", id: "dec", decrypted: 1, kids: ["A"], legacy: 0 });
    }
  });

  it("encrypts another property when configured", async function () {
    await load(flow({ property: "data.secret" }), creds({ A: b64(keyA) }));
    const e = await run("enc", { payload: "clear", data: { secret: { pin: 1234 } } });
    assert.strictEqual(e.msg.payload, "clear");
    assert.strictEqual(typeof e.msg.data.secret, "string");
    const d = await run("dec", e.msg);
    assert.deepStrictEqual(d.msg.data.secret, { pin: 1234 });
  });

  it("field mode: encrypts only the listed fields (wildcards too) and leaves the rest untouched", async function () {
    const fields = ["payload.readings[*].owner", "payload.site.address"];
    await load(flow({ encFields: fields, decFields: fields }), creds({ A: b64(keyA) }));
    const original = {
      site: { address: "1 Main St", city: "Lyon" },
      readings: [
        { t: 21.5, owner: "alice" },
        { t: 19, owner: { name: "bob", id: 7 } },
      ],
      other: [1, 2, 3],
    };
    const e = await run("enc", { topic: "sensors", payload: structuredClone(original) });
    const p = e.msg.payload;
    assert.strictEqual(e.msg.topic, "sensors");
    assert.deepStrictEqual(p.other, [1, 2, 3]);
    assert.strictEqual(p.site.city, "Lyon");
    assert.deepStrictEqual([p.readings[0].t, p.readings[1].t], [21.5, 19]);
    for (const v of [p.site.address, p.readings[0].owner, p.readings[1].owner]) assert.match(v, /^ey[\w-]+\.\./);
    assert.ok(!JSON.stringify(p).includes("alice") && !JSON.stringify(p).includes("Main St"));
    assert.strictEqual(e.msg.privacy.trail[0].encrypted, 3);
    const d = await run("dec", e.msg);
    assert.deepStrictEqual(d.msg.payload, original);
  });

  it("field mode: `*` reaches own __proto__, constructor and prototype keys (JSON.parse makes them) as data, both ways", async function () {
    const fields = ["payload.*.secret"];
    await load(flow({ encFields: fields, decFields: fields }), creds({ A: b64(keyA) }));
    const text = '{"dev":{"secret":"s-dev","t":1},"__proto__":{"secret":"s-proto","t":2},"constructor":{"secret":"s-ctor"},"prototype":{"secret":"s-prot"}}';
    const e = await run("enc", { payload: JSON.parse(text) });
    assert.strictEqual(e.at, "out1", e.msg.error && e.msg.error.message);
    const p = e.msg.payload;
    assert.deepStrictEqual(Object.keys(p), ["dev", "__proto__", "constructor", "prototype"]);
    for (const k of Object.keys(p)) {
      assert.ok(Object.prototype.hasOwnProperty.call(p, k), `${k} is an own key`);
      assert.match(p[k].secret, /^ey[\w-]+\.\./, `${k}.secret is encrypted`);
    }
    assert.strictEqual(Object.getPrototypeOf(p), Object.prototype);
    assert.strictEqual(p.__proto__.t, 2, "the rest of the own __proto__ value stays");
    // The plaintexts, not "s-": base64url ciphertext may hold "s-" by chance.
    assert.doesNotMatch(JSON.stringify(p), /s-(?:dev|proto|ctor|prot)\b/);
    assert.strictEqual(e.msg.privacy.trail[0].encrypted, 4);
    assert.strictEqual({}.secret, undefined);
    assert.strictEqual(Object.prototype.secret, undefined);
    const d = await run("dec", e.msg);
    assert.strictEqual(d.at, "out2", d.msg.error && d.msg.error.message);
    assert.deepStrictEqual(JSON.stringify(d.msg.payload), text);
    assert.ok(Object.prototype.hasOwnProperty.call(d.msg.payload, "__proto__"));
    assert.strictEqual(Object.getPrototypeOf(d.msg.payload), Object.prototype);
    assert.strictEqual(d.msg.privacy.trail[1].decrypted, 4);
    assert.strictEqual({}.secret, undefined);
  });

  it("field mode errors and the trail name the configured path, never a key found by `*`", async function () {
    await load(flow({ encFields: ["payload.*.secret"], decFields: ["payload.*.secret"] }), creds({ A: b64(keyA) }));
    const key = "alice@example.com";
    const e = await run("enc", { payload: { [key]: { secret: "x" } } });
    assert.strictEqual(e.at, "out1");
    assert.ok(!JSON.stringify(e.msg.privacy).includes(key));
    const d = await run("dec", { payload: { [key]: { secret: "not a jwe" } } });
    assert.strictEqual(d.at, "caught");
    assert.match(d.msg.error.message, /msg\.payload\.\*\.secret: not a JWE/);
    assert.ok(!d.msg.error.message.includes(key), d.msg.error.message);
  });

  it("rotation: encrypted under kid A, rotated to B: both decrypt", async function () {
    await load(flow({ activeKid: "A" }), creds({ A: b64(keyA) }));
    const underA = (await run("enc", { payload: "old data" })).msg.payload;
    await helper.unload();
    await load(flow({ activeKid: "B" }), creds({ A: b64(keyA), B: b64(keyB) }));
    const underB = (await run("enc", { payload: "new data" })).msg.payload;
    assert.strictEqual(JSON.parse(Buffer.from(underB.split(".")[0], "base64url")).kid, "B");
    assert.strictEqual((await run("dec", { payload: underA })).msg.payload, "old data");
    assert.strictEqual((await run("dec", { payload: underB })).msg.payload, "new data");
  });

  it("fails closed: tampered, truncated, unknown kid, not a JWE, missing property: nothing sent, msg untouched", async function () {
    await load(flow(), creds({ A: b64(keyA) }));
    const good = (await run("enc", { payload: { x: 1 } })).msg.payload;
    const otherKid = (() => {
      const [, ...rest] = good.split(".");
      return [Buffer.from(JSON.stringify({ alg: "dir", enc: "A256GCM", kid: "Z", cty: "json" })).toString("base64url"), ...rest].join(".");
    })();
    const tampered = good.slice(0, -3) + (good.at(-3) === "A" ? "B" : "A") + good.slice(-2);
    const cases = [
      [tampered, /does not authenticate/],
      [good.slice(0, 60), /JWE|base64url/],
      [otherKid, /unknown kid "Z"/],
      ["hello", /not a JWE compact string/],
      [42, /expected a JWE string/],
    ];
    for (const [payload, reason] of cases) {
      const r = await run("dec", { payload });
      assert.strictEqual(r.at, "caught");
      assert.match(r.msg.error.message, reason);
      assert.deepStrictEqual(r.msg.payload, payload);
      assert.strictEqual(r.msg.privacy, undefined);
    }
    const missing = await run("enc", { topic: "x" });
    assert.strictEqual(missing.at, "caught");
    assert.match(missing.msg.error.message, /msg.payload is missing/);
  });

  it("field mode fails closed on a missing field and leaves the other fields in clear (no half-processed message)", async function () {
    await load(flow({ encFields: ["payload.a", "payload.b"] }), creds({ A: b64(keyA) }));
    const r = await run("enc", { payload: { a: "keep me clear" } });
    assert.strictEqual(r.at, "caught");
    assert.match(r.msg.error.message, /msg.payload.b is missing/);
    assert.strictEqual(r.msg.payload.a, "keep me clear");
    assert.strictEqual(r.msg.privacy, undefined);
  });

  it("reads CryptoJS ciphertexts with the legacy passphrase credential", async function () {
    await load(flow(), creds({ A: b64(keyA) }, { dec: { legacyPassphrase: "old node secret" } }));
    const ct = CryptoJS.AES.encrypt("21.5 C, living room", "old node secret").toString();
    const d = await run("dec", { payload: ct });
    assert.strictEqual(d.msg.payload, "21.5 C, living room");
    assert.strictEqual(d.msg.privacy.trail[0].legacy, 1);
    const wrong = CryptoJS.AES.encrypt("21.5 C, living room", "another secret").toString();
    assert.strictEqual((await run("dec", { payload: wrong })).at, "caught");
  });

  it("without a usable keyring every message fails with the reason", async function () {
    await load(flow(), { kr: { keys: JSON.stringify({ A: b64(keyA).slice(0, 20) }) } });
    const r = await run("enc", { payload: "x" });
    assert.strictEqual(r.at, "caught");
    assert.match(r.msg.error.message, /keyring unavailable: key "A" must be 32 bytes/);
    assert.strictEqual(r.msg.payload, "x");
  });

  it("a corrupt use count file blocks encryption only: decryption works, and a fixed file is read again on the next deploy", async function () {
    const fs = require("node:fs");
    const os = require("node:os");
    const path = require("node:path");
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "gcm-corrupt-"));
    const usesFile = path.join(userDir, ".privacy-keyring-uses.json");
    fs.writeFileSync(usesFile, "{ torn");
    helper.settings({ userDir });
    try {
      const key = crypto.randomBytes(32);
      const { encryptValue } = require("../../dist/encryption/jwe.js");
      const jwe = encryptValue("still readable", "A", key).jwe;
      await load(flow(), creds({ A: b64(key) }));
      const blocked = await run("enc", { payload: "x" });
      assert.strictEqual(blocked.at, "caught");
      assert.match(blocked.msg.error.message, /encryption blocked: the key use counts cannot be read/);
      assert.strictEqual(blocked.msg.payload, "x", "nothing half done");
      const opened = await run("dec", { payload: jwe });
      assert.strictEqual(opened.at, "out2");
      assert.strictEqual(opened.msg.payload, "still readable");
      assert.strictEqual(fs.readFileSync(usesFile, "utf8"), "{ torn", "a file we cannot read is left as it is");
      // The user removes the broken file and deploys again: no restart needed.
      fs.rmSync(usesFile);
      await helper.unload();
      await load(flow(), creds({ A: b64(key) }));
      const again = await run("enc", { payload: "x" });
      assert.strictEqual(again.at, "out1");
      assert.ok(fs.existsSync(usesFile), "counts saved again");
    } finally {
      helper.settings({});
      require("../../dist/encryption/keyring.js").detachGcmUseStore();
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });

  it("warns (log and yellow status) when a key nears the GCM limit, and refuses at the limit", async function () {
    // A key of its own: use counts are per key for the whole process.
    await load(flow(), creds({ A: b64(crypto.randomBytes(32)) }));
    const enc = helper.getNode("enc");
    const ring = helper.getNode("kr").getKeyring();
    ring.recordGcmUse("A", 2 ** 30);
    const statuses = [];
    enc.on("call:status", (call) => statuses.push(call.args[0]));
    assert.strictEqual((await run("enc", { payload: "x" })).at, "out1");
    assert.ok(enc.warn.calledWithMatch(/key "A" has encrypted \d+ values .*make it active/));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(statuses.some((s) => s.fill === "yellow" && /rotate key A/.test(s.text)), JSON.stringify(statuses));
    ring.recordGcmUse("A", 2 ** 32);
    const r = await run("enc", { payload: "x" });
    assert.strictEqual(r.at, "caught");
    assert.match(r.msg.error.message, /2\^32/);
  });

  it("keys never appear in messages, status, logs or errors", async function () {
    await load(flow({ decIn: true }), creds({ A: b64(keyA), B: b64(keyB) }));
    const texts = [];
    for (const id of ["enc", "dec"]) {
      const n = helper.getNode(id);
      for (const ev of ["call:status", "call:warn", "call:error", "call:log"]) n.on(ev, (call) => texts.push(JSON.stringify(call.args[0])));
    }
    await run("enc", { payload: { v: 1 } }, ["out2"]);
    await run("dec", { payload: "garbage.x.y.z.w" }, ["caught"]);
    await new Promise((r) => setTimeout(r, 300));
    for (const call of helper.log().args) texts.push(JSON.stringify(call[0]));
    assert.ok(texts.length > 0);
    for (const t of texts) noKeyIn(t);
  });

  it("hostile messages: each one is either sent whole and correct or fails untouched; nothing is polluted (property)", async function () {
    this.timeout(20000);
    const fields = ["payload.a", "payload.list[*].b"];
    await load(flow({ encFields: fields, decFields: fields }), creds({ A: b64(keyA) }));
    const payloads = fc.sample(
      fc.oneof(
        fc.anything({ withBigInt: true }),
        fc.record({ a: fc.anything(), list: fc.array(fc.record({ b: fc.anything(), c: fc.string() }, { requiredKeys: [], noNullPrototype: true })) }, { requiredKeys: [], noNullPrototype: true }),
        fc.record({ a: fc.jsonValue(), list: fc.array(fc.record({ b: fc.jsonValue() }, { noNullPrototype: true }), { minLength: 1 }) }, { noNullPrototype: true }),
      ),
      { numRuns: 300, seed: 20261125 },
    );
    let roundTrips = 0;
    for (const payload of payloads) {
      let snapshot;
      try {
        snapshot = structuredClone(payload);
      } catch {
        continue; // not cloneable (e.g. a symbol): cannot be compared afterwards
      }
      const e = await run("enc", { payload });
      if (e.at === "caught") {
        assert.deepStrictEqual(e.msg.payload, snapshot, "a failed message is left untouched");
        assert.strictEqual(e.msg.privacy, undefined);
      } else {
        const d = await run("dec", { payload: e.msg.payload });
        assert.strictEqual(d.at, "out2", d.msg.error && d.msg.error.message);
        // What decrypt restores: strings and Buffers exactly, anything else as its JSON value.
        const restored = (v) => (typeof v === "string" || Buffer.isBuffer(v) ? v : JSON.parse(JSON.stringify(v)));
        const expected = structuredClone(snapshot);
        expected.a = restored(snapshot.a);
        for (const k of Object.keys(expected.list || {})) {
          const item = expected.list[k];
          if (item && typeof item === "object" && !ArrayBuffer.isView(item) && Object.hasOwn(item, "b") && item.b !== undefined) item.b = restored(item.b);
        }
        assert.deepStrictEqual(d.msg.payload, expected);
        roundTrips++;
      }
      // Decrypt on the raw hostile message must fail closed without changing it.
      const raw = await run("dec", { payload });
      assert.strictEqual(raw.at, "caught");
      assert.strictEqual({}.polluted, undefined);
      assert.strictEqual(Object.prototype.a, undefined);
    }
    assert.ok(roundTrips > 20, `only ${roundTrips} round trips`);
  });
});
