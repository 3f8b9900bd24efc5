"use strict";
// Every dialog: its scripts run in a sandbox as the editor runs them (one script error
// breaks the whole editor), it registers only its own type, and it looks like the rest
// of the privacy category. Category and colour stay literals in each registerType (the
// flow library's scorecard reads them there); this test keeps them equal to the shared
// helper's, so the one catalogue is resources/privacy-editor.js.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const pkg = require("../../package.json");
const { NODES } = require("../helpers/editor-html");
const { loadEditor } = require("../helpers/editor-html");

describe("editor HTML of every node", () => {
  for (const type of Object.keys(pkg["node-red"].nodes)) {
    it(`${type}: runs, registers ${type} alone, and uses the shared category and colour`, () => {
      const { registered, sandbox, srcs, html } = loadEditor(type);
      assert.deepEqual(Object.keys(registered), [type]);
      const def = registered[type];
      const labels = JSON.parse(fs.readFileSync(path.join(NODES, "locales", "en-US", `${type}.json`), "utf8"));
      if (/PrivacyEditor\./.test(html)) assert.equal(srcs.length, 1, `${type} uses the shared helper, so it loads it`);
      const helper = sandbox.PrivacyEditor || (loadEditor("privacy-encrypt").sandbox.PrivacyEditor);
      if (def.category === "config") return;
      assert.equal(def.category, helper.CATEGORY);
      assert.equal(def.color, helper.COLOR);
      assert.equal(def.icon, `${type}.svg`);
      const label = typeof def.paletteLabel === "function" ? def.paletteLabel.call({ _: (k) => k.split(".").reduce((o, p) => o[p], labels) }) : def.paletteLabel;
      assert.equal(label.replace(/ /g, "-"), type.replace(/^privacy-/, ""), "palette labels drop the prefix");
    });
  }

  it("no dialog carries its own path pattern or field-list parser", () => {
    for (const type of Object.keys(pkg["node-red"].nodes)) {
      const { inline } = loadEditor(type);
      const code = inline.join("\n");
      assert.doesNotMatch(code, /var PATH\s*=|FORBIDDEN\s*=|split\(\/\[\\n,\]\/\)/, `${type} has its own copy`);
    }
  });
});
