/**
 * privacy-anonymize: field rules (redact, mask, replace, hash, pseudonymize, generalize,
 * timePart, dateShift, bucket, noise, geometric, gaussian, randomizedResponse, scan) over
 * one message property, or over each record when it holds an array, with optional
 * k-anonymity and l-diversity, and privacy budgets for the noise rules. The engine is
 * src/anonymize/; pseudonyms and date shifts use the keyring's HKDF subkeys
 * "privacy-pseudonymize" and "privacy-date-shift", fetched when the first message needs them.
 */
import { randomBytes } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import type { RedAPI, RedNode, NodeDef, NodeMessage } from "../core/red-types";
import { configure, failClosed, onClose, onInput } from "../core/node-adapter";
import { Joi, pathString, toList, validateConfig } from "../core/validation";
import { parsePath, getValue, setValue, deleteMatches, type PropertyPath } from "../core/paths";
import { appendTrail, privacyOf } from "../core/trail";
import { Metrics, errorText, shortText, type NodeStatus } from "../core/status";
import { keyringNode } from "../encryption/keyring-ref";
import { DATE_SHIFT_INFO, PSEUDONYM_INFO } from "../anonymize/anonymize-ops";
import {
  Anonymizer,
  REMOVED,
  anonymizeSchema,
  ENTITY_ACTION_OPS,
  describeOperators,
  ruleProblems,
  usesDateShift,
  usesPseudonyms,
  usesSubject,
  type AnonymizeOptions,
  type Summary,
} from "../anonymize/anonymize";
import { BudgetLedger, BudgetSpentError, formatReset, shareLedger, unshareLedger } from "../anonymize/budget";
import { ENTITY_TYPES } from "../anonymize/pii-scan";

const TYPE = "privacy-anonymize";

interface AnonymizeNodeConfig extends AnonymizeOptions {
  property: string;
  keyring: string;
}

const schema = Joi.object({
  property: pathString()
    .custom((v: string, helpers) =>
      v.includes("*") ? helpers.message({ custom: '"property" cannot use a wildcard: use a rule path instead' }) : v,
    )
    .default("payload"),
  keyring: Joi.string().allow("").default(""),
})
  .concat(anonymizeSchema)
  .custom((value: AnonymizeNodeConfig, helpers) => {
    if ((usesPseudonyms(value.rules) || usesDateShift(value.rules)) && value.keyring === "") {
      const which = usesPseudonyms(value.rules) ? "pseudonymize" : "dateShift";
      return helpers.message({ custom: `"keyring" is required by the ${which} rules` });
    }
    return value;
  });

const blank = (v: unknown): boolean => v === "" || v === undefined || v === null;

/**
 * The editor stores k (as kAnon), l (as lDiversity), the quasi-identifiers, the sensitive field and the subject as
 * plain fields; the engine wants objects.
 */
function normalize(def: Record<string, unknown>): Record<string, unknown> {
  const raw: Record<string, unknown> = { ...def };
  if (typeof raw.rules === "string") {
    try {
      raw.rules = JSON.parse(raw.rules);
    } catch {
      // left as a string: joi then says "rules" must be an array
    }
  }
  // kAnon from the editor (Node-RED 4.1 reserves `k`), k from flows saved by 0.1.0 or by hand
  const kText = blank(raw.kAnon) ? raw.k : raw.kAnon;
  const k = blank(kText) ? 0 : Number(kText);
  if (k !== 0) {
    raw.kAnonymity = {
      k,
      quasiIdentifiers: toList(raw.quasiIdentifiers ?? []),
      ...(!blank(raw.maxSuppression) ? { maxSuppression: Number(raw.maxSuppression) } : {}),
      ...(!blank(raw.lDiversity) && Number(raw.lDiversity) !== 0 ? { l: Number(raw.lDiversity) } : {}),
      ...(!blank(raw.sensitive) ? { sensitive: String(raw.sensitive).trim() } : {}),
    };
  } else if (!blank(raw.lDiversity) && Number(raw.lDiversity) !== 0) {
    // l-diversity works on the groups k-anonymity forms: refuse l alone rather than ignore it
    raw.kAnonymity = { quasiIdentifiers: toList(raw.quasiIdentifiers ?? []), l: Number(raw.lDiversity) };
  }
  // lDiversity, not l: the editor keeps a node's "show label" setting in `l`
  for (const key of ["k", "kAnon", "quasiIdentifiers", "maxSuppression", "lDiversity", "sensitive"]) delete raw[key];
  raw.subject = {
    from: blank(raw.subjectFrom) ? "msg" : raw.subjectFrom,
    path: blank(raw.subject) ? "topic" : raw.subject,
  };
  delete raw.subjectFrom;
  if (blank(raw.budgets)) delete raw.budgets;
  return raw;
}

function configFrom(raw: unknown): { ok: true; config: AnonymizeNodeConfig } | { ok: false; error: string } {
  const input = normalize((raw ?? {}) as Record<string, unknown>);
  const checked = validateConfig(schema as Joi.Schema<AnonymizeNodeConfig>, input);
  return checked.ok ? { ok: true, config: checked.value } : { ok: false, error: checked.error };
}

/** Where the runtime's budgets are kept between restarts: one ledger, shared by name. */
function budgetFile(userDir: string | undefined): string {
  const base = userDir || path.join(os.homedir(), ".node-red");
  return path.join(base, "privacy-anonymize", "budgets.json");
}

interface AdminRequest {
  body?: { config?: unknown; msg?: unknown };
}
interface AdminResponse {
  status(code: number): AdminResponse;
  json(body: unknown): void;
}

export = function (RED: RedAPI) {
  /** The subkeys of the keyring `id` for this config (undefined where no rule needs one). */
  const subkeys = (config: AnonymizeNodeConfig): { pseudonym?: Buffer; dateShift?: Buffer } => {
    const needP = usesPseudonyms(config.rules);
    const needD = usesDateShift(config.rules);
    if (!needP && !needD) return {};
    const keyring = keyringNode(RED, config.keyring).getKeyring();
    return {
      pseudonym: needP ? keyring.subkey(PSEUDONYM_INFO) : undefined,
      dateShift: needD ? keyring.subkey(DATE_SHIFT_INFO) : undefined,
    };
  };

  function PrivacyAnonymizeNode(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const runtime = configure<AnonymizeNodeConfig>(node, schema as Joi.Schema<AnonymizeNodeConfig>, normalize(def));
    if (!runtime) return;
    const { config, status } = runtime;
    let property: PropertyPath;
    let subjectPath: PropertyPath | null = null;
    let ledger: BudgetLedger | undefined;
    try {
      property = parsePath(config.property);
      if (usesSubject(config.rules) && config.subject?.from === "msg") subjectPath = parsePath(config.subject.path);
      // a ledger that cannot be read fails the node closed: spending from a fresh one would overspend
      // and a budget defined differently by another node is refused: one name, one budget
      const budgets = config.budgets ?? [];
      if (budgets.length > 0) {
        const file = budgetFile(RED.settings.userDir);
        ledger = shareLedger(file, node.id, budgets);
        onClose(node, () => unshareLedger(file, node.id));
      }
    } catch (e) {
      failClosed(node, status, `invalid config: ${errorText(e)}`);
      return;
    }
    const metrics = new Metrics();
    let engine: Anonymizer | undefined;

    // Built on first use: the keyring config node may start after this node.
    const anonymizer = (): Anonymizer => {
      if (engine) return engine;
      const keys = subkeys(config);
      engine = new Anonymizer(config, keys.pseudonym, { dateShiftKey: keys.dateShift, ledger });
      return engine;
    };

    onInput(
      node,
      status,
      (msg: NodeMessage) => {
        const value = getValue(msg, property);
        try {
          privacyOf(msg); // refuses a malformed msg.privacy before anything changes
          let summary: Summary | undefined;
          if (value !== undefined) {
            const result = anonymizer().run(value, { subject: subjectPath ? getValue(msg, subjectPath) : undefined });
            summary = result.summary;
            if (result.value === REMOVED) deleteMatches(msg, property);
            else setValue(msg, property, result.value);
          }
          appendTrail(msg, { type: TYPE, id: node.id, property: config.property, ...(summary ?? { missing: true }) });
          metrics.add("messages");
          if (summary) for (const n of Object.values(summary.entities)) metrics.add("entities", n ?? 0);
          const dropped = summary?.budgets ? Object.values(summary.budgets).reduce((a, b) => a + b.dropped, 0) : 0;
          if (dropped > 0) metrics.add("dropped", dropped);
          // the spends must be on disk before the noised values leave
          if (ledger && summary?.budgets) {
            return ledger.persist().then(
              () => msg,
              (err: unknown) => {
                deleteMatches(msg, property);
                throw new Error(`budget spends could not be saved: ${errorText(err)}`);
              },
            );
          }
          return msg;
        } catch (err) {
          // fail closed: a Catch node that forwards this message must not forward the data
          if (value !== undefined) deleteMatches(msg, property);
          metrics.fail(err);
          throw err;
        }
      },
      {
        okStatus: () => ({
          fill: "green",
          shape: "dot",
          text:
            `${metrics.get("messages")} msgs, ${metrics.get("entities")} entities` +
            (metrics.get("dropped") ? `, ${metrics.get("dropped")} dropped (budget)` : "") +
            (metrics.get("errors") ? `, ${metrics.get("errors")} errors` : ""),
        }),
        errorStatus: (err): NodeStatus | undefined => {
          if (!(err instanceof BudgetSpentError)) return undefined;
          const text = `budget spent for ${shortText(err.subject, 24)}, resets ${formatReset(err.resets)}`;
          return { fill: "yellow", shape: "ring", text };
        },
      },
    );
  }

  RED.nodes.registerType(TYPE, PrivacyAnonymizeNode);

  // The editor's form and preview: the runtime's own schema and engine. Without Node-RED's
  // auth (the test helper) they are not offered.
  const auth = RED.auth;
  if (!auth) return;
  const read = auth.needsPermission(`${TYPE}.read`);
  const write = auth.needsPermission(`${TYPE}.write`);
  const operators = { operators: describeOperators(), entities: ENTITY_TYPES, actions: ENTITY_ACTION_OPS };
  RED.httpAdmin.get(
    `/${TYPE}/operators`,
    (req, res, next) => read(req, res, next ?? (() => undefined)),
    (_req, res) => (res as AdminResponse).status(200).json(operators),
  );
  RED.httpAdmin.post(
    `/${TYPE}/preview`,
    (req, res, next) => write(req, res, next ?? (() => undefined)),
    (req, res) => {
      const r = preview((req as AdminRequest).body);
      (res as AdminResponse).status(r.status).json(r.body);
    },
  );

  /**
   * Checks a config rule by rule (as the user types) and, given a sample message, runs it.
   * Budgets are spent from a fresh ledger in memory, never the node's; without a deployed
   * keyring, pseudonyms and date shifts use a throwaway key (the answer says so).
   */
  function preview(body: AdminRequest["body"]): { status: number; body: unknown } {
    if (!body || typeof body !== "object") return { status: 400, body: { ok: false, error: "send { config, msg? }" } };
    const raw = (body.config ?? {}) as Record<string, unknown>;
    const problems = ruleProblems(raw.rules ?? []);
    const c = configFrom(raw);
    if (!c.ok) return { status: 200, body: { ok: false, error: c.error, problems } };
    if (body.msg === undefined) return { status: 200, body: { ok: true, problems } };
    if (typeof body.msg !== "object" || body.msg === null || Array.isArray(body.msg)) {
      return { status: 400, body: { ok: false, error: "msg must be a JSON object", problems } };
    }
    const config = c.config;
    let note: string | undefined;
    let keys: { pseudonym?: Buffer; dateShift?: Buffer };
    try {
      keys = subkeys(config);
    } catch {
      const temp = randomBytes(32);
      keys = { pseudonym: temp, dateShift: temp };
      note = "the keyring is not deployed: pseudonyms and date shifts below use a temporary key";
    }
    try {
      const ledger = (config.budgets ?? []).length > 0 ? new BudgetLedger(config.budgets ?? []) : undefined;
      const engine = new Anonymizer(config, keys.pseudonym, { dateShiftKey: keys.dateShift, ledger });
      const msg = body.msg as NodeMessage;
      const property = parsePath(config.property);
      const value = getValue(msg, property);
      if (value === undefined) return { status: 200, body: { ok: true, problems, note, msg, missing: true } };
      const subject = config.subject?.from === "msg" ? getValue(msg, parsePath(config.subject.path)) : undefined;
      const result = engine.run(value, { subject });
      if (result.value === REMOVED) deleteMatches(msg, property);
      else setValue(msg, property, result.value);
      appendTrail(msg, { type: TYPE, id: "preview", property: config.property, ...result.summary });
      return { status: 200, body: { ok: true, problems, note, msg } };
    } catch (e) {
      return { status: 200, body: { ok: false, error: errorText(e), problems, note } };
    }
  }
};
