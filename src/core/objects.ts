/**
 * Shape tests that hold for objects from any realm. A function node runs in its own
 * `vm` context, so an object literal made there has that context's Object.prototype,
 * not ours: an identity check against Object.prototype refuses it. Test shape instead.
 */

/** An object literal, a JSON object or a null-prototype object, from this realm or another. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === null || proto === Object.prototype) return true;
  // Another realm's Object.prototype has no prototype itself and its constructor is that realm's Object.
  if (Object.getPrototypeOf(proto) !== null) return false;
  const ctor: unknown = Object.getOwnPropertyDescriptor(proto, "constructor")?.value;
  return (
    typeof ctor === "function" && ctor.name === "Object" && Object.prototype.toString.call(v) === "[object Object]"
  );
}

/** Own-property test that a key named `hasOwnProperty` or a null prototype cannot fool. */
export function hasOwn(obj: object, key: PropertyKey): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/**
 * A Date from any realm: `instanceof Date` is false for a function node's Date. Date's
 * own getTime checks the internal date slot, so a look-alike with a faked tag fails it.
 */
export function isDate(v: unknown): v is Date {
  if (typeof v !== "object" || v === null) return false;
  if (v instanceof Date) return true;
  try {
    Date.prototype.getTime.call(v);
    return true;
  } catch {
    return false;
  }
}

/** A Uint8Array (a Buffer too) from any realm; the typed array tag comes from an internal slot. */
export function isUint8Array(v: unknown): v is Uint8Array {
  return ArrayBuffer.isView(v) && Object.prototype.toString.call(v) === "[object Uint8Array]";
}
