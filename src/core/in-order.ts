/**
 * For a node whose work on one message may span several turns of the event loop (so
 * that a big message never blocks it): messages are handled one at a time, in the
 * order they came, and a message that finds the node idle is handled at once,
 * synchronously, as before.
 */

/** A value now, or later. */
export type Eventually<T> = T | Promise<T>;

export function isPromise<T>(v: Eventually<T>): v is Promise<T> {
  return typeof v === "object" && v !== null && typeof (v as Promise<T>).then === "function";
}

/** `f(v)` at once when `v` is a value, after it resolves when it is a promise. */
export function whenReady<T, R>(v: Eventually<T>, f: (value: T) => Eventually<R>): Eventually<R> {
  return isPromise(v) ? v.then(f) : f(v);
}

export class InOrder {
  /** Settles when the last queued work has; undefined when nothing is running. */
  private tail: Promise<void> | undefined;

  /** Messages waiting or running over several turns. */
  get busy(): boolean {
    return this.tail !== undefined;
  }

  /**
   * Runs `work` now when idle (its result, or its throw, comes back as it is), else
   * after every earlier piece of work has settled.
   */
  run<R>(work: () => Eventually<R>): Eventually<R> {
    if (this.tail === undefined) {
      const r = work();
      if (isPromise(r)) this.track(r);
      return r;
    }
    const r = this.tail.then(work);
    this.track(r);
    return r;
  }

  private track(p: Promise<unknown>): void {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.tail = settled;
    void settled.then(() => {
      if (this.tail === settled) this.tail = undefined;
    });
  }
}

/**
 * Calls `step()` until it returns true (done), a slice at a time: when a slice has
 * taken `sliceMs`, the rest continues after the event loop has had a turn
 * (setImmediate). Synchronous, returning undefined, when everything fits into the
 * first slice. `step` may throw: the rest is then not run and the error comes back
 * (thrown, or as a rejection).
 */
export function runInSlices(step: () => boolean, options: SliceOptions = {}): void | Promise<void> {
  const sliceMs = options.sliceMs ?? 10;
  const now = options.now ?? (() => performance.now());
  const stopped = options.stopped ?? (() => undefined);
  let finished = false;
  const slice = (): boolean => {
    const start = now();
    for (let n = 1; !finished; n++) {
      finished = step();
      // the clock is read every 16 steps: a step is a few microseconds
      if (!finished && (n & 15) === 0 && now() - start >= sliceMs) return false;
    }
    return true;
  };
  if (slice()) return undefined;
  return new Promise<void>((resolve, reject) => {
    const next = (): void => {
      try {
        const reason = stopped();
        if (reason !== undefined) throw new Error(reason);
        if (slice()) resolve();
        else setImmediate(next);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    };
    setImmediate(next);
  });
}

/** runInSlices over `step(0)` .. `step(n - 1)`. */
export function inSlices(n: number, step: (i: number) => void, options: SliceOptions = {}): void | Promise<void> {
  let i = 0;
  if (n === 0) return undefined;
  return runInSlices(() => {
    step(i++);
    return i >= n;
  }, options);
}

export interface SliceOptions {
  /** Work per turn of the event loop, in ms (default 10). */
  sliceMs?: number;
  now?: () => number;
  /** Checked before each later slice: a reason to stop (the node closed), or undefined. */
  stopped?: () => string | undefined;
}
