"use strict";
const assert = require("node:assert/strict");
const { appendTrail, privacyOf, trailOf, TrailError } = require("../../../dist/core/trail");
const { StatusReporter, Metrics, shortText } = require("../../../dist/core/status");

describe("lib/trail", () => {
  it("creates msg.privacy.trail and appends entries", () => {
    const msg = {};
    appendTrail(msg, { type: "privacy-x", id: "1", removed: 2 });
    appendTrail(msg, { type: "privacy-y", id: "2" });
    assert.deepEqual(trailOf(msg).map((e) => e.type), ["privacy-x", "privacy-y"]);
    assert.equal(privacyOf(msg), msg.privacy);
  });
  it("refuses a msg.privacy or trail of the wrong type rather than overwrite it", () => {
    assert.throws(() => appendTrail({ privacy: "x" }, { type: "t", id: "1" }), TrailError);
    assert.throws(() => appendTrail({ privacy: { trail: {} } }, { type: "t", id: "1" }), /trail must be an array/);
    assert.deepEqual(trailOf({ privacy: 5 }), []);
  });
});

describe("lib/status", () => {
  it("coalesces updates within the interval and clears on close", async () => {
    const seen = [];
    const r = new StatusReporter((s) => seen.push(s), 30);
    r.show({ text: "1" });
    r.show({ text: "2" });
    r.show({ text: "3" });
    assert.deepEqual(seen.map((s) => s.text), ["1"]);
    await new Promise((res) => setTimeout(res, 60));
    assert.deepEqual(seen.map((s) => s.text), ["1", "3"]);
    r.showNow({ text: "err" });
    r.close();
    r.show({ text: "late" });
    assert.deepEqual(seen.slice(2), [{ text: "err" }, {}]);
  });
  it("builds a status given as a function only when it is shown, with the counts of that moment", async () => {
    const seen = [];
    let built = 0;
    let count = 0;
    const text = () => {
      built++;
      return { text: `${count} msgs` };
    };
    const r = new StatusReporter((s) => seen.push(s), 30);
    for (count = 1; count <= 100; count++) r.show(text);
    count = 100;
    assert.deepEqual(seen.map((s) => s.text), ["1 msgs"]);
    await new Promise((res) => setTimeout(res, 60));
    assert.deepEqual(seen.map((s) => s.text), ["1 msgs", "100 msgs"]);
    assert.equal(built, 2, "the pending status is built once, when the interval ends");
    r.close();
  });
  it("a status builder that throws in the timer shows the error instead of escaping (no uncaught exception)", async () => {
    const seen = [];
    const r = new StatusReporter((s) => seen.push(s), 10);
    r.show({ text: "first" });
    r.show(() => {
      throw new Error("builder broke");
    });
    await new Promise((res) => setTimeout(res, 40));
    assert.equal(seen.length, 2);
    assert.equal(seen[1].fill, "red");
    assert.match(seen[1].text, /builder broke/);
    const dead = new StatusReporter(() => {
      throw new Error("node gone");
    }, 10);
    dead.show({ text: "a" });
    dead.show({ text: "b" });
    await new Promise((res) => setTimeout(res, 40));
    r.close();
  });
  it("counts and summarises", () => {
    const m = new Metrics();
    m.add("passed");
    m.add("passed");
    m.fail(new Error("boom"));
    assert.equal(m.summary(["passed", "errors"]), "2 passed, 1 errors");
    assert.equal(m.lastError, "boom");
    assert.equal(shortText("x".repeat(50), 10).length, 10);
  });
});
