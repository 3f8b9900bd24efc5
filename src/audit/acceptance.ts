/**
 * Accepted findings live in the flows themselves, so they travel with an export and
 * survive restarts: an environment variable PRIVACY_AUDIT_ACCEPTED of type JSON,
 *
 *   { "<finding id>": { "reason": "...", "at": "<ISO time>", "severity": "low" }, ... }
 *
 * on the tab that holds the finding's anchor node (the sink of a path, the node of a
 * secret), or, for findings that belong to no tab (the instance, config nodes shared by
 * every tab, nodes inside a subflow template), in the env of the global-config node
 * (Node-RED's global environment, User settings > Environment). A variable, not a
 * property of the node: the editor drops properties a node type does not declare, and
 * a tab's env is kept by every export of that tab. Every face reads all of them (an
 * acceptance still holds after its nodes move to another tab).
 *
 * An acceptance holds while the finding is no more severe than when it was accepted.
 */
import type { Acceptance, Finding, FlowObject, Severity } from "./types";
import { SEVERITIES } from "./types";
import type { Graph } from "./graph";

export const ENV_NAME = "PRIVACY_AUDIT_ACCEPTED";
export const GLOBAL = "global";
export const MAX_REASON = 500;

interface EnvEntry {
  name: string;
  type: string;
  value: string;
}

type Stored = Record<string, { reason: string; at: string; severity: Severity }>;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function rank(s: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(s);
}

function entryOf(env: unknown): EnvEntry | undefined {
  if (!Array.isArray(env)) return undefined;
  return env.find((e: unknown): e is EnvEntry => isObj(e) && e.name === ENV_NAME);
}

/** Parses one env value; throws on what is not an object of acceptances. */
function parseStored(value: unknown): Stored {
  const parsed: unknown = typeof value === "string" ? (value.trim() === "" ? {} : JSON.parse(value)) : value;
  if (!isObj(parsed)) throw new Error("not a JSON object");
  const out: Stored = {};
  for (const [id, a] of Object.entries(parsed)) {
    if (!isObj(a) || typeof a.reason !== "string") continue;
    const severity = SEVERITIES.includes(a.severity as Severity) ? (a.severity as Severity) : "low";
    out[id] = { reason: a.reason, at: typeof a.at === "string" ? a.at : "", severity };
  }
  return out;
}

export interface ReadResult {
  accepted: Map<string, Acceptance>;
  /** Places whose PRIVACY_AUDIT_ACCEPTED could not be read. */
  unreadable: Array<{ storedIn: string; holder: FlowObject; error: string }>;
}

export function readAcceptances(g: Graph): ReadResult {
  const accepted = new Map<string, Acceptance>();
  const unreadable: ReadResult["unreadable"] = [];
  for (const o of g.byId.values()) {
    if (o.type !== "tab" && o.type !== "global-config" && o.type !== "subflow") continue;
    const e = entryOf(o.env);
    if (!e) continue;
    const storedIn = o.type === "global-config" ? GLOBAL : o.id;
    try {
      for (const [id, a] of Object.entries(parseStored(e.value))) {
        const prev = accepted.get(id);
        // The same finding accepted in two places: the later decision holds.
        if (!prev || prev.at < a.at) accepted.set(id, { ...a, storedIn });
      }
    } catch (err) {
      unreadable.push({ storedIn, holder: o, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { accepted, unreadable };
}

/** Marks accepted findings; returns the acceptances that matched nothing, and notes. */
export function applyAcceptances(
  findings: Finding[],
  accepted: Map<string, Acceptance>,
  notes: string[],
): Array<{ id: string; storedIn: string }> {
  const used = new Set<string>();
  for (const f of findings) {
    const a = accepted.get(f.id);
    if (!a) continue;
    used.add(f.id);
    if (rank(f.severity) <= rank(a.severity)) f.accepted = a;
    else notes.push(`"${f.title}" was accepted as ${a.severity} and is now ${f.severity}: it is shown again.`);
  }
  return [...accepted.entries()].filter(([id]) => !used.has(id)).map(([id, a]) => ({ id, storedIn: a.storedIn }));
}

export function checkReason(reason: unknown): string {
  if (typeof reason !== "string" || reason.trim() === "") throw new Error("an acceptance needs a reason");
  const r = reason.trim();
  if (r.length > MAX_REASON) throw new Error(`the reason is longer than ${MAX_REASON} characters`);
  return r;
}

/**
 * A copy of an env list (a tab's or the global-config node's) with the finding
 * accepted, or with its acceptance removed when `reason` is null. An unreadable
 * PRIVACY_AUDIT_ACCEPTED is not overwritten: the caller gets the error.
 */
export function withAcceptance(
  env: unknown,
  finding: Pick<Finding, "id" | "severity">,
  reason: string | null,
  at: string,
): unknown[] {
  const list: unknown[] = Array.isArray(env) ? env.slice() : [];
  const i = list.findIndex((e) => isObj(e) && e.name === ENV_NAME);
  const stored: Stored = i >= 0 ? parseStored((list[i] as EnvEntry).value) : {};
  if (reason === null) delete stored[finding.id];
  else stored[finding.id] = { reason: checkReason(reason), at, severity: finding.severity };
  const sorted: Stored = {};
  for (const id of Object.keys(stored).sort()) sorted[id] = stored[id];
  const entry: EnvEntry = { name: ENV_NAME, type: "json", value: JSON.stringify(sorted) };
  if (Object.keys(sorted).length === 0) {
    if (i >= 0) list.splice(i, 1);
  } else if (i >= 0) {
    list[i] = entry;
  } else {
    list.push(entry);
  }
  return list;
}

/**
 * Where an acceptance is written: the finding's anchor tab or GLOBAL; an un-accept goes
 * where the acceptance was found.
 */
export function storePlace(finding: Pick<Finding, "anchor" | "accepted">, reason: string | null): string {
  if (reason === null && finding.accepted) return finding.accepted.storedIn;
  return finding.anchor ?? GLOBAL;
}

/**
 * A copy of a flows array with a finding accepted (reason) or un-accepted (null), in
 * the place described above; `newId` names a global-config node if one must be made.
 */
export function acceptInFlows(
  flows: readonly unknown[],
  finding: Pick<Finding, "id" | "severity" | "anchor" | "accepted">,
  reason: string | null,
  at: string,
  newId: () => string,
): unknown[] {
  const out = flows.map((o) => (isObj(o) ? { ...o } : o));
  const place = storePlace(finding, reason);
  const tab = place !== GLOBAL ? out.find((o) => isObj(o) && o.type === "tab" && o.id === place) : undefined;
  let holder = (tab ?? out.find((o) => isObj(o) && o.type === "global-config")) as Record<string, unknown> | undefined;
  if (!holder) {
    if (reason === null) return out;
    holder = { id: newId(), type: "global-config", env: [], modules: {} };
    out.push(holder);
  }
  holder.env = withAcceptance(holder.env, finding, reason, at);
  return out;
}
