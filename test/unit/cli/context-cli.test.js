"use strict";
/**
 * `node-red-privacy context keygen|rekey|status` through the real bin: keygen prints a
 * kid:key the store accepts (and nothing else on stdout) or writes an env file it never
 * overwrites; status lists each file's kid without decrypting unless keys are given;
 * rekey moves every file to the active key, and with a wrong key rewrites nothing.
 */
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { encryptedStore, tempDir, memoryLog, snapshot } = require("../../helpers/context");

const PKG = require("../../../package.json");
const BIN = path.join(__dirname, "..", "..", "..", PKG.bin["node-red-privacy"]);

function cli(args, env = {}) {
  const clean = { ...process.env };
  delete clean.PRIVACY_CONTEXT_KEYS;
  delete clean.PRIVACY_CONTEXT_PASSPHRASE;
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...clean, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("context CLI (bin/node-red-privacy context)", function () {
  this.timeout(30000);
  let dir;
  beforeEach(() => {
    dir = tempDir("ctx-cli-");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("keygen prints one kid:key line the store takes; --out writes an env file, mode 0600, never over another", async () => {
    const r = cli(["context", "keygen", "--kid", "home-2026"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^home-2026:[A-Za-z0-9_-]{43}\n$/);
    assert.equal(Buffer.from(r.out.trim().split(":")[1], "base64url").length, 32);
    assert.match(r.err, /Put it first in PRIVACY_CONTEXT_KEYS/);
    const store = encryptedStore({ dir, env: { PRIVACY_CONTEXT_KEYS: r.out.trim() }, log: memoryLog() });
    await store.open();
    await store.close();
    const dated = cli(["context", "keygen"]);
    assert.match(dated.out, /^ctx-\d{8}:[A-Za-z0-9_-]{43}\n$/);
    const file = path.join(dir, "context.env");
    const w = cli(["context", "keygen", "--out", file]);
    assert.equal(w.code, 0, w.err);
    assert.equal(w.out, "", "the key goes to the file only");
    assert.match(fs.readFileSync(file, "utf8"), /^PRIVACY_CONTEXT_KEYS=ctx-\d{8}:[A-Za-z0-9_-]{43}\n$/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const before = fs.readFileSync(file, "utf8");
    assert.equal(cli(["context", "keygen", "--out", file]).code, 1);
    assert.equal(fs.readFileSync(file, "utf8"), before);
    assert.equal(cli(["context", "keygen", "--kid", "bad kid"]).code, 1);
    assert.equal(cli(["context", "nope"]).code, 2);
    assert.equal(cli(["context", "rekey"]).code, 2, "--dir is required");
  });

  it("status lists the kid of every file; rekey moves them all to the active key; a wrong key rewrites nothing", async () => {
    const k1 = `k1:${crypto.randomBytes(32).toString("base64url")}`;
    const k2 = `k2:${crypto.randomBytes(32).toString("base64url")}`;
    const store = encryptedStore({ dir, env: { PRIVACY_CONTEXT_KEYS: k1 }, log: memoryLog() });
    await store.open();
    store.set("global", "doorCode", "4711");
    store.set("flowA", "token", "t");
    await store.close();

    let r = cli(["context", "status", "--dir", dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /global[\\/]global\.enc {2}\d+ bytes {2}kid k1/);
    assert.match(r.out, /2 scope file\(s\) in .*context-encrypted: 2 under "k1"/);
    assert.match(r.out, /no key in the environment: headers only/);
    assert.doesNotMatch(r.out + r.err, /4711/);

    const before = snapshot(dir);
    r = cli(["context", "rekey", "--dir", dir], { PRIVACY_CONTEXT_KEYS: `k1:${crypto.randomBytes(32).toString("base64url")}` });
    assert.equal(r.code, 1);
    assert.match(r.err, /authentication failed.*nothing was rewritten/);
    assert.deepEqual(snapshot(dir), before);

    r = cli(["context", "rekey", "--dir", dir], { PRIVACY_CONTEXT_KEYS: `${k2},${k1}` });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /re-encrypted 2 scope file\(s\) under "k2" \(2 from "k1"\)/);
    r = cli(["context", "status", "--dir", dir], { PRIVACY_CONTEXT_KEYS: k2 });
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /2 under "k2"/);
    assert.match(r.out, /all open with the keys given \(active "k2"\)/);
    r = cli(["context", "status", "--dir", dir], { PRIVACY_CONTEXT_KEYS: k1 });
    assert.equal(r.code, 1);
    assert.match(r.out, /PROBLEM: encrypted with key "k2", which PRIVACY_CONTEXT_KEYS does not hold/);

    const again = encryptedStore({ dir, env: { PRIVACY_CONTEXT_KEYS: k2 }, log: memoryLog() });
    await again.open();
    assert.equal(again.get("global", "doorCode"), "4711");
    await again.close();
  });
});
