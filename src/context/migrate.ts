/**
 * Migration of a plain `localfilesystem` store (`context/global/global.json`, ...) into
 * the encrypted store, on first open when the config asks for it. Every plain file is
 * read and checked first; then each encrypted file is written by the atomic writer
 * (fsynced, its folder fsynced); only then are the plain files, and the temporary files
 * localfilesystem may have left, removed. A crash at any point leaves the plain files,
 * and a second open finishes the job: a scope already written with the same contents
 * is not written again. A scope held both plain and encrypted with different contents
 * is not guessed at: the store does not open until one is moved away.
 */
import fs from "node:fs";
import path from "node:path";
import { fsyncDir } from "../core/atomic-file";
import { listScopes, PLAIN_EXTENSION, scopeFolderFiles } from "./layout";
import { encodeScope, rootFromObject, type ScopeRoot } from "./scope-data";

export interface PlainSource {
  /** The plain store's base folder (`<userDir>/context` by default). */
  baseDir: string;
}

export class MigrationError extends Error {}

export interface MigrationTarget {
  /** Plaintexts of the scopes the encrypted store holds already. */
  existing: Map<string, Buffer>;
  /** Writes one scope encrypted (atomically, fsynced). */
  write(scope: string, plaintext: Buffer): Promise<void>;
}

export interface MigrationResult {
  /** The scopes written, as the store should now hold them. */
  migrated: Map<string, ScopeRoot>;
  /** Plain files (and leftover temporary files) removed. */
  removed: number;
}

function readPlain(file: string): Record<string, unknown> {
  const text = fs.readFileSync(file, "utf8");
  // localfilesystem reads an empty file as an empty scope.
  if (text.trim() === "") return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new MigrationError(`cannot migrate ${file}: it is not valid JSON (nothing was migrated)`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new MigrationError(`cannot migrate ${file}: it does not hold a JSON object (nothing was migrated)`);
  }
  return data as Record<string, unknown>;
}

/** localfilesystem's own temporary files: `<name>.json.<timestamp>.tmp`. */
function plainTemps(baseDir: string): Promise<string[]> {
  return scopeFolderFiles(baseDir, /\.json\.\d+\.tmp$/);
}

export async function migrateFromPlain(source: PlainSource, target: MigrationTarget): Promise<MigrationResult> {
  const entries = await listScopes(source.baseDir, PLAIN_EXTENSION);
  const migrated = new Map<string, ScopeRoot>();
  if (entries.length === 0) return { migrated, removed: 0 };
  // localfilesystem reads every file of global/ as the global scope.
  const plans = entries.map((entry) => {
    const scope = path.basename(path.dirname(entry.file)) === "global" ? "global" : entry.scope;
    const root = rootFromObject(readPlain(entry.file));
    return { ...entry, scope, root, plaintext: encodeScope(root).plaintext };
  });
  const seen = new Set<string>();
  for (const plan of plans) {
    if (seen.has(plan.scope)) {
      throw new MigrationError(`cannot migrate ${plan.file}: another plain file holds scope ${plan.scope} too`);
    }
    seen.add(plan.scope);
    const held = target.existing.get(plan.scope);
    if (held !== undefined && !held.equals(plan.plaintext)) {
      throw new MigrationError(
        `cannot migrate ${plan.file}: the encrypted store already holds scope ${plan.scope} with other contents; ` +
          `move one of them away`,
      );
    }
  }
  for (const plan of plans) {
    if (!target.existing.has(plan.scope)) await target.write(plan.scope, plan.plaintext);
    migrated.set(plan.scope, plan.root);
  }
  // Only now, with every encrypted file on disk, do the plain ones go.
  const doomed = [...plans.map((p) => p.file), ...(await plainTemps(source.baseDir))];
  for (const file of doomed) await fs.promises.rm(file, { force: true });
  const dirs = new Set(doomed.map((f) => path.dirname(f)));
  for (const dir of dirs) {
    fsyncDir(dir);
    await fs.promises.rmdir(dir).catch(() => undefined); // only when empty
  }
  await fs.promises.rmdir(source.baseDir).catch(() => undefined);
  fsyncDir(path.dirname(source.baseDir));
  return { migrated, removed: doomed.length };
}
