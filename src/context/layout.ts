/**
 * Where each scope lives, in `localfilesystem`'s layout with another extension:
 *
 *   <dir>/<base>/global/global.enc        global context
 *   <dir>/<base>/<flow id>/flow.enc        a flow's context
 *   <dir>/<base>/<flow id>/<node id>.enc   a node's context (scope "<node id>:<flow id>")
 *
 * `<base>` defaults to "context-encrypted", beside (not inside) localfilesystem's
 * "context": both stores can run side by side, and neither's clean() removes the
 * other's files.
 */
import fs from "node:fs";
import path from "node:path";

export const EXTENSION = ".enc";
export const PLAIN_EXTENSION = ".json";

export class ScopeNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Error";
  }
}

/**
 * An id becomes a file or directory name: it must not climb out of the base directory
 * or hide (a dot file is skipped when listing). Node-RED's ids never look like that; a
 * hand-edited flows.json might.
 */
function checkSegment(id: string, scope: string): void {
  if (id === "" || id.startsWith(".") || /[\\/\0]/.test(id)) {
    throw new ScopeNameError(`context scope "${scope.replace(/[^\x20-\x7e]/g, "?")}" cannot be a file name`);
  }
}

/** The scope file of a scope, without its extension. Throws for a scope that is not a safe name. */
export function scopeStem(baseDir: string, scope: string): string {
  const colon = scope.indexOf(":");
  if (colon < 0) {
    checkSegment(scope, scope);
    return scope === "global" ? path.join(baseDir, "global", "global") : path.join(baseDir, scope, "flow");
  }
  // localfilesystem splits on every ':' and uses the first two parts.
  const [node, flow] = scope.split(":");
  checkSegment(node, scope);
  checkSegment(flow, scope);
  return path.join(baseDir, flow, node);
}

export function scopeFile(baseDir: string, scope: string, extension = EXTENSION): string {
  return scopeStem(baseDir, scope) + extension;
}

export interface ScopeEntry {
  scope: string;
  file: string;
}

/** The scope a file stands for, from its place in the tree (`dir/name`, relative to the base). */
function scopeOf(dir: string, stem: string): string {
  if (dir === "global") return stem === "global" ? "global" : `${stem}:global`;
  return stem === "flow" ? dir : `${stem}:${dir}`;
}

/** Every scope file with `extension` under the base directory (one level of folders); [] when it is missing. */
export async function listScopes(baseDir: string, extension = EXTENSION): Promise<ScopeEntry[]> {
  let dirs: fs.Dirent[];
  try {
    dirs = await fs.promises.readdir(baseDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const out: ScopeEntry[] = [];
  // Sorted: the first file that fails is the same on every start.
  for (const d of dirs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!d.isDirectory() || d.name.startsWith(".")) continue;
    const files = await fs.promises.readdir(path.join(baseDir, d.name));
    for (const name of files.sort()) {
      if (name.startsWith(".") || !name.endsWith(extension) || name.length === extension.length) continue;
      out.push({ scope: scopeOf(d.name, name.slice(0, -extension.length)), file: path.join(baseDir, d.name, name) });
    }
  }
  return out;
}

/**
 * The files one level of folders down (`<base>/<folder>/<name>`) whose name matches
 * `pattern`; [] when the base folder cannot be read. Hidden folders are skipped, as
 * listScopes and localfilesystem's own listing skip them: no scope lives there.
 */
export async function scopeFolderFiles(baseDir: string, pattern: RegExp): Promise<string[]> {
  const out: string[] = [];
  let dirs: fs.Dirent[];
  try {
    dirs = await fs.promises.readdir(baseDir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const d of dirs) {
    if (!d.isDirectory() || d.name.startsWith(".")) continue;
    for (const name of await fs.promises.readdir(path.join(baseDir, d.name))) {
      if (pattern.test(name)) out.push(path.join(baseDir, d.name, name));
    }
  }
  return out;
}

/** Temporary files the atomic writer leaves when a process dies mid-write (`.name.pid.n.tmp`). */
export function listStaleTemps(baseDir: string): Promise<string[]> {
  return scopeFolderFiles(baseDir, /^\..+\.enc\.\d+\.\d+\.tmp$/);
}
