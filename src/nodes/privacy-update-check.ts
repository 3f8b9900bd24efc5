/**
 * privacy-update-check: tells the user when this Node-RED, its node modules or their
 * devices' firmware are outdated, vulnerable or out of support. Thin adapter: the
 * checks live in lib/npm-check.ts and lib/firmware-manifest.ts; this file schedules
 * them, keeps the last good result and the rollback counter, and reports.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { NodeDef, NodeMessage, RedAPI, RedNode } from "../core/red-types";
import { configure, onClose, onInput } from "../core/node-adapter";
import { Joi } from "../core/validation";
import { appendTrail } from "../core/trail";
import { errorText, type NodeStatus } from "../core/status";
import { FetchFailure, fetchJson } from "../update-check/bounded-fetch";
import { checkNodeRed, listInstalled, resolveRegistry, type Failure, type NodeRedResult } from "../update-check/npm-check";
import {
  checkDevices,
  parsePublicKey,
  validateInventory,
  verifyManifest,
  type DeviceReport,
  type DeviceSummary,
  type InventoryItem,
  type PublicKeyInfo,
} from "../update-check/firmware-manifest";
import { readTrust, trustFile, writeTrust, type StoredTrust } from "../update-check/trust-store";

const TYPE = "privacy-update-check";

interface Config {
  name?: string;
  check: "node-red" | "devices";
  registry: string;
  manifest: string;
  manifestType: "url" | "file";
  publicKeys: string;
  /** Hours between checks; 0: only on input. */
  interval: number;
  /** Seconds for each request. */
  timeout: number;
  /** Largest answer accepted, in kilobytes. */
  maxSize: number;
}

const httpUrl = () => Joi.string().trim().uri({ scheme: ["http", "https"] });

const schema = Joi.object<Config>({
  name: Joi.string().allow("").optional(),
  check: Joi.string().valid("node-red", "devices").default("node-red"),
  registry: httpUrl().allow("").default(""),
  manifestType: Joi.string().valid("url", "file").default("url"),
  manifest: Joi.when("check", {
    is: "devices",
    then: Joi.when("manifestType", { is: "url", then: httpUrl().required(), otherwise: Joi.string().trim().min(1).required() }),
    otherwise: Joi.string().allow("").default(""),
  }),
  publicKeys: Joi.when("check", {
    is: "devices",
    then: Joi.string()
      .trim()
      .required()
      .custom((value: string, helpers) => {
        try {
          parseKeys(value);
          return value;
        } catch (e) {
          return helpers.message({ custom: `{{#label}} ${errorText(e)}` });
        }
      }),
    otherwise: Joi.string().allow("").default(""),
  }),
  // setTimeout cannot wait longer than 24.8 days.
  interval: Joi.number().min(0).max(24 * 24).default(24),
  timeout: Joi.number().min(0.1).max(300).default(10),
  maxSize: Joi.number().min(1).max(100 * 1024).default(10 * 1024),
});

const PEM = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g;

/** Public keys, one per line: base64 of the 32 raw bytes (as keygen prints) or PEM blocks. */
function parseKeys(text: string): PublicKeyInfo[] {
  const pems = text.match(PEM) ?? [];
  const others = text.replace(PEM, "\n").split(/[\s,]+/).filter((l) => l !== "");
  const all = [...pems, ...others];
  if (all.length === 0) throw new Error("needs at least one public key");
  if (all.length > 16) throw new Error("takes at most 16 keys");
  return all.map((l) => parsePublicKey(l));
}

type Result = Record<string, unknown>;

interface Report {
  kind: Config["check"];
  checkedAt: string;
  /** Every part of this check answered correctly. */
  ok: boolean;
  /** The result fields below come from the last good check, not this one. */
  stale: boolean;
  lastOkAt: string | null;
  failures: Failure[];
  [field: string]: unknown;
}

// Answers that arrived but cannot be a manifest: rejected, not "offline".
const BAD_ANSWERS = new Set(["too-large", "bad-json"]);

function ago(ms: number): string {
  const m = Math.floor(ms / 60000);
  if (m < 1) return "just now";
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

function shortReason(reason: string): string {
  if (reason === "timeout" || reason === "network" || reason === "aborted") return "offline";
  if (reason.startsWith("http-")) return `HTTP ${reason.slice(5)}`;
  if (reason === "bad-json") return "bad answer";
  if (reason === "too-large") return "answer too large";
  return reason;
}

type RedWithVersion = RedAPI & { version?: () => string };

/** The running Node-RED's version: from the runtime API, else from its package (null: unknown). */
function runningVersion(RED: RedAPI): string | null {
  const v = (RED as RedWithVersion).version?.();
  if (typeof v === "string" && v !== "") return v;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("node-red/package.json") as { version: string }).version;
  } catch {
    return null;
  }
}

export = function (RED: RedAPI) {
  function UpdateCheckNode(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const rt = configure(node, schema, def);
    if (!rt) return;
    const { config, status } = rt;
    const keys = config.check === "devices" ? parseKeys(config.publicKeys) : [];
    const userDir = RED.settings.userDir ?? path.join(os.homedir(), ".node-red");
    const stateFile = trustFile(userDir, node.id);
    const request = { timeoutMs: config.timeout * 1000, maxBytes: Math.floor(config.maxSize * 1024) };
    const abort = new AbortController();
    const nodeRedVersion = () => runningVersion(RED);

    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let busy = false;
    let queue: Promise<unknown> = Promise.resolve();
    let lastGood: { at: number; fields: Result } | undefined;
    let inventory: InventoryItem[] = [];
    let trust: StoredTrust | null | undefined;

    /**
     * Builds a report. `good`: this check produced real results, which become the last
     * good ones. Otherwise the last good results (if any) are shown, marked stale, and
     * `fresh` (e.g. "unknown" statuses) only when there are none.
     */
    function report(fresh: Result | null, failures: Failure[], good: boolean, now: number): Report {
      const base = { kind: config.check, checkedAt: new Date(now).toISOString(), ok: failures.length === 0 };
      if (fresh && good) {
        lastGood = { at: now, fields: fresh };
        return { ...base, stale: false, lastOkAt: base.checkedAt, failures, ...fresh };
      }
      const lastOkAt = lastGood ? new Date(lastGood.at).toISOString() : null;
      if (lastGood) return { ...base, stale: true, lastOkAt, failures, ...lastGood.fields };
      return { ...base, stale: false, lastOkAt, failures, ...(fresh ?? {}) };
    }

    function sinceLastOk(now: number): string {
      return lastGood ? `last ok ${ago(now - lastGood.at)}` : "never ok";
    }

    // ------------------------------------------------------------ (a) this Node-RED
    async function runNodeRed(now: number): Promise<{ report: Report; status: NodeStatus }> {
      const read = (file: string): string | undefined => {
        try {
          return fs.readFileSync(file, "utf8");
        } catch {
          return undefined;
        }
      };
      const registry = resolveRegistry({
        configured: config.registry,
        env: process.env,
        userNpmrc: read(path.join(userDir, ".npmrc")),
        homeNpmrc: read(path.join(os.homedir(), ".npmrc")),
      });
      const result: NodeRedResult = await checkNodeRed({
        registry,
        nodeRedVersion: nodeRedVersion(),
        modules: listInstalled(userDir, read, path.join),
        fetchJson,
        ...request,
        signal: abort.signal,
      });
      const { failures, offline, ...fields } = result;
      const notConfigured = failures.some((f) => f.reason === "not-configured");
      const rep = report(fields, failures, !offline && !notConfigured, now);
      let st: NodeStatus;
      if (notConfigured) st = { fill: "yellow", shape: "ring", text: "registry not configured" };
      else if (offline) st = { fill: "yellow", shape: "ring", text: `${shortReason(failures[0]?.reason ?? "network")}, ${sinceLastOk(now)}` };
      else {
        const s = result.summary;
        const parts: string[] = [];
        if (s.vulnerable) parts.push(`${s.vulnerable} vulnerable`);
        if (s.updatesAvailable) parts.push(`${s.updatesAvailable} update${s.updatesAvailable > 1 ? "s" : ""}`);
        if (s.advisories === "unavailable") parts.push("advisories unavailable");
        else if (failures.length > 0) parts.push(`${failures.length} failed`);
        const fill = s.vulnerable ? "red" : s.advisories === "unavailable" || failures.length > 0 ? "yellow" : s.updatesAvailable ? "blue" : "green";
        st = { fill, shape: fill === "yellow" ? "ring" : "dot", text: parts.length ? parts.join(", ") : `up to date (${s.checked})` };
      }
      return { report: rep, status: st };
    }

    // ------------------------------------------------------------ (b) devices
    async function loadManifest(): Promise<unknown> {
      if (config.manifestType === "url") return fetchJson(config.manifest, { ...request, signal: abort.signal, headers: { Accept: "application/json" } });
      const file = path.resolve(userDir, config.manifest);
      let stat: fs.Stats;
      try {
        stat = await fs.promises.stat(file);
      } catch {
        throw new FetchFailure("network", `manifest file ${path.basename(file)} cannot be read`);
      }
      if (stat.size > request.maxBytes) throw new FetchFailure("too-large", `manifest file larger than ${request.maxBytes} bytes`);
      const text = await fs.promises.readFile(file, "utf8");
      try {
        return JSON.parse(text);
      } catch {
        throw new FetchFailure("bad-json", "manifest file is not JSON");
      }
    }

    async function runDevices(now: number, items: InventoryItem[]): Promise<{ report: Report; status: NodeStatus }> {
      const fail = (f: Failure, st: NodeStatus) => ({ report: report(null, [f], false, now), status: st });
      let envelope: unknown;
      try {
        envelope = await loadManifest();
      } catch (e) {
        const reason = e instanceof FetchFailure ? (e.kind === "http" ? `http-${e.status}` : e.kind) : "error";
        const f: Failure = { what: "manifest", reason, message: errorText(e) };
        if (BAD_ANSWERS.has(reason)) return fail(f, { fill: "red", shape: "ring", text: `manifest rejected: ${shortReason(reason)}` });
        return fail(f, { fill: "yellow", shape: "ring", text: `${shortReason(reason)}, ${sinceLastOk(now)}` });
      }
      try {
        if (trust === undefined) trust = readTrust(stateFile);
      } catch (e) {
        // A counter we cannot read must not be taken as 0: that would re-open rollback.
        return fail({ what: "state", reason: "unreadable", message: errorText(e) }, { fill: "red", shape: "ring", text: "rollback state unreadable" });
      }
      const verdict = verifyManifest(envelope, {
        trustedKeys: keys,
        now,
        trust: trust ? { version: trust.version, digest: trust.digest, acceptedAt: Date.parse(trust.acceptedAt) || undefined } : { version: 0 },
      });
      if (!verdict.ok) {
        return fail({ what: "manifest", reason: verdict.reason, message: `manifest rejected: ${verdict.message}` }, { fill: "red", shape: "ring", text: `manifest rejected: ${verdict.reason}` });
      }
      const m = verdict.manifest;
      if (!trust || trust.version !== m.version || trust.digest !== verdict.digest) {
        const next: StoredTrust = { version: m.version, digest: verdict.digest, name: m.name, expires: m.expires, acceptedAt: new Date(now).toISOString() };
        try {
          writeTrust(stateFile, next);
        } catch (e) {
          // Not persisted: do not use it, or a restart could accept an older one again.
          return fail({ what: "state", reason: "unwritable", message: `rollback state not saved: ${errorText(e)}` }, { fill: "red", shape: "ring", text: "rollback state not saved" });
        }
        trust = next;
      }
      const { devices, summary } = checkDevices(m, items, now);
      const fields = { manifest: { name: m.name, version: m.version, expires: m.expires, keyid: verdict.keyid }, devices, summary };
      return { report: report(fields, [], true, now), status: deviceStatus(devices, summary) };
    }

    function deviceStatus(devices: DeviceReport[], s: DeviceSummary): NodeStatus {
      const parts: string[] = [];
      if (s["security-update-required"]) parts.push(`${s["security-update-required"]} insecure`);
      if (s["end-of-support"]) parts.push(`${s["end-of-support"]} end of support`);
      if (s["update-available"]) parts.push(`${s["update-available"]} update${s["update-available"] > 1 ? "s" : ""}`);
      if (s["unknown-model"]) parts.push(`${s["unknown-model"]} unknown`);
      const fill = s["security-update-required"] ? "red" : s["end-of-support"] || s["unknown-model"] ? "yellow" : s["update-available"] ? "blue" : "green";
      return { fill, shape: "dot", text: parts.length ? parts.join(", ") : `${devices.length} up to date` };
    }

    // ------------------------------------------------------------ running
    function run(items?: InventoryItem[]): Promise<Report> {
      const next = queue.then(async () => {
        busy = true;
        try {
          const now = Date.now();
          const out = config.check === "node-red" ? await runNodeRed(now) : await runDevices(now, items ?? inventory);
          if (!closed) status.showNow(out.status);
          return out.report;
        } finally {
          busy = false;
        }
      });
      queue = next.catch(() => undefined);
      return next;
    }

    function trailed(msg: NodeMessage, rep: Report): NodeMessage {
      const out = RED.util.cloneMessage(msg);
      out.payload = rep;
      const summary = rep.summary as Record<string, unknown> | undefined;
      appendTrail(out, {
        type: TYPE,
        id: node.id,
        kind: rep.kind,
        ok: rep.ok,
        stale: rep.stale,
        failures: rep.failures.length,
        checked: config.check === "node-red" ? (summary?.checked ?? 0) : (summary?.devices ?? 0),
      });
      return out;
    }

    onInput(node, status, async (msg) => {
      let items: InventoryItem[] | undefined;
      if (config.check === "devices") {
        items = validateInventory(msg.payload);
        inventory = items;
      }
      const rep = await run(items);
      return closed ? null : trailed(msg, rep);
    });

    function schedule(delay: number): void {
      if (closed || config.interval <= 0) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (!busy) {
          run()
            .then((rep) => {
              if (!closed) node.send(trailed({ topic: TYPE }, rep));
            })
            .catch((err: unknown) => node.error(`update check failed: ${errorText(err)}`));
        }
        schedule(intervalMs * (0.9 + Math.random() * 0.2));
      }, delay);
    }
    const intervalMs = config.interval * 3600 * 1000;
    // Jitter so that many installations restarted together do not ask at the same second.
    schedule(Math.random() * Math.min(60000, intervalMs * 0.1));

    onClose(node, async () => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      abort.abort();
      await queue;
    });
  }

  RED.nodes.registerType(TYPE, UpdateCheckNode);
};
