/**
 * The plan: a config compiled once into a tree of rule paths (one branch per key, one for
 * `*`), with every `*` branch already folded into its literal siblings.
 */
import { parsePath, WILDCARD, type PropertyPath, type Segment } from "../core/paths";
import { ALWAYS_KEPT, ConfigError, type MinimizeConfig, type RuleConfig } from "./schema";
import { makeTransform, type Transform } from "./transforms";

// The plan: a tree of rule paths.

export interface PlanNode {
  /** Children by key (array indexes as strings, like object keys). */
  literals: Map<string, PlanNode> | null;
  wild: PlanNode | null;
  /**
   * Keys no rule names survive: in remove mode everywhere; in keep mode at a kept path
   * and everywhere below it (a kept path keeps its whole value; deeper rules refine only
   * what they name).
   */
  keepRest: boolean;
  remove: boolean;
  /** The rule that removes here (-1: none), named in the trail. */
  removeRule: number;
  transform: Transform | null;
  /** The rule whose transform runs here (-1: none), named in the trail and in errors. */
  transformRule: number;
  /** Indexes of the rules that end here (for the missing count). */
  rules: number[];
  /** The first rule whose path passes through here, named when this node cannot be walked. */
  via: number;
  /**
   * Whether a literal child is an array index ("2", from `items[2]` or `items["2"]`). Only
   * then does keep mode leave null for an array element with nothing kept: a literal such
   * as `t` (merged in from `*.t`) can never reach an element, so it must not change how
   * an array under `readings[*]` closes up.
   */
  indexed: boolean;
  /**
   * Literal keys that look like an index but were written as quoted text (`a["0"]`): like
   * the shared walker in core/paths, they reach an object's key "0", never an array element.
   */
  textKeys: Set<string> | null;
}

/** A key that can be an array index: a canonical non-negative integer below 2^32 - 1. */
function isIndexKey(k: string): boolean {
  return /^(0|[1-9]\d{0,9})$/.test(k) && Number(k) < 4294967295;
}

export interface Plan {
  readonly config: MinimizeConfig;
  readonly root: PlanNode;
  readonly ruleCount: number;
  readonly property: PropertyPath;
  readonly propertyKeys: readonly string[];
  readonly keep: ReadonlySet<string>;
  /**
   * Each rule's path as the trail and errors name it: the property, then the rule's path as
   * configured (`payload.readings[*].v`). The trail names these and counts, never a key
   * found in the data: a key can be personal data (an email address as a key).
   */
  readonly ruleNames: readonly string[];
  /**
   * Scratch space of the (synchronous) walk, per rule: the generation of the message in
   * which it matched, removed, coarsened, dropped (a stamp from an earlier message counts as no).
   */
  readonly scratch: {
    matched: Uint32Array;
    removed: Uint32Array;
    coarsened: Uint32Array;
    dropped: Uint32Array;
    generation: number;
  };
}

function newNode(keepRest: boolean, via: number): PlanNode {
  return {
    literals: null,
    wild: null,
    keepRest,
    remove: false,
    removeRule: -1,
    transform: null,
    transformRule: -1,
    rules: [],
    via,
    indexed: false,
    textKeys: null,
  };
}

/** Folds b into a copy of a; on a conflict `a` (the more specific path) wins, except that remove always wins. */
function merge(a: PlanNode, b: PlanNode): PlanNode {
  const out: PlanNode = {
    literals: a.literals ? new Map(a.literals) : null,
    wild: a.wild,
    keepRest: a.keepRest || b.keepRest,
    remove: a.remove || b.remove,
    removeRule: a.remove ? a.removeRule : b.removeRule,
    transform: a.transform ?? b.transform,
    transformRule: a.transform ? a.transformRule : b.transformRule,
    rules: [...a.rules, ...b.rules.filter((r) => !a.rules.includes(r))],
    via: Math.min(a.via, b.via),
    indexed: false,
    textKeys: a.textKeys || b.textKeys ? new Set([...(a.textKeys ?? []), ...(b.textKeys ?? [])]) : null,
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

/**
 * Returns the tree a walk runs on: every literal child also carries what its `*` sibling
 * asks (so a walk needs one lookup), and keepRest is handed down from a kept path to
 * every node below it. Without that, keep `gps` with remove `gps.meta.accuracy` let only
 * what the deeper rule named of `gps.meta` out, that is nothing. New nodes are made
 * rather than changed in place: merge shares subtrees between a literal and its `*`
 * sibling, and keepRest handed to one must not reach the other.
 */
function finalize(node: PlanNode, keptAbove: boolean): PlanNode {
  const keepRest = node.keepRest || keptAbove;
  const out: PlanNode = { ...node, keepRest, literals: null, wild: null, indexed: false };
  if (node.literals) {
    out.literals = new Map();
    for (const [k, child] of node.literals) {
      out.literals.set(k, finalize(node.wild ? merge(child, node.wild) : child, keepRest));
      if (isIndexKey(k) && !node.textKeys?.has(k)) out.indexed = true;
    }
  }
  if (node.wild) out.wild = finalize(node.wild, keepRest);
  return out;
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
  if (rule.op === "time" && rule.unit === undefined)
    throw new ConfigError(`${where}: time needs a unit (minute, hour or day)`);
  if (rule.op === "cap" && rule.max === undefined) throw new ConfigError(`${where}: cap needs a max length`);
  if (rule.op === "bucket") {
    const buckets = rule.buckets ?? [];
    if (buckets.length === 0) throw new ConfigError(`${where}: bucket needs at least one range`);
    for (let b = 1; b < buckets.length; b++) {
      if (!(buckets[b].below > buckets[b - 1].below))
        throw new ConfigError(`${where}: bucket bounds must be ascending`);
    }
  }
}

/** Compiles a validated config into a plan; throws ConfigError naming the rule. */
export function compile(config: MinimizeConfig): Plan {
  const keepMode = config.mode === "keep";
  const root = newNode(!keepMode, 0);
  const seen = new Map<string, number>();
  const ruleNames: string[] = [];
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
    ruleNames.push(path.text.startsWith("[") ? `${config.property}${path.text}` : `${config.property}.${path.text}`);
    let node = root;
    for (const seg of path.segments) {
      const key = segmentKey(seg);
      let child: PlanNode | undefined;
      if (key === null) {
        child = node.wild ?? undefined;
        if (!child) node.wild = child = newNode(!keepMode, i);
      } else {
        node.literals = node.literals ?? new Map();
        if (typeof seg === "string" && isIndexKey(seg)) (node.textKeys ??= new Set()).add(seg);
        child = node.literals.get(key);
        if (!child) node.literals.set(key, (child = newNode(!keepMode, i)));
      }
      node = child;
    }
    node.rules.push(i);
    if (rule.op === "remove") {
      node.remove = true;
      node.removeRule = i;
    } else {
      // keep, or a transform: in keep mode the whole value at this path is allowed.
      if (keepMode) node.keepRest = true;
      node.transform = makeTransform(rule);
      if (node.transform !== null) node.transformRule = i;
    }
  });
  const tree = finalize(root, false);
  const property = parsePath(config.property);
  const keep = new Set([...ALWAYS_KEPT, String(property.segments[0]), ...config.keepProperties]);
  return {
    config,
    root: tree,
    ruleCount: config.rules.length,
    property,
    propertyKeys: property.segments.map(String),
    keep,
    ruleNames,
    scratch: {
      matched: new Uint32Array(config.rules.length),
      removed: new Uint32Array(config.rules.length),
      coarsened: new Uint32Array(config.rules.length),
      dropped: new Uint32Array(config.rules.length),
      generation: 0,
    },
  };
}

/** True when keep mode lets the value at this concrete path (relative to the property) out. */
export function allows(plan: Plan, keys: readonly (string | number)[]): boolean {
  let node: PlanNode | null = plan.root;
  for (const k of keys) {
    if (node.remove) return false;
    if (node.keepRest && !node.literals && !node.wild) return true;
    const text: boolean = typeof k === "number" && node.textKeys?.has(String(k)) === true;
    const next: PlanNode | null = (text ? undefined : node.literals?.get(String(k))) ?? node.wild;
    if (!next) return node.keepRest;
    node = next;
  }
  return !node.remove && node.keepRest;
}
