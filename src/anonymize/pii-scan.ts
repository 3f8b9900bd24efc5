/**
 * Finds personal data inside free text: email, phone, IPv4, IPv6, MAC, payment card
 * (Luhn and issuer prefix checked), IBAN (mod-97 checked), URL and latitude/longitude
 * pairs. Built for device logs and notes, where most digit runs are versions,
 * timestamps, serials and readings, so each detector prefers missing an odd format
 * to reporting a reading as a phone number.
 *
 * Overlaps are settled by priority: a URL holds the IP or email inside it, an IBAN or a
 * card number is never also a phone number. Detectors anchor on a cheap trigger ('@',
 * '://', ':') where a regular expression would retry at every position.
 */
import { isIPv6 } from "node:net";
import { cardBrand, ibanValid, IBAN_LENGTHS, luhnValid } from "./pii-checksums";

export const ENTITY_TYPES = ["url", "email", "iban", "card", "mac", "ipv6", "ipv4", "coordinates", "phone"] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** The tag `replace` writes by default, e.g. `<EMAIL>`. */
export const ENTITY_TAGS: Readonly<Record<EntityType, string>> = {
  url: "<URL>",
  email: "<EMAIL>",
  iban: "<IBAN>",
  card: "<CARD>",
  mac: "<MAC>",
  ipv6: "<IPV6>",
  ipv4: "<IPV4>",
  coordinates: "<COORDINATES>",
  phone: "<PHONE>",
};

export interface Entity {
  type: EntityType;
  /** UTF-16 offsets into the scanned text, end exclusive. */
  start: number;
  end: number;
}

type Detector = (text: string, out: Entity[]) => void;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);
const isWordChar = (c: number): boolean => isAlnum(c) || c === 95;
const isHex = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** True when position i does not continue a word or a number ("1234-5"). */
function boundaryAfter(text: string, i: number): boolean {
  if (i >= text.length) return true;
  const c = text.charCodeAt(i);
  if (isWordChar(c)) return false;
  if ((c === 46 || c === 45) && i + 1 < text.length && isDigit(text.charCodeAt(i + 1))) return false;
  return true;
}

// ---------------------------------------------------------------- email
const isLocalChar = (c: number): boolean => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45; // . _ % + -
const isDomainChar = (c: number): boolean => isAlnum(c) || c === 46 || c === 45; // . -

function detectEmail(text: string, out: Entity[]): void {
  let at = text.indexOf("@");
  while (at >= 0) {
    let s = at;
    while (s > 0 && at - s < 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
    while (s < at && text.charCodeAt(s) === 46) s++; // a local part does not start with '.'
    let e = at + 1;
    while (e < text.length && e - at < 254 && isDomainChar(text.charCodeAt(e))) e++;
    while (e > at + 1 && (text.charCodeAt(e - 1) === 46 || text.charCodeAt(e - 1) === 45)) e--;
    if (s < at && text.charCodeAt(at - 1) !== 46 && validDomain(text.slice(at + 1, e))) {
      out.push({ type: "email", start: s, end: e });
    }
    at = text.indexOf("@", Math.max(e, at + 1));
  }
}

const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}$/;
function validDomain(d: string): boolean {
  return DOMAIN.test(d);
}

// ---------------------------------------------------------------- url
const SCHEMES = new Set(["http", "https", "ftp", "ftps", "sftp", "ws", "wss", "mqtt", "mqtts", "coap", "coaps", "rtsp", "rtmp"]);
const URL_STOP = /[\s<>"'`{}|\\^]/;
const TRAILING = ".,;:!?'\")]";

function detectUrl(text: string, out: Entity[]): void {
  let i = text.indexOf("://");
  while (i >= 0) {
    let s = i;
    while (s > 0 && isAlpha(text.charCodeAt(s - 1))) s--;
    const scheme = text.slice(s, i).toLowerCase();
    let e = i + 3;
    if (SCHEMES.has(scheme) && (s === 0 || !isWordChar(text.charCodeAt(s - 1)))) {
      e = urlEnd(text, e);
      if (e > i + 3) out.push({ type: "url", start: s, end: e });
    }
    i = text.indexOf("://", e);
  }
  const www = /\bwww\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/gi;
  for (let m = www.exec(text); m !== null; m = www.exec(text)) {
    const e = urlEnd(text, m.index + m[0].length);
    out.push({ type: "url", start: m.index, end: e });
    www.lastIndex = e;
  }
}

function urlEnd(text: string, from: number): number {
  let e = from;
  while (e < text.length && !URL_STOP.test(text[e])) e++;
  // trailing punctuation ends the sentence, not the URL; a ')' stays only if it closes a '('
  for (;;) {
    const c = text[e - 1];
    if (e <= from || !TRAILING.includes(c)) break;
    if (c === ")") {
      const body = text.slice(from, e);
      if ((body.match(/\(/g)?.length ?? 0) >= (body.match(/\)/g)?.length ?? 0)) break;
    }
    e--;
  }
  return e;
}

// ---------------------------------------------------------------- iban
const IBAN_START = /\b[A-Za-z]{2}\d{2}[ ]?[A-Za-z0-9]/g;

function detectIban(text: string, out: Entity[]): void {
  IBAN_START.lastIndex = 0;
  for (let m = IBAN_START.exec(text); m !== null; m = IBAN_START.exec(text)) {
    const country = m[0].slice(0, 2).toUpperCase();
    const need = IBAN_LENGTHS[country];
    if (need === undefined) {
      IBAN_START.lastIndex = m.index + 1;
      continue;
    }
    // collect `need` alphanumerics, allowing single spaces between groups
    let e = m.index;
    let compact = "";
    while (e < text.length && compact.length < need) {
      const c = text.charCodeAt(e);
      if (isAlnum(c)) {
        compact += text[e];
        e++;
      } else if (c === 32 && compact.length > 0 && e + 1 < text.length && isAlnum(text.charCodeAt(e + 1))) {
        e++;
      } else break;
    }
    if (compact.length === need && (e >= text.length || !isAlnum(text.charCodeAt(e))) && ibanValid(compact)) {
      out.push({ type: "iban", start: m.index, end: e });
      IBAN_START.lastIndex = e;
    } else {
      IBAN_START.lastIndex = m.index + 1;
    }
  }
}

// ---------------------------------------------------------------- digit runs
/** A run of digit groups joined by separators, in absolute offsets. */
interface Group {
  s: number;
  e: number;
}

/**
 * Calls `each` with the digit groups of every run that `re` matches. `re` must match
 * whole runs (digits joined by separators) so that it never fails part-way and
 * restarts at the next digit: that restart is what makes a naive pattern quadratic.
 */
function forEachRun(
  text: string,
  re: RegExp,
  minDigits: number,
  maxGap: number,
  each: (groups: Group[]) => void,
  worthIt: (start: number, end: number) => boolean = () => true,
): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const end = m.index + m[0].length;
    if (end - m.index < minDigits || !worthIt(m.index, end)) continue;
    let groups: Group[] = [];
    let digits = 0;
    let i = m.index;
    while (i < end) {
      const gapStart = i;
      while (i < end && !isDigit(text.charCodeAt(i))) i++;
      // a longer gap than a number has between its groups splits the run
      if (i - gapStart > maxGap) {
        if (digits >= minDigits) each(groups);
        groups = [];
        digits = 0;
      }
      const s = i;
      while (i < end && isDigit(text.charCodeAt(i))) i++;
      if (i > s) groups.push({ s, e: i });
      digits += i - s;
    }
    if (digits >= minDigits) each(groups);
  }
}

function digitsOf(text: string, s: number, e: number): string {
  let d = "";
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) d += text[i];
  }
  return d;
}

// ---------------------------------------------------------------- card
// greedy over the class, then back to the last digit: linear; a run too short to be a card fails after a few characters
// the lookbehind starts a match only where a digit run starts, never again inside it
const CARD_RUN = /(?<!\d)\d[\d -]{10,}\d/g;
const gluedToCard = (c: number): boolean => isWordChar(c) || c === 46 || c === 45 || c === 43;

function detectCard(text: string, out: Entity[]): void {
  forEachRun(text, CARD_RUN, 12, 1, (groups) => {
    const last = groups.length - 1;
    // from the start of the run only (a number starting mid-run passes Luhn one time in
    // ten), longest first, so "4111 1111 1111 1111 22" still finds the card
    for (let a = 0; a <= 0; a++) {
      if (groups[0].s > 0 && gluedToCard(text.charCodeAt(groups[0].s - 1))) continue;
      for (let b = last; b >= a; b--) {
        if (b === last && !boundaryAfter(text, groups[b].e)) continue;
        if (groups[b].e - groups[a].s < 12) break;
        // one kind of separator only: "4111 1111-1111 1111" is not how a card is written
        let sep = "";
        let mixed = false;
        for (let g = a + 1; g <= b && !mixed; g++) {
          const c = text[groups[g].s - 1];
          if (sep === "") sep = c;
          else if (c !== sep) mixed = true;
        }
        if (mixed) continue;
        const digits = digitsOf(text, groups[a].s, groups[b].e);
        if (digits.length < 12 || digits.length > 19) continue;
        if (cardBrand(digits) !== undefined && luhnValid(digits)) {
          out.push({ type: "card", start: groups[a].s, end: groups[b].e });
          return;
        }
      }
    }
  });
}

// ---------------------------------------------------------------- mac
const MAC_SEPARATED = /[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}/y;
const MAC_DOTTED = /[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}/y;
// twelve bare hex digits are as often a serial or a hash prefix: only right after "mac" and the like
const MAC_BARE = /\b(?:mac|bssid|hwaddr|ether|eui)\W{0,3}(?:addr(?:ess)?\W{0,3})?(?:is\W{1,3})?([0-9A-Fa-f]{12})\b/gi;
const MAC_CONTEXT = /(?:mac|bssid|hwaddr|ether|eui)\W{0,3}(?:addr(?:ess)?\W{0,3})?(?:is\W{1,3})?$/i;

/**
 * Tries a sticky pattern `back` characters before each `sep`: separators are rare in
 * text, hex letters are not, so this looks at far fewer places than a global regex.
 */
function findAround(text: string, sep: string, back: number, re: RegExp, accept: (s: number, e: number) => boolean, out: Entity[]): void {
  const code = sep.charCodeAt(0);
  let i = text.indexOf(sep, back);
  while (i >= 0) {
    const s = i - back;
    // most separators are in times, dates and sentences: test a few characters before the regex
    if (!isHex(text.charCodeAt(i - 1)) || !isHex(text.charCodeAt(i + 1)) || text.charCodeAt(i + back + 1) !== code || (back === 2 && text.charCodeAt(i + 6) !== code)) {
      i = text.indexOf(sep, i + 1);
      continue;
    }
    re.lastIndex = s;
    const m = re.exec(text);
    if (m !== null) {
      const e = s + m[0].length;
      const before = s > 0 ? text.charCodeAt(s - 1) : 32;
      const after = e < text.length ? text.charCodeAt(e) : 32;
      const afterNext = e + 1 < text.length ? text.charCodeAt(e + 1) : 32;
      const glued = (c: number): boolean => isWordChar(c) || c === 58 || c === 45 || c === 46;
      if (!glued(before) && !(glued(after) && (after !== 46 || isWordChar(afterNext))) && accept(s, e)) {
        out.push({ type: "mac", start: s, end: e });
        i = text.indexOf(sep, e + back);
        continue;
      }
    }
    i = text.indexOf(sep, i + 1);
  }
}

function detectMac(text: string, out: Entity[]): void {
  findAround(text, ":", 2, MAC_SEPARATED, () => true, out);
  findAround(text, "-", 2, MAC_SEPARATED, () => true, out);
  // 1234.5678.9abc (Cisco style); all-digit triples are more often versions or readings
  findAround(text, ".", 4, MAC_DOTTED, (s, e) => /[A-Fa-f]/.test(text.slice(s, e)) || MAC_CONTEXT.test(text.slice(Math.max(0, s - 16), s)), out);
  MAC_BARE.lastIndex = 0;
  for (let m = MAC_BARE.exec(text); m !== null; m = MAC_BARE.exec(text)) {
    const end = m.index + m[0].length;
    out.push({ type: "mac", start: end - 12, end });
  }
}

// ---------------------------------------------------------------- ipv6

function detectIpv6(text: string, out: Entity[]): void {
  let i = text.indexOf(":");
  while (i >= 0) {
    let s = i;
    while (s > 0 && (isHex(text.charCodeAt(s - 1)) || text.charCodeAt(s - 1) === 58)) s--;
    const before = s > 0 ? text.charCodeAt(s - 1) : 32;
    // "T10:22:33Z", "std::vector": glued to a word or a number; the most common colon in logs
    if (isWordChar(before) || before === 46) {
      i = text.indexOf(":", i + 1);
      continue;
    }
    let e = i;
    let colons = 0;
    let digit = false;
    while (e < text.length) {
      const c = text.charCodeAt(e);
      if (c === 58) colons++;
      else if (isDigit(c)) digit = true;
      else if (!isHex(c) && c !== 46) break;
      e++;
    }
    // no digit at all: "a::b", "dead::beef" are code and words far more often than addresses
    if (colons + countColons(text, s, i) >= 2 && (digit || /\d/.test(text.slice(s, i)))) {
      let cand = text.slice(s, e);
      // a trailing '.' or ':' ends a sentence or a label, not the address
      while (cand.length > 0 && (cand.endsWith(".") || (cand.endsWith(":") && !cand.endsWith("::")))) cand = cand.slice(0, -1);
      let end = s + cand.length;
      if (text.charCodeAt(end) === 37) {
        const z = /^%[\w.-]+/.exec(text.slice(end, end + 20));
        if (z) end += z[0].length;
      }
      const after = end < text.length ? text.charCodeAt(end) : 32;
      if (cand.length >= 2 && !isWordChar(after) && isIPv6(cand)) out.push({ type: "ipv6", start: s, end });
    }
    i = text.indexOf(":", Math.max(e, i + 1));
  }
}

function countColons(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) if (text.charCodeAt(k) === 58) n++;
  return n;
}

// ---------------------------------------------------------------- ipv4
const IPV4 = /(?<![\w.])(?:25[0-5]|2[0-4]\d|1\d\d|0?[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|0?[1-9]?\d)){3}(?!\w|\.\d)/g;
// "firmware 1.2.3.4" is a version, not an address
const VERSION_CONTEXT = /\b(?:version|ver|firmware|fw|release|build|sw|v)[\s:=]{0,3}$/i;

function detectIpv4(text: string, out: Entity[]): void {
  IPV4.lastIndex = 0;
  for (let m = IPV4.exec(text); m !== null; m = IPV4.exec(text)) {
    if (VERSION_CONTEXT.test(text.slice(Math.max(0, m.index - 12), m.index))) continue;
    out.push({ type: "ipv4", start: m.index, end: m.index + m[0].length });
  }
}

// ---------------------------------------------------------------- coordinates
const COORD_PAIR = /(?<![\w.])([-+]?\d{1,2}\.(\d{2,}))(?:\s?°\s?([NSns]))?\s*[,;\/ ]\s*([-+]?\d{1,3}\.(\d{2,}))(?:\s?°\s?([EWew]))?(?!\w|\.\d)/g;
const COORD_LABELLED = /\b(?:lat|latitude)\b["']?\s*[:=]\s*([-+]?\d{1,2}(?:\.\d+)?)["']?\s*[,;]?\s*["']?(?:lon|lng|long|longitude)\b["']?\s*[:=]\s*([-+]?\d{1,3}(?:\.\d+)?)/gi;
const GEO_CONTEXT = /(?:lat|lon|lng|gps|geo|location|loc|position|pos|coord|coordinates|at)\W{0,4}$/i;

function detectCoordinates(text: string, out: Entity[]): void {
  COORD_PAIR.lastIndex = 0;
  for (let m = COORD_PAIR.exec(text); m !== null; m = COORD_PAIR.exec(text)) {
    const lat = Number(m[1]);
    const lon = Number(m[4]);
    if (Math.abs(lat) > 90 || Math.abs(lon) > 180) continue;
    // three-decimal readings ("21.500, 40.250") are common: bare pairs need 4 decimals, a label or a hemisphere
    const precise = m[2].length >= 4 && m[5].length >= 4;
    const labelled = m[3] !== undefined || m[6] !== undefined || GEO_CONTEXT.test(text.slice(Math.max(0, m.index - 16), m.index));
    if (!precise && !labelled) continue;
    out.push({ type: "coordinates", start: m.index, end: m.index + m[0].length });
  }
  COORD_LABELLED.lastIndex = 0;
  for (let m = COORD_LABELLED.exec(text); m !== null; m = COORD_LABELLED.exec(text)) {
    if (Math.abs(Number(m[1])) > 90 || Math.abs(Number(m[2])) > 180) continue;
    const start = m.index + m[0].indexOf(m[1], m[0].search(/[:=]/));
    out.push({ type: "coordinates", start, end: m.index + m[0].length });
  }
}

// ---------------------------------------------------------------- phone
const PHONE_RUN = /(?<!\d)\d[\d \t().\/-]{5,}\d/g;
const gluedToPhone = (c: number): boolean => isWordChar(c) || c === 64 || c === 46 || c === 47 || c === 58 || c === 45;
const PHONE_CONTEXT = /\b(?:tel|phone|call|mobile|mob|cell|fax|sms|whatsapp|ph|telefon|handy|rufnummer|contact|number|nr|no)\b/i;
const DATE_INSIDE = /\b\d{4}[-\/.]\d{1,2}[-\/.]\d{1,2}\b|\b\d{1,2}[-\/.]\d{1,2}[-\/.]\d{2,4}\b/;

function detectPhone(text: string, out: Entity[]): void {
  forEachRun(text, PHONE_RUN, 7, 2, (groups) => {
    const last = groups.length - 1;
    let a = 0;
    while (a <= last) {
      // where a number may start: after a space or a bracket, with its '+' or '(' in front
      let start = groups[a].s;
      if (text[start - 1] === "+") start--;
      if (text[start - 1] === "(") start--;
      const prev = start > 0 ? text.charCodeAt(start - 1) : 32;
      let found = -1;
      // inside a run, a number starts only where it is marked: "(0)30 ...", "+49 ..."
      const marked = a === 0 || start < groups[a].s || groups[a].s - groups[a - 1].e > 1;
      if (marked && !gluedToPhone(prev) && prev !== 43) {
        let digits = 0;
        for (let g = a; g <= last; g++) digits += groups[g].e - groups[g].s;
        for (let b = last; b >= a && found < 0; digits -= groups[b].e - groups[b].s, b--) {
          if (digits > 17) continue;
          if (digits < 7) break;
          if (!plausibleShape(text, start, groups, a, b)) continue;
          const end = groups[b].e;
          let after = end;
          if (text[after] === ")" && text.lastIndexOf("(", end) > start) after++;
          if (b === last && (!boundaryAfter(text, after) || text[after] === "@" || /^[\/]\d/.test(text.slice(after, after + 2)))) continue;
          if (b < last && !/^[ \t]/.test(text.slice(end, end + 1))) continue;
          if (phoneLike(text.slice(start, end), text, start)) {
            out.push({ type: "phone", start, end });
            found = b;
          }
        }
      }
      a = found >= 0 ? found + 1 : a + 1;
    }
  }, phoneWorthIt(text));
}

/**
 * Most runs are dates and readings: without a '+', '(' or leading 0 only a North
 * American number (10 digits) can be in there, so shorter runs are skipped before any
 * allocation.
 */
function phoneWorthIt(text: string): (start: number, end: number) => boolean {
  return (start, end) => {
    const before = start > 0 ? text.charCodeAt(start - 1) : 32;
    if (before === 43 || before === 40 || text.charCodeAt(start) === 48) return true;
    let digits = 0;
    for (let i = start; i < end; i++) if (isDigit(text.charCodeAt(i))) digits++;
    return digits >= 10;
  };
}

/**
 * Without a '+' or a leading 0 only the North American shapes can be a phone number:
 * rejects most dates, readings and serials before any string is built.
 */
function plausibleShape(text: string, start: number, groups: Group[], a: number, b: number): boolean {
  if (text.charCodeAt(start) === 43 || text.charCodeAt(start + 1) === 43 || text.charCodeAt(groups[a].s) === 48) return true;
  const len = (g: number): number => groups[g].e - groups[g].s;
  const n = b - a + 1;
  if (n === 1) return len(a) === 10;
  if (n === 3) return len(a) === 3 && len(a + 1) === 3 && len(a + 2) === 4;
  if (n === 4) return len(a) === 1 && len(a + 1) === 3 && len(a + 2) === 3 && len(a + 3) === 4;
  return false;
}

/** Cheap tests first: most candidates are dates, readings and serials. */
function phoneLike(cand: string, text: string, start: number): boolean {
  const digits = digitsOf(cand, 0, cand.length);
  const n = digits.length;
  if (n < 7 || n > 17) return false;
  const groups = cand.split(/\D+/).filter((g) => g !== "");
  const shape = groups.map((x) => x.length).join("-");
  let plausible: boolean;
  let needsContext = false;
  if (cand[0] === "+" || cand.startsWith("(+")) {
    plausible = n >= 8 && n <= 15 && digits[0] !== "0";
  } else if (digits[0] === "0" && digits[1] === "0") {
    // 00 + country code, the international prefix dialled from most countries
    plausible = digits[2] !== "0" && n >= 10 && n <= 17;
    needsContext = groups.length < 2;
  } else if ((shape === "3-3-4" || shape === "1-3-3-4") && /^1?[2-9]\d\d[2-9]/.test(digits) && (n === 10 || digits[0] === "1")) {
    // North American: (NXX) NXX-XXXX, NXX-NXX-XXXX, NXX.NXX.XXXX, 1-NXX-NXX-XXXX
    plausible = !cand.includes(".") || /^(?:1\.)?\d{3}\.\d{3}\.\d{4}$/.test(cand);
  } else if (shape === "10" && /^[2-9]\d\d[2-9]/.test(digits)) {
    plausible = true;
    needsContext = true;
  } else if (digits[0] === "0" && n >= 9 && n <= 12 && !cand.includes(".")) {
    // national numbers with a trunk 0 (most of Europe, Asia, Australia); dotted ones are dates
    plausible = groups.length === 1 || (groups[0].length >= 2 && groups[0].length <= 5 && groups.every((x) => x.length >= 2));
    needsContext = groups.length === 1;
  } else {
    return false;
  }
  if (!plausible) return false;
  if (/\s{2,}|[-.\/]{2,}/.test(cand) || DATE_INSIDE.test(cand)) return false;
  return !needsContext || PHONE_CONTEXT.test(text.slice(Math.max(0, start - 24), start));
}

// ---------------------------------------------------------------- scan
const DETECTORS: Readonly<Record<EntityType, Detector>> = {
  url: detectUrl,
  email: detectEmail,
  iban: detectIban,
  card: detectCard,
  mac: detectMac,
  ipv6: detectIpv6,
  ipv4: detectIpv4,
  coordinates: detectCoordinates,
  phone: detectPhone,
};

/**
 * The entities in `text` of the given types (all by default), sorted by position and
 * never overlapping: where two overlap, the earlier type in ENTITY_TYPES wins.
 */
export function scanText(text: string, types: readonly EntityType[] = ENTITY_TYPES): Entity[] {
  const accepted: Entity[] = [];
  if (text.length === 0) return accepted;
  for (const type of ENTITY_TYPES) {
    if (!types.includes(type)) continue;
    const found: Entity[] = [];
    DETECTORS[type](text, found);
    for (const e of found) if (e.end > e.start) claim(accepted, e);
  }
  return accepted;
}

/** Inserts e into the sorted list unless it overlaps an entity already there. */
function claim(sorted: Entity[], e: Entity): void {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid].start < e.start) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && sorted[lo - 1].end > e.start) return;
  if (lo < sorted.length && sorted[lo].start < e.end) return;
  sorted.splice(lo, 0, e);
}

/**
 * Rebuilds text with each entity replaced by what `replace` returns for it. A value
 * found once is then replaced wherever else it occurs too (say glued to a word, where
 * the detector did not report it): once a value is known to be personal data, no copy
 * of it stays in the output.
 */
export function replaceEntities(text: string, entities: readonly Entity[], replace: (entity: Entity, value: string) => string): string {
  if (entities.length === 0) return text;
  let out = "";
  let last = 0;
  const replaced = new Map<string, string>();
  for (const e of entities) {
    const value = text.slice(e.start, e.end);
    const r = replace(e, value);
    if (!replaced.has(value)) replaced.set(value, r);
    out += text.slice(last, e.start) + r;
    last = e.end;
  }
  out += text.slice(last);
  for (const [value, r] of replaced) {
    if (value !== r && !r.includes(value) && out.includes(value)) out = out.split(value).join(r);
  }
  return out;
}
