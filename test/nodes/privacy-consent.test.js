"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const helper = require("node-red-node-test-helper");
const storeNode = require("../../dist/nodes/privacy-consent-store.js");
const managerNode = require("../../dist/nodes/privacy-consent.js");
const gateNode = require("../../dist/nodes/privacy-consent-gate.js");

helper.init(require.resolve("node-red"));
const catchNode = require("@node-red/nodes/core/common/25-catch.js");
const NODES = [storeNode, managerNode, gateNode, catchNode];

const PURPOSES = [{ id: "cloud-upload", description: "send readings to the cloud", policyVersion: "1" }];

function flow({ file, backend = "memory", purposes = PURPOSES, gate = {}, store2 } = {}) {
  const nodes = [
    { id: "t", type: "tab" },
    { id: "store", type: "privacy-consent-store", backend, file: file || "", purposes },
    { id: "mgr", type: "privacy-consent", z: "t", store: "store", method: "test", wires: [["mgrOut"]] },
    { id: "mgrOut", type: "helper", z: "t" },
    { id: "gate", type: "privacy-consent-gate", z: "t", store: "store", purpose: "cloud-upload", subjectProperty: "topic", onBlocked: "output", ...gate, wires: [["pass"], ["blocked"]] },
    { id: "pass", type: "helper", z: "t" },
    { id: "blocked", type: "helper", z: "t" },
    { id: "catcher", type: "catch", z: "t", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "t" },
  ];
  if (store2) nodes.push(...store2);
  return nodes;
}

/** Sends msg into a node; resolves with the first message a helper node receives. */
function next(helperIds, send) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing reached ${helperIds.join(" or ")}`)), 3000);
    const handlers = helperIds.map((id) => {
      const n = helper.getNode(id);
      const h = (msg) => {
        clearTimeout(timer);
        handlers.forEach(([node, fn]) => node.removeListener("input", fn));
        resolve({ id, msg });
      };
      n.on("input", h);
      return [n, h];
    });
    send();
  });
}

const manage = (consent) => next(["mgrOut", "caught"], () => helper.getNode("mgr").receive({ consent }));
const gateIt = (msg) => next(["pass", "blocked", "caught"], () => helper.getNode("gate").receive(msg));

describe("privacy-consent-store / privacy-consent / privacy-consent-gate (test helper)", function () {
  this.timeout(10000);
  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((resolve) => helper.stopServer(resolve));
  });

  it("denies by default, passes after a grant, blocks as withdrawn after a withdrawal", async () => {
    await helper.load(NODES, flow());
    let r = await gateIt({ topic: "alice", payload: 1 });
    assert.equal(r.id, "blocked");
    assert.deepEqual(r.msg.privacy.blocked, { reason: "no-consent", subject: "alice", purpose: "cloud-upload" });
    const g = await manage({ action: "grant", subject: "alice", purpose: "cloud-upload" });
    assert.equal(g.id, "mgrOut");
    assert.equal(g.msg.payload.status, "granted");
    assert.equal(g.msg.payload.method, "test");
    assert.deepEqual(g.msg.privacy.trail, [{ type: "privacy-consent", id: "mgr", action: "grant", receipts: 1 }]);
    r = await gateIt({ topic: "alice", payload: 2 });
    assert.equal(r.id, "pass");
    assert.equal(r.msg.payload, 2);
    assert.deepEqual(r.msg.privacy.trail, [{ type: "privacy-consent-gate", id: "gate", purpose: "cloud-upload", allowed: true }]);
    assert.equal(r.msg.privacy.blocked, undefined);
    await manage({ action: "withdraw", subject: "alice" });
    r = await gateIt({ topic: "alice", payload: 3 });
    assert.equal(r.id, "blocked");
    assert.equal(r.msg.privacy.blocked.reason, "withdrawn");
    assert.equal(r.msg.privacy.trail[0].reason, "withdrawn");
  });

  it("blocks as expired when the store's clock passes the expiry", async () => {
    await helper.load(NODES, flow());
    const clock = { t: Date.parse("2026-03-01T00:00:00Z") };
    helper.getNode("store").consentStore.setClock(() => clock.t);
    const g = await manage({ action: "grant", subject: "alice", purpose: "cloud-upload", ttl: "7d" });
    assert.equal(g.msg.payload.expiresAt, "2026-03-08T00:00:00.000Z");
    assert.equal((await gateIt({ topic: "alice" })).id, "pass");
    clock.t += 7 * 86400e3;
    const r = await gateIt({ topic: "alice" });
    assert.equal(r.id, "blocked");
    assert.equal(r.msg.privacy.blocked.reason, "expired");
  });

  it("blocks as policy-outdated after the purpose's policy version is raised, until granted again (file backend)", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "consent-node-")), "j.jsonl");
    await helper.load(NODES, flow({ backend: "file", file }));
    await manage({ action: "grant", subject: "alice", purpose: "cloud-upload" });
    await helper.unload();
    await helper.load(NODES, flow({ backend: "file", file, purposes: [{ ...PURPOSES[0], policyVersion: "2" }] }));
    let r = await gateIt({ topic: "alice" });
    assert.equal(r.msg.privacy.blocked.reason, "policy-outdated");
    const g = await manage({ action: "grant", subject: "alice", purpose: "cloud-upload" });
    assert.equal(g.msg.payload.policyVersion, "2");
    r = await gateIt({ topic: "alice" });
    assert.equal(r.id, "pass");
  });

  it("reads the subject from any message path, and blocks as no-subject when it is missing", async () => {
    await helper.load(NODES, flow({ gate: { subjectProperty: "payload.deviceId" } }));
    await manage({ action: "grant", subject: "sensor-7", purpose: "cloud-upload" });
    assert.equal((await gateIt({ payload: { deviceId: "sensor-7" } })).id, "pass");
    for (const payload of [{}, { deviceId: "" }, { deviceId: { x: 1 } }, "text", null]) {
      const r = await gateIt({ topic: "sensor-7", payload });
      assert.equal(r.id, "blocked");
      assert.deepEqual(r.msg.privacy.blocked, { reason: "no-subject", subject: null, purpose: "cloud-upload" });
    }
  });

  it("reads subjects through arrays, own properties only, and never from Buffers", async () => {
    await helper.load(NODES, flow({ gate: { subjectProperty: "payload.items[1].owner" } }));
    await manage({ action: "grant", subject: "7", purpose: "cloud-upload" });
    assert.equal((await gateIt({ payload: { items: [{}, { owner: 7 }] } })).id, "pass");
    const cases = [
      { items: [{ owner: 7 }] },
      { items: [{}, Object.create({ owner: 7 })] },
      { items: [{}, { owner: NaN }] },
      { items: Buffer.from("ab") },
      { items: [{}, { owner: Buffer.from("7") }] },
    ];
    for (const payload of cases) {
      const r = await gateIt({ payload });
      assert.equal(r.msg.privacy.blocked.reason, "no-subject", JSON.stringify(payload));
    }
  });

  it("takes the purpose from msg.purpose when configured so, and fails a message without one", async () => {
    await helper.load(NODES, flow({ gate: { purposeFrom: "msg", purpose: "" } }));
    await manage({ action: "grant", subject: "bob", purpose: "cloud-upload" });
    assert.equal((await gateIt({ topic: "bob", purpose: "cloud-upload" })).id, "pass");
    const other = await gateIt({ topic: "bob", purpose: "marketing" });
    assert.equal(other.msg.privacy.blocked.reason, "no-consent");
    const r = await gateIt({ topic: "bob" });
    assert.equal(r.id, "caught");
    assert.match(r.msg.error.message, /msg\.purpose/);
  });

  it("normalises subject and purpose as the store does: granted as \" spaced \", passed as \" spaced \" and \"spaced\"", async () => {
    await helper.load(NODES, flow({ gate: { purposeFrom: "msg", purpose: "" } }));
    const g = await manage({ action: "grant", subject: " spaced ", purpose: " cloud-upload " });
    assert.equal(g.msg.payload.subject, "spaced");
    for (const topic of [" spaced ", "spaced", "\tspaced\n"]) {
      const r = await gateIt({ topic, purpose: " cloud-upload " });
      assert.equal(r.id, "pass", JSON.stringify(topic));
    }
    await manage({ action: "withdraw", subject: "spaced " });
    const r = await gateIt({ topic: " spaced", purpose: "cloud-upload" });
    assert.deepEqual(r.msg.privacy.blocked, { reason: "withdrawn", subject: "spaced", purpose: "cloud-upload" });
  });

  it("fails a message whose subject or purpose the store could never hold, naming the field", async () => {
    await helper.load(NODES, flow({ gate: { purposeFrom: "msg", purpose: "", subjectProperty: "payload.owner" } }));
    const cases = [
      [{ payload: { owner: "a\u0000b" }, purpose: "cloud-upload" }, /msg\.payload\.owner \(the subject\) must not contain control characters/],
      [{ payload: { owner: "x".repeat(513) }, purpose: "cloud-upload" }, /msg\.payload\.owner \(the subject\) must be at most 512 characters/],
      [{ payload: { owner: 2 ** 60 }, purpose: "cloud-upload" }, /msg\.payload\.owner \(the subject\) must lie between/],
      [{ payload: { owner: "a" }, purpose: "cloud\u001bupload" }, /msg\.purpose must not contain control characters/],
      [{ payload: { owner: "a" }, purpose: "   " }, /msg\.purpose must be a non-empty string/],
    ];
    for (const [msg, re] of cases) {
      const r = await gateIt(msg);
      assert.equal(r.id, "caught", JSON.stringify(msg));
      assert.match(r.msg.error.message, re);
    }
    for (const owner of ["", "   ", undefined]) {
      const r = await gateIt({ payload: { owner }, purpose: "cloud-upload" });
      assert.equal(r.msg.privacy.blocked.reason, "no-subject");
    }
  });

  it("answers a ttl or expiry out of range with a validation error, not a RangeError", async () => {
    await helper.load(NODES, flow());
    for (const [extra, re] of [
      [{ ttl: "99999999999999w" }, /msg\.consent\.ttl must be at most 100 years/],
      [{ expiresAt: 1e20 }, /msg\.consent\.expiresAt must be a date/],
      [{ expiresAt: "2999-01-01T00:00:00Z" }, /msg\.consent\.expiresAt .* is more than 100 years ahead/],
    ]) {
      const r = await manage({ action: "grant", subject: "a", purpose: "cloud-upload", ...extra });
      assert.equal(r.id, "caught", JSON.stringify(extra));
      assert.match(r.msg.error.message, re);
    }
    assert.equal(helper.getNode("store").consentStore.index.receiptCount, 0);
  });

  it("drops blocked messages when onBlocked is drop", async () => {
    await helper.load(NODES, flow({ gate: { onBlocked: "drop" } }));
    await assert.rejects(gateIt({ topic: "nobody" }), /nothing reached/);
  });

  it("shows passed and blocked counts", async () => {
    await helper.load(NODES, flow());
    const gate = helper.getNode("gate");
    const seen = [];
    gate.status = (s) => seen.push(s);
    await manage({ action: "grant", subject: "a", purpose: "cloud-upload" });
    await gateIt({ topic: "a" });
    await gateIt({ topic: "b" });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(seen[seen.length - 1].text, "1 passed, 1 blocked");
  });

  it("answers a malformed command with an error naming the problem, and changes nothing", async () => {
    await helper.load(NODES, flow());
    const cases = [
      [{ action: "approve", subject: "a" }, /msg\.consent\.action must be one of/],
      [{ action: "grant", purpose: "cloud-upload" }, /msg\.consent\.subject is required/],
      [{ action: "grant", subject: "a", purpose: "marketing" }, /unknown purpose "marketing"/],
      [{ action: "grant", subject: "a", purpose: "cloud-upload", expiresAt: "2001-01-01T00:00:00Z" }, /not in the future/],
      [{ action: "grant", subject: ["a"], purpose: "cloud-upload" }, /msg\.consent\.subject/],
      [undefined, /msg\.consent is required/],
    ];
    for (const [consent, re] of cases) {
      const r = await manage(consent);
      assert.equal(r.id, "caught", JSON.stringify(consent));
      assert.match(r.msg.error.message, re);
    }
    const r = await next(["mgrOut", "caught"], () => helper.getNode("mgr").receive({ privacy: "bad", consent: { action: "grant", subject: "a", purpose: "cloud-upload" } }));
    assert.equal(r.id, "caught");
    assert.equal(helper.getNode("store").consentStore.index.receiptCount, 0);
    assert.equal((await gateIt({ topic: "a" })).msg.privacy.blocked.reason, "no-consent");
  });

  it("answers query, list and export", async () => {
    await helper.load(NODES, flow());
    const g = await manage({ action: "grant", subject: "a", purpose: "cloud-upload", note: "said yes at the door" });
    const q = await manage({ action: "query", subject: "a", purpose: "cloud-upload" });
    assert.equal(q.msg.payload.state, "granted");
    const l = await manage({ action: "list" });
    assert.deepEqual(l.msg.payload.subjects, [{ subject: "a", purposes: { "cloud-upload": "granted" } }]);
    const e = await manage({ action: "export", subject: "a" });
    assert.equal(e.msg.payload.receipts[0].receiptId, g.msg.payload.receiptId);
    assert.equal(e.msg.payload.receipts[0].note, "said yes at the door");
  });

  it("a second store on the same journal is unavailable: its gate blocks with store-unavailable, its manager errors", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "consent-node-")), "j.jsonl");
    const store2 = [
      { id: "store2", type: "privacy-consent-store", backend: "file", file, purposes: PURPOSES },
      { id: "gate2", type: "privacy-consent-gate", z: "t", store: "store2", purpose: "cloud-upload", wires: [["pass"], ["blocked"]] },
      { id: "mgr2", type: "privacy-consent", z: "t", store: "store2", wires: [["mgrOut"]] },
    ];
    await helper.load(NODES, flow({ backend: "file", file, store2 }));
    const stores = [helper.getNode("store"), helper.getNode("store2")];
    const broken = stores.filter((s) => s.consentStore.unavailable);
    assert.equal(broken.length, 1, "exactly one of the two stores gets the journal");
    const brokenGate = broken[0].id === "store2" ? "gate2" : "gate";
    const brokenMgr = broken[0].id === "store2" ? "mgr2" : "mgr";
    const r = await next(["pass", "blocked"], () => helper.getNode(brokenGate).receive({ topic: "a" }));
    assert.equal(r.msg.privacy.blocked.reason, "store-unavailable");
    const m = await next(["mgrOut", "caught"], () => helper.getNode(brokenMgr).receive({ consent: { action: "list" } }));
    assert.equal(m.id, "caught");
    assert.match(m.msg.error.message, /already open/);
  });

  /** What the gate should do with a subject value, written out independently of readId. */
  function gateOutcome(value) {
    let text;
    if (typeof value === "string") text = value.trim();
    else if (typeof value === "number" && Number.isFinite(value)) {
      if (Math.abs(value) > Number.MAX_SAFE_INTEGER) return "caught";
      text = String(value);
    } else return "blocked"; // no-subject
    if (text === "") return "blocked";
    // eslint-disable-next-line no-control-regex -- the characters a subject may not hold
    if (text.length > 512 || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(text) || !text.isWellFormed()) return "caught";
    return text === "dev-1" ? "pass" : "blocked";
  }

  it("a store pointed at a file that is not a journal (flows.json): refused, red, gates block, the file untouched", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consent-node-"));
    const file = path.join(dir, "flows.json");
    const flows = JSON.stringify([{ id: "t", type: "tab", label: "Flow 1" }], null, 4);
    fs.writeFileSync(file, flows);
    await helper.load(NODES, flow({ backend: "file", file, store2: [] }));
    const store = helper.getNode("store");
    assert.match(store.consentStoreError, /flows\.json is not a consent journal/);
    const r = await gateIt({ topic: "a" });
    assert.equal(r.msg.privacy.blocked.reason, "store-unavailable");
    const m = await manage({ action: "grant", subject: "a", purpose: "cloud-upload" });
    assert.equal(m.id, "caught");
    assert.match(m.msg.error.message, /not a consent journal/);
    await helper.unload();
    assert.equal(fs.readFileSync(file, "utf8"), flows);
    assert.deepEqual(fs.readdirSync(dir), ["flows.json"]);
  });

  it("a journal replaced while running (sed -i): the withdrawal errors, the gate blocks with store-unavailable, statuses turn red", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "consent-node-")), "j.jsonl");
    await helper.load(NODES, flow({ backend: "file", file }));
    const statuses = { store: [], gate: [], mgr: [] };
    for (const id of Object.keys(statuses)) {
      // Spied on, not replaced: a config node's status goes through Node-RED as it is.
      const n = helper.getNode(id);
      const real = n.status.bind(n);
      n.status = (st) => {
        statuses[id].push(st);
        return real(st);
      };
    }
    const errors = [];
    helper.getNode("store").error = (e) => errors.push(String(e));
    await manage({ action: "grant", subject: "alice", purpose: "cloud-upload" });
    assert.equal((await gateIt({ topic: "alice" })).id, "pass");
    fs.writeFileSync(`${file}.new`, fs.readFileSync(file));
    fs.renameSync(`${file}.new`, file);
    const w = await manage({ action: "withdraw", subject: "alice" });
    assert.equal(w.id, "caught", "the manager calls done(err): the withdrawal is not acknowledged");
    assert.match(w.msg.error.message, /was replaced while the store had it open/);
    const r = await gateIt({ topic: "alice" });
    assert.equal(r.id, "blocked");
    assert.equal(r.msg.privacy.blocked.reason, "store-unavailable");
    assert.deepEqual(statuses.store.at(-1), { fill: "red", shape: "ring", text: "journal replaced: unavailable" });
    assert.deepEqual(statuses.gate.find((st) => /journal replaced/.test(st.text)), { fill: "red", shape: "ring", text: "journal replaced: store unavailable" });
    assert.ok(statuses.mgr.some((st) => st.fill === "red"));
    assert.ok(errors.some((e) => /consent store unavailable: consent journal .* was replaced/.test(e)), errors.join("\n"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(statuses.gate.at(-1).fill, "red", "the gate's counts do not paint it green again");
  });

  it("property: hostile messages get exactly one outcome each, never pollute, never change the store wrongly", async function () {
    this.timeout(60000);
    const fc = require("fast-check");
    await helper.load(NODES, flow({ gate: { subjectProperty: "payload.deviceId" } }));
    await manage({ action: "grant", subject: "dev-1", purpose: "cloud-upload" });
    const store = helper.getNode("store").consentStore;
    const hostile = fc.oneof(
      fc.anything(),
      fc.record({ deviceId: fc.oneof(fc.constant("dev-1"), fc.constant(" dev-1\t"), fc.string({ unit: "binary", maxLength: 8 }), fc.anything()), ["__proto__"]: fc.anything(), constructor: fc.anything() }, { requiredKeys: [] }),
    );
    await fc.assert(
      fc.asyncProperty(hostile, fc.option(fc.anything(), { nil: undefined }), fc.anything(), async (payload, privacy, consent) => {
        const msg = { payload, topic: "dev-1" };
        if (privacy !== undefined) msg.privacy = privacy;
        const r = await gateIt(msg);
        const deviceId = payload && typeof payload === "object" && Object.prototype.hasOwnProperty.call(payload, "deviceId") ? payload.deviceId : undefined;
        const privacyOk = privacy === undefined || privacy === null || (typeof privacy === "object" && !Array.isArray(privacy) && Object.getPrototypeOf(privacy) === Object.prototype && (privacy.trail === undefined || privacy.trail === null || Array.isArray(privacy.trail)));
        if (!privacyOk) assert.equal(r.id, "caught");
        else assert.equal(r.id, gateOutcome(deviceId));
        const before = store.index.receiptCount;
        const m = await manage(consent);
        if (m.id === "caught") assert.equal(store.index.receiptCount, before, "a refused command changed nothing");
        assert.equal({}.polluted, undefined);
        assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "deviceId"), false);
      }),
      { numRuns: 150 },
    );
  });

  it("fails closed with a bad config", async () => {
    await helper.load(NODES, flow({ gate: { subjectProperty: "payload.__proto__" } }));
    const r = await gateIt({ topic: "a" });
    assert.equal(r.id, "caught");
    assert.match(r.msg.error.message, /subjectProperty/);
  });
});
