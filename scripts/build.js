"use strict";
/**
 * `npm run build`: a clean build, so a renamed or deleted source can never ship stale.
 * Removes dist/, compiles src/ with tsc (source maps on), then copies what Node-RED
 * needs beside each compiled node: the editor .html files, locales/ and icons/.
 */
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const ROOT = path.resolve(__dirname, "..");
const SRC_NODES = path.join(ROOT, "src", "nodes");
const DIST = path.join(ROOT, "dist");
const DIST_NODES = path.join(DIST, "nodes");

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
fs.chmodSync(path.join(DIST, "cli", "index.js"), 0o755);
