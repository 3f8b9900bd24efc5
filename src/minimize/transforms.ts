/** What a rule does to one value: round, coarsen coordinates, truncate time, bucket, cap. */
import { isDate, isPlainObject } from "../core/objects";
import type { Op, RuleConfig, TimeUnit } from "./schema";

// Transforms. Each returns the new value, or MISMATCH when the value has the wrong type.

export const MISMATCH: unique symbol = Symbol("mismatch");
export type TransformFn = (value: unknown) => unknown;

export interface Transform {
  op: Op;
  /** What the transform needs, for the error message: "a number". */
  needs: string;
  apply: TransformFn;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function decimalsOf(step: number): number {
  const text = String(step);
  const exp = /e-(\d+)$/.exec(text);
  if (exp) return Math.min(15, Number(exp[1]) + (text.split("e")[0].split(".")[1] || "").length);
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : Math.min(15, text.length - dot - 1);
}

// A number whose scaled value reaches 2^52 has no fractional digits left at that precision:
// it is returned as it is. Scaling it could overflow (1e308 * 10 is Infinity), and a huge
// finite reading must stay finite.
const NO_FRACTION = 2 ** 52;

function roundTo(decimals: number): (x: number) => number {
  const f = 10 ** decimals;
  return (x) => {
    const scaled = x * f;
    if (!Number.isFinite(scaled) || Math.abs(scaled) >= NO_FRACTION) return x;
    return Math.round(scaled) / f;
  };
}

function roundStep(step: number): (x: number) => number {
  // Multiplying back by the step leaves binary noise (0.30000000000000004); rounding to
  // the step's own decimals removes it.
  const clean = roundTo(decimalsOf(step));
  return (x) => {
    const q = x / step;
    if (!Number.isFinite(q) || Math.abs(q) >= NO_FRACTION) return x;
    const r = clean(Math.round(q) * step);
    return Number.isFinite(r) ? r : x;
  };
}

const GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz";

/** Standard geohash (base32, longitude bit first). */
export function geohash(lat: number, lon: number, precision: number): string {
  let latMin = -90;
  let latMax = 90;
  let lonMin = -180;
  let lonMax = 180;
  let out = "";
  let bits = 0;
  let bitCount = 0;
  let even = true;
  while (out.length < precision) {
    if (even) {
      const mid = (lonMin + lonMax) / 2;
      if (lon >= mid) {
        bits = (bits << 1) | 1;
        lonMin = mid;
      } else {
        bits <<= 1;
        lonMax = mid;
      }
    } else {
      const mid = (latMin + latMax) / 2;
      if (lat >= mid) {
        bits = (bits << 1) | 1;
        latMin = mid;
      } else {
        bits <<= 1;
        latMax = mid;
      }
    }
    even = !even;
    if (++bitCount === 5) {
      out += GEOHASH_ALPHABET[bits];
      bits = 0;
      bitCount = 0;
    }
  }
  return out;
}

const LAT_KEYS = ["lat", "latitude"];
const LON_KEYS = ["lon", "lng", "long", "longitude"];

function ownKey(obj: Record<string, unknown>, names: readonly string[]): string | undefined {
  for (const n of names) if (Object.prototype.hasOwnProperty.call(obj, n) && isFiniteNumber(obj[n])) return n;
  return undefined;
}

function coordinatesTransform(rule: RuleConfig): TransformFn {
  if (rule.method === "geohash") {
    const precision = rule.precision ?? 7;
    const encode = (lat: number, lon: number): string | typeof MISMATCH =>
      lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 ? geohash(lat, lon, precision) : MISMATCH;
    return (v) => {
      if (Array.isArray(v)) {
        // GeoJSON order: [longitude, latitude, altitude?]
        return v.length >= 2 && isFiniteNumber(v[0]) && isFiniteNumber(v[1]) ? encode(v[1], v[0]) : MISMATCH;
      }
      if (isPlainObject(v)) {
        const la = ownKey(v, LAT_KEYS);
        const lo = ownKey(v, LON_KEYS);
        return la && lo ? encode(v[la] as number, v[lo] as number) : MISMATCH;
      }
      return MISMATCH;
    };
  }
  const round = roundTo(rule.decimals ?? 3);
  return (v) => {
    if (isFiniteNumber(v)) return round(v);
    if (Array.isArray(v)) {
      if (v.length < 2 || !isFiniteNumber(v[0]) || !isFiniteNumber(v[1])) return MISMATCH;
      const out: unknown[] = v.slice();
      out[0] = round(v[0]);
      out[1] = round(v[1]);
      return out;
    }
    if (isPlainObject(v)) {
      const la = ownKey(v, LAT_KEYS);
      const lo = ownKey(v, LON_KEYS);
      if (!la || !lo) return MISMATCH;
      return { ...v, [la]: round(v[la] as number), [lo]: round(v[lo] as number) };
    }
    return MISMATCH;
  };
}

const UNIT_MS: Record<TimeUnit, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;

const UTC_ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?Z$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The common case, a UTC ISO string, truncated by cutting the text: the same result
 * as Date.parse + toISOString at a fraction of the cost. null: take the general path.
 */
export function truncateUtcIso(v: string, unit: TimeUnit): string | null {
  const m = UTC_ISO.exec(v);
  if (m === null) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > days ||
    Number(m[4]) > 23 ||
    Number(m[5]) > 59 ||
    (m[6] !== undefined && Number(m[6]) > 59)
  ) {
    return null;
  }
  if (unit === "minute") return `${v.slice(0, 16)}:00.000Z`;
  if (unit === "hour") return `${v.slice(0, 13)}:00:00.000Z`;
  return `${v.slice(0, 10)}T00:00:00.000Z`;
}

function timeTransform(rule: RuleConfig): TransformFn {
  const unit = rule.unit ?? "hour";
  const unitMs = UNIT_MS[unit];
  const floorMs = (ms: number): number => Math.floor(ms / unitMs) * unitMs;
  const epoch = rule.epoch ?? "auto";
  return (v) => {
    if (isFiniteNumber(v)) {
      const seconds = epoch === "s" || (epoch === "auto" && Math.abs(v) < 1e11);
      return seconds ? floorMs(v * 1000) / 1000 : floorMs(v);
    }
    if (typeof v === "string") {
      const fast = truncateUtcIso(v, unit);
      if (fast !== null) return fast;
      if (!ISO_DATE.test(v)) return MISMATCH;
      const ms = Date.parse(v);
      return Number.isFinite(ms) ? new Date(floorMs(ms)).toISOString() : MISMATCH;
    }
    // isDate, not instanceof: a function node's Date comes from another realm
    if (isDate(v)) {
      const ms = v.getTime();
      return Number.isFinite(ms) ? new Date(floorMs(ms)) : MISMATCH;
    }
    return MISMATCH;
  };
}

function bucketTransform(rule: RuleConfig): TransformFn {
  const bounds = (rule.buckets ?? []).map((b) => b.below);
  const labels = (rule.buckets ?? []).map((b) => b.label);
  const above = rule.above ?? `>= ${bounds[bounds.length - 1]}`;
  return (v) => {
    if (!isFiniteNumber(v)) return MISMATCH;
    for (let i = 0; i < bounds.length; i++) if (v < bounds[i]) return labels[i];
    return above;
  };
}

function capTransform(rule: RuleConfig): TransformFn {
  const max = rule.max ?? 0;
  return (v) => {
    if (typeof v !== "string") return MISMATCH;
    if (v.length <= max) return v;
    let end = max;
    const last = v.charCodeAt(end - 1);
    if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--; // do not split a surrogate pair
    return v.slice(0, end);
  };
}

export function makeTransform(rule: RuleConfig): Transform | null {
  switch (rule.op) {
    case "round": {
      const fn = rule.step !== undefined ? roundStep(rule.step) : roundTo(rule.decimals ?? 0);
      return { op: "round", needs: "a number", apply: (v) => (isFiniteNumber(v) ? fn(v) : MISMATCH) };
    }
    case "coordinates":
      return {
        op: "coordinates",
        needs:
          rule.method === "geohash"
            ? "an object with lat/lon or a [lon, lat] pair"
            : "a number, an object with lat/lon or a [lon, lat] pair",
        apply: coordinatesTransform(rule),
      };
    case "time":
      return { op: "time", needs: "an ISO date string, an epoch number or a Date", apply: timeTransform(rule) };
    case "bucket":
      return { op: "bucket", needs: "a number", apply: bucketTransform(rule) };
    case "cap":
      return { op: "cap", needs: "a string", apply: capTransform(rule) };
    default:
      return null;
  }
}
