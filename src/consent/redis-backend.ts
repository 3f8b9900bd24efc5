/**
 * The consent store's `redis` backend: the journal kept in a Redis Stream that several
 * Node-RED instances share, each with its own in-memory index (the gate never asks Redis).
 *
 * - Layout, for a key prefix P: `P journal` is a Stream whose entries have one field,
 *   `line`, holding a journal line exactly as the file journal writes it (without the
 *   newline), so fields, chains and signatures carried by lines travel unchanged;
 *   `P receipts` is a hash receiptId -> stream id (idempotency); `P format` holds the
 *   header line the file journal starts with; `P head` the id of the newest entry the
 *   store wrote, set in the same script as the entry (as the file journal's `.head`: a
 *   stream whose newest entries went missing, by XDEL or the stream key restored alone, is
 *   found at load, where the chain alone cannot tell, since what is left still links up).
 * - An append is one Lua script (atomic on the server) carrying a batch of lines (the
 *   records queued while the previous batch was in flight: group commit). When the first
 *   receipt id of the batch is already in `P receipts`, the batch was written before (a
 *   retry after a lost reply) and nothing is added; a receipt is never duplicated. With
 *   `appendfsync always` Redis writes the AOF before it replies, so an acknowledged
 *   receipt survives a crash of Redis.
 * - Each line is serialised knowing the line before it in the stream (`serialise`, for a
 *   journal whose lines are hash-chained), and the script adds the batch only when the
 *   stream still ends where the writer believed (compare-and-append on the last id). When
 *   another instance wrote in between, the writer waits for its reader to reach that entry
 *   and serialises the batch again after it: the stream stays one chain with any number
 *   of writers.
 * - Order: the index is changed only by the tail reader (XREAD BLOCK from the last id it
 *   applied), on every instance, own writes included; so every instance applies the same
 *   receipts in the same (stream) order, and the last one in the stream wins everywhere.
 *   An append resolves once the reader has applied its entry (a query right after sees it).
 * - Lag: a reader whose connection is down makes the backend unavailable at once. Beyond
 *   that, the reader knows when it was last caught up (an XREAD that came back empty or
 *   with less than a full batch). When that is more than maxLagMs ago (Redis unreachable,
 *   a hung connection, a reader falling behind), the backend is unavailable and gates
 *   block with store-unavailable; it is available again as soon as the reader catches up.
 *   The gate reads a flag this is computed into (per stream read, per connection event and
 *   every 100 ms), so it closes at most 100 ms after maxLagMs is passed.
 * - Recovery: node-redis reconnects by itself; the reader resumes from its last applied id
 *   (nothing lost, nothing applied twice). A stream that went back (Redis restarted without
 *   its data) makes the backend unavailable for good: acknowledged receipts are missing.
 */
import { createClient, type RedisClientType } from "redis";
import { parseLine, subjectReceipts, type ConsentReceipt, type ParsedLine } from "./consent";
import { JOURNAL_FORMAT, JOURNAL_VERSION, type JournalEntry } from "./consent-journal";
import { ChainVerifier, chained, lineHash, type ChainBreak } from "./hash-chain";

/** The header the file journal starts with; kept under `P format`. */
export const REDIS_HEADER = JSON.stringify({ format: JOURNAL_FORMAT, version: JOURNAL_VERSION });
export const DEFAULT_PREFIX = "node-red-privacy:consent:";

/**
 * A record as the file journal writes it: its JSON linked to the line before it (the
 * header for the first), each hashed with its newline. The stream, read after its header,
 * is then byte for byte a version 2 file journal: one chain, one verifier, one export.
 */
export function chainLine(record: JournalEntry, previous: string | undefined): string {
  return chained(JSON.stringify(record), lineHash(`${previous ?? REDIS_HEADER}\n`));
}

/**
 * Checks the stream's chain as it is read, the header (`P format`) being line 1. A stream
 * keeps no head beside it (entries are only ever added), so the end is not compared: what
 * is checked is that every entry links to the one before it.
 */
export class StreamChain {
  private readonly verifier = new ChainVerifier(undefined);

  constructor() {
    this.feed(REDIS_HEADER);
  }

  /** Feeds one entry's line; returns the first break it made, if any. */
  feed(line: string): ChainBreak | undefined {
    const before = this.verifier.broken;
    this.verifier.feed(Buffer.from(line, "utf8"), lineHash(`${line}\n`));
    return this.verifier.broken > before ? this.verifier.breaks[this.verifier.breaks.length - 1] : undefined;
  }

  get breaks(): readonly ChainBreak[] {
    return this.verifier.breaks;
  }
}

/** What ends a break: Redis restored, or the stream accepted as it is by the command. */
export function acceptHint(prefix: string): string {
  return (
    "Redis is restored, or what the stream holds now is accepted with `npx @privacy-toolkit/node-red-privacy " +
    `consent acknowledge --redis <its URL> --prefix ${prefix}\` (evidence is kept) and the flows are restarted`
  );
}

/**
 * The check `<prefix>head` makes: read before the stream (entries written meanwhile come
 * after it), the entry it names must be among those read; else the newest entries are gone.
 */
export class HeadCheck {
  private seen: boolean;
  private lines = 1; // the header

  private constructor(readonly head: string) {
    this.seen = head === "";
  }

  static async read(client: RedisClient, keys: RedisKeys): Promise<HeadCheck> {
    return new HeadCheck(streamText(await client.sendCommand(["GET", keys.head])));
  }

  /** Called with each entry read, in order. */
  see(id: string): void {
    this.lines++;
    if (id === this.head) this.seen = true;
  }

  /** The break, once everything was read, when the head's entry was not among it. */
  missing(): ChainBreak | undefined {
    if (this.seen) return undefined;
    const text =
      `entries after line ${this.lines} were removed: ` + `entry ${this.head}, the newest the store wrote, is missing`;
    return { kind: "end-removed", line: this.lines + 1, text };
  }
}

/**
 * The ids that make an append idempotent: receipt ids; for a link, what it does to which
 * token (a retry re-serialised after another writer still names the same event); for a
 * checkpoint (a migrated journal), the line itself.
 */
export function entryIds(entry: JournalEntry): string[] {
  if ("link" in entry) return [`link:${entry.link.token}:${entry.link.action}:${entry.link.at}`];
  return entry.receipts.map((r: ConsentReceipt) => r.receiptId);
}

/** The ids of a parsed line (see entryIds). */
export function lineIds(parsed: ParsedLine, line: string): string[] {
  if (parsed.kind === "receipts") return entryIds({ receipts: parsed.receipts });
  if (parsed.kind === "link") return entryIds({ link: parsed.link });
  return [`checkpoint:${lineHash(`${line}\n`)}`];
}
/** Entries read per XREAD/XRANGE. */
const BATCH = 1000;
/** How long one XREAD blocks: an idle reader is known caught up at least this often. */
const BLOCK_MS = 250;

/**
 * KEYS: stream, receipts, head. ARGV: expected last id ("0-0": empty), first receipt id of the
 * batch, n, n lines, then per line: its receipt count and ids.
 * Answers {2, id...} when the batch is there already, {0, last id} when the stream moved on,
 * {1, id...} when added.
 */
const APPEND_AFTER_SCRIPT = `
local n = tonumber(ARGV[3])
local existing = redis.call('HGET', KEYS[2], ARGV[2])
if existing then
  local found = {2}
  local q = 4 + n
  for i = 1, n do
    local k = tonumber(ARGV[q])
    found[#found + 1] = redis.call('HGET', KEYS[2], ARGV[q + 1]) or existing
    q = q + 1 + k
  end
  return found
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local lastId = '0-0'
if #last > 0 then lastId = last[1][1] end
if lastId ~= ARGV[1] then return {0, lastId} end
local out = {1}
local p = 4 + n
for i = 1, n do
  local id = redis.call('XADD', KEYS[1], '*', 'line', ARGV[3 + i])
  redis.call('SET', KEYS[3], id)
  out[#out + 1] = id
  local k = tonumber(ARGV[p])
  p = p + 1
  for j = 1, k do
    redis.call('HSET', KEYS[2], ARGV[p], id)
    p = p + 1
  end
end
return out`;

/** One line, no order check: the migration copies lines whose order and chain are already made. */
const APPEND_SCRIPT = `
local existing = redis.call('HGET', KEYS[2], ARGV[2])
if existing then return existing end
local id = redis.call('XADD', KEYS[1], '*', 'line', ARGV[1])
redis.call('SET', KEYS[3], id)
for i = 2, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], id) end
return id`;

export interface RedisKeys {
  journal: string;
  receipts: string;
  format: string;
  head: string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    journal: `${prefix}journal`,
    receipts: `${prefix}receipts`,
    format: `${prefix}format`,
    head: `${prefix}head`,
  };
}

export interface RedisJournalOptions {
  url: string;
  prefix?: string;
  username?: string;
  password?: string;
  /** The index is stale (gates block) when the reader was last caught up longer ago; default 3000. */
  maxLagMs?: number;
  /** Called with each record (receipts or a link event) in stream order, once durable. */
  onRecord: (record: JournalEntry, id: string) => void;
  /** Called when the backend becomes unavailable (reason, a few words for a status). */
  onUnavailable: (reason: string, short: string) => void;
  /** Called when it is available again. */
  onAvailable: () => void;
  warn?: (text: string) => void;
  /**
   * Makes a record's line, knowing the stream's line before it (undefined: the stream is
   * empty, the header comes first). Default: chainLine, as the file journal.
   */
  serialise?: (record: JournalEntry, previous: string | undefined) => string;
  /**
   * Whether the stream's hash chain is checked as it is read (a break fails closed); by
   * default exactly when the default (chained) serialiser is used.
   */
  verifyChain?: boolean;
}

interface Pending {
  record: JournalEntry;
  resolve: (id: string) => void;
  reject: (e: Error) => void;
}

/** Records sent in one script call at most. */
const MAX_BATCH = 256;

/** A stream id as two numbers, for comparing. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-");
  const [bm, bs] = b.split("-");
  return Number(am) - Number(bm) || Number(as ?? 0) - Number(bs ?? 0);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Entries of a raw RESP2 stream reply: [[id, [field, value, ...]], ...]. */
export function streamEntries(reply: unknown): Array<{ id: string; line: string | undefined }> {
  const out: Array<{ id: string; line: string | undefined }> = [];
  if (!Array.isArray(reply)) return out;
  for (const item of reply as unknown[]) {
    if (!Array.isArray(item) || item.length < 2) continue;
    const [id, fields] = item as [unknown, unknown];
    let line: string | undefined;
    if (Array.isArray(fields)) {
      for (let i = 0; i + 1 < fields.length; i += 2)
        if (streamText(fields[i]) === "line") line = streamText(fields[i + 1]);
    }
    out.push({ id: streamText(id), line });
  }
  return out;
}

/**
 * Entries of a raw XREAD reply for one stream: null (timeout), [[key, entries]], or (as
 * node-redis hands RESP2 XREAD replies back) an object keyed by stream name.
 */
export function xreadEntries(reply: unknown, key: string): Array<{ id: string; line: string | undefined }> {
  if (reply === null || typeof reply !== "object") return [];
  if (Array.isArray(reply)) {
    const first: unknown = reply[0];
    return Array.isArray(first) ? streamEntries(first[1]) : [];
  }
  if (reply instanceof Map) return streamEntries(reply.get(key));
  return streamEntries((reply as Record<string, unknown>)[key]);
}

export type RedisClient = RedisClientType;

/** A client that reconnects quickly and fails commands at once while disconnected (we retry). */
export function connectClient(url: string, username?: string, password?: string): RedisClient {
  return createClient({
    url,
    username: username || undefined,
    password: password || undefined,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(50 + retries * 50, 500) },
  });
}

/** Appends one line, idempotently (see APPEND_SCRIPT); resolves with its stream id. */
export async function appendLine(client: RedisClient, keys: RedisKeys, line: string, ids: string[]): Promise<string> {
  const reply = await client.sendCommand([
    "EVAL",
    APPEND_SCRIPT,
    "3",
    keys.journal,
    keys.receipts,
    keys.head,
    line,
    ...ids,
  ]);
  return streamText(reply);
}

/** A bulk-string reply as text ("" for anything else: nil, arrays). */
export function streamText(reply: unknown): string {
  if (typeof reply === "string") return reply;
  if (Buffer.isBuffer(reply)) return reply.toString("utf8");
  return "";
}

type BatchReply =
  { kind: "added"; ids: string[] } | { kind: "present"; ids: string[] } | { kind: "moved"; last: string };

/** Appends lines after `expected` (the stream's last id as the writer knows it); see APPEND_AFTER_SCRIPT. */
export async function appendAfter(
  client: RedisClient,
  keys: RedisKeys,
  expected: string,
  lines: string[],
  ids: string[][],
): Promise<BatchReply> {
  const first = ids[0]?.[0] ?? "";
  const args = [
    "EVAL",
    APPEND_AFTER_SCRIPT,
    "3",
    keys.journal,
    keys.receipts,
    keys.head,
    expected,
    first,
    String(lines.length),
  ];
  args.push(...lines);
  for (const list of ids) args.push(String(list.length), ...list);
  const reply = await client.sendCommand(args);
  if (!Array.isArray(reply)) throw new Error("unexpected reply from the append script");
  const [status, ...rest] = reply as unknown[];
  const values = rest.map(streamText);
  if (status === 2) return { kind: "present", ids: values };
  if (status === 0) return { kind: "moved", last: values[0] };
  return { kind: "added", ids: values };
}

/** Reads the whole stream in batches, oldest first. */
export async function* readAll(client: RedisClient, keys: RedisKeys): AsyncGenerator<{ id: string; line: string }> {
  let start = "-";
  for (;;) {
    const reply = await client.sendCommand(["XRANGE", keys.journal, start, "+", "COUNT", String(BATCH)]);
    const entries = streamEntries(reply);
    for (const e of entries) if (e.line !== undefined) yield { id: e.id, line: e.line };
    if (entries.length < BATCH) return;
    start = `(${entries[entries.length - 1].id}`;
  }
}

/** Writes the header when missing; refuses a key that holds something else. */
export async function checkFormat(client: RedisClient, keys: RedisKeys): Promise<void> {
  await client.sendCommand(["SET", keys.format, REDIS_HEADER, "NX"]);
  const found = streamText(await client.sendCommand(["GET", keys.format]));
  if (found !== REDIS_HEADER) {
    const shown = JSON.stringify(found.slice(0, 200));
    throw new Error(`${keys.format} holds ${shown}, not a consent journal header this release reads`);
  }
}

interface Waiter {
  id: string;
  resolve: () => void;
}

export class RedisJournal {
  readonly keys: RedisKeys;
  readonly prefix: string;
  private readonly client: RedisClient;
  private readonly reader: RedisClient;
  private readonly maxLagMs: number;
  private readonly options: RedisJournalOptions;
  /** The last stream id applied to the index ("0-0": none). */
  applied = "0-0";
  /** The line of that entry (a chained serialiser needs it). */
  private appliedLine: string | undefined;
  /** The stream's end as this writer last wrote it (faster than waiting for the reader). */
  private head: { id: string; line: string } | undefined;
  private queue: Pending[] = [];
  private writing = false;
  /** When the reader last knew it had everything; 0 before the first load ends. */
  private caughtUpAt = 0;
  /** A failure that does not heal (bad format, the stream went back); or the close. */
  private fatal: string | undefined;
  private waiters: Waiter[] = [];
  private closed = false;
  private wasAvailable = false;
  /**
   * What the gate reads per message: `unavailable` computed by notice() (every 100 ms, after
   * each read of the stream, on every connection event), so a check costs one field read.
   * It opens only through notice(); anything that closes the backend clears it at once.
   */
  passable = false;
  private toldFatal = false;
  private readonly watchdog: NodeJS.Timeout;
  private lastError = "connecting to Redis";
  /** Resolves when the first load finished (or failed). */
  readonly loaded: Promise<void>;
  receipts = 0;
  /** The chain check of what was read (undefined: not checked). */
  private readonly chain: StreamChain | undefined;
  /** Where the chain broke: the store shows it and gates block (see the file journal). */
  chainBreaks: ChainBreak[] = [];

  constructor(options: RedisJournalOptions) {
    this.options = options;
    this.chain = (options.verifyChain ?? options.serialise === undefined) ? new StreamChain() : undefined;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.keys = redisKeys(this.prefix);
    this.maxLagMs = options.maxLagMs ?? 3000;
    this.client = connectClient(options.url, options.username, options.password);
    this.reader = this.client.duplicate();
    // node-redis emits "error" on every failed (re)connect; unhandled, it would crash Node-RED.
    for (const c of [this.client, this.reader]) {
      c.on("error", (e: unknown) => {
        this.lastError = `Redis: ${message(e)}`;
        this.notice();
      });
    }
    // A dropped reading connection closes the gates now, not at the next tick.
    for (const event of ["end", "reconnecting", "ready"]) this.reader.on(event, () => this.notice());
    // Lag turns into "unavailable" without any event: a timer notices and tells the status.
    this.watchdog = setInterval(() => this.notice(), 100);
    this.watchdog.unref();
    this.loaded = this.run().catch((e: unknown) => this.fail(`consent store (redis) stopped: ${message(e)}`));
  }

  /** Why the index cannot be trusted now, or undefined. Cheap: the gate asks per message. */
  get unavailable(): string | undefined {
    if (this.fatal !== undefined) return this.fatal;
    // The connection is known down: block now rather than after maxLagMs.
    if (this.caughtUpAt === 0 || !this.reader.isReady) return this.lastError;
    if (Date.now() - this.caughtUpAt > this.maxLagMs) {
      return `${this.lastError} (index behind by more than ${this.maxLagMs} ms)`;
    }
    return undefined;
  }

  private notice(): void {
    if (this.closed) return;
    const why = this.unavailable;
    this.passable = why === undefined;
    if (this.fatal !== undefined && !this.toldFatal) {
      // Told even when it was never available (a bad format key at start): the status must say why.
      this.toldFatal = true;
      this.wasAvailable = false;
      const fatal = this.fatal;
      this.safely(() => this.options.onUnavailable(fatal, "redis failed"));
    } else if (why === undefined && !this.wasAvailable) {
      this.wasAvailable = true;
      this.safely(() => this.options.onAvailable());
    } else if (why !== undefined && this.wasAvailable) {
      this.wasAvailable = false;
      const short = this.fatal !== undefined ? "redis failed" : "redis unreachable";
      this.safely(() => this.options.onUnavailable(why, short));
    }
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.options.warn?.(`consent store (redis): a listener failed: ${message(e)}`);
    }
  }

  private fail(why: string): void {
    this.fatal = why;
    this.passable = false;
    this.safely(() => this.options.warn?.(`consent store (redis): ${why}`));
    this.notice();
  }

  /** Connects, loads the stream, then tails it until closed. Never rejects. */
  private async run(): Promise<void> {
    try {
      await this.untilConnected();
      if (this.closed) return;
      await checkFormat(this.client, this.keys);
      const head = await HeadCheck.read(this.reader, this.keys);
      for await (const { id, line } of readAll(this.reader, this.keys)) {
        this.applyLine(id, line);
        head.see(id);
      }
      const missing = head.missing();
      if (missing !== undefined && this.fatal === undefined) {
        this.chainBreaks.push(missing);
        this.fail(
          `the consent stream ${this.keys.journal} lost its newest entries: entry ${head.head}, the last one ` +
            "the store wrote, is not there (deleted, or the stream restored alone from an older copy); " +
            `acknowledged receipts may be missing, so gates block until ${acceptHint(this.prefix)}.`,
        );
        return;
      }
      this.caughtUpAt = Date.now();
      this.lastError = "Redis unreachable";
      this.notice();
    } catch (e) {
      if (!this.closed) this.fail(`cannot load the consent stream: ${message(e)}`);
      return;
    }
    void this.tail().catch((e: unknown) => {
      if (!this.closed) this.fail(`the consent stream reader stopped: ${message(e)}`);
    });
  }

  /** Connects both clients, retrying while Redis is down (node-redis gives up on the first connect). */
  private async untilConnected(): Promise<void> {
    for (const c of [this.client, this.reader]) {
      while (!this.closed && !c.isOpen) {
        try {
          await c.connect();
        } catch (e) {
          this.lastError = `Redis: ${message(e)}`;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  }

  private applyLine(id: string, line: string): void {
    // Past a break nothing more is applied: the index would hold what the chain disowns.
    if (this.chainBreaks.length > 0) return;
    const broken = this.chain?.feed(line);
    if (broken !== undefined) {
      this.chainBreaks.push(broken);
      this.fail(
        `the consent stream ${this.keys.journal} was changed outside the store at entry ${id}: ${broken.text}; ` +
          `the entries after the break are not applied; gates block until ${acceptHint(this.prefix)}`,
      );
      return;
    }
    const parsed = parseLine(line);
    if (parsed === undefined) {
      this.options.warn?.(`consent store (redis): entry ${id} is not a journal line; skipped`);
    } else if (parsed.kind === "receipts") {
      this.receipts += parsed.receipts.length;
      this.options.onRecord({ receipts: parsed.receipts }, id);
    } else if (parsed.kind === "link") {
      this.options.onRecord({ link: parsed.link }, id);
    }
    // A checkpoint (from a migrated, compacted journal) only continues the chain.
    this.applied = id;
    this.appliedLine = line;
  }

  private async tail(): Promise<void> {
    let checkAfterError = false;
    while (!this.closed && this.fatal === undefined) {
      try {
        if (checkAfterError) {
          // Reconnected: the last entry this instance read must still be there. Comparing with
          // the stream's end would not do: entries added since a restart get later ids.
          const last = this.applied;
          const still = streamEntries(await this.reader.sendCommand(["XRANGE", this.keys.journal, last, last]));
          if (last !== "0-0" && still.length === 0) {
            this.fail(
              `the consent stream ${this.keys.journal} no longer holds entry ${last} ` +
                "this instance had read: Redis lost data (restarted without persistence?). Gates stay blocked; " +
                "restore Redis, then restart the flows.",
            );
            return;
          }
          checkAfterError = false;
        }
        const sentAt = Date.now();
        const reply = await this.reader.sendCommand([
          "XREAD",
          "COUNT",
          String(BATCH),
          "BLOCK",
          String(BLOCK_MS),
          "STREAMS",
          this.keys.journal,
          this.applied,
        ]);
        const entries = xreadEntries(reply, this.keys.journal);
        for (const e of entries) this.applyLine(e.id, e.line ?? "");
        if (entries.length < BATCH) this.caughtUpAt = entries.length === 0 ? Date.now() : sentAt;
        this.release();
        this.notice();
      } catch (e) {
        if (this.closed) return;
        this.lastError = `Redis: ${message(e)}`;
        checkAfterError = true;
        this.notice();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Resolves the appends whose entries are in the index now. */
  private release(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (compareIds(w.id, this.applied) <= 0) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** Resolves once the reader has applied `id` (or after `ms`, or at close). */
  private appliedUpTo(id: string, ms: number): Promise<void> {
    if (compareIds(id, this.applied) <= 0 || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push({
        id,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /**
   * Appends a record; resolves once Redis has accepted it and this instance's index holds
   * it (or, when the reader is stuck, once accepted: the gates block then anyway and the
   * reader applies it when it recovers). A lost reply is retried for up to maxLagMs, never
   * duplicating; then it rejects (the receipt may or may not be in the stream).
   */
  async append(record: JournalEntry): Promise<void> {
    const why = this.unavailable;
    if (why) throw new Error(`consent store unavailable: ${why}`);
    const id = await new Promise<string>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      this.pump();
    });
    await this.appliedUpTo(id, this.maxLagMs);
  }

  /** Sends what is queued, one batch at a time (each batch is serialised after the last). */
  private pump(): void {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    const batch = this.queue.splice(0, MAX_BATCH);
    this.writeBatch(batch)
      .catch((e: unknown) => {
        const error = new Error(`consent not stored: ${message(e)}`, { cause: e });
        for (const p of batch) p.reject(error);
      })
      .finally(() => {
        this.writing = false;
        this.pump();
      })
      .catch(() => undefined);
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const serialise = this.options.serialise ?? chainLine;
    const ids = batch.map((p) => entryIds(p.record));
    const deadline = Date.now() + this.maxLagMs;
    for (;;) {
      if (this.closed) throw new Error("store closed");
      try {
        // Whichever is later: what this writer wrote last, or what its reader has seen since.
        const head = this.head;
        const seen = { id: this.applied, line: this.appliedLine };
        const after = head && compareIds(head.id, seen.id) > 0 ? head : seen;
        let previous = after.line;
        const lines = batch.map((p) => (previous = serialise(p.record, previous)));
        const reply = await appendAfter(this.client, this.keys, after.id, lines, ids);
        if (reply.kind === "added") {
          this.head = { id: reply.ids[reply.ids.length - 1], line: lines[lines.length - 1] };
          batch.forEach((p, i) => p.resolve(reply.ids[i]));
          return;
        }
        // Where the stream ends is no longer known here: the reader says.
        this.head = undefined;
        if (reply.kind === "present") {
          // Written by an earlier try whose reply was lost; the batch went in whole.
          batch.forEach((p, i) => p.resolve(reply.ids[i]));
          return;
        }
        // Another instance wrote first: serialise again after its entries.
        if (Date.now() > deadline) throw new Error("the stream kept moving (too many writers at once?)");
        if (compareIds(reply.last, this.applied) < 0) {
          // The stream ends before what was read (it lost entries): no busy loop until the
          // reader notices and the backend fails.
          await new Promise((r) => setTimeout(r, 50));
        } else {
          await this.appliedUpTo(reply.last, Math.max(1, deadline - Date.now()));
        }
      } catch (e) {
        this.head = undefined;
        if (this.closed || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Every receipt of a subject in the stream, oldest first. */
  async readSubject(subject: string): Promise<ConsentReceipt[]> {
    const find = subjectReceipts(subject);
    const out: ConsentReceipt[] = [];
    for await (const { line } of readAll(this.client, this.keys)) out.push(...find(line));
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.passable = false;
    this.fatal = "store closed";
    this.toldFatal = true;
    clearInterval(this.watchdog);
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    for (const p of this.queue.splice(0)) p.reject(new Error("consent store closed"));
    // destroy() first: the reader may sit in a blocking XREAD, and a first connect to a
    // Redis that is down never ends by itself; both end (reject) when destroyed.
    for (const c of [this.reader, this.client]) {
      try {
        if (c.isOpen) c.destroy();
      } catch {
        // Closing anyway; a socket already gone is fine.
      }
    }
    await this.loaded;
  }
}
