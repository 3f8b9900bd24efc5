/**
 * Long work done in slices: a loop asks `due()` every step and, when its slice of time is
 * used up, awaits `pause()` so timers, I/O and messages run before it goes on. The
 * design allows no step over 50 ms; slices are kept far shorter because a busy machine
 * (a Pi running other things, two processes on one core) stretches each one.
 */
import { performance } from "node:perf_hooks";

/** The longest slice of work, in ms of wall time. */
export const SLICE_MS = 4;

/** Lets timers and I/O run before going on. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class Slicer {
  private start = performance.now();
  private steps = 0;

  /** `every`: steps between two looks at the clock (each step must be short). */
  constructor(private readonly every = 32) {}

  /** Counts a step; true when the slice is used up (then call pause()). */
  due(): boolean {
    if (++this.steps < this.every) return false;
    this.steps = 0;
    return performance.now() - this.start >= SLICE_MS;
  }

  /** Ends the slice: runs `between` (by default: lets the event loop run) and starts a new one. */
  async pause(between: () => Promise<void> = yieldToLoop): Promise<void> {
    await between();
    this.restart();
  }

  /** Starts a new slice (after an await that let the loop run anyway). */
  restart(): void {
    this.start = performance.now();
    this.steps = 0;
  }
}
