"use strict";
/**
 * Real Node-RED runtimes for tests, each in its own child process (Node-RED is a
 * singleton per process, and a child can be restarted or killed with -9), with its
 * own user directory in a temp folder, on 127.0.0.1 and a free port.
 */
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const RUNTIME_SCRIPT = path.join(__dirname, "..", "..", "scripts", "runtime.js");

function tempDir(prefix = "nr-privacy-") {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Starts a runtime. Options: userDir (default: a new temp dir), flows (array, written
 * as flows.json before start), env, packageDir (load an installed copy instead of the
 * working tree), loadPackage (false: Node-RED alone), nodeBinary (another node, e.g. 22),
 * settings (JSON-able settings merged over the base ones, e.g. adminAuth),
 * contextStorage (settings.contextStorage as JSON, module names required from the user dir).
 * Resolves when the flows are running: { url, userDir, proc, output(), stop(), kill() }.
 */
async function startRuntime(options = {}) {
  const userDir = options.userDir || tempDir();
  fs.mkdirSync(userDir, { recursive: true });
  const args = [RUNTIME_SCRIPT, "--userDir", userDir, "--port", String(options.port || 0)];
  if (options.flows) {
    const flowsFile = path.join(userDir, "flows.seed.json");
    fs.writeFileSync(flowsFile, JSON.stringify(options.flows));
    args.push("--flows", flowsFile);
  }
  if (options.settings) {
    const settingsFile = path.join(userDir, "settings.extra.json");
    fs.writeFileSync(settingsFile, JSON.stringify(options.settings));
    args.push("--settings", settingsFile);
  }
  if (options.packageDir) args.push("--packageDir", options.packageDir);
  if (options.loadPackage === false) args.push("--no-package");
  if (options.contextStorage) {
    const file = path.join(userDir, "context-storage.json");
    fs.writeFileSync(file, JSON.stringify(options.contextStorage));
    args.push("--contextStorage", file);
  }
  const proc = spawn(options.nodeBinary || process.execPath, args, {
    // Relative paths in flows (a file node's filename) land in the temp user dir.
    cwd: userDir,
    env: { ...process.env, NR_LOG_LEVEL: options.logLevel || "warn", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runtime did not start in time:\n${out}`)), options.startTimeout || 30000);
    const onData = () => {
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout.off("data", onData);
        resolve(m[1]);
      }
    };
    proc.stdout.on("data", onData);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited with ${code} before it was ready:\n${out}`));
    });
  });
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  return {
    url,
    userDir,
    proc,
    output: () => out,
    /** Graceful stop (SIGTERM: flows closed, files flushed). */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
    },
    /** Crash: SIGKILL, nothing closed. */
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** Calls the admin HTTP API and returns parsed JSON (or text). Throws on HTTP errors. */
async function api(rt, method, route, body, headers = {}) {
  const res = await fetch(new URL(route.replace(/^\//, ""), rt.url), {
    method,
    headers: { Accept: "application/json", ...(body !== undefined ? { "Content-Type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} -> ${res.status}: ${text}`);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Deploys flows (nodes may carry `credentials`) and waits until they run. */
async function deploy(rt, flows) {
  return api(rt, "POST", "/flows", flows, { "Node-RED-Deployment-Type": "full" });
}

/** Presses an inject node's button (retrying while a fresh deploy is still starting). */
async function inject(rt, id) {
  const end = Date.now() + 10000;
  for (;;) {
    try {
      return await api(rt, "POST", `/inject/${id}`);
    } catch (e) {
      if (!/-> 404/.test(e.message) || Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Polls until fn() returns a truthy value; returns it. */
async function waitFor(fn, { timeout = 10000, interval = 50, what = "condition" } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Reads a JSON-lines file written by a `file` node (missing file: []). */
function readJsonLines(file) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

/**
 * A sink that records what reaches it: a core `file` node appending msg as JSON lines.
 * Returns the nodes to add to a flow (wire into `id`) and the file it writes.
 */
function fileSink(id, z, dir) {
  const file = path.join(dir, `${id}.jsonl`);
  return {
    file,
    nodes: [
      { id: `${id}-json`, type: "function", z, func: "msg.payload = JSON.stringify({payload: msg.payload, privacy: msg.privacy, topic: msg.topic}); return msg;", outputs: 1, wires: [[id]] },
      { id, type: "file", z, filename: file, filenameType: "str", appendNewline: true, createDir: true, overwriteFile: "false", encoding: "utf8", wires: [] },
    ],
    input: `${id}-json`,
  };
}

/**
 * Replaces a debug node of a flow (an example, say) by a file sink, rewiring what fed
 * it, so a test can read what the user would see in the debug sidebar. Returns the file.
 */
function swapDebug(flow, debugId, dir) {
  const debug = flow.find((n) => n.id === debugId);
  if (!debug || debug.type !== "debug") throw new Error(`${debugId} is not a debug node of this flow`);
  const sink = fileSink(`${debugId}-sink`, debug.z, dir);
  for (const n of flow) if (n.wires) n.wires = n.wires.map((out) => out.map((w) => (w === debugId ? sink.input : w)));
  flow.splice(flow.indexOf(debug), 1, ...sink.nodes);
  return sink.file;
}

/**
 * One runtime for the describe block that calls this: started before its tests, with its
 * user directory in a fresh temp folder (`dir`/user, so sinks can write in `dir`), and
 * stopped after them. Returns { rt, dir }, filled in once the before hook has run.
 */
function suiteRuntime(options = {}) {
  const suite = { rt: undefined, dir: undefined };
  before(async () => {
    suite.dir = tempDir();
    suite.rt = await startRuntime({ ...options, userDir: path.join(suite.dir, "user") });
  });
  after(async () => suite.rt && suite.rt.stop());
  return suite;
}

module.exports = { startRuntime, suiteRuntime, api, deploy, inject, waitFor, readJsonLines, fileSink, swapDebug, tempDir };
