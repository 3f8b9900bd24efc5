/**
 * The hash chain that makes a consent journal tamper-evident, independent of where the
 * lines are kept (the file journal uses it; another backend can keep the same lines).
 *
 * - Every record line ends with `,"prev":"<hex>"}`: the SHA-256 of the line before it,
 *   newline included, so `sed -n 3p journal.jsonl | sha256sum` shows what line 4 carries.
 *   The first line (the format header) starts the chain.
 * - The head (how many lines, and the hash of the last one) is kept beside the chain. An
 *   edited, removed or inserted line breaks a link; a removed or edited last line, which
 *   no later link covers, no longer matches the head.
 * - A rewrite (compaction, upgrade, an acknowledged break) starts a new chain with a
 *   checkpoint line carrying the head of what it replaced, so a head written before the
 *   rewrite (a crash between the rename and the head update) is still recognised.
 *
 * It cannot stop someone who recomputes every hash and the head: an unkeyed chain shows
 * edits made with an editor or a script that does not know it. Receipts people keep are
 * signed (receipt-signing.ts) and prove what the store said at the time.
 */
import { hash as oneShotHash, createHash } from "node:crypto";

/** `,"prev":"` + 64 hex digits + `"}`: how every chained line ends. */
const PREV_KEY = ',"prev":"';
export const PREV_SUFFIX_BYTES = PREV_KEY.length + 64 + 2;
const HEX = /^[0-9a-f]{64}$/;

/** node:crypto.hash is one native call (Node >= 20.12); createHash where it is missing. */
const sha256 =
  typeof oneShotHash === "function"
    ? (data: Uint8Array | string): string => oneShotHash("sha256", data, "hex")
    : (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");

/** The SHA-256 (hex) of one line: its bytes including the final newline. */
export function lineHash(lineWithNewline: Uint8Array | string): string {
  return sha256(lineWithNewline);
}

/** A record's JSON (an object text ending in `}`) with the link to the line before it. */
export function chained(recordJson: string, prev: string): string {
  return `${recordJson.slice(0, -1)}${PREV_KEY}${prev}"}`;
}

/** The hash a line carries (without its newline), or undefined when it carries none. */
export function prevOf(line: Uint8Array): string | undefined {
  const n = line.length;
  if (n < PREV_SUFFIX_BYTES + 2 || line[n - 1] !== 0x7d || line[n - 2] !== 0x22) return undefined;
  const start = n - PREV_SUFFIX_BYTES;
  for (let i = 0; i < PREV_KEY.length; i++) if (line[start + i] !== PREV_KEY.charCodeAt(i)) return undefined;
  const hex = Buffer.from(line.buffer, line.byteOffset + start + PREV_KEY.length, 64).toString("latin1");
  return HEX.test(hex) ? hex : undefined;
}

/** The line without its link (`{...}` as it was before chained()), or the line itself. */
export function unchained(line: Uint8Array): Uint8Array {
  if (prevOf(line) === undefined) return line;
  const body = Buffer.allocUnsafe(line.length - PREV_SUFFIX_BYTES + 1);
  body.set(line.subarray(0, line.length - PREV_SUFFIX_BYTES));
  body[body.length - 1] = 0x7d;
  return body;
}

/** The same line linked to another predecessor (a rewrite keeps each line's bytes otherwise). */
export function relinked(line: Uint8Array, prev: string): Buffer {
  const base = prevOf(line) === undefined ? line.length - 1 : line.length - PREV_SUFFIX_BYTES;
  const out = Buffer.allocUnsafe(base + PREV_SUFFIX_BYTES);
  out.set(line.subarray(0, base));
  out.write(`${PREV_KEY}${prev}"}`, base, "latin1");
  return out;
}

/** Where the chain ends: lines in the file (the header counts) and the hash of the last one. */
export interface ChainHead {
  lines: number;
  hash: string;
}

/** A checkpoint: the first record of a rewritten chain, naming the head it replaced. */
export interface Checkpoint {
  /** The head of the chain this one replaced. */
  replaced: ChainHead;
  at: string;
  reason: "compaction" | "upgrade" | "acknowledged";
  /** For an acknowledged break: what was found, and where the file as found was kept. */
  acknowledged?: ChainBreak[];
  evidence?: string;
}

export type BreakKind =
  "unlinked" | "inserted" | "changed-or-removed" | "end-removed" | "end-changed" | "head-missing" | "header-changed";

/** One place where the chain does not hold. `line` is 1-based, the header being line 1. */
export interface ChainBreak {
  line: number;
  kind: BreakKind;
  text: string;
}

function describe(kind: BreakKind, line: number, extra = 0): string {
  switch (kind) {
    case "unlinked":
      return `line ${line} carries no hash of the line before it (a line added or rewritten by hand)`;
    case "inserted":
      return `line ${line - 1} was inserted (line ${line} carries the hash of line ${line - 2})`;
    case "changed-or-removed":
      return (
        `line ${line} does not carry the hash of line ${line - 1}: ` +
        `line ${line - 1} was changed, or a line between them was removed`
      );
    case "end-removed":
      return `${extra} line(s) after line ${line - 1} were removed (the store had written ${line - 1 + extra})`;
    case "end-changed":
      return (
        `line ${line} is not the line the store wrote there ` +
        "(it was changed, or lines were removed or inserted before it)"
      );
    case "head-missing":
      return `the record of where the journal ends is missing, so lines removed at its end could not be seen`;
    case "header-changed":
      return `line 1 says the journal has no hash chain, but it had one: the header was changed`;
  }
}

/**
 * Checks a chain line by line. Feed every complete line in order (the header first),
 * without its newline; then `finish` compares the end with the head kept beside it.
 * Stops collecting after `maxBreaks` breaks but keeps following the chain.
 */
export class ChainVerifier {
  readonly breaks: ChainBreak[] = [];
  private lines = 0;
  private last: string | undefined;
  private beforeLast: string | undefined;
  private hashAtHead: string | undefined;
  private firstCheckpoint: Checkpoint | undefined;
  private brokenCount = 0;

  constructor(
    /** The head recorded beside the chain (undefined: none was found). */
    private readonly head: ChainHead | undefined,
    private readonly maxBreaks = 10,
  ) {}

  /** Lines seen, and the hash of the last one: the head of this chain. */
  get end(): ChainHead {
    return { lines: this.lines, hash: this.last ?? "" };
  }

  /** How many breaks were found (more than `breaks` holds when there were many). */
  get broken(): number {
    return this.brokenCount;
  }

  /** Tells the verifier that the line just fed is a checkpoint (the first one counts). */
  checkpoint(c: Checkpoint): void {
    if (this.firstCheckpoint === undefined && this.lines === 2) this.firstCheckpoint = c;
  }

  /** Feeds one line (without newline) and its hash with the newline (`lineHash`). */
  feed(line: Uint8Array, hash: string): void {
    this.lines++;
    if (this.lines > 1) {
      const prev = prevOf(line);
      if (prev === undefined) this.add("unlinked", this.lines);
      else if (prev !== this.last) this.add(prev === this.beforeLast ? "inserted" : "changed-or-removed", this.lines);
    }
    this.beforeLast = this.last;
    this.last = hash;
    if (this.head !== undefined && this.lines === this.head.lines) this.hashAtHead = hash;
  }

  /** Records a break found outside the chain itself (a header that denies the chain). */
  add(kind: BreakKind, line: number, extra = 0): void {
    this.brokenCount++;
    if (this.breaks.length < this.maxBreaks) this.breaks.push({ line, kind, text: describe(kind, line, extra) });
  }

  /** Compares the end of the chain with the head; returns every break found. */
  finish(): ChainBreak[] {
    const head = this.head;
    if (head === undefined) {
      // A journal holding only its header has nothing that could have been removed.
      if (this.lines > 1) this.add("head-missing", this.lines);
      return this.breaks;
    }
    const replaced = this.firstCheckpoint?.replaced;
    // The head from before a rewrite whose head update a crash cut short.
    if (replaced !== undefined && replaced.lines === head.lines && replaced.hash === head.hash) return this.breaks;
    if (head.lines > this.lines) this.add("end-removed", this.lines + 1, head.lines - this.lines);
    else if (this.hashAtHead !== head.hash) this.add("end-changed", head.lines);
    return this.breaks;
  }
}

/** A short, stable name for a set of breaks: what an acknowledgement must name. */
export function breaksFingerprint(breaks: readonly ChainBreak[]): string {
  return sha256(JSON.stringify(breaks.map((b) => [b.line, b.kind]))).slice(0, 16);
}

/** Reads a head record (`{"lines":n,"hash":"..."}` maybe padded); undefined when it is not one. */
export function parseHead(text: string): ChainHead | undefined {
  try {
    const v = JSON.parse(text) as Partial<ChainHead>;
    const lines = v.lines;
    const hash = v.hash;
    const linesOk = typeof lines === "number" && Number.isSafeInteger(lines) && lines >= 1;
    if (linesOk && typeof hash === "string" && HEX.test(hash)) {
      return { lines, hash };
    }
  } catch {
    // not a head
  }
  return undefined;
}

/** Bytes of a head record as written: fixed, so each update overwrites the last in place. */
export const HEAD_BYTES = 128;

/** A head record padded to HEAD_BYTES (ends in a newline). */
export function formatHead(head: ChainHead): Buffer {
  const text = JSON.stringify({ lines: head.lines, hash: head.hash });
  return Buffer.from(`${text}${" ".repeat(HEAD_BYTES - 1 - text.length)}\n`, "latin1");
}
