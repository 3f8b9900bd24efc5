"use strict";
/**
 * Hostile messages for privacy-anonymize in a real runtime (see harness.js). Field
 * rules get records built along their paths (hostile keys beside them, values of every
 * type for every operator, single records and arrays of records, both realms); the text
 * scan gets valid PII of each entity type in hostile text (it must all go), and the
 * prefixes of valid matches repeated up to 64 KiB, and near-misses (no block over 50 ms).
 */
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const net = require("node:net");
const fc = require("fast-check");
const H = require("./harness");

const KEY = crypto.randomBytes(32);
const RULES = [
  { path: "email", op: "redact" },
  { path: "*.ssn", op: "redact" },
  { path: "card", op: "mask", keepLast: 4 },
  { path: "user.id", op: "hash" },
  { path: "items[*].name", op: "replace", value: "<NAME>" },
  { path: "ip", op: "generalize", kind: "ip" },
  { path: "age", op: "generalize", kind: "range", width: 10 },
  { path: "notes", op: "scan" },
  { path: "pos", op: "generalize", kind: "coordinates", decimals: 2 },
  { path: "reading", op: "noise", epsilon: 1, sensitivity: 1, min: 0, max: 100 },
  { path: "owner", op: "pseudonymize", prefix: "p_" },
];
const keyring = {
  id: "kr",
  type: "privacy-keyring",
  activeKid: "k1",
  credentials: { keys: JSON.stringify({ k1: KEY.toString("base64url") }) },
};
const nodes = [
  { id: "aRules", type: "privacy-anonymize", property: "payload", keyring: "kr", rules: RULES, onError: "error" },
  { id: "aRedact", type: "privacy-anonymize", property: "payload", keyring: "kr", rules: RULES, onError: "redact" },
  { id: "aScan", type: "privacy-anonymize", property: "payload", rules: [{ path: "", op: "scan" }], onError: "error" },
];
const SUBKEY = Buffer.from(crypto.hkdfSync("sha256", KEY, Buffer.alloc(0), Buffer.from("privacy-pseudonymize"), 32));
const pseudonym = (v) =>
  `p_${crypto.createHmac("sha256", SUBKEY).update(String(v), "utf8").digest("hex").slice(0, 16)}`;

// ---------------------------------------------------------------- valid PII, from each detector's grammar
const hex = (n) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const digits = (n) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`));
function luhnDigit(body) {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) d *= 2;
    sum += d > 9 ? d - 9 : d;
  }
  return String((10 - (sum % 10)) % 10);
}
function mod97(text) {
  let r = 0;
  for (const ch of text) r = (r * (ch >= "A" ? 100 : 10) + (ch >= "A" ? ch.charCodeAt(0) - 55 : Number(ch))) % 97;
  return r;
}
const pii = fc.oneof(
  fc
    .tuple(
      fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,12}[a-z0-9]$/),
      fc.stringMatching(/^[a-z0-9]{1,10}$/),
      fc.constantFrom("com", "org", "de", "net"),
    )
    .filter(([l]) => !l.includes(".."))
    .map(([l, d, t]) => ({ type: "email", text: `${l}@${d}.${t}` })),
  fc
    .tuple(fc.stringMatching(/^[a-z0-9]{1,10}$/), fc.stringMatching(/^[a-z0-9/_-]{0,20}$/))
    .map(([h, p]) => ({ type: "url", text: `https://${h}.example.com/${p}` })),
  fc
    .tuple(
      fc.integer({ min: 1, max: 223 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 1, max: 254 }),
    )
    .map((o) => ({ type: "ipv4", text: o.join(".") })),
  fc.tuple(hex(4), hex(4), hex(3)).map(([a, b, c]) => ({ type: "ipv6", text: `2001:db8:${a}:${b}::${c}1` })),
  fc
    .tuple(fc.array(hex(2), { minLength: 6, maxLength: 6 }), fc.constantFrom(":", "-"))
    .map(([p, s]) => ({ type: "mac", text: p.join(s) })),
  fc.tuple(digits(14), fc.constantFrom(" ", "-", "")).map(([d, sep]) => {
    const n = `4${d}${luhnDigit(`4${d}`)}`;
    return { type: "card", text: sep ? n.match(/.{4}/g).join(sep) : n };
  }),
  digits(18).map((bban) => {
    const check = String(98 - mod97(`${bban}DE00`)).padStart(2, "0");
    return { type: "iban", text: `DE${check}${bban}` };
  }),
  digits(7).map((d) => ({ type: "phone", text: `+49 30 ${d}` })),
  fc
    .tuple(
      fc.integer({ min: -89, max: 89 }),
      fc.integer({ min: 0, max: 999999 }),
      fc.integer({ min: -179, max: 179 }),
      fc.integer({ min: 0, max: 999999 }),
    )
    .map(([a, b, c, d]) => ({
      type: "coordinates",
      text: `${a}.${String(b).padStart(6, "1")}, ${c}.${String(d).padStart(6, "1")}`,
    })),
);
/** Hostile text between entities: words, unicode, control characters, near-misses; never glued to an entity. */
const filler = fc.oneof(
  fc.constantFrom(
    "hello",
    "the device reported",
    "status ok",
    "",
    "ünïcødé ✓",
    "\u0000\u2028",
    "😀😀",
    "a@",
    "@b",
    "http://",
    "::",
    "1 2 3",
    "DE00",
    "4111",
    "lat=",
    "x".repeat(300),
  ),
  fc.string({ maxLength: 30, unit: fc.constantFrom("a", "b", " ", "é", "\t", "😀") }),
);
const SEPARATORS = [" | ", " ;\n", " and "];
/** Every generated text with the entities planted in it. */
const PLANTED = new Map();
const plantedText = fc.array(fc.tuple(filler, pii), { minLength: 1, maxLength: 8 }).map((parts) => {
  const text = parts
    .map(([f, p]) => `${f}${SEPARATORS[f.length % 3]}${p.text}${SEPARATORS[(f.length + 1) % 3]}`)
    .join("");
  PLANTED.set(
    text,
    parts.map(([, p]) => p.text),
  );
  return { text };
});

// ---------------------------------------------------------------- records
const isContainer = (v) =>
  v !== null && typeof v === "object" && !Buffer.isBuffer(v) && !(v instanceof Date) && !(v instanceof H.Strange);
const isPlainContainer = (v) => Array.isArray(v) || (isContainer(v) && !Array.isArray(v));
const scalar = (v) => typeof v === "string" || (typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean";

const ipArb = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
    )
    .map((o) => o.join(".")),
  fc.constantFrom(
    "2001:db8:85a3::8a2e:370:7334",
    "fe80::1%eth0",
    "::1",
    "::ffff:192.0.2.1",
    "1.2.3",
    "256.1.1.1",
    "1.2.3.4.5",
    "::g",
    "",
    " 1.2.3.4",
    "1.2.3.4\n",
  ),
  H.leaf,
);
/** Leaves without numbers so large that rounding them overflows (a finding of its own, below). */
const modestLeaf = H.leaf.filter((v) => typeof v !== "number" || !Number.isFinite(v) || Math.abs(v) < 1e15);
const recordArb = fc
  .record(
    {
      email: fc.oneof(
        pii.map((p) => p.text),
        H.leaf,
      ),
      ssns: fc.array(fc.tuple(H.plainKey, fc.record({ ssn: H.leaf, other: H.leaf }, { requiredKeys: [] })), {
        maxLength: 3,
      }),
      card: fc.oneof(
        pii.map((p) => p.text),
        fc.double(),
        H.leaf,
      ),
      user: fc.oneof(fc.record({ id: H.leaf, name: H.leaf, ssn: H.leaf }, { requiredKeys: [] }), H.leaf),
      items: fc.oneof(
        fc.array(fc.oneof(fc.record({ name: H.tree({ maxDepth: 2 }), qty: H.leaf }, { requiredKeys: [] }), H.leaf), {
          maxLength: 4,
        }),
        H.leaf,
      ),
      ip: ipArb,
      age: fc.oneof(
        fc.integer({ min: -200, max: 200 }),
        fc.double({ min: -1e9, max: 1e9, noNaN: true }),
        fc.constantFrom("42", " 7 ", "1e3", "0x10", "", "abc"),
        modestLeaf,
      ),
      notes: fc.oneof(
        plantedText.map((t) => t.text),
        fc.array(
          plantedText.map((t) => t.text),
          { maxLength: 3 },
        ),
        fc.record({ a: plantedText.map((t) => t.text), b: H.leaf }),
        H.leaf,
      ),
      pos: fc.oneof(
        fc.record({
          lat: fc.double({ min: -90, max: 90, noNaN: true }),
          lon: fc.double({ min: -180, max: 180, noNaN: true }),
        }),
        fc.tuple(fc.double({ min: -90, max: 90, noNaN: true }), fc.double({ min: -180, max: 180, noNaN: true })),
        fc.constantFrom("52.52, 13.40", "x, y"),
        modestLeaf,
      ),
      reading: fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), H.leaf),
      owner: fc.oneof(H.hostileString, fc.integer(), H.leaf),
      noise: fc.array(fc.tuple(H.plainKey, H.tree({ maxDepth: 2 })), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  )
  .map((r) => {
    const NAMED = ["email", "card", "user", "items", "ip", "age", "notes", "pos", "reading", "owner"];
    const o = H.toObject([...(r.noise ?? []), ...(r.ssns ?? [])].filter(([k]) => !NAMED.includes(k)));
    for (const k of NAMED) if (r[k] !== undefined) H.define(o, k, r[k]);
    return o;
  });

/** Planted PII texts inside a value (for the scan rule's "all gone" check). */
function plantedIn(v, out = []) {
  if (typeof v === "string") out.push(...(PLANTED.get(v) ?? []));
  else if (isPlainContainer(v)) for (const k of Object.keys(v)) plantedIn(v[k], out);
  return out;
}

/**
 * Whether an operator takes a value, and whether what it made of it is right. A rule
 * leaves null and undefined as they are (redact removes them).
 */
const OPS = {
  mask: {
    takes: scalar,
    right: (o, v) =>
      typeof o === "string" &&
      [...o].length === [...String(v)].length &&
      ([...String(v)].length <= 4
        ? /^\**$/.test(o)
        : o.endsWith([...String(v)].slice(-4).join("")) && /^\*+$/.test([...o].slice(0, -4).join(""))),
  },
  hash: { takes: scalar, right: (o, v) => o === crypto.createHash("sha256").update(String(v), "utf8").digest("hex") },
  replace: { takes: () => true, right: (o) => o === "<NAME>" },
  generalize: {
    takes: (v, r) => {
      if (r.kind === "ip") return typeof v === "string" && (net.isIPv4(v.split("%")[0]) || net.isIPv6(v.split("%")[0]));
      if (r.kind === "range") {
        const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
        return typeof n === "number" && Number.isFinite(n);
      }
      // coordinates
      if (typeof v === "number") return Number.isFinite(v);
      if (Array.isArray(v))
        return v.length >= 2 && v.length <= 3 && v.every((x) => typeof x === "number" && Number.isFinite(x));
      if (typeof v === "string") return /^\s*[-+]?\d+(?:\.\d+)?\s*[,;\s]\s*[-+]?\d+(?:\.\d+)?\s*$/.test(v);
      if (isContainer(v)) {
        const pair = [
          ["lat", "lon"],
          ["lat", "lng"],
          ["latitude", "longitude"],
        ].find(([a, b]) => a in v && b in v);
        return pair !== undefined && pair.every((k) => typeof v[k] === "number" && Number.isFinite(v[k]));
      }
      return false;
    },
    right: (o, v, r) => {
      if (r.kind === "ip") {
        const a = v.split("%")[0];
        return net.isIPv4(a) ? o === `${a.split(".").slice(0, 3).join(".")}.0` : net.isIPv6(o);
      }
      if (r.kind === "range") {
        const n = Number(v);
        const lo = Math.floor(n / 10) * 10;
        const fmt = (x) => String(Math.round(x * 1e9) / 1e9);
        return o === `${fmt(lo)}-${fmt(lo + 9)}`;
      }
      if (typeof v === "number") return Math.abs(o - v) <= 0.005 + Math.abs(v) * 1e-15;
      return typeof o === typeof v;
    },
  },
  scan: {
    takes: (v) => typeof v === "string" || isPlainContainer(v),
    right: (o, v) =>
      typeof o === typeof v &&
      plantedIn(v).every((p) => !JSON.stringify(H.encode(o)).includes(JSON.stringify(p).slice(1, -1))),
  },
  // The noise is exact discrete Laplace on a grid of 1024 steps per sensitivity (a power of
  // two); a value whose grid point is no safe integer (about 8.8e12 for sensitivity 1) is
  // too large for its sensitivity: an error, never a value noised in floating point.
  noise: {
    takes: (v, r) =>
      typeof v === "number" && Number.isFinite(v) && Math.abs(v) / noiseStep(r.sensitivity) < 2 ** 53 - 2 ** 40,
    right: (o) => typeof o === "number" && o >= 0 && o <= 100,
  },
  pseudonymize: { takes: scalar, right: (o, v) => o === pseudonym(v) },
};

const seg = (text) => H.parseSegments(text);
/** The noise grid's step: the power of two at or below the sensitivity, over 1024. */
const noiseStep = (sensitivity) => 2 ** (Math.floor(Math.log2(sensitivity)) - 10);

const { removeAt, setAt } = H;

/** What one record must become: { expected } (its operator outputs checked, then taken from `out`) or { mismatch }. */
function expectRecord(record, out, onError) {
  const exp = H.plain(record);
  if (!isContainer(exp)) return { expected: exp };
  for (const r of RULES) {
    const matches = H.oracleMatches(exp, seg(r.path));
    if (r.op === "redact") {
      for (let i = matches.length - 1; i >= 0; i--) removeAt(exp, matches[i]);
      continue;
    }
    for (let i = matches.length - 1; i >= 0; i--) {
      const keys = matches[i];
      const v = H.at(exp, keys);
      if (v === null || v === undefined) continue;
      if (!OPS[r.op].takes(v, r) || (r.op === "scan" && !isPlainContainer(v) && typeof v !== "string")) {
        if (onError === "error") return { mismatch: `${r.op} ${r.path}` };
        removeAt(exp, keys);
        continue;
      }
      if (out === undefined) continue;
      const o = H.at(out, keys);
      assert.ok(
        OPS[r.op].right(o, v, r),
        `${r.op} ${r.path}: ${H.shorten(fc.stringify(v), 80)} became ${H.shorten(fc.stringify(o), 80)}`,
      );
      setAt(exp, keys, o);
    }
  }
  return { expected: exp };
}

function expectPayload(payload, out, onError) {
  if (!Array.isArray(payload)) return expectRecord(payload, out, onError);
  const exp = [];
  for (let i = 0; i < payload.length; i++) {
    const e = expectRecord(payload[i], out?.[i], onError);
    if (e.mismatch) return e;
    exp.push(e.expected);
  }
  return { expected: exp };
}

function checkFailed(r, node, msg) {
  assert.deepEqual(r.allOutputs(node), [], "nothing sent");
  const left = H.plain(H.withoutBookkeeping(r.input));
  const untouched = H.plain(H.withoutBookkeeping(msg));
  const withoutData = H.plain(H.withoutBookkeeping(msg, ["payload"]));
  // the node takes the data out of a message it fails (so a Catch node cannot pass it on)
  assert.ok(
    H.sameValue(left, untouched) || H.sameValue(left, withoutData),
    "the failed message is untouched, or has lost only its payload",
  );
}

describe("hostile messages: privacy-anonymize in a real runtime", function () {
  this.timeout(240000);
  let h;
  before(async () => {
    h = await H.startHostile({ config: [keyring], nodes });
  });
  beforeEach(async () => h.ensureRunning());
  after(async () => h && h.stop());

  it("field rules over records and arrays of records: what a rule names is redacted, masked, hashed... or the message fails whole", async () => {
    const payloadArb = fc.oneof(
      { weight: 3, arbitrary: recordArb },
      { weight: 1, arbitrary: fc.array(recordArb, { maxLength: 4 }) },
      { weight: 1, arbitrary: H.leaf },
    );
    await H.check(
      fc.asyncProperty(
        payloadArb,
        fc.constantFrom("aRules", "aRedact"),
        fc.constantFrom("main", "vm"),
        async (payload, node, realm) => {
          const msg = { payload, topic: "t" };
          const r = await h.send(node, msg, { realm });
          const [out] = r.outputs(node);
          const want = expectPayload(payload, out?.payload, node === "aRules" ? "error" : "redact");
          if (want.mismatch) {
            assert.equal(r.outcome, "catch", `${want.mismatch} met a value it cannot take: the message fails`);
            checkFailed(r, node, msg);
            return;
          }
          assert.equal(r.outcome, "done", `failed: ${r.caught[0]?.msg.error?.message}`);
          assert.deepStrictEqual(H.plain(out.payload), H.plain(want.expected));
          assert.equal(out.topic, "t");
          const trail = out.privacy.trail[out.privacy.trail.length - 1];
          assert.equal(trail.type, "privacy-anonymize");
          assert.deepEqual(H.strangeValues(out), []);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("redact and replace rules on paths from the grammar (keys, [n], *, [*], quoted keys): what they reach is gone or replaced, nothing else changes", async () => {
    const caseArb = fc
      .record({
        redact: fc.array(H.segment, { minLength: 1, maxLength: 3 }),
        replace: fc.array(H.segment, { minLength: 1, maxLength: 3 }),
      })
      .chain(({ redact, replace }) =>
        fc.record({
          redact: fc.constant(redact),
          replace: fc.constant(replace),
          payloads: fc.array(
            fc.oneof(
              H.instantiateArb(redact, { wildKeys: H.plainKey }),
              H.instantiateArb(replace, { wildKeys: H.plainKey }),
              H.tree({ key: H.plainKey, maxDepth: 3 }),
            ),
            { minLength: 3, maxLength: 6 },
          ),
          realm: fc.constantFrom("main", "vm"),
        }),
      );
    await H.check(
      fc.asyncProperty(caseArb, async ({ redact, replace, payloads, realm }) => {
        const rules = [
          { path: H.pathText(redact), op: "redact" },
          { path: H.pathText(replace), op: "replace", value: "<R>" },
        ];
        await h.redeploy({
          config: [keyring],
          nodes: [{ id: "aGen", type: "privacy-anonymize", property: "payload", rules, onError: "error" }],
        });
        for (const payload of payloads) {
          // an array payload is a list of records: the rules apply to each
          const records = Array.isArray(payload) ? payload : [payload];
          const expected = records.map((record) => {
            const exp = H.plain(record);
            if (!isContainer(exp)) return exp;
            const gone = H.oracleMatches(exp, redact);
            for (let i = gone.length - 1; i >= 0; i--) removeAt(exp, gone[i]);
            for (const keys of H.oracleMatches(exp, replace))
              if (H.at(exp, keys) !== null && H.at(exp, keys) !== undefined) setAt(exp, keys, "<R>");
            return exp;
          });
          const r = await h.send("aGen", { payload }, { realm });
          assert.equal(r.outcome, "done", `${rules.map((x) => x.path).join(", ")}: ${r.caught[0]?.msg.error?.message}`);
          assert.deepStrictEqual(
            H.plain(r.outputs("aGen")[0].payload),
            Array.isArray(payload) ? expected : expected[0],
            rules.map((x) => `${x.op} ${x.path}`).join(", "),
          );
        }
      }),
      { numRuns: 25 },
    );
    await h.redeploy({ config: [keyring], nodes });
  });

  it("scan of text and of objects: every planted email, URL, IP, MAC, card, IBAN, phone and coordinate is gone", async () => {
    const payloadArb = fc.oneof(
      plantedText.map((t) => t.text),
      fc.array(
        plantedText.map((t) => t.text),
        { minLength: 1, maxLength: 3 },
      ),
      fc.tuple(plantedText, H.plainKey).map(([t, k]) => H.toObject([[k, { deep: [t.text] }]])),
    );
    await H.check(
      fc.asyncProperty(payloadArb, fc.constantFrom("main", "vm"), async (payload, realm) => {
        const r = await h.send("aScan", { payload }, { realm });
        assert.equal(r.outcome, "done", `failed: ${r.caught[0]?.msg.error?.message}`);
        const out = JSON.stringify(H.encode(r.outputs("aScan")[0].payload));
        for (const p of plantedIn(payload))
          assert.ok(!out.includes(JSON.stringify(p).slice(1, -1)), `${p} left in ${H.shorten(out, 300)}`);
        const entities = r.outputs("aScan")[0].privacy.trail[0].entities;
        assert.ok(Object.values(entities).reduce((a, b) => a + b, 0) >= 1, "the trail counts what was found");
        assert.ok(!JSON.stringify(r.outputs("aScan")[0].privacy).includes("@"), "the trail holds counts, no value");
      }),
      { numRuns: 120 },
    );
  });

  it("scan of other values: numbers, Buffers, deep objects (over 64 levels), long arrays, both realms: scanned whole or refused whole", async () => {
    const payloadArb = fc.oneof(H.leaf, H.deepValue({ min: 30, max: 200 }), H.longArray, H.tree({ maxDepth: 4 }));
    await H.check(
      fc.asyncProperty(payloadArb, fc.constantFrom("main", "vm"), async (payload, realm) => {
        const msg = { payload };
        const r = await h.send("aScan", msg, { realm });
        if (r.outcome === "catch") {
          checkFailed(r, "aScan", msg);
          assert.match(
            r.caught[0].msg.error.message,
            /scan expects|nested more than 64/,
            "refused for its type or depth only",
          );
          return;
        }
        const [out] = r.outputs("aScan");
        assert.ok(out, "sent");
        if (payload === null || payload === undefined) return;
        assert.ok(
          isPlainContainer(payload) || typeof payload === "string",
          `${typeof payload} scanned instead of refused`,
        );
      }),
      { numRuns: 100 },
    );
  });

  it("[known finding: objects from function nodes refused] a payload and a msg.privacy made in a function node (another realm, or without a prototype) are taken like any other", async () => {
    const privacyArb = fc.oneof(
      fc.constant({ trail: [{ type: "earlier", id: "x" }] }),
      fc.constant({}),
      fc.constant(
        H.toObject([
          ["trail", []],
          ["blocked", null],
        ]),
      ),
      fc.constant(Object.assign(Object.create(null), { trail: [] })),
    );
    await H.check(
      fc.asyncProperty(recordArb, privacyArb, fc.constantFrom("aRedact", "aScan"), async (payload, privacy, node) => {
        const r = await h.send(node, { payload, privacy }, { realm: "vm" });
        assert.equal(r.outcome, "done", `refused: ${r.caught[0]?.msg.error?.message}`);
        const trail = r.outputs(node)[0].privacy.trail;
        assert.equal(trail[trail.length - 1].type, "privacy-anonymize");
        assert.equal(trail.length, (privacy.trail?.length ?? 0) + 1, "the earlier trail kept");
      }),
      { numRuns: 40 },
    );
  });

  it("a msg.privacy that is not an object, or whose trail is not a list, fails the message (the data goes with it)", async () => {
    await H.check(
      fc.asyncProperty(
        fc.constantFrom("x", 1, [], ["a"], true, { trail: "x" }, { trail: {} }, { trail: 1 }),
        fc.constantFrom("main", "vm"),
        async (privacy, realm) => {
          const msg = { payload: { email: "a@b.cd", notes: "mail me at a@b.cd" }, privacy };
          const r = await h.send("aRules", msg, { realm });
          assert.equal(r.outcome, "catch");
          checkFailed(r, "aRules", msg);
          assert.ok(
            !JSON.stringify(H.encode(r.caught[0].msg)).includes("a@b.cd"),
            "the catch node does not get the data",
          );
        },
      ),
      { numRuns: 16 },
    );
  });

  it('[new finding: rounding overflows] generalize keeps a huge finite number finite (coordinates of 1e307 are not Infinity, a range of 1e300 is not "Infinity-Infinity")', async () => {
    await H.check(
      fc.asyncProperty(
        fc.constantFrom(1e307, -1e307, Number.MAX_VALUE, 1e300, "1e300"),
        fc.constantFrom("pos", "age"),
        async (v, field) => {
          const r = await h.send("aRules", { payload: { [field]: v } });
          if (field === "pos" && typeof v === "string") {
            // coordinates take text only as "lat, lon" (the help): a lone number as text is refused
            assert.equal(r.outcome, "catch");
            return;
          }
          assert.equal(r.outcome, "done", `failed: ${r.caught[0]?.msg.error?.message}`);
          const out = r.outputs("aRules")[0].payload[field];
          assert.ok(field === "pos" ? Number.isFinite(out) : !/Infinity|NaN/.test(out), `${field} ${v} became ${out}`);
          // a number with no fraction left at that precision stays itself (the help)
          if (field === "pos") assert.equal(out, v);
        },
      ),
      { numRuns: 10 },
    );
  });

  it("[known finding: `*` skips keys named __proto__, constructor, prototype] a redact rule through `*` removes the value under such a key too", async () => {
    await H.check(
      fc.asyncProperty(
        fc.subarray(H.PROTO_KEYS, { minLength: 1 }),
        fc.constantFrom("main", "vm"),
        async (names, realm) => {
          const payload = H.toObject([["plain", { ssn: "SSN-plain" }], ...names.map((n) => [n, { ssn: `SSN-${n}` }])]);
          const r = await h.send("aRules", { payload }, { realm });
          if (r.outcome !== "done") return;
          const out = JSON.stringify(H.encode(r.outputs("aRules")[0]));
          for (const n of ["plain", ...names]) assert.ok(!out.includes(`SSN-${n}`), `the ssn under "${n}" left`);
        },
      ),
      { numRuns: 10 },
    );
  });

  // ---------------------------------------------------------------- no block: the text scan's worst inputs
  /** A repeated unit up to `size` characters, between a prefix and a suffix (a near-miss ending). */
  const repeated = (units, { prefixes = [""], suffixes = ["", "x", " ", "@", ")"], sizes } = {}) =>
    fc
      .record({
        unit: fc.constantFrom(...units),
        prefix: fc.constantFrom(...prefixes),
        suffix: fc.constantFrom(...suffixes),
        size: sizes ? fc.constantFrom(...sizes) : fc.integer({ min: 256, max: 65536 }),
      })
      .map(({ unit, prefix, suffix, size }) => {
        const body = unit
          .repeat(Math.ceil(Math.max(0, size - prefix.length - suffix.length) / unit.length))
          .slice(0, Math.max(0, size - prefix.length - suffix.length));
        return prefix + body + suffix;
      });

  async function noBlock(textArb, numRuns) {
    await H.check(
      fc.asyncProperty(textArb, async (text) => {
        const r = await h.send("aScan", { payload: text });
        assert.equal(r.outcome, "done", `failed: ${r.caught[0]?.msg.error?.message}`);
      }),
      { numRuns, budgetMs: 60000 },
    );
  }

  /**
   * The same check for families measured super-linear: sizes 1, 4, 16 and 64 KiB in
   * turn (a blow-up shows at the smallest size it reaches, in a second, not after a
   * 64 KiB input has held the loop for minutes), a few samples each, no shrinking.
   */
  async function noBlockBySize(textOfSize, samples = 3) {
    for (const size of [1024, 4096, 16384, 65536]) {
      await H.check(
        fc.asyncProperty(textOfSize(size), async (text) => {
          const r = await h.send("aScan", { payload: text });
          assert.equal(r.outcome, "done", `failed: ${r.caught[0]?.msg.error?.message}`);
        }),
        { numRuns: samples, shrink: false },
      );
    }
  }
  /** repeated(), at one size. */
  const repeatedAt = (units, opts) => (size) => repeated(units, { ...opts, sizes: [size] });

  it("scan, prefixes of valid matches repeated up to 64 KiB, linear families (emails, www, IBAN, MAC, IPv4, IPv6 words, coordinates with commas): no block over 50 ms", async () => {
    await noBlock(
      fc.oneof(
        repeated(["a@", "a.a@b", "@a.a", "a.", "a-@", "x@y.", "a@b.c ", "a+@"], { prefixes: ["", "x@"] }),
        repeated(["www.a", "www.", "a.www.", "https://a/", "://", "ftp:/"]),
        repeated(["DE89 ", "DE00", "GB82 WEST ", "DE8937040044 "]),
        repeated(["aa:", "aa-aa-", "a:1", "1:", "::1 ", "ffff:", "1234.5678."], { prefixes: ["", "mac ", "fe80::"] }),
        repeated(["1.1.1.", "1.", "255.", "1.1.1.1.", "1.2.3.4 "], { prefixes: ["", "fw "] }),
        repeated(["1.00,", "1.00;", "12.3456 ", "1.0 , "], { prefixes: ["", "lat "] }),
        repeated(["1/", "+1 ", "9", "1\t", "(1)(", "1.1"]),
        fc.integer({ min: 1000, max: 5000 }).map((n) =>
          Array.from({ length: n }, (_, i) => `u${i}@ex.com`)
            .join(" ")
            .slice(0, 65536),
        ),
        fc.integer({ min: 1000, max: 5000 }).map((n) =>
          Array.from({ length: n }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`)
            .join(" ")
            .slice(0, 65536),
        ),
      ),
      60,
    );
  });

  // The families below were measured quadratic (or worse) on the current scan: 64 KiB take seconds.
  it("[known finding: PII scan super-linear] URLs with runs of `)`: no block over 50 ms", async () => {
    await noBlockBySize(
      repeatedAt([")", "()", ")("], { prefixes: ["http://", "http://a(", "https://x.y/"], suffixes: ["", " ", "."] }),
    );
  });

  it("[known finding: PII scan super-linear] colon runs (`g:::::`, `1::::`): no block over 50 ms", async () => {
    await noBlockBySize(repeatedAt([":"], { prefixes: ["g", "1", "fe80", "a"], suffixes: ["", "g", " 1"] }));
  });

  it("[known finding: PII scan super-linear] digit runs (`1 1 1`, `0 0`, `1-1-`, `1 (`, `1. `, `12 `): no block over 50 ms", async () => {
    await noBlockBySize(
      repeatedAt(["1 ", "0 ", "1-", "1 (", "1. ", "12 ", "00 ", "1 1-"], { prefixes: ["", "+", "tel "] }),
      4,
    );
  });

  it("[known finding: PII scan super-linear] card numbers repeated (`4111 1111 1111 1111 `, `4111-`): no block over 50 ms", async () => {
    await noBlockBySize(repeatedAt(["4111 1111 1111 1111 ", "4111-", "4111 ", "5500000000000004 "]));
  });

  it("[known finding: PII scan super-linear] `lat=1` then whitespace then a near-miss: no block over 50 ms", async () => {
    await noBlockBySize((size) =>
      fc
        .record({
          head: fc.constantFrom("lat=1", "lat: 1", "latitude=1,", "lat=1 lon"),
          ws: fc.constantFrom(" ", "\t", "\n"),
          tail: fc.constantFrom("x", "lon", ",x"),
        })
        .map(({ head, ws, tail }) => head + ws.repeat(size - head.length - tail.length) + tail),
    );
  });

  it("[new finding: PII scan super-linear, coordinate pairs] `1.00` then whitespace then a near-miss: no block over 50 ms", async () => {
    await noBlockBySize((size) =>
      // spaces: the separator class takes a space (not a tab), so \s* on both sides of it backtrack over each other
      fc
        .record({ head: fc.constantFrom("1.00", "52.5200", "-1.25"), tail: fc.constantFrom("x", ",x", "1") })
        .map(({ head, tail }) => head + " ".repeat(size - head.length - tail.length) + tail),
    );
  });
});
