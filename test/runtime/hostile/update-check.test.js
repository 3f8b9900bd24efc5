"use strict";
/**
 * Hostile inventory messages for privacy-update-check (devices) in a real runtime (see
 * harness.js), against a signed manifest file whose models include prototype names.
 * Items are built from the inventory's grammar ({ deviceId, model, version }) with
 * hostile versions (firmware habits, prerelease runs, 64/65 characters, huge numbers,
 * other digits, control characters), ids and models, extra keys, both realms. A valid
 * inventory gets one report line per device with the status the manifest gives; an
 * invalid one fails whole, naming the item.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const fc = require("fast-check");
const semver = require("semver");
const H = require("./harness");
const { makeSigner, manifestBody, DAY } = require("../../helpers/update-servers");
const { signManifest } = require("../../../dist/update-check/firmware-manifest");

const signer = makeSigner();
const NOW = Date.now();
const MODELS = JSON.parse(
  JSON.stringify({
    "TH-100": { latest: "2.4.1", minimumSecure: "2.3.0", endOfSupport: new Date(NOW + 900 * DAY).toISOString().slice(0, 10) },
    "CAM-7": { latest: "1.9.0", minimumSecure: "1.8.0", endOfSupport: new Date(NOW - 10 * DAY).toISOString().slice(0, 10) },
    constructor: { latest: "3.0.0", minimumSecure: "1.0.0", endOfSupport: null },
    toString: { latest: "1.0.0-beta.2", minimumSecure: "1.0.0-alpha", endOfSupport: null },
  }),
);
H.define(MODELS, "__proto__", { latest: "5.0.0", minimumSecure: "4.0.0", endOfSupport: null });

const nodes = [
  { id: "uDev", type: "privacy-update-check", check: "devices", manifestType: "file", manifest: "manifest.json", publicKeys: signer.publicKey, interval: 0, timeout: 2, maxSize: 1024 },
];

/** The manifest file, signed, in the runtime's user directory. */
function writeManifest(userDir) {
  fs.writeFileSync(path.join(userDir, "manifest.json"), JSON.stringify(signManifest({ ...manifestBody({ version: 3 }), models: MODELS }, signer.key)));
}

// ---------------------------------------------------------------- the inventory's grammar
const versionArb = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.nat(5), fc.nat(12), fc.nat(12)).map((v) => v.join(".")) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom("v", "V", "=", " ", ""), fc.nat(5), fc.nat(9), fc.constantFrom("", ".0", "-rc1", "-beta.2", "+build.7", ".7", "-", " ")).map(([a, b, c, d]) => `${a}${b}.${c}${d}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((n) => `1.2.3-${"a.".repeat(n)}1`) },
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 70 }).map((n) => `2.4.1-${"x".repeat(n - 6)}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "9007199254740991.0.0",
      "9007199254740992.0.0",
      "99999999999999999999.0.0",
      "1.2.3\u0000",
      "١.٢.٣",
      "２.４.１",
      "",
      " ",
      "x",
      "latest",
      "1.2.3.4.5.6",
      "00002.4.1",
      "2.4.1\n",
      "\u202e1.2.3",
      "1e3",
      "-1.0.0",
      "__proto__",
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(2, 2.4, null, true, ["2.4.1"], { major: 2 }) },
);
const modelArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("TH-100", "CAM-7") },
  { weight: 2, arbitrary: fc.constantFrom("constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "th-100", "TH-100 ", "unknown") },
  { weight: 1, arbitrary: fc.constantFrom("", "m".repeat(200), "m".repeat(201), 7, null) },
);
const idArb = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,12}$/) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 7, 1e21, 1.5, "", NaN, Infinity, null, { id: 1 }, "__proto__", "a\u0000b", "😀") },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 10240 }).map((n) => "d".repeat(n)) },
);
const itemArb = fc
  .record({ deviceId: idArb, model: modelArb, version: versionArb, extra: fc.option(fc.constantFrom("__proto__", "constructor", "note"), { freq: 4 }) }, { requiredKeys: ["deviceId", "model", "version"] })
  .map(({ extra, ...item }) => {
    const o = H.toObject(Object.entries(item));
    if (extra) H.define(o, extra, { polluted: true });
    return o;
  });
const inventoryArb = fc.oneof(
  { weight: 6, arbitrary: fc.array(itemArb, { maxLength: 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 1400 }).map((n) => Array.from({ length: n }, (_, i) => ({ deviceId: `d${i}`, model: i % 3 ? "TH-100" : "CAM-7", version: `2.${i % 6}.${i % 3}` }))) },
  { weight: 1, arbitrary: H.leaf },
  { weight: 1, arbitrary: H.tree({ maxDepth: 2 }) },
);

// ---------------------------------------------------------------- the oracle
function toSemver(v) {
  if (typeof v !== "string" || v.length > 64) return null;
  return semver.parse(v, { loose: true }) ?? semver.coerce(v, { includePrerelease: true });
}

/** undefined for a valid item; else why it is refused. */
function invalid(item) {
  if (item === null || typeof item !== "object" || Array.isArray(item) || Buffer.isBuffer(item)) return "must be an object";
  const { deviceId, model, version } = item;
  if (!((typeof deviceId === "string" && deviceId.length > 0) || (typeof deviceId === "number" && Number.isFinite(deviceId)))) return "deviceId";
  if (typeof model !== "string" || model.length === 0 || model.length > 200) return "model";
  if (typeof version !== "string" || !toSemver(version)) return "version";
  return undefined;
}

function expectedStatus(item) {
  if (!Object.prototype.hasOwnProperty.call(MODELS, item.model)) return "unknown-model";
  const m = MODELS[item.model];
  const v = toSemver(item.version);
  if (semver.lt(v, toSemver(m.minimumSecure))) return "security-update-required";
  if (m.endOfSupport !== null && Date.parse(`${m.endOfSupport}T23:59:59.999Z`) < Date.now()) return "end-of-support";
  if (semver.lt(v, toSemver(m.latest))) return "update-available";
  return "up-to-date";
}

describe("hostile messages: privacy-update-check (devices) in a real runtime", function () {
  this.timeout(180000);
  let h;
  before(async () => {
    h = await H.startHostile({ nodes }, { beforeDeploy: writeManifest });
  });
  beforeEach(async () => h.ensureRunning());
  after(async () => h && h.stop());

  it("inventories from the grammar with hostile versions, ids and models: one right line per device, or the message fails whole naming the item", async () => {
    await H.check(
      fc.asyncProperty(inventoryArb, fc.constantFrom("main", "vm"), async (payload, realm) => {
        const msg = { payload, topic: "inventory" };
        const r = await h.send("uDev", msg, { realm });
        const bad = Array.isArray(payload) ? payload.map(invalid).findIndex((x) => x !== undefined) : -2;
        if (bad !== -1) {
          assert.equal(r.outcome, "catch", `refused (${bad === -2 ? "not a list" : `item ${bad}: ${invalid(payload[bad])}`})`);
          assert.deepEqual(r.allOutputs("uDev"), [], "nothing sent");
          assert.deepStrictEqual(H.plain(H.withoutBookkeeping(r.input)), H.plain(H.withoutBookkeeping(msg)), "the failed message is untouched");
          assert.match(r.caught[0].msg.error.message, bad === -2 ? /msg\.payload must be a list/ : new RegExp(`msg\\.payload\\[${bad}\\]`));
          return;
        }
        assert.equal(r.outcome, "done", `failed: ${r.caught[0]?.msg.error?.message}`);
        const [out] = r.outputs("uDev");
        const rep = out.payload;
        assert.equal(rep.ok, true, JSON.stringify(rep.failures));
        assert.equal(rep.kind, "devices");
        assert.equal(rep.devices.length, payload.length);
        rep.devices.forEach((d, i) => {
          const item = payload[i];
          assert.equal(d.deviceId, String(item.deviceId));
          assert.equal(d.model, item.model);
          assert.equal(d.version, item.version);
          assert.equal(d.status, expectedStatus(item), `${JSON.stringify(item.model)} ${JSON.stringify(item.version)}`);
          assert.deepEqual(Object.keys(d).filter((k) => !["deviceId", "model", "version", "status", "latest", "minimumSecure", "endOfSupport", "supportEndsInDays", "releaseNotes"].includes(k)), [], "no other key of the item is echoed");
        });
        assert.equal(rep.summary.devices, payload.length);
        assert.equal(out.topic, "inventory");
        assert.deepEqual(H.strangeValues(out), [], "no object in the report has a prototype made from data");
        const t = out.privacy.trail[out.privacy.trail.length - 1];
        assert.deepEqual({ ...t, id: undefined }, { type: "privacy-update-check", id: undefined, kind: "devices", ok: true, stale: false, failures: 0, checked: payload.length });
      }),
      { numRuns: 150 },
    );
  });

  it("[new finding: the report's copy of a message turns an own \"__proto__\" key into a prototype] keys JSON.parse made stay data in the report message", async () => {
    await H.check(
      fc.asyncProperty(fc.constantFrom("main", "vm"), async (realm) => {
        const msg = { payload: [{ deviceId: "a", model: "TH-100", version: "2.4.1" }], meta: JSON.parse('{"__proto__":{"isAdmin":true},"ok":1}') };
        const r = await h.send("uDev", msg, { realm });
        assert.equal(r.outcome, "done");
        const out = r.outputs("uDev")[0];
        assert.deepEqual(H.strangeValues(out), [], "no object in the output has a prototype made from data");
        assert.equal(Object.prototype.hasOwnProperty.call(out.meta, "__proto__"), true, "the key is still there, as data");
      }),
      { numRuns: 2 },
    );
  });

  it("a msg.privacy that is not an object, or a trail that is not a list, fails the message before the check, untouched", async () => {
    await H.check(
      fc.asyncProperty(fc.constantFrom("x", 1, [], { trail: "x" }, { trail: {} }), fc.constantFrom("main", "vm"), async (privacy, realm) => {
        const msg = { payload: [{ deviceId: "a", model: "TH-100", version: "2.4.1" }], privacy };
        const r = await h.send("uDev", msg, { realm });
        assert.equal(r.outcome, "catch");
        assert.deepEqual(r.allOutputs("uDev"), []);
        assert.deepStrictEqual(H.plain(r.input.payload), H.plain(msg.payload), "the inventory is still in msg.payload");
        assert.match(r.caught[0].msg.error.message, /msg\.privacy/);
      }),
      { numRuns: 10 },
    );
  });

  it("10,001 devices (more than the limit) and 64 KiB of devices: refused or checked, the loop never blocked by a message of at most 64 KiB", async () => {
    const over = Array.from({ length: 10001 }, (_, i) => ({ deviceId: i, model: "m", version: "1" }));
    const r = await h.send("uDev", { payload: over }, { noBlockCheck: true });
    assert.equal(r.outcome, "catch");
    assert.match(r.caught[0].msg.error.message, /more than 10000 devices/);
    const n = Math.floor(65536 / JSON.stringify({ deviceId: "d0000", model: "TH-100", version: "2.3.11" }).length);
    const many = Array.from({ length: n }, (_, i) => ({ deviceId: `d${String(i).padStart(4, "0")}`, model: "TH-100", version: `2.3.${i % 12}` }));
    const ok = await h.send("uDev", { payload: many });
    assert.equal(ok.outcome, "done");
    assert.equal(ok.outputs("uDev")[0].payload.devices.length, n);
  });
});
