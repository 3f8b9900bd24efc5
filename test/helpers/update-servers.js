"use strict";
/**
 * Local stand-ins for what privacy-update-check talks to, on 127.0.0.1 only:
 *  - an npm registry: abbreviated metadata at GET /<name> (scoped: /@scope%2fname) with
 *    content type application/vnd.npm.install-v1+json, 404 {"error":"Not found"} for
 *    unknown packages, and the bulk advisory endpoint POST /-/npm/v1/security/advisories/bulk
 *    taking { "<pkg>": ["<version>"] } and answering { "<pkg>": [{ id, url, title,
 *    severity, vulnerable_versions, cwe, cvss }] } for the versions it was sent;
 *  - a manifest server: GET /manifest.json.
 * Each endpoint's behaviour is switched through `state.mode` between requests:
 * "ok", 405, 500 (any status number), "garbage", "slow", "huge", "hang-body", "reset".
 */
const http = require("node:http");
const crypto = require("node:crypto");
const semver = require("semver");
const { generateKeyPair, signManifest, parsePrivateKey } = require("../../dist/update-check/firmware-manifest.js");

function misbehave(mode, req, res, state) {
  if (mode === "ok" || mode === undefined) return false;
  if (typeof mode === "number") {
    res.writeHead(mode, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: mode === 405 ? "Method Not Allowed" : "Internal Server Error" }));
    return true;
  }
  if (mode === "garbage") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end("{not json <html>");
    return true;
  }
  if (mode === "slow") {
    // Answers long after any sane timeout; the timer is dropped when the server closes.
    const t = setTimeout(() => {
      if (!res.writableEnded) {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end("{}");
      }
    }, state.slowMs || 5000);
    res.on("close", () => clearTimeout(t));
    return true;
  }
  if (mode === "huge") {
    // No content-length: the client must count bytes as they arrive.
    res.writeHead(200, { "Content-Type": "application/json" });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < (state.hugeBytes || 4 * 1024 * 1024)) {
        sent += chunk.length;
        if (!res.write(chunk)) return res.once("drain", pump);
      }
      res.end("{}");
    };
    res.on("error", () => undefined);
    pump();
    return true;
  }
  if (mode === "hang-body") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.write('{"dist-tags":');
    return true;
  }
  if (mode === "reset") {
    req.socket.destroy();
    return true;
  }
  throw new Error(`unknown mode ${mode}`);
}

function listen(server) {
  const sockets = new Set();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      }),
    ),
  );
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => resolve(body));
  });
}

/**
 * packages: { name: { latest, versions?: string[], deprecated?: { [version]: message } } }
 * advisories: { name: [{ id, url, title, severity, vulnerable_versions, cwe, cvss }] }
 */
async function startRegistry({ packages = {}, advisories = {} } = {}) {
  const state = { packages, advisories, mode: { metadata: "ok", advisories: "ok" }, requests: [], unfiltered: false };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const body = req.method === "POST" ? await readBody(req) : "";
    state.requests.push({ method: req.method, path: url.pathname, accept: req.headers.accept, body });
    if (url.pathname === "/-/npm/v1/security/advisories/bulk") {
      if (req.method !== "POST") return misbehave(405, req, res, state);
      if (misbehave(state.mode.advisories, req, res, state)) return;
      let asked;
      try {
        asked = JSON.parse(body);
      } catch {
        res.writeHead(400);
        return res.end();
      }
      const out = {};
      for (const [name, versions] of Object.entries(asked)) {
        const list = (state.advisories[name] || []).filter((a) => state.unfiltered || versions.some((v) => semver.satisfies(v, a.vulnerable_versions)));
        if (list.length) out[name] = list;
      }
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(JSON.stringify(out));
    }
    if (req.method !== "GET") return misbehave(405, req, res, state);
    if (misbehave(state.mode.metadata, req, res, state)) return;
    // The registry takes "@scope%2fname"; decodeURIComponent gives the package name.
    const name = decodeURIComponent(url.pathname.slice(1));
    const pkg = state.packages[name];
    if (!pkg) {
      res.writeHead(404, { "Content-Type": "application/json" });
      return res.end(JSON.stringify({ error: "Not found" }));
    }
    const versions = {};
    for (const v of pkg.versions || [pkg.latest]) {
      versions[v] = {
        name,
        version: v,
        dist: { tarball: `${state.base}${name}/-/${name.split("/").pop()}-${v}.tgz`, shasum: crypto.createHash("sha1").update(v).digest("hex"), integrity: "sha512-" + crypto.createHash("sha512").update(v).digest("base64") },
        engines: { node: ">=18" },
        ...(pkg.deprecated && pkg.deprecated[v] ? { deprecated: pkg.deprecated[v] } : {}),
      };
    }
    res.writeHead(200, { "Content-Type": "application/vnd.npm.install-v1+json" });
    res.end(JSON.stringify({ name, modified: "2026-01-01T00:00:00.000Z", "dist-tags": { latest: pkg.latest }, versions }));
  });
  const l = await listen(server);
  state.base = l.url;
  return { ...l, state };
}

/** Serves `state.body` (an object or a raw string) at /manifest.json, with `state.mode`. */
async function startManifestServer() {
  const state = { body: undefined, mode: "ok", requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    if (misbehave(state.mode, req, res, state)) return;
    if (state.body === undefined) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(typeof state.body === "string" ? state.body : JSON.stringify(state.body));
  });
  const l = await listen(server);
  return { ...l, manifestUrl: `${l.url}manifest.json`, state };
}

const DAY = 86400000;

/** A manifest body (the "signed" part) with the given version and expiry. */
function manifestBody({ version = 1, expiresInDays = 30, now = Date.now(), models } = {}) {
  return {
    _type: "firmware-manifest",
    specVersion: 1,
    name: "acme-sensors",
    version,
    expires: new Date(now + expiresInDays * DAY).toISOString(),
    models: models || {
      "TH-100": { latest: "2.4.1", minimumSecure: "2.3.0", endOfSupport: new Date(now + 900 * DAY).toISOString().slice(0, 10), releaseNotes: "https://vendor.invalid/th-100/2.4.1" },
      "CAM-7": { latest: "1.9.0", minimumSecure: "1.8.0", endOfSupport: new Date(now - 10 * DAY).toISOString().slice(0, 10) },
    },
  };
}

/** A key pair and a signer: sign(bodyOptions) -> envelope. */
function makeSigner() {
  const pair = generateKeyPair();
  const key = parsePrivateKey(pair.privatePem);
  return { ...pair, key, sign: (opts) => signManifest(manifestBody(opts), key) };
}

module.exports = { startRegistry, startManifestServer, manifestBody, makeSigner, DAY };
