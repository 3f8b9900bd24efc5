/**
 * Context keys in Node-RED's property syntax (`a.b[0]`, `a["b c"]`, `a[msg.k]`), with the
 * semantics of Node-RED's own context stores, so a flow sees no difference between this
 * store and `localfilesystem`: the same keys are valid, the same parts come out (a
 * trailing `.0` stays the string "0" while a middle `.0.` is the number 0, which decides
 * whether a missing parent is created as an object or an array), missing parents are
 * created on set, a set through a value that is not an object is a silent no-op, and
 * setting `undefined` deletes (splicing arrays).
 *
 * One difference, by design: a key only ever reaches own properties. Node-RED reads
 * `obj[key]`, so `constructor` or `toString` return the prototype's functions and a
 * set of `__proto__.x` writes a prototype; here they read as missing and are written
 * as own data properties (design.md 4).
 */

/** Thrown for a key that is not a valid property expression (Node-RED's INVALID_EXPR). */
export class InvalidKeyError extends Error {
  readonly code = "INVALID_EXPR";
  constructor(message: string) {
    super(message);
    // Node-RED's own key errors are plain Errors with a code: same name, same toString.
    this.name = "Error";
  }
}

/**
 * One step of a key: a property name or an array index, or whatever value a `[msg.x]`
 * cross-reference found (Node-RED keeps it as it is: `null` names the property "null"
 * but, not being a string, makes its missing parent an array).
 */
export type Part = string | number | boolean | null | object;

/** The property key JavaScript would use for a part (`obj[part]`). */
export function propertyKey(part: Part): string | number {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return typeof part === "number" ? part : String(part);
}

/** Resolves a `[msg.x]` cross-reference against the scope's data; undefined when missing. */
export type Resolver = (expression: string) => unknown;

const DIGITS = /^\d+$/;
const IDENTIFIER_START = /[a-z0-9$_]/i;

function invalid(message: string): InvalidKeyError {
  return new InvalidKeyError(`Invalid property expression: ${message}`);
}

function numberOrString(text: string): Part {
  return DIGITS.test(text) ? parseInt(text, 10) : text;
}

/**
 * Splits a key into parts exactly as Node-RED's normalisePropertyExpression does when
 * it is given an object to resolve cross-references against (a context store always
 * gives the scope's data).
 */
export function parseKey(key: string, resolve: Resolver): Part[] {
  const length = key.length;
  if (length === 0) throw invalid("zero-length");
  const parts: Part[] = [];
  let start = 0;
  let quote: string | undefined;
  let inBox = false;
  for (let i = 0; i < length; i++) {
    const c = key[i];
    if (quote !== undefined) {
      if (c !== quote) continue;
      if (i === start) throw invalid(`zero-length string at position ${start}`);
      parts.push(key.substring(start, i));
      const next = key[i + 1];
      if (inBox && next !== "]") throw invalid(`unexpected array expression at position ${start}`);
      if (!inBox && i + 1 !== length && next !== "[" && next !== ".") {
        throw invalid(`unexpected ${next} expression at position ${i + 1}`);
      }
      start = i + 1;
      quote = undefined;
      continue;
    }
    switch (c) {
      case "'":
      case '"':
        if (i !== start) throw invalid(`unexpected ${c} at position ${i}`);
        quote = c;
        start = i + 1;
        break;
      case ".":
        if (i === 0) throw invalid("unexpected . at position 0");
        if (start !== i) parts.push(numberOrString(key.substring(start, i)));
        if (i === length - 1) throw invalid("unterminated expression");
        if (!IDENTIFIER_START.test(key[i + 1])) throw invalid(`unexpected ${key[i + 1]} at position ${i + 1}`);
        start = i + 1;
        break;
      case "[": {
        if (i === 0) throw invalid(`unexpected [ at position 0`);
        // Before a bracket the name stays a string, even when it is all digits.
        if (start !== i) parts.push(key.substring(start, i));
        if (i === length - 1) throw invalid("unterminated expression");
        const rest = key.substring(i + 1);
        if (/^msg[.[]/.test(rest)) {
          const end = matchingBracket(key, i);
          parts.push(crossReference(key.substring(i + 1, end), i + 1, resolve));
          i = end;
          start = end + 1;
          inBox = false;
          break;
        }
        if (!/["'\d]/.test(key[i + 1])) throw invalid(`unexpected ${key[i + 1]} at position ${i + 1}`);
        start = i + 1;
        inBox = true;
        break;
      }
      case "]":
        if (!inBox) throw invalid(`unexpected ] at position ${i}`);
        if (start !== i) {
          const index = key.substring(start, i);
          if (!DIGITS.test(index)) throw invalid(`unexpected array expression at position ${start}`);
          parts.push(parseInt(index, 10));
        }
        start = i + 1;
        inBox = false;
        break;
      case " ":
        throw invalid(`unexpected ' ' at position ${i}`);
      default:
        break;
    }
  }
  if (inBox || quote !== undefined) throw invalid("unterminated expression");
  // The last name stays a string, even when it is all digits (as in Node-RED).
  if (start < length) parts.push(key.substring(start));
  return parts;
}

/** Index of the `]` closing the `[` at `open`; brackets nest, quotes do not hide them. */
function matchingBracket(key: string, open: number): number {
  let depth = 1;
  for (let j = open + 1; j < key.length; j++) {
    if (key[j] === "[") depth++;
    else if (key[j] === "]") depth--;
    if (depth === 0) return j;
  }
  throw invalid(`unmatched '[' at position ${open}`);
}

function crossReference(expression: string, position: number, resolve: Resolver): Part {
  let value: unknown;
  try {
    value = resolve(expression);
  } catch {
    throw new InvalidKeyError(`Invalid expression started at position ${position}`);
  }
  if (value === undefined) throw new InvalidKeyError(`Invalid expression started at position ${position}`);
  if (typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") return String(value);
  return value;
}

const hasOwn = (obj: unknown, key: Part): boolean => Object.prototype.hasOwnProperty.call(obj, propertyKey(key));

/**
 * One step of a read: the own property `key` of `obj`. Like `obj[key]` it throws a
 * TypeError when `obj` is undefined or null (a read then yields undefined, a
 * cross-reference is invalid); unlike it, it never returns what a prototype holds.
 */
function readOwn(obj: unknown, key: Part): unknown {
  if (obj === undefined || obj === null) throw new TypeError(`Cannot read properties of ${String(obj)}`);
  if (!hasOwn(obj, key)) return undefined;
  return (obj as Record<string | number, unknown>)[propertyKey(key)];
}

/** The value at `parts` under `root` (Node-RED's getObjectProperty); may throw a TypeError. */
export function readParts(root: unknown, parts: readonly Part[]): unknown {
  let value: unknown = root;
  for (const key of parts) value = readOwn(value, key);
  return value;
}

/**
 * Writes an own data property. Assignment everywhere except `__proto__`, the one
 * inherited setter on Object.prototype: defining it keeps the write on the object.
 * Reflect.set, because Node-RED's sloppy-mode assignment to a frozen object fails
 * silently where strict mode would throw.
 */
function writeOwn(obj: object, part: Part, value: unknown): void {
  const key = propertyKey(part);
  if (key === "__proto__") {
    if (Object.isExtensible(obj)) {
      Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
    }
  } else {
    Reflect.set(obj, key, value);
  }
}

/** Reads back what writeOwn left (nothing, when the object refused the write). */
function ownValue(obj: object, key: Part): unknown {
  return hasOwn(obj, key) ? (obj as Record<string | number, unknown>)[propertyKey(key)] : undefined;
}

function isObjectLike(v: unknown): v is object {
  return (typeof v === "object" && v !== null) || typeof v === "function";
}

/**
 * Sets (or, for `undefined`, deletes) the value at `parts` under `root`, as Node-RED's
 * setObjectProperty does: missing parents are created ({} before a name, [] before an
 * index) only when setting; a parent that is a primitive stops the write silently.
 * Returns whether it wrote. Throws a TypeError where Node-RED would (a path through
 * `undefined` inside an array).
 */
export function writeParts(root: object, parts: readonly Part[], value: unknown): boolean {
  const create = value !== undefined;
  let obj: unknown = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i];
    const nextIsName = typeof parts[i + 1] === "string";
    if (typeof key === "string" || (typeof key === "number" && !Array.isArray(obj))) {
      if (obj === undefined || obj === null) throw new TypeError(`Cannot convert ${String(obj)} to object`);
      if (hasOwn(obj, key)) {
        const child = (obj as Record<string | number, unknown>)[key];
        if (!isObjectLike(child)) return false;
        obj = child;
      } else if (create) {
        if (!isObjectLike(obj)) {
          // Node-RED's assignment to a primitive is lost (sloppy mode); so is the path.
          obj = undefined;
          continue;
        }
        writeOwn(obj, key, nextIsName ? {} : []);
        obj = ownValue(obj, key);
      } else {
        return false;
      }
    } else if (typeof key === "number") {
      const array = obj as unknown[];
      if (array[key] === undefined) {
        if (!create) return false;
        Reflect.set(array, key, nextIsName ? {} : []);
        obj = array[key];
      } else {
        obj = array[key];
      }
    }
    // Any other part (a cross-reference to true or null) is not a step in Node-RED: skipped.
  }
  const last = parts[parts.length - 1];
  if (value === undefined) {
    if (typeof last === "number" && Array.isArray(obj)) {
      obj.splice(last, 1);
    } else {
      if (obj === undefined || obj === null) throw new TypeError(`Cannot convert ${String(obj)} to object`);
      // Reflect: a property that cannot be deleted (an array's length) is left, as in sloppy mode.
      if (isObjectLike(obj) && hasOwn(obj, last)) Reflect.deleteProperty(obj, propertyKey(last));
    }
    return true;
  }
  if (typeof obj !== "object" || obj === null) return false;
  writeOwn(obj, last, value);
  return true;
}
