"use strict";
/**
 * What the encrypted store keeps on disk and when it refuses to open: ciphertext only
 * (checked byte for byte, and opened independently with node:crypto), bound to its
 * scope; a missing key, a wrong key, an unknown kid, one flipped byte anywhere, a
 * truncated file: the store does not open, says which file and why in one line, and
 * nothing in its folder changes. Keys rotate (a new active key re-encrypts what is
 * written, rekey re-encrypts the rest), a passphrase works with its salt beside the
 * data, and a plain localfilesystem store migrates only when asked, its files removed
 * only once the encrypted ones are on disk.
 */
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { KINDS, LocalFileSystem, encryptedStore, newKey, tempDir, memoryLog, snapshot, set, get } = require("../../helpers/context");
const { loadKeys } = require("../../../dist/context/keys.js");
const { rekeyStore } = require("../../../dist/context/rekey.js");

const SECRET = "door-code-4711";
const LOCATION = { lat: 52.520008, lon: 13.404954 };
const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

function open(dir, env, config = {}) {
  const log = memoryLog();
  const store = encryptedStore({ dir, env, log, flushInterval: 3600, scrypt: FAST_SCRYPT, ...config });
  store.log = log;
  return store.open().then(() => store);
}

/** Opens an encrypted scope file by hand: header, HKDF subkey, AES-256-GCM with the scope as AAD. */
function decryptByHand(file, scope, kid, rawKey) {
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.subarray(0, 4).toString(), "PCTX");
  assert.equal(bytes[4], 1);
  const kidLength = bytes[5];
  assert.equal(bytes.subarray(6, 6 + kidLength).toString(), kid);
  const headerEnd = 6 + kidLength + 12;
  const subkey = Buffer.from(crypto.hkdfSync("sha256", rawKey, Buffer.alloc(0), Buffer.from("privacy-toolkit context store v1"), 32));
  const d = crypto.createDecipheriv("aes-256-gcm", subkey, bytes.subarray(6 + kidLength, headerEnd));
  d.setAAD(Buffer.concat([Buffer.from("privacy-toolkit context scope v1\0"), bytes.subarray(0, headerEnd), Buffer.from(scope)]));
  d.setAuthTag(bytes.subarray(bytes.length - 16));
  const plain = Buffer.concat([d.update(bytes.subarray(headerEnd, bytes.length - 16)), d.final()]);
  // u32 length, the keys as a JSON array, then per key: u32 length, the value as JSON.
  const keyLength = plain.readUInt32BE(0);
  const keys = JSON.parse(plain.toString("utf8", 4, 4 + keyLength));
  const out = {};
  let at = 4 + keyLength;
  for (const k of keys) {
    const vl = plain.readUInt32BE(at);
    out[k] = JSON.parse(plain.toString("utf8", at + 4, at + 4 + vl));
    at += 4 + vl;
  }
  assert.equal(at, plain.length);
  return out;
}

describe("encrypted context store: at rest", function () {
  this.timeout(30000);
  let dir;
  let base;
  const k1 = crypto.randomBytes(32);
  const k2 = crypto.randomBytes(32);
  const env1 = { PRIVACY_CONTEXT_KEYS: `k1:${k1.toString("base64url")}` };
  beforeEach(() => {
    dir = tempDir("at-rest-");
    base = path.join(dir, "context-encrypted");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function seed(env = env1) {
    const store = await open(dir, env);
    store.set("global", "doorCode", SECRET);
    store.set("global", "alice", { home: true, location: LOCATION });
    store.set("flowA", "apiToken", "tok_live_0123456789");
    store.set("n1:flowA", "count", 42);
    await store.close();
  }

  it("writes nothing readable: no value, no key name; the files open by hand with node:crypto", async () => {
    await seed();
    const files = fs.readdirSync(base, { recursive: true }).filter((f) => f.endsWith(".enc")).sort();
    assert.deepEqual(files, ["flowA/flow.enc", "flowA/n1.enc", "global/global.enc"]);
    for (const f of files) {
      const bytes = fs.readFileSync(path.join(base, f));
      for (const needle of [SECRET, "52.520008", "13.404954", "doorCode", "alice", "apiToken", "tok_live", "location"]) {
        assert.equal(bytes.indexOf(needle), -1, `${f} holds ${needle}`);
        assert.equal(bytes.indexOf(Buffer.from(needle, "utf16le")), -1, `${f} holds ${needle} (UTF-16)`);
      }
      assert.equal(fs.statSync(path.join(base, f)).mode & 0o777, 0o600);
    }
    assert.equal(fs.statSync(base).mode & 0o777, 0o700);
    assert.deepEqual(decryptByHand(path.join(base, "global", "global.enc"), "global", "k1", k1), { doorCode: SECRET, alice: { home: true, location: LOCATION } });
    assert.deepEqual(decryptByHand(path.join(base, "flowA", "n1.enc"), "n1:flowA", "k1", k1), { count: 42 });
    // A fresh IV each write: the same data twice gives other bytes.
    const before = fs.readFileSync(path.join(base, "flowA", "flow.enc"));
    const store = await open(dir, env1);
    store.set("flowA", "apiToken", "tok_live_0123456789");
    await store.close();
    assert.ok(!fs.readFileSync(path.join(base, "flowA", "flow.enc")).equals(before));
    assert.ok(!fs.existsSync(path.join(base, ".lock")), "the lock goes with a clean close");
  });

  describe("fails closed, and changes nothing", () => {
    async function refused(env, pattern, config) {
      const before = snapshot(dir);
      const store = encryptedStore({ dir, env, log: memoryLog(), scrypt: FAST_SCRYPT, ...config });
      let error;
      await store.open().catch((e) => (error = e));
      assert.ok(error, "open refused");
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, /[\r\n]/, "one line");
      assert.ok(!error.message.includes(k1.toString("base64url")) && !error.message.includes(k2.toString("base64url")), "no key in the message");
      // A store that did not open answers nothing and writes nothing, even on close.
      assert.throws(() => store.get("global", "doorCode"), /not open/);
      assert.throws(() => store.set("global", "doorCode", "x"), /not open/);
      await store.close();
      assert.throws(() => store.set("global", "doorCode", "x"), /not open/, "still refused after close");
      assert.deepEqual(snapshot(dir), before, "every file as it was");
      return error;
    }

    it("a missing key names the variables to set", async () => {
      await seed();
      await refused({}, /cannot open .*context-encrypted: no key: set PRIVACY_CONTEXT_KEYS .* or PRIVACY_CONTEXT_PASSPHRASE/);
      await refused({ PRIVACY_CONTEXT_KEYS: "k1:tooshort" }, /PRIVACY_CONTEXT_KEYS: key "k1" must be 32 bytes/);
      await refused({ PRIVACY_CONTEXT_KEYS: k1.toString("base64url") }, /entry 1 must be kid:key/);
    });

    it("a missing key is refused even for an empty store (it could not write)", async () => {
      const store = encryptedStore({ dir, env: {}, log: memoryLog() });
      await assert.rejects(store.open(), /no key/);
    });

    it("a wrong key names the file and says so", async () => {
      await seed();
      const e = await refused({ PRIVACY_CONTEXT_KEYS: `k1:${k2.toString("base64url")}` }, /cannot open .*flowA[\\/]flow\.enc: authentication failed: wrong key "k1"/);
      assert.equal(e.name, "ContextStoreError");
    });

    it("a key that is not there any more (kid unknown) is named", async () => {
      await seed();
      await refused({ PRIVACY_CONTEXT_KEYS: `k2:${k2.toString("base64url")}` }, /encrypted with key "k1", which PRIVACY_CONTEXT_KEYS does not hold/);
    });

    it("one flipped byte anywhere in a file (header, kid, IV, ciphertext, tag), or a cut, is refused", async () => {
      await seed();
      const file = path.join(base, "global", "global.enc");
      const good = fs.readFileSync(file);
      const positions = [0, 4, 5, 6, 7, 9, 12, 20, 30, Math.floor(good.length / 2), good.length - 17, good.length - 16, good.length - 1];
      for (const at of positions) {
        const bad = Buffer.from(good);
        bad[at] ^= 0x01;
        fs.writeFileSync(file, bad);
        await refused(env1, /cannot open .*global[\\/]global\.enc: (authentication failed|not an encrypted context file|unknown format version|truncated|malformed key id|encrypted with key)/);
      }
      for (const length of [0, 3, 10, 25, good.length - 1]) {
        fs.writeFileSync(file, good.subarray(0, length));
        await refused(env1, /cannot open .*global[\\/]global\.enc/);
      }
      fs.writeFileSync(file, good);
      const store = await open(dir, env1);
      assert.equal(store.get("global", "doorCode"), SECRET);
      await store.close();
    });

    it("a file moved to another scope does not open there (the scope is authenticated)", async () => {
      await seed();
      fs.mkdirSync(path.join(base, "flowB"));
      fs.copyFileSync(path.join(base, "flowA", "flow.enc"), path.join(base, "flowB", "flow.enc"));
      await refused(env1, /cannot open .*flowB[\\/]flow\.enc: authentication failed/);
      fs.rmSync(path.join(base, "flowB"), { recursive: true });
      fs.renameSync(path.join(base, "flowA", "n1.enc"), path.join(base, "flowA", "n2.enc"));
      await refused(env1, /n2\.enc: authentication failed/);
    });

    it("without the cache, a file changed after open fails that call, naming the file", async () => {
      await seed();
      const store = await open(dir, env1, { cache: false });
      assert.equal(await get(store, "global", "doorCode"), SECRET);
      const file = path.join(base, "global", "global.enc");
      const bad = fs.readFileSync(file);
      bad[40] ^= 0x80;
      fs.writeFileSync(file, bad);
      await assert.rejects(get(store, "global", "doorCode"), /global\.enc: authentication failed/);
      await assert.rejects(set(store, "global", "x", 1), /global\.enc: authentication failed/);
      assert.ok(fs.readFileSync(file).equals(bad), "not overwritten");
      await store.close();
    });
  });

  it("a new active key re-encrypts what is written; old kids still read; rekey does the rest", async () => {
    await seed();
    const both = { PRIVACY_CONTEXT_KEYS: `k2:${k2.toString("base64url")},k1:${k1.toString("base64url")}` };
    let store = await open(dir, both);
    assert.equal(store.get("global", "doorCode"), SECRET);
    store.set("global", "doorCode", "new-code-1234");
    await store.close();
    const kidOf = (f) => fs.readFileSync(path.join(base, f)).subarray(6, 8).toString();
    assert.equal(kidOf("global/global.enc"), "k2");
    assert.equal(kidOf("flowA/flow.enc"), "k1", "untouched scopes keep their key until written or rekeyed");
    const keys = loadKeys({ keyEnv: "PRIVACY_CONTEXT_KEYS", passphraseEnv: "P", env: both, baseDir: base, mayCreateSalt: false });
    const result = await rekeyStore(base, keys);
    assert.deepEqual(result, { files: 3, from: { k1: 2, k2: 1 }, activeKid: "k2" });
    for (const f of ["global/global.enc", "flowA/flow.enc", "flowA/n1.enc"]) assert.equal(kidOf(f), "k2");
    store = await open(dir, { PRIVACY_CONTEXT_KEYS: `k2:${k2.toString("base64url")}` });
    assert.equal(store.get("global", "doorCode"), "new-code-1234");
    assert.equal(store.get("flowA", "apiToken"), "tok_live_0123456789");
    await store.close();
  });

  it("rekey with a wrong key rewrites nothing", async () => {
    await seed();
    const before = snapshot(dir);
    const keys = loadKeys({ keyEnv: "K", passphraseEnv: "P", env: { K: `k1:${newKey()}` }, baseDir: base, mayCreateSalt: false });
    await assert.rejects(rekeyStore(base, keys), /cannot open .*authentication failed.*nothing was rewritten/);
    assert.deepEqual(snapshot(dir), before);
  });

  it("a passphrase: scrypt with the salt beside the data; a wrong passphrase or a lost salt is refused", async () => {
    const pass = { PRIVACY_CONTEXT_PASSPHRASE: "correct horse battery staple" };
    let store = await open(dir, pass);
    store.set("global", "doorCode", SECRET);
    await store.close();
    const salt = JSON.parse(fs.readFileSync(path.join(base, "passphrase-salt.json"), "utf8"));
    assert.equal(salt.kdf, "scrypt");
    assert.equal(salt.N, FAST_SCRYPT.N);
    const key = crypto.scryptSync(Buffer.from(pass.PRIVACY_CONTEXT_PASSPHRASE), Buffer.from(salt.salt, "base64url"), 32, { N: salt.N, r: salt.r, p: salt.p });
    assert.deepEqual(decryptByHand(path.join(base, "global", "global.enc"), "global", "passphrase", key), { doorCode: SECRET });
    await assert.rejects(open(dir, { PRIVACY_CONTEXT_PASSPHRASE: "a wrong passphrase here" }), /authentication failed: wrong key "passphrase"/);
    // Without its salt a passphrase cannot give the key: refused, not salted anew.
    const saltFile = path.join(base, "passphrase-salt.json");
    fs.renameSync(saltFile, path.join(dir, "salt.bak"));
    await assert.rejects(open(dir, pass), /passphrase-salt\.json is missing/);
    assert.ok(!fs.existsSync(saltFile));
    fs.renameSync(path.join(dir, "salt.bak"), saltFile);
    // A passphrase and a key: the key is active, the passphrase still reads (moving to generated keys).
    store = await open(dir, { ...pass, ...env1 });
    assert.equal(store.get("global", "doorCode"), SECRET);
    store.set("global", "doorCode", "moved");
    await store.close();
    store = await open(dir, env1);
    assert.equal(store.get("global", "doorCode"), "moved");
    await store.close();
  });

  it("removes temporary files a crash left, and never reads them", async () => {
    await seed();
    const temp = path.join(base, "global", ".global.enc.12345.7.tmp");
    fs.writeFileSync(temp, "half a write");
    const store = await open(dir, env1);
    assert.equal(store.get("global", "doorCode"), SECRET);
    assert.ok(!fs.existsSync(temp));
    await store.close();
  });

  it("refuses while another live process holds the store; takes over a dead one's lock", async () => {
    await seed();
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      fs.writeFileSync(path.join(base, ".lock"), `${child.pid}\n`);
      await assert.rejects(open(dir, env1), new RegExp(`in use by process ${child.pid}`));
      const keys = loadKeys({ keyEnv: "PRIVACY_CONTEXT_KEYS", passphraseEnv: "P", env: env1, baseDir: base, mayCreateSalt: false });
      await assert.rejects(rekeyStore(base, keys), /in use by process/);
    } finally {
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
    }
    const store = await open(dir, env1);
    assert.equal(store.get("global", "doorCode"), SECRET);
    await store.close();
  });

  it("refuses a scope that would be a path outside its folder", async () => {
    const store = await open(dir, env1);
    for (const scope of ["../x", "a/b", "..:flow", "node:../..", ".hidden"]) {
      assert.throws(() => store.set(scope, "k", 1), /cannot be a file name/, scope);
    }
    await store.close();
    assert.deepEqual(fs.readdirSync(dir), ["context-encrypted"]);
  });

  it("a failed write is logged and retried at the next flush; nothing is lost", async () => {
    const store = await open(dir, env1, { flushInterval: 0.05 });
    store.set("flowA", "a", 1);
    await new Promise((r) => setTimeout(r, 200));
    // A file where the scope's folder should be: the write fails (even as root).
    const flowDir = path.join(base, "flowA");
    fs.rmSync(flowDir, { recursive: true });
    fs.writeFileSync(flowDir, "in the way");
    store.set("flowA", "a", 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(store.log.lines.some((l) => /^error cannot write .*flow\.enc: .*tried again at the next flush/.test(l)), store.log.lines.join("\n"));
    fs.rmSync(flowDir);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(KINDS.encrypted.readDisk(dir, "flowA", { env: env1 }).a, 2, "written by the retry, before close");
    await store.close();
  });

  describe("migration from localfilesystem", () => {
    async function plainStore() {
      const lfs = LocalFileSystem({ dir, cache: false });
      await lfs.open();
      await set(lfs, "global", "doorCode", SECRET);
      await set(lfs, "global", "alice", { home: true, location: LOCATION });
      await set(lfs, "flowA", "apiToken", "tok_live_0123456789");
      await set(lfs, "n1:flowA", "count", 42);
      await lfs.close();
      return path.join(dir, "context");
    }

    it("is not done unless asked: the plain files stay, and a warning says how", async () => {
      const plain = await plainStore();
      const store = await open(dir, env1);
      assert.equal(store.get("global", "doorCode"), undefined);
      assert.ok(fs.existsSync(path.join(plain, "global", "global.json")));
      assert.ok(store.log.lines.some((l) => /3 plain localfilesystem context file\(s\) remain in .*context; add migrateFrom: "localfilesystem"/.test(l)), store.log.lines.join("\n"));
      await store.close();
    });

    it("encrypts every scope, then removes the plain files (and localfilesystem's leftovers)", async () => {
      const plain = await plainStore();
      fs.writeFileSync(path.join(plain, "global", "global.json.1700000000000.tmp"), JSON.stringify({ doorCode: SECRET }));
      // Record the order: every encrypted file renamed into place before any plain file goes.
      const events = [];
      const { rename, rm } = fs.promises;
      fs.promises.rename = (from, to) => (events.push(`rename ${path.basename(to)}`), rename(from, to));
      fs.promises.rm = (p, o) => (events.push(`rm ${path.basename(p)}`), rm(p, o));
      let store;
      try {
        store = await open(dir, env1, { migrateFrom: "localfilesystem" });
      } finally {
        fs.promises.rename = rename;
        fs.promises.rm = rm;
      }
      const firstRm = events.findIndex((e) => e.startsWith("rm "));
      const lastRename = events.map((e) => e.startsWith("rename ")).lastIndexOf(true);
      assert.ok(lastRename >= 0 && firstRm > lastRename, events.join(", "));
      assert.deepEqual(events.filter((e) => e.startsWith("rename")).sort(), ["rename flow.enc", "rename global.enc", "rename n1.enc"]);
      assert.equal(store.get("global", "doorCode"), SECRET);
      assert.deepEqual(store.get("global", "alice.location"), LOCATION);
      assert.equal(store.get("n1:flowA", "count"), 42);
      assert.ok(store.log.lines.some((l) => /migrated 3 scope\(s\) from .*context to .*context-encrypted; 4 plain file\(s\) removed/.test(l)));
      await store.close();
      assert.ok(!fs.existsSync(plain), "the plain store is gone");
      for (const f of fs.readdirSync(base, { recursive: true })) {
        const full = path.join(base, f);
        if (fs.statSync(full).isFile()) assert.equal(fs.readFileSync(full).indexOf(SECRET), -1);
      }
      // The second start finds nothing to migrate.
      store = await open(dir, env1, { migrateFrom: "localfilesystem" });
      assert.equal(store.get("flowA", "apiToken"), "tok_live_0123456789");
      assert.ok(!store.log.lines.some((l) => /migrated/.test(l)));
      await store.close();
    });

    it("finishes after a crash between the encrypted writes and the removals; refuses to guess on a conflict", async () => {
      const plain = await plainStore();
      const copy = path.join(dir, "plain-copy");
      fs.cpSync(plain, copy, { recursive: true });
      let store = await open(dir, env1, { migrateFrom: "localfilesystem" });
      await store.close();
      // As if the process died after the encrypted files were written: the plain ones are back.
      fs.cpSync(copy, plain, { recursive: true });
      store = await open(dir, env1, { migrateFrom: "localfilesystem" });
      assert.equal(store.get("global", "doorCode"), SECRET);
      store.set("global", "doorCode", "changed since");
      await store.close();
      assert.ok(!fs.existsSync(plain));
      // Now the plain copy and the encrypted store disagree: neither is chosen, nothing removed.
      fs.cpSync(copy, plain, { recursive: true });
      const before = snapshot(dir);
      await assert.rejects(open(dir, env1, { migrateFrom: "localfilesystem" }), /cannot migrate .*global\.json: the encrypted store already holds scope global with other contents/);
      assert.deepEqual(snapshot(dir), before);
    });

    it("a plain file that is not JSON stops the migration before anything is written", async () => {
      const plain = await plainStore();
      fs.writeFileSync(path.join(plain, "flowA", "flow.json"), "{not json");
      const before = snapshot(dir);
      await assert.rejects(open(dir, env1, { migrateFrom: "localfilesystem" }), /cannot migrate .*flow\.json: it is not valid JSON \(nothing was migrated\)/);
      const after = snapshot(dir);
      delete after["context-encrypted"];
      delete after[path.join("context-encrypted", ".lock")];
      assert.deepEqual(after, before);
    });

    it("reads from another folder when told (migrateFrom: {module, dir, base})", async () => {
      const lfsDir = tempDir("lfs-elsewhere-");
      try {
        const lfs = LocalFileSystem({ dir: lfsDir, base: "ctx", cache: false });
        await lfs.open();
        await set(lfs, "global", "k", "v");
        await lfs.close();
        const store = await open(dir, env1, { migrateFrom: { module: "localfilesystem", dir: lfsDir, base: "ctx" } });
        assert.equal(store.get("global", "k"), "v");
        await store.close();
        assert.ok(!fs.existsSync(path.join(lfsDir, "ctx")));
      } finally {
        fs.rmSync(lfsDir, { recursive: true, force: true });
      }
    });
  });

  it("validates its config and says which field is wrong", async () => {
    for (const [config, pattern] of [
      [{ flushInterval: "soon" }, /"flushInterval" must be a number/],
      [{ base: "../x" }, /"base"/],
      [{ cache: "yes please" }, /"cache" must be a boolean/],
      [{ keyEnv: "NOT VALID" }, /"keyEnv"/],
      [{ migrateFrom: "redis" }, /"migrateFrom"/],
    ]) {
      await assert.rejects(encryptedStore({ dir, env: env1, ...config }).open(), pattern);
    }
    await assert.rejects(encryptedStore({ env: env1 }).open(), /"dir" is required outside Node-RED/);
  });
});
