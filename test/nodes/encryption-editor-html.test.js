"use strict";
// One script error breaks the whole editor: every <script type="text/javascript"> of our
// node HTML files must at least compile, and reference only its own i18n keys.
const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const { loadEditor, NODES } = require("../helpers/editor-html");

describe("encryption editor HTML", () => {
  for (const type of ["privacy-keyring", "privacy-encrypt", "privacy-decrypt"]) {
    it(`${type}.html compiles, registers ${type} and its i18n keys exist`, () => {
      const loaded = loadEditor(type);
      const html = loaded.html;
      assert.strictEqual(loaded.inline.length, 1);
      assert.deepStrictEqual(Object.keys(loaded.registered), [type]);
      const registered = { t: type, def: loaded.registered[type] };
      const labels = JSON.parse(fs.readFileSync(path.join(NODES, "locales", "en-US", `${type}.json`), "utf8"));
      const keys = [...html.matchAll(/(?:data-i18n="|_\(")([\w-]+\.[\w.]+)"/g)].map((m) => m[1]);
      assert.ok(keys.length > 3);
      for (const k of keys) {
        const v = k.split(".").reduce((o, p) => (o ? o[p] : undefined), labels);
        assert.strictEqual(typeof v, "string", `missing i18n key ${k}`);
      }
      // config nodes have no palette entry, so no icon
      if (type !== "privacy-keyring") assert.ok(fs.existsSync(path.join(NODES, "icons", `${type}.svg`)));
      assert.ok(fs.readFileSync(path.join(NODES, "locales", "en-US", `${type}.html`), "utf8").includes(`data-help-name="${type}"`));
      if (type !== "privacy-keyring") {
        assert.strictEqual(registered.def.category, "privacy");
        assert.strictEqual(registered.def.defaults.property.value, "payload");
        assert.ok(registered.def.defaults.fields.validate.call({}, ["payload.readings[*].owner"]));
        assert.ok(!registered.def.defaults.fields.validate.call({}, ["payload..x"]));
      }
    });
  }

  for (const type of ["privacy-encrypt", "privacy-decrypt"]) {
    it(`${type}'s label names the property or counts the fields, and its dialog keeps the field list`, () => {
      let typed = "";
      const $ = () => ({ val: (v) => (v === undefined ? typed : void (typed = v)) });
      const def = loadEditor(type, { $ }).registered[type];
      const verb = type.replace(/^privacy-/, "");
      assert.strictEqual(def.label.call({ name: "door codes", fields: ["a"] }), "door codes");
      assert.strictEqual(def.label.call({ property: "payload", fields: [] }), `${verb} msg.payload`);
      assert.strictEqual(def.label.call({ fields: [] }), `${verb} msg.payload`);
      assert.strictEqual(def.label.call({ property: "data", fields: ["a"] }), `${verb} 1 field`);
      assert.strictEqual(def.label.call({ fields: "a\nb" }), `${verb} 2 fields`);
      const node = { fields: ["payload.a", "payload.items[*].mac"] };
      def.oneditprepare.call(node);
      assert.strictEqual(typed, "payload.a\npayload.items[*].mac");
      typed = " payload.b ,\n\npayload.c";
      def.oneditsave.call(node);
      // The list comes from the sandbox realm: compare its items, not its prototype.
      assert.deepStrictEqual([...node.fields], ["payload.b", "payload.c"]);
    });
  }
});
