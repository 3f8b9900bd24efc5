/**
 * Runs checks one at a time, on demand and on an interval with jitter. A check that
 * throws is reported through `onError` and the schedule goes on: nothing escapes a timer.
 */
export interface SchedulerOptions<T, A> {
  /** Milliseconds between scheduled runs; 0 or less: only on demand. */
  intervalMs: number;
  /** The check itself; `arg` is what `run` was given (undefined on a scheduled run). */
  task: (arg?: A) => Promise<T>;
  /** A scheduled run's result (runs on demand return theirs to the caller). */
  onResult: (result: T) => void;
  onError: (err: unknown) => void;
  random?: () => number;
}

export class CheckScheduler<T, A = undefined> {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly random: () => number;

  constructor(private readonly options: SchedulerOptions<T, A>) {
    this.random = options.random ?? Math.random;
  }

  /** Starts the interval; the first run comes after a jitter of up to a minute (or a tenth of the interval). */
  start(): void {
    // Jitter so that many installations restarted together do not ask at the same second.
    this.schedule(this.random() * Math.min(60000, this.options.intervalMs * 0.1));
  }

  /** Runs the check after any running one; resolves with its result. */
  run(arg?: A): Promise<T> {
    const next = this.queue.then(async () => {
      this.busy = true;
      try {
        return await this.options.task(arg);
      } finally {
        this.busy = false;
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Stops the interval and waits for a running check. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.queue;
  }

  private schedule(delay: number): void {
    if (this.closed || this.options.intervalMs <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        if (!this.busy) {
          this.run()
            .then((result) => {
              if (!this.closed) this.options.onResult(result);
            })
            .catch((err: unknown) => this.options.onError(err));
        }
      } catch (err) {
        this.options.onError(err);
      }
      this.schedule(this.options.intervalMs * (0.9 + this.random() * 0.2));
    }, delay);
  }
}
