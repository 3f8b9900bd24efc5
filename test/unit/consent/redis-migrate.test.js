"use strict";
/**
 * `consent migrate`: a 100,000-line file journal moved into Redis gives the same answers
 * for every subject and purpose; a second run adds nothing; a stream that differs is refused.
 */
const assert = require("node:assert/strict");
const { execFile } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { createClient } = require("redis");
const { ConsentStore } = require("../../../dist/consent/consent-store");
const { redisKeys, chainLine, REDIS_HEADER } = require("../../../dist/consent/redis-backend");
const { formatHead, lineHash } = require("../../../dist/consent/hash-chain");
const { startRedis } = require("../../helpers/redis-server");

const CLI = path.join(__dirname, "..", "..", "..", "dist", "cli", "index.js");
const PURPOSES = [
  { id: "analytics", description: "", policyVersion: "1" },
  { id: "cloud-backup", description: "", policyVersion: "3" },
];
const LINES = 100000;
const SUBJECTS = 20000;

function cli(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Writes lines (header first) as the file backend does: chained, with the head beside them. */
function writeChained(file, lines) {
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  const last = lines[lines.length - 1];
  fs.writeFileSync(`${file}.head`, formatHead({ lines: lines.length, hash: lineHash(`${last}\n`) }));
}

/** A journal as the file backend writes it: header, then one hash-chained record a line. */
function writeJournal(file) {
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const out = [REDIS_HEADER];
  for (let i = 0; i < LINES; i++) {
    const granted = i % 7 !== 3;
    const receipt = {
      receiptId: `r-${i}`,
      subject: `subject-${(i * 7919) % SUBJECTS}`,
      purpose: PURPOSES[i % 2].id,
      status: granted ? "granted" : "withdrawn",
      timestamp: new Date(t0 + i * 1000).toISOString(),
      // Some expired, some expiring later, most without an end.
      expiresAt: granted && i % 11 === 0 ? new Date(t0 + (i % 3 === 0 ? 1 : 1e12)).toISOString() : null,
      // A few on an outdated policy version.
      policyVersion: i % 13 === 0 ? "0" : PURPOSES[i % 2].policyVersion,
      method: "import",
    };
    out.push(chainLine({ receipts: [receipt] }, i === 0 ? undefined : out[out.length - 1]));
  }
  writeChained(file, out);
}

describe("consent migrate: file journal to Redis", function () {
  this.timeout(180000);
  let redis;
  let dir;
  let journal;
  before(async () => {
    redis = await startRedis({ appendfsync: "everysec" });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nr-privacy-migrate-"));
    journal = path.join(dir, "journal.jsonl");
    writeJournal(journal);
  });
  after(async () => {
    if (redis) await redis.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("moves 100,000 lines, verified, with the same answer for every subject and purpose", async () => {
    const first = await cli("consent", "migrate", "--from", journal, "--to", redis.url, "--prefix", "m:");
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`${LINES} records, 0 already there, ${LINES} appended; verified ${LINES}`));
    const again = await cli("consent", "migrate", "--from", journal, "--to", redis.url, "--prefix", "m:");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`${LINES} already there, 0 appended`));

    const copy = path.join(dir, "copy.jsonl");
    fs.copyFileSync(journal, copy);
    // The head too: a chained journal without it fails closed (its end could have been cut).
    fs.copyFileSync(`${journal}.head`, `${copy}.head`);
    const file = new ConsentStore({ backend: "file", file: copy, purposes: PURPOSES, owner: "file" });
    const shared = new ConsentStore({
      backend: "redis",
      purposes: PURPOSES,
      owner: "redis",
      redis: { url: redis.url, prefix: "m:" },
    });
    try {
      await shared.loaded;
      assert.equal(file.unavailable, undefined);
      assert.equal(shared.unavailable, undefined);
      let compared = 0;
      for (let s = 0; s < SUBJECTS; s++) {
        for (const p of PURPOSES) {
          const a = file.check(`subject-${s}`, p.id);
          const b = shared.check(`subject-${s}`, p.id);
          // An entry's ref differs by design (a file offset, a receipt); what it decides may not.
          const answer = (x) => (typeof x === "string" ? x : `${x.granted}:${x.at}:${x.policyVersion}`);
          assert.equal(answer(b), answer(a), `subject-${s} ${p.id}`);
          compared++;
        }
      }
      assert.equal(compared, SUBJECTS * 2);
      const q = (st) => st.execute({ action: "query", subject: "subject-42" }, "api");
      assert.deepEqual(await q(shared), await q(file));
    } finally {
      await file.close();
      await shared.close();
    }
  });

  it("completes an interrupted migration and refuses a stream that differs", async () => {
    const c = createClient({ url: redis.url });
    await c.connect();
    try {
      const keys = redisKeys("part:");
      const lines = fs.readFileSync(journal, "utf8").split("\n").slice(1, 1001);
      for (const line of lines) await c.sendCommand(["XADD", keys.journal, "*", "line", line]);
      const done = await cli("consent", "migrate", "--from", journal, "--to", redis.url, "--prefix", "part:");
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /1000 already there, 99000 appended/);

      const other = redisKeys("other:");
      await c.sendCommand(["XADD", other.journal, "*", "line", lines[5]]);
      const refused = await cli("consent", "migrate", "--from", journal, "--to", redis.url, "--prefix", "other:");
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /differs from the journal at entry 1/);
      assert.equal(await c.sendCommand(["XLEN", other.journal]), 1);
    } finally {
      await c.destroy();
    }
  });

  it("refuses a journal whose hash chain is broken before writing anything", async () => {
    const lines = fs.readFileSync(journal, "utf8").split("\n").slice(0, 11);
    // Line 5 edited by hand (another method): line 6 no longer carries its hash.
    lines[4] = lines[4].replace('"method":"import"', '"method":"edited"');
    const broken = path.join(dir, "broken.jsonl");
    writeChained(broken, lines);
    const r = await cli("consent", "migrate", "--from", broken, "--to", redis.url, "--prefix", "broken:");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 6 does not carry the hash of line 5.*nothing was migrated/);
    const c = createClient({ url: redis.url });
    await c.connect();
    try {
      assert.equal(await c.sendCommand(["XLEN", redisKeys("broken:").journal]), 0);
    } finally {
      await c.destroy();
    }
  });

  it("refuses a journal with an invalid line before writing anything", async () => {
    const bad = path.join(dir, "bad.jsonl");
    fs.writeFileSync(bad, `${REDIS_HEADER}\n${JSON.stringify({ receipts: [] })}\nnot json\n{"receipts":[]}\n`);
    const r = await cli("consent", "migrate", "--from", bad, "--to", redis.url, "--prefix", "bad:");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 3 is not a valid consent record; nothing was migrated/);
  });
});
