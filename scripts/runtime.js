"use strict";
/**
 * Starts an embedded Node-RED with this package loaded from a directory (the working
 * tree by default, or an installed tarball), bound to 127.0.0.1, with telemetry, tours
 * and the online catalogue off. Used by `npm start`, the runtime and browser tests
 * (as a child process, see test/helpers/runtime.js) and the benchmark (in process).
 *
 * CLI: node scripts/runtime.js --userDir DIR [--port 0] [--flows FILE] [--settings FILE.json] [--no-package]
 *        [--contextStorage FILE]
 * prints one line `READY http://127.0.0.1:PORT/` when the flows are running.
 * FILE for --contextStorage is settings.js's `contextStorage` as JSON; a `module` other
 * than Node-RED's own ("memory", "localfilesystem") is required from the user
 * directory, as settings.js would (`"@privacy-toolkit/node-red-privacy/context"`).
 */
const fs = require("node:fs");
const path = require("node:path");
const http = require("node:http");

const PACKAGE_DIR = path.resolve(__dirname, "..");
const PACKAGE_NAME = require(path.join(PACKAGE_DIR, "package.json")).name;

/** Makes `userDir/node_modules/<our name>` point at the package directory. */
function linkPackage(userDir, packageDir) {
  const target = path.join(userDir, "node_modules", ...PACKAGE_NAME.split("/"));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (path.resolve(target) === path.resolve(packageDir)) return; // installed there already (npm install of the tarball)
  try {
    const existing = fs.readlinkSync(target);
    if (path.resolve(path.dirname(target), existing) === packageDir) return;
    fs.unlinkSync(target);
  } catch (e) {
    if (e.code === "EINVAL") fs.rmSync(target, { recursive: true, force: true });
    else if (e.code !== "ENOENT") throw e;
  }
  fs.symlinkSync(packageDir, target, "dir");
  const pkgFile = path.join(userDir, "package.json");
  if (!fs.existsSync(pkgFile)) {
    fs.writeFileSync(pkgFile, JSON.stringify({ name: "node-red-project", private: true, dependencies: {} }, null, 2));
  }
}

let eldProbe;
let completeListener;
/**
 * NR_ELD_PROBE=<ms> (tests only): an event-loop delay histogram of this process
 * (perf_hooks.monitorEventLoopDelay at that resolution, 10 ms at most), given to
 * function nodes as the global context key `eventLoopDelay`: { reset(), maxMs(),
 * count(), resolutionMs, onComplete(fn) }. maxMs() is the longest gap between two
 * ticks of the histogram's timer since reset(), in ms: a loop blocked for B ms shows
 * as a gap of B to B + resolutionMs. onComplete(fn) has fn(nodeId, failed) called
 * whenever a node is done with a message (Node-RED's onComplete hook): a test can
 * wait for a node without a complete node, which deep-clones every message.
 */
function eventLoopDelayProbe() {
  const resolutionMs = Math.min(10, Math.max(1, Number(process.env.NR_ELD_PROBE) || 5));
  if (!eldProbe) {
    const h = require("node:perf_hooks").monitorEventLoopDelay({ resolution: resolutionMs });
    h.enable();
    eldProbe = Object.freeze({
      resolutionMs,
      reset: () => h.reset(),
      maxMs: () => h.max / 1e6,
      count: () => h.count,
      onComplete: (fn) => {
        completeListener = fn;
      },
    });
  }
  return eldProbe;
}

function baseSettings(userDir, extra) {
  return {
    userDir,
    flowFile: "flows.json",
    uiHost: "127.0.0.1",
    httpAdminRoot: "/",
    httpNodeRoot: "/api",
    // Without a secret Node-RED makes a random one and keeps it in the user dir.
    ...(process.env.NODE_RED_CREDENTIAL_SECRET ? { credentialSecret: process.env.NODE_RED_CREDENTIAL_SECRET } : {}),
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
    externalModules: { palette: { allowInstall: true, allowUpload: true }, modules: { allowInstall: false } },
    editorTheme: {
      tours: false,
      palette: { catalogues: [] },
      projects: { enabled: false },
      codeEditor: { lib: "monaco" },
    },
    logging: { console: { level: process.env.NR_LOG_LEVEL || "warn", metrics: false, audit: false } },
    functionGlobalContext: process.env.NR_ELD_PROBE ? { eventLoopDelay: eventLoopDelayProbe() } : {},
    ...extra,
  };
}

/**
 * Starts Node-RED in this process. Node-RED is a singleton: one runtime per process.
 * @returns {Promise<{RED: object, server: http.Server, url: string, port: number, stop: () => Promise<void>}>}
 */
async function startRuntime(options = {}) {
  const userDir = path.resolve(options.userDir);
  fs.mkdirSync(userDir, { recursive: true });
  if (options.loadPackage !== false) linkPackage(userDir, path.resolve(options.packageDir || PACKAGE_DIR));
  if (options.flows) fs.writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(options.flows, null, 2));
  const RED = require("node-red");
  const express = require("express");
  const app = express();
  const server = http.createServer(app);
  const settings = baseSettings(userDir, options.settings);
  RED.init(server, settings);
  if (eldProbe) {
    RED.hooks.add("onComplete.eldProbe", (event) => {
      if (completeListener) completeListener(event.node.id, Boolean(event.error));
    });
  }
  app.use(settings.httpAdminRoot, RED.httpAdmin);
  app.use(settings.httpNodeRoot, RED.httpNode);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const port = server.address().port;
  // RED.start() resolves before the flows (and their credentials file) are loaded; a
  // deploy in that gap loses its credentials when the late load replaces the cache.
  const flowsStarted = new Promise((resolve) => RED.events.once("flows:started", resolve));
  await RED.start();
  await Promise.race([flowsStarted, new Promise((resolve) => setTimeout(resolve, 30000).unref())]);
  const url = `http://127.0.0.1:${port}/`;
  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    await RED.stop();
    await new Promise((resolve) => server.close(() => resolve()));
    server.closeAllConnections?.();
  }
  return { RED, server, url, port, userDir, stop };
}

const BUILT_IN_STORES = new Set(["memory", "localfilesystem"]);

/** settings.contextStorage from its JSON form: module names resolved from the user directory. */
function contextStorageFrom(file, userDir) {
  const stores = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const store of Object.values(stores)) {
    if (store && typeof store.module === "string" && !BUILT_IN_STORES.has(store.module)) {
      store.module = require(require.resolve(store.module, { paths: [path.resolve(userDir)] }));
    }
  }
  return stores;
}

function parseArgs(argv) {
  const args = { port: 0, loadPackage: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--userDir") args.userDir = argv[++i];
    else if (a === "--port") args.port = Number(argv[++i]);
    else if (a === "--flows") args.flowsFile = argv[++i];
    else if (a === "--packageDir") args.packageDir = argv[++i];
    else if (a === "--no-package") args.loadPackage = false;
    else if (a === "--settings") args.settingsFile = argv[++i];
    else if (a === "--contextStorage") args.contextStorageFile = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.userDir) throw new Error("--userDir is required");
  return args;
}

if (require.main === module) {
  const args = parseArgs(process.argv.slice(2));
  const flows = args.flowsFile ? JSON.parse(fs.readFileSync(args.flowsFile, "utf8")) : undefined;
  const start = async () => {
    // The package is linked into the user dir first, so a store module resolves from there.
    if (args.loadPackage !== false) linkPackage(path.resolve(args.userDir), path.resolve(args.packageDir || PACKAGE_DIR));
    // Extra settings (adminAuth, say) as JSON, merged over the base settings; then contextStorage.
    const settings = {
      ...(args.settingsFile ? JSON.parse(fs.readFileSync(args.settingsFile, "utf8")) : {}),
      ...(args.contextStorageFile ? { contextStorage: contextStorageFrom(args.contextStorageFile, args.userDir) } : {}),
    };
    return startRuntime({ ...args, flows, settings });
  };
  start().then(
    (rt) => {
      process.stdout.write(`READY ${rt.url}\n`);
      const shutdown = () => rt.stop().then(() => process.exit(0), () => process.exit(1));
      process.once("SIGTERM", shutdown);
      process.once("SIGINT", shutdown);
    },
    (err) => {
      process.stderr.write(`runtime failed to start: ${err.stack || err}\n`);
      process.exit(1);
    },
  );
}

module.exports = { startRuntime, linkPackage, baseSettings, PACKAGE_DIR, PACKAGE_NAME };
