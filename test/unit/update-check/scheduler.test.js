"use strict";
const assert = require("node:assert/strict");
const { CheckScheduler } = require("../../../dist/update-check/scheduler");
const { ReportBook, nodeRedStatus } = require("../../../dist/update-check/report");

describe("update check: scheduler", () => {
  it("runs checks one at a time, each with its own argument", async () => {
    const order = [];
    let running = 0;
    const s = new CheckScheduler({
      intervalMs: 0,
      task: async (arg) => {
        running++;
        assert.equal(running, 1, "never two at once");
        await new Promise((r) => setTimeout(r, 5));
        order.push(arg);
        running--;
        return arg;
      },
      onResult: () => undefined,
      onError: () => undefined,
    });
    const results = await Promise.all([s.run("a"), s.run("b"), s.run("c")]);
    assert.deepEqual(results, ["a", "b", "c"]);
    assert.deepEqual(order, ["a", "b", "c"]);
    await s.close();
  });

  it("reports a scheduled check that throws and keeps its schedule: nothing escapes the timer", async () => {
    const errors = [];
    let calls = 0;
    const s = new CheckScheduler({
      intervalMs: 10,
      random: () => 0,
      task: async () => {
        calls++;
        throw new Error(`boom ${calls}`);
      },
      onResult: () => assert.fail("no result"),
      onError: (e) => errors.push(e.message),
    });
    s.start();
    await new Promise((r) => setTimeout(r, 80));
    await s.close();
    assert.ok(errors.length >= 2, `errors reported, schedule kept: ${errors}`);
    assert.equal(errors[0], "boom 1");
  });

  it("a failed run after a good one shows the good results, marked stale", () => {
    const book = new ReportBook("node-red");
    book.report({ summary: { checked: 3 } }, [], true, 0);
    const r = book.report(null, [{ what: "registry", reason: "timeout", message: "x" }], false, 3 * 3600 * 1000);
    assert.equal(r.stale, true);
    assert.deepEqual(r.summary, { checked: 3 });
    assert.equal(book.sinceLastOk(3 * 3600 * 1000), "last ok 3h ago");
    assert.equal(nodeRedStatus({ checked: 3, upToDate: 3, updatesAvailable: 0, vulnerable: 0, unknown: 0, advisories: "unavailable" }, []).text, "advisories unavailable");
  });
});
