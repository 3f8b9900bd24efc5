/**
 * Re-encrypts every scope file of a store under the active key at once (`context rekey`),
 * and reports which key each file is under (`context status`). Every file is decrypted
 * before the first one is written, so a wrong or missing key changes nothing; each file
 * is replaced by the atomic writer, so an interrupted rekey leaves every file readable
 * with the keys it had (run it again to finish).
 */
import fs from "node:fs";
import { EnvelopeError, openScope, readHeader, sealScope } from "./envelope";
import type { ContextKeys } from "./keys";
import { listScopes } from "./layout";
import { acquireLock, releaseLock } from "./lock";
import { writeSealed } from "./store";

export interface FileStatus {
  file: string;
  scope: string;
  bytes: number;
  /** The kid in the file's header (undefined when it has none). */
  kid?: string;
  /** Why it does not open with the keys given (undefined: it opens). */
  problem?: string;
}

/** Every scope file with its kid, and whether it opens with `keys` (when given). */
export async function storeStatus(baseDir: string, keys?: ContextKeys): Promise<FileStatus[]> {
  const out: FileStatus[] = [];
  for (const entry of await listScopes(baseDir)) {
    const bytes = await fs.promises.readFile(entry.file);
    const status: FileStatus = { file: entry.file, scope: entry.scope, bytes: bytes.length };
    try {
      status.kid = readHeader(bytes).kid;
      if (keys) openScope(bytes, entry.scope, keys);
    } catch (e) {
      status.problem = e instanceof EnvelopeError ? e.message : String(e);
    }
    out.push(status);
  }
  return out;
}

export interface RekeyResult {
  /** Files rewritten, by the kid they were under before. */
  from: Record<string, number>;
  files: number;
  activeKid: string;
}

export class RekeyError extends Error {}

export async function rekeyStore(
  baseDir: string,
  keys: ContextKeys,
  options: { force?: boolean } = {},
): Promise<RekeyResult> {
  if (!fs.existsSync(baseDir)) throw new RekeyError(`${baseDir} does not exist`);
  acquireLock(baseDir, options.force === true);
  try {
    const entries = await listScopes(baseDir);
    const opened = [];
    for (const entry of entries) {
      const bytes = await fs.promises.readFile(entry.file);
      try {
        opened.push({ ...entry, ...openScope(bytes, entry.scope, keys) });
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new RekeyError(`cannot open ${entry.file}: ${why} (nothing was rewritten)`);
      }
    }
    const from: Record<string, number> = {};
    for (const f of opened) {
      await writeSealed(f.file, sealScope(f.plaintext, f.scope, keys));
      from[f.kid] = (from[f.kid] ?? 0) + 1;
    }
    return { from, files: opened.length, activeKid: keys.activeKid };
  } finally {
    releaseLock(baseDir);
  }
}
