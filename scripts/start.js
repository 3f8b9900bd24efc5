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

/** Admin API call on the running demo. */
async function admin(base, method, route, body, headers = {}) {
  const res = await fetch(new URL(route, base), {
    method,
    headers: { Accept: "application/json", ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * The demo's consent store signs receipts with a key kept in its credentials: the first
 * start asks the runtime for one (as the dialog's Generate button does) and deploys it.
 * Then each person of the demo gets a fresh personal link (a new link revokes the last:
 * only the token's hash is kept, so an old link cannot be shown again).
 */
async function demoConsentLinks(base) {
  const flows = await admin(base, "GET", "flows", undefined, { "Node-RED-API-Version": "v2" });
  const store = flows.flows.find((n) => n.type === "privacy-consent-store" && n.page);
  if (!store) return [];
  const creds = await admin(base, "GET", `credentials/privacy-consent-store/${store.id}`);
  if (!creds.has_signingKey) {
    const { signingKey } = await admin(base, "POST", "privacy-consent-store/keygen");
    store.credentials = { signingKey };
    await admin(base, "POST", "flows", { flows: flows.flows, rev: flows.rev }, { "Node-RED-API-Version": "v2", "Node-RED-Deployment-Type": "full" });
  }
  const out = [];
  for (const subject of ["alice", "bob"]) {
    // Right after a deploy the flows are still starting: ask again for a few seconds.
    for (let tries = 0; ; tries++) {
      try {
        const { url } = await admin(base, "POST", `privacy-consent-store/${store.id}/link`, { subject });
        out.push({ subject, url });
        break;
      } catch (e) {
        if (tries >= 50) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  return out;
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
  const links = await demoConsentLinks(rt.url).catch((e) => {
    console.warn(`  (no consent page links: ${e.message})`);
    return [];
  });
  console.log("");
  console.log(`  Node-RED with the privacy toolkit is running.`);
  console.log(`  Open the editor:  ${rt.url}`);
  console.log(`  User directory:   ${USER_DIR}${flows ? " (demo flow loaded)" : " (your saved flows)"}`);
  for (const l of links) console.log(`  Consent page of ${l.subject}: ${l.url}`);
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
