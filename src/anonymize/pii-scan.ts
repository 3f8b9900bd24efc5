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
 *
 * Every detector runs in time linear in the text, whatever the text: a message of 64 KiB
 * must not hold the event loop (design, section 4). So no region is read again from
 * each position inside it: runs of digits, of address characters and URL tails are
 * tokenized once from left to right, each candidate looks at a bounded window, and
 * every quantifier in a regular expression that can fail part-way is bounded.
 */
import { isIPv6 } from "node:net";
import { cardBrandOf, IBAN_LENGTHS, luhnIn, mod97Step } from "./pii-checksums";

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
/** The characters of a regular expression's `\s`. */
const isSpace = (c: number): boolean =>
  (c >= 9 && c <= 13) ||
  c === 32 ||
  c === 0xa0 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000 ||
  c === 0xfeff;

/** True when position i does not continue a word or a number ("1234-5"). */
function boundaryAfter(text: string, i: number): boolean {
  if (i >= text.length) return true;
  const c = text.charCodeAt(i);
  if (isWordChar(c)) return false;
  if ((c === 46 || c === 45) && i + 1 < text.length && isDigit(text.charCodeAt(i + 1))) return false;
  return true;
}

// ---------------------------------------------------------------- email
// . _ % + -
const isLocalChar = (c: number): boolean => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
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

// the top-level label is letters, or an internationalized one in its ASCII form (xn--p1ai)
const DOMAIN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,24}|[Xx][Nn]--[A-Za-z0-9-]{0,58}[A-Za-z0-9])$/;
function validDomain(d: string): boolean {
  return DOMAIN.test(d);
}

// ---------------------------------------------------------------- url
const SCHEMES = new Set([
  "http",
  "https",
  "ftp",
  "ftps",
  "sftp",
  "ws",
  "wss",
  "mqtt",
  "mqtts",
  "coap",
  "coaps",
  "rtsp",
  "rtmp",
]);
const LONGEST_SCHEME = 5;
// < > " ' ` { } | \ ^ and white space end a URL
const isUrlStop = (c: number): boolean =>
  isSpace(c) ||
  c === 60 ||
  c === 62 ||
  c === 34 ||
  c === 39 ||
  c === 96 ||
  c === 123 ||
  c === 125 ||
  c === 124 ||
  c === 92 ||
  c === 94;
// . , ; : ! ? ' " ) ] at the end belong to the sentence
const isTrailing = (c: number): boolean =>
  c === 46 || c === 44 || c === 59 || c === 58 || c === 33 || c === 63 || c === 39 || c === 34 || c === 41 || c === 93;
const WWW = /www\./gi;

function detectUrl(text: string, out: Entity[]): void {
  let i = text.indexOf("://");
  while (i >= 0) {
    // a scheme longer than ours is not one of ours: the walk back stops one letter past it
    let s = i;
    while (s > 0 && i - s <= LONGEST_SCHEME && isAlpha(text.charCodeAt(s - 1))) s--;
    let e = i + 3;
    if (
      i - s <= LONGEST_SCHEME &&
      SCHEMES.has(text.slice(s, i).toLowerCase()) &&
      (s === 0 || !isWordChar(text.charCodeAt(s - 1)))
    ) {
      e = urlEnd(text, e);
      if (e > i + 3) out.push({ type: "url", start: s, end: e });
    }
    i = text.indexOf("://", e);
  }
  // www. then at least two dot-separated labels; a label holds no dot, so a failed host
  // never contains the next "www." and no character is read twice
  WWW.lastIndex = 0;
  for (let m = WWW.exec(text); m !== null; m = WWW.exec(text)) {
    if (m.index > 0 && isWordChar(text.charCodeAt(m.index - 1))) continue;
    let e = m.index + 4;
    let labels = 0;
    let host = e;
    for (;;) {
      const l = e;
      while (e < text.length && (isAlnum(text.charCodeAt(e)) || text.charCodeAt(e) === 45)) e++;
      if (e === l) break;
      labels++;
      host = e;
      if (text.charCodeAt(e) !== 46) break;
      e++;
    }
    if (labels < 2) continue;
    const end = urlEnd(text, host);
    out.push({ type: "url", start: m.index, end });
    WWW.lastIndex = end;
  }
}

/**
 * Where a URL whose host ends at `from` stops. Brackets are counted on the way out, so
 * trimming a trailing ')' costs nothing more than the scan.
 */
function urlEnd(text: string, from: number): number {
  let e = from;
  let open = 0;
  let close = 0;
  for (; e < text.length; e++) {
    const c = text.charCodeAt(e);
    if (isUrlStop(c)) break;
    if (c === 40) open++;
    else if (c === 41) close++;
  }
  // trailing punctuation ends the sentence, not the URL; a ')' stays only if it closes a '('
  while (e > from) {
    const c = text.charCodeAt(e - 1);
    if (!isTrailing(c)) break;
    if (c === 41) {
      if (open >= close) break;
      close--;
    }
    e--;
  }
  return e;
}

// ---------------------------------------------------------------- iban
const IBAN_START = /\b[A-Za-z]{2}\d{2}[ -]?[A-Za-z0-9]/g;

function detectIban(text: string, out: Entity[]): void {
  IBAN_START.lastIndex = 0;
  for (let m = IBAN_START.exec(text); m !== null; m = IBAN_START.exec(text)) {
    const country = m[0].slice(0, 2).toUpperCase();
    const need = IBAN_LENGTHS[country];
    if (need === undefined) {
      IBAN_START.lastIndex = m.index + 1;
      continue;
    }
    // count `need` alphanumerics, allowing single spaces or single dashes between groups,
    // one kind in one IBAN, and check them on the way: no string is built for a candidate
    let e = m.index;
    let count = 0;
    let sep = -1;
    let rem = 0;
    while (e < text.length && count < need) {
      const c = text.charCodeAt(e);
      if (isAlnum(c)) {
        if (++count > 4) rem = mod97Step(rem, c);
        e++;
      } else if (
        (c === 32 || c === 45) &&
        (sep < 0 || c === sep) &&
        count > 0 &&
        e + 1 < text.length &&
        isAlnum(text.charCodeAt(e + 1))
      ) {
        sep = c;
        e++;
      } else break;
    }
    // the country and check digits count last; the start pattern put them side by side
    for (let i = m.index; i < m.index + 4; i++) rem = mod97Step(rem, text.charCodeAt(i));
    if (count === need && (e >= text.length || !isAlnum(text.charCodeAt(e))) && rem === 1) {
      out.push({ type: "iban", start: m.index, end: e });
      IBAN_START.lastIndex = e;
    } else {
      IBAN_START.lastIndex = m.index + 1;
    }
  }
}

// ---------------------------------------------------------------- digit runs
/** A group of digits, in absolute offsets. */
interface Group {
  s: number;
  e: number;
}

/**
 * Calls `each` with the digit groups of every run that `runs` matches, and its count of
 * digits. `runs` is a global pattern (?<!\d)(?:\d SEP{0,k}){n,}: one digit per repetition,
 * so it has a single way to match; from a run's first digit it either takes the whole
 * run or fails within n digits, and a run with fewer digits is given up after at most n
 * steps from each of its groups. So every character is read a bounded number of times.
 * A pattern that can fail anywhere in a run restarts at the next digit, and that
 * restart is what makes a naive pattern quadratic.
 */
function forEachRun(text: string, runs: RegExp, each: (groups: Group[], digits: number) => void): void {
  runs.lastIndex = 0;
  for (let m = runs.exec(text); m !== null; m = runs.exec(text)) {
    const end = m.index + m[0].length;
    const groups: Group[] = [];
    let digits = 0;
    let i = m.index;
    while (i < end) {
      const s = i;
      while (i < end && isDigit(text.charCodeAt(i))) i++;
      if (i > s) groups.push({ s, e: i });
      digits += i - s;
      while (i < end && !isDigit(text.charCodeAt(i))) i++;
    }
    each(groups, digits);
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

/** True when any character in [from, to) is `code`. */
function hasCharIn(text: string, code: number, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === code) return true;
  return false;
}

// ---------------------------------------------------------------- card
// 12 or more digits in groups joined by one space or dash
const CARD_RUN = /(?<!\d)(?:\d[ -]?){12,}/g;
const gluedToCard = (c: number): boolean => isWordChar(c) || c === 46 || c === 45 || c === 43;
const MAX_CARD = 19;
const MIN_CARD = 12;
// cardAt's digit counts, kept between calls: a start allocates nothing
const CARD_ENDS = new Int32Array(MAX_CARD + 1);

/**
 * The groups of a run where a number can start are tried in turn, longest candidate
 * first ("4111 1111 1111 1111 22" still finds the card), and the next try starts after
 * the card found or after the groups the failed try looked at: so cards written side
 * by side are each found, and a number that fails never hides the card after it.
 *
 * A number that starts inside a run of evenly written groups passes Luhn one time in
 * ten ("order 1234 5678 9012 3456"), so inside a run a card may start only where a
 * number plainly starts: at the run's start, right after a card, right after the
 * groups of a failed try, or where the separator changes ("2 4012-8888-8888-1881").
 * Elsewhere only a block of 12 or more digits of its own, or a card in the layout of
 * its scheme (4-4-4-4, 4-6-5, ...) whose first group does not continue the groups
 * before it ("2 4111 1111 1111 1111", not "1234 5678 9012 3456 7890").
 */
function detectCard(text: string, out: Entity[]): void {
  forEachRun(text, CARD_RUN, (groups) => {
    // the group where a number may start next, after a card or a failed try
    let next = 0;
    const len = (g: number): number => groups[g].e - groups[g].s;
    for (let a = 0; a < groups.length; a++) {
      let mode: StartMode;
      if (
        a === next ||
        (a + 1 < groups.length && text.charCodeAt(groups[a].s - 1) !== text.charCodeAt(groups[a + 1].s - 1))
      )
        mode = "plain";
      else if (len(a) >= MIN_CARD) mode = "block";
      else if (len(a) === 4 && len(a - 1) !== 4) mode = "layout";
      else continue;
      const b = cardAt(text, groups, a, mode);
      if (b >= 0) {
        out.push({ type: "card", start: groups[a].s, end: groups[b].e });
        next = b + 1;
        a = b;
      } else if (mode === "plain") {
        next = a + 1;
        for (
          let n = 0;
          next < groups.length &&
          (n += groups[next - 1].e - groups[next - 1].s) + groups[next].e - groups[next].s <= MAX_CARD;
        )
          next++;
      }
    }
  });
}

/** Which candidates a start may have: any, its own group only, or a scheme's layout. */
type StartMode = "plain" | "block" | "layout";
// digits per group as card schemes print them: 16 and 19 digits, Amex 15, Diners 14
const LAYOUTS: readonly (readonly number[])[] = [
  [4, 4, 4, 4],
  [4, 4, 4, 4, 3],
  [4, 6, 5],
  [4, 6, 4],
];

/**
 * The last group of the longest card number that starts at group `a` and that `mode`
 * allows, or -1. Only the groups within 19 digits of `a` are looked at, and read once
 * for all candidates, so each start costs a bounded amount.
 */
function cardAt(text: string, groups: readonly Group[], a: number, mode: StartMode): number {
  // every issuer prefix starts with 1 to 6: most starts in a run of readings end here
  const first = text.charCodeAt(groups[a].s);
  if (first < 49 || first > 54) return -1;
  if (a === 0 && groups[0].s > 0 && gluedToCard(text.charCodeAt(groups[0].s - 1))) return -1;
  const last = groups.length - 1;
  // one kind of separator only: "4111 1111-1111 1111" is not how a card is written
  const sep = a < last ? text.charCodeAt(groups[a + 1].s - 1) : -1;
  let sameSep = a;
  // digits up to the end of each group, and the first six as a number for the issuer
  let n = 0;
  let window = 0;
  let first6 = 0;
  let read = 0;
  for (let g = a; g <= last && n + groups[g].e - groups[g].s <= MAX_CARD && (g === a || mode !== "block"); g++) {
    for (let i = groups[g].s; i < groups[g].e && read < 6; i++, read++) first6 = first6 * 10 + text.charCodeAt(i) - 48;
    n += groups[g].e - groups[g].s;
    CARD_ENDS[window++] = n;
    if (g === sameSep + 1 && text.charCodeAt(groups[g].s - 1) === sep) sameSep = g;
  }
  if (n < MIN_CARD) return -1;
  for (let b = Math.min(a + window - 1, sameSep); b >= a && CARD_ENDS[b - a] >= MIN_CARD; b--) {
    if (b === last && !boundaryAfter(text, groups[b].e)) continue;
    if (
      mode === "layout" &&
      !LAYOUTS.some((l) => l.length === b - a + 1 && l.every((d, k) => groups[a + k].e - groups[a + k].s === d))
    )
      continue;
    if (cardBrandOf(first6, CARD_ENDS[b - a]) !== undefined && luhnIn(text, groups[a].s, groups[b].e)) return b;
  }
  return -1;
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
function findAround(
  text: string,
  sep: string,
  back: number,
  re: RegExp,
  accept: (s: number, e: number) => boolean,
  out: Entity[],
): void {
  const code = sep.charCodeAt(0);
  let i = text.indexOf(sep, back);
  while (i >= 0) {
    const s = i - back;
    // most separators are in times, dates and sentences: test a few characters before the regex
    if (
      !isHex(text.charCodeAt(i - 1)) ||
      !isHex(text.charCodeAt(i + 1)) ||
      text.charCodeAt(i + back + 1) !== code ||
      (back === 2 && text.charCodeAt(i + 6) !== code)
    ) {
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
  const someones = (s: number, e: number): boolean => !broadcastOrZero(text, s, e);
  findAround(text, ":", 2, MAC_SEPARATED, someones, out);
  findAround(text, "-", 2, MAC_SEPARATED, someones, out);
  // 1234.5678.9abc (Cisco style); all-digit triples are more often versions or readings
  findAround(
    text,
    ".",
    4,
    MAC_DOTTED,
    (s, e) =>
      someones(s, e) && (/[A-Fa-f]/.test(text.slice(s, e)) || MAC_CONTEXT.test(text.slice(Math.max(0, s - 16), s))),
    out,
  );
  MAC_BARE.lastIndex = 0;
  for (let m = MAC_BARE.exec(text); m !== null; m = MAC_BARE.exec(text)) {
    const end = m.index + m[0].length;
    if (someones(end - 12, end)) out.push({ type: "mac", start: end - 12, end });
  }
}

/** ff:ff:ff:ff:ff:ff (broadcast) and 00:00:00:00:00:00 name no device. */
function broadcastOrZero(text: string, s: number, e: number): boolean {
  let ff = true;
  let zero = true;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i) | 32;
    if (!isHex(c)) continue;
    if (c !== 102) ff = false;
    if (c !== 48) zero = false;
  }
  return ff || zero;
}

// ---------------------------------------------------------------- ipv6
const isHexOrColon = (c: number): boolean => isHex(c) || c === 58;
// "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255": anything longer is not one address
const LONGEST_IPV6 = 45;

/**
 * Judges each run of hex digits, colons and dots that holds a colon once, by its first
 * colon, then goes on after the run: every later colon of a run would see the same
 * start, and walking back to it from each one is quadratic in a run of colons.
 */
function detectIpv6(text: string, out: Entity[]): void {
  let i = text.indexOf(":");
  while (i >= 0) {
    // i is the first colon of its run: what comes before it was read by the last step
    let s = i;
    let digit = false;
    while (s > 0 && isHexOrColon(text.charCodeAt(s - 1))) {
      s--;
      if (isDigit(text.charCodeAt(s))) digit = true;
    }
    let e = i;
    let colons = 0;
    while (e < text.length) {
      const c = text.charCodeAt(e);
      if (c === 58) colons++;
      else if (isDigit(c)) digit = true;
      else if (!isHex(c) && c !== 46) break;
      e++;
    }
    const before = s > 0 ? text.charCodeAt(s - 1) : 32;
    // "T10:22:33Z", "std::vector": glued to a word or a number; the most common colon in logs.
    // No digit at all: "a::b", "dead::beef" are code and words far more often than addresses
    if (!isWordChar(before) && before !== 46 && colons >= 2 && digit) {
      let end = e;
      // a trailing '.' or ':' ends a sentence or a label, not the address
      for (;;) {
        const c = text.charCodeAt(end - 1);
        if (c === 46 || (c === 58 && text.charCodeAt(end - 2) !== 58)) end--;
        else break;
      }
      const cand = text.slice(s, end);
      if (text.charCodeAt(end) === 37) {
        const z = /^%[\w.-]+/.exec(text.slice(end, end + 20));
        if (z) end += z[0].length;
      }
      const after = end < text.length ? text.charCodeAt(end) : 32;
      if (cand.length >= 2 && cand.length <= LONGEST_IPV6 && !isWordChar(after) && isIPv6(cand))
        out.push({ type: "ipv6", start: s, end });
    }
    i = text.indexOf(":", e);
  }
}

// ---------------------------------------------------------------- ipv4
const IPV4 =
  /(?<![\w.])(?:25[0-5]|2[0-4]\d|1\d\d|0?[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|0?[1-9]?\d)){3}(?!\w|\.\d)/g;
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
// Runs of white space are bounded: two of them on either side of a separator that may
// itself be a space split a long run of spaces in quadratically many ways. A run of
// digits is followed only by what cannot be a digit, so giving digits back fails at once.
const COORD_PAIR =
  /(?<![\w.])([-+]?\d{1,2}\.(\d{2,}))(?:\s?°\s?([NSns]))?\s{0,3}[,;/ ]\s{0,3}([-+]?\d{1,3}\.(\d{2,}))(?:\s?°\s?([EWew]))?(?!\w|\.\d)/g;
const COORD_LABELLED =
  /\b(?:lat|latitude)\b["']?\s{0,3}[:=]\s{0,3}([-+]?\d{1,2}(?:\.\d+)?)["']?\s{0,3}[,;]?\s{0,3}["']?(?:lon|lng|long|longitude)\b["']?\s{0,3}[:=]\s{0,3}([-+]?\d{1,3}(?:\.\d+)?)/dgi;
const GEO_CONTEXT = /(?:lat|lon|lng|gps|geo|location|loc|position|pos|coord|coordinates|at)\W{0,4}$/i;

function detectCoordinates(text: string, out: Entity[]): void {
  COORD_PAIR.lastIndex = 0;
  for (let m = COORD_PAIR.exec(text); m !== null; m = COORD_PAIR.exec(text)) {
    const lat = Number(m[1]);
    const lon = Number(m[4]);
    // three-decimal readings ("21.500, 40.250") are common: bare pairs need 4 decimals, a label or a hemisphere
    const precise = m[2].length >= 4 && m[5].length >= 4;
    const labelled =
      m[3] !== undefined || m[6] !== undefined || GEO_CONTEXT.test(text.slice(Math.max(0, m.index - 16), m.index));
    if (Math.abs(lat) > 90 || Math.abs(lon) > 180 || (!precise && !labelled)) {
      // the second number of a pair that is not one may be the first of the next; only a
      // hemisphere, which holds no digit, can follow it in the match
      COORD_PAIR.lastIndex = m.index + m[0].lastIndexOf(m[4]);
      continue;
    }
    out.push({ type: "coordinates", start: m.index, end: m.index + m[0].length });
  }
  COORD_LABELLED.lastIndex = 0;
  for (let m = COORD_LABELLED.exec(text); m !== null; m = COORD_LABELLED.exec(text)) {
    if (Math.abs(Number(m[1])) > 90 || Math.abs(Number(m[2])) > 180 || m.indices === undefined) continue;
    out.push({ type: "coordinates", start: m.indices[1][0], end: m.index + m[0].length });
  }
}

// ---------------------------------------------------------------- phone
// 7 or more digits in groups joined by one or two of: space, tab ( ) . / -
const PHONE_RUN = /(?<!\d)(?:\d[ \t()./-]{0,2}){7,}/g;
const gluedToPhone = (c: number): boolean => isWordChar(c) || c === 64 || c === 46 || c === 47 || c === 58 || c === 45;
const PHONE_CONTEXT =
  /\b(?:tel|phone|call|mobile|mob|cell|fax|sms|whatsapp|ph|telefon|handy|rufnummer|contact|number|nr|no)\b/i;
const DATE_INSIDE = /\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b/;
const MAX_PHONE = 17;
const MIN_PHONE = 7;

function detectPhone(text: string, out: Entity[]): void {
  forEachRun(text, PHONE_RUN, (groups, runDigits) => {
    // most runs are dates and readings: without a '+', '(' or leading 0 only a North
    // American number (10 digits) can be in there, so shorter runs are skipped at once
    const first = groups[0].s;
    const lead = first > 0 ? text.charCodeAt(first - 1) : 32;
    if (lead !== 43 && lead !== 40 && text.charCodeAt(first) !== 48 && runDigits < 10) return;
    const last = groups.length - 1;
    const len = (g: number): number => groups[g].e - groups[g].s;
    // the last group of the number found last: the next one may start right after it
    let afterPhone = -1;
    let a = 0;
    while (a <= last) {
      // where a number may start: after a space or a bracket, with its '+' or '(' in front
      let start = groups[a].s;
      if (text[start - 1] === "+") start--;
      if (text[start - 1] === "(") start--;
      const prev = start > 0 ? text.charCodeAt(start - 1) : 32;
      let found = -1;
      // inside a run, a number starts only where it is marked: "(0)30 ...", "+49 ...", or
      // right after another number
      const marked = a === 0 || start < groups[a].s || groups[a].s - groups[a - 1].e > 1 || afterPhone === a - 1;
      if (marked && !gluedToPhone(prev) && prev !== 43) {
        // only the groups within 17 digits of the start, longest first
        let digits = 0;
        let b = a;
        while (b <= last && digits + len(b) <= MAX_PHONE) digits += len(b++);
        for (b--; b >= a && digits >= MIN_PHONE && found < 0; digits -= len(b), b--) {
          if (!plausibleShape(text, start, groups, a, b)) continue;
          const end = groups[b].e;
          let after = end;
          if (text.charCodeAt(after) === 41 && hasCharIn(text, 40, start + 1, end)) after++;
          if (
            b === last &&
            (!boundaryAfter(text, after) ||
              text[after] === "@" ||
              (text[after] === "/" && isDigit(text.charCodeAt(after + 1))))
          )
            continue;
          if (b < last && text[end] !== " " && text[end] !== "\t") continue;
          if (phoneLike(text.slice(start, end), text, start)) {
            out.push({ type: "phone", start, end });
            found = b;
          }
        }
      }
      if (found >= 0) afterPhone = found;
      a = found >= 0 ? found + 1 : a + 1;
    }
  });
}

/**
 * Without a '+' or a leading 0 only the North American shapes can be a phone number:
 * rejects most dates, readings and serials before any string is built.
 */
function plausibleShape(text: string, start: number, groups: Group[], a: number, b: number): boolean {
  if (text.charCodeAt(start) === 43 || text.charCodeAt(start + 1) === 43 || text.charCodeAt(groups[a].s) === 48)
    return true;
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
  } else if (
    (shape === "3-3-4" || shape === "1-3-3-4") &&
    /^1?[2-9]\d\d[2-9]/.test(digits) &&
    (n === 10 || digits[0] === "1")
  ) {
    // North American: (NXX) NXX-XXXX, NXX-NXX-XXXX, NXX.NXX.XXXX, 1-NXX-NXX-XXXX
    plausible = !cand.includes(".") || /^(?:1\.)?\d{3}\.\d{3}\.\d{4}$/.test(cand);
  } else if (shape === "10" && /^[2-9]\d\d[2-9]/.test(digits)) {
    plausible = true;
    needsContext = true;
  } else if (digits[0] === "0" && n >= 9 && n <= 12 && !cand.includes(".")) {
    // national numbers with a trunk 0 (most of Europe, Asia, Australia); dotted ones are dates
    plausible =
      groups.length === 1 || (groups[0].length >= 2 && groups[0].length <= 5 && groups.every((x) => x.length >= 2));
    needsContext = groups.length === 1;
  } else {
    return false;
  }
  if (!plausible) return false;
  if (/\s{2,}|[-./]{2,}/.test(cand) || DATE_INSIDE.test(cand)) return false;
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
 * never overlapping: where two overlap, the earlier type in ENTITY_TYPES wins, and
 * of two of the same type the one that starts first.
 */
export function scanText(text: string, types: readonly EntityType[] = ENTITY_TYPES): Entity[] {
  let accepted: Entity[] = [];
  if (text.length === 0) return accepted;
  for (const type of ENTITY_TYPES) {
    if (!types.includes(type)) continue;
    const found: Entity[] = [];
    DETECTORS[type](text, found);
    // some detectors report in more than one pass; the sort is stable
    found.sort((x, y) => x.start - y.start);
    accepted = merge(accepted, found);
  }
  return accepted;
}

/**
 * `sorted` with each entity of `found` (sorted by start) that overlaps nothing kept
 * before it. One walk over both lists: inserting one by one into the middle of an
 * array costs the length of the array each time.
 */
function merge(sorted: readonly Entity[], found: readonly Entity[]): Entity[] {
  const out: Entity[] = [];
  let i = 0;
  for (const e of found) {
    if (e.end <= e.start) continue;
    while (i < sorted.length && sorted[i].start < e.start) out.push(sorted[i++]);
    if (out.length > 0 && out[out.length - 1].end > e.start) continue;
    if (i < sorted.length && sorted[i].start < e.end) continue;
    out.push(e);
  }
  while (i < sorted.length) out.push(sorted[i++]);
  return out;
}

/**
 * Rebuilds text with each entity replaced by what `replace` returns for it. A value
 * found once is then replaced wherever else it occurs too (say glued to a word, where
 * the detector did not report it): once a value is known to be personal data, no copy
 * of it stays in the output.
 */
export function replaceEntities(
  text: string,
  entities: readonly Entity[],
  replace: (entity: Entity, value: string) => string,
): string {
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
  const values: string[] = [];
  const replacements: string[] = [];
  for (const [value, r] of replaced) {
    // a value longer than what is left has no copy in it (a URL that was the whole text)
    if (value === r || r.includes(value) || value.length > out.length) continue;
    values.push(value);
    replacements.push(r);
  }
  if (values.length === 0) return out;
  // Most texts hold a few values and no copy of them: the native search for each of a
  // few values is cheaper than building the automaton, and a bounded number of passes.
  if (values.length <= FEW_VALUES && !values.some((v) => out.includes(v))) return out;
  const matcher = new Matcher(values);
  // Removing a copy can join its neighbours into another copy ("redact"): a few more
  // passes catch those, each as cheap as the first.
  for (let pass = 0; pass < 4; pass++) {
    const next = replaceCopies(out, matcher, replacements);
    if (next === out) break;
    out = next;
  }
  return out;
}

const FEW_VALUES = 16;

/**
 * `text` with every copy of a matcher's values replaced, leftmost first and of two
 * that start together the longer. Searching for each value in turn costs the whole
 * text once per value, which for thousands of values in 64 KiB is seconds.
 */
function replaceCopies(text: string, matcher: Matcher, replacements: readonly string[]): string {
  const starts: number[] = [];
  const ends: number[] = [];
  const which: number[] = [];
  matcher.forEach(text, (s, e, index) => {
    starts.push(s);
    ends.push(e);
    which.push(index);
  });
  if (starts.length === 0) return text;
  // copies that do not overlap come in order already; only overlapping ones need sorting
  let sorted = true;
  for (let k = 1; k < starts.length && sorted; k++) sorted = starts[k] >= ends[k - 1];
  const order = starts.map((_, k) => k);
  if (!sorted) order.sort((x, y) => starts[x] - starts[y] || ends[y] - ends[x]);
  const parts: string[] = [];
  let last = 0;
  for (const k of order) {
    if (starts[k] < last) continue;
    parts.push(text.slice(last, starts[k]), replacements[which[k]]);
    last = ends[k];
  }
  parts.push(text.slice(last));
  return parts.join("");
}

/** Aho-Corasick automaton: every occurrence of any of a set of strings in one pass. */
class Matcher {
  // Most nodes have one child (a long URL is a chain of thousands): a node's first edge
  // is kept in arrays, the rest in one map keyed by node and UTF-16 unit. The root has
  // most edges and is where most of a text is read: its ASCII edges are an array.
  private readonly root = new Int32Array(128).fill(-1);
  private readonly firstUnit: Int32Array;
  private readonly firstChild: Int32Array;
  /** 1 where a node has edges in `more`: a failed step elsewhere costs no map lookup. */
  private readonly branches: Uint8Array;
  private readonly more = new Map<number, number>();
  private readonly depth: Int32Array;
  /** Index of the value that ends at a node, or -1. */
  private readonly word: Int32Array;
  private readonly fail: Int32Array;
  /** The nearest node on the fail chain that ends a value; 0 (the root) for none. */
  private readonly dict: Int32Array;

  constructor(values: readonly string[]) {
    let size = 1;
    for (const v of values) size += v.length;
    this.firstUnit = new Int32Array(size).fill(-1);
    this.firstChild = new Int32Array(size);
    this.branches = new Uint8Array(size);
    this.depth = new Int32Array(size);
    this.word = new Int32Array(size).fill(-1);
    this.fail = new Int32Array(size);
    this.dict = new Int32Array(size);
    // children as linked lists, for the breadth-first pass below
    const unit = new Int32Array(size);
    const childList = new Int32Array(size);
    const sibling = new Int32Array(size);
    let nodes = 1;
    values.forEach((v, index) => {
      let node = 0;
      for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i);
        let child = this.go(node, c);
        if (child < 0) {
          child = nodes++;
          this.depth[child] = this.depth[node] + 1;
          unit[child] = c;
          sibling[child] = childList[node];
          childList[node] = child;
          if (node === 0 && c < 128) this.root[c] = child;
          else if (this.firstUnit[node] < 0) {
            this.firstUnit[node] = c;
            this.firstChild[node] = child;
          } else {
            this.more.set(node * 65536 + c, child);
            this.branches[node] = 1;
          }
        }
        node = child;
      }
      if (this.word[node] < 0) this.word[node] = index;
    });
    // breadth first, so that a node's fail link is known before its children's
    const queue = new Int32Array(nodes);
    let tail = 0;
    for (let child = childList[0]; child !== 0; child = sibling[child]) queue[tail++] = child;
    for (let head = 0; head < tail; head++) {
      const node = queue[head];
      for (let child = childList[node]; child !== 0; child = sibling[child]) {
        const c = unit[child];
        let f = this.fail[node];
        while (f !== 0 && this.go(f, c) < 0) f = this.fail[f];
        const target = this.go(f, c);
        const fc = target < 0 || target === child ? 0 : target;
        this.fail[child] = fc;
        this.dict[child] = this.word[fc] >= 0 ? fc : this.dict[fc];
        queue[tail++] = child;
      }
    }
  }

  private go(node: number, c: number): number {
    if (node === 0 && c < 128) return this.root[c];
    if (this.firstUnit[node] === c) return this.firstChild[node];
    return this.branches[node] === 0 ? -1 : (this.more.get(node * 65536 + c) ?? -1);
  }

  /** Calls `each(start, end, index)` for every occurrence, in order of end. */
  forEach(text: string, each: (start: number, end: number, index: number) => void): void {
    let node = 0;
    for (let j = 0; j < text.length; j++) {
      const c = text.charCodeAt(j);
      let next = this.go(node, c);
      while (next < 0 && node !== 0) {
        node = this.fail[node];
        next = this.go(node, c);
      }
      node = next < 0 ? 0 : next;
      for (let t = this.word[node] >= 0 ? node : this.dict[node]; t !== 0; t = this.dict[t])
        each(j + 1 - this.depth[t], j + 1, this.word[t]);
    }
  }
}
