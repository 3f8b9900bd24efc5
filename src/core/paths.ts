/**
 * Property paths in Node-RED syntax (`payload.gps.lat`, `payload.items[0].mac`,
 * `payload["a key"]`) plus `*` for any key or index (`payload.readings[*].owner`,
 * `payload.*.mac`).
 *
 * Keys that reach an object's prototype (`__proto__`, `constructor`, `prototype`)
 * are refused when a path is parsed, and skipped when a wildcard walks an object,
 * so no path can ever read or write Object.prototype.
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

/** Formats concrete keys back into Node-RED syntax, e.g. for a trail entry. */
export function formatKeys(keys: readonly Key[]): string {
  let out = "";
  for (const k of keys) {
    if (typeof k === "number") out += `[${k}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(k)) out += out === "" ? k : `.${k}`;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out;
}

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === "object" && v !== null && !Buffer.isBuffer(v) && !ArrayBuffer.isView(v);
}

function ownChild(container: Container, key: Key): { found: boolean; value: unknown } {
  if (Array.isArray(container)) {
    if (typeof key !== "number" || key >= container.length) return { found: false, value: undefined };
    return { found: true, value: container[key] };
  }
  const k = String(key);
  if (isForbiddenKey(k) || !Object.prototype.hasOwnProperty.call(container, k)) {
    return { found: false, value: undefined };
  }
  return { found: true, value: container[k] };
}

function childKeys(container: Container): Key[] {
  if (Array.isArray(container)) return container.map((_, i) => i);
  return Object.keys(container).filter((k) => !isForbiddenKey(k));
}

/** Every existing value the path reaches (none when a step is missing). */
export function findMatches(root: unknown, path: PropertyPath): Match[] {
  const out: Match[] = [];
  walk(root, path.segments, 0, [], out);
  return out;
}

function walk(node: unknown, segs: readonly Segment[], depth: number, keys: Key[], out: Match[]): void {
  if (!isContainer(node)) return;
  const seg = segs[depth];
  const last = depth === segs.length - 1;
  const candidates: Key[] = seg === WILDCARD ? childKeys(node) : [seg];
  for (const key of candidates) {
    const child = ownChild(node, key);
    if (!child.found) continue;
    const nextKeys = [...keys, key];
    if (last) out.push({ parent: node, key, value: child.value, keys: nextKeys });
    else walk(child.value, segs, depth + 1, nextKeys, out);
  }
}

/** The value at a path without wildcards, or undefined when any step is missing. */
export function getValue(root: unknown, path: PropertyPath): unknown {
  if (path.hasWildcard) throw new PathError(`path "${path.text}": a wildcard cannot be read as one value`);
  let node: unknown = root;
  for (const seg of path.segments) {
    if (!isContainer(node)) return undefined;
    const child = ownChild(node, seg as Key);
    if (!child.found) return undefined;
    node = child.value;
  }
  return node;
}

/**
 * Sets a value at a path without wildcards, creating plain objects (or arrays, for
 * numeric keys) on the way. Refuses to write through a value that is not an object.
 */
export function setValue(root: Container, path: PropertyPath, value: unknown): void {
  if (path.hasWildcard) throw new PathError(`path "${path.text}": cannot set through a wildcard`);
  let node: Container = root;
  const segs = path.segments as readonly Key[];
  for (let i = 0; i < segs.length - 1; i++) {
    const key = segs[i];
    const child = ownChild(node, key);
    if (child.found && isContainer(child.value)) {
      node = child.value;
      continue;
    }
    if (child.found && child.value !== undefined && child.value !== null) {
      throw new PathError(`path "${path.text}": "${formatKeys(segs.slice(0, i + 1))}" is not an object`);
    }
    const created: Container = typeof segs[i + 1] === "number" ? [] : {};
    assign(node, key, created);
    node = created;
  }
  assign(node, segs[segs.length - 1], value);
}

function assign(container: Container, key: Key, value: unknown): void {
  if (isForbiddenKey(key)) throw new PathError(`key "${String(key)}" is not allowed`);
  if (Array.isArray(container)) {
    if (typeof key !== "number") throw new PathError(`cannot use key "${key}" on an array`);
    container[key] = value;
  } else if (Object.prototype.hasOwnProperty.call(container, key)) {
    // replacing an own property never reaches the prototype chain, and '=' keeps the object fast
    container[String(key)] = value;
  } else {
    // defineProperty, not '=': an own data property even if a setter exists up the chain.
    Object.defineProperty(container, String(key), { value, writable: true, enumerable: true, configurable: true });
  }
}

/** Replaces the value of a match in place. */
export function replaceMatch(match: Match, value: unknown): void {
  assign(match.parent, match.key, value);
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
  else delete match.parent[String(match.key)];
}
