"use strict";
/**
 * The consent page in real Chromium against a real Node-RED runtime: a person opens
 * their link on a phone, sees their purposes in words, withdraws one and the gate blocks
 * the next reading; re-grants and it passes. Other people's tokens never show their
 * data; every bad token gets the same 404; a cross-site form post is refused; axe-core
 * finds nothing serious; nothing is fetched from outside the Node-RED origin.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const { startRuntime, deploy, inject, waitFor, readJsonLines, fileSink, tempDir } = require("../helpers/runtime");
const { launchBrowser, screenshot } = require("../helpers/browser");
const { generateSigningKey } = require("../../dist/consent/receipt-signing");

const PURPOSES = [
  {
    id: "cloud-analytics", policyVersion: "1", title: "Room temperature to the heating dashboard", description: "Helps the heating learn when you are home.",
    dataCategories: ["room temperature", "humidity"], recipients: ["Acme Cloud analytics"], retention: "30 days", policyUrl: "https://example.org/policy", dpvPurpose: "https://w3id.org/dpv#ServiceOptimisation",
  },
  { id: "doorbell", policyVersion: "2", title: "Front door camera snapshots", description: "", dataCategories: ["front door camera snapshots"], recipients: ["only this house"], retention: "7 days", dpvPurpose: "https://w3id.org/dpv#EnforceSecurity" },
  { id: "bike", policyVersion: "1", title: "Bike location", description: "", dataCategories: ["bike location"], recipients: ["Acme Cloud analytics"], retention: "1 day" },
];
const cmd = (id, consent) => ({ id, type: "inject", z: "t", props: [{ p: "consent", v: JSON.stringify(consent), vt: "json" }], repeat: "", once: false, wires: [["mgr"]] });

describe("consent page (real Chromium, real runtime)", function () {
  this.timeout(180000);
  let rt;
  let browser;
  let dir;
  let acks;
  let passed;
  let blocked;
  const links = {};
  const origin = () => new URL(rt.url).origin;

  before(async () => {
    dir = tempDir("nr-privacy-page-");
    acks = fileSink("acks", "t", dir);
    passed = fileSink("passed", "t", dir);
    blocked = fileSink("blocked", "t", dir);
    rt = await startRuntime({ userDir: path.join(dir, "user") });
    const flows = [
      { id: "t", type: "tab", label: "consent page" },
      { id: "store", type: "privacy-consent-store", name: "Flat 3", backend: "file", file: "", purposes: PURPOSES, page: true, pagePath: "/privacy/consent", pageBase: "", retiredKeys: [], credentials: { signingKey: JSON.stringify(generateSigningKey()) } },
      { id: "mgr", type: "privacy-consent", z: "t", store: "store", method: "household setup", wires: [[acks.input]] },
      cmd("grant-alice", { action: "grant", subject: "alice", purpose: ["cloud-analytics", "doorbell"] }),
      cmd("grant-bob", { action: "grant", subject: "bob", purpose: "bike" }),
      cmd("link-alice", { action: "link", subject: "alice" }),
      cmd("link-bob", { action: "link", subject: "bob" }),
      cmd("revoke-bob", { action: "revoke-link", subject: "bob" }),
      { id: "reading", type: "inject", z: "t", props: [{ p: "payload", v: "21.5", vt: "num" }, { p: "topic", v: "alice", vt: "str" }], wires: [["gate"]] },
      { id: "gate", type: "privacy-consent-gate", z: "t", store: "store", purpose: "cloud-analytics", subjectProperty: "topic", onBlocked: "output", wires: [[passed.input], [blocked.input]] },
      ...acks.nodes,
      ...passed.nodes,
      ...blocked.nodes,
    ];
    await deploy(rt, flows);
    for (const id of ["grant-alice", "grant-bob", "link-alice", "link-bob"]) {
      const before = readJsonLines(acks.file).length;
      await inject(rt, id);
      await waitFor(() => readJsonLines(acks.file).length > before, { what: `the answer to ${id}` });
    }
    for (const a of readJsonLines(acks.file)) if (a.payload && a.payload.url) links[a.payload.subject] = a.payload.url;
    assert.match(links.alice, /^\/api\/privacy\/consent\/[A-Za-z0-9_-]{43}$/, "the link is the page path and a 256-bit token");
    const journal = fs.readFileSync(path.join(dir, "user", "privacy-consent", "store.jsonl"), "utf8");
    assert.ok(!journal.includes(links.alice.split("/").pop()), "the token itself is not in the journal");
    browser = await launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    if (rt) await rt.stop();
  });

  /** A page in its own context that records errors and every request it makes. */
  async function open(viewport, lang = "en-GB") {
    const context = await browser.newContext({ viewport, locale: lang, extraHTTPHeaders: { "Accept-Language": lang } });
    const page = await context.newPage();
    const errors = [];
    const requests = [];
    page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("request", (r) => requests.push(r.url()));
    return { context, page, errors, requests };
  }

  async function readings() {
    const p = readJsonLines(passed.file).length;
    const b = readJsonLines(blocked.file).length;
    await inject(rt, "reading");
    await waitFor(() => readJsonLines(passed.file).length > p || readJsonLines(blocked.file).length > b, { what: "the reading" });
    const last = readJsonLines(blocked.file)[b];
    return last ? { allowed: false, reason: last.privacy.blocked.reason } : { allowed: true };
  }

  it("on a 390 x 844 phone: alice sees her purposes in words, withdraws one and the gate blocks; re-grants and it passes", async () => {
    assert.deepEqual(await readings(), { allowed: true });
    const { context, page, errors, requests } = await open({ width: 390, height: 844 });
    const res = await page.goto(origin() + links.alice);
    assert.equal(res.status(), 200);
    const headers = res.headers();
    assert.match(headers["content-security-policy"], /default-src 'none'/);
    assert.match(headers["content-security-policy"], /form-action 'self'/);
    assert.equal(headers["cache-control"], "no-store");
    assert.equal(headers["referrer-policy"], "no-referrer");
    const text = await page.textContent("main");
    for (const words of ["Room temperature to the heating dashboard", "room temperature, humidity", "Acme Cloud analytics", "30 days", "Service Optimisation", "Front door camera snapshots", "Bike location", "You were never asked"]) {
      assert.ok(text.includes(words), `the page says "${words}"`);
    }
    assert.ok(!text.includes("bob"), "nothing of bob");
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no sideways scrolling on a phone (${width} px)`);
    await screenshot(page, "consent-page-phone");
    await page.screenshot({ path: path.join(__dirname, "..", "..", "test-output", "screenshots", "consent-page-phone-full.png"), fullPage: true });

    const sw = page.getByRole("switch", { name: /Room temperature to the heating dashboard/ });
    assert.equal(await sw.getAttribute("aria-checked"), "true");
    // Keyboard: Tab reaches the switch with a visible focus ring, Enter flips it.
    await sw.focus();
    const outline = await sw.evaluate((el) => getComputedStyle(el).outlineStyle);
    assert.notEqual(outline, "none", "visible focus");
    const reloaded = () => page.waitForResponse((r) => r.request().method() === "GET" && r.url().includes("saved=cloud-analytics"));
    await Promise.all([reloaded(), page.keyboard.press("Enter")]);
    await page.waitForLoadState("load");
    assert.match(await page.textContent("[role=status]"), /Saved: Room temperature/);
    assert.deepEqual(await readings(), { allowed: false, reason: "withdrawn" }, "the very next message is blocked");
    await screenshot(page, "consent-page-phone-withdrawn");

    await Promise.all([reloaded(), page.getByRole("switch", { name: /Room temperature/ }).click()]);
    await page.waitForLoadState("load");
    assert.equal(await page.getByRole("switch", { name: /Room temperature/ }).getAttribute("aria-checked"), "true");
    assert.deepEqual(await readings(), { allowed: true }, "re-granted: it passes");
    const history = await page.$$eval("ol.history li", (lis) => lis.map((li) => li.textContent));
    assert.match(history[0], /you agreed to Room temperature.*consent page/, "newest first");
    assert.match(history[1], /you said no to Room temperature/);

    // Downloads: receipts verify with jose; the record has the ISO/IEC TS 27560 parts.
    const receipts = await (await page.request.get(`${origin()}${links.alice}/receipts.json`)).json();
    const jose = await import("jose");
    const key = await jose.importJWK(receipts.publicKeys[0], "EdDSA");
    for (const r of receipts.receipts) await jose.compactVerify(r.jws, key);
    const record = await (await page.request.get(`${origin()}${links.alice}/record.json`)).json();
    assert.deepEqual(Object.keys(record), ["header", "processing", "parties", "events"]);
    assert.equal(record.processing[0].dpvPurpose, "https://w3id.org/dpv#ServiceOptimisation");
    assert.deepEqual(record.processing[0].dataCategories, ["room temperature", "humidity"]);
    assert.equal(record.events.length, 4);

    const outside = requests.filter((u) => new URL(u).origin !== origin());
    assert.deepEqual(outside, [], "no request leaves the Node-RED origin");
    assert.deepEqual(errors, []);
    await context.close();
  });

  it("axe-core finds no serious or critical violation (phone and desktop); German follows the browser", async () => {
    const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
    for (const [viewport, lang] of [[{ width: 390, height: 844 }, "en-GB"], [{ width: 1280, height: 900 }, "de-DE"]]) {
      const { context, page, errors } = await open(viewport, lang);
      await page.goto(origin() + links.alice);
      if (lang === "de-DE") {
        assert.equal(await page.getAttribute("html", "lang"), "de");
        assert.match(await page.textContent("h1"), /Ihre Datenschutz-Einstellungen/);
        await screenshot(page, "consent-page-desktop-de");
      }
      // Evaluated through DevTools, which the page's CSP (no script at all) does not govern.
      const result = await page.evaluate(`${axeSource};axe.run(document, { resultTypes: ["violations"] })`);
      const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`), []);
      assert.deepEqual(errors, []);
      await context.close();
    }
  });

  it("bob's token shows bob only; a tampered token, a revoked link and no token all get the same 404", async () => {
    const bobPage = await (await fetch(origin() + links.bob)).text();
    assert.ok(bobPage.includes("Bike location") && bobPage.includes("(bob)") && !bobPage.includes("(alice)"));
    const aliceToken = links.alice.split("/").pop();
    const tampered = links.alice.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    const bobBefore = links.bob;
    await inject(rt, "revoke-bob");
    await waitFor(async () => (await fetch(origin() + bobBefore)).status === 404, { what: "the revoked link" });
    const answers = [];
    for (const url of [tampered, bobBefore, "/api/privacy/consent", "/api/privacy/consent/", `/api/privacy/consent/${aliceToken.slice(0, 20)}`, `${tampered}/receipts.json`]) {
      const r = await fetch(origin() + url);
      const headers = Object.fromEntries([...r.headers].filter(([k]) => k !== "date"));
      answers.push({ status: r.status, headers, body: Buffer.from(await r.arrayBuffer()).toString("base64") });
    }
    assert.equal(answers[0].status, 404);
    for (const a of answers) assert.deepEqual(a, answers[0], "byte-identical 404s");
  });

  it("refuses a cross-site form post (SameSite cookie, per-page token, Origin) and changes nothing", async () => {
    // An attacker's page on another site (localhost is another site than 127.0.0.1) posting the withdraw form.
    const target = origin() + links.alice;
    const evil = http.createServer((req, res) => {
      res.setHeader("Content-Type", "text/html");
      res.end(`<!doctype html><html lang="en"><title>win a prize</title><form id="f" method="post" action="${target}">
        <input name="purpose" value="cloud-analytics"><input name="give" value="0"><input name="csrf" value="guess"></form>
        <script>document.getElementById("f").submit()</script></html>`);
    });
    await new Promise((r) => evil.listen(0, r));
    const { context, page } = await open({ width: 390, height: 844 });
    try {
      await page.goto(target); // the person has the page open: its cookie is set
      const answered = page.waitForResponse((r) => r.url() === target && r.request().method() === "POST");
      await page.goto(`http://localhost:${evil.address().port}/`);
      const res = await answered;
      assert.equal(res.status(), 403);
      assert.deepEqual(await readings(), { allowed: true }, "the consent stands");
      // The same post with the page's own form token but from another origin is refused too.
      const csrf = await (await context.newPage()).goto(target).then((r) => r.text()).then((html) => /name="csrf" value="([^"]+)"/.exec(html)[1]);
      const forged = await fetch(target, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: `http://localhost:${evil.address().port}`, Cookie: `nrp_consent_csrf=${csrf}` },
        body: new URLSearchParams({ purpose: "cloud-analytics", give: "0", csrf }).toString(),
        redirect: "manual",
      });
      assert.equal(forged.status, 403);
      assert.deepEqual(await readings(), { allowed: true });
    } finally {
      await context.close();
      evil.close();
    }
  });

  it("rate-limits requests per token, and a desktop screenshot", async () => {
    const wrong = `/api/privacy/consent/${"x".repeat(43)}`;
    const statuses = [];
    for (let i = 0; i < 40; i++) statuses.push((await fetch(origin() + wrong)).status);
    assert.ok(statuses.includes(429), "a burst on one token is slowed down");
    assert.equal(statuses[0], 404);
    const { context, page, errors } = await open({ width: 1280, height: 900 });
    await page.goto(origin() + links.alice);
    await screenshot(page, "consent-page-desktop");
    assert.deepEqual(errors, []);
    await context.close();
  });

  it("once the page is switched off, its path belongs to the flows again: an http in node there answers, and old links are gone", async () => {
    await deploy(rt, [
      { id: "t", type: "tab", label: "consent page" },
      { id: "store", type: "privacy-consent-store", name: "Flat 3", backend: "file", file: "", purposes: PURPOSES, page: false, pagePath: "/privacy/consent", pageBase: "", retiredKeys: [] },
      { id: "in", type: "http in", z: "t", url: "/privacy/consent", method: "get", wires: [["say"]] },
      { id: "say", type: "change", z: "t", rules: [{ t: "set", p: "payload", pt: "msg", to: "the flow's own page", tot: "str" }], wires: [["out"]] },
      { id: "out", type: "http response", z: "t", statusCode: "", headers: {} },
    ]);
    // The deploy answers before the flows have started: ask until the http in node is there.
    const own = await waitFor(async () => {
      const r = await fetch(`${origin()}/api/privacy/consent`);
      return r.status === 200 ? r.text() : undefined;
    }, { what: "the flow's http in node to answer on the page's old path" });
    assert.equal(own, "the flow's own page");
    const old = await fetch(origin() + links.alice);
    assert.equal(old.status, 404, "a link of the page that is off opens nothing");
    assert.ok(!(await old.text()).includes("Flat 3"));
  });
});
