"use strict";
// The privacy-minimize edit dialog in a real editor (headless Chromium): the rule list
// loads a saved config, the live preview shows what the runtime engine lets out for a
// pasted sample, follows rule changes, and the sample is never saved in the flow.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { launchBrowser } = require("../helpers/browser");
const { startRuntime, tempDir } = require("../helpers/runtime");

const OUT = path.join(__dirname, "..", "..", "test-output");
const example = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "examples", "minimize-smart-meter-before-cloud-upload.json"), "utf8"));

describe("privacy-minimize editor (headless Chromium)", function () {
  this.timeout(120000);
  let rt;
  let browser;
  before(async () => {
    rt = await startRuntime({ userDir: path.join(tempDir(), "user"), flows: example });
    browser = await launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    if (rt) await rt.stop();
  });

  it("edits rules with a live preview run by the runtime, and saves rules but never the sample", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(rt.url);
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.node && RED.nodes.node("pm-ex1-minimize"), null, { timeout: 60000 });
    assert.equal(await page.evaluate(() => RED.nodes.getType("privacy-minimize").category), "privacy");
    const label = await page.evaluate(() => RED.utils.getNodeLabel(RED.nodes.node("pm-ex1-minimize")));
    assert.equal(label, "only what the tariff needs");

    await page.evaluate(() => RED.editor.edit(RED.nodes.node("pm-ex1-minimize")));
    await page.waitForSelector("#node-input-rule-container .pm-path");
    const paths = await page.$$eval("#node-input-rule-container .pm-path", (els) => els.map((e) => e.value));
    assert.deepEqual(paths, ["kwh", "power", "ts", "location"]);
    const ops = await page.$$eval("#node-input-rule-container .pm-op", (els) => els.map((e) => e.value));
    assert.deepEqual(ops, ["round", "round", "time", "coordinates"]);

    const sample = {
      topic: "meter/7",
      headers: { "x-forwarded-for": "203.0.113.7" },
      payload: { owner: "Pat Sample", kwh: 1234.5678, power: 437.2, ts: "2024-05-01T10:23:45Z", location: { lat: 52.520008, lon: 13.404954 } },
    };
    await page.fill("#pm-sample", JSON.stringify(sample));
    await page.waitForFunction(() => /u33dc/.test(document.querySelector("#pm-output").textContent), null, { timeout: 10000 });
    const shown = JSON.parse(await page.textContent("#pm-output"));
    assert.deepEqual(shown.payload, { kwh: 1234.6, power: 450, ts: "2024-05-01T10:00:00.000Z", location: "u33dc" });
    assert.equal(shown.headers, undefined);
    fs.mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: path.join(OUT, "minimize-editor.png") });
    await page.locator("#pm-output").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(OUT, "minimize-editor-preview.png") });

    // a rule change shows at once: location as 2 decimals instead of a geohash
    const last = page.locator("#node-input-rule-container li").nth(3);
    await last.locator(".pm-how").selectOption("decimals");
    await last.locator(".pm-n").fill("2");
    await last.locator(".pm-n").dispatchEvent("change");
    await page.waitForFunction(() => /"lat": 52.52/.test(document.querySelector("#pm-output").textContent), null, { timeout: 10000 });

    // a transform on the wrong type shows the engine's error
    await page.locator("#node-input-rule-container li").nth(0).locator(".pm-path").fill("owner");
    await page.locator("#node-input-rule-container li").nth(0).locator(".pm-path").dispatchEvent("change");
    await page.waitForFunction(() => /round needs a number/.test(document.querySelector("#pm-output").textContent), null, { timeout: 10000 });
    await page.locator("#node-input-rule-container li").nth(0).locator(".pm-path").fill("kwh");

    await page.click("#node-dialog-ok");
    await page.waitForFunction(() => !document.querySelector("#pm-sample"));
    const saved = await page.evaluate(() => {
      const n = RED.nodes.node("pm-ex1-minimize");
      return { rules: n.rules, valid: n.valid, json: JSON.stringify(RED.nodes.createCompleteNodeSet()) };
    });
    assert.equal(saved.valid, true);
    assert.deepEqual(saved.rules[3], { path: "location", op: "coordinates", method: "decimals", decimals: 2 });
    assert.equal(saved.json.includes("Pat Sample"), false, "the sample is not in the flow");
    assert.deepEqual(errors, []);
  });

  it("previews the window a sample folds into, and marks a bad rule invalid", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(rt.url);
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.node && RED.nodes.node("pm-ex1-minimize"), null, { timeout: 60000 });
    await page.evaluate(() => RED.editor.edit(RED.nodes.node("pm-ex1-minimize")));
    await page.waitForSelector("#node-input-rule-container .pm-path");
    assert.equal(await page.isVisible("#node-input-aggregateFields"), false, "aggregation options hidden until switched on");
    await page.check("#node-input-aggregate");
    await page.fill("#node-input-aggregateFields", "kwh, power");
    await page.fill("#pm-sample", JSON.stringify({ topic: "meter/9", payload: { kwh: 10.04, power: 437.2 } }));
    await page.waitForFunction(() => /"windows"/.test(document.querySelector("#pm-output").textContent), null, { timeout: 10000 });
    const shown = JSON.parse(await page.textContent("#pm-output"));
    assert.deepEqual(shown.windows[0].payload, { kwh: { count: 1, mean: 10, min: 10, max: 10 }, power: { count: 1, mean: 450, min: 450, max: 450 } });
    assert.equal(shown.windows[0].topic, "meter/9");

    await page.locator("#node-input-rule-container li").nth(1).locator(".pm-path").fill("a.__proto__.b");
    await page.click("#node-dialog-ok");
    await page.waitForFunction(() => !document.querySelector("#pm-sample"));
    const node = await page.evaluate(() => {
      const n = RED.nodes.node("pm-ex1-minimize");
      return { valid: n.valid, aggregate: n.aggregate, fields: n.aggregateFields, label: RED.utils.getNodeLabel(n) };
    });
    assert.equal(node.valid, false, "a prototype path marks the node invalid");
    assert.equal(node.aggregate, true);
    assert.equal(node.fields, "kwh, power");
    assert.deepEqual(errors, []);
  });
});
