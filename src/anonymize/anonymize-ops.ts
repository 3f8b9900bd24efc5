/**
 * The operators of privacy-anonymize, each a pure function of one value and its
 * options: redact, mask, replace, hash, pseudonymize, generalize, timePart, dateShift,
 * bucket. The noise operators are in noise-ops.ts; the scan operator (pii-scan.ts)
 * applies the same operators to entities found inside text.
 *
 * A value of a type an operator cannot handle throws an OperatorTypeError that names
 * the type, never the value.
 */
import * as nodeCrypto from "node:crypto";
import { createHash, createHmac, type KeyObject, createSecretKey } from "node:crypto";

/** One-shot crypto.hash (Node 20.12+, 21.7+): no Hash object per call. */
type OneShotHash = (algorithm: string, data: string | Buffer, encoding: "hex" | "buffer") => string | Buffer;
const oneShot: OneShotHash | undefined = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;
import { isIPv4, isIPv6 } from "node:net";
import { isDate } from "../core/objects";

export class OperatorTypeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OperatorTypeError";
  }
}

/** "string", "number", "object", "array", "null", "Buffer"... for error messages. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (Buffer.isBuffer(value)) return "Buffer";
  if (isDate(value)) return "Date";
  return typeof value;
}

function wrongType(op: string, expected: string, value: unknown): OperatorTypeError {
  return new OperatorTypeError(`${op} expects ${expected}, got ${typeName(value)}`);
}

/** Strings, finite numbers, bigints and booleans: what hash, pseudonymize and mask accept. */
function scalarText(op: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "bigint" || typeof value === "boolean") return String(value);
  throw wrongType(op, "a string, a number or a boolean", value);
}

// ---------------------------------------------------------------- mask
export interface MaskOptions {
  char: string;
  keepFirst: number;
  keepLast: number;
}

/** Masks by code point (an emoji is one character), keeping the first/last N. */
export function mask(value: unknown, o: MaskOptions): string {
  const text = scalarText("mask", value);
  // code points only matter when there are surrogate pairs; most values have none
  const chars: string | string[] = /[\uD800-\uDFFF]/.test(text) ? Array.from(text) : text;
  const n = chars.length;
  const first = Math.min(o.keepFirst, n);
  const last = Math.min(o.keepLast, n - first);
  // keeping everything would mask nothing: a short value is masked whole
  if (first + last >= n) return o.char.repeat(n);
  const part = (a: number, b: number): string =>
    typeof chars === "string" ? chars.slice(a, b) : chars.slice(a, b).join("");
  return part(0, first) + o.char.repeat(n - first - last) + part(n - last, n);
}

// ---------------------------------------------------------------- hash
/** Unkeyed SHA-256 (hex) of UTF-8 of String(value), optionally truncated. */
export function hash(value: unknown, length?: number): string {
  const text = scalarText("hash", value);
  const hex = oneShot
    ? (oneShot("sha256", text, "hex") as string)
    : createHash("sha256").update(text, "utf8").digest("hex");
  return length === undefined ? hex : hex.slice(0, length);
}

// ---------------------------------------------------------------- pseudonymize
export const PSEUDONYM_INFO = "privacy-pseudonymize";

export interface PseudonymOptions {
  length: number;
  prefix: string;
}

/**
 * A keyed pseudonymizer over a 32-byte subkey:
 * pseudonym = prefix + hex(HMAC-SHA256(subkey, UTF-8 of String(value))).slice(0, length).
 * The subkey is HKDF-SHA256(key, salt = empty, info = "privacy-pseudonymize", 32),
 * derived by the keyring, so this function never sees the key itself.
 */
export class Pseudonymizer {
  private readonly key: KeyObject;
  /**
   * Device ids and user ids repeat in every message of a stream: a lookup costs far
   * less than an HMAC. Bounded; emptied when full. It holds values this process is
   * handling anyway, and lives as long as the node.
   */
  private readonly memo = new Map<string, string>();
  static readonly MEMO_MAX = 10000;

  constructor(subkey: Buffer) {
    if (!Buffer.isBuffer(subkey) || subkey.length < 32) throw new Error("pseudonymize needs a 32-byte subkey");
    this.key = createSecretKey(subkey);
  }

  pseudonym(value: unknown, o: PseudonymOptions): string {
    const text = scalarText("pseudonymize", value);
    let hex = this.memo.get(text);
    if (hex === undefined) {
      hex = createHmac("sha256", this.key).update(text, "utf8").digest("hex");
      if (this.memo.size >= Pseudonymizer.MEMO_MAX) this.memo.clear();
      this.memo.set(text, hex);
    }
    return o.prefix + hex.slice(0, o.length);
  }
}

// ---------------------------------------------------------------- generalize
export type GeneralizeKind = "ip" | "date" | "range" | "postcode" | "coordinates";
export type DateGranularity = "hour" | "day" | "month" | "year";

export interface GeneralizeOptions {
  kind: GeneralizeKind;
  ipv4Prefix: number;
  ipv6Prefix: number;
  granularity: DateGranularity;
  width: number;
  /** range: values at or above `top` become "top+" (ages over 89, say). */
  top?: number;
  keep: number;
  decimals: number;
}

export function generalize(value: unknown, o: GeneralizeOptions): unknown {
  switch (o.kind) {
    case "ip":
      return generalizeIp(value, o.ipv4Prefix, o.ipv6Prefix);
    case "date":
      return generalizeDate(value, o.granularity);
    case "range":
      return generalizeRange(value, o.width, o.top);
    case "postcode":
      return generalizePostcode(value, o.keep);
    case "coordinates":
      return generalizeCoordinates(value, o.decimals);
  }
}

/** Zeroes the host bits: 192.168.1.23 -> 192.168.1.0 (/24), 2001:db8:85a3::7334 -> 2001:db8:85a3:: (/48). */
export function generalizeIp(value: unknown, v4Prefix: number, v6Prefix: number): string {
  if (typeof value !== "string") throw wrongType("generalize (ip)", "an IP address string", value);
  const zone = value.indexOf("%");
  const addr = zone >= 0 ? value.slice(0, zone) : value;
  if (isIPv4(addr)) {
    // the usual /24 only zeroes the last octet: no arithmetic needed
    if (v4Prefix === 24) return addr.slice(0, addr.lastIndexOf(".") + 1) + "0";
    const o = addr.split(".");
    const n = ((+o[0] << 24) | (+o[1] << 16) | (+o[2] << 8) | +o[3]) >>> 0;
    const m = v4Prefix === 0 ? 0 : (n & (0xffffffff << (32 - v4Prefix))) >>> 0;
    return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}`;
  }
  if (isIPv6(addr)) {
    const words = ipv6Words(addr);
    const out = words.map((w, i) => {
      const bits = Math.max(0, Math.min(16, v6Prefix - i * 16));
      return bits === 16 ? w : bits === 0 ? 0 : w & (0xffff << (16 - bits)) & 0xffff;
    });
    return compressIpv6(out);
  }
  throw new OperatorTypeError("generalize (ip) expects an IPv4 or IPv6 address");
}

function ipv6Words(addr: string): number[] {
  let text = addr;
  // an embedded IPv4 tail (::ffff:192.0.2.1) becomes two words
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = text.slice(0, v4.index) + ((a << 8) | b).toString(16) + ":" + ((c << 8) | d).toString(16);
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill: string[] = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill("0");
  return [...h, ...fill, ...t].map((w) => parseInt(w, 16));
}

/** RFC 5952 text: lower case, longest run of two or more zero words as "::". */
function compressIpv6(words: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** An ISO date, a millisecond epoch number or a Date, cut to hour/day/month/year in UTC. */
const ISO_UTC = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?Z$/;

export function generalizeDate(value: unknown, granularity: DateGranularity): string {
  const cut = { year: 4, month: 7, day: 10, hour: 13 }[granularity];
  // an ISO time in UTC (what most devices send) is cut as text; day 31 of a short month goes the slow way
  if (typeof value === "string" && ISO_UTC.test(value) && Number(value.slice(8, 10)) <= 28) return value.slice(0, cut);
  return toDate("generalize (date)", value).toISOString().slice(0, cut);
}

/** A date string, a millisecond epoch number or a Date (of any realm) as a valid Date. */
function toDate(op: string, value: unknown): Date {
  let d: Date;
  // isDate, not instanceof: a function node's Date comes from another realm
  if (isDate(value)) d = value;
  else if (typeof value === "number" && Number.isFinite(value)) d = new Date(value);
  else if (typeof value === "string" && value.trim() !== "") d = new Date(value.trim());
  else throw wrongType(op, "a date string, an epoch number or a Date", value);
  if (Number.isNaN(d.getTime())) throw new OperatorTypeError(`${op} expects a valid date`);
  return d;
}

/** 34 with width 10 -> "30-39" (30 <= x < 40); with top 90, 93 -> "90+". */
export function generalizeRange(value: unknown, width: number, top?: number): string {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n)) throw wrongType("generalize (range)", "a finite number", value);
  if (top !== undefined && n >= top) return `${top}+`;
  const lo = floorTo(n, width, 0);
  const hi = finiteOr(Number.isInteger(width) ? lo + width - 1 : lo + width, lo);
  return `${fmt(lo)}-${fmt(hi)}`;
}

/**
 * The start of the `width`-wide bin holding n. A number so large that n / width overflows
 * (or has no fraction left) is already as coarse as a double can hold at that size: it is
 * its own bin start, not Infinity.
 */
function floorTo(n: number, width: number, origin: number): number {
  const q = (n - origin) / width;
  if (!Number.isFinite(q) || Math.abs(q) >= 2 ** 52) return n;
  return finiteOr(origin + Math.floor(q) * width, n);
}

function finiteOr(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}

function fmt(n: number): string {
  // n * 1e9 overflows for |n| above ~1.8e299; such a number has no fraction to clean up.
  const scaled = n * 1e9;
  return String(Number.isFinite(scaled) ? Math.round(scaled) / 1e9 : n);
}

/** The first `keep` characters, spaces removed: "SW1A 1AA" -> "SW1" (keep 3). */
export function generalizePostcode(value: unknown, keep: number): string {
  if (typeof value !== "string" && !(typeof value === "number" && Number.isInteger(value))) {
    throw wrongType("generalize (postcode)", "a string or an integer", value);
  }
  return String(value).replace(/\s+/g, "").slice(0, keep).toUpperCase();
}

/**
 * n to `decimals` places. A number whose scaled value reaches 2^52 has no fractional
 * digits left at that precision, so it is returned as it is: scaling it could overflow
 * to Infinity (1e307 * 100) and would only add rounding error.
 */
export function round(n: number, decimals: number): number {
  const f = 10 ** decimals;
  const scaled = n * f;
  if (!Number.isFinite(scaled) || Math.abs(scaled) >= 2 ** 52) return n;
  return Math.round(scaled) / f;
}

/**
 * Rounds a coordinate: a number, [lat, lon], {lat, lon} / {lat, lng} / {latitude,
 * longitude}, or "lat, lon" text. 2 decimals is about 1 km, 3 about 100 m.
 */
export function generalizeCoordinates(value: unknown, decimals: number): unknown {
  const r = (v: unknown): number => {
    if (typeof v !== "number" || !Number.isFinite(v)) throw wrongType("generalize (coordinates)", "numbers", v);
    return round(v, decimals);
  };
  if (typeof value === "number") return r(value);
  if (Array.isArray(value) && value.length >= 2 && value.length <= 3) return value.map(r);
  if (typeof value === "string") {
    const m = /^\s*([-+]?\d+(?:\.\d+)?)\s*[,;\s]\s*([-+]?\d+(?:\.\d+)?)\s*$/.exec(value);
    if (!m) throw new OperatorTypeError('generalize (coordinates) expects "lat, lon" text');
    return `${r(Number(m[1])).toFixed(decimals)}, ${r(Number(m[2])).toFixed(decimals)}`;
  }
  if (typeof value === "object" && value !== null && !Buffer.isBuffer(value)) {
    const o = value as Record<string, unknown>;
    const pairs = [
      ["lat", "lon"],
      ["lat", "lng"],
      ["latitude", "longitude"],
    ].find(([a, b]) => a in o && b in o);
    if (!pairs) {
      throw new OperatorTypeError("generalize (coordinates) expects {lat, lon}, {lat, lng} or {latitude, longitude}");
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) {
      const v = pairs.includes(k) ? r(o[k]) : o[k];
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  throw wrongType("generalize (coordinates)", "a number, an array, an object or text", value);
}

// ---------------------------------------------------------------- timePart
export type TimePart = "hour" | "weekday" | "week" | "month" | "year";

export interface TimePartOptions {
  part: TimePart;
  /** An IANA time zone ("Europe/Berlin") or "UTC": the hour and the day are those of this zone. */
  timeZone: string;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

const ISO_UTC_TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?Z$/;

/**
 * A timestamp in ms: an ISO time in UTC (what most devices send) is read by arithmetic,
 * anything else through Date.
 */
function epochMs(op: string, value: unknown): number {
  if (typeof value === "string") {
    const m = ISO_UTC_TIME.exec(value);
    if (m) {
      const [y, mo, d, h, mi] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
      const s = m[6] === undefined ? 0 : Number(m[6]);
      const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
      const valid = y >= 100 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) && h < 24 && mi < 60 && s < 60;
      if (valid) return daysFromCivil(y, mo, d) * DAY_MS + h * 3_600_000 + mi * 60_000 + s * 1000 + ms;
    }
  }
  return toDate(op, value).getTime();
}

/** The zone's offset from UTC at `t` (ms), by Intl: slow, so zoneOffset caches it. */
function intlOffset(timeZone: string, t: number): number {
  let f = zoneFormats.get(timeZone);
  if (!f) {
    // built once per zone: an Intl formatter costs far more than a message
    const fields = { year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" } as const;
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", ...fields });
    zoneFormats.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(t)) if (part.type !== "literal") p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute);
  return wall - (t - (((t % 60_000) + 60_000) % 60_000));
}

const QUARTER_HOUR = 900_000;
const offsetCache = new Map<string, number>();

/**
 * The offset at `t`, cached per zone and quarter hour of UTC: a reading stream asks about
 * nearby times. A quarter whose two ends have the same offset has it throughout (zones
 * change offset at most once in hours); one with a change in it is never cached.
 */
function zoneOffset(timeZone: string, t: number): number {
  const quarter = Math.floor(t / QUARTER_HOUR);
  const key = `${timeZone}\u0000${quarter}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  const start = intlOffset(timeZone, quarter * QUARTER_HOUR);
  const end = intlOffset(timeZone, (quarter + 1) * QUARTER_HOUR - 1);
  if (start !== end) return intlOffset(timeZone, t);
  if (offsetCache.size >= 4096) offsetCache.clear();
  offsetCache.set(key, start);
  return start;
}

/** True when Intl knows the zone (checked when the node is created). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * One part of a timestamp, as a number: hour of day 0-23, ISO weekday 1 (Monday) to 7
 * (Sunday), ISO 8601 week of year 1-53, month 1-12, or year.
 */
export function timePart(value: unknown, o: TimePartOptions): number {
  const t = epochMs("timePart", value);
  // the zone's wall clock as if it were UTC, then calendar arithmetic on its day number
  const local = o.timeZone === "UTC" ? t : t + zoneOffset(o.timeZone, t);
  const days = Math.floor(local / DAY_MS);
  switch (o.part) {
    case "hour":
      return Math.floor((local - days * DAY_MS) / 3_600_000);
    case "month":
      return civilFromDays(days)[1];
    case "year":
      return civilFromDays(days)[0];
    case "weekday":
      return isoWeekday(days);
    case "week":
      return isoWeek(days);
  }
}

/** 1 (Monday) to 7 (Sunday); day 0, 1970-01-01, was a Thursday. */
function isoWeekday(days: number): number {
  return ((((days + 3) % 7) + 7) % 7) + 1;
}

/** ISO 8601: week 1 holds the year's first Thursday; the week of a date is that of its Thursday. */
function isoWeek(days: number): number {
  const thursday = days + 4 - isoWeekday(days);
  const jan1 = daysFromCivil(civilFromDays(thursday)[0], 1, 1);
  return Math.floor((thursday - jan1) / 7) + 1;
}

// ---------------------------------------------------------------- dateShift
export const DATE_SHIFT_INFO = "privacy-date-shift";
const DAY_MS = 86_400_000;

export interface DateShiftOptions {
  minDays: number;
  maxDays: number;
  /** Shift by whole weeks only, so each date keeps its weekday (weekly patterns survive). */
  keepWeekday: boolean;
}

/** The shifts a rule can give, in ascending order: the range without 0 (and, keeping weekdays, weeks only). */
function shiftRange(o: DateShiftOptions): { lo: number; hi: number; unit: number } {
  const unit = o.keepWeekday ? 7 : 1;
  return { lo: Math.ceil(o.minDays / unit), hi: Math.floor(o.maxDays / unit), unit };
}

/** How many shifts the options allow (0 means the rule can never shift). */
export function shiftCount(o: DateShiftOptions): number {
  const { lo, hi } = shiftRange(o);
  if (hi < lo) return 0;
  return hi - lo + 1 - (lo <= 0 && hi >= 0 ? 1 : 0);
}

/**
 * Keyed, per-subject date shifts over a 32-byte subkey:
 *   h     = HMAC-SHA256(subkey, UTF-8 of String(subject))
 *   i     = (first 8 bytes of h as an unsigned big-endian integer) mod n
 *   shift = the i-th (from 0) of the n allowed shifts in ascending order, in days
 * The subkey is HKDF-SHA256(key, salt = empty, info = "privacy-date-shift", 32), derived
 * by the keyring. The same subject always gets the same shift, so the intervals between
 * one person's dates stay true; without the key the shift cannot be computed.
 */
export class DateShifter {
  private readonly key: KeyObject;
  /** subject -> the first 8 bytes of its HMAC, as two 32-bit halves */
  private readonly memo = new Map<string, [number, number]>();
  static readonly MEMO_MAX = 10000;

  constructor(subkey: Buffer) {
    if (!Buffer.isBuffer(subkey) || subkey.length < 32) throw new Error("dateShift needs a 32-byte subkey");
    this.key = createSecretKey(subkey);
  }

  /** The shift in days for this subject. */
  shiftDays(subject: string, o: DateShiftOptions): number {
    let h = this.memo.get(subject);
    if (h === undefined) {
      const mac = createHmac("sha256", this.key).update(subject, "utf8").digest();
      h = [mac.readUInt32BE(0), mac.readUInt32BE(4)];
      if (this.memo.size >= DateShifter.MEMO_MAX) this.memo.clear();
      this.memo.set(subject, h);
    }
    const n = shiftCount(o);
    if (n === 0) throw new Error("dateShift: the range allows no shift");
    const { lo, hi, unit } = shiftRange(o);
    // (hi * 2^32 + lo) mod n without bigints: every product stays below 2^53 for n below 2^20
    let step = lo + (((h[0] % n) * (2 ** 32 % n) + h[1]) % n);
    if (lo <= 0 && hi >= 0 && step >= 0) step++; // 0 is not a shift: it would leave the real dates
    return step * unit;
  }
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})((?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)$/;

/**
 * A date moved by whole days, in the form it came: an ISO 8601 date or date-time string
 * (the calendar date changes; time of day and offset are kept as written), a millisecond
 * epoch number, or a Date.
 */
export function shiftDate(value: unknown, days: number): unknown {
  return applyShift(parseShiftable(value), days);
}

/**
 * A date as dateShift reads it: its kind, its time in ms (for text, the calendar day's
 * midnight UTC) and, for text, what follows the date (time of day and offset, kept as written).
 */
export interface Shiftable {
  kind: "number" | "date" | "text";
  t: number;
  rest: string;
}

/** Reads a value dateShift can move, or throws an OperatorTypeError (before a subject is needed). */
export function parseShiftable(value: unknown): Shiftable {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw wrongType("dateShift", "a date", value);
    return { kind: "number", t: value, rest: "" };
  }
  if (isDate(value)) {
    const t = value.getTime();
    if (Number.isNaN(t)) throw new OperatorTypeError("dateShift expects a valid date");
    return { kind: "date", t, rest: "" };
  }
  if (typeof value !== "string") {
    throw wrongType("dateShift", "an ISO 8601 date string, an epoch number or a Date", value);
  }
  const m = ISO_DATE.exec(value) ?? ISO_DATE.exec(value.trim());
  if (!m) throw new OperatorTypeError("dateShift expects an ISO 8601 date such as 2024-03-15 or 2024-03-15T10:22:00Z");
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 100 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) {
    throw new OperatorTypeError("dateShift expects a valid calendar date");
  }
  return { kind: "text", t: daysFromCivil(y, mo, d) * DAY_MS, rest: m[4] };
}

export function applyShift(p: Shiftable, days: number): unknown {
  const t = p.t + days * DAY_MS;
  if (p.kind === "number") return t;
  if (p.kind === "date") {
    // past the range of a Date (8.64e15 ms from 1970) it would be an Invalid Date
    if (Math.abs(t) > 8.64e15) throw new OperatorTypeError("dateShift: the shifted date is out of range");
    return new Date(t);
  }
  const [year, month, day] = civilFromDays(Math.round(t / DAY_MS));
  if (year < 0 || year > 9999) throw new OperatorTypeError("dateShift: the shifted date is outside years 0-9999");
  const two = (n: number): string => (n < 10 ? `0${n}` : String(n));
  return `${String(year).padStart(4, "0")}-${two(month)}-${two(day)}${p.rest}`;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

// Calendar arithmetic without a Date per value (H. Hinnant, "chrono-compatible low-level date algorithms").
function daysFromCivil(year: number, m: number, d: number): number {
  const y = m <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

// ---------------------------------------------------------------- bucket
export interface RangeBucket {
  below: number;
  label: string;
}

export interface BucketOptions {
  mode: "fixed" | "ranges";
  /** fixed: bucket width, buckets start at origin + i * width. */
  width: number;
  origin: number;
  /** fixed: "range" text ("20-29"), or the bucket's lower bound or middle as a number. */
  output: "range" | "lower" | "middle";
  /** ranges: ascending upper bounds (exclusive) with their labels, as minimize's bucket. */
  buckets: RangeBucket[];
  /** ranges: the label of values at or above the last bound (default ">= last"). */
  above?: string;
}

/** Puts a number into a bucket: 23.4 with width 10 -> "20-29" (or 20, or 25); 17 with ranges 18: minor -> "minor". */
export function bucket(value: unknown, o: BucketOptions): string | number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw wrongType("bucket", "a finite number", value);
  if (o.mode === "ranges") {
    for (const b of o.buckets) if (value < b.below) return b.label;
    return o.above ?? `>= ${o.buckets[o.buckets.length - 1].below}`;
  }
  const lo = floorTo(value, o.width, o.origin);
  if (o.output === "lower") return Number(fmt(lo));
  if (o.output === "middle") return Number(fmt(finiteOr(lo + o.width / 2, lo)));
  const integral = Number.isInteger(o.width) && Number.isInteger(o.origin);
  return `${fmt(lo)}-${fmt(finiteOr(integral ? lo + o.width - 1 : lo + o.width, lo))}`;
}
