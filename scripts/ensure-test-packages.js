"use strict";
/**
 * `pretest` step: installs the Debian packages the tests need when missing, as root,
 * with apt-get; otherwise says what to do.
 * - chromium: the browser tests drive Debian's Chromium through playwright-core
 *   (playwright's own browser download cannot work here).
 * - python3-jwcrypto, python3-jose: the help-snippet tests run the help's Python code.
 *   Debian installs them for /usr/bin/python3 (which may not be the python3 on PATH).
 * - redis-server: the consent store's redis backend is tested against a real server
 *   (test/helpers/redis-server.js starts one per test file).
 */
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const PYTHON_PACKAGES = ["python3-jwcrypto", "python3-jose"];

const haveChromium = () => fs.existsSync(CHROMIUM);
const REDIS_SERVER = process.env.REDIS_SERVER || "/usr/bin/redis-server";
const haveRedis = () => fs.existsSync(REDIS_SERVER);
const havePythonJose = () => spawnSync("/usr/bin/python3", ["-c", "import jwcrypto, jose.jwe"]).status === 0;

function main() {
  const packages = [];
  if (!haveChromium()) {
    if (process.env.SKIP_BROWSER_INSTALL) {
      console.warn(`[pretest] ${CHROMIUM} missing and SKIP_BROWSER_INSTALL set: browser tests will fail`);
    } else {
      packages.push("chromium");
    }
  }
  if (process.env.SKIP_PYTHON_SNIPPETS !== "1" && !havePythonJose()) packages.push(...PYTHON_PACKAGES);
  if (!haveRedis()) packages.push("redis-server");
  if (packages.length === 0) return;
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    console.error(`[pretest] missing for the tests: ${packages.join(", ")}. Install: sudo apt-get install -y ${packages.join(" ")}`);
    process.exit(1);
  }
  console.log(`[pretest] installing Debian ${packages.join(", ")} for the tests...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", ...packages], { stdio: "inherit", env });
  if (packages.includes("chromium") && !haveChromium()) {
    console.error(`[pretest] apt-get finished but ${CHROMIUM} is still missing`);
    process.exit(1);
  }
  if (packages.includes("redis-server") && !haveRedis()) {
    console.error(`[pretest] apt-get finished but ${REDIS_SERVER} is still missing`);
    process.exit(1);
  }
  if (packages.includes(PYTHON_PACKAGES[0]) && !havePythonJose()) {
    console.error("[pretest] apt-get finished but /usr/bin/python3 still cannot import jwcrypto and jose");
    process.exit(1);
  }
}

main();
