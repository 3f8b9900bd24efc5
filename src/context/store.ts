/**
 * The encrypted context store: Node-RED's context store API (open, close, get, set,
 * keys, delete, clean) with `localfilesystem`'s behaviour as a flow sees it, and every
 * scope on disk as AES-256-GCM ciphertext bound to its scope.
 *
 * With the cache (the default), open() reads every scope into memory, get/set/keys
 * work synchronously on it (callbacks optional), and a set marks its scope for the next
 * flush, at most every `flushInterval` seconds (default 30) and on close. Without the
 * cache every call takes a callback and reads (and set rewrites) the scope file.
 *
 * Fail closed, lose nothing: open() decrypts every file before it writes anything, and
 * refuses (one line naming the file and the reason) on a missing or wrong key or a
 * changed file; a store that did not open never writes. Each scope file is replaced by
 * the shared atomic writer, so a crash leaves its previous or its new state.
 */
import fs from "node:fs";
import path from "node:path";
import { replaceFile } from "../core/atomic-file";
import { Joi, validateConfig } from "../core/validation";
import type { ScryptParams } from "../encryption/keyring";
import { EnvelopeError, openScope, readHeader, sealScope } from "./envelope";
import {
  ContextKeyError,
  ContextKeys,
  DEFAULT_KEY_ENV,
  DEFAULT_PASSPHRASE_ENV,
  loadKeys,
  PASSPHRASE_KID,
  saveSalt,
} from "./keys";
import { EXTENSION, listScopes, listStaleTemps, PLAIN_EXTENSION, scopeFile, type ScopeEntry } from "./layout";
import { acquireLock, LockError, lockHolder, releaseLock } from "./lock";
import { defaultLog, type StoreLog } from "./log";
import { migrateFromPlain, type PlainSource } from "./migrate";
import { InvalidKeyError, parseKey, propertyKey, readParts, writeParts, type Part, type Resolver } from "./property";
import { decodeScope, emptyRoot, encodeScope, FrameError, materialize, type ScopeRoot } from "./scope-data";

export const DEFAULT_BASE = "context-encrypted";
const LOCALFILESYSTEM_BASE = "context";

export interface ContextStoreConfig {
  /** Folder of the store under `dir` (default "context-encrypted"). */
  base?: string;
  /** Where the base folder is made (default: Node-RED's user directory). */
  dir?: string;
  /** Keep every scope in memory (default true), as localfilesystem. */
  cache?: boolean;
  /** With the cache: seconds between writes at most (default 30), as localfilesystem. */
  flushInterval?: number;
  /** Environment variable with `kid:key[,kid:key...]` (default PRIVACY_CONTEXT_KEYS). */
  keyEnv?: string;
  /** Environment variable with a passphrase (default PRIVACY_CONTEXT_PASSPHRASE). */
  passphraseEnv?: string;
  /** Encrypt a plain localfilesystem store on first open, then remove its files; false: never, quietly. */
  migrateFrom?: "localfilesystem" | { module: "localfilesystem"; dir?: string; base?: string } | false;
  /** Set by Node-RED: the settings a store may see. */
  settings?: { userDir?: string };
  /** For embedders and tests: the environment to read keys from, a log, scrypt cost. */
  env?: NodeJS.ProcessEnv;
  log?: StoreLog;
  scrypt?: ScryptParams;
}

export type ContextCallback = (err?: Error | null, ...values: unknown[]) => void;

export class ContextStoreError extends Error {
  constructor(message: string) {
    // One line, whatever a path or reason holds: Node-RED logs it as one.
    super(`encrypted context store: ${message.replace(/[\r\n\t]+/g, " ")}`);
    this.name = "ContextStoreError";
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const schema = Joi.object({
  base: Joi.string()
    .min(1)
    .pattern(/^[^\\/]+$/, "a folder name")
    .invalid(".", "..")
    .default(DEFAULT_BASE),
  dir: Joi.string().min(1),
  cache: Joi.boolean().default(true),
  flushInterval: Joi.number().min(0).default(30),
  keyEnv: Joi.string().pattern(NAME, "an environment variable name").default(DEFAULT_KEY_ENV),
  passphraseEnv: Joi.string().pattern(NAME, "an environment variable name").default(DEFAULT_PASSPHRASE_ENV),
  migrateFrom: Joi.alternatives(
    Joi.string().valid("localfilesystem"),
    Joi.object({
      module: Joi.string().valid("localfilesystem").required(),
      dir: Joi.string().min(1),
      base: Joi.string()
        .min(1)
        .pattern(/^[^\\/]+$/, "a folder name"),
    }),
    Joi.boolean().valid(false),
  ),
  settings: Joi.object({ userDir: Joi.string() }).unknown(true),
  env: Joi.object().unknown(true),
  log: Joi.object(),
  scrypt: Joi.object({ N: Joi.number().integer(), r: Joi.number().integer(), p: Joi.number().integer() }),
});

interface Resolved {
  baseDir: string;
  cache: boolean;
  flushMs: number;
  keyEnv: string;
  passphraseEnv: string;
  plain?: PlainSource;
  /** Where localfilesystem keeps plain files by default: warned about when not migrating. */
  plainToWarn?: string;
  env: NodeJS.ProcessEnv;
  scrypt?: ScryptParams;
}

function resolveConfig(config: ContextStoreConfig): Resolved {
  const checked = validateConfig<ContextStoreConfig & { base: string; cache: boolean; flushInterval: number }>(
    schema,
    config ?? {},
  );
  if (!checked.ok) throw new ContextStoreError(checked.error);
  const c = checked.value;
  // Node-RED always passes its userDir; outside Node-RED say where, rather than guess.
  const dir = c.dir ?? c.settings?.userDir;
  if (dir === undefined) throw new ContextStoreError('invalid config: "dir" is required outside Node-RED');
  const m = c.migrateFrom;
  const plain: PlainSource | undefined =
    m === "localfilesystem"
      ? { baseDir: path.resolve(dir, LOCALFILESYSTEM_BASE) }
      : m
        ? { baseDir: path.resolve(m.dir ?? dir, m.base ?? LOCALFILESYSTEM_BASE) }
        : undefined;
  return {
    baseDir: path.resolve(dir, c.base),
    cache: c.cache,
    flushMs: Math.max(0, c.flushInterval) * 1000,
    keyEnv: c.keyEnv ?? DEFAULT_KEY_ENV,
    passphraseEnv: c.passphraseEnv ?? DEFAULT_PASSPHRASE_ENV,
    plain,
    plainToWarn: m === undefined ? path.resolve(dir, LOCALFILESYSTEM_BASE) : undefined,
    env: c.env ?? process.env,
    scrypt: c.scrypt,
  };
}

function reason(e: unknown): string {
  if (e instanceof EnvelopeError || e instanceof ContextKeyError || e instanceof LockError) return e.message;
  if (e instanceof FrameError) return `the decrypted data is malformed (${e.message})`;
  const err = e as NodeJS.ErrnoException;
  return err && typeof err.message === "string" ? err.message : String(e);
}

/** Parsed keys without cross-references (`[msg.x]`) never change: kept, up to a bound. */
const PARSED_LIMIT = 4096;

type State = "new" | "opening" | "open" | "failed" | "closed";

export class EncryptedContextStore {
  private readonly log: StoreLog;
  private readonly config: ContextStoreConfig;
  private resolved?: Resolved;
  private state: State = "new";
  private scopeKeys?: ContextKeys;
  /** Cache mode: scope -> data. */
  private readonly data = new Map<string, ScopeRoot>();
  private readonly pending = new Set<string>();
  private readonly knownCycles = new Set<string>();
  private readonly goodScopes = new Set<string>();
  private readonly parsed = new Map<string, Part[]>();
  /** Writes (and, without the cache, every call) run one after another. */
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(config: ContextStoreConfig) {
    this.config = config ?? {};
    this.log = this.config.log ?? defaultLog;
  }

  /** The base directory (after open, or once the config is resolved). */
  get baseDir(): string {
    return this.settings().baseDir;
  }

  private settings(): Resolved {
    if (this.resolved === undefined) this.resolved = resolveConfig(this.config);
    return this.resolved;
  }

  async open(): Promise<void> {
    if (this.state !== "new") throw new ContextStoreError(`open() called on a store that is ${this.state}`);
    this.state = "opening";
    try {
      await this.load();
      this.state = "open";
    } catch (e) {
      this.state = "failed";
      this.data.clear();
      this.scopeKeys = undefined;
      throw e instanceof ContextStoreError ? e : new ContextStoreError(reason(e));
    }
  }

  private async load(): Promise<void> {
    const s = this.settings();
    const other = lockHolder(s.baseDir);
    if (other !== undefined) {
      throw new ContextStoreError(`${s.baseDir} is in use by process ${other} (another Node-RED, or a rekey)`);
    }
    const entries = await listScopes(s.baseDir);
    const files = await Promise.all(entries.map((e) => readScopeFile(e.file)));
    const usesPassphrase = files.some((f) => {
      try {
        return readHeader(f).kid === PASSPHRASE_KID;
      } catch {
        return false;
      }
    });
    try {
      this.scopeKeys = loadKeys({
        keyEnv: s.keyEnv,
        passphraseEnv: s.passphraseEnv,
        env: s.env,
        baseDir: s.baseDir,
        mayCreateSalt: !usesPassphrase,
        scrypt: s.scrypt,
      });
    } catch (e) {
      throw new ContextStoreError(`cannot open ${s.baseDir}: ${reason(e)}`);
    }
    const keys = this.scopeKeys;
    // Every file decrypts, or nothing is written: not a lock, a salt, a migrated file.
    const plaintexts = new Map<string, Buffer>();
    entries.forEach((entry, i) => {
      let plaintext: Buffer;
      try {
        plaintext = openScope(files[i], entry.scope, keys).plaintext;
        const { root, size } = decodeScope(plaintext);
        // An empty scope is not loaded, as in localfilesystem (whose cache then knows no such scope).
        if (this.settings().cache && size > 0) this.data.set(entry.scope, root);
      } catch (e) {
        throw new ContextStoreError(`cannot open ${entry.file}: ${reason(e)}`);
      }
      plaintexts.set(entry.scope, plaintext);
      this.goodScopes.add(entry.scope);
    });
    await fs.promises.mkdir(s.baseDir, { recursive: true, mode: 0o700 });
    if (keys.newSalt) saveSalt(keys.newSalt);
    try {
      acquireLock(s.baseDir);
    } catch (e) {
      throw new ContextStoreError(reason(e));
    }
    try {
      if (s.plain) await this.migrate(s.plain, plaintexts);
      else if (s.plainToWarn) await this.warnAboutPlain(s.plainToWarn);
      for (const temp of await listStaleTemps(s.baseDir)) await fs.promises.rm(temp, { force: true });
    } catch (e) {
      releaseLock(s.baseDir);
      throw e;
    }
  }

  private async migrate(plain: PlainSource, existing: Map<string, Buffer>): Promise<void> {
    const s = this.settings();
    const keys = this.scopeKeys as ContextKeys;
    const result = await migrateFromPlain(plain, {
      existing,
      write: (scope, plaintext) => writeSealed(scopeFile(s.baseDir, scope), sealScope(plaintext, scope, keys)),
    });
    for (const [scope, root] of result.migrated) {
      this.goodScopes.add(scope);
      if (s.cache && Object.keys(root).length > 0) this.data.set(scope, root);
    }
    if (result.migrated.size > 0 || result.removed > 0) {
      this.log.warn(
        `migrated ${result.migrated.size} scope(s) from ${plain.baseDir} to ${s.baseDir}; ` +
          `${result.removed} plain file(s) removed`,
      );
    }
  }

  private async warnAboutPlain(plainBase: string): Promise<void> {
    if (path.resolve(plainBase) === path.resolve(this.settings().baseDir)) return;
    const plain = await listScopes(plainBase, PLAIN_EXTENSION).catch((): ScopeEntry[] => []);
    if (plain.length > 0) {
      this.log.warn(
        `${plain.length} plain localfilesystem context file(s) remain in ${plainBase}; ` +
          `add migrateFrom: "localfilesystem" to this store's config to encrypt them ` +
          `(or migrateFrom: false to keep them)`,
      );
    }
  }

  close(): Promise<void> {
    if (this.state !== "open") {
      // A store that did not open never writes: it keeps refusing every call, and its
      // files stay exactly as they were.
      return Promise.resolve();
    }
    this.closing = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.settings().cache) {
      this.enqueue(() => this.flush()).catch((e: unknown) => this.log.error(`flush on close failed: ${reason(e)}`));
    }
    const baseDir = this.settings().baseDir;
    return this.chain.then(() => {
      this.state = "closed";
      releaseLock(baseDir);
    });
  }

  // ---- get / set / keys ------------------------------------------------------------

  get(scope: string, key: string | string[], callback?: ContextCallback): unknown {
    const cb = callbackOf(callback);
    if (!this.usable()) return this.refuse(cb);
    if (!this.settings().cache) {
      if (cb === undefined) throw this.notSync();
      this.enqueueRead(scope, cb, (root) => (root === undefined ? [null, undefined] : this.readValues(root, key)));
      return undefined;
    }
    const root = this.data.get(scope);
    if (!Array.isArray(key)) {
      let value: unknown;
      let error: Error | undefined;
      try {
        value = root === undefined ? undefined : this.readKey(root, key);
      } catch (e) {
        if (cb === undefined) throw e;
        error = e as Error;
      }
      if (cb === undefined) return value;
      cb(error, value);
      return undefined;
    }
    const values: unknown[] = [];
    for (const k of key) {
      try {
        values.push(root === undefined ? undefined : this.readKey(root, k));
      } catch (e) {
        if (cb === undefined) throw e;
        cb(e as Error);
        return undefined;
      }
    }
    if (cb === undefined) return values;
    cb(undefined, ...values);
    return undefined;
  }

  set(scope: string, key: string | string[], value: unknown, callback?: ContextCallback): void {
    const cb = callbackOf(callback);
    if (!this.usable()) {
      this.refuse(cb);
      return;
    }
    if (!this.settings().cache) {
      this.fileSet(scope, key, value, cb);
      return;
    }
    let error: Error | undefined;
    try {
      this.checkScope(scope);
      let root = this.data.get(scope);
      if (root === undefined) {
        root = emptyRoot();
        this.data.set(scope, root);
      }
      this.writeValues(root, key, value);
    } catch (e) {
      if (cb === undefined) throw e;
      error = e as Error;
    }
    this.pending.add(scope);
    this.schedule();
    cb?.(error);
  }

  keys(scope: string, callback?: ContextCallback): unknown {
    const cb = callbackOf(callback);
    if (!this.usable()) return this.refuse(cb);
    if (!this.settings().cache) {
      if (cb === undefined) throw new Error("Callback must be a function");
      this.enqueueRead(scope, cb, (root) => [null, root === undefined ? [] : Object.keys(root)]);
      return undefined;
    }
    const root = this.data.get(scope);
    let keys = root === undefined ? [] : Object.keys(root);
    // As Node-RED's memory cache: global once held get/set/keys, never listed as keys.
    if (scope === "global") keys = keys.filter((k) => k !== "set" && k !== "get" && k !== "keys");
    if (cb === undefined) return keys;
    cb(null, keys);
    return undefined;
  }

  // ---- delete / clean --------------------------------------------------------------

  delete(scope: string): Promise<void> {
    if (this.state !== "open") return Promise.reject(this.notOpen());
    this.data.delete(scope);
    this.pending.delete(scope);
    let file: string;
    try {
      file = scopeFile(this.settings().baseDir, scope);
    } catch {
      return Promise.resolve(); // no file can exist for a scope that cannot be a file name
    }
    // After the writes already queued, so a flush in flight cannot bring the file back.
    return this.enqueue(() => fs.promises.rm(file, { force: true }));
  }

  clean(activeNodes: string[]): Promise<void> {
    if (this.state !== "open") return Promise.reject(this.notOpen());
    const active = new Set(activeNodes);
    for (const scope of [...this.data.keys()]) {
      if (scope !== "global" && !active.has(scope.split(":")[0])) {
        this.data.delete(scope);
        this.pending.delete(scope);
      }
    }
    for (const scope of [...this.pending]) {
      if (scope !== "global" && !active.has(scope.split(":")[0])) this.pending.delete(scope);
    }
    this.knownCycles.clear();
    const baseDir = this.settings().baseDir;
    return this.enqueue(() => removeInactive(baseDir, active));
  }

  // ---- flush -----------------------------------------------------------------------

  private schedule(): void {
    if (this.timer !== undefined || this.closing) return;
    this.timer = setTimeout(() => {
      this.enqueue(() => this.flush()).catch(() => undefined);
    }, this.settings().flushMs);
  }

  /** Writes every pending scope. Failures are logged; a scope that failed to write stays pending. */
  private async flush(): Promise<void> {
    this.timer = undefined;
    const scopes = [...this.pending];
    this.pending.clear();
    const keys = this.scopeKeys as ContextKeys;
    const baseDir = this.settings().baseDir;
    const writes: Array<Promise<void>> = [];
    for (const scope of scopes) {
      const root = this.data.get(scope);
      if (root === undefined) continue;
      let file: string;
      let sealed: Buffer[];
      try {
        file = scopeFile(baseDir, scope);
        sealed = this.seal(scope, root, keys);
      } catch (e) {
        // A value JSON cannot hold (a BigInt): as localfilesystem, written once it changes.
        this.log.error(`cannot write context scope ${scope}: ${reason(e)}`);
        continue;
      }
      this.log.debug(`flushing encrypted context scope ${scope}`);
      writes.push(
        writeSealed(file, sealed).catch((e: unknown) => {
          this.log.error(`cannot write ${file}: ${reason(e)}; kept in memory, tried again at the next flush`);
          if (this.data.has(scope)) this.pending.add(scope);
        }),
      );
    }
    await Promise.all(writes);
    if (this.pending.size > 0 && !this.closing) this.schedule();
  }

  private seal(scope: string, root: ScopeRoot, keys: ContextKeys): Buffer[] {
    const { plaintext, cycles } = encodeScope(root);
    if (cycles && !this.knownCycles.has(scope)) {
      this.log.warn(`context scope ${scope} holds a circular reference: the reference is not saved`);
      this.knownCycles.add(scope);
    } else if (!cycles) {
      this.knownCycles.delete(scope);
    }
    return sealScope(plaintext, scope, keys);
  }

  // ---- without the cache -----------------------------------------------------------

  private async readScope(scope: string): Promise<ScopeRoot | undefined> {
    const file = scopeFile(this.settings().baseDir, scope);
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new ContextStoreError(`cannot read ${file}: ${reason(e)}`);
    }
    try {
      return decodeScope(openScope(bytes, scope, this.scopeKeys as ContextKeys).plaintext).root;
    } catch (e) {
      throw new ContextStoreError(`cannot open ${file}: ${reason(e)}`);
    }
  }

  private enqueueRead(scope: string, cb: ContextCallback, answer: (root: ScopeRoot | undefined) => unknown[]): void {
    // After the writes queued before it: a flow reads what it wrote.
    this.enqueue(async () => answer(await this.readScope(scope))).then(
      (args) => deliver(cb, args, this.log),
      (e: unknown) => deliver(cb, [e as Error], this.log),
    );
  }

  private fileSet(scope: string, key: string | string[], value: unknown, cb: ContextCallback | undefined): void {
    const keys = this.scopeKeys as ContextKeys;
    this.enqueue(async () => {
      this.checkScope(scope);
      const root = (await this.readScope(scope)) ?? emptyRoot();
      this.writeValues(root, key, value);
      const file = scopeFile(this.settings().baseDir, scope);
      await writeSealed(file, this.seal(scope, root, keys));
    }).then(
      () => cb && deliver(cb, [null], this.log),
      (e: unknown) => {
        if (cb) deliver(cb, [e], this.log);
        else if (!(e instanceof InvalidKeyError)) this.log.error(reason(e));
      },
    );
  }

  // ---- keys and values -------------------------------------------------------------

  private readValues(root: ScopeRoot, key: string | string[]): unknown[] {
    if (!Array.isArray(key)) return [null, this.readKey(root, key)];
    return [undefined, ...key.map((k) => this.readKey(root, k))];
  }

  private writeValues(root: ScopeRoot, key: string | string[], value: unknown): void {
    const keys = Array.isArray(key) ? key : [key];
    const values: unknown[] = !Array.isArray(key) ? [value] : Array.isArray(value) ? value : [value];
    for (let i = 0; i < keys.length; i++) {
      const parts = this.parts(root, keys[i]);
      materialize(root, head(parts));
      writeParts(root, parts, i < values.length ? values[i] : null);
    }
  }

  /** A value, or undefined when a parent is missing; throws for an invalid key. */
  private readKey(root: ScopeRoot, key: string): unknown {
    const parts = this.parts(root, key);
    materialize(root, head(parts));
    try {
      return readParts(root, parts);
    } catch (e) {
      if (e instanceof TypeError) return undefined;
      throw e;
    }
  }

  private parts(root: ScopeRoot, key: unknown): Part[] {
    if (typeof key !== "string") throw new InvalidKeyError("Invalid property expression: key must be a string");
    const known = this.parsed.get(key);
    if (known !== undefined) return known;
    const parts = parseKey(key, this.resolver(root));
    if (!key.includes("[msg")) {
      if (this.parsed.size >= PARSED_LIMIT) this.parsed.clear();
      this.parsed.set(key, parts);
    }
    return parts;
  }

  /** `a[msg.b]` reads `b` of the same scope, as Node-RED's stores do. */
  private resolver(root: ScopeRoot): Resolver {
    const resolve: Resolver = (expression) => {
      const parts = parseKey(expression.startsWith("msg.") ? expression.slice(4) : expression, resolve);
      materialize(root, head(parts));
      return readParts(root, parts);
    };
    return resolve;
  }

  private checkScope(scope: string): void {
    if (this.goodScopes.has(scope)) return;
    scopeFile(this.settings().baseDir, scope);
    this.goodScopes.add(scope);
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.chain.then(job);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Open, or closed with the cache (as localfilesystem, a closed cache still answers and
   * takes sets, which are no longer written). Never before open or after a failed one.
   */
  private usable(): boolean {
    return this.state === "open" || (this.state === "closed" && this.settings().cache);
  }

  private refuse(cb: ContextCallback | undefined): undefined {
    if (cb === undefined) throw this.notOpen();
    cb(this.notOpen());
    return undefined;
  }

  private notSync(): Error {
    return new Error("encrypted context store: cache disabled - only asynchronous access supported");
  }

  private notOpen(): Error {
    return new ContextStoreError(`the store is ${this.state === "failed" ? "not open (open failed)" : this.state}`);
  }
}

/** The top-level key of a parsed key (a name or number: a key never starts with a bracket). */
function head(parts: Part[]): string | number {
  return propertyKey(parts[0]);
}

function callbackOf(callback: unknown): ContextCallback | undefined {
  if (!callback) return undefined;
  if (typeof callback !== "function") throw new TypeError("Callback must be a function");
  return callback as ContextCallback;
}

/** Calls a flow's callback outside our promise chain; what it throws is logged, never lost in a rejection. */
function deliver(cb: ContextCallback, args: unknown[], log: StoreLog): void {
  try {
    cb(...(args as [Error | null | undefined, ...unknown[]]));
  } catch (e) {
    log.error(`a context callback threw: ${reason(e)}`);
  }
}

async function readScopeFile(file: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (e) {
    throw new ContextStoreError(`cannot open ${file}: ${reason(e)}`);
  }
}

/** Replaces a scope file with the sealed parts (temp file, fsync, rename, fsync the folder). */
export async function writeSealed(file: string, parts: Buffer[]): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await replaceFile(file, async (handle) => {
    const total = parts.reduce((n, p) => n + p.length, 0);
    const { bytesWritten } = await handle.writev(parts);
    // writev may stop short (a signal, a huge buffer): write what is left, in order.
    if (bytesWritten < total) await handle.write(Buffer.concat(parts).subarray(bytesWritten));
  });
}

/** localfilesystem's clean: a folder of a flow that is gone, a file of a node that is gone. */
async function removeInactive(baseDir: string, active: Set<string>): Promise<void> {
  for (const { file } of await listScopes(baseDir)) {
    const dir = path.basename(path.dirname(file));
    const stem = path.basename(file, EXTENSION);
    if (dir === "global") continue;
    if (!active.has(dir)) await fs.promises.rm(path.dirname(file), { recursive: true, force: true });
    else if (stem !== "flow" && !active.has(stem)) await fs.promises.rm(file, { force: true });
  }
}
