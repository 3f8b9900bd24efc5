"use strict";
/**
 * Every node of the package in a real editor (headless Chromium), as a user meets it,
 * against a runtime that loaded the packed tarball: palette entry with icon and label,
 * edit dialog with every field, a bad value shown as a red field, deploy warning about
 * the misconfigured node, a fixed value saved, help in the sidebar, no script error.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { startRuntime, tempDir } = require("../helpers/runtime");
const { packTarball } = require("../helpers/pack");
const { launchBrowser, newPage, openEditor, screenshot } = require("../helpers/browser");
const pkg = require("../../package.json");

/**
 * Per type: the config nodes it needs, one field to break (with a bad and a good value),
 * and defaults that have no input of their own (edited through a list or a hidden field).
 */
const KEYRING = { id: "cfg-keyring", type: "privacy-keyring", name: "home keys", activeKid: "home-2026", source: "env", envVar: "PRIVACY_TEST_KEYS", salt: "" };
const STORE = { id: "cfg-store", type: "privacy-consent-store", name: "consents", backend: "memory", file: "", retainDays: 0, purposes: [{ id: "analytics", description: "usage statistics", policyVersion: 1 }] };
const CASES = {
  "privacy-keyring": { config: true, props: { activeKid: "home-2026", source: "env", envVar: "PRIVACY_TEST_KEYS" }, field: "activeKid", bad: "bad kid with spaces!", good: "home-2027" },
  "privacy-consent-store": { config: true, props: { backend: "memory", purposes: STORE.purposes }, field: "retainDays", bad: "-5", good: "30", noInput: ["purposes", "retiredKeys"] },
  "privacy-encrypt": { needs: [KEYRING], field: "property", bad: "payload..x", good: "payload", noInput: ["fields"] },
  "privacy-decrypt": { needs: [KEYRING], field: "property", bad: "payload..x", good: "payload", noInput: ["fields"] },
  "privacy-consent": { needs: [STORE], field: "method", bad: "x".repeat(120), good: "web form" },
  "privacy-consent-gate": { needs: [STORE], field: "subjectProperty", bad: "payload..device", good: "payload.device", set: { purpose: "analytics" } },
  "privacy-minimize": { field: "property", bad: "payload..x", good: "payload", noInput: ["rules", "aggregateFields"] },
  "privacy-anonymize": { needs: [KEYRING], field: "property", bad: "payload..x", good: "payload", noInput: ["rules", "quasiIdentifiers", "budgets"] },
  "privacy-update-check": { field: "registry", bad: "not a url", good: "http://127.0.0.1:4873/" },
};

function packAndInstall(userDir) {
  const tarball = packTarball(tempDir("nr-privacy-dialogs-pack-")).file;
  fs.mkdirSync(userDir, { recursive: true });
  fs.writeFileSync(path.join(userDir, "package.json"), JSON.stringify({ name: "node-red-project", private: true }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--omit=dev", "--engine-strict", tarball], { cwd: userDir, stdio: "pipe" });
  return path.join(userDir, "node_modules", ...pkg.name.split("/"));
}

describe("each node in the editor (packed tarball, headless Chromium)", function () {
  this.timeout(300000);
  let rt;
  let browser;
  let page;
  let errors;

  before(async () => {
    const userDir = tempDir("nr-privacy-dialogs-");
    const installed = packAndInstall(userDir);
    rt = await startRuntime({ userDir, packageDir: installed, env: { PRIVACY_TEST_KEYS: JSON.stringify({ "home-2026": Buffer.alloc(32, 7).toString("base64url") }) } });
    browser = await launchBrowser();
    ({ page, errors } = await newPage(browser));
    await openEditor(page, rt.url);
  });
  after(async () => {
    if (browser) await browser.close();
    if (rt) await rt.stop();
  });

  it("loads the packed package with every type under privacy, each with its icon and label", async () => {
    await page.evaluate(() => document.querySelector("#red-ui-palette-container-privacy").scrollIntoView());
    await screenshot(page, "palette-privacy");
    // The icon route answers a default icon for unknown files, so ask for the module's icon list.
    const iconSets = await (await fetch(new URL("icons", rt.url), { headers: { Accept: "application/json" } })).json();
    const ourIcons = iconSets[pkg.name] || [];
    for (const type of Object.keys(pkg["node-red"].nodes)) {
      const def = await page.evaluate((t) => {
        const d = RED.nodes.getType(t);
        return d && { category: d.category, icon: typeof d.icon === "function" ? d.icon.call({}) : d.icon, label: typeof d.paletteLabel === "function" ? d.paletteLabel.call(d) : d.paletteLabel };
      }, type);
      assert.ok(def, `${type} registered in the editor`);
      if (!CASES[type].config) assert.ok(ourIcons.includes(def.icon), `${type} icon ${def.icon} is one of the module's icons (${ourIcons.join(", ")})`);
      if (CASES[type].config) {
        assert.equal(def.category, "config");
        continue;
      }
      assert.equal(def.category, "privacy");
      const entry = await page.$(`.red-ui-palette-node[data-palette-type="${type}"]`);
      assert.ok(entry, `${type} in the palette`);
      const label = (await entry.textContent()).trim();
      assert.ok(label.length > 0 && !label.startsWith("privacy-"), `${type} palette label "${label}" drops the prefix`);
      const shown = await entry.$eval(".red-ui-palette-icon", (el) => el.style.backgroundImage);
      assert.ok(shown.includes(`${pkg.name}/${def.icon}`), `${type} palette entry shows its own icon (${shown})`);
    }
    assert.ok(Object.keys(pkg["node-red"].nodes).every((t) => CASES[t]), "every declared node has a case here");
    assert.deepEqual(errors, []);
  });

  for (const [type, c] of Object.entries(CASES).filter(([t]) => pkg["node-red"].nodes[t])) {
    it(`${type}: dialog shows every field, a bad ${c.field} is a red field and deploy warns, a good one saves, help shows`, async () => {
      errors.length = 0; // each node answers for its own errors
      const prefix = c.config ? "node-config-input-" : "node-input-";
      const nodeId = await page.evaluate(({ type, c }) => {
        // A node as the palette would make it: every default filled in.
        const withDefaults = (t, props) => {
          const out = {};
          const defs = RED.nodes.getType(t).defaults;
          for (const k of Object.keys(defs)) out[k] = JSON.parse(JSON.stringify(defs[k].value === undefined ? "" : defs[k].value));
          return Object.assign(out, props);
        };
        const z = RED.workspaces.active();
        const configs = (c.needs || []).filter((n) => !RED.nodes.node(n.id)).map((n) => withDefaults(n.type, n));
        const links = Object.fromEntries((c.needs || []).map((n) => [n.type === "privacy-keyring" ? "keyring" : "store", n.id]));
        const own = c.config ? withDefaults(type, { id: `n-${type}`, type, ...(type === "privacy-keyring" ? c.props : c.props) }) : withDefaults(type, { id: `n-${type}`, type, z, x: 300, y: 200, wires: [], ...links, ...(c.set || {}) });
        RED.view.importNodes(configs.concat([own]), { generateIds: false, addFlow: false, notify: false });
        return `n-${type}`;
      }, { type, c });
      await page.evaluate((id) => {
        const n = RED.nodes.node(id);
        if (n._def.category === "config") RED.editor.editConfig("", n.type, n.id);
        else RED.editor.edit(n);
      }, nodeId);
      await page.waitForSelector(`#${prefix}${c.field}`, { state: "attached", timeout: 10000 });
      await page.waitForTimeout(300);
      // every default has its field, unless it is edited through a list
      const defaults = await page.evaluate((id) => Object.keys(RED.nodes.node(id)._def.defaults), nodeId);
      for (const key of defaults) {
        if (key === "outputs" || (c.noInput || []).includes(key)) continue;
        assert.ok(await page.$(`#${prefix}${key}`), `${type}: field ${key} has an input #${prefix}${key}`);
      }
      await screenshot(page, `dialog-${type}`);
      const fieldSel = `#${prefix}${c.field}`;
      assert.equal(await page.$eval(fieldSel, (el) => el.classList.contains("input-error")), false, `${type}: ${c.field} starts valid`);
      await page.$eval(fieldSel, (el, v) => { $(el).val(v).trigger("change").trigger("keyup"); }, c.bad);
      await page.waitForTimeout(100);
      assert.equal(await page.$eval(fieldSel, (el) => el.classList.contains("input-error")), true, `${type}: a bad ${c.field} is shown red`);
      await screenshot(page, `dialog-${type}-invalid`);
      await page.click(c.config ? "#node-config-dialog-ok" : "#node-dialog-ok");
      await page.waitForSelector(".red-ui-tray", { state: "detached", timeout: 10000 });
      const valid = await page.evaluate((id) => RED.nodes.node(id).valid, nodeId);
      assert.equal(valid, false, `${type}: saved with the bad value, the node is marked invalid`);
      // deploy warns about the misconfigured node
      await page.click("#red-ui-header-button-deploy");
      const warning = await page.waitForSelector('.red-ui-notification:has-text("not properly configured")', { timeout: 10000 });
      await screenshot(page, `deploy-warning-${type}`);
      await (await warning.$('button:has-text("Cancel")')).click();
      await page.waitForSelector('.red-ui-notification:has-text("not properly configured")', { state: "detached", timeout: 10000 });
      // fix it and save
      await page.evaluate((id) => {
        const n = RED.nodes.node(id);
        if (n._def.category === "config") RED.editor.editConfig("", n.type, n.id);
        else RED.editor.edit(n);
      }, nodeId);
      await page.waitForSelector(fieldSel, { state: "attached", timeout: 10000 });
      await page.waitForTimeout(300);
      await page.$eval(fieldSel, (el, v) => { $(el).val(v).trigger("change").trigger("keyup"); }, c.good);
      await page.waitForTimeout(100);
      assert.equal(await page.$eval(fieldSel, (el) => el.classList.contains("input-error")), false, `${type}: a good ${c.field} is not red`);
      await page.click(c.config ? "#node-config-dialog-ok" : "#node-dialog-ok");
      await page.waitForSelector(".red-ui-tray", { state: "detached", timeout: 10000 });
      const fixed = await page.evaluate(({ id, field }) => { const n = RED.nodes.node(id); return { valid: n.valid, value: n[field] }; }, { id: nodeId, field: c.field });
      assert.equal(fixed.valid, true, `${type}: valid once fixed`);
      assert.equal(String(fixed.value), c.good, `${type}: the fixed ${c.field} is saved`);
      // help
      await page.evaluate((t) => RED.sidebar.help.show(t), type);
      const helpText = await page.waitForFunction(() => {
        const shown = [...document.querySelectorAll(".red-ui-help")].filter((e) => e.offsetParent !== null);
        const text = shown.map((e) => e.textContent.trim()).join(" ");
        return text.length > 200 && text;
      }, null, { timeout: 10000 }).then((h) => h.jsonValue());
      assert.ok(helpText.length > 200, `${type}: help shows (${helpText.slice(0, 80)})`);
      await screenshot(page, `help-${type}`);
      assert.deepEqual(errors, [], `${type}: no script error`);
    });
  }
});
