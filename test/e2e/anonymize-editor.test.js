"use strict";
// The privacy-anonymize edit dialog in a real editor (headless Chromium): every option of
// every operator is a form field that loads and saves back exactly (a screenshot of each
// operator's row), a bad option is marked while typing by the runtime's own schema, the live
// preview runs the runtime's engine on a sample, and flows saved by 0.1.0 load unchanged.
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const path = require("node:path");
const fs = require("node:fs");
const { launchBrowser, newPage, openEditor, screenshot, SCREENSHOT_DIR } = require("../helpers/browser");
const { startRuntime, tempDir } = require("../helpers/runtime");

const SAVED = require(path.join(__dirname, "..", "fixtures", "flows-saved-by-0.1.0.json"));
const KEY = Buffer.alloc(32, 9);
const KEYS = JSON.stringify({ "home-1": KEY.toString("base64url") });

/** Every option of every operator, each set to something other than its default. */
const EVERY_OPTION = [
  { path: "ssid", op: "redact" },
  { path: "phone", op: "mask", char: "#", keepFirst: 2, keepLast: 3 },
  { path: "name", op: "replace", value: "<PERSON>" },
  { path: "serial", op: "hash", length: 12 },
  { path: "deviceId", op: "pseudonymize", prefix: "dev_", length: 20 },
  { path: "ip", op: "generalize", kind: "ip", ipv4Prefix: 16, ipv6Prefix: 32 },
  { path: "seen", op: "generalize", kind: "date", granularity: "month" },
  { path: "age", op: "generalize", kind: "range", width: 5, top: 90 },
  { path: "zip", op: "generalize", kind: "postcode", keep: 2 },
  { path: "gps", op: "generalize", kind: "coordinates", decimals: 1 },
  { path: "ts", op: "timePart", part: "weekday", timeZone: "Europe/Berlin" },
  { path: "installed", op: "dateShift", minDays: -60, maxDays: 60, keepWeekday: true },
  { path: "kwh", op: "bucket", mode: "fixed", width: 50, origin: 5, output: "middle" },
  { path: "temp", op: "bucket", mode: "ranges", buckets: [{ below: 18, label: "cold" }, { below: 24, label: "comfortable" }], above: "warm" },
  { path: "power", op: "noise", epsilon: 0.5, sensitivity: 100, min: 0, max: 5000, decimals: 1, budget: "study" },
  { path: "occupants", op: "geometric", epsilon: 0.25, sensitivity: 2, min: 0, max: 20, budget: "study" },
  { path: "indoor", op: "gaussian", epsilon: 0.5, delta: 1e-6, sensitivity: 2, min: -40, max: 60, decimals: 2, budget: "home" },
  { path: "home", op: "randomizedResponse", epsilon: 1, budget: "home" },
  {
    path: "note",
    op: "scan",
    entities: ["email", "ipv4", "phone"],
    action: { op: "mask", char: "x", keepFirst: 1, keepLast: 1 },
    actions: { email: { op: "pseudonymize", prefix: "e_", length: 10 }, ipv4: { op: "generalize", ipv4Prefix: 16, ipv6Prefix: 32, decimals: 3 }, phone: { op: "hash", length: 8 } },
  },
  { path: "note2", op: "scan", action: { op: "replace", value: "[x]" }, actions: { url: { op: "redact" } } },
];
const BUDGETS = [
  { name: "study", purpose: "energy research", epsilon: 4, delta: 0, period: "week", onSpent: "drop" },
  { name: "home", epsilon: 3, delta: 1e-5, period: "day", onSpent: "error" },
];

const FLOW = [
  { id: "ae-tab", type: "tab", label: "anonymize editor" },
  { id: "ae-keyring", type: "privacy-keyring", name: "home keys", activeKid: "home-1", source: "env", envVar: "PRIVACY_TEST_KEYS", salt: "" },
  {
    id: "ae-all",
    type: "privacy-anonymize",
    z: "ae-tab",
    name: "every option",
    property: "payload",
    rules: EVERY_OPTION,
    onError: "redact",
    kAnon: "3",
    lDiversity: "2",
    sensitive: "heating",
    quasiIdentifiers: ["age", "zip"],
    maxSuppression: 0.1,
    subjectFrom: "record",
    subject: "household",
    budgets: BUDGETS,
    keyring: "ae-keyring",
    x: 300,
    y: 80,
    wires: [],
  },
  {
    id: "ae-small",
    type: "privacy-anonymize",
    z: "ae-tab",
    name: "meter",
    property: "payload",
    rules: [
      { path: "deviceId", op: "pseudonymize", prefix: "dev_" },
      { path: "kwh", op: "bucket", width: 10 },
      { path: "ts", op: "timePart", part: "hour" },
    ],
    onError: "error",
    k: "",
    quasiIdentifiers: [],
    maxSuppression: 0.05,
    keyring: "ae-keyring",
    x: 300,
    y: 160,
    wires: [],
  },
];
const OLD = SAVED.filter((n) => n.z === "anon-ex2-tab" || n.id === "anon-ex2-tab");
// as 0.1.0 saved k-anonymity: in `k`, which Node-RED 4.1's editor drops as a reserved name
const LEGACY_K = { id: "ae-legacy-k", type: "privacy-anonymize", z: "ae-tab", name: "k from 0.1.0", property: "payload",
  rules: [{ path: "age", op: "generalize", kind: "range", width: 10 }], onError: "error", k: "4", quasiIdentifiers: ["age"],
  maxSuppression: 0.05, keyring: "", x: 300, y: 240, wires: [] };

describe("privacy-anonymize editor (headless Chromium)", function () {
  this.timeout(180000);
  let rt;
  let browser;
  let page;
  let errors;
  before(async () => {
    rt = await startRuntime({ userDir: path.join(tempDir(), "user"), flows: FLOW.concat(OLD, [LEGACY_K]), env: { PRIVACY_TEST_KEYS: KEYS } });
    browser = await launchBrowser();
    ({ page, errors } = await newPage(browser, { width: 1400, height: 1100 }));
    await openEditor(page, rt.url);
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.waitForFunction(() => window.RED && RED.nodes.node("ae-all"), null, { timeout: 60000 });
  });
  after(async () => {
    if (browser) await browser.close();
    if (rt) await rt.stop();
  });

  async function edit(id, rows) {
    await page.evaluate((n) => RED.editor.edit(RED.nodes.node(n)), id);
    await page.waitForFunction((n) => document.querySelectorAll("#node-input-rule-container .anon-rule").length === n, rows, { timeout: 15000 });
    await page.waitForTimeout(400);
  }
  async function ok() {
    await page.click("#node-dialog-ok");
    await page.waitForSelector(".red-ui-tray", { state: "detached", timeout: 10000 });
  }

  it("shows every option of every operator as a field, with no JSON, and saves them back exactly", async () => {
    await edit("ae-all", EVERY_OPTION.length);
    assert.equal(await page.$$eval("#node-input-rule-container textarea, #node-input-rule-container .anon-opts", (e) => e.length), 0, "no JSON boxes");
    const rows = page.locator("#node-input-rule-container > li");
    for (let i = 0; i < EVERY_OPTION.length; i++) {
      const r = EVERY_OPTION[i];
      const row = rows.nth(i);
      await row.scrollIntoViewIfNeeded();
      // every option the rule sets has a visible field of its own
      for (const key of Object.keys(r).filter((k) => k !== "path" && k !== "op")) {
        assert.equal(await row.locator(`.anon-fields > .anon-field[data-option="${key}"]`).isVisible(), true, `rule ${i + 1} (${r.op}): ${key} has a visible field`);
      }
      await row.screenshot({ path: path.join(SCREENSHOT_DIR, `anonymize-row-${String(i + 1).padStart(2, "0")}-${r.op}.png`) });
    }
    assert.equal(await page.$$eval("#node-input-rule-container .input-error", (e) => e.length), 0, "nothing is marked wrong");
    await page.locator("#anon-budget-list").scrollIntoViewIfNeeded();
    await screenshot(page, "anonymize-dialog-budgets");
    await ok();
    const saved = await page.evaluate(() => {
      const n = RED.nodes.node("ae-all");
      return { rules: n.rules, budgets: n.budgets, valid: n.valid, k: n.kAnon, l: n.lDiversity, sensitive: n.sensitive, subject: n.subject, subjectFrom: n.subjectFrom, q: n.quasiIdentifiers };
    });
    assert.deepEqual(saved.rules, EVERY_OPTION);
    assert.deepEqual(saved.budgets, BUDGETS);
    assert.deepEqual([saved.k, saved.l, saved.sensitive, saved.subject, saved.subjectFrom, saved.q], ["3", "2", "heating", "household", "record", ["age", "zip"]]);
    assert.equal(saved.valid, true);
    assert.deepEqual(errors, []);
  });

  it("changes each operator's options through its fields and saves what was typed", async () => {
    await edit("ae-all", EVERY_OPTION.length);
    const rows = page.locator("#node-input-rule-container > li");
    const field = (i, key) => rows.nth(i).locator(`.anon-fields > .anon-field[data-option="${key}"] .anon-input`).first();
    await field(11, "minDays").fill("-14");
    await field(11, "keepWeekday").uncheck();
    await field(10, "part").selectOption("hour");
    await field(12, "output").selectOption("range");
    await field(16, "budget").selectOption("");
    await field(5, "kind").selectOption("postcode");
    await rows.nth(5).locator('.anon-fields > .anon-field[data-option="keep"] .anon-input').fill("4");
    await rows.nth(13).locator(".anon-range-add").click();
    await rows.nth(13).locator(".anon-range-below").nth(2).fill("30");
    await rows.nth(13).locator(".anon-range-label").nth(2).fill("hot");
    await ok();
    const rules = await page.evaluate(() => RED.nodes.node("ae-all").rules);
    assert.deepEqual(rules[11], { path: "installed", op: "dateShift", minDays: -14, maxDays: 60, keepWeekday: false });
    assert.deepEqual(rules[10], { path: "ts", op: "timePart", part: "hour", timeZone: "Europe/Berlin" });
    assert.deepEqual(rules[12], { ...EVERY_OPTION[12], output: "range" });
    assert.deepEqual(rules[16], { path: "indoor", op: "gaussian", epsilon: 0.5, delta: 1e-6, sensitivity: 2, min: -40, max: 60, decimals: 2 });
    assert.deepEqual(rules[5], { path: "ip", op: "generalize", kind: "postcode", ipv4Prefix: 16, ipv6Prefix: 32, keep: 4 });
    assert.deepEqual(rules[13].buckets[2], { below: 30, label: "hot" });
    assert.deepEqual(errors, []);
  });

  it("marks a bad option while typing, by the runtime's schema, and the node invalid when saved so", async () => {
    await edit("ae-all", EVERY_OPTION.length);
    const row = page.locator("#node-input-rule-container > li").nth(14);
    const eps = row.locator('.anon-fields > .anon-field[data-option="epsilon"] .anon-input');
    await eps.fill("-1");
    await page.waitForFunction(() => document.querySelectorAll("#node-input-rule-container .anon-problem")[14].textContent.includes("epsilon"), null, { timeout: 10000 });
    assert.equal(await eps.evaluate((e) => e.classList.contains("input-error")), true);
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, "anonymize-invalid-epsilon");
    await ok();
    assert.equal(await page.evaluate(() => RED.nodes.node("ae-all").valid), false);
    await edit("ae-all", EVERY_OPTION.length);
    await page.locator("#node-input-rule-container > li").nth(14).locator('.anon-fields > .anon-field[data-option="epsilon"] .anon-input').fill("0.5");
    await ok();
    assert.equal(await page.evaluate(() => RED.nodes.node("ae-all").valid), true);
    assert.deepEqual(errors, []);
  });

  it("previews a sample with the runtime's engine and keyring, follows changes, and never saves the sample", async () => {
    await edit("ae-small", 3);
    await page.fill("#anon-sample", JSON.stringify({ topic: "m", payload: { deviceId: "meter-0042", kwh: 12.34, ts: "2024-03-15T18:22:00Z", owner: "Pat Sample" } }));
    await page.waitForFunction(() => /"kwh": "10-19"/.test(document.querySelector("#anon-output").textContent), null, { timeout: 10000 });
    const shown = JSON.parse(await page.textContent("#anon-output"));
    const subkey = Buffer.from(crypto.hkdfSync("sha256", KEY, Buffer.alloc(0), Buffer.from("privacy-pseudonymize"), 32));
    const expected = `dev_${crypto.createHmac("sha256", subkey).update("meter-0042").digest("hex").slice(0, 16)}`;
    assert.deepEqual(shown.payload, { deviceId: expected, kwh: "10-19", ts: 18, owner: "Pat Sample" });
    await page.locator("#anon-output").scrollIntoViewIfNeeded();
    await screenshot(page, "anonymize-preview");
    await page.locator("#node-input-rule-container > li").nth(2).locator('.anon-field[data-option="part"] select').selectOption("weekday");
    await page.waitForFunction(() => /"ts": 5/.test(document.querySelector("#anon-output").textContent), null, { timeout: 10000 });
    await ok();
    const json = await page.evaluate(() => JSON.stringify(RED.nodes.createCompleteNodeSet()));
    assert.equal(json.includes("Pat Sample"), false, "the sample is not in the flow");
    assert.deepEqual(errors, []);
  });

  it("a node saved by 0.1.0 opens and saves with its rules unchanged", async () => {
    const before = OLD.find((n) => n.type === "privacy-anonymize");
    await edit(before.id, before.rules.length);
    await screenshot(page, "anonymize-dialog-0.1.0-node");
    await ok();
    const after = await page.evaluate((id) => RED.nodes.node(id).rules, before.id);
    assert.deepEqual(after, before.rules);
    // k saved by 0.1.0 survives the editor, and a deploy from it keeps k-anonymity on
    assert.equal(await page.evaluate(() => RED.nodes.node("ae-legacy-k").kAnon), "4");
    await edit("ae-legacy-k", 1);
    assert.equal(await page.inputValue("#node-input-kAnon"), "4");
    await ok();
    await page.click("#red-ui-header-button-deploy");
    await page.waitForFunction(() => !RED.nodes.dirty(), null, { timeout: 10000 });
    const deployed = await (await fetch(new URL("flows", rt.url))).json();
    assert.equal(deployed.find((n) => n.id === "ae-legacy-k").kAnon, "4");
    assert.deepEqual(errors, []);
  });
});
