/**
 * `<base>/.lock` holds the pid of the process using the store. The rekey command
 * refuses to run while a live Node-RED holds it: its cache would otherwise write back
 * what it held before the rekey wrote, losing nothing, but a rekey reading a file while
 * Node-RED replaces it could write the older contents last. A lock left by a process
 * that died (kill -9, power cut) is stale and taken over. Stores in one process share
 * the lock (Node-RED's tests open several stores on one directory).
 */
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomicSync } from "../core/atomic-file";

const LOCK_FILE = ".lock";
const holders = new Map<string, number>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid of another live process holding the lock, if any. */
export function lockHolder(baseDir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(baseDir, LOCK_FILE), "utf8");
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  return alive(pid) ? pid : undefined;
}

export class LockError extends Error {}

/** Takes the lock; throws a LockError when another live process holds it (unless `force`). */
export function acquireLock(baseDir: string, force = false): void {
  const key = path.resolve(baseDir);
  const count = holders.get(key) ?? 0;
  if (count === 0) {
    const other = lockHolder(baseDir);
    if (other !== undefined && !force) {
      throw new LockError(`${baseDir} is in use by process ${other} (a running Node-RED or a rekey); stop it first`);
    }
    writeFileAtomicSync(path.join(baseDir, LOCK_FILE), `${process.pid}\n`, { mode: 0o644 });
  }
  holders.set(key, count + 1);
}

export function releaseLock(baseDir: string): void {
  const key = path.resolve(baseDir);
  const count = holders.get(key) ?? 0;
  if (count > 1) {
    holders.set(key, count - 1);
    return;
  }
  holders.delete(key);
  if (count === 0) return;
  try {
    const file = path.join(baseDir, LOCK_FILE);
    if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.rmSync(file, { force: true });
  } catch {
    // Gone already (the directory was removed): nothing to release.
  }
}
