"use strict";
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fc = require("fast-check");
const semver = require("semver");
const fm = require("../../../dist/update-check/firmware-manifest.js");
const { manifestBody, makeSigner, DAY } = require("../../helpers/update-servers");

const NOW = Date.parse("2026-06-01T12:00:00Z");

describe("firmware manifest: canonical JSON", () => {
  it("sorts keys, drops whitespace and matches a hand-written canonical form", () => {
    const value = { b: [1, "x", null, true], a: { d: 1.5, c: "é\u2028" }, "": 0 };
    assert.equal(fm.canonicalJson(value), '{"":0,"a":{"c":"é\u2028","d":1.5},"b":[1,"x",null,true]}');
  });

  it("is independent of key order and parses back to the same value (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
        const text = fm.canonicalJson(v);
        assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(v)));
        const shuffled = JSON.parse(JSON.stringify(v), (_k, x) =>
          x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).reverse()) : x,
        );
        assert.equal(fm.canonicalJson(shuffled), text);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses what JSON cannot carry faithfully", () => {
    for (const bad of [NaN, Infinity, () => 1, Symbol("x"), 10n, new Date(), new Map()]) {
      assert.throws(() => fm.canonicalJson({ a: bad }), fm.ManifestFormatError);
    }
    let deep = {};
    for (let i = 0; i < 100; i++) deep = { deep };
    assert.throws(() => fm.canonicalJson(deep), /nested too deeply/);
  });
});

describe("firmware manifest: keys", () => {
  it("keyid is the sha256 of the raw public key, whichever form the key is given in", () => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
    const raw = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
    const expected = crypto.createHash("sha256").update(raw).digest("hex");
    assert.equal(fm.parsePublicKey(raw.toString("base64")).keyid, expected);
    assert.equal(fm.parsePublicKey(publicKey.export({ format: "pem", type: "spki" })).keyid, expected);
    assert.equal(fm.parsePublicKey(raw.toString("base64url")).keyid, expected);
    assert.ok(privateKey);
  });

  it("refuses keys that are not Ed25519 public keys", () => {
    const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "pem", type: "spki" });
    assert.throws(() => fm.parsePublicKey(rsa), /not an Ed25519/);
    assert.throws(() => fm.parsePublicKey(Buffer.alloc(31).toString("base64")), /32 bytes/);
    assert.throws(() => fm.parsePublicKey("not a key!"), /base64/);
    assert.throws(() => fm.parsePrivateKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"), /not a valid PEM/);
  });
});

describe("firmware manifest: verification", () => {
  const signer = makeSigner();
  const other = makeSigner();
  const trusted = [fm.parsePublicKey(signer.publicKey)];
  const verify = (env, trust) => fm.verifyManifest(env, { trustedKeys: trusted, now: NOW, trust });

  it("accepts a manifest whose signature node:crypto verifies over the canonical bytes", () => {
    const env = signer.sign({ version: 3, now: NOW });
    const bytes = Buffer.from(fm.canonicalJson(env.signed));
    assert.ok(crypto.verify(null, bytes, crypto.createPublicKey(signer.privatePem), Buffer.from(env.signatures[0].sig, "base64")));
    const r = verify(JSON.parse(JSON.stringify(env, null, 4)), { version: 2 });
    assert.equal(r.ok, true);
    assert.equal(r.manifest.version, 3);
    assert.equal(r.keyid, signer.keyid);
    assert.equal(r.digest, crypto.createHash("sha256").update(bytes).digest("hex"));
  });

  it("rejects a tampered manifest (bad-signature)", () => {
    const env = signer.sign({ now: NOW });
    env.signed.models["TH-100"].minimumSecure = "0.0.1";
    assert.deepEqual(pick(verify(env)), { ok: false, reason: "bad-signature" });
  });

  it("ignores keys outside `signed`: only what is signed is trusted", () => {
    const env = signer.sign({ now: NOW });
    env.comment = "anything";
    assert.equal(verify(env).ok, true);
  });

  it("rejects a manifest signed by another key (untrusted-key) and a forged keyid (bad-signature)", () => {
    const env = other.sign({ now: NOW });
    assert.deepEqual(pick(verify(env)), { ok: false, reason: "untrusted-key" });
    env.signatures[0].keyid = signer.keyid;
    assert.deepEqual(pick(verify(env)), { ok: false, reason: "bad-signature" });
  });

  it("accepts when one of several signatures is by a trusted key", () => {
    const env = signer.sign({ now: NOW });
    const both = fm.signManifest(env.signed, other.key, env.signatures);
    assert.equal(both.signatures.length, 2);
    assert.equal(verify(both).ok, true);
  });

  it("rejects an expired manifest (freeze), even one second past", () => {
    const env = fm.signManifest({ ...manifestBody({ now: NOW }), expires: new Date(NOW - 1000).toISOString() }, signer.key);
    assert.deepEqual(pick(verify(env)), { ok: false, reason: "expired" });
  });

  it("rejects a lower version (rollback) and the same version with other content", () => {
    const v2 = signer.sign({ version: 2, now: NOW });
    assert.deepEqual(pick(verify(v2, { version: 5 })), { ok: false, reason: "rollback" });
    const accepted = verify(v2, { version: 0 });
    assert.equal(accepted.ok, true);
    assert.equal(verify(v2, { version: 2, digest: accepted.digest }).ok, true, "the same manifest again is fine");
    const v2b = signer.sign({ version: 2, now: NOW, expiresInDays: 60 });
    assert.deepEqual(pick(verify(v2b, { version: 2, digest: accepted.digest })), { ok: false, reason: "rollback" });
  });

  it("does not believe a clock set back before its own last acceptance (freeze by clock)", () => {
    const env = signer.sign({ version: 3, now: NOW - 40 * DAY, expiresInDays: 30 });
    const acceptedAt = NOW - 5 * DAY;
    // At the real time it has expired; with the clock set back 35 days it would look fresh.
    assert.equal(fm.verifyManifest(env, { trustedKeys: trusted, now: NOW, trust: { version: 3, acceptedAt } }).reason, "expired");
    const back = fm.verifyManifest(env, { trustedKeys: trusted, now: NOW - 35 * DAY, trust: { version: 3, acceptedAt } });
    assert.deepEqual(pick(back), { ok: false, reason: "clock-behind" });
    const fresh = signer.sign({ version: 4, now: NOW });
    assert.equal(fm.verifyManifest(fresh, { trustedKeys: trusted, now: NOW - 30 * 60 * 1000, trust: { version: 3, acceptedAt: NOW } }).ok, true, "small steps back are tolerated");
    assert.equal(fm.verifyManifest(fresh, { trustedKeys: trusted, now: NOW - 2 * 60 * 60 * 1000, trust: { version: 3, acceptedAt: NOW } }).reason, "clock-behind");
  });

  it("checks the signature before anything else: an expired and tampered manifest is bad-signature", () => {
    const env = signer.sign({ now: NOW, expiresInDays: -5, version: 1 });
    env.signed.version = 99;
    assert.deepEqual(pick(verify(env, { version: 50 })), { ok: false, reason: "bad-signature" });
  });

  it("rejects signed content that is not a valid manifest (malformed), after authenticating it", () => {
    const bad = { ...manifestBody({ now: NOW }), version: 1.5 };
    const sig = crypto.sign(null, Buffer.from(fm.canonicalJson(bad)), signer.key).toString("base64");
    const r = verify({ signed: bad, signatures: [{ keyid: signer.keyid, sig }] });
    assert.equal(r.ok, false);
    assert.equal(r.reason, "malformed");
    assert.match(r.message, /signed.version/);
  });

  it("never throws and never accepts on hostile envelopes (property)", () => {
    const good = signer.sign({ now: NOW });
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4, withBigInt: true, withMap: true, withNullPrototype: true }), fc.anything({ maxDepth: 3 }), (signed, sigs) => {
        for (const env of [signed, { signed, signatures: good.signatures }, { signed: good.signed, signatures: sigs }]) {
          const r = verify(env);
          assert.equal(r.ok, false);
          assert.equal(typeof r.reason, "string");
        }
      }),
      { numRuns: 300 },
    );
    assert.equal(Object.prototype.polluted, undefined);
  });
});

describe("firmware manifest: devices", () => {
  const m = manifestBody({ now: NOW });

  it("gives each status, the most urgent first", () => {
    const { devices, summary } = fm.checkDevices(
      m,
      [
        { deviceId: "a", model: "TH-100", version: "2.4.1" },
        { deviceId: "b", model: "TH-100", version: "2.3.5" },
        { deviceId: "c", model: "TH-100", version: "2.2.9" },
        { deviceId: "d", model: "CAM-7", version: "1.9.0" },
        { deviceId: "e", model: "CAM-7", version: "1.7.0" },
        { deviceId: "f", model: "XYZ", version: "1.0.0" },
        { deviceId: "g", model: "TH-100", version: "v2.5" },
      ],
      NOW,
    );
    assert.deepEqual(
      devices.map((d) => [d.deviceId, d.status]),
      [
        ["a", "up-to-date"],
        ["b", "update-available"],
        ["c", "security-update-required"],
        ["d", "end-of-support"],
        ["e", "security-update-required"],
        ["f", "unknown-model"],
        ["g", "up-to-date"],
      ],
    );
    assert.equal(summary["security-update-required"], 2);
    assert.equal(summary.devices, 7);
    assert.equal(devices[0].releaseNotes, "https://vendor.invalid/th-100/2.4.1");
    assert.ok(devices[0].supportEndsInDays >= 899 && devices[0].supportEndsInDays <= 900);
    assert.ok(devices[3].supportEndsInDays < 0);
  });

  it("treats a missing end-of-support as not published, never as ended", () => {
    const body = manifestBody({ now: NOW, models: { M: { latest: "1.0.0", minimumSecure: "1.0.0", endOfSupport: null } } });
    const [d] = fm.checkDevices(fm.validateSigned(body), [{ deviceId: 1, model: "M", version: "1.0.0" }], NOW).devices;
    assert.equal(d.status, "up-to-date");
    assert.equal(d.supportEndsInDays, null);
  });

  it("never looks a model up on the prototype", () => {
    const { devices } = fm.checkDevices(m, ["__proto__", "constructor", "toString", "hasOwnProperty"].map((model) => ({ deviceId: model, model, version: "1.0.0" })), NOW);
    assert.ok(devices.every((d) => d.status === "unknown-model"));
  });

  it("agrees with a semver oracle for any versions (property)", () => {
    const ver = fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20)).map((t) => t.join("."));
    fc.assert(
      fc.property(ver, ver, ver, fc.integer({ min: -1000, max: 1000 }), (installed, latest, minimum, eosDays) => {
        const body = manifestBody({ now: NOW, models: { M: { latest, minimumSecure: minimum, endOfSupport: new Date(NOW + eosDays * DAY).toISOString() } } });
        const [d] = fm.checkDevices(body, [{ deviceId: "x", model: "M", version: installed }], NOW).devices;
        const expected = semver.lt(installed, minimum) ? "security-update-required" : eosDays < 0 ? "end-of-support" : semver.lt(installed, latest) ? "update-available" : "up-to-date";
        assert.equal(d.status, expected);
      }),
      { numRuns: 500 },
    );
  });

  it("validates an inventory and names the element that is wrong", () => {
    assert.throws(() => fm.validateInventory({}), /msg.payload must be a list/);
    assert.throws(() => fm.validateInventory([{ deviceId: "a", model: "M", version: "1.0" }, { deviceId: "b", model: "M" }]), /msg.payload\[1\].version/);
    assert.throws(() => fm.validateInventory([{ model: "M", version: "1" }]), /msg.payload\[0\].deviceId is required/);
    assert.throws(() => fm.validateInventory([{ deviceId: "a", model: "M", version: "banana" }]), /version must be a version/);
    assert.deepEqual(fm.validateInventory([{ deviceId: 7, model: "M", version: "1.0", extra: 1 }]), [{ deviceId: "7", model: "M", version: "1.0" }]);
  });
});

function pick(r) {
  return { ok: r.ok, reason: r.reason };
}
