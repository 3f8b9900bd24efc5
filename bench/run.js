"use strict";
/**
 * `npm run bench [-- name ...]`: runs every case in bench/cases (or those named),
 * prints a table of ratios per case and writes bench/results.json.
 */
const fs = require("node:fs");
const path = require("node:path");
const { runAll } = require("./harness");

const dir = path.join(__dirname, "cases");
const wanted = process.argv.slice(2);
const cases = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".js"))
  .sort()
  .map((f) => require(path.join(dir, f)))
  .filter((c) => wanted.length === 0 || wanted.includes(c.name));

runAll({ cases, out: path.join(__dirname, "results.json") }).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
