/**
 * The privacy audit's editor plugin (the sidebar is privacy-audit.html). The audit
 * itself runs in the browser on the editor's current flows, before deploy; this side
 * only serves it what the browser cannot know, behind Node-RED's permissions:
 *
 *   GET privacy-audit/engine.js  the engine, bundled from src/audit by the build
 *   GET privacy-audit/facts      the instance's posture (adminAuth, credentialSecret,
 *                                httpNodeAuth, where the editor listens, https) and, for
 *                                each deployed passphrase keyring, a judgement of its
 *                                passphrase ("short", "ok"...): never the passphrase,
 *                                nor even its length.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { RedAPI } from "../core/red-types";
import { instanceFacts, judgePassphrase } from "../audit/settings-facts";
import type { AuditFacts } from "../audit/types";

const ENGINE = path.join(__dirname, "..", "audit", "browser.js");
const READ = "privacy-audit.read";

interface Response {
  json(body: unknown): void;
  status(code: number): Response;
  type(t: string): Response;
  send(body: string): void;
  set(field: string, value: string): Response;
}
type Handler = (req: unknown, res: unknown, next?: () => void) => void;

function listenInfo(RED: RedAPI): { host?: string; https?: boolean } {
  const server = RED.server;
  if (!server) return {};
  const a: unknown = server.address();
  const host = typeof a === "object" && a !== null && typeof (a as { address?: unknown }).address === "string"
    ? (a as { address: string }).address
    : undefined;
  // https.Server (a tls.Server) can change its certificate; http.Server cannot.
  return { host, https: typeof server.setSecureContext === "function" };
}

function auditFacts(RED: RedAPI): AuditFacts {
  const settings = RED.settings as Record<string, unknown>;
  const keyrings: NonNullable<AuditFacts["keyrings"]> = {};
  RED.nodes.eachNode?.((def) => {
    if (def.type !== "privacy-keyring" || def.source !== "passphrase") return;
    const creds = RED.nodes.getCredentials?.(def.id);
    keyrings[def.id] = { passphrase: judgePassphrase(creds?.passphrase) };
  });
  return { instance: instanceFacts(settings, listenInfo(RED)), keyrings };
}

export = function (RED: RedAPI) {
  RED.plugins?.registerPlugin("privacy-audit", { type: "privacy-audit" });
  const check = RED.auth?.needsPermission(READ);
  const permission: Handler = (req, res, next) => {
    const go = next ?? (() => undefined);
    if (check) check(req, res, go);
    else go();
  };
  let engine: string | undefined;
  RED.httpAdmin.get("/privacy-audit/engine.js", permission, (_req, res) => {
    const r = res as Response;
    try {
      engine ??= fs.readFileSync(ENGINE, "utf8");
      r.type("application/javascript").set("Cache-Control", "no-cache").send(engine);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      r.status(500).json({ error: `the audit engine is missing (${why}): rebuild` });
    }
  });
  RED.httpAdmin.get("/privacy-audit/facts", permission, (_req, res) => {
    (res as Response).json(auditFacts(RED));
  });
};
