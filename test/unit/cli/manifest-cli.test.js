"use strict";
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { run } = require("../../../dist/cli/manifest.js");
const fm = require("../../../dist/update-check/firmware-manifest.js");

const PKG = require("../../../package.json");
const ORIGINAL_CWD = process.cwd();
const BIN = path.join(__dirname, "..", "..", "..", PKG.bin["node-red-privacy"]);

function cli(args, cwd) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function memIO(now = Date.now()) {
  const io = { lines: [], errs: [], out: (l) => io.lines.push(l), err: (l) => io.errs.push(l), now: () => now };
  return io;
}

describe("manifest CLI (bin/node-red-privacy.js)", function () {
  this.timeout(20000);
  let dir;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "uc-cli-"));
  });

  it("keygen, template, sign, verify through the real bin; tampering makes verify fail", () => {
    let r = cli(["manifest", "keygen", "--out", "acme"], dir);
    assert.equal(r.code, 0, r.err);
    const pub = fs.readFileSync(path.join(dir, "acme.pub"), "utf8").trim();
    assert.equal(fs.statSync(path.join(dir, "acme.key")).mode & 0o777, 0o600);
    // The key id printed is the sha256 of the raw key, computed here independently.
    const privateKey = crypto.createPrivateKey(fs.readFileSync(path.join(dir, "acme.key")));
    const raw = Buffer.from(crypto.createPublicKey(privateKey).export({ format: "jwk" }).x, "base64url");
    assert.equal(raw.toString("base64"), pub);
    assert.match(r.out, new RegExp(`keyid: +${crypto.createHash("sha256").update(raw).digest("hex")}`));
    assert.doesNotMatch(r.out, /PRIVATE KEY/);

    assert.equal(cli(["manifest", "template", "--out", "m.json"], dir).code, 0);
    r = cli(["manifest", "sign", "--key", "acme.key", "--in", "m.json", "--out", "s.json"], dir);
    assert.equal(r.code, 0, r.err);
    const env = JSON.parse(fs.readFileSync(path.join(dir, "s.json"), "utf8"));
    // Independent check of the signature with node:crypto over the canonical bytes.
    assert.ok(crypto.verify(null, Buffer.from(fm.canonicalJson(env.signed)), crypto.createPublicKey(privateKey), Buffer.from(env.signatures[0].sig, "base64")));

    r = cli(["manifest", "verify", "--pub", "acme.pub", "--in", "s.json"], dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^OK my-devices version 1/);

    env.signed.models["EXAMPLE-1"].minimumSecure = "0.0.1";
    fs.writeFileSync(path.join(dir, "t.json"), JSON.stringify(env));
    r = cli(["manifest", "verify", "--pub", pub, "--in", "t.json"], dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /REJECTED \(bad-signature\)/);
  });

  it("verify refuses another key, an expired manifest and (with --min-version) a rollback", () => {
    const io = memIO();
    process.chdir(dir);
    try {
      assert.equal(run(["manifest", "keygen", "--out", "a"], io), 0);
      assert.equal(run(["manifest", "keygen", "--out", "b"], io), 0);
      assert.equal(run(["manifest", "template", "--out", "m.json"], io), 0);
      assert.equal(run(["manifest", "sign", "--key", "a.key", "--in", "m.json", "--out", "s.json", "--bump-version"], io), 0);
      assert.equal(JSON.parse(fs.readFileSync("s.json", "utf8")).signed.version, 2);
      const v = (args, now) => {
        const o = memIO(now);
        return [run(["manifest", "verify", ...args], o), o.errs.join("\n")];
      };
      assert.equal(v(["--pub", "a.pub", "--in", "s.json"])[0], 0);
      assert.match(v(["--pub", "b.pub", "--in", "s.json"])[1], /untrusted-key/);
      assert.match(v(["--pub", "a.pub", "--in", "s.json"], Date.now() + 31 * 86400000)[1], /\(expired\)/);
      assert.match(v(["--pub", "a.pub", "--in", "s.json", "--min-version", "3"])[1], /\(rollback\)/);
    } finally {
      process.chdir(ORIGINAL_CWD);
    }
  });

  it("re-signing with a second key keeps the first signature; changing the body drops it", () => {
    process.chdir(dir);
    try {
      const io = memIO();
      run(["manifest", "keygen", "--out", "a"], io);
      run(["manifest", "keygen", "--out", "b"], io);
      run(["manifest", "template", "--out", "m.json"], io);
      run(["manifest", "sign", "--key", "a.key", "--in", "m.json", "--out", "s1.json"], io);
      assert.equal(run(["manifest", "sign", "--key", "b.key", "--in", "s1.json", "--out", "s2.json"], io), 0);
      assert.equal(JSON.parse(fs.readFileSync("s2.json", "utf8")).signatures.length, 2);
      for (const k of ["a", "b"]) assert.equal(run(["manifest", "verify", "--pub", `${k}.pub`, "--in", "s2.json"], memIO()), 0);
      assert.equal(run(["manifest", "sign", "--key", "b.key", "--in", "s2.json", "--out", "s3.json", "--expires-in-days", "10"], io), 0);
      const s3 = JSON.parse(fs.readFileSync("s3.json", "utf8"));
      assert.equal(s3.signatures.length, 1);
      assert.equal(run(["manifest", "verify", "--pub", "a.pub", "--in", "s3.json"], memIO()), 1);
    } finally {
      process.chdir(ORIGINAL_CWD);
    }
  });

  it("refuses to overwrite keys, to sign invalid or expired manifests, and explains usage", () => {
    process.chdir(dir);
    try {
      const io = memIO();
      assert.equal(run(["manifest", "keygen", "--out", "a"], io), 0);
      const before = fs.readFileSync("a.key", "utf8");
      assert.equal(run(["manifest", "keygen", "--out", "a"], io), 1);
      assert.equal(fs.readFileSync("a.key", "utf8"), before);
      fs.writeFileSync("bad.json", JSON.stringify({ _type: "firmware-manifest", specVersion: 1, name: "x", version: 1, expires: "2020-01-01T00:00:00Z", models: {} }));
      const e1 = memIO();
      assert.equal(run(["manifest", "sign", "--key", "a.key", "--in", "bad.json"], e1), 1);
      assert.match(e1.errs.join(), /in the past/);
      fs.writeFileSync("bad2.json", JSON.stringify({ version: 1 }));
      const e2 = memIO();
      assert.equal(run(["manifest", "sign", "--key", "a.key", "--in", "bad2.json"], e2), 1);
      assert.match(e2.errs.join(), /_type/);
      const e3 = memIO();
      assert.equal(run(["manifest", "sign", "--in", "bad2.json"], e3), 2);
      assert.match(e3.errs.join(), /--key is required[\s\S]*usage:/);
      assert.equal(run(["nope"], memIO()), 2);
      assert.equal(run(["manifest", "help"], memIO()), 0);
    } finally {
      process.chdir(ORIGINAL_CWD);
    }
  });
});
