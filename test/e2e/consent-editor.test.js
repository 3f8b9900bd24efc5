"use strict";
// The consent nodes in a real editor (headless Chromium): the store's purpose list loads
// and saves, a bad purpose marks the store invalid, and the gate's "drop" removes its
// second output. Any script error fails the test.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime, tempDir } = require("../helpers/runtime");
const { launchBrowser, newPage, openEditor, screenshot } = require("../helpers/browser");

const example = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "examples", "consent-gate-cloud-upload.json"), "utf8"));

describe("consent editor (headless Chromium)", function () {
  this.timeout(120000);
  let rt;
  let browser;
  before(async function () {
    if (!fs.existsSync(process.env.CHROMIUM_PATH || "/usr/bin/chromium")) this.skip();
    rt = await startRuntime({ userDir: path.join(tempDir(), "user"), flows: example });
    browser = await launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    if (rt) await rt.stop();
  });

  it("edits the store's purposes and the gate's blocked output", async () => {
    const { page, errors } = await newPage(browser);
    await openEditor(page, rt.url);
    await page.waitForFunction(() => RED.nodes.node("ex1-store") && RED.nodes.node("ex1-gate"), null, { timeout: 30000 });
    assert.equal(await page.evaluate(() => RED.nodes.getType("privacy-consent-gate").category), "privacy");
    assert.equal(await page.evaluate(() => RED.utils.getNodeLabel(RED.nodes.node("ex1-gate"))), "consent: cloud-upload");

    await page.evaluate(() => RED.editor.editConfig("", "privacy-consent-store", "ex1-store"));
    await page.waitForSelector("#node-config-input-purpose-list .privacy-purpose-id");
    assert.deepEqual(await page.$$eval("#node-config-input-purpose-list .privacy-purpose-id", (els) => els.map((e) => e.value)), ["cloud-upload"]);
    assert.equal(await page.inputValue("#node-config-input-purpose-list .privacy-purpose-version"), "1");
    await page.click(".red-ui-editableList-addButton");
    const row = page.locator("#node-config-input-purpose-list li").nth(1);
    await row.locator(".privacy-purpose-id").fill("energy-stats");
    await row.locator(".privacy-purpose-description").fill("hourly totals for the supplier");
    await row.locator(".privacy-purpose-version").fill("3");
    await screenshot(page, "consent-store-editor");
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#node-config-input-purpose-list", { state: "detached" });
    const store = await page.evaluate(() => { const n = RED.nodes.node("ex1-store"); return { purposes: n.purposes, valid: n.valid }; });
    assert.equal(store.valid, true);
    assert.deepEqual(store.purposes, [
      { id: "cloud-upload", description: "Room readings are copied to a cloud dashboard", policyVersion: "1" },
      { id: "energy-stats", description: "hourly totals for the supplier", policyVersion: "3" },
    ]);
    // The same validator the dialog relies on refuses duplicate ids and missing versions.
    const invalid = await page.evaluate(() => {
      const def = RED.nodes.getType("privacy-consent-store").defaults.purposes;
      return [def.validate([{ id: "a", policyVersion: "1" }, { id: "a", policyVersion: "1" }]), def.validate([{ id: "a", policyVersion: "" }]), def.validate([{ id: "with space", policyVersion: "1" }])];
    });
    assert.deepEqual(invalid, [false, false, false]);

    await page.evaluate(() => RED.editor.edit(RED.nodes.node("ex1-gate")));
    await page.waitForSelector("#node-input-onBlocked");
    assert.equal(await page.inputValue("#node-input-subjectProperty"), "topic");
    await page.selectOption("#node-input-onBlocked", "drop");
    await page.click("#node-dialog-ok");
    await page.waitForSelector("#node-input-onBlocked", { state: "detached" });
    const gate = await page.evaluate(() => { const n = RED.nodes.node("ex1-gate"); return { outputs: n.outputs, onBlocked: n.onBlocked, valid: n.valid }; });
    assert.deepEqual(gate, { outputs: 1, onBlocked: "drop", valid: true });
    assert.deepEqual(errors, []);
  });
});
