"use strict";
// The shipped examples audit clean: no active finding that is not accepted. The demo
// pipeline holds one deliberately leaky branch, disabled and marked (a red group), so
// a newcomer sees a finding at once: it must be that branch's, and dormant.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { audit } = require("../../../dist/audit");

const DIR = path.join(__dirname, "..", "..", "..", "examples");
const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".json"));

describe("audit: the shipped examples", () => {
  it("there are examples", () => assert.ok(files.length >= 10));

  for (const file of files) {
    it(`${file} has no active finding that is not accepted`, () => {
      const report = audit(JSON.parse(fs.readFileSync(path.join(DIR, file), "utf8")));
      const open = report.findings.filter((f) => !f.dormant && !f.accepted);
      assert.deepEqual(open.map((f) => f.id), []);
      assert.deepEqual(report.unusedAcceptances, []);
    });
  }

  it("the demo pipeline's only finding is its deliberately leaky branch: disabled, in the marked group", () => {
    const flows = JSON.parse(fs.readFileSync(path.join(DIR, "smart-home-privacy-pipeline.json"), "utf8"));
    const { findings } = audit(flows);
    assert.deepEqual(findings.map((f) => [f.id, f.severity, f.dormant]), [["unprotected-path:pipe-leak-in>pipe-leak-upload", "high", true]]);
    const group = flows.find((n) => n.type === "group" && n.id === "pipe-leak-group");
    assert.match(group.name, /leaky/i);
    for (const id of findings[0].nodes) {
      const n = flows.find((x) => x.id === id);
      assert.equal(n.d, true, `${id} is disabled`);
      assert.equal(n.g, group.id, `${id} is in the marked group`);
    }
    assert.match(flows.find((n) => n.id === "pipe-comment").info, /privacy\*\* tab/);
  });
});
