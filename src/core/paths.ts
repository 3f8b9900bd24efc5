/**
 * Property paths in Node-RED syntax (`payload.gps.lat`, `payload.items[0].mac`,
 * `payload["a key"]`) plus `*` for any key or index (`payload.readings[*].owner`,
 * `payload.*.mac`), and the one walker every node uses to read, write and remove what
 * they reach (encrypt/decrypt fields, anonymize rules, minimize rules).
 *
 * Keys named `__proto__`, `constructor` or `prototype`:
 * - as a literal segment in a path (config) they are refused when the path is parsed:
 *   nobody means them, and `a.__proto__` in other code reaches a prototype;
 * - in data (JSON.parse makes an own `__proto__` key) they are data like any other key:
 *   `*` visits them, so `payload.*.secret` reaches `payload.__proto__.secret` too. A
 *   wildcard that skipped them would let a value a rule names pass untouched, in silence.
 * That is safe because the walker only ever reads own properties (hasOwn, Object.keys on
 * the object itself) and only ever writes own data properties (Object.defineProperty, or
 * `=` on a key the object already owns as data), so no step can reach or set a prototype.
 *
 * A step into a Map or a Set throws a PathError: their entries are not properties, so a
 * path could not reach them, and a value a rule names would pass in silence.
 */

export const WILDCARD: unique symbol = Symbol("wildcard");
export type Segment = string | number | typeof WILDCARD;
export type Key = string | number;

export interface PropertyPath {
  readonly text: string;
  readonly segments: readonly Segment[];
  readonly hasWildcard: boolean;
}

/** A value found by a path, with what is needed to replace or remove it. */
export interface Match {
  readonly parent: Record<string, unknown> | unknown[];
  readonly key: Key;
  readonly value: unknown;
  /** The concrete keys from the root to this value (wildcards resolved). */
  readonly keys: readonly Key[];
}

export class PathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PathError";
  }
}

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export function isForbiddenKey(key: Key): boolean {
  return typeof key === "string" && FORBIDDEN_KEYS.has(key);
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*/;

/** Parses a path; throws PathError naming what is wrong. */
export function parsePath(text: string): PropertyPath {
  if (typeof text !== "string") throw new PathError("path must be a string");
  const src = text.trim();
  if (src === "") throw new PathError("path is empty");
  const segments: Segment[] = [];
  let i = 0;
  let expectKey = true; // at start or after '.'
  while (i < src.length) {
    const ch = src[i];
    if (ch === "[") {
      const close = readBracket(src, i);
      segments.push(close.segment);
      i = close.end;
      expectKey = false;
      continue;
    }
    if (ch === ".") {
      if (expectKey) throw new PathError(`path "${src}": unexpected "." at ${i}`);
      expectKey = true;
      i++;
      continue;
    }
    if (!expectKey) throw new PathError(`path "${src}": expected "." or "[" at ${i}`);
    if (ch === "*") {
      segments.push(WILDCARD);
      i++;
    } else {
      const m = IDENTIFIER.exec(src.slice(i));
      if (!m) throw new PathError(`path "${src}": unexpected "${ch}" at ${i}`);
      segments.push(m[0]);
      i += m[0].length;
    }
    expectKey = false;
  }
  if (expectKey) throw new PathError(`path "${src}": ends with "."`);
  for (const s of segments) {
    if (s !== WILDCARD && isForbiddenKey(s)) {
      throw new PathError(`path "${src}": key "${String(s)}" is not allowed`);
    }
  }
  return { text: src, segments, hasWildcard: segments.includes(WILDCARD) };
}

function readBracket(src: string, open: number): { segment: Segment; end: number } {
  const rest = src.slice(open + 1);
  const quote = rest[0];
  if (quote === '"' || quote === "'") {
    let value = "";
    let j = 1;
    for (; j < rest.length; j++) {
      const c = rest[j];
      if (c === "\\" && j + 1 < rest.length) {
        value += rest[++j];
      } else if (c === quote) {
        break;
      } else {
        value += c;
      }
    }
    if (rest[j] !== quote || rest[j + 1] !== "]") {
      throw new PathError(`path "${src}": unterminated quoted key at ${open}`);
    }
    return { segment: value, end: open + 1 + j + 2 };
  }
  const close = rest.indexOf("]");
  if (close < 0) throw new PathError(`path "${src}": missing "]" after ${open}`);
  const inner = rest.slice(0, close).trim();
  if (inner === "*") return { segment: WILDCARD, end: open + close + 2 };
  if (!/^\d+$/.test(inner)) {
    throw new PathError(`path "${src}": "[${inner}]" must be an index, "*" or a quoted key`);
  }
  return { segment: Number(inner), end: open + close + 2 };
}

/**
 * Why values written at both paths (setValue, one after the other) would not both be
 * there, or null when they can be: the same path (`a.b` twice); one inside the other
 * (`a`, `a.b`: the later write replaces or writes into the earlier value); or an index on
 * one and a key on the other under the same parent (`a[0]`, `a.x`: `a` cannot be both an
 * array and an object). Used to refuse such configs when a node is created.
 */
export function pathsConflict(a: PropertyPath, b: PropertyPath): string | null {
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const x = a.segments[i];
    const y = b.segments[i];
    if (x === WILDCARD || y === WILDCARD) return null; // not for wildcard paths
    const parent = i === 0 ? "the top level" : formatKeys(a.segments.slice(0, i) as Key[]);
    if (typeof x !== typeof y) return `${parent} would be an array for one and an object for the other`;
    if (x !== y) return null;
  }
  return a.segments.length === b.segments.length ? "they are the same path" : "one is inside the other";
}

/**
 * Formats concrete keys back into Node-RED syntax. Keys found by `*` are data (an email
 * address can be a key): never put the result in a trail, a status or an error message;
 * name the rule's path (`PropertyPath.text`) there instead.
 */
export function formatKeys(keys: readonly Key[]): string {
  let out = "";
  for (const k of keys) {
    if (typeof k === "number") out += `[${k}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(k)) out += out === "" ? k : `.${k}`;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out;
}

// The walker: containers, their keys, and own-property reads and writes.

export type Container = Record<string, unknown> | unknown[];

const OBJECT_TAG = "[object Object]";
const COLLECTION_TAGS: ReadonlySet<string> = new Set([
  "[object Map]",
  "[object Set]",
  "[object WeakMap]",
  "[object WeakSet]",
]);

/**
 * What a path can step into: an array, or an object whose own keys are its data (a JSON
 * object, an object literal from this or another realm, a null-prototype object, a class
 * instance). Dates, Buffers and typed arrays, boxed primitives, RegExps are values. Shape,
 * not prototype identity, decides: a function node's objects come from another realm.
 */
export function isContainer(v: unknown): v is Container {
  if (typeof v !== "object" || v === null) return false;
  if (Array.isArray(v)) return true;
  const proto: unknown = Object.getPrototypeOf(v);
  // the common case, answered without the tag lookup below
  if (proto === Object.prototype || proto === null) return true;
  return !ArrayBuffer.isView(v) && Object.prototype.toString.call(v) === OBJECT_TAG;
}

/** "a Map" when v is a keyed collection whose entries no path can reach, else null. */
export function collectionKind(v: unknown): string | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) return null;
  const tag = Object.prototype.toString.call(v);
  return COLLECTION_TAGS.has(tag) ? `a ${tag.slice(8, -1)}` : null;
}

/** Throws the PathError for a step of a path into a Map or a Set (see the file comment). */
function refuseCollection(v: unknown, path: PropertyPath): void {
  const kind = collectionKind(v);
  if (kind !== null) throw new PathError(`path "${path.text}" meets ${kind}, whose entries no path can reach`);
}

/**
 * Every key `*` visits in a container: each index of an array, each own enumerable key
 * of an object, `__proto__`, `constructor` and `prototype` included.
 */
export function childKeys(container: Container): Key[] {
  if (Array.isArray(container)) {
    const out: number[] = new Array<number>(container.length);
    for (let i = 0; i < container.length; i++) out[i] = i;
    return out;
  }
  return ownKeys(container);
}

/** The keys `*` visits in an object: every own enumerable key, as data (see the file comment). */
export function ownKeys(obj: Record<string, unknown>): string[] {
  return Object.keys(obj);
}

/** The own value at a key: an index of an array, an own property of an object. */
export function ownChild(container: Container, key: Key): { found: boolean; value: unknown } {
  if (Array.isArray(container)) {
    if (typeof key !== "number" || key >= container.length) return { found: false, value: undefined };
    return { found: true, value: container[key] };
  }
  const k = String(key);
  // hasOwn first: an inherited property is never data of this object
  if (!Object.prototype.hasOwnProperty.call(container, k)) return { found: false, value: undefined };
  // reading an own property never runs the __proto__ accessor: the own property shadows it
  return { found: true, value: container[k] };
}

function defineData(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Writes an own value: an array index, or an own data property of an object. `=` only
 * where the object already owns the key as writable data (that never reaches the
 * prototype chain, and keeps the object fast); defineProperty otherwise, so neither the
 * `__proto__` setter nor a setter up the chain runs.
 */
export function setOwn(container: Container, key: Key, value: unknown): void {
  if (Array.isArray(container)) {
    if (typeof key !== "number") throw new PathError(`cannot use key "${key}" on an array`);
    container[key] = value;
    return;
  }
  const k = String(key);
  const d = Object.getOwnPropertyDescriptor(container, k);
  if (d !== undefined && d.writable === true) container[k] = value;
  else defineData(container, k, value);
}

/**
 * Adds a key to an object this code has just made with `{}`. Our Object.prototype has one
 * setter, `__proto__`, so only that key needs defineProperty; every other `=` makes an own
 * data property. Cheaper than setOwn where every key of a copy is written.
 */
export function addOwn(fresh: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") defineData(fresh, key, value);
  else fresh[key] = value;
}

/**
 * A one-level copy that keeps the prototype (null, another realm's) and every own key as
 * data. Spread defines own data properties (it never calls the `__proto__` setter).
 */
export function copyContainer<C extends Container>(v: C): C {
  if (Array.isArray(v)) return v.slice() as C;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === Object.prototype) return { ...v };
  const out = Object.create(proto as object | null) as Record<string, unknown>;
  for (const k of Object.keys(v)) defineData(out, k, v[k]);
  return out as C;
}

/**
 * A copy of an object without some keys. `delete` on the original would turn it into a
 * slow dictionary for every node after this one, and change the caller's object.
 */
export function copyWithout(obj: Record<string, unknown>, keys: readonly Key[]): Record<string, unknown> {
  if (keys.length === 1 && Object.getPrototypeOf(obj) === Object.prototype) {
    // rest defines own data properties, like spread: an own "__proto__" key stays data
    const { [String(keys[0])]: _removed, ...rest } = obj;
    return rest;
  }
  const copy = copyContainer(obj);
  for (const key of keys) delete copy[String(key)];
  return copy;
}

/**
 * Every existing value the path reaches (none when a step is missing). `*` visits every
 * own key (see the file comment); a step into a Map or a Set throws a PathError.
 */
export function findMatches(root: unknown, path: PropertyPath): Match[] {
  const out: Match[] = [];
  if (!path.hasWildcard) {
    const m = literalMatch(root, path);
    if (m !== null) out.push(m);
    return out;
  }
  walk(root, path, 0, [], out);
  return out;
}

function literalMatch(root: unknown, path: PropertyPath): Match | null {
  const segs = path.segments as readonly Key[];
  let node: unknown = root;
  for (let i = 0; i < segs.length; i++) {
    refuseCollection(node, path);
    if (!isContainer(node)) return null;
    const child = ownChild(node, segs[i]);
    if (!child.found) return null;
    if (i === segs.length - 1) return { parent: node, key: segs[i], value: child.value, keys: segs };
    node = child.value;
  }
  return null;
}

function walk(node: unknown, path: PropertyPath, depth: number, keys: Key[], out: Match[]): void {
  refuseCollection(node, path);
  if (!isContainer(node)) return;
  const seg = path.segments[depth];
  const last = depth === path.segments.length - 1;
  const candidates: Key[] = seg === WILDCARD ? childKeys(node) : [seg];
  for (const key of candidates) {
    const child = ownChild(node, key);
    if (!child.found) continue;
    keys.push(key);
    if (last) out.push({ parent: node, key, value: child.value, keys: keys.slice() });
    else walk(child.value, path, depth + 1, keys, out);
    keys.pop();
  }
}

/** The value at a path without wildcards, or undefined when any step is missing. */
export function getValue(root: unknown, path: PropertyPath): unknown {
  if (path.hasWildcard) throw new PathError(`path "${path.text}": a wildcard cannot be read as one value`);
  const m = literalMatch(root, path);
  return m === null ? undefined : m.value;
}

/**
 * Sets a value at a path without wildcards, creating plain objects (or arrays, for
 * numeric keys) on the way. Refuses to write through a value that is not an object.
 */
export function setValue(root: Container, path: PropertyPath, value: unknown): void {
  if (path.hasWildcard) throw new PathError(`path "${path.text}": cannot set through a wildcard`);
  const segs = path.segments as readonly Key[];
  // parsePath refuses these; a PropertyPath built by hand must not get further
  for (const s of segs) if (isForbiddenKey(s)) throw new PathError(`key "${String(s)}" is not allowed`);
  let node: Container = root;
  for (let i = 0; i < segs.length - 1; i++) {
    const key = segs[i];
    refuseCollection(node, path);
    const child = ownChild(node, key);
    if (child.found && isContainer(child.value)) {
      node = child.value;
      continue;
    }
    if (child.found && child.value !== undefined && child.value !== null) {
      throw new PathError(`path "${path.text}": "${formatKeys(segs.slice(0, i + 1))}" is not an object`);
    }
    const created: Container = typeof segs[i + 1] === "number" ? [] : {};
    setOwn(node, key, created);
    node = created;
  }
  refuseCollection(node, path);
  setOwn(node, segs[segs.length - 1], value);
}

/** Replaces the value of a match in place (an own data property, whatever its key). */
export function replaceMatch(match: Match, value: unknown): void {
  setOwn(match.parent, match.key, value);
}

/**
 * Removes every value the path reaches. Array elements are spliced out, last index
 * first, so the indexes of earlier matches stay valid. Returns how many were removed.
 */
export function deleteMatches(root: unknown, path: PropertyPath): number {
  const matches = findMatches(root, path);
  for (let i = matches.length - 1; i >= 0; i--) removeMatch(matches[i]);
  return matches.length;
}

export function removeMatch(match: Match): void {
  if (Array.isArray(match.parent)) match.parent.splice(match.key as number, 1);
  // delete only ever removes an own property: an own "__proto__" goes, the prototype stays
  else delete match.parent[String(match.key)];
}
