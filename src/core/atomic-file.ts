/**
 * The one way this package replaces a file: write a temporary file beside it, fsync it,
 * rename it over the target, fsync the directory. A crash at any point leaves either the
 * old file or the new one, never a torn one, and the rename is durable once we return.
 * Used by the consent journal's compaction, the GCM use counts and the manifest trust
 * store; nothing else in the package writes a file in place.
 */
import fs from "node:fs";
import path from "node:path";

export interface AtomicWriteOptions {
  /** File mode of the new file; defaults to 0600 (everything we write is private). */
  mode?: number;
}

export interface ReplaceOptions extends AtomicWriteOptions {
  /**
   * Called after the new file is written and fsynced, just before the rename. Throwing
   * cancels the replacement (the temporary file is removed, the target left as it is):
   * a writer that must not rename over a file someone else has put there since it
   * started (a restored backup) checks that here, as late as it can.
   */
  beforeRename?: () => Promise<void>;
}

const DEFAULT_MODE = 0o600;
let sequence = 0;

function tempName(file: string): string {
  // pid + counter: two writers in one process, or two processes, never share a temp file.
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${++sequence}.tmp`);
}

/** fsync a directory so a rename in it survives a power cut; some file systems refuse, harmlessly. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // EISDIR/EINVAL/EPERM on some file systems: the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Replaces `file` with what `fill` writes to the descriptor it is given (synchronous). */
export function replaceFileSync(file: string, fill: (fd: number) => void, options: AtomicWriteOptions = {}): void {
  const tmp = tempName(file);
  const fd = fs.openSync(tmp, "wx", options.mode ?? DEFAULT_MODE);
  try {
    try {
      fill(fd);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(path.dirname(file));
}

/** Replaces `file` with `data` (synchronous; for small files). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  replaceFileSync(file, (fd) => fs.writeFileSync(fd, data), options);
}

/**
 * Replaces `file` with what `fill` writes through the handle, without blocking the event
 * loop (large files: a journal compaction, a context store flush).
 */
export async function replaceFile(
  file: string,
  fill: (handle: fs.promises.FileHandle) => Promise<void>,
  options: ReplaceOptions = {},
): Promise<void> {
  const tmp = tempName(file);
  const handle = await fs.promises.open(tmp, "wx", options.mode ?? DEFAULT_MODE);
  try {
    try {
      await fill(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.beforeRename) await options.beforeRename();
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDirAsync(path.dirname(file));
}

/** Replaces `file` with `data` without blocking the event loop. */
export function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  return replaceFile(file, async (handle) => void (await handle.writeFile(data)), options);
}

async function fsyncDirAsync(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, "r");
    await handle.sync();
  } catch {
    // As in fsyncDir.
  } finally {
    await handle?.close();
  }
}
