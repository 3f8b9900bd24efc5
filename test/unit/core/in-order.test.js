"use strict";
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { InOrder, inSlices, whenReady } = require("../../../dist/core/in-order");
const { planTransform, planTransformInSlices, FieldError } = require("../../../dist/encryption/message-crypto");
const { parsePath } = require("../../../dist/core/paths");

const turn = () => new Promise((r) => setImmediate(r));

describe("core/in-order", () => {
  it("InOrder runs work at once while idle and gives back its value or its throw as they are", () => {
    const order = new InOrder();
    assert.equal(order.run(() => 7), 7);
    assert.throws(() => order.run(() => {
      throw new Error("boom");
    }), /boom/);
    assert.equal(order.busy, false);
  });

  it("InOrder runs work that came during a long one after it, in order, and goes on after a failure", async () => {
    const order = new InOrder();
    const log = [];
    let release;
    const first = order.run(() => new Promise((r) => (release = r)).then(() => log.push("first")));
    const second = order.run(() => {
      log.push("second");
      throw new Error("second fails");
    });
    const third = order.run(() => log.push("third"));
    assert.ok(order.busy);
    assert.deepEqual(log, [], "nothing ran ahead of the first");
    release();
    await first;
    await assert.rejects(second, /second fails/);
    await third;
    assert.deepEqual(log, ["first", "second", "third"]);
    await turn();
    assert.equal(order.busy, false);
    assert.equal(order.run(() => "sync again"), "sync again");
  });

  it("inSlices does everything synchronously when it fits into one slice", () => {
    const seen = [];
    assert.equal(inSlices(100, (i) => seen.push(i)), undefined);
    assert.equal(seen.length, 100);
  });

  it("inSlices gives the event loop a turn between slices, and stops at a throw or when told", async () => {
    let clock = 0;
    const now = () => clock;
    const seen = [];
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    try {
      const p = inSlices(200, (i) => {
        clock += 1; // each step takes 1 ms
        seen.push(i);
      }, { sliceMs: 10, now });
      assert.ok(p instanceof Promise, "more than a slice: finishes later");
      assert.ok(seen.length >= 10 && seen.length <= 32, `the first slice stops after about 10 ms (${seen.length} steps)`);
      await p;
      assert.equal(seen.length, 200);
      assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
    } finally {
      clearInterval(ticker);
    }
    clock = 0;
    await assert.rejects(
      inSlices(100, (i) => {
        clock += 1;
        if (i === 50) throw new Error("step 50");
      }, { sliceMs: 5, now }),
      /step 50/,
    );
    clock = 0;
    let stop;
    const steps = [];
    await assert.rejects(
      inSlices(100, (i) => {
        clock += 1;
        steps.push(i);
        if (i === 20) stop = "closed";
      }, { sliceMs: 5, now, stopped: () => stop }),
      /closed/,
    );
    assert.ok(steps.length < 100, "no slice after it was told to stop");
  });

  it("whenReady calls on at once for a value, after the promise for a promise", async () => {
    assert.equal(whenReady(2, (x) => x * 3), 6);
    assert.equal(await whenReady(Promise.resolve(2), (x) => x * 3), 6);
  });

  it("planTransformInSlices plans what planTransform plans, a slice at a time, and leaves a failing message untouched", async () => {
    const targets = { property: parsePath("payload"), fields: [parsePath("payload[*]"), parsePath("topic")] };
    const upper = (v) => String(v).toUpperCase();
    const values = Array.from({ length: 50000 }, (_, i) => `v${i}`);
    const a = { payload: [...values], topic: "t" };
    const b = { payload: [...values], topic: "t" };
    planTransform(a, targets, upper).apply();
    const planned = planTransformInSlices(b, targets, (v) => {
      crypto.createHash("sha256").update(String(v)).digest(); // some work per value
      return upper(v);
    }, { sliceMs: 2 });
    assert.ok(planned instanceof Promise, "50,000 values do not fit into a 2 ms slice");
    assert.deepEqual(b.payload, values, "nothing is written before every value is done");
    (await planned).apply();
    assert.deepEqual(b, a);

    const c = { payload: [...values.slice(0, 30000), { bad: true }], topic: "t" };
    const before = structuredClone(c);
    const failing = planTransformInSlices(c, targets, (v) => {
      if (typeof v !== "string") throw new Error("not a string");
      return upper(v);
    }, { sliceMs: 2 });
    // The error names the configured path, never the index or key a `*` found (it can be data).
    await assert.rejects(failing, (e) => e instanceof FieldError && /msg\.payload\[\*\]: not a string/.test(e.message));
    assert.deepEqual(c, before);
  });
});

describe("encryption/message-crypto: eachMatch walks a path lazily", () => {
  const { eachMatch } = require("../../../dist/encryption/message-crypto");
  const { findMatches } = require("../../../dist/core/paths");
  const fc = require("fast-check");
  const H = require("../../runtime/hostile/harness");

  it("gives exactly the matches findMatches gives, in its order, for paths from the grammar over hostile data", () => {
    const caseArb = fc.array(H.segment, { minLength: 1, maxLength: 4 }).chain((segs) =>
      fc.record({ segs: fc.constant(segs), data: fc.oneof(H.instantiateArb(segs, { wildKeys: H.hostileKey }), H.tree({ maxDepth: 3 })) }),
    );
    fc.assert(
      fc.property(caseArb, ({ segs, data }) => {
        const path = parsePath(H.pathText(segs));
        const lazy = [...eachMatch(data, path)];
        const eager = findMatches(data, path);
        assert.equal(lazy.length, eager.length);
        lazy.forEach((m, i) => {
          assert.equal(m.parent, eager[i].parent);
          assert.deepEqual(m.keys, eager[i].keys);
          assert.equal(m.key, eager[i].key);
          assert.ok(Object.is(m.value, eager[i].value));
        });
      }),
      { numRuns: 2000 },
    );
  });

  it("takes a long array an element at a time: the first match comes before the rest are looked at", () => {
    const arr = new Array(100000).fill(0);
    const it = eachMatch({ payload: arr }, parsePath("payload[*]"));
    const t = performance.now();
    const first = it.next();
    assert.equal(first.value.key, 0);
    assert.ok(performance.now() - t < 20, "no walk over the whole array before the first match");
  });
});
