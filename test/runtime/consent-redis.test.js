"use strict";
/**
 * Two real Node-RED runtimes sharing one consent store on one real redis-server.
 * Each runtime serves POST /api/consent (the manager) and GET /api/check?subject=
 * (the gate), so a test can act on one and look at the other without the editor.
 */
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { startRuntime, deploy } = require("../helpers/runtime");
const { generateSigningKey } = require("../../dist/consent/receipt-signing");
const { startRedis } = require("../helpers/redis-server");

const PURPOSES = [{ id: "cloud-upload", description: "readings go to the cloud", policyVersion: "1" }];

function flows(redisUrl, credentials, storeExtra = {}) {
  return [
    { id: "t", type: "tab", label: "consent" },
    {
      id: "store",
      type: "privacy-consent-store",
      name: "shared",
      backend: "redis",
      redisUrl,
      redisPrefix: "rt:",
      maxLagSeconds: 1,
      purposes: PURPOSES,
      ...(credentials ? { credentials } : {}),
      ...storeExtra,
    },
    { id: "c-in", type: "http in", z: "t", url: "/consent", method: "post", wires: [["c-fn"]] },
    {
      id: "c-fn",
      type: "function",
      z: "t",
      func: "msg.consent = msg.payload; return msg;",
      outputs: 1,
      wires: [["mgr"]],
    },
    { id: "mgr", type: "privacy-consent", z: "t", store: "store", wires: [["c-out"]] },
    { id: "c-out", type: "http response", z: "t", statusCode: "200", wires: [] },
    { id: "c-catch", type: "catch", z: "t", scope: ["mgr"], wires: [["c-err"]] },
    {
      id: "c-err",
      type: "function",
      z: "t",
      func: "msg.payload = {error: msg.error.message}; return msg;",
      outputs: 1,
      wires: [["c-500"]],
    },
    { id: "c-500", type: "http response", z: "t", statusCode: "500", wires: [] },
    { id: "g-in", type: "http in", z: "t", url: "/check", method: "get", wires: [["g-fn"]] },
    {
      id: "g-fn",
      type: "function",
      z: "t",
      func: "msg.topic = msg.req.query.subject; return msg;",
      outputs: 1,
      wires: [["gate"]],
    },
    {
      id: "gate",
      type: "privacy-consent-gate",
      z: "t",
      store: "store",
      purpose: "cloud-upload",
      subjectProperty: "topic",
      onBlocked: "output",
      wires: [["g-pass"], ["g-block"]],
    },
    {
      id: "g-pass",
      type: "function",
      z: "t",
      func: "msg.payload = 'passed'; return msg;",
      outputs: 1,
      wires: [["g-out"]],
    },
    {
      id: "g-block",
      type: "function",
      z: "t",
      func: "msg.payload = msg.privacy.blocked.reason; return msg;",
      outputs: 1,
      wires: [["g-out"]],
    },
    { id: "g-out", type: "http response", z: "t", statusCode: "200", wires: [] },
  ];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function consent(rt, body) {
  const res = await fetch(new URL("api/consent", rt.url), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function check(rt, subject) {
  const res = await fetch(new URL(`api/check?subject=${encodeURIComponent(subject)}`, rt.url));
  return res.text();
}

async function until(what, f, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("consent on Redis, two real Node-RED runtimes", function () {
  this.timeout(120000);
  let redis;
  let a;
  let b;
  beforeEach(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([startRuntime({ flows: flows(redis.url) }), startRuntime({ flows: flows(redis.url) })]);
    // Both have loaded the (empty) stream: an unknown subject is no-consent, not store-unavailable.
    for (const rt of [a, b]) await until("the store to load", async () => (await check(rt, "nobody")) === "no-consent");
  });
  afterEach(async () => {
    for (const rt of [a, b]) if (rt) await rt.kill();
    if (redis) await redis.cleanup();
  });

  it("the consent page on B opens a link made on A; a grant on B shows on A's page, signed; a revoke on B closes A", async () => {
    // One house, one key: both instances sign with it (it is the store's, kept in its credentials).
    const credentials = { signingKey: JSON.stringify(generateSigningKey()) };
    const page = { page: true, pagePath: "/privacy/consent", pageBase: "", retiredKeys: [] };
    await Promise.all([a, b].map((rt) => deploy(rt, flows(redis.url, credentials, page))));
    for (const rt of [a, b]) await until("the store to load", async () => (await check(rt, "nobody")) === "no-consent");

    const made = await consent(a, { action: "link", subject: "carol" });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const link = made.body.url;
    assert.match(link, /\/privacy\/consent\/[A-Za-z0-9_-]{43}$/);
    const pageOn = async (rt) => fetch(new URL(link, rt.url));
    const onB = await until("B's page to open A's link", async () => {
      const r = await pageOn(b);
      return r.status === 200 ? r.text() : undefined;
    });
    assert.match(onB, /carol/);

    const granted = await consent(b, { action: "grant", subject: "carol", purpose: "cloud-upload" });
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    assert.ok(granted.body.jws, "the receipt written on B is signed");
    await until("A's page to show the grant", async () => /You agreed\./.test(await (await pageOn(a)).text()));
    const exported = await consent(a, { action: "export", subject: "carol" });
    assert.equal(exported.body.receipts[0].jws, granted.body.jws);
    const jose = await import("jose");
    const publicJwk = JSON.parse(credentials.signingKey);
    delete publicJwk.d; // the private part
    const key = await jose.importJWK(publicJwk, "EdDSA");
    const { payload } = await jose.compactVerify(exported.body.receipts[0].jws, key);
    assert.equal(JSON.parse(new TextDecoder().decode(payload)).subject, "carol");

    assert.equal((await consent(b, { action: "revoke-link", subject: "carol" })).status, 200);
    await until("A to refuse the revoked link", async () => (await pageOn(a)).status === 404);
  });

  it("grant on A passes on B; withdraw on B blocks on A within 100 ms; outage blocks both, recovery loses nothing", async () => {
    const granted = await consent(a, { action: "grant", subject: "alice", purpose: "cloud-upload" });
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    assert.equal(await until("B to pass alice", async () => (await check(b, "alice")) === "passed", 1000), true);

    // Withdrawal latency, measured from the request to B to the first blocked message on A.
    const times = [];
    // i = -1 warms up (JIT, connections) and is not counted.
    for (let i = -1; i < 20; i++) {
      const subject = `w${i}`;
      assert.equal((await consent(a, { action: "grant", subject, purpose: "cloud-upload" })).status, 200);
      await until("B to pass", async () => (await check(b, subject)) === "passed");
      const t0 = process.hrtime.bigint();
      assert.equal((await consent(b, { action: "withdraw", subject, purpose: "cloud-upload" })).status, 200);
      while ((await check(a, subject)) !== "withdrawn") {
        // Polls as fast as HTTP allows: the time includes B's acknowledgement and two HTTP requests.
      }
      if (i >= 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((x, y) => x - y);
    console.log(
      `      withdrawal on B -> blocked on A: median ${times[10].toFixed(1)} ms, max ${times[19].toFixed(1)} ms`,
    );
    // One outlier in 20 is allowed: the test machine is shared (2 cores, other suites running),
    // and a descheduled runtime says nothing about the store. The bench measures 1,000.
    assert.ok(times[18] < 100, `withdrawals took ${times.map((t) => t.toFixed(0)).join(", ")} ms`);

    const before = [];
    for (let i = 0; i < 30; i++) {
      const rt = i % 2 ? a : b;
      assert.equal((await consent(rt, { action: "grant", subject: `s${i}`, purpose: "cloud-upload" })).status, 200);
      before.push(`s${i}`);
    }
    await redis.stop();
    for (const rt of [a, b]) {
      await until("the gate to block", async () => (await check(rt, "alice")) === "store-unavailable", 3000);
    }
    const refused = await consent(a, { action: "grant", subject: "during", purpose: "cloud-upload" });
    assert.equal(refused.status, 500);
    assert.match(refused.body.error, /unavailable/);
    await redis.start();
    for (const rt of [a, b]) {
      await until("the gate to recover", async () => (await check(rt, "alice")) === "passed", 15000);
      for (const s of before) assert.equal(await check(rt, s), "passed", `${s} after the outage`);
      assert.equal(await check(rt, "w3"), "withdrawn");
    }
  });

  it("kill -9 of one runtime during grants: the other keeps working and has every acknowledged grant", async () => {
    const acknowledged = [];
    let next = 0;
    let killed = false;
    // Four clients granting one after another on A, until A is gone.
    const worker = async () => {
      while (!killed) {
        const subject = `k${next++}`;
        try {
          const r = await consent(a, { action: "grant", subject, purpose: "cloud-upload" });
          if (r.status === 200) acknowledged.push(subject);
        } catch {
          // A's socket closed by the kill: that grant was not acknowledged.
        }
      }
    };
    const pending = [worker(), worker(), worker(), worker()];
    await until("A to acknowledge some grants", () => acknowledged.length >= 30);
    await a.kill();
    killed = true;
    await Promise.all(pending);
    assert.ok(acknowledged.length > 0, "some grants were acknowledged before the kill");
    assert.equal((await consent(b, { action: "grant", subject: "after", purpose: "cloud-upload" })).status, 200);
    assert.equal(await check(b, "after"), "passed");
    for (const s of acknowledged) assert.equal(await check(b, s), "passed", `${s} was acknowledged by A`);
  });
});

describe("consent on Redis: the store's credentials", function () {
  this.timeout(60000);
  let redis;
  let rt;
  after(async () => {
    if (rt) await rt.kill();
    if (redis) await redis.cleanup();
  });

  it("logs in with the username and password of its credentials; a wrong password blocks", async () => {
    // The default user off: only the ACL user alice may do anything.
    redis = await startRedis({
      args: ["--user", "default", "off", "--user", "alice", "on", ">s3cret", "~*", "&*", "+@all"],
    });
    rt = await startRuntime();
    await deploy(rt, flows(redis.url, { username: "alice", password: "wr0ngpw" }));
    await sleep(1500);
    assert.equal(await check(rt, "nobody"), "store-unavailable");
    await deploy(rt, flows(redis.url, { username: "alice", password: "s3cret" }));
    await until("the store to load", async () => (await check(rt, "nobody")) === "no-consent");
    assert.equal((await consent(rt, { action: "grant", subject: "bob", purpose: "cloud-upload" })).status, 200);
    assert.equal(await check(rt, "bob"), "passed");
    assert.doesNotMatch(rt.output(), /s3cret|wr0ngpw/, "no password in the log");
  });
});

/** A CA and a server certificate for 127.0.0.1, made with openssl in `dir`. */
function makeCertificates(dir) {
  const run = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  run(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
  );
  run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  fs.writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  run(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
  );
  return { cert: path.join(dir, "server.pem"), key: path.join(dir, "server.key"), ca: path.join(dir, "ca.pem") };
}

describe("consent on Redis over TLS (rediss://)", function () {
  this.timeout(60000);
  let redis;
  let rt;
  let dir;
  after(async () => {
    if (rt) await rt.kill();
    if (redis) await redis.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("connects with rediss:// to a server whose certificate Node trusts, and grants and checks", async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nr-privacy-tls-"));
    let files;
    try {
      files = makeCertificates(dir);
    } catch {
      this.skip(); // no openssl on this machine
    }
    redis = await startRedis({ tls: files });
    assert.match(redis.url, /^rediss:/);
    // Node-RED trusts the test CA the way an installation would (NODE_EXTRA_CA_CERTS).
    rt = await startRuntime({ flows: flows(redis.url), env: { NODE_EXTRA_CA_CERTS: files.ca } });
    await until("the store to load", async () => (await check(rt, "nobody")) === "no-consent");
    assert.equal((await consent(rt, { action: "grant", subject: "tls", purpose: "cloud-upload" })).status, 200);
    assert.equal(await check(rt, "tls"), "passed");
  });
});
