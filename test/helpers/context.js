"use strict";
/**
 * The encrypted context store next to Node-RED's own `localfilesystem` (the oracle,
 * loaded from node_modules), behind one interface, so a behaviour is checked against
 * both: the oracle shows the test states what localfilesystem does, our store that it
 * does the same.
 */
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.join(__dirname, "..", "..");
const LocalFileSystem = require(path.join(ROOT, "node_modules", "@node-red", "runtime", "lib", "nodes", "context", "localfilesystem.js"));
const encryptedStore = require(path.join(ROOT, "dist", "context", "index.js"));
const { openScope } = require(path.join(ROOT, "dist", "context", "envelope.js"));
const { loadKeys } = require(path.join(ROOT, "dist", "context", "keys.js"));
const { decodeScope, materializeAll } = require(path.join(ROOT, "dist", "context", "scope-data.js"));
const { scopeFile } = require(path.join(ROOT, "dist", "context", "layout.js"));

function newKey() {
  return crypto.randomBytes(32).toString("base64url");
}

/** A keys env with one fresh key: { PRIVACY_CONTEXT_KEYS: "k1:..." }. */
function keyEnv(kid = "k1") {
  return { PRIVACY_CONTEXT_KEYS: `${kid}:${newKey()}` };
}

function tempDir(prefix = "ctx-") {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A log that records lines instead of printing them. */
function memoryLog() {
  const lines = [];
  return { lines, warn: (l) => lines.push(`warn ${l}`), error: (l) => lines.push(`error ${l}`), debug: () => {} };
}

const KINDS = {
  localfilesystem: {
    make: (config) => LocalFileSystem(config),
    base: "context",
    /** The scope as it is on disk (undefined: no file). */
    readDisk(dir, scope, config = {}) {
      const file = plainFile(path.join(dir, config.base || "context"), scope);
      return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : undefined;
    },
  },
  encrypted: {
    make: (config) => encryptedStore({ log: memoryLog(), ...config }),
    base: "context-encrypted",
    readDisk(dir, scope, config = {}) {
      const base = path.join(dir, config.base || "context-encrypted");
      const file = scopeFile(base, scope);
      if (!fs.existsSync(file)) return undefined;
      const keys = loadKeys({ keyEnv: "PRIVACY_CONTEXT_KEYS", passphraseEnv: "PRIVACY_CONTEXT_PASSPHRASE", env: config.env, baseDir: base, mayCreateSalt: false });
      return { ...materializeAll(decodeScope(openScope(fs.readFileSync(file), scope, keys).plaintext).root) };
    },
  },
};

function plainFile(base, scope) {
  if (scope === "global") return path.join(base, "global", "global.json");
  if (!scope.includes(":")) return path.join(base, scope, "flow.json");
  const [node, flow] = scope.split(":");
  return path.join(base, flow, `${node}.json`);
}

/** Promise forms of the callback API. */
function get(store, scope, key) {
  return new Promise((resolve, reject) => store.get(scope, key, (err, ...values) => (err ? reject(err) : resolve(Array.isArray(key) ? values : values[0]))));
}

function set(store, scope, key, value) {
  return new Promise((resolve, reject) => store.set(scope, key, value, (err) => (err ? reject(err) : resolve())));
}

function keys(store, scope) {
  return new Promise((resolve, reject) => store.keys(scope, (err, k) => (err ? reject(err) : resolve(k))));
}

/** Every file under a directory with its bytes (to show a failed open changed nothing). */
function snapshot(dir) {
  const out = {};
  if (!fs.existsSync(dir)) return out;
  for (const rel of fs.readdirSync(dir, { recursive: true })) {
    const full = path.join(dir, rel);
    if (fs.statSync(full).isFile()) out[rel] = crypto.createHash("sha256").update(fs.readFileSync(full)).digest("hex");
    else out[rel] = "dir";
  }
  return out;
}

module.exports = { KINDS, LocalFileSystem, encryptedStore, newKey, keyEnv, tempDir, memoryLog, get, set, keys, snapshot, plainFile, ROOT };
