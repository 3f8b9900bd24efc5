"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const fc = require("fast-check");
const vm = require("node:vm");
const {
  parseCommand,
  ttlSeconds,
  receiptsOf,
  parseJournalLine,
  parseTime,
  readId,
  SUBJECT_RULE,
  PURPOSE_RULE,
  IdRefusal,
} = require("../../../dist/consent/consent");
const { ConsentStore } = require("../../../dist/consent/consent-store");

const PURPOSES = [
  { id: "analytics", description: "usage statistics", policyVersion: "1" },
  { id: "cloud-backup", description: "copies to the cloud", policyVersion: "3" },
];
const T0 = Date.parse("2026-01-01T00:00:00Z");

/** A receipt with every field a journal line must hold, and nothing else (a fresh copy each call). */
function journalReceipt() {
  return {
    receiptId: "r",
    subject: "s",
    purpose: "p",
    status: "granted",
    timestamp: "2026-01-01T00:00:00.000Z",
    expiresAt: null,
    policyVersion: "1",
    method: "m",
  };
}

function memoryStore(clock = { t: T0 }, purposes = PURPOSES) {
  const store = new ConsentStore({ backend: "memory", purposes, owner: "test", now: () => clock.t });
  return store;
}

describe("lib/consent: commands", () => {
  const bad = [
    [{ action: "approve", subject: "a" }, /msg\.consent\.action must be one of/],
    [{ action: "grant", purpose: "analytics" }, /msg\.consent\.subject is required/],
    [
      JSON.parse('{"__proto__":{"x":1},"action":"query","subject":"a"}'),
      /msg\.consent must not have a key named __proto__/,
    ],
    [
      JSON.parse('{"constructor":1,"action":"query","subject":"a"}'),
      /msg\.consent must not have a key named constructor/,
    ],
    [{ action: "grant", subject: "a" }, /msg\.consent\.purpose is required/],
    [{ action: "grant", subject: { x: 1 }, purpose: "analytics" }, /msg\.consent\.subject/],
    [{ action: "grant", subject: "a", purpose: 7 }, /msg\.consent\.purpose/],
    [{ action: "grant", subject: "a", purpose: "analytics", ttl: -5 }, /msg\.consent\.ttl/],
    [{ action: "grant", subject: "a", purpose: "analytics", ttl: "soon" }, /msg\.consent\.ttl/],
    [
      { action: "grant", subject: "a", purpose: "analytics", ttl: 5, expiresAt: "2030-01-01" },
      /expiresAt or ttl, not both/,
    ],
    [{ action: "grant", subject: "a", purpose: "analytics", expiresAt: "not a date" }, /msg\.consent\.expiresAt/],
    [{ action: "withdraw", subject: "a", ttl: 5 }, /msg\.consent\.ttl is not allowed/],
    [{ action: "list", subject: "a" }, /msg\.consent\.subject is not allowed/],
    [{ action: "grant", subject: "a", purpose: "analytics", extra: 1 }, /msg\.consent\.extra is not allowed/],
    // Range: a ttl or expiry no Date can hold used to end in "RangeError: Invalid time value".
    [
      { action: "grant", subject: "a", purpose: "analytics", ttl: "99999999999999w" },
      /^MessageError: msg\.consent\.ttl must be at most 100 years/,
    ],
    [
      { action: "grant", subject: "a", purpose: "analytics", ttl: 1e300 },
      /^MessageError: msg\.consent\.ttl must be at most 100 years/,
    ],
    [
      { action: "grant", subject: "a", purpose: "analytics", ttl: "0s" },
      /^MessageError: msg\.consent\.ttl must be more than 0/,
    ],
    [
      { action: "grant", subject: "a", purpose: "analytics", ttl: NaN },
      /^MessageError: msg\.consent\.ttl must be a number of seconds/,
    ],
    [
      { action: "grant", subject: "a", purpose: "analytics", expiresAt: 1e20 },
      /^MessageError: msg\.consent\.expiresAt must be a date/,
    ],
    [
      { action: "grant", subject: "a", purpose: "analytics", expiresAt: "99999999999999999999" },
      /^MessageError: msg\.consent\.expiresAt must be a date/,
    ],
    // One normalisation of ids, the field named.
    [
      { action: "grant", subject: "   ", purpose: "analytics" },
      /^MessageError: msg\.consent\.subject must not be empty/,
    ],
    [
      { action: "grant", subject: "a\u0000b", purpose: "analytics" },
      /^MessageError: msg\.consent\.subject must not contain control characters/,
    ],
    [
      { action: "grant", subject: "a\u2028b", purpose: "analytics" },
      /^MessageError: msg\.consent\.subject must not contain control characters/,
    ],
    [
      { action: "grant", subject: "\ud800x", purpose: "analytics" },
      /^MessageError: msg\.consent\.subject must not contain control characters, line separators or unpaired surrogates/,
    ],
    [
      { action: "grant", subject: "x".repeat(513), purpose: "analytics" },
      /^MessageError: msg\.consent\.subject must be at most 512 characters long/,
    ],
    [
      { action: "grant", subject: 2 ** 60, purpose: "analytics" },
      /^MessageError: msg\.consent\.subject must lie between/,
    ],
    [
      { action: "grant", subject: "a", purpose: ["analytics", "bad\tname"] },
      /^MessageError: msg\.consent\.purpose item 2 must not contain control characters/,
    ],
    [
      { action: "grant", subject: "a", purpose: ["analytics", " analytics "] },
      /^MessageError: msg\.consent\.purpose item 2 repeats an earlier purpose/,
    ],
    [
      { action: "grant", subject: "a", purpose: "p".repeat(201) },
      /^MessageError: msg\.consent\.purpose must be at most 200 characters long/,
    ],
    [
      { action: "grant", subject: "a", purpose: "__proto__" },
      /^MessageError: msg\.consent\.purpose must not be __proto__/,
    ],
    [
      { action: "grant", subject: "a", purpose: "analytics", method: "form\n" + "x" },
      /^MessageError: msg\.consent\.method must not contain control characters/,
    ],
    [
      { action: "grant", subject: "a", purpose: "analytics", policyVersion: "1\u0085" },
      /^MessageError: msg\.consent\.policyVersion must not contain control characters/,
    ],
    ["grant", /msg\.consent must be of type object/],
    [undefined, /msg\.consent is required/],
  ];
  for (const [cmd, re] of bad) {
    it(`refuses ${JSON.stringify(cmd)}`, () => assert.throws(() => parseCommand(cmd), re));
  }
  it("normalises subjects and purposes one way: trimmed, numbers as text, no empty, over-long or control characters", () => {
    assert.equal(readId(" alice ", SUBJECT_RULE), "alice");
    assert.equal(readId(42, SUBJECT_RULE), "42");
    assert.equal(readId("\u{1F600}", SUBJECT_RULE), "\u{1F600}", "a surrogate pair is one character");
    for (const absent of [undefined, null, "", "  ", NaN, Infinity, {}, ["a"], true, Buffer.from("a")]) {
      const r = readId(absent, SUBJECT_RULE);
      assert.ok(r instanceof IdRefusal && r.absent, String(absent));
    }
    for (const bad of ["a\u0000", "a\u007f", "a\u0085b", "\udc00", "x".repeat(513), 2 ** 54]) {
      const r = readId(bad, SUBJECT_RULE);
      assert.ok(r instanceof IdRefusal && !r.absent, JSON.stringify(bad));
    }
    assert.ok(readId(7, PURPOSE_RULE) instanceof IdRefusal, "a purpose is a string");
    assert.equal(readId(" cloud ", PURPOSE_RULE), "cloud");
    // One person, one id: composed and decomposed forms are the same subject (Unicode NFC).
    assert.equal(readId("Jose\u0301", SUBJECT_RULE), "Jos\u00e9");
    assert.equal(readId("\u212b", SUBJECT_RULE), "\u00c5", "the Angstrom sign is the letter");
  });

  it("refuses an id far over the limit without normalising it (a huge non-ASCII value does not hold the event loop)", () => {
    const huge = "e\u0301".repeat(2e6);
    const normalize = String.prototype.normalize;
    let calls = 0;
    String.prototype.normalize = function (...args) {
      calls++;
      return normalize.apply(this, args);
    };
    try {
      const r = readId(huge, SUBJECT_RULE);
      assert.ok(r instanceof IdRefusal && /at most 512/.test(r.problem), String(r.problem));
      assert.equal(calls, 0, "normalised 4 million characters to refuse them");
      // At the limit after normalisation, though longer before it: still taken.
      assert.equal(readId("e\u0301".repeat(512), SUBJECT_RULE), "\u00e9".repeat(512));
    } finally {
      String.prototype.normalize = normalize;
    }
  });

  it("a withdrawal in one Unicode form blocks the subject in every form", async () => {
    const s = memoryStore();
    await s.execute({ action: "grant", subject: "Jos\u00e9", purpose: "analytics" }, "m");
    assert.equal(typeof s.check(readId("Jose\u0301", SUBJECT_RULE), "analytics"), "object");
    await s.execute({ action: "withdraw", subject: "Jose\u0301", purpose: "analytics" }, "m");
    for (const form of ["Jos\u00e9", "Jose\u0301"]) assert.equal(s.check(readId(form, SUBJECT_RULE), "analytics"), "withdrawn");
    const listed = await s.execute({ action: "export", subject: "Jose\u0301" }, "m");
    assert.equal(listed.receipts.length, 2, JSON.stringify(listed));
  });
  it("normalises the command: trimmed ids, ttl in seconds, expiresAt in ms (a Date from another realm too)", () => {
    const cmd = parseCommand({
      action: "grant",
      subject: " spaced ",
      purpose: [" analytics "],
      ttl: "1.5h",
      method: " form ",
    });
    assert.deepEqual(cmd, { action: "grant", subject: "spaced", purpose: ["analytics"], ttl: 5400, method: "form" });
    const foreign = vm.runInNewContext("new Date(Date.UTC(2030, 0, 1))");
    assert.equal(
      parseCommand({ action: "grant", subject: "a", purpose: "p", expiresAt: foreign }).expiresAt,
      Date.UTC(2030, 0, 1),
    );
    assert.equal(
      parseCommand({ action: "grant", subject: "a", purpose: "p", expiresAt: "2030-01-01T00:00:00Z" }).expiresAt,
      Date.UTC(2030, 0, 1),
    );
    assert.equal(parseCommand({ action: "grant", subject: "a", purpose: "p", ttl: "3600" }).ttl, 3600);
  });
  it("refuses an expiry more than 100 years ahead with a message naming the field", async () => {
    const s = memoryStore();
    await assert.rejects(
      s.execute({ action: "grant", subject: "a", purpose: "analytics", expiresAt: "2200-01-01T00:00:00Z" }, "m"),
      /^MessageError: msg\.consent\.expiresAt 2200-01-01T00:00:00\.000Z is more than 100 years ahead/,
    );
    const r = await s.execute({ action: "grant", subject: "a", purpose: "analytics", ttl: "5200w" }, "m");
    assert.equal(r.expiresAt, new Date(T0 + 5200 * 7 * 86400e3).toISOString());
  });
  it("reads ttl as seconds or as a number with a unit", () => {
    assert.equal(ttlSeconds(90), 90);
    assert.equal(ttlSeconds("90s"), 90);
    assert.equal(ttlSeconds("30m"), 1800);
    assert.equal(ttlSeconds("12h"), 43200);
    assert.equal(ttlSeconds("30d"), 2592000);
    assert.equal(ttlSeconds("2w"), 1209600);
  });
  it("accepts a journal line only when every receipt has the right shape", () => {
    const good = journalReceipt();
    assert.equal(receiptsOf({ receipts: [good] }).length, 1);
    // Times that do not parse would make an expiry that never comes (NaN <= now is false).
    assert.equal(receiptsOf({ receipts: [{ ...good, expiresAt: "soon" }] }), undefined);
    assert.equal(receiptsOf({ receipts: [{ ...good, timestamp: "t" }] }), undefined);
    assert.equal(
      parseJournalLine(JSON.stringify({ receipts: [{ ...good, expiresAt: "soon" }] })),
      undefined,
      "fast path too",
    );
    assert.equal(
      parseJournalLine(JSON.stringify({ receipts: [{ ...good, expiresAt: "2030-01-01T00:00:00.000Z" }] })).length,
      1,
    );
    assert.equal(receiptsOf({ receipts: [{ ...good, status: "maybe" }] }), undefined);
    assert.equal(receiptsOf({ receipts: [good, { ...good, subject: 1 }] }), undefined);
    assert.equal(receiptsOf(null), undefined);
    assert.equal(receiptsOf({ receipts: "x" }), undefined);
  });
});

describe("lib/consent: journal lines", () => {
  const text = fc.string({ unit: "binary", maxLength: 30 });
  const receipt = fc.record(
    {
      receiptId: fc.uuid(),
      subject: text.filter((s) => s.length > 0),
      purpose: text.filter((s) => s.length > 0),
      status: fc.constantFrom("granted", "withdrawn"),
      timestamp: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      expiresAt: fc.option(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        { nil: null },
      ),
      policyVersion: text,
      method: text,
      note: fc.option(text, { nil: undefined }),
    },
    {
      requiredKeys: ["receiptId", "subject", "purpose", "status", "timestamp", "expiresAt", "policyVersion", "method"],
    },
  );
  it("reads every line the journal writes exactly as JSON.parse does (fast path included)", () => {
    fc.assert(
      fc.property(fc.array(receipt, { minLength: 1, maxLength: 3 }), (receipts) => {
        const line = JSON.stringify({ receipts });
        assert.deepEqual(parseJournalLine(line), JSON.parse(line).receipts);
      }),
      { numRuns: 1000 },
    );
  });
  it("reads times as Date.parse does", () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (d) => {
        assert.equal(parseTime(d.toISOString()), d.getTime());
      }),
      { numRuns: 1000 },
    );
    for (const t of [
      "2026-03-08T10:00:00+02:00",
      "2026-03-08",
      "nonsense",
      "2026-13-45T99:99:99.999Z",
      "2026-02-29T00:00:00.000Z",
      "2024-02-29T00:00:00.000Z",
      "2026-04-31T00:00:00.000Z",
      "2026-01-01T24:00:00.000Z",
      "2026-00-10T00:00:00.000Z",
    ]) {
      assert.deepEqual(parseTime(t), Date.parse(t), t);
    }
  });
  it("refuses lines that are not records, whatever they hold", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (junk) => {
        const got = parseJournalLine(junk);
        if (got !== undefined) assert.deepEqual(got, JSON.parse(junk).receipts);
      }),
      { numRuns: 1000 },
    );
    const good = JSON.stringify({ receipts: [journalReceipt()] });
    for (let cut = 1; cut < good.length; cut++)
      assert.equal(parseJournalLine(good.slice(0, cut)), undefined, `cut at ${cut}`);
    assert.equal(parseJournalLine(good.replace('"granted"', '"maybe"')), undefined);
  });
});

describe("lib/consent: decisions", () => {
  it("denies by default, passes after a grant, blocks after a withdrawal", async () => {
    const s = memoryStore();
    assert.equal(s.check("alice", "analytics"), "no-consent");
    const r = await s.execute(
      { action: "grant", subject: "alice", purpose: "analytics", method: "web-form" },
      "node-red",
    );
    assert.equal(r.status, "granted");
    assert.equal(r.policyVersion, "1");
    assert.equal(r.method, "web-form");
    assert.equal(r.expiresAt, null);
    assert.equal(r.timestamp, new Date(T0).toISOString());
    assert.match(r.receiptId, /^[0-9a-f-]{36}$/);
    assert.equal(typeof s.check("alice", "analytics"), "object");
    assert.equal(
      (await s.execute({ action: "query", subject: "alice", purpose: "analytics" }, "m")).receiptId,
      r.receiptId,
    );
    assert.equal(s.check("alice", "cloud-backup"), "no-consent");
    assert.equal(s.check("bob", "analytics"), "no-consent");
    const w = await s.execute({ action: "withdraw", subject: "alice", purpose: "analytics" }, "node-red");
    assert.equal(w.status, "withdrawn");
    assert.equal(w.method, "node-red");
    assert.equal(s.check("alice", "analytics"), "withdrawn");
  });

  it("blocks as expired once the clock passes expiresAt or the ttl", async () => {
    const clock = { t: T0 };
    const s = memoryStore(clock);
    const r = await s.execute({ action: "grant", subject: "a", purpose: "analytics", ttl: "1h" }, "m");
    assert.equal(r.expiresAt, new Date(T0 + 3600e3).toISOString());
    await s.execute({ action: "grant", subject: "a", purpose: "cloud-backup", expiresAt: T0 + 10e3 }, "m");
    clock.t = T0 + 9999;
    assert.equal(typeof s.check("a", "cloud-backup"), "object");
    clock.t = T0 + 10e3;
    assert.equal(s.check("a", "cloud-backup"), "expired");
    assert.equal(typeof s.check("a", "analytics"), "object");
    clock.t = T0 + 3600e3;
    assert.equal(s.check("a", "analytics"), "expired");
    await assert.rejects(
      s.execute(
        { action: "grant", subject: "a", purpose: "analytics", expiresAt: new Date(clock.t).toISOString() },
        "m",
      ),
      /not in the future/,
    );
  });

  it("blocks as policy-outdated when the purpose's policy version changes, until granted again", async () => {
    const s = memoryStore();
    await s.execute({ action: "grant", subject: "a", purpose: "cloud-backup" }, "m");
    s.index.setPurposes([PURPOSES[0], { ...PURPOSES[1], policyVersion: "4" }]);
    assert.equal(s.check("a", "cloud-backup"), "policy-outdated");
    await assert.rejects(
      s.execute({ action: "grant", subject: "a", purpose: "cloud-backup", policyVersion: "3" }, "m"),
      /not the current version "4"/,
    );
    const r = await s.execute({ action: "grant", subject: "a", purpose: "cloud-backup", policyVersion: "4" }, "m");
    assert.equal(r.policyVersion, "4");
    assert.equal(typeof s.check("a", "cloud-backup"), "object");
  });

  it("grants and withdraws several purposes at once, and withdraw without a purpose withdraws all", async () => {
    const s = memoryStore();
    const rs = await s.execute({ action: "grant", subject: 42, purpose: ["analytics", "cloud-backup"] }, "m");
    assert.deepEqual(
      rs.map((r) => [r.subject, r.purpose, r.status]),
      [
        ["42", "analytics", "granted"],
        ["42", "cloud-backup", "granted"],
      ],
    );
    const ws = await s.execute({ action: "withdraw", subject: "42" }, "m");
    assert.deepEqual(ws.map((r) => r.purpose).sort(), ["analytics", "cloud-backup"]);
    assert.equal(s.check("42", "analytics"), "withdrawn");
    assert.equal(s.check("42", "cloud-backup"), "withdrawn");
  });

  it("refuses an unknown purpose and changes nothing (even when other purposes are valid)", async () => {
    const s = memoryStore();
    await assert.rejects(
      s.execute({ action: "grant", subject: "a", purpose: ["analytics", "marketing"] }, "m"),
      /unknown purpose "marketing"/,
    );
    assert.equal(s.check("a", "analytics"), "no-consent");
    assert.equal(s.index.receiptCount, 0);
  });

  it("hands out copies: changing a receipt downstream does not change the store", async () => {
    const s = memoryStore();
    const r = await s.execute({ action: "grant", subject: "a", purpose: "analytics" }, "m");
    r.status = "withdrawn";
    r.subject = "mallory";
    const e1 = await s.execute({ action: "export", subject: "a" }, "m");
    e1.receipts[0].purpose = "x";
    const e2 = await s.execute({ action: "export", subject: "a" }, "m");
    assert.equal(e2.receipts[0].status, "granted");
    assert.equal(e2.receipts[0].purpose, "analytics");
    assert.equal((await s.execute({ action: "query", subject: "a", purpose: "analytics" }, "m")).state, "granted");
  });

  it("answers query, list and export", async () => {
    const clock = { t: T0 };
    const s = memoryStore(clock);
    const g = await s.execute({ action: "grant", subject: "a", purpose: "analytics", note: "kitchen panel" }, "m");
    clock.t += 1000;
    const w = await s.execute({ action: "withdraw", subject: "a", purpose: "analytics" }, "m");
    await s.execute({ action: "grant", subject: "b", purpose: "cloud-backup" }, "m");
    const q = await s.execute({ action: "query", subject: "a", purpose: "analytics" }, "m");
    assert.equal(q.state, "withdrawn");
    assert.equal(q.allowed, false);
    assert.equal(q.receiptId, w.receiptId);
    const qa = await s.execute({ action: "query", subject: "b" }, "m");
    assert.equal(qa.purposes["cloud-backup"].state, "granted");
    assert.equal(qa.purposes.analytics.state, "no-consent");
    const l = await s.execute({ action: "list" }, "m");
    assert.deepEqual(
      l.purposes.map((p) => p.id),
      ["analytics", "cloud-backup"],
    );
    assert.deepEqual(l.subjects, [
      { subject: "a", purposes: { analytics: "withdrawn" } },
      { subject: "b", purposes: { "cloud-backup": "granted" } },
    ]);
    const e = await s.execute({ action: "export", subject: "a" }, "m");
    assert.deepEqual(
      e.receipts.map((r) => r.receiptId),
      [g.receiptId, w.receiptId],
    );
    assert.equal(e.receipts[0].note, "kitchen panel");
    assert.equal(e.purposes.analytics.state, "withdrawn");
  });
});

describe("lib/consent: property test against a simple model", function () {
  this.timeout(120000);
  const subjects = ["a", "b", "c"];
  const purposeIds = ["analytics", "cloud-backup", "marketing"]; // marketing is undeclared
  const command = fc.oneof(
    fc.record(
      {
        action: fc.constant("grant"),
        subject: fc.constantFrom(...subjects),
        purpose: fc.oneof(
          fc.constantFrom(...purposeIds),
          fc.uniqueArray(fc.constantFrom(...purposeIds), { minLength: 1, maxLength: 3 }),
        ),
        ttl: fc.option(fc.integer({ min: -5, max: 100 }), { nil: undefined }),
      },
      { requiredKeys: ["action", "subject", "purpose"] },
    ),
    fc.record(
      {
        action: fc.constant("withdraw"),
        subject: fc.constantFrom(...subjects),
        purpose: fc.option(
          fc.oneof(
            fc.constantFrom(...purposeIds),
            fc.uniqueArray(fc.constantFrom(...purposeIds), { minLength: 1, maxLength: 3 }),
          ),
          { nil: undefined },
        ),
      },
      { requiredKeys: ["action", "subject"] },
    ),
    fc.record({ action: fc.constant("tick"), seconds: fc.integer({ min: 1, max: 60 }) }),
    fc.record({ action: fc.constant("bump"), purpose: fc.constantFrom("analytics", "cloud-backup") }),
  );

  function modelCheck(model, versions, now, subject, purpose) {
    if (!(purpose in versions)) return "no-consent";
    const e = model.get(`${subject}|${purpose}`);
    if (!e) return "no-consent";
    if (e.status === "withdrawn") return "withdrawn";
    if (e.expires !== null && e.expires <= now) return "expired";
    if (e.version !== versions[purpose]) return "policy-outdated";
    return "granted";
  }

  for (const backend of ["memory", "file"]) {
    it(`gives the model's answers (${backend} backend, file reloaded at the end)`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consent-prop-"));
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(command, { maxLength: 40 }), async (cmds) => {
          const clock = { t: T0 };
          const versions = { analytics: "1", "cloud-backup": "1" };
          const purposes = () => Object.entries(versions).map(([id, v]) => ({ id, description: "", policyVersion: v }));
          const file = path.join(dir, `j${run++}.jsonl`);
          const store = new ConsentStore({ backend, file, purposes: purposes(), owner: "prop", now: () => clock.t });
          const model = new Map();
          const counts = { a: 0, b: 0, c: 0 };
          /** Every subject and purpose: the store's check gives the model's answer. */
          const agreesWithModel = (st, when) => {
            for (const s of subjects)
              for (const p of purposeIds) {
                const got = st.check(s, p);
                assert.equal(
                  typeof got === "string" ? got : "granted",
                  modelCheck(model, versions, clock.t, s, p),
                  `${s}/${p} ${when}`,
                );
              }
          };
          try {
            for (const c of cmds) {
              if (c.action === "tick") {
                clock.t += c.seconds * 1000;
                continue;
              }
              if (c.action === "bump") {
                versions[c.purpose] = String(Number(versions[c.purpose]) + 1);
                store.index.setPurposes(purposes());
                continue;
              }
              const list = c.purpose === undefined ? null : Array.isArray(c.purpose) ? c.purpose : [c.purpose];
              let valid;
              if (c.action === "grant") valid = list.every((p) => p in versions) && (c.ttl === undefined || c.ttl > 0);
              else valid = list === null || list.every((p) => p in versions || model.has(`${c.subject}|${p}`));
              let out;
              try {
                out = await store.execute(c, "m");
              } catch (e) {
                assert.ok(!valid, `valid command refused: ${JSON.stringify(c)}: ${e.message}`);
                continue;
              }
              assert.ok(valid, `invalid command accepted: ${JSON.stringify(c)}`);
              const targets = list || [
                ...new Set([
                  ...Object.keys(versions),
                  ...[...model.keys()].filter((k) => k.startsWith(`${c.subject}|`)).map((k) => k.split("|")[1]),
                ]),
              ];
              const receipts = Array.isArray(out) ? out : [out];
              assert.equal(receipts.length, targets.length);
              counts[c.subject] += receipts.length;
              assert.equal(Array.isArray(out), !(typeof c.purpose === "string"));
              for (const p of targets) {
                model.set(
                  `${c.subject}|${p}`,
                  c.action === "grant"
                    ? {
                        status: "granted",
                        expires: c.ttl === undefined ? null : clock.t + c.ttl * 1000,
                        version: versions[p],
                      }
                    : { status: "withdrawn", expires: null, version: versions[p] },
                );
              }
              agreesWithModel(store, `after ${JSON.stringify(c)}`);
            }
            const exported = await store.execute({ action: "export", subject: "a" }, "m");
            assert.equal(exported.receipts.length, counts.a);
            assert.ok(exported.receipts.every((r) => r.subject === "a"));
          } finally {
            await store.close();
          }
          if (backend === "file") {
            const again = new ConsentStore({ backend, file, purposes: purposes(), owner: "prop", now: () => clock.t });
            try {
              assert.equal(again.unavailable, undefined);
              agreesWithModel(again, "after reload");
            } finally {
              await again.close();
            }
          }
        }),
        { numRuns: backend === "file" ? 60 : 200 },
      );
    });
  }

  it("never crashes, pollutes or changes anything on hostile commands", async () => {
    const s = memoryStore();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              action: fc.constantFrom("grant", "withdraw", "query", "list", "export", "__proto__"),
              subject: fc.anything(),
              purpose: fc.anything(),
              ttl: fc.anything(),
              expiresAt: fc.anything(),
              ["__proto__"]: fc.anything(),
            },
            { requiredKeys: [] },
          ),
        ),
        async (raw) => {
          const before = s.index.receiptCount;
          try {
            await s.execute(raw, "m");
          } catch (e) {
            assert.match(e.message, /^msg\.consent/);
            assert.equal(s.index.receiptCount, before);
          }
          assert.equal({}.polluted, undefined);
          assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "subject"), false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
