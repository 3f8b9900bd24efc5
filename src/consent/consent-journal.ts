/**
 * The consent journal: an append-only JSON-lines file, one line per command (the
 * receipts of that command), written and fsynced before the command is acknowledged.
 * It works only on the file path it is given.
 *
 * - Appends that arrive while an fsync is in flight are written together and share
 *   the next fsync (group commit), so many grants a second cost few fsyncs.
 * - Loading skips a torn last line (a crash mid-write: that command was never
 *   acknowledged) and truncates it away, so the next append starts on a clean line.
 * - Compaction rewrites the kept lines to a temp file, fsyncs it, renames it over the
 *   journal and fsyncs the directory: a crash at any point leaves one whole journal.
 * - One writer per file: an in-process registry plus a lock file holding the pid.
 *   A lock whose pid is no longer running (kill -9) is taken over with a warning.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fsyncDir, replaceFileSync } from "../core/atomic-file";
import { parseJournalLine, type ConsentReceipt, type JournalRecord } from "./consent";

export class JournalLockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JournalLockError";
  }
}

export interface LoadReport {
  lines: number;
  receipts: number;
  /** Complete lines that were not valid records (skipped, dropped by the next compaction). */
  skipped: number;
  /** Bytes of a torn last line that were cut away. */
  tornBytes: number;
  warnings: string[];
}

interface LockFile {
  pid: number;
  owner: string;
  since: string;
}

const REGISTRY_KEY = Symbol.for("@privacy-toolkit/node-red-privacy:consent-journal-locks");
type Registry = Map<string, string>;

function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  let r = g[REGISTRY_KEY];
  if (!r) {
    r = new Map();
    g[REGISTRY_KEY] = r;
  }
  return r;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readLock(lockFile: string): LockFile | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(lockFile, "utf8")) as Partial<LockFile>;
    return typeof parsed.pid === "number" ? (parsed as LockFile) : undefined;
  } catch {
    return undefined;
  }
}

const CHUNK = 4 * 1024 * 1024;
const FILE_MODE = 0o600;
const NEWLINE = 0x0a;

/**
 * Calls `line` for every complete line of the file (without the newline) and returns
 * the byte length of the complete part (where a torn tail starts).
 */
function forEachLine(file: string, line: (text: string, offset: number) => void): { complete: number; size: number } {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    // One buffer reused for the whole file (a new one per chunk would leave hundreds of
    // MB of dead external memory behind while a large journal loads).
    let buf = Buffer.allocUnsafe(CHUNK);
    let filled = 0; // bytes in buf
    let bufStart = 0; // file offset of buf[0]
    let position = 0;
    let complete = 0;
    while (position < size) {
      if (filled === buf.length) {
        // A line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const n = fs.readSync(fd, buf, filled, Math.min(buf.length - filled, size - position), position);
      if (n <= 0) break;
      position += n;
      filled += n;
      let start = 0;
      for (let nl = buf.indexOf(NEWLINE, start); nl !== -1 && nl < filled; nl = buf.indexOf(NEWLINE, start)) {
        if (nl > start) line(buf.toString("utf8", start, nl), bufStart + start);
        complete = bufStart + nl + 1;
        start = nl + 1;
      }
      buf.copyWithin(0, start, filled);
      filled -= start;
      bufStart += start;
    }
    return { complete, size };
  } finally {
    fs.closeSync(fd);
  }
}

type Task =
  | { kind: "append"; line: string; bytes: number; record: JournalRecord; resolve: () => void; reject: (e: Error) => void }
  | { kind: "task"; run: () => Promise<void> | void; resolve: () => void; reject: (e: Error) => void };

export interface JournalOptions {
  /** Store node id or name, written in the lock file and named in errors. */
  owner: string;
  /**
   * Called with each record once it is durable, in file order, before append()
   * resolves, with the byte offset of its line (to read the receipts back later).
   */
  onDurable: (record: JournalRecord, offset: number) => void;
  warn?: (text: string) => void;
}

export class Journal {
  readonly file: string;
  private readonly lockFile: string;
  private readonly key: string;
  private fd: number | undefined;
  private readonly queue: Task[] = [];
  private draining = false;
  private failure: Error | undefined;
  private closed = false;
  private readonly onDurable: (record: JournalRecord, offset: number) => void;
  /** Bytes in the file: where the next line starts. */
  private size = 0;
  private readonly warn: (text: string) => void;
  /** Lines in the file now, and lines that compaction would drop (invalid ones). */
  lines = 0;
  invalidLines = 0;

  /** Takes the lock on `file` (creating its directory); throws JournalLockError when it is held. */
  constructor(file: string, private readonly options: JournalOptions) {
    const requested = path.resolve(file);
    // The journal names people: only the Node-RED user may read it.
    fs.mkdirSync(path.dirname(requested), { recursive: true, mode: 0o700 });
    // The real path, so two stores reaching one file through a symlink still collide.
    let real = path.join(fs.realpathSync(path.dirname(requested)), path.basename(requested));
    try {
      real = fs.realpathSync(real);
    } catch {
      // not created yet
    }
    this.file = real;
    this.key = this.file;
    this.lockFile = `${this.file}.lock`;
    this.onDurable = options.onDurable;
    this.warn = options.warn ?? (() => undefined);
    this.lock();
  }

  private lock(): void {
    const reg = registry();
    const holder = reg.get(this.key);
    if (holder !== undefined) {
      throw new JournalLockError(`journal ${this.file} is already open by consent store ${holder}; give each store its own file`);
    }
    const mine: LockFile = { pid: process.pid, owner: this.options.owner, since: new Date().toISOString() };
    try {
      fs.writeFileSync(this.lockFile, JSON.stringify(mine), { flag: "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const other = readLock(this.lockFile);
      if (other && other.pid !== process.pid && processAlive(other.pid)) {
        throw new JournalLockError(`journal ${this.file} is locked by process ${other.pid} (store ${other.owner}); two stores may not write the same file`);
      }
      this.warn(`taking over a stale lock on ${this.file} (process ${other ? other.pid : "unknown"} is gone)`);
      fs.writeFileSync(this.lockFile, JSON.stringify(mine));
    }
    reg.set(this.key, this.options.owner);
  }

  private unlock(): void {
    const reg = registry();
    if (reg.get(this.key) === this.options.owner) reg.delete(this.key);
    const current = readLock(this.lockFile);
    if (current && current.pid === process.pid) {
      try {
        fs.unlinkSync(this.lockFile);
      } catch {
        // already gone
      }
    }
  }

  /**
   * Reads the whole journal, calling onDurable for each valid record, cuts a torn tail,
   * and opens the file for appending. Synchronous: the store is complete before any
   * flow starts.
   */
  load(): LoadReport {
    const report: LoadReport = { lines: 0, receipts: 0, skipped: 0, tornBytes: 0, warnings: [] };
    if (fs.existsSync(this.file)) {
      let lineNo = 0;
      const { complete, size } = forEachLine(this.file, (text, offset) => {
        lineNo++;
        const receipts = parseJournalLine(text);
        if (receipts === undefined) {
          report.skipped++;
          if (report.warnings.length < 10) report.warnings.push(`line ${lineNo} of ${this.file} is not a consent record: skipped`);
          return;
        }
        report.lines++;
        report.receipts += receipts.length;
        this.onDurable({ receipts }, offset);
      });
      this.size = complete;
      if (complete < size) {
        report.tornBytes = size - complete;
        report.warnings.push(`the last line of ${this.file} was torn (${report.tornBytes} bytes, a write cut short by a crash; it was never acknowledged): skipped and cut away`);
        fs.truncateSync(this.file, complete);
      }
    }
    for (const w of report.warnings) this.warn(w);
    this.lines = report.lines + report.skipped;
    this.invalidLines = report.skipped;
    this.fd = fs.openSync(this.file, "a", FILE_MODE);
    fs.fsyncSync(this.fd);
    fsyncDir(path.dirname(this.file));
    return report;
  }

  /** Why the journal stopped accepting writes, if it did. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Resolves once the record is written and fsynced (and applied through onDurable). */
  append(record: JournalRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      const line = `${JSON.stringify(record)}\n`;
      this.enqueue({ kind: "append", line, bytes: Buffer.byteLength(line), record, resolve, reject });
    });
  }

  /** Runs fn alone: no append is written while it runs. */
  exclusive(run: () => Promise<void> | void): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue({ kind: "task", run, resolve, reject }));
  }

  private enqueue(task: Task): void {
    if (this.closed) {
      task.reject(new Error(`consent journal ${this.file} is closed`));
      return;
    }
    if (this.failure) {
      task.reject(new Error(`consent journal ${this.file} is unavailable: ${this.failure.message}`));
      return;
    }
    this.queue.push(task);
    if (!this.draining) {
      this.draining = true;
      void this.drain();
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (this.failure) {
        for (const t of this.queue.splice(0)) t.reject(new Error(`consent journal ${this.file} is unavailable: ${this.failure.message}`));
        break;
      }
      if (head.kind === "task") {
        this.queue.shift();
        try {
          await head.run();
          head.resolve();
        } catch (e) {
          head.reject(e instanceof Error ? e : new Error(String(e)));
        }
        continue;
      }
      let count = 0;
      while (count < this.queue.length && this.queue[count].kind === "append") count++;
      const batch = this.queue.splice(0, count) as Array<Extract<Task, { kind: "append" }>>;
      try {
        await this.writeAndSync(Buffer.from(batch.map((t) => t.line).join(""), "utf8"));
      } catch (e) {
        // A failed write may have left a torn line: no later write may follow it until a
        // restart cuts it away. The store fails closed meanwhile.
        this.failure = e instanceof Error ? e : new Error(String(e));
        for (const t of batch) t.reject(this.failure);
        continue;
      }
      this.lines += batch.length;
      for (const t of batch) {
        this.onDurable(t.record, this.size);
        this.size += t.bytes;
      }
      for (const t of batch) t.resolve();
    }
    this.draining = false;
  }

  private async writeAndSync(buf: Buffer): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) throw new Error("journal is not open");
    let offset = 0;
    while (offset < buf.length) {
      const written = await new Promise<number>((resolve, reject) => fs.write(fd, buf, offset, buf.length - offset, null, (err, n) => (err ? reject(err) : resolve(n))));
      offset += written;
    }
    await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
  }

  /** The receipts of the line at `offset` (an offset onDurable gave), read synchronously. */
  readAt(offset: number): ConsentReceipt[] {
    const fd = fs.openSync(this.file, "r");
    try {
      const parts: Buffer[] = [];
      const chunk = Buffer.allocUnsafe(4096);
      let position = offset;
      for (;;) {
        const n = fs.readSync(fd, chunk, 0, chunk.length, position);
        if (n <= 0) break;
        const nl = chunk.subarray(0, n).indexOf(NEWLINE);
        if (nl !== -1) {
          parts.push(Buffer.from(chunk.subarray(0, nl)));
          break;
        }
        parts.push(Buffer.from(chunk.subarray(0, n)));
        position += n;
      }
      return parseJournalLine(Buffer.concat(parts).toString("utf8")) ?? [];
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Every receipt of one subject, in the order they were written. */
  readSubject(subject: string): Promise<ConsentReceipt[]> {
    const out: ConsentReceipt[] = [];
    // A cheap substring test before parsing: the journal writes JSON.stringify output,
    // so the subject appears exactly in this form in each of its lines.
    const needle = `"subject":${JSON.stringify(subject)}`;
    return this.exclusive(() => {
      forEachLine(this.file, (text) => {
        if (!text.includes(needle)) return;
        const receipts = parseJournalLine(text);
        if (receipts) for (const r of receipts) if (r.subject === subject) out.push(r);
      });
    }).then(() => out);
  }

  /**
   * Rewrites the journal keeping only the receipts `keep` accepts (decided when the
   * rewrite starts, after every earlier append). Lines left empty and invalid lines go.
   */
  compact(plan: () => { keep: (r: ConsentReceipt) => boolean; moved: (offsets: Map<number, number>) => void }): Promise<{ before: number; after: number }> {
    const result = { before: 0, after: 0 };
    return this.exclusive(() => {
      const { keep, moved } = plan();
      const offsets = new Map<number, number>();
      let written = 0;
      replaceFileSync(
        this.file,
        (out) => {
          let pending: string[] = [];
          let pendingBytes = 0;
          const flush = (): void => {
            if (pending.length === 0) return;
            fs.writeSync(out, pending.join(""));
            pending = [];
            pendingBytes = 0;
          };
          forEachLine(this.file, (text, offset) => {
            result.before++;
            const receipts = parseJournalLine(text);
            if (!receipts) return;
            const kept = receipts.filter(keep);
            if (kept.length === 0) return;
            const line = kept.length === receipts.length ? `${text}\n` : `${JSON.stringify({ receipts: kept })}\n`;
            pending.push(line);
            offsets.set(offset, written);
            const bytes = Buffer.byteLength(line);
            written += bytes;
            pendingBytes += bytes;
            result.after++;
            if (pendingBytes > CHUNK) flush();
          });
          flush();
        },
        { mode: FILE_MODE },
      );
      // The old descriptor points at the replaced inode: append to the new file from here.
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
      this.fd = fs.openSync(this.file, "a", FILE_MODE);
      this.size = written;
      moved(offsets);
      this.lines = result.after;
      this.invalidLines = 0;
    }).then(() => result);
  }

  /** Waits for queued writes, closes the file and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.exclusive(() => undefined).catch(() => undefined);
    this.closed = true;
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
    this.unlock();
  }

  /** Releases the lock without loading (a store that failed to start). */
  release(): void {
    this.closed = true;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.unlock();
  }
}
