"use strict";
// Statistical tests of the noise operators with fixed seeds and enough samples: every
// sample set is compared with the distribution's textbook definition, computed here and
// not by the code under test (chi-squared or Kolmogorov-Smirnov at the 0.01 level).
const assert = require("node:assert/strict");
const dp = require("../../../dist/anonymize/dp-noise.js");
const noise = require("../../../dist/anonymize/noise-ops.js");
const { Anonymizer, anonymizeSchema } = require("../../../dist/anonymize/anonymize.js");
const { validateConfig } = require("../../../dist/core/validation.js");

const Z99 = 2.5758; // two-sided 0.01
const Z99_ONE = 2.3263; // one-sided 0.01

/** Upper 0.01 point of chi-squared with df degrees of freedom (Wilson-Hilferty). */
function chi2Critical(df) {
  const a = 2 / (9 * df);
  return df * (1 - a + Z99_ONE * Math.sqrt(a)) ** 3;
}

/**
 * Chi-squared of integer samples against a pmf over integers: bins with an expected count
 * of 5 or more, the rest pooled into the two tails.
 */
function chi2(samples, pmf, lo, hi) {
  const n = samples.length;
  const counts = new Map();
  for (const x of samples) counts.set(x, (counts.get(x) || 0) + 1);
  const bins = [];
  let below = 0;
  let above = 0;
  let pBelow = 0;
  let inside = 0;
  for (let y = lo; y <= hi; y++) {
    const p = pmf(y);
    inside += p;
    bins.push({ o: counts.get(y) || 0, e: n * p });
  }
  for (const [x, c] of counts) {
    if (x < lo) below += c;
    if (x > hi) above += c;
  }
  // the tails' probability: what the bins inside do not hold, split by the pmf's symmetry or sums
  for (let y = lo - 1; y > lo - 10000; y--) pBelow += pmf(y);
  const pAbove = Math.max(0, 1 - inside - pBelow);
  bins.push({ o: below, e: n * pBelow }, { o: above, e: n * pAbove });
  const merged = [];
  let acc = { o: 0, e: 0 };
  for (const b of bins) {
    acc = { o: acc.o + b.o, e: acc.e + b.e };
    if (acc.e >= 5) {
      merged.push(acc);
      acc = { o: 0, e: 0 };
    }
  }
  if (acc.e > 0 && merged.length) merged[merged.length - 1] = { o: merged[merged.length - 1].o + acc.o, e: merged[merged.length - 1].e + acc.e };
  const stat = merged.reduce((s, b) => s + (b.o - b.e) ** 2 / b.e, 0);
  return { stat, df: merged.length - 1, critical: chi2Critical(merged.length - 1) };
}

/** Kolmogorov-Smirnov distance of samples from a continuous cdf, with the 0.01 critical value. */
function ks(samples, cdf) {
  const xs = [...samples].sort((a, b) => a - b);
  const n = xs.length;
  let d = 0;
  xs.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, Math.abs(f - i / n), Math.abs((i + 1) / n - f));
  });
  return { d, critical: 1.6276 / Math.sqrt(n) };
}

/** Standard normal cdf (Abramowitz-Stegun 7.1.26 erf, error < 1.5e-7: far below the KS tolerance). */
function phi(x) {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Discrete Laplace pmf with P(y) ~ q^|y|. */
const dlapPmf = (q) => (y) => ((1 - q) / (1 + q)) * q ** Math.abs(y);

/** Discrete Gaussian pmf with integer sigma, normalized by direct summation. */
function dgaussPmf(sigma) {
  let z = 0;
  for (let y = -60 * sigma; y <= 60 * sigma; y++) z += Math.exp(-(y * y) / (2 * sigma * sigma));
  return (y) => Math.exp(-(y * y) / (2 * sigma * sigma)) / z;
}

const draw = (n, f) => Array.from({ length: n }, f);

describe("noise: distributions match their definitions (seeded, 0.01 level)", function () {
  this.timeout(120000);

  it("Bernoulli(exp(-n/d)) hits its rate, below 1, above 1 and through big integers", () => {
    const src = new dp.SeededSource("bern");
    for (const [num, den] of [[1, 3], [1, 1], [7, 2], [0, 5], [2n ** 70n, 2n ** 70n * 3n]]) {
      const n = 40000;
      const p = Math.exp(-Number(num) / Number(den));
      const hits = draw(n, () => dp.bernoulliExp(src, num, den)).filter(Boolean).length;
      assert.ok(Math.abs(hits / n - p) <= Z99 * Math.sqrt((p * (1 - p)) / n) + 1e-12, `${num}/${den}: ${hits / n} vs ${p}`);
    }
  });

  it("uniform integers have no modulo bias (chi-squared), one word and two", () => {
    const src = new dp.SeededSource("uniform");
    for (const m of [7, 2 ** 40 + 3]) {
      const n = 70000;
      const k = 7;
      const xs = draw(n, () => dp.uniformBelow(src, m) % k);
      const uniform = m === 7 ? () => 1 / 7 : () => 1 / 7; // 2^40+3 = 3 mod 7: the bias would be 4/2^40
      const r = chi2(xs, (y) => (y >= 0 && y < k ? uniform(y) : 0), 0, k - 1);
      assert.ok(r.stat < r.critical, `m=${m}: chi2 ${r.stat} >= ${r.critical}`);
    }
  });

  it("discrete Laplace sampler: P(y) ~ exp(-|y| s/t) (chi-squared)", () => {
    const src = new dp.SeededSource("dlap");
    for (const [s, t] of [[1, 3], [2, 1], [3, 50]]) {
      const q = Math.exp(-s / t);
      const xs = draw(50000, () => dp.discreteLaplace(src, s, t));
      const r = chi2(xs, dlapPmf(q), -Math.ceil(8 * (t / s)), Math.ceil(8 * (t / s)));
      assert.ok(r.stat < r.critical, `s=${s} t=${t}: chi2 ${r.stat.toFixed(1)} >= ${r.critical.toFixed(1)} (df ${r.df})`);
    }
  });

  it("discrete Gaussian sampler: P(y) ~ exp(-y^2 / 2 sigma^2) (chi-squared)", () => {
    const src = new dp.SeededSource("dgauss");
    for (const sigma of [1, 3, 12]) {
      const xs = draw(50000, () => dp.discreteGaussian(src, sigma));
      const r = chi2(xs, dgaussPmf(sigma), -5 * sigma, 5 * sigma);
      assert.ok(r.stat < r.critical, `sigma=${sigma}: chi2 ${r.stat.toFixed(1)} >= ${r.critical.toFixed(1)}`);
    }
  });

  it("geometric (counts): value + discrete Laplace with q = exp(-epsilon/sensitivity), integers only", () => {
    const src = new dp.SeededSource("geometric");
    for (const [epsilon, sensitivity] of [[0.5, 1], [1, 2], [2, 1]]) {
      const m = new noise.GeometricMechanism({ epsilon, sensitivity });
      const xs = draw(50000, () => m.apply(40, src) - 40);
      assert.ok(xs.every(Number.isInteger));
      const q = Math.exp(-epsilon / sensitivity);
      const r = chi2(xs, dlapPmf(q), -40, 40);
      assert.ok(r.stat < r.critical, `eps=${epsilon}: chi2 ${r.stat.toFixed(1)} >= ${r.critical.toFixed(1)}`);
    }
    const m = new noise.GeometricMechanism({ epsilon: 1, sensitivity: 1, min: 0 });
    assert.ok(draw(2000, () => m.apply(0, src)).every((x) => x >= 0), "clamped after noising");
    assert.throws(() => m.apply(2.5, src), /geometric expects an integer, got a fraction/);
    assert.throws(() => m.apply("3", src), /got string/);
  });

  it("noise (Laplace): matches Laplace(sensitivity/epsilon) (Kolmogorov-Smirnov), on a power-of-two grid", () => {
    const src = new dp.SeededSource("laplace");
    for (const [epsilon, sensitivity] of [[0.5, 2], [1, 1], [3, 0.3]]) {
      const m = new noise.LaplaceMechanism({ epsilon, sensitivity });
      const b = sensitivity / epsilon;
      const xs = draw(30000, () => m.apply(21.5, src) - 21.5);
      const r = ks(xs, (x) => (x < 0 ? 0.5 * Math.exp(x / b) : 1 - 0.5 * Math.exp(-x / b)));
      assert.ok(r.d < r.critical, `eps=${epsilon}: KS ${r.d} >= ${r.critical}`);
      // the output is an integer number of grid steps: no low-order bits of the input survive
      const step = 2 ** (Math.floor(Math.log2(sensitivity)) - 10);
      assert.ok(draw(200, () => m.apply(21.5 + 1e-13, src)).every((x) => Number.isInteger(x / step)));
    }
  });

  it("noise outputs depend on the input only through its grid point (the floating-point attack has nothing to read)", () => {
    const m = new noise.LaplaceMechanism({ epsilon: 1, sensitivity: 1 });
    // two inputs on the same grid point give the same output for the same random draws
    const a = draw(500, (_, i) => m.apply(10, new dp.SeededSource(`same-${i}`)));
    const b = draw(500, (_, i) => m.apply(10 + 2 ** -14, new dp.SeededSource(`same-${i}`)));
    assert.deepEqual(a, b);
  });

  it("gaussian: matches N(0, sigma) (Kolmogorov-Smirnov), sigma is the smallest whose delta(epsilon) meets delta", () => {
    const src = new dp.SeededSource("gaussian");
    for (const [epsilon, delta, sensitivity] of [[1, 1e-5, 1], [0.5, 1e-6, 4], [2, 1e-3, 0.5]]) {
      const m = new noise.GaussianMechanism({ epsilon, delta, sensitivity });
      const sd = m.sigmaValue;
      const xs = draw(30000, () => m.apply(0, src));
      const r = ks(xs, (x) => phi(x / sd));
      assert.ok(r.d < r.critical, `(${epsilon}, ${delta}): KS ${r.d} >= ${r.critical}`);
      // at most the classical bound (valid for epsilon < 1), and not absurdly below the sensitivity
      if (epsilon < 1) assert.ok(sd <= (sensitivity * Math.sqrt(2 * Math.log(1.25 / delta))) / epsilon * 1.02, `sigma ${sd}`);
    }
  });

  it("gaussian calibration: delta by brute force over the pmf, for every shift up to the sensitivity, meets delta; sigma - 1 does not", () => {
    for (const [d, epsilon, delta] of [[3, 1, 1e-3], [5, 0.5, 1e-4], [2, 2, 1e-5]]) {
      const sigma = dp.calibrateGaussian(d, epsilon, delta);
      const brute = (s, shift) => {
        const pmf = dgaussPmf(s);
        let sum = 0;
        for (let y = -60 * s; y <= 60 * s; y++) sum += Math.max(0, pmf(y) - Math.exp(epsilon) * pmf(y - shift));
        return sum;
      };
      for (let shift = 1; shift <= d; shift++) assert.ok(brute(sigma, shift) <= delta * (1 + 1e-9), `shift ${shift}: ${brute(sigma, shift)} > ${delta}`);
      assert.ok(brute(sigma - 1, d) > delta, "sigma is the smallest");
      assert.ok(Math.abs(dp.discreteGaussianDelta(sigma, d, epsilon) - brute(sigma, d)) < 1e-12, "the closed form equals the brute force");
    }
  });

  it("randomized response keeps the true answer with probability e^eps / (1 + e^eps), for true, false, 1 and 0", () => {
    const src = new dp.SeededSource("rr");
    for (const epsilon of [0.25, 1, 3]) {
      const m = new noise.RandomizedResponse({ epsilon });
      const p = Math.exp(epsilon) / (1 + Math.exp(epsilon));
      for (const truth of [true, false, 1, 0]) {
        const n = 20000;
        const outs = draw(n, () => m.apply(truth, src));
        assert.ok(outs.every((o) => typeof o === typeof truth));
        const kept = outs.filter((o) => o === truth).length / n;
        assert.ok(Math.abs(kept - p) <= Z99 * Math.sqrt((p * (1 - p)) / n), `eps=${epsilon} ${truth}: ${kept} vs ${p}`);
      }
    }
    assert.throws(() => new noise.RandomizedResponse({ epsilon: 1 }).apply("yes", src), /true\/false or 1\/0/);
  });

  it("an engine uses the CSPRNG unless a source is injected; an injected seed repeats", () => {
    const config = validateConfig(anonymizeSchema, { rules: [{ path: "v", op: "gaussian", epsilon: 1, delta: 1e-5 }] }).value;
    const seeded = () => new Anonymizer(config, undefined, { random: new dp.SeededSource(7) });
    const a = seeded().run({ v: 1 }).value.v;
    assert.equal(seeded().run({ v: 1 }).value.v, a);
    const live = new Anonymizer(config);
    const outs = new Set(draw(20, () => live.run({ v: 1 }).value.v));
    assert.ok(outs.size > 10, "the CSPRNG does not repeat");
  });
});
