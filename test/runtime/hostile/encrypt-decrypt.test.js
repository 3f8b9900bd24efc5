"use strict";
/**
 * Hostile messages for privacy-encrypt and privacy-decrypt in a real runtime (see
 * harness.js). Encrypt gets values of every shape at the paths its fields name (built
 * from the path grammar, with hostile keys beside them, from both realms); decrypt gets
 * what encrypt made, and JWE strings built from the compact grammar, then broken one
 * part at a time (flipped, truncated, re-padded, other alg/enc/kid/cty/zip/crit,
 * headers up to the limit, ciphertexts up to 64 KiB), and CryptoJS-looking strings.
 * jose is the oracle for what a valid JWE holds.
 */
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fc = require("fast-check");
const CryptoJS = require("crypto-js");
const H = require("./harness");

const { setAt } = H;

const KEY = crypto.randomBytes(32);
const OTHER_KEY = crypto.randomBytes(32);
const LEGACY = "legacy passphrase for hostile tests";
const FIELDS = ["payload.*.secret", "payload.items[*].pin", 'payload["odd key"].x'];
const JWE_RE = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/;

const keyring = { id: "kr", type: "privacy-keyring", activeKid: "k1", credentials: { keys: JSON.stringify({ k1: KEY.toString("base64url"), old: OTHER_KEY.toString("base64url") }) } };
const nodes = (fields = FIELDS) => [
  { id: "encP", type: "privacy-encrypt", keyring: "kr", property: "payload", fields: [] },
  { id: "decP", type: "privacy-decrypt", keyring: "kr", property: "payload", fields: [], credentials: { legacyPassphrase: LEGACY } },
  { id: "encF", type: "privacy-encrypt", keyring: "kr", property: "payload", fields },
  { id: "decF", type: "privacy-decrypt", keyring: "kr", property: "payload", fields },
  { id: "encW", type: "privacy-encrypt", keyring: "kr", property: "payload", fields: ["payload.*.secret"] },
  { id: "encA", type: "privacy-encrypt", keyring: "kr", property: "payload", fields: ["payload[*]", "topic"] },
  { id: "decA", type: "privacy-decrypt", keyring: "kr", property: "payload", fields: ["payload[*]", "topic"] },
];

/** What decrypt gives back for a value encrypt took: strings and Buffers exactly, the rest as JSON carries it. */
function restored(v) {
  if (typeof v === "string" || Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  return JSON.parse(JSON.stringify(v));
}

/** Unique markers: a value that must never be seen in clear once encrypted. */
let counter = 0;
const secretArb = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }).map((s) => `SECRET-${++counter}-${s}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8000 }).map((n) => `SECRET-${++counter}-${"s".repeat(n)}`) },
  { weight: 1, arbitrary: fc.constant(0).map(() => ({ nested: `SECRET-${++counter}`, n: [1, 2] })) },
  { weight: 1, arbitrary: fc.constant(0).map(() => Buffer.from(`SECRET-${++counter}`)) },
  { weight: 1, arbitrary: fc.constant(0).map(() => [`SECRET-${++counter}`, null, 1.5]) },
);

function secretsIn(v, out = []) {
  if (typeof v === "string" && v.startsWith("SECRET-")) out.push(v);
  else if (Buffer.isBuffer(v) && v.toString("latin1").startsWith("SECRET-")) out.push(v.toString("latin1"));
  else if (v !== null && typeof v === "object" && !Buffer.isBuffer(v)) for (const k of Object.keys(v)) secretsIn(v[k], out);
  return out;
}

/** Whatever a message can hold beside its payload: topics, a msg.privacy of any shape, metadata. */
const extras = fc.record(
  {
    topic: fc.oneof(H.hostileString, H.specialNumber),
    privacy: fc.oneof(fc.constant(null), fc.constant(undefined), fc.record({ trail: fc.constant([{ type: "earlier", id: "x" }]) }), fc.constant({ note: "no trail yet" })),
    headers: H.tree({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

function jweLike(v) {
  return typeof v === "string" && JWE_RE.test(v);
}

describe("hostile messages: privacy-encrypt and privacy-decrypt in a real runtime", function () {
  this.timeout(180000);
  let h;
  let jose;
  before(async () => {
    jose = await import("jose");
    h = await H.startHostile({ config: [keyring], nodes: nodes() });
  });
  beforeEach(async () => h.ensureRunning());
  after(async () => h && h.stop());

  /** Sends to an encrypt node, then its output to the decrypt node; returns both results. */
  async function roundTrip(enc, dec, msg, realm) {
    const e = await h.send(enc, msg, { realm });
    if (e.outcome !== "done") return { e };
    const [out] = e.outputs(enc);
    assert.ok(out, `${enc} was done but sent nothing`);
    const d = await h.send(dec, out, { realm });
    return { e, out, d };
  }

  it("whole payloads of any shape: a JWE leaves, the same value comes back (JSON values as JSON carries them)", async () => {
    const payload = fc.oneof(
      { weight: 4, arbitrary: H.tree({ maxDepth: 4 }) },
      { weight: 1, arbitrary: H.deepValue({ min: 100, max: 1200 }) },
      { weight: 1, arbitrary: H.longArray },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 65536 }).map((n) => crypto.randomBytes(n)) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom("a", "é", "😀", "\ud800", "\u0000"), fc.integer({ min: 1, max: 16000 })).map(([c, n]) => c.repeat(n)) },
      { weight: 1, arbitrary: H.specialNumber },
    );
    await H.check(
      fc.asyncProperty(payload, extras, fc.constantFrom("main", "vm"), async (p, more, realm) => {
        const msg = { ...more, payload: p };
        const { e, out, d } = await roundTrip("encP", "decP", msg, realm);
        assert.equal(e.outcome, "done", `encrypt refused a payload it can carry: ${e.caught[0]?.msg.error?.message}`);
        assert.ok(jweLike(out.payload), "the payload left as a JWE compact string");
        assert.deepStrictEqual(H.plain(H.withoutBookkeeping(out, ["payload"])), H.plain(H.withoutBookkeeping(msg, ["payload"])), "nothing else changed");
        const trail = out.privacy.trail;
        assert.deepEqual(trail[trail.length - 1], { type: "privacy-encrypt", id: "encP", kid: "k1", encrypted: 1 });
        assert.equal(d.outcome, "done", `decrypt refused what encrypt made: ${d.caught[0]?.msg.error?.message}`);
        const [back] = d.outputs("decP");
        assert.deepStrictEqual(H.plain(back.payload), H.plain(restored(p)));
        // A JWE opens with jose too, to the same bytes.
        const { plaintext, protectedHeader } = await jose.compactDecrypt(out.payload, KEY);
        assert.equal(protectedHeader.kid, "k1");
        if (typeof p === "string") assert.equal(protectedHeader.cty === "text/plain" ? Buffer.from(plaintext).toString("utf8") : JSON.parse(Buffer.from(plaintext).toString("utf8")), p);
      }),
      { numRuns: 120 },
    );
  });

  it("fields: every value a field names leaves encrypted (none in clear), and comes back; a message they miss fails whole", async () => {
    // payload.*.secret, payload.items[*].pin, payload["odd key"].x, with hostile keys beside them
    const segs = FIELDS.map((f) => H.parseSegments(f).slice(1));
    const payloadArb = fc
      .tuple(
        ...segs.map((s) => fc.option(H.instantiateArb(s, { leafArb: secretArb }), { nil: undefined, freq: 3 })),
        fc.array(fc.tuple(H.plainKey, H.tree({ key: H.plainKey, maxDepth: 2 })), { maxLength: 4 }),
      )
      .map(([a, b, c, noise]) => {
        const o = H.toObject(noise.filter(([k]) => !["items", "odd key"].includes(k)));
        // `a` gives keys of payload itself (payload.*.secret); the others go under their keys
        if (a && typeof a === "object" && !Array.isArray(a)) for (const k of Object.keys(a)) if (!["items", "odd key"].includes(k)) H.define(o, k, a[k]);
        if (b) H.define(o, "items", b.items);
        if (c) H.define(o, "odd key", c["odd key"]);
        return o;
      });
    await H.check(
      fc.asyncProperty(payloadArb, extras, fc.constantFrom("main", "vm"), async (payload, more, realm) => {
        const msg = { ...more, payload };
        const matches = FIELDS.flatMap((f) => H.oracleMatches(msg, H.parseSegments(f)).filter((k) => H.at(msg, k) !== undefined));
        const { e, out, d } = await roundTrip("encF", "decF", msg, realm);
        const missing = FIELDS.filter((f) => !H.oracleMatches(msg, H.parseSegments(f)).some((k) => H.at(msg, k) !== undefined));
        if (missing.length > 0) {
          assert.equal(e.outcome, "catch", `a field that matches nothing (${missing[0]}) must fail the message`);
          assert.deepEqual(e.allOutputs("encF"), [], "nothing sent");
          assert.deepStrictEqual(H.plain(H.withoutBookkeeping(e.input)), H.plain(H.withoutBookkeeping(msg)), "the failed message is untouched");
          return;
        }
        assert.equal(e.outcome, "done", `encrypt failed: ${e.caught[0]?.msg.error?.message}`);
        for (const keys of matches) assert.ok(jweLike(H.at(out, keys)), `msg.${keys.join(".")} left encrypted`);
        const clear = JSON.stringify(H.encode(out));
        for (const s of secretsIn(msg.payload)) assert.ok(!clear.includes(JSON.stringify(s).slice(1, -1)) && !clear.includes(Buffer.from(s, "latin1").toString("base64")), `a secret left in clear: ${s.slice(0, 40)}`);
        const trail = out.privacy.trail;
        assert.equal(trail[trail.length - 1].encrypted, matches.length);
        assert.equal(d.outcome, "done", `decrypt failed: ${d.caught[0]?.msg.error?.message}`);
        const [back] = d.outputs("decF");
        const expected = H.plain(msg.payload);
        for (const keys of matches) setAt(expected, keys.slice(1), H.plain(restored(H.at(msg, keys))));
        assert.deepStrictEqual(H.plain(back.payload), expected);
      }),
      { numRuns: 120 },
    );
  });

  it("[known finding: `*` skips keys named __proto__, constructor, prototype] a secret under such a key is encrypted too", async () => {
    await H.check(
      fc.asyncProperty(fc.subarray(H.PROTO_KEYS, { minLength: 1 }), fc.constantFrom("main", "vm"), async (names, realm) => {
        const payload = H.toObject([["plain", { secret: `SECRET-${++counter}` }], ...names.map((n) => [n, { secret: `SECRET-${++counter}-${n}` }])]);
        const e = await h.send("encW", { payload }, { realm });
        if (e.outcome !== "done") return; // refusing the message is safe too
        const [out] = e.outputs("encW");
        const clear = JSON.stringify(H.encode(out));
        for (const s of secretsIn(payload)) assert.ok(!clear.includes(s), `${s} left in clear`);
      }),
      { numRuns: 10 },
    );
  });

  it("fields from the path grammar (keys, [n], *, [*], quoted keys): what the oracle finds is what gets encrypted", async () => {
    const pathArb = fc.array(H.segment, { minLength: 1, maxLength: 4 });
    const caseArb = pathArb.chain((segs) =>
      fc.record({
        segs: fc.constant(segs),
        spaces: fc.boolean(),
        payloads: fc.array(
          fc.oneof({ weight: 4, arbitrary: H.instantiateArb(segs, { leafArb: secretArb }) }, { weight: 1, arbitrary: H.tree({ key: H.plainKey, maxDepth: 3 }) }),
          { minLength: 3, maxLength: 6 },
        ),
        realm: fc.constantFrom("main", "vm"),
      }),
    );
    await H.check(
      fc.asyncProperty(caseArb, async ({ segs, spaces, payloads, realm }) => {
        const field = `payload${segs[0].kind === "key" ? "." : ""}${H.pathText(segs, { spaces }).replace(/^\*/, ".*")}`;
        await h.redeploy({ config: [keyring], nodes: nodes([field]) });
        const full = [{ kind: "key", name: "payload" }, ...segs];
        for (const payload of payloads) {
          const msg = { payload };
          const matches = H.oracleMatches(msg, full).filter((k) => H.at(msg, k) !== undefined);
          const { e, out, d } = await roundTrip("encF", "decF", msg, realm);
          if (matches.length === 0) {
            assert.equal(e.outcome, "catch", `field ${field} matches nothing: the message fails`);
            continue;
          }
          assert.equal(e.outcome, "done", `${field}: ${e.caught[0]?.msg.error?.message}`);
          for (const keys of matches) assert.ok(jweLike(H.at(out, keys)), `${field}: msg${JSON.stringify(keys)} encrypted`);
          assert.equal(out.privacy.trail[0].encrypted, matches.length);
          assert.equal(d.outcome, "done", `${field}: decrypt failed: ${d.caught[0]?.msg.error?.message}`);
          const expected = H.plain(payload);
          const nested = matches.some((a) => matches.some((b) => b !== a && b.length > a.length && a.every((k, i) => b[i] === k)));
          if (nested) continue; // a field inside another one: the outer ciphertext holds the inner value in clear
          for (const keys of matches) setAt(expected, keys.slice(1), H.plain(restored(H.at(msg, keys))));
          assert.deepStrictEqual(H.plain(d.outputs("decF")[0].payload), expected);
        }
      }),
      { numRuns: 25 },
    );
    await h.redeploy({ config: [keyring], nodes: nodes() });
  });

  it("[new finding: one value at a time blocks the loop] a field through `*` over a long array (64 KiB, 32,000 values) is encrypted without blocking, whole, and comes back", async () => {
    const arrays = fc.oneof(
      fc.integer({ min: 4000, max: 32000 }).map((n) => new Array(n).fill(0)),
      fc.integer({ min: 1000, max: 8000 }).map((n) => Array.from({ length: n }, (_, i) => `v${i}`)),
      fc.integer({ min: 2000, max: 6000 }).map((n) => Array.from({ length: n }, (_, i) => (i % 3 ? i : { i }))),
    );
    await H.check(
      fc.asyncProperty(arrays, fc.constantFrom("main", "vm"), async (payload, realm) => {
        const msg = { payload, topic: "t" };
        assert.ok(JSON.stringify(msg).length <= 65536 + 100);
        const e = await h.send("encA", msg, { realm });
        assert.equal(e.outcome, "done", e.caught[0]?.msg.error?.message);
        const [out] = e.outputs("encA");
        assert.equal(out.payload.length, payload.length);
        assert.ok(out.payload.every(jweLike) && jweLike(out.topic), "every value encrypted");
        assert.equal(out.privacy.trail[0].encrypted, payload.length + 1);
        // decrypting a message of about 3 MB is not bound by the 64 KiB rule: measured, not limited
        const d = await h.send("decA", out, { realm, noBlockCheck: true });
        assert.equal(d.outcome, "done", d.caught[0]?.msg.error?.message);
        assert.deepStrictEqual(H.plain(d.outputs("decA")[0].payload), H.plain(payload));
      }),
      { numRuns: 6 },
    );
  });

  it("messages sent behind a long one leave in the order they came, each whole", async () => {
    const batch = [
      { payload: new Array(30000).fill(1), topic: "long" },
      { payload: ["a"], topic: "short 1" },
      { payload: "not an array", topic: "fails" },
      { payload: [2, 3], topic: "short 2" },
    ];
    const r = await h.sendOnce("encA", batch, { batch: true });
    const outs = r.outputs("encA");
    assert.deepEqual(
      outs.map((o) => o.payload.length),
      [30000, 1, 2],
      "the long message first, the failed one not sent",
    );
    assert.ok(outs.every((o) => o.payload.every(jweLike) && jweLike(o.topic)));
    assert.equal(r.caught.length, 1);
    assert.match(r.caught[0].msg.error.message, /payload\[\*\] is missing/);
  });

  it("a field naming a prototype key is refused when the node starts: every message fails", async () => {
    for (const field of ['payload["__proto__"].x', "payload.constructor", "payload.*.prototype", "payload['__proto__']"]) {
      await h.redeploy({ config: [keyring], nodes: nodes([field]) });
      const r = await h.send("encF", { payload: JSON.parse('{"__proto__":{"x":"SECRET"},"constructor":"SECRET","a":{"prototype":"SECRET"}}') });
      assert.equal(r.outcome, "catch", field);
      assert.deepEqual(r.allOutputs("encF"), []);
    }
    await h.redeploy({ config: [keyring], nodes: nodes() });
  });

  // ---------------------------------------------------------------- decrypt
  const b64u = (b) => Buffer.from(b).toString("base64url");
  function jwe({ header = { alg: "dir", enc: "A256GCM", kid: "k1", cty: "text/plain" }, headerText, plaintext = Buffer.from("hello"), key = KEY, ivLen = 12 }) {
    const h0 = headerText ?? b64u(JSON.stringify(header));
    const iv = crypto.randomBytes(ivLen);
    let ct;
    let tag;
    try {
      const c = crypto.createCipheriv("aes-256-gcm", key, iv);
      c.setAAD(Buffer.from(h0, "latin1"));
      ct = Buffer.concat([c.update(plaintext), c.final()]);
      tag = c.getAuthTag();
    } catch {
      ct = crypto.randomBytes(plaintext.length);
      tag = crypto.randomBytes(16);
    }
    return [h0, "", b64u(iv), b64u(ct), b64u(tag)];
  }

  const headerArb = fc.record(
    {
      alg: fc.oneof({ weight: 6, arbitrary: fc.constant("dir") }, { weight: 1, arbitrary: fc.constantFrom("none", "A256KW", "RSA-OAEP", "dir ", "DIR", "") }, { weight: 1, arbitrary: fc.constantFrom(null, 1, ["dir"], { dir: 1 }) }),
      enc: fc.oneof({ weight: 6, arbitrary: fc.constant("A256GCM") }, { weight: 1, arbitrary: fc.constantFrom("A128GCM", "A256CBC-HS512", "a256gcm", 256) }),
      kid: fc.oneof(
        { weight: 6, arbitrary: fc.constant("k1") },
        { weight: 1, arbitrary: fc.constant("old") },
        { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "unknown", "", " k1", "k1\u0000") },
        { weight: 1, arbitrary: fc.integer({ min: 100, max: 3000 }).map((n) => "k".repeat(n)) },
        { weight: 1, arbitrary: fc.constantFrom(1, null, true, ["k1"], { k1: 1 }) },
      ),
      cty: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom("text/plain", "json", "octet-stream") },
        { weight: 1, arbitrary: fc.constantFrom("application/json", "TEXT/PLAIN; charset=utf-8", "application/ld+json", "image/png", "", "json\u0000") },
        { weight: 1, arbitrary: fc.constantFrom(1, null, { json: 1 }) },
      ),
      zip: fc.constantFrom("DEF", null),
      crit: fc.constantFrom(["exp"], [], null),
      protoKey: fc.constant(true),
    },
    { requiredKeys: [] },
  ).map(({ protoKey, ...header }) => {
    // an own "__proto__" key in the header JSON, as JSON.parse makes it
    if (protoKey) H.define(header, "__proto__", { alg: "none", kid: "old" });
    return header;
  });

  const plaintextArb = fc.oneof(
    fc.string({ maxLength: 50 }).map((s) => Buffer.from(s)),
    fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))),
    fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)),
    fc.integer({ min: 1000, max: 48000 }).map((n) => crypto.randomBytes(n)),
    fc.constant(Buffer.from([0xc3, 0x28])), // not UTF-8
    fc.constant(Buffer.from("{not json")),
  );

  /** One change to a compact JWE, from the grammar: a character, a part, padding, length. */
  const mutation = fc.oneof(
    fc.constant({ kind: "none" }),
    fc.record({ kind: fc.constant("flip"), part: fc.integer({ min: 0, max: 4 }), at: fc.nat(), to: fc.constantFrom("A", "-", "_", "+", "/", "=", " ", "\n", ".", "é", "\u0000") }),
    fc.record({ kind: fc.constant("truncate"), part: fc.integer({ min: 0, max: 4 }), at: fc.nat() }),
    fc.record({ kind: fc.constant("parts"), op: fc.constantFrom("drop", "dup", "extra", "swap") , part: fc.integer({ min: 0, max: 4 }) }),
    fc.record({ kind: fc.constant("pad"), part: fc.integer({ min: 0, max: 4 }), pad: fc.constantFrom("=", "==", " ", "\t") }),
    fc.record({ kind: fc.constant("wrap"), how: fc.constantFrom(" ", "\n", '"', "Bearer ", "\ufeff") }),
    fc.record({ kind: fc.constant("repeat"), n: fc.integer({ min: 2, max: 4000 }), what: fc.constantFrom(".", "..", "A.", "eyJ", "=") }),
  );

  function mutate(parts, m) {
    const p = [...parts];
    switch (m.kind) {
      case "none":
        return p.join(".");
      case "flip": {
        const s = p[m.part];
        if (s.length === 0) p[m.part] = m.to;
        else {
          const i = m.at % s.length;
          p[m.part] = s.slice(0, i) + m.to + s.slice(i + 1);
        }
        return p.join(".");
      }
      case "truncate":
        p[m.part] = p[m.part].slice(0, m.at % (p[m.part].length + 1));
        return p.join(".");
      case "parts":
        if (m.op === "drop") p.splice(m.part, 1);
        else if (m.op === "dup") p.splice(m.part, 0, p[m.part]);
        else if (m.op === "extra") p.push("");
        else [p[2], p[4]] = [p[4], p[2]];
        return p.join(".");
      case "pad":
        p[m.part] += m.pad;
        return p.join(".");
      case "wrap":
        return m.how + p.join(".") + (m.how === '"' ? '"' : "");
      case "repeat":
        return p.join(".") + m.what.repeat(m.n);
    }
    throw new Error(m.kind);
  }

  /** What jose makes of it (the oracle): the plaintext and header, or null when it refuses. */
  async function joseOpen(text) {
    try {
      // the key the kid names, as the keyring finds it (no kid: the active one)
      const keyFor = (header) => (header.kid === "old" ? OTHER_KEY : KEY);
      return await jose.compactDecrypt(text, keyFor, { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
    } catch {
      return null;
    }
  }

  it("JWE strings from the compact grammar, valid and broken one part at a time: opened exactly as jose opens them, or refused whole", async () => {
    const caseArb = fc.record({
      header: headerArb,
      headerText: fc.option(fc.oneof(fc.constantFrom("e30", "W10", "bnVsbA", "IiI", "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0", "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0=", "!!!"), fc.integer({ min: 4000, max: 4200 }).map((n) => b64u(JSON.stringify({ alg: "dir", enc: "A256GCM", pad: "p".repeat(n) })))), { freq: 6 }),
      plaintext: plaintextArb,
      ivLen: fc.oneof({ weight: 8, arbitrary: fc.constant(12) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 32 }) }),
      key: fc.oneof({ weight: 8, arbitrary: fc.constant(KEY) }, { weight: 1, arbitrary: fc.constant(OTHER_KEY) }),
      mutation,
      carrier: fc.constantFrom("string", "string", "string", "buffer"),
      realm: fc.constantFrom("main", "vm"),
    });
    await H.check(
      fc.asyncProperty(caseArb, async (c) => {
        const parts = jwe(c);
        const text = mutate(parts, c.mutation);
        if (text.length > 65536) return;
        const payload = c.carrier === "buffer" ? Buffer.from(text, "latin1") : text;
        const msg = { payload, topic: "t" };
        const r = await h.send("decP", msg, { realm: c.realm });
        const opened = /^[\x21-\x7e]*$/.test(text) ? await joseOpen(text) : null;
        if (r.outcome === "catch") {
          assert.deepEqual(r.allOutputs("decP"), [], "nothing sent");
          assert.deepStrictEqual(H.plain(H.withoutBookkeeping(r.input)), H.plain(H.withoutBookkeeping(msg)), "the failed message is untouched");
          const err = r.caught[0].msg.error.message;
          assert.ok(!err.includes(KEY.toString("base64url")) && err.length < 400, `a short reason, no key: ${err.slice(0, 200)}`);
          return;
        }
        assert.equal(r.outcome, "done");
        assert.ok(opened, `decrypt opened what jose refuses: ${text.slice(0, 120)}`);
        const [out] = r.outputs("decP");
        const cty = String(opened.protectedHeader.cty ?? "").toLowerCase().split(";")[0].trim().replace(/^application\//, "");
        const bytes = Buffer.from(opened.plaintext);
        if (cty === "json" || cty.endsWith("+json")) assert.deepStrictEqual(H.plain(out.payload), JSON.parse(bytes.toString("utf8")));
        else if (cty === "octet-stream") assert.ok(Buffer.isBuffer(out.payload) && out.payload.equals(bytes));
        else if (typeof out.payload === "string") assert.equal(Buffer.from(out.payload, "utf8").equals(bytes), true, "text restored byte for byte");
        else assert.ok(Buffer.isBuffer(out.payload) && out.payload.equals(bytes));
      }),
      { numRuns: 250 },
    );
  });

  it("other payloads (numbers, objects, CryptoJS-looking text up to 64 KiB, legacy ciphertexts): refused whole or opened right", async () => {
    const legacyOk = (s) => CryptoJS.AES.encrypt(s, LEGACY).toString();
    const caseArb = fc.oneof(
      H.leaf.map((v) => ({ v })),
      H.tree({ maxDepth: 3 }).map((v) => ({ v })),
      fc.tuple(fc.integer({ min: 0, max: 65000 }), fc.constantFrom("A", "+", "/", "=", "!", " ")).map(([n, ch]) => ({ v: `U2FsdGVkX1${ch.repeat(n)}` })),
      fc.string({ maxLength: 200 }).filter((s) => s.isWellFormed()).map((s) => ({ v: legacyOk(s), plain: s })),
      fc.string({ maxLength: 50 }).filter((s) => s.isWellFormed()).map((s) => ({ v: CryptoJS.AES.encrypt(s, "wrong passphrase").toString() })),
      fc.integer({ min: 1, max: 40000 }).map((n) => ({ v: legacyOk("y".repeat(n)), plain: "y".repeat(n) })),
      fc.tuple(fc.integer({ min: 1, max: 16000 }), fc.constantFrom(".", "e.", "eyJ.", "..")).map(([n, s]) => ({ v: s.repeat(n) })),
    );
    await H.check(
      fc.asyncProperty(caseArb, fc.constantFrom("main", "vm"), async ({ v, plain }, realm) => {
        const msg = { payload: v };
        const r = await h.send("decP", msg, { realm });
        if (plain !== undefined) {
          assert.equal(r.outcome, "done", `a CryptoJS ciphertext of the legacy passphrase opens: ${r.caught[0]?.msg.error?.message}`);
          assert.equal(r.outputs("decP")[0].payload, plain);
          return;
        }
        assert.equal(r.outcome, "catch", "refused");
        assert.deepEqual(r.allOutputs("decP"), []);
        assert.deepStrictEqual(H.plain(H.withoutBookkeeping(r.input)), H.plain(H.withoutBookkeeping(msg)), "the failed message is untouched");
      }),
      { numRuns: 150 },
    );
  });
});
