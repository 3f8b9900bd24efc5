/**
 * The noise operators of privacy-anonymize, each compiled once per rule (a Gaussian's
 * sigma is calibrated when the node is created, not per message):
 * - noise: Laplace(sensitivity / epsilon), as the discrete Laplace on a grid of 1024 or
 *   more steps per sensitivity (exact; see dp-noise.ts for why not floating-point Laplace);
 * - geometric: the discrete Laplace (two-sided geometric) for integers such as counts;
 * - gaussian: the discrete Gaussian calibrated exactly to (epsilon, delta);
 * - randomizedResponse: a boolean kept with probability e^eps / (1 + e^eps), else flipped.
 * Each is epsilon-DP (gaussian: (epsilon, delta)-DP) per value released, for a value one
 * person can move by at most `sensitivity`. Rounding and clamping happen afterwards and
 * spend no privacy (post-processing).
 */
import { OperatorTypeError, round, typeName } from "./anonymize-ops";
import {
  calibrateGaussian,
  discreteGaussian,
  discreteLaplace,
  gridFor,
  rationalEpsilon,
  toGrid,
  truthfulAnswer,
  type Grid,
  type RandomSource,
  type RationalEpsilon,
} from "./dp-noise";

export interface NoiseOptions {
  epsilon: number;
  sensitivity: number;
  min?: number;
  max?: number;
  decimals?: number;
  /** The named privacy budget each release spends from ("" or absent: none). */
  budget?: string;
}

export interface GaussianOptions extends NoiseOptions {
  delta: number;
}

export interface GeometricOptions {
  epsilon: number;
  /** An integer: how much one person can change the count. */
  sensitivity: number;
  min?: number;
  max?: number;
  budget?: string;
}

export interface RandomizedResponseOptions {
  epsilon: number;
  budget?: string;
}

/** A compiled noise rule: what one release costs and how it is made. */
export interface Mechanism {
  readonly epsilon: number;
  readonly delta: number;
  apply(value: unknown, src: RandomSource): unknown;
}

function finiteNumber(op: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new OperatorTypeError(`${op} expects a finite number, got ${typeName(value)}`);
  }
  return value;
}

function post(out: number, o: { min?: number; max?: number; decimals?: number }): number {
  let v = out;
  if (o.decimals !== undefined) v = round(v, o.decimals);
  if (o.min !== undefined) v = Math.max(o.min, v);
  if (o.max !== undefined) v = Math.min(o.max, v);
  return v;
}

/** value on the grid + integer noise, back to a number: depends on the value only through its grid point. */
function onGrid(op: string, value: number, grid: Grid, noise: () => number): number {
  const k = toGrid(value, grid.step);
  if (k === undefined) throw new OperatorTypeError(`${op}: the value is too large for its sensitivity`);
  const n = k + noise();
  if (!Number.isSafeInteger(n)) throw new OperatorTypeError(`${op}: the value is too large for its sensitivity`);
  return n * grid.step;
}

export class LaplaceMechanism implements Mechanism {
  readonly epsilon: number;
  readonly delta = 0;
  private readonly grid: Grid;
  private readonly eps: RationalEpsilon;
  private readonly t: number;

  constructor(private readonly o: NoiseOptions) {
    this.epsilon = o.epsilon;
    this.grid = gridFor(o.sensitivity, 1024);
    this.eps = rationalEpsilon(o.epsilon);
    // P(z) ~ exp(-|z| * eps / d) with d the sensitivity in grid steps: num / (d * den)
    this.t = this.grid.sensitivity * this.eps.den;
  }

  apply(value: unknown, src: RandomSource): number {
    const x = finiteNumber("noise", value);
    return post(
      onGrid("noise", x, this.grid, () => discreteLaplace(src, this.eps.num, this.t)),
      this.o,
    );
  }
}

export class GaussianMechanism implements Mechanism {
  readonly epsilon: number;
  readonly delta: number;
  private readonly grid: Grid;
  /** sigma in grid steps. */
  readonly sigma: number;

  constructor(private readonly o: GaussianOptions) {
    this.epsilon = o.epsilon;
    this.delta = o.delta;
    this.grid = gridFor(o.sensitivity, 64);
    this.sigma = calibrateGaussian(this.grid.sensitivity, o.epsilon, o.delta);
  }

  /** The standard deviation in the value's own units. */
  get sigmaValue(): number {
    return this.sigma * this.grid.step;
  }

  apply(value: unknown, src: RandomSource): number {
    const x = finiteNumber("gaussian", value);
    return post(
      onGrid("gaussian", x, this.grid, () => discreteGaussian(src, this.sigma)),
      this.o,
    );
  }
}

export class GeometricMechanism implements Mechanism {
  readonly epsilon: number;
  readonly delta = 0;
  private readonly eps: RationalEpsilon;
  private readonly t: number;

  constructor(private readonly o: GeometricOptions) {
    this.epsilon = o.epsilon;
    this.eps = rationalEpsilon(o.epsilon);
    this.t = o.sensitivity * this.eps.den;
  }

  apply(value: unknown, src: RandomSource): number {
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      const got = typeof value === "number" ? "a fraction" : typeName(value);
      throw new OperatorTypeError(`geometric expects an integer, got ${got}`);
    }
    const out = value + discreteLaplace(src, this.eps.num, this.t);
    if (!Number.isSafeInteger(out)) throw new OperatorTypeError("geometric: the value is too large");
    return post(out, this.o);
  }
}

export class RandomizedResponse implements Mechanism {
  readonly epsilon: number;
  readonly delta = 0;
  private readonly eps: RationalEpsilon;

  constructor(o: RandomizedResponseOptions) {
    this.epsilon = o.epsilon;
    this.eps = rationalEpsilon(o.epsilon);
  }

  /** true/false, or 1/0 (kept as a number). */
  apply(value: unknown, src: RandomSource): boolean | number {
    if (typeof value !== "boolean" && value !== 0 && value !== 1) {
      throw new OperatorTypeError(`randomizedResponse expects true/false or 1/0, got ${typeName(value)}`);
    }
    if (truthfulAnswer(src, this.eps)) return value;
    return typeof value === "boolean" ? !value : 1 - value;
  }
}

/** The probability that randomized response keeps the true answer. */
export function truthProbability(epsilon: number): number {
  return 1 / (1 + Math.exp(-epsilon));
}
