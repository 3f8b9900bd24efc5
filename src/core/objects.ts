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
  return typeof ctor === "function" && ctor.name === "Object" && Object.prototype.toString.call(v) === "[object Object]";
}

/** Own-property test that a key named `hasOwnProperty` or a null prototype cannot fool. */
export function hasOwn(obj: object, key: PropertyKey): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}
