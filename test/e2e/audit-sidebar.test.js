"use strict";
/**
 * The privacy sidebar in real Chromium against a real Node-RED: it lists a leaky
 * flow's findings by severity, follows an edit before any deploy, shows a finding's
 * nodes selected on the canvas, accepts one with a reason (it moves to "accepted"),
 * and the deploy that stores the acceptance in the flows runs with no console error.
 * Screenshots: test-output/screenshots/audit-sidebar-*.png.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime, api, deploy } = require("../helpers/runtime");
const { launchBrowser, newPage, openEditor, screenshot } = require("../helpers/browser");

const TAB = "leaky-tab";

/** A broker config as the editor saves it (every field its validators look at). */
function broker(id, name, host) {
  return {
    id, type: "mqtt-broker", name, broker: host, port: "1883", clientid: "", autoConnect: false, usetls: false, protocolVersion: "4",
    keepalive: "60", cleansession: true, autoUnsubscribe: true, birthTopic: "", birthQos: "0", birthRetain: "false", birthPayload: "",
    birthMsg: {}, closeTopic: "", closeQos: "0", closeRetain: "false", closePayload: "", closeMsg: {}, willTopic: "", willQos: "0",
    willRetain: "false", willPayload: "", willMsg: {}, userProps: "", sessionExpiry: "",
  };
}
const SECRET = "Sommer2024!-plaintext";
const FLOWS = [
  { id: TAB, type: "tab", label: "Leaky home", disabled: false, info: "", env: [] },
  // autoConnect off: the test makes no connection to any broker.
  broker("br-local", "local", "127.0.0.1"),
  broker("br-cloud", "cloud broker", "broker.example.com"),
  { id: "owntracks", type: "mqtt in", z: TAB, name: "OwnTracks", topic: "owntracks/+/+", qos: "0", datatype: "json", broker: "br-local", inputs: 0, x: 140, y: 100, wires: [["format"]] },
  { id: "format", type: "function", z: TAB, name: "format", func: `const password = "${SECRET}";\nmsg.payload = { lat: msg.payload.lat, lon: msg.payload.lon };\nreturn msg;`, outputs: 1, x: 340, y: 100, wires: [["upload", "mirror"]] },
  { id: "upload", type: "http request", z: TAB, name: "location cloud", method: "POST", ret: "txt", paytoqs: "ignore", url: "https://location.example.com/v1", tls: "", persist: false, authType: "", senderr: false, headers: [], x: 560, y: 60, wires: [[]] },
  { id: "mirror", type: "mqtt out", z: TAB, name: "to cloud broker", topic: "home/where", qos: "", retain: "", broker: "br-cloud", x: 570, y: 140, wires: [] },
];
const PATH_ID = "unprotected-path:owntracks>upload";

describe("privacy audit sidebar (headless Chromium)", function () {
  this.timeout(180000);
  let rt;
  let browser;
  before(async () => {
    // The demo's keyring reads its key from the environment; its update check must not reach the internet.
    const keys = JSON.stringify({ "demo-1": Buffer.alloc(32, 1).toString("base64url") });
    rt = await startRuntime({ flows: FLOWS, env: { PRIVACY_DEMO_KEYS: keys, npm_config_registry: "http://127.0.0.1:9/" } });
    browser = await launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    if (rt) await rt.stop();
  });

  const sectionIds = (page, section) =>
    page.$$eval(`.privacy-audit-section[data-section="${section}"] .privacy-audit-finding`, (els) => els.map((e) => e.getAttribute("data-id")));

  it("lists the findings, follows edits, selects a finding's nodes, accepts one, and deploys with no console error", async () => {
    const { page, errors } = await newPage(browser);
    await openEditor(page, rt.url);
    await page.evaluate(() => RED.sidebar.show("privacy-audit"));
    await page.waitForSelector(`.privacy-audit-finding[data-id="${PATH_ID}"]`, { timeout: 15000 });

    // Grouped by severity: the two paths, the secret and the clear broker are high; the
    // test runtime's generated credential key (a fact from the runtime) is medium.
    const high = await sectionIds(page, "high");
    for (const id of [PATH_ID, "unprotected-path:owntracks>mirror", "plain-secret:format:func", "unencrypted-transport:br-cloud"]) {
      assert.ok(high.includes(id), `${id} in High (${high.join(", ")})`);
    }
    assert.deepEqual(await sectionIds(page, "medium"), ["instance-credential-secret"]);
    // Node-RED 4 shows it on the tab's label, Node-RED 5 on the sidebar's icon button.
    const badge = await page.$eval(
      '#red-ui-tab-privacy-audit .privacy-audit-badge, button[data-tab-id="privacy-audit"] .privacy-audit-badge',
      (e) => e.textContent,
    );
    const active = (await sectionIds(page, "high")).length + (await sectionIds(page, "medium")).length + (await sectionIds(page, "low")).length;
    assert.equal(Number(badge), active);
    assert.ok(!(await page.content()).includes(SECRET), "the secret is not shown anywhere");

    // An edit, not deployed: a new leak appears in the sidebar at once.
    await page.evaluate(() => {
      RED.view.importNodes([{ id: "webhook", type: "http request", z: "leaky-tab", name: "webhook", method: "POST", url: "https://hooks.example.net/x", x: 560, y: 220, wires: [[]] }], { generateIds: false, addFlow: false, touchImport: false });
      Object.assign(RED.nodes.node("webhook"), { x: 580, y: 220, dirty: true });
      const from = RED.nodes.node("format");
      RED.nodes.addLink({ source: from, sourcePort: 0, target: RED.nodes.node("webhook") });
      RED.view.redraw(true);
      RED.events.emit("links:add", {});
    });
    await page.waitForSelector('.privacy-audit-finding[data-id="unprotected-path:owntracks>webhook"]', { timeout: 5000 });

    // Clicking a finding shows its nodes selected on the canvas.
    await page.click(`.privacy-audit-finding[data-id="${PATH_ID}"] .privacy-audit-title`);
    await page.waitForFunction(() => RED.view.selection().nodes && RED.view.selection().nodes.length === 3, null, { timeout: 5000 });
    const selected = await page.evaluate(() => RED.view.selection().nodes.map((n) => n.id).sort());
    assert.deepEqual(selected, ["format", "owntracks", "upload"]);
    assert.equal(await page.evaluate(() => RED.workspaces.active()), TAB);
    const details = await page.$eval(`.privacy-audit-finding[data-id="${PATH_ID}"] .privacy-audit-details`, (e) => e.textContent);
    assert.match(details, /location\.example\.com/);
    await screenshot(page, "audit-sidebar-selected");

    // The help link of the fixing node opens its help.
    await page.click(`.privacy-audit-finding[data-id="${PATH_ID}"] .privacy-audit-help`);
    await page.waitForFunction(() => /minimize/i.test($("#red-ui-sidebar-help-title, .red-ui-help-info-header, .red-ui-sidebar-help-stack").text()), null, { timeout: 5000 });
    await page.evaluate(() => RED.sidebar.show("privacy-audit"));

    // Accept it with a reason: it moves to "accepted", stored in the tab's env.
    await page.click(`.privacy-audit-finding[data-id="${PATH_ID}"] .privacy-audit-accept`);
    await page.fill(`.privacy-audit-finding[data-id="${PATH_ID}"] .privacy-audit-reason`, "the location service is our own server");
    await page.click(`.privacy-audit-finding[data-id="${PATH_ID}"] .privacy-audit-confirm`);
    await page.waitForFunction((id) => !!document.querySelector(`.privacy-audit-section[data-section="accepted"] .privacy-audit-finding[data-id="${id}"]`), PATH_ID, { timeout: 5000 });
    assert.ok(!(await sectionIds(page, "high")).includes(PATH_ID), "no longer among the high ones");
    assert.equal(Number(await page.$eval('#red-ui-tab-privacy-audit .privacy-audit-badge, button[data-tab-id="privacy-audit"] .privacy-audit-badge', (e) => e.textContent)), active, "one accepted, one new");
    // An instance finding has no tab: it is accepted in the global environment.
    await page.click('.privacy-audit-finding[data-id="instance-credential-secret"] .privacy-audit-title');
    await page.click('.privacy-audit-finding[data-id="instance-credential-secret"] .privacy-audit-accept');
    await page.fill('.privacy-audit-finding[data-id="instance-credential-secret"] .privacy-audit-reason', "test instance, thrown away after the run");
    await page.click('.privacy-audit-finding[data-id="instance-credential-secret"] .privacy-audit-confirm');
    await page.waitForSelector('.privacy-audit-section[data-section="accepted"] .privacy-audit-finding[data-id="instance-credential-secret"]', { timeout: 5000 });
    await page.click(`.privacy-audit-section[data-section="accepted"] .privacy-audit-finding[data-id="${PATH_ID}"] .privacy-audit-title`);
    await screenshot(page, "audit-sidebar-accepted");

    // Deploy: the acceptances travel in the flows.
    await page.click("#red-ui-header-button-deploy");
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")', { timeout: 15000 });
    const flows = await api(rt, "GET", "/flows");
    const tab = flows.find((n) => n.id === TAB);
    const entry = tab.env.find((e) => e.name === "PRIVACY_AUDIT_ACCEPTED");
    assert.equal(entry.type, "json");
    assert.equal(JSON.parse(entry.value)[PATH_ID].reason, "the location service is our own server");
    const global = flows.find((n) => n.type === "global-config");
    assert.ok(JSON.parse(global.env.find((e) => e.name === "PRIVACY_AUDIT_ACCEPTED").value)["instance-credential-secret"]);

    // A fresh editor reads them back from the deployed flows.
    await page.reload({ waitUntil: "domcontentloaded" });
    await page.waitForSelector(".red-ui-palette-node", { timeout: 30000 });
    await page.evaluate(() => RED.sidebar.show("privacy-audit"));
    await page.waitForSelector(`.privacy-audit-section[data-section="accepted"] .privacy-audit-finding[data-id="${PATH_ID}"]`, { timeout: 15000 });
    await screenshot(page, "audit-sidebar-after-deploy");
    assert.deepEqual(errors, []);
  });

  it("the demo pipeline: a newcomer sees its deliberately leaky branch at once, and nothing else from the flows", async () => {
    const demo = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "examples", "smart-home-privacy-pipeline.json"), "utf8"));
    await deploy(rt, demo);
    const { page, errors } = await newPage(browser);
    await openEditor(page, rt.url);
    await page.evaluate(() => RED.sidebar.show("privacy-audit"));
    await page.waitForSelector('.privacy-audit-section[data-section="dormant"] .privacy-audit-finding', { timeout: 15000 });
    // (The instance's httpNodeAuth finding is dormant with it: the branch holds the only http in.)
    const dormant = (await sectionIds(page, "dormant")).filter((id) => !id.startsWith("instance-"));
    assert.deepEqual(dormant, ["unprotected-path:pipe-leak-in>pipe-leak-upload"]);
    // What is left is about this test instance (no login, a generated credential key), not the flows.
    const active = [...(await sectionIds(page, "high")), ...(await sectionIds(page, "medium")), ...(await sectionIds(page, "low"))];
    assert.deepEqual(active.filter((id) => !id.startsWith("instance-")), []);
    await page.click('.privacy-audit-section[data-section="dormant"] .privacy-audit-title');
    await page.waitForFunction(() => RED.view.selection().nodes && RED.view.selection().nodes.length === 3, null, { timeout: 5000 });
    await screenshot(page, "audit-sidebar-demo");
    assert.deepEqual(errors, []);
  });
});
