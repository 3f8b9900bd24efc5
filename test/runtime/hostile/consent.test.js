"use strict";
/**
 * Hostile messages for privacy-consent and privacy-consent-gate in a real runtime (see
 * harness.js), with the file journal. msg.consent is built from the command's grammar
 * (action, subject, purpose, ttl or expiresAt, policyVersion, method, note), each field
 * also hostile: spaced, control characters, 10 KB strings, numbers that print oddly,
 * prototype names, `99999999999999w`; the gate gets subjects and purposes of every
 * type. What a grant lets through, the gate must let through for the same subject;
 * what the journal holds must come back the same after a crash.
 */
const assert = require("node:assert/strict");
const fc = require("fast-check");
const H = require("./harness");

const PURPOSES = [
  { id: "analytics", description: "", policyVersion: "1" },
  { id: "marketing", description: "", policyVersion: "2" },
  { id: "weird.id-ü", description: "", policyVersion: "3" },
];
const store = { id: "cStore", type: "privacy-consent-store", backend: "file", file: "", purposes: PURPOSES };
const nodes = [
  { id: "cMgr", type: "privacy-consent", store: "cStore", method: "" },
  {
    id: "cGate",
    type: "privacy-consent-gate",
    store: "cStore",
    purposeFrom: "config",
    purpose: "analytics",
    subjectProperty: "topic",
    onBlocked: "output",
    outputs: 2,
  },
  {
    id: "cGateMsg",
    type: "privacy-consent-gate",
    store: "cStore",
    purposeFrom: "msg",
    purpose: "",
    subjectProperty: 'payload.user["id"]',
    onBlocked: "drop",
    outputs: 1,
  },
];

let run = 0;

/**
 * A subject the store could never hold (the help: control characters, line separators,
 * unpaired surrogates, longer than 512 characters after trimming, a number beyond 2^53):
 * the manager and the gate fail such a message naming the field, they never pass or block
 * it. A subject that is missing (not a string or number, or empty) is no such error: the
 * gate blocks it with no-subject.
 */
// eslint-disable-next-line no-control-regex -- these are the characters the test is about
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const UNPAIRED = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
function subjectRefused(v) {
  if (typeof v === "number") return Number.isFinite(v) && Math.abs(v) > Number.MAX_SAFE_INTEGER;
  if (typeof v !== "string") return false;
  const t = v.trim();
  if (t.length > 512) return true;
  return CONTROL.test(t) || UNPAIRED.test(t);
}
/** Subjects as they come in: ids, spaced, control characters, long, numbers, prototype names. */
const subjectArb = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9@._-]{1,20}$/).map((s) => `${s}-${++run}`) },
  // (spaces around a subject: the known finding below, kept out of the other tests)
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "in side",
      "new\nline",
      "nul\u0000",
      "ü-ñ",
      "😀",
      'a"b\\c',
      '","purpose":"analytics',
      "__proto__",
      "constructor",
      "toString",
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 10000, max: 10240 }).map((n) => `${"s".repeat(n)}${++run}`) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 7, 1.5, 1e21, -1, 2 ** 53 + 2) },
  { weight: 1, arbitrary: fc.constantFrom("", null, true, { id: 1 }, ["a"], NaN, Infinity) },
);
const purposeArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("analytics", "marketing", "weird.id-ü") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      " analytics ",
      "Analytics",
      "unknown",
      "",
      "__proto__",
      "constructor",
      "hasOwnProperty",
      1,
      null,
    ),
  },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom("analytics", "marketing", "unknown", "analytics"), {
      minLength: 0,
      maxLength: 4,
    }),
  },
  { weight: 1, arbitrary: fc.constant(Array.from({ length: 101 }, () => "analytics")) },
);
const ttlArb = fc.oneof(
  fc.constantFrom(3600, 1, 86400 * 365, "90s", "30m", "12h", "30d", "2w", "1.5h", " 5 m ", "5M"),
  fc.constantFrom(
    0,
    -5,
    1e300,
    3153600001,
    NaN,
    "0s",
    "5x",
    "",
    "1e3s",
    "99999999999999w",
    "9999999999999999999s",
    "100000000000w",
  ),
);
const expiresArb = fc.constantFrom(
  "2999-01-01T00:00:00Z",
  "2001-01-01",
  Date.now() + 3600000,
  8.64e15,
  "+275760-09-13T00:00:00.000Z",
  "+275760-09-13T00:00:00.001Z",
  "garbage",
  "",
);
const textArb = fc.oneof(fc.constantFrom("panel", "", " ", "x".repeat(1001), "\u0000"), fc.string({ maxLength: 20 }));

/** A command as a flow would send it (mostly valid), with at most one field made hostile. */
const validCommand = fc.oneof(
  fc.record(
    {
      action: fc.constant("grant"),
      purpose: fc.constantFrom("analytics", ["analytics", "marketing"], "marketing"),
      ttl: fc.constantFrom(3600, "30d", "2w"),
    },
    { requiredKeys: ["action", "purpose"] },
  ),
  fc.record({
    action: fc.constant("grant"),
    purpose: fc.constantFrom("analytics", ["analytics", "weird.id-ü"]),
    expiresAt: fc.constantFrom("2999-01-01T00:00:00Z", 8.64e15),
  }),
  fc.record(
    { action: fc.constant("withdraw"), purpose: fc.constantFrom("analytics", ["analytics", "marketing"]) },
    { requiredKeys: ["action"] },
  ),
  fc.record({ action: fc.constantFrom("query", "export") }),
  fc.record({ action: fc.constant("list") }),
);
const mutation = fc.oneof(
  fc.record({ key: fc.constant("action"), value: fc.constantFrom("GRANT", "grant ", "", "__proto__", 1, null) }),
  fc.record({ key: fc.constant("purpose"), value: purposeArb }),
  fc.record({ key: fc.constant("ttl"), value: ttlArb }),
  fc.record({ key: fc.constant("expiresAt"), value: expiresArb }),
  fc.record({ key: fc.constant("policyVersion"), value: fc.constantFrom("1", 1, "2", "", "x".repeat(101)) }),
  fc.record({ key: fc.constantFrom("method", "note"), value: textArb }),
  // (an own "__proto__" key: the new finding below, kept out of this test)
  fc.record({ key: fc.constantFrom("extra", "constructor"), value: fc.constant({ a: 1 }) }),
);
const commandArb = fc.tuple(validCommand, fc.option(mutation, { freq: 2 })).map(([c, m]) => {
  const cmd = { ...c };
  if (m) H.define(cmd, m.key, m.value);
  return cmd;
});

const ISO = /^(?:\d{4}|[+-]\d{6})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("hostile messages: privacy-consent and privacy-consent-gate in a real runtime", function () {
  this.timeout(240000);
  let h;
  before(async () => {
    h = await H.startHostile({ config: [store], nodes });
  });
  beforeEach(async () => h.ensureRunning());
  after(async () => h && h.stop());

  /** The gate's answer for a subject (msg.topic): "allowed" or the block reason. */
  async function gate(topic, realm = "main") {
    const r = await h.send("cGate", { topic, payload: 21.5 }, { realm });
    assert.equal(r.outcome, "done", `the gate failed: ${r.caught[0]?.msg.error?.message}`);
    const [pass] = r.outputs("cGate", 0);
    const [blocked] = r.outputs("cGate", 1);
    assert.ok(Boolean(pass) !== Boolean(blocked), "one output, exactly");
    if (pass) return "allowed";
    assert.equal(blocked.payload, 21.5);
    return blocked.privacy.blocked.reason;
  }

  it("commands from the grammar with hostile fields: a receipt, or a refusal that names msg.consent; the gate agrees with every grant and withdrawal", async () => {
    await H.check(
      fc.asyncProperty(subjectArb, commandArb, fc.constantFrom("main", "vm"), async (subject, c, realm) => {
        const consent = H.toObject(Object.keys(c).map((k) => [k, c[k]]));
        if (c.action !== "list") H.define(consent, "subject", subject);
        const msg = { consent, topic: "cmd", payload: "keep me" };
        const r = await h.send("cMgr", msg, { realm });
        if (r.outcome === "catch") {
          assert.deepEqual(r.allOutputs("cMgr"), [], "nothing sent");
          assert.deepStrictEqual(
            H.plain(H.withoutBookkeeping(r.input)),
            H.plain(H.withoutBookkeeping(msg)),
            "the failed message is untouched",
          );
          const reason = r.caught[0].msg.error.message;
          assert.match(
            reason,
            /msg\.consent/,
            `the refusal names what is wrong in msg.consent: ${H.shorten(reason, 200)}`,
          );
          return;
        }
        const [out] = r.outputs("cMgr");
        assert.ok(out, "an answer");
        assert.equal(out.payload === "keep me", false, "the answer is in msg.payload");
        assert.equal(out.topic, "cmd");
        assert.deepEqual(H.strangeValues(out), []);
        const trail = out.privacy.trail[out.privacy.trail.length - 1];
        assert.equal(trail.type, "privacy-consent");
        if (c.action !== "grant" && c.action !== "withdraw") return;
        const receipts = Array.isArray(out.payload) ? out.payload : [out.payload];
        for (const rc of receipts) {
          assert.equal(typeof rc.receiptId, "string");
          assert.match(rc.timestamp, ISO);
          assert.ok(rc.expiresAt === null || ISO.test(rc.expiresAt), `expiresAt ${rc.expiresAt}`);
        }
        const purposes = receipts.map((rc) => rc.purpose);
        if (!purposes.includes("analytics")) return;
        const rc = receipts.find((x) => x.purpose === "analytics");
        const expired = rc.expiresAt !== null && Date.parse(rc.expiresAt) <= Date.now() + 2000;
        // The gate reads msg.topic as the subject: what was granted for it must pass, what was withdrawn must not.
        const answer = await gate(subject, realm);
        if (c.action === "grant" && !expired)
          assert.equal(
            answer,
            "allowed",
            `granted for ${JSON.stringify(subject)} (receipt subject ${JSON.stringify(rc.subject)}), the gate says ${answer}`,
          );
        if (c.action === "withdraw") assert.equal(answer, "withdrawn");
      }),
      { numRuns: 200 },
    );
  });

  it("[known finding: consent subject normalisation] a subject with spaces or control characters is let through after a grant for it", async () => {
    await H.check(
      fc.asyncProperty(fc.constantFrom(" spaced ", "tab\t", "\u00a0nbsp", "x\n"), async (s) => {
        const subject = `${s}${++run}`;
        const r = await h.send("cMgr", { consent: { action: "grant", subject, purpose: "analytics" } });
        if (r.outcome !== "done") return; // refusing such a subject is fine too
        assert.equal(
          await gate(subject),
          "allowed",
          `granted for ${JSON.stringify(subject)}, receipt for ${JSON.stringify(r.outputs("cMgr")[0].payload.subject)}`,
        );
      }),
      { numRuns: 8 },
    );
  });

  it('[new finding: subjects with a lone surrogate are stored under another subject] the consent of "a\\ud800" is for it alone', async () => {
    await H.check(
      fc.asyncProperty(fc.constantFrom("\ud800", "\udfff", "x\ud83d"), async (tail) => {
        const subject = `a${++run}${tail}`;
        const r = await h.send("cMgr", { consent: { action: "grant", subject, purpose: "analytics" } });
        if (r.outcome !== "done") return; // refusing such a subject is fine too
        assert.equal(await gate(subject), "allowed", "the gate finds the consent granted for this subject");
        assert.equal(
          await gate(subject.replace(/[\ud800-\udfff]/g, "\ufffd")),
          "no-consent",
          "another subject (U+FFFD in its place) has none",
        );
      }),
      { numRuns: 3 },
    );
  });

  it('[new finding: the manager\'s copy of a message turns an own "__proto__" key into a prototype] keys JSON.parse made stay data in the answer; msg.consent with one is refused', async () => {
    await H.check(
      fc.asyncProperty(fc.constantFrom("consent", "meta"), fc.constantFrom("main", "vm"), async (where, realm) => {
        const hostile = JSON.parse('{"__proto__":{"isAdmin":true},"ok":1}');
        const consent = { action: "query", subject: `p-${++run}` };
        const msg = where === "consent" ? { consent: Object.assign(hostile, consent) } : { consent, meta: hostile };
        const r = await h.send("cMgr", msg, { realm });
        if (where === "consent") {
          // a command has no such field (the help): refused, naming it, the message untouched
          assert.equal(r.outcome, "catch", "a command with an own __proto__ key is refused");
          assert.match(r.caught[0].msg.error.message, /\bmsg\.consent must not have a key named __proto__\b/);
          checkUntouched(r, "cMgr", msg);
          return;
        }
        assert.equal(r.outcome, "done", `failed: ${r.caught[0]?.msg.error?.message}`);
        const out = r.outputs("cMgr")[0];
        assert.deepEqual(H.strangeValues(out), [], "no object in the answer has a prototype made from data");
        assert.ok(Object.prototype.hasOwnProperty.call(out.meta, "__proto__"), "the key passes on as data");
        assert.equal(out.meta.isAdmin, undefined, "its value is no prototype");
      }),
      { numRuns: 4 },
    );
  });

  it("[known finding: consent ttl range errors] a ttl or expiry too far away is refused with a reason that names it", async () => {
    await H.check(
      fc.asyncProperty(
        fc.constantFrom(
          { ttl: "99999999999999w" },
          { ttl: "9999999999999999999s" },
          { ttl: "100000000000w" },
          { ttl: "1e3s" },
          { expiresAt: "+275760-09-13T00:00:00.001Z" },
        ),
        async (limit) => {
          const r = await h.send("cMgr", {
            consent: { action: "grant", subject: `ttl-${++run}`, purpose: "analytics", ...limit },
          });
          assert.equal(r.outcome, "catch", "refused");
          assert.match(r.caught[0].msg.error.message, /msg\.consent\.(ttl|expiresAt)/, r.caught[0].msg.error.message);
        },
      ),
      { numRuns: 5 },
    );
  });

  it("the gate: subjects and purposes of every type and shape, a msg.privacy of any shape: passed or blocked with a reason, or failed whole", async () => {
    const topicArb = fc.oneof(subjectArb, H.tree({ maxDepth: 2 }), H.deepValue({ min: 100, max: 300 }));
    const privacyArb = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.constant({ trail: [] }),
      fc.constant({}),
      fc.constantFrom("x", [], { trail: "x" }),
    );
    await H.check(
      fc.asyncProperty(
        topicArb,
        privacyArb,
        fc.oneof(purposeArb, H.leaf),
        fc.constantFrom("main", "vm"),
        async (topic, privacy, purpose, realm) => {
          for (const [node, msg] of [
            ["cGate", { topic, privacy, payload: 1 }],
            ["cGateMsg", { payload: { user: H.toObject([["id", topic]]) }, purpose, privacy }],
          ]) {
            const r = await h.send(node, msg, { realm });
            const field = node === "cGate" ? "msg.topic" : 'msg.payload.user["id"]';
            if (r.outcome === "catch") {
              checkUntouched(r, node, msg);
              const reason = r.caught[0].msg.error.message;
              const forSubject = subjectRefused(topic) && reason.includes(`${field} (the subject) must `);
              assert.ok(
                forSubject || /msg\.privacy|msg\.purpose/.test(reason),
                `refused for msg.privacy, msg.purpose or a subject no store holds only: ${reason}`,
              );
              continue;
            }
            assert.ok(
              !subjectRefused(topic),
              `a subject no store can hold (${H.shorten(fc.stringify(topic), 60)}) was passed or blocked, not failed`,
            );
            const outs = r.events.filter((e) => e.kind === "out");
            assert.ok(outs.length <= 1, "one output at most");
            if (outs.length === 0) {
              assert.equal(node, "cGateMsg", "dropped only where blocked messages are dropped");
              continue;
            }
            const out = outs[0].msg;
            const t = out.privacy.trail[out.privacy.trail.length - 1];
            assert.equal(t.type, "privacy-consent-gate");
            if (outs[0].port === 1) {
              assert.ok(
                ["no-consent", "withdrawn", "expired", "policy-outdated", "no-subject", "store-unavailable"].includes(
                  out.privacy.blocked.reason,
                ),
              );
              assert.equal(t.allowed, false);
            } else assert.equal(t.allowed, true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("list and export with hostile subjects in the store: whole answers; after a crash the journal gives the gate the same answers", async () => {
    const subjects = [
      "spaced out",
      'a"b\\c',
      '","purpose":"analytics',
      "__proto__",
      "😀",
      `${"s".repeat(500)}-long`,
      "1e+21",
    ];
    // Subjects no store can hold: every command for them fails naming msg.consent.subject,
    // the gate fails a message about them, and they never reach the journal.
    for (const subject of ["nul\u0000", "line\u2028sep", "lone\ud800", `${"s".repeat(513)}`]) {
      const consent = { action: "grant", subject, purpose: "analytics" };
      const r = await h.send("cMgr", { consent });
      assert.equal(r.outcome, "catch", `grant ${JSON.stringify(subject.slice(0, 20))} is refused`);
      assert.match(r.caught[0].msg.error.message, /\bmsg\.consent\.subject must /);
      const g = await h.send("cGate", { topic: subject, payload: 21.5 });
      assert.equal(g.outcome, "catch", `the gate fails a message about ${JSON.stringify(subject.slice(0, 20))}`);
      assert.match(g.caught[0].msg.error.message, /\bmsg\.topic \(the subject\) must /);
    }
    for (const subject of subjects) {
      for (const consent of [
        { action: "grant", subject, purpose: ["analytics", "marketing"] },
        { action: "withdraw", subject, purpose: "marketing" },
      ]) {
        const r = await h.send("cMgr", { consent });
        assert.equal(
          r.outcome,
          "done",
          `${consent.action} ${JSON.stringify(subject.slice(0, 20))}: ${r.caught[0]?.msg.error?.message}`,
        );
      }
    }
    const before = [];
    for (const subject of subjects) before.push(await gate(subject));
    const list = await h.send("cMgr", { consent: { action: "list" } });
    assert.equal(list.outcome, "done");
    const listed = list.outputs("cMgr")[0].payload.subjects;
    assert.ok(Array.isArray(listed));
    for (const subject of subjects) {
      const e = await h.send("cMgr", { consent: { action: "export", subject } });
      assert.equal(
        e.outcome,
        "done",
        `export ${JSON.stringify(subject.slice(0, 20))}: ${e.caught[0]?.msg.error?.message}`,
      );
      const out = e.outputs("cMgr")[0].payload;
      assert.ok(out.receipts.length >= 2, `the receipts of ${JSON.stringify(subject.slice(0, 20))}`);
    }
    await h.restart({ kill: true });
    const after = [];
    for (const subject of subjects) after.push(await gate(subject));
    assert.deepEqual(after, before, "the journal read back gives the same answers");
  });
});

function checkUntouched(r, node, msg) {
  assert.deepEqual(r.allOutputs(node), [], "nothing sent");
  assert.deepStrictEqual(
    H.plain(H.withoutBookkeeping(r.input)),
    H.plain(H.withoutBookkeeping(msg)),
    "the failed message is untouched",
  );
}
