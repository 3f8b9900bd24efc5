"use strict";
/**
 * The encrypted context store next to Node-RED's localfilesystem, both cached with the
 * same flush interval, as two stores of one runtime (settings.contextStorage):
 *
 * - in the flow: a function node doing 10 flow.set and 10 flow.get of nested keys
 *   (`home.sensors.sN`) per message on one store or the other, and the same function
 *   with no context call; "context calls only" rows take the function away;
 * - extra, in a child process (so the runtime's heap is not counted): the time of a
 *   flush of 10,000 keys (close() of a store holding them, alternating the two stores,
 *   median of 15; wall and CPU time: the encrypted store fsyncs the file and its folder,
 *   localfilesystem does not, so its wall time depends on the disk's other traffic),
 *   and the time to open a 50 MB context (median of 5), with the time to open it and
 *   then read every key.
 */
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const ROOT = path.join(__dirname, "..", "..");
let dir; // made when the case runs, not when bench/run.js loads every case
const benchDir = () => dir || (dir = fs.mkdtempSync(path.join(os.tmpdir(), "nr-privacy-bench-context-")));
const ENV = { PRIVACY_CONTEXT_KEYS: `bench:${crypto.randomBytes(32).toString("base64url")}` };
const FLUSH_SECONDS = 30;

function contextFunction(store) {
  const calls = store
    ? `const n = msg.i % 100;
for (let j = 0; j < 10; j++) flow.set("home.sensors.s" + ((n + j) % 100), msg.payload, "${store}");
let last;
for (let j = 0; j < 10; j++) last = flow.get("home.sensors.s" + ((n + j + 1) % 100), "${store}");
msg.last = last;`
    : `const n = msg.i % 100;
let last;
for (let j = 0; j < 10; j++) last = msg.payload;
msg.last = last;`;
  return { type: "function", func: `${calls}\nreturn msg;`, outputs: 1, noerr: 0 };
}

const LOADER = `
const fs = require("node:fs");
const path = require("node:path");
const [root, dir, envJson] = process.argv.slice(1);
const env = JSON.parse(envJson);
const lfs = require(path.join(root, "node_modules", "@node-red", "runtime", "lib", "nodes", "context", "localfilesystem.js"));
const enc = require(path.join(root, "dist", "context", "index.js"));
const quiet = { warn() {}, error(l) { console.error(l); }, debug() {} };
const make = { localfilesystem: (c) => lfs(c), encrypted: (c) => enc({ ...c, env, log: quiet }) };
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const reading = (i) => ({ lat: 52.52 + i / 1e6, lon: 13.405, who: "person-" + (i % 50), home: i % 3 === 0, at: 1767225600000 + i });
(async () => {
  const out = { flush: {}, open: {}, openAndRead: {}, bytes: {} };
  // Flush of 10,000 keys: a fresh store each run, 10,000 sets, then close() (which flushes).
  const flush = { localfilesystem: [], encrypted: [] };
  const flushCpu = { localfilesystem: [], encrypted: [] };
  for (let run = 0; run < 16; run++) {
    for (const kind of run % 2 ? ["encrypted", "localfilesystem"] : ["localfilesystem", "encrypted"]) {
      const d = path.join(dir, "flush-" + kind + "-" + run);
      const s = make[kind]({ dir: d, cache: true, flushInterval: 3600 });
      await s.open();
      for (let i = 0; i < 10000; i++) s.set("global", "k" + i, reading(i));
      global.gc();
      const t = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      await s.close();
      const cpu = process.cpuUsage(cpu0);
      if (run > 0) {
        // run 0 warms up
        flush[kind].push(ms(t));
        flushCpu[kind].push((cpu.user + cpu.system) / 1000);
      }
      fs.rmSync(d, { recursive: true, force: true });
    }
  }
  for (const k of Object.keys(flush)) out.flush[k] = { medianMs: median(flush[k]), runsMs: flush[k], cpuMedianMs: median(flushCpu[k]) };
  // A 50 MB context: global with 200,000 keys of ~250 bytes, written once by each store.
  const big = {};
  for (const kind of ["localfilesystem", "encrypted"]) {
    const d = path.join(dir, "big-" + kind);
    const s = make[kind]({ dir: d, cache: true, flushInterval: 3600 });
    await s.open();
    for (let i = 0; i < 200000; i++) s.set("global", "reading" + i, { ...reading(i), note: "x".repeat(150) });
    await s.close();
    big[kind] = d;
    const file = kind === "encrypted" ? path.join(d, "context-encrypted", "global", "global.enc") : path.join(d, "context", "global", "global.json");
    out.bytes[kind] = fs.statSync(file).size;
  }
  const open = { localfilesystem: [], encrypted: [] };
  const openCpu = { localfilesystem: [], encrypted: [] };
  const openAndRead = { localfilesystem: [], encrypted: [] };
  for (let run = 0; run < 5; run++) {
    for (const kind of ["encrypted", "localfilesystem"]) {
      global.gc();
      let t = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      let s = make[kind]({ dir: big[kind], cache: true, flushInterval: 3600 });
      await s.open();
      open[kind].push(ms(t));
      const cpu = process.cpuUsage(cpu0);
      openCpu[kind].push((cpu.user + cpu.system) / 1000);
      await s.close();
      s = null;
      global.gc();
      t = process.hrtime.bigint();
      s = make[kind]({ dir: big[kind], cache: true, flushInterval: 3600 });
      await s.open();
      for (const k of s.keys("global")) s.get("global", k + ".lat");
      openAndRead[kind].push(ms(t));
      await s.close();
      s = null;
    }
  }
  for (const k of Object.keys(open)) {
    out.open[k] = { medianMs: median(open[k]), runsMs: open[k], cpuMedianMs: median(openCpu[k]) };
    out.openAndRead[k] = { medianMs: median(openAndRead[k]), runsMs: openAndRead[k] };
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

module.exports = {
  name: "context",
  description: "encrypted context store vs localfilesystem (both cached, flushInterval 30 s)",
  messages: 3000,
  get contextStorage() {
    return {
      bench_lfs: { module: "localfilesystem", config: { dir: path.join(benchDir(), "lfs"), cache: true, flushInterval: FLUSH_SECONDS } },
      bench_enc: {
        module: require(path.join(ROOT, "dist", "context", "index.js")),
        config: { dir: path.join(benchDir(), "enc"), cache: true, flushInterval: FLUSH_SECONDS, env: ENV },
      },
    };
  },
  makeMessage: (i) => ({ i, payload: { t: 21.5, h: 40, at: 1767225600000 + i } }),
  variants: [
    { name: "function, no context call", node: contextFunction(null) },
    { name: "function, 10 set + 10 get, localfilesystem", baseline: true, node: contextFunction("bench_lfs") },
    { name: "function, 10 set + 10 get, encrypted", node: contextFunction("bench_enc") },
    {
      name: "context calls only (20), localfilesystem",
      derive: (cost) => cost("function, 10 set + 10 get, localfilesystem") - cost("function, no context call"),
    },
    {
      name: "context calls only (20), encrypted",
      derive: (cost) => cost("function, 10 set + 10 get, encrypted") - cost("function, no context call"),
    },
  ],
  goals: [
    { variant: "function, 10 set + 10 get, encrypted", against: "function, 10 set + 10 get, localfilesystem", maxRatio: 1.2, note: "the function node as a flow sees it" },
    { variant: "context calls only (20), encrypted", against: "context calls only (20), localfilesystem", maxRatio: 1.2, note: "the context calls alone" },
  ],
  async extra(log) {
    const res = spawnSync(process.execPath, ["--expose-gc", "-e", LOADER, ROOT, benchDir(), JSON.stringify(ENV)], { encoding: "utf8", maxBuffer: 1 << 22 });
    fs.rmSync(benchDir(), { recursive: true, force: true });
    if (res.status !== 0) throw new Error(`context store bench failed: ${res.stderr}`);
    const r = JSON.parse(res.stdout);
    const flushRatio = r.flush.encrypted.medianMs / r.flush.localfilesystem.medianMs;
    log(`\nload average while measuring: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
    log("| measure | localfilesystem (ms) | encrypted (ms) | ratio | goal |");
    log("|---|---:|---:|---:|---|");
    log(`| flush of 10,000 keys (close(), median of 15) | ${r.flush.localfilesystem.medianMs.toFixed(1)} | ${r.flush.encrypted.medianMs.toFixed(1)} | ${flushRatio.toFixed(2)} | <= 2x: ${flushRatio <= 2 ? "met" : "NOT met"} |`);
    // The wall time of a flush is mostly waiting for the disk (fsync), which other work on the machine slows.
    const cpuRatio = r.flush.encrypted.cpuMedianMs / r.flush.localfilesystem.cpuMedianMs;
    log(`| the same flush, CPU time (user + system) | ${r.flush.localfilesystem.cpuMedianMs.toFixed(1)} | ${r.flush.encrypted.cpuMedianMs.toFixed(1)} | ${cpuRatio.toFixed(2)} | |`);
    const mb = (b) => (b / 1048576).toFixed(1);
    log(`| open a ${mb(r.bytes.encrypted)} MB context (${mb(r.bytes.localfilesystem)} MB as localfilesystem's JSON), median of 5 | ${r.open.localfilesystem.medianMs.toFixed(0)} | ${r.open.encrypted.medianMs.toFixed(0)} | ${(r.open.encrypted.medianMs / r.open.localfilesystem.medianMs).toFixed(2)} | < 1000 ms: ${r.open.encrypted.medianMs < 1000 ? "met" : "NOT met"} |`);
    log(`| the same open, CPU time (user + system) | ${r.open.localfilesystem.cpuMedianMs.toFixed(0)} | ${r.open.encrypted.cpuMedianMs.toFixed(0)} | ${(r.open.encrypted.cpuMedianMs / r.open.localfilesystem.cpuMedianMs).toFixed(2)} | |`);
    log(`| open it and read every key | ${r.openAndRead.localfilesystem.medianMs.toFixed(0)} | ${r.openAndRead.encrypted.medianMs.toFixed(0)} | ${(r.openAndRead.encrypted.medianMs / r.openAndRead.localfilesystem.medianMs).toFixed(2)} | |`);
    log("localfilesystem does not fsync; the encrypted store fsyncs each file and its folder (the shared atomic writer).");
    return { contextStore: r };
  },
};
