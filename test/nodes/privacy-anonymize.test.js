"use strict";
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const helper = require("node-red-node-test-helper");
const fc = require("fast-check");
const anonymizeNode = require("../../dist/nodes/privacy-anonymize.js");
const keyringNode = require("../../dist/nodes/privacy-keyring.js");
const jsonNode = require("@node-red/nodes/core/parsers/70-JSON.js");


helper.init(require.resolve("node-red"));

const key = crypto.randomBytes(32);
const keys = JSON.stringify({ "home-1": key.toString("base64url") });

/** The pseudonym by the documented formula, computed here with node:crypto alone. */
function expectedPseudonym(value, length = 16, prefix = "") {
  const subkey = Buffer.from(crypto.hkdfSync("sha256", key, Buffer.alloc(0), Buffer.from("privacy-pseudonymize"), 32));
  return prefix + crypto.createHmac("sha256", subkey).update(String(value), "utf8").digest("hex").slice(0, length);
}

function flow(nodeDef, withCatch = false) {
  const nodes = [
    { id: "tab", type: "tab" },
    { id: "kr", type: "privacy-keyring", activeKid: "home-1" },
    { id: "an", type: "privacy-anonymize", z: "tab", property: "payload", rules: [], wires: [["out"]], ...nodeDef },
    { id: "out", type: "helper", z: "tab" },
  ];
  if (withCatch) nodes.push({ id: "c1", type: "catch", z: "tab", scope: null, uncaught: false, wires: [["caught"]] }, { id: "caught", type: "helper", z: "tab" });
  return nodes;
}

async function load(nodeDef, withCatch) {
  await helper.load([keyringNode, anonymizeNode], flow(nodeDef, withCatch), { kr: { keys } });
  return helper.getNode("an");
}

/**
 * Sends msg and resolves with what reaches `out` or `caught`. The listeners stay
 * registered for the whole test (a handler that removes itself while Node-RED delivers
 * a message can make the next handler miss it); each call replaces the resolver.
 */
function roundTrip(an, msg, timeout = 2000) {
  const out = helper.getNode("out");
  const caught = helper.getNode("caught");
  if (!out.__wired) {
    out.__wired = true;
    out.on("input", (m) => out.__pending && out.__pending({ sent: m }));
    if (caught) caught.on("input", (m) => out.__pending && out.__pending({ caught: m }));
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), timeout);
    out.__pending = (r) => {
      clearTimeout(timer);
      out.__pending = undefined;
      resolve(r);
    };
    an.receive(msg);
  });
}

describe("privacy-anonymize node", function () {
  afterEach(async function () {
    await helper.unload();
    if (this.cleanup) this.cleanup();
    this.cleanup = undefined;
  });

  it("pseudonymizes, masks, generalizes and scans a record, and records a trail with counts only", async () => {
    const an = await load({
      rules: [
        { path: "deviceId", op: "pseudonymize", prefix: "dev_" },
        { path: "user.email", op: "pseudonymize", length: 24 },
        { path: "user.phone", op: "mask", keepLast: 2 },
        { path: "ip", op: "generalize", kind: "ip" },
        { path: "notes", op: "scan" },
        { path: "ssid", op: "redact" },
      ],
      keyring: "kr",
    });
    const { sent } = await roundTrip(an, {
      payload: { deviceId: "cam-0042", user: { email: "alice@example.com", phone: "+44 20 7946 0958" }, ip: "192.168.1.77", notes: "call bob@example.org", ssid: "HomeNet" },
    });
    assert.equal(sent.payload.deviceId, expectedPseudonym("cam-0042", 16, "dev_"));
    assert.equal(sent.payload.user.email, expectedPseudonym("alice@example.com", 24));
    assert.equal(sent.payload.user.phone, "**************58");
    assert.equal(sent.payload.ip, "192.168.1.0");
    assert.equal(sent.payload.notes, "call <EMAIL>");
    assert.ok(!("ssid" in sent.payload));
    const entry = sent.privacy.trail[0];
    assert.equal(entry.type, "privacy-anonymize");
    assert.equal(entry.id, "an");
    assert.deepEqual(entry.entities, { email: 1 });
    assert.equal(entry.fields.pseudonymize, 2);
    assert.ok(!JSON.stringify(entry).includes("bob@"), "the trail holds no value");
  });

  it("after a core json node, `*.secret` reaches the own __proto__, constructor and prototype keys JSON.parse made", async () => {
    const nodes = flow({ rules: [{ path: "*.secret", op: "replace", value: "gone" }] });
    nodes.push({ id: "js", type: "json", z: "tab", property: "payload", action: "obj", wires: [["an"]] });
    await helper.load([keyringNode, anonymizeNode, jsonNode], nodes, { kr: { keys } });
    const got = new Promise((resolve) => helper.getNode("out").once("input", resolve));
    const text = '{"dev":{"secret":"s-1","t":1},"__proto__":{"secret":"s-2","t":2},"constructor":{"secret":"s-3"},"prototype":{"secret":"s-4"}}';
    helper.getNode("js").receive({ payload: text });
    const sent = await got;
    assert.equal(JSON.stringify(sent.payload), text.replace(/"s-\d"/g, '"gone"'));
    assert.ok(Object.prototype.hasOwnProperty.call(sent.payload, "__proto__"), "the key stays own data");
    assert.equal(Object.getPrototypeOf(sent.payload), Object.prototype);
    assert.equal(sent.privacy.trail[0].fields.replace, 4);
    assert.equal({}.secret, undefined);
    assert.equal(Object.prototype.secret, undefined);
  });

  it("applies rules to each record of an array and reports k-anonymity suppression", async () => {
    const an = await load({
      rules: [{ path: "age", op: "generalize", kind: "range", width: 10 }, { path: "name", op: "redact" }],
      k: 2,
      quasiIdentifiers: ["age"],
      maxSuppression: 1,
    });
    const { sent } = await roundTrip(an, { payload: [{ name: "a", age: 31 }, { name: "b", age: 35 }, { name: "c", age: 52 }] });
    assert.deepEqual(sent.payload, [{ age: "30-39" }, { age: "30-39" }]);
    assert.equal(sent.privacy.trail[0].suppressed, 1);
    assert.equal(sent.privacy.trail[0].records, 3);
  });

  it("a value of the wrong type: done(err), nothing sent, and the property is gone from the message", async () => {
    const an = await load({ rules: [{ path: "age", op: "noise", epsilon: 1 }] }, true);
    const res = await roundTrip(an, { payload: { age: "forty", email: "alice@example.com" } });
    assert.ok(res.caught, "the error reaches the catch node");
    assert.match(res.caught.error.message, /rule 1 \(noise age\): noise expects a finite number, got string/);
    assert.equal(res.caught.payload, undefined, "the original value is not left in place");
    assert.ok(!JSON.stringify(res.caught).includes("alice@"));
  });

  it("a malformed msg.privacy: done(err) before anything changes, and the payload removed", async () => {
    const an = await load({ rules: [{ path: "email", op: "mask" }] }, true);
    const res = await roundTrip(an, { payload: { email: "alice@example.com" }, privacy: "not an object" });
    assert.match(res.caught.error.message, /msg\.privacy must be an object/);
    assert.equal(res.caught.payload, undefined);
  });

  it("a message without the property passes unchanged, with missing: true in the trail", async () => {
    const an = await load({ property: "payload.notes", rules: [{ op: "scan" }] });
    const { sent } = await roundTrip(an, { payload: { t: 21 } });
    assert.deepEqual(sent.payload, { t: 21 });
    assert.equal(sent.privacy.trail[0].missing, true);
  });

  it("onError: redact removes the offending value and sends the rest", async () => {
    const an = await load({ rules: [{ path: "age", op: "noise", epsilon: 1 }, { path: "notes", op: "scan" }], onError: "redact" });
    const { sent } = await roundTrip(an, { payload: { age: "forty", notes: 42, keep: 1 } });
    assert.deepEqual(sent.payload, { keep: 1 });
    assert.equal(sent.privacy.trail[0].redactedOnError, 2);
  });

  for (const [what, def, field] of [
    ["an unknown operator", { rules: [{ path: "a", op: "shred" }] }, /rules\[0\]\.op/],
    ["a misspelled option", { rules: [{ path: "a", op: "mask", keeplast: 2 }] }, /keeplast/],
    ["a negative epsilon", { rules: [{ path: "a", op: "noise", epsilon: -1 }] }, /epsilon/],
    ["pseudonymize without keyring", { rules: [{ path: "a", op: "pseudonymize" }] }, /keyring/],
    ["a path into the prototype", { rules: [{ path: "a.__proto__", op: "redact" }] }, /__proto__/],
    ["k without quasi-identifiers", { k: 3, quasiIdentifiers: [] }, /quasiIdentifiers/],
    ["a wildcard property", { property: "payload.*" }, /property/],
    ["rules that are not a list", { rules: "redact everything" }, /rules/],
  ]) {
    it(`fails closed on ${what}`, async () => {
      const an = await load(def, true);
      const res = await roundTrip(an, { payload: { a: "secret-value" } });
      assert.ok(res.caught, "every message errors");
      assert.match(res.caught.error.message, /invalid config/);
      assert.match(res.caught.error.message, field);
    });
  }

  it("a keyring without keys: done(err) naming the keyring, and the payload removed", async () => {
    await helper.load(
      [keyringNode, anonymizeNode],
      flow({ rules: [{ path: "id", op: "pseudonymize" }], keyring: "kr" }, true),
      { kr: {} },
    );
    const res = await roundTrip(helper.getNode("an"), { payload: { id: "x" } });
    assert.match(res.caught.error.message, /keyring unavailable/);
    assert.equal(res.caught.payload, undefined);
  });

  it("hostile messages never crash the node, never pollute a prototype, and are sent whole or not at all", async function () {
    this.timeout(30000);
    // the budget's file goes to a temporary user directory, not the home directory
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "anon-hostile-"));
    helper.settings({ userDir });
    this.test.ctx.cleanup = () => {
      helper.settings({});
      require("../../dist/encryption/keyring.js").detachGcmUseStore();
      fs.rmSync(userDir, { recursive: true, force: true });
    };
    const an = await load(
      {
        rules: [
          { path: "a", op: "mask" },
          { path: "b", op: "hash" },
          { path: "*.c", op: "generalize", kind: "range" },
          { path: "d", op: "scan" },
          { path: "e", op: "pseudonymize" },
          { path: "f", op: "timePart", part: "week", timeZone: "Europe/Berlin" },
          { path: "g", op: "dateShift" },
          { path: "*.h", op: "bucket", width: 3 },
          { path: "i", op: "geometric", epsilon: 1 },
          { path: "j", op: "randomizedResponse", epsilon: 1 },
          { path: "k", op: "gaussian", epsilon: 1, delta: 1e-5 },
          { path: "l", op: "noise", epsilon: 1, budget: "b" },
        ],
        budgets: [{ name: "b", epsilon: 1000 }],
        keyring: "kr",
      },
      true,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.anything({ withObjectString: true, withNullPrototype: true, withBigInt: true, withDate: true, withTypedArray: true, withSparseArray: true, key: fc.oneof(fc.string(), fc.constantFrom("__proto__", "constructor", "prototype", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l")) }),
        fc.oneof(fc.constant(undefined), fc.string(), fc.integer(), fc.anything()),
        async (payload, topic) => {
          const res = await roundTrip(an, { payload, topic });
          assert.ok(res.sent || res.caught);
          if (res.caught) assert.equal(res.caught.payload, undefined);
          const plain = typeof payload === "object" && payload !== null && !Array.isArray(payload) && !ArrayBuffer.isView(payload);
          if (res.sent && plain && typeof payload.a === "string" && Object.hasOwn(payload, "a")) {
            assert.match(res.sent.payload.a, /^\**$/, "a sent message has every rule applied");
          }
          if (res.sent && plain && typeof payload.e === "string" && Object.hasOwn(payload, "e")) {
            assert.equal(res.sent.payload.e, expectedPseudonym(payload.e));
          }
          assert.equal({}.polluted, undefined);
          assert.equal(Object.prototype.a, undefined);
        },
      ),
      { numRuns: 150, seed: Number(process.env.FC_SEED) || undefined },
    );
  });
});

describe("privacy-anonymize node: dates, budgets, l-diversity", function () {
  let userDir;
  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "anon-node-"));
    helper.settings({ userDir });
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    // the keyring attached its use count file in this user directory: let go of it before it goes
    require("../../dist/encryption/keyring.js").detachGcmUseStore();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("dateShift uses the keyring's privacy-date-shift subkey and the subject from msg.topic", async () => {
    const an = await load({ rules: [{ path: "installed", op: "dateShift", minDays: -30, maxDays: 30 }], keyring: "kr" });
    const { sent } = await roundTrip(an, { topic: "alice", payload: { installed: "2024-03-15" } });
    const subkey = Buffer.from(crypto.hkdfSync("sha256", key, Buffer.alloc(0), Buffer.from("privacy-date-shift"), 32));
    const h = crypto.createHmac("sha256", subkey).update("alice", "utf8").digest().readBigUInt64BE(0);
    let shift = -30 + Number(h % 60n);
    if (shift >= 0) shift++;
    assert.equal(sent.payload.installed, new Date(Date.UTC(2024, 2, 15) + shift * 86400000).toISOString().slice(0, 10));
    assert.equal(sent.privacy.trail[0].fields.dateShift, 1);
  });

  it("dateShift without a keyring fails closed", async () => {
    const an = await load({ rules: [{ path: "d", op: "dateShift" }] }, true);
    const res = await roundTrip(an, { payload: { a: 1 } });
    assert.match(res.caught.error.message, /"keyring" is required by the dateShift rules/);
  });

  it("a spent budget fails the message with 'budget spent for <subject>, resets <time>' in the status, and survives a restart", async () => {
    const def = {
      rules: [{ path: "kwh", op: "geometric", epsilon: 0.5, budget: "energy" }],
      budgets: [{ name: "energy", purpose: "neighbourhood energy project", epsilon: 1, period: "day" }],
    };
    let an = await load(def, true);
    const statuses = [];
    an.on("call:status", (c) => statuses.push(c.args[0]));
    const first = await roundTrip(an, { topic: "flat-3", payload: { kwh: 12 } });
    const entry = first.sent.privacy.trail[0];
    assert.deepEqual(entry.budgets.energy.remaining, { epsilon: 0.5, delta: 0 });
    assert.equal(entry.budgets.energy.purpose, "neighbourhood energy project");
    assert.ok(!JSON.stringify(entry).includes("flat-3"), "the trail names no subject");
    assert.ok((await roundTrip(an, { topic: "flat-3", payload: { kwh: 13 } })).sent);
    const third = await roundTrip(an, { topic: "flat-3", payload: { kwh: 14 } });
    assert.match(third.caught.error.message, /budget "energy" spent for flat-3, resets \d{4}-\d\d-\d\d 00:00 UTC/);
    assert.equal(third.caught.payload, undefined);
    assert.match(statuses[statuses.length - 1].text, /^budget spent for flat-3, resets /);
    assert.ok((await roundTrip(an, { topic: "flat-4", payload: { kwh: 1 } })).sent, "another subject still has its budget");
    const file = path.join(userDir, "privacy-anonymize", "budgets.json");
    assert.ok(fs.existsSync(file));
    assert.ok(!fs.readFileSync(file, "utf8").includes("flat-3"));
    // a restart (the node is loaded again) keeps what was spent
    await helper.unload();
    an = await load(def, true);
    const again = await roundTrip(an, { topic: "flat-3", payload: { kwh: 15 } });
    assert.match(again.caught.error.message, /spent for flat-3/);
  });

  it("a budget under concurrent messages is never overspent, and each sent message's spend is on disk", async () => {
    const an = await load({
      rules: [{ path: "home", op: "randomizedResponse", epsilon: 0.25, budget: "b" }],
      budgets: [{ name: "b", epsilon: 2, onSpent: "drop" }],
    });
    const out = helper.getNode("out");
    const got = [];
    const all = new Promise((resolve) => out.on("input", (m) => got.push(m) === 40 && resolve()));
    for (let i = 0; i < 40; i++) an.receive({ topic: "alice", payload: { home: true } });
    await all;
    assert.equal(got.filter((m) => "home" in m.payload).length, 8, "2 / 0.25 = 8 releases");
    assert.equal(got.reduce((a, m) => a + m.privacy.trail[0].budgets.b.dropped, 0), 32);
    const saved = JSON.parse(fs.readFileSync(path.join(userDir, "privacy-anonymize", "budgets.json"), "utf8"));
    assert.deepEqual(Object.values(saved.budgets.b.spent), [[2e9, 0]]);
  });

  it("a budget is its name: a second node (a copy) spends from the same one, and one defined otherwise is refused", async () => {
    const budget = { name: "energy", purpose: "energy study", epsilon: 1, period: "day" };
    const rule = { path: "kwh", op: "geometric", epsilon: 0.5, budget: "energy" };
    const nodes = [
      ...flow({ rules: [rule], budgets: [budget] }, true),
      { id: "an2", type: "privacy-anonymize", z: "tab", property: "payload", rules: [rule], budgets: [{ ...budget, onSpent: "drop" }], wires: [["out"]] },
    ];
    await helper.load([keyringNode, anonymizeNode], nodes, { kr: { keys } });
    const an = helper.getNode("an");
    const an2 = helper.getNode("an2");
    assert.ok((await roundTrip(an, { topic: "flat-3", payload: { kwh: 12 } })).sent);
    const second = await roundTrip(an2, { topic: "flat-3", payload: { kwh: 12 } });
    assert.deepEqual(second.sent.privacy.trail[0].budgets.energy.remaining, { epsilon: 0, delta: 0 }, "the copy spent the second half");
    const third = await roundTrip(an2, { topic: "flat-3", payload: { kwh: 12 } });
    assert.equal(third.sent.payload.kwh, undefined, "spent: the copy drops the field, as its own onSpent says");
    assert.match((await roundTrip(an, { topic: "flat-3", payload: { kwh: 12 } })).caught.error.message, /budget "energy" spent for flat-3/);
    await helper.unload();

    nodes[nodes.length - 1].budgets = [{ ...budget, epsilon: 5 }];
    await helper.load([keyringNode, anonymizeNode], nodes, { kr: { keys } });
    const refused = await roundTrip(helper.getNode("an2"), { topic: "flat-4", payload: { kwh: 1 } });
    assert.match(refused.caught.error.message, /budget "energy" is defined by another node as epsilon 1, delta 0 per day.*here as epsilon 5/);
    assert.ok((await roundTrip(helper.getNode("an"), { topic: "flat-4", payload: { kwh: 1 } })).sent, "the first keeps working");
  });

  it("an unreadable budget file fails the node closed instead of starting a fresh budget", async () => {
    fs.mkdirSync(path.join(userDir, "privacy-anonymize"), { recursive: true });
    fs.writeFileSync(path.join(userDir, "privacy-anonymize", "budgets.json"), "{ torn");
    const an = await load({ rules: [{ path: "v", op: "noise", epsilon: 1, budget: "b" }], budgets: [{ name: "b", epsilon: 5 }] }, true);
    const res = await roundTrip(an, { topic: "x", payload: { v: 1 } });
    assert.match(res.caught.error.message, /budget file .* is not JSON/);
  });

  it("k-anonymity with l-diversity from the editor's plain fields, with groups and risk in the trail", async () => {
    const an = await load({
      rules: [{ path: "age", op: "generalize", kind: "range", width: 10 }],
      kAnon: "2",
      lDiversity: "2",
      sensitive: "heating",
      quasiIdentifiers: ["age"],
      maxSuppression: 0.5,
    });
    const payload = [{ age: 31, heating: "gas" }, { age: 35, heating: "oil" }, { age: 52, heating: "gas" }, { age: 55, heating: "gas" }];
    const { sent } = await roundTrip(an, { payload });
    assert.deepEqual(sent.payload, [{ age: "30-39", heating: "gas" }, { age: "30-39", heating: "oil" }]);
    const e = sent.privacy.trail[0];
    assert.deepEqual([e.k, e.l, e.groups, e.suppressed, e.risk], [2, 2, 1, 2, 0.5]);
  });

  it("l without k fails closed", async () => {
    const an = await load({ lDiversity: 3, sensitive: "x", quasiIdentifiers: ["a"] }, true);
    const res = await roundTrip(an, { payload: [] });
    assert.match(res.caught.error.message, /invalid config: "kAnonymity.k" is required/);
  });
});
