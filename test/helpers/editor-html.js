"use strict";
/**
 * Runs a node's editor .html scripts in a sandbox with a stub RED, as the editor would:
 * first the shared resources/privacy-editor.js when the .html loads it (Node-RED loads a
 * <script src> before the inline scripts), then each inline script. Returns what was
 * registered, by type, and the sandbox.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const ROOT = path.join(__dirname, "..", "..");
const NODES = path.join(ROOT, "src", "nodes");
const PKG = require(path.join(ROOT, "package.json"));
const HELPER_SRC = `resources/${PKG.name}/privacy-editor.js`;

function nodeHtml(type) {
  return fs.readFileSync(path.join(NODES, `${type}.html`), "utf8");
}

function loadEditor(type, globals = {}) {
  const html = nodeHtml(type);
  const inline = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  const srcs = [...html.matchAll(/<script type="text\/javascript" src="([^"]+)"><\/script>/g)].map((m) => m[1]);
  const registered = {};
  const sandbox = {
    RED: { nodes: { registerType: (t, def) => (registered[t] = def) } },
    $: () => ({ length: 0, val: () => undefined, on: () => undefined, toggle: () => undefined }),
    btoa: (s) => Buffer.from(s, "latin1").toString("base64"),
    ...globals,
  };
  sandbox.window = sandbox;
  for (const src of srcs) {
    assert.equal(src, HELPER_SRC, `${type}.html loads only the package's shared editor script, by its served path`);
    vm.runInNewContext(fs.readFileSync(path.join(ROOT, "resources", path.basename(src)), "utf8"), sandbox);
  }
  for (const script of inline) vm.runInNewContext(script, sandbox);
  return { registered, sandbox, inline, srcs, html };
}

module.exports = { loadEditor, nodeHtml, NODES, HELPER_SRC };
