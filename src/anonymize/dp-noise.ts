/**
 * Differential-privacy noise that is exact on a computer: every mechanism here works on
 * integers, so no output carries the low-order bits of a floating-point computation
 * (Mironov 2012 recovered inputs from those bits of textbook floating-point Laplace).
 *
 * - discreteLaplace and discreteGaussian are the exact samplers of Canonne, Kamath and
 *   Steinke, "The Discrete Gaussian for Differential Privacy" (2020), Algorithms 1-3:
 *   they use only uniform integers and Bernoulli(exp(-n/d)) draws with integer n, d.
 * - A real value is first rounded to a grid whose step is a power of two (an exact
 *   division), noise is added in grid units, and the result is the integer times the
 *   step: the output depends on the input only through that integer.
 * - Random bits come from a RandomSource: the node always uses the operating system's
 *   CSPRNG; the statistical tests inject a seeded one through an internal option.
 */
import { createCipheriv, createHash, randomFillSync } from "node:crypto";

/** Uniform random words. */
export interface RandomSource {
  /** A uniform integer in [0, 2^32). */
  next32(): number;
}

const TWO32 = 2 ** 32;
const TWO53 = 2 ** 53;

/** A uniform integer in [0, 2^53). */
function next53(src: RandomSource): number {
  return (src.next32() >>> 11) * TWO32 + src.next32();
}

/** Words from a pool refilled from a byte generator (one fill per 1024 words). */
abstract class PooledSource implements RandomSource {
  private readonly pool = new Uint32Array(1024);
  private readonly bytes = new Uint8Array(this.pool.buffer);
  private offset = this.pool.length;

  protected abstract fill(pool: Uint8Array): void;

  next32(): number {
    if (this.offset === this.pool.length) {
      this.fill(this.bytes);
      this.offset = 0;
    }
    return this.pool[this.offset++];
  }
}

/** The operating system's CSPRNG (node:crypto randomFillSync). */
export class CsprngSource extends PooledSource {
  protected fill(pool: Uint8Array): void {
    randomFillSync(pool);
  }
}

/**
 * A deterministic stream (AES-256-CTR keystream under SHA-256(seed)) for tests that must
 * repeat. Never used by a node: the schema has no option that reaches it.
 */
export class SeededSource extends PooledSource {
  private readonly cipher;
  private readonly zeros = Buffer.alloc(4096);

  constructor(seed: string | number) {
    super();
    const key = createHash("sha256").update(String(seed)).digest();
    this.cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  }

  protected fill(pool: Uint8Array): void {
    pool.set(this.cipher.update(this.zeros));
  }
}

export const csprng: RandomSource = new CsprngSource();

/** Uniform in [0, n) for an integer 1 <= n <= 2^53, by rejection (no modulo bias). */
export function uniformBelow(src: RandomSource, n: number): number {
  if (n <= TWO32 && n >= 1 && Number.isInteger(n)) {
    // one word: most draws (a uniform below the sensitivity's grid, a Bernoulli of small odds)
    const limit = TWO32 - (TWO32 % n);
    for (;;) {
      const r = src.next32();
      if (r < limit) return r % n;
    }
  }
  if (!(n <= TWO53 && n >= 1 && Number.isInteger(n))) {
    throw new RangeError("uniformBelow: n must be an integer in [1, 2^53]");
  }
  const limit = TWO53 - (TWO53 % n);
  for (;;) {
    const r = next53(src);
    if (r < limit) return r % n;
  }
}

/** Uniform in [0, n) for any positive bigint n. */
function uniformBelowBig(src: RandomSource, n: bigint): bigint {
  let chunks = 1;
  while (1n << BigInt(53 * chunks) < n) chunks++;
  const range = 1n << BigInt(53 * chunks);
  const limit = range - (range % n);
  for (;;) {
    let r = 0n;
    for (let i = 0; i < chunks; i++) r = (r << 53n) | BigInt(next53(src));
    if (r < limit) return r % n;
  }
}

/** Bernoulli(num / den), 0 <= num <= den. */
function bernoulli(src: RandomSource, num: number | bigint, den: number | bigint): boolean {
  if (num >= den) return true; // certain: no draw needed
  if (num <= 0) return false;
  if (typeof num === "number" && typeof den === "number" && den <= TWO53) return uniformBelow(src, den) < num;
  return uniformBelowBig(src, BigInt(den)) < BigInt(num);
}

/** Bernoulli(exp(-num/den)) for 0 <= num <= den (CKS Algorithm 1, first part). */
function bernoulliExpFraction(src: RandomSource, num: number | bigint, den: number | bigint): boolean {
  let k = 1;
  for (;;) {
    const d = typeof den === "number" && den * k <= TWO53 ? den * k : BigInt(den) * BigInt(k);
    if (!bernoulli(src, num, d)) break;
    k++;
  }
  return k % 2 === 1;
}

/** Bernoulli(exp(-num/den)) for num >= 0, den > 0 integers (CKS Algorithm 1). */
export function bernoulliExp(src: RandomSource, num: number | bigint, den: number | bigint): boolean {
  if (typeof num === "number" && typeof den === "number" && Number.isSafeInteger(num) && Number.isSafeInteger(den)) {
    const whole = Math.floor(num / den);
    for (let i = 0; i < whole; i++) if (!bernoulliExpFraction(src, 1, 1)) return false;
    return bernoulliExpFraction(src, num - whole * den, den);
  }
  const n = BigInt(num);
  const d = BigInt(den);
  const whole = n / d;
  for (let i = 0n; i < whole; i++) if (!bernoulliExpFraction(src, 1, 1)) return false;
  return bernoulliExpFraction(src, n - whole * d, d);
}

/**
 * The discrete Laplace distribution: P(y) proportional to exp(-|y| * s / t), for
 * integers s, t >= 1 (CKS Algorithm 2).
 */
export function discreteLaplace(src: RandomSource, s: number, t: number): number {
  for (;;) {
    const u = uniformBelow(src, t);
    if (!bernoulliExp(src, u, t)) continue;
    let v = 0;
    while (bernoulliExpFraction(src, 1, 1)) v++;
    const y = Math.floor((u + t * v) / s);
    const negative = (src.next32() & 1) === 1;
    if (negative && y === 0) continue;
    return negative ? -y : y;
  }
}

/**
 * The discrete Gaussian: P(y) proportional to exp(-y^2 / (2 sigma^2)), for an integer
 * sigma >= 1 (CKS Algorithm 3 with sigma^2 an integer, so t = sigma + 1).
 */
export function discreteGaussian(src: RandomSource, sigma: number): number {
  const s2 = sigma * sigma;
  const t = sigma + 1;
  const den = 2 * s2 * t * t;
  for (;;) {
    const y = discreteLaplace(src, 1, t);
    const a = Math.abs(y) * t - s2;
    const num = a * a;
    // past 2^53 (a large sigma, or a far tail) the same fraction in bigints
    const accept =
      Number.isSafeInteger(num) && Number.isSafeInteger(den)
        ? bernoulliExp(src, num, den)
        : bernoulliExp(src, BigInt(a) * BigInt(a), 2n * BigInt(s2) * BigInt(t) * BigInt(t));
    if (accept) return y;
  }
}

/** Bernoulli(e^eps / (1 + e^eps)): true means "answer truthfully" (randomized response). */
export function truthfulAnswer(src: RandomSource, eps: RationalEpsilon): boolean {
  // P(truth) : P(lie) = 1/2 : 1/2 * exp(-eps), by rejection
  for (;;) {
    if ((src.next32() & 1) === 0) return true;
    if (bernoulliExp(src, eps.num, eps.den)) return false;
  }
}

// ---------------------------------------------------------------- parameters
/** epsilon as an exact fraction num / 2^20, rounded down: the mechanism is at least as private as asked. */
export interface RationalEpsilon {
  num: number;
  den: number;
}

export const EPSILON_DENOMINATOR = 2 ** 20;

export function rationalEpsilon(epsilon: number): RationalEpsilon {
  const num = Math.floor(epsilon * EPSILON_DENOMINATOR);
  if (!(num >= 1) || !Number.isSafeInteger(num)) throw new RangeError("epsilon must be between 2^-20 and 2^32");
  return { num, den: EPSILON_DENOMINATOR };
}

/** A grid step 2^e with `steps` or more steps per `sensitivity` (fewer than 2 * steps). */
export interface Grid {
  step: number;
  /** ceil(sensitivity / step): how far one person can move the value, in steps. */
  sensitivity: number;
}

export function gridFor(sensitivity: number, stepsPerSensitivity: number): Grid {
  const step = 2 ** (Math.floor(Math.log2(sensitivity)) - Math.log2(stepsPerSensitivity));
  return { step, sensitivity: Math.ceil(sensitivity / step) };
}

/**
 * round(value / step): exact, since step is a power of two. Undefined when the value does
 * not fit the grid as a safe integer (too large for the sensitivity).
 */
export function toGrid(value: number, step: number): number | undefined {
  const k = Math.round(value / step);
  return Number.isSafeInteger(k) ? k : undefined;
}

// ---------------------------------------------------------------- Gaussian calibration
/**
 * delta(epsilon) of y -> y + N_Z(0, sigma^2) for integer queries of sensitivity d (CKS
 * Theorem 7): P[Y > eps sigma^2 / d - d / 2] - e^eps P[Y > eps sigma^2 / d + d / 2].
 */
export function discreteGaussianDelta(sigma: number, d: number, epsilon: number): number {
  const s2 = sigma * sigma;
  const norm = sigma >= 4 ? sigma * Math.sqrt(2 * Math.PI) : gaussianSum(sigma, -Math.ceil(40 * sigma) - 1);
  const tail = (a: number): number => {
    const y0 = Math.floor(a) + 1;
    // P[Y > a] for a below zero: 1 - P[Y >= y0 ... ] by symmetry, P[Y <= a] = P[Y >= -floor(a)]
    if (y0 <= 0) return 1 - gaussianSum(sigma, -Math.floor(a)) / norm;
    return gaussianSum(sigma, y0) / norm;
  };
  const e = epsilon * s2;
  return tail(e / d - d / 2) - Math.exp(epsilon) * tail(e / d + d / 2);
}

/** Sum of exp(-y^2 / (2 sigma^2)) over integers y >= from. */
function gaussianSum(sigma: number, from: number): number {
  const twoS2 = 2 * sigma * sigma;
  let sum = 0;
  // below zero the terms grow: sum them all up to 0, then the decreasing half
  let y = from;
  for (; y < 0; y++) sum += Math.exp(-(y * y) / twoS2);
  for (; ; y++) {
    const term = Math.exp(-(y * y) / twoS2);
    sum += term;
    if (term < sum * 1e-20 || term === 0) break;
  }
  return sum;
}

const calibrated = new Map<string, number>();

/**
 * The smallest integer sigma (in grid steps) whose discrete Gaussian gives (epsilon, delta) at
 * sensitivity d. Cached: the editor's preview builds an engine at every keystroke, and small
 * epsilons and deltas take tens of milliseconds to calibrate.
 */
export function calibrateGaussian(d: number, epsilon: number, delta: number): number {
  const key = `${d}/${epsilon}/${delta}`;
  let sigma = calibrated.get(key);
  if (sigma === undefined) {
    sigma = searchSigma(d, epsilon, delta);
    if (calibrated.size >= 256) calibrated.clear();
    calibrated.set(key, sigma);
  }
  return sigma;
}

function searchSigma(d: number, epsilon: number, delta: number): number {
  let hi = 1;
  while (discreteGaussianDelta(hi, d, epsilon) > delta) {
    hi *= 2;
    if (hi > 2 ** 24) throw new RangeError("epsilon and delta are too small for Gaussian noise at this sensitivity");
  }
  let lo = Math.floor(hi / 2);
  if (lo < 1) return hi;
  // invariant: hi meets delta, lo does not (or lo is 0)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (discreteGaussianDelta(mid, d, epsilon) <= delta) hi = mid;
    else lo = mid;
  }
  return hi;
}
