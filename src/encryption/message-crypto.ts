/**
 * Applies a per-value transform (encrypt or decrypt) to a message: the whole property,
 * or every value a list of field paths reaches (through the shared walker in core/paths,
 * so `*` reaches keys named `__proto__`, `constructor` or `prototype` too). All new values are computed first and
 * written only when every one succeeded, so a failing message is left untouched. With
 * many values (a wildcard over a long array) the paths are walked and the values
 * computed a slice at a time.
 */
import type { NodeMessage } from "../core/red-types";
import { findMatches, getValue, replaceMatch, setValue, WILDCARD } from "../core/paths";
import type { Key, Match, PropertyPath, Segment } from "../core/paths";
import { runInSlices, type Eventually, type SliceOptions } from "../core/in-order";

export class FieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FieldError";
  }
}

export interface Targets {
  /** Used when `fields` is empty. */
  property: PropertyPath;
  /** Message paths (`payload.readings[*].owner`); may hold wildcards. */
  fields: readonly PropertyPath[];
}

export interface Plan {
  /** How many values were transformed. */
  count: number;
  /** Writes the new values into the message; cannot fail for paths that were found. */
  apply(): void;
}

/** A value to transform: a match of a field path (or the property), its new value once known. */
interface Done {
  match: Match;
  out: unknown;
}

function runOne(fn: (value: unknown) => unknown, value: unknown, where: () => string): unknown {
  try {
    return fn(value);
  } catch (e) {
    throw new FieldError(`msg.${where()}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function planOf(done: readonly Done[]): Plan {
  return {
    count: done.length,
    apply: () => {
      for (const d of done) replaceMatch(d.match, d.out);
    },
  };
}

/** The whole property as one value (fields empty). Throws FieldError when it is missing. */
function planProperty(msg: NodeMessage, path: PropertyPath, fn: (value: unknown) => unknown): Plan {
  const value = getValue(msg, path);
  if (value === undefined) throw new FieldError(`msg.${path.text} is missing`);
  const out = runOne(fn, value, () => path.text);
  return { count: 1, apply: () => setValue(msg, path, out) };
}

/**
 * Computes the transform of each target value without touching the message. Throws a
 * FieldError naming the path when a target is missing or its transform fails.
 */
export function planTransform(msg: NodeMessage, targets: Targets, fn: (value: unknown) => unknown): Plan {
  if (targets.fields.length === 0) return planProperty(msg, targets.property, fn);
  const done: Done[] = [];
  for (const path of targets.fields) {
    const matches = findMatches(msg, path).filter((m) => m.value !== undefined);
    if (matches.length === 0) throw new FieldError(`msg.${path.text} is missing`);
    // the error names the configured path, not the keys `*` found: a key can be personal data
    for (const m of matches) done.push({ match: m, out: runOne(fn, m.value, () => path.text) });
  }
  return planOf(done);
}

const stepPath = (seg: Segment): PropertyPath => ({ text: "", segments: [seg], hasWildcard: seg === WILDCARD });

/**
 * The matches findMatches gives, in its order, one at a time: a `*` over an array is
 * walked an index at a time (the long arrays a message of 64 KiB can hold), and every
 * step goes through findMatches itself, so what a key or a `*` reaches is decided in
 * one place (core/paths).
 */
export function* eachMatch(root: unknown, path: PropertyPath): Generator<Match> {
  const segs = path.segments;
  function* level(node: unknown, i: number, keys: readonly Key[]): Generator<Match> {
    const seg = segs[i];
    const last = i === segs.length - 1;
    const children = seg === WILDCARD && Array.isArray(node) ? arraySteps(node) : [stepPath(seg)];
    for (const step of children) {
      for (const m of findMatches(node, step)) {
        const at = [...keys, m.key];
        if (last) yield { parent: m.parent, key: m.key, value: m.value, keys: at };
        else yield* level(m.value, i + 1, at);
      }
    }
  }
  if (segs.length > 0) yield* level(root, 0, []);
}

function* arraySteps(arr: readonly unknown[]): Generator<PropertyPath> {
  for (let k = 0; k < arr.length; k++) yield stepPath(k);
}

/**
 * planTransform for a message with many values (`payload.readings[*]` over a long
 * array): the paths are walked and the values transformed a slice at a time, so one
 * message never blocks the event loop for long; the plan is then a promise. A message
 * whose values fit into one slice (nearly every one) is planned synchronously, with
 * the same result and the same errors as planTransform.
 */
export function planTransformInSlices(
  msg: NodeMessage,
  targets: Targets,
  fn: (value: unknown) => unknown,
  options: SliceOptions = {},
): Eventually<Plan> {
  if (targets.fields.length === 0) return planProperty(msg, targets.property, fn);
  const done: Done[] = [];
  let p = 0;
  let walk = eachMatch(msg, targets.fields[0]);
  let found = 0;
  // one value per step; true when every path has been walked
  const step = (): boolean => {
    for (;;) {
      const r = walk.next();
      if (!r.done) {
        const m = r.value;
        if (m.value === undefined) continue;
        found++;
        done.push({ match: m, out: runOne(fn, m.value, () => targets.fields[p].text) });
        return false;
      }
      if (found === 0) throw new FieldError(`msg.${targets.fields[p].text} is missing`);
      if (++p === targets.fields.length) return true;
      walk = eachMatch(msg, targets.fields[p]);
      found = 0;
    }
  };
  const finished = runInSlices(step, options);
  return finished === undefined ? planOf(done) : finished.then(() => planOf(done));
}
