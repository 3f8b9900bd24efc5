/**
 * Running a plan on a message in one walk over the parts the rules name. The walk never
 * changes the message it is given: it builds the output beside it (sharing the subtrees
 * it keeps whole), so a message that fails is handed to done(err) untouched.
 *
 * It steps through the message with the shared walker of core/paths: `*` visits every
 * own key, `__proto__`, `constructor` and `prototype` included, as data, and the output
 * gets them as own data properties (addOwn), so nothing can reach a prototype.
 *
 * What it reports (the trail entry) names rules, by their configured paths, and counts:
 * never a key found in the data, which can be personal data (`payload["alice@example.com"]`).
 */
import { addOwn, collectionKind, isContainer, isForbiddenKey, ownKeys } from "../core/paths";
import { hasOwn, isDate } from "../core/objects";
import { MinimizeError, TRANSPORT_PROPERTIES, type Mode } from "./schema";
import { MISMATCH } from "./transforms";
import type { Plan, PlanNode } from "./plan";

// Running a plan on a message.

export interface MinimizeSummary {
  mode: Mode;
  /** Remove rules that removed something, by their paths (`payload.readings[*].raw`), at most MAX_NAMES. */
  removed: string[];
  /** Values removed: by remove rules, and in keep mode because no rule let them out (`unlisted`). */
  removedCount: number;
  /** Keep mode: values removed because no rule named them. A count: their keys are data. */
  unlisted: number;
  /** Transform rules that changed a value (rounded, coarsened, truncated, bucketed, capped), by their paths. */
  coarsened: string[];
  /** Transform rules whose values were removed for having the wrong type (onTypeMismatch: drop-field). */
  dropped: string[];
  /** Rules whose path matched nothing in this message. */
  missing: number;
  /** Top-level properties stripped that Node-RED's nodes set for transport (`req`, `headers`...). */
  stripped: string[];
  /** Every top-level property stripped, those named in `stripped` and any other (counted, not named). */
  strippedCount: number;
  /** Set when the property was not an object and passed untouched. */
  untouched?: string;
}

export interface MinimizeResult {
  msg: Record<string, unknown>;
  summary: MinimizeSummary;
}

export const MAX_NAMES = 50;
const REMOVE: unique symbol = Symbol("remove");

interface Walk {
  readonly plan: Plan;
  readonly generation: number;
  matched: number;
  /** Rule indexes, each once, in the order they first acted. */
  removed: number[];
  coarsened: number[];
  dropped: number[];
  removedCount: number;
  unlisted: number;
}

/** Adds rule r to a list once per message (stamps: the plan's scratch array for that list). */
function note(w: Walk, stamps: Uint32Array, list: number[], r: number): void {
  if (stamps[r] !== w.generation) {
    stamps[r] = w.generation;
    list.push(r);
  }
}

/** A value no rule lets out (keep mode): counted, never named. */
function unlisted(w: Walk): void {
  w.unlisted++;
  w.removedCount++;
}

function visit(value: unknown, node: PlanNode, w: Walk): unknown {
  const matched = w.plan.scratch.matched;
  for (let i = 0; i < node.rules.length; i++) {
    const r = node.rules[i];
    if (matched[r] !== w.generation) {
      matched[r] = w.generation;
      w.matched++;
    }
  }
  if (node.remove) {
    w.removedCount++;
    note(w, w.plan.scratch.removed, w.removed, node.removeRule);
    return REMOVE;
  }
  let out = value;
  if (node.literals !== null || node.wild !== null) {
    const kind = collectionKind(value);
    // rules below this path cannot reach a Map's or a Set's entries: fail rather than let them pass
    if (kind !== null)
      throw new MinimizeError(
        `msg.${w.plan.ruleNames[node.via]}: ${kind} is in the way, and no rule can reach its entries`,
      );
    if (isContainer(value)) {
      out = Array.isArray(value) ? visitArray(value, node, w) : visitObject(value, node, w);
      // In keep mode, a container only on the way to kept paths goes when nothing in it was kept.
      if (!node.keepRest && (Array.isArray(out) ? out.length === 0 : Object.keys(out as object).length === 0))
        return REMOVE;
    } else if (!node.keepRest) {
      // keep mode: a value where only paths below it are kept
      unlisted(w);
      return REMOVE;
    }
  }
  const t = node.transform;
  if (t !== null) {
    const next = t.apply(out);
    if (next === MISMATCH) {
      if (w.plan.config.onTypeMismatch === "error") {
        throw new MinimizeError(
          `msg.${w.plan.ruleNames[node.transformRule]}: ${t.op} needs ${t.needs}, got ${typeName(out)}`,
        );
      }
      note(w, w.plan.scratch.dropped, w.dropped, node.transformRule);
      return REMOVE;
    }
    note(w, w.plan.scratch.coarsened, w.coarsened, node.transformRule);
    return next;
  }
  return out;
}

function visitObject(obj: Record<string, unknown>, node: PlanNode, w: Walk): Record<string, unknown> {
  return node.keepRest ? editObject(obj, node, w) : pruneObject(obj, node, w);
}

function visitArray(arr: readonly unknown[], node: PlanNode, w: Walk): unknown[] {
  return node.keepRest ? editArray(arr, node, w) : pruneArray(arr, node, w);
}

/** Keep mode on the way to kept paths: a new object with only what the rules let out. */
function pruneObject(obj: Record<string, unknown>, node: PlanNode, w: Walk): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = ownKeys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const child = (node.literals !== null ? node.literals.get(k) : undefined) ?? node.wild;
    if (child === null) {
      unlisted(w);
      continue;
    }
    const r = visit(obj[k], child, w);
    if (r !== REMOVE) addOwn(out, k, r);
  }
  return out;
}

/** The plan for element i of an array: a literal written as a number (`[2]`), else `*`. */
function elementChild(node: PlanNode, i: number): PlanNode | null {
  const key = String(i);
  const literal = node.literals !== null && !node.textKeys?.has(key) ? node.literals.get(key) : undefined;
  return literal ?? node.wild;
}

function pruneArray(arr: readonly unknown[], node: PlanNode, w: Walk): unknown[] {
  // With a rule for a particular index (`items[2].x`) positions matter: an element with
  // nothing kept becomes null so the kept ones stay at their index. With `*` alone,
  // such elements are left out; a literal that is no index (`t` from `*.t`) changes nothing.
  const positional = node.indexed;
  const out: unknown[] = [];
  let used = 0;
  for (let i = 0; i < arr.length; i++) {
    const child = elementChild(node, i);
    let r: unknown = REMOVE;
    if (child === null) unlisted(w);
    else r = visit(arr[i], child, w);
    if (r !== REMOVE) {
      out.push(r);
      used = out.length;
    } else if (positional) {
      out.push(null);
    }
  }
  out.length = used;
  return out;
}

/**
 * Remove mode, or inside a kept path: everything stays unless a rule changes it. The
 * object is copied only when something does change; otherwise it is returned as it is.
 */
function editObject(obj: Record<string, unknown>, node: PlanNode, w: Walk): Record<string, unknown> {
  const keys = ownKeys(obj);
  let results: unknown[] | null = null;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = obj[k];
    const child = (node.literals !== null ? node.literals.get(k) : undefined) ?? node.wild;
    // a key no rule names stays as it is, with everything in it
    const r = child === null ? v : visit(v, child, w);
    if (r !== v && results === null) {
      results = new Array<unknown>(keys.length);
      for (let j = 0; j < i; j++) results[j] = obj[keys[j]];
    }
    if (results !== null) results[i] = r;
  }
  if (results === null) return obj;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) if (results[i] !== REMOVE) addOwn(out, keys[i], results[i]);
  return out;
}

function editArray(arr: readonly unknown[], node: PlanNode, w: Walk): unknown[] {
  let results: unknown[] | null = null;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    const child = elementChild(node, i);
    const r = child === null ? v : visit(v, child, w);
    if (r !== v && results === null) results = arr.slice(0, i);
    if (results !== null && r !== REMOVE) results.push(r);
  }
  return results === null ? (arr as unknown[]) : results;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (Buffer.isBuffer(v)) return "a Buffer";
  if (isDate(v)) return "a Date";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** The configured paths of the rules in a list, at most MAX_NAMES. */
function names(plan: Plan, rules: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < rules.length && i < MAX_NAMES; i++) out.push(plan.ruleNames[rules[i]]);
  return out;
}

function getProperty(msg: Record<string, unknown>, keys: readonly string[]): { found: boolean; value: unknown } {
  let node: unknown = msg;
  for (const k of keys) {
    // keys are the property's segments as text: "0" reaches an array's index 0 too
    if (!isContainer(node) || !hasOwn(node, k)) return { found: false, value: undefined };
    node = (node as Record<string, unknown>)[k];
  }
  return { found: true, value: node };
}

/** Sets msg[keys] = value, copying each container on the way so the input is never changed. */
function setProperty(msg: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let node: Record<string, unknown> = msg;
  for (let i = 0; i < keys.length - 1; i++) {
    const next = node[keys[i]];
    const copy: Record<string, unknown> = Array.isArray(next)
      ? (next.slice() as unknown as Record<string, unknown>)
      : { ...(next as Record<string, unknown>) };
    addOwn(node, keys[i], copy);
    node = copy;
  }
  addOwn(node, keys[keys.length - 1], value);
}

/**
 * Runs a plan on a message. Returns a new message (the input is not changed) and what
 * was done; throws MinimizeError when the message cannot be minimized.
 */
export function minimize(plan: Plan, msg: Record<string, unknown>): MinimizeResult {
  const { config } = plan;
  const propName = config.property;
  const target = getProperty(msg, plan.propertyKeys);
  const kind = collectionKind(target.value);
  // passed untouched, a Map's entries would leave whatever the rules say
  if (kind !== null) throw new MinimizeError(`msg.${propName} is ${kind}: no rule can reach its entries`);
  const scratch = plan.scratch;
  // A new generation instead of fresh arrays: a stamp from an earlier message counts as no.
  scratch.generation = scratch.generation >= 0xfffffffe ? 1 : scratch.generation + 1;
  if (scratch.generation === 1)
    for (const a of [scratch.matched, scratch.removed, scratch.coarsened, scratch.dropped]) a.fill(0);
  const w: Walk = {
    plan,
    generation: scratch.generation,
    matched: 0,
    removed: [],
    coarsened: [],
    dropped: [],
    removedCount: 0,
    unlisted: 0,
  };
  let value: unknown = target.value;
  let untouched: string | undefined;
  if (!isContainer(target.value)) {
    if (config.mode === "keep" && config.nonObject === "error") {
      throw new MinimizeError(
        `msg.${propName} is ${target.found ? typeName(target.value) : "missing"}, not an object: ` +
          "nothing in it is on the keep list",
      );
    }
    untouched = target.found ? typeName(target.value) : "missing";
  } else {
    value = Array.isArray(target.value)
      ? visitArray(target.value, plan.root, w)
      : visitObject(target.value, plan.root, w);
  }

  const out: Record<string, unknown> = {};
  const stripped: string[] = [];
  let strippedCount = 0;
  const keys = Object.keys(msg);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    // a message-level __proto__ (or constructor, prototype) is not data of the property: it goes
    if (isForbiddenKey(k) || (config.stripMetadata && !plan.keep.has(k))) {
      strippedCount++;
      // named only when it is a name Node-RED's nodes use: any other name came from the message
      if (TRANSPORT_PROPERTIES.has(k)) stripped.push(k);
    } else addOwn(out, k, msg[k]);
  }
  if (untouched === undefined) setProperty(out, plan.propertyKeys, value);

  const summary: MinimizeSummary = {
    mode: config.mode,
    removed: names(plan, w.removed),
    removedCount: w.removedCount,
    unlisted: w.unlisted,
    coarsened: names(plan, w.coarsened),
    dropped: names(plan, w.dropped),
    missing: plan.ruleCount - w.matched,
    stripped,
    strippedCount,
  };
  if (untouched !== undefined) summary.untouched = untouched;
  return { msg: out, summary };
}
