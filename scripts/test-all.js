"use strict";
/**
 * `npm test` (after `pretest` built the code and made sure Chromium is there): lint
 * (ESLint, zero warnings; SKIP_LINT=1 skips it), the whole suite on Node-RED 4 with this
 * Node, then again on Node-RED 5 with Node 22 (scripts/test-matrix.js; SKIP_MATRIX=1
 * skips it). Ends with one line CI reads: `N passed, N failed` over every run, where a
 * lint that fails counts as one failure.
 */
const { spawn, spawnSync } = require("node:child_process");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");

function run(label, command, args) {
  return new Promise((resolve) => {
    console.log(`\n=== ${label} ===`);
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], env: process.env });
    let tail = "";
    child.stdout.on("data", (d) => {
      process.stdout.write(d);
      tail = (tail + d).slice(-4000);
    });
    child.on("close", (code) => {
      const lines = tail.split("\n").filter((l) => /^\d+ passed, \d+ failed/.test(l));
      const m = lines.length ? /^(\d+) passed, (\d+) failed/.exec(lines[lines.length - 1]) : null;
      // A run that ended without its summary (crash, install failure) counts as one failure.
      resolve({ label, code, passed: m ? Number(m[1]) : 0, failed: m ? Number(m[2]) : 1 });
    });
  });
}

function lint() {
  console.log("\n=== lint (eslint --max-warnings 0) ===");
  const bin = path.join(path.dirname(require.resolve("eslint/package.json")), "bin", "eslint.js");
  const r = spawnSync(process.execPath, [bin, "--max-warnings", "0", "."], { cwd: ROOT, stdio: "inherit" });
  const ok = r.status === 0;
  console.log(ok ? "lint: clean" : "lint: FAILED");
  return { label: "lint", code: r.status ?? 1, passed: ok ? 1 : 0, failed: ok ? 0 : 1 };
}

async function main() {
  const runs = [];
  if (!process.env.SKIP_LINT) runs.push(lint());
  runs.push(await run(`Node-RED ${require("node-red/package.json").version} on Node ${process.version}`, process.execPath, [require.resolve("mocha/bin/mocha.js")]));
  if (!process.env.SKIP_MATRIX) runs.push(await run("Node-RED 5 on Node 22", process.execPath, [path.join(__dirname, "test-matrix.js")]));
  console.log("");
  for (const r of runs) console.log(`${r.label}: ${r.passed} passed, ${r.failed} failed${r.code ? ` (exit ${r.code})` : ""}`);
  const passed = runs.reduce((a, r) => a + r.passed, 0);
  const failed = runs.reduce((a, r) => a + r.failed, 0);
  const ok = runs.every((r) => r.code === 0) && failed === 0;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(ok ? 0 : 1);
}

main();
