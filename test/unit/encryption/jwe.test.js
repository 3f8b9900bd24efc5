"use strict";
const assert = require("node:assert");
const crypto = require("node:crypto");
const fc = require("fast-check");
const CryptoJS4 = require("crypto-js");
// The crypto-js that node-red-contrib-crypto-js itself loads (its own 3.x copy when npm
// nests one), falling back to ours.
const CryptoJS3 = (() => {
  try {
    return require("node-red-contrib-crypto-js/node_modules/crypto-js");
  } catch {
    return require("crypto-js");
  }
})();
const { encryptValue, decryptValue, decryptJwe, decryptCryptoJs, JweError } = require("../../../dist/encryption/jwe.js");
const { Keyring } = require("../../../dist/encryption/keyring.js");

const keyA = crypto.randomBytes(32);
const keyB = crypto.randomBytes(32);
const ring = new Keyring({ A: keyA, B: keyB }, "A");

function header(jwe) {
  return JSON.parse(Buffer.from(jwe.split(".")[0], "base64url").toString("utf8"));
}
function rejects(jwe, keys = ring) {
  assert.throws(() => decryptValue(jwe, keys), JweError);
}

describe("lib/jwe", () => {
  let jose;
  before(async () => {
    jose = await import("jose");
  });

  it("values decrypted one after another never share bytes (the ciphertext buffer is reused)", () => {
    const big = crypto.randomBytes(300000);
    const small = crypto.randomBytes(700);
    const huge = crypto.randomBytes(1200000); // past the reused buffer's limit
    const outs = [big, small, huge, big, small].map((v) => decryptValue(encryptValue(v, "A", keyA).jwe, ring).value);
    [big, small, huge, big, small].forEach((v, i) => assert.ok(outs[i].equals(v), `value ${i}`));
    assert.notEqual(outs[0].buffer, outs[3].buffer);
    const texts = ["a".repeat(90000), "ü".repeat(10), "b".repeat(5)];
    assert.deepEqual(texts.map((t) => decryptValue(encryptValue(t, "A", keyA).jwe, ring).value), texts);
  });

  it("round-trips strings, numbers, objects, arrays, Buffers, unicode and empty values exactly", () => {
    const values = ["", "hello", "ünïcødé ✓ 𝄞 日本", "\u0000\uffff", "lone \ud800 surrogate", "\udc00", 0, -1.5, 1e300, true, false, null, {}, [], { a: [1, { b: "ç" }], n: null }, [1, "2", [3]], Buffer.alloc(0), Buffer.from([0, 255, 128, 10]), crypto.randomBytes(5000), "x".repeat(70000)];
    for (const v of values) {
      const { jwe } = encryptValue(v, "A", keyA);
      const out = decryptValue(jwe, ring).value;
      if (Buffer.isBuffer(v)) assert.ok(Buffer.isBuffer(out) && out.equals(v));
      else assert.deepStrictEqual(out, v);
    }
  });

  it("round-trips any JSON value (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const { jwe } = encryptValue(v, "B", keyB);
        assert.deepStrictEqual(decryptValue(jwe, ring).value, JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 300 },
    );
  });

  it("writes the contract header and a fresh IV every time", () => {
    const a = encryptValue({ x: 1 }, "A", keyA).jwe;
    const b = encryptValue({ x: 1 }, "A", keyA).jwe;
    assert.deepStrictEqual(header(a), { alg: "dir", enc: "A256GCM", kid: "A", cty: "json" });
    assert.strictEqual(header(encryptValue("s", "A", keyA).jwe).cty, "text/plain");
    assert.strictEqual(header(encryptValue(Buffer.from("s"), "A", keyA).jwe).cty, "octet-stream");
    assert.strictEqual(a.split(".")[1], "");
    assert.strictEqual(Buffer.from(a.split(".")[2], "base64url").length, 12);
    assert.notStrictEqual(a.split(".")[2], b.split(".")[2]);
    const ivs = new Set(Array.from({ length: 2000 }, () => encryptValue("v", "A", keyA).jwe.split(".")[2]));
    assert.strictEqual(ivs.size, 2000);
  });

  it("refuses values that are not data", () => {
    assert.throws(() => encryptValue(undefined, "A", keyA), JweError);
    assert.throws(() => encryptValue(() => 1, "A", keyA), JweError);
    assert.throws(() => encryptValue(10n, "A", keyA), JweError);
    const cyc = {};
    cyc.self = cyc;
    assert.throws(() => encryptValue(cyc, "A", keyA), JweError);
  });

  it("our JWE opens with jose compactDecrypt", async () => {
    for (const v of ["text ✓", { a: 1, b: [true, null] }, Buffer.from([1, 2, 3])]) {
      const { jwe } = encryptValue(v, "A", keyA);
      const { plaintext, protectedHeader } = await jose.compactDecrypt(jwe, keyA);
      assert.strictEqual(protectedHeader.kid, "A");
      const bytes = Buffer.from(plaintext);
      if (Buffer.isBuffer(v)) assert.ok(bytes.equals(v));
      else if (typeof v === "string") assert.strictEqual(bytes.toString("utf8"), v);
      else assert.deepStrictEqual(JSON.parse(bytes.toString("utf8")), v);
    }
  });

  it("a JWE made by jose opens with our decrypt (with cty json, text, none, and without kid)", async () => {
    const enc = (bytes, hdr, key) => new jose.CompactEncrypt(bytes).setProtectedHeader(hdr).encrypt(key);
    const j1 = await enc(Buffer.from(JSON.stringify({ t: 21.5 })), { alg: "dir", enc: "A256GCM", kid: "B", cty: "json" }, keyB);
    assert.deepStrictEqual(decryptValue(j1, ring).value, { t: 21.5 });
    const j2 = await enc(Buffer.from("plain ✓"), { alg: "dir", enc: "A256GCM", kid: "A" }, keyA);
    assert.strictEqual(decryptValue(j2, ring).value, "plain ✓");
    const j3 = await enc(Buffer.from([0xff, 0xfe]), { alg: "dir", enc: "A256GCM", kid: "A" }, keyA);
    assert.ok(decryptValue(j3, ring).value.equals(Buffer.from([0xff, 0xfe])));
    const j4 = await enc(Buffer.from("no kid"), { alg: "dir", enc: "A256GCM" }, keyA);
    assert.strictEqual(decryptValue(j4, ring).value, "no kid");
    const j5 = await enc(Buffer.from("no kid, other key"), { alg: "dir", enc: "A256GCM" }, keyB);
    rejects(j5);
  });

  it("refuses any alg other than dir and any enc other than A256GCM", async () => {
    const k16 = crypto.randomBytes(16);
    const other = [
      await new jose.CompactEncrypt(Buffer.from("x")).setProtectedHeader({ alg: "dir", enc: "A128GCM", kid: "A" }).encrypt(k16),
      await new jose.CompactEncrypt(Buffer.from("x")).setProtectedHeader({ alg: "A256KW", enc: "A256GCM", kid: "A" }).encrypt(keyA),
      await new jose.CompactEncrypt(Buffer.from("x")).setProtectedHeader({ alg: "A256GCMKW", enc: "A256GCM", kid: "A" }).encrypt(keyA),
      await new jose.CompactEncrypt(Buffer.from("x")).setProtectedHeader({ alg: "dir", enc: "A256CBC-HS512", kid: "A" }).encrypt(crypto.randomBytes(64)),
    ];
    for (const jwe of other) assert.throws(() => decryptValue(jwe, ring), /refused|encrypted key/);
    // A header rewritten to "none" or with zip/crit is refused before any key is used.
    const [, ...rest] = encryptValue("x", "A", keyA).jwe.split(".");
    for (const h of [{ alg: "none", enc: "A256GCM", kid: "A" }, { alg: "dir", enc: "A256GCM", kid: "A", zip: "DEF" }, { alg: "dir", enc: "A256GCM", kid: "A", crit: ["exp"] }]) {
      rejects([Buffer.from(JSON.stringify(h)).toString("base64url"), ...rest].join("."));
    }
  });

  it("refuses a wrong key and an unknown kid", () => {
    const { jwe } = encryptValue("secret", "A", keyA);
    const wrong = new Keyring({ A: crypto.randomBytes(32) }, "A");
    assert.throws(() => decryptValue(jwe, wrong), /does not authenticate under kid "A"/);
    const other = new Keyring({ C: keyA }, "C");
    assert.throws(() => decryptValue(jwe, other), /unknown kid "A"/);
  });

  it("rejects every single-bit flip of the compact string (exhaustive on one message)", () => {
    const { jwe } = encryptValue({ owner: "alice", t: 21.5 }, "A", keyA);
    let tried = 0;
    for (let i = 0; i < jwe.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = jwe.slice(0, i) + String.fromCharCode(jwe.charCodeAt(i) ^ (1 << bit)) + jwe.slice(i + 1);
        rejects(flipped);
        rejects(Buffer.from(flipped, "latin1"));
        tried++;
      }
    }
    assert.strictEqual(tried, jwe.length * 8);
  });

  it("rejects every single-bit flip of the decoded header, IV, ciphertext and tag (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue(), fc.uint8Array({ minLength: 0, maxLength: 200 }).map((a) => Buffer.from(a))), fc.nat(), fc.integer({ min: 0, max: 7 }), fc.constantFrom(0, 2, 3, 4), (value, pos, bit, part) => {
        const parts = encryptValue(value, "B", keyB).jwe.split(".");
        const bytes = Buffer.from(parts[part], "base64url");
        fc.pre(bytes.length > 0);
        bytes[pos % bytes.length] ^= 1 << bit;
        parts[part] = bytes.toString("base64url");
        rejects(parts.join("."));
      }),
      { numRuns: 1000 },
    );
  });

  it("rejects a header, IV or tag swapped from another message, and every truncation", () => {
    const a = encryptValue("first", "A", keyA).jwe.split(".");
    const b = encryptValue({ other: true }, "B", keyB).jwe.split(".");
    const c = encryptValue("third", "A", keyA).jwe.split(".");
    rejects([b[0], ...a.slice(1)].join("."));
    const kidSwap = encryptValue("x", "B", keyA).jwe.split(".");
    rejects([kidSwap[0], ...a.slice(1)].join("."));
    const ctySwap = encryptValue({ x: 1 }, "A", keyA).jwe.split(".");
    rejects([ctySwap[0], ...a.slice(1)].join("."));
    rejects([a[0], a[1], c[2], a[3], a[4]].join("."));
    rejects([a[0], a[1], a[2], a[3], c[4]].join("."));
    const whole = a.join(".");
    for (let n = 0; n < whole.length; n++) rejects(whole.slice(0, n));
    rejects(`${whole}A`);
    rejects(`${whole}.`);
    rejects(` ${whole}`);
  });

  it("refuses malformed input without crashing (property)", () => {
    const valid = encryptValue("v", "A", keyA).jwe;
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything(), fc.array(fc.string({ unit: "binary" }), { minLength: 5, maxLength: 5 }).map((p) => p.join(".")), fc.string().map((s) => `${valid.split(".")[0]}..${s}`)), (v) => {
        assert.throws(() => decryptValue(v, ring, "legacy pass"), JweError);
        assert.strictEqual({}.polluted, undefined);
      }),
      { numRuns: 1000 },
    );
  });

  it("decrypts ciphertexts made by crypto-js itself (v4 and v3, as CryptoJS-based nodes write them)", () => {
    for (const CryptoJS of [CryptoJS4, CryptoJS3]) {
      for (const text of ["hello", "ünïcødé ✓ 𝄞", JSON.stringify({ t: 21.5, owner: "bob" }), "x".repeat(5000), "a"]) {
        const ct = CryptoJS.AES.encrypt(text, "old secret").toString();
        assert.ok(ct.startsWith("U2FsdGVkX1"));
        const r = decryptValue(ct, ring, "old secret");
        assert.strictEqual(r.value, text);
        assert.strictEqual(r.format, "cryptojs");
      }
    }
  });

  it("crypto-js ciphertexts: wrong or missing passphrase and truncation are refused", () => {
    const ct = CryptoJS4.AES.encrypt("some longer text to decrypt", "old secret").toString();
    assert.throws(() => decryptValue(ct, ring), /no legacy passphrase/);
    assert.throws(() => decryptCryptoJs(ct, "wrong secret"), JweError);
    assert.throws(() => decryptCryptoJs(ct.slice(0, 30), "old secret"), JweError);
    assert.throws(() => decryptCryptoJs(`${ct}!`, "old secret"), JweError);
    // The same passphrase decrypted by crypto-js gives the same text (independent oracle).
    assert.strictEqual(CryptoJS4.AES.decrypt(ct, "old secret").toString(CryptoJS4.enc.Utf8), decryptCryptoJs(ct, "old secret").value);
  });

  it("decryptJwe names the problem and never the key", () => {
    const { jwe } = encryptValue("x", "A", keyA);
    const wrong = new Keyring({ A: crypto.randomBytes(32) }, "A");
    try {
      decryptJwe(jwe, wrong);
      assert.fail("should throw");
    } catch (e) {
      for (const k of [keyA, wrong.key("A")]) {
        assert.ok(!e.message.includes(k.toString("base64url")) && !e.message.includes(k.toString("hex")));
      }
    }
  });
});
