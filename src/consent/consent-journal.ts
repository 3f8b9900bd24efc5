/**
 * The consent journal: an append-only JSON-lines file, one line per command (the
 * receipts of that command), written and fsynced before the command is acknowledged.
 * It works only on the file path it is given.
 *
 * - Appends that arrive while an fsync is in flight are written together and share
 *   the next fsync (group commit), so many grants a second cost few fsyncs.
 * - The first line names the format: {"format":"node-red-privacy/consent-journal","version":1}.
 *   A missing or empty file gets it when the journal is created; a journal written before
 *   the header existed (every line a record) gets it on first open, through a rewrite.
 *   Any other file is refused and left exactly as it was: the store never truncates or
 *   rewrites a file it did not write (a typo pointing it at flows.json must cost nothing).
 * - Loading skips a torn last line (a crash mid-write: that command was never
 *   acknowledged) and truncates it away, so the next append starts on a clean line.
 * - Compaction rewrites the kept lines to a temp file, fsyncs it, renames it over the
 *   journal and fsyncs the directory (core/atomic-file): a crash at any point leaves one
 *   whole journal. It runs alone in the write queue, so appends stay in order.
 * - Export and compaction read the file asynchronously, a chunk at a time, letting the
 *   event loop run between slices of work: a 200 MB journal never freezes the flows.
 * - The file must stay the one the store opened: before and after each write, on a
 *   timer, and before a rewrite's rename, the path's device and inode are compared with
 *   the open descriptor's, and its size with what the store wrote. A file replaced (an
 *   editor, sed -i, a restore), removed or written by another program makes the journal
 *   unavailable: an acknowledged change is never written into an unlinked inode.
 * - One writer per file: an in-process registry plus a lock file holding the pid, the
 *   process's start time and the boot id (Linux /proc). A lock is taken over, with a
 *   warning, when its process is gone (kill -9), when the pid now belongs to another
 *   process (started at another time, or since a reboot; pids are reused), or, for a
 *   lock without a start time, when the process is plainly not Node.js (`sleep 30`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fsyncDir, replaceFile, writeFileAtomicSync } from "../core/atomic-file";
import {
  parseJournalLine,
  parseLine,
  subjectReceipts,
  type ConsentReceipt,
  type JournalRecord,
  type LinkEvent,
  type LinkRecord,
} from "./consent";
import {
  ChainVerifier,
  HEAD_BYTES,
  breaksFingerprint,
  chained,
  formatHead,
  lineHash,
  parseHead,
  prevOf,
  relinked,
  type ChainBreak,
  type ChainHead,
  type Checkpoint,
} from "./hash-chain";
import { OffsetShift, OutBuffer, scanLines, scanLinesSync } from "./journal-io";
import { MessageChannel, Worker, receiveMessageOnPort } from "node:worker_threads";
import { verifyChain, type ChainAnswer, type ChainJob } from "./chain-worker";

export const JOURNAL_FORMAT = "node-red-privacy/consent-journal";
/** 2: every line is hash-chained (hash-chain.ts) and may hold link events and checkpoints. */
export const JOURNAL_VERSION = 2;
/** The journal's first line. */
const HEADER = `${JSON.stringify({ format: JOURNAL_FORMAT, version: JOURNAL_VERSION })}\n`;
const HEADER_BYTES = Buffer.byteLength(HEADER);
/** How every line the journal has ever written starts (JSON.stringify of a record). */
const RECORD_START = '{"receipts":[';
/** How much of the file is read to tell what it is. */
const SNIFF_BYTES = 1024 * 1024;

/** The file is not a consent journal (or one of a newer format): refused, left untouched. */
export class JournalFormatError extends Error {
  constructor(file: string, why: string) {
    super(
      `${file} is not a consent journal this release can use (${why}); the store refuses it and leaves it ` +
        `untouched. Point the store at another file (a missing or empty one starts a new journal).`,
    );
    this.name = "JournalFormatError";
  }
}

/** What the start of a file says it is: v1 is a journal with a header but no hash chain. */
type FileKind = "empty" | "journal" | "v1" | "legacy";

/** The journal's file is no longer the one the store opened (replaced, removed, changed). */
export class JournalChangedError extends Error {
  constructor(
    file: string,
    /** "replaced", "removed" or "changed": short, for a node status. */
    readonly what: "replaced" | "removed" | "changed",
    detail: string,
  ) {
    super(
      `consent journal ${file} was ${what} while the store had it open (${detail}); nothing more is written to it ` +
        `and gates block with store-unavailable. Check the file, then restart the flows (a full deploy) to load ` +
        `it as it is now.`,
    );
    this.name = "JournalChangedError";
  }
}

export class JournalLockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JournalLockError";
  }
}

export interface LoadReport {
  /**
   * "created": the file was missing or empty and now holds the header; "upgraded": a
   * journal without the header gets it (a rewrite queued at load).
   */
  header: "present" | "created" | "upgraded";
  lines: number;
  receipts: number;
  /** Complete lines that were not valid records (skipped, dropped by the next compaction). */
  skipped: number;
  /** Bytes of a torn last line that were cut away. */
  tornBytes: number;
  warnings: string[];
  /**
   * The hash chain: "verified" (a version 2 journal, checked line by line against its head),
   * "unchained" (an older journal: nothing to check; it is chained from now on), "new".
   */
  chain: "verified" | "unchained" | "new";
  /** Where the chain does not hold; the store fails closed until they are acknowledged. */
  breaks: ChainBreak[];
}

/** A journal line's content: receipts or a link event (a checkpoint is the journal's own). */
export type JournalEntry = JournalRecord | LinkRecord;

interface LockFile {
  pid: number;
  owner: string;
  since: string;
  /** The holder's start time (field 22 of /proc/<pid>/stat, clock ticks since boot). */
  start?: string;
  /** /proc/sys/kernel/random/boot_id when the lock was written. */
  boot?: string;
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

/** A small /proc file, or undefined (no /proc: macOS, Windows; or the process is gone). */
function readProc(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** The program a process runs (argv[0]), for a log line; "" when unknown. */
function commandOf(pid: number): string {
  return (readProc(`/proc/${pid}/cmdline`) ?? "").split("\0")[0];
}

/**
 * When a process started, in clock ticks since boot: with the pid, it names one process
 * (a pid alone is reused). Undefined where /proc is missing or unreadable.
 */
export function processStart(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after
  // the last ")"; starttime is field 22, the 20th after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = fields[19];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

function bootId(): string | undefined {
  return readProc("/proc/sys/kernel/random/boot_id")?.trim() || undefined;
}

/**
 * For a lock written before start times were recorded: whether its pid runs something
 * that could be a Node-RED (node, or a process titled node-red, as Node-RED titles
 * itself). Undefined when it cannot be told.
 */
function couldBeNodeRed(pid: number): boolean | undefined {
  const cmdline = readProc(`/proc/${pid}/cmdline`);
  if (cmdline === undefined) return undefined;
  const argv = cmdline.split("\0").filter((a) => a !== "");
  if (argv.length === 0) return undefined; // a kernel thread or a zombie: cannot tell
  const exe = path.basename(argv[0]).toLowerCase();
  return exe.startsWith("node") || argv.some((a) => /node-red/i.test(a));
}

/**
 * Why a lock that names a live process does not count, or undefined when it does (the
 * process may be another Node-RED writing this journal: leave it alone).
 */
function staleBecause(lock: LockFile): string | undefined {
  const now = processStart(lock.pid);
  if (now === undefined) return undefined; // no /proc to tell by: a live pid holds the lock
  const boot = bootId();
  if (lock.boot !== undefined && boot !== undefined && lock.boot !== boot)
    return `it was written before the last reboot; process ${lock.pid} is now another program`;
  if (lock.start !== undefined)
    return lock.start === now ? undefined : `process ${lock.pid} is now another program (it started at another time)`;
  return couldBeNodeRed(lock.pid) === false
    ? `process ${lock.pid} is not Node-RED (${JSON.stringify(commandOf(lock.pid))})`
    : undefined;
}

/**
 * The lock file's content, or undefined when it is gone or not a lock (garbage, empty).
 * A lock that cannot be read (another user's) is not taken over: that throws.
 */
function readLock(lockFile: string): LockFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockFile, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new JournalLockError(
      `cannot read the lock ${lockFile} (${code ?? (e as Error).message}); two stores may not write the same file`,
    );
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockFile>;
    return typeof parsed.pid === "number" && Number.isSafeInteger(parsed.pid) && parsed.pid > 0
      ? (parsed as LockFile)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the lock file names this process (and this run of it). */
function isMine(lock: LockFile | undefined, mine: LockFile): boolean {
  return lock !== undefined && lock.pid === mine.pid && lock.start === mine.start;
}

/**
 * Creates the lock file with its whole content at once, or returns false when one
 * exists: written to a temporary name and hard-linked into place, so another process
 * never reads a half-written lock (and takes it for a stale one). Where hard links are
 * not supported (FAT on a USB stick), an exclusive create and one write.
 */
function createLock(lockFile: string, text: string): boolean {
  const tmp = `${lockFile}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, text, { flag: "wx", mode: FILE_MODE });
  try {
    fs.linkSync(tmp, lockFile);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  try {
    fs.writeFileSync(lockFile, text, { flag: "wx", mode: FILE_MODE });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}

const FILE_MODE = 0o600;
/** From this size on, the chain is verified by a worker thread beside the parse (its start costs ~30 ms). */
const PARALLEL_BYTES = 8 * 1024 * 1024;

/**
 * Starts the chain check of [0, size) of fd in a worker; `result()` blocks until it answers
 * (a journal load is synchronous: nothing may use the store before). A worker that cannot
 * start or fails is replaced by the same check in this thread.
 */
function startChainWorker(
  fd: number,
  size: number,
  head: ChainHead | undefined,
): { result: () => Extract<ChainAnswer, { ok: true }> } {
  const inline = () => verifyChain(fd, size, head);
  try {
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const job: ChainJob = { fd, size, head, signal, port: port2 };
    const worker = new Worker(path.join(__dirname, "chain-worker.js"), {
      workerData: job,
      transferList: [port2],
    });
    worker.unref();
    worker.on("error", () => undefined); // reported through the answer, or replaced by the inline check
    return {
      result: () => {
        try {
          // Waits in this thread: the load is synchronous by design (the store is complete
          // before any flow runs).
          while (Atomics.load(signal, 0) === 0) {
            if (Atomics.wait(signal, 0, 0, 120000) === "timed-out") return inline();
          }
          const answer = receiveMessageOnPort(port1)?.message as ChainAnswer | undefined;
          return answer?.ok ? answer : inline();
        } finally {
          port1.close();
          void worker.terminate();
        }
      },
    };
  } catch {
    return { result: inline };
  }
}
const NEWLINE = 0x0a;
const NEWLINE_BYTE = Buffer.from("\n");

/** A text is a prefix of a record's start, or starts with it: a line this journal wrote, maybe torn. */
function looksLikeRecordStart(text: string): boolean {
  return text.startsWith(RECORD_START) || RECORD_START.startsWith(text);
}

/**
 * Tells what a file is from its first line, without changing it. Throws
 * JournalFormatError for anything that is neither a journal nor a journal from before
 * the header (whose every line is then checked while it loads).
 */
function classify(file: string, fd: number, size: number): FileKind {
  if (size === 0) return "empty";
  const head = Buffer.allocUnsafe(Math.min(size, SNIFF_BYTES));
  const n = fs.readSync(fd, head, 0, head.length, 0);
  const nl = head.subarray(0, n).indexOf(NEWLINE);
  if (nl === -1) {
    // One line, not ended: only a journal from before the header whose first write was torn.
    if (n === size && looksLikeRecordStart(head.toString("utf8", 0, n))) return "legacy";
    throw new JournalFormatError(file, "its first line is neither the journal header nor a consent record");
  }
  const first = head.toString("utf8", 0, nl);
  let parsed: unknown;
  try {
    parsed = JSON.parse(first);
  } catch {
    throw new JournalFormatError(file, "its first line is neither the journal header nor a consent record");
  }
  if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && "format" in parsed) {
    const { format, version } = parsed as { format: unknown; version: unknown };
    if (format !== JOURNAL_FORMAT)
      throw new JournalFormatError(file, `its header names the format ${JSON.stringify(format)}`);
    if (version === 1) return "v1";
    if (version !== JOURNAL_VERSION) {
      throw new JournalFormatError(
        file,
        `it is version ${JSON.stringify(version)} of the journal format, written by a newer release; ` +
          `this one reads versions 1 and ${JOURNAL_VERSION}`,
      );
    }
    return "journal";
  }
  if (parseJournalLine(first) !== undefined) return "legacy";
  throw new JournalFormatError(file, "its first line is neither the journal header nor a consent record");
}

/** What a compaction keeps, decided when it starts. */
export interface Keep {
  keep: (r: ConsentReceipt) => boolean;
  /** Which link events stay (default: all). */
  keepLink?: (l: LinkEvent) => boolean;
}

type Task =
  | { kind: "append"; json: string; record: JournalEntry; resolve: () => void; reject: (e: Error) => void }
  | { kind: "task"; run: () => Promise<void> | void; resolve: () => void; reject: (e: Error) => void };

export interface JournalOptions {
  /** Store node id or name, written in the lock file and named in errors. */
  owner: string;
  /**
   * Called with each record once it is durable, in file order, before append()
   * resolves, with the byte offset of its line (to read the receipts back later).
   */
  onDurable: (record: JournalEntry, offset: number) => void;
  /**
   * Called when a rewrite (compaction, or adding the header) has moved lines: offsets
   * onDurable gave must be mapped through `move`. Runs before any later append.
   */
  onMoved: (move: (offset: number) => number) => void | Promise<void>;
  /** Called once when the journal stops accepting writes (a write failed, the file was replaced...). */
  onFailure?: (error: Error) => void;
  /** How often the file is checked between writes; default 2000 ms. */
  watchIntervalMs?: number;
  warn?: (text: string) => void;
}

/** Device and inode: what makes a file the same file. */
interface FileId {
  dev: bigint;
  ino: bigint;
}

export class Journal {
  readonly file: string;
  private readonly lockFile: string;
  private readonly lockRecord: LockFile;
  private readonly key: string;
  /** Appends go here (O_APPEND). */
  private fd: number | undefined;
  /**
   * Reads (a receipt at an offset, compaction) go here: the same inode as `fd`, whose
   * offsets the index holds, even while a rewrite has already renamed a new file in.
   */
  private readFd: number | undefined;
  private moving: Promise<void> | undefined;
  /** The file `fd` is open on. */
  private id: FileId | undefined;
  private watch: NodeJS.Timeout | undefined;
  private watchQueued = false;
  private readonly queue: Task[] = [];
  private draining = false;
  private failure: Error | undefined;
  private closed = false;
  private readonly onDurable: (record: JournalEntry, offset: number) => void;
  /** The hash of the file's last line and how many lines it has (header included): the chain's head. */
  private lastHash = "";
  private chainLines = 0;
  /** Where the head is kept, beside the journal; written after every durable batch. */
  private readonly headFile: string;
  private headFd: number | undefined;
  /** Breaks found at load: nothing is appended until they are acknowledged. */
  private breaks: ChainBreak[] = [];
  /** The file has no header yet (written by an older release): nothing is appended until the rewrite that adds it. */
  private needsHeader = false;
  /** Bytes in the file: where the next line starts. */
  private size = 0;
  private readonly warn: (text: string) => void;
  /** Lines in the file now, and lines that compaction would drop (invalid ones). */
  lines = 0;
  invalidLines = 0;

  /** Takes the lock on `file` (creating its directory); throws JournalLockError when it is held. */
  constructor(
    file: string,
    private readonly options: JournalOptions,
  ) {
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
    this.headFile = `${this.file}.head`;
    this.lockRecord = { pid: process.pid, owner: options.owner, since: new Date().toISOString() };
    const start = processStart(process.pid);
    const boot = bootId();
    if (start !== undefined) this.lockRecord.start = start;
    if (boot !== undefined) this.lockRecord.boot = boot;
    this.onDurable = options.onDurable;
    this.warn = options.warn ?? (() => undefined);
    this.lock();
  }

  private lock(): void {
    const reg = registry();
    const holder = reg.get(this.key);
    if (holder !== undefined) {
      throw new JournalLockError(
        `journal ${this.file} is already open by consent store ${holder}; give each store its own file`,
      );
    }
    const text = JSON.stringify(this.lockRecord);
    if (!createLock(this.lockFile, text)) {
      const other = readLock(this.lockFile);
      let why: string | undefined;
      if (other === undefined) why = "the lock file is empty or not a lock";
      else if (other.pid === process.pid) why = "it names this process (a store that was not closed)";
      else if (!processAlive(other.pid)) why = `process ${other.pid} is gone`;
      else why = staleBecause(other);
      if (why === undefined && other !== undefined) {
        throw new JournalLockError(
          `journal ${this.file} is locked by process ${other.pid} (store ${other.owner}); two stores may not ` +
            `write the same file`,
        );
      }
      this.takeOver(other, why ?? "", text);
    }
    reg.set(this.key, this.options.owner);
  }

  /**
   * Replaces a stale lock with ours. Two processes that both judged it stale must not
   * both win (each renaming its lock in and reading back its own before the other's
   * rename): the takeover happens under a second lock file, created exclusively, and only
   * while the lock still holds exactly what was judged stale.
   */
  private takeOver(stale: LockFile | undefined, why: string, text: string): void {
    const guard = `${this.lockFile}.takeover`;
    const busy = () =>
      new JournalLockError(
        `journal ${this.file} was just locked by another process; two stores may not write the same file`,
      );
    if (!createLock(guard, text)) {
      const g = readLock(guard);
      // A guard is left behind only by a process that died within the takeover itself.
      if (g !== undefined && g.pid !== process.pid && processAlive(g.pid) && staleBecause(g) === undefined) {
        throw new JournalLockError(
          `journal ${this.file} is being taken over by process ${g.pid} (its guard ${guard}); if no Node-RED ` +
            "is starting on it, remove that file",
        );
      }
      // Moved aside, which only one process can do to a file, then created as any guard is.
      const aside = `${guard}.${process.pid}.stale`;
      try {
        fs.renameSync(guard, aside);
      } catch {
        throw busy(); // another process moved it first
      }
      const moved = readLock(aside);
      if (JSON.stringify(moved) !== JSON.stringify(g)) {
        // Not the guard judged stale: a live one, made meanwhile. Put it back.
        try {
          fs.linkSync(aside, guard);
        } catch {
          // someone else's guard is there now
        }
        fs.rmSync(aside, { force: true });
        throw busy();
      }
      fs.rmSync(aside, { force: true });
      if (!createLock(guard, text)) throw busy();
    }
    try {
      if (JSON.stringify(readLock(this.lockFile)) !== JSON.stringify(stale)) throw busy();
      this.warn(`taking over a stale lock on ${this.file}: ${why}`);
      // Whole or not at all, as any file this package replaces.
      writeFileAtomicSync(this.lockFile, text, { mode: FILE_MODE });
    } finally {
      if (isMine(readLock(guard), this.lockRecord)) fs.rmSync(guard, { force: true });
    }
  }

  private unlock(): void {
    const reg = registry();
    if (reg.get(this.key) === this.options.owner) reg.delete(this.key);
    let current: LockFile | undefined;
    try {
      current = readLock(this.lockFile);
    } catch {
      return; // not readable: not ours to remove
    }
    if (isMine(current, this.lockRecord)) {
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
   * flow starts. Throws JournalFormatError, before changing anything, for a file that
   * is not a journal.
   */
  load(): LoadReport {
    const report: LoadReport = {
      header: "present",
      lines: 0,
      receipts: 0,
      skipped: 0,
      tornBytes: 0,
      warnings: [],
      chain: "verified",
      breaks: [],
    };
    let readFd: number | undefined;
    try {
      readFd = fs.openSync(this.file, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    let kind: FileKind = "empty";
    let size = 0;
    let complete = 0;
    let loaded: FileId | undefined;
    try {
      if (readFd !== undefined) {
        const st = fs.fstatSync(readFd, { bigint: true });
        size = Number(st.size);
        loaded = { dev: st.dev, ino: st.ino };
        kind = classify(this.file, readFd, size);
      }
      if (kind !== "empty") {
        const legacy = kind === "legacy";
        const headed = kind !== "legacy";
        // Only a version 2 journal has a chain to check; an older one is chained by the
        // rewrite that upgrades it (queued below), its last line's hash kept in the checkpoint.
        // An older journal never had a head beside it: one that has a head, or chained
        // lines, is a version 2 journal whose header was changed to hide its chain.
        const head = this.readHead();
        // A large chain is checked by a worker thread while this one parses.
        const big = kind === "journal" && size >= PARALLEL_BYTES;
        const parallel = big ? startChainWorker(readFd as number, size, head) : undefined;
        const check = parallel === undefined && (kind === "journal" || head !== undefined);
        let verifier = check ? new ChainVerifier(head) : undefined;
        if (verifier !== undefined && kind !== "journal") verifier.add("header-changed", 1);
        const unchainedFile = verifier === undefined && parallel === undefined;
        let lineNo = 0;
        let lastHash = "";
        let lastLine = { offset: 0, length: 0 };
        complete = scanLinesSync(readFd as number, size, (bytes, offset, withNewline) => {
          lineNo++;
          if (verifier !== undefined) {
            const hash = lineHash(withNewline);
            lastHash = hash;
            verifier.feed(bytes, hash);
          } else {
            // Hashed once at the end: only the last line's hash is needed (the head to upgrade from).
            lastLine = { offset, length: withNewline.length };
            if (unchainedFile && lineNo > 1 && prevOf(bytes) !== undefined) {
              verifier = new ChainVerifier(undefined);
              verifier.add("header-changed", 1);
            }
          }
          if (offset === 0 && headed) return; // the header
          // The whole line, link included: parseLine's fast path stops before the link, and
          // a flat string from one toString is cheaper to match than the line cut and rejoined.
          const parsed = parseLine(bytes.toString("utf8"));
          if (parsed === undefined) {
            // A file without the header is ours only if every line is a record.
            if (legacy)
              throw new JournalFormatError(
                this.file,
                `it has no journal header and its line ${lineNo} is not a consent record`,
              );
            report.skipped++;
            if (report.warnings.length < 10)
              report.warnings.push(`line ${lineNo} of ${this.file} is not a consent record: skipped`);
            return;
          }
          if (parsed.kind === "checkpoint") {
            verifier?.checkpoint(parsed.checkpoint);
            return;
          }
          report.lines++;
          if (parsed.kind === "link") {
            this.onDurable({ link: parsed.link }, offset);
            return;
          }
          report.receipts += parsed.receipts.length;
          this.onDurable({ receipts: parsed.receipts }, offset);
        });
        this.size = size;
        this.chainLines = lineNo;
        if (parallel !== undefined) {
          const answer = parallel.result();
          report.breaks = answer.breaks;
          this.breaks = report.breaks;
          const more = answer.broken - answer.breaks.length;
          if (more > 0) report.warnings.push(`${more} more break(s) of the hash chain were found`);
          lastHash = answer.end.hash;
        } else if (verifier === undefined) {
          const last = Buffer.allocUnsafe(lastLine.length);
          fs.readSync(readFd as number, last, 0, last.length, lastLine.offset);
          lastHash = lineHash(last);
        }
        this.lastHash = lastHash;
        if (complete < size) {
          report.tornBytes = size - complete;
          if (legacy) {
            const tail = Buffer.allocUnsafe(Math.min(report.tornBytes, RECORD_START.length));
            fs.readSync(readFd as number, tail, 0, tail.length, complete);
            if (!looksLikeRecordStart(tail.toString("utf8")))
              throw new JournalFormatError(
                this.file,
                "it has no journal header and its last line is not a consent record",
              );
          }
          report.warnings.push(
            `the last line of ${this.file} was torn (${report.tornBytes} bytes, a write cut short by a crash; it ` +
              `was never acknowledged): skipped and cut away`,
          );
        }
        if (verifier !== undefined) {
          // Lines fed before the chain was seen only count; the head check needs every line.
          report.breaks = unchainedFile ? verifier.breaks : verifier.finish();
          this.breaks = report.breaks;
          const more = verifier.broken - report.breaks.length;
          if (more > 0) report.warnings.push(`${more} more break(s) of the hash chain were found`);
        }
        if (kind !== "journal") {
          if (unchainedFile && report.breaks.length === 0) report.chain = "unchained";
          this.needsHeader = true;
          report.header = "upgraded";
        }
      } else {
        // Missing or empty: the journal starts here, with its header, written whole.
        // Unless its head is still there: then a journal was removed or emptied.
        const head = this.readHead();
        writeFileAtomicSync(this.file, HEADER, { mode: FILE_MODE });
        this.size = HEADER_BYTES;
        this.chainLines = 1;
        this.lastHash = lineHash(HEADER);
        report.header = "created";
        report.chain = "new";
        if (head !== undefined) {
          const verifier = new ChainVerifier({ lines: head.lines + 1, hash: head.hash });
          verifier.feed(Buffer.from(HEADER.trim()), this.lastHash);
          report.breaks = verifier.finish();
          this.breaks = report.breaks;
          report.chain = "verified";
        }
        loaded = undefined;
      }
    } finally {
      if (readFd !== undefined) fs.closeSync(readFd);
    }
    this.openFile();
    // What is open now must be the file just read (a restore at the wrong moment).
    if (loaded !== undefined && (this.id?.dev !== loaded.dev || this.id?.ino !== loaded.ino)) {
      throw new JournalChangedError(this.file, "replaced", "it changed while it was being loaded");
    }
    // A journal with its header is ours to cut, through our own descriptor; one from
    // before the header loses its torn tail in the rewrite that adds it (queued below).
    if (report.tornBytes > 0 && !this.needsHeader) {
      fs.ftruncateSync(this.fd as number, complete);
      this.size = complete;
    }
    for (const w of report.warnings) this.warn(w);
    this.lines = report.lines + report.skipped;
    this.invalidLines = report.skipped;
    fs.fsyncSync(this.fd as number);
    fsyncDir(path.dirname(this.file));
    // A new journal's head is written now; a broken one's head is left as found (evidence).
    if (report.chain === "new") this.writeHeadSync();
    if (this.breaks.length > 0) {
      this.warn(`consent journal ${this.file}: its hash chain is broken: ${this.breaks.map((b) => b.text).join("; ")}`);
    }
    this.startWatch();
    if (this.needsHeader && this.breaks.length === 0) {
      const missing = kind === "v1" ? "no hash chain" : "no journal header";
      this.warn(`${this.file} was written by an older release (${missing}): upgrading it`);
      // First in the queue: every append waits for it. If it fails, the journal stays
      // closed for writing (its torn tail, if any, is still there).
      this.compact(() => ({ keep: () => true }), { reason: "upgrade" }).catch((e: unknown) => {
        const why = e instanceof Error ? e.message : String(e);
        const error = this.fail(new Error(`could not upgrade the journal: ${why}`));
        this.warn(`consent journal ${this.file}: ${error.message}`);
      });
    }
    return report;
  }

  /** The head kept beside the journal, or undefined when there is none (or it is not one). */
  private readHead(): ChainHead | undefined {
    try {
      return parseHead(fs.readFileSync(this.headFile, "latin1"));
    } catch {
      return undefined;
    }
  }

  /** Writes the head in place (one small write, no fsync: a head left behind by a crash is still a true prefix). */
  private writeHeadSync(): void {
    try {
      const record = formatHead({ lines: this.chainLines, hash: this.lastHash });
      fs.writeSync(this.headDescriptor(), record, 0, HEAD_BYTES, 0);
    } catch (e) {
      this.headFailed(e);
    }
  }

  private headDescriptor(): number {
    const flags = fs.constants.O_RDWR | fs.constants.O_CREAT;
    if (this.headFd === undefined) this.headFd = fs.openSync(this.headFile, flags, FILE_MODE);
    return this.headFd;
  }

  private headFailed(e: unknown): void {
    const why = e instanceof Error ? e.message : String(e);
    this.warn(`consent journal ${this.file}: could not record its head (${why})`);
  }

  private async writeHead(): Promise<void> {
    const buf = formatHead({ lines: this.chainLines, hash: this.lastHash });
    try {
      const fd = this.headDescriptor();
      await new Promise<void>((resolve, reject) =>
        fs.write(fd, buf, 0, HEAD_BYTES, 0, (err) => (err ? reject(err) : resolve())),
      );
    } catch (e) {
      this.headFailed(e);
    }
  }

  /** Breaks of the hash chain found at load and not yet acknowledged. */
  get chainBreaks(): readonly ChainBreak[] {
    return this.breaks;
  }

  /**
   * Accepts the journal as it is now after its chain was found broken: the file as found
   * is kept beside it (a hard link, `<file>.broken-<time>`), then it is rewritten with a
   * checkpoint naming the breaks, and appends resume. `fingerprint` must name the breaks
   * the person saw (breaksFingerprint), so an acknowledgement never covers a newer break.
   */
  async acknowledge(fingerprint: string, now: Date): Promise<{ evidence: string }> {
    if (this.breaks.length === 0) throw new Error("the journal's hash chain is whole: nothing to acknowledge");
    if (fingerprint !== breaksFingerprint(this.breaks)) {
      throw new Error("these are not the breaks found now: reopen the dialog and look again");
    }
    const evidence = `${this.file}.broken-${now.toISOString().replace(/[:.]/g, "-")}`;
    const acknowledged = this.breaks;
    await this.exclusive(() => {
      try {
        fs.linkSync(this.file, evidence);
      } catch {
        fs.copyFileSync(this.file, evidence, fs.constants.COPYFILE_EXCL);
        fs.chmodSync(evidence, FILE_MODE);
      }
    });
    const why = { reason: "acknowledged" as const, acknowledged, evidence: path.basename(evidence) };
    await this.compact(() => ({ keep: () => true }), why);
    this.breaks = [];
    return { evidence };
  }

  /**
   * Opens the file for appending and for reading, and checks both are one file (it
   * could be replaced between two opens); closes what was open before.
   */
  private openFile(): void {
    const fd = fs.openSync(this.file, "a", FILE_MODE);
    let readFd: number | undefined;
    try {
      readFd = fs.openSync(this.file, "r");
      const a = fs.fstatSync(fd, { bigint: true });
      const r = fs.fstatSync(readFd, { bigint: true });
      if (a.dev !== r.dev || a.ino !== r.ino) throw new Error(`${this.file} was replaced while it was being opened`);
      this.id = { dev: a.dev, ino: a.ino };
    } catch (e) {
      fs.closeSync(fd);
      if (readFd !== undefined) fs.closeSync(readFd);
      throw e;
    }
    this.closeFiles();
    this.fd = fd;
    this.readFd = readFd;
  }

  /**
   * Throws (and stops the journal) unless the path still names the file `fd` is open
   * on, holding exactly `expectedSize` bytes (what this store wrote): a file replaced,
   * removed, or written by someone else is never written to again.
   */
  private async checkFile(expectedSize: number): Promise<void> {
    const fd = this.fd;
    const id = this.id;
    if (fd === undefined || id === undefined) throw new Error("journal is not open");
    let onDisk: fs.BigIntStats;
    try {
      onDisk = await fs.promises.stat(this.file, { bigint: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw this.fail(
        code === "ENOENT"
          ? new JournalChangedError(this.file, "removed", "the path no longer exists")
          : new Error(`cannot check the journal file: ${(e as Error).message}`),
      );
    }
    if (onDisk.dev !== id.dev || onDisk.ino !== id.ino)
      throw this.fail(new JournalChangedError(this.file, "replaced", "the path now names another file"));
    const mine = await new Promise<fs.BigIntStats>((resolve, reject) =>
      fs.fstat(fd, { bigint: true }, (err, st) => (err ? reject(err) : resolve(st))),
    );
    if (mine.size !== BigInt(expectedSize)) {
      throw this.fail(
        new JournalChangedError(
          this.file,
          "changed",
          `it holds ${mine.size} bytes, the store wrote ${expectedSize}: another program wrote to it`,
        ),
      );
    }
  }

  /** Stops the journal for good (until a restart) and says so once. Returns the failure. */
  private fail(error: Error): Error {
    if (this.failure) return this.failure;
    this.failure = error;
    this.stopWatch();
    try {
      this.options.onFailure?.(error);
    } catch (e) {
      this.warn(
        `consent journal ${this.file}: reporting a failure failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return error;
  }

  /** Checks the file every few seconds while nothing is written (writes check it themselves). */
  private startWatch(): void {
    this.stopWatch();
    this.watch = setInterval(() => {
      try {
        if (this.closed || this.failure || this.watchQueued) return;
        this.watchQueued = true;
        // In the queue: never while a write or a rewrite is half done.
        this.exclusive(() => this.checkFile(this.size))
          .catch(() => undefined) // a failure was reported by fail()
          .finally(() => {
            this.watchQueued = false;
          });
      } catch (e) {
        this.warn(`consent journal ${this.file}: check failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }, this.options.watchIntervalMs ?? 2000);
    this.watch.unref();
  }

  private stopWatch(): void {
    if (this.watch !== undefined) clearInterval(this.watch);
    this.watch = undefined;
  }

  private closeFiles(): void {
    for (const fd of [this.fd, this.readFd, this.headFd]) {
      if (fd === undefined) continue;
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.fd = undefined;
    this.readFd = undefined;
    this.headFd = undefined;
  }

  /**
   * While a rewrite is moving the index's offsets to the new file: readAt must wait for
   * it (an offset may be old or new until it is done). Undefined otherwise.
   */
  get relocating(): Promise<void> | undefined {
    return this.moving;
  }

  /** Why the journal stopped accepting writes, if it did. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Resolves once the record is written and fsynced (and applied through onDurable). */
  append(record: JournalEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      // Nothing is chained onto a broken chain before someone has looked at it.
      if (this.breaks.length > 0) {
        const first = this.breaks[0].text;
        reject(new Error(`consent journal ${this.file} is unavailable: its hash chain is broken (${first})`));
        return;
      }
      this.enqueue({ kind: "append", json: JSON.stringify(record), record, resolve, reject });
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
      this.drain().catch((e: unknown) => {
        // Only a bug gets here (drain catches what its steps throw): stop, never crash.
        this.draining = false;
        const error = this.fail(e instanceof Error ? e : new Error(String(e)));
        for (const t of this.queue.splice(0)) t.reject(error);
      });
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (this.failure) {
        for (const t of this.queue.splice(0))
          t.reject(new Error(`consent journal ${this.file} is unavailable: ${this.failure.message}`));
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
      // Each line carries the hash of the one before it; the head moves only once they are durable.
      let prev = this.lastHash;
      const lines = batch.map((t) => {
        const line = `${chained(t.json, prev)}\n`;
        prev = lineHash(line);
        return line;
      });
      const buf = Buffer.from(lines.join(""), "utf8");
      try {
        // Never into a ghost: the file must be ours before the write, and still be after
        // the fsync (replaced in between: the lines went to the unlinked inode, so they
        // are not acknowledged).
        await this.checkFile(this.size);
        await this.writeAndSync(buf);
        await this.checkFile(this.size + buf.length);
      } catch (e) {
        // A failed write may have left a torn line: no later write may follow it until a
        // restart cuts it away. The store fails closed meanwhile.
        const error = this.fail(
          e instanceof JournalChangedError || this.failure
            ? (e as Error)
            : new Error(`journal write failed: ${e instanceof Error ? e.message : String(e)}`),
        );
        for (const t of batch) t.reject(error);
        continue;
      }
      this.lines += batch.length;
      this.chainLines += batch.length;
      this.lastHash = prev;
      await this.writeHead();
      try {
        for (let i = 0; i < batch.length; i++) {
          this.onDurable(batch[i].record, this.size);
          this.size += Buffer.byteLength(lines[i]);
        }
      } catch (e) {
        // Durable but not applied (a bug): the index no longer matches the file, so stop
        // rather than answer from it; nothing is acknowledged.
        const error = this.fail(
          new Error(`a written record could not be applied: ${e instanceof Error ? e.message : String(e)}`),
        );
        for (const t of batch) t.reject(error);
        continue;
      }
      for (const t of batch) t.resolve();
    }
    this.draining = false;
  }

  private async writeAndSync(buf: Buffer): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) throw new Error("journal is not open");
    if (this.needsHeader) throw new Error("the journal header was not added");
    let offset = 0;
    while (offset < buf.length) {
      const written = await new Promise<number>((resolve, reject) =>
        fs.write(fd, buf, offset, buf.length - offset, null, (err, n) => (err ? reject(err) : resolve(n))),
      );
      offset += written;
    }
    await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * The receipts of the line at `offset` (an offset onDurable gave), read synchronously
   * (one short line) from the journal's own inode. Not while `relocating`.
   */
  readAt(offset: number): ConsentReceipt[] {
    const fd = this.readFd;
    if (fd === undefined) return [];
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
  }

  /**
   * Every receipt of one subject, in the order they were written. Takes a snapshot in
   * the write queue (a descriptor of its own on the journal's inode, and its length
   * then: every acknowledged line, no half-written one), then reads it outside the queue
   * without blocking, so appends go on meanwhile and a compaction that renames a new
   * file in does not change what this export reads.
   */
  async readSubject(subject: string): Promise<ConsentReceipt[]> {
    let fd: number | undefined;
    let size = 0;
    await this.exclusive(() => {
      fd = this.snapshotFd();
      size = this.size;
    });
    const out: ConsentReceipt[] = [];
    const find = subjectReceipts(subject);
    try {
      await scanLines(fd as number, size, (bytes) => {
        out.push(...find(bytes));
      });
    } finally {
      fs.closeSync(fd as number);
    }
    return out;
  }

  /** A new read descriptor on the journal's inode (the caller closes it). In the queue only. */
  private snapshotFd(): number {
    const fd = fs.openSync(this.file, "r");
    try {
      const mine = fs.fstatSync(this.fd as number, { bigint: true });
      const got = fs.fstatSync(fd, { bigint: true });
      if (mine.dev !== got.dev || mine.ino !== got.ino)
        throw new Error(`${this.file} is no longer the file this store writes`);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return fd;
  }

  /**
   * Rewrites the journal, header first, keeping only the receipts `keep` accepts
   * (decided when the rewrite starts, after every earlier append). Lines left empty and
   * invalid lines go; onMoved learns where the kept lines went. Runs alone in the write
   * queue, reading and writing a chunk at a time without blocking; the new file replaces
   * the old one atomically (core replaceFile).
   */
  compact(
    plan: () => Keep | Promise<Keep>,
    why: Omit<Checkpoint, "replaced" | "at"> = { reason: "compaction" },
  ): Promise<{ before: number; after: number }> {
    const result = { before: 0, after: 0 };
    // A broken chain is rewritten only when someone acknowledged it: a compaction must
    // never heal it in silence.
    if (this.breaks.length > 0 && why.reason !== "acknowledged") {
      const text = `consent journal ${this.file}: its hash chain is broken; not compacted until that is acknowledged`;
      return Promise.reject(new Error(text));
    }
    return this.exclusive(async () => {
      const { keep, keepLink } = await plan();
      const shift = new OffsetShift();
      const headed = !this.needsHeader;
      const readFd = this.readFd as number;
      const to = this.size;
      let written = 0;
      let prev = "";
      let chainLines = 0;
      // Never rewrite a file that is no longer ours: checked before, and again just
      // before the rename (a backup restored meanwhile must not be renamed over).
      await this.checkFile(this.size);
      await replaceFile(
        this.file,
        async (handle) => {
          const out = new OutBuffer();
          written += out.appendString(HEADER);
          // The new chain starts with a checkpoint naming the head of the file it replaces.
          const replaced = { lines: this.chainLines, hash: this.lastHash };
          const checkpoint: Checkpoint = { replaced, at: new Date().toISOString(), ...why };
          const first = `${chained(JSON.stringify({ checkpoint }), lineHash(HEADER))}\n`;
          written += out.appendString(first);
          prev = lineHash(first);
          chainLines = 2;
          await scanLines(
            readFd,
            to,
            (bytes, offset) => {
              if (offset === 0 && headed) return; // the header
              const parsed = parseLine(bytes.toString("utf8"));
              if (parsed?.kind === "checkpoint") return; // replaced by the new one
              result.before++;
              if (parsed === undefined) return;
              let line: Uint8Array;
              if (parsed.kind === "link") {
                if (keepLink !== undefined && !keepLink(parsed.link)) return;
                line = relinked(bytes, prev);
              } else {
                const kept = parsed.receipts.filter(keep);
                if (kept.length === 0) return;
                // Unchanged: the same bytes but for the link, not a re-serialisation.
                const whole = kept.length === parsed.receipts.length;
                line = whole ? relinked(bytes, prev) : Buffer.from(chained(JSON.stringify({ receipts: kept }), prev));
              }
              shift.add(offset, written);
              out.append(line);
              written += line.length + out.appendString("\n");
              prev = lineHash(Buffer.concat([line, NEWLINE_BYTE]));
              chainLines++;
              result.after++;
            },
            // Between slices: write out what was gathered (this also lets the loop run).
            () => out.flushTo(handle),
          );
          await out.flushTo(handle);
        },
        { mode: FILE_MODE, beforeRename: () => this.checkFile(to) },
      );
      // The new file is in place. Anything that fails from here would leave appends
      // going to the old, unlinked inode or queries reading the wrong lines: the journal
      // stops instead (a restart loads the new file).
      try {
        // Appends go to the new file from here; reads stay on the old inode until the
        // index's offsets are moved, and wait while they are.
        const newAppend = fs.openSync(this.file, "a", FILE_MODE);
        const newRead = fs.openSync(this.file, "r");
        const a = fs.fstatSync(newAppend, { bigint: true });
        const r = fs.fstatSync(newRead, { bigint: true });
        if (a.dev !== r.dev || a.ino !== r.ino || a.size !== BigInt(written)) {
          fs.closeSync(newAppend);
          fs.closeSync(newRead);
          throw new JournalChangedError(this.file, "replaced", "another file appeared just after the rewrite");
        }
        if (this.fd !== undefined) fs.closeSync(this.fd);
        this.fd = newAppend;
        this.id = { dev: a.dev, ino: a.ino };
        this.size = written;
        this.lastHash = prev;
        this.chainLines = chainLines;
        this.needsHeader = false;
        this.lines = result.after;
        this.invalidLines = 0;
        await this.writeHead();
        const moving = Promise.resolve().then(() => this.options.onMoved((offset) => shift.map(offset)));
        this.moving = moving;
        try {
          await moving;
        } finally {
          this.moving = undefined;
          if (this.readFd !== undefined) fs.closeSync(this.readFd);
          this.readFd = newRead;
        }
      } catch (e) {
        throw this.fail(
          e instanceof JournalChangedError
            ? e
            : new Error(
                `the journal was rewritten but could not be reopened: ${e instanceof Error ? e.message : String(e)}`,
              ),
        );
      }
    }).then(() => result);
  }

  /** Waits for queued writes, closes the file and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.exclusive(() => undefined).catch(() => undefined);
    this.closed = true;
    this.stopWatch();
    this.closeFiles();
    this.unlock();
  }

  /** Releases the lock without loading (a store that failed to start). */
  release(): void {
    this.closed = true;
    this.stopWatch();
    this.closeFiles();
    this.unlock();
  }
}
