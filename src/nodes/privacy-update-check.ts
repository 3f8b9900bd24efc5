/**
 * privacy-update-check: tells the user when this Node-RED, its node modules or their
 * devices' firmware are outdated, vulnerable or out of support. Thin adapter: the
 * checks live in src/update-check/ (npm-check, firmware-manifest, report, scheduler);
 * this file wires them to the node, keeps the rollback counter, and reports.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { NodeDef, NodeMessage, RedAPI, RedNode } from "../core/red-types";
import { configure, onClose, onInput } from "../core/node-adapter";
import { Joi } from "../core/validation";
import { appendTrail, privacyOf } from "../core/trail";
import { errorText, type NodeStatus } from "../core/status";
import { FetchFailure, fetchJson } from "../update-check/bounded-fetch";
import {
  checkNodeRed,
  listInstalled,
  resolveRegistry,
  type Failure,
  type NodeRedResult,
} from "../update-check/npm-check";
import {
  checkDevices,
  parsePublicKey,
  validateInventory,
  verifyManifest,
  type InventoryItem,
  type PublicKeyInfo,
} from "../update-check/firmware-manifest";
import { readTrust, trustFile, writeTrust, type StoredTrust } from "../update-check/trust-store";
import { BAD_ANSWERS, deviceStatus, nodeRedStatus, ReportBook, shortReason, type Report } from "../update-check/report";
import { CheckScheduler } from "../update-check/scheduler";

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

const httpUrl = () =>
  Joi.string()
    .trim()
    .uri({ scheme: ["http", "https"] });

const schema = Joi.object<Config>({
  name: Joi.string().allow("").optional(),
  check: Joi.string().valid("node-red", "devices").default("node-red"),
  registry: httpUrl().allow("").default(""),
  manifestType: Joi.string().valid("url", "file").default("url"),
  manifest: Joi.when("check", {
    is: "devices",
    then: Joi.when("manifestType", {
      is: "url",
      then: httpUrl().required(),
      otherwise: Joi.string().trim().min(1).required(),
    }),
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
  interval: Joi.number()
    .min(0)
    .max(24 * 24)
    .default(24),
  timeout: Joi.number().min(0.1).max(300).default(10),
  maxSize: Joi.number()
    .min(1)
    .max(100 * 1024)
    .default(10 * 1024),
});

const PEM = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g;

/** Public keys, one per line: base64 of the 32 raw bytes (as keygen prints) or PEM blocks. */
function parseKeys(text: string): PublicKeyInfo[] {
  const pems = text.match(PEM) ?? [];
  const others = text
    .replace(PEM, "\n")
    .split(/[\s,]+/)
    .filter((l) => l !== "");
  const all = [...pems, ...others];
  if (all.length === 0) throw new Error("needs at least one public key");
  if (all.length > 16) throw new Error("takes at most 16 keys");
  return all.map((l) => parsePublicKey(l));
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
    const book = new ReportBook(config.check);
    const report = book.report.bind(book);
    const sinceLastOk = book.sinceLastOk.bind(book);
    let inventory: InventoryItem[] = [];
    let trust: StoredTrust | null | undefined;

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
        modules: listInstalled(userDir, read, (...parts: string[]) => path.join(...parts)),
        fetchJson,
        ...request,
        signal: abort.signal,
      });
      const { failures, offline, ...fields } = result;
      const notConfigured = failures.some((f) => f.reason === "not-configured");
      const rep = report(fields, failures, !offline && !notConfigured, now);
      let st: NodeStatus;
      if (notConfigured) st = { fill: "yellow", shape: "ring", text: "registry not configured" };
      else if (offline)
        st = {
          fill: "yellow",
          shape: "ring",
          text: `${shortReason(failures[0]?.reason ?? "network")}, ${sinceLastOk(now)}`,
        };
      else st = nodeRedStatus(result.summary, failures);
      return { report: rep, status: st };
    }

    // ------------------------------------------------------------ (b) devices
    async function loadManifest(): Promise<unknown> {
      if (config.manifestType === "url")
        return fetchJson(config.manifest, {
          ...request,
          signal: abort.signal,
          headers: { Accept: "application/json" },
        });
      const file = path.resolve(userDir, config.manifest);
      let stat: fs.Stats;
      try {
        stat = await fs.promises.stat(file);
      } catch {
        throw new FetchFailure("network", `manifest file ${path.basename(file)} cannot be read`);
      }
      if (stat.size > request.maxBytes)
        throw new FetchFailure("too-large", `manifest file larger than ${request.maxBytes} bytes`);
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
        if (BAD_ANSWERS.has(reason))
          return fail(f, { fill: "red", shape: "ring", text: `manifest rejected: ${shortReason(reason)}` });
        return fail(f, { fill: "yellow", shape: "ring", text: `${shortReason(reason)}, ${sinceLastOk(now)}` });
      }
      try {
        if (trust === undefined) trust = readTrust(stateFile);
      } catch (e) {
        // A counter we cannot read must not be taken as 0: that would re-open rollback.
        return fail(
          { what: "state", reason: "unreadable", message: errorText(e) },
          { fill: "red", shape: "ring", text: "rollback state unreadable" },
        );
      }
      const verdict = verifyManifest(envelope, {
        trustedKeys: keys,
        now,
        trust: trust
          ? { version: trust.version, digest: trust.digest, acceptedAt: Date.parse(trust.acceptedAt) || undefined }
          : { version: 0 },
      });
      if (!verdict.ok) {
        return fail(
          { what: "manifest", reason: verdict.reason, message: `manifest rejected: ${verdict.message}` },
          { fill: "red", shape: "ring", text: `manifest rejected: ${verdict.reason}` },
        );
      }
      const m = verdict.manifest;
      if (!trust || trust.version !== m.version || trust.digest !== verdict.digest) {
        const next: StoredTrust = {
          version: m.version,
          digest: verdict.digest,
          name: m.name,
          expires: m.expires,
          acceptedAt: new Date(now).toISOString(),
        };
        try {
          writeTrust(stateFile, next);
        } catch (e) {
          // Not persisted: do not use it, or a restart could accept an older one again.
          return fail(
            { what: "state", reason: "unwritable", message: `rollback state not saved: ${errorText(e)}` },
            { fill: "red", shape: "ring", text: "rollback state not saved" },
          );
        }
        trust = next;
      }
      const { devices, summary } = checkDevices(m, items, now);
      const fields = {
        manifest: { name: m.name, version: m.version, expires: m.expires, keyid: verdict.keyid },
        devices,
        summary,
      };
      return { report: report(fields, [], true, now), status: deviceStatus(devices, summary) };
    }

    // ------------------------------------------------------------ running
    const scheduler = new CheckScheduler<Report, InventoryItem[]>({
      intervalMs: config.interval * 3600 * 1000,
      task: async (items) => {
        const now = Date.now();
        const out = config.check === "node-red" ? await runNodeRed(now) : await runDevices(now, items ?? inventory);
        if (!closed) status.showNow(out.status);
        return out.report;
      },
      onResult: (rep) => {
        if (!closed) node.send(trailed({ topic: TYPE }, rep));
      },
      onError: (err) => node.error(`update check failed: ${errorText(err)}`),
    });

    /**
     * The report in msg.payload, with this node's trail entry. The message is changed in
     * place, as a node does with the message it was given: a copy made with
     * RED.util.cloneMessage would turn an own "__proto__" key (JSON.parse makes them)
     * anywhere in it into the prototype of the copied object.
     */
    function trailed(msg: NodeMessage, rep: Report): NodeMessage {
      const summary = rep.summary as Record<string, unknown> | undefined;
      // the trail first: it is what can refuse the message (then it is left as it came)
      appendTrail(msg, {
        type: TYPE,
        id: node.id,
        kind: rep.kind,
        ok: rep.ok,
        stale: rep.stale,
        failures: rep.failures.length,
        checked: config.check === "node-red" ? (summary?.checked ?? 0) : (summary?.devices ?? 0),
      });
      msg.payload = rep;
      return msg;
    }

    onInput(node, status, async (msg) => {
      // A msg.privacy that is not an object (or a trail that is not a list) is refused
      // before the check, not after it, when the payload would already be replaced.
      privacyOf(msg);
      let items: InventoryItem[] | undefined;
      if (config.check === "devices") {
        items = validateInventory(msg.payload);
        inventory = items;
      }
      const rep = await scheduler.run(items);
      return closed ? null : trailed(msg, rep);
    });

    scheduler.start();

    onClose(node, async () => {
      closed = true;
      abort.abort();
      await scheduler.close();
    });
  }

  RED.nodes.registerType(TYPE, UpdateCheckNode);
};
