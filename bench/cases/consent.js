"use strict";
/**
 * The consent gate with 100,000 subjects x 3 purposes in its store, next to a core
 * switch node routing on a property, in the same runtime. The store's journal is
 * written into the runtime's user directory before the flows start (setup), so the
 * store loads it exactly as it would after a restart.
 *
 * extra: the time and peak memory (max RSS) to load a 1,000,000-line journal, in a
 * child process so nothing else is counted: the hash-chained journal of this release
 * (every line verified) next to the same records without the chain (version 1, which is
 * loaded without verification) and, when BENCH_BASE_DIST names the dist/ of the last
 * release, next to that release loading the version 1 file.
 * And the consent page: time to first byte and bytes for a subject with ten purposes,
 * and a toggle on the page until its receipt is durable (the 303 comes after the fsync),
 * beside the manager node's own grant (input until done, also after the fsync).
 */
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { randomUUID, createHash } = require("node:crypto");
const http = require("node:http");
const { spawnSync } = require("node:child_process");

const { SUBJECTS, PURPOSES, START, receipt, subjectRecord, makeMessage, SWITCH_VARIANT } = require("../lib/consent-data");

const JOURNAL = "bench-consent/journal.jsonl";
const STORE_ID = "bench-consent-store";

/**
 * Writes the header and `lines` journal lines through a few large writes: version 2,
 * hash-chained with its head beside it, as the store writes them (or version 1, unchained).
 */
function writeJournal(file, lines, lineAt, version = 2) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, "w");
  const header = JSON.stringify({ format: "node-red-privacy/consent-journal", version });
  let prev = createHash("sha256").update(`${header}\n`).digest("hex");
  let buf = [header];
  for (let i = 0; i < lines; i++) {
    let line = JSON.stringify(lineAt(i));
    if (version === 2) {
      line = `${line.slice(0, -1)},"prev":"${prev}"}`;
      prev = createHash("sha256").update(`${line}\n`).digest("hex");
    }
    buf.push(line);
    if (buf.length === 10000) {
      fs.writeSync(fd, `${buf.join("\n")}\n`);
      buf = [];
    }
  }
  if (buf.length) fs.writeSync(fd, `${buf.join("\n")}\n`);
  fs.closeSync(fd);
  if (version === 2) fs.writeFileSync(`${file}.head`, JSON.stringify({ lines: lines + 1, hash: prev }));
}

const LOADER = `
const { ConsentStore } = require(process.argv[3]);
const file = process.argv[1];
const purposes = JSON.parse(process.argv[2]);
const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
const store = new ConsentStore({ backend: "file", file, purposes, owner: "bench-load" });
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const cpu = process.cpuUsage(cpu0);
if (store.unavailable) throw new Error(store.unavailable);
global.gc();
const mem = process.memoryUsage();
if (store.loadReport.breaks && store.loadReport.breaks.length) throw new Error("chain broken: " + JSON.stringify(store.loadReport.breaks));
const out = { ms, cpuMs: (cpu.user + cpu.system) / 1000, lines: store.loadReport.lines, receipts: store.loadReport.receipts, subjects: store.index.subjectCount,
  maxRssMB: process.resourceUsage().maxRSS / 1024, heapUsedAfterGcMB: mem.heapUsed / 1048576, rssAfterGcMB: mem.rss / 1048576 };
store.close().then(() => process.stdout.write(JSON.stringify(out)));
`;

const { generateSigningKey } = require("../../dist/consent/receipt-signing");

/** Ten purposes described the way a house would, for the page figures. */
const TEN = Array.from({ length: 10 }, (_, i) => ({
  id: `purpose-${i}`, description: "What this is for, in one sentence a flatmate understands.", policyVersion: "3",
  title: `Sensor ${i}: readings for the house dashboard`, dataCategories: ["room temperature", "humidity", "presence"], recipients: ["Acme Cloud analytics", "only this house"],
  retention: "30 days", policyUrl: "https://example.org/privacy", dpvPurpose: "https://w3id.org/dpv#ServiceOptimisation",
}));
const PAGE_STORE = "bench-page-store";
const PAGE_MANAGER = "bench-page-manager";

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One request; resolves with the time to the response's first byte (headers), the body and headers. */
function request(url, options = {}, body) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = http.request(url, options, (res) => {
      const ttfb = Number(process.hrtime.bigint() - start) / 1e6;
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ ttfb, status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The page for a subject with ten purposes, a toggle on it, and the manager's own grant. */
async function pageFigures(log) {
  const storeNode = runtime.RED.nodes.getNode(PAGE_STORE);
  const store = storeNode.consentStore;
  // Two people: the page allows 30 requests at once per link (rate limit), then one every 2 s.
  const subject = "flatmate";
  const other = "guest";
  for (const who of [subject, other]) {
    for (let i = 0; i < 10; i++) await store.execute({ action: i % 2 ? "withdraw" : "grant", subject: who, purpose: TEN[i].id }, "bench");
  }
  const link = async (who) => `${new URL(runtime.url).origin}/api/bench/consent/${(await store.makeLink(who)).token}`;
  let url = await link(subject);
  const loads = [];
  let bytes = 0;
  for (let i = 0; i < 28; i++) {
    const r = await request(url, { headers: { "Accept-Language": "en" } });
    if (r.status !== 200) throw new Error(`page answered ${r.status}`);
    bytes = r.body.length + Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 0);
    if (i >= 8) loads.push(r.ttfb);
  }
  url = await link(other);
  // A toggle as the browser makes it: the form token from the page, its cookie, then the post.
  const first = await request(url);
  const csrf = /name="csrf" value="([^"]+)"/.exec(first.body.toString())[1];
  const cookie = String(first.headers["set-cookie"]).split(";")[0];
  const toggles = [];
  for (let i = 0; i < 28; i++) {
    const form = new URLSearchParams({ csrf, purpose: TEN[0].id, give: i % 2 ? "1" : "0" }).toString();
    const r = await request(url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie, "Content-Length": Buffer.byteLength(form) } }, form);
    if (r.status !== 303) throw new Error(`toggle answered ${r.status}`);
    if (i >= 8) toggles.push(r.ttfb);
  }
  // The manager node: from input to done(), which it calls once the receipt is durable.
  const manager = runtime.RED.nodes.getNode(PAGE_MANAGER);
  let finished;
  runtime.RED.hooks.add("onComplete.benchPage", (evt) => {
    if (evt.node && evt.node.id === PAGE_MANAGER && finished) finished(evt.error);
  });
  const grants = [];
  try {
    for (let i = 0; i < 40; i++) {
      const start = process.hrtime.bigint();
      const error = await new Promise((resolve) => {
        finished = resolve;
        manager.receive({ consent: { action: i % 2 ? "grant" : "withdraw", subject, purpose: TEN[1].id } });
      });
      if (error) throw error;
      if (i >= 10) grants.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  } finally {
    runtime.RED.hooks.remove("onComplete.benchPage");
  }
  const ttfb = median(loads);
  const toggle = median(toggles);
  const grant = median(grants);
  log("\nconsent page (a subject with ten purposes, file journal, fsync included; medians)");
  log("| what | time (ms) | size | goal |");
  log("|---|---:|---:|---|");
  log(`| page load, time to first byte | ${ttfb.toFixed(2)} | ${(bytes / 1024).toFixed(1)} KB | < 100 ms and < 50 KB: ${ttfb < 100 && bytes < 50 * 1024 ? "met" : "NOT met"} |`);
  log(`| toggle on the page until its receipt is durable (303) | ${toggle.toFixed(2)} | | < 20 ms: ${toggle < 20 ? "met" : "NOT met"} |`);
  log(`| manager node grant/withdraw, input to done | ${grant.toFixed(2)} | | (beside) |`);
  return { ttfbMs: ttfb, bytes, toggleMs: toggle, managerGrantMs: grant };
}

let runtime; // the embedded runtime, kept by setup() for the raw variant
let store;
function storeCheck(msg) {
  if (!store) store = runtime.RED.nodes.getNode(STORE_ID).consentStore;
  if (typeof store.check(msg.topic, "analytics") === "string") throw new Error("bench subject not granted");
}

module.exports = {
  name: "consent",
  description: `consent gate (store: ${SUBJECTS.toLocaleString("en-US")} subjects x ${PURPOSES.length} purposes, file backend) next to a core switch node`,
  // More messages than most cases: at ~2 us a hop the gate sits near the noise floor.
  messages: 20000,
  makeMessage,
  configNodes: [
    { id: STORE_ID, type: "privacy-consent-store", name: "bench", backend: "file", file: JOURNAL, purposes: PURPOSES },
    { id: "bench-page-tab", type: "tab", label: "consent page bench" },
    {
      id: PAGE_STORE, type: "privacy-consent-store", name: "bench house", backend: "file", file: "bench-consent/page.jsonl", purposes: TEN,
      page: true, pagePath: "/bench/consent", pageBase: "", retiredKeys: [], credentials: { signingKey: JSON.stringify(generateSigningKey()) },
    },
    { id: PAGE_MANAGER, type: "privacy-consent", z: "bench-page-tab", store: PAGE_STORE, method: "bench", wires: [[]] },
  ],
  async setup(rt) {
    runtime = rt;
    writeJournal(path.join(rt.userDir, JOURNAL), SUBJECTS, subjectRecord);
  },
  variants: [
    { name: "change (set msg.x)", baseline: true, node: { type: "change", rules: [{ t: "set", p: "x", pt: "msg", to: "1", tot: "num" }] } },
    SWITCH_VARIANT,
    { name: "store.check alone (raw, no Node-RED)", raw: storeCheck },
    { name: "privacy-consent-gate", node: { type: "privacy-consent-gate", store: STORE_ID, purposeFrom: "config", purpose: "analytics", subjectProperty: "topic", onBlocked: "output", outputs: 2 } },
  ],
  goals: [{ variant: "privacy-consent-gate", against: SWITCH_VARIANT.name, maxRatio: 1.5, note: "marginal cost per message vs core switch" }],
  async extra(log) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nr-privacy-consent-load-"));
    const LINES = Number(process.env.BENCH_JOURNAL_LINES || 1000000);
    // 250,000 subjects, each with 4 lines: grant, grant (renewal), withdraw one, grant again.
    const ids = Array.from({ length: LINES }, () => randomUUID());
    const lineAt = (i) => {
      const subject = `subject-${i % 250000}`;
      const round = Math.floor(i / 250000);
      const p = PURPOSES[(i + round) % PURPOSES.length];
      const r = receipt(subject, p, round === 2 ? "withdrawn" : "granted", START + i);
      r.receiptId = ids[i];
      return { receipts: [r] };
    };
    const chained = path.join(dir, "chained.jsonl");
    const plain = path.join(dir, "plain.jsonl");
    const writeStart = Date.now();
    writeJournal(chained, LINES, lineAt, 2);
    writeJournal(plain, LINES, lineAt, 1);
    const bytes = fs.statSync(chained).size;
    log(`\njournal load: ${LINES.toLocaleString("en-US")} lines, ${(bytes / 1048576).toFixed(0)} MB chained, ${(fs.statSync(plain).size / 1048576).toFixed(0)} MB without (written in ${Date.now() - writeStart} ms)`);
    const ours = path.join(__dirname, "..", "..", "dist", "consent", "consent-store.js");
    const base = process.env.BENCH_BASE_DIST ? path.resolve(process.env.BENCH_BASE_DIST, "consent", "consent-store.js") : undefined;
    const variants = [
      { name: "this release: version 2, every line's hash verified", file: chained, store: ours },
      // The last release reads version 1 only; without it, this release reads the same records unchained
      // (a fresh copy each time: it upgrades the file after the load is measured).
      base ? { name: "last release: version 1, no chain", file: plain, store: base } : { name: "this release: version 1, no chain to verify", file: plain, store: ours, copy: true },
    ];
    const runs = variants.map(() => []);
    for (let i = 0; i < 3; i++) {
      variants.forEach((v, k) => {
        let file = v.file;
        if (v.copy) {
          file = path.join(dir, "copy.jsonl");
          fs.copyFileSync(v.file, file);
        }
        const res = spawnSync(process.execPath, ["--expose-gc", "-e", LOADER, file, JSON.stringify(PURPOSES), v.store], { encoding: "utf8", maxBuffer: 1 << 20 });
        if (res.status !== 0) throw new Error(`journal load failed: ${res.stderr}`);
        runs[k].push(JSON.parse(res.stdout));
        if (v.copy) for (const f of [file, `${file}.head`]) fs.rmSync(f, { force: true });
      });
    }
    for (const r of runs) r.sort((a, b) => a.ms - b.ms);
    // Wall time depends on what else the machine runs (the load average is printed);
    // CPU time (user + system, all threads incl. GC) is the steadier figure.
    log(`load average while measuring: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
    log("| journal | lines | load time (s, median of 3) | CPU time (s) | peak RSS (MB) | heap after load+GC (MB) | subjects | goal |");
    log("|---|---:|---:|---:|---:|---:|---:|---|");
    variants.forEach((v, k) => {
      const m = runs[k][1];
      log(`| ${v.name} | ${m.lines.toLocaleString("en-US")} | ${(m.ms / 1000).toFixed(2)} | ${(m.cpuMs / 1000).toFixed(2)} | ${m.maxRssMB.toFixed(0)} | ${m.heapUsedAfterGcMB.toFixed(0)} | ${m.subjects.toLocaleString("en-US")} | < 5 s and < 300 MB: ${m.ms < 5000 && m.maxRssMB < 300 ? "met" : "NOT met"} |`);
    });
    const cost = runs[0][1].ms / runs[1][1].ms - 1;
    const cpuCost = runs[0][1].cpuMs / runs[1][1].cpuMs - 1;
    log(`hash chain: load time ${(cost * 100).toFixed(1)} % (CPU ${(cpuCost * 100).toFixed(1)} %) over ${variants[1].name} (goal <= 10 %: ${cost <= 0.1 ? "met" : "NOT met"})`);
    fs.rmSync(dir, { recursive: true, force: true });
    const page = await pageFigures(log);
    return { journalLoad: { lines: runs[0][1].lines, bytes, runs: runs[0], unchained: { name: variants[1].name, runs: runs[1] }, chainCost: cost, chainCpuCost: cpuCost }, page };
  },
};
