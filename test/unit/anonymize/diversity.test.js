"use strict";
// k-anonymity with l-diversity over batches: every released group holds k or more records
// and l or more distinct values of the sensitive field (property test on random batches);
// the summary reports k, l, groups, suppressed records and the prosecutor risk.
const assert = require("node:assert/strict");
const fc = require("fast-check");
const { Anonymizer, anonymizeSchema } = require("../../../dist/anonymize/anonymize.js");
const { validateConfig } = require("../../../dist/core/validation.js");

function engine(raw) {
  const v = validateConfig(anonymizeSchema, raw);
  if (!v.ok) throw new Error(v.error);
  return new Anonymizer(v.value);
}

/** Groups of released records by their quasi-identifiers, as JSON. */
function groupsOf(records, qis, sensitive) {
  const groups = new Map();
  for (const r of records) {
    const key = JSON.stringify(qis.map((q) => (r[q] === undefined ? null : r[q])));
    const g = groups.get(key) || { size: 0, values: new Set() };
    g.size++;
    g.values.add(JSON.stringify(r[sensitive] === undefined ? null : r[sensitive]));
    groups.set(key, g);
  }
  return groups;
}

const RULES = [
  { path: "age", op: "generalize", kind: "range", width: 5 },
  { path: "zip", op: "generalize", kind: "postcode", keep: 5 },
  { path: "kwh", op: "bucket", width: 100, output: "lower" },
];

describe("k-anonymity with l-diversity", () => {
  it("every released group of a random batch has k records and l distinct sensitive values (property)", () => {
    const record = fc.record({
      age: fc.integer({ min: 18, max: 90 }),
      zip: fc.constantFrom("10115", "10117", "10119", "20095", "20097", "80331"),
      kwh: fc.integer({ min: 0, max: 5000 }),
      diagnosis: fc.constantFrom("flu", "asthma", "diabetes", "none", "covid"),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 300 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 2, max: 4 }), fc.double({ min: 0, max: 0.3, noNaN: true }), (batch, k, l, maxSuppression) => {
        const e = engine({ rules: RULES, kAnonymity: { k, l, sensitive: "diagnosis", quasiIdentifiers: ["age", "zip", "kwh"], maxSuppression } });
        const { value, summary } = e.run(batch);
        const groups = groupsOf(value, ["age", "zip", "kwh"], "diagnosis");
        for (const g of groups.values()) {
          assert.ok(g.size >= k, `a group of ${g.size} < k ${k}`);
          assert.ok(g.values.size >= l, `a group with ${g.values.size} distinct values < l ${l}`);
        }
        assert.equal(summary.records, batch.length);
        assert.equal(summary.suppressed, batch.length - value.length);
        assert.equal(summary.groups, groups.size);
        assert.equal(summary.k, k);
        assert.equal(summary.l, l);
        const smallest = Math.min(...[...groups.values()].map((g) => g.size));
        assert.equal(summary.risk, groups.size === 0 ? 0 : 1 / smallest);
      }),
      { numRuns: 150, seed: 18 },
    );
  });

  it("coarsens before it suppresses: a group short of l values is generalized further within the suppression limit", () => {
    const batch = [];
    // two ages share one diagnosis: every group of width 2 holds a single value
    for (let i = 0; i < 40; i++) batch.push({ age: 30 + (i % 10), diagnosis: ["flu", "asthma", "none", "covid", "cold"][Math.floor((i % 10) / 2)] });
    const e = engine({ rules: [{ path: "age", op: "generalize", kind: "range", width: 2 }], kAnonymity: { k: 2, l: 3, sensitive: "diagnosis", quasiIdentifiers: ["age"], maxSuppression: 0 } });
    const { value, summary } = e.run(batch);
    assert.ok(summary.coarsened.age >= 1, "age was coarsened");
    assert.equal(summary.suppressed, 0);
    for (const g of groupsOf(value, ["age"], "diagnosis").values()) assert.ok(g.values.size >= 3);
  });

  it("l without k, or a sensitive field that is also a quasi-identifier, is refused", () => {
    assert.match(validateConfig(anonymizeSchema, { kAnonymity: { k: 2, l: 2, quasiIdentifiers: ["age"] } }).error, /sensitive/);
    assert.match(validateConfig(anonymizeSchema, { kAnonymity: { k: 2, l: 2, sensitive: "age", quasiIdentifiers: ["age"] } }).error, /cannot also be a quasi-identifier/);
  });

  it("the trail never holds a value: only k, l, counts and paths", () => {
    const e = engine({ rules: RULES, kAnonymity: { k: 2, l: 2, sensitive: "diagnosis", quasiIdentifiers: ["age", "zip"] } });
    const { summary } = e.run([{ age: 40, zip: "10115", diagnosis: "secret-flu" }, { age: 41, zip: "10115", diagnosis: "other" }]);
    assert.ok(!JSON.stringify(summary).includes("secret") && !JSON.stringify(summary).includes("10115"));
  });
});
