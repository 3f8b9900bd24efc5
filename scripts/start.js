"use strict";
/**
 * `npm start`: an embedded Node-RED on http://127.0.0.1:1880 with this package loaded
 * from the working tree and the demo pipeline preloaded. The user directory
 * (.node-red-dev/, ignored by git) persists between starts, so your edits survive;
 * `npm start -- --reset` loads the demo again. PORT=1881 npm start picks another port.
 *
 * Context (flow.set, global.set) goes to the encrypted context store, as a user's
 * settings.js would configure it, with a demo key made once and kept beside the demo
 * keyring's key (or your own PRIVACY_CONTEXT_KEYS): the demo's context on disk
 * (.node-red-dev/context-encrypted/) is ciphertext. NR_DEMO_USER_DIR runs the demo in
 * another user directory (the tests do).
 */
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");
const { startRuntime, PACKAGE_DIR } = require("./runtime");

const USER_DIR = path.resolve(process.env.NR_DEMO_USER_DIR || path.join(PACKAGE_DIR, ".node-red-dev"));
const DEMO_FLOW = path.join(PACKAGE_DIR, "examples", "smart-home-privacy-pipeline.json");
const DEMO_KEYS_FILE = path.join(USER_DIR, "demo-keyring.json");
const DEMO_CONTEXT_KEYS_FILE = path.join(USER_DIR, "demo-context-keys");

/** A key for the demo keyring, made once and kept in the (git-ignored) user dir. */
function demoKeys() {
  if (!fs.existsSync(DEMO_KEYS_FILE)) {
    const keys = { "demo-1": crypto.randomBytes(32).toString("base64url") };
    fs.writeFileSync(DEMO_KEYS_FILE, JSON.stringify(keys), { mode: 0o600 });
  }
  return fs.readFileSync(DEMO_KEYS_FILE, "utf8");
}

/** The context store's key (kid:key), made once like the keyring's; never in flows.json. */
function demoContextKeys() {
  if (!fs.existsSync(DEMO_CONTEXT_KEYS_FILE)) {
    fs.writeFileSync(DEMO_CONTEXT_KEYS_FILE, `demo-ctx-1:${crypto.randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
  }
  return fs.readFileSync(DEMO_CONTEXT_KEYS_FILE, "utf8").trim();
}

/** settings.js's contextStorage, as the README shows it (the package requires itself by name). */
function contextStorage() {
  return {
    default: {
      module: require("@privacy-toolkit/node-red-privacy/context"),
      // A demo user dir from before the encrypted store had plain context: encrypt it.
      config: { migrateFrom: "localfilesystem" },
    },
  };
}

function fallbackFlow() {
  return [
    { id: "demo-tab", type: "tab", label: "Privacy demo" },
    { id: "demo-comment", type: "comment", z: "demo-tab", name: "Drag nodes from the privacy category into this flow", info: "", x: 240, y: 60, wires: [] },
    { id: "demo-inject", type: "inject", z: "demo-tab", name: "sensor reading", props: [{ p: "payload" }, { p: "topic", vt: "str" }], topic: "thermostat-1", payload: '{"temperature":21.37,"owner":"alice@example.com"}', payloadType: "json", x: 160, y: 120, wires: [["demo-debug"]] },
    { id: "demo-debug", type: "debug", z: "demo-tab", name: "what leaves", active: true, complete: "true", targetType: "full", x: 400, y: 120, wires: [] },
  ];
}

async function main() {
  const reset = process.argv.includes("--reset");
  fs.mkdirSync(USER_DIR, { recursive: true });
  const flowsFile = path.join(USER_DIR, "flows.json");
  let flows;
  if (reset || !fs.existsSync(flowsFile)) {
    flows = fs.existsSync(DEMO_FLOW) ? JSON.parse(fs.readFileSync(DEMO_FLOW, "utf8")) : fallbackFlow();
  }
  process.env.PRIVACY_DEMO_KEYS = demoKeys();
  if (!process.env.PRIVACY_CONTEXT_KEYS) process.env.PRIVACY_CONTEXT_KEYS = demoContextKeys();
  // Files the flows write with a relative path (the demo's output) stay in the user dir.
  process.chdir(USER_DIR);
  const port = Number(process.env.PORT || 1880);
  const rt = await startRuntime({
    userDir: USER_DIR,
    port,
    flows,
    settings: { contextStorage: contextStorage(), logging: { console: { level: "info", metrics: false, audit: false } } },
  });
  console.log("");
  console.log(`  Node-RED with the privacy toolkit is running.`);
  console.log(`  Open the editor:  ${rt.url}`);
  console.log(`  User directory:   ${USER_DIR}${flows ? " (demo flow loaded)" : " (your saved flows)"}`);
  console.log(`  Context:          encrypted in ${path.join(USER_DIR, "context-encrypted")} (key: PRIVACY_CONTEXT_KEYS)`);
  console.log(`  Stop with Ctrl-C.  Reload the demo: npm start -- --reset`);
  console.log("");
  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping Node-RED...`);
    rt.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err) => {
  console.error(`npm start failed: ${err.stack || err}`);
  if (err.code === "EADDRINUSE") console.error("Port in use: PORT=1881 npm start");
  process.exit(1);
});
