"use strict";
/**
 * The tamper-evident journal: every line carries the SHA-256 of the line before it, the
 * head is kept beside it, a rewrite starts with a checkpoint. Editing, deleting or
 * inserting any single line is found on the next load (property test over random
 * journals), the store then fails closed until the break is acknowledged; a torn last
 * line after a crash is not tampering.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const crypto = require("node:crypto");
const fc = require("fast-check");
const { ConsentStore } = require("../../../dist/consent/consent-store");
const { lineHash } = require("../../../dist/consent/hash-chain");

const PURPOSES = [{ id: "p", description: "", policyVersion: "1" }, { id: "q", description: "", policyVersion: "1" }];
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "consent-chain-"));
const open = (file, extra = {}) => new ConsentStore({ backend: "file", file, purposes: PURPOSES, owner: "test", watchIntervalMs: 60000, ...extra });
const lines = (file) => fs.readFileSync(file, "utf8").split("\n").slice(0, -1);
const write = (file, ls) => fs.writeFileSync(file, ls.map((l) => `${l}\n`).join(""));

/** A journal made by the store itself from a list of operations. */
async function makeJournal(file, ops) {
  const s = open(file);
  for (const op of ops) {
    if (op.kind === "grant") await s.execute({ action: "grant", subject: op.subject, purpose: op.purpose }, "m");
    else if (op.kind === "withdraw") await s.execute({ action: "withdraw", subject: op.subject, purpose: op.purpose }, "m");
    else if (op.kind === "link") await s.execute({ action: "link", subject: op.subject }, "m");
    else if (op.kind === "revoke") await s.execute({ action: "revoke-link", subject: op.subject }, "m");
    else await s.compact();
  }
  await s.close();
  assert.equal(s.unavailable, "store closed");
}

const opArb = fc.record({
  kind: fc.constantFrom("grant", "grant", "withdraw", "withdraw", "link", "revoke", "compact"),
  subject: fc.constantFrom("alice", "bob", "carol"),
  purpose: fc.constantFrom("p", "q"),
});

describe("consent journal hash chain", function () {
  this.timeout(120000);

  it("chains every line to the one before it (sha256sum of the previous line, newline included) and keeps the head beside it", async () => {
    const file = path.join(tmp(), "j.jsonl");
    await makeJournal(file, [{ kind: "grant", subject: "a", purpose: "p" }, { kind: "link", subject: "a" }, { kind: "withdraw", subject: "a", purpose: "p" }]);
    const ls = lines(file);
    assert.equal(ls.length, 4);
    for (let i = 1; i < ls.length; i++) {
      const expected = crypto.createHash("sha256").update(`${ls[i - 1]}\n`).digest("hex");
      assert.equal(JSON.parse(ls[i]).prev, expected, `line ${i + 1} carries the hash of line ${i}`);
    }
    const head = JSON.parse(fs.readFileSync(`${file}.head`, "utf8"));
    assert.deepEqual(head, { lines: 4, hash: lineHash(`${ls[3]}\n`) });
    assert.equal(fs.statSync(`${file}.head`).mode & 0o777, 0o600);
    // Only the hash of the link's token is kept.
    const link = JSON.parse(ls[2]).link;
    assert.match(link.token, /^[0-9a-f]{64}$/);
  });

  it("finds any single edited, deleted or inserted line on the next load (random journals), and fails closed", async () => {
    const dir = tmp();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 12 }),
        fc.constantFrom("edit", "delete", "insert"),
        fc.nat(),
        fc.nat(),
        async (ops, mutation, where, what) => {
          const file = path.join(dir, `j${n++}.jsonl`);
          await makeJournal(file, ops);
          const ls = lines(file);
          const i = where % ls.length;
          if (mutation === "delete") {
            ls.splice(i, 1);
          } else if (mutation === "insert") {
            // A copy of another line (a replayed grant) or a line written by hand.
            const j = what % ls.length;
            const copied = what % 3 === 0 ? '{"receipts":[]}' : ls[j];
            ls.splice(i + (what % 2), 0, copied);
          } else {
            // A change that keeps the line valid where it can: a withdrawal turned into a grant, or one character.
            const line = ls[i];
            const edited = line.includes('"withdrawn"') ? line.replace('"withdrawn"', '"granted"') : `${line.slice(0, (what % (line.length - 1)) + 1)}x${line.slice((what % (line.length - 1)) + 2)}`;
            if (edited === line) return;
            ls[i] = edited;
          }
          write(file, ls);
          const s = open(file);
          try {
            assert.ok(s.unavailable !== undefined, `a ${mutation} of line ${i + 1} of ${ls.length + (mutation === "delete" ? 1 : mutation === "insert" ? -1 : 0)} is noticed`);
            assert.equal(s.check("alice", "p"), "store-unavailable", "gates block");
            await assert.rejects(s.execute({ action: "grant", subject: "alice", purpose: "p" }, "m"), /unavailable/);
            if (s.chainBreaks.length > 0) {
              assert.match(s.unavailable, /changed outside the store: (line|\d|the record)/);
              assert.ok(s.chainBreaks.every((b) => Number.isInteger(b.line) && b.line >= 1));
            } else {
              // Without its header the file is not a journal at all: refused, as any foreign file.
              assert.ok(i === 0, `only a change of the header is refused as a format error (${s.unavailable})`);
              assert.match(s.unavailable, /not a consent journal/);
            }
          } finally {
            await s.close();
          }
        },
      ),
      { numRuns: 120, seed: 1466 },
    );
  });

  it("loads an untouched journal cleanly, and a torn last line after a crash is not tampering", async () => {
    const file = path.join(tmp(), "j.jsonl");
    await makeJournal(file, [{ kind: "grant", subject: "a", purpose: "p" }, { kind: "withdraw", subject: "a", purpose: "p" }]);
    fs.appendFileSync(file, '{"receipts":[{"receiptId":"x","subject":"a","purpose":"p","status":"gr');
    const s = open(file);
    assert.equal(s.unavailable, undefined);
    assert.deepEqual(s.chainBreaks, []);
    assert.equal(s.check("a", "p"), "withdrawn");
    await s.execute({ action: "grant", subject: "b", purpose: "p" }, "m");
    await s.close();
    const again = open(file);
    assert.equal(again.unavailable, undefined);
    await again.close();
  });

  it("a deleted last line (the withdrawal) is found through the head, and so is a deleted head", async () => {
    const file = path.join(tmp(), "j.jsonl");
    await makeJournal(file, [{ kind: "grant", subject: "alice", purpose: "p" }, { kind: "withdraw", subject: "alice", purpose: "p" }]);
    const ls = lines(file);
    write(file, ls.slice(0, -1));
    const s = open(file);
    assert.match(s.unavailable, /1 line\(s\) after line 2 were removed/);
    assert.equal(s.check("alice", "p"), "store-unavailable", "the deleted withdrawal does not bring the consent back");
    await s.close();
    write(file, ls);
    fs.rmSync(`${file}.head`);
    const t = open(file);
    assert.match(t.unavailable, /record of where the journal ends is missing/);
    await t.close();
  });

  it("a header changed to version 1 (to pass as an unchained journal) is found too", async () => {
    const file = path.join(tmp(), "j.jsonl");
    await makeJournal(file, [{ kind: "grant", subject: "alice", purpose: "p" }, { kind: "withdraw", subject: "alice", purpose: "p" }]);
    const ls = lines(file);
    ls[0] = ls[0].replace('"version":2', '"version":1');
    write(file, ls.slice(0, -1));
    for (const removeHead of [false, true]) {
      if (removeHead) fs.rmSync(`${file}.head`);
      const s = open(file);
      assert.match(s.unavailable, /the header was changed/);
      await s.close();
    }
  });

  it("an acknowledgement keeps the file as found, rewrites it with a checkpoint naming the breaks, and the store works again", async () => {
    const dir = tmp();
    const file = path.join(dir, "j.jsonl");
    await makeJournal(file, [{ kind: "grant", subject: "alice", purpose: "p" }, { kind: "withdraw", subject: "alice", purpose: "p" }, { kind: "grant", subject: "bob", purpose: "q" }]);
    const ls = lines(file);
    ls[2] = ls[2].replace('"withdrawn"', '"granted"');
    write(file, ls);
    const found = fs.readFileSync(file);
    const s = open(file);
    assert.match(s.unavailable, /line 4 does not carry the hash of line 3/);
    await assert.rejects(s.acknowledgeBreaks("0000000000000000"), /not the breaks found now/);
    const { evidence } = await s.acknowledgeBreaks(s.breaksFingerprint);
    assert.deepEqual(fs.readFileSync(evidence), found, "the journal as found is kept");
    assert.equal(s.unavailable, undefined);
    assert.equal(typeof s.check("bob", "q"), "object");
    await s.execute({ action: "withdraw", subject: "bob", purpose: "q" }, "m");
    await s.close();
    const checkpoint = JSON.parse(lines(file)[1]).checkpoint;
    assert.equal(checkpoint.reason, "acknowledged");
    assert.equal(checkpoint.acknowledged[0].line, 4);
    assert.equal(checkpoint.evidence, path.basename(evidence));
    const again = open(file);
    assert.equal(again.unavailable, undefined, "an acknowledged break is not reported again");
    assert.equal(again.check("bob", "q"), "withdrawn");
    await again.close();
  });

  it("compaction starts a new chain with a checkpoint carrying the head it replaced; a head left from before the rename still loads", async () => {
    const file = path.join(tmp(), "j.jsonl");
    await makeJournal(file, [{ kind: "grant", subject: "a", purpose: "p" }, { kind: "link", subject: "a" }, { kind: "link", subject: "a" }]);
    const oldHead = fs.readFileSync(`${file}.head`);
    const before = JSON.parse(oldHead);
    await makeJournal(file, [{ kind: "compact" }]);
    const ls = lines(file);
    const checkpoint = JSON.parse(ls[1]).checkpoint;
    assert.deepEqual(checkpoint.replaced, before);
    assert.equal(checkpoint.reason, "compaction");
    assert.equal(ls.filter((l) => l.startsWith('{"link"')).length, 2, "retainDays 0 keeps every link event");
    // A crash between the rename and the head update: the head still names the old file.
    fs.writeFileSync(`${file}.head`, oldHead);
    const s = open(file);
    assert.equal(s.unavailable, undefined);
    await s.close();
  });

  it("a large journal (checked by a worker thread beside the parse) is verified as a small one: an edited middle line is found", async () => {
    const file = path.join(tmp(), "big.jsonl");
    // Written here with node:crypto, independently of the store's own chain code.
    const header = JSON.stringify({ format: "node-red-privacy/consent-journal", version: 2 });
    const out = [header];
    let prev = crypto.createHash("sha256").update(`${header}\n`).digest("hex");
    for (let i = 0; i < 40000; i++) {
      const r = { receiptId: `r${i}`, subject: `s${i % 5000}`, purpose: i % 2 ? "p" : "q", status: i % 7 ? "granted" : "withdrawn", timestamp: "2026-01-01T00:00:00.000Z", expiresAt: null, policyVersion: "1", method: "written by the test to make the line as long as a real one" };
      const line = `${JSON.stringify({ receipts: [r] }).slice(0, -1)},"prev":"${prev}"}`;
      prev = crypto.createHash("sha256").update(`${line}\n`).digest("hex");
      out.push(line);
    }
    write(file, out);
    fs.writeFileSync(`${file}.head`, JSON.stringify({ lines: out.length, hash: prev }));
    assert.ok(fs.statSync(file).size > 8 * 1024 * 1024, "large enough for the worker");
    const s = open(file);
    assert.equal(s.unavailable, undefined);
    assert.equal(s.loadReport.receipts, 40000);
    await s.execute({ action: "grant", subject: "s1", purpose: "p" }, "m");
    await s.close();
    const ls = lines(file);
    ls[20000] = ls[20000].replace('"subject":"s', '"subject":"x');
    write(file, ls);
    const t = open(file);
    assert.match(t.unavailable, /line 20002 does not carry the hash of line 20001/);
    await t.close();
  });

  it("upgrades a journal of the last release (version 1, no chain) with a checkpoint naming its last line", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const v1 = [
      '{"format":"node-red-privacy/consent-journal","version":1}',
      JSON.stringify({ receipts: [{ receiptId: "r1", subject: "a", purpose: "p", status: "granted", timestamp: "2026-01-01T00:00:00.000Z", expiresAt: null, policyVersion: "1", method: "m" }] }),
    ];
    write(file, v1);
    const s = open(file);
    assert.equal(s.unavailable, undefined);
    assert.equal(s.loadReport.chain, "unchained");
    await s.execute({ action: "grant", subject: "b", purpose: "p" }, "m");
    await s.close();
    const ls = lines(file);
    assert.equal(JSON.parse(ls[0]).version, 2);
    assert.deepEqual(JSON.parse(ls[1]).checkpoint.replaced, { lines: 2, hash: lineHash(`${v1[1]}\n`) });
    assert.equal(JSON.parse(ls[1]).checkpoint.reason, "upgrade");
    const again = open(file);
    assert.equal(again.loadReport.chain, "verified");
    assert.equal(typeof again.check("a", "p"), "object");
    await again.close();
  });
});
