/**
 * Time-window aggregation: instead of every reading, one message per window and key
 * with count, mean, min and max of each numeric field, so fewer and coarser messages
 * leave. Windows are tumbling and aligned to the epoch (a 15-minute window runs
 * 10:00-10:15, 10:15-10:30...), so every key closes at the same instant and one timer
 * serves them all. The clock is injected: tests drive it by hand.
 */
import { getValue, parsePath, setValue, type PropertyPath } from "../core/paths";
import type { TrailEntry } from "../core/trail";
import { MinimizeError } from "./schema";

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface FieldStats {
  count: number;
  mean: number;
  min: number;
  max: number;
}

export interface WindowResult {
  key: string;
  start: number;
  end: number;
  /** Messages that fell into the window. */
  messages: number;
  /** Stats per field path (fields without any value in the window are left out). */
  fields: Map<string, FieldStats>;
  /** The trail the window's first message carried, so a downstream gate still sees it. */
  trail: TrailEntry[];
}

export interface AggregateOptions {
  windowMs: number;
  /** Numeric fields, as paths relative to the minimized property (no `*`). */
  fields: string[];
  /** Windows open at once (one per key); a message for one more key is refused. */
  maxKeys: number;
  onTypeMismatch: "error" | "drop-field";
  clock: Clock;
  /** Called with the windows a timer closed. */
  onEmit: (windows: WindowResult[]) => void;
  /**
   * Called with what went wrong when a timer closed windows (onEmit threw, say). Nothing
   * thrown in a timer may escape: Node-RED would exit. The aggregator keeps running.
   */
  onError: (err: unknown) => void;
}

interface Acc {
  count: number;
  /** The plain sum: exact to the last bit for ordinary readings, but it can overflow. */
  sum: number;
  /**
   * A running mean that cannot overflow (two readings of Number.MAX_VALUE sum to
   * Infinity): used only when the sum did overflow, since it rounds a little at each step.
   */
  mean: number;
  min: number;
  max: number;
}

/** The running mean after the count-th reading v: never leaves [min, max] through overflow. */
function nextMean(mean: number, v: number, count: number): number {
  const step = (v - mean) / count;
  // v - mean overflows only for readings of opposite signs near the limit; dividing first cannot
  return mean + (Number.isFinite(step) ? step : v / count - mean / count);
}

interface OpenWindow {
  key: string;
  start: number;
  end: number;
  messages: number;
  accs: Array<Acc | null>;
  trail: TrailEntry[];
}

export class Aggregator {
  private readonly open = new Map<string, OpenWindow>();
  private readonly paths: PropertyPath[];
  private timer: unknown = undefined;
  private timerAt = 0;
  private closed = false;

  constructor(private readonly options: AggregateOptions) {
    this.paths = options.fields.map((f) => parsePath(f));
  }

  /** Windows currently open. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Reads the fields from a minimized value. Throws MinimizeError (wrong type, with
   * onTypeMismatch "error"); a missing field, or a wrong one with "drop-field", is undefined.
   */
  read(value: unknown, propName: string): Array<number | undefined> {
    return this.paths.map((p) => {
      const v = getValue(value, p);
      if (v === undefined) return undefined;
      if (typeof v === "number" && Number.isFinite(v)) return v;
      if (this.options.onTypeMismatch === "error") {
        throw new MinimizeError(
          `${propName}.${p.text}: aggregation needs a number, got ${v === null ? "null" : typeof v}`,
        );
      }
      return undefined;
    });
  }

  /**
   * Adds one reading. Returns the window of this key that had already ended (when the
   * timer has not fired yet), else an empty list. Throws when one more key would pass maxKeys.
   */
  add(key: string, values: Array<number | undefined>, trail: readonly TrailEntry[]): WindowResult[] {
    const now = this.options.clock.now();
    const out: WindowResult[] = [];
    let w = this.open.get(key);
    if (w && w.end <= now) {
      out.push(this.result(w));
      this.open.delete(key);
      w = undefined;
    }
    if (!w) {
      if (this.open.size >= this.options.maxKeys) {
        throw new MinimizeError(`aggregation: more than ${this.options.maxKeys} keys in one window`);
      }
      const start = Math.floor(now / this.options.windowMs) * this.options.windowMs;
      w = {
        key,
        start,
        end: start + this.options.windowMs,
        messages: 0,
        accs: this.paths.map(() => null),
        trail: trail.map((e) => ({ ...e })),
      };
      this.open.set(key, w);
    }
    w.messages++;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === undefined) continue;
      const a = w.accs[i];
      if (a === null) w.accs[i] = { count: 1, sum: v, mean: v, min: v, max: v };
      else {
        a.count++;
        a.sum += v;
        a.mean = nextMean(a.mean, v, a.count);
        if (v < a.min) a.min = v;
        if (v > a.max) a.max = v;
      }
    }
    this.schedule(w.end);
    return out;
  }

  /** Closes every open window now (msg.flush, close), ended or not. */
  flushAll(): WindowResult[] {
    const out = Array.from(this.open.values(), (w) => this.result(w));
    this.open.clear();
    this.cancel();
    return out;
  }

  /** Stops the timer; windows still open are dropped (call flushAll first to keep them). */
  close(): void {
    this.closed = true;
    this.open.clear();
    this.cancel();
  }

  private result(w: OpenWindow): WindowResult {
    const fields = new Map<string, FieldStats>();
    w.accs.forEach((a, i) => {
      if (a) fields.set(this.paths[i].text, { count: a.count, mean: meanOf(a), min: a.min, max: a.max });
    });
    return { key: w.key, start: w.start, end: w.end, messages: w.messages, fields, trail: w.trail };
  }

  private schedule(at: number): void {
    if (this.closed || (this.timer !== undefined && this.timerAt <= at)) return;
    this.cancel();
    const { clock } = this.options;
    this.timerAt = at;
    this.timer = clock.setTimeout(() => this.fire(), Math.max(0, at - clock.now()));
  }

  private cancel(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The timer's callback: everything it does is inside the try, so nothing it throws escapes. */
  private fire(): void {
    this.timer = undefined;
    try {
      const now = this.options.clock.now();
      const due: WindowResult[] = [];
      let next = Infinity;
      for (const [key, w] of this.open) {
        if (w.end <= now) {
          due.push(this.result(w));
          this.open.delete(key);
        } else if (w.end < next) next = w.end;
      }
      if (next !== Infinity) this.schedule(next);
      if (due.length > 0) this.options.onEmit(due);
    } catch (err) {
      this.report(err);
    }
  }

  private report(err: unknown): void {
    try {
      this.options.onError(err);
    } catch (again) {
      // the error handler failed too: Node's warning channel still reaches the log
      process.emitWarning(`privacy-minimize aggregation: ${String(again)} (while reporting ${String(err)})`);
    }
  }
}

/** The key of a message: the value at keyPath as text ("" when absent). */
export function keyOf(msg: Record<string, unknown>, keyPath: PropertyPath | null): string {
  if (keyPath === null) return "";
  const v = getValue(msg, keyPath);
  if (v === undefined || v === null) return "";
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v);
  throw new MinimizeError(`msg.${keyPath.text} must be a string or a number to key an aggregation window`);
}

/**
 * The message a closed window leaves as: the stats at the field paths inside the
 * property, the key at its path, msg.window with start/end (ISO) and the message
 * count, and the carried trail plus this node's entry.
 */
export function windowMessage(
  w: WindowResult,
  options: { property: PropertyPath; keyPath: PropertyPath | null; entry: TrailEntry },
): Record<string, unknown> {
  const stats: Record<string, unknown> = {};
  for (const [field, s] of w.fields) setValue(stats, parsePath(field), s);
  const msg: Record<string, unknown> = {};
  // the stats first: a key inside the property (payload.deviceId) then goes beside them
  setValue(msg, options.property, stats);
  if (options.keyPath !== null && w.key !== "") setValue(msg, options.keyPath, w.key);
  msg.window = { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString(), messages: w.messages };
  msg.privacy = { trail: [...w.trail, options.entry] };
  return msg;
}

/** The mean of a field: the exact sum / count when the sum stayed finite, else the running mean. */
function meanOf(a: Acc): number {
  const m = Number.isFinite(a.sum) ? a.sum / a.count : a.mean;
  // the running mean's rounding must not take it past the readings it averages
  return Math.min(a.max, Math.max(a.min, m));
}
