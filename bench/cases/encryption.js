"use strict";
/**
 * privacy-encrypt / privacy-decrypt next to the encrypt/decrypt nodes of
 * node-red-contrib-crypto-js (CryptoJS AES with a passphrase, what many flows use
 * today) in the same runtime, and next to raw node:crypto AES-256-GCM + JWE encoding
 * without Node-RED. This file is the 1 KiB case; encryption-64k.js reuses makeCase.
 *
 * No hop ever re-encrypts a previous hop's growing output:
 * - "privacy-encrypt": 10 nodes, each on its own property p0..p9 (1 value each).
 * - "privacy-decrypt": 10 nodes, each on its own pre-made JWE c0..c9.
 * - The CryptoJS nodes only work on msg.payload, so their chain alternates a change
 *   node (set msg.payload to msg.p<i>, or to the pre-made ciphertext msg.e<i>) and the
 *   node: 2 hops per encryption. The harness divides by the chain length (2 per pair),
 *   so the cost of one CryptoJS node is 2 x its scaffold row - the "scaffold only" row
 *   (one such change node alone): the "(one node)" rows, derived from the measured ones.
 *   Our nodes are measured in the very same scaffold and derived the same way, and the
 *   goals compare those two "(one node)" rows: the marginal cost of one node in flows of
 *   the same shape. (The plain "privacy-encrypt" chain keeps all ten ciphertexts in each
 *   message; at 64 KiB that is 640 KiB a message and the garbage collector's work on it
 *   shows. At 1 KiB the two ways agree.)
 */

const crypto = require("node:crypto");
// The crypto-js that node-red-contrib-crypto-js itself loads (its own 3.x copy when npm
// nests one), falling back to ours.
const CryptoJS = (() => {
  try {
    return require("node-red-contrib-crypto-js/node_modules/crypto-js");
  } catch {
    return require("crypto-js");
  }
})();
const { encryptValue } = require("../../dist/encryption/jwe");

const KID = "bench";
const KEY = crypto.randomBytes(32);
const PASSPHRASE = "bench passphrase for crypto-js";
const HOPS = 10;
const SCAFFOLD = "scaffold only (change: set payload)";

function makeCase(size, { name, messages, cryptoJsHops }) {
  const texts = Array.from({ length: HOPS }, () => crypto.randomBytes(Math.ceil((size * 3) / 4)).toString("base64").slice(0, size));
  const jwes = texts.map((t) => encryptValue(t, KID, KEY).jwe);
  const legacy = texts.map((t) => CryptoJS.AES.encrypt(t, PASSPHRASE).toString());
  const header = Buffer.from(JSON.stringify({ alg: "dir", enc: "A256GCM", kid: KID, cty: "text/plain" })).toString("base64url");
  const aad = Buffer.from(header, "ascii");

  const keyring = { id: "bench-keyring", type: "privacy-keyring", activeKid: KID, credentials: { keys: JSON.stringify({ [KID]: KEY.toString("base64url") }) } };
  const ours = (type, property) => ({ type, keyring: keyring.id, property, fields: [] });
  const setPayload = (from) => ({ type: "change", rules: [{ t: "set", p: "payload", pt: "msg", to: from, tot: "msg" }] });
  const scaffold = (prefix, node, count) => Array.from({ length: count }, (_, i) => [setPayload(`${prefix}${i}`), node]).flat();
  const oneNode = (inScaffold) => (cost) => 2 * cost(inScaffold) - cost(SCAFFOLD);
  const goal = size >= 65536 ? 1 / 100 : 1 / 15;

  return {
    name,
    description: `privacy-encrypt/decrypt vs node-red-contrib-crypto-js vs raw node:crypto, ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} text`,
    messages,
    configNodes: [keyring],
    makeMessage: (i) => {
      const msg = { _msgid: `m${i}`, payload: null };
      for (let h = 0; h < HOPS; h++) {
        msg[`p${h}`] = texts[h];
        msg[`c${h}`] = jwes[h];
        msg[`e${h}`] = legacy[h];
      }
      return msg;
    },
    variants: [
      { name: "privacy-encrypt", hops: texts.map((_, i) => ours("privacy-encrypt", `p${i}`)) },
      { name: "privacy-decrypt", hops: texts.map((_, i) => ours("privacy-decrypt", `c${i}`)) },
      {
        // What a careful hand-written JWE encryption costs without Node-RED: fresh IV, GCM, encoding.
        name: "raw node:crypto encrypt",
        raw: (msg) => {
          const iv = crypto.randomBytes(12);
          const c = crypto.createCipheriv("aes-256-gcm", KEY, iv);
          c.setAAD(aad);
          const ct = Buffer.concat([c.update(msg.p0, "utf8"), c.final()]);
          msg.p0 = `${header}..${iv.toString("base64url")}.${ct.toString("base64url")}.${c.getAuthTag().toString("base64url")}`;
        },
      },
      {
        name: "raw node:crypto decrypt",
        raw: (msg) => {
          const [h, , iv, ct, tag] = msg.c0.split(".");
          const hdr = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
          if (hdr.alg !== "dir" || hdr.enc !== "A256GCM" || hdr.kid !== KID) throw new Error("bad header");
          const d = crypto.createDecipheriv("aes-256-gcm", KEY, Buffer.from(iv, "base64url"));
          d.setAAD(Buffer.from(h, "ascii"));
          d.setAuthTag(Buffer.from(tag, "base64url"));
          msg.c0 = Buffer.concat([d.update(Buffer.from(ct, "base64url")), d.final()]).toString("utf8");
        },
      },
      { name: SCAFFOLD, hops: texts.map((_, i) => setPayload(`p${i}`)) },
      { name: "privacy-encrypt in scaffold", hops: scaffold("p", ours("privacy-encrypt", "payload"), cryptoJsHops) },
      { name: "crypto-js encrypt in scaffold", hops: scaffold("p", { type: "encrypt", algorithm: "AES", key: PASSPHRASE }, cryptoJsHops) },
      { name: "privacy-decrypt in scaffold", hops: scaffold("c", ours("privacy-decrypt", "payload"), cryptoJsHops) },
      { name: "crypto-js decrypt in scaffold", hops: scaffold("e", { type: "decrypt", algorithm: "AES", key: PASSPHRASE }, cryptoJsHops) },
      { name: "crypto-js encrypt (one node)", baseline: true, derive: oneNode("crypto-js encrypt in scaffold") },
      { name: "crypto-js decrypt (one node)", derive: oneNode("crypto-js decrypt in scaffold") },
      { name: "privacy-encrypt (one node, from scaffold)", derive: oneNode("privacy-encrypt in scaffold") },
      { name: "privacy-decrypt (one node, from scaffold)", derive: oneNode("privacy-decrypt in scaffold") },
    ],
    goals: [
      { variant: "privacy-encrypt (one node, from scaffold)", against: "crypto-js encrypt (one node)", maxRatio: goal, note: "marginal cost of one node, same flow on both sides" },
      { variant: "privacy-decrypt (one node, from scaffold)", against: "crypto-js decrypt (one node)", maxRatio: goal, note: "marginal cost of one node, same flow on both sides" },
      { variant: "privacy-encrypt in scaffold", against: "crypto-js encrypt in scaffold", note: "scaffold included on both sides (conservative)" },
      { variant: "privacy-decrypt in scaffold", against: "crypto-js decrypt in scaffold", note: "scaffold included on both sides (conservative)" },
      { variant: "privacy-encrypt", against: "raw node:crypto encrypt", maxRatio: 1.5, note: "includes the Node-RED hop" },
      { variant: "privacy-decrypt", against: "raw node:crypto decrypt", maxRatio: 1.5, note: "includes the Node-RED hop" },
    ],
  };
}

module.exports = makeCase(1024, { name: "encryption", messages: 2000, cryptoJsHops: 10 });
module.exports.makeCase = makeCase;
