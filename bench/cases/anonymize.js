"use strict";
/**
 * privacy-anonymize field rules on a 20-field record next to the core change node.
 * The text scan is measured in anonymize-scan.js (light messages, so the raw loops
 * there are not timed together with the garbage of these records).
 */
const crypto = require("node:crypto");

const KEYRING = {
  id: "bench-anon-keyring",
  type: "privacy-keyring",
  activeKid: "bench-1",
  credentials: { keys: JSON.stringify({ "bench-1": crypto.createHash("sha256").update("bench key").digest("base64url") }) },
};

function record(i) {
  return {
    deviceId: `doorbell-${i % 500}`, email: `user${i % 300}@example.com`, phone: "+44 20 7946 0958", name: "Alice Example",
    ip: `192.168.1.${i % 250}`, age: 20 + (i % 60), seen: "2024-03-15T10:22:33Z", temp: 21.5, hum: 40, battery: 87,
    rssi: -67, fw: "2.14.3", model: "DB-2", event: "ring", seq: i, online: true, lux: 120, co2: 612, session: "", trace: "",
  };
}
// Built once, copied per message: building 10 records from scratch per message costs
// more than the nodes under test and its noise would drown the change node's hop.
const BASE = Array.from({ length: 1000 }, (_, i) => record(i));
// Ids never seen before: 20000 distinct ones cycle through a 10000-entry memo, so it never hits.
const NEW_IDS = Array.from({ length: 20000 }, () => crypto.randomUUID());

const FIELD_RULES = [
  { path: "deviceId", op: "pseudonymize", prefix: "dev_" },
  { path: "email", op: "pseudonymize" },
  { path: "phone", op: "mask", keepLast: 2 },
  { path: "name", op: "redact" },
  { path: "ip", op: "generalize", kind: "ip" },
  { path: "age", op: "generalize", kind: "range", width: 10 },
  { path: "seen", op: "generalize", kind: "date", granularity: "hour" },
  { path: "temp", op: "noise", epsilon: 1, sensitivity: 0.5, decimals: 1 },
];

// The operators of issue 18, one rule each (dateShift takes its subject from the record's deviceId).
const NEW_OPERATORS = [
  ["timePart", { path: "seen", op: "timePart", part: "hour" }],
  ["timePart, Europe/Berlin", { path: "seen", op: "timePart", part: "hour", timeZone: "Europe/Berlin" }],
  ["dateShift", { path: "seen", op: "dateShift" }, { subjectFrom: "record", subject: "deviceId" }],
  ["bucket", { path: "temp", op: "bucket", width: 5 }],
  ["noise", { path: "temp", op: "noise", epsilon: 1, sensitivity: 0.5, decimals: 1 }],
  ["geometric", { path: "battery", op: "geometric", epsilon: 1 }],
  ["gaussian", { path: "temp", op: "gaussian", epsilon: 1, delta: 1e-5, sensitivity: 0.5, decimals: 1 }],
  ["randomizedResponse", { path: "online", op: "randomizedResponse", epsilon: 1 }],
];

const HOPS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const perRecord = (def) => HOPS.map((h) => def(`r${h}`));
const FIELD_RULES_NEW_IDS = FIELD_RULES.map((r) => (r.path === "deviceId" ? { ...r, path: "session" } : r.path === "email" ? { ...r, path: "trace" } : r));
const anonymize = (extra) => ({ type: "privacy-anonymize", keyring: KEYRING.id, onError: "error", ...extra });
module.exports = {
  name: "anonymize",
  description: "privacy-anonymize field rules on a 20-field record, beside core change",
  messages: 1000,
  configNodes: [KEYRING],
  // ten records, one per hop: each hop anonymizes a fresh record, not the output of the one before
  makeMessage: (i) => {
    const msg = {};
    for (const h of HOPS) msg[`r${h}`] = { ...BASE[i % 1000], session: NEW_IDS[(i * 20 + 2 * h) % 20000], trace: NEW_IDS[(i * 20 + 2 * h + 1) % 20000] };
    return msg;
  },
  variants: [
    { name: "change (set msg.x)", baseline: true, node: { type: "change", rules: [{ t: "set", p: "x", pt: "msg", to: "1", tot: "num" }] } },
    {
      name: "change (8 rules on the record)",
      hops: perRecord((r) => ({
        type: "change",
        rules: [
          { t: "set", p: `${r}.deviceId`, pt: "msg", to: "x", tot: "str" },
          { t: "set", p: `${r}.email`, pt: "msg", to: "x", tot: "str" },
          { t: "set", p: `${r}.phone`, pt: "msg", to: "x", tot: "str" },
          { t: "delete", p: `${r}.name`, pt: "msg" },
          { t: "set", p: `${r}.ip`, pt: "msg", to: "x", tot: "str" },
          { t: "set", p: `${r}.age`, pt: "msg", to: "x", tot: "str" },
          { t: "set", p: `${r}.seen`, pt: "msg", to: "x", tot: "str" },
          { t: "set", p: `${r}.temp`, pt: "msg", to: "1", tot: "num" },
        ],
      })),
    },
    { name: "anonymize: 1 rule (mask) on a 20-field record", hops: perRecord((r) => anonymize({ property: r, rules: [{ path: "phone", op: "mask", keepLast: 2 }] })) },
    { name: "anonymize: 8 field rules on a 20-field record", hops: perRecord((r) => anonymize({ property: r, rules: FIELD_RULES })) },
    { name: "anonymize: 8 field rules, pseudonymized ids never seen before", hops: perRecord((r) => anonymize({ property: r, rules: FIELD_RULES_NEW_IDS })) },
    ...NEW_OPERATORS.map(([label, rule, extra]) => ({
      name: `anonymize: 1 rule (${label}) on a 20-field record`,
      hops: perRecord((r) => anonymize({ property: r, rules: [rule], ...extra })),
    })),
  ],
  goals: [
    // Like for like, as minimize's goal: the same eight fields written by a change node.
    { variant: "anonymize: 8 field rules on a 20-field record", against: "change (8 rules on the record)", maxRatio: 3, note: "field rules vs a change node writing the same 8 fields" },
    { variant: "anonymize: 1 rule (mask) on a 20-field record", maxRatio: 3, note: "one field rule against one change rule" },
    { variant: "anonymize: 8 field rules on a 20-field record", note: "eight rules (two keyed pseudonyms) against one change rule" },
    { variant: "anonymize: 8 field rules, pseudonymized ids never seen before", against: "change (8 rules on the record)", note: "no memo hits: two HMACs per record" },
    ...NEW_OPERATORS.map(([label]) => ({ variant: `anonymize: 1 rule (${label}) on a 20-field record`, maxRatio: 3, note: "one field rule against one change rule" })),
  ],
  // k = 5, l = 3 over one batch of 10,000 records: the engine alone, median of 5 runs after a warm-up
  extra: async (log) => {
    const { Anonymizer, anonymizeSchema } = require("../../dist/anonymize/anonymize.js");
    const { validateConfig } = require("../../dist/core/validation.js");
    const config = validateConfig(anonymizeSchema, {
      rules: [
        { path: "name", op: "redact" },
        { path: "age", op: "generalize", kind: "range", width: 5 },
        { path: "postcode", op: "generalize", kind: "postcode", keep: 5 },
        { path: "kwh", op: "bucket", width: 500, output: "lower" },
      ],
      kAnonymity: { k: 5, l: 3, sensitive: "heating", quasiIdentifiers: ["age", "postcode", "kwh"], maxSuppression: 0.05 },
    });
    if (!config.ok) throw new Error(config.error);
    const engine = new Anonymizer(config.value);
    let seed = 18;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const HEATING = ["gas", "heat pump", "district", "oil", "electric"];
    const batch = Array.from({ length: 10000 }, (_, i) => ({
      name: `resident ${i}`, age: 18 + Math.floor(rnd() * 70), postcode: String(10115 + Math.floor(rnd() * 400)),
      kwh: Math.floor(rnd() * 6000), heating: HEATING[Math.floor(rnd() * HEATING.length)],
    }));
    const { performance } = require("node:perf_hooks");
    const times = [];
    let summary;
    for (let run = 0; run < 7; run++) {
      const t = performance.now();
      summary = engine.run(batch).summary;
      if (run >= 2) times.push(performance.now() - t);
    }
    const ms = times.sort((a, b) => a - b)[2];
    const met = ms < 200;
    log(`batch of 10,000 records, k = 5, l = 3: ${ms.toFixed(1)} ms (median of 5; goal < 200 ms: ${met ? "met" : "NOT met"}); ` +
      `groups ${summary.groups}, suppressed ${summary.suppressed}, risk ${summary.risk.toFixed(3)}, coarsened ${JSON.stringify(summary.coarsened)}`);
    return { batch10k: { ms, goalMs: 200, met, groups: summary.groups, suppressed: summary.suppressed, risk: summary.risk, coarsened: summary.coarsened } };
  },
};
