/**
 * The bytes of one encrypted scope file:
 *
 *   "PCTX" | version 1 | kid length | kid (ASCII) | 12-byte IV | ciphertext | 16-byte tag
 *
 * AES-256-GCM under the HKDF subkey of the kid's key. The associated data is the whole
 * header (so the kid and version cannot be swapped) followed by the scope the file
 * belongs to: a file copied to another scope's path fails to authenticate, exactly as
 * one with a flipped byte or opened with the wrong key does.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const MAGIC = Buffer.from("PCTX", "ascii");
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD_LABEL = "privacy-toolkit context scope v1\u0000";

export class EnvelopeError extends Error {
  constructor(
    message: string,
    /** What went wrong, for callers that word it for their reader. */
    readonly reason: "format" | "unknown-kid" | "authentication",
    readonly kid?: string,
  ) {
    super(message);
    this.name = "EnvelopeError";
  }
}

/** Where the keys come from: the kid to write with, and a key (already the subkey) per kid. */
export interface ScopeKeys {
  readonly activeKid: string;
  key(kid: string): Buffer | undefined;
  /** Names the key source in errors, e.g. `PRIVACY_CONTEXT_KEYS`. */
  readonly source: string;
}

function header(kid: string, iv: Buffer): Buffer {
  const kidBytes = Buffer.from(kid, "ascii");
  return Buffer.concat([MAGIC, Buffer.from([VERSION, kidBytes.length]), kidBytes, iv]);
}

function aad(head: Buffer, scope: string): Buffer {
  return Buffer.concat([Buffer.from(AAD_LABEL, "utf8"), head, Buffer.from(scope, "utf8")]);
}

/** Encrypts a scope's plaintext; the parts are written one after another (no copy of the ciphertext). */
export function sealScope(plaintext: Buffer, scope: string, keys: ScopeKeys): Buffer[] {
  const kid = keys.activeKid;
  const key = keys.key(kid);
  if (key === undefined) throw new EnvelopeError(`active key "${kid}" is missing`, "unknown-kid", kid);
  const iv = randomBytes(IV_BYTES);
  const head = header(kid, iv);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad(head, scope));
  const body = cipher.update(plaintext);
  const tail = cipher.final();
  return [head, body, tail, cipher.getAuthTag()];
}

export interface Header {
  kid: string;
  iv: Buffer;
  /** Length of the header: the ciphertext starts here. */
  length: number;
}

/** Reads the header of a scope file; throws an EnvelopeError("format") when it is not one. */
export function readHeader(file: Buffer): Header {
  if (file.length < MAGIC.length + 2 || !file.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new EnvelopeError("not an encrypted context file (no PCTX header)", "format");
  }
  const version = file[MAGIC.length];
  if (version !== VERSION) throw new EnvelopeError(`unknown format version ${version}`, "format");
  const kidLength = file[MAGIC.length + 1];
  const ivAt = MAGIC.length + 2 + kidLength;
  const length = ivAt + IV_BYTES;
  if (kidLength === 0 || file.length < length + TAG_BYTES) {
    throw new EnvelopeError("truncated encrypted context file", "format");
  }
  const kid = file.toString("ascii", MAGIC.length + 2, ivAt);
  if (!/^[A-Za-z0-9._:@+-]{1,64}$/.test(kid)) throw new EnvelopeError("malformed key id in the header", "format");
  return { kid, iv: file.subarray(ivAt, length), length };
}

/** Decrypts a scope file that belongs to `scope`; returns the plaintext and the kid it was under. */
export function openScope(file: Buffer, scope: string, keys: ScopeKeys): { plaintext: Buffer; kid: string } {
  const head = readHeader(file);
  const key = keys.key(head.kid);
  if (key === undefined) {
    throw new EnvelopeError(
      `encrypted with key "${head.kid}", which ${keys.source} does not hold`,
      "unknown-kid",
      head.kid,
    );
  }
  const decipher = createDecipheriv("aes-256-gcm", key, head.iv);
  decipher.setAAD(aad(file.subarray(0, head.length), scope));
  decipher.setAuthTag(file.subarray(file.length - TAG_BYTES));
  const body = decipher.update(file.subarray(head.length, file.length - TAG_BYTES));
  try {
    decipher.final();
  } catch {
    throw new EnvelopeError(
      `authentication failed: wrong key "${head.kid}", or the file was changed or moved from another scope`,
      "authentication",
      head.kid,
    );
  }
  return { plaintext: body, kid: head.kid };
}
