"use strict";
/**
 * Runs the whole test suite again on Node-RED 5 with Node 22 (Node-RED 5 needs Node
 * >= 22.9; npm serves a Node 22 binary as the package `node@22`). The working tree is
 * copied to .tmp/matrix-nr5 (without node_modules), its devDependency on node-red is
 * switched to ^5, dependencies are installed there, and mocha runs under Node 22, so
 * the tests, the helper and every child runtime use Node-RED 5.
 *
 * Usage: node scripts/test-matrix.js   (MATRIX_SUITES=lib,nodes to narrow)
 */
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const DIR = path.join(ROOT, ".tmp", "matrix-nr5");
const SKIP = new Set(["node_modules", ".git", ".tmp", ".node-red-dev", "test-output"]);

function copyTree(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (SKIP.has(entry.name) || entry.name.endsWith(".tgz")) continue;
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst);
    else if (entry.isFile()) fs.copyFileSync(src, dst);
  }
}

function node22() {
  const out = execFileSync("npx", ["-y", "-p", "node@22", "node", "-p", "process.execPath"], { cwd: ROOT, encoding: "utf8" });
  return out.trim().split("\n").pop();
}

function main() {
  const bin = node22();
  const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
  console.log(`[matrix] Node ${version} at ${bin}`);
  // A fresh copy each time: a stale node_modules once mixed @node-red/util 4 and 5.
  fs.rmSync(DIR, { recursive: true, force: true });
  copyTree(ROOT, DIR);
  const pkgFile = path.join(DIR, "package.json");
  const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8"));
  pkg.devDependencies["node-red"] = "^5.0.0";
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
  fs.rmSync(path.join(DIR, "package-lock.json"), { force: true });
  console.log("[matrix] installing dependencies with node-red@5");
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], { cwd: DIR, stdio: "inherit" });
  const nrVersion = JSON.parse(fs.readFileSync(path.join(DIR, "node_modules", "node-red", "package.json"), "utf8")).version;
  console.log(`[matrix] running the test suite on Node-RED ${nrVersion} / Node ${version}`);
  const env = { ...process.env, NR_TEST_SUITES: process.env.MATRIX_SUITES || process.env.NR_TEST_SUITES || "unit,nodes,runtime,e2e", NR_MATRIX: "nr5" };
  const run = spawnSync(bin, [path.join(DIR, "node_modules", "mocha", "bin", "mocha.js")], { cwd: DIR, env, stdio: "inherit" });
  process.exit(run.status === null ? 1 : run.status);
}

main();
