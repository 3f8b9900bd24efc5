"use strict";
/**
 * Hostile messages for privacy-minimize in a real runtime (see harness.js): payloads
 * built along the rule paths (keys, [n], *, quoted keys) with hostile keys beside them
 * and under `*` (prototype names as JSON.parse makes them), values of the wrong type for
 * each transform, huge and special numbers, deep and long values, both realms, and
 * transport metadata; rules generated from the path grammar; aggregation fed hostile
 * readings and keys. An oracle says what remove and keep mode must leave.
 */
const assert = require("node:assert/strict");
const fc = require("fast-check");
const H = require("./harness");

const REMOVE_RULES = [
  { path: "gps", op: "remove" },
  { path: "*.mac", op: "remove" },
  { path: "items[*].owner", op: "remove" },
  { path: '["odd key"]', op: "remove" },
  { path: "temp", op: "round", decimals: 1 },
  { path: "note", op: "cap", max: 10 },
  {
    path: "level",
    op: "bucket",
    buckets: [
      { below: 10, label: "low" },
      { below: 20, label: "mid" },
    ],
    above: "high",
  },
  { path: "pos", op: "coordinates", method: "geohash", precision: 5 },
];
const KEEP_RULES = [
  { path: "device.id" },
  { path: "readings[*].value" },
  { path: "sensors.*.t" },
  { path: "temp", op: "round", decimals: 0 },
];

const nodes = [
  {
    id: "mRemove",
    type: "privacy-minimize",
    mode: "remove",
    property: "payload",
    rules: REMOVE_RULES,
    onTypeMismatch: "error",
    stripMetadata: true,
  },
  {
    id: "mRemoveDrop",
    type: "privacy-minimize",
    mode: "remove",
    property: "payload",
    rules: REMOVE_RULES,
    onTypeMismatch: "drop-field",
    stripMetadata: true,
  },
  {
    id: "mKeep",
    type: "privacy-minimize",
    mode: "keep",
    property: "payload",
    rules: KEEP_RULES,
    onTypeMismatch: "error",
    nonObject: "error",
    stripMetadata: true,
  },
  {
    id: "mKeepPass",
    type: "privacy-minimize",
    mode: "keep",
    property: "payload",
    rules: KEEP_RULES,
    onTypeMismatch: "drop-field",
    nonObject: "pass",
    stripMetadata: false,
  },
  {
    id: "mAgg",
    type: "privacy-minimize",
    mode: "remove",
    property: "payload",
    rules: [{ path: "owner", op: "remove" }],
    aggregate: true,
    windowSize: 60,
    windowUnit: "min",
    aggregateKey: "topic",
    aggregateFields: ["temp", "readings[0]"],
    maxKeys: 20,
    onTypeMismatch: "drop-field",
  },
];

const ALWAYS_KEPT = ["_msgid", "topic", "privacy", "_linkSource", "payload"];
const seg = (text) => H.parseSegments(text);

// ---------------------------------------------------------------- oracles
const isContainer = (v) =>
  v !== null && typeof v === "object" && !Buffer.isBuffer(v) && !(v instanceof Date) && !(v instanceof H.Strange);

/**
 * A deep copy in which every own key is a plain data key. Keys named `__proto__`,
 * `constructor` or `prototype` (JSON.parse makes them) are data like any other: the rules
 * remove, keep and transform them, and whatever no rule names stays, as a plain key
 * (never a prototype: H.plain and deepStrictEqual compare own keys and prototypes).
 */
function copyData(v) {
  if (!isContainer(v)) return v;
  if (Array.isArray(v)) return v.map(copyData);
  const o = {};
  for (const k of Object.keys(v)) H.define(o, k, copyData(v[k]));
  return o;
}

const { removeAt, setAt } = H;

/** Whether a transform takes a value (else: a type mismatch), and whether its output is right. */
const TRANSFORMS = {
  round: {
    takes: (v) => typeof v === "number" && Number.isFinite(v),
    right: (o, v, r) =>
      typeof o === "number" && Number.isFinite(o) && Math.abs(o - v) <= 0.5 * 10 ** -r.decimals + Math.abs(v) * 1e-12,
  },
  cap: {
    takes: (v) => typeof v === "string",
    right: (o, v, r) =>
      typeof o === "string" && v.startsWith(o) && o.length <= r.max && o.length >= Math.min(v.length, r.max) - 1,
  },
  bucket: {
    takes: (v) => typeof v === "number" && Number.isFinite(v),
    right: (o, v) => o === (v < 10 ? "low" : v < 20 ? "mid" : "high"),
  },
  coordinates: {
    takes: (v) => {
      if (Array.isArray(v))
        return (
          v.length >= 2 &&
          Number.isFinite(v[0]) &&
          Number.isFinite(v[1]) &&
          Math.abs(v[1]) <= 90 &&
          Math.abs(v[0]) <= 180
        );
      if (!isContainer(v)) return false;
      const la = ["lat", "latitude"].find(
        (k) => Object.prototype.hasOwnProperty.call(v, k) && typeof v[k] === "number" && Number.isFinite(v[k]),
      );
      const lo = ["lon", "lng", "long", "longitude"].find(
        (k) => Object.prototype.hasOwnProperty.call(v, k) && typeof v[k] === "number" && Number.isFinite(v[k]),
      );
      return la !== undefined && lo !== undefined && Math.abs(v[la]) <= 90 && Math.abs(v[lo]) <= 180;
    },
    right: (o) => typeof o === "string" && /^[0-9b-hjkmnp-z]{5}$/.test(o),
  },
};

/**
 * What remove mode must send for `payload`, given the node's actual output (whose
 * transformed values are checked, then taken): { expected } or { mismatch: path }.
 */
function expectRemoveMode(payload, rules, out, dropOnMismatch) {
  const exp = copyData(payload);
  if (!isContainer(exp)) return { expected: exp };
  // Every remove rule names positions in the message as it came in: find them all first,
  // then remove from the last array index and the deepest key up, so that removing one
  // element never shifts another rule's target (remove [0] and [1] of [0, null] is []).
  const found = new Map();
  for (const r of rules.filter((x) => x.op === "remove")) {
    for (const keys of H.oracleMatches(exp, seg(r.path))) found.set(JSON.stringify(keys), keys);
  }
  const later = (a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] === b[i]) continue;
      if (typeof a[i] === "number" && typeof b[i] === "number") return b[i] - a[i];
      return String(b[i]) < String(a[i]) ? -1 : 1;
    }
    return b.length - a.length;
  };
  for (const keys of [...found.values()].sort(later)) removeAt(exp, keys);
  const transforms = rules.filter((x) => x.op !== "remove");
  if (!dropOnMismatch) {
    for (const r of transforms) {
      for (const keys of H.oracleMatches(exp, seg(r.path)))
        if (!TRANSFORMS[r.op].takes(H.at(exp, keys))) return { mismatch: `${r.op} ${r.path}` };
    }
  }
  for (const r of transforms) {
    for (const keys of H.oracleMatches(exp, seg(r.path))) {
      const v = H.at(exp, keys);
      const t = TRANSFORMS[r.op];
      if (!t.takes(v)) {
        removeAt(exp, keys);
        continue;
      }
      const o = out === undefined ? H.absent : H.at(out, keys);
      assert.ok(
        t.right(o, v, r),
        `${r.op} ${r.path}: ${H.shorten(fc.stringify(v), 80)} became ${H.shorten(fc.stringify(o), 80)}`,
      );
      setAt(exp, keys, o);
    }
  }
  return { expected: exp };
}

/**
 * What keep mode must send: the values the rules reach, whole (keys named `__proto__`
 * inside them too, as data), in containers that keep only them (arrays reached through
 * `*` close up); a container left empty goes.
 */
const DROP = Symbol("drop");
function expectKeepMode(payload, rules, out) {
  let mismatch;
  const walk = (v, active, keys) => {
    const ending = active.filter((a) => a.rest.length === 0);
    if (ending.length > 0) {
      const t = ending.map((a) => a.rule).find((r) => r.op && r.op !== "keep");
      const whole = copyData(v);
      if (!t) return whole;
      if (!TRANSFORMS[t.op].takes(v)) {
        mismatch = mismatch ?? `${t.op} ${t.path}`;
        return DROP;
      }
      const o = out === undefined ? H.absent : H.at(out, keys);
      assert.ok(
        TRANSFORMS[t.op].right(o, v, t),
        `${t.op} ${t.path}: ${H.shorten(fc.stringify(v), 80)} became ${H.shorten(fc.stringify(o), 80)}`,
      );
      return o;
    }
    if (!isContainer(v)) return DROP;
    // as the shared walker (and H.oracleMatches): an array element is reached by `*` or an
    // index only, never by a quoted "0"; an object key by `*`, its name, or an index of that text
    const reaches = (s, k) =>
      s.kind === "wild" ||
      (Array.isArray(v) ? s.kind === "index" && s.n === k : String(H.segmentKey(s)) === String(k));
    const step = (k) => active.filter((a) => reaches(a.rest[0], k)).map((a) => ({ rule: a.rule, rest: a.rest.slice(1) }));
    if (Array.isArray(v)) {
      // with a rule for an index, positions matter: an element with nothing kept becomes
      // null (up to the last kept one); through `*` alone, such elements close up
      const positional = active.some((a) => a.rest[0].kind === "index");
      const o = [];
      let used = 0;
      v.forEach((x, i) => {
        const next = step(i);
        const r = next.length === 0 ? DROP : walk(x, next, [...keys, o.length]);
        if (r !== DROP) {
          o.push(r);
          used = o.length;
        } else if (positional) o.push(null);
      });
      o.length = used;
      return keys.length > 0 && o.length === 0 ? DROP : o;
    }
    const o = {};
    for (const k of Object.keys(v)) {
      const next = step(k);
      if (next.length === 0) continue;
      const r = walk(v[k], next, [...keys, k]);
      if (r !== DROP) H.define(o, k, r);
    }
    return keys.length > 0 && Object.keys(o).length === 0 ? DROP : o;
  };
  const exp = walk(
    payload,
    rules.map((r) => ({ rule: r, rest: seg(r.path) })),
    [],
  );
  return mismatch ? { mismatch } : { expected: exp };
}

// ---------------------------------------------------------------- generators
const number = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }), fc.integer());
const notNumber = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, "12.5", "", null, true, [1], { v: 1 }),
  H.hostileString,
  fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)),
);
const macHolder = fc.record({ mac: H.leaf, other: H.leaf }, { requiredKeys: [] });
/** Transport metadata and other top-level properties a message can carry in. */
const metadata = fc.record(
  {
    req: fc.constant({ ip: "10.0.0.2", headers: { cookie: "sid=1" } }),
    headers: fc.constant({ authorization: "Bearer x" }),
    cookies: fc.constant({ sid: "1" }),
    topic: fc.oneof(H.hostileString, fc.constant("t")),
    _linkSource: fc.constant([]),
    extra: H.tree({ maxDepth: 2 }),
    "alice@example.com": fc.constant("a data key at the top"),
  },
  { requiredKeys: [] },
);

const removePayload = fc
  .record(
    {
      gps: H.tree({ maxDepth: 2 }),
      macs: fc.array(fc.tuple(H.hostileKey, macHolder), { maxLength: 4 }),
      items: fc.array(fc.oneof(fc.record({ owner: H.leaf, keep: H.leaf }, { requiredKeys: [] }), H.leaf), {
        maxLength: 5,
      }),
      odd: H.tree({ maxDepth: 2 }),
      temp: fc.oneof(number, notNumber),
      note: fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.string({ maxLength: 30, unit: fc.constantFrom("a", "\ud83d\ude00", "é") }),
        notNumber,
      ),
      level: fc.oneof(number, notNumber),
      pos: fc.oneof(
        fc.record({
          lat: fc.double({ min: -90, max: 90, noNaN: true }),
          lon: fc.double({ min: -180, max: 180, noNaN: true }),
        }),
        fc.tuple(fc.double({ min: -180, max: 180, noNaN: true }), fc.double({ min: -90, max: 90, noNaN: true })),
        fc.record({ lat: H.leaf, lng: H.leaf }),
        H.leaf,
      ),
      noise: fc.array(fc.tuple(H.hostileKey, H.tree({ maxDepth: 3 })), { maxLength: 4 }),
    },
    { requiredKeys: [] },
  )
  .map((r) => {
    const o = H.toObject(
      (r.noise ?? []).filter(([k]) => !["gps", "items", "odd key", "temp", "note", "level", "pos"].includes(k)),
    );
    for (const [k, v] of r.macs ?? [])
      if (!["gps", "items", "odd key", "temp", "note", "level", "pos"].includes(k)) H.define(o, k, v);
    for (const k of ["gps", "items", "temp", "note", "level", "pos"]) if (r[k] !== undefined) H.define(o, k, r[k]);
    if (r.odd !== undefined) H.define(o, "odd key", r.odd);
    return o;
  });

const keepPayload = fc
  .record(
    {
      device: fc.oneof(fc.record({ id: H.leaf, secret: H.leaf }, { requiredKeys: [] }), H.leaf),
      readings: fc.oneof(
        fc.array(fc.oneof(fc.record({ value: H.tree({ maxDepth: 2 }), who: H.leaf }, { requiredKeys: [] }), H.leaf), {
          maxLength: 5,
        }),
        H.leaf,
      ),
      sensors: fc.oneof(
        fc
          .array(
            fc.tuple(
              H.hostileKey,
              fc.oneof(fc.record({ t: H.tree({ maxDepth: 2 }), x: H.leaf }, { requiredKeys: [] }), H.leaf),
            ),
            { maxLength: 4 },
          )
          .map(H.toObject),
        fc.array(fc.oneof(fc.record({ t: H.leaf }), H.leaf), { maxLength: 3 }),
        H.leaf,
      ),
      temp: fc.oneof(number, notNumber),
      noise: fc.array(fc.tuple(H.hostileKey, H.tree({ maxDepth: 2 })), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  )
  .map((r) => {
    const o = H.toObject((r.noise ?? []).filter(([k]) => !["device", "readings", "temp", "sensors"].includes(k)));
    for (const k of ["device", "readings", "temp", "sensors"]) if (r[k] !== undefined) H.define(o, k, r[k]);
    return o;
  });

/** Payloads that are not what the rules expect at all: deep, long, wide, not objects. */
const oddPayload = fc.oneof(
  H.deepValue({ min: 90, max: 400 }),
  H.longArray,
  fc
    .integer({ min: 500, max: 5000 })
    .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, { mac: i, t: i }]))),
  H.leaf,
  fc.constant(undefined),
);

const realm = fc.constantFrom("main", "vm");

function checkStripped(out, msg, strip) {
  if (strip) {
    for (const k of Object.keys(out)) assert.ok(ALWAYS_KEPT.includes(k), `msg.${k} left although metadata is stripped`);
  } else {
    for (const k of Object.keys(msg))
      if (!H.PROTO_KEYS.includes(k)) assert.ok(Object.prototype.hasOwnProperty.call(out, k), `msg.${k} kept`);
  }
}

function lastTrail(out) {
  const t = out.privacy?.trail;
  assert.ok(Array.isArray(t) && t.length > 0, "a trail entry");
  return t[t.length - 1];
}

function checkFailed(r, node, msg) {
  assert.deepEqual(r.allOutputs(node), [], "nothing sent");
  assert.deepStrictEqual(
    H.plain(H.withoutBookkeeping(r.input)),
    H.plain(H.withoutBookkeeping(msg)),
    "the failed message is untouched",
  );
}

describe("hostile messages: privacy-minimize in a real runtime", function () {
  this.timeout(180000);
  let h;
  before(async () => {
    h = await H.startHostile({ nodes });
  });
  beforeEach(async () => h.ensureRunning());
  after(async () => h && h.stop());

  it("remove mode: what a remove rule names is gone, transforms give the right value or the message fails whole, the rest stays", async () => {
    await H.check(
      fc.asyncProperty(
        removePayload,
        metadata,
        fc.constantFrom("mRemove", "mRemoveDrop"),
        realm,
        async (payload, meta, node, realmName) => {
          const msg = { ...meta, payload };
          const r = await h.send(node, msg, { realm: realmName });
          const [out] = r.outputs(node);
          const want = expectRemoveMode(payload, REMOVE_RULES, out?.payload, node === "mRemoveDrop");
          if (want.mismatch) {
            assert.equal(r.outcome, "catch", `${want.mismatch} met the wrong type: the message fails`);
            checkFailed(r, node, msg);
            return;
          }
          assert.equal(r.outcome, "done", `failed: ${r.caught[0]?.msg.error?.message}`);
          assert.deepStrictEqual(H.plain(out.payload), H.plain(want.expected));
          checkStripped(out, msg, true);
          assert.equal(lastTrail(out).type, "privacy-minimize");
        },
      ),
      { numRuns: 150 },
    );
  });

  it("keep mode: exactly the values the rules reach leave, a wrong type fails the message whole", async () => {
    await H.check(
      fc.asyncProperty(
        keepPayload,
        metadata,
        fc.constantFrom("mKeep", "mKeepPass"),
        realm,
        async (payload, meta, node, realmName) => {
          const msg = { ...meta, payload };
          const r = await h.send(node, msg, { realm: realmName });
          const [out] = r.outputs(node);
          const want = expectKeepMode(
            payload,
            node === "mKeepPass" ? KEEP_RULES.filter((x) => x.op !== "round") : KEEP_RULES,
            out?.payload,
          );
          if (
            node === "mKeepPass" &&
            !TRANSFORMS.round.takes(payload.temp) &&
            Object.prototype.hasOwnProperty.call(payload, "temp")
          ) {
            // drop-field: the wrong-typed temp goes
            assert.equal(r.outcome, "done", `failed: ${r.caught[0]?.msg.error?.message}`);
            assert.equal(H.at(out.payload, ["temp"]), H.absent, "a wrong-typed value goes with drop-field");
            const rest = H.plain(out.payload);
            delete rest.temp;
            assert.deepStrictEqual(rest, H.plain(want.expected));
            return;
          }
          if (want.mismatch) {
            assert.equal(r.outcome, "catch", `${want.mismatch} met the wrong type: the message fails`);
            checkFailed(r, node, msg);
            return;
          }
          assert.equal(r.outcome, "done", `failed: ${r.caught[0]?.msg.error?.message}`);
          const got = H.plain(out.payload);
          if (node === "mKeepPass" && TRANSFORMS.round.takes(payload.temp)) {
            assert.ok(TRANSFORMS.round.right(got.temp, payload.temp, { decimals: 0 }), "temp rounded");
            H.define(want.expected, "temp", got.temp);
          }
          assert.deepStrictEqual(got, H.plain(want.expected));
          checkStripped(out, msg, node === "mKeep");
        },
      ),
      { numRuns: 150 },
    );
  });

  it("payloads that are deep, long, wide or not objects: handled or refused whole, never a block", async () => {
    await H.check(
      fc.asyncProperty(
        oddPayload,
        fc.constantFrom("mRemove", "mRemoveDrop", "mKeep", "mKeepPass"),
        realm,
        async (payload, node, realmName) => {
          const msg = { payload, topic: "odd" };
          const r = await h.send(node, msg, { realm: realmName });
          const remove = node === "mRemove" || node === "mRemoveDrop";
          if (r.outcome === "catch") {
            checkFailed(r, node, msg);
            const err = r.caught[0].msg.error.message;
            const allowed = /nested more than 100 levels|not an object|needs a number|needs a string|needs an/.test(
              err,
            );
            assert.ok(allowed, `an unexpected refusal: ${err}`);
            // The walk goes only as deep as the rules (at most 2 levels here), so nothing below
            // them is recursed into and there is no depth to refuse (the help: remove mode
            // passes what no rule names untouched).
            assert.ok(!/nested more than/.test(err), `refused for depth although no rule reaches that deep: ${err}`);
            if (remove && isContainer(payload)) {
              // only a wrong type, and only with Wrong type: error
              const wrongType =
                node === "mRemove" && expectRemoveMode(payload, REMOVE_RULES, undefined, false).mismatch;
              assert.ok(wrongType, `refused: ${err}`);
            }
            return;
          }
          const [out] = r.outputs(node);
          assert.ok(out, "sent");
          if (remove && isContainer(payload)) {
            // deep, long or wide: what a rule names is still gone or transformed, the rest stays whole
            const want = expectRemoveMode(payload, REMOVE_RULES, out.payload, node === "mRemoveDrop");
            assert.ok(!want.mismatch, `${want.mismatch} met the wrong type, yet the message was sent`);
            assert.deepStrictEqual(H.plain(out.payload), H.plain(want.expected));
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it("rules from the path grammar: a removed path is gone, a kept value leaves whole, nothing else in keep mode", async () => {
    const caseArb = fc
      .record({
        mode: fc.constantFrom("remove", "keep"),
        paths: fc.uniqueArray(fc.array(H.segment, { minLength: 1, maxLength: 3 }), {
          minLength: 1,
          maxLength: 3,
          selector: (s) => canonical(s),
        }),
      })
      .filter(({ paths }) => !paths.some((a) => paths.some((b) => a !== b && a.length < b.length && covers(a, b))))
      .chain(({ mode, paths }) =>
        fc.record({
          mode: fc.constant(mode),
          paths: fc.constant(paths),
          payloads: fc.array(
            fc.oneof(
              ...paths.map((p) => H.instantiateArb(p, { wildKeys: H.plainKey })),
              H.tree({ key: H.plainKey, maxDepth: 3 }),
            ),
            { minLength: 3, maxLength: 6 },
          ),
          realm,
        }),
      );
    await H.check(
      fc.asyncProperty(caseArb, async ({ mode, paths, payloads, realm: realmName }) => {
        const rules = paths.map((p) => ({ path: H.pathText(p), op: mode === "remove" ? "remove" : "keep" }));
        await h.redeploy({
          nodes: [
            {
              id: "mGen",
              type: "privacy-minimize",
              mode,
              property: "payload",
              rules,
              nonObject: "pass",
              stripMetadata: true,
            },
          ],
        });
        for (const payload of payloads) {
          const msg = { payload };
          const r = await h.send("mGen", msg, { realm: realmName });
          assert.equal(
            r.outcome,
            "done",
            `${mode} ${rules.map((x) => x.path).join(", ")}: ${r.caught[0]?.msg.error?.message}`,
          );
          const [out] = r.outputs("mGen");
          const want =
            mode === "remove"
              ? expectRemoveMode(payload, rules, out.payload, false)
              : expectKeepMode(payload, rules, out.payload);
          assert.deepStrictEqual(
            H.plain(out.payload),
            H.plain(isContainer(payload) ? want.expected : payload),
            `${mode} ${rules.map((x) => x.path).join(", ")}`,
          );
        }
      }),
      { numRuns: 25 },
    );
    await h.redeploy({ nodes });
  });

  it("[known finding: keep mode drops too much] a path kept whole keeps everything under it, also where a deeper rule names a part", async () => {
    const caseArb = fc.record({ inner: H.tree({ key: H.plainKey, maxDepth: 2 }), other: H.leaf, sibling: H.leaf });
    await h.redeploy({
      nodes: [
        {
          id: "mNested",
          type: "privacy-minimize",
          mode: "keep",
          property: "payload",
          rules: [{ path: "a" }, { path: "a.b.c" }, { path: "x" }, { path: "x.y", op: "round", decimals: 0 }],
        },
      ],
    });
    try {
      await H.check(
        fc.asyncProperty(caseArb, async ({ inner, other, sibling }) => {
          const payload = { a: { b: { c: inner, other }, sibling }, x: { y: 1.4, z: other } };
          const r = await h.send("mNested", { payload });
          assert.equal(r.outcome, "done");
          assert.deepStrictEqual(
            H.plain(r.outputs("mNested")[0].payload),
            H.plain({ a: copyData(payload.a), x: { y: 1, z: copyData(other) } }),
          );
        }),
        { numRuns: 20 },
      );
    } finally {
      await h.redeploy({ nodes });
    }
  });

  it("[known finding: data keys in the trail] the trail names rule paths and counts, never a key found in the data", async () => {
    const dataKey = fc
      .tuple(fc.constantFrom("alice@example.com", "Bob Smith", "+49 30 1234567", "10.0.0.7"), fc.nat(99))
      .map(([k, n]) => `${k}#${n}`);
    await H.check(
      fc.asyncProperty(dataKey, fc.constantFrom("mKeep", "mRemove"), async (key, node) => {
        const payload = H.toObject([
          [key, { t: 1, mac: "x" }],
          [
            "device",
            H.toObject([
              [key, 1],
              ["id", 2],
            ]),
          ],
        ]);
        const msg = H.toObject([
          ["payload", payload],
          [key, "top-level"],
        ]);
        const r = await h.send(node, msg);
        assert.equal(r.outcome, "done");
        const trail = JSON.stringify(lastTrail(r.outputs(node)[0]));
        assert.ok(!trail.includes(key.split("#")[0]), `the trail names a data key: ${trail.slice(0, 300)}`);
      }),
      { numRuns: 10 },
    );
  });

  it("aggregation: hostile readings and keys give windows with right statistics, or fail whole", async () => {
    const reading = fc.record(
      {
        topic: fc.oneof(
          fc.constantFrom("a", "b", "__proto__", "constructor", "toString", ""),
          fc.integer({ min: 0, max: 3 }),
          fc.constantFrom(NaN, Infinity, 1e21, -0, null, { x: 1 }, ["a"]),
          fc.integer({ min: 1000, max: 10240 }).map((n) => "k".repeat(n)),
        ),
        temp: fc.oneof(number, fc.constantFrom(1e300, -1e300, Number.MIN_VALUE), notNumber),
        readings: fc.oneof(fc.array(fc.oneof(number, notNumber), { maxLength: 3 }), H.leaf, fc.constant({ 0: 5 })),
        owner: H.leaf,
      },
      { requiredKeys: ["topic"] },
    );
    await H.check(
      fc.asyncProperty(fc.array(reading, { minLength: 1, maxLength: 25 }), realm, async (readings, realmName) => {
        await h.send("mAgg", { flush: true }); // windows a failed run left open
        const expected = new Map();
        for (const p of readings) {
          const { topic, ...payload } = p;
          const msg = { topic, payload };
          const r = await h.send("mAgg", msg, { realm: realmName });
          const keyOk = topic === null || topic === undefined || typeof topic === "string" || typeof topic === "number";
          if (!keyOk) {
            assert.equal(r.outcome, "catch", "a key that is not a string or number fails the message");
            continue;
          }
          const key = topic === null || topic === undefined ? "" : String(topic);
          if (!expected.has(key) && expected.size >= 20) {
            assert.equal(r.outcome, "catch", "more keys than maxKeys");
            continue;
          }
          assert.equal(r.outcome, "done", `failed: ${r.caught[0]?.msg.error?.message}`);
          assert.deepEqual(r.allOutputs("mAgg"), [], "a window stays open for an hour");
          const e = expected.get(key) ?? { messages: 0, temp: [], r0: [] };
          for (let i = 0; i < r.sent; i++) {
            e.messages++;
            if (typeof payload.temp === "number" && Number.isFinite(payload.temp)) e.temp.push(payload.temp);
            const r0 = H.at(payload, ["readings", Array.isArray(payload.readings) ? 0 : "0"]);
            if (typeof r0 === "number" && Number.isFinite(r0)) e.r0.push(r0);
          }
          expected.set(key, e);
        }
        const f = await h.send("mAgg", { flush: true, topic: "x" }, { realm: realmName });
        assert.equal(f.outcome, "done");
        const windows = f.outputs("mAgg");
        assert.equal(windows.length, expected.size, "one window per key");
        for (const w of windows) {
          const key = w.topic === undefined ? "" : String(w.topic);
          const e = expected.get(key);
          assert.ok(e, `a window for a key never sent: ${key.slice(0, 40)}`);
          assert.equal(w.window.messages, e.messages, `messages in the window of ${H.shorten(key, 40)}`);
          for (const [field, values] of [
            ["temp", e.temp],
            ["readings", e.r0],
          ]) {
            const s = field === "temp" ? w.payload.temp : w.payload.readings?.[0];
            if (values.length === 0) {
              assert.equal(s, undefined, `${field}: no stats without a number`);
              continue;
            }
            assert.equal(s.count, values.length, `${field} count in the window of ${H.shorten(key, 40)}`);
            assert.equal(s.min, Math.min(...values));
            assert.equal(s.max, Math.max(...values));
            assert.ok(
              Number.isFinite(s.mean) &&
                s.mean >= s.min - Math.abs(s.min) * 1e-9 &&
                s.mean <= s.max + Math.abs(s.max) * 1e-9,
              `${field}: mean ${s.mean} between min and max`,
            );
          }
          assert.ok(!JSON.stringify(H.encode(w)).includes("owner"), "a removed field is not in a window");
        }
      }),
      { numRuns: 30 },
    );
  });

  it("[new finding: aggregation mean overflows] the mean of finite readings is finite (two readings of -1e308 give -1e308, not -Infinity)", async () => {
    const big = fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, 1e308, -1e308, 9e307);
    await H.check(
      fc.asyncProperty(fc.array(big, { minLength: 2, maxLength: 4 }), async (temps) => {
        await h.send("mAgg", { flush: true });
        for (const temp of temps)
          assert.equal((await h.send("mAgg", { topic: "overflow", payload: { temp } })).outcome, "done");
        const [w] = (await h.send("mAgg", { flush: true })).outputs("mAgg");
        const s = w.payload.temp;
        assert.ok(
          Number.isFinite(s.mean) && s.mean >= s.min && s.mean <= s.max,
          `mean ${s.mean} of ${temps.join(", ")}`,
        );
      }),
      { numRuns: 5 },
    );
  });

  it("[new finding: round overflows] rounding a huge finite number keeps it (1e308 to 1 decimal is 1e308, not Infinity)", async () => {
    await H.check(
      fc.asyncProperty(
        fc.constantFrom(1e308, -1e308, Number.MAX_VALUE, 1.5e307),
        fc.constantFrom("mRemove", "mKeep"),
        async (temp, node) => {
          const r = await h.send(node, { payload: { temp } });
          assert.equal(r.outcome, "done");
          const out = r.outputs(node)[0].payload.temp;
          assert.ok(
            Number.isFinite(out) && Math.abs(out - temp) <= Math.abs(temp) * 1e-12,
            `round(${temp}) gave ${out}`,
          );
        },
      ),
      { numRuns: 4 },
    );
  });

  it("[new finding: `*.t` makes every array positional] in keep mode an array element with nothing kept leaves no null behind when no rule names an index", async () => {
    await h.redeploy({
      nodes: [
        {
          id: "mStar",
          type: "privacy-minimize",
          mode: "keep",
          property: "payload",
          rules: [{ path: "*.t" }, { path: "readings[*].value" }],
        },
      ],
    });
    try {
      const r = await h.send("mStar", {
        payload: { readings: ["x", { value: 1 }, { other: 2 }, { value: 3 }], a: { t: 1 } },
      });
      assert.equal(r.outcome, "done");
      assert.deepStrictEqual(H.plain(r.outputs("mStar")[0].payload), {
        readings: [{ value: 1 }, { value: 3 }],
        a: { t: 1 },
      });
    } finally {
      await h.redeploy({ nodes });
    }
  });

  it("[known finding: aggregation timer crash on conflicting fields] fields `readings[0]` and `readings.x` are refused at deploy and never stop the process", async () => {
    await h.redeploy({
      nodes: [
        {
          id: "mConflict",
          type: "privacy-minimize",
          mode: "remove",
          property: "payload",
          rules: [],
          aggregate: true,
          windowSize: 0.3,
          windowUnit: "s",
          aggregateKey: "",
          aggregateFields: ["readings[0]", "readings.x"],
        },
      ],
    });
    try {
      // The help: an index and a key under the same parent are refused when the node is
      // created; the node fails closed, so every message is an error and no window opens.
      const msg = { payload: { readings: { 0: 1, x: 2 } } };
      const r = await h.send("mConflict", msg);
      assert.equal(r.outcome, "catch", "a node with conflicting fields fails every message");
      checkFailed(r, "mConflict", msg);
      assert.match(r.caught[0].msg.error.message, /readings\[0\]|readings\.x|aggregateFields/);
      await new Promise((res) => setTimeout(res, 1200)); // a window, had one opened, would close on its timer
      assert.ok(h.alive(), `${h.exitNote}: the window's timer threw\n${h.tail().slice(-1500)}`);
      const stray = await h.stray();
      assert.ok(stray.length <= 1);
    } finally {
      await h.ensureRunning();
      await h.redeploy({ nodes });
    }
  });
});

// ---------------------------------------------------------------- path helpers

function canonical(segs) {
  return segs.map((s) => (s.kind === "wild" ? "*" : JSON.stringify(String(H.segmentKey(s))))).join(".");
}

/** True when a path reaches (a prefix of) everything path b reaches: a kept or removed whole. */
function covers(a, b) {
  return a.every(
    (s, i) => s.kind === "wild" || b[i].kind === "wild" || String(H.segmentKey(s)) === String(H.segmentKey(b[i])),
  );
}
