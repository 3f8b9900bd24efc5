"use strict";
/**
 * The consent gate on the redis backend (100,000 subjects x 3 purposes in the shared
 * stream, loaded by the store at deploy) next to a core switch node, in the same runtime,
 * with the file backend's gate beside it. A real redis-server is started for the case
 * (127.0.0.1, a free port, a temp dir, appendfsync always) and stopped at its end.
 *
 * extra:
 * - grants per second through the manager node, redis backend beside the file backend
 *   (64 in flight; each acknowledged once durable: fsync of the journal, or Redis's reply
 *   with appendfsync always);
 * - the time from a withdrawal on another instance (a second process with its own store
 *   on the same stream) to the first blocked check on this one, over 1,000 withdrawals:
 *   both processes read the same monotonic clock (process.hrtime, CLOCK_MONOTONIC).
 */
const fs = require("node:fs");
const path = require("node:path");
const { spawn } = require("node:child_process");
const readline = require("node:readline");
const { startRedis } = require("../../test/helpers/redis-server");

const { SUBJECTS, PURPOSES, subjectRecord, makeMessage, SWITCH_VARIANT } = require("../lib/consent-data");

const PREFIX = "bench:";
const REDIS_STORE = "bench-redis-store";
const FILE_STORE = "bench-redis-file-store";
const TAB = "bench-redis-managers";
const DIST = path.join(__dirname, "..", "..", "dist");
const WITHDRAWALS = Number(process.env.BENCH_WITHDRAWALS || 1000);

let server;
let runtime;
let redisStore;

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// Filled in by setup() once the server's port is known (the harness has these objects already).
const redisStoreNode = {
  id: REDIS_STORE, type: "privacy-consent-store", name: "bench redis", backend: "redis", redisUrl: "",
  redisPrefix: PREFIX, purposes: PURPOSES,
};

/** Instance B: a store on the same stream that withdraws on command, printing when it started. */
const OTHER = `
const { ConsentStore } = require(process.argv[1]);
const store = new ConsentStore({ backend: "redis", purposes: JSON.parse(process.argv[2]), owner: "bench-b",
  redis: { url: process.argv[3], prefix: process.argv[4] } });
const rl = require("node:readline").createInterface({ input: process.stdin });
store.loaded.then(() => process.stdout.write("READY\\n"));
rl.on("line", (subject) => {
  if (subject === "") return store.close().then(() => process.exit(0));
  const t0 = process.hrtime.bigint();
  store.execute({ action: "withdraw", subject, purpose: "analytics" }, "bench").then(
    () => process.stdout.write(t0 + "\\n"),
    (e) => process.stdout.write("ERR " + e.message + "\\n"),
  );
});
`;

/** Grants per second through a manager node: `n` grants, 64 in flight. */
async function managerRate(managerId, n) {
  const manager = runtime.RED.nodes.getNode(managerId);
  const hook = `onComplete.bench${managerId.replace(/\W/g, "")}`;
  let done = 0;
  let failed;
  let next = 0;
  let finish;
  const all = new Promise((resolve) => (finish = resolve));
  const send = () => {
    const i = next++;
    manager.receive({ consent: { action: "grant", subject: `rate-${managerId}-${i}`, purpose: "analytics" } });
  };
  runtime.RED.hooks.add(hook, (evt) => {
    if (!evt.node || evt.node.id !== managerId) return;
    if (evt.error) failed = evt.error;
    done++;
    if (next < n) send();
    if (done === n) finish();
  });
  const start = process.hrtime.bigint();
  try {
    for (let i = 0; i < 64; i++) send();
    await all;
  } finally {
    runtime.RED.hooks.remove(hook);
  }
  if (failed) throw failed;
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function withdrawalLatency(log) {
  const store = redisStore;
  // Subjects granted on this instance; the other one withdraws them.
  const subjects = Array.from({ length: WITHDRAWALS }, (_, i) => `w-${i}`);
  await Promise.all(subjects.map((s) => store.execute({ action: "grant", subject: s, purpose: "analytics" }, "bench")));
  const child = spawn(process.execPath, ["-e", OTHER, path.join(DIST, "consent", "consent-store.js"),
    JSON.stringify(PURPOSES), server.url, PREFIX], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ready = await lines.next();
  if (ready.value !== "READY") throw new Error(`instance B did not start: ${ready.value}`);
  const times = [];
  try {
    for (const subject of subjects) {
      if (typeof store.check(subject, "analytics") === "string") throw new Error(`${subject} not granted here`);
      child.stdin.write(`${subject}\n`);
      // The gate's question, asked once every event-loop turn, as messages would.
      let blockedAt;
      while (blockedAt === undefined) {
        await new Promise((r) => setImmediate(r));
        if (store.check(subject, "analytics") === "withdrawn") blockedAt = process.hrtime.bigint();
      }
      const started = await lines.next();
      if (!/^\d+$/.test(started.value)) throw new Error(`instance B: ${started.value}`);
      times.push(Number(blockedAt - BigInt(started.value)) / 1e6);
    }
  } finally {
    child.stdin.write("\n");
    await new Promise((r) => child.once("exit", r));
  }
  times.sort((a, b) => a - b);
  const med = quantile(times, 0.5);
  const p99 = quantile(times, 0.99);
  log(`| withdrawal on instance B -> first blocked check on A (${WITHDRAWALS}) | median ${med.toFixed(2)} ms | p99 ${p99.toFixed(2)} ms | max ${times[times.length - 1].toFixed(2)} ms | < 100 ms: ${p99 < 100 ? "met" : "NOT met"} |`);
  return { medianMs: med, p99Ms: p99, maxMs: times[times.length - 1] };
}

module.exports = {
  name: "consent-redis",
  description: `consent gate on the redis backend (${SUBJECTS.toLocaleString("en-US")} subjects x ${PURPOSES.length} purposes in the stream) next to a core switch node and the file backend's gate`,
  messages: 20000,
  makeMessage,
  configNodes: [
    redisStoreNode,
    { id: FILE_STORE, type: "privacy-consent-store", name: "bench file", backend: "file", file: "bench-consent-redis/journal.jsonl", purposes: PURPOSES },
    { id: TAB, type: "tab", label: "consent redis bench" },
    { id: "bench-redis-mgr", type: "privacy-consent", z: TAB, store: REDIS_STORE, method: "bench", wires: [[]] },
    { id: "bench-file-mgr", type: "privacy-consent", z: TAB, store: FILE_STORE, method: "bench", wires: [[]] },
  ],
  async setup(rt) {
    runtime = rt;
    server = await startRedis();
    // A bench that throws must not leave a redis-server behind.
    process.once("exit", () => server.proc && server.proc.kill("SIGKILL"));
    redisStoreNode.redisUrl = server.url;
    const redisBackend = require(path.join(DIST, "consent", "redis-backend.js"));
    const { connectClient, redisKeys, appendLine, checkFormat, chainLine } = redisBackend;
    const client = connectClient(server.url);
    client.on("error", () => undefined);
    await client.connect();
    const keys = redisKeys(PREFIX);
    await checkFormat(client, keys);
    const fileLines = [JSON.stringify({ format: "node-red-privacy/consent-journal", version: 1 })];
    let batch = [];
    // The stream is hash-chained as the store writes it (it checks the chain on load); the
    // file journal is a version 1 one, which the store chains when it upgrades it.
    let previous;
    for (let i = 0; i < SUBJECTS; i++) {
      const record = subjectRecord(i);
      fileLines.push(JSON.stringify(record));
      previous = chainLine(record, previous);
      batch.push(appendLine(client, keys, previous, record.receipts.map((r) => r.receiptId)));
      if (batch.length === 1000) {
        await Promise.all(batch);
        batch = [];
      }
    }
    await Promise.all(batch);
    client.destroy();
    const file = path.join(rt.userDir, "bench-consent-redis", "journal.jsonl");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${fileLines.join("\n")}\n`);
  },
  async ready(rt) {
    redisStore = rt.RED.nodes.getNode(REDIS_STORE).consentStore;
    await redisStore.loaded;
    const end = Date.now() + 30000;
    while (redisStore.unavailable) {
      if (Date.now() > end) throw new Error(`redis store unavailable: ${redisStore.unavailable}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  },
  variants: [
    { name: "change (set msg.x)", baseline: true, node: { type: "change", rules: [{ t: "set", p: "x", pt: "msg", to: "1", tot: "num" }] } },
    SWITCH_VARIANT,
    { name: "privacy-consent-gate (file backend)", node: { type: "privacy-consent-gate", store: FILE_STORE, purposeFrom: "config", purpose: "analytics", subjectProperty: "topic", onBlocked: "output", outputs: 2 } },
    { name: "privacy-consent-gate (redis backend)", node: { type: "privacy-consent-gate", store: REDIS_STORE, purposeFrom: "config", purpose: "analytics", subjectProperty: "topic", onBlocked: "output", outputs: 2 } },
  ],
  goals: [
    { variant: "privacy-consent-gate (redis backend)", against: SWITCH_VARIANT.name, maxRatio: 1.5, note: "marginal cost per message vs core switch" },
    { variant: "privacy-consent-gate (file backend)", against: SWITCH_VARIANT.name, maxRatio: 1.5, note: "the same, file backend" },
  ],
  async extra(log) {
    try {
      const n = Number(process.env.BENCH_GRANTS || 3000);
      // Alternating, twice, and the better of two: the machine is shared.
      const file = [];
      const redis = [];
      for (let i = 0; i < 2; i++) {
        file.push(await managerRate("bench-file-mgr", n));
        redis.push(await managerRate("bench-redis-mgr", n));
      }
      log(`\nconsent on Redis (redis-server ${server.url}, appendfsync always)`);
      log("| what | figure | | | goal |");
      log("|---|---:|---:|---:|---|");
      log(`| grants/s through the manager, file backend (64 in flight, ${n}) | ${Math.max(...file).toFixed(0)} | | | (beside) |`);
      log(`| grants/s through the manager, redis backend (64 in flight, ${n}) | ${Math.max(...redis).toFixed(0)} | | | (beside) |`);
      const latency = await withdrawalLatency(log);
      return { grantsPerSecond: { file: Math.max(...file), redis: Math.max(...redis) }, withdrawalLatency: latency };
    } finally {
      // The store first: Redis going away under it would be logged as an outage.
      if (redisStore) await redisStore.close();
      await server.cleanup();
    }
  },
};
