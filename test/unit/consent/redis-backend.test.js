"use strict";
/**
 * The consent store's redis backend against a real redis-server (started per file, on
 * 127.0.0.1, a free port and a temp dir, with appendfsync always).
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { createClient } = require("redis");
const { ConsentStore } = require("../../../dist/consent/consent-store");
const { createHash } = require("node:crypto");
const { redisKeys, appendLine, appendAfter, chainLine, REDIS_HEADER } = require("../../../dist/consent/redis-backend");
const { checkStream, acknowledgeStream } = require("../../../dist/consent/redis-acknowledge");
const { generateSigningKey, loadSigningKey } = require("../../../dist/consent/receipt-signing");
const { tokenHash } = require("../../../dist/consent/consent-store");
const { startRedis, freePort } = require("../../helpers/redis-server");

const PURPOSES = [
  { id: "analytics", description: "", policyVersion: "1" },
  { id: "cloud-backup", description: "", policyVersion: "3" },
];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, f, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("consent store: redis backend", function () {
  this.timeout(60000);
  let redis;
  let prefixN = 0;
  const open = [];
  const store = (prefix, extra = {}) => {
    const s = new ConsentStore({
      backend: "redis",
      purposes: PURPOSES,
      owner: "test",
      warn: extra.warn,
      newId: extra.newId,
      now: extra.now,
      redis: { url: redis.url, prefix, maxLagMs: extra.maxLagMs ?? 1000, serialise: extra.serialise },
    });
    open.push(s);
    return s;
  };
  const ready = async (...stores) => {
    for (const s of stores) await s.loaded;
    for (const s of stores) await until("the store to be available", () => s.unavailable === undefined);
  };
  const freshPrefix = () => `t${++prefixN}:`;

  before(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    while (open.length) await open.pop().close();
  });
  after(async () => {
    if (redis) await redis.cleanup();
  });

  it("shares grants and withdrawals between two stores, a withdrawal within 100 ms", async () => {
    const prefix = freshPrefix();
    const a = store(prefix);
    const b = store(prefix);
    await ready(a, b);
    await a.execute({ action: "grant", subject: "alice", purpose: "analytics" }, "api");
    assert.notEqual(typeof a.check("alice", "analytics"), "string", "the writer's own index holds it on acknowledge");
    await until("B to see the grant", () => typeof b.check("alice", "analytics") !== "string", 100);
    const t0 = process.hrtime.bigint();
    await b.execute({ action: "withdraw", subject: "alice", purpose: "analytics" }, "api");
    await until("A to block", () => a.check("alice", "analytics") === "withdrawn", 100);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.ok(ms < 100, `withdrawal reached A after ${ms} ms`);
    const exported = await a.execute({ action: "export", subject: "alice" }, "api");
    assert.deepEqual(
      exported.receipts.map((r) => r.status),
      ["granted", "withdrawn"],
    );
    assert.equal(exported.purposes.analytics.state, "withdrawn");
  });

  it("stores each receipt as the exact line the file journal writes", async () => {
    const prefix = freshPrefix();
    const t = Date.parse("2026-01-01T00:00:00Z");
    let n = 0;
    const opts = { now: () => t, newId: () => `id-${++n}` };
    const s = store(prefix, opts);
    await ready(s);
    await s.execute({ action: "grant", subject: 'bob "b"', purpose: ["analytics", "cloud-backup"] }, "form");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nr-privacy-redis-file-"));
    const file = path.join(dir, "j.jsonl");
    n = 0;
    const f = new ConsentStore({ backend: "file", file, purposes: PURPOSES, owner: "file", ...opts });
    await f.execute({ action: "grant", subject: 'bob "b"', purpose: ["analytics", "cloud-backup"] }, "form");
    await f.close();
    const [header, line] = fs.readFileSync(file, "utf8").split("\n");
    fs.rmSync(dir, { recursive: true, force: true });
    const c = createClient({ url: redis.url });
    await c.connect();
    try {
      const keys = redisKeys(prefix);
      const entries = await c.sendCommand(["XRANGE", keys.journal, "-", "+"]);
      assert.equal(entries.length, 1);
      assert.deepEqual(entries[0][1], ["line", line]);
      assert.equal(await c.sendCommand(["GET", keys.format]), header);
      assert.equal(REDIS_HEADER, header);
    } finally {
      await c.destroy();
    }
  });

  it("never duplicates a receipt appended twice (a retry after a lost reply)", async () => {
    const keys = redisKeys(freshPrefix());
    const c = createClient({ url: redis.url });
    await c.connect();
    try {
      const line = JSON.stringify({ receipts: [{ receiptId: "r1" }] });
      const first = await appendLine(c, keys, line, ["r1"]);
      const again = await appendLine(c, keys, line, ["r1"]);
      assert.equal(again, first);
      assert.equal(await c.sendCommand(["XLEN", keys.journal]), 1);
      // The batch script: a retry finds its lines by their first receipt ids, wherever the stream ends.
      const lines = ["a", "b"].map((id) => JSON.stringify({ receipts: [{ receiptId: id }] }));
      const added = await appendAfter(c, keys, first, lines, [["a"], ["b"]]);
      assert.equal(added.kind, "added");
      const retried = await appendAfter(c, keys, added.ids[1], lines, [["a"], ["b"]]);
      assert.deepEqual(retried, { kind: "present", ids: added.ids });
      const moved = await appendAfter(c, keys, first, [JSON.stringify({ receipts: [] })], [["c"]]);
      assert.deepEqual(moved, { kind: "moved", last: added.ids[1] });
      assert.equal(await c.sendCommand(["XLEN", keys.journal]), 3);
    } finally {
      await c.destroy();
    }
  });

  it("keeps one chain over the stream with three instances writing at once", async () => {
    const prefix = freshPrefix();
    const sha = (text) => createHash("sha256").update(text).digest("hex");
    // As a hash-chained journal would: each line names the hash of the line before it.
    const serialise = (record, previous) => JSON.stringify({ ...record, prev: sha(previous ?? REDIS_HEADER) });
    const stores = [store(prefix, { serialise }), store(prefix, { serialise }), store(prefix, { serialise })];
    await ready(...stores);
    await Promise.all(
      stores.flatMap((s, n) =>
        Array.from({ length: 150 }, (_, i) =>
          s.execute({ action: "grant", subject: `c${n}-${i}`, purpose: "analytics" }, "api"),
        ),
      ),
    );
    const c = createClient({ url: redis.url });
    await c.connect();
    try {
      const entries = await c.sendCommand(["XRANGE", redisKeys(prefix).journal, "-", "+"]);
      assert.equal(entries.length, 450, "one entry per grant, none twice");
      let previous = REDIS_HEADER;
      for (const [id, [, line]] of entries) {
        assert.equal(JSON.parse(line).prev, sha(previous), `entry ${id} chains to the one before`);
        previous = line;
      }
    } finally {
      await c.destroy();
    }
    for (const s of stores) {
      for (let n = 0; n < 3; n++) assert.notEqual(typeof s.check(`c${n}-149`, "analytics"), "string");
    }
  });

  it("blocks with store-unavailable while Redis is down, recovers with every acknowledged receipt", async () => {
    const prefix = freshPrefix();
    const a = store(prefix);
    const b = store(prefix);
    await ready(a, b);
    for (let i = 0; i < 50; i++) await a.execute({ action: "grant", subject: `s${i}`, purpose: "analytics" }, "api");
    const events = [];
    a.onUnavailable((_why, short) => events.push(`down:${short}`));
    a.onAvailable(() => events.push("up"));
    await redis.stop();
    await until(
      "both to block",
      () => a.check("s1", "analytics") === "store-unavailable" && b.check("s1", "analytics") === "store-unavailable",
      2000,
    );
    await assert.rejects(a.execute({ action: "grant", subject: "x", purpose: "analytics" }, "api"), /unavailable/);
    await redis.start();
    await until("both to recover", () => a.unavailable === undefined && b.unavailable === undefined, 10000);
    await b.execute({ action: "grant", subject: "after", purpose: "analytics" }, "api");
    await until("A to see B's grant", () => typeof a.check("after", "analytics") !== "string", 1000);
    for (let i = 0; i < 50; i++) {
      assert.notEqual(typeof a.check(`s${i}`, "analytics"), "string", `s${i} on A`);
      assert.notEqual(typeof b.check(`s${i}`, "analytics"), "string", `s${i} on B`);
    }
    assert.deepEqual(events.slice(0, 2), ["down:redis unreachable", "up"]);
    // Nothing applied twice: one receipt per grant in the stream and in the export.
    assert.equal((await a.receiptsOf("s7")).length, 1);
  });

  it("keeps every acknowledged grant when redis-server is killed -9 in the middle of 1,000 grants", async () => {
    const prefix = freshPrefix();
    const a = store(prefix, { maxLagMs: 500 });
    await ready(a);
    const acknowledged = [];
    let failed = 0;
    const grants = [];
    for (let i = 0; i < 1000; i++) {
      grants.push(
        a.execute({ action: "grant", subject: `k${i}`, purpose: "analytics" }, "api").then(
          () => acknowledged.push(`k${i}`),
          () => failed++,
        ),
      );
      if (i === 500) await redis.kill();
      if (i % 50 === 0) await sleep(1);
    }
    await Promise.all(grants);
    assert.ok(acknowledged.length > 0 && failed > 0, `${acknowledged.length} acknowledged, ${failed} failed`);
    await redis.start();
    const fresh = store(prefix);
    await ready(fresh);
    for (const subject of acknowledged) {
      assert.notEqual(typeof fresh.check(subject, "analytics"), "string", `${subject} was acknowledged`);
    }
  });

  it("stays blocked when Redis comes back without the data it had acknowledged", async () => {
    const volatile = await startRedis({ appendonly: false });
    const s = new ConsentStore({
      backend: "redis",
      purposes: PURPOSES,
      owner: "t",
      warn: () => undefined,
      redis: { url: volatile.url, prefix: "v:", maxLagMs: 1000 },
    });
    try {
      await ready(s);
      await s.execute({ action: "grant", subject: "v", purpose: "analytics" }, "api");
      await volatile.kill();
      await volatile.start();
      // Another instance writes at once: the stream then ends after what this one had read.
      const other = createClient({ url: volatile.url });
      await other.connect();
      await other.sendCommand(["XADD", "v:journal", "*", "line", '{"receipts":[]}']);
      await other.destroy();
      await until("the loss to be noticed", () => /lost data/.test(s.unavailable || ""), 5000);
      await sleep(500);
      assert.equal(s.check("v", "analytics"), "store-unavailable");
    } finally {
      await s.close();
      await volatile.cleanup();
    }
  });

  it("refuses a format key holding something else", async () => {
    const prefix = freshPrefix();
    const c = createClient({ url: redis.url });
    await c.connect();
    await c.sendCommand(["SET", redisKeys(prefix).format, '{"format":"other"}']);
    await c.destroy();
    const warnings = [];
    const s = store(prefix, { warn: (w) => warnings.push(w) });
    const told = [];
    s.onUnavailable((why, short) => told.push(short));
    await s.loaded;
    assert.match(s.unavailable, /not a consent journal header/);
    assert.equal(s.check("a", "analytics"), "store-unavailable");
    assert.deepEqual(told, ["redis failed"], "the status hears of it although the store was never available");
  });

  it("starts while Redis is down, blocking, and opens when it comes up; closes at once while it is down", async () => {
    const port = await freePort();
    const s = new ConsentStore({
      backend: "redis",
      purposes: PURPOSES,
      owner: "t",
      redis: { url: `redis://127.0.0.1:${port}`, prefix: "late:", maxLagMs: 1000 },
    });
    const up = [];
    s.onAvailable(() => up.push(Date.now()));
    let late;
    try {
      await sleep(500);
      assert.match(s.unavailable, /ECONNREFUSED/);
      assert.equal(s.check("a", "analytics"), "store-unavailable");
      late = await startRedis({ port });
      await until("the store to open", () => s.unavailable === undefined, 5000);
      await until("the status to hear of it", () => up.length === 1, 1000);
    } finally {
      await s.close();
      if (late) await late.cleanup();
    }
    const down = new ConsentStore({
      backend: "redis",
      purposes: PURPOSES,
      owner: "t",
      redis: { url: `redis://127.0.0.1:${port}`, prefix: "x:" },
    });
    await sleep(300);
    const t0 = Date.now();
    await down.close();
    assert.ok(Date.now() - t0 < 1000, "close does not wait for a Redis that is down");
  });

  it("carries links and signed receipts through Redis: a link made on A opens on B, receipts verify with jose", async () => {
    const prefix = freshPrefix();
    const signingKey = loadSigningKey(JSON.stringify(generateSigningKey()));
    const signed = () =>
      new ConsentStore({
        backend: "redis",
        purposes: PURPOSES,
        owner: "test",
        signingKey,
        redis: { url: redis.url, prefix },
      });
    const a = signed();
    const b = signed();
    open.push(a, b);
    await ready(a, b);
    const made = await a.makeLink("carol");
    assert.equal(a.subjectOfToken(made.token), "carol");
    await until("B to know the link", () => b.subjectOfToken(made.token) === "carol", 1000);
    const receipt = await b.execute({ action: "grant", subject: "carol", purpose: "analytics" }, "page");
    assert.ok(receipt.jws, "the receipt is signed");
    await until("A to see the grant", () => typeof a.check("carol", "analytics") !== "string", 1000);
    const exported = await a.execute({ action: "export", subject: "carol" }, "api");
    assert.equal(exported.receipts.length, 1);
    assert.equal(exported.receipts[0].jws, receipt.jws);
    const jose = await import("jose");
    const key = await jose.importJWK(a.publicKey, "EdDSA");
    const { payload } = await jose.compactVerify(exported.receipts[0].jws, key);
    const claims = JSON.parse(new TextDecoder().decode(payload));
    assert.equal(claims.subject, "carol");
    assert.equal(claims.receiptId, receipt.receiptId);
    // Revoked on B: A refuses the token too.
    await b.revokeLink("carol");
    await until("A to drop the link", () => a.subjectOfToken(made.token) === undefined, 1000);

    // The stream is the file journal's chain: the header, then each line linked to the one before.
    const c = createClient({ url: redis.url });
    await c.connect();
    try {
      const entries = await c.sendCommand(["XRANGE", redisKeys(prefix).journal, "-", "+"]);
      const lines = entries.map((e) => e[1][1]);
      assert.equal(lines.length, 3);
      assert.ok(lines[0].includes(`"token":"${tokenHash(made.token)}"`), "only the token's hash is stored");
      assert.ok(!lines.join("\n").includes(made.token));
      let previous = REDIS_HEADER;
      for (const line of lines) {
        const hash = createHash("sha256").update(`${previous}\n`).digest("hex");
        assert.ok(line.endsWith(`,"prev":"${hash}"}`), line);
        previous = line;
      }
    } finally {
      await c.destroy();
    }
  });

  it("fails closed at load when the newest entries are gone (XDEL), until the loss is acknowledged", async () => {
    const prefix = freshPrefix();
    const keys = redisKeys(prefix);
    const a = store(prefix);
    await ready(a);
    await a.execute({ action: "grant", subject: "erin", purpose: "analytics" }, "api");
    await a.execute({ action: "withdraw", subject: "erin", purpose: "analytics" }, "api");
    await a.close();
    const c = createClient({ url: redis.url });
    await c.connect();
    try {
      const [newest] = await c.sendCommand(["XREVRANGE", keys.journal, "+", "-", "COUNT", "1"]);
      assert.equal(String(await c.sendCommand(["GET", keys.head])), String(newest[0]), "the head names the newest entry");
      // What is left still links up: only the head can tell that the withdrawal was there.
      await c.sendCommand(["XDEL", keys.journal, String(newest[0])]);
      const b = store(prefix, { warn: () => undefined });
      await b.loaded;
      assert.equal(b.check("erin", "analytics"), "store-unavailable", "the lost withdrawal does not turn into a pass");
      assert.match(b.unavailable, new RegExp(`removed: entry ${newest[0]}, the newest the store wrote, is missing.*consent acknowledge --redis <its URL> --prefix ${prefix}`));
      assert.equal(b.chainBreaks[0].kind, "end-removed");
      await b.close();
      const found = await checkStream(c, keys);
      assert.deepEqual(found.breaks.map((x) => x.kind), ["end-removed"], "the command finds what the store found");
      await acknowledgeStream(c, keys, found.fingerprint, new Date());
    } finally {
      await c.destroy();
    }
    const d = store(prefix);
    await ready(d);
    assert.equal(typeof d.check("erin", "analytics"), "object", "accepted: the grant stands, as the stream now says");
    await d.execute({ action: "withdraw", subject: "erin", purpose: "analytics" }, "api");
    assert.equal(d.check("erin", "analytics"), "withdrawn");
  });

  it("fails closed when the stream's hash chain is broken (an entry added outside the store)", async () => {
    const prefix = freshPrefix();
    const keys = redisKeys(prefix);
    const a = store(prefix);
    await ready(a);
    await a.execute({ action: "grant", subject: "dave", purpose: "analytics" }, "api");
    const c = createClient({ url: redis.url });
    await c.connect();
    try {
      // Well-formed, but linked to the header instead of the line before it.
      const forged = chainLine(
        {
          receipts: [
            {
              receiptId: "forged",
              subject: "dave",
              purpose: "cloud-backup",
              status: "granted",
              timestamp: "2026-01-01T00:00:00.000Z",
              expiresAt: null,
              policyVersion: "3",
              method: "api",
            },
          ],
        },
        undefined,
      );
      await c.sendCommand(["XADD", keys.journal, "*", "line", forged]);
    } finally {
      await c.destroy();
    }
    // The running instance reads it from the tail; a new one at load.
    await until("A to fail closed", () => a.check("dave", "analytics") === "store-unavailable", 2000);
    assert.match(a.unavailable, /changed outside the store/);
    assert.equal(a.chainBreaks[0].kind, "inserted");
    const b = store(prefix);
    await b.loaded;
    assert.equal(b.check("dave", "cloud-backup"), "store-unavailable");
    assert.match(b.unavailable, /consent stream .* was changed outside the store: line 2 was inserted/);
    await assert.rejects(b.execute({ action: "grant", subject: "dave", purpose: "analytics" }, "api"));
  });
});
