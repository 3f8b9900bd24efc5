/**
 * Applies a per-value transform (encrypt or decrypt) to a message: the whole property,
 * or every value a list of field paths reaches (through the shared walker in core/paths,
 * so `*` reaches keys named `__proto__`, `constructor` or `prototype` too). All new
 * values are computed first and written only when every one succeeded, so a failing
 * message is left untouched.
 */
import type { NodeMessage } from "../core/red-types";
import { findMatches, getValue, replaceMatch, setValue, type PropertyPath } from "../core/paths";

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

/**
 * Computes the transform of each target value without touching the message. Throws a
 * FieldError naming the path when a target is missing or its transform fails.
 */
export function planTransform(msg: NodeMessage, targets: Targets, fn: (value: unknown) => unknown): Plan {
  const writes: Array<() => void> = [];
  const run = (value: unknown, where: string): unknown => {
    try {
      return fn(value);
    } catch (e) {
      throw new FieldError(`msg.${where}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  if (targets.fields.length === 0) {
    const path = targets.property;
    const value = getValue(msg, path);
    if (value === undefined) throw new FieldError(`msg.${path.text} is missing`);
    const out = run(value, path.text);
    writes.push(() => setValue(msg as Record<string, unknown>, path, out));
  } else {
    for (const path of targets.fields) {
      const matches = findMatches(msg, path).filter((m) => m.value !== undefined);
      if (matches.length === 0) throw new FieldError(`msg.${path.text} is missing`);
      for (const m of matches) {
        // the error names the configured path, not the keys `*` found: a key can be personal data
        const out = run(m.value, path.text);
        writes.push(() => replaceMatch(m, out));
      }
    }
  }
  return {
    count: writes.length,
    apply: () => {
      for (const w of writes) w();
    },
  };
}
