/**
 * The privacy-anonymize engine: field rules (`path` + `op` + options) applied to one
 * value or to each record of an array, an optional k-anonymity pass over the records,
 * and a summary (counts only) for the trail.
 *
 * Rules run on a deep copy, so a failure leaves the caller's value untouched and the
 * caller decides what to do with it (the node removes it: see privacy-anonymize.ts).
 */
import { Joi, pathString } from "../core/validation";
import {
  childKeys,
  collectionKind,
  copyContainer,
  copyWithout,
  findMatches,
  getValue,
  isContainer,
  ownChild,
  parsePath,
  setOwn,
  type Container,
  type Key,
  type PropertyPath,
} from "../core/paths";
import {
  OperatorTypeError,
  typeName,
  Pseudonymizer,
  generalize,
  generalizeIp,
  hash,
  mask,
  noise,
  type DateGranularity,
  type GeneralizeKind,
  type GeneralizeOptions,
  type MaskOptions,
  type NoiseOptions,
  type PseudonymOptions,
} from "./anonymize-ops";
import { ENTITY_TAGS, ENTITY_TYPES, replaceEntities, scanText, type EntityType } from "./pii-scan";

export const OPERATORS = ["redact", "mask", "replace", "hash", "pseudonymize", "generalize", "noise", "scan"] as const;
export type Operator = (typeof OPERATORS)[number];

/** What scan does to each entity it finds (all operators except scan and noise). */
export type EntityAction =
  | { op: "redact" }
  | ({ op: "mask" } & MaskOptions)
  | { op: "replace"; value?: string }
  | { op: "hash"; length?: number }
  | ({ op: "pseudonymize" } & PseudonymOptions)
  | { op: "generalize"; ipv4Prefix: number; ipv6Prefix: number; decimals: number };

export type Rule = { path: string } & (
  | { op: "redact" }
  | ({ op: "mask" } & MaskOptions)
  | { op: "replace"; value?: string }
  | { op: "hash"; length?: number }
  | ({ op: "pseudonymize" } & PseudonymOptions)
  | ({ op: "generalize" } & GeneralizeOptions)
  | ({ op: "noise" } & NoiseOptions)
  | { op: "scan"; entities: EntityType[]; action: EntityAction; actions: Partial<Record<EntityType, EntityAction>> }
);

export interface KAnonymityOptions {
  k: number;
  quasiIdentifiers: string[];
  /** Share of records that may be suppressed before a quasi-identifier is coarsened further. */
  maxSuppression: number;
}

export interface AnonymizeOptions {
  rules: Rule[];
  onError: "error" | "redact";
  kAnonymity?: KAnonymityOptions;
}

// ---------------------------------------------------------------- config schemas
const rulePath = () => Joi.alternatives().try(Joi.string().valid(""), pathString()).default("");
const maskKeys = {
  char: Joi.string().length(1).default("*"),
  keepFirst: Joi.number().integer().min(0).max(64).default(0),
  keepLast: Joi.number().integer().min(0).max(64).default(0),
};
const pseudoKeys = {
  length: Joi.number().integer().min(8).max(64).default(16),
  prefix: Joi.string().allow("").max(32).default(""),
};
const hashKeys = { length: Joi.number().integer().min(8).max(64) };
const replaceKeys = { value: Joi.string().allow("").max(1000) };

const ENTITY_ACTION = Joi.object({
  op: Joi.string().valid("redact", "mask", "replace", "hash", "pseudonymize", "generalize").required(),
})
  .unknown(true)
  .custom((value: { op: string }, helpers) => {
    const schemas: Record<string, Joi.ObjectSchema> = {
      redact: Joi.object({ op: Joi.string() }),
      mask: Joi.object({ op: Joi.string(), ...maskKeys }),
      replace: Joi.object({ op: Joi.string(), ...replaceKeys }),
      hash: Joi.object({ op: Joi.string(), ...hashKeys }),
      pseudonymize: Joi.object({ op: Joi.string(), ...pseudoKeys }),
      generalize: Joi.object({
        op: Joi.string(),
        ipv4Prefix: Joi.number().integer().min(0).max(32).default(24),
        ipv6Prefix: Joi.number().integer().min(0).max(128).default(48),
        decimals: Joi.number().integer().min(0).max(8).default(2),
      }),
    };
    const r = schemas[value.op].validate(value, { abortEarly: true });
    if (r.error) return helpers.message({ custom: `{{#label}} ${r.error.details[0].message}` });
    return r.value;
  });

const RULE_SCHEMAS: Record<Operator, Joi.ObjectSchema> = {
  redact: Joi.object({}),
  mask: Joi.object(maskKeys),
  replace: Joi.object(replaceKeys),
  hash: Joi.object(hashKeys),
  pseudonymize: Joi.object(pseudoKeys),
  generalize: Joi.object({
    kind: Joi.string().valid("ip", "date", "range", "postcode", "coordinates").required(),
    ipv4Prefix: Joi.number().integer().min(0).max(32).default(24),
    ipv6Prefix: Joi.number().integer().min(0).max(128).default(48),
    granularity: Joi.string().valid("hour", "day", "month", "year").default("day"),
    width: Joi.number().positive().max(1e12).default(10),
    top: Joi.number(),
    keep: Joi.number().integer().min(0).max(16).default(3),
    decimals: Joi.number().integer().min(0).max(8).default(2),
  }),
  noise: Joi.object({
    epsilon: Joi.number().positive().max(100).required(),
    sensitivity: Joi.number().positive().default(1),
    min: Joi.number(),
    max: Joi.number().when("min", { is: Joi.number().required(), then: Joi.number().min(Joi.ref("min")) }),
    decimals: Joi.number().integer().min(0).max(12),
  }),
  scan: Joi.object({
    entities: Joi.array().items(Joi.string().valid(...ENTITY_TYPES)).min(1).unique().default([...ENTITY_TYPES]),
    action: ENTITY_ACTION.default({ op: "replace" }),
    actions: Joi.object(Object.fromEntries(ENTITY_TYPES.map((t) => [t, ENTITY_ACTION]))).default({}),
  }),
};

/** One rule: `op` picks the schema of its options; unknown options are refused (a typo fails closed). */
export const ruleSchema = Joi.object({
  op: Joi.string().valid(...OPERATORS).required(),
  path: rulePath(),
})
  .unknown(true)
  .custom((value: { op: Operator; path: string }, helpers) => {
    const { op, path, ...options } = value;
    const r = RULE_SCHEMAS[op].validate(options, { abortEarly: true, errors: { wrap: { label: '"' } } });
    if (r.error) return helpers.message({ custom: `{{#label}} (${op}): ${r.error.details[0].message}` });
    const rule = { path, op, ...r.value } as Rule;
    if (rule.op === "scan") {
      for (const [type, action] of Object.entries(rule.actions) as Array<[EntityType, EntityAction]>) {
        if (action.op === "generalize" && !["ipv4", "ipv6", "coordinates"].includes(type)) {
          return helpers.message({ custom: `{{#label}} (scan): generalize applies to ipv4, ipv6 and coordinates, not ${type}` });
        }
      }
      if (rule.action.op === "generalize") return helpers.message({ custom: "{{#label}} (scan): generalize cannot be the action for every entity type" });
    }
    return rule;
  });

export const kAnonymitySchema = Joi.object({
  k: Joi.number().integer().min(2).max(1000).required(),
  quasiIdentifiers: Joi.array()
    .items(
      pathString().custom((v: string, helpers) => (v.includes("*") ? helpers.message({ custom: "{{#label}} cannot use a wildcard" }) : v)),
    )
    .min(1)
    .required(),
  maxSuppression: Joi.number().min(0).max(1).default(0.05),
});

export const anonymizeSchema = Joi.object({
  rules: Joi.array().items(ruleSchema).default([]),
  onError: Joi.string().valid("error", "redact").default("error"),
  kAnonymity: kAnonymitySchema.optional(),
});

export function usesPseudonyms(rules: readonly Rule[]): boolean {
  return rules.some(
    (r) =>
      r.op === "pseudonymize" ||
      (r.op === "scan" && (r.action.op === "pseudonymize" || Object.values(r.actions).some((a) => a && a.op === "pseudonymize"))),
  );
}

// ---------------------------------------------------------------- running rules
export class AnonymizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnonymizeError";
  }
}

/** The whole value was redacted. */
export const REMOVED: unique symbol = Symbol("removed");

export interface Summary {
  /** Values changed per operator. */
  fields: Partial<Record<Operator, number>>;
  /** Entities found by scan, per type. */
  entities: Partial<Record<EntityType, number>>;
  /** Values removed because they had the wrong type for their operator (onError: redact). */
  redactedOnError: number;
  records?: number;
  suppressed?: number;
  /** Coarsening steps k-anonymity added per quasi-identifier. */
  coarsened?: Record<string, number>;
}

interface CompiledRule {
  index: number;
  rule: Rule;
  path: PropertyPath | null;
  /** The key, when the path is one plain key ("email"): the common case, done without a Match. */
  field: string | undefined;
  /** Where the rule's operator is in OPERATORS, for the per-run counters. */
  opIndex: number;
}

export class Anonymizer {
  private readonly rules: CompiledRule[];
  private readonly pseudonymizer: Pseudonymizer | undefined;
  /** Values changed per operator during the current run (run is synchronous, never re-entered). */
  private readonly opCounts: number[] = OPERATORS.map(() => 0);

  /** `subkey`: the pseudonym subkey from the keyring, needed only if a rule pseudonymizes. */
  constructor(
    private readonly options: AnonymizeOptions,
    subkey?: Buffer,
  ) {
    this.rules = redactsFirst(
      options.rules.map((rule, index) => {
        const path = rule.path === "" ? null : parsePath(rule.path);
        const single = path !== null && path.segments.length === 1 && typeof path.segments[0] === "string" ? path.segments[0] : undefined;
        return { index, rule, path, field: single, opIndex: OPERATORS.indexOf(rule.op) };
      }),
    );
    if (usesPseudonyms(options.rules)) {
      if (!subkey) throw new Error("pseudonymize needs a keyring");
      this.pseudonymizer = new Pseudonymizer(subkey);
    }
  }

  /**
   * Returns the anonymized copy of `value` (or REMOVED) and what was done. Throws an
   * AnonymizeError when a value has the wrong type for its operator and onError is "error".
   */
  run(value: unknown): { value: unknown; summary: Summary } {
    const summary: Summary = { fields: {}, entities: {}, redactedOnError: 0 };
    this.opCounts.fill(0);
    const result = this.runRecords(value, summary);
    this.opCounts.forEach((n, i) => {
      if (n > 0) summary.fields[OPERATORS[i]] = n;
    });
    return { value: result, summary };
  }

  private runRecords(value: unknown, summary: Summary): unknown {
    if (Array.isArray(value)) {
      const kept: unknown[] = [];
      const originals: unknown[] = [];
      for (const record of value) {
        const out = this.applyRules(record, summary);
        if (out === REMOVED) continue;
        kept.push(out);
        originals.push(record);
      }
      summary.records = value.length;
      return this.options.kAnonymity ? this.kAnonymize(originals, kept, summary) : kept;
    }
    return this.applyRules(value, summary);
  }

  /**
   * Applies every rule to one record without changing it: a container is copied (one
   * level) the first time a rule writes into it, so untouched parts stay shared.
   */
  private applyRules(record: unknown, summary: Summary): unknown {
    const copied = new Set<object>();
    let root = record;
    for (const c of this.rules) {
      if (c.path === null) {
        const out = this.applyOne(c, root, summary);
        if (out === REMOVED) return REMOVED;
        root = out;
        continue;
      }
      if (c.field !== undefined && isContainer(root) && !Array.isArray(root)) {
        const key = c.field;
        const found = ownChild(root, key);
        if (!found.found) continue;
        const value = found.value;
        const out = this.applyOne(c, value, summary);
        if (out === value) continue;
        if (out === REMOVED) {
          root = copyWithout(root as Record<string, unknown>, [key]);
          copied.add(root as object);
          continue;
        }
        if (!copied.has(root)) {
          root = copyContainer(root);
          copied.add(root as object);
        }
        setOwn(root as Container, key, out);
        continue;
      }
      // the shared walker: `*` visits every own key, __proto__, constructor and prototype included
      const matches = findMatches(root, c.path);
      if (matches.length === 0) continue;
      // per parent (the container holding removed values), with the path to that parent
      let removals: Map<Container, { path: readonly Key[]; keys: Key[] }> | undefined;
      for (const m of matches) {
        const out = this.applyOne(c, m.value, summary);
        if (out === m.value) continue;
        if (!copied.has(root as object)) {
          root = copyContainer(root as Container);
          copied.add(root as object);
        }
        const parent = writableParent(root as Container, m.keys, copied);
        if (out !== REMOVED) setOwn(parent, m.key, out);
        else {
          removals ??= new Map();
          const entry = removals.get(parent);
          if (entry) entry.keys.push(m.key);
          else removals.set(parent, { path: m.keys.slice(0, -1), keys: [m.key] });
        }
      }
      if (removals === undefined) continue;
      for (const [parent, { path, keys }] of removals) {
        if (Array.isArray(parent)) {
          // last first: splicing keeps the indexes of earlier matches valid
          for (let i = keys.length - 1; i >= 0; i--) parent.splice(keys[i] as number, 1);
          continue;
        }
        const fresh = copyWithout(parent, keys);
        copied.add(fresh);
        if (path.length === 0) root = fresh;
        else setOwn(writableParent(root as Container, path, copied), path[path.length - 1], fresh);
      }
    }
    return root;
  }

  private applyOne(c: CompiledRule, value: unknown, summary: Summary): unknown {
    const rule = c.rule;
    if (rule.op === "redact") {
      this.opCounts[c.opIndex]++;
      return REMOVED;
    }
    if (value === undefined || value === null) return value;
    try {
      const out = this.operate(rule, value, summary);
      this.opCounts[c.opIndex]++;
      return out;
    } catch (e) {
      if (!(e instanceof OperatorTypeError)) throw e;
      if (this.options.onError === "redact") {
        summary.redactedOnError++;
        return REMOVED;
      }
      // names the rule's path, not the keys `*` found there: a key can be personal data
      throw new AnonymizeError(`rule ${c.index + 1} (${rule.op} ${rule.path === "" ? "(value)" : rule.path}): ${e.message}`);
    }
  }

  private operate(rule: Rule, value: unknown, summary: Summary): unknown {
    switch (rule.op) {
      case "redact":
        return REMOVED;
      case "mask":
        return mask(value, rule);
      case "replace":
        return rule.value ?? `<${tagFor(rule.path)}>`;
      case "hash":
        return hash(value, rule.length);
      case "pseudonymize":
        return (this.pseudonymizer as Pseudonymizer).pseudonym(value, rule);
      case "generalize":
        return generalize(value, rule);
      case "noise":
        return noise(value, rule);
      case "scan":
        return typeof value === "string" ? this.scan(rule, value, summary) : this.scanDeep(rule, value, summary, 0);
    }
  }

  /**
   * Scan of an object or array: every string inside it, at any depth, is scanned; other
   * values stay. Containers are copied only where a string changed. It looks inside what
   * the walker steps into (core/paths isContainer: objects of any realm, class instances,
   * arrays); a Map or a Set inside is an error, since its strings would pass unscanned.
   */
  private scanDeep(rule: Extract<Rule, { op: "scan" }>, value: unknown, summary: Summary, depth: number): unknown {
    if (typeof value === "string") return this.scan(rule, value, summary);
    const kind = collectionKind(value);
    if (kind !== null) throw new OperatorTypeError(`scan cannot look inside ${kind}`);
    if (depth === 0 && !isContainer(value)) throw new OperatorTypeError(`scan expects a string, an object or an array, got ${typeName(value)}`);
    if (!isContainer(value)) return value;
    if (depth >= 64) throw new OperatorTypeError("scan: the value is nested more than 64 levels deep");
    let out: Container | undefined;
    for (const k of childKeys(value)) {
      const child = ownChild(value, k).value;
      const next = this.scanDeep(rule, child, summary, depth + 1);
      if (next === child) continue;
      if (!out) out = copyContainer(value);
      setOwn(out, k, next);
    }
    return out ?? value;
  }

  private scan(rule: Extract<Rule, { op: "scan" }>, value: string, summary: Summary): string {
    const entities = scanText(value, rule.entities);
    return replaceEntities(value, entities, (e, text) => {
      count(summary.entities, e.type);
      const action = rule.actions[e.type] ?? rule.action;
      switch (action.op) {
        case "redact":
          return "";
        case "mask":
          return mask(text, action);
        case "replace":
          return action.value ?? ENTITY_TAGS[e.type];
        case "hash":
          return hash(text, action.length);
        case "pseudonymize":
          return (this.pseudonymizer as Pseudonymizer).pseudonym(text, action);
        case "generalize":
          if (e.type === "coordinates") return text.replace(/[-+]?\d+\.\d+/g, (n) => Number(n).toFixed(action.decimals));
          return generalizeIp(text.replace(/%.*$/, ""), action.ipv4Prefix, action.ipv6Prefix);
      }
    });
  }

  // ---------------------------------------------------------------- k-anonymity
  /**
   * Datafly-style: while more than maxSuppression of the records sit in groups smaller
   * than k, coarsen the generalized quasi-identifier with the most distinct values one
   * step (ranges twice as wide, one postcode character fewer, day -> month -> year,
   * shorter IP prefix, one decimal fewer), recomputed from the original values; then
   * suppress the records still in groups smaller than k.
   */
  private kAnonymize(originals: unknown[], records: unknown[], summary: Summary): unknown[] {
    const ko = this.options.kAnonymity as KAnonymityOptions;
    const qis = ko.quasiIdentifiers.map((text) => ({ text, path: parsePath(text), rule: this.generalizeRuleFor(text), level: 0 }));
    const keyOf = (r: unknown): string => JSON.stringify(qis.map((q) => stable(getValue(r, q.path))));
    for (let step = 0; step < 64; step++) {
      const sizes = new Map<string, number>();
      const keys = records.map(keyOf);
      for (const k of keys) sizes.set(k, (sizes.get(k) ?? 0) + 1);
      const small = keys.filter((k) => (sizes.get(k) as number) < ko.k).length;
      if (small <= ko.maxSuppression * records.length) break;
      const candidates = qis.filter((q) => q.rule !== undefined && coarser(q.rule, q.level + 1) !== undefined);
      if (candidates.length === 0) break;
      const distinct = (q: (typeof qis)[number]) => new Set(records.map((r) => JSON.stringify(stable(getValue(r, q.path))))).size;
      const pick = candidates.reduce((a, b) => (distinct(b) > distinct(a) ? b : a));
      pick.level++;
      const options = coarser(pick.rule as GeneralizeOptions, pick.level) as GeneralizeOptions;
      records.forEach((r, i) => {
        const original = getValue(originals[i], pick.path);
        if (original === undefined || original === null || !isContainer(r) || getValue(r, pick.path) === undefined) return;
        let value: unknown;
        try {
          value = generalize(original, options);
        } catch {
          return; // a value its rule could not generalize was already handled by onError
        }
        // the record may still share containers with the caller's value: copy the path first
        const root = copyContainer(r);
        const keys = pick.path.segments as readonly Key[];
        setOwn(writableParent(root, keys, new Set<object>([root])), keys[keys.length - 1], value);
        records[i] = root;
      });
    }
    const sizes = new Map<string, number>();
    const keys = records.map(keyOf);
    for (const k of keys) sizes.set(k, (sizes.get(k) ?? 0) + 1);
    const kept = records.filter((_, i) => (sizes.get(keys[i]) as number) >= ko.k);
    summary.suppressed = records.length - kept.length;
    summary.coarsened = Object.fromEntries(qis.filter((q) => q.level > 0).map((q) => [q.text, q.level]));
    return kept;
  }

  private generalizeRuleFor(path: string): GeneralizeOptions | undefined {
    const normal = parsePath(path).text;
    const found = [...this.options.rules].reverse().find((r) => r.op === "generalize" && r.path !== "" && parsePath(r.path).text === normal);
    return found && found.op === "generalize" ? found : undefined;
  }
}

/**
 * Moves the redaction of a plain key ahead of the rules before it when they are all
 * plain-key rules on other keys: such rules touch disjoint values, so the result is the
 * same, and the record is then copied once, without the key, instead of being copied
 * for the first rule and again for the redaction. Errors still name the rule's number.
 */
function redactsFirst(rules: CompiledRule[]): CompiledRule[] {
  const out: CompiledRule[] = [];
  let hoistable = true; // every rule so far is a plain-key rule
  for (const c of rules) {
    const movable = hoistable && c.rule.op === "redact" && c.field !== undefined && !out.some((o) => o.field === c.field);
    if (movable) {
      const firstNonRedact = out.findIndex((o) => o.rule.op !== "redact");
      out.splice(firstNonRedact < 0 ? out.length : firstNonRedact, 0, c);
    } else out.push(c);
    if (c.field === undefined) hoistable = false;
  }
  return out;
}

const GRANULARITY: readonly DateGranularity[] = ["hour", "day", "month", "year"];

/** The generalize options `level` steps coarser than `o`, or undefined past the top. */
export function coarser(o: GeneralizeOptions, level: number): GeneralizeOptions | undefined {
  const kind: GeneralizeKind = o.kind;
  switch (kind) {
    case "range":
      return level > 16 ? undefined : { ...o, width: o.width * 2 ** level };
    case "postcode":
      return o.keep - level < 0 ? undefined : { ...o, keep: o.keep - level };
    case "date": {
      const i = GRANULARITY.indexOf(o.granularity) + level;
      return i >= GRANULARITY.length ? undefined : { ...o, granularity: GRANULARITY[i] };
    }
    case "ip":
      if (o.ipv4Prefix - 8 * level < 0 && o.ipv6Prefix - 16 * level < 0) return undefined;
      return { ...o, ipv4Prefix: Math.max(0, o.ipv4Prefix - 8 * level), ipv6Prefix: Math.max(0, o.ipv6Prefix - 16 * level) };
    case "coordinates":
      return o.decimals - level < 0 ? undefined : { ...o, decimals: o.decimals - level };
  }
}

function stable(v: unknown): unknown {
  return v === undefined ? null : v;
}

function count<K extends string>(counts: Partial<Record<K, number>>, key: K): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** "user.email" -> "EMAIL", "items[*].mac" -> "MAC". */
function tagFor(path: string): string {
  if (path === "") return "REDACTED";
  const segs = parsePath(path).segments.filter((s): s is string => typeof s === "string");
  const last = segs.length > 0 ? segs[segs.length - 1] : "REDACTED";
  return last.replace(/[^A-Za-z0-9]+/g, "_").toUpperCase() || "REDACTED";
}

/** The parent of keys[last] inside root, copying every container on the way that is not yet a copy. */
function writableParent(root: Container, keys: readonly Key[], copied: Set<object>): Container {
  let node = root;
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i];
    const child = ownChild(node, key).value;
    if (!isContainer(child)) throw new Error("path no longer reaches a container");
    if (copied.has(child)) {
      node = child;
      continue;
    }
    const fresh = copyContainer(child);
    copied.add(fresh);
    setOwn(node, key, fresh);
    node = fresh;
  }
  return node;
}
