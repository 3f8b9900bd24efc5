/**
 * Check digits that separate a real payment card number or IBAN from any other run of
 * digits (serials, timestamps, order numbers). A candidate that fails is not reported.
 */

/** Luhn (ISO/IEC 7812-1) over a string of digits only. */
export function luhnValid(digits: string): boolean {
  return /^\d+$/.test(digits) && luhnIn(digits, 0, digits.length);
}

/**
 * Luhn over the digits of text[start, end), anything else skipped. It reads the text in
 * place: the scan tries several lengths of one run of digits ("4111 1111 ...") without
 * building a string for each.
 */
export function luhnIn(text: string, start: number, end: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = end - 1; i >= start; i--) {
    let d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) continue;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Issuer prefixes of the card schemes in use (Visa, Mastercard, Amex, Discover, Diners,
 * JCB, UnionPay, Maestro, UATP) with their lengths. A 16-digit serial passes Luhn one
 * time in ten; requiring a real issuer prefix and length removes most of those.
 */
export function cardBrand(digits: string): string | undefined {
  // every scheme's numbers have 12 digits or more
  return digits.length < 12 ? undefined : cardBrandOf(Number(digits.slice(0, 6)), digits.length);
}

/**
 * The brand of an n-digit card number whose first six digits are `first6`: the scan
 * tries several lengths of one run of digits, and reads its first digits once.
 */
export function cardBrandOf(first6: number, n: number): string | undefined {
  const p2 = Math.floor(first6 / 10000);
  const p3 = Math.floor(first6 / 1000);
  const p4 = Math.floor(first6 / 100);
  const p1 = Math.floor(first6 / 100000);
  if (p1 === 4 && (n === 13 || n === 16 || n === 19)) return "visa";
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n === 16) return "mastercard";
  if ((p2 === 34 || p2 === 37) && n === 15) return "amex";
  if (
    (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (first6 >= 622126 && first6 <= 622925)) &&
    n >= 16 &&
    n <= 19
  )
    return "discover";
  if (p2 === 62 && n >= 16 && n <= 19) return "unionpay";
  if (((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) && n >= 14 && n <= 19) return "diners";
  if (p4 >= 3528 && p4 <= 3589 && n >= 16 && n <= 19) return "jcb";
  if ((p2 === 50 || (p2 >= 56 && p2 <= 69)) && n >= 12 && n <= 19) return "maestro";
  // UATP (airline cards): prefix 1, always 15 digits
  if (p1 === 1 && n === 15) return "uatp";
  return undefined;
}

/** IBAN lengths per country (SWIFT IBAN registry). */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

/** ISO 13616 mod-97 check of a compact IBAN (no spaces, any case). */
export function ibanValid(iban: string): boolean {
  const s = iban.toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  const expected = IBAN_LENGTHS[s.slice(0, 2)];
  if (expected === undefined || s.length !== expected) return false;
  return ibanMod97(s);
}

/**
 * One step of the ISO 13616 mod-97 check: `rem` followed by the letter or digit `c`
 * (any case; letters count as two digits, A=10 ... Z=35). An IBAN is valid when its
 * characters after the first four, then those four, leave 1.
 */
export function mod97Step(rem: number, c: number): number {
  return c >= 65 ? (rem * 100 + ((c | 32) - 87)) % 97 : (rem * 10 + (c - 48)) % 97;
}

function ibanMod97(iban: string): boolean {
  let rem = 0;
  for (let i = 4; i < iban.length; i++) rem = mod97Step(rem, iban.charCodeAt(i));
  for (let i = 0; i < 4; i++) rem = mod97Step(rem, iban.charCodeAt(i));
  return rem === 1;
}
