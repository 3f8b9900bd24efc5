/**
 * A scope's data as the store holds it, and its plaintext form.
 *
 * The plaintext of a scope file is a sequence of frames, one per top-level key:
 * `u32 key length, key (UTF-8), u32 value length, value (JSON, UTF-8)`. Framing each
 * top-level value on its own lets the store open a large context without parsing it:
 * a value stays a slice of the decrypted bytes (a RawValue) until a flow first reads or
 * writes that key, and a flush copies the slices of keys nobody touched instead of
 * serializing them again. The JSON of each value is what `localfilesystem` would write,
 * so values come back as they would from its files (a Buffer as {type, data}, a Date as
 * its ISO string, functions and undefined dropped, cycles cut).
 */

/** A top-level value not parsed yet: a slice of a scope file's plaintext. */
export class RawValue {
  constructor(readonly bytes: Buffer) {}

  parse(): unknown {
    return JSON.parse(this.bytes.toString("utf8"));
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
  const keys: Buffer[] = [];
  const values: Buffer[] = [];
  let size = 0;
  for (const key of Object.keys(root)) {
    const value = root[key];
    let bytes: Buffer;
    if (value instanceof RawValue) {
      bytes = value.bytes;
    } else {
      const json = valueJson(value, cycles);
      if (json === undefined) continue;
      bytes = Buffer.from(json, "utf8");
    }
    const keyBytes = Buffer.from(key, "utf8");
    keys.push(keyBytes);
    values.push(bytes);
    size += 2 * U32 + keyBytes.length + bytes.length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < keys.length; i++) {
    at = out.writeUInt32BE(keys[i].length, at);
    at += keys[i].copy(out, at);
    at = out.writeUInt32BE(values[i].length, at);
    at += values[i].copy(out, at);
  }
  return { plaintext: out, cycles: cycles.found };
}

export class FrameError extends Error {}

/**
 * Reads the frames of a plaintext into a root of RawValues (no JSON is parsed). The
 * slices share the plaintext's memory. Throws a FrameError when the frames do not
 * add up (only possible for a file written by something else with the right key).
 */
export function decodeScope(plaintext: Buffer): ScopeRoot {
  const root = emptyRoot();
  let at = 0;
  while (at < plaintext.length) {
    if (at + U32 > plaintext.length) throw new FrameError("truncated key length");
    const keyLength = plaintext.readUInt32BE(at);
    at += U32;
    if (at + keyLength + U32 > plaintext.length) throw new FrameError("truncated key");
    const key = plaintext.toString("utf8", at, at + keyLength);
    at += keyLength;
    const valueLength = plaintext.readUInt32BE(at);
    at += U32;
    if (at + valueLength > plaintext.length) throw new FrameError("truncated value");
    root[key] = new RawValue(plaintext.subarray(at, at + valueLength));
    at += valueLength;
  }
  return root;
}

/** A root holding the top-level keys of a plain object (migration from plain JSON files). */
export function rootFromObject(data: Record<string, unknown>): ScopeRoot {
  const root = emptyRoot();
  for (const key of Object.keys(data)) root[key] = data[key];
  return root;
}
