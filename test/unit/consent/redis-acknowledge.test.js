"use strict";
/**
 * `consent acknowledge`: a Redis consent stream changed outside the store (an entry
 * inserted by hand) blocks every store until the break is accepted by the command, which
 * shows the breaks first, takes only their fingerprint, keeps the stream as found as
 * evidence, and leaves a stream whose chain a fresh store verifies whole.
 */
const assert = require("node:assert/strict");
const { execFile } = require("node:child_process");
const path = require("node:path");
const { createClient } = require("redis");
const { ConsentStore } = require("../../../dist/consent/consent-store");
const { redisKeys, chainLine, streamEntries } = require("../../../dist/consent/redis-backend");
const { startRedis } = require("../../helpers/redis-server");

const CLI = path.join(__dirname, "..", "..", "..", "dist", "cli", "index.js");
const PURPOSES = [{ id: "analytics", description: "", policyVersion: "1" }];

function cli(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("consent acknowledge (redis)", function () {
  this.timeout(60000);
  let redis;
  let c;
  const stores = [];
  const store = async (prefix) => {
    const s = new ConsentStore({ backend: "redis", purposes: PURPOSES, owner: "t", warn: () => undefined, redis: { url: redis.url, prefix, maxLagMs: 1000 } });
    stores.push(s);
    await s.loaded;
    return s;
  };
  before(async () => {
    redis = await startRedis();
    c = createClient({ url: redis.url });
    await c.connect();
  });
  after(async () => {
    for (const s of stores) await s.close();
    if (c) await c.destroy();
    if (redis) await redis.cleanup();
  });

  it("shows the breaks, accepts only their fingerprint, keeps the evidence, and leaves a whole chain", async () => {
    const prefix = "ack:";
    const keys = redisKeys(prefix);
    const a = await store(prefix);
    await a.execute({ action: "grant", subject: "alice", purpose: "analytics" }, "api");
    await a.execute({ action: "withdraw", subject: "alice", purpose: "analytics" }, "api");
    await a.close();
    // Linked to the header, not to the line before it: inserted by hand.
    const forged = chainLine({ receipts: [{ receiptId: "forged", subject: "alice", purpose: "analytics", status: "granted", timestamp: "2026-01-01T00:00:00.000Z", expiresAt: null, policyVersion: "1", method: "api" }] }, undefined);
    await c.sendCommand(["XADD", keys.journal, "*", "line", forged]);
    const asFound = streamEntries(await c.sendCommand(["XRANGE", keys.journal, "-", "+"]));
    const b = await store(prefix);
    assert.equal(b.check("alice", "analytics"), "store-unavailable");
    assert.match(b.unavailable, /consent acknowledge --redis <its URL> --prefix ack:/);

    const shown = await cli("consent", "acknowledge", "--redis", redis.url, "--prefix", prefix);
    assert.equal(shown.code, 1, shown.stderr);
    assert.match(shown.stdout, /line 4 does not carry the hash of line 3/);
    const fingerprint = /--fingerprint ([0-9a-f]{16})/.exec(shown.stdout)[1];
    const wrong = await cli("consent", "acknowledge", "--redis", redis.url, "--prefix", prefix, "--fingerprint", "0".repeat(16));
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /not the breaks found now/);
    assert.equal(streamEntries(await c.sendCommand(["XRANGE", keys.journal, "-", "+"])).length, 3, "a wrong fingerprint changes nothing");

    const done = await cli("consent", "acknowledge", "--redis", redis.url, "--prefix", prefix, "--fingerprint", fingerprint);
    assert.equal(done.code, 0, done.stderr);
    const evidence = /kept in (\S+)\./.exec(done.stdout)[1];
    assert.deepEqual(streamEntries(await c.sendCommand(["XRANGE", evidence, "-", "+"])), asFound, "the stream as found, entry for entry");
    const now = streamEntries(await c.sendCommand(["XRANGE", keys.journal, "-", "+"]));
    assert.deepEqual(now.slice(1).map((e) => e.id), asFound.map((e) => e.id), "the same ids after the checkpoint");
    const checkpoint = JSON.parse(now[0].line).checkpoint;
    assert.equal(checkpoint.reason, "acknowledged");
    assert.equal(checkpoint.acknowledged[0].kind, "changed-or-removed");
    assert.equal(checkpoint.evidence, evidence);

    // What the stream holds now counts (the forged grant is the last word on alice), and it goes on.
    const d = await store(prefix);
    assert.equal(d.unavailable, undefined);
    assert.equal(typeof d.check("alice", "analytics"), "object");
    await d.execute({ action: "withdraw", subject: "alice", purpose: "analytics" }, "api");
    const e = await store(prefix);
    assert.equal(e.unavailable, undefined, "a fresh store verifies the rebuilt chain whole");
    assert.equal(e.check("alice", "analytics"), "withdrawn");
    const whole = await cli("consent", "acknowledge", "--redis", redis.url, "--prefix", prefix);
    assert.equal(whole.code, 0);
    assert.match(whole.stdout, /is whole; nothing to acknowledge/);
  });
});
