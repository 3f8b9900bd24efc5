"use strict";
/**
 * `npm run build`: a clean build, so a renamed or deleted source can never ship stale.
 * Removes dist/, compiles src/ with tsc (source maps on), then copies what Node-RED
 * needs beside each compiled node and plugin: the editor .html files, locales/ and
 * icons/. Last, it bundles the audit engine (dist/audit) into one browser script,
 * dist/audit/browser.js, which the privacy sidebar loads: the editor runs the very
 * code the `audit` command runs, not a copy of it.
 */
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const ROOT = path.resolve(__dirname, "..");
const SRC_NODES = path.join(ROOT, "src", "nodes");
const DIST = path.join(ROOT, "dist");
const DIST_NODES = path.join(DIST, "nodes");

/**
 * A CommonJS bundle of `entry` and the relative modules it requires, for a browser:
 * each module becomes a function in a table, behind a small require. Any other
 * require (a Node built-in, a package) fails the build: the engine must stay pure.
 */
function bundle(entry, globalName) {
  const modules = new Map();
  const visit = (file) => {
    const key = path.relative(DIST, file).split(path.sep).join("/");
    if (modules.has(key)) return key;
    const code = fs.readFileSync(file, "utf8").replace(/^\/\/# sourceMappingURL=.*$/m, "");
    const deps = {};
    modules.set(key, { code, deps });
    for (const m of code.matchAll(/\brequire\("([^"]+)"\)/g)) {
      const spec = m[1];
      if (!spec.startsWith(".")) throw new Error(`${key}: the browser bundle cannot require "${spec}"`);
      deps[spec] = visit(require.resolve(path.resolve(path.dirname(file), spec)));
    }
    return key;
  };
  const main = visit(entry);
  const table = [...modules].map(
    ([key, { code, deps }]) =>
      `${JSON.stringify(key)}: [${JSON.stringify(deps)}, function (module, exports, require) {\n${code}\n}]`,
  );
  return `/* ${globalName}: built by scripts/build.js from ${main}; do not edit. */
(function (root) {
  "use strict";
  var defs = {
${table.join(",\n")}
  };
  var cache = {};
  function load(key) {
    if (cache[key]) return cache[key].exports;
    var def = defs[key];
    var module = (cache[key] = { exports: {} });
    def[1](module, module.exports, function (spec) { return load(def[0][spec]); });
    return module.exports;
  }
  root.${globalName} = load(${JSON.stringify(main)});
})(typeof self !== "undefined" ? self : this);
`;
}

fs.rmSync(DIST, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(ROOT, "tsconfig.json")], {
  cwd: ROOT,
  stdio: "inherit",
});
for (const name of fs.readdirSync(SRC_NODES)) {
  if (name.endsWith(".html")) fs.copyFileSync(path.join(SRC_NODES, name), path.join(DIST_NODES, name));
}
for (const dir of ["locales", "icons"]) {
  fs.cpSync(path.join(SRC_NODES, dir), path.join(DIST_NODES, dir), { recursive: true });
}
fs.writeFileSync(path.join(DIST, "audit", "browser.js"), bundle(path.join(DIST, "audit", "index.js"), "PrivacyAuditEngine"));
fs.chmodSync(path.join(DIST, "cli", "index.js"), 0o755);
