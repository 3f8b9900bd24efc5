"use strict";
/**
 * Export and compaction of a large journal run while the flows do: they must never hold
 * the event loop for more than 50 ms (design section 4). This is a bound on blocking,
 * measured with perf_hooks.monitorEventLoopDelay, not a speed assertion.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { monitorEventLoopDelay } = require("node:perf_hooks");
const { ConsentStore } = require("../../../dist/consent/consent-store");

const PURPOSES = [{ id: "p", description: "", policyVersion: "1" }, { id: "q", description: "", policyVersion: "1" }];
const HEADER = '{"format":"node-red-privacy/consent-journal","version":1}';
const SUBJECTS = 40000; // 3 lines each: about 40 MB
const JAN1 = Date.parse("2026-01-01T00:00:00Z");

const receipt = (subject, purpose, status, t, id) => ({
  receiptId: id,
  subject,
  purpose,
  status,
  timestamp: new Date(t).toISOString(),
  expiresAt: null,
  policyVersion: "1",
  method: "bench",
  note: "written by the large-journal test to give each line a realistic length",
});

/**
 * Per subject: [grant p + grant q] in one line, a renewal of q, then a withdrawal of p:
 * for even subjects on Jan 1 (dropped once 30 days have passed), for odd ones on May 25.
 */
function writeJournal(file) {
  const fd = fs.openSync(file, "w");
  let batch = [HEADER];
  const flush = () => {
    fs.writeSync(fd, `${batch.join("\n")}\n`);
    batch = [];
  };
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < SUBJECTS; i++) {
      const s = `subject-${i}`;
      const t = JAN1 - 86400e3 + round * 1000 + i;
      if (round === 0) batch.push(JSON.stringify({ receipts: [receipt(s, "p", "granted", t, `${s}-p0`), receipt(s, "q", "granted", t, `${s}-q0`)] }));
      if (round === 1) batch.push(JSON.stringify({ receipts: [receipt(s, "q", "granted", t, `${s}-q1`)] }));
      if (round === 2) batch.push(JSON.stringify({ receipts: [receipt(s, "p", "withdrawn", i % 2 === 0 ? JAN1 : Date.parse("2026-05-25T00:00:00Z"), `${s}-p2`)] }));
      if (batch.length >= 5000) flush();
    }
  }
  flush();
  fs.closeSync(fd);
}

/** Runs fn while measuring the event loop; returns [result, max delay in ms]. */
async function measured(fn) {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  try {
    // The monitor's first tick only sets its baseline: a block before it is never seen.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const result = await fn();
    // Work done synchronously inside fn is only seen when the sampling timer fires
    // (late) afterwards: let it fire before reading the histogram.
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.ok(h.count > 0, "the event loop was sampled");
    return [result, h.max / 1e6];
  } finally {
    h.disable();
  }
}

/**
 * One attempt on a fresh journal: export, then a compaction that drops half the
 * subjects' withdrawn purpose, each measured; correctness checked every time.
 * Returns the max delays in ms.
 */
async function attempt(dir) {
  const file = path.join(dir, `big-${Date.now()}.jsonl`);
  writeJournal(file);
  const mb = fs.statSync(file).size / 1048576;
  assert.ok(mb > 25, `${mb.toFixed(1)} MB`);
  const clock = { t: Date.parse("2026-01-02T00:00:00Z") };
  // Loading is synchronous by design (the store is complete before flows start): not measured.
  const s = new ConsentStore({ backend: "file", file, purposes: PURPOSES, owner: "large", retainDays: 30, now: () => clock.t });
  assert.equal(s.unavailable, undefined);
  assert.equal(s.loadReport.lines, 3 * SUBJECTS);

  const [exported, exportMax] = await measured(() => s.execute({ action: "export", subject: "subject-20001" }, "m"));
  assert.deepEqual(exported.receipts.map((r) => r.receiptId), ["subject-20001-p0", "subject-20001-q0", "subject-20001-q1", "subject-20001-p2"]);

  // Appends during the compaction wait for it and land in the new file, in order.
  clock.t = Date.parse("2026-06-01T00:00:00Z");
  let late;
  const [result, compactMax] = await measured(async () => {
    const done = s.compact();
    late = s.execute({ action: "grant", subject: "late", purpose: "p" }, "m");
    return done;
  });
  await late;
  assert.deepEqual(result, { before: 3 * SUBJECTS, after: 3 * SUBJECTS - SUBJECTS / 2 });

  // The index points into the rewritten file: queries read the right receipts back.
  const odd = await s.execute({ action: "query", subject: "subject-20001" }, "m");
  assert.equal(odd.purposes.p.receiptId, "subject-20001-p2");
  assert.equal(odd.purposes.p.state, "withdrawn");
  assert.equal(odd.purposes.q.receiptId, "subject-20001-q1");
  const even = await s.execute({ action: "query", subject: "subject-20000" }, "m");
  assert.equal(even.purposes.p.state, "no-consent", "withdrawn more than 30 days ago: dropped");
  assert.equal(even.purposes.q.receiptId, "subject-20000-q1");
  assert.deepEqual((await s.receiptsOf("subject-20000")).map((r) => r.receiptId), ["subject-20000-q0", "subject-20000-q1"], "a shortened line");
  assert.equal(typeof s.check("late", "p"), "object");
  await s.close();

  const again = new ConsentStore({ backend: "file", file, purposes: PURPOSES, owner: "large", retainDays: 30, now: () => clock.t });
  assert.equal(again.loadReport.skipped, 0);
  assert.equal(again.loadReport.lines, 3 * SUBJECTS - SUBJECTS / 2 + 1);
  assert.equal(again.check("subject-39999", "p"), "withdrawn");
  assert.equal(typeof again.check("subject-39998", "q"), "object");
  assert.equal(typeof again.check("late", "p"), "object");
  await again.close();
  fs.rmSync(file);
  return { mb, exportMax, compactMax };
}

describe("lib/consent-journal: a large journal", function () {
  this.timeout(120000);
  let dir;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "consent-large-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("exports and compacts without holding the event loop for more than 50 ms, and stays correct", async () => {
    // A block in our code is there in every attempt; another process taking the CPU
    // (CI, a shared machine) is not. So: up to three attempts, and the best must pass.
    const runs = [];
    for (let i = 0; i < 3; i++) {
      runs.push(await attempt(dir));
      const best = (k) => Math.min(...runs.map((r) => r[k]));
      if (best("exportMax") < 50 && best("compactMax") < 50) break;
    }
    const shown = runs.map((r) => `export ${r.exportMax.toFixed(1)} ms, compaction ${r.compactMax.toFixed(1)} ms`).join("; ");
    console.log(`      event-loop max delay (${runs[0].mb.toFixed(1)} MB journal): ${shown}`);
    const exportBest = Math.min(...runs.map((r) => r.exportMax));
    const compactBest = Math.min(...runs.map((r) => r.compactMax));
    assert.ok(exportBest < 50, `export held the event loop for ${exportBest.toFixed(1)} ms at best (${shown})`);
    assert.ok(compactBest < 50, `compaction held the event loop for ${compactBest.toFixed(1)} ms at best (${shown})`);
  });
});
