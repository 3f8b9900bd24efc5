"use strict";
const assert = require("node:assert/strict");
const { performance } = require("node:perf_hooks");
const { scanText, replaceEntities, ENTITY_TYPES, ENTITY_TAGS } = require("../../../dist/anonymize/pii-scan.js");
const { families, FINDINGS } = require("../../fixtures/pii-adversarial.js");

// Cost must grow like the text: 4x the text, 4x the time. Quadratic work shows as 16x.
// The bound sits between the two, well clear of both, because this machine is shared:
// only ratios of best-of-several timings are compared, never a time against a clock.
const SIZES = [4096, 16384, 65536];
const BOUND = 8;

/** What the scan operator does with a text: every type, then the replacement. */
function scanAndReplace(text) {
  return replaceEntities(text, scanText(text), (e) => ENTITY_TAGS[e.type]);
}

/** ms of the fastest of the calls that read `bytes` in all: one clean call is enough. */
function cost(text, bytes) {
  let best = Infinity;
  for (let i = Math.max(1, bytes / text.length); i > 0; i--) {
    const t0 = performance.now();
    scanAndReplace(text);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/**
 * The best cost of each text over `rounds` rounds; a round times every size in turn, so
 * a pause of the machine (or of the JIT) lands on one round, not on one size.
 */
function costs(texts, rounds, bytes, best = texts.map(() => Infinity)) {
  for (let r = 0; r < rounds; r++) texts.forEach((text, s) => (best[s] = Math.min(best[s], cost(text, bytes))));
  return best;
}

const growth = (costs) => costs.slice(1).map((c, i) => c / costs[i]);

describe("lib/pii-scan runs in time linear in the text", function () {
  // the review's inputs took up to 175 s each before; a hang fails here too
  this.timeout(180000);
  const all = families();

  it("builds the adversarial texts at every size, for every detector, with the review's inputs as reported", () => {
    for (const f of all) for (const size of SIZES) assert.equal(f.make(size).length, size, f.name);
    for (const type of ENTITY_TYPES) assert.ok(all.filter((f) => f.type === type).length >= 20, type);
    const at64k = Object.fromEntries(Object.entries(FINDINGS).map(([name, make]) => [name, make(65536)]));
    assert.equal(at64k['"http://a" + ")" repeated'], "http://a" + ")".repeat(65528));
    assert.equal(at64k['"g" + ":" repeated'], "g" + ":".repeat(65535));
    assert.equal(at64k['"1 " repeated'], "1 ".repeat(32768));
    assert.ok(at64k['"lat=1", spaces, "x"'].startsWith("lat=1   ") && at64k['"lat=1", spaces, "x"'].endsWith(" x"));
    assert.ok(at64k['"1.11", spaces, "x"'].startsWith("1.11   ") && at64k['"1.11", spaces, "x"'].endsWith(" x"));
  });

  const types = [...new Set(all.map((f) => f.type))];
  for (const type of types) {
    const mine = all.filter((f) => f.type === type);
    it(`${type}: ${mine.length} adversarial families cost at most linearly more from 4 to 16 to 64 KiB`, () => {
      const slow = [];
      for (const f of mine) {
        const texts = SIZES.map((size) => f.make(size));
        let best = costs(texts, 1, 16384);
        // one round is at the mercy of the other engineers' jobs: more, and longer, rounds
        for (let rounds = 8; Math.max(...growth(best)) >= BOUND && rounds <= 32; rounds *= 2) best = costs(texts, rounds, 65536, best);
        const g = growth(best);
        if (Math.max(...g) >= BOUND) slow.push(`${f.name}: x${g.map((x) => x.toFixed(1)).join(", x")} (${best.map((c) => c.toFixed(3)).join(" / ")} ms)`);
      }
      assert.deepEqual(slow, [], "cost grew faster than the text");
    });
  }
});
