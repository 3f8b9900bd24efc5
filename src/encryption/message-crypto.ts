/**
 * Applies a per-value transform (encrypt or decrypt) to a message: the whole property,
 * or every value a list of field paths reaches. All new values are computed first and
 * written only when every one succeeded, so a failing message is left untouched. With
 * many values (a wildcard over a long array) they are computed a slice at a time.
 */
import type { NodeMessage } from "../core/red-types";
import { findMatches, formatKeys, getValue, replaceMatch, setValue, type PropertyPath } from "../core/paths";
import { inSlices, type Eventually, type SliceOptions } from "../core/in-order";

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

interface Target {
  value: unknown;
  /** Where the value is, for an error (formatted only then). */
  where: () => string;
  write: (out: unknown) => void;
}

/** Every value the targets reach, with where it is and how to replace it. Throws FieldError for a missing one. */
function collect(msg: NodeMessage, targets: Targets): Target[] {
  if (targets.fields.length === 0) {
    const path = targets.property;
    const value = getValue(msg, path);
    if (value === undefined) throw new FieldError(`msg.${path.text} is missing`);
    return [{ value, where: () => path.text, write: (out) => setValue(msg, path, out) }];
  }
  const out: Target[] = [];
  for (const path of targets.fields) {
    const matches = findMatches(msg, path).filter((m) => m.value !== undefined);
    if (matches.length === 0) throw new FieldError(`msg.${path.text} is missing`);
    for (const m of matches) {
      out.push({ value: m.value, where: () => formatKeys(m.keys), write: (v) => replaceMatch(m, v) });
    }
  }
  return out;
}

function runOne(fn: (value: unknown) => unknown, t: Target): unknown {
  try {
    return fn(t.value);
  } catch (e) {
    throw new FieldError(`msg.${t.where()}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function planOf(list: Target[], outs: unknown[]): Plan {
  return {
    count: list.length,
    apply: () => {
      for (let i = 0; i < list.length; i++) list[i].write(outs[i]);
    },
  };
}

/**
 * Computes the transform of each target value without touching the message. Throws a
 * FieldError naming the path when a target is missing or its transform fails.
 */
export function planTransform(msg: NodeMessage, targets: Targets, fn: (value: unknown) => unknown): Plan {
  const list = collect(msg, targets);
  const outs = list.map((t) => runOne(fn, t));
  return planOf(list, outs);
}

/**
 * planTransform for a message with many values (`payload.readings[*]` over a long
 * array): the transforms run a slice at a time, so one message never blocks the event
 * loop for long; the plan is then a promise. A message whose values fit into one slice
 * (nearly every one) is planned synchronously, exactly like planTransform.
 */
export function planTransformInSlices(
  msg: NodeMessage,
  targets: Targets,
  fn: (value: unknown) => unknown,
  options: SliceOptions = {},
): Eventually<Plan> {
  const list = collect(msg, targets);
  const outs = new Array<unknown>(list.length);
  const done = inSlices(list.length, (i) => (outs[i] = runOne(fn, list[i])), options);
  return done === undefined ? planOf(list, outs) : done.then(() => planOf(list, outs));
}
