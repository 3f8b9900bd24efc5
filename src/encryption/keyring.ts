/**
 * Named 256-bit keys: one active kid for new ciphertexts, older kids kept so data
 * written before a rotation still opens. The raw keys are the JWE content keys (so a
 * user holding the keys JSON can open our output with any JWE library); every other
 * purpose (pseudonyms...) takes an HKDF subkey so one secret never serves two uses.
 *
 * Errors here name the kid or the problem, never a key, a passphrase or the JSON text.
 */
import { createHash, hkdfSync, scryptSync } from "node:crypto";

export const KEY_BYTES = 32;

/** A kid travels in every JWE header and in logs: printable, short, no quotes or spaces. */
const KID_PATTERN = /^[A-Za-z0-9._:@+-]{1,64}$/;
const BASE64URL_32 = /^[A-Za-z0-9_-]{43}$/;
const BASE64_32 = /^[A-Za-z0-9+/]{43}=?$/;

/**
 * A GCM key with random 96-bit IVs should not be used more than 2^32 times (NIST SP
 * 800-38D). We warn from 2^30 on, so there is plenty of time to rotate.
 */
export const GCM_WARN_AT = 2 ** 30;
export const GCM_LIMIT = 2 ** 32;

export class KeyringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyringError";
  }
}

export function isValidKid(kid: unknown): kid is string {
  return typeof kid === "string" && KID_PATTERN.test(kid);
}

/** Decodes one key (base64url, or standard base64) that must be exactly 32 bytes. */
export function decodeKey(text: unknown, kid: string): Buffer {
  if (typeof text !== "string") throw new KeyringError(`key "${kid}" must be a base64url string`);
  const t = text.trim();
  let bytes: Buffer;
  if (BASE64URL_32.test(t)) bytes = Buffer.from(t, "base64url");
  else if (BASE64_32.test(t)) bytes = Buffer.from(t, "base64");
  else throw new KeyringError(`key "${kid}" must be 32 bytes in base64url (43 characters)`);
  // 43 characters carry 258 bits: the last 2 must be zero or the text is not a canonical 32-byte key.
  if (
    bytes.length !== KEY_BYTES ||
    bytes.toString("base64url") !== t.replace(/\+/g, "-").replace(/\//g, "_").replace(/=$/, "")
  ) {
    throw new KeyringError(`key "${kid}" must be 32 bytes in base64url (43 characters)`);
  }
  return bytes;
}

/** Parses the keys JSON (`{"kid":"<base64url>"}`) from credentials or an env var. */
export function parseKeys(text: unknown, source = "keys"): Map<string, Buffer> {
  if (typeof text !== "string" || text.trim() === "") throw new KeyringError(`${source} is empty`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message can quote the text, i.e. a key: never pass it on.
    throw new KeyringError(`${source} is not valid JSON (expected {"kid":"<base64url key>"})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new KeyringError(`${source} must be a JSON object mapping kid to key`);
  }
  const keys = new Map<string, Buffer>();
  for (const [kid, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!isValidKid(kid)) throw new KeyringError(`${source}: kid must be 1-64 characters of A-Z a-z 0-9 . _ : @ + -`);
    keys.set(kid, decodeKey(value, kid));
  }
  if (keys.size === 0) throw new KeyringError(`${source} holds no key`);
  return keys;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** About 100 ms on a Raspberry Pi 4 class CPU, 32 MiB of memory; run once per deploy. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const SALT_PATTERN = /^[A-Za-z0-9_-]{22,}$/;

/** Derives the 32-byte key of passphrase mode. The salt (base64url, >= 16 bytes) is not secret. */
export function keyFromPassphrase(passphrase: unknown, salt: unknown, params: ScryptParams = DEFAULT_SCRYPT): Buffer {
  if (typeof passphrase !== "string" || passphrase.length === 0) throw new KeyringError("passphrase is empty");
  if (passphrase.length < 12) throw new KeyringError("passphrase must be at least 12 characters");
  if (typeof salt !== "string" || !SALT_PATTERN.test(salt)) {
    throw new KeyringError("salt must be at least 16 bytes in base64url (generate one in the editor)");
  }
  const maxmem = 256 * params.N * params.r + 1024 * 1024;
  return scryptSync(Buffer.from(passphrase.normalize("NFC"), "utf8"), Buffer.from(salt, "base64url"), KEY_BYTES, {
    ...params,
    maxmem,
  });
}

/**
 * GCM encryptions per key in this process, by a fingerprint of the key bytes (never the
 * key): a redeploy builds new Keyring objects, and two keyrings may hold the same key,
 * yet the limit is per key.
 */
const processGcmUses = new Map<string, number>();

/** Where the counts outlive the process (the keyring config node gives a file in the user dir). */
export interface GcmUseStore {
  load(): Record<string, number>;
  save(uses: Record<string, number>): void;
}

/**
 * Counts are saved ahead of use: the store holds a count at least this far above the
 * real one, and is written again only when the real count reaches it. A crash then
 * loses nothing (a key may come back up to this many uses high, never low), and a busy
 * node writes the file once per 65,536 encryptions. A clean stop saves exact counts.
 */
export const GCM_SAVE_AHEAD = 2 ** 16;
let useStore: GcmUseStore | undefined;
/** The store last attached, kept when it could not be read so a redeploy can try again. */
let lastStore: GcmUseStore | undefined;
/** Why the store cannot be read: encryption waits until it can (decryption never needs it). */
let useStoreProblem: string | undefined;
/** What the store holds, per fingerprint. */
const storedUses = new Map<string, number>();

/**
 * Keeps counts in `store` from now on, and raises this process's counts to what it
 * holds. A store that cannot be read blocks encryption (counts back at zero could pass
 * 2^32 unseen) but never decryption; attaching again once it is fixed lifts the block.
 * Throws the reason when it cannot be read.
 */
export function attachGcmUseStore(store: GcmUseStore): void {
  lastStore = store;
  let saved: Record<string, number>;
  try {
    saved = store.load();
  } catch (e) {
    useStore = undefined;
    useStoreProblem = e instanceof Error ? e.message : String(e);
    throw e;
  }
  useStore = store;
  useStoreProblem = undefined;
  storedUses.clear();
  for (const [fp, n] of Object.entries(saved)) {
    storedUses.set(fp, n);
    if (n > (processGcmUses.get(fp) ?? 0)) processGcmUses.set(fp, n);
  }
}

/** Reads the last attached store again when it could not be read (a redeploy after the file was fixed). */
export function retryGcmUseStore(): void {
  if (useStoreProblem === undefined || lastStore === undefined) return;
  try {
    attachGcmUseStore(lastStore);
  } catch {
    // Still unreadable: encryption stays blocked with the reason.
  }
}

/** Why encryption is blocked, or undefined when it is not. */
export function gcmUseStoreProblem(): string | undefined {
  return useStoreProblem;
}

/** Stops saving counts (the process's counts stay); for tests and embedders. */
export function detachGcmUseStore(): void {
  useStore = undefined;
  lastStore = undefined;
  useStoreProblem = undefined;
  storedUses.clear();
}

/** Writes the exact counts (on a clean stop), so a restart does not start with the reserve. */
export function saveExactGcmUses(): void {
  if (useStore === undefined) return;
  for (const [fp, n] of processGcmUses) storedUses.set(fp, n);
  useStore.save(Object.fromEntries(storedUses));
}

function saveAhead(fp: string, total: number): void {
  if (useStore === undefined || total <= (storedUses.get(fp) ?? 0)) return;
  storedUses.set(fp, total + GCM_SAVE_AHEAD);
  useStore.save(Object.fromEntries(storedUses));
}

function fingerprint(key: Buffer): string {
  return createHash("sha256").update("privacy-keyring gcm use count\u0000").update(key).digest("base64url");
}

export class Keyring {
  readonly activeKid: string;
  private readonly keys: Map<string, Buffer>;
  private readonly subkeys = new Map<string, Buffer>();
  private readonly fingerprints = new Map<string, string>();

  constructor(keys: Map<string, Buffer> | Record<string, Buffer>, activeKid: string) {
    const entries = keys instanceof Map ? [...keys.entries()] : Object.entries(keys);
    this.keys = new Map();
    for (const [kid, key] of entries) {
      if (!isValidKid(kid)) throw new KeyringError("kid must be 1-64 characters of A-Z a-z 0-9 . _ : @ + -");
      if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES)
        throw new KeyringError(`key "${kid}" must be ${KEY_BYTES} bytes`);
      // A private copy: nobody holding the caller's buffer can change our key.
      this.keys.set(kid, Buffer.from(key));
      this.fingerprints.set(kid, fingerprint(key));
    }
    if (this.keys.size === 0) throw new KeyringError("the keyring holds no key");
    if (!isValidKid(activeKid)) throw new KeyringError("active kid is missing or invalid");
    if (!this.keys.has(activeKid)) throw new KeyringError(`active kid "${activeKid}" is not among the keys`);
    this.activeKid = activeKid;
  }

  hasKid(kid: string): boolean {
    return typeof kid === "string" && this.keys.has(kid);
  }

  /** The key of a kid. Throws for a kid the keyring does not hold. */
  key(kid: string): Buffer {
    const key = typeof kid === "string" ? this.keys.get(kid) : undefined;
    if (key === undefined) throw new KeyringError(`unknown kid "${safeKid(kid)}"`);
    return key;
  }

  activeKey(): { kid: string; key: Buffer } {
    return { kid: this.activeKid, key: this.key(this.activeKid) };
  }

  /** The kids, active first. */
  kids(): string[] {
    return [this.activeKid, ...[...this.keys.keys()].filter((k) => k !== this.activeKid)];
  }

  /** HKDF-SHA256(ikm = the kid's key, salt = empty, info, 32 bytes); cached. */
  subkey(info: string, kid: string = this.activeKid): Buffer {
    if (typeof info !== "string" || info === "") throw new KeyringError("subkey info must be a non-empty string");
    const ikm = this.key(kid);
    const cacheKey = `${kid}\u0000${info}`;
    let sub = this.subkeys.get(cacheKey);
    if (sub === undefined) {
      sub = Buffer.from(hkdfSync("sha256", ikm, Buffer.alloc(0), Buffer.from(info, "utf8"), KEY_BYTES));
      this.subkeys.set(cacheKey, sub);
    }
    return sub;
  }

  /**
   * Counts GCM encryptions under a kid's key and returns the new total. Callers warn from
   * GCM_WARN_AT on. Counts are kept per key for the life of the process (they survive a
   * redeploy) and, once a store is attached, across restarts and crashes. Throws when
   * the store cannot be written: the caller then fails rather than count in memory only.
   */
  recordGcmUse(kid: string, count = 1): number {
    const fp = this.fingerprintOf(kid);
    if (useStoreProblem !== undefined) {
      throw new KeyringError(
        `encryption blocked: the key use counts cannot be read (${useStoreProblem}); ` +
          "fix or remove the file, then deploy again",
      );
    }
    const total = (processGcmUses.get(fp) ?? 0) + count;
    processGcmUses.set(fp, total);
    saveAhead(fp, total);
    return total;
  }

  gcmUseCount(kid: string): number {
    return processGcmUses.get(this.fingerprintOf(kid)) ?? 0;
  }

  /** Counts by kid, for kids that were used. */
  gcmUseCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const kid of this.keys.keys()) {
      const n = this.gcmUseCount(kid);
      if (n > 0) out[kid] = n;
    }
    return out;
  }

  private fingerprintOf(kid: string): string {
    const fp = this.fingerprints.get(kid);
    if (fp === undefined) throw new KeyringError(`unknown kid "${safeKid(kid)}"`);
    return fp;
  }
}

/** A kid as it may appear in an error: it comes from untrusted input, so shorten and clean it. */
export function safeKid(kid: unknown): string {
  const text = typeof kid === "string" ? kid : String(kid);
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 64 ? `${clean.slice(0, 61)}...` : clean;
}

export type KeySource = "credentials" | "env" | "passphrase";

export interface KeyringSettings {
  source: KeySource;
  activeKid: string;
  /** credentials.keys (source "credentials"). */
  keysText?: string;
  /** Name of the env var and its value (source "env"). */
  envVar?: string;
  envValue?: string;
  /** credentials.passphrase and the stored salt (source "passphrase"). */
  passphrase?: string;
  salt?: string;
  scrypt?: ScryptParams;
}

/** Builds a keyring from the config node's settings; throws a KeyringError with a clear reason. */
export function buildKeyring(s: KeyringSettings): Keyring {
  if (!isValidKid(s.activeKid))
    throw new KeyringError("active kid is missing or invalid (1-64 characters of A-Z a-z 0-9 . _ : @ + -)");
  switch (s.source) {
    case "credentials":
      if (s.keysText === undefined || s.keysText.trim() === "")
        throw new KeyringError("no keys: add keys in the keyring's settings");
      return new Keyring(parseKeys(s.keysText, "keys"), s.activeKid);
    case "env": {
      if (!s.envVar || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(s.envVar))
        throw new KeyringError("env var name is missing or invalid");
      if (s.envValue === undefined || s.envValue.trim() === "")
        throw new KeyringError(`env var ${s.envVar} is not set`);
      return new Keyring(parseKeys(s.envValue, `env var ${s.envVar}`), s.activeKid);
    }
    case "passphrase":
      return new Keyring(new Map([[s.activeKid, keyFromPassphrase(s.passphrase, s.salt, s.scrypt)]]), s.activeKid);
    default:
      throw new KeyringError(`unknown key source "${String(s.source)}"`);
  }
}
