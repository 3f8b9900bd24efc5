"use strict";
/**
 * Receipts people can prove: every receipt is also a JWS (EdDSA, Ed25519) that jose, an
 * independent JOSE library, verifies with the store's public JWK; one changed byte makes
 * it fail; the JWS read back from the journal after a restart is the same; a rotated
 * key's receipts still verify with the retired public key.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { ConsentStore } = require("../../../dist/consent/consent-store");
const { generateSigningKey, loadSigningKey, readPublicJwk, verifyReceiptJws } = require("../../../dist/consent/receipt-signing");

const PURPOSES = [{ id: "p", description: "", policyVersion: "1" }, { id: "q", description: "", policyVersion: "2" }];

async function verifyWithJose(jws, jwk) {
  const jose = await import("jose");
  const key = await jose.importJWK(jwk, "EdDSA");
  const { payload, protectedHeader } = await jose.compactVerify(jws, key);
  return { payload: JSON.parse(new TextDecoder().decode(payload)), protectedHeader };
}

/** The JWS with one byte changed in its payload (a character of the base64url text). */
function oneByteChanged(jws, part) {
  const parts = jws.split(".");
  const bytes = Buffer.from(parts[part], "base64url");
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  parts[part] = bytes.toString("base64url");
  return parts.join(".");
}

describe("consent receipts as JWS", function () {
  this.timeout(30000);

  it("a granted receipt is a JWS jose verifies with the store's public JWK, and fails after one changed byte", async () => {
    const key = generateSigningKey();
    const signingKey = loadSigningKey(JSON.stringify(key));
    const s = new ConsentStore({ backend: "memory", purposes: PURPOSES, owner: "t", signingKey });
    const r = await s.execute({ action: "grant", subject: "alice", purpose: "p", note: "über den Flur" }, "panel");
    assert.equal(typeof r.jws, "string");
    assert.equal(r.kid, undefined, "kid and sig stay inside the JWS");
    const { payload, protectedHeader } = await verifyWithJose(r.jws, signingKey.publicJwk);
    assert.equal(protectedHeader.alg, "EdDSA");
    assert.equal(protectedHeader.kid, signingKey.kid);
    const fields = { ...r };
    delete fields.jws;
    assert.deepEqual(payload, fields, "the payload is the receipt");
    await assert.rejects(verifyWithJose(oneByteChanged(r.jws, 1), signingKey.publicJwk));
    await assert.rejects(verifyWithJose(oneByteChanged(r.jws, 2), signingKey.publicJwk));
    await assert.rejects(verifyWithJose(oneByteChanged(r.jws, 0), signingKey.publicJwk));
    assert.throws(() => verifyReceiptJws(oneByteChanged(r.jws, 1), [signingKey.publicJwk]));
    await s.close();
  });

  it("the JWS read back from the journal after a restart is byte for byte the one issued; a rotated key's receipts still verify", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "consent-jws-")), "j.jsonl");
    const first = loadSigningKey(JSON.stringify(generateSigningKey()));
    const s = new ConsentStore({ backend: "file", file, purposes: PURPOSES, owner: "t", signingKey: first });
    const issued = await s.execute({ action: "grant", subject: "alice", purpose: ["p", "q"] }, "panel");
    await s.close();
    // Rotation: a new key signs, the old one is listed as retired (its public half only).
    const second = loadSigningKey(JSON.stringify(generateSigningKey()));
    const retired = readPublicJwk(JSON.parse(JSON.stringify(first.publicJwk)));
    const t = new ConsentStore({ backend: "file", file, purposes: PURPOSES, owner: "t", signingKey: second, retiredKeys: [retired] });
    const later = await t.execute({ action: "withdraw", subject: "alice", purpose: "p" }, "page");
    const exported = await t.execute({ action: "export", subject: "alice" }, "m");
    assert.deepEqual(exported.receipts.slice(0, 2).map((r) => r.jws), issued.map((r) => r.jws));
    for (const r of issued) await verifyWithJose(r.jws, retired);
    await verifyWithJose(later.jws, second.publicJwk);
    await assert.rejects(verifyWithJose(issued[0].jws, second.publicJwk), "an old receipt is not the new key's");
    assert.deepEqual(t.retiredKeys, [retired]);
    await t.close();
  });

  it("refuses a signing key whose public half was swapped, and never names the key in the error", () => {
    const a = generateSigningKey();
    const b = generateSigningKey();
    const bad = JSON.stringify({ ...a, x: b.x });
    assert.throws(() => loadSigningKey(bad), (e) => /not the public half/.test(e.message) && !e.message.includes(a.d));
    assert.throws(() => loadSigningKey("not json"), /not JSON/);
    assert.throws(() => loadSigningKey(JSON.stringify({ kty: "RSA" })), /Ed25519/);
  });

  it("a store without a key still works; its receipts are unsigned", async () => {
    const s = new ConsentStore({ backend: "memory", purposes: PURPOSES, owner: "t" });
    const r = await s.execute({ action: "grant", subject: "a", purpose: "p" }, "m");
    assert.equal(r.jws, undefined);
    assert.equal(r.status, "granted");
    await s.close();
  });
});
