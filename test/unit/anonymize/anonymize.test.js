"use strict";
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fc = require("fast-check");
const ops = require("../../../dist/anonymize/anonymize-ops.js");
const noiseOps = require("../../../dist/anonymize/noise-ops.js");
const { csprng } = require("../../../dist/anonymize/dp-noise.js");
const { Anonymizer, AnonymizeError, REMOVED, anonymizeSchema } = require("../../../dist/anonymize/anonymize.js");
const { validateConfig } = require("../../../dist/core/validation.js");

const key = crypto.randomBytes(32);
const subkey = Buffer.from(crypto.hkdfSync("sha256", key, Buffer.alloc(0), Buffer.from("privacy-pseudonymize"), 32));

function engine(raw, sk = subkey) {
  const v = validateConfig(anonymizeSchema, raw);
  if (!v.ok) throw new Error(v.error);
  return new Anonymizer(v.value, sk);
}

describe("lib/anonymize operators", () => {
  it("pseudonyms equal HMAC-SHA256(HKDF subkey, UTF-8 of String(value)) computed with node:crypto", () => {
    const p = new ops.Pseudonymizer(subkey);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.integer(),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.boolean(),
        ),
        fc.integer({ min: 8, max: 64 }),
        fc.string({ maxLength: 5 }),
        (v, length, prefix) => {
          const expected =
            prefix +
            crypto
              .createHmac("sha256", subkey)
              .update(Buffer.from(String(v), "utf8"))
              .digest("hex")
              .slice(0, length);
          assert.equal(p.pseudonym(v, { length, prefix }), expected);
        },
      ),
    );
  });

  it("pseudonyms stay exact past the memo's bound (repeats and more distinct values than it holds)", () => {
    const p = new ops.Pseudonymizer(subkey);
    const oracle = (v) => crypto.createHmac("sha256", subkey).update(v, "utf8").digest("hex").slice(0, 16);
    for (let i = 0; i < ops.Pseudonymizer.MEMO_MAX + 50; i++) p.pseudonym(`dev-${i}`, { length: 16, prefix: "" });
    for (const i of [0, 1, 9999, 10000, 10049])
      assert.equal(p.pseudonym(`dev-${i}`, { length: 16, prefix: "" }), oracle(`dev-${i}`));
    assert.equal(p.pseudonym("dev-7", { length: 8, prefix: "x_" }), `x_${oracle("dev-7").slice(0, 8)}`);
  });

  it("pseudonyms are stable and joinable across engines with the same key, and differ under another key", () => {
    const a = engine({ rules: [{ path: "id", op: "pseudonymize" }] });
    const b = engine({ rules: [{ path: "id", op: "pseudonymize" }] });
    const other = engine({ rules: [{ path: "id", op: "pseudonymize" }] }, crypto.randomBytes(32));
    assert.equal(a.run({ id: "cam-1" }).value.id, b.run({ id: "cam-1" }).value.id);
    assert.notEqual(a.run({ id: "cam-1" }).value.id, other.run({ id: "cam-1" }).value.id);
    assert.match(a.run({ id: "cam-1" }).value.id, /^[0-9a-f]{16}$/);
  });

  it("hash is unkeyed SHA-256 hex of UTF-8 of String(value)", () => {
    assert.equal(ops.hash("+491711234567"), crypto.createHash("sha256").update("+491711234567").digest("hex"));
    assert.equal(ops.hash(42, 12), crypto.createHash("sha256").update("42").digest("hex").slice(0, 12));
  });

  it("mask keeps the first/last N code points", () => {
    assert.equal(ops.mask("alice@example.com", { char: "*", keepFirst: 1, keepLast: 4 }), "a************.com");
    assert.equal(ops.mask("🙂🙂🙂🙂", { char: "#", keepFirst: 0, keepLast: 1 }), "###🙂");
    assert.equal(
      ops.mask("ab", { char: "*", keepFirst: 1, keepLast: 1 }),
      "**",
      "a value too short to mask keeps nothing",
    );
    assert.equal(ops.mask(4711, { char: "x", keepFirst: 0, keepLast: 2 }), "xx11");
    assert.throws(() => ops.mask({}, { char: "*", keepFirst: 0, keepLast: 0 }), ops.OperatorTypeError);
  });

  it("generalizes IPv4 to /24 (or a prefix) and IPv6 to /48", () => {
    assert.equal(ops.generalizeIp("192.168.1.77", 24, 48), "192.168.1.0");
    assert.equal(ops.generalizeIp("192.168.1.77", 16, 48), "192.168.0.0");
    assert.equal(ops.generalizeIp("10.255.255.255", 12, 48), "10.240.0.0");
    assert.equal(ops.generalizeIp("2001:db8:85a3:8d3:1319:8a2e:370:7348", 24, 48), "2001:db8:85a3::");
    assert.equal(ops.generalizeIp("fe80::1ff:fe23:4567:890a%eth0", 24, 64), "fe80::");
    assert.equal(ops.generalizeIp("2001:db8:85a3:ffff::1", 24, 52), "2001:db8:85a3:f000::");
    assert.equal(ops.generalizeIp("::ffff:192.0.2.128", 24, 128), "::ffff:c000:280");
    assert.throws(() => ops.generalizeIp("not an ip", 24, 48), /IPv4 or IPv6/);
    assert.throws(() => ops.generalizeIp(17, 24, 48), /got number/);
  });

  it("generalizes dates, numbers, postcodes and coordinates", () => {
    assert.equal(ops.generalizeDate("2024-03-15T10:22:33Z", "day"), "2024-03-15");
    assert.equal(ops.generalizeDate("2024-03-15T10:22:33Z", "month"), "2024-03");
    assert.equal(ops.generalizeDate(Date.UTC(2024, 2, 15, 10), "hour"), "2024-03-15T10");
    assert.equal(ops.generalizeDate(new Date("2024-03-15T00:00:00Z"), "year"), "2024");
    assert.throws(() => ops.generalizeDate("yesterday", "day"), /valid date/);
    assert.equal(ops.generalizeRange(34, 10), "30-39");
    assert.equal(ops.generalizeRange(-3, 10), "-10--1");
    assert.equal(ops.generalizeRange("71", 5), "70-74");
    assert.equal(ops.generalizeRange(93, 10, 90), "90+");
    assert.equal(ops.generalizeRange(2.26, 0.5), "2-2.5");
    // a number too large to have a fraction at that width stays itself, never Infinity
    assert.equal(ops.generalizeRange(1e300, 10), "1e+300-1e+300");
    assert.equal(ops.generalizeRange(-Number.MAX_VALUE, 0.5), `${-Number.MAX_VALUE}-${-Number.MAX_VALUE}`);
    assert.equal(ops.generalizeCoordinates(1e307, 2), 1e307);
    assert.deepEqual(ops.generalizeCoordinates([Number.MAX_VALUE, 1.234], 2), [Number.MAX_VALUE, 1.23]);
    assert.equal(ops.bucket(1e300, { mode: "fixed", width: 10, origin: 0, output: "range" }), "1e+300-1e+300");
    assert.throws(() => ops.generalizeRange("old", 10), ops.OperatorTypeError);
    assert.equal(ops.generalizePostcode("SW1A 1AA", 3), "SW1");
    assert.equal(ops.generalizePostcode(10115, 2), "10");
    assert.equal(ops.generalizeCoordinates(52.520008, 2), 52.52);
    assert.deepEqual(ops.generalizeCoordinates({ lat: 52.520008, lon: 13.404954, alt: 34 }, 1), {
      lat: 52.5,
      lon: 13.4,
      alt: 34,
    });
    assert.deepEqual(ops.generalizeCoordinates([52.520008, 13.404954], 3), [52.52, 13.405]);
    assert.equal(ops.generalizeCoordinates("52.520008, 13.404954", 2), "52.52, 13.40");
  });

  it("noise never uses Math.random, and clamps and rounds after noising, and refuses non-numbers", () => {
    const saved = Math.random;
    Math.random = () => {
      throw new Error("Math.random must not be used");
    };
    try {
      const e = engine({
        rules: [{ path: "v", op: "noise", epsilon: 0.1, sensitivity: 10, min: 0, max: 10, decimals: 1 }],
      });
      for (let i = 0; i < 200; i++) {
        const v = e.run({ v: 5 }).value.v;
        assert.ok(v >= 0 && v <= 10 && Math.round(v * 10) / 10 === v);
      }
    } finally {
      Math.random = saved;
    }
    const m = new noiseOps.LaplaceMechanism({ epsilon: 1, sensitivity: 1 });
    assert.throws(() => m.apply("5", csprng), /noise expects a finite number, got string/);
    assert.throws(() => m.apply(NaN, csprng), ops.OperatorTypeError);
    assert.throws(() => m.apply(1e300, csprng), /too large for its sensitivity/);
  });
});

describe("lib/anonymize engine", () => {
  it("applies rules in order, through wildcards, to a copy", () => {
    const e = engine({
      rules: [
        { path: "devices[*].mac", op: "hash", length: 12 },
        { path: "devices[*].owner", op: "redact" },
        { path: "note", op: "scan", actions: { email: { op: "mask", keepLast: 4 }, ipv4: { op: "generalize" } } },
        { path: "name", op: "replace", value: "someone" },
        { path: "user.email", op: "replace" },
      ],
    });
    const input = {
      devices: [{ mac: "aa:bb:cc:dd:ee:ff", owner: "al" }, { mac: "11:22:33:44:55:66" }],
      note: "to al@ex.com via 10.0.0.9",
      name: "Al",
      user: { email: "al@ex.com" },
    };
    const before = JSON.stringify(input);
    const { value, summary } = e.run(input);
    assert.equal(JSON.stringify(input), before, "the input is not changed");
    assert.deepEqual(value, {
      devices: [{ mac: ops.hash("aa:bb:cc:dd:ee:ff", 12) }, { mac: ops.hash("11:22:33:44:55:66", 12) }],
      note: "to *****.com via 10.0.0.0",
      name: "someone",
      user: { email: "<EMAIL>" },
    });
    assert.deepEqual(summary.entities, { email: 1, ipv4: 1 });
    assert.equal(summary.fields.hash, 2);
  });

  it("a rule without a path applies to the whole value; redact of the whole value removes it", () => {
    assert.equal(engine({ rules: [{ op: "scan" }] }).run("call +44 20 7946 0958").value, "call <PHONE>");
    assert.equal(engine({ rules: [{ op: "redact" }] }).run("x").value, REMOVED);
  });

  it("scan of an object or array scans every string inside it and keeps the rest", () => {
    const input = { t: 21, notes: ["mail al@ex.com", { deep: "from 10.0.0.9" }], ok: true, raw: Buffer.from("a@b.co") };
    const { value, summary } = engine({ rules: [{ path: "", op: "scan" }] }).run(input);
    assert.deepEqual(value.notes, ["mail <EMAIL>", { deep: "from <IPV4>" }]);
    assert.equal(value.t, 21);
    assert.equal(value.raw, input.raw);
    assert.deepEqual(summary.entities, { email: 1, ipv4: 1 });
    assert.equal(input.notes[1].deep, "from 10.0.0.9", "the input is not changed");
    assert.throws(
      () => engine({ rules: [{ path: "", op: "scan" }] }).run(42),
      /scan expects a string, an object or an array, got number/,
    );
  });

  it("wrong types throw an AnonymizeError naming rule, operator and path, never the value", () => {
    const e = engine({ rules: [{ path: "a.b", op: "generalize", kind: "ip" }] });
    assert.throws(
      () => e.run({ a: { b: "secret-host" } }),
      (err) => {
        assert.ok(err instanceof AnonymizeError);
        assert.match(err.message, /^rule 1 \(generalize a\.b\): /);
        assert.ok(!err.message.includes("secret-host"));
        return true;
      },
    );
  });

  it("null and missing values are left alone", () => {
    assert.deepEqual(
      engine({
        rules: [
          { path: "a", op: "hash" },
          { path: "b", op: "noise", epsilon: 1 },
        ],
      }).run({ a: null }).value,
      { a: null },
    );
  });

  it("k-anonymity: coarsens generalized quasi-identifiers, then suppresses small groups", () => {
    const records = [];
    for (let i = 0; i < 60; i++)
      records.push({ age: 20 + ((i * 7) % 50), zip: String(10000 + ((i * 37) % 300)), reading: i });
    records.push({ age: 99, zip: "99999", reading: -1 });
    const e = engine({
      rules: [
        { path: "age", op: "generalize", kind: "range", width: 5 },
        { path: "zip", op: "generalize", kind: "postcode", keep: 5 },
      ],
      kAnonymity: { k: 4, quasiIdentifiers: ["age", "zip"], maxSuppression: 0.05 },
    });
    const { value, summary } = e.run(records);
    const groups = new Map();
    for (const r of value) groups.set(`${r.age}|${r.zip}`, (groups.get(`${r.age}|${r.zip}`) || 0) + 1);
    for (const [g, n] of groups) assert.ok(n >= 4, `group ${g} has ${n} < k records`);
    assert.equal(summary.records, 61);
    assert.equal(summary.suppressed, 61 - value.length);
    assert.ok(summary.suppressed <= 0.05 * 61 + 1e-9);
    assert.ok(Object.keys(summary.coarsened).length > 0);
  });

  it("k-anonymity without generalize rules only suppresses", () => {
    const e = engine({ rules: [], kAnonymity: { k: 2, quasiIdentifiers: ["g"] } });
    const { value, summary } = e.run([{ g: "a" }, { g: "a" }, { g: "b" }]);
    assert.deepEqual(value, [{ g: "a" }, { g: "a" }]);
    assert.equal(summary.suppressed, 1);
  });

  it("copying a record never turns an own __proto__ key into a prototype", () => {
    const hostile = JSON.parse(
      '{"__proto__": {"polluted": 1}, "a": "x", "b": {"constructor": {"prototype": {"x": 1}}, "c": 1}}',
    );
    const { value } = engine({
      rules: [
        { path: "a", op: "mask" },
        { path: "b.c", op: "redact" },
      ],
    }).run(hostile);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ["__proto__", "a", "b"]);
    assert.equal(value.a, "*");
    assert.deepEqual(Object.keys(value.b), ["constructor"]);
    assert.equal(hostile.b.c, 1, "the input is not changed");
    assert.equal({}.polluted, undefined);
  });

  it("`*` rules reach own __proto__, constructor and prototype keys as data, in objects and in records", () => {
    const text =
      '{"dev":{"secret":"s1","t":1},"__proto__":{"secret":"s2","t":2},"constructor":{"secret":"s3"},"prototype":{"secret":"s4"}}';
    for (const op of ["mask", "hash", "redact"]) {
      const input = JSON.parse(text);
      const { value, summary } = engine({ rules: [{ path: "*.secret", op }] }).run(input);
      assert.equal(Object.getPrototypeOf(value), Object.prototype);
      assert.deepEqual(Object.keys(value), ["dev", "__proto__", "constructor", "prototype"], op);
      for (const k of Object.keys(value)) {
        const inner = Object.getOwnPropertyDescriptor(value, k).value;
        if (op === "redact") assert.equal(Object.prototype.hasOwnProperty.call(inner, "secret"), false, `${op} ${k}`);
        else assert.ok(typeof inner.secret === "string" && !/^s\d$/.test(inner.secret), `${op} ${k}: ${inner.secret}`);
      }
      assert.equal(Object.getOwnPropertyDescriptor(value, "__proto__").value.t, 2);
      assert.deepEqual(summary.fields, { [op]: 4 });
      assert.equal(JSON.stringify(input), text, "the input is not changed");
      assert.equal({}.secret, undefined);
      assert.equal(Object.prototype.secret, undefined);
    }
    const records = engine({ rules: [{ path: "*", op: "mask" }] }).run(
      JSON.parse('[{"__proto__":"alice","a":"x"},{"prototype":"bob"}]'),
    ).value;
    assert.equal(JSON.stringify(records), '[{"__proto__":"*****","a":"*"},{"prototype":"***"}]');
    assert.equal(Object.getPrototypeOf(records[0]), Object.prototype);
  });

  it("a wrong type under `*` is an error naming the rule's path, never a key found in the data", () => {
    const key = "alice@example.com";
    assert.throws(
      () => engine({ rules: [{ path: "*.age", op: "noise", epsilon: 1 }] }).run({ [key]: { age: "old" } }),
      (e) => e instanceof AnonymizeError && e.message.startsWith("rule 1 (noise *.age): ") && !e.message.includes(key),
    );
  });

  it("a rule that must step into a Map or a Set fails instead of passing its entries in silence", () => {
    const value = { devs: new Map([["a", { secret: 1 }]]) };
    assert.throws(
      () => engine({ rules: [{ path: "devs.*.secret", op: "redact" }] }).run(value),
      /meets a Map, whose entries no path can reach/,
    );
    assert.throws(
      () => engine({ rules: [{ path: "devs.a", op: "redact" }] }).run({ devs: new Set([1]) }),
      /meets a Set/,
    );
  });

  it("scan looks inside class instances too, and fails on a Map or a Set rather than pass its strings unscanned", () => {
    class Note {
      constructor(text) {
        this.text = text;
      }
    }
    const { value } = engine({ rules: [{ path: "n", op: "scan" }] }).run({
      n: { inner: new Note("mail bob@example.org") },
    });
    assert.equal(value.n.inner.text, "mail <EMAIL>");
    assert.ok(value.n.inner instanceof Note, "the copy keeps the class");
    for (const bad of [new Map([["k", "bob@example.org"]]), new Set(["bob@example.org"])]) {
      assert.throws(
        () => engine({ rules: [{ path: "n", op: "scan" }] }).run({ n: { inner: bad } }),
        (e) => e instanceof AnonymizeError && /scan cannot look inside a (Map|Set)/.test(e.message),
      );
      const redacted = engine({ rules: [{ path: "n", op: "scan" }], onError: "redact" }).run({
        n: { inner: bad },
        k: 1,
      });
      assert.deepEqual(redacted.value, { k: 1 });
    }
  });

  it("redacting keys copies the record without them, keeping an own __proto__ key as data and a null prototype", () => {
    const hostile = JSON.parse(
      '{"__proto__": {"polluted": 1}, "name": "Alice", "a": "x", "n": {"k": 1, "v": 2, "w": 3}}',
    );
    const { value, summary } = engine({
      rules: [
        { path: "a", op: "mask" },
        { path: "name", op: "redact" },
        { path: "n.*", op: "redact" },
      ],
    }).run(hostile);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ["__proto__", "a", "n"]);
    assert.deepEqual(value.n, {});
    assert.deepEqual(summary.fields, { mask: 1, redact: 4 });
    assert.equal(hostile.name, "Alice", "the input is not changed");
    assert.deepEqual(Object.keys(hostile.n), ["k", "v", "w"]);
    assert.equal({}.polluted, undefined);

    const bare = Object.assign(Object.create(null), { name: "Alice", id: 7 });
    const out = engine({ rules: [{ path: "name", op: "redact" }] }).run(bare).value;
    assert.equal(Object.getPrototypeOf(out), null);
    assert.deepEqual(Object.keys(out), ["id"]);
    assert.equal(bare.name, "Alice");
  });

  it("a rule list gives what its rules give one after another (property)", () => {
    // the engine reorders and shares work between rules; applying them one at a time is the oracle
    const path = fc.constantFrom("a", "b", "c", "d", "n.x", "n.y", "n", "*", "n.*", "");
    const rule = fc.oneof(
      path.map((p) => ({ path: p, op: "redact" })),
      path.map((p) => ({ path: p, op: "mask", keepLast: 1 })),
      path.map((p) => ({ path: p, op: "replace" })),
      path.map((p) => ({ path: p, op: "hash", length: 8 })),
      path.map((p) => ({ path: p, op: "pseudonymize" })),
      path.map((p) => ({ path: p, op: "generalize", kind: "range", width: 5 })),
    );
    const value = fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: -50, max: 50 }), fc.constant(null));
    const record = fc.record(
      { a: value, b: value, c: value, d: value, n: fc.record({ x: value, y: value }, { requiredKeys: [] }) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 6 }), record, (rules, rec) => {
        const all = engine({ rules, onError: "redact" }).run(rec);
        let one = rec;
        const fields = {};
        let redactedOnError = 0;
        for (const r of rules) {
          if (one === REMOVED) break;
          const step = engine({ rules: [r], onError: "redact" }).run(one);
          one = step.value;
          for (const [op, n] of Object.entries(step.summary.fields)) fields[op] = (fields[op] ?? 0) + n;
          redactedOnError += step.summary.redactedOnError;
        }
        assert.deepEqual(all.value, one);
        assert.deepEqual(all.summary.fields, fields);
        assert.equal(all.summary.redactedOnError, redactedOnError);
      }),
      { numRuns: 2000 },
    );
  });

  it("hostile values: only AnonymizeError, no pollution, input unchanged (property)", () => {
    const e = engine({
      rules: [
        { path: "*", op: "mask" },
        { path: "*.*", op: "generalize", kind: "range" },
        { path: "a[*]", op: "scan" },
        { path: "b", op: "pseudonymize" },
        { path: "c", op: "noise", epsilon: 1 },
        { path: "d", op: "generalize", kind: "coordinates" },
      ],
      kAnonymity: { k: 2, quasiIdentifiers: ["a", "b"] },
    });
    fc.assert(
      fc.property(
        fc.anything({
          withNullPrototype: true,
          withBigInt: true,
          withDate: true,
          withTypedArray: true,
          withSparseArray: true,
          key: fc.constantFrom("__proto__", "constructor", "prototype", "a", "b", "c", "d", "x"),
        }),
        (v) => {
          let before;
          try {
            before = JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
          } catch {
            before = undefined;
          }
          try {
            e.run(v);
          } catch (err) {
            assert.ok(err instanceof AnonymizeError, String(err && err.stack));
          }
          if (before !== undefined)
            assert.equal(
              JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x)),
              before,
            );
          assert.equal({}.polluted, undefined);
          assert.equal(Object.prototype.x, undefined);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("scan output never contains a detected value, whatever the action (property)", () => {
    const { scanText } = require("../../../dist/anonymize/pii-scan.js");
    const { VALID, NEAR_MISSES } = require("../../fixtures/pii-corpus.js");
    const actions = [
      { op: "redact" },
      { op: "replace" },
      { op: "replace", value: "[x]" },
      { op: "hash", length: 12 },
      { op: "pseudonymize", prefix: "p_" },
      { op: "mask" },
    ];
    const engines = actions.map((action) => engine({ rules: [{ op: "scan", action }] }));
    const text = fc
      .array(
        fc.oneof(
          fc.string(),
          fc.constantFrom(...Object.values(VALID).flat(), ...NEAR_MISSES, " ", "\n", ", ", "@", ":"),
        ),
        { maxLength: 20 },
      )
      .map((a) => a.join(""));
    fc.assert(
      fc.property(text, fc.nat(actions.length - 1), (t, which) => {
        const found = scanText(t).map((e) => t.slice(e.start, e.end));
        const out = engines[which].run(t).value;
        for (const v of found)
          assert.ok(!out.includes(v), `${actions[which].op} left "${v}" in ${JSON.stringify(out)}`);
      }),
      { numRuns: 600 },
    );
  });

  it("refuses bad options at config time (fail closed)", () => {
    for (const rules of [
      [{ path: "a", op: "nope" }],
      [{ path: "a", op: "mask", char: "**" }],
      [{ path: "a", op: "noise", epsilon: 0 }],
      [{ path: "a", op: "noise", epsilon: 1, min: 5, max: 1 }],
      [{ path: "a", op: "generalize" }],
      [{ path: "a", op: "generalize", kind: "ip", ipv4Prefix: 33 }],
      [{ path: "a", op: "pseudonymize", length: 4 }],
      [{ path: "a", op: "scan", entities: ["ssn"] }],
      [{ path: "a", op: "scan", actions: { email: { op: "generalize" } } }],
      [{ path: "a", op: "scan", actions: { email: { op: "noise" } } }],
      [{ path: "a", op: "hash", salt: "x" }],
      [{ path: "a..b", op: "redact" }],
    ]) {
      const v = validateConfig(anonymizeSchema, { rules });
      assert.equal(v.ok, false, JSON.stringify(rules));
      assert.match(v.error, /^invalid config: "rules/);
    }
  });
});
