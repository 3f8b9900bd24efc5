/**
 * The file that keeps GCM use counts across restarts: `{"version":1,"uses":{fp: n}}`,
 * one count per key fingerprint (a SHA-256 of the key, never the key). Replaced whole
 * by the shared atomic writer, so a crash leaves the old file or the new one.
 */
import * as fs from "node:fs";
import { writeFileAtomicSync } from "../core/atomic-file";
import type { GcmUseStore } from "./keyring";

export class GcmUseFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GcmUseFileError";
  }
}

const FINGERPRINT = /^[A-Za-z0-9_-]{43}$/;

export function gcmUseFile(file: string): GcmUseStore {
  return {
    load: () => readUses(file),
    save: (uses) => writeUses(file, uses),
  };
}

function readUses(file: string): Record<string, number> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new GcmUseFileError(`cannot read the key use counts in ${file}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GcmUseFileError(`the key use counts in ${file} are not JSON`);
  }
  const uses = typeof parsed === "object" && parsed !== null ? (parsed as { version?: unknown; uses?: unknown }) : {};
  if (uses.version !== 1 || typeof uses.uses !== "object" || uses.uses === null || Array.isArray(uses.uses)) {
    throw new GcmUseFileError(`${file} is not a key use count file (version 1)`);
  }
  const out: Record<string, number> = {};
  for (const [fp, n] of Object.entries(uses.uses)) {
    if (!FINGERPRINT.test(fp) || typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
      throw new GcmUseFileError(`${file} holds a malformed entry`);
    }
    out[fp] = n;
  }
  return out;
}

function writeUses(file: string, uses: Record<string, number>): void {
  try {
    writeFileAtomicSync(file, `${JSON.stringify({ version: 1, uses })}\n`);
  } catch (e) {
    throw new GcmUseFileError(`cannot save the key use counts to ${file}: ${(e as Error).message}`);
  }
}
