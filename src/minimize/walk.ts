/**
 * Running a plan on a message in one walk over the parts the rules name. The walk never
 * changes the message it is given: it builds the output beside it (sharing the subtrees
 * it keeps whole), so a message that fails is handed to done(err) untouched.
 *
 * It steps through the message with the shared walker of core/paths: `*` visits every
 * own key, `__proto__`, `constructor` and `prototype` included, as data, and the output
 * gets them as own data properties (addOwn), so nothing can reach a prototype.
 */
import { addOwn, collectionKind, isContainer, isForbiddenKey, ownKeys } from "../core/paths";
import { hasOwn } from "../core/objects";
import { MinimizeError, type Mode } from "./schema";
import { MISMATCH } from "./transforms";
import type { Plan, PlanNode } from "./plan";

// Running a plan on a message.

export interface MinimizeSummary {
  mode: Mode;
  /** Paths that were removed (array indexes and `*` matches shown as `[*]` / `*`), at most MAX_NAMES. */
  removed: string[];
  removedCount: number;
  /** Paths whose value was rounded, coarsened, truncated, bucketed or capped. */
  coarsened: string[];
  /** Paths removed because a transform met the wrong type (onTypeMismatch: drop-field). */
  dropped: string[];
  /** Rules whose path matched nothing in this message. */
  missing: number;
  /** Top-level message properties stripped as transport metadata. */
  stripped: string[];
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
  readonly stamps: Uint32Array;
  readonly generation: number;
  matched: number;
  removed: string[];
  removedCount: number;
  coarsened: string[];
  dropped: string[];
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

function childName(parent: string, key: string): string {
  return IDENT.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

const MAX_CACHED_NAMES = 512;

/** childName, cached for the keys right under the property (where most fields are). */
function nameOf(w: Walk, node: PlanNode, parent: string, key: string): string {
  if (node !== w.plan.root) return childName(parent, key);
  const cache = w.plan.rootNames;
  let name = cache.get(key);
  if (name === undefined) {
    name = childName(parent, key);
    if (cache.size < MAX_CACHED_NAMES) cache.set(key, name);
  }
  return name;
}

function noteRemoved(w: Walk, name: string): void {
  w.removedCount++;
  if (w.removed.length < MAX_NAMES * 4) w.removed.push(name);
}

function visit(value: unknown, node: PlanNode, name: string, w: Walk): unknown {
  for (let i = 0; i < node.rules.length; i++) {
    const r = node.rules[i];
    if (w.stamps[r] !== w.generation) {
      w.stamps[r] = w.generation;
      w.matched++;
    }
  }
  if (node.remove) {
    noteRemoved(w, name);
    return REMOVE;
  }
  let out = value;
  if (node.literals !== null || node.wild !== null) {
    const kind = collectionKind(value);
    // rules below this path cannot reach a Map's or a Set's entries: fail rather than let them pass
    if (kind !== null) throw new MinimizeError(`msg.${name} is ${kind}: the rules below it cannot reach its entries`);
    if (isContainer(value)) {
      out = Array.isArray(value) ? visitArray(value, node, name, w) : visitObject(value, node, name, w);
      // In keep mode, a container only on the way to kept paths goes when nothing in it was kept.
      if (!node.keepRest && (Array.isArray(out) ? out.length === 0 : Object.keys(out as object).length === 0)) return REMOVE;
    } else if (!node.keepRest) {
      noteRemoved(w, name);
      return REMOVE;
    }
  }
  const t = node.transform;
  if (t !== null) {
    const next = t.apply(out);
    if (next === MISMATCH) {
      if (w.plan.config.onTypeMismatch === "error") {
        throw new MinimizeError(`msg.${name}: ${t.op} needs ${t.needs}, got ${typeName(out)}`);
      }
      w.dropped.push(name);
      return REMOVE;
    }
    w.coarsened.push(name);
    return next;
  }
  return out;
}

function visitObject(obj: Record<string, unknown>, node: PlanNode, name: string, w: Walk): Record<string, unknown> {
  return node.keepRest ? editObject(obj, node, name, w) : pruneObject(obj, node, name, w);
}

function visitArray(arr: readonly unknown[], node: PlanNode, name: string, w: Walk): unknown[] {
  return node.keepRest ? editArray(arr, node, name, w) : pruneArray(arr, node, name, w);
}

/** Keep mode on the way to kept paths: a new object with only what the rules let out. */
function pruneObject(obj: Record<string, unknown>, node: PlanNode, name: string, w: Walk): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = ownKeys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const literal = node.literals !== null ? node.literals.get(k) : undefined;
    const child = literal ?? node.wild;
    if (child === null) {
      noteRemoved(w, nameOf(w, node, name, k));
      continue;
    }
    const r = visit(obj[k], child, literal ? nameOf(w, node, name, k) : `${name}.*`, w);
    if (r !== REMOVE) addOwn(out, k, r);
  }
  return out;
}

function pruneArray(arr: readonly unknown[], node: PlanNode, name: string, w: Walk): unknown[] {
  // With a rule for a particular index (`items[2].x`) positions matter: an element with
  // nothing kept becomes null so the kept ones stay at their index. With `*` alone,
  // such elements are left out.
  const positional = node.literals !== null;
  const out: unknown[] = [];
  let used = 0;
  const itemName = `${name}[*]`;
  for (let i = 0; i < arr.length; i++) {
    const child = (node.literals !== null ? node.literals.get(String(i)) : undefined) ?? node.wild;
    const r = child === null ? REMOVE : visit(arr[i], child, itemName, w);
    if (child === null) noteRemoved(w, itemName);
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
function editObject(obj: Record<string, unknown>, node: PlanNode, name: string, w: Walk): Record<string, unknown> {
  const keys = ownKeys(obj);
  let results: unknown[] | null = null;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = obj[k];
    const literal = node.literals !== null ? node.literals.get(k) : undefined;
    const child = literal ?? node.wild;
    // a key no rule names stays as it is, with everything in it
    const r = child === null ? v : visit(v, child, literal ? nameOf(w, node, name, k) : `${name}.*`, w);
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

function editArray(arr: readonly unknown[], node: PlanNode, name: string, w: Walk): unknown[] {
  const itemName = `${name}[*]`;
  let results: unknown[] | null = null;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    const child = (node.literals !== null ? node.literals.get(String(i)) : undefined) ?? node.wild;
    const r = child === null ? v : visit(v, child, itemName, w);
    if (r !== v && results === null) results = arr.slice(0, i);
    if (results !== null && r !== REMOVE) results.push(r);
  }
  return results === null ? (arr as unknown[]) : results;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (Buffer.isBuffer(v)) return "a Buffer";
  if (v instanceof Date) return "a Date";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

function unique(names: string[]): string[] {
  // Only names through `*` or `[*]` can repeat: the others are distinct paths.
  let starred = false;
  for (let i = 0; i < names.length && !starred; i++) starred = names[i].includes("*");
  if (!starred) return names.length > MAX_NAMES ? names.slice(0, MAX_NAMES) : names;
  const out = Array.from(new Set(names));
  return out.length > MAX_NAMES ? out.slice(0, MAX_NAMES) : out;
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
    const copy: Record<string, unknown> = Array.isArray(next) ? (next.slice() as unknown as Record<string, unknown>) : { ...(next as Record<string, unknown>) };
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
  const scratch = plan.scratch;
  // A new generation instead of a fresh array: a stamp from an earlier message counts as unmatched.
  scratch.generation = scratch.generation >= 0xfffffffe ? 1 : scratch.generation + 1;
  if (scratch.generation === 1) scratch.stamps.fill(0);
  const w: Walk = { plan, stamps: scratch.stamps, generation: scratch.generation, matched: 0, removed: [], removedCount: 0, coarsened: [], dropped: [] };
  let value: unknown = target.value;
  let untouched: string | undefined;
  if (!isContainer(target.value)) {
    if (config.mode === "keep" && config.nonObject === "error") {
      throw new MinimizeError(`msg.${propName} is ${target.found ? typeName(target.value) : "missing"}, not an object: nothing in it is on the keep list`);
    }
    untouched = target.found ? typeName(target.value) : "missing";
  } else {
    value = Array.isArray(target.value) ? visitArray(target.value, plan.root, propName, w) : visitObject(target.value, plan.root, propName, w);
  }

  const out: Record<string, unknown> = {};
  const stripped: string[] = [];
  const keys = Object.keys(msg);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    // a message-level __proto__ (or constructor, prototype) is not data of the property: it goes, and is listed
    if (isForbiddenKey(k) || (config.stripMetadata && !plan.keep.has(k))) stripped.push(k);
    else addOwn(out, k, msg[k]);
  }
  if (untouched === undefined) setProperty(out, plan.propertyKeys, value);

  const summary: MinimizeSummary = {
    mode: config.mode,
    removed: unique(w.removed),
    removedCount: w.removedCount,
    coarsened: unique(w.coarsened),
    dropped: unique(w.dropped),
    missing: plan.ruleCount - w.matched,
    stripped,
  };
  if (untouched !== undefined) summary.untouched = untouched;
  return { msg: out, summary };
}
