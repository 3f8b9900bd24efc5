/**
 * The context store's keys. Never from flows.json: from an environment variable holding
 * one or more `kid:key` pairs (base64url, 32 bytes; the first pair is the active key,
 * the others only read what they wrote), or from a passphrase (scrypt, with the salt
 * stored beside the data). Both at once: the listed keys, then the passphrase's key for
 * reading, which is how a store moves from a passphrase to a generated key.
 *
 * Key parsing and scrypt are the keyring's (src/encryption/keyring.ts). What encrypts
 * is an HKDF subkey per kid, so a key shared with a keyring node never serves two uses.
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { writeFileAtomicSync } from "../core/atomic-file";
import {
  DEFAULT_SCRYPT,
  decodeKey,
  isValidKid,
  Keyring,
  KeyringError,
  keyFromPassphrase,
  type ScryptParams,
} from "../encryption/keyring";
import type { ScopeKeys } from "./envelope";

export const DEFAULT_KEY_ENV = "PRIVACY_CONTEXT_KEYS";
export const DEFAULT_PASSPHRASE_ENV = "PRIVACY_CONTEXT_PASSPHRASE";
export const PASSPHRASE_KID = "passphrase";
export const SALT_FILE = "passphrase-salt.json";
const SUBKEY_INFO = "privacy-toolkit context store v1";

export class ContextKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContextKeyError";
  }
}

/** Parses `kid:key[,kid:key...]` (commas or white space between pairs); order kept. */
export function parseKeyList(text: string, source: string): Array<[string, Buffer]> {
  const pairs = text.split(/[\s,]+/).filter((p) => p !== "");
  if (pairs.length === 0) throw new ContextKeyError(`${source} is empty`);
  const seen = new Set<string>();
  const out: Array<[string, Buffer]> = [];
  for (const [i, pair] of pairs.entries()) {
    // A kid may hold ':' (the keyring allows it); a base64url key never does.
    const colon = pair.lastIndexOf(":");
    const kid = colon > 0 ? pair.slice(0, colon) : "";
    if (!isValidKid(kid)) {
      throw new ContextKeyError(
        `${source}: entry ${i + 1} must be kid:key (kid of 1-64 characters of A-Z a-z 0-9 . _ : @ + -)`,
      );
    }
    if (seen.has(kid)) throw new ContextKeyError(`${source}: kid "${kid}" is listed twice`);
    seen.add(kid);
    try {
      out.push([kid, decodeKey(pair.slice(colon + 1), kid)]);
    } catch (e) {
      // decodeKey names the kid and the rule, never the key.
      throw new ContextKeyError(`${source}: ${e instanceof KeyringError ? e.message : "invalid key"}`);
    }
  }
  return out;
}

interface SaltFile {
  version: 1;
  kdf: "scrypt";
  salt: string;
  N: number;
  r: number;
  p: number;
}

function readSalt(file: string): SaltFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ContextKeyError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ContextKeyError(`${file} is not JSON`);
  }
  const s = parsed as Partial<SaltFile> | null;
  const isPow2 = (n: unknown): boolean => typeof n === "number" && Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0;
  const small = (n: unknown): boolean => typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 64;
  if (
    s === null ||
    typeof s !== "object" ||
    s.version !== 1 ||
    s.kdf !== "scrypt" ||
    typeof s.salt !== "string" ||
    !isPow2(s.N) ||
    (s.N as number) > 2 ** 20 ||
    !small(s.r) ||
    !small(s.p)
  ) {
    throw new ContextKeyError(`${file} is not a passphrase salt file (version 1, scrypt)`);
  }
  return s as SaltFile;
}

export interface KeySettings {
  keyEnv: string;
  passphraseEnv: string;
  env: NodeJS.ProcessEnv;
  /** The store's base directory: where the passphrase salt lives. */
  baseDir: string;
  /** May a missing salt be made (no file is under the passphrase yet)? It is returned, not written. */
  mayCreateSalt: boolean;
  scrypt?: ScryptParams;
}

/** A salt made for a new passphrase store: written by the store once it knows it will open. */
export interface NewSalt {
  file: string;
  text: string;
}

/** Writes a new salt whole and fsynced: it is not secret, but losing it loses the data. */
export function saveSalt(salt: NewSalt): void {
  fs.mkdirSync(path.dirname(salt.file), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(salt.file, salt.text, { mode: 0o644 });
}

/** The keys a store opens with: kid -> subkey, the active kid first. */
export class ContextKeys implements ScopeKeys {
  readonly activeKid: string;
  readonly source: string;
  /** Set when the passphrase's salt was made now and is not on disk yet. */
  newSalt?: NewSalt;
  private readonly subkeys = new Map<string, Buffer>();

  constructor(keys: Array<[string, Buffer]>, source: string) {
    if (keys.length === 0) throw new ContextKeyError("no key");
    const keyring = new Keyring(new Map(keys), keys[0][0]);
    this.activeKid = keys[0][0];
    this.source = source;
    for (const [kid] of keys) this.subkeys.set(kid, keyring.subkey(SUBKEY_INFO, kid));
  }

  key(kid: string): Buffer | undefined {
    return this.subkeys.get(kid);
  }

  kids(): string[] {
    return [...this.subkeys.keys()];
  }
}

/**
 * Reads the keys from the environment (and the salt file). Throws a ContextKeyError
 * naming the variable or file and what is wrong, never a key or passphrase.
 */
export function loadKeys(s: KeySettings): ContextKeys {
  const keysText = s.env[s.keyEnv];
  const passphrase = s.env[s.passphraseEnv];
  const hasKeys = typeof keysText === "string" && keysText.trim() !== "";
  const hasPassphrase = typeof passphrase === "string" && passphrase !== "";
  if (!hasKeys && !hasPassphrase) {
    throw new ContextKeyError(
      `no key: set ${s.keyEnv} to kid:key (make one with ` +
        `"npx @privacy-toolkit/node-red-privacy context keygen") or ${s.passphraseEnv} to a passphrase`,
    );
  }
  const keys: Array<[string, Buffer]> = hasKeys ? parseKeyList(keysText, s.keyEnv) : [];
  const created: NewSalt[] = [];
  const sources = hasKeys ? [s.keyEnv] : [];
  if (hasPassphrase) {
    if (keys.some(([kid]) => kid === PASSPHRASE_KID)) {
      throw new ContextKeyError(`${s.keyEnv}: kid "${PASSPHRASE_KID}" is kept for the key of ${s.passphraseEnv}`);
    }
    keys.push([PASSPHRASE_KID, passphraseKey(passphrase, s, created)]);
    sources.push(s.passphraseEnv);
  }
  const result = new ContextKeys(keys, sources.join(" and "));
  result.newSalt = created[0];
  return result;
}

function passphraseKey(passphrase: string, s: KeySettings, created: NewSalt[]): Buffer {
  const file = path.join(s.baseDir, SALT_FILE);
  let salt = readSalt(file);
  if (salt === undefined) {
    if (!s.mayCreateSalt) {
      throw new ContextKeyError(`${file} is missing: without its salt ${s.passphraseEnv} cannot give the key`);
    }
    const params = s.scrypt ?? DEFAULT_SCRYPT;
    salt = { version: 1, kdf: "scrypt", salt: randomBytes(16).toString("base64url"), ...params };
    created.push({ file, text: `${JSON.stringify(salt)}\n` });
  }
  try {
    return keyFromPassphrase(passphrase, salt.salt, { N: salt.N, r: salt.r, p: salt.p });
  } catch (e) {
    throw new ContextKeyError(`${s.passphraseEnv}: ${e instanceof KeyringError ? e.message : "cannot derive the key"}`);
  }
}

/** A new key as `kid:key`, for `context keygen`. */
export function generateKeyPair(kid: string): string {
  if (!isValidKid(kid)) throw new ContextKeyError("kid must be 1-64 characters of A-Z a-z 0-9 . _ : @ + -");
  return `${kid}:${randomBytes(32).toString("base64url")}`;
}
