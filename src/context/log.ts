/**
 * Where the store's warnings go. A context store is required in settings.js, before any
 * RED object exists, and Node-RED hands it only its config. The runtime's logger is the
 * `log` of the @node-red/util instance the runtime loaded, found in the module cache (a
 * fresh require could load a second, uninitialised copy that prints nothing); without
 * one (the store used outside Node-RED) lines go to the console.
 */

export interface StoreLog {
  warn(line: string): void;
  error(line: string): void;
  debug(line: string): void;
}

interface NodeRedLog {
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

function isNodeRedLog(v: unknown): v is NodeRedLog {
  if (typeof v !== "object" || v === null) return false;
  const l = v as Record<string, unknown>;
  return typeof l.warn === "function" && typeof l.error === "function" && typeof l.debug === "function";
}

const UTIL_INDEX = /[\\/]@node-red[\\/]util[\\/]index\.js$/;

function runtimeLog(): NodeRedLog | undefined {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!UTIL_INDEX.test(file) || mod === undefined) continue;
    const log = (mod.exports as { log?: unknown } | undefined)?.log;
    if (isNodeRedLog(log)) return log;
  }
  return undefined;
}

const PREFIX = "[context] ";

/** The runtime's log when there is one, else the console; looked up on each line (cheap, rare). */
export const defaultLog: StoreLog = {
  warn: (line) => {
    const log = runtimeLog();
    if (log) log.warn(PREFIX + line);
    else console.warn(PREFIX + line);
  },
  error: (line) => {
    const log = runtimeLog();
    if (log) log.error(PREFIX + line);
    else console.error(PREFIX + line);
  },
  debug: (line) => runtimeLog()?.debug(PREFIX + line),
};
