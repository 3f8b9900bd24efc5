"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync, spawn } = require("node:child_process");
const { Journal, JournalLockError } = require("../../../dist/consent/consent-journal");
const { ConsentStore } = require("../../../dist/consent/consent-store");

const PURPOSES = [{ id: "p", description: "", policyVersion: "1" }, { id: "q", description: "", policyVersion: "1" }];
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "consent-journal-"));
// Version 2: the lines are hash-chained (test/unit/consent/hash-chain.test.js checks the chain).
const HEADER = '{"format":"node-red-privacy/consent-journal","version":2}';
/** The record lines of a journal, after checking its header (a rewrite's checkpoint line is not a record). */
function recordLines(file) {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  assert.equal(lines[0], HEADER, "the journal starts with its header");
  assert.equal(lines.pop(), "", "every line is ended");
  return lines.slice(1).filter((l) => !l.startsWith('{"checkpoint":'));
}
/** A line as the release before the header wrote it. */
const legacyLine = (subject, purpose = "p", status = "granted") =>
  JSON.stringify({ receipts: [{ receiptId: `r-${subject}-${status}`, subject, purpose, status, timestamp: "2026-01-01T00:00:00.000Z", expiresAt: null, policyVersion: "1", method: "m" }] });
const open = (file, extra = {}) => new ConsentStore({ backend: "file", file, purposes: PURPOSES, owner: extra.owner || "test", warn: extra.warn, now: extra.now, retainDays: extra.retainDays, watchIntervalMs: extra.watchIntervalMs });

describe("lib/consent-journal", () => {
  it("keeps every acknowledged change across a reopen, one fsynced line per command", async () => {
    const file = path.join(tmp(), "sub", "j.jsonl");
    const s = open(file);
    await s.execute({ action: "grant", subject: "a", purpose: ["p", "q"] }, "m");
    await s.execute({ action: "withdraw", subject: "a", purpose: "q" }, "m");
    await s.close();
    const lines = recordLines(file);
    assert.equal(lines.length, 2);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, "only the owner may read the journal");
    assert.equal(JSON.parse(lines[0]).receipts.length, 2);
    const again = open(file);
    assert.equal(typeof again.check("a", "p"), "object");
    assert.equal(again.check("a", "q"), "withdrawn");
    const q = await again.execute({ action: "query", subject: "a" }, "m");
    assert.equal(q.purposes.q.receiptId, JSON.parse(lines[1]).receipts[0].receiptId);
    assert.equal(q.purposes.p.receiptId, JSON.parse(lines[0]).receipts[0].receiptId);
    assert.equal(again.loadReport.receipts, 3);
    await again.close();
  });

  it("skips a torn last line with a warning, cuts it away, and keeps working", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const s = open(file);
    await s.execute({ action: "grant", subject: "a", purpose: "p" }, "m");
    await s.close();
    const whole = fs.readFileSync(file, "utf8");
    fs.appendFileSync(file, '{"receipts":[{"receiptId":"x","subject":"b","purp');
    const warnings = [];
    const again = open(file, { warn: (w) => warnings.push(w) });
    assert.equal(again.unavailable, undefined);
    assert.equal(again.loadReport.tornBytes > 0, true);
    assert.ok(warnings.some((w) => /torn/.test(w)), warnings.join("\n"));
    assert.equal(fs.readFileSync(file, "utf8"), whole, "the torn tail is cut away");
    assert.equal(again.check("b", "p"), "no-consent");
    await again.execute({ action: "grant", subject: "c", purpose: "p" }, "m");
    await again.close();
    const third = open(file);
    assert.equal(typeof third.check("a", "p"), "object");
    assert.equal(typeof third.check("c", "p"), "object");
    assert.equal(third.loadReport.skipped, 0);
    await third.close();
  });

  it("skips an invalid line in the middle and compaction drops it, keeping every receipt", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const s = open(file);
    await s.execute({ action: "grant", subject: "a", purpose: "p" }, "m");
    await s.close();
    fs.appendFileSync(file, "not json\n");
    const s2 = open(file);
    // A line added by hand breaks the hash chain: the store waits for someone to acknowledge it.
    assert.match(s2.unavailable, /line 3 carries no hash/);
    await s2.acknowledgeBreaks(s2.breaksFingerprint);
    assert.equal(s2.unavailable, undefined);
    await s2.execute({ action: "grant", subject: "b", purpose: "p" }, "m");
    await s2.compact();
    await s2.close();
    const lines = recordLines(file);
    assert.ok(!lines.includes("not json"));
    assert.equal(lines.length, 2);
    const s3 = open(file);
    assert.equal(s3.loadReport.skipped, 0);
    assert.equal(typeof s3.check("a", "p"), "object");
    assert.equal(typeof s3.check("b", "p"), "object");
    await s3.close();
  });

  it("compaction keeps every receipt of live consents and of consents ended within retainDays", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const clock = { t: Date.parse("2026-01-01T00:00:00Z") };
    const s = open(file, { now: () => clock.t, retainDays: 30 });
    await s.execute({ action: "grant", subject: "old", purpose: "p" }, "m");
    await s.execute({ action: "withdraw", subject: "old", purpose: "p" }, "m");
    await s.execute({ action: "grant", subject: "live", purpose: ["p", "q"] }, "m");
    const lastLive = await s.execute({ action: "grant", subject: "live", purpose: "p" }, "m");
    await s.execute({ action: "grant", subject: "short", purpose: "q", ttl: "1d" }, "m");
    clock.t += 20 * 86400e3;
    await s.execute({ action: "withdraw", subject: "recent", purpose: "p" }, "m");
    clock.t += 15 * 86400e3;
    const { before, after } = await s.compact();
    assert.equal(before, 6);
    assert.equal(after, 3, "old (withdrawn 35 days ago) and short (expired 34 days ago) are dropped");
    assert.equal(s.check("old", "p"), "no-consent");
    assert.equal(s.check("recent", "p"), "withdrawn");
    const live = await s.receiptsOf("live");
    assert.equal(live.length, 3);
    // The index points into the rewritten file: a query reads the right receipt back.
    const q = await s.execute({ action: "query", subject: "live", purpose: "p" }, "m");
    assert.equal(q.receiptId, lastLive.receiptId);
    assert.equal(q.state, "granted");
    await s.close();
    const again = open(file, { now: () => clock.t, retainDays: 30 });
    assert.equal((await again.receiptsOf("live")).length, 3);
    assert.equal((await again.receiptsOf("old")).length, 0);
    assert.equal(again.check("recent", "p"), "withdrawn");
    await again.close();
  });

  it("writes concurrent appends together and acknowledges each after its fsync", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const s = open(file);
    const acks = await Promise.all(Array.from({ length: 300 }, (_, i) => s.execute({ action: "grant", subject: `s${i}`, purpose: "p" }, "m")));
    assert.equal(new Set(acks.map((r) => r.receiptId)).size, 300);
    assert.equal(recordLines(file).length, 300);
    await s.close();
  });

  it("lets one store per file write: in-process registry and a lock file with the pid", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const a = open(file, { owner: "A" });
    const b = open(file, { owner: "B" });
    assert.match(b.unavailable, /already open by consent store A/);
    assert.equal(b.check("x", "p"), "store-unavailable");
    await assert.rejects(b.execute({ action: "grant", subject: "x", purpose: "p" }, "m"), /unavailable/);
    const lock = JSON.parse(fs.readFileSync(`${file}.lock`, "utf8"));
    assert.equal(lock.pid, process.pid);
    await a.close();
    assert.equal(fs.existsSync(`${file}.lock`), false, "close releases the lock");
    const c = open(file, { owner: "C" });
    assert.equal(c.unavailable, undefined);
    await c.close();
  });

  it("sees through a symlinked directory: the same file is the same lock", async () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, "real"));
    fs.symlinkSync(path.join(dir, "real"), path.join(dir, "link"), "dir");
    const a = open(path.join(dir, "real", "j.jsonl"), { owner: "A" });
    const b = open(path.join(dir, "link", "j.jsonl"), { owner: "B" });
    assert.equal(a.unavailable, undefined);
    assert.match(b.unavailable, /already open by consent store A/);
    await a.close();
  });

  it("refuses a file locked by another live process, and takes over a lock whose process is gone", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: sleeper.pid, owner: "other", since: "x" }));
      const s = open(file);
      assert.match(s.unavailable, new RegExp(`locked by process ${sleeper.pid}`));
      await s.close();
      assert.equal(JSON.parse(fs.readFileSync(`${file}.lock`, "utf8")).pid, sleeper.pid, "another process's lock is left alone");
    } finally {
      sleeper.kill("SIGKILL");
    }
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
    fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: Number(dead), owner: "crashed", since: "x" }));
    const warnings = [];
    const s = open(file, { warn: (w) => warnings.push(w) });
    assert.equal(s.unavailable, undefined);
    assert.ok(warnings.some((w) => /stale lock/.test(w)));
    await s.close();
  });

  it("lets exactly one of several processes take over the same stale lock at once", async function () {
    this.timeout(60000);
    const store = require.resolve("../../../dist/consent/consent-store");
    const dead = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
    for (let round = 0; round < 2; round++) {
      const file = path.join(tmp(), "j.jsonl");
      fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: dead, owner: "crashed", since: "x" }));
      const go = Date.now() + 1500; // all start at one moment, after node has loaded in each
      const script = `const { ConsentStore } = require(${JSON.stringify(store)});
        while (Date.now() < ${go});
        const s = new ConsentStore({ backend: "file", file: ${JSON.stringify(file)}, purposes: [], owner: "p" + process.pid, warn() {} });
        process.stdout.write(s.unavailable ? "REFUSED " + s.unavailable : "OPEN");
        setTimeout(() => s.close(), 1500);`;
      const children = Array.from({ length: 4 }, () => spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] }));
      const said = await Promise.all(
        children.map((c) => new Promise((resolve) => {
          let out = "";
          c.stdout.on("data", (d) => (out += d));
          c.once("exit", () => resolve(out));
        })),
      );
      assert.equal(said.filter((x) => x === "OPEN").length, 1, said.join("\n"));
      for (const x of said.filter((x) => x !== "OPEN")) assert.match(x, /REFUSED .*(locked by (another )?process|is being taken over by process)/);
    }
  });

  it("lets one of two processes take over a stale lock and a stale guard, even when both reach the guard at once", async function () {
    this.timeout(60000);
    // A preload hook holds each process at the rename of the guard until both are there:
    // the interleaving that let both win when a stale guard was replaced by a rename over it.
    const dir = tmp();
    const hook = path.join(dir, "hook.js");
    fs.writeFileSync(hook, `const fs = require("node:fs"), path = require("node:path");
      const rename = fs.renameSync, sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      fs.renameSync = function (from, to) {
        // and again at the lock's own rename: both compare the lock with what they judged stale first
        for (const [at, name] of [[".lock.takeover", "guard"], [".lock", "lock"]]) {
          if (!String(from).endsWith(at) && !String(to).endsWith(at)) continue;
          fs.writeFileSync(path.join(${JSON.stringify(dir)}, "at-" + name + "-" + process.pid), "");
          const t0 = Date.now();
          while (fs.readdirSync(${JSON.stringify(dir)}).filter((f) => f.startsWith("at-" + name + "-")).length < 2 && Date.now() - t0 < 3000) sleep(10);
        }
        return rename.apply(this, arguments);
      };`);
    const file = path.join(dir, "j.jsonl");
    const dead = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
    const stale = JSON.stringify({ pid: dead, owner: "crashed", since: "x" });
    fs.writeFileSync(`${file}.lock`, stale);
    fs.writeFileSync(`${file}.lock.takeover`, stale);
    const store = require.resolve("../../../dist/consent/consent-store");
    const script = `const { ConsentStore } = require(${JSON.stringify(store)});
      const s = new ConsentStore({ backend: "file", file: ${JSON.stringify(file)}, purposes: [], owner: "p" + process.pid, warn() {} });
      process.stdout.write(s.unavailable ? "REFUSED " + s.unavailable : "OPEN");
      setTimeout(() => s.close(), 1000);`;
    const said = await Promise.all(
      [0, 1].map(() => new Promise((resolve) => {
        const c = spawn(process.execPath, ["-r", hook, "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        c.stdout.on("data", (d) => (out += d));
        c.once("exit", () => resolve(out));
      })),
    );
    assert.equal(said.filter((x) => x === "OPEN").length, 1, said.join("\n"));
  });

  it("takes over a stale lock only under its takeover guard: a live taker's guard refuses, a dead one's is replaced", async () => {
    const dead = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
    const file = path.join(tmp(), "j.jsonl");
    const stale = JSON.stringify({ pid: dead, owner: "crashed", since: "x" });
    fs.writeFileSync(`${file}.lock`, stale);
    const taker = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      fs.writeFileSync(`${file}.lock.takeover`, JSON.stringify({ pid: taker.pid, owner: "taker", since: "x" }));
      const s = open(file, { warn() {} });
      assert.match(s.unavailable, new RegExp(`is being taken over by process ${taker.pid} \\(its guard .*\\.lock\\.takeover\\); if no Node-RED is starting on it, remove that file`));
      await s.close();
      assert.equal(fs.readFileSync(`${file}.lock`, "utf8"), stale, "the lock is left to the process taking it over");
    } finally {
      taker.kill("SIGKILL");
      await new Promise((resolve) => taker.once("exit", resolve));
    }
    const warnings = [];
    const s = open(file, { warn: (w) => warnings.push(w) });
    assert.equal(s.unavailable, undefined, "a guard whose process died is no lock");
    assert.ok(warnings.some((w) => /taking over a stale lock/.test(w)), warnings.join("\n"));
    assert.equal(fs.existsSync(`${file}.lock.takeover`), false, "the guard goes once the lock is ours");
    assert.equal(JSON.parse(fs.readFileSync(`${file}.lock`, "utf8")).pid, process.pid);
    await s.close();
  });

  describe("a lock naming a live process", () => {
    const { processStart } = require("../../../dist/consent/consent-journal");
    const bootId = fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    let sleeper;
    beforeEach(async () => {
      sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
      // Until exec, the child is still a copy of node: wait until it is sleep.
      const cmdline = () => { try { return fs.readFileSync(`/proc/${sleeper.pid}/cmdline`, "utf8"); } catch { return ""; } };
      while (!cmdline().startsWith("sleep")) await new Promise((r) => setTimeout(r, 5));
    });
    afterEach(() => sleeper.kill("SIGKILL"));

    for (const [name, lock, why] of [
      ["an unrelated program, in a lock without a start time (as the last release wrote it)", (pid) => ({ pid, owner: "old", since: "x" }), /process \d+ is not Node-RED \("sleep"\)/],
      ["a process started after the lock was written (the pid was reused)", (pid) => ({ pid, owner: "old", since: "x", start: "1", boot: bootId }), /is now another program \(it started at another time\)/],
      ["a pid from before a reboot", (pid) => ({ pid, owner: "old", since: "x", start: processStart(pid), boot: "00000000-0000-0000-0000-000000000000" }), /before the last reboot/],
    ]) {
      it(`takes it over when it is ${name}`, async () => {
        const file = path.join(tmp(), "j.jsonl");
        fs.writeFileSync(`${file}.lock`, JSON.stringify(lock(sleeper.pid)));
        const warnings = [];
        const s = open(file, { warn: (w) => warnings.push(w) });
        assert.equal(s.unavailable, undefined, "a stranger's pid does not block the store forever");
        assert.ok(warnings.some((w) => /taking over a stale lock/.test(w) && why.test(w)), warnings.join("\n"));
        const mine = JSON.parse(fs.readFileSync(`${file}.lock`, "utf8"));
        assert.equal(mine.pid, process.pid);
        assert.equal(mine.start, processStart(process.pid));
        await s.execute({ action: "grant", subject: "a", purpose: "p" }, "m");
        await s.close();
        assert.equal(fs.existsSync(`${file}.lock`), false);
      });
    }

    it("refuses while another process's live store holds it, and takes it over once that process is killed", async () => {
      const file = path.join(tmp(), "j.jsonl");
      const store = require.resolve("../../../dist/consent/consent-store");
      const script = `const { ConsentStore } = require(${JSON.stringify(store)});
        const s = new ConsentStore({ backend: "file", file: ${JSON.stringify(file)}, purposes: [], owner: "other" });
        process.stdout.write(s.unavailable ? "FAILED " + s.unavailable : "READY");
        setInterval(() => {}, 1000);`;
      const other = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      try {
        const said = await new Promise((resolve) => other.stdout.once("data", (d) => resolve(String(d))));
        assert.equal(said, "READY");
        const s = open(file);
        assert.match(s.unavailable, new RegExp(`locked by process ${other.pid} \\(store other\\)`));
        await s.close();
        assert.equal(JSON.parse(fs.readFileSync(`${file}.lock`, "utf8")).pid, other.pid, "another process's lock is left alone");
      } finally {
        other.kill("SIGKILL");
        await new Promise((resolve) => other.once("exit", resolve));
      }
      const warnings = [];
      const s = open(file, { warn: (w) => warnings.push(w) });
      assert.equal(s.unavailable, undefined);
      assert.ok(warnings.some((w) => new RegExp(`process ${other.pid} is gone`).test(w)), warnings.join("\n"));
      await s.close();
    });
  });

  it("fails closed after a write error instead of writing after a possibly torn line", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const s = open(file);
    await s.execute({ action: "grant", subject: "a", purpose: "p" }, "m");
    // Simulate the disk going away under the store: its file descriptor is closed.
    const journal = s.journal;
    fs.closeSync(journal.fd);
    await assert.rejects(s.execute({ action: "grant", subject: "b", purpose: "p" }, "m"));
    assert.equal(s.check("a", "p"), "store-unavailable");
    assert.match(s.unavailable, /journal write failed/);
    journal.fd = undefined;
    await s.close();
  });

  it("exports exactly one subject's receipts, even when subjects share a prefix", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const s = open(file);
    await s.execute({ action: "grant", subject: "ab", purpose: "p" }, "m");
    await s.execute({ action: "grant", subject: "a", purpose: "p" }, "m");
    await s.execute({ action: "grant", subject: 'a"b', purpose: ["p", "q"] }, "m");
    await s.execute({ action: "withdraw", subject: "a" }, "m");
    const out = await s.execute({ action: "export", subject: "a" }, "m");
    assert.deepEqual(out.receipts.map((r) => `${r.purpose}:${r.status}`), ["p:granted", "p:withdrawn", "q:withdrawn"]);
    assert.equal((await s.receiptsOf('a"b')).length, 2);
    await s.close();
  });

  describe("a file that is not a journal", () => {
    const notJournals = {
      "flows.json (pretty)": JSON.stringify([{ id: "t", type: "tab", label: "Flow 1" }, { id: "n", type: "inject", z: "t" }], null, 4),
      "flows.json (one line, no newline)": JSON.stringify([{ id: "t", type: "tab" }]),
      "a settings.js": "module.exports = {\n  uiPort: 1880,\n};\n",
      "binary": Buffer.from([0, 1, 2, 255, 10, 0, 13, 10]),
      "records, then a foreign line": `${legacyLine("a")}\nhello\n`,
      "records, then a foreign unended tail": `${legacyLine("a")}\nhello`,
      "a newer journal version": '{"format":"node-red-privacy/consent-journal","version":3}\n',
      "another format's header": '{"format":"something-else","version":1}\n',
      "blank lines only": "\n\n\n",
    };
    for (const [name, content] of Object.entries(notJournals)) {
      it(`refuses ${name} with an error naming the file, and leaves it byte for byte (no compaction, no truncation)`, async () => {
        const dir = tmp();
        const file = path.join(dir, "flows.json");
        fs.writeFileSync(file, content);
        const before = fs.readFileSync(file);
        const { mtimeMs, ino } = fs.statSync(file);
        const s = open(file, { retainDays: 1 });
        assert.match(s.unavailable, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not a consent journal`));
        assert.equal(s.check("a", "p"), "store-unavailable");
        await assert.rejects(s.execute({ action: "grant", subject: "a", purpose: "p" }, "m"), /not a consent journal/);
        await s.compact();
        await s.close();
        assert.deepEqual(fs.readFileSync(file), before);
        assert.equal(fs.statSync(file).mtimeMs, mtimeMs);
        assert.equal(fs.statSync(file).ino, ino);
        assert.deepEqual(fs.readdirSync(dir), ["flows.json"], "no lock or temp file is left behind");
      });
    }
    it("says which version a newer journal is", () => {
      const file = path.join(tmp(), "j.jsonl");
      fs.writeFileSync(file, '{"format":"node-red-privacy/consent-journal","version":3}\n');
      const s = open(file);
      assert.match(s.unavailable, /version 3 of the journal format, written by a newer release/);
    });
  });

  it("creates a missing or empty journal with its header", async () => {
    const dir = tmp();
    const missing = path.join(dir, "new.jsonl");
    const empty = path.join(dir, "empty.jsonl");
    fs.writeFileSync(empty, "");
    for (const file of [missing, empty]) {
      const s = open(file);
      assert.equal(s.unavailable, undefined);
      assert.equal(s.loadReport.header, "created");
      assert.equal(fs.readFileSync(file, "utf8"), `${HEADER}\n`);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      await s.execute({ action: "grant", subject: "a", purpose: "p" }, "m");
      await s.close();
      assert.equal(recordLines(file).length, 1);
      const again = open(file);
      assert.equal(again.loadReport.header, "present");
      assert.equal(typeof again.check("a", "p"), "object");
      await again.close();
    }
  });

  it("reads a subject written before ids were normalised as the same person (a decomposed withdrawal blocks)", async () => {
    const file = path.join(tmp(), "j.jsonl");
    fs.writeFileSync(file, `${legacyLine("Jos\u00e9")}\n${legacyLine("Jose\u0301", "p", "withdrawn")}\n`);
    const s = open(file);
    assert.equal(s.check("Jos\u00e9", "p"), "withdrawn");
    const history = await s.execute({ action: "export", subject: "Jos\u00e9" }, "m");
    assert.deepEqual(history.receipts.map((r) => r.status).sort(), ["granted", "withdrawn"]);
    await s.close();
  });

  it("reads purposes and policy versions written before ids were normalised as the configured ones", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const line = JSON.parse(legacyLine("a", "cafe\u0301"));
    line.receipts[0].policyVersion = "v\u0301";
    fs.writeFileSync(file, `${JSON.stringify(line)}\n`);
    const s = new ConsentStore({ backend: "file", file, purposes: [{ id: "caf\u00e9", description: "", policyVersion: "v\u0301" }], owner: "t" });
    assert.equal(typeof s.check("a", "caf\u00e9"), "object", "granted, on the current policy version");
    const q = await s.execute({ action: "query", subject: "a", purpose: "cafe\u0301" }, "m");
    assert.equal(q.receiptId, line.receipts[0].receiptId);
    await s.close();
  });

  it("compaction keeps the receipts of a subject written before ids were normalised (a decomposed withdrawal stays)", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const line = (id, subject, status, timestamp) =>
      JSON.stringify({ receipts: [{ receiptId: id, subject, purpose: "p", status, timestamp, expiresAt: null, policyVersion: "1", method: "m" }] });
    fs.writeFileSync(
      file,
      [
        line("r1", "old", "granted", "2025-10-01T00:00:00.000Z"),
        line("r2", "old", "withdrawn", "2025-10-02T00:00:00.000Z"), // ended long ago: compaction drops it
        line("r3", "Jos\u00e9", "granted", "2026-01-01T00:00:00.000Z"),
        line("r4", "Jose\u0301", "withdrawn", "2026-01-02T00:00:00.000Z"),
      ].join("\n") + "\n",
    );
    const now = () => Date.parse("2026-01-10T00:00:00Z");
    const s = open(file, { now, retainDays: 30 });
    assert.equal(s.check("Jos\u00e9", "p"), "withdrawn");
    await s.compact();
    const q = await s.execute({ action: "query", subject: "Jos\u00e9", purpose: "p" }, "m");
    assert.equal(q.receiptId, "r4", "the index points at the withdrawal in the rewritten file");
    await s.close();
    const again = open(file, { now, retainDays: 30 });
    assert.equal(again.check("Jos\u00e9", "p"), "withdrawn", "the withdrawal survives the compaction and a restart");
    assert.deepEqual((await again.receiptsOf("Jos\u00e9")).map((r) => r.receiptId), ["r3", "r4"]);
    await again.close();
  });

  it("adds the header to a journal written before it existed, keeping every record (and cutting a torn tail)", async () => {
    const file = path.join(tmp(), "j.jsonl");
    const old = [legacyLine("a"), legacyLine("b", "q"), legacyLine("a", "p", "withdrawn")];
    fs.writeFileSync(file, `${old.join("\n")}\n{"receipts":[{"receiptId":"x","sub`);
    const warnings = [];
    const s = open(file, { warn: (w) => warnings.push(w) });
    assert.equal(s.unavailable, undefined);
    assert.equal(s.loadReport.header, "upgraded");
    assert.equal(s.loadReport.tornBytes > 0, true);
    assert.ok(warnings.some((w) => /older release \(no journal header\): upgrading it/.test(w)), warnings.join("\n"));
    // The append waits for the header; the query reads receipts at their new offsets.
    await s.execute({ action: "grant", subject: "c", purpose: "p" }, "m");
    // Every record kept as it was, now linked into the hash chain.
    const receipts = (line) => JSON.parse(line).receipts;
    assert.deepEqual(recordLines(file).slice(0, 3).map(receipts), old.map(receipts));
    assert.equal(recordLines(file).length, 4);
    const q = await s.execute({ action: "query", subject: "b", purpose: "q" }, "m");
    assert.equal(q.receiptId, "r-b-granted");
    assert.equal(q.state, "granted");
    assert.equal(s.check("a", "p"), "withdrawn");
    await s.close();
    const again = open(file);
    assert.equal(again.loadReport.header, "present");
    assert.equal(again.loadReport.lines, 4);
    assert.equal((await again.execute({ action: "query", subject: "a", purpose: "p" }, "m")).receiptId, "r-a-withdrawn");
    await again.close();
  });

  describe("a journal replaced, removed or changed while the store runs", () => {
    /** What `sed -i`, most editors and a restore do: write a new file, rename it over. */
    function replaceLikeSed(file, edit = (t) => t) {
      const tmpFile = `${file}.sed`;
      fs.writeFileSync(tmpFile, edit(fs.readFileSync(file, "utf8")));
      fs.renameSync(tmpFile, file);
    }

    it("refuses the next append (sed -i): the withdrawal is not acknowledged, gates block, nothing goes into the unlinked file", async () => {
      const file = path.join(tmp(), "j.jsonl");
      const told = [];
      const s = open(file, { watchIntervalMs: 60000 });
      s.onUnavailable((why, short) => told.push(short));
      await s.execute({ action: "grant", subject: "alice", purpose: "p" }, "m");
      const ghost = fs.openSync(file, "r"); // keeps the old inode readable
      replaceLikeSed(file);
      const replaced = fs.readFileSync(file);
      await assert.rejects(s.execute({ action: "withdraw", subject: "alice", purpose: "p" }, "m"), /was replaced while the store had it open/);
      assert.equal(s.check("alice", "p"), "store-unavailable", "the gate blocks instead of passing on the old grant");
      assert.match(s.unavailable, /replaced/);
      assert.deepEqual(told, ["journal replaced"]);
      assert.deepEqual(fs.readFileSync(file), replaced, "the new file is untouched");
      assert.equal(fs.fstatSync(ghost).size, replaced.length, "and nothing was written into the old inode");
      fs.closeSync(ghost);
      await assert.rejects(s.execute({ action: "grant", subject: "bob", purpose: "p" }, "m"), /unavailable/);
      await s.close();
    });

    it("notices on its timer, with no write, and a removed file too", async () => {
      for (const [what, change] of [["replaced", (f) => replaceLikeSed(f)], ["removed", (f) => fs.unlinkSync(f)]]) {
        const file = path.join(tmp(), "j.jsonl");
        const s = open(file, { watchIntervalMs: 20 });
        await s.execute({ action: "grant", subject: "alice", purpose: "p" }, "m");
        const told = new Promise((resolve) => s.onUnavailable((why, short) => resolve([why, short])));
        change(file);
        const [why, short] = await told;
        assert.equal(short, `journal ${what}`);
        assert.match(why, new RegExp(`${what} while the store had it open`));
        assert.equal(s.check("alice", "p"), "store-unavailable");
        await assert.rejects(s.execute({ action: "withdraw", subject: "alice" }, "m"), new RegExp(what));
        await s.close();
        if (what === "removed") assert.equal(fs.existsSync(file), false, "a removed journal is not recreated");
      }
    });

    it("refuses to write after another program wrote to the file in place", async () => {
      const file = path.join(tmp(), "j.jsonl");
      const s = open(file, { watchIntervalMs: 60000 });
      await s.execute({ action: "grant", subject: "alice", purpose: "p" }, "m");
      fs.appendFileSync(file, "edited by hand\n");
      const before = fs.readFileSync(file);
      await assert.rejects(s.execute({ action: "withdraw", subject: "alice" }, "m"), /was changed while the store had it open .*another program wrote to it/);
      assert.deepEqual(fs.readFileSync(file), before);
      assert.equal(s.check("alice", "p"), "store-unavailable");
      await s.close();
    });

    it("never renames a compaction over a file restored meanwhile", async () => {
      const file = path.join(tmp(), "j.jsonl");
      const s = open(file, { watchIntervalMs: 60000 });
      await s.execute({ action: "grant", subject: "alice", purpose: "p" }, "m");
      replaceLikeSed(file, (t) => `${t}${legacyLine("restored")}\n`);
      const restored = fs.readFileSync(file);
      await assert.rejects(s.compact(), /replaced/);
      assert.deepEqual(fs.readFileSync(file), restored);
      assert.deepEqual(fs.readdirSync(path.dirname(file)).sort(), ["j.jsonl", "j.jsonl.head", "j.jsonl.lock"], "no temporary file left");
      await s.close();
    });

    it("keeps working across its own compaction (the new inode is its own)", async () => {
      const file = path.join(tmp(), "j.jsonl");
      const told = [];
      const s = open(file, { watchIntervalMs: 10 });
      s.onUnavailable((why) => told.push(why));
      await s.execute({ action: "grant", subject: "alice", purpose: "p" }, "m");
      await s.compact();
      await new Promise((r) => setTimeout(r, 60));
      await s.execute({ action: "withdraw", subject: "alice", purpose: "p" }, "m");
      assert.equal(s.check("alice", "p"), "withdrawn");
      assert.deepEqual(told, []);
      await s.close();
    });
  });

  it("is a class a store can use alone (Journal)", () => {
    assert.equal(typeof Journal, "function");
    assert.ok(new JournalLockError("x") instanceof Error);
  });
});
