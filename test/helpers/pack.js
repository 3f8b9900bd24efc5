"use strict";
/** The package as npm would publish it: `npm pack` of the working tree. */
const { execFileSync } = require("node:child_process");
const path = require("node:path");

const ROOT = path.join(__dirname, "..", "..");

/** Packs into `dir`; returns the tarball's path and the paths of the files it holds. */
function packTarball(dir) {
  // Built by pretest already; --ignore-scripts keeps this from building again.
  const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" });
  const info = JSON.parse(out)[0];
  return { file: path.join(dir, info.filename), files: info.files.map((f) => f.path) };
}

module.exports = { packTarball };
