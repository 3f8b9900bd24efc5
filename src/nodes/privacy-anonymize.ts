/**
 * privacy-anonymize: field rules (redact, mask, replace, hash, pseudonymize, generalize,
 * noise, scan) over one message property, or over each record when it holds an array,
 * with optional k-anonymity. The engine is nodes/lib/anonymize.ts; pseudonyms use the
 * keyring's HKDF subkey "privacy-pseudonymize", fetched when the first message needs it.
 */
import type { RedAPI, RedNode, NodeDef, NodeMessage } from "../core/red-types";
import { configure, failClosed, onInput } from "../core/node-adapter";
import { Joi, pathString, toList } from "../core/validation";
import { parsePath, getValue, setValue, deleteMatches, type PropertyPath } from "../core/paths";
import { appendTrail, privacyOf } from "../core/trail";
import { Metrics } from "../core/status";
import { keyringNode } from "../encryption/keyring-ref";
import { PSEUDONYM_INFO } from "../anonymize/anonymize-ops";
import { Anonymizer, REMOVED, anonymizeSchema, usesPseudonyms, type AnonymizeOptions, type Summary } from "../anonymize/anonymize";

interface AnonymizeNodeConfig extends AnonymizeOptions {
  property: string;
  keyring: string;
}

const schema = Joi.object({
  property: pathString()
    .custom((v: string, helpers) => (v.includes("*") ? helpers.message({ custom: '"property" cannot use a wildcard: use a rule path instead' }) : v))
    .default("payload"),
  keyring: Joi.string().allow("").default(""),
})
  .concat(anonymizeSchema)
  .custom((value: AnonymizeNodeConfig, helpers) => {
    if (usesPseudonyms(value.rules) && value.keyring === "") {
      return helpers.message({ custom: '"keyring" is required by the pseudonymize rules' });
    }
    return value;
  });

/** The editor stores k and quasi-identifiers as plain fields; the engine wants one object. */
function normalize(def: NodeDef): Record<string, unknown> {
  const raw: Record<string, unknown> = { ...def };
  if (typeof raw.rules === "string") {
    try {
      raw.rules = JSON.parse(raw.rules);
    } catch {
      // left as a string: joi then says "rules" must be an array
    }
  }
  const k = raw.k === "" || raw.k === undefined || raw.k === null ? 0 : Number(raw.k);
  if (k !== 0) {
    raw.kAnonymity = {
      k,
      quasiIdentifiers: toList(raw.quasiIdentifiers ?? []),
      ...(raw.maxSuppression !== undefined && raw.maxSuppression !== "" ? { maxSuppression: Number(raw.maxSuppression) } : {}),
    };
  }
  for (const key of ["k", "quasiIdentifiers", "maxSuppression"]) delete raw[key];
  return raw;
}

export = function (RED: RedAPI) {
  function PrivacyAnonymizeNode(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const runtime = configure<AnonymizeNodeConfig>(node, schema as Joi.Schema<AnonymizeNodeConfig>, normalize(def));
    if (!runtime) return;
    const { config, status } = runtime;
    let property: PropertyPath;
    try {
      property = parsePath(config.property);
    } catch (e) {
      failClosed(node, status, `invalid config: "property" ${(e as Error).message}`);
      return;
    }
    const metrics = new Metrics();
    let engine: Anonymizer | undefined;

    // Built on first use: the keyring config node may start after this node.
    const anonymizer = (): Anonymizer => {
      if (engine) return engine;
      const subkey = usesPseudonyms(config.rules) ? keyringNode(RED, config.keyring).getKeyring().subkey(PSEUDONYM_INFO) : undefined;
      engine = new Anonymizer(config, subkey);
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
            const result = anonymizer().run(value);
            summary = result.summary;
            if (result.value === REMOVED) deleteMatches(msg, property);
            else setValue(msg, property, result.value);
          }
          appendTrail(msg, { type: "privacy-anonymize", id: node.id, property: config.property, ...(summary ?? { missing: true }) });
          metrics.add("messages");
          if (summary) for (const n of Object.values(summary.entities)) metrics.add("entities", n ?? 0);
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
          text: `${metrics.get("messages")} msgs, ${metrics.get("entities")} entities${metrics.get("errors") ? `, ${metrics.get("errors")} errors` : ""}`,
        }),
      },
    );
  }

  RED.nodes.registerType("privacy-anonymize", PrivacyAnonymizeNode);
};
