/**
 * A consent store: the in-memory index (consent.ts) kept in step with a backend that
 * makes each change durable first. `file`: the journal (consent-journal.ts); `memory`:
 * nothing survives a restart (tests, demos); `redis`: a stream shared by several instances
 * (redis-backend.ts). The manager and the gate use only the
 * methods of this class, reached through the store config node.
 */
import {
  ConsentIndex,
  parseCommand,
  type BlockReason,
  type ConsentEntry,
  type ConsentReceipt,
  type JournalRecord,
  type PurposeDef,
  type PurposeState,
} from "./consent";
import { Journal, JournalChangedError, type LoadReport } from "./consent-journal";
import { RedisJournal } from "./redis-backend";
import * as os from "node:os";
import * as path from "node:path";
import type { RedNode } from "../core/red-types";

/** What the manager and gate see of a privacy-consent-store config node. */
export interface ConsentStoreNode extends RedNode {
  /** The store, or undefined when the config is invalid. */
  consentStore?: ConsentStore;
  /** Why the store cannot be used (invalid config, journal locked or unreadable). */
  consentStoreError?: string;
}

/** Where the journal goes: an absolute path as given, a relative one under the user directory. */
export function journalPath(userDir: string | undefined, file: string, nodeId: string): string {
  const base = userDir || path.join(os.homedir(), ".node-red");
  const name = file !== "" ? file : path.join("privacy-consent", `${nodeId.replace(/[^\w.-]/g, "_")}.jsonl`);
  return path.isAbsolute(name) ? name : path.join(base, name);
}

export type Backend = "file" | "memory" | "redis";

/** Where the redis backend connects (redis-backend.ts). */
export interface RedisOptions {
  url: string;
  prefix?: string;
  username?: string;
  password?: string;
  maxLagMs?: number;
  /** How a record becomes a line knowing the line before it (a chained journal); default JSON.stringify. */
  serialise?: (record: JournalRecord, previous: string | undefined) => string;
}

export interface ConsentStoreOptions {
  backend: Backend;
  purposes: readonly PurposeDef[];
  /** Journal path (file backend). */
  file?: string;
  /** Store node id or name (lock file, errors). */
  owner: string;
  /** Days an ended consent (withdrawn or expired) is kept before compaction drops it; 0 = forever. */
  retainDays?: number;
  now?: () => number;
  newId?: () => string;
  warn?: (text: string) => void;
  /** How often the journal file is checked between writes (tests); default 2000 ms. */
  watchIntervalMs?: number;
  /** The redis backend's server and keys. */
  redis?: RedisOptions;
}

/** Told when a running store becomes unavailable: the full reason, and a few words for a node status. */
export type UnavailableListener = (reason: string, short: string) => void;

/** Appends between checks for compaction. */
const COMPACT_CHECK_EVERY = 10000;
const DAY_MS = 86400000;

export class ConsentStore {
  readonly index: ConsentIndex;
  readonly backend: Backend;
  private journal: Journal | undefined;
  private redis: RedisJournal | undefined;
  private readonly availableListeners = new Set<() => void>();
  private readonly history = new Map<string, ConsentReceipt[]>();
  private failure: string | undefined;
  private appendsSinceCheck = 0;
  private readonly retainDays: number;
  private readonly warn: (text: string) => void;
  private readonly listeners = new Set<UnavailableListener>();
  loadReport: LoadReport | undefined;

  /** Opens (and for `file`, loads) the store. Never throws: a failure makes it unavailable. */
  constructor(options: ConsentStoreOptions) {
    this.backend = options.backend;
    this.retainDays = options.retainDays ?? 0;
    this.warn = options.warn ?? (() => undefined);
    this.index = new ConsentIndex({ purposes: options.purposes, now: options.now, newId: options.newId });
    if (options.backend === "redis") {
      if (!options.redis) this.failure = "no Redis URL configured";
      else {
        this.redis = new RedisJournal({
          ...options.redis,
          warn: options.warn,
          onRecord: (record) => this.applyRecord(record, undefined),
          onUnavailable: (reason, short) => this.tellUnavailable(new Error(reason), short),
          onAvailable: () => this.tellAvailable(),
        });
      }
    }
    if (options.backend === "file") {
      try {
        if (!options.file) throw new Error("no journal file configured");
        this.journal = new Journal(options.file, {
          owner: options.owner,
          warn: options.warn,
          onDurable: (record, offset) => this.applyRecord(record, offset),
          onMoved: (move) => this.index.relocate(move),
          onFailure: (error) => this.tellUnavailable(error),
          watchIntervalMs: options.watchIntervalMs,
        });
        try {
          this.loadReport = this.journal.load();
        } catch (e) {
          this.journal.release();
          this.journal = undefined;
          throw e;
        }
        this.compactIfNeeded();
      } catch (e) {
        this.failure = e instanceof Error ? e.message : String(e);
      }
    }
  }

  /** Why the store cannot be used, or undefined when it can. */
  get unavailable(): string | undefined {
    if (this.failure) return this.failure;
    return this.journal?.error?.message ?? this.redis?.unavailable;
  }

  /** Resolves when a redis store has loaded the stream (or failed to); at once for the others. */
  get loaded(): Promise<void> {
    return this.redis?.loaded ?? Promise.resolve();
  }

  /** Calls `listener` when a store that was unavailable (redis) is available again. */
  onAvailable(listener: () => void): () => void {
    this.availableListeners.add(listener);
    return () => this.availableListeners.delete(listener);
  }

  private tellAvailable(): void {
    for (const listener of [...this.availableListeners]) {
      try {
        listener();
      } catch (e) {
        this.warn(`consent store: a status listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /**
   * Calls `listener` when the store stops while running (its journal was replaced,
   * removed, changed by another program, or a write failed). Returns the unsubscriber.
   */
  onUnavailable(listener: UnavailableListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private tellUnavailable(error: Error, redisShort?: string): void {
    const fileShort = error instanceof JournalChangedError ? `journal ${error.what}` : "journal write failed";
    const short = redisShort ?? fileShort;
    for (const listener of [...this.listeners]) {
      try {
        listener(error.message, short);
      } catch (e) {
        this.warn(`consent store: a status listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** Replaces the clock (tests of expiry). */
  setClock(now: () => number): void {
    this.index.now = now;
  }

  /** The gate's question, from memory. */
  check(subject: string, purpose: string): ConsentEntry | BlockReason {
    if (this.failure !== undefined || (this.journal !== undefined && this.journal.error !== undefined)) return "store-unavailable";
    // A field read, not the lag computation: the gate asks this per message.
    if (this.redis !== undefined && !this.redis.passable) return "store-unavailable";
    return this.index.check(subject, purpose);
  }

  private applyRecord(record: JournalRecord, offset: number | undefined): void {
    for (const r of record.receipts) {
      this.index.apply(r, offset ?? r);
      if (this.backend === "memory") {
        let list = this.history.get(r.subject);
        if (!list) {
          list = [];
          this.history.set(r.subject, list);
        }
        list.push(r);
      }
    }
  }

  /**
   * Runs a manager command (raw msg.consent). A grant or withdraw resolves with its
   * receipt(s) only after they are durable; a bad command rejects and changes nothing.
   */
  async execute(raw: unknown, defaultMethod: string): Promise<unknown> {
    const reason = this.unavailable;
    if (reason) throw new Error(`consent store unavailable: ${reason}`);
    const cmd = parseCommand(raw);
    switch (cmd.action) {
      case "grant":
      case "withdraw": {
        const plan = this.index.plan(cmd, defaultMethod);
        if (plan.receipts.length > 0) await this.append({ receipts: plan.receipts });
        // Copies: what flows downstream may be changed there, the store's record may not.
        const out = plan.receipts.map((r) => ({ ...r }));
        return plan.single ? out[0] : out;
      }
      case "query": {
        const subject = String(cmd.subject);
        await this.offsetsSettled();
        const states = this.states(subject, this.index.queryPurposes(subject, cmd.purpose));
        if (typeof cmd.purpose === "string") return { subject, ...states[cmd.purpose] };
        return { subject, purposes: states };
      }
      case "list":
        return this.index.list();
      case "export": {
        const subject = String(cmd.subject);
        const receipts = await this.receiptsOf(subject);
        await this.offsetsSettled();
        const purposes = this.states(subject, this.index.queryPurposes(subject, undefined));
        return { subject, exportedAt: new Date(this.index.now()).toISOString(), purposes, receipts };
      }
    }
  }

  private async append(record: JournalRecord): Promise<void> {
    if (this.journal) {
      await this.journal.append(record);
      if (++this.appendsSinceCheck >= COMPACT_CHECK_EVERY) {
        this.appendsSinceCheck = 0;
        this.compactIfNeeded();
      }
    } else if (this.redis) {
      // Applied to the index by the stream reader, in stream order, before this resolves.
      await this.redis.append(record);
    } else {
      this.applyRecord(record, undefined);
    }
  }

  /**
   * Waits while a rewrite moves the index's offsets (states() reads receipts at them).
   * The caller then reads at once, in the same turn: no await between.
   */
  private async offsetsSettled(): Promise<void> {
    for (let moving = this.journal?.relocating; moving !== undefined; moving = this.journal?.relocating) {
      await moving.catch(() => undefined);
    }
  }

  /** The current receipt behind an entry: from memory, or read back from its journal line. */
  private receiptFor(subject: string, purpose: string): ConsentReceipt | undefined {
    const entry = this.index.entry(subject, purpose);
    if (entry === undefined) return undefined;
    if (typeof entry.ref !== "number") return entry.ref;
    if (!this.journal) return undefined;
    return this.journal.readAt(entry.ref).find((r) => r.subject === subject && r.purpose === purpose);
  }

  private states(subject: string, purposes: string[]): Record<string, PurposeState> {
    const out: Record<string, PurposeState> = {};
    for (const p of purposes) {
      Object.defineProperty(out, p, { value: this.index.state(subject, p, this.receiptFor(subject, p)), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  /** Every receipt of a subject, oldest first. */
  receiptsOf(subject: string): Promise<ConsentReceipt[]> {
    if (this.journal) return this.journal.readSubject(subject);
    if (this.redis) return this.redis.readSubject(subject);
    return Promise.resolve((this.history.get(subject) ?? []).map((r) => ({ ...r })));
  }

  /** Consents that ended before this are dropped by compaction (-Infinity: kept forever). */
  private retentionCutoff(): number {
    return this.retainDays > 0 ? this.index.now() - this.retainDays * DAY_MS : -Infinity;
  }

  /**
   * Compacts in the background when there is something to drop (invalid lines, or
   * consents ended longer ago than retainDays). Looking walks the whole index, in
   * slices; nobody waits for it, and a failure is reported, never thrown (the old
   * journal stays whole).
   */
  private compactIfNeeded(): void {
    const journal = this.journal;
    if (!journal) return;
    const needed = async (): Promise<boolean> =>
      journal.invalidLines > 0 || (this.retainDays > 0 && (await this.index.forgetEndedBefore(this.retentionCutoff(), true)) > 0);
    needed()
      .then((yes) => (yes ? this.compact() : undefined))
      .catch((e: unknown) => this.warn(`consent journal compaction failed (the journal is unchanged): ${e instanceof Error ? e.message : String(e)}`));
  }

  /**
   * Rewrites the journal. Every receipt of a consent that is live, or that ended less
   * than retainDays ago, is kept; with retainDays 0 (the default) every receipt is kept
   * and only invalid lines go.
   */
  compact(): Promise<{ before: number; after: number }> {
    if (!this.journal) return Promise.resolve({ before: 0, after: 0 });
    return this.journal.compact(async () => {
      if (this.retainDays <= 0) return { keep: () => true };
      // Decided in the write queue, after every earlier append: what ended before the
      // cutoff leaves the index, and a receipt is kept exactly when the index still
      // holds its subject and purpose (every record in the journal made an entry).
      await this.index.forgetEndedBefore(this.retentionCutoff());
      return { keep: (r: ConsentReceipt) => this.index.entry(r.subject, r.purpose) !== undefined };
    });
  }

  /** Lines in the journal (file backend). */
  get journalLines(): number {
    return this.journal?.lines ?? 0;
  }

  async close(): Promise<void> {
    // First: nothing may pass a gate while the backend closes.
    this.failure = "store closed";
    this.listeners.clear();
    this.availableListeners.clear();
    const r = this.redis;
    this.redis = undefined;
    if (r) await r.close();
    const j = this.journal;
    this.journal = undefined;
    this.failure = "store closed";
    if (j) await j.close();
  }
}
