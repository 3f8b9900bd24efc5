"use strict";
const { spawnSync } = require("node:child_process");

const found = new Map();
/**
 * The first python3 that can run `imports` (e.g. "import jwcrypto.jwe"), or null.
 * Debian's python3-* packages go to /usr/bin/python3, which may not be the python3 on PATH.
 */
function findPython(imports) {
  if (!found.has(imports)) {
    const candidates = [process.env.PYTHON3, "python3", "/usr/bin/python3"].filter(Boolean);
    found.set(imports, candidates.find((p) => spawnSync(p, ["-c", imports]).status === 0) || null);
  }
  return found.get(imports);
}

module.exports = { findPython };
