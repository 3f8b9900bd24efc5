"use strict";
const assert = require("node:assert/strict");
const { startRuntime } = require("../helpers/runtime");
const { launchBrowser, newPage, openEditor, screenshot } = require("../helpers/browser");
const pkg = require("../../package.json");

describe("editor in headless Chromium", function () {
  this.timeout(120000);
  let rt;
  let browser;
  before(async () => {
    rt = await startRuntime();
    browser = await launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    if (rt) await rt.stop();
  });

  it("loads without script errors and shows every node of the package under a privacy category", async () => {
    const { page, errors } = await newPage(browser);
    await openEditor(page, rt.url);
    await screenshot(page, "editor-palette");
    const categories = await page.$$eval(".red-ui-palette-category .red-ui-palette-header", (els) => els.map((e) => e.textContent.trim().toLowerCase()));
    assert.ok(categories.includes("privacy"), `palette categories: ${categories.join(", ")}`);
    const types = await page.$$eval("#red-ui-palette-container-privacy .red-ui-palette-node", (els) => els.map((e) => e.getAttribute("data-palette-type")));
    const declared = Object.keys(pkg["node-red"].nodes);
    assert.ok(declared.length > 0, "the package declares nodes");
    const registered = await page.evaluate((ts) => ts.map((t) => { const d = RED.nodes.getType(t); return d ? d.category : null; }), declared);
    declared.forEach((t, i) => {
      assert.ok(registered[i] === "privacy" || registered[i] === "config", `${t} is registered in the editor under privacy (got ${registered[i]})`);
      if (registered[i] === "privacy") assert.ok(types.includes(t), `${t} in the privacy palette (found ${types.join(", ")})`);
    });
    assert.deepEqual(errors, []);
  });
});
