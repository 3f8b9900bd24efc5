"use strict";
const assert = require("node:assert/strict");
const fc = require("fast-check");
const A = require("../../../dist/minimize/aggregate");
const { MinimizeError } = require("../../../dist/minimize/minimize");
const { parsePath } = require("../../../dist/core/paths");

/** A clock the test moves by hand; timers fire in order as time passes them. */
function fakeClock(start) {
  let t = start;
  let seq = 0;
  const timers = new Map();
  return {
    now: () => t,
    setTimeout: (fn, ms) => {
      const id = ++seq;
      timers.set(id, { at: t + ms, fn });
      return id;
    },
    clearTimeout: (id) => timers.delete(id),
    pending: () => timers.size,
    advance(ms) {
      const end = t + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        t = due[1].at;
        due[1].fn();
      }
      t = end;
    },
  };
}

const MIN = 60_000;
const T0 = Date.parse("2024-05-01T10:02:00Z");

function make(opts = {}) {
  const clock = opts.clock || fakeClock(T0);
  const emitted = [];
  const agg = new A.Aggregator({
    windowMs: 15 * MIN,
    fields: ["t", "h"],
    maxKeys: 10,
    onTypeMismatch: "error",
    clock,
    onEmit: (w) => emitted.push(...w),
    ...opts,
  });
  return { agg, clock, emitted };
}

describe("lib/aggregate", () => {
  it("emits one window per key with count, mean, min and max when the window ends", () => {
    const { agg, clock, emitted } = make();
    const temps = [20.5, 21, 19.5, 22];
    temps.forEach((t, i) => {
      assert.deepEqual(agg.add("kitchen", [t, 40 + i], []), []);
      clock.advance(2 * MIN);
    });
    agg.add("hall", [18, undefined], []);
    assert.equal(emitted.length, 0, "nothing leaves before the window ends");
    clock.advance(15 * MIN); // now past 10:15
    assert.equal(emitted.length, 2);
    const kitchen = emitted.find((w) => w.key === "kitchen");
    assert.equal(new Date(kitchen.start).toISOString(), "2024-05-01T10:00:00.000Z", "windows are aligned to the clock");
    assert.equal(new Date(kitchen.end).toISOString(), "2024-05-01T10:15:00.000Z");
    assert.equal(kitchen.messages, 4);
    const sum = temps.reduce((a, b) => a + b, 0);
    assert.deepEqual(kitchen.fields.get("t"), {
      count: 4,
      mean: sum / 4,
      min: Math.min(...temps),
      max: Math.max(...temps),
    });
    assert.deepEqual(kitchen.fields.get("h"), { count: 4, mean: 41.5, min: 40, max: 43 });
    const hall = emitted.find((w) => w.key === "hall");
    assert.deepEqual([...hall.fields.keys()], ["t"], "a field without values is left out");
    assert.equal(agg.size, 0);
    assert.equal(clock.pending(), 0, "no timer left when nothing is open");
  });

  it("the mean of finite readings is finite and between min and max, even where their sum overflows", () => {
    const { agg } = make();
    agg.add("a", [Number.MAX_VALUE, 1], []);
    agg.add("a", [Number.MAX_VALUE, 2], []);
    agg.add("b", [-Number.MAX_VALUE, 1], []);
    agg.add("b", [Number.MAX_VALUE, 1], []);
    agg.add("b", [-1e308, 1], []);
    const [a, b] = agg.flushAll();
    assert.equal(a.fields.get("t").mean, Number.MAX_VALUE);
    assert.equal(a.fields.get("h").mean, 1.5, "a sum that stays finite gives the exact mean");
    const m = b.fields.get("t").mean;
    assert.ok(Number.isFinite(m) && Math.abs(m - -1e308 / 3) <= 1e308 * 1e-12, `mean ${m}`);
  });

  it("a reading after the end closes the old window even before the timer fired", () => {
    const clock = fakeClock(T0);
    // a clock whose timers never fire, like a blocked event loop
    const lazy = { ...clock, setTimeout: () => 0, clearTimeout: () => undefined };
    const { agg } = make({ clock: lazy });
    agg.add("k", [1, 1], []);
    clock.advance(20 * MIN);
    const out = agg.add("k", [5, 5], []);
    assert.equal(out.length, 1);
    assert.equal(out[0].fields.get("t").mean, 1);
    assert.equal(agg.flushAll()[0].fields.get("t").mean, 5);
  });

  it("flushAll closes every open window at once, partial or not", () => {
    const { agg, clock, emitted } = make();
    agg.add("a", [1, 2], []);
    agg.add("b", [3, 4], []);
    agg.add("a", [5, 6], []);
    const out = agg.flushAll();
    assert.deepEqual(
      out.map((w) => [w.key, w.messages, w.fields.get("t").mean]),
      [
        ["a", 2, 3],
        ["b", 1, 3],
      ],
    );
    assert.equal(clock.pending(), 0);
    clock.advance(60 * MIN);
    assert.equal(emitted.length, 0, "flushed windows do not come out again");
  });

  it("refuses one key more than maxKeys, and close drops its timer", () => {
    const { agg, clock } = make({ maxKeys: 2 });
    agg.add("a", [1, 1], []);
    agg.add("b", [1, 1], []);
    assert.throws(
      () => agg.add("c", [1, 1], []),
      (e) => e instanceof MinimizeError && /more than 2 keys/.test(e.message),
    );
    agg.add("a", [2, 2], []);
    assert.equal(clock.pending(), 1);
    agg.close();
    assert.equal(clock.pending(), 0);
  });

  it("reads numeric fields; a wrong type is an error or skipped, as configured", () => {
    const { agg } = make();
    assert.deepEqual(agg.read({ t: 1.5 }, "msg.payload"), [1.5, undefined]);
    assert.throws(
      () => agg.read({ t: "warm" }, "msg.payload"),
      /msg\.payload\.t: aggregation needs a number, got string/,
    );
    const drop = make({ onTypeMismatch: "drop-field" }).agg;
    assert.deepEqual(drop.read({ t: "warm", h: 3 }, "msg.payload"), [undefined, 3]);
  });

  it("keys by a message property", () => {
    assert.equal(A.keyOf({ topic: "a/b" }, parsePath("topic")), "a/b");
    assert.equal(A.keyOf({ payload: { id: 7 } }, parsePath("payload.id")), "7");
    assert.equal(A.keyOf({}, parsePath("topic")), "");
    assert.equal(A.keyOf({ topic: "x" }, null), "");
    assert.throws(() => A.keyOf({ topic: { a: 1 } }, parsePath("topic")), /must be a string or a number/);
  });

  it("builds the window message with stats at the field paths, the key and the carried trail", () => {
    const { agg } = make({ fields: ["env.t"] });
    agg.add("k1", [2], [{ type: "privacy-consent-gate", id: "g" }]);
    agg.add("k1", [4], [{ type: "other", id: "o" }]);
    const [w] = agg.flushAll();
    const msg = A.windowMessage(w, {
      property: parsePath("payload"),
      keyPath: parsePath("topic"),
      entry: { type: "privacy-minimize", id: "n1" },
    });
    assert.deepEqual(msg, {
      topic: "k1",
      payload: { env: { t: { count: 2, mean: 3, min: 2, max: 4 } } },
      window: { start: "2024-05-01T10:00:00.000Z", end: "2024-05-01T10:15:00.000Z", messages: 2 },
      privacy: {
        trail: [
          { type: "privacy-consent-gate", id: "g" },
          { type: "privacy-minimize", id: "n1" },
        ],
      },
    });
  });

  it("a window emission that throws in the timer is reported to onError, not thrown, and the next windows still go", () => {
    const errors = [];
    let failing = true;
    const emitted = [];
    const { agg, clock } = make({
      onEmit: (w) => {
        if (failing) throw new Error('cannot use key "x" on an array');
        emitted.push(...w);
      },
      onError: (e) => errors.push(e),
    });
    agg.add("k", [1, 2], []);
    assert.doesNotThrow(() => clock.advance(15 * MIN));
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /on an array/);
    failing = false;
    agg.add("k", [3, 4], []);
    clock.advance(15 * MIN);
    assert.equal(emitted.length, 1, "the aggregator kept running");
    assert.equal(emitted[0].fields.get("t").count, 1);
  });

  it("with the system clock, a throwing emission and a throwing onError never escape the timer", async () => {
    const warned = new Promise((resolve) => process.once("warning", resolve));
    let reported;
    const both = new Promise((resolve) => (reported = resolve));
    const mk = (onError) =>
      new A.Aggregator({
        windowMs: 20,
        fields: ["t"],
        maxKeys: 10,
        onTypeMismatch: "error",
        clock: A.systemClock,
        onEmit: () => {
          throw new Error("boom");
        },
        onError,
      });
    const a = mk((e) => reported(e));
    const b = mk(() => {
      throw new Error("the handler fails too");
    });
    a.add("k", [1], []);
    b.add("k", [1], []);
    // an exception escaping a timer would fail this test as an uncaught error
    assert.match((await both).message, /boom/);
    assert.match(String((await warned).message), /the handler fails too.*boom/);
    a.close();
    b.close();
  });

  it("property: stats equal a direct computation for any readings and times", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.constantFrom("a", "b", "c"),
            v: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
            dt: fc.integer({ min: 0, max: 10 * MIN }),
          }),
          { maxLength: 60 },
        ),
        (readings) => {
          const clock = fakeClock(T0);
          const emitted = [];
          const agg = new A.Aggregator({
            windowMs: 15 * MIN,
            fields: ["v"],
            maxKeys: 10,
            onTypeMismatch: "error",
            clock,
            onEmit: (w) => emitted.push(...w),
          });
          const expected = new Map();
          for (const r of readings) {
            clock.advance(r.dt);
            const start = Math.floor(clock.now() / (15 * MIN)) * 15 * MIN;
            const id = `${r.key}@${start}`;
            if (!expected.has(id)) expected.set(id, []);
            expected.get(id).push(r.v);
            emitted.push(...agg.add(r.key, [r.v], []));
          }
          emitted.push(...agg.flushAll());
          assert.equal(emitted.length, expected.size);
          for (const w of emitted) {
            const vs = expected.get(`${w.key}@${w.start}`);
            assert.ok(vs, `unexpected window ${w.key}@${w.start}`);
            const s = w.fields.get("v");
            assert.equal(s.count, vs.length);
            assert.equal(s.min, Math.min(...vs));
            assert.equal(s.max, Math.max(...vs));
            assert.ok(Math.abs(s.mean - vs.reduce((a, b) => a + b, 0) / vs.length) < 1e-6);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
