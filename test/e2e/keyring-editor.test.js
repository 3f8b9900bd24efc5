"use strict";
// The privacy-keyring edit dialog in a real editor (headless Chromium): Generate makes a
// key in the browser and makes its kid active; once deployed the key works in the
// runtime, and the editor never gets it back (flows, credentials API, reopened dialog).
const assert = require("node:assert/strict");
const path = require("node:path");
const { launchBrowser } = require("../helpers/browser");
const { startRuntime, api, waitFor, tempDir } = require("../helpers/runtime");

const flows = [
  { id: "t1", type: "tab", label: "keys" },
  { id: "kr", type: "privacy-keyring", name: "home keys", activeKid: "placeholder", source: "credentials" },
  { id: "enc", type: "privacy-encrypt", z: "t1", keyring: "kr", property: "payload", fields: [], x: 200, y: 100, wires: [[]] },
];

describe("privacy-keyring editor (headless Chromium)", function () {
  this.timeout(120000);
  let rt;
  let browser;
  before(async () => {
    rt = await startRuntime({ userDir: path.join(tempDir(), "user"), flows });
    browser = await launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    if (rt) await rt.stop();
  });

  it("generates a key in the browser, deploys it, and never shows it again", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(rt.url);
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.node && RED.nodes.node("kr"), null, { timeout: 60000 });

    await page.evaluate(() => RED.editor.editConfig("", "privacy-keyring", "kr"));
    await page.waitForSelector("#privacy-keyring-generate", { state: "visible" });
    // Before deploy the runtime's keyring has no keys: the dialog says why.
    await page.waitForFunction(() => /keyring/.test(document.querySelector("#privacy-keyring-deployed").textContent));
    await page.click("#privacy-keyring-generate");
    const made = await page.evaluate(() => ({ keys: $("#node-config-input-keys").val(), kid: $("#node-config-input-activeKid").val(), shown: $("#privacy-keyring-new").text() }));
    const parsed = JSON.parse(made.keys);
    assert.deepEqual(Object.keys(parsed), [made.kid]);
    const key = parsed[made.kid];
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(made.shown.includes(key), "the new key is shown once for a backup");

    await page.click("#node-config-dialog-ok");
    await page.waitForFunction(() => !document.querySelector("#privacy-keyring-generate"));
    await page.click("#red-ui-header-button-deploy");
    const kids = await waitFor(() => api(rt, "GET", "/privacy-keyring/kr/kids").then((r) => (r.kids && r.deployed !== false ? r : null), () => null), { what: "the deployed keyring" });
    assert.deepEqual(kids.kids, [made.kid]);

    // Never again: not in the flows, not in the credentials API, not in a reopened dialog.
    assert.ok(!JSON.stringify(await api(rt, "GET", "/flows")).includes(key));
    const creds = await api(rt, "GET", "/credentials/privacy-keyring/kr");
    assert.equal(creds.has_keys, true);
    assert.ok(!JSON.stringify(creds).includes(key));
    await page.evaluate(() => RED.editor.editConfig("", "privacy-keyring", "kr"));
    await page.waitForSelector("#privacy-keyring-generate", { state: "visible" });
    await page.waitForFunction((kid) => document.querySelector("#privacy-keyring-deployed").textContent.includes(kid), made.kid);
    const again = await page.evaluate(() => ({ field: $("#node-config-input-keys").val(), html: document.documentElement.outerHTML }));
    assert.notEqual(again.field, made.keys);
    assert.ok(!again.html.includes(key), "the saved key is not in the page");
    // Generating with hidden saved keys asks for the backup instead of dropping them.
    await page.click("#privacy-keyring-generate");
    assert.match(await page.textContent("#privacy-keyring-new"), /saved keys are hidden/);
    assert.deepEqual(errors, []);
  });
});
