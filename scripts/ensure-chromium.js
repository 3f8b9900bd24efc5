"use strict";
/**
 * `pretest` step: the browser tests drive Debian's Chromium through playwright-core
 * (playwright's own browser download cannot work here). Installs it when missing, as
 * root, with apt-get; otherwise says what to do.
 */
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

function main() {
  if (fs.existsSync(CHROMIUM)) return;
  if (process.env.SKIP_BROWSER_INSTALL) {
    console.warn(`[pretest] ${CHROMIUM} missing and SKIP_BROWSER_INSTALL set: browser tests will fail`);
    return;
  }
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    console.error(`[pretest] ${CHROMIUM} is missing. Install it: sudo apt-get install -y chromium`);
    process.exit(1);
  }
  console.log("[pretest] installing Debian chromium for the browser tests...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", env });
  if (!fs.existsSync(CHROMIUM)) {
    console.error(`[pretest] apt-get finished but ${CHROMIUM} is still missing`);
    process.exit(1);
  }
}

main();
