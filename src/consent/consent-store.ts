/**
 * A consent store: the in-memory index (consent.ts) kept in step with a backend that
 * makes each change durable first. `file`: the journal (consent-journal.ts); `memory`:
 * nothing survives a restart (tests, demos); `redis`: a stream shared by several instances
 * (redis-backend.ts). The manager and the gate use only the
 * methods of this class, reached through the store config node.
 */
import {
  ConsentIndex,
  nfc,
  parseCommand,
  type BlockReason,
  type ConsentEntry,
  type ConsentReceipt,
  type JournalRecord,
  type LinkEvent,
  type PurposeDef,
  type PurposeState,
} from "./consent";
import { Journal, JournalChangedError, type JournalEntry, type LoadReport } from "./consent-journal";
import { breaksFingerprint, type ChainBreak } from "./hash-chain";
import { receiptJws, signReceipt, type PublicJwk, type SigningKey } from "./receipt-signing";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { PagePurpose } from "./consent-page";
import { DEFAULT_PREFIX, RedisJournal, acceptHint, chainLine } from "./redis-backend";
import * as os from "node:os";
import * as path from "node:path";
import type { RedNode } from "../core/red-types";

/** What the manager and gate see of a privacy-consent-store config node. */
export interface ConsentStoreNode extends RedNode {
  /** The store, or undefined when the config is invalid. */
  consentStore?: ConsentStore;
  /** Why the store cannot be used (invalid config, journal locked or unreadable). */
  consentStoreError?: string;
  /** Set when the store publishes its consent page: builds a personal link from a token. */
  consentPage?: { linkUrl(token: string, origin?: string): string };
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
  /**
   * How a record becomes a line knowing the line before it; default chainLine, the file
   * journal's hash chain (checked as the stream is read). Another one is not checked.
   */
  serialise?: (record: JournalEntry, previous: string | undefined) => string;
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
  /** Signs every new receipt (a JWS anyone can verify); without it receipts are unsigned. */
  signingKey?: SigningKey;
  /** Public keys of keys used before (rotation): receipts they signed still verify. */
  retiredKeys?: readonly PublicJwk[];
}

/** A receipt as it leaves the store: its fields, and its JWS when it was signed. */
export type IssuedReceipt = Omit<ConsentReceipt, "kid" | "sig"> & { jws?: string };

/** A receipt for the outside: kid and sig become the compact JWS people can keep and verify. */
export function issued(r: ConsentReceipt): IssuedReceipt {
  const { kid: _kid, sig: _sig, ...fields } = r;
  const jws = receiptJws(r);
  return jws === undefined ? { ...fields } : { ...fields, jws };
}

/** The SHA-256 (hex) of a link token: all the store keeps of it. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** What "link" answers: the token goes into the link only, never into the journal. */
export interface LinkMade {
  subject: string;
  token: string;
  createdAt: string;
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
  private readonly signingKey: SigningKey | undefined;
  readonly retiredKeys: readonly PublicJwk[];
  /** token hash -> subject, and subject -> its current token hash: one live link per subject. */
  private readonly linkSubjects = new Map<string, string>();
  private readonly subjectLinks = new Map<string, string>();
  loadReport: LoadReport | undefined;

  /** Opens (and for `file`, loads) the store. Never throws: a failure makes it unavailable. */
  constructor(options: ConsentStoreOptions) {
    this.backend = options.backend;
    this.retainDays = options.retainDays ?? 0;
    this.warn = options.warn ?? (() => undefined);
    this.signingKey = options.signingKey;
    this.retiredKeys = options.retiredKeys ?? [];
    this.index = new ConsentIndex({ purposes: options.purposes, now: options.now, newId: options.newId });
    if (options.backend === "redis") {
      if (!options.redis) this.failure = "no Redis URL configured";
      else {
        // The same lines as the file journal: chained after the same header, checked on read.
        this.redis = new RedisJournal({
          ...options.redis,
          serialise: options.redis.serialise ?? chainLine,
          verifyChain: options.redis.serialise === undefined,
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
    const breaks = this.chainBreaks;
    if (breaks.length > 0) {
      const where = this.journal
        ? `the journal ${this.journal.file}`
        : `the consent stream ${this.redis?.keys.journal ?? ""}`;
      return (
        `${where} was changed outside the store: ${breaks[0].text}` +
        `${breaks.length > 1 ? ` (and ${breaks.length - 1} more)` : ""}; ` +
        (this.journal
          ? "gates block until it is acknowledged in the store's dialog"
          : `gates block until ${acceptHint(this.redis?.prefix ?? DEFAULT_PREFIX)}`)
      );
    }
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

  /** Breaks of the journal's hash chain waiting for an acknowledgement (empty when whole). */
  get chainBreaks(): readonly ChainBreak[] {
    return this.journal?.chainBreaks ?? this.redis?.chainBreaks ?? [];
  }

  /**
   * Accepts a journal found broken, as it is now (the file as found is kept beside it),
   * and makes the store available again. `fingerprint` names the breaks the person saw.
   */
  async acknowledgeBreaks(fingerprint: string): Promise<{ evidence: string }> {
    if (!this.journal) throw new Error("the store has no journal");
    const out = await this.journal.acknowledge(fingerprint, new Date(this.index.now()));
    this.loadReport?.breaks.splice(0);
    return out;
  }

  /** The fingerprint of the breaks found now (what an acknowledgement must name). */
  get breaksFingerprint(): string | undefined {
    const b = this.chainBreaks;
    return b.length > 0 ? breaksFingerprint(b) : undefined;
  }

  /** The public key of the signing key, if there is one. */
  get publicKey(): PublicJwk | undefined {
    return this.signingKey?.publicJwk;
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
    const j = this.journal;
    const stopped = j !== undefined && (j.error !== undefined || j.chainBreaks.length > 0);
    if (this.failure !== undefined || stopped) return "store-unavailable";
    // A field read, not the lag computation: the gate asks this per message (a chain break is fatal: closed).
    if (this.redis !== undefined && !this.redis.passable) return "store-unavailable";
    return this.index.check(subject, purpose);
  }

  private applyRecord(entry: JournalEntry, offset: number | undefined): void {
    if ("link" in entry) {
      this.applyLink(entry.link);
      return;
    }
    const record: JournalRecord = entry;
    for (const r of record.receipts) {
      this.index.apply(r, offset ?? r);
      if (this.backend === "memory") {
        const subject = nfc(r.subject);
        let list = this.history.get(subject);
        if (!list) {
          list = [];
          this.history.set(subject, list);
        }
        list.push(r);
      }
    }
  }

  private applyLink(l: LinkEvent): void {
    const subject = nfc(l.subject); // as the index keys it (links written before normalisation)
    const current = this.subjectLinks.get(subject);
    if (l.action === "create") {
      // One live link per subject: a new one replaces the last.
      if (current !== undefined) this.linkSubjects.delete(current);
      this.subjectLinks.set(subject, l.token);
      this.linkSubjects.set(l.token, subject);
    } else if (current === l.token) {
      this.subjectLinks.delete(subject);
      this.linkSubjects.delete(l.token);
    }
  }

  /**
   * The subject a page token belongs to, or undefined (wrong, revoked, or the store is
   * unavailable). The token is hashed first: the lookup is by hash, so its timing tells
   * nothing about any stored token, and the hashes are compared in constant time.
   */
  subjectOfToken(token: string): string | undefined {
    if (this.unavailable !== undefined || token.length === 0 || token.length > 200) return undefined;
    const h = tokenHash(token);
    const subject = this.linkSubjects.get(h);
    if (subject === undefined) return undefined;
    const stored = this.subjectLinks.get(subject);
    if (stored === undefined || !timingSafeEqual(Buffer.from(stored, "hex"), Buffer.from(h, "hex"))) return undefined;
    return subject;
  }

  /** Whether a subject has a live page link. */
  hasLink(subject: string): boolean {
    return this.subjectLinks.has(subject);
  }

  /** Signs the receipts of a plan in place (before they are written: the signature is kept with them). */
  private sign(receipts: ConsentReceipt[]): void {
    const key = this.signingKey;
    if (key === undefined) return;
    for (const r of receipts) Object.assign(r, signReceipt(r, key));
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
        this.sign(plan.receipts);
        if (plan.receipts.length > 0) await this.append({ receipts: plan.receipts });
        // Copies: what flows downstream may be changed there, the store's record may not.
        const out = plan.receipts.map(issued);
        return plan.single ? out[0] : out;
      }
      case "link": {
        const made = await this.makeLink(String(cmd.subject));
        return made;
      }
      case "revoke-link": {
        const subject = String(cmd.subject);
        return { subject, revoked: await this.revokeLink(subject) };
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
        const receipts = (await this.receiptsOf(subject)).map(issued);
        await this.offsetsSettled();
        const purposes = this.states(subject, this.index.queryPurposes(subject, undefined));
        return { subject, exportedAt: new Date(this.index.now()).toISOString(), purposes, receipts };
      }
    }
  }

  /** A new page link for a subject (the last one stops working). The token: 256 bits from the CSPRNG. */
  async makeLink(subject: string): Promise<LinkMade> {
    const reason = this.unavailable;
    if (reason) throw new Error(`consent store unavailable: ${reason}`);
    const token = randomBytes(32).toString("base64url");
    const createdAt = new Date(this.index.now()).toISOString();
    await this.append({ link: { subject, token: tokenHash(token), action: "create", at: createdAt } });
    return { subject, token, createdAt };
  }

  /** Revokes a subject's page link; false when it had none. */
  async revokeLink(subject: string): Promise<boolean> {
    const reason = this.unavailable;
    if (reason) throw new Error(`consent store unavailable: ${reason}`);
    const current = this.subjectLinks.get(subject);
    if (current === undefined) return false;
    const at = new Date(this.index.now()).toISOString();
    await this.append({ link: { subject, token: current, action: "revoke", at } });
    return true;
  }

  private async append(record: JournalEntry): Promise<void> {
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
    return this.journal.readAt(entry.ref).find((r) => nfc(r.subject) === subject && nfc(r.purpose) === purpose);
  }

  private states(subject: string, purposes: string[]): Record<string, PurposeState> {
    const out: Record<string, PurposeState> = {};
    for (const p of purposes) {
      Object.defineProperty(out, p, {
        value: this.index.state(subject, p, this.receiptFor(subject, p)),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  /**
   * What the consent page shows of one subject: every declared purpose with its state and
   * the decision behind it, and every receipt (oldest first).
   */
  async subjectView(subject: string): Promise<{ purposes: PagePurpose[]; history: IssuedReceipt[] }> {
    const history = (await this.receiptsOf(subject)).map(issued);
    await this.offsetsSettled();
    const purposes = this.index.purposeList().map((def): PagePurpose => {
      const state = this.index.state(subject, def.id, this.receiptFor(subject, def.id));
      return {
        def,
        state: state.state,
        since: state.timestamp,
        expiresAt: state.state === "granted" ? state.expiresAt : null,
        decidedVersion: state.policyVersion,
      };
    });
    return { purposes, history };
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
    // A broken chain waits for its acknowledgement, which rewrites the journal anyway.
    if (!journal || journal.chainBreaks.length > 0) return;
    const needed = async (): Promise<boolean> =>
      journal.invalidLines > 0 ||
      (this.retainDays > 0 && (await this.index.forgetEndedBefore(this.retentionCutoff(), true)) > 0);
    needed()
      .then((yes) => (yes ? this.compact() : undefined))
      .catch((e: unknown) =>
        this.warn(
          `consent journal compaction failed (the journal is unchanged): ${e instanceof Error ? e.message : String(e)}`,
        ),
      );
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
      return {
        // Keyed as the index keys it: a receipt written before ids were normalised names its
        // subject in another form, and dropping it would lose (say) a withdrawal.
        keep: (r: ConsentReceipt) => this.index.entry(nfc(r.subject), nfc(r.purpose)) !== undefined,
        // A link stays while it is the subject's live one; revoked and replaced ones go.
        keepLink: (l: LinkEvent) => l.action === "create" && this.subjectLinks.get(nfc(l.subject)) === l.token,
      };
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
