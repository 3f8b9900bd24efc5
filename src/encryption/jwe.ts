/**
 * JWE compact serialization (RFC 7516) with `alg: "dir"`, `enc: "A256GCM"`: the only
 * combination we write or accept. The keyring key is the content key, a fresh random
 * 96-bit IV is drawn for every message, and the protected header (with `kid` and `cty`)
 * is the GCM additional data, so a header swapped from another message fails the tag.
 *
 *   BASE64URL(header) . "" . BASE64URL(iv) . BASE64URL(ciphertext) . BASE64URL(tag)
 *
 * `cty` says how to restore the plaintext: "text/plain" (a string), "json" (any JSON
 * value) or "octet-stream" (a Buffer).
 *
 * Also reads the OpenSSL "Salted__" passphrase format (`U2FsdGVkX1...`) that CryptoJS's
 * `AES.encrypt(text, passphrase)` writes, so data from CryptoJS-based flows can be
 * migrated. That format has no integrity check: it is read, never written.
 *
 * Errors say what is wrong with the input and never include a key or plaintext.
 */
import { createCipheriv, createDecipheriv, createHash, randomFillSync } from "node:crypto";
import { isAscii, isUtf8 } from "node:buffer";
import { isUint8Array } from "../core/objects";

export class JweError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JweError";
  }
}

export type ContentKind = "text" | "json" | "bytes";

export const CTY: Readonly<Record<ContentKind, string>> = { text: "text/plain", json: "json", bytes: "octet-stream" };

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * IVs come from a pool filled by the CSPRNG: one randomFillSync per 512 messages instead
 * of one call each (a third of the cost of a small message). Every slice is used once.
 */
const IV_POOL = Buffer.alloc(IV_BYTES * 512);
let ivOffset = IV_POOL.length;

function freshIv(): Buffer {
  if (ivOffset >= IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  // A copy: the pool is refilled later and the IV must not change under the caller.
  const iv = Buffer.from(IV_POOL.subarray(ivOffset, ivOffset + IV_BYTES));
  ivOffset += IV_BYTES;
  return iv;
}

const wellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
function isWellFormed(s: string): boolean {
  return wellFormed ? wellFormed.call(s) : !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""));
}

/** Turns a value into plaintext bytes and the kind that restores it. */
export function encodePlaintext(value: unknown): { kind: ContentKind; bytes: Buffer } {
  if (value === undefined) throw new JweError("nothing to encrypt (undefined)");
  if (typeof value === "string") {
    // A lone surrogate has no UTF-8 form; JSON escapes it, so the string still comes back exact.
    if (!isWellFormed(value)) return { kind: "json", bytes: Buffer.from(JSON.stringify(value), "utf8") };
    return { kind: "text", bytes: Buffer.from(value, "utf8") };
  }
  if (Buffer.isBuffer(value)) return { kind: "bytes", bytes: value };
  // isUint8Array, not instanceof: a function node's Uint8Array comes from another realm
  if (isUint8Array(value))
    return { kind: "bytes", bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (e) {
    throw new JweError(`value cannot be written as JSON (${e instanceof Error ? e.message.split("\n")[0] : "error"})`);
  }
  if (json === undefined) throw new JweError(`a ${typeof value} cannot be encrypted`);
  return { kind: "json", bytes: Buffer.from(json, "utf8") };
}

/** Strict UTF-8: invalid bytes are an error, never silently replaced. */
function decodeUtf8(bytes: Buffer): string | undefined {
  // ASCII (most sensor data) is also Latin-1, which V8 builds a string from a third faster
  if (isAscii(bytes)) return bytes.toString("latin1");
  return isUtf8(bytes) ? bytes.toString("utf8") : undefined;
}

/** How a header's cty restores the plaintext; "auto" for none or one we do not know. */
export function kindOfCty(cty: string | undefined): ContentKind | "auto" {
  const type = (cty ?? "")
    .split(";")[0]
    .trim()
    .toLowerCase()
    .replace(/^application\//, "");
  if (type === "json" || type.endsWith("+json")) return "json";
  if (type === "octet-stream") return "bytes";
  if (type.startsWith("text/")) return "text";
  return "auto";
}

/** Restores a value from plaintext bytes and the kind the header's cty names. */
export function decodePlaintext(bytes: Buffer, kind: ContentKind | "auto"): unknown {
  if (kind === "json") {
    const text = decodeUtf8(bytes);
    if (text === undefined) throw new JweError("decrypted JSON is not valid UTF-8");
    try {
      return JSON.parse(text);
    } catch {
      throw new JweError("decrypted JSON does not parse");
    }
  }
  if (kind === "bytes") return bytes;
  if (kind === "text") {
    const text = decodeUtf8(bytes);
    if (text === undefined) throw new JweError("decrypted text is not valid UTF-8");
    return text;
  }
  // No cty, or one we do not know (another producer): text when it is UTF-8, else bytes.
  const text = decodeUtf8(bytes);
  return text === undefined ? bytes : text;
}

export interface EncryptResult {
  jwe: string;
  kind: ContentKind;
}

/** Header text and its AAD bytes per (kid, cty), built once: the same for every message. */
const headerCache = new Map<string, { text: string; aad: Buffer }>();

function protectedHeader(kid: string, cty: string): { text: string; aad: Buffer } {
  const cacheKey = `${kid}\u0000${cty}`;
  let h = headerCache.get(cacheKey);
  if (h === undefined) {
    const text = Buffer.from(JSON.stringify({ alg: "dir", enc: "A256GCM", kid, cty }), "utf8").toString("base64url");
    h = { text, aad: Buffer.from(text, "latin1") };
    if (headerCache.size > 1000) headerCache.clear();
    headerCache.set(cacheKey, h);
  }
  return h;
}

/** Encrypts one value into a JWE compact string under (kid, key). */
export function encryptValue(value: unknown, kid: string, key: Buffer): EncryptResult {
  if (key.length !== 32) throw new JweError("key must be 32 bytes");
  // A string goes to the cipher as it is: no intermediate UTF-8 copy.
  const { kind, bytes } =
    typeof value === "string" && isWellFormed(value) ? { kind: "text" as const, bytes: value } : encodePlaintext(value);
  const header = protectedHeader(kid, CTY[kind]);
  const iv = freshIv();
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(header.aad);
  const first = typeof bytes === "string" ? cipher.update(bytes, "utf8") : cipher.update(bytes);
  const last = cipher.final();
  const ct = last.length === 0 ? first : Buffer.concat([first, last]);
  const tag = cipher.getAuthTag();
  return {
    jwe: `${header.text}..${iv.toString("base64url")}.${ct.toString("base64url")}.${tag.toString("base64url")}`,
    kind,
  };
}

/** Looks up the key of a kid; returns undefined for an unknown kid. */
export interface KeyLookup {
  readonly activeKid: string;
  hasKid(kid: string): boolean;
  key(kid: string): Buffer;
}

export interface DecryptResult {
  value: unknown;
  /** The kid that opened it, or "legacy" for a CryptoJS passphrase ciphertext. */
  kid: string;
  format: "jwe" | "cryptojs";
}

/**
 * The ciphertext is decoded into one reused buffer: the decipher reads it at once and
 * writes the plaintext elsewhere, and a fresh 64 KiB buffer per message is work for the
 * garbage collector that the rest of the flow pays for. It grows to the largest
 * ciphertext seen, up to 1 MiB; only the decoded part of it is ever read.
 */
const SCRATCH_MAX = 1 << 20;
let scratch = Buffer.alloc(0);

const B64URL_VALUE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Strict base64url: Node's decoder skips characters it does not know and accepts the
 * other alphabet's '+' and '/' (one bit away from '-'), so a flipped bit could decode to
 * the same bytes. We refuse '+', '/', '=', any skipped character (the decoded length
 * would fall short) and unused low bits in the last character (non-canonical text).
 */
function strictB64url(text: string, what: string, intoScratch = false): Buffer {
  const n = text.length;
  if (n % 4 === 1) throw new JweError(`${what} is not base64url`);
  if (text.indexOf("+") !== -1 || text.indexOf("/") !== -1 || text.indexOf("=") !== -1)
    throw new JweError(`${what} is not base64url`);
  const expected = Math.floor((n * 3) / 4);
  let bytes: Buffer;
  if (!intoScratch || expected > SCRATCH_MAX) bytes = Buffer.from(text, "base64url");
  else {
    if (scratch.length < expected) scratch = Buffer.allocUnsafeSlow(Math.max(expected, 4096));
    bytes = scratch.subarray(0, scratch.write(text, 0, "base64url"));
  }
  if (bytes.length !== expected) throw new JweError(`${what} is not base64url`);
  if (n % 4 !== 0) {
    const v = B64URL_VALUE.indexOf(text[n - 1]);
    const unused = n % 4 === 2 ? 0x0f : 0x03;
    if (v < 0 || (v & unused) !== 0) throw new JweError(`${what} is not canonical base64url`);
  }
  return bytes;
}

const MAX_HEADER = 4096;

interface JweHeader {
  alg?: unknown;
  enc?: unknown;
  kid?: unknown;
  cty?: unknown;
  zip?: unknown;
  crit?: unknown;
}

/**
 * Headers repeat (one per kid and cty), so parsed ones are kept. Only headers that
 * parsed are kept; the GCM tag still authenticates the exact header text every time.
 */
interface ParsedHeader {
  header: Readonly<JweHeader>;
  aad: Buffer;
  kind: ContentKind | "auto";
}
const parsedHeaders = new Map<string, ParsedHeader>();

function parseHeader(text: string): ParsedHeader {
  const known = parsedHeaders.get(text);
  if (known !== undefined) return known;
  const header = Object.freeze(parseHeaderText(text));
  const kind = kindOfCty(typeof header.cty === "string" ? header.cty : undefined);
  const parsed = { header, aad: Buffer.from(text, "latin1"), kind };
  if (parsedHeaders.size >= 256) parsedHeaders.clear();
  parsedHeaders.set(text, parsed);
  return parsed;
}

function parseHeaderText(text: string): JweHeader {
  if (text.length === 0 || text.length > MAX_HEADER) throw new JweError("JWE header is missing or too long");
  const bytes = strictB64url(text, "JWE header");
  const json = decodeUtf8(bytes);
  if (json === undefined) throw new JweError("JWE header is not UTF-8");
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch {
    throw new JweError("JWE header is not JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    throw new JweError("JWE header is not a JSON object");
  return header;
}

function safeText(v: unknown): string {
  const s = typeof v === "string" ? v : (JSON.stringify(v) ?? String(v));
  const clean = s.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 40 ? `${clean.slice(0, 37)}...` : clean;
}

/** Opens a JWE compact string (ours or any producer's) with a key from the keyring. */
export function decryptJwe(jwe: string, keys: KeyLookup): DecryptResult {
  const parts = jwe.split(".");
  if (parts.length !== 5) throw new JweError(`not a JWE compact string (${parts.length} parts, expected 5)`);
  const [headerText, encryptedKey, ivText, ctText, tagText] = parts;
  const { header, aad, kind } = parseHeader(headerText);
  if (header.alg !== "dir") throw new JweError(`JWE alg ${safeText(header.alg)} refused (only "dir")`);
  if (header.enc !== "A256GCM") throw new JweError(`JWE enc ${safeText(header.enc)} refused (only "A256GCM")`);
  if (header.zip !== undefined) throw new JweError("JWE zip is not supported");
  if (header.crit !== undefined) throw new JweError("JWE crit is not supported");
  if (encryptedKey !== "") throw new JweError('JWE with alg "dir" must have an empty encrypted key');
  if (header.cty !== undefined && typeof header.cty !== "string") throw new JweError("JWE cty must be a string");
  let kid: string;
  if (header.kid === undefined)
    kid = keys.activeKid; // producers without kid: try the active key only
  else if (typeof header.kid !== "string") throw new JweError("JWE kid must be a string");
  else kid = header.kid;
  if (!keys.hasKid(kid)) throw new JweError(`unknown kid "${safeText(kid)}"`);
  const iv = strictB64url(ivText, "JWE iv");
  if (iv.length !== IV_BYTES) throw new JweError(`JWE iv must be ${IV_BYTES} bytes`);
  const tag = strictB64url(tagText, "JWE tag");
  if (tag.length !== TAG_BYTES) throw new JweError(`JWE tag must be ${TAG_BYTES} bytes`);
  const ct = strictB64url(ctText, "JWE ciphertext", true);
  const decipher = createDecipheriv("aes-256-gcm", keys.key(kid), iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  let plain: Buffer;
  try {
    const first = decipher.update(ct);
    const last = decipher.final();
    plain = last.length === 0 ? first : Buffer.concat([first, last]);
  } catch {
    throw new JweError(`JWE does not authenticate under kid "${safeText(kid)}" (tampered, truncated or wrong key)`);
  }
  return { value: decodePlaintext(plain, kind), kid, format: "jwe" };
}

/** "Salted__" in base64: how every CryptoJS / OpenSSL passphrase ciphertext begins. */
export const CRYPTOJS_PREFIX = "U2FsdGVkX1";

export function isCryptoJsCiphertext(text: string): boolean {
  return text.startsWith(CRYPTOJS_PREFIX);
}

/** OpenSSL's EVP_BytesToKey with MD5 and one round: what CryptoJS does with a passphrase. */
function evpBytesToKey(pass: Buffer, salt: Buffer, keyLen: number, ivLen: number): { key: Buffer; iv: Buffer } {
  const blocks: Buffer[] = [];
  let have = 0;
  let prev = Buffer.alloc(0);
  while (have < keyLen + ivLen) {
    prev = createHash("md5").update(prev).update(pass).update(salt).digest();
    blocks.push(prev);
    have += prev.length;
  }
  const all = Buffer.concat(blocks);
  return { key: all.subarray(0, keyLen), iv: all.subarray(keyLen, keyLen + ivLen) };
}

/**
 * Decrypts `CryptoJS.AES.encrypt(text, passphrase).toString()` (AES-256-CBC, OpenSSL
 * key derivation). CBC has no tag: a wrong passphrase is caught by the padding and
 * UTF-8 checks almost always, tampering not reliably. Migrate such data to JWE.
 */
export function decryptCryptoJs(text: string, passphrase: string): DecryptResult {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0)
    throw new JweError("CryptoJS ciphertext is not base64");
  const raw = Buffer.from(text, "base64");
  if (raw.length < 32 || (raw.length - 16) % 16 !== 0 || raw.subarray(0, 8).toString("latin1") !== "Salted__") {
    throw new JweError("CryptoJS ciphertext is truncated or malformed");
  }
  const { key, iv } = evpBytesToKey(Buffer.from(passphrase, "utf8"), raw.subarray(8, 16), 32, 16);
  let plain: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-cbc", key, iv);
    plain = Buffer.concat([decipher.update(raw.subarray(16)), decipher.final()]);
  } catch {
    throw new JweError("CryptoJS ciphertext does not decrypt (wrong legacy passphrase or damaged data)");
  }
  const value = decodeUtf8(plain);
  if (value === undefined)
    throw new JweError("CryptoJS ciphertext does not decrypt to UTF-8 text (wrong legacy passphrase or damaged data)");
  return { value, kid: "legacy", format: "cryptojs" };
}

/** Decrypts either format: JWE compact, or CryptoJS when a legacy passphrase is given. */
export function decryptValue(value: unknown, keys: KeyLookup, legacyPassphrase?: string): DecryptResult {
  let text: string;
  if (typeof value === "string") text = value;
  else if (Buffer.isBuffer(value)) text = value.toString("latin1");
  else throw new JweError(`expected a JWE string, got ${value === null ? "null" : typeof value}`);
  // No trimming: a ciphertext is exact, and a character flipped to a space is tampering.
  if (isCryptoJsCiphertext(text)) {
    if (!legacyPassphrase) throw new JweError("CryptoJS ciphertext, but no legacy passphrase is configured");
    return decryptCryptoJs(text, legacyPassphrase);
  }
  return decryptJwe(text, keys);
}
