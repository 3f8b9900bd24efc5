"use strict";
const assert = require("node:assert/strict");
const path = require("node:path");
const http = require("node:http");
const fc = require("fast-check");
const npm = require("../../../dist/update-check/npm-check.js");
const { fetchJson, FetchFailure } = require("../../../dist/update-check/bounded-fetch.js");
const { startRegistry } = require("../../helpers/update-servers");

const ADVISORY = {
  id: 1096460,
  url: "https://github.com/advisories/GHSA-xxxx-yyyy-zzzz",
  title: "Prototype pollution in example-lib",
  severity: "high",
  vulnerable_versions: "<1.4.2",
  cwe: ["CWE-1321"],
  cvss: { score: 7.5, vectorString: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N" },
};

describe("npm check: registry configuration", () => {
  it("reads .npmrc with comments, quotes and ${VAR}", () => {
    const conf = npm.parseNpmrc('; comment\n# other\nregistry = "${REG}"\n@acme:registry=http://127.0.0.1:1/acme\n//host/:_authToken=secret\n', { REG: "http://127.0.0.1:9/" });
    assert.equal(conf.registry, "http://127.0.0.1:9/");
    assert.equal(conf["@acme:registry"], "http://127.0.0.1:1/acme");
  });

  it("takes node config, then the environment, then the user dir .npmrc, then ~/.npmrc", () => {
    const home = "registry=http://127.0.0.1:1/home";
    const user = "registry=http://127.0.0.1:2/user";
    const env = { npm_config_registry: "http://127.0.0.1:3/env" };
    assert.deepEqual(pickReg({ env: {}, homeNpmrc: home }), ["http://127.0.0.1:1/home/", "home .npmrc"]);
    assert.deepEqual(pickReg({ env: {}, homeNpmrc: home, userNpmrc: user }), ["http://127.0.0.1:2/user/", "userDir .npmrc"]);
    assert.deepEqual(pickReg({ env, homeNpmrc: home, userNpmrc: user }), ["http://127.0.0.1:3/env/", "environment"]);
    assert.deepEqual(pickReg({ configured: "http://127.0.0.1:4", env, userNpmrc: user }), ["http://127.0.0.1:4/", "node"]);
  });

  it("says null when nothing is configured: there is no built-in registry", () => {
    assert.deepEqual(pickReg({ env: {} }), [null, "none"]);
    assert.deepEqual(pickReg({ env: { npm_config_registry: "ftp://x" }, userNpmrc: "registry=not a url" }), [null, "none"]);
  });

  function pickReg(sources) {
    const r = npm.resolveRegistry(sources);
    return [r.url, r.source];
  }
});

describe("npm check: installed modules and registry answers", () => {
  it("lists the user dir's dependencies at the versions found in node_modules", () => {
    const files = {
      "/u/package.json": JSON.stringify({ dependencies: { "node-red-dashboard": "^3", "@acme/nodes": "1", missing: "1", "../evil": "1", broken: "1" } }),
      "/u/node_modules/node-red-dashboard/package.json": JSON.stringify({ version: "3.6.0" }),
      "/u/node_modules/@acme/nodes/package.json": JSON.stringify({ version: "1.0.0-beta.1" }),
      "/u/node_modules/broken/package.json": "{",
    };
    const got = npm.listInstalled("/u", (f) => files[f], path.posix.join);
    assert.deepEqual(got, [
      { name: "@acme/nodes", version: "1.0.0-beta.1" },
      { name: "node-red-dashboard", version: "3.6.0" },
    ]);
    assert.deepEqual(npm.listInstalled("/none", () => undefined, path.posix.join), []);
  });

  it("encodes scoped names the way the registry expects", () => {
    assert.equal(npm.packumentUrl("http://127.0.0.1:1/r/", "@acme/nodes"), "http://127.0.0.1:1/r/@acme%2fnodes");
    assert.equal(npm.advisoriesUrl("http://127.0.0.1:1/r/"), "http://127.0.0.1:1/r/-/npm/v1/security/advisories/bulk");
  });

  it("keeps only advisories whose range covers the installed version, and keeps unreadable ranges", () => {
    const installed = [{ name: "a", version: "1.4.2" }, { name: "b", version: "1.0.0" }, { name: "c", version: "2.0.0" }];
    const map = npm.readAdvisories({ a: [ADVISORY], b: [ADVISORY, { ...ADVISORY, id: 2, vulnerable_versions: "this is not a range", severity: "weird" }] }, installed);
    assert.deepEqual(map.get("a"), []);
    assert.deepEqual(map.get("b").map((a) => [a.id, a.severity]), [[1096460, "high"], [2, "high"]]);
    assert.deepEqual(map.get("c"), []);
    assert.throws(() => npm.readAdvisories([], installed), FetchFailure);
    assert.throws(() => npm.readAdvisories({ a: "x" }, installed), /not a list/);
  });

  it("never throws anything but FetchFailure on hostile registry answers (property)", () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4, withNullPrototype: true }), (json) => {
        for (const f of [() => npm.readPackument(json, "a", "1.0.0"), () => npm.readAdvisories(json, [{ name: "a", version: "1.0.0" }])]) {
          try {
            f();
          } catch (e) {
            assert.ok(e instanceof FetchFailure, String(e));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("npm check: against a local registry", function () {
  this.timeout(10000);
  let reg;
  const modules = [
    { name: "node-red-dashboard", version: "3.6.0" },
    { name: "example-lib", version: "1.4.0" },
    { name: "@acme/nodes", version: "2.0.0" },
  ];
  beforeEach(async () => {
    reg = await startRegistry({
      packages: {
        "node-red": { latest: "4.1.15", versions: ["4.1.0", "4.1.15"] },
        "node-red-dashboard": { latest: "3.6.5", versions: ["3.6.0", "3.6.5"], deprecated: { "3.6.0": "use 3.6.5" } },
        "example-lib": { latest: "1.4.2", versions: ["1.4.0", "1.4.2"] },
        "@acme/nodes": { latest: "2.0.0" },
      },
      advisories: { "example-lib": [ADVISORY], "node-red-dashboard": [{ ...ADVISORY, id: 5, vulnerable_versions: "<3.0.0" }] },
    });
  });
  afterEach(() => reg.close());

  const run = (extra = {}) =>
    npm.checkNodeRed({ registry: npm.resolveRegistry({ configured: reg.url, env: {} }), nodeRedVersion: "4.1.15", modules, fetchJson, timeoutMs: 1000, maxBytes: 1 << 20, ...extra });

  it("reports each module's status from abbreviated metadata and bulk advisories", async () => {
    const r = await run();
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.nodeRed, { name: "node-red", installed: "4.1.15", latest: "4.1.15", status: "up-to-date", advisories: [] });
    const byName = Object.fromEntries(r.modules.map((m) => [m.name, m]));
    assert.equal(byName["node-red-dashboard"].status, "update-available");
    assert.equal(byName["node-red-dashboard"].deprecated, "use 3.6.5");
    assert.equal(byName["example-lib"].status, "vulnerable");
    assert.deepEqual(byName["example-lib"].advisories, [{ id: 1096460, severity: "high", title: ADVISORY.title, url: ADVISORY.url, vulnerableVersions: "<1.4.2" }]);
    assert.equal(byName["@acme/nodes"].status, "up-to-date");
    assert.deepEqual(r.summary, { checked: 4, upToDate: 2, updatesAvailable: 2, vulnerable: 1, unknown: 0, advisories: "ok" });
    const metaReqs = reg.state.requests.filter((q) => q.method === "GET");
    assert.ok(metaReqs.every((q) => /application\/vnd\.npm\.install-v1\+json/.test(q.accept)));
    assert.ok(metaReqs.some((q) => q.path === "/@acme%2fnodes"));
    const post = reg.state.requests.find((q) => q.method === "POST");
    assert.deepEqual(JSON.parse(post.body), { "node-red": ["4.1.15"], "node-red-dashboard": ["3.6.0"], "example-lib": ["1.4.0"], "@acme/nodes": ["2.0.0"] });
  });

  for (const mode of [405, 500, "garbage", "huge", "slow", "reset"]) {
    it(`reports advisories as unavailable, never as none, when the endpoint answers ${mode}`, async () => {
      reg.state.mode.advisories = mode;
      const r = await run({ maxBytes: 256 * 1024, timeoutMs: 300 });
      assert.equal(r.summary.advisories, "unavailable");
      assert.equal(r.summary.vulnerable, null);
      assert.ok(r.modules.every((m) => m.advisories === null && m.status !== "vulnerable"));
      assert.equal(r.failures.length, 1);
      assert.equal(r.failures[0].what, "advisories");
      assert.match(r.failures[0].message, /^advisories unavailable/);
      assert.equal(r.offline, false, "metadata still answered");
      assert.equal(r.modules.find((m) => m.name === "node-red-dashboard").status, "update-available");
    });
  }

  for (const mode of [500, "garbage", "huge", "slow", "hang-body", "reset"]) {
    it(`marks modules unknown with a reason when metadata answers ${mode}`, async () => {
      reg.state.mode.metadata = mode;
      const r = await run({ maxBytes: 256 * 1024, timeoutMs: 300 });
      assert.ok([r.nodeRed, ...r.modules].every((m) => (m.status === "unknown" || m.status === "vulnerable") && m.latest === null && m.error));
      assert.equal(r.failures.filter((f) => f.what === "metadata").length, 4);
      const reason = r.failures[0].reason;
      assert.equal(reason, { 500: "http-500", garbage: "bad-json", huge: "too-large", slow: "timeout", "hang-body": "timeout", reset: "network" }[mode]);
    });
  }

  it("is offline when nothing answers", async () => {
    await reg.close();
    const r = await run();
    assert.equal(r.offline, true);
    assert.equal(r.summary.advisories, "unavailable");
    assert.ok(r.failures.every((f) => f.reason === "network"));
  });

  it("says registry not configured and asks nobody when no registry is configured", async () => {
    const r = await npm.checkNodeRed({ registry: npm.resolveRegistry({ env: {} }), nodeRedVersion: "4.1.15", modules, fetchJson, timeoutMs: 1000, maxBytes: 1000 });
    assert.deepEqual(r.failures, [{ what: "registry", reason: "not-configured", message: "registry not configured" }]);
    assert.equal(r.summary.vulnerable, null);
    assert.equal(reg.state.requests.length, 0);
  });

  it("reports Node-RED as unknown, not as outdated, when its version cannot be found out", async () => {
    const r = await run({ nodeRedVersion: null });
    assert.deepEqual([r.nodeRed.installed, r.nodeRed.status, r.nodeRed.latest], ["unknown", "unknown", null]);
    assert.equal(r.modules.length, 3);
    assert.equal(r.summary.updatesAvailable, 2);
    assert.ok(!reg.state.requests.some((q) => q.path === "/node-red"));
  });

  it("reports a private module the registry does not know as unknown (404)", async () => {
    delete reg.state.packages["@acme/nodes"];
    const r = await run();
    const m = r.modules.find((x) => x.name === "@acme/nodes");
    assert.equal(m.status, "unknown");
    assert.deepEqual(r.failures.map((f) => [f.name, f.reason]), [["@acme/nodes", "http-404"]]);
  });
});

describe("bounded fetch", () => {
  it("caps a body that declares its length, and aborts on request", async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(200, { "Content-Length": 5000 });
      res.end("x".repeat(5000));
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${server.address().port}/`;
    try {
      await assert.rejects(fetchJson(url, { timeoutMs: 1000, maxBytes: 4999 }), (e) => e.kind === "too-large");
      await assert.rejects(fetchJson(url, { timeoutMs: 1000, maxBytes: 5000 }), (e) => e.kind === "bad-json");
      await assert.rejects(fetchJson(url, { timeoutMs: 1000, maxBytes: 5000, signal: AbortSignal.abort() }), (e) => e.kind === "aborted");
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("caps the decompressed size, not the compressed one (gzip bomb)", async () => {
    const zlib = require("node:zlib");
    const bomb = zlib.gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20));
    const server = http.createServer((req, res) => {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": "gzip", "Content-Length": bomb.length });
      res.end(bomb);
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    try {
      assert.ok(bomb.length < 100 * 1024);
      await assert.rejects(fetchJson(`http://127.0.0.1:${server.address().port}/`, { timeoutMs: 2000, maxBytes: 100 * 1024 }), (e) => e.kind === "too-large");
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("never reports credentials or query strings of a URL", async () => {
    await assert.rejects(fetchJson("http://user:secret@127.0.0.1:1/x?token=abc", { timeoutMs: 500, maxBytes: 10 }), (e) => {
      assert.doesNotMatch(e.message, /secret|token|abc/);
      return e.kind === "network";
    });
  });

  describe("redirects", () => {
    let a;
    let b;
    const seen = { a: [], b: [] };
    const listen = (name, handler) =>
      new Promise((resolve) => {
        const server = http.createServer((req, res) => {
          let body = "";
          req.on("data", (d) => (body += d));
          req.on("end", () => {
            seen[name].push({ method: req.method, url: req.url, body });
            handler(req, res);
          });
        });
        server.listen(0, "127.0.0.1", () => resolve(server));
      });
    const url = (server, p) => `http://127.0.0.1:${server.address().port}${p}`;
    before(async () => {
      b = await listen("b", (req, res) => res.end('{"from":"b"}'));
      a = await listen("a", (req, res) => {
        if (req.url === "/same") return res.writeHead(302, { Location: "/target" }).end();
        if (req.url === "/post") return res.writeHead(307, { Location: "/target" }).end();
        if (req.url === "/loop") return res.writeHead(301, { Location: "/loop" }).end();
        if (req.url === "/away") return res.writeHead(307, { Location: url(b, "/steal") }).end();
        if (req.url === "/target") return res.end('{"from":"a"}');
        res.writeHead(404).end();
      });
    });
    beforeEach(() => {
      seen.a.length = 0;
      seen.b.length = 0;
    });
    after(async () => {
      for (const s of [a, b]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    });

    it("follows a redirect within the same origin", async () => {
      assert.deepEqual(await fetchJson(url(a, "/same"), { timeoutMs: 2000, maxBytes: 1000 }), { from: "a" });
    });

    it("refuses a redirect to another origin, which never hears of the request or its body", async () => {
      await assert.rejects(
        fetchJson(url(a, "/away"), { method: "POST", body: '{"installed":["x"]}', timeoutMs: 2000, maxBytes: 1000 }),
        (e) => e instanceof FetchFailure && e.kind === "redirect" && /another origin/.test(e.message),
      );
      await assert.rejects(fetchJson(url(a, "/away"), { timeoutMs: 2000, maxBytes: 1000 }), (e) => e.kind === "redirect");
      assert.deepEqual(seen.b, []);
    });

    it("never sends a POST body twice, even within the same origin", async () => {
      await assert.rejects(
        fetchJson(url(a, "/post"), { method: "POST", body: '{"installed":["x"]}', timeoutMs: 2000, maxBytes: 1000 }),
        (e) => e.kind === "redirect" && /POST/.test(e.message),
      );
      assert.deepEqual(seen.a.map((r) => r.url), ["/post"]);
    });

    it("stops after a bounded number of redirects", async () => {
      await assert.rejects(fetchJson(url(a, "/loop"), { timeoutMs: 2000, maxBytes: 1000 }), (e) => e.kind === "redirect" && /more than/.test(e.message));
    });
  });
});
