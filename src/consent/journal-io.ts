/**
 * Reading a journal file line by line, synchronously (the load at start, which must be
 * complete before any flow runs) or asynchronously in slices (export and compaction,
 * which run while the flows do and must never hold the event loop for long), plus the
 * small pieces compaction needs: an output buffer and a map of moved offsets.
 */
import * as fs from "node:fs";
import { Slicer, yieldToLoop } from "./slices";

/** Bytes read at a time (one read, one copy of at most this much, between two pauses). */
const CHUNK = 256 * 1024;
const NEWLINE = 0x0a;

function pread(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

/** Doubles `buf` keeping its first `filled` bytes (a line longer than the buffer). */
function grow(buf: Buffer, filled: number): Buffer {
  const bigger = Buffer.allocUnsafe(buf.length * 2);
  buf.copy(bigger, 0, 0, filled);
  return bigger;
}

/**
 * Calls `line` for every complete line in bytes [0, to) of `fd` (without the newline;
 * the Buffer is a view, valid only during the call; `withNewline` is the same line with
 * its newline, which is what the hash chain hashes) and returns the byte length of the
 * complete part: where a torn tail starts.
 */
export function scanLinesSync(
  fd: number,
  to: number,
  line: (bytes: Buffer, offset: number, withNewline: Buffer) => void,
): number {
  // One buffer reused for the whole file (a new one per chunk would leave hundreds of
  // MB of dead external memory behind while a large journal loads).
  let buf: Buffer = Buffer.allocUnsafe(16 * CHUNK);
  let filled = 0; // bytes in buf
  let bufStart = 0; // file offset of buf[0]
  let position = 0;
  let complete = 0;
  while (position < to) {
    if (filled === buf.length) buf = grow(buf, filled);
    const n = fs.readSync(fd, buf, filled, Math.min(buf.length - filled, to - position), position);
    if (n <= 0) break;
    position += n;
    filled += n;
    const view = buf.subarray(0, filled);
    let start = 0;
    for (let nl = view.indexOf(NEWLINE, start); nl !== -1; nl = view.indexOf(NEWLINE, start)) {
      if (nl > start) line(view.subarray(start, nl), bufStart + start, view.subarray(start, nl + 1));
      complete = bufStart + nl + 1;
      start = nl + 1;
    }
    buf.copyWithin(0, start, filled);
    filled -= start;
    bufStart += start;
  }
  return complete;
}

/**
 * As scanLinesSync, without blocking: reads a chunk at a time and calls `pause` after
 * each chunk and whenever a slice of line work (slices.ts) is used up (by default it
 * only lets the event loop run; compaction uses it to write out what it has gathered).
 */
export async function scanLines(
  fd: number,
  to: number,
  line: (bytes: Buffer, offset: number) => void,
  pause: () => Promise<void> = yieldToLoop,
): Promise<number> {
  let buf: Buffer = Buffer.allocUnsafe(CHUNK);
  let filled = 0;
  let bufStart = 0;
  let position = 0;
  let complete = 0;
  const slicer = new Slicer();
  while (position < to) {
    if (filled === buf.length) buf = grow(buf, filled);
    const n = await pread(fd, buf, filled, Math.min(buf.length - filled, to - position), position);
    if (n <= 0) break;
    slicer.restart();
    position += n;
    filled += n;
    const view = buf.subarray(0, filled);
    let start = 0;
    for (let nl = view.indexOf(NEWLINE, start); nl !== -1; nl = view.indexOf(NEWLINE, start)) {
      if (nl > start) line(view.subarray(start, nl), bufStart + start);
      complete = bufStart + nl + 1;
      start = nl + 1;
      // The buffer is not read into while paused, so the rest of the chunk stays valid.
      if (slicer.due()) await slicer.pause(pause);
    }
    buf.copyWithin(0, start, filled);
    filled -= start;
    bufStart += start;
    await pause();
  }
  return complete;
}

/** A growing byte buffer for what compaction writes between two pauses. */
export class OutBuffer {
  private buf: Buffer = Buffer.allocUnsafe(CHUNK * 2);
  length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + bytes) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  /** Copies the bytes (a view into a read buffer may be reused after this call). */
  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  appendString(text: string): number {
    const bytes = Buffer.byteLength(text);
    this.reserve(bytes);
    this.buf.write(text, this.length, "utf8");
    this.length += bytes;
    return bytes;
  }

  /** Writes everything gathered to the handle and empties the buffer. */
  async flushTo(handle: fs.promises.FileHandle): Promise<void> {
    let offset = 0;
    while (offset < this.length) {
      const { bytesWritten } = await handle.write(this.buf, offset, this.length - offset);
      offset += bytesWritten;
    }
    this.length = 0;
  }
}

/**
 * Where lines moved when a journal was rewritten: lines keep their order and some are
 * dropped or shortened, so the shift (new offset - old offset) changes only at a few
 * places. Stored as breakpoints, not one entry per line (a million-line journal would
 * need a million-entry map).
 */
export class OffsetShift {
  private readonly from: number[] = [];
  private readonly delta: number[] = [];

  /** Records that the line at `oldOffset` is now at `newOffset` (called in file order). */
  add(oldOffset: number, newOffset: number): void {
    const d = newOffset - oldOffset;
    const last = this.delta.length - 1;
    if (last < 0 || this.delta[last] !== d) {
      this.from.push(oldOffset);
      this.delta.push(d);
    }
  }

  /** The new offset of the kept line that was at `oldOffset`. */
  map(oldOffset: number): number {
    let lo = 0;
    let hi = this.from.length - 1;
    if (hi < 0 || oldOffset < this.from[0]) return oldOffset;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.from[mid] <= oldOffset) lo = mid;
      else hi = mid - 1;
    }
    return oldOffset + this.delta[lo];
  }
}
