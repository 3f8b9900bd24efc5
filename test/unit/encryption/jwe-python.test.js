"use strict";
// A second, independent oracle for the wire format: Python's `cryptography` AESGCM (when
// installed) opens our JWE by following RFC 7516 by hand, and makes one we must open.
const assert = require("node:assert");
const crypto = require("node:crypto");
const { spawnSync } = require("node:child_process");
const { findPython } = require("../../helpers/python");
const { encryptValue, decryptValue } = require("../../../dist/encryption/jwe.js");
const { Keyring } = require("../../../dist/encryption/keyring.js");

const PY = `
import sys, json, base64, os
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
def b64d(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def b64e(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
req = json.load(sys.stdin)
key = b64d(req["key"])
out = {"opened": []}
for token in req["tokens"]:
    h, ek, iv, ct, tag = token.split(".")
    assert ek == ""
    header = json.loads(b64d(h))
    plain = AESGCM(key).decrypt(b64d(iv), b64d(ct) + b64d(tag), h.encode("ascii"))
    out["opened"].append({"header": header, "plain": plain.hex()})
h = b64e(json.dumps({"alg": "dir", "enc": "A256GCM", "kid": "A", "cty": "json"}).encode())
iv = os.urandom(12)
sealed = AESGCM(key).encrypt(iv, json.dumps({"from": "python", "n": [1, 2]}).encode(), h.encode("ascii"))
out["made"] = ".".join([h, "", b64e(iv), b64e(sealed[:-16]), b64e(sealed[-16:])])
print(json.dumps(out))
`;

// Debian's python3-cryptography comes with python3-jwcrypto, which the pretest step installs.
const python = () => findPython("import cryptography.hazmat.primitives.ciphers.aead");

describe("lib/jwe against Python cryptography (independent oracle)", function () {
  before(function () {
    if (!python()) this.skip();
  });

  it("Python opens our JWE with the header as AAD, and we open Python's", () => {
    const key = crypto.randomBytes(32);
    const values = ["héllo ✓", { a: [1, null] }, Buffer.from([0, 1, 254, 255])];
    const tokens = values.map((v) => encryptValue(v, "A", key).jwe);
    const r = spawnSync(python(), ["-c", PY], { input: JSON.stringify({ key: key.toString("base64url"), tokens }), encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepStrictEqual(out.opened.map((o) => o.header.cty), ["text/plain", "json", "octet-stream"]);
    assert.ok(out.opened.every((o) => o.header.alg === "dir" && o.header.enc === "A256GCM" && o.header.kid === "A"));
    assert.strictEqual(Buffer.from(out.opened[0].plain, "hex").toString("utf8"), "héllo ✓");
    assert.deepStrictEqual(JSON.parse(Buffer.from(out.opened[1].plain, "hex").toString("utf8")), { a: [1, null] });
    assert.ok(Buffer.from(out.opened[2].plain, "hex").equals(values[2]));
    assert.deepStrictEqual(decryptValue(out.made, new Keyring({ A: key }, "A")).value, { from: "python", n: [1, 2] });
  });
});
