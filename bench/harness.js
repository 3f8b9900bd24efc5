"use strict";
/**
 * Measures nodes inside one real, embedded Node-RED runtime (never the test helper:
 * its spies cost ~85 us a hop). For each variant of a case a flow is deployed:
 *
 *   source (junction) -> HOPS copies of the node under test -> sink (junction)
 *
 * plus the same flow with no hop at all. A node's cost per message is
 * (time of its chain - time of the empty chain) / HOPS, so the source and sink cancel.
 * They are junctions, the cheapest core node (a function node costs ~20 us in its vm
 * sandbox, and the noise of that would be as large as the nodes being measured). Runs alternate between variants, after a
 * warm-up, and the median of RUNS is kept. A `raw` variant is a plain function timed
 * in a loop without Node-RED (e.g. node:crypto alone).
 *
 * A case that is not about messages exports { name, run(rt, log) } instead and returns its
 * own result ({ name, kind: "timing", rows: [{ variant, median, p90, min, runs }], goals }).
 *
 * A case (bench/cases/*.js) exports:
 *   { name, messages?, makeMessage(i) -> msg, configNodes?: [node defs with credentials],
 *     contextStorage?: { storeName: { module, config } } (added to the runtime's settings),
 *     setup?(rt) (before the deploy), ready?(rt) (after it, before any message), extra?(log),
 *     variants: [{ name, baseline?, node?: def, hops?: [defs], raw?: (msg) => void,
 *                  derive?: (cost) => us }],
 *     goals?: [{ variant, against?, maxRatio?, note }] }
 * `node` is repeated HOPS times; `hops` is an explicit chain (its length is the divisor).
 * A `derive` variant is not run: its cost is computed from the other rows' costs
 * (`cost(name)`, us per message), e.g. one node of a chain that alternates it with a
 * scaffold node: 2 * cost("node in scaffold") - cost("scaffold only").
 */
const path = require("node:path");
const fs = require("node:fs");
const os = require("node:os");
const { performance } = require("node:perf_hooks");
const { startRuntime } = require("../scripts/runtime");

const HOPS = Number(process.env.BENCH_HOPS || 10);
const RUNS = Number(process.env.BENCH_RUNS || 7);
const WINDOW = 64; // messages in flight at once: keeps queues short, like a live flow

function chainFlow(tab, variant) {
  const hops = variant === null ? [] : variant.hops || Array.from({ length: HOPS }, () => variant.node);
  const nodes = [{ id: tab, type: "tab", label: tab }];
  const ids = hops.map((_, i) => `${tab}-h${i}`);
  nodes.push({ id: `${tab}-src`, type: "junction", z: tab, wires: [[ids[0] || `${tab}-sink`]] });
  hops.forEach((def, i) => {
    const { credentials, ...rest } = def;
    nodes.push({ ...rest, id: ids[i], z: tab, wires: [[ids[i + 1] || `${tab}-sink`]], ...(credentials ? { credentials } : {}) });
  });
  nodes.push({ id: `${tab}-sink`, type: "junction", z: tab, wires: [] });
  // A node that fails would otherwise stall the run: its catch node ends the bench.
  nodes.push({ id: `${tab}-catch`, type: "catch", z: tab, scope: null, uncaught: false, wires: [[`${tab}-sink`]] });
  return { nodes, divisor: hops.length };
}

async function deploy(rt, flows) {
  const res = await fetch(`${rt.url}flows`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
    body: JSON.stringify(flows),
  });
  if (!res.ok) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
  const end = Date.now() + 10000;
  while (!flows.every((n) => n.type === "tab" || rt.RED.nodes.getNode(n.id))) {
    if (Date.now() > end) throw new Error("deployed nodes did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Pushes n messages through one chain; resolves with ms per message. */
function pump(rt, tab, n, makeMessage) {
  const source = rt.RED.nodes.getNode(`${tab}-src`);
  const sink = rt.RED.nodes.getNode(`${tab}-sink`);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let received = 0;
    const start = performance.now();
    sink.__benchFail = (msg) => reject(new Error(`a node failed during the bench (${tab}): ${msg.error && msg.error.message}`));
    sink.__benchDone = () => {
      received++;
      if (received === n) {
        const ms = performance.now() - start;
        resolve(ms / n);
      } else if (sent < n) {
        source.receive(makeMessage(sent++));
      }
    };
    for (let i = 0; i < Math.min(WINDOW, n); i++) source.receive(makeMessage(sent++));
  });
}

function installSinkHook(rt, tab) {
  const sink = rt.RED.nodes.getNode(`${tab}-sink`);
  sink.on("input", (msg, _send, done) => {
    done();
    if (msg.error) sink.__benchFail(msg);
    else sink.__benchDone();
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timeRaw(fn, n, makeMessage) {
  const msgs = Array.from({ length: n }, (_, i) => makeMessage(i));
  const start = performance.now();
  for (let i = 0; i < n; i++) fn(msgs[i]);
  return (performance.now() - start) / n;
}

async function runCase(rt, benchCase, log) {
  // A case that times something other than messages (the audit) runs itself.
  if (typeof benchCase.run === "function") return benchCase.run(rt, log);
  const n = Number(process.env.BENCH_MESSAGES || benchCase.messages || 3000);
  const variants = benchCase.variants;
  const chains = [{ name: "(empty chain)", key: "empty", variant: null }].concat(
    variants.map((v, i) => ({ name: v.name, key: `v${i}`, variant: v })),
  );
  const tabOf = (c) => `bench-${benchCase.name}-${c.key}`.replace(/[^\w-]/g, "_");
  const flows = [];
  const divisors = {};
  const measured = chains.filter((c) => !(c.variant && c.variant.derive));
  for (const c of measured) {
    if (c.variant && c.variant.raw) continue;
    const { nodes, divisor } = chainFlow(tabOf(c), c.variant);
    flows.push(...nodes);
    divisors[c.key] = divisor;
  }
  flows.push(...(benchCase.configNodes || []));
  if (benchCase.setup) await benchCase.setup(rt);
  await deploy(rt, flows);
  // A case whose nodes start asynchronously (a store loading from Redis) says when they are ready.
  if (benchCase.ready) await benchCase.ready(rt);
  for (const c of measured) if (!(c.variant && c.variant.raw)) installSinkHook(rt, tabOf(c));
  const samples = Object.fromEntries(measured.map((c) => [c.key, []]));
  // warm-up: JIT, caches, lazy loads
  for (const c of measured) {
    if (c.variant && c.variant.raw) timeRaw(c.variant.raw, Math.min(n, 500), benchCase.makeMessage);
    else await pump(rt, tabOf(c), Math.min(n, 500), benchCase.makeMessage);
  }
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? measured : [...measured].reverse();
    for (const c of order) {
      if (global.gc) global.gc();
      const ms = c.variant && c.variant.raw ? timeRaw(c.variant.raw, n, benchCase.makeMessage) : await pump(rt, tabOf(c), n, benchCase.makeMessage);
      samples[c.key].push(ms);
    }
  }
  const emptyMs = median(samples.empty);
  const rows = variants.map((v, i) => {
    if (v.derive) return { variant: v.name, baseline: !!v.baseline, derived: true };
    const key = `v${i}`;
    const chainMs = median(samples[key]);
    const costUs = v.raw ? chainMs * 1000 : ((chainMs - emptyMs) * 1000) / divisors[key];
    return { variant: v.name, baseline: !!v.baseline, chainUsPerMsg: chainMs * 1000, costUsPerMsg: costUs, msgsPerSecond: 1e6 / costUs };
  });
  const cost = (name) => {
    const row = rows.find((r) => r.variant === name && !r.derived);
    if (!row) throw new Error(`bench case ${benchCase.name}: no measured variant "${name}" to derive from`);
    return row.costUsPerMsg;
  };
  variants.forEach((v, i) => {
    if (!v.derive) return;
    const costUs = v.derive(cost);
    Object.assign(rows[i], { costUsPerMsg: costUs, msgsPerSecond: 1e6 / costUs });
  });
  const base = rows.find((r) => r.baseline) || rows[0];
  for (const r of rows) r.ratioToBaseline = r.costUsPerMsg / base.costUsPerMsg;
  const goals = (benchCase.goals || []).map((g) => {
    const row = rows.find((r) => r.variant === g.variant);
    const against = g.against ? rows.find((r) => r.variant === g.against) : base;
    const ratio = row && against ? row.costUsPerMsg / against.costUsPerMsg : NaN;
    return { ...g, against: against && against.variant, ratio, met: g.maxRatio === undefined ? undefined : ratio <= g.maxRatio };
  });
  log(`\n## ${benchCase.name}${benchCase.description ? `: ${benchCase.description}` : ""}`);
  log(`messages per run: ${n}, in flight: ${WINDOW}, hops per chain: ${HOPS}, runs: ${RUNS} (median), empty chain: ${(emptyMs * 1000).toFixed(1)} us/msg`);
  log("| variant | cost per message (us) | messages/s | ratio to baseline |");
  log("|---|---:|---:|---:|");
  for (const r of rows) {
    log(`| ${r.variant}${r.baseline ? " (baseline)" : ""}${r.derived ? " (derived)" : ""} | ${r.costUsPerMsg.toFixed(2)} | ${Math.round(r.msgsPerSecond).toLocaleString("en-US")} | ${r.ratioToBaseline.toFixed(2)} |`);
  }
  for (const g of goals) {
    log(`goal: ${g.variant} / ${g.against} = ${g.ratio.toFixed(3)}${g.maxRatio !== undefined ? ` (goal <= ${g.maxRatio}: ${g.met ? "met" : "NOT met"})` : ""}${g.note ? ` - ${g.note}` : ""}`);
  }
  const extra = benchCase.extra ? await benchCase.extra(log) : undefined;
  return { name: benchCase.name, rows, goals, emptyChainUsPerMsg: emptyMs * 1000, ...(extra !== undefined ? { extra } : {}) };
}

async function runAll({ cases, log = console.log, out }) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "nr-privacy-bench-"));
  const settings = { logging: { console: { level: "error" } } };
  // Context stores a case compares (case.contextStorage) join the runtime's; the default
  // stays Node-RED's memory store, so no other case's nodes change.
  const stores = Object.assign({}, ...cases.map((c) => c.contextStorage || {}));
  if (Object.keys(stores).length > 0) settings.contextStorage = { default: { module: "memory" }, ...stores };
  const rt = await startRuntime({ userDir, settings });
  const results = [];
  try {
    for (const c of cases) results.push(await runCase(rt, c, log));
  } finally {
    await rt.stop();
  }
  const report = { date: new Date().toISOString(), node: process.version, nodeRed: require("node-red/package.json").version, cpus: os.cpus().length, hops: HOPS, runs: RUNS, results };
  if (out) fs.writeFileSync(out, JSON.stringify(report, null, 2));
  return report;
}

module.exports = { runAll, runCase, median };
