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
  const out: PlanNode = { ...node, keepRest, literals: null, wild: null };
  if (node.literals) {
    out.literals = new Map();
    for (const [k, child] of node.literals) out.literals.set(k, finalize(node.wild ? merge(child, node.wild) : child, keepRest));
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

