"use strict";
// The editor script runs in every user's browser: one error there breaks the whole
// editor. This runs it in a sandbox with a stub RED and checks its field validators.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { loadEditor } = require("../helpers/editor-html");
const { generateKeyPair } = require("../../dist/update-check/firmware-manifest.js");

function loadUpdateCheckEditor() {
  const { registered, inline } = loadEditor("privacy-update-check");
  assert.equal(inline.length, 1, "one editor script");
  return registered["privacy-update-check"];
}

describe("privacy-update-check editor", () => {
  const def = loadUpdateCheckEditor();
  const v = (field, value, node = {}) => def.defaults[field].validate.call(node, value);

  it("registers in the privacy category with the conventions' look", () => {
    assert.equal(def.category, "privacy");
    assert.equal(def.color, "#C7E9C0");
    assert.equal(def.icon, "privacy-update-check.svg");
    assert.ok(fs.existsSync(path.join(__dirname, "..", "..", "src", "nodes", "icons", def.icon)));
    const labels = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "src", "nodes", "locales", "en-US", "privacy-update-check.json"), "utf8"))["privacy-update-check"];
    assert.equal(def.paletteLabel.call({ _: (k) => k.split(".").reduce((o, p) => (o ? o[p] : undefined), { "privacy-update-check": labels }) }), "update check");
    assert.equal(def.label.call({ name: "mine", _: (k) => k }), "mine");
  });

  it("validates fields so bad values show red before deploy", () => {
    assert.equal(v("registry", ""), true);
    assert.equal(v("registry", "http://127.0.0.1:4873/"), true);
    assert.equal(v("registry", "ftp://x"), false);
    assert.equal(v("interval", "24"), true);
    assert.equal(v("interval", "-1"), false);
    assert.equal(v("interval", "1000"), false);
    assert.equal(v("timeout", "0"), false);
    assert.equal(v("maxSize", "abc"), false);
    const key = generateKeyPair().publicKey;
    assert.equal(v("publicKeys", "", { check: "node-red" }), true, "keys only matter for devices");
    assert.equal(v("publicKeys", "", { check: "devices" }), false);
    assert.equal(v("publicKeys", `${key}\n${generateKeyPair().publicKey}`, { check: "devices" }), true);
    assert.equal(v("publicKeys", "nonsense", { check: "devices" }), false);
    assert.equal(v("manifest", "", { check: "devices", manifestType: "url" }), false);
    assert.equal(v("manifest", "http://127.0.0.1:1/m.json", { check: "devices", manifestType: "url" }), true);
    assert.equal(v("manifest", "firmware-manifest.json", { check: "devices", manifestType: "file" }), true);
  });
});
