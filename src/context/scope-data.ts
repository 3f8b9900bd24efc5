/**
 * A scope's data as the store holds it, and its plaintext form.
 *
 * The plaintext of a scope file is its top-level keys, then their values, each value
 * on its own:
 *
 *   u32 length | the keys as a JSON array (UTF-8) | per key: u32 length | its value as JSON (UTF-8)
 *
 * Keeping each top-level value apart lets the store open a large context without
 * parsing it: a value stays a slice of the decrypted bytes (a RawValue) until a flow
 * first reads or writes that key, and a flush copies the bytes of keys nobody touched
 * instead of serializing them again. The keys come as one JSON array because decoding
 * one string is much cheaper than decoding 200,000. The JSON of each value is what
 * `localfilesystem` would write, so values come back as they would from its files (a
 * Buffer as {type, data}, a Date as its ISO string, functions and undefined dropped,
 * cycles cut).
 */

/**
 * A top-level value not parsed yet: where its JSON is in a scope file's plaintext.
 * Offsets, not a subarray: a Buffer view per value costs more than the rest of the decoding.
 */
export class RawValue {
  constructor(
    readonly source: Buffer,
    readonly start: number,
    readonly end: number,
  ) {}

  parse(): unknown {
    return JSON.parse(this.source.toString("utf8", this.start, this.end));
  }

  get length(): number {
    return this.end - this.start;
  }
}

/**
 * Top-level keys -> values. A null prototype, so no key (`__proto__`, `constructor`)
 * meets an inherited property; key order is JavaScript's, as in the object Node-RED's
 * own stores keep (integer-like keys first), so `keys()` lists them in the same order.
 */
export type ScopeRoot = Record<string, unknown>;

export function emptyRoot(): ScopeRoot {
  return Object.create(null) as ScopeRoot;
}

/** Replaces a RawValue at a top-level key with its parsed value; returns the value. */
export function materialize(root: ScopeRoot, key: string | number): unknown {
  const value = root[key];
  if (value instanceof RawValue) {
    const parsed = value.parse();
    root[key] = parsed;
    return parsed;
  }
  return value;
}

/** Every top-level value parsed: the scope as a plain object (tests, migration, export). */
export function materializeAll(root: ScopeRoot): ScopeRoot {
  for (const key of Object.keys(root)) materialize(root, key);
  return root;
}

/**
 * JSON of one value with `localfilesystem`'s rules: plain JSON.stringify, except that a
 * reference back to an object on the path to it (a cycle) is dropped, as its
 * json-stringify-safe call with a cycle replacer returning undefined does. Returns
 * undefined for a value JSON leaves out (undefined, a function, a symbol); throws for
 * one it cannot write (a BigInt). `cycles.found` is set when a cycle was cut.
 */
export function valueJson(value: unknown, cycles: { found: boolean }): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (e) {
    if (!(e instanceof TypeError) || !/circular/i.test(e.message)) throw e;
  }
  cycles.found = true;
  return JSON.stringify(value, cycleCutter());
}

/**
 * A replacer that drops a value already on the path from the root to it. `this` is the
 * object holding the value: the path is kept as the chain of holders seen so far.
 */
function cycleCutter(): (this: unknown, key: string, value: unknown) => unknown {
  const path: unknown[] = [];
  return function (this: unknown, _key: string, value: unknown): unknown {
    if (path.length === 0) {
      path.push(value);
      return value;
    }
    const at = path.indexOf(this);
    if (at >= 0) path.length = at + 1;
    else path.push(this);
    return path.includes(value) ? undefined : value;
  };
}

const U32 = 4;

export interface EncodeResult {
  plaintext: Buffer;
  /** A value held a cycle, which was cut (localfilesystem warns about it once per scope). */
  cycles: boolean;
}

/** The plaintext of a scope. Throws when a value cannot be written as JSON (a BigInt). */
export function encodeScope(root: ScopeRoot): EncodeResult {
  const cycles = { found: false };
  const keys: string[] = [];
  const values: Array<RawValue | Buffer> = [];
  let size = U32;
  for (const key of Object.keys(root)) {
    const value = root[key];
    let bytes: RawValue | Buffer;
    if (value instanceof RawValue) {
      bytes = value;
    } else {
      const json = valueJson(value, cycles);
      if (json === undefined) continue;
      bytes = Buffer.from(json, "utf8");
    }
    keys.push(key);
    values.push(bytes);
    size += U32 + bytes.length;
  }
  const keyBlock = Buffer.from(JSON.stringify(keys), "utf8");
  size += keyBlock.length;
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt32BE(keyBlock.length, 0);
  at += keyBlock.copy(out, at);
  for (const v of values) {
    at = out.writeUInt32BE(v.length, at);
    at += v instanceof RawValue ? v.source.copy(out, at, v.start, v.end) : v.copy(out, at);
  }
  return { plaintext: out, cycles: cycles.found };
}

export class FrameError extends Error {}

export interface Decoded {
  root: ScopeRoot;
  /** How many top-level keys it holds. */
  size: number;
}

/**
 * Reads a plaintext into a root of RawValues (no value is parsed). They point into the
 * plaintext's memory. Throws a FrameError when the layout does not add up (only
 * possible for a file written by something else with the right key).
 */
export function decodeScope(plaintext: Buffer): Decoded {
  const root = emptyRoot();
  if (plaintext.length < U32) throw new FrameError("no key list");
  const keyLength = plaintext.readUInt32BE(0);
  if (U32 + keyLength > plaintext.length) throw new FrameError("truncated key list");
  let keys: unknown;
  try {
    keys = JSON.parse(plaintext.toString("utf8", U32, U32 + keyLength));
  } catch {
    throw new FrameError("the key list is not JSON");
  }
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
    throw new FrameError("the key list is not a list of names");
  }
  let at = U32 + keyLength;
  for (const key of keys) {
    if (at + U32 > plaintext.length) throw new FrameError("truncated value length");
    const valueLength = plaintext.readUInt32BE(at);
    at += U32;
    if (at + valueLength > plaintext.length) throw new FrameError("truncated value");
    root[key] = new RawValue(plaintext, at, at + valueLength);
    at += valueLength;
  }
  if (at !== plaintext.length) throw new FrameError("bytes after the last value");
  return { root, size: keys.length };
}

/** A root holding the top-level keys of a plain object (migration from plain JSON files). */
export function rootFromObject(data: Record<string, unknown>): ScopeRoot {
  const root = emptyRoot();
  for (const key of Object.keys(data)) root[key] = data[key];
  return root;
}
