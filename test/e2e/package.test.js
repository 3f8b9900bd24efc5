"use strict";
/**
 * The package as a user gets it: the packed tarball's contents, the flow library
 * scorecard, and an install through the palette manager's upload into a running
 * Node-RED (no restart), after which the nodes appear and work.
 */
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { packTarball } = require("../helpers/pack");
const { startRuntime, api, tempDir, waitFor, deploy, inject, fileSink, readJsonLines } = require("../helpers/runtime");

const ROOT = path.join(__dirname, "..", "..");
const pkg = require("../../package.json");

/** Run in the user dir of a runtime the package was installed into: resolves and uses the context store. */
const CONTEXT_PROBE = `
const file = require.resolve("@privacy-toolkit/node-red-privacy/context");
const store = require("@privacy-toolkit/node-red-privacy/context")({ dir: process.argv[1] });
store.open()
  .then(() => { store.set("global", "k", "probe-secret"); return store.close(); })
  .then(() => process.stdout.write(file), (e) => { console.error(e.message); process.exit(1); });
`;

describe("the packed package", function () {
  this.timeout(240000);
  let tarball;
  before(() => {
    tarball = packTarball(tempDir("nr-privacy-pack-"));
  });

  it("carries every node's and plugin's compiled .js beside its .html, locales, icons and examples, and only dist/, resources/, examples and the package papers", () => {
    const files = new Set(tarball.files);
    for (const [type, js] of Object.entries(pkg["node-red"].nodes)) {
      assert.ok(files.has(js), `${js} packed`);
      assert.ok(files.has(js.replace(/\.js$/, ".html")), `${type} .html packed beside its .js`);
      const base = path.basename(js, ".js");
      assert.ok(files.has(`dist/nodes/locales/en-US/${base}.json`), `${type} labels packed`);
      assert.ok(files.has(`dist/nodes/locales/en-US/${base}.html`), `${type} help packed`);
    }
    for (const [id, js] of Object.entries(pkg["node-red"].plugins || {})) {
      assert.ok(files.has(js), `plugin ${id} packed`);
      assert.ok(files.has(js.replace(/\.js$/, ".html")), `plugin ${id} .html packed beside its .js`);
      assert.ok(files.has(`dist/nodes/locales/en-US/${path.basename(js, ".js")}.json`), `plugin ${id} labels packed`);
    }
    assert.ok(files.has("dist/audit/browser.js"), "the audit engine's browser bundle packed");
    const html = Object.values(pkg["node-red"].nodes).map((js) => fs.readFileSync(path.join(ROOT, js.replace(/\.js$/, ".html")), "utf8"));
    for (const m of html.join("\n").matchAll(/icon:\s*"([^"]+)"/g)) {
      if (!m[1].startsWith("font-awesome")) assert.ok(files.has(`dist/nodes/icons/${m[1]}`), `icon ${m[1]} packed`);
    }
    assert.ok([...files].some((f) => f.startsWith("examples/") && f.endsWith(".json")), "examples packed");
    for (const [subpath, target] of Object.entries(pkg.exports)) assert.ok(files.has(target.replace(/^\.\//, "")), `${subpath} -> ${target} packed`);
    // Only build output, the shared editor script, examples and the package's own papers.
    const allowed = /^(?:dist\/|resources\/|examples\/|README\.md$|LICENSE$|package\.json$)/;
    for (const f of files) {
      assert.match(f, allowed, `${f} must not be packed`);
      assert.ok(!f.endsWith(".ts"), `${f}: TypeScript sources are not needed by users`);
    }
    assert.ok(files.has("LICENSE") && files.has("README.md") && files.has("package.json"));
  });

  it("claims only Node-RED versions this suite runs on (4.1 here, 5 in the matrix)", () => {
    const semver = require("semver");
    const claim = pkg["node-red"].version;
    const running = require("node-red/package.json").version;
    assert.ok(semver.satisfies(running, claim), `Node-RED ${running} is within the claim ${claim}`);
    // The lowest version claimed is the lowest the matrix runs (Node-RED 4.1 on Node 20).
    assert.equal(semver.minVersion(claim).version, "4.1.0");
    const lock = path.join(ROOT, "package-lock.json");
    if (!process.env.NR_MATRIX) {
      // The matrix run installs Node-RED 5 into a copy with a lock of its own.
      const base = JSON.parse(fs.readFileSync(lock, "utf8")).packages["node_modules/node-red"].version;
      assert.ok(semver.satisfies(base, "~4.1.0"), `the base run is Node-RED 4.1 (${base})`);
    }
  });

  it("passes the flow library scorecard (node-red-dev validate) with every check true", () => {
    const out = path.join(tempDir("nr-privacy-scorecard-"), "scorecard.json");
    const bin = require.resolve("node-red-dev/bin/run");
    const r = spawnSync(process.execPath, ["-r", path.join(__dirname, "..", "helpers", "offline-catalogue.js"), bin, "validate", "-p", ROOT, "-o", out], { cwd: ROOT, encoding: "utf8", timeout: 120000 });
    const text = `${r.stdout}\n${r.stderr}`;
    assert.ok(fs.existsSync(out), `scorecard written:\n${text}`);
    const scorecard = JSON.parse(fs.readFileSync(out, "utf8"));
    const failed = Object.entries(scorecard).filter(([, v]) => v && v.test === false);
    assert.deepEqual(failed, [], `scorecard:\n${text}`);
    for (const check of ["P01", "P03", "P04", "P05", "P06", "P07", "N01", "N02", "D01", "D02", "D03"]) {
      assert.ok(scorecard[check] && scorecard[check].test === true, `${check} ran and passed:\n${text}`);
    }
    assert.doesNotMatch(text, /Warning|Error|Unable to parse/i, "no warning, error or unparsable node in the scorecard run");
  });

  it("installs through the palette manager's upload into a running Node-RED, and its nodes appear and work", async () => {
    const rt = await startRuntime({ loadPackage: false });
    try {
      const before = await api(rt, "GET", "/nodes");
      assert.ok(!before.some((n) => n.module === pkg.name), "not installed before");
      const form = new FormData();
      form.append("tarball", new Blob([fs.readFileSync(tarball.file)], { type: "application/gzip" }), path.basename(tarball.file));
      const res = await fetch(new URL("nodes", rt.url), { method: "POST", body: form, headers: { Accept: "application/json" } });
      const body = await res.text();
      assert.equal(res.status, 200, `upload answered ${res.status}: ${body}\n${rt.output()}`);
      const info = JSON.parse(body);
      assert.equal(info.name, pkg.name);
      const nodes = await waitFor(async () => {
        const list = await api(rt, "GET", "/nodes");
        return list.some((n) => n.module === pkg.name) && list;
      }, { what: "the module in /nodes" });
      const types = nodes.filter((n) => n.module === pkg.name).flatMap((n) => n.types);
      for (const t of Object.keys(pkg["node-red"].nodes)) assert.ok(types.includes(t), `${t} registered after install`);
      // ...and the privacy audit plugin, with the engine it serves to the sidebar.
      const plugins = await api(rt, "GET", "/plugins");
      assert.ok(plugins.some((p) => p.module === pkg.name && p.plugins.some((x) => x.id === "privacy-audit")), "privacy-audit plugin loaded");
      const engine = await fetch(new URL("privacy-audit/engine.js", rt.url));
      assert.equal(engine.status, 200);
      assert.match(await engine.text(), /PrivacyAuditEngine/);
      assert.ok(nodes.filter((n) => n.module === pkg.name).every((n) => n.enabled && !n.err), "every node set loaded without error");
      const installed = path.join(rt.userDir, "node_modules", ...pkg.name.split("/"), "package.json");
      assert.ok(fs.existsSync(installed), "installed into the user directory");
      // ...and work, without a restart: a reading goes through the installed minimize node.
      const sink = fileSink("installed-sink", "t-installed", rt.userDir);
      await deploy(rt, [
        { id: "t-installed", type: "tab", label: "installed" },
        { id: "installed-in", type: "inject", z: "t-installed", props: [{ p: "payload" }], payload: '{"t":21.37,"owner":"alice@example.com"}', payloadType: "json", wires: [["installed-min"]] },
        { id: "installed-min", type: "privacy-minimize", z: "t-installed", property: "payload", mode: "keep", rules: [{ path: "t", op: "round", decimals: 1 }], wires: [[sink.input]] },
        ...sink.nodes,
      ]);
      await inject(rt, "installed-in");
      const [out] = await waitFor(() => readJsonLines(sink.file).length === 1 && readJsonLines(sink.file), { what: "the installed node's output" });
      assert.deepEqual(out.payload, { t: 21.4 });
      assert.equal(out.privacy.trail[0].type, "privacy-minimize");
      // settings.js's require("@privacy-toolkit/node-red-privacy/context") resolves in the
      // installed copy (through package.json's exports) and its store works there.
      const probe = spawnSync(process.execPath, ["-e", CONTEXT_PROBE, path.join(rt.userDir, "probe")], {
        cwd: rt.userDir,
        encoding: "utf8",
        env: { ...process.env, PRIVACY_CONTEXT_KEYS: `probe:${require("node:crypto").randomBytes(32).toString("base64url")}` },
      });
      assert.equal(probe.status, 0, probe.stderr);
      const resolved = probe.stdout.trim();
      assert.equal(resolved, path.join(rt.userDir, "node_modules", ...pkg.name.split("/"), "dist", "context", "index.js"));
      const written = fs.readFileSync(path.join(rt.userDir, "probe", "context-encrypted", "global", "global.enc"));
      assert.equal(written.subarray(0, 4).toString(), "PCTX");
      assert.equal(written.indexOf("probe-secret"), -1);
    } finally {
      await rt.stop();
    }
  });
});
