"use strict";
// Privacy budgets: basic composition counted in integers, per subject and period, never
// overspent (also not by messages in flight together), kept across restarts in a file
// that holds no subject, and refused when the file cannot be read.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const fc = require("fast-check");
const { BudgetLedger, BudgetError, BudgetSpentError, ledgerFile, periodBounds, shareLedger, unshareLedger } = require("../../../dist/anonymize/budget.js");
const { Anonymizer, anonymizeSchema } = require("../../../dist/anonymize/anonymize.js");
const { validateConfig } = require("../../../dist/core/validation.js");

const DAY = 86400000;
const T0 = Date.UTC(2026, 2, 18, 15, 30); // a Wednesday
const def = (o) => ({ name: "study", purpose: "study", epsilon: 1, delta: 0, period: "day", onSpent: "error", ...o });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "anon-budget-"));

function engine(raw, deps) {
  const v = validateConfig(anonymizeSchema, raw);
  if (!v.ok) throw new Error(v.error);
  return new Anonymizer(v.value, undefined, deps);
}

describe("privacy budgets", () => {
  it("periods are the UTC day, the week from Monday and the month", () => {
    assert.deepEqual(periodBounds("day", T0), { start: Date.UTC(2026, 2, 18), end: Date.UTC(2026, 2, 19) });
    assert.deepEqual(periodBounds("week", T0), { start: Date.UTC(2026, 2, 16), end: Date.UTC(2026, 2, 23) });
    assert.deepEqual(periodBounds("week", Date.UTC(2026, 2, 22, 23)), { start: Date.UTC(2026, 2, 16), end: Date.UTC(2026, 2, 23) });
    assert.deepEqual(periodBounds("month", T0), { start: Date.UTC(2026, 2, 1), end: Date.UTC(2026, 3, 1) });
  });

  it("spends by basic composition, per subject, refuses the spend that would exceed, and resets with the period", () => {
    const ledger = new BudgetLedger([def({ epsilon: 1, delta: 1e-5 })]);
    for (let i = 0; i < 10; i++) ledger.spend("study", "alice", 0.1, 1e-6, T0);
    assert.throws(() => ledger.spend("study", "alice", 0.1, 0, T0), (e) => e instanceof BudgetSpentError && e.resets === Date.UTC(2026, 2, 19));
    assert.deepEqual(ledger.remaining("study", "alice", T0), { epsilon: 0, delta: 0 });
    assert.deepEqual(ledger.spend("study", "bob", 0.3, 0, T0), { epsilon: 0.7, delta: 1e-5 }, "another subject has its own budget");
    assert.deepEqual(ledger.spend("study", "alice", 0.1, 0, T0 + DAY), { epsilon: 0.9, delta: 1e-5 }, "a new day, a new budget");
  });

  it("never spends more than the budget, whatever the sequence of charges (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 10, noNaN: true }), fc.array(fc.double({ min: 0.001, max: 2, noNaN: true }), { maxLength: 200 }), (cap, charges) => {
        const ledger = new BudgetLedger([def({ epsilon: cap })]);
        let spent = 0;
        for (const c of charges) {
          try {
            ledger.spend("study", "s", c, 0, T0);
            spent += c;
          } catch (e) {
            assert.ok(e instanceof BudgetSpentError);
          }
        }
        assert.ok(spent <= cap * (1 + 1e-9), `${spent} > ${cap}`);
      }),
    );
  });

  it("concurrent messages never overspend: each spend is checked and recorded in one step, then saved in one write", async () => {
    const dir = tmp();
    const file = path.join(dir, "b.json");
    let writes = 0;
    const store = ledgerFile(file);
    const counting = { load: store.load, save: async (d) => (writes++, store.save(d)) };
    const ledger = new BudgetLedger([def({ epsilon: 1 })], counting);
    const e = engine({ rules: [{ path: "v", op: "geometric", epsilon: 0.1, budget: "study" }], budgets: [def({ epsilon: 1 })] }, { ledger });
    // 100 messages for one subject, all in flight at once (each awaits the save of its spend)
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, async () => {
        const out = e.run({ v: 3 }, { subject: "alice", now: T0 });
        await ledger.persist();
        return out;
      }),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 10);
    assert.ok(results.filter((r) => r.status === "rejected").every((r) => r.reason instanceof BudgetSpentError));
    assert.ok(writes <= 2, `saves are coalesced (${writes})`);
    const saved = fs.readFileSync(file, "utf8");
    assert.ok(!saved.includes("alice"), "the file holds no subject");
    const again = new BudgetLedger([def({ epsilon: 1 })], ledgerFile(file));
    assert.throws(() => again.spend("study", "alice", 0.1, 0, T0), BudgetSpentError, "the spends survive a restart");
    assert.deepEqual(again.remaining("study", "bob", T0), { epsilon: 1, delta: 0 });
  });

  it("one ledger per file for every owner: one name is one budget, defined alike or refused; the last owner's close saves it", async () => {
    const file = path.join(tmp(), "budgets.json");
    const a = shareLedger(file, "node-a", [def()]);
    const b = shareLedger(file, "node-b", [def({ onSpent: "drop" })]);
    assert.equal(a, b, "the same ledger");
    a.spend("study", "alice", 0.6, 0, T0);
    assert.throws(() => b.spend("study", "alice", 0.6, 0, T0), BudgetSpentError, "the second node spends from what the first left");
    assert.throws(() => shareLedger(file, "node-c", [def({ epsilon: 2 })]), (e) => e instanceof BudgetError && /defined by another node as epsilon 1.*here as epsilon 2/.test(e.message));
    await unshareLedger(file, "node-a");
    await unshareLedger(file, "node-b");
    const again = shareLedger(file, "node-a", [def()]);
    assert.notEqual(again, a, "read again from the file after the last owner let go");
    assert.deepEqual(again.remaining("study", "alice", T0), { epsilon: 0.4, delta: 0 });
    await unshareLedger(file, "node-a");
    // A budget no node names is kept for a while (a node naming it may start later), then forgotten.
    const ledger = new BudgetLedger([], ledgerFile(file));
    assert.ok(JSON.parse(ledger.serialize(T0)).budgets.study);
    assert.equal(JSON.parse(ledger.serialize(T0 + 40 * DAY)).budgets.study, undefined);
  });

  it("an unreadable or foreign budget file is refused, never overwritten", () => {
    const dir = tmp();
    const file = path.join(dir, "b.json");
    fs.writeFileSync(file, "not json");
    assert.throws(() => new BudgetLedger([def()], ledgerFile(file)), /not JSON/);
    fs.writeFileSync(file, JSON.stringify({ version: 1, salt: "x", budgets: { study: { start: 1, spent: { k: [-1, 0] } } } }));
    assert.throws(() => new BudgetLedger([def()], ledgerFile(file)), /not a privacy budget ledger/);
    assert.equal(fs.readFileSync(file, "utf8").includes("-1"), true);
  });

  it("the engine: the trail lists budgets by name and remaining amount; drop removes the field; errors name the subject", () => {
    const budgets = [def({ epsilon: 0.5 }), def({ name: "home", epsilon: 1, delta: 1e-4, onSpent: "drop", period: "week" })];
    const ledger = new BudgetLedger(budgets);
    const e = engine(
      {
        rules: [
          { path: "kwh", op: "noise", epsilon: 0.25, sensitivity: 1, budget: "study" },
          { path: "home", op: "randomizedResponse", epsilon: 0.5, budget: "home" },
          { path: "t", op: "gaussian", epsilon: 0.5, delta: 1e-5, budget: "home" },
        ],
        budgets,
        subject: { from: "record", path: "who" },
      },
      { ledger },
    );
    const { value, summary } = e.run([{ who: "alice", kwh: 3, home: true, t: 20 }, { who: "bob", kwh: 4, home: false, t: 21 }], { now: T0 });
    assert.equal(value.length, 2);
    assert.deepEqual(summary.budgets.study, { purpose: "study", spent: { epsilon: 0.5, delta: 0 }, remaining: { epsilon: 0.25, delta: 0 }, resets: "2026-03-19T00:00:00.000Z", dropped: 0 });
    assert.deepEqual(summary.budgets.home.remaining, { epsilon: 0, delta: 0.00009 });
    assert.ok(!JSON.stringify(summary).includes("alice"));
    // home is spent for alice for this week: her noised fields are dropped, the message goes on
    const second = e.run({ who: "alice", kwh: 3, home: true, t: 20 }, { now: T0 + 1000 });
    assert.equal("home" in second.value, false);
    assert.equal("t" in second.value, false);
    assert.equal(second.summary.budgets.home.dropped, 2);
    assert.throws(() => e.run({ who: "alice", kwh: 3 }, { now: T0 + 2000 }), /budget "study" spent for alice, resets 2026-03-19 00:00 UTC/);
    assert.throws(() => e.run({ kwh: 3 }, { now: T0 }), /noise needs a subject: the record's who is missing/);
  });

  it("config: an unknown budget, a release larger than its budget, or a gaussian on a budget without delta is refused", () => {
    const cfg = (rules, budgets) => validateConfig(anonymizeSchema, { rules, budgets });
    assert.match(cfg([{ path: "v", op: "noise", epsilon: 1, budget: "nope" }], []).error, /no budget named "nope"/);
    assert.match(cfg([{ path: "v", op: "noise", epsilon: 2, budget: "b" }], [{ name: "b", epsilon: 1 }]).error, /exceeds budget "b"/);
    assert.match(cfg([{ path: "v", op: "gaussian", epsilon: 0.5, delta: 1e-6, budget: "b" }], [{ name: "b", epsilon: 1 }]).error, /delta 0.000001\) exceeds/);
    assert.equal(cfg([{ path: "v", op: "noise", epsilon: 1, budget: "b" }], [{ name: "b", epsilon: 1 }]).ok, true);
    assert.match(validateConfig(anonymizeSchema, { budgets: [{ name: "b", epsilon: 1 }, { name: "b", epsilon: 2 }] }).error, /duplicate/);
  });
});
