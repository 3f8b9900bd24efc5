/**
 * Data minimization: only the fields, and the precision, that a purpose needs leave
 * the flow.
 *
 * A config is compiled once into a plan: a tree of the rule paths (one branch per key,
 * one for `*`), with every `*` branch already folded into its literal siblings, so
 * that a message is handled in one walk over the parts of it the rules name. The walk
 * never changes the message it is given: it builds the output beside it (sharing the
 * subtrees it keeps whole), so a message that fails is handed to done(err) untouched.
 */
import { Joi, pathString } from "../core/validation";
import { isForbiddenKey, parsePath, WILDCARD, type PropertyPath, type Segment } from "../core/paths";

export type Mode = "keep" | "remove";
export type Op = "keep" | "remove" | "round" | "coordinates" | "time" | "bucket" | "cap";
export type TimeUnit = "minute" | "hour" | "day";
export type EpochUnit = "auto" | "s" | "ms";

export interface Bucket {
  below: number;
  label: string;
}

export interface RuleConfig {
  path: string;
  op: Op;
  /** round: decimal places; coordinates (method decimals): decimal places. */
  decimals?: number;
  /** round: a step such as 0.5 or 10 (instead of decimals). */
  step?: number;
  /** coordinates: `decimals` or `geohash`. */
  method?: "decimals" | "geohash";
  /** coordinates (method geohash): geohash length 1..12. */
  precision?: number;
  /** time: truncate to this unit. */
  unit?: TimeUnit;
  /** time: how a number is read (auto: below 1e11 is seconds, else milliseconds). */
  epoch?: EpochUnit;
  /** bucket: ascending upper bounds (exclusive) with their labels. */
  buckets?: Bucket[];
  /** bucket: the label of values at or above the last bound. */
  above?: string;
  /** cap: the longest string that may leave (in UTF-16 code units, never splitting a pair). */
  max?: number;
}

export interface MinimizeConfig {
  mode: Mode;
  /** The message property the rules apply to, e.g. `payload`. */
  property: string;
  rules: RuleConfig[];
  onTypeMismatch: "error" | "drop-field";
  /** keep mode: what happens to a property that is not an object (string, Buffer...). */
  nonObject: "error" | "pass";
  /** Strip every top-level message property not on the keep list. */
  stripMetadata: boolean;
  /** Top-level properties kept besides `_msgid`, `topic`, `privacy` and the property. */
  keepProperties: string[];
}

/** Message properties that always survive stripping: the id, the topic, the trail. */
export const ALWAYS_KEPT: readonly string[] = ["_msgid", "topic", "privacy", "_linkSource"];

const OPS: readonly Op[] = ["keep", "remove", "round", "coordinates", "time", "bucket", "cap"];

const ruleSchema = Joi.object({
  path: pathString().required(),
  op: Joi.string()
    .valid(...OPS)
    .default("keep"),
  decimals: Joi.number().integer().min(0).max(15),
  step: Joi.number().positive(),
  method: Joi.string().valid("decimals", "geohash").default("decimals"),
  precision: Joi.number().integer().min(1).max(12),
  unit: Joi.string().valid("minute", "hour", "day"),
  epoch: Joi.string().valid("auto", "s", "ms").default("auto"),
  buckets: Joi.array().items(Joi.object({ below: Joi.number().required(), label: Joi.string().min(1).required() })),
  above: Joi.string().min(1),
  max: Joi.number().integer().min(0),
}).unknown(true);

/** Joi schema of the engine's part of a node's config (shared by node and preview). */
export const minimizeSchema = Joi.object({
  mode: Joi.string().valid("keep", "remove").default("keep"),
  property: pathString()
    .default("payload")
    .custom((value: string, helpers) => (parsePath(value).hasWildcard ? helpers.message({ custom: '{{#label}} cannot contain "*"' }) : value)),
  rules: Joi.array().items(ruleSchema).default([]),
  onTypeMismatch: Joi.string().valid("error", "drop-field").default("error"),
  nonObject: Joi.string().valid("error", "pass").default("error"),
  stripMetadata: Joi.boolean().default(true),
  keepProperties: Joi.array()
    .items(Joi.string().trim().pattern(/^[A-Za-z_$][\w$]*$/, "a top-level property name"))
    .default([]),
}).unknown(true);

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** A message the rules cannot be applied to; the message names the path, never a value. */
export class MinimizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MinimizeError";
  }
}

// ---------------------------------------------------------------------------------
// Transforms. Each returns the new value, or MISMATCH when the value has the wrong type.

const MISMATCH: unique symbol = Symbol("mismatch");
type TransformFn = (value: unknown) => unknown;

interface Transform {
  op: Op;
  /** What the transform needs, for the error message: "a number". */
  needs: string;
  apply: TransformFn;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function decimalsOf(step: number): number {
  const text = String(step);
  const exp = /e-(\d+)$/.exec(text);
  if (exp) return Math.min(15, Number(exp[1]) + (text.split("e")[0].split(".")[1] || "").length);
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : Math.min(15, text.length - dot - 1);
}

function roundTo(decimals: number): (x: number) => number {
  const f = 10 ** decimals;
  return (x) => Math.round(x * f) / f;
}

function roundStep(step: number): (x: number) => number {
  // Multiplying back by the step leaves binary noise (0.30000000000000004); rounding to
  // the step's own decimals removes it.
  const clean = roundTo(decimalsOf(step));
  return (x) => clean(Math.round(x / step) * step);
}

const GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz";

/** Standard geohash (base32, longitude bit first). */
export function geohash(lat: number, lon: number, precision: number): string {
  let latMin = -90;
  let latMax = 90;
  let lonMin = -180;
  let lonMax = 180;
  let out = "";
  let bits = 0;
  let bitCount = 0;
  let even = true;
  while (out.length < precision) {
    if (even) {
      const mid = (lonMin + lonMax) / 2;
      if (lon >= mid) {
        bits = (bits << 1) | 1;
        lonMin = mid;
      } else {
        bits <<= 1;
        lonMax = mid;
      }
    } else {
      const mid = (latMin + latMax) / 2;
      if (lat >= mid) {
        bits = (bits << 1) | 1;
        latMin = mid;
      } else {
        bits <<= 1;
        latMax = mid;
      }
    }
    even = !even;
    if (++bitCount === 5) {
      out += GEOHASH_ALPHABET[bits];
      bits = 0;
      bitCount = 0;
    }
  }
  return out;
}

const LAT_KEYS = ["lat", "latitude"];
const LON_KEYS = ["lon", "lng", "long", "longitude"];

function ownKey(obj: Record<string, unknown>, names: readonly string[]): string | undefined {
  for (const n of names) if (Object.prototype.hasOwnProperty.call(obj, n) && isFiniteNumber(obj[n])) return n;
  return undefined;
}

function coordinatesTransform(rule: RuleConfig): TransformFn {
  if (rule.method === "geohash") {
    const precision = rule.precision ?? 7;
    const encode = (lat: number, lon: number): string | typeof MISMATCH =>
      lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 ? geohash(lat, lon, precision) : MISMATCH;
    return (v) => {
      if (Array.isArray(v)) {
        // GeoJSON order: [longitude, latitude, altitude?]
        return v.length >= 2 && isFiniteNumber(v[0]) && isFiniteNumber(v[1]) ? encode(v[1], v[0]) : MISMATCH;
      }
      if (isPlainObject(v)) {
        const la = ownKey(v, LAT_KEYS);
        const lo = ownKey(v, LON_KEYS);
        return la && lo ? encode(v[la] as number, v[lo] as number) : MISMATCH;
      }
      return MISMATCH;
    };
  }
  const round = roundTo(rule.decimals ?? 3);
  return (v) => {
    if (isFiniteNumber(v)) return round(v);
    if (Array.isArray(v)) {
      if (v.length < 2 || !isFiniteNumber(v[0]) || !isFiniteNumber(v[1])) return MISMATCH;
      const out = v.slice();
      out[0] = round(v[0]);
      out[1] = round(v[1]);
      return out;
    }
    if (isPlainObject(v)) {
      const la = ownKey(v, LAT_KEYS);
      const lo = ownKey(v, LON_KEYS);
      if (!la || !lo) return MISMATCH;
      return { ...v, [la]: round(v[la] as number), [lo]: round(v[lo] as number) };
    }
    return MISMATCH;
  };
}

const UNIT_MS: Record<TimeUnit, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;

const UTC_ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?Z$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The common case, a UTC ISO string, truncated by cutting the text: the same result
 * as Date.parse + toISOString at a fraction of the cost. null: take the general path.
 */
export function truncateUtcIso(v: string, unit: TimeUnit): string | null {
  const m = UTC_ISO.exec(v);
  if (m === null) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  if (month < 1 || month > 12 || day < 1 || day > days || Number(m[4]) > 23 || Number(m[5]) > 59 || (m[6] !== undefined && Number(m[6]) > 59)) {
    return null;
  }
  if (unit === "minute") return `${v.slice(0, 16)}:00.000Z`;
  if (unit === "hour") return `${v.slice(0, 13)}:00:00.000Z`;
  return `${v.slice(0, 10)}T00:00:00.000Z`;
}

function timeTransform(rule: RuleConfig): TransformFn {
  const unit = rule.unit ?? "hour";
  const unitMs = UNIT_MS[unit];
  const floorMs = (ms: number): number => Math.floor(ms / unitMs) * unitMs;
  const epoch = rule.epoch ?? "auto";
  return (v) => {
    if (isFiniteNumber(v)) {
      const seconds = epoch === "s" || (epoch === "auto" && Math.abs(v) < 1e11);
      return seconds ? floorMs(v * 1000) / 1000 : floorMs(v);
    }
    if (typeof v === "string") {
      const fast = truncateUtcIso(v, unit);
      if (fast !== null) return fast;
      if (!ISO_DATE.test(v)) return MISMATCH;
      const ms = Date.parse(v);
      return Number.isFinite(ms) ? new Date(floorMs(ms)).toISOString() : MISMATCH;
    }
    if (v instanceof Date) {
      const ms = v.getTime();
      return Number.isFinite(ms) ? new Date(floorMs(ms)) : MISMATCH;
    }
    return MISMATCH;
  };
}

function bucketTransform(rule: RuleConfig): TransformFn {
  const bounds = (rule.buckets ?? []).map((b) => b.below);
  const labels = (rule.buckets ?? []).map((b) => b.label);
  const above = rule.above ?? `>= ${bounds[bounds.length - 1]}`;
  return (v) => {
    if (!isFiniteNumber(v)) return MISMATCH;
    for (let i = 0; i < bounds.length; i++) if (v < bounds[i]) return labels[i];
    return above;
  };
}

function capTransform(rule: RuleConfig): TransformFn {
  const max = rule.max ?? 0;
  return (v) => {
    if (typeof v !== "string") return MISMATCH;
    if (v.length <= max) return v;
    let end = max;
    const last = v.charCodeAt(end - 1);
    if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--; // do not split a surrogate pair
    return v.slice(0, end);
  };
}

function makeTransform(rule: RuleConfig): Transform | null {
  switch (rule.op) {
    case "round": {
      const fn = rule.step !== undefined ? roundStep(rule.step) : roundTo(rule.decimals ?? 0);
      return { op: "round", needs: "a number", apply: (v) => (isFiniteNumber(v) ? fn(v) : MISMATCH) };
    }
    case "coordinates":
      return {
        op: "coordinates",
        needs: rule.method === "geohash" ? "an object with lat/lon or a [lon, lat] pair" : "a number, an object with lat/lon or a [lon, lat] pair",
        apply: coordinatesTransform(rule),
      };
    case "time":
      return { op: "time", needs: "an ISO date string, an epoch number or a Date", apply: timeTransform(rule) };
    case "bucket":
      return { op: "bucket", needs: "a number", apply: bucketTransform(rule) };
    case "cap":
      return { op: "cap", needs: "a string", apply: capTransform(rule) };
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------
// The plan: a tree of rule paths.

interface PlanNode {
  /** Children by key (array indexes as strings, like object keys). */
  literals: Map<string, PlanNode> | null;
  wild: PlanNode | null;
  /** Keys no rule names survive (remove mode, or below a kept path in keep mode). */
  keepRest: boolean;
  remove: boolean;
  transform: Transform | null;
  /** Indexes of the rules that end here (for the missing count). */
  rules: number[];
}

export interface Plan {
  readonly config: MinimizeConfig;
  readonly root: PlanNode;
  readonly ruleCount: number;
  readonly property: PropertyPath;
  readonly propertyKeys: readonly string[];
  readonly keep: ReadonlySet<string>;
  /** Scratch space of the (synchronous) walk: which rules matched in the current message. */
  readonly scratch: { stamps: Uint32Array; generation: number };
  /** Names of top-level keys (`payload.owner`), made once instead of per message. */
  readonly rootNames: Map<string, string>;
}

function newNode(keepRest: boolean): PlanNode {
  return { literals: null, wild: null, keepRest, remove: false, transform: null, rules: [] };
}

/** Folds b into a copy of a; on a conflict `a` (the more specific path) wins, except that remove always wins. */
function merge(a: PlanNode, b: PlanNode): PlanNode {
  const out: PlanNode = {
    literals: a.literals ? new Map(a.literals) : null,
    wild: a.wild,
    keepRest: a.keepRest || b.keepRest,
    remove: a.remove || b.remove,
    transform: a.transform ?? b.transform,
    rules: [...a.rules, ...b.rules.filter((r) => !a.rules.includes(r))],
  };
  if (b.literals) {
    out.literals = out.literals ?? new Map();
    for (const [k, child] of b.literals) {
      const mine = out.literals.get(k);
      out.literals.set(k, mine ? merge(mine, child) : child);
    }
  }
  if (b.wild) out.wild = out.wild ? merge(out.wild, b.wild) : b.wild;
  return out;
}

/** Makes every literal child also carry what the `*` sibling asks, so a walk needs one lookup. */
function finalize(node: PlanNode): void {
  if (node.wild && node.literals) {
    for (const [k, child] of node.literals) node.literals.set(k, merge(child, node.wild));
  }
  if (node.literals) for (const child of node.literals.values()) finalize(child);
  if (node.wild) finalize(node.wild);
}

function segmentKey(seg: Segment): string | null {
  return seg === WILDCARD ? null : String(seg);
}

function describeRule(rule: RuleConfig, i: number): string {
  return `"rules[${i}]" (${rule.path})`;
}

function checkRule(rule: RuleConfig, i: number): void {
  const where = `invalid config: ${describeRule(rule, i)}`;
  if (rule.op === "round" && rule.step !== undefined && rule.decimals !== undefined) {
    throw new ConfigError(`${where}: round takes decimals or a step, not both`);
  }
  if (rule.op === "coordinates" && rule.method === "geohash" && rule.precision === undefined) {
    throw new ConfigError(`${where}: geohash needs a precision (1 to 12)`);
  }
  if (rule.op === "time" && rule.unit === undefined) throw new ConfigError(`${where}: time needs a unit (minute, hour or day)`);
  if (rule.op === "cap" && rule.max === undefined) throw new ConfigError(`${where}: cap needs a max length`);
  if (rule.op === "bucket") {
    const buckets = rule.buckets ?? [];
    if (buckets.length === 0) throw new ConfigError(`${where}: bucket needs at least one range`);
    for (let b = 1; b < buckets.length; b++) {
      if (!(buckets[b].below > buckets[b - 1].below)) throw new ConfigError(`${where}: bucket bounds must be ascending`);
    }
  }
}

/** Compiles a validated config into a plan; throws ConfigError naming the rule. */
export function compile(config: MinimizeConfig): Plan {
  const keepMode = config.mode === "keep";
  const root = newNode(!keepMode);
  const seen = new Map<string, number>();
  config.rules.forEach((rule, i) => {
    checkRule(rule, i);
    const path = parsePath(rule.path);
    // `a[0]` and `a["0"]` reach the same key, so they are the same path.
    const canonical = path.segments.map((s) => (s === WILDCARD ? "*" : JSON.stringify(String(s)))).join(".");
    const earlier = seen.get(canonical);
    if (earlier !== undefined) {
      throw new ConfigError(`invalid config: ${describeRule(rule, i)}: the same path as "rules[${earlier}]"`);
    }
    seen.set(canonical, i);
    let node = root;
    for (const seg of path.segments) {
      const key = segmentKey(seg);
      let child: PlanNode | undefined;
      if (key === null) {
        child = node.wild ?? undefined;
        if (!child) node.wild = child = newNode(!keepMode);
      } else {
        node.literals = node.literals ?? new Map();
        child = node.literals.get(key);
        if (!child) node.literals.set(key, (child = newNode(!keepMode)));
      }
      node = child;
    }
    node.rules.push(i);
    if (rule.op === "remove") {
      node.remove = true;
    } else {
      // keep, or a transform: in keep mode the whole value at this path is allowed.
      if (keepMode) node.keepRest = true;
      node.transform = makeTransform(rule);
    }
  });
  finalize(root);
  const property = parsePath(config.property);
  const keep = new Set([...ALWAYS_KEPT, String(property.segments[0]), ...config.keepProperties]);
  return {
    config,
    root,
    ruleCount: config.rules.length,
    property,
    propertyKeys: property.segments.map(String),
    keep,
    scratch: { stamps: new Uint32Array(config.rules.length), generation: 0 },
    rootNames: new Map(),
  };
}

/** True when keep mode lets the value at this concrete path (relative to the property) out. */
export function allows(plan: Plan, keys: readonly (string | number)[]): boolean {
  let node: PlanNode | null = plan.root;
  for (const k of keys) {
    if (node.remove) return false;
    if (node.keepRest && !node.literals && !node.wild) return true;
    const next: PlanNode | null = node.literals?.get(String(k)) ?? node.wild;
    if (!next) return node.keepRest;
    node = next;
  }
  return !node.remove && node.keepRest;
}

// ---------------------------------------------------------------------------------
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

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === "object" && v !== null && !Buffer.isBuffer(v) && !ArrayBuffer.isView(v) && !(v instanceof Date);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !ArrayBuffer.isView(v) && !(v instanceof Date);
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** isForbiddenKey with a length test first: it runs for every key of every message. */
function forbidden(k: string): boolean {
  return (k.length === 9 || k.length === 11) && isForbiddenKey(k);
}

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

/** Deeper than this is refused: real payloads are not, and a payload that refers to itself never ends. */
export const MAX_DEPTH = 100;

function tooDeep(name: string): MinimizeError {
  return new MinimizeError(`msg.${name} is nested more than ${MAX_DEPTH} levels deep (or refers to itself)`);
}

function hasForbidden(v: unknown, depth: number, name: string): boolean {
  if (!isContainer(v)) return false;
  if (depth > MAX_DEPTH) throw tooDeep(name);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (hasForbidden(v[i], depth + 1, name)) return true;
    return false;
  }
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    if (forbidden(k) || hasForbidden(v[k], depth + 1, name)) return true;
  }
  return false;
}

function withoutForbidden(v: unknown, name: string, w: Walk, depth = 0): unknown {
  if (!isContainer(v)) return v;
  if (depth > MAX_DEPTH) throw tooDeep(name);
  if (Array.isArray(v)) return v.map((x) => withoutForbidden(x, `${name}[*]`, w, depth + 1));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    if (isForbiddenKey(k)) noteRemoved(w, childName(name, k));
    else out[k] = withoutForbidden(v[k], childName(name, k), w, depth + 1);
  }
  return out;
}

/**
 * A value that leaves whole. Own `__proto__`, `constructor` or `prototype` keys inside
 * it (JSON.parse makes them) are taken out, so no merge downstream can reach a prototype
 * through our output. The check allocates nothing; a copy is made only when needed.
 */
function safe(v: unknown, name: string, w: Walk): unknown {
  return isContainer(v) && hasForbidden(v, 0, name) ? withoutForbidden(v, name, w) : v;
}

/** safe() for a key of an object, naming it only when something must be taken out. */
function safeChild(v: unknown, node: PlanNode, parent: string, key: string, w: Walk): unknown {
  return isContainer(v) && hasForbidden(v, 0, parent) ? withoutForbidden(v, nameOf(w, node, parent, key), w) : v;
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
    return safe(next, name, w);
  }
  return node.literals === null && node.wild === null ? safe(out, name, w) : out;
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
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const bad = forbidden(k);
    const literal = node.literals !== null && !bad ? node.literals.get(k) : undefined;
    const child = literal ?? (bad ? null : node.wild);
    if (child === null) {
      // An own "__proto__" (JSON.parse makes them) never leaves either.
      noteRemoved(w, nameOf(w, node, name, k));
      continue;
    }
    const r = visit(obj[k], child, literal ? nameOf(w, node, name, k) : `${name}.*`, w);
    if (r !== REMOVE) out[k] = r;
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
  const keys = Object.keys(obj);
  let results: unknown[] | null = null;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = obj[k];
    let r: unknown;
    if (forbidden(k)) {
      noteRemoved(w, nameOf(w, node, name, k));
      r = REMOVE;
    } else {
      const literal = node.literals !== null ? node.literals.get(k) : undefined;
      const child = literal ?? node.wild;
      r = child === null ? safeChild(v, node, name, k, w) : visit(v, child, literal ? nameOf(w, node, name, k) : `${name}.*`, w);
    }
    if (r !== v && results === null) {
      results = new Array<unknown>(keys.length);
      for (let j = 0; j < i; j++) results[j] = obj[keys[j]];
    }
    if (results !== null) results[i] = r;
  }
  if (results === null) return obj;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) if (results[i] !== REMOVE) out[keys[i]] = results[i];
  return out;
}

function editArray(arr: readonly unknown[], node: PlanNode, name: string, w: Walk): unknown[] {
  const itemName = `${name}[*]`;
  let results: unknown[] | null = null;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    const child = (node.literals !== null ? node.literals.get(String(i)) : undefined) ?? node.wild;
    const r = child === null ? safe(v, itemName, w) : visit(v, child, itemName, w);
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
    if (!isContainer(node) || !Object.prototype.hasOwnProperty.call(node, k)) return { found: false, value: undefined };
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
    node[keys[i]] = copy;
    node = copy;
  }
  node[keys[keys.length - 1]] = value;
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
    if (forbidden(k) || (config.stripMetadata && !plan.keep.has(k))) stripped.push(k);
    else out[k] = msg[k];
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
