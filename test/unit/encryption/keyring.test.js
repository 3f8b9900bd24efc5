"use strict";
const assert = require("node:assert");
const crypto = require("node:crypto");
const fc = require("fast-check");
const { Keyring, parseKeys, buildKeyring, keyFromPassphrase, decodeKey, KeyringError } = require("../../../dist/encryption/keyring.js");

const k1 = crypto.randomBytes(32);
const k2 = crypto.randomBytes(32);
const json = JSON.stringify({ a: k1.toString("base64url"), b: k2.toString("base64url") });

describe("lib/keyring", () => {
  it("parses kid -> base64url keys and exposes the interface", () => {
    const kr = new Keyring(parseKeys(json), "b");
    assert.strictEqual(kr.activeKid, "b");
    assert.ok(kr.hasKid("a") && kr.hasKid("b") && !kr.hasKid("c"));
    assert.ok(kr.key("a").equals(k1));
    const active = kr.activeKey();
    assert.strictEqual(active.kid, "b");
    assert.ok(active.key.equals(k2));
    assert.deepStrictEqual(kr.kids(), ["b", "a"]);
  });

  it("accepts standard base64 with padding too", () => {
    assert.ok(decodeKey(k1.toString("base64"), "x").equals(k1));
  });

  it("throws a clear error for an unknown kid", () => {
    const kr = new Keyring(parseKeys(json), "a");
    assert.throws(() => kr.key("zz"), /unknown kid "zz"/);
  });

  it("subkey is HKDF-SHA256(key, empty salt, info, 32)", () => {
    const kr = new Keyring(parseKeys(json), "a");
    const expect = Buffer.from(crypto.hkdfSync("sha256", k1, Buffer.alloc(0), Buffer.from("pseudonym"), 32));
    assert.ok(kr.subkey("pseudonym").equals(expect));
    const expectB = Buffer.from(crypto.hkdfSync("sha256", k2, Buffer.alloc(0), Buffer.from("pseudonym"), 32));
    assert.ok(kr.subkey("pseudonym", "b").equals(expectB));
    assert.ok(!kr.subkey("other").equals(expect));
    assert.throws(() => kr.subkey("x", "nope"), /unknown kid/);
  });

  it("rejects keys that are not 32 bytes, bad JSON and bad kids, without quoting the key", () => {
    const short = crypto.randomBytes(16).toString("base64url");
    const long = crypto.randomBytes(33).toString("base64url");
    for (const text of [JSON.stringify({ a: short }), JSON.stringify({ a: long }), JSON.stringify({ a: 5 }), "{}", "[]", "null", "", `{"a":"${short}"`, JSON.stringify({ "bad kid": k1.toString("base64url") })]) {
      assert.throws(() => parseKeys(text), (e) => {
        assert.ok(e instanceof KeyringError, e.message);
        assert.ok(!e.message.includes(short) && !e.message.includes(long) && !e.message.includes(k1.toString("base64url")), e.message);
        return true;
      });
    }
    // 43 characters whose last 2 bits are not zero are not a canonical 32-byte key.
    const t = k1.toString("base64url");
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const idx = alphabet.indexOf(t[42]);
    const noncanon = t.slice(0, 42) + alphabet[(idx & ~3) | 1];
    assert.throws(() => decodeKey(noncanon, "a"), /32 bytes/);
  });

  it("the active kid must be among the keys", () => {
    assert.throws(() => new Keyring(parseKeys(json), "c"), /active kid "c" is not among the keys/);
    assert.throws(() => buildKeyring({ source: "credentials", activeKid: "", keysText: json }), /active kid/);
  });

  it("builds from credentials, env and passphrase", () => {
    assert.ok(buildKeyring({ source: "credentials", activeKid: "a", keysText: json }).key("a").equals(k1));
    assert.ok(buildKeyring({ source: "env", activeKid: "a", envVar: "K", envValue: json }).key("b").equals(k2));
    assert.throws(() => buildKeyring({ source: "env", activeKid: "a", envVar: "K", envValue: undefined }), /env var K is not set/);
    assert.throws(() => buildKeyring({ source: "credentials", activeKid: "a" }), /no keys/);
    const salt = crypto.randomBytes(16).toString("base64url");
    const params = { N: 1024, r: 8, p: 1 };
    const kr = buildKeyring({ source: "passphrase", activeKid: "p", passphrase: "correct horse battery", salt, scrypt: params });
    const expect = crypto.scryptSync("correct horse battery", Buffer.from(salt, "base64url"), 32, params);
    assert.ok(kr.key("p").equals(expect));
    assert.throws(() => keyFromPassphrase("short", salt, params), /at least 12/);
    assert.throws(() => keyFromPassphrase("long enough passphrase", "", params), /salt/);
  });

  it("copies keys so callers cannot change them, and counts GCM uses per kid", () => {
    const buf = Buffer.from(k1);
    const kr = new Keyring(new Map([["a", buf]]), "a");
    buf.fill(0);
    assert.ok(kr.key("a").equals(k1));
    assert.strictEqual(kr.recordGcmUse("a"), 1);
    assert.strictEqual(kr.recordGcmUse("a", 9), 10);
    assert.deepStrictEqual(kr.gcmUseCounts(), { a: 10 });
  });

  it("GCM use counts are per key: shared by keyrings holding the same key (a redeploy)", () => {
    const key = crypto.randomBytes(32);
    const first = new Keyring({ x: key, y: crypto.randomBytes(32) }, "x");
    first.recordGcmUse("x", 5);
    const second = new Keyring({ renamed: key }, "renamed");
    assert.strictEqual(second.gcmUseCount("renamed"), 5);
    assert.strictEqual(second.recordGcmUse("renamed"), 6);
    assert.strictEqual(first.gcmUseCount("x"), 6);
    assert.deepStrictEqual(first.gcmUseCounts(), { x: 6 });
    assert.throws(() => first.recordGcmUse("nope"), /unknown kid/);
  });

  describe("GCM use counts in a store", () => {
    const { attachGcmUseStore, detachGcmUseStore, saveExactGcmUses, GCM_SAVE_AHEAD } = require("../../../dist/encryption/keyring.js");
    const memoryStore = (initial = {}) => {
      const saves = [];
      return { saves, load: () => ({ ...initial }), save: (uses) => saves.push({ ...uses }) };
    };
    afterEach(() => detachGcmUseStore());

    it("saves ahead of use: once per GCM_SAVE_AHEAD encryptions, exact on a clean stop", () => {
      const store = memoryStore();
      attachGcmUseStore(store);
      const kr = new Keyring({ a: crypto.randomBytes(32) }, "a");
      kr.recordGcmUse("a");
      assert.strictEqual(store.saves.length, 1, "saved before the count could be lost");
      const [fp] = Object.keys(store.saves[0]);
      assert.match(fp, /^[A-Za-z0-9_-]{43}$/);
      assert.strictEqual(store.saves[0][fp], 1 + GCM_SAVE_AHEAD);
      kr.recordGcmUse("a", GCM_SAVE_AHEAD); // reaches what was saved: not past it yet
      assert.strictEqual(store.saves.length, 1);
      kr.recordGcmUse("a");
      assert.strictEqual(store.saves.length, 2);
      assert.strictEqual(store.saves[1][fp], GCM_SAVE_AHEAD + 2 + GCM_SAVE_AHEAD);
      saveExactGcmUses();
      assert.strictEqual(store.saves[2][fp], GCM_SAVE_AHEAD + 2);
    });

    it("a store raises the counts of the keys it knows (a restart), never lowers them", () => {
      const key = crypto.randomBytes(32);
      const probe = memoryStore();
      attachGcmUseStore(probe);
      const kr = new Keyring({ a: key }, "a");
      kr.recordGcmUse("a", 7);
      const fp = Object.keys(probe.saves[0])[0];
      detachGcmUseStore();
      attachGcmUseStore(memoryStore({ [fp]: 5000 }));
      assert.strictEqual(new Keyring({ renamed: key }, "renamed").gcmUseCount("renamed"), 5000);
      attachGcmUseStore(memoryStore({ [fp]: 3 }));
      assert.strictEqual(kr.gcmUseCount("a"), 5000);
    });

    it("a store that cannot be written fails the encryption's count, with its reason", () => {
      attachGcmUseStore({ load: () => ({}), save: () => { throw new Error("disk full"); } });
      const kr = new Keyring({ a: crypto.randomBytes(32) }, "a");
      assert.throws(() => kr.recordGcmUse("a"), /disk full/);
    });
  });

  it("hostile keys JSON never crashes with anything but a KeyringError", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (text) => {
        try {
          parseKeys(text);
        } catch (e) {
          assert.ok(e instanceof KeyringError, String(e));
        }
        assert.strictEqual(({}).polluted, undefined);
      }),
      { numRuns: 500 },
    );
  });
});
