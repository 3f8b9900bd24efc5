"use strict";
/**
 * `npm start` (scripts/start.js) keeps the demo's context in the encrypted store: a
 * flow added to the running demo stores a secret in flow and global context; after a
 * stop, the demo's user directory holds only ciphertext (with the demo key beside it,
 * mode 0600, never in flows.json) and no plain localfilesystem folder.
 */
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { api, inject, waitFor, tempDir } = require("../helpers/runtime");
const { KINDS } = require("../helpers/context");

const START = path.join(__dirname, "..", "..", "scripts", "start.js");
const SECRET = "demo-door-code-9731";

describe("npm start: the demo's context is encrypted", function () {
  this.timeout(120000);
  let proc;
  let userDir;
  after(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGKILL");
      await new Promise((r) => proc.once("exit", r));
    }
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("stores flow and global context from the demo as ciphertext under the demo key", async () => {
    userDir = tempDir("nr-demo-");
    const env = { ...process.env, NR_DEMO_USER_DIR: userDir, PORT: "0", npm_config_registry: "http://127.0.0.1:9/" };
    delete env.PRIVACY_CONTEXT_KEYS;
    proc = spawn(process.execPath, [START], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.stderr.on("data", (d) => (out += d));
    const url = await waitFor(() => (/Open the editor: +(\S+)/.exec(out) || [])[1], { timeout: 60000, what: `the demo to start:\n${out}` });
    assert.match(out, /Context: +encrypted in .*context-encrypted/);
    assert.match(out, /Context store +: 'default' \[module=@privacy-toolkit\/node-red-privacy\/context\]/);
    const rt = { url };
    const flows = await api(rt, "GET", "/flows");
    assert.ok(flows.some((n) => n.type === "privacy-consent-gate"), "the demo pipeline is loaded");
    await api(rt, "POST", "/flow", {
      label: "context check",
      nodes: [
        { id: "demo-ctx-inject", type: "inject", props: [{ p: "payload" }], payload: "", payloadType: "date", wires: [["demo-ctx-set"]] },
        { id: "demo-ctx-set", type: "function", func: `flow.set("doorCode", "${SECRET}");\nglobal.set("lastSeen", { who: "alice", lat: 48.137154 });\nreturn msg;`, outputs: 1, wires: [[]] },
      ],
    });
    await inject(rt, "demo-ctx-inject");
    await new Promise((r) => setTimeout(r, 500));
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));

    const keyFile = path.join(userDir, "demo-context-keys");
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    const keys = fs.readFileSync(keyFile, "utf8").trim();
    assert.match(keys, /^demo-ctx-1:[A-Za-z0-9_-]{43}$/);
    assert.ok(!fs.readFileSync(path.join(userDir, "flows.json"), "utf8").includes(keys.split(":")[1]), "the key is not in flows.json");
    assert.ok(!fs.existsSync(path.join(userDir, "context")), "no plain context folder");
    const base = path.join(userDir, "context-encrypted");
    const files = fs.readdirSync(base, { recursive: true }).filter((f) => f.endsWith(".enc"));
    assert.ok(files.includes(path.join("global", "global.enc")) && files.length >= 2, files.join(", "));
    for (const f of files) {
      const bytes = fs.readFileSync(path.join(base, f));
      assert.equal(bytes.subarray(0, 4).toString(), "PCTX", `${f} is an encrypted scope file`);
      for (const needle of [SECRET, "alice", "48.137154", "doorCode", "lastSeen"]) assert.equal(bytes.indexOf(needle), -1, `${f} holds ${needle}`);
    }
    const env2 = { PRIVACY_CONTEXT_KEYS: keys };
    assert.deepEqual(KINDS.encrypted.readDisk(userDir, "global", { env: env2 }), { lastSeen: { who: "alice", lat: 48.137154 } });
    const flowFile = files.find((f) => f.endsWith("flow.enc"));
    assert.deepEqual(KINDS.encrypted.readDisk(userDir, path.dirname(flowFile), { env: env2 }), { doorCode: SECRET });
  });
});
