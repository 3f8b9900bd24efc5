"use strict";
const assert = require("node:assert/strict");
const path = require("node:path");
const { startRuntime, deploy, inject, waitFor, readJsonLines, fileSink, tempDir } = require("../helpers/runtime");

const EXAMPLES = path.join(__dirname, "..", "..", "examples");
/** The consent panel's secret, given to the runtime as Node-RED users would: an environment variable. */
const PANEL_TOKEN = "test-panel-token-7f3a9c2e41d8b605";
const BEARER = { Authorization: `Bearer ${PANEL_TOKEN}` };
const load = (name) => JSON.parse(JSON.stringify(require(path.join(EXAMPLES, `${name}.json`))));

/** Replaces output nodes (debug, http request) by file sinks; returns the flows and the sink files. */
function withSinks(flows, ids, dir) {
  const files = {};
  let out = flows.filter((n) => !ids.includes(n.id));
  for (const id of ids) {
    const z = flows.find((n) => n.id === id).z;
    const sink = fileSink(`${id}-sink`, z, dir);
    files[id] = sink.file;
    out = out.map((n) => (n.wires ? { ...n, wires: n.wires.map((port) => port.map((w) => (w === id ? sink.input : w))) } : n));
    out.push(...sink.nodes);
  }
  return { flows: out, files };
}

describe("consent examples (deployed in a real runtime)", function () {
  this.timeout(60000);
  let rt;
  before(async () => {
    rt = await startRuntime({ env: { CONSENT_PANEL_TOKEN: PANEL_TOKEN } });
  });
  after(async () => rt && rt.stop());

  it("consent-gate-cloud-upload: blocked without consent, uploaded after, blocked again after withdrawal", async () => {
    const dir = tempDir();
    const { flows, files } = withSinks(load("consent-gate-cloud-upload"), ["ex1-upload", "ex1-blocked", "ex1-receipt"], dir);
    assert.ok(flows.some((n) => n.type === "comment"));
    await deploy(rt, flows);
    await inject(rt, "ex1-reading");
    const blocked = await waitFor(() => readJsonLines(files["ex1-blocked"])[0], { what: "a blocked reading" });
    assert.deepEqual(blocked.privacy.blocked, { reason: "no-consent", subject: "alice", purpose: "cloud-upload" });
    await inject(rt, "ex1-grant");
    const receipt = await waitFor(() => readJsonLines(files["ex1-receipt"])[0], { what: "alice's receipt" });
    assert.equal(receipt.payload.status, "granted");
    assert.equal(receipt.payload.method, "inject button");
    await inject(rt, "ex1-reading");
    const uploaded = await waitFor(() => readJsonLines(files["ex1-upload"])[0], { what: "an uploaded reading" });
    assert.deepEqual(uploaded.payload, { temperature: 21.5, humidity: 40 });
    await inject(rt, "ex1-withdraw");
    await waitFor(() => readJsonLines(files["ex1-receipt"]).length === 2, { what: "the withdrawal receipt" });
    await inject(rt, "ex1-reading");
    const again = await waitFor(() => readJsonLines(files["ex1-blocked"])[1], { what: "a reading blocked again" });
    assert.equal(again.privacy.blocked.reason, "withdrawn");
    assert.equal(readJsonLines(files["ex1-upload"]).length, 1);
  });

  it("consent-panel-http: the page, grant and withdraw over HTTP with the token, the query, and 400 for a bad request", async () => {
    const dir = tempDir();
    const { flows, files } = withSinks(load("consent-panel-http"), ["ex2-debug"], dir);
    await deploy(rt, flows);
    const base = new URL("api/", rt.url);
    const page = await waitFor(async () => {
      const res = await fetch(new URL("consent-panel", base), { headers: BEARER });
      return res.ok && res.text();
    }, { what: "the panel page" });
    assert.match(page, /action="consent\/grant"/);
    const form = new URLSearchParams([["subject", "dana"], ["purpose", "cloud-backup"], ["purpose", "energy-stats"]]);
    let res = await fetch(new URL("consent/grant", base), { method: "POST", body: form, headers: BEARER });
    assert.equal(res.status, 200);
    const receipts = await res.json();
    assert.deepEqual(receipts.map((r) => [r.subject, r.purpose, r.status, r.method]), [["dana", "cloud-backup", "granted", "consent panel"], ["dana", "energy-stats", "granted", "consent panel"]]);
    res = await fetch(new URL("consent/dana", base), { headers: BEARER });
    let state = await res.json();
    assert.equal(state.purposes["cloud-backup"].state, "granted");
    res = await fetch(new URL("consent/withdraw", base), { method: "POST", headers: { "Content-Type": "application/json", ...BEARER }, body: JSON.stringify({ subject: "dana" }) });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).length, 2);
    state = await (await fetch(new URL("consent/dana", base), { headers: BEARER })).json();
    assert.equal(state.purposes["energy-stats"].state, "withdrawn");
    res = await fetch(new URL("consent/grant", base), { method: "POST", headers: { "Content-Type": "application/json", ...BEARER }, body: JSON.stringify({ subject: "dana", purpose: "marketing" }) });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, /unknown purpose "marketing"/);
    await inject(rt, "ex2-grant-bob");
    const bob = await waitFor(() => readJsonLines(files["ex2-debug"])[0], { what: "bob's receipts" });
    assert.equal(bob.payload.length, 2);
    assert.ok(bob.payload.every((r) => r.expiresAt !== null));
  });

  it("consent-panel-http: refuses every request without the token (401), takes it as a browser's Basic password, and is closed (403) without a configured token", async () => {
    const dir = tempDir();
    const { flows } = withSinks(load("consent-panel-http"), ["ex2-debug"], dir);
    await deploy(rt, flows);
    const base = new URL("api/", rt.url);
    await waitFor(async () => (await fetch(new URL("consent-panel", base), { headers: BEARER })).ok, { what: "the panel" });
    const json = { "Content-Type": "application/json" };
    const basic = (user, password) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
    const attempts = [
      ["the page, no token", "consent-panel", {}],
      ["a grant, no token", "consent/grant", { method: "POST", headers: json, body: JSON.stringify({ subject: "mallory", purpose: "cloud-backup" }) }],
      ["a grant, wrong bearer token", "consent/grant", { method: "POST", headers: { ...json, Authorization: "Bearer not-the-token-0000000000" }, body: JSON.stringify({ subject: "mallory", purpose: "cloud-backup" }) }],
      ["a grant, the token with one character more", "consent/grant", { method: "POST", headers: { ...json, Authorization: `Bearer ${PANEL_TOKEN}x` }, body: JSON.stringify({ subject: "mallory", purpose: "cloud-backup" }) }],
      ["a grant, a prefix of the token", "consent/grant", { method: "POST", headers: { ...json, Authorization: `Bearer ${PANEL_TOKEN.slice(0, 8)}` }, body: JSON.stringify({ subject: "mallory", purpose: "cloud-backup" }) }],
      ["a withdrawal, wrong Basic password", "consent/withdraw", { method: "POST", headers: { ...json, ...basic("dana", "guess") }, body: JSON.stringify({ subject: "dana" }) }],
      ["a query, no token", "consent/dana", {}],
      ["a query, the token in the query string", `consent/dana?token=${PANEL_TOKEN}`, {}],
    ];
    for (const [what, route, init] of attempts) {
      const res = await fetch(new URL(route, base), init);
      assert.equal(res.status, 401, what);
      assert.match(res.headers.get("www-authenticate") || "", /^Basic realm="consent panel"/, what);
      const body = await res.json();
      assert.deepEqual(body, { error: "the consent panel needs its token" }, what);
    }
    // Nothing was granted by the refused requests; the right Basic password works.
    const res = await fetch(new URL("consent/mallory", base), { headers: basic("anyone", PANEL_TOKEN) });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).purposes["cloud-backup"].state, "no-consent");
    const page = await fetch(new URL("consent-panel", base), { headers: basic("", PANEL_TOKEN) });
    assert.equal(page.status, 200);

    // No usable token configured (here: the tab's own variable, too short): closed to all.
    const closed = flows.map((n) => (n.id === "ex2-tab" ? { ...n, env: [{ name: "CONSENT_PANEL_TOKEN", value: "short", type: "str" }] } : n));
    await deploy(rt, closed);
    const refused = await waitFor(async () => {
      const r = await fetch(new URL("consent/dana", base), { headers: { Authorization: "Bearer short" } });
      return r.status === 403 && r;
    }, { what: "403 from the closed panel" });
    assert.match((await refused.json()).error, /closed until CONSENT_PANEL_TOKEN is set/);
    const withToken = await fetch(new URL("consent/dana", base), { headers: BEARER });
    assert.equal(withToken.status, 403, "closed means closed, whatever token is sent");
  });

  it("consent-export-receipts: the export lists carol's three receipts and her current state", async () => {
    const dir = tempDir();
    const { flows, files } = withSinks(load("consent-export-receipts"), ["ex3-debug"], dir);
    await deploy(rt, flows);
    await inject(rt, "ex3-grant");
    await new Promise((r) => setTimeout(r, 300));
    await inject(rt, "ex3-withdraw");
    await new Promise((r) => setTimeout(r, 300));
    await inject(rt, "ex3-export");
    const out = await waitFor(() => readJsonLines(files["ex3-debug"])[0], { what: "the export" });
    assert.equal(readJsonLines(files["ex3-debug"]).length, 1, "only the export reaches the debug node");
    assert.equal(out.payload.subject, "carol");
    assert.deepEqual(out.payload.receipts.map((r) => `${r.purpose}:${r.status}`), ["voice-assistant:granted", "presence-stats:granted", "voice-assistant:withdrawn"]);
    assert.equal(out.payload.receipts[0].note, "asked at move-in");
    assert.equal(out.payload.purposes["voice-assistant"].state, "withdrawn");
    assert.equal(out.payload.purposes["presence-stats"].state, "granted");
  });
});
