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
  DateShifter,
  Pseudonymizer,
  bucket,
  generalize,
  generalizeIp,
  hash,
  isTimeZone,
  mask,
  applyShift,
  parseShiftable,
  shiftCount,
  timePart,
  type BucketOptions,
  type DateGranularity,
  type DateShiftOptions,
  type GeneralizeKind,
  type GeneralizeOptions,
  type MaskOptions,
  type PseudonymOptions,
  type TimePartOptions,
} from "./anonymize-ops";
import {
  GaussianMechanism,
  GeometricMechanism,
  LaplaceMechanism,
  RandomizedResponse,
  type GaussianOptions,
  type GeometricOptions,
  type Mechanism,
  type NoiseOptions,
  type RandomizedResponseOptions,
} from "./noise-ops";
import { csprng, type RandomSource } from "./dp-noise";
import { BudgetSpentError, type BudgetDef, type BudgetLedger, type Remaining } from "./budget";
import { ENTITY_TAGS, ENTITY_TYPES, replaceEntities, scanText, type EntityType } from "./pii-scan";

export const OPERATORS = [
  "redact",
  "mask",
  "replace",
  "hash",
  "pseudonymize",
  "generalize",
  "noise",
  "scan",
  "timePart",
  "dateShift",
  "bucket",
  "geometric",
  "gaussian",
  "randomizedResponse",
] as const;
export type Operator = (typeof OPERATORS)[number];

/** Operators that add random noise: each release is differentially private and may spend from a budget. */
export const NOISE_OPERATORS: readonly Operator[] = ["noise", "geometric", "gaussian", "randomizedResponse"];

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
  | ({ op: "timePart" } & TimePartOptions)
  | ({ op: "dateShift" } & DateShiftOptions)
  | ({ op: "bucket" } & BucketOptions)
  | ({ op: "geometric" } & GeometricOptions)
  | ({ op: "gaussian" } & GaussianOptions)
  | ({ op: "randomizedResponse" } & RandomizedResponseOptions)
);

export interface KAnonymityOptions {
  k: number;
  quasiIdentifiers: string[];
  /** Share of records that may be suppressed before a quasi-identifier is coarsened further. */
  maxSuppression: number;
  /** l-diversity: each group holds at least l distinct values of the sensitive field. */
  l?: number;
  sensitive?: string;
}

/** Who a value is about: for dateShift and for budgets. */
export interface SubjectOptions {
  /** "msg": a message property (msg.topic); "record": a field of each record (or of the value). */
  from: "msg" | "record";
  path: string;
}

export interface AnonymizeOptions {
  rules: Rule[];
  onError: "error" | "redact";
  kAnonymity?: KAnonymityOptions;
  budgets?: BudgetDef[];
  subject?: SubjectOptions;
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

/** A budget a noise rule spends from: a name from the node's budget list ("" for none). */
const BUDGET_NAME = /^[A-Za-z0-9_.-]{1,40}$/;
const budgetRef = Joi.string()
  .allow("")
  .pattern(BUDGET_NAME)
  .messages({ "string.pattern.base": "{{#label}} must be a budget name (letters, digits, _ . -)" });
// rationalEpsilon (dp-noise) counts epsilon in 2^-20 steps: 1e-6 is the first round number above one
const epsilonKey = () => Joi.number().positive().min(1e-6).max(100).required();
const clampKeys = (n: Joi.NumberSchema) => ({
  min: n,
  max: n.when("min", { is: Joi.number().required(), then: n.min(Joi.ref("min")) }),
});

/** What scan can do to an entity it finds. */
export const ENTITY_ACTION_OPS = ["redact", "mask", "replace", "hash", "pseudonymize", "generalize"] as const;

const ENTITY_ACTION = Joi.object({
  op: Joi.string()
    .valid(...ENTITY_ACTION_OPS)
    .required(),
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
    return r.value as unknown;
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
    epsilon: epsilonKey(),
    sensitivity: Joi.number().positive().max(1e15).default(1),
    ...clampKeys(Joi.number()),
    decimals: Joi.number().integer().min(0).max(12),
    budget: budgetRef,
  }),
  gaussian: Joi.object({
    epsilon: Joi.number().positive().min(0.01).max(100).required(),
    delta: Joi.number().positive().min(1e-12).max(0.1).required(),
    sensitivity: Joi.number().positive().max(1e15).default(1),
    ...clampKeys(Joi.number()),
    decimals: Joi.number().integer().min(0).max(12),
    budget: budgetRef,
  }),
  geometric: Joi.object({
    epsilon: epsilonKey(),
    sensitivity: Joi.number().integer().min(1).max(1_000_000).default(1),
    ...clampKeys(Joi.number().integer()),
    budget: budgetRef,
  }),
  randomizedResponse: Joi.object({ epsilon: epsilonKey(), budget: budgetRef }),
  timePart: Joi.object({
    part: Joi.string().valid("hour", "weekday", "week", "month", "year").required(),
    timeZone: Joi.string()
      .trim()
      .default("UTC")
      .custom((v: string, helpers) =>
        isTimeZone(v) ? v : helpers.message({ custom: "{{#label}} is not a time zone this Node.js knows" }),
      ),
  }),
  dateShift: Joi.object({
    minDays: Joi.number().integer().min(-36500).max(36500).default(-180),
    maxDays: Joi.number().integer().min(-36500).max(36500).default(180),
    keepWeekday: Joi.boolean().default(false),
  }).custom((v: DateShiftOptions, helpers) => {
    if (v.minDays > v.maxDays) return helpers.message({ custom: '"minDays" must not be above "maxDays"' });
    if (shiftCount(v) === 0) {
      const custom = "the range allows no shift other than 0 (keeping weekdays, it needs 7 days or more)";
      return helpers.message({ custom });
    }
    return v;
  }),
  bucket: Joi.object({
    mode: Joi.string().valid("fixed", "ranges").default("fixed"),
    width: Joi.number().positive().max(1e12).default(10),
    origin: Joi.number().min(-1e15).max(1e15).default(0),
    output: Joi.string().valid("range", "lower", "middle").default("range"),
    buckets: Joi.array()
      .items(Joi.object({ below: Joi.number().required(), label: Joi.string().min(1).max(100).required() }))
      .default([]),
    above: Joi.string().min(1).max(100),
  }).custom((v: BucketOptions, helpers) => {
    if (v.mode !== "ranges") return v;
    if (v.buckets.length === 0) return helpers.message({ custom: '"buckets" needs at least one range' });
    for (let i = 1; i < v.buckets.length; i++) {
      if (!(v.buckets[i].below > v.buckets[i - 1].below)) {
        return helpers.message({ custom: '"buckets" bounds must be ascending' });
      }
    }
    return v;
  }),
  scan: Joi.object({
    entities: Joi.array()
      .items(Joi.string().valid(...ENTITY_TYPES))
      .min(1)
      .unique()
      .default([...ENTITY_TYPES]),
    action: ENTITY_ACTION.default({ op: "replace" }),
    actions: Joi.object(Object.fromEntries(ENTITY_TYPES.map((t) => [t, ENTITY_ACTION]))).default({}),
  }),
};

/** One rule: `op` picks the schema of its options; unknown options are refused (a typo fails closed). */
export const ruleSchema = Joi.object({
  op: Joi.string()
    .valid(...OPERATORS)
    .required(),
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
          const custom = `{{#label}} (scan): generalize applies to ipv4, ipv6 and coordinates, not ${type}`;
          return helpers.message({ custom });
        }
      }
      if (rule.action.op === "generalize") {
        return helpers.message({ custom: "{{#label}} (scan): generalize cannot be the action for every entity type" });
      }
    }
    return rule;
  });

const plainPath = () =>
  pathString().custom((v: string, helpers) =>
    v.includes("*") ? helpers.message({ custom: "{{#label}} cannot use a wildcard" }) : v,
  );

export const kAnonymitySchema = Joi.object({
  k: Joi.number().integer().min(2).max(1000).required(),
  quasiIdentifiers: Joi.array().items(plainPath()).min(1).required(),
  maxSuppression: Joi.number().min(0).max(1).default(0.05),
  l: Joi.number().integer().min(2).max(1000),
  sensitive: plainPath().when("l", { is: Joi.exist(), then: Joi.required() }),
}).custom((v: KAnonymityOptions, helpers) => {
  const sensitive = v.sensitive === undefined ? undefined : parsePath(v.sensitive).text;
  if (sensitive !== undefined && v.quasiIdentifiers.some((q) => parsePath(q).text === sensitive)) {
    return helpers.message({ custom: '"sensitive" cannot also be a quasi-identifier' });
  }
  return v;
});

export const budgetSchema = Joi.object({
  name: Joi.string()
    .pattern(BUDGET_NAME)
    .required()
    .messages({ "string.pattern.base": "{{#label}} must be letters, digits, _ . - (at most 40)" }),
  purpose: Joi.string().trim().allow("").max(100).default(""),
  epsilon: Joi.number().positive().max(1e6).required(),
  delta: Joi.number().min(0).max(1).default(0),
  period: Joi.string().valid("day", "week", "month").default("day"),
  onSpent: Joi.string().valid("error", "drop").default("error"),
}).custom((v: BudgetDef) => ({ ...v, purpose: v.purpose === "" ? v.name : v.purpose }));

export const anonymizeSchema = Joi.object({
  rules: Joi.array().items(ruleSchema).default([]),
  onError: Joi.string().valid("error", "redact").default("error"),
  kAnonymity: kAnonymitySchema.optional(),
  budgets: Joi.array().items(budgetSchema).unique("name").default([]),
  subject: Joi.object({
    from: Joi.string().valid("msg", "record").default("msg"),
    path: plainPath().default("topic"),
  }).default({ from: "msg", path: "topic" }),
}).custom((v: AnonymizeOptions, helpers) => {
  const problem = budgetProblem(v);
  return problem === null ? v : helpers.message({ custom: problem });
});

/** A rule that names a missing budget, or whose one release already exceeds its budget, could never run. */
function budgetProblem(v: AnonymizeOptions): string | null {
  const defs = new Map((v.budgets ?? []).map((b) => [b.name, b]));
  for (const [i, r] of v.rules.entries()) {
    if (!NOISE_OPERATORS.includes(r.op)) continue;
    const name = (r as { budget?: string }).budget;
    if (name === undefined || name === "") continue;
    const where = `rule ${i + 1} (${r.op}${r.path === "" ? "" : ` ${r.path}`})`;
    const def = defs.get(name);
    if (!def) return `${where}: there is no budget named "${name}"`;
    const { epsilon } = r as { epsilon: number };
    const delta = r.op === "gaussian" ? r.delta : 0;
    const exceeds = `exceeds budget "${name}"`;
    if (epsilon > def.epsilon) return `${where}: one release (epsilon ${epsilon}) ${exceeds} (epsilon ${def.epsilon})`;
    if (delta > def.delta) return `${where}: one release (delta ${delta}) ${exceeds} (delta ${def.delta})`;
  }
  return null;
}

/** One problem of one rule, for the editor: which rule, which option (null: the rule as a whole), why. */
export interface RuleProblem {
  rule: number;
  option: string | null;
  message: string;
}

/**
 * Every rule's problems by the runtime's own schemas, option by option, so the editor
 * can mark the field that is wrong while the user types.
 */
export function ruleProblems(rules: unknown): RuleProblem[] {
  if (!Array.isArray(rules)) return [{ rule: -1, option: null, message: '"rules" must be a list' }];
  const out: RuleProblem[] = [];
  rules.forEach((raw: unknown, rule) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      out.push({ rule, option: null, message: "a rule must be an object" });
      return;
    }
    const { op, path, ...options } = raw as Record<string, unknown>;
    if (typeof op !== "string" || !(OPERATORS as readonly string[]).includes(op)) {
      out.push({ rule, option: "op", message: `unknown operator ${JSON.stringify(op)}` });
      return;
    }
    const p = rulePath().validate(path ?? "", { errors: { wrap: { label: '"' } } });
    if (p.error) out.push({ rule, option: "path", message: p.error.details[0].message.replace(/^"value" ?/, "") });
    const r = RULE_SCHEMAS[op as Operator].validate(options, { abortEarly: false, errors: { wrap: { label: '"' } } });
    const seen = new Set<string | null>();
    for (const d of r.error?.details ?? []) {
      const option = d.path.length > 0 ? String(d.path[0]) : null;
      if (seen.has(option)) continue; // the first reason per option is enough to fix it
      seen.add(option);
      out.push({ rule, option, message: d.message });
    }
    if (!r.error && !p.error) {
      const whole = ruleSchema.validate(raw, { errors: { wrap: { label: '"' } } });
      const message = whole.error?.details[0].message.replace(/^"value" /, "");
      if (message !== undefined) out.push({ rule, option: null, message });
    }
  });
  return out;
}

/** What the editor needs to build and check an option's field: taken from the runtime's schema. */
export interface OptionSpec {
  type: string;
  required: boolean;
  default?: unknown;
  min?: number;
  max?: number;
  /** Strictly above min (a positive number). */
  positive?: boolean;
  integer?: boolean;
  /** The allowed values of a choice. */
  valid?: unknown[];
}

interface JoiDescription {
  type?: string;
  flags?: { presence?: string; default?: unknown; only?: boolean };
  rules?: Array<{ name: string; args?: { limit?: unknown; sign?: string } }>;
  allow?: unknown[];
  keys?: Record<string, JoiDescription>;
}

/** Each operator's options (scan's nested actions aside) as the editor's field specs. */
export function describeOperators(): Record<string, Record<string, OptionSpec>> {
  const out: Record<string, Record<string, OptionSpec>> = {};
  for (const op of OPERATORS) {
    const keys = (RULE_SCHEMAS[op].describe() as JoiDescription).keys ?? {};
    out[op] = {};
    for (const [key, d] of Object.entries(keys)) {
      const spec: OptionSpec = { type: d.type ?? "any", required: d.flags?.presence === "required" };
      if (d.flags && "default" in d.flags) spec.default = d.flags.default;
      for (const rule of d.rules ?? []) {
        const limit = rule.args?.limit;
        if (rule.name === "min" && typeof limit === "number") spec.min = limit;
        if (rule.name === "max" && typeof limit === "number") spec.max = limit;
        if (rule.name === "integer") spec.integer = true;
        if (rule.name === "sign" && rule.args?.sign === "positive") spec.positive = true;
      }
      if (d.flags?.only && d.allow) spec.valid = d.allow.filter((v) => v !== "");
      out[op][key] = spec;
    }
  }
  return out;
}

/** Whether any rule needs to know whose value it is (dateShift, or a rule spending from a budget). */
export function usesSubject(rules: readonly Rule[]): boolean {
  return rules.some((r) => r.op === "dateShift" || spendsBudget(r));
}

/** A noise rule that names a budget. */
function spendsBudget(r: Rule): boolean {
  return NOISE_OPERATORS.includes(r.op) && !!(r as { budget?: string }).budget;
}

export function usesDateShift(rules: readonly Rule[]): boolean {
  return rules.some((r) => r.op === "dateShift");
}

export function usesPseudonyms(rules: readonly Rule[]): boolean {
  return rules.some(
    (r) =>
      r.op === "pseudonymize" ||
      (r.op === "scan" &&
        (r.action.op === "pseudonymize" || Object.values(r.actions).some((a) => a && a.op === "pseudonymize"))),
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

export interface BudgetUse {
  purpose: string;
  /** What this message spent. */
  spent: { epsilon: number; delta: number };
  /** What is left, for the subject of this message with the least left. */
  remaining: Remaining;
  /** When the period ends (ISO time). */
  resets: string;
  /** Values dropped because the budget was spent (onSpent: drop). */
  dropped: number;
}

export interface Summary {
  /** Values changed per operator. */
  fields: Partial<Record<Operator, number>>;
  /** Entities found by scan, per type. */
  entities: Partial<Record<EntityType, number>>;
  /** Values removed because they had the wrong type for their operator (onError: redact). */
  redactedOnError: number;
  /** Per budget name: spent and left, never a subject. */
  budgets?: Record<string, BudgetUse>;
  records?: number;
  suppressed?: number;
  /** Coarsening steps k-anonymity added per quasi-identifier. */
  coarsened?: Record<string, number>;
  k?: number;
  l?: number;
  /** Groups of equal quasi-identifiers released. */
  groups?: number;
  /** Prosecutor re-identification risk: 1 / the smallest released group (0 when none is released). */
  risk?: number;
}

interface CompiledRule {
  index: number;
  rule: Rule;
  path: PropertyPath | null;
  /** The key, when the path is one plain key ("email"): the common case, done without a Match. */
  field: string | undefined;
  /** Where the rule's operator is in OPERATORS, for the per-run counters. */
  opIndex: number;
  /** Noise rules: the compiled mechanism. */
  mechanism?: Mechanism;
}

/** What the engine needs besides its options. `random` exists for the statistical tests only. */
export interface EngineDeps {
  /** The keyring's "privacy-date-shift" subkey, needed only if a rule shifts dates. */
  dateShiftKey?: Buffer;
  /** The budget ledger, needed only if a rule spends from a budget. */
  ledger?: BudgetLedger;
  random?: RandomSource;
}

export interface RunContext {
  /** The subject read from the message (subject.from "msg"). */
  subject?: unknown;
  /** The time of the release, for budget periods (default: now). */
  now?: number;
}

export function compileMechanism(rule: Rule): Mechanism | undefined {
  switch (rule.op) {
    case "noise":
      return new LaplaceMechanism(rule);
    case "gaussian":
      return new GaussianMechanism(rule);
    case "geometric":
      return new GeometricMechanism(rule);
    case "randomizedResponse":
      return new RandomizedResponse(rule);
    default:
      return undefined;
  }
}

export class Anonymizer {
  private readonly rules: CompiledRule[];
  private readonly pseudonymizer: Pseudonymizer | undefined;
  private readonly dateShifter: DateShifter | undefined;
  private readonly ledger: BudgetLedger | undefined;
  private readonly random: RandomSource;
  private readonly subjectPath: PropertyPath | null;
  /** Values changed per operator during the current run (run is synchronous, never re-entered). */
  private readonly opCounts: number[] = OPERATORS.map(() => 0);
  /** The subject of the record being anonymized, and the time of this run. */
  private subject: unknown;
  private now = 0;

  /** `subkey`: the pseudonym subkey from the keyring, needed only if a rule pseudonymizes. */
  constructor(
    private readonly options: AnonymizeOptions,
    subkey?: Buffer,
    deps: EngineDeps = {},
  ) {
    this.rules = redactsFirst(
      options.rules.map((rule, index) => {
        const path = rule.path === "" ? null : parsePath(rule.path);
        const first = path !== null && path.segments.length === 1 ? path.segments[0] : undefined;
        const single = typeof first === "string" ? first : undefined;
        const opIndex = OPERATORS.indexOf(rule.op);
        return { index, rule, path, field: single, opIndex, mechanism: compileMechanism(rule) };
      }),
    );
    if (usesPseudonyms(options.rules)) {
      if (!subkey) throw new Error("pseudonymize needs a keyring");
      this.pseudonymizer = new Pseudonymizer(subkey);
    }
    if (usesDateShift(options.rules)) {
      if (!deps.dateShiftKey) throw new Error("dateShift needs a keyring");
      this.dateShifter = new DateShifter(deps.dateShiftKey);
    }
    const budgeted = options.rules.some(spendsBudget);
    if (budgeted && !deps.ledger) throw new Error("budgets need a ledger");
    this.ledger = deps.ledger;
    this.random = deps.random ?? csprng;
    const subject = options.subject ?? { from: "msg", path: "topic" };
    this.subjectPath = subject.from === "record" ? parsePath(subject.path) : null;
  }

  /**
   * Returns the anonymized copy of `value` (or REMOVED) and what was done. Throws an
   * AnonymizeError when a value has the wrong type for its operator and onError is "error",
   * and a BudgetSpentError when a budget is spent and its onSpent is "error".
   */
  run(value: unknown, context: RunContext = {}): { value: unknown; summary: Summary } {
    const summary: Summary = { fields: {}, entities: {}, redactedOnError: 0 };
    this.opCounts.fill(0);
    this.now = context.now ?? Date.now();
    this.subject = context.subject;
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
    // read before any rule runs: a rule may pseudonymize or remove the subject's field
    if (this.subjectPath !== null) this.subject = getValue(record, this.subjectPath);
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
          root = copyWithout(root, [key]);
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
      const out = this.operate(c, value, summary);
      if (out !== REMOVED) this.opCounts[c.opIndex]++;
      return out;
    } catch (e) {
      if (!(e instanceof OperatorTypeError)) throw e;
      if (this.options.onError === "redact") {
        summary.redactedOnError++;
        return REMOVED;
      }
      // names the rule's path, not the keys `*` found there: a key can be personal data
      const where = rule.path === "" ? "(value)" : rule.path;
      throw new AnonymizeError(`rule ${c.index + 1} (${rule.op} ${where}): ${e.message}`);
    }
  }

  private operate(c: CompiledRule, value: unknown, summary: Summary): unknown {
    const rule = c.rule;
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
      case "timePart":
        return timePart(value, rule);
      case "dateShift": {
        // the value is read first: a value that cannot be shifted needs no subject
        const date = parseShiftable(value);
        return applyShift(date, (this.dateShifter as DateShifter).shiftDays(this.subjectText("dateShift"), rule));
      }
      case "bucket":
        return bucket(value, rule);
      case "noise":
      case "gaussian":
      case "geometric":
      case "randomizedResponse":
        return this.release(c, rule.budget, value, summary);
      case "scan":
        return typeof value === "string" ? this.scan(rule, value, summary) : this.scanDeep(rule, value, summary, 0);
    }
  }

  /** The subject of the current record as text, or an OperatorTypeError (handled like a wrong type). */
  private subjectText(op: string): string {
    const s = this.subject;
    if (typeof s === "string" && s !== "") return s;
    if (typeof s === "number" && Number.isFinite(s)) return String(s);
    const subject = this.options.subject ?? { from: "msg", path: "topic" };
    const where = subject.from === "msg" ? `msg.${subject.path}` : `the record's ${subject.path}`;
    const what = s === undefined || s === "" ? "missing" : `a ${typeName(s)}, not text or a number`;
    throw new OperatorTypeError(`${op} needs a subject: ${where} is ${what}`);
  }

  /**
   * One noised value. With a budget, the release is paid for before it leaves: when the
   * budget is spent the noised value is thrown away and the message fails (or, with
   * onSpent "drop", the value is removed).
   */
  private release(c: CompiledRule, budget: string | undefined, value: unknown, summary: Summary): unknown {
    const m = c.mechanism as Mechanism;
    const out = m.apply(value, this.random);
    if (budget === undefined || budget === "") return out;
    const ledger = this.ledger as BudgetLedger;
    const subject = this.subjectText(c.rule.op);
    const def = ledger.def(budget);
    summary.budgets ??= {};
    const use = (summary.budgets[budget] ??= {
      purpose: def.purpose,
      spent: { epsilon: 0, delta: 0 },
      remaining: { epsilon: def.epsilon, delta: def.delta },
      resets: new Date(ledger.resets(budget, this.now)).toISOString(),
      dropped: 0,
    });
    let left: Remaining;
    try {
      left = ledger.spend(budget, subject, m.epsilon, m.delta, this.now);
    } catch (e) {
      // what to do when it is spent is this node's choice; the amounts are the budget's
      const onSpent = this.options.budgets?.find((b) => b.name === budget)?.onSpent ?? def.onSpent;
      if (!(e instanceof BudgetSpentError) || onSpent !== "drop") throw e;
      use.dropped++;
      use.remaining = { epsilon: 0, delta: 0 };
      return REMOVED;
    }
    use.spent.epsilon = roundAmount(use.spent.epsilon + m.epsilon);
    use.spent.delta = roundAmount(use.spent.delta + m.delta);
    use.remaining = {
      epsilon: Math.min(use.remaining.epsilon, left.epsilon),
      delta: Math.min(use.remaining.delta, left.delta),
    };
    return out;
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
    if (depth === 0 && !isContainer(value)) {
      throw new OperatorTypeError(`scan expects a string, an object or an array, got ${typeName(value)}`);
    }
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
          if (e.type === "coordinates") {
            return text.replace(/[-+]?\d+\.\d+/g, (n) => Number(n).toFixed(action.decimals));
          }
          return generalizeIp(text.replace(/%.*$/, ""), action.ipv4Prefix, action.ipv6Prefix);
      }
    });
  }

  // ---------------------------------------------------------------- k-anonymity, l-diversity
  /**
   * Datafly-style: a group (records with equal quasi-identifiers) is too small when it has
   * fewer than k records or, with l-diversity, fewer than l distinct values of the
   * sensitive field. While more than maxSuppression of the records sit in such groups,
   * the generalized quasi-identifier with the most distinct values is coarsened one step
   * (ranges and fixed buckets twice as wide, one postcode character fewer, day -> month ->
   * year, shorter IP prefix, one decimal fewer), recomputed from the original values; then
   * the records still in such groups are suppressed.
   */
  private kAnonymize(originals: unknown[], records: unknown[], summary: Summary): unknown[] {
    const ko = this.options.kAnonymity as KAnonymityOptions;
    const l = ko.l ?? 1;
    const n = records.length;
    const qis = ko.quasiIdentifiers.map((text) => {
      const path = parsePath(text);
      const column = records.map((r) => keyText(getValue(r, path)));
      return { text, path, coarsen: this.coarsenerFor(text), level: 0, column };
    });
    const sensitivePath = ko.sensitive !== undefined ? parsePath(ko.sensitive) : undefined;
    const sensitive = sensitivePath ? records.map((r) => keyText(getValue(r, sensitivePath))) : undefined;
    const evaluate = () => {
      // JSON text never holds a raw NUL (JSON.stringify escapes it), so the join is unambiguous
      const keys = records.map((_, i) =>
        qis.length === 1 ? qis[0].column[i] : qis.map((q) => q.column[i]).join("\u0000"),
      );
      const groups = new Map<string, { size: number; values: Set<string> | undefined }>();
      keys.forEach((key, i) => {
        let g = groups.get(key);
        if (!g) {
          g = { size: 0, values: sensitive ? new Set() : undefined };
          groups.set(key, g);
        }
        g.size++;
        if (sensitive && g.values && g.values.size < l) g.values.add(sensitive[i]);
      });
      const isBad = (key: string): boolean => {
        const g = groups.get(key) as { size: number; values: Set<string> | undefined };
        return g.size < ko.k || (g.values !== undefined && g.values.size < l);
      };
      const bad = keys.map(isBad);
      return { keys, groups, bad, badCount: bad.filter(Boolean).length, isBad };
    };
    let state = evaluate();
    for (let step = 0; step < 64 && state.badCount > ko.maxSuppression * n; step++) {
      const candidates = qis.filter((q) => q.coarsen !== undefined && q.coarsen(q.level + 1) !== undefined);
      if (candidates.length === 0) break;
      const distinct = candidates.map((q) => new Set(q.column).size);
      const pick = candidates[distinct.indexOf(Math.max(...distinct))];
      pick.level++;
      const apply = (pick.coarsen as Coarsener)(pick.level) as (v: unknown) => unknown;
      records.forEach((r, i) => {
        const original = getValue(originals[i], pick.path);
        if (original === undefined || original === null) return;
        if (!isContainer(r) || getValue(r, pick.path) === undefined) return;
        let value: unknown;
        try {
          value = apply(original);
        } catch {
          return; // a value its rule could not generalize was already handled by onError
        }
        // the record may still share containers with the caller's value: copy the path first
        const root = copyContainer(r);
        const keys = pick.path.segments as readonly Key[];
        setOwn(writableParent(root, keys, new Set<object>([root])), keys[keys.length - 1], value);
        records[i] = root;
        pick.column[i] = keyText(value);
      });
      state = evaluate();
    }
    const kept = records.filter((_, i) => !state.bad[i]);
    let released = 0;
    let smallest = Infinity;
    for (const [key, g] of state.groups) {
      if (state.isBad(key)) continue;
      released++;
      smallest = Math.min(smallest, g.size);
    }
    summary.suppressed = n - kept.length;
    summary.coarsened = Object.fromEntries(qis.filter((q) => q.level > 0).map((q) => [q.text, q.level]));
    summary.k = ko.k;
    if (ko.l !== undefined) summary.l = ko.l;
    summary.groups = released;
    summary.risk = released === 0 ? 0 : 1 / smallest;
    return kept;
  }

  /** How the last generalize or fixed-bucket rule on `path` works `level` steps coarser, if it has one. */
  private coarsenerFor(path: string): Coarsener | undefined {
    const normal = parsePath(path).text;
    const found = [...this.options.rules].reverse().find((r) => {
      const coarsens = r.op === "generalize" || (r.op === "bucket" && r.mode === "fixed");
      return coarsens && r.path !== "" && parsePath(r.path).text === normal;
    });
    if (found?.op === "generalize") {
      return (level) => {
        const o = coarser(found, level);
        return o && ((v: unknown) => generalize(v, o));
      };
    }
    if (found?.op === "bucket") {
      return (level) => {
        if (level > 16) return undefined;
        const o = { ...found, width: found.width * 2 ** level };
        return (v: unknown) => bucket(v, o);
      };
    }
    return undefined;
  }
}

/** A rule's transform `level` steps coarser, or undefined past its coarsest. */
type Coarsener = (level: number) => ((v: unknown) => unknown) | undefined;

/** A released value as a group key: JSON text, missing and null alike. */
function keyText(v: unknown): string {
  return JSON.stringify(v === undefined ? null : v) ?? "null";
}

function roundAmount(x: number): number {
  return Math.round(x * 1e9) / 1e9;
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
    const movable =
      hoistable && c.rule.op === "redact" && c.field !== undefined && !out.some((o) => o.field === c.field);
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
      return {
        ...o,
        ipv4Prefix: Math.max(0, o.ipv4Prefix - 8 * level),
        ipv6Prefix: Math.max(0, o.ipv6Prefix - 16 * level),
      };
    case "coordinates":
      return o.decimals - level < 0 ? undefined : { ...o, decimals: o.decimals - level };
  }
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
