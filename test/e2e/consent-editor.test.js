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

  it("describes a purpose in form fields, generates the signing key, deploys, makes a personal link with a QR code, and acknowledges a broken journal", async () => {
    const { page, errors } = await newPage(browser);
    await openEditor(page, rt.url);
    await page.waitForFunction(() => RED.nodes.node("ex1-store"), null, { timeout: 30000 });
    await page.evaluate(() => RED.editor.editConfig("", "privacy-consent-store", "ex1-store"));
    await page.waitForSelector("#node-config-input-purpose-list .privacy-purpose-title");
    const row = page.locator("#node-config-input-purpose-list li").first();
    await row.getByLabel("Title (plain words)").fill("Room readings on the cloud dashboard");
    await row.getByLabel("What data").fill("room temperature, humidity");
    await row.getByLabel("Who receives it").fill("Acme Cloud analytics");
    await row.getByLabel("Kept for").fill("30 days");
    await row.getByLabel("Purpose type (DPV)").selectOption({ label: "Service Optimisation" });
    await page.check("#node-config-input-page");
    // A store saved before the page existed has no path: empty means the default, shown as the placeholder.
    assert.equal(await page.getAttribute("#node-config-input-pagePath", "placeholder"), "/privacy/consent");
    await page.click("#privacy-consent-store-generate");
    await page.waitForFunction(() => /"kty": "OKP"/.test(document.getElementById("privacy-consent-store-key").textContent));
    const secret = await page.inputValue("#node-config-input-signingKey");
    assert.match(JSON.parse(secret).d, /^[A-Za-z0-9_-]{43}$/, "the private key goes into the credential field");
    assert.ok(!(await page.textContent("#privacy-consent-store-key")).includes(JSON.parse(secret).d), "only the public key is shown");
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#node-config-input-purpose-list", { state: "detached" });
    const saved = await page.evaluate(() => RED.nodes.node("ex1-store").purposes[0]);
    assert.deepEqual(saved, {
      id: "cloud-upload", description: "Room readings are copied to a cloud dashboard", policyVersion: "1", title: "Room readings on the cloud dashboard",
      dataCategories: ["room temperature", "humidity"], recipients: ["Acme Cloud analytics"], retention: "30 days", dpvPurpose: "https://w3id.org/dpv#ServiceOptimisation",
    });
    await page.click("#red-ui-header-button-deploy");
    await page.waitForFunction(() => !RED.nodes.dirty(), null, { timeout: 30000 });
    const flows = fs.readFileSync(path.join(rt.userDir, "flows.json"), "utf8");
    assert.ok(!flows.includes(JSON.parse(secret).d), "the signing key is not in flows.json");

    await page.evaluate(() => RED.editor.editConfig("", "privacy-consent-store", "ex1-store"));
    await page.waitForSelector("#privacy-consent-store-key-note");
    await page.waitForFunction(() => /Receipts are signed/.test(document.getElementById("privacy-consent-store-key-note").textContent), null, { timeout: 10000 });
    assert.match(await page.textContent("#privacy-consent-store-integrity"), /hash chain is whole/);
    await page.fill("#privacy-consent-store-subject", "alice");
    await page.click("#privacy-consent-store-make-link");
    await page.waitForSelector("#privacy-consent-store-qr svg");
    const url = await page.inputValue("#privacy-consent-store-link-url");
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/api\/privacy\/consent\/[A-Za-z0-9_-]{43}$/);
    await page.locator("#privacy-consent-store-qr").scrollIntoViewIfNeeded();
    await screenshot(page, "consent-store-link-qr");
    const pageRes = await fetch(url);
    assert.equal(pageRes.status, 200);
    assert.match(await pageRes.text(), /Room readings on the cloud dashboard/);
    await page.click("#privacy-consent-store-revoke-link");
    await page.waitForFunction(() => /Link revoked/.test(document.getElementById("privacy-consent-store-link-out").textContent));
    assert.equal((await fetch(url)).status, 404);
    await page.click("#node-config-dialog-cancel");
    assert.deepEqual(errors, []);
    await page.close();

    // Someone edits the journal by hand: after a restart the dialog shows the break and acknowledges it.
    await rt.stop();
    const journal = path.join(rt.userDir, "privacy-consent", "ex1-store.jsonl");
    const lines = fs.readFileSync(journal, "utf8").split("\n");
    lines.splice(1, 1);
    fs.writeFileSync(journal, lines.join("\n"));
    rt = await startRuntime({ userDir: rt.userDir });
    const again = await newPage(browser);
    await openEditor(again.page, rt.url);
    await again.page.waitForFunction(() => RED.nodes.node("ex1-store"), null, { timeout: 30000 });
    await again.page.evaluate(() => RED.editor.editConfig("", "privacy-consent-store", "ex1-store"));
    await again.page.waitForSelector("#privacy-consent-store-ack");
    assert.match(await again.page.textContent("#privacy-consent-store-integrity"), /line 2 does not carry the hash of line 1/);
    await screenshot(again.page, "consent-store-integrity");
    await again.page.click("#privacy-consent-store-ack");
    await again.page.waitForFunction(() => /Acknowledged/.test(document.getElementById("privacy-consent-store-integrity").textContent));
    await again.page.click("#node-config-dialog-cancel");
    assert.deepEqual(again.errors, []);
  });

  it("a store's dialog that still asks the runtime after it closed leaves the next store's dialog alone", async () => {
    const { page, errors } = await newPage(browser);
    await openEditor(page, rt.url);
    await page.waitForFunction(() => RED.nodes.node("ex1-store"), null, { timeout: 30000 });
    // A store not deployed yet: its dialog asks again every half second for a few seconds.
    await page.evaluate(() => RED.view.importNodes([{ id: "undeployed-store", type: "privacy-consent-store", name: "new", purposes: [{ id: "p", description: "", policyVersion: "1" }] }]));
    await page.evaluate(() => RED.editor.editConfig("", "privacy-consent-store", "undeployed-store"));
    await page.waitForFunction(() => document.getElementById("privacy-consent-store-integrity")?.textContent === "Deploy the store first.");
    await page.click("#node-config-dialog-cancel");
    await page.waitForSelector("#privacy-consent-store-integrity", { state: "detached" });
    await page.evaluate(() => RED.editor.editConfig("", "privacy-consent-store", "ex1-store"));
    await page.waitForFunction(() => /hash chain is whole/.test(document.getElementById("privacy-consent-store-integrity")?.textContent ?? ""));
    await page.waitForTimeout(2000);
    assert.match(await page.textContent("#privacy-consent-store-integrity"), /hash chain is whole/, "the deployed store's dialog shows its own state");
    await page.click("#node-config-dialog-cancel");
    assert.deepEqual(errors, []);
  });
});
