/**
 * Our own nodes, configured so they protect less than they seem to:
 *
 * - keyring: a passphrase keyring's passphrase is a credential, so flows.json never
 *   shows it. Where it can be judged (the runtime has the deployed one, the editor the
 *   one being typed) the caller passes a judgement, never the passphrase; the audit
 *   reports "too-short" (under 12 characters: the runtime refuses it and every encrypt
 *   and decrypt fails) and "short" (under 20: guessable offline by whoever holds a
 *   ciphertext, scrypt or not). Without a judgement (the command reading flows.json)
 *   it says so in the report's notes rather than guessing. A missing or short salt is
 *   visible in flows.json and reported.
 * - consent gate: its store declares no purposes, or not the gate's purpose, so nobody
 *   can have agreed to what the gate checks (it blocks everything) and the people in
 *   the house cannot see what they are asked about.
 * - anonymize: pseudonymize rules without a keyring (the node refuses to start), and
 *   unkeyed hashes of identifiers (anyone can hash every e-mail or MAC and match).
 *   (minimize in remove mode towards the cloud is in paths.ts: it needs the graph walk.)
 */
import type { AuditFacts, Finding, FlowObject } from "./types";
import { label, tabOf, type Graph } from "./graph";

export const PASSPHRASE_MIN = 12;
export const PASSPHRASE_GOOD = 20;
const SALT = /^[A-Za-z0-9_-]{22,}$/;

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function usersOf(g: Graph, id: string, field: string): FlowObject[] {
  const out: FlowObject[] = [];
  for (const o of g.byId.values()) if (o[field] === id) out.push(o);
  return out;
}

function allDisabled(g: Graph, objs: FlowObject[]): boolean {
  return (
    objs.length > 0 &&
    objs.every((o) => {
      const i = g.index.get(o.id);
      return i !== undefined ? g.nodes[i].disabled : o.d === true;
    })
  );
}

function keyringFindings(g: Graph, facts: AuditFacts, notes: string[]): Finding[] {
  const out: Finding[] = [];
  for (const k of g.byId.values()) {
    if (k.type !== "privacy-keyring" || k.source !== "passphrase") continue;
    const users = usersOf(g, k.id, "keyring");
    const base = {
      nodes: [k.id, ...users.map((u) => u.id)],
      dormant: allDisabled(g, users),
      anchor: tabOf(g, k.id),
    };
    if (!SALT.test(str(k.salt))) {
      out.push({
        ...base,
        id: `keyring-passphrase:${k.id}:salt`,
        rule: "keyring-passphrase",
        severity: "medium",
        title: `${label(k)} has no valid salt`,
        explanation:
          `${label(k)} derives its key from a passphrase but its salt is missing or shorter than 16 bytes, so ` +
          "the runtime refuses to derive a key and every node that uses it fails.",
        fix: {
          text: "Open the keyring and let it generate a salt (choose Passphrase again), then deploy.",
          nodeType: "privacy-keyring",
        },
      });
    }
    const judged = facts.keyrings?.[k.id]?.passphrase;
    if (judged === undefined) {
      notes.push(
        `${label(k)}: the passphrase is a credential, not in the flows, so its strength was not checked ` +
          "(the sidebar of the running editor checks it).",
      );
      continue;
    }
    if (judged === "ok") continue;
    const tooShort = judged === "too-short" || judged === "missing";
    out.push({
      ...base,
      id: `keyring-passphrase:${k.id}`,
      rule: "keyring-passphrase",
      severity: tooShort ? "high" : "medium",
      title: judged === "missing" ? `${label(k)} has no passphrase` : `${label(k)} has a short passphrase`,
      explanation: tooShort
        ? `${label(k)} ${judged === "missing" ? "has no passphrase" : `has a passphrase of under ${PASSPHRASE_MIN}`}` +
          `${judged === "missing" ? "" : " characters"}: the runtime refuses it, so every encrypt and decrypt node ` +
          "that uses the keyring fails."
        : `${label(k)}'s passphrase is under ${PASSPHRASE_GOOD} characters. scrypt slows each guess down, but ` +
          "anyone holding one ciphertext can try guesses offline for as long as they like, and a short passphrase " +
          "chosen by a person falls to that.",
      fix: {
        text:
          `Use a passphrase of ${PASSPHRASE_GOOD} characters or more (five random words), or better, switch the ` +
          "keyring to Credentials and press Generate for a random 256-bit key.",
        nodeType: "privacy-keyring",
      },
    });
  }
  return out;
}

interface Purpose {
  id: string;
}

function purposesOf(store: FlowObject): Purpose[] {
  const p = store.purposes;
  if (!Array.isArray(p)) return [];
  return p.filter((x): x is Purpose => typeof x === "object" && x !== null && typeof (x as Purpose).id === "string");
}

function gateFindings(g: Graph): Finding[] {
  const out: Finding[] = [];
  for (const n of g.nodes) {
    if (n.type !== "privacy-consent-gate") continue;
    const store = g.config(n.obj.store);
    const base = { dormant: n.disabled, anchor: tabOf(g, n.id) };
    if (!store) {
      out.push({
        ...base,
        id: `consent-purposes:${n.id}:store`,
        rule: "consent-purposes",
        severity: "medium",
        title: `${label(n.obj)} has no consent store`,
        explanation:
          `${label(n.obj)} names no consent store (or one that is gone), so it cannot look up any consent and ` +
          "blocks every message.",
        nodes: [n.id],
        fix: {
          text: "Choose a consent store in the gate and declare the purpose there.",
          nodeType: "privacy-consent-gate",
        },
      });
      continue;
    }
    const purposes = purposesOf(store);
    const purpose = n.obj.purposeFrom === "msg" ? "" : str(n.obj.purpose).trim();
    if (purposes.length > 0 && (purpose === "" || purposes.some((p) => p.id === purpose))) continue;
    const none = purposes.length === 0;
    out.push({
      ...base,
      id: `consent-purposes:${n.id}`,
      rule: "consent-purposes",
      severity: "medium",
      title: none
        ? `${label(n.obj)} checks a store that declares no purposes`
        : `${label(n.obj)} checks an undeclared purpose "${purpose}"`,
      explanation:
        `${label(store)} ${none ? "declares no purposes" : `does not declare the purpose "${purpose}"`}, so no one ` +
        `can have agreed to what ${label(n.obj)} checks: it blocks every message, and the people in the house cannot ` +
        "see what they would be agreeing to (a purpose carries its description and policy version).",
      nodes: [n.id, store.id],
      fix: {
        text:
          `Declare the purpose${purpose ? ` "${purpose}"` : ""} in ${label(store)}, with a description and a ` +
          "policy version.",
        nodeType: "privacy-consent-store",
      },
    });
  }
  return out;
}

interface Rule {
  op?: unknown;
  path?: unknown;
  action?: { op?: unknown };
  actions?: Record<string, { op?: unknown } | undefined>;
}

function rulesOf(n: FlowObject): Rule[] {
  return Array.isArray(n.rules) ? n.rules.filter((r): r is Rule => typeof r === "object" && r !== null) : [];
}

function usesOp(r: Rule, op: string): boolean {
  if (r.op === op) return true;
  if (r.op !== "scan") return false;
  return r.action?.op === op || Object.values(r.actions ?? {}).some((a) => a?.op === op);
}

function anonymizeFindings(g: Graph): Finding[] {
  const out: Finding[] = [];
  for (const n of g.nodes) {
    if (n.type !== "privacy-anonymize") continue;
    const rules = rulesOf(n.obj);
    const base = { dormant: n.disabled, anchor: tabOf(g, n.id) };
    const keyring = g.config(n.obj.keyring);
    if (rules.some((r) => usesOp(r, "pseudonymize")) && (!keyring || keyring.type !== "privacy-keyring")) {
      out.push({
        ...base,
        id: `anonymize-key:${n.id}`,
        rule: "anonymize-key",
        severity: "medium",
        title: `${label(n.obj)} pseudonymizes without a key`,
        explanation:
          `${label(n.obj)} has pseudonymize rules but ` +
          `${str(n.obj.keyring) ? "its keyring is missing" : "no keyring"}. ` +
          "A pseudonym is a keyed HMAC: without the key the node refuses to start and every message fails, and " +
          "replacing it with a plain hash would let anyone recompute the pseudonyms.",
        nodes: [n.id],
        fix: { text: `Choose a keyring in ${label(n.obj)}.`, nodeType: "privacy-anonymize" },
      });
    }
    const hashed = rules.filter((r) => usesOp(r, "hash")).map((r) => str(r.path) || "(scan)");
    if (hashed.length > 0) {
      out.push({
        ...base,
        id: `anonymize-key:${n.id}:hash`,
        rule: "anonymize-key",
        severity: "low",
        title: `${label(n.obj)} hashes without a key (${hashed.join(", ")})`,
        explanation:
          `${label(n.obj)} replaces ${hashed.join(", ")} by an unkeyed hash. E-mail addresses, phone numbers and MAC ` +
          "addresses are few enough that anyone can hash them all and look the result up: the hash identifies the " +
          "person as well as the value did.",
        nodes: [n.id],
        fix: {
          text: "Use pseudonymize with a keyring instead of hash for identifiers.",
          nodeType: "privacy-anonymize",
        },
      });
    }
  }
  return out;
}

export function ownNodes(g: Graph, facts: AuditFacts, notes: string[]): Finding[] {
  return [...keyringFindings(g, facts, notes), ...gateFindings(g), ...anonymizeFindings(g)];
}
