/**
 * Node status and counters. A node may handle thousands of messages a second; each
 * status update is sent to every open editor, so updates are coalesced to at most one
 * per interval. The timer is unref'd and released by `close()`.
 */

export type StatusFill = "red" | "green" | "yellow" | "blue" | "grey";
export type StatusShape = "ring" | "dot";

export interface NodeStatus {
  fill?: StatusFill;
  shape?: StatusShape;
  text?: string;
}

export type StatusSink = (status: NodeStatus) => void;

/** A status, or a function that builds it: called only when the status is really shown. */
export type StatusSource = NodeStatus | (() => NodeStatus);

export class StatusReporter {
  private pending: StatusSource | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastShown = 0;
  private closed = false;

  /** `onError`: told when building or showing a status failed in the timer (nothing may escape a timer). */
  constructor(
    private readonly sink: StatusSink,
    private readonly intervalMs = 250,
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /**
   * Shows a status now if the last one is old enough, else at the end of the interval.
   * Pass a function for a status that counts messages: a busy node then builds the text
   * a few times a second, with the counts of that moment, not once per message.
   */
  show(status: StatusSource): void {
    if (this.closed) return;
    const elapsed = this.now() - this.lastShown;
    if (elapsed >= this.intervalMs && this.timer === undefined) {
      this.emit(status);
      return;
    }
    this.pending = status;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.intervalMs - elapsed));
      this.timer.unref();
    }
  }

  /** Shows a status at once, replacing anything pending (errors, config problems). */
  showNow(status: NodeStatus): void {
    if (this.closed) return;
    this.cancel();
    this.emit(status);
  }

  /** Stops the timer and clears the node's status. */
  close(): void {
    this.cancel();
    this.closed = true;
    this.sink({});
  }

  private flush(): void {
    this.timer = undefined;
    const status = this.pending;
    this.pending = undefined;
    if (status) this.emit(status);
  }

  private cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private emit(status: StatusSource): void {
    this.lastShown = this.now();
    // Runs from a timer: a status builder or a closed node's status() that throws must
    // not become an uncaught exception that stops Node-RED.
    let shown: NodeStatus;
    try {
      shown = typeof status === "function" ? status() : status;
    } catch (e) {
      shown = { fill: "red", shape: "ring", text: shortText(`status: ${errorText(e)}`) };
    }
    try {
      this.sink(shown);
    } catch (err) {
      this.onError(err);
    }
  }
}

/** Counts what a node did, for its status line and its trail. */
export class Metrics {
  private readonly counts = new Map<string, number>();
  lastError: string | undefined;

  add(name: string, by = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  fail(error: unknown): void {
    this.add("errors");
    this.lastError = errorText(error);
  }

  /** "12 ok, 1 error: reason" style text from the given counters. */
  summary(names: readonly string[]): string {
    const parts = names.map((n) => `${this.get(n)} ${n}`);
    return parts.join(", ");
  }
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Status text is shown on the canvas: keep it short. */
export function shortText(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
