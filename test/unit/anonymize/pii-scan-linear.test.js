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

/** ms per call: the best of `runs` runs, each long enough (16 KiB or more) to time. */
function cost(text, runs) {
  const reps = Math.max(1, 16384 / text.length);
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) scanAndReplace(text);
    best = Math.min(best, (performance.now() - t0) / reps);
  }
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
        let costs = texts.map((text) => cost(text, 1));
        if (Math.max(...growth(costs)) >= BOUND) {
          // one run is at the mercy of the other engineers' jobs: more runs, best of each size
          const again = texts.map((text) => cost(text, 7));
          costs = costs.map((c, s) => Math.min(c, again[s]));
        }
        const g = growth(costs);
        if (Math.max(...g) >= BOUND) slow.push(`${f.name}: x${g.map((x) => x.toFixed(1)).join(", x")} (${costs.map((c) => c.toFixed(2)).join(" / ")} ms)`);
      }
      assert.deepEqual(slow, [], "cost grew faster than the text");
    });
  }
});
