"use strict";
/**
 * The hostile-input harness: feeds one message at a time to privacy nodes running in a
 * real Node-RED child process, and measures there what it must:
 *
 *   http in POST /api/hostile -> driver (function) -> node under test [-> next node]
 *                                   |                     |  each output port -> collector (function)
 *                                   |                     '  catch (scope: nodes under test) -> collector
 *                                   '-> http response (the result, once the message is done)
 *
 * The driver builds the message from its JSON description (Buffers, NaN, -0, undefined
 * are tagged), in the main realm (the objects the http in node parsed, decoded in place)
 * or in its own vm realm (a function node's objects, as a user's function node makes
 * them). It resets the event-loop delay histogram (perf_hooks.monitorEventLoopDelay,
 * started by scripts/runtime.js when NR_ELD_PROBE is set, and given to function nodes
 * as the global context key `eventLoopDelay`), waits for its first tick (a reset
 * forgets the last tick, so a block right after it would go unseen), sends
 * the message, waits until it is done (Node-RED's onComplete hook, passed on by the
 * probe: a complete node would deep-clone every message inside the measurement) by the
 * last node that got it, lets the histogram's timer tick twice more, and answers with the histogram
 * max, the outputs, the catch messages and any new key on Object.prototype, all
 * serialised with the same tags. The histogram's max is the longest gap between two
 * ticks of its timer: a loop blocked for B ms shows a gap of B to B + resolution, so
 * `blockMs = max - resolution` never overstates the block.
 *
 * On the test side: fast-check properties send messages built from each node's own
 * grammar; `run` fails a property when the process exits, when a message blocks the
 * loop for more than 50 ms three times in a row (it is re-sent twice alone: a busy
 * 2-core machine can stall one run, a super-linear blow-up stalls every one), when a
 * message is neither done nor failed within the time limit, or when a prototype changed.
 * Each node's file checks what its rules promise.
 */
const assert = require("node:assert/strict");
const fc = require("fast-check");
const path = require("node:path");
const { startRuntime, deploy, tempDir } = require("../../helpers/runtime");

const TAG = "\u0000hostile";
// HOSTILE_BLOCK_LIMIT_MS lowers it to see how close a node comes (the issue sets 50 ms)
const BLOCK_LIMIT_MS = Number(process.env.HOSTILE_BLOCK_LIMIT_MS) || 50;
const RESOLUTION_MS = 5;
/** How long the driver waits for a message to be done, and the test for the driver's answer. */
const DONE_TIMEOUT_MS = 10000;
const ANSWER_TIMEOUT_MS = 30000;

// ------------------------------------------------------------------ value encoding
/** Encodes a message (any JS value) as JSON with tags for what JSON cannot carry. */
function encode(v, depth = 0) {
  if (depth > 5000) throw new Error("encode: too deep");
  if (v === undefined) return { [TAG]: "undef" };
  if (typeof v === "number") {
    if (Number.isNaN(v)) return { [TAG]: "num", v: "NaN" };
    if (v === Infinity) return { [TAG]: "num", v: "Infinity" };
    if (v === -Infinity) return { [TAG]: "num", v: "-Infinity" };
    if (Object.is(v, -0)) return { [TAG]: "num", v: "-0" };
    return v;
  }
  if (typeof v === "bigint") return { [TAG]: "big", v: String(v) };
  if (v === null || typeof v !== "object") return v;
  if (Buffer.isBuffer(v)) return { [TAG]: "buf", v: v.toString("base64") };
  if (v instanceof Date) return { [TAG]: "date", v: v.getTime() };
  if (Array.isArray(v)) {
    const out = [];
    for (let i = 0; i < v.length; i++) out.push(encode(v[i], depth + 1));
    return out;
  }
  const out = {};
  for (const k of Object.keys(v)) define(out, k, encode(v[k], depth + 1));
  if (Object.getPrototypeOf(v) === null) return { [TAG]: "nullproto", v: out };
  return out;
}

function define(obj, key, value) {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Decodes what the driver answers (the same tags, and a few more for what it found). */
function decode(v) {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(decode);
  if (Object.prototype.hasOwnProperty.call(v, TAG)) {
    switch (v[TAG]) {
      case "undef":
        return undefined;
      case "num":
        return v.v === "-0" ? -0 : Number(v.v);
      case "big":
        return BigInt(v.v);
      case "buf":
        return Buffer.from(v.v, "base64");
      case "date":
        return new Date(v.v);
      case "nullproto": {
        const out = Object.create(null);
        for (const k of Object.keys(v.v)) define(out, k, decode(v.v[k]));
        return out;
      }
      default:
        // what the driver could not carry: a function, a cycle, an object of a class
        return new Strange(v);
    }
  }
  const out = {};
  for (const k of Object.keys(v)) define(out, k, decode(v[k]));
  return out;
}

/** A value the driver found in an output that is no plain data (a class instance, a cycle...). */
class Strange {
  constructor(tag) {
    this.kind = tag[TAG];
    this.detail = tag.v;
  }
}

// ------------------------------------------------------------------ in the child process
/**
 * The driver: the body of a function node (its source is sent, so it must not use
 * anything from this file). `OUT` is the number of nodes it can send into.
 */
async function hostileDriver(msg, node, global, Buffer, setTimeout, Date, OUT, TAG, RES, DONE_TIMEOUT_MS) {
  const eld = global.get("eventLoopDelay");
  const res = msg.res;
  const body = msg.req.body;
  const reply = (payload) => {
    const outs = new Array(OUT + 1).fill(null);
    outs[OUT] = { res, payload, statusCode: 200 };
    node.send(outs, false);
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const defineOn = (o, k, value) => Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
  if (!eld) return reply({ error: "no eventLoopDelay in global context: start the runtime with NR_ELD_PROBE" });

  let st = global.get("hostile");
  if (!st) {
    st = {
      pending: null,
      stray: [],
      record(kind, nodeId, port, m) {
        const p = this.pending;
        if (p === null) {
          if (this.stray.length < 1000) this.stray.push({ kind, node: nodeId, port, msg: m });
          return;
        }
        // A node whose output feeds the next one: its message is changed there, so it is copied now.
        p.events.push({ kind, node: nodeId, port, msg: kind === "out" && port === 0 && p.feeds.includes(nodeId) ? p.snapshot(m) : m, snapshot: kind === "out" && port === 0 && p.feeds.includes(nodeId) });
      },
      /** Node-RED's onComplete hook: a node called done(), with or without an error. */
      completed(nodeId, failed) {
        const p = this.pending;
        if (p === null) return;
        const i = p.chain.indexOf(nodeId);
        if (i < 0) return;
        p.events.push({ kind: failed ? "failed" : "done", node: nodeId, port: -1, msg: null });
        if (p.batch > 1) {
          // several messages into one node: done when each is done or failed
          const ended = p.events.filter((e) => (e.kind === "done" || e.kind === "failed") && e.node === nodeId);
          if (ended.length === p.batch) p.finish(ended.some((e) => e.kind === "failed") ? "catch" : "done");
          return;
        }
        if (failed || i === p.chain.length - 1) return p.finish(failed ? "catch" : "done");
        // What the node sent before done() is delivered on the next turn: see if it went on.
        setTimeout(() => {
          if (this.pending === p && !p.events.some((e) => e.kind === "out" && e.node === nodeId && e.port === 0)) p.finish("done");
        }, 0);
      },
    };
    global.set("hostile", st);
    eld.onComplete((nodeId, failed) => st.completed(nodeId, failed));
  }

  // -------------------------------------------------------------- values in and out
  const isTag = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && has(v, TAG);
  const fromTag = (t, build) => {
    switch (t[TAG]) {
      case "undef":
        return undefined;
      case "num":
        return t.v === "-0" ? -0 : Number(t.v);
      case "big":
        return BigInt(t.v);
      case "buf":
        return Buffer.from(t.v, "base64");
      case "date":
        return new Date(t.v);
      case "nullproto": {
        const o = Object.create(null);
        for (const k of Object.keys(t.v)) defineOn(o, k, build(t.v[k]));
        return o;
      }
      default:
        throw new Error(`unknown tag ${t[TAG]}`);
    }
  };
  // main realm: the objects the http in node parsed, with tags replaced in place
  const inPlace = (v) => {
    if (v === null || typeof v !== "object") return v;
    if (isTag(v)) return fromTag(v, inPlace);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = inPlace(v[i]);
      return v;
    }
    for (const k of Object.keys(v)) {
      const x = v[k];
      if (x !== null && typeof x === "object") defineOn(v, k, inPlace(x));
    }
    return v;
  };
  // this function node's realm: every object and array made here
  const vmCopy = (v) => {
    if (v === null || typeof v !== "object") return v;
    if (isTag(v)) return fromTag(v, vmCopy);
    if (Array.isArray(v)) {
      const a = [];
      for (let i = 0; i < v.length; i++) a.push(vmCopy(v[i]));
      return a;
    }
    const o = {};
    for (const k of Object.keys(v)) defineOn(o, k, vmCopy(v[k]));
    return o;
  };
  const out = (v, seen, depth) => {
    if (v === undefined) return { [TAG]: "undef" };
    if (typeof v === "number") {
      if (Number.isNaN(v)) return { [TAG]: "num", v: "NaN" };
      if (v === Infinity || v === -Infinity) return { [TAG]: "num", v: String(v) };
      if (Object.is(v, -0)) return { [TAG]: "num", v: "-0" };
      return v;
    }
    if (typeof v === "bigint") return { [TAG]: "big", v: String(v) };
    if (typeof v === "function") return { [TAG]: "function", v: v.name };
    if (typeof v === "symbol") return { [TAG]: "symbol", v: String(v) };
    if (v === null || typeof v !== "object") return v;
    // (an object whose prototype is a Buffer passes Buffer.isBuffer, but is no view)
    if (ArrayBuffer.isView(v) && Buffer.isBuffer(v)) return { [TAG]: "buf", v: v.toString("base64") };
    if (Object.prototype.toString.call(v) === "[object Date]") {
      try {
        return { [TAG]: "date", v: Date.prototype.getTime.call(v) };
      } catch {
        return { [TAG]: "object", v: "Date?" };
      }
    }
    if (seen.has(v)) return { [TAG]: "cycle", v: null };
    if (depth > 4000) return { [TAG]: "too-deep", v: null };
    const proto = Object.getPrototypeOf(v);
    const plain = proto === null || (Object.getPrototypeOf(proto) === null && typeof proto.constructor === "function" && proto.constructor.name === "Object");
    if (!Array.isArray(v) && !plain) {
      const name = proto && typeof proto.constructor === "function" ? proto.constructor.name : "?";
      if (name === "Error" || v instanceof Error || (v && typeof v.message === "string" && typeof v.name === "string")) {
        return { [TAG]: "error", v: { name: String(v.name), message: String(v.message) } };
      }
      return { [TAG]: "object", v: name };
    }
    seen.add(v);
    let r;
    if (Array.isArray(v)) {
      r = [];
      for (let i = 0; i < v.length; i++) r.push(out(v[i], seen, depth + 1));
    } else {
      r = {};
      for (const k of Object.keys(v)) defineOn(r, k, out(v[k], seen, depth + 1));
      if (proto === null) r = { [TAG]: "nullproto", v: r };
    }
    seen.delete(v);
    return r;
  };
  const ser = (v) => {
    try {
      return out(v, new Set(), 0);
    } catch (e) {
      return { [TAG]: "unserialisable", v: String(e && e.message) };
    }
  };

  if (body.op === "ping") return reply({ ok: true });
  if (body.op === "stray") {
    const s = st.stray.map((e) => ({ kind: e.kind, node: e.node, port: e.port, msg: ser(e.msg) }));
    st.stray = [];
    return reply({ stray: s });
  }

  // -------------------------------------------------------------- one message
  const mainProto = Object.getPrototypeOf(body);
  const mainArrayProto = Object.getPrototypeOf(body.arrayProbe);
  const protos = [
    ["Object.prototype", mainProto],
    ["Array.prototype", mainArrayProto],
    ["Object.prototype (function node realm)", Object.prototype],
  ];
  const names = (p) => Object.getOwnPropertyNames(p).join("\u0000");
  const before = protos.map(([, p]) => names(p));

  let m;
  let batch = [];
  try {
    if (body.batch) batch = body.msg.map((x) => (body.realm === "vm" ? vmCopy(x) : inPlace(x)));
    else m = body.realm === "vm" ? vmCopy(body.msg) : inPlace(body.msg);
  } catch (e) {
    return reply({ error: `driver could not build the message: ${e.message}` });
  }
  const id = `hostile-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  if (m) m._msgid = id;
  batch.forEach((x, i) => (x._msgid = `${id}-${i}`));
  const entry = body.entry;
  // The histogram records a tick's gap from the tick before it, and forgets that tick on
  // reset: a block before the first tick after a reset would go unseen. So: reset, wait
  // for a tick, then send.
  eld.reset();
  while (eld.count() < 1) await sleep(RES);
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  st.pending = { id, chain: body.chain, feeds: body.chain.slice(0, -1), events: [], finish, snapshot: (x) => ser(x), batch: batch.length };
  const pending = st.pending;
  const t0 = Date.now();
  for (const x of m ? [m] : batch) {
    const outs = new Array(OUT + 1).fill(null);
    outs[entry] = x;
    node.send(outs, false);
  }
  let timer;
  const outcome = await Promise.race([finished, new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), body.timeoutMs || DONE_TIMEOUT_MS)))]);
  clearTimeout(timer);
  const wallMs = Date.now() - t0;
  // What a node sent, and the catch node's copy of a failed message, arrive a turn later.
  await sleep(2 * RES);
  for (let i = 0; outcome === "catch" && i < 100 && !pending.events.some((e) => e.kind === "catch"); i++) await sleep(RES);
  const maxMs = eld.maxMs();
  st.pending = null;
  const after = protos.map(([, p]) => names(p));
  const polluted = [];
  protos.forEach(([name], i) => {
    if (before[i] !== after[i]) polluted.push(`${name}: ${after[i].split("\u0000").filter((n) => !before[i].split("\u0000").includes(n)).join(", ")}`);
  });
  return reply({
    outcome,
    wallMs,
    maxMs,
    resolutionMs: eld.resolutionMs,
    polluted,
    // what the first node was given, as it was left (a node must not change a message it fails)
    input: ser(m ?? batch),
    events: pending.events.map((e) => ({ kind: e.kind, node: e.node, port: e.port, msg: e.snapshot ? e.msg : ser(e.msg) })),
  });
}

function driverFunc(outputs) {
  return `return (${hostileDriver.toString()})(msg, node, global, Buffer, setTimeout, Date, ${outputs}, ${JSON.stringify(TAG)}, ${RESOLUTION_MS}, ${DONE_TIMEOUT_MS});`;
}

function collectorFunc(kind, nodeExpr, port, forward = false) {
  return `const st = global.get("hostile"); if (st) st.record(${JSON.stringify(kind)}, ${nodeExpr}, ${port}, msg); return ${forward ? "msg" : "null"};`;
}

/**
 * The flow: `nodes` are the nodes under test (each with `outputs`, default 1, and
 * optionally `next`: the id of a node under test its first output also feeds); `config`
 * are config nodes (keyring, store); the driver can send into any node under test.
 */
function buildFlow({ nodes, config = [] }) {
  const z = "hostile-tab";
  const ids = nodes.map((n) => n.id);
  const flow = [{ id: z, type: "tab", label: "hostile" }, ...config.map((c) => ({ ...c }))];
  flow.push({ id: "h-in", type: "http in", z, url: "/hostile", method: "post", upload: false, swaggerDoc: "", wires: [["h-driver"]] });
  flow.push({
    id: "h-driver",
    type: "function",
    z,
    func: driverFunc(ids.length),
    outputs: ids.length + 1,
    timeout: 0,
    noerr: 0,
    initialize: "",
    finalize: "",
    libs: [],
    wires: [...ids.map((id) => [id]), ["h-res"]],
  });
  flow.push({ id: "h-res", type: "http response", z, statusCode: "", headers: {}, wires: [] });
  for (const n of nodes) {
    const { next, outputs = 1, ...def } = n;
    const wires = [];
    for (let port = 0; port < outputs; port++) {
      const cid = `h-out-${n.id}-${port}`;
      // One wire per port: a fan-out would make Node-RED clone the message (and its
      // clone turns an own "__proto__" key into the prototype). The collector passes it on.
      const forward = port === 0 && next;
      flow.push({ id: cid, type: "function", z, func: collectorFunc("out", JSON.stringify(n.id), port, forward), outputs: 1, wires: [forward ? [next] : []] });
      wires.push([cid]);
    }
    flow.push({ z, ...def, wires });
  }
  flow.push({ id: "h-catch", type: "catch", z, scope: ids, uncaught: false, wires: [["h-catch-c"]] });
  flow.push({ id: "h-catch-c", type: "function", z, func: collectorFunc("catch", "msg.error && msg.error.source && msg.error.source.id", -1), outputs: 1, wires: [[]] });
  return flow;
}

// ------------------------------------------------------------------ the test side
class Hostile {
  constructor(spec, options) {
    this.spec = spec;
    this.options = options;
    this.rt = undefined;
    this.dir = tempDir("nr-hostile-");
    this.exitNote = "";
  }

  /** Starts (or restarts, after a crash or a hang) the runtime and deploys the flow. */
  async ensureRunning() {
    if (this.rt && this.alive()) return this;
    if (this.rt) await this.rt.kill().catch(() => undefined);
    this.rt = await startRuntime({
      userDir: path.join(this.dir, `user-${Date.now()}`),
      env: { NR_ELD_PROBE: String(RESOLUTION_MS), ...(this.options.env || {}) },
      logLevel: "error",
    });
    this.rt.proc.once("exit", (code, signal) => (this.exitNote = `runtime exited (code ${code}, signal ${signal})`));
    if (this.options.beforeDeploy) await this.options.beforeDeploy(this.rt.userDir);
    await this.redeploy(this.spec);
    return this;
  }

  /**
   * Stops the runtime (gracefully, or with SIGKILL when `kill`) and starts it again on
   * the same user directory: the deployed flow comes back from flows.json, and with it
   * whatever the nodes keep there (a consent journal, say).
   */
  async restart({ kill = false } = {}) {
    const userDir = this.rt.userDir;
    if (kill) await this.rt.kill();
    else await this.rt.stop();
    this.rt = await startRuntime({ userDir, env: { NR_ELD_PROBE: String(RESOLUTION_MS), ...(this.options.env || {}) }, logLevel: "error" });
    this.rt.proc.once("exit", (code, signal) => (this.exitNote = `runtime exited (code ${code}, signal ${signal})`));
    for (let i = 0; ; i++) {
      try {
        if ((await this.post({ op: "ping", arrayProbe: [] }, 5000)).ok) return this;
      } catch (e) {
        if (i > 100) throw e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  alive() {
    return this.rt.proc.exitCode === null && this.rt.proc.signalCode === null;
  }

  /** Deploys another set of nodes under test (same harness). */
  async redeploy(spec) {
    this.spec = spec;
    this.chains = chainsOf(spec.nodes);
    // Through an empty flow: Node-RED 4's full deploy can trip over a node it rewires
    // while another goes ("Cannot read properties of undefined (reading 'wires')").
    await deploy(this.rt, [{ id: "hostile-tab", type: "tab", label: "hostile" }]);
    await deploy(this.rt, buildFlow(spec));
    for (let i = 0; ; i++) {
      try {
        const r = await this.post({ op: "ping", arrayProbe: [] }, 5000);
        if (r.ok) return;
      } catch (e) {
        if (i > 100) throw e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async post(body, timeoutMs = ANSWER_TIMEOUT_MS) {
    const res = await fetch(new URL("api/hostile", this.rt.url), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`driver answered ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text);
  }

  /** Outputs that arrived while no message was pending (windows closed by a timer, say). */
  async stray() {
    const r = await this.post({ op: "stray", arrayProbe: [] });
    return r.stray.map((e) => ({ ...e, msg: decode(e.msg) }));
  }

  /**
   * Sends one message into node `entry` (or, with `batch`, each message of the array
   * `msg` at once, without waiting) and returns what happened, decoded:
   * { outcome: "done"|"catch"|"timeout", blockMs, wallMs, events, outputs(node, port), caught }.
   * Throws (failing the property) when the process died or hung.
   */
  async sendOnce(entry, msg, { realm = "main", batch = false } = {}) {
    const index = this.spec.nodes.findIndex((n) => n.id === entry);
    if (index < 0) throw new Error(`no node under test ${entry}`);
    if (!this.alive()) throw new Error(`${this.exitNote || "runtime is not running"}\n${this.tail()}`);
    if (batch && this.chains.get(entry).length > 1) throw new Error("a batch goes into one node, not a chain");
    const body = { entry: index, chain: this.chains.get(entry), realm, batch, msg: encode(msg), arrayProbe: [] };
    let r;
    try {
      r = await this.post(body);
    } catch (e) {
      await new Promise((res) => setTimeout(res, 200));
      if (!this.alive()) throw new Error(`${this.exitNote} while handling a message\n${this.tail()}`, { cause: e });
      // No answer at all: the loop is blocked far beyond the limit (or the driver broke).
      await this.rt.kill();
      throw new Error(`no answer from the runtime in ${ANSWER_TIMEOUT_MS / 1000} s (event loop blocked?): ${e.message}`, { cause: e });
    }
    if (r.error) throw new Error(r.error);
    if (!this.alive()) throw new Error(`${this.exitNote} after a message\n${this.tail()}`);
    const events = r.events.map((e) => ({ ...e, msg: decode(e.msg) }));
    return {
      outcome: r.outcome,
      blockMs: Math.max(0, r.maxMs - r.resolutionMs),
      wallMs: r.wallMs,
      polluted: r.polluted,
      events,
      outputs: (node, port = 0) => events.filter((e) => e.kind === "out" && e.node === node && e.port === port).map((e) => e.msg),
      allOutputs: (node) => events.filter((e) => e.kind === "out" && e.node === node),
      caught: events.filter((e) => e.kind === "catch"),
      /** The message the entry node was given, as it is after the node was done with it. */
      input: decode(r.input),
    };
  }

  /**
   * sendOnce, then the checks every message gets: the process lives, no prototype
   * changed, the message was done or failed in time, and the loop was not blocked
   * for more than 50 ms (or it was, but not in two more tries alone; `sent` then says
   * how often it went in, for nodes that count). The result is that of the first try.
   */
  async send(entry, msg, options = {}) {
    const r = await this.sendOnce(entry, msg, options);
    /** How many times the message went in (a node with state sees each one). */
    r.sent = 1;
    assert.deepEqual(r.polluted, [], `a prototype changed: ${r.polluted.join("; ")}`);
    assert.notEqual(r.outcome, "timeout", `the message was neither done nor failed within ${DONE_TIMEOUT_MS / 1000} s`);
    if (r.blockMs > BLOCK_LIMIT_MS && !options.noBlockCheck) {
      const tries = [r.blockMs];
      for (let i = 0; i < 2 && tries[tries.length - 1] > BLOCK_LIMIT_MS; i++) {
        tries.push((await this.sendOnce(entry, msg, options)).blockMs);
        r.sent++;
      }
      if (tries.every((t) => t > BLOCK_LIMIT_MS)) {
        assert.fail(`one message of ${sizeOf(msg)} bytes blocked the event loop for ${tries.map((t) => t.toFixed(0)).join(", ")} ms (limit ${BLOCK_LIMIT_MS} ms)`);
      }
    }
    return r;
  }

  tail() {
    return this.rt ? this.rt.output().slice(-3000) : "";
  }

  async stop() {
    if (this.rt) await this.rt.stop();
  }
}

function chainsOf(nodes) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const chains = new Map();
  for (const n of nodes) {
    const chain = [n.id];
    for (let next = n.next; next; next = byId.get(next)?.next) chain.push(next);
    chains.set(n.id, chain);
  }
  return chains;
}

/** Starts a runtime with the nodes under test. spec: { nodes, config }; options: { env, beforeDeploy }. */
async function startHostile(spec, options = {}) {
  const h = new Hostile(spec, options);
  await h.ensureRunning();
  return h;
}

function sizeOf(msg) {
  try {
    return JSON.stringify(encode(msg)).length;
  } catch {
    return NaN;
  }
}

/**
 * fc.check for these properties: a few hundred runs at most, stopped after `budgetMs`
 * (a failure found then is still reported, shrunk as far as the time allowed, or not at
 * all with `shrink: false`, for inputs that take seconds each). The report names the
 * seed and path to replay, and shortens long runs of one character.
 */
async function check(property, { numRuns = 100, budgetMs = 40000, seed, path: replayPath, shrink = true } = {}) {
  // FC_SEED (and FC_PATH) replay a reported counterexample; FC_RUNS_FACTOR searches longer
  if (process.env.FC_SEED) [seed, replayPath] = [Number(process.env.FC_SEED), process.env.FC_PATH];
  const factor = Number(process.env.FC_RUNS_FACTOR) || 1;
  if (factor !== 1) [numRuns, budgetMs] = [Math.ceil(numRuns * factor), budgetMs * factor];
  const r = await fc.check(property, {
    numRuns,
    endOnFailure: !shrink,
    ...(seed !== undefined ? { seed, path: replayPath } : {}),
    interruptAfterTimeLimit: budgetMs,
    markInterruptAsFailure: false,
  });
  if (!r.failed) return r;
  const shown = shorten(fc.stringify(r.counterexample));
  const err = r.errorInstance instanceof Error ? r.errorInstance : new Error(String(r.errorInstance));
  err.message = `${err.message}\n    after ${r.numRuns} runs; counterexample (seed ${r.seed}, path "${r.counterexamplePath}", ${r.numShrinks} shrinks):\n    ${shown}`;
  throw err;
}

function shorten(text, max = 3000) {
  const t = text.replace(/(.)\1{39,}/gsu, (run, c) => `${c}{×${[...run].length}}`);
  return t.length > max ? `${t.slice(0, max)}... (${t.length} characters)` : t;
}

// ------------------------------------------------------------------ shared generators
const PROTO_KEYS = ["__proto__", "constructor", "prototype"];
/** Names that live on Object.prototype: a lookup without an own-property test finds them. */
const INHERITED_NAMES = ["toString", "valueOf", "hasOwnProperty", "isPrototypeOf", "__defineGetter__", "toJSON"];

const identifier = fc.stringMatching(/^[A-Za-z_$][\w$]{0,10}$/);
/** Keys as data brings them: words, numbers, empty, dots, brackets, quotes, control characters, prototype names. */
const hostileKey = fc.oneof(
  { weight: 4, arbitrary: identifier },
  { weight: 1, arbitrary: fc.constantFrom(...PROTO_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom(...INHERITED_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "0", "01", "-1", "1e3", "a.b", "a[0]", "[*]", "*", '"', "'", "\\", "a key", "\u0000", "\n", "\u202e", "😀", "\ud800") },
  { weight: 1, arbitrary: fc.string({ maxLength: 12, unit: "binary" }) },
);
/** Data keys without the prototype names (for generators that must not meet a known finding). */
const plainKey = hostileKey.filter((k) => !PROTO_KEYS.includes(k));

const specialNumber = fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e-7, 0.1 + 0.2, 4294967296, -2147483649);
const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40, unit: "binary" }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20, unit: fc.constantFrom("\ud800", "\udfff", "\u0000", "\u2028", "é", "😀", "\r\n") }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 10240 }).map((n) => "x".repeat(n)) },
);
const leaf = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.double() },
  { weight: 1, arbitrary: specialNumber },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
);

/** JSON-ish trees with hostile keys and leaves. */
function tree({ key = hostileKey, maxDepth = 4, maxKeys = 5 } = {}) {
  return fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: "small", maxDepth }, leaf, tie("object"), tie("array")),
    object: fc.array(fc.tuple(key, tie("node")), { maxLength: maxKeys }).map(toObject),
    array: fc.array(tie("node"), { maxLength: maxKeys }),
  })).node;
}

/** An object from [key, value] pairs, keeping `__proto__` as an own data key like JSON.parse does. */
function toObject(pairs) {
  const o = {};
  for (const [k, v] of pairs) define(o, k, v);
  return o;
}

/** Deeply nested values: objects, arrays or both, 100 to `max` levels, around a leaf. */
function deepValue({ min = 100, max = 1500 } = {}) {
  return fc
    .record({ depth: fc.integer({ min, max }), kind: fc.constantFrom("object", "array", "mixed"), key: plainKey, inner: leaf })
    .map(({ depth, kind, key, inner }) => {
      let v = inner;
      for (let i = 0; i < depth; i++) v = kind === "array" || (kind === "mixed" && i % 2) ? [v] : toObject([[key, v]]);
      return v;
    });
}

/** Long arrays of small values (their JSON stays under 64 KiB). */
const longArray = fc
  .record({ n: fc.integer({ min: 1000, max: 12000 }), kind: fc.constantFrom("numbers", "objects", "strings", "nested") })
  .map(({ n, kind }) =>
    Array.from({ length: kind === "objects" ? Math.floor(n / 4) : n }, (_, i) =>
      kind === "numbers" ? i : kind === "strings" ? "s" : kind === "objects" ? { v: i } : [i],
    ),
  );

// ------------------------------------------------------------------ the path grammar
/**
 * Paths as Node-RED writes them: keys, `[n]`, `*` / `[*]`, `["quoted key"]` with `\`
 * escapes. A generated path is a list of segments (the oracle's view) and its text.
 */
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z_$][\w$]{0,6}$/).filter((k) => !PROTO_KEYS.includes(k)).map((name) => ({ kind: "key", name })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 4 }).map((n) => ({ kind: "index", n })) },
  { weight: 2, arbitrary: fc.constantFrom({ kind: "wild" }) },
  {
    weight: 1,
    arbitrary: fc
      .record({ name: fc.oneof(fc.constantFrom("a key", "a.b", "x[0]", '"', "'", "\\", "*", "0", "", "é"), fc.string({ maxLength: 6 })), quote: fc.constantFrom('"', "'") })
      .filter(({ name }) => !PROTO_KEYS.includes(name))
      .map(({ name, quote }) => ({ kind: "quoted", name, quote })),
  },
);

function pathText(segments, { spaces = false } = {}) {
  let text = "";
  segments.forEach((s, i) => {
    if (s.kind === "key") text += i === 0 ? s.name : `.${s.name}`;
    else if (s.kind === "index") text += spaces ? `[ ${s.n} ]` : `[${s.n}]`;
    else if (s.kind === "wild") text += i === 0 ? "*" : i % 2 ? "[*]" : ".*";
    else text += `[${s.quote}${s.name.replace(/\\/g, "\\\\").replace(new RegExp(s.quote, "g"), `\\${s.quote}`)}${s.quote}]`;
  });
  return text;
}

/** Oracle segments of a path text (the forms these tests and the grammar generator write). */
function parseSegments(text) {
  const segs = [];
  const re = /([A-Za-z_$][\w$-]*)|\[\s*(\d+)\s*\]|\[\*\]|\*|\["((?:[^"\\]|\\.)*)"\]|\['((?:[^'\\]|\\.)*)'\]|(\.)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[5]) continue;
    if (m[1] !== undefined) segs.push({ kind: "key", name: m[1] });
    else if (m[2] !== undefined) segs.push({ kind: "index", n: Number(m[2]) });
    else if (m[3] !== undefined) segs.push({ kind: "quoted", name: m[3].replace(/\\(.)/g, "$1") });
    else if (m[4] !== undefined) segs.push({ kind: "quoted", name: m[4].replace(/\\(.)/g, "$1") });
    else segs.push({ kind: "wild" });
  }
  return segs;
}

/** The key a segment names (undefined for `*`). */
function segmentKey(s) {
  return s.kind === "key" || s.kind === "quoted" ? s.name : s.kind === "index" ? s.n : undefined;
}

/**
 * The oracle of design section 4: every concrete key list the path reaches in `root`.
 * `*` visits every own key of an object (also `__proto__`, `constructor`, `prototype`
 * that JSON.parse made) and every index of an array; Buffers are values, not containers.
 */
function oracleMatches(root, segments) {
  const out = [];
  const walk = (node, i, keys) => {
    if (i === segments.length) {
      out.push(keys);
      return;
    }
    if (node === null || typeof node !== "object" || Buffer.isBuffer(node) || ArrayBuffer.isView(node) || node instanceof Date) return;
    const s = segments[i];
    if (s.kind === "wild") {
      const ks = Array.isArray(node) ? node.map((_, j) => j) : Object.keys(node);
      for (const k of ks) walk(node[k], i + 1, [...keys, k]);
      return;
    }
    const k = segmentKey(s);
    if (Array.isArray(node)) {
      if (typeof k === "number" && k < node.length) walk(node[k], i + 1, [...keys, k]);
      return;
    }
    if (Object.prototype.hasOwnProperty.call(node, String(k))) walk(node[String(k)], i + 1, [...keys, String(k)]);
  };
  walk(root, 0, []);
  return out;
}

/** The value at concrete keys (own properties only), or `absent`. */
const absent = Symbol("absent");
function at(root, keys) {
  let node = root;
  for (const k of keys) {
    if (node === null || typeof node !== "object" || Buffer.isBuffer(node)) return absent;
    if (Array.isArray(node) ? !(typeof k === "number" && k < node.length) : !Object.prototype.hasOwnProperty.call(node, String(k))) return absent;
    node = node[k];
  }
  return node;
}

/**
 * The oracles' edits of an expected value at concrete keys (a match of oracleMatches):
 * removeAt takes an array element out (later ones move up) or deletes a key; setAt sets
 * a key as data (H.define: a prototype name is a plain key). Empty keys name the root,
 * which setAt cannot replace: the caller holds it.
 */
function removeAt(root, keys) {
  let node = root;
  for (let i = 0; i < keys.length - 1; i++) node = node[keys[i]];
  const k = keys[keys.length - 1];
  if (Array.isArray(node)) node.splice(k, 1);
  else delete node[k];
}

function setAt(root, keys, value) {
  if (keys.length === 0) return;
  let node = root;
  for (let i = 0; i < keys.length - 1; i++) node = node[keys[i]];
  define(node, keys[keys.length - 1], value);
}

/**
 * Builds data the path reaches, with `leafOf(i)` at the i-th match. Under `*` it makes
 * 1..3 children, keyed by `wildKeys` (which may hold prototype names, as JSON.parse makes them).
 */
function instantiateArb(segments, { wildKeys = plainKey, leafArb = leaf } = {}) {
  const build = (i) => {
    if (i === segments.length) return leafArb;
    const s = segments[i];
    const rest = build(i + 1);
    if (s.kind === "index") return fc.tuple(fc.array(leaf, { minLength: s.n, maxLength: s.n }), rest).map(([pre, v]) => [...pre, v]);
    if (s.kind === "wild") {
      return fc.oneof(
        fc.array(rest, { minLength: 1, maxLength: 3 }),
        fc.uniqueArray(fc.tuple(wildKeys, rest), { minLength: 1, maxLength: 3, selector: (p) => p[0] }).map(toObject),
      );
    }
    return fc.tuple(rest, fc.array(fc.tuple(plainKey, leaf), { maxLength: 2 })).map(([v, noise]) => {
      const o = toObject(noise.filter(([k]) => k !== s.name));
      define(o, s.name, v);
      return o;
    });
  };
  return build(0);
}

/** Deep equality that knows Buffers, -0 and NaN, and ignores nothing. */
function sameValue(a, b) {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** A copy of a message without `_msgid` and `privacy` (for "untouched" checks). */
function withoutBookkeeping(msg, extra = []) {
  const out = {};
  for (const k of Object.keys(msg)) if (k !== "_msgid" && k !== "privacy" && k !== "error" && !extra.includes(k)) define(out, k, msg[k]);
  return out;
}

/**
 * Plain-object copy (main realm, Object.prototype) of a decoded value, for
 * assert.deepStrictEqual: a node may hand on a null-prototype object as it came or
 * rebuild it as a plain one, and neither is wrong. (Other prototypes arrive as Strange.)
 */
function plain(v) {
  if (v === null || typeof v !== "object" || Buffer.isBuffer(v) || v instanceof Date || v instanceof Strange) return v;
  if (Array.isArray(v)) return v.map(plain);
  const o = {};
  for (const k of Object.keys(v)) define(o, k, plain(v[k]));
  return o;
}

/** Every Strange value (class instance, cycle, function...) inside an output. */
function strangeValues(v, out = [], keys = []) {
  if (v instanceof Strange) out.push({ keys, kind: v.kind, detail: v.detail });
  else if (v !== null && typeof v === "object" && !Buffer.isBuffer(v) && !(v instanceof Date)) {
    for (const k of Object.keys(v)) strangeValues(v[k], out, [...keys, k]);
  }
  return out;
}

module.exports = {
  TAG,
  BLOCK_LIMIT_MS,
  startHostile,
  buildFlow,
  encode,
  decode,
  check,
  Strange,
  strangeValues,
  // generators
  PROTO_KEYS,
  INHERITED_NAMES,
  identifier,
  hostileKey,
  plainKey,
  specialNumber,
  hostileString,
  leaf,
  tree,
  toObject,
  define,
  deepValue,
  longArray,
  segment,
  pathText,
  parseSegments,
  segmentKey,
  instantiateArb,
  // oracles
  oracleMatches,
  at,
  absent,
  removeAt,
  setAt,
  sameValue,
  withoutBookkeeping,
  plain,
  sizeOf,
  shorten,
};
