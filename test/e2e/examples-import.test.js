"use strict";
/**
 * Every example, the way a user gets it: Menu > Import > Examples > our module > the
 * example, Import, Deploy, in headless Chromium, with no script or HTTP error in the
 * browser. The pipeline is screenshotted once deployed. (What each example outputs is
 * checked in test/runtime/*-examples.test.js and test/runtime/pipeline.test.js.)
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime, api } = require("../helpers/runtime");
const { launchBrowser, newPage, openEditor, screenshot } = require("../helpers/browser");
const pkg = require("../../package.json");

const EXAMPLES = path.join(__dirname, "..", "..", "examples");
const KEYS = JSON.stringify({ "demo-1": Buffer.alloc(32, 1).toString("base64url"), "home-2026": Buffer.alloc(32, 2).toString("base64url") });

describe("examples imported from Import > Examples and deployed (headless Chromium)", function () {
  this.timeout(600000);
  let rt;
  let browser;
  before(async () => {
    rt = await startRuntime({ env: { PRIVACY_DEMO_KEYS: KEYS, PRIVACY_KEYS: KEYS, npm_config_registry: "http://127.0.0.1:9/" } });
    browser = await launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    if (rt) await rt.stop();
  });

  const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith(".json")).sort();
  it("has examples", () => assert.ok(files.length >= 9));

  for (const file of files) {
    const title = file.replace(/\.json$/, "");
    it(`imports and deploys ${title}`, async () => {
      await api(rt, "POST", "/flows", [], { "Node-RED-Deployment-Type": "full" });
      const { page, errors } = await newPage(browser, { width: 2100, height: 900 });
      try {
        await openEditor(page, rt.url);
        await page.evaluate(() => RED.actions.invoke("core:show-examples-import-dialog"));
        const tree = "#red-ui-clipboard-dialog-import-tab-examples";
        await page.waitForSelector(`${tree} .red-ui-treeList-label`, { timeout: 10000 });
        await page.click(`${tree} .red-ui-treeList-label-text:text-is("${pkg.name}")`);
        const item = `${tree} .red-ui-treeList-label-text:text-is("${title}")`;
        await page.waitForSelector(item, { timeout: 10000 });
        await page.click(item);
        await page.click("#red-ui-clipboard-dialog-ok");
        await page.waitForSelector("#red-ui-clipboard-dialog-ok", { state: "hidden", timeout: 10000 });
        // Importing onto the canvas leaves the nodes attached to the mouse: place them.
        await page.mouse.move(500, 300);
        await page.mouse.click(500, 300);
        const expected = JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), "utf8")).filter((n) => n.type.startsWith("privacy-") && n.z).map((n) => n.type);
        // On a loaded machine the import lands a moment after the click: wait for it, then check.
        await page
          .waitForFunction((types) => types.every((t) => RED.nodes.filterNodes({ type: t }).length > 0), expected, { timeout: 15000 })
          .catch(() => undefined);
        const imported = await page.evaluate(() => RED.nodes.filterNodes({}).map((n) => n.type));
        for (const t of expected) assert.ok(imported.includes(t), `${t} imported from ${file}`);
        await page.click("#red-ui-header-button-deploy");
        // An example may ask for a key first (keyring from credentials): confirm like a user would.
        const confirm = await page.waitForSelector('.red-ui-notification:has-text("Confirm deploy"), .red-ui-notification:has-text("Successfully deployed")', { timeout: 15000 });
        if (/Confirm deploy/.test(await confirm.textContent())) {
          await (await confirm.$('button:has-text("Confirm deploy")')).click();
        }
        await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")', { timeout: 15000 });
        const deployed = await api(rt, "GET", "/flows");
        for (const t of expected) assert.ok(deployed.some((n) => n.type === t), `${t} deployed from ${file}`);
        if (title === "smart-home-privacy-pipeline") {
          // Show it as a user would after a few presses: the pipeline tab and the debug sidebar.
          const ids = await page.evaluate(() => {
            let tab;
            RED.nodes.eachWorkspace((ws) => { if (ws.label === "Smart home privacy pipeline") tab = ws.id; });
            RED.workspaces.show(tab);
            RED.sidebar.show("debug");
            const byName = (name) => RED.nodes.filterNodes({ z: tab, type: "inject" }).find((n) => n.name === name).id;
            return ["thermostat (alice)", "alice agrees", "thermostat (alice)", "doorbell log (alice)", "bike tracker (bob)"].map(byName);
          });
          for (const id of ids) {
            await api(rt, "POST", `/inject/${id}`);
            await page.waitForTimeout(400);
          }
          await page.evaluate(() => $(".red-ui-notification").remove());
          await page.waitForSelector(".red-ui-debug-msg", { timeout: 10000 });
          await page.waitForTimeout(800);
          await screenshot(page, "pipeline-deployed");
        }
        assert.deepEqual(errors, [], `${file}: no script or HTTP error in the editor`);
      } finally {
        await page.context().close();
      }
    });
  }
});
